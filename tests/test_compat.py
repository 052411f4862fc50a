"""Canaries for every patch of a library's internals (pytest_golive.core.compat).

Each test exercises the installed library the way the patch relies on it, so
an upgrade that changes what a patch touches fails here, by name, rather
than as a hang or a wrong verdict in a readiness run. A version outside a
patch's verified range fails too: re-verify the patch, then widen the range.
"""

from __future__ import annotations

import functools
import http.server
import inspect
import json
import logging
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import testinfra.backend
import testinfra.host

from pytest_golive.core import compat


@pytest.mark.parametrize("name", sorted(compat.PATCHES))
def test_installed_version_is_one_the_patch_was_verified_with(name: str) -> None:
    patch = compat.PATCHES[name]
    assert compat.in_tested_range(patch), (
        f"{patch.distribution} {compat.installed_version(patch.distribution)} is outside "
        f"{patch.tested} for {name}: re-verify ({patch.what}) and update the range"
    )


# --- the guard itself --------------------------------------------------------------------


def test_a_needed_patch_whose_target_is_gone_fails_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(compat.PATCHES, "demo", compat.Patch("demo", "requests", (2,), (3,), "x"))
    with pytest.raises(compat.CompatError) as info:
        compat._guard("demo", False, needed=True, missing="Response._content is gone")
    message = str(info.value)
    assert "\n" not in message
    assert "requests" in message and "Response._content is gone" in message
    assert ">=2,<3" in message


def test_an_optional_patch_whose_target_is_gone_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(compat.PATCHES, "demo", compat.Patch("demo", "requests", (2,), (3,), "x"))
    assert compat._guard("demo", False, needed=False, missing="gone") is False
    assert compat._guard("demo", True, needed=False, missing="gone") is True


def test_an_untested_version_warns_once_per_patch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(compat.PATCHES, "old", compat.Patch("old", "requests", (1,), (2,), "y"))
    monkeypatch.setattr(compat, "_warned", set())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert compat._guard("old", True, needed=True, missing="-")
        assert compat._guard("old", True, needed=True, missing="-")
    untested = [w for w in caught if issubclass(w.category, compat.UntestedVersionWarning)]
    assert len(untested) == 1
    assert "requests" in str(untested[0].message) and ">=1,<2" in str(untested[0].message)


def test_release_numbers_ignore_pre_and_post_release_tags() -> None:
    assert compat.release_numbers("2.0rc1") == (2, 0)
    assert compat.release_numbers("10.2.2.post1") == (10, 2, 2)
    assert compat.release_numbers("9.1.1.dev3+g1234") == (9, 1, 1)
    assert compat.release_numbers("unknown") == ()
    assert compat.installed_version("python") == tuple(sys.version_info[:3])


# --- testinfra ---------------------------------------------------------------------------


def test_backend_run_replacement_sees_every_command_testinfra_sends() -> None:
    """Host.run, the modules and the backend's own get_encoding all go through backend.run."""
    host = testinfra.host.Host(testinfra.backend.get_backend("local://"))
    seen: list[str] = []

    def spy(command: str, *args: str, **kwargs: Any) -> Any:
        seen.append(command % args if args else command)
        return own(command, *args)

    own = compat.replace_backend_run(host.backend, spy)
    assert host.run("echo %s", "canary").stdout == "canary\n"
    assert host.file("/").is_directory
    host.backend.get_encoding()
    assert "echo canary" in seen
    assert any(command.startswith("test -d") for command in seen), seen
    assert any("getpreferredencoding" in command for command in seen), seen


def test_backend_without_run_is_refused() -> None:
    with pytest.raises(compat.CompatError, match="pytest-testinfra"):
        compat.replace_backend_run(object(), lambda *a: None)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="cached_property has no lock from 3.12")
def test_no_locking_cached_property_is_left_in_testinfra() -> None:
    import pytest_golive.targets.host  # noqa: F401 - importing it unlocks the caches

    left = [f"{cls.__qualname__}.{attr}" for cls in compat.testinfra_classes()
            for attr, value in vars(cls).items() if type(value) is functools.cached_property]
    assert left == []
    assert isinstance(vars(testinfra.host.Host)["has_command_v"], compat.UnlockedCachedProperty)


def test_unlocked_cached_property_lets_two_instances_compute_at_once() -> None:
    """The first instance's computation waits for the second one's: a shared lock deadlocks."""
    second_done = threading.Event()

    class Fact:
        def __init__(self, first: bool) -> None:
            self.first = first

        @compat.UnlockedCachedProperty
        def value(self) -> str:
            if self.first:
                return "first" if second_done.wait(timeout=30) else "blocked"
            return "second"

    first = Fact(True)
    results: list[str] = []
    thread = threading.Thread(target=lambda: results.append(first.value))
    thread.start()
    assert Fact(False).value == "second"
    second_done.set()
    thread.join()
    assert results == ["first"]
    assert first.value == "first" and vars(first)["value"] == "first"


def test_paramiko_backend_still_calls_the_methods_golive_overrides() -> None:
    base = compat.paramiko_backend_base()  # the signature guard
    assert "_exec_command" in inspect.getsource(base.run)
    assert "_load_ssh_config" in inspect.getsource(base.client.func)


def test_ssh_command_is_the_one_the_connection_uses() -> None:
    backend = testinfra.backend.get_backend(
        "ssh://deploy@example.invalid:2222", controlpath="/tmp/golive-x/%%C", controlpersist=120
    )
    cmd, args = compat.ssh_command(backend, "true")
    assert cmd[0] == "ssh" and cmd[-1] == "%s %s"
    assert args[-2:] == ["example.invalid", "true"]
    line = " ".join(cmd) % tuple(args)
    assert "User=deploy" in line and "Port=2222" in line and "ControlPath=/tmp/golive-x/" in line


# --- the standard library ----------------------------------------------------------------


def test_no_vfork_sets_and_restores_the_subprocess_switch() -> None:
    before = subprocess._USE_VFORK
    assert isinstance(before, bool)
    with compat.no_vfork():
        assert subprocess._USE_VFORK is False
        assert subprocess.run(["true"], check=False).returncode == 0
    assert subprocess._USE_VFORK is before


def test_log_record_factory_is_wrapped_and_put_back() -> None:
    original = logging.getLogRecordFactory()

    def wrap(factory: compat.LogRecordFactory) -> compat.LogRecordFactory:
        def tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = factory(*args, **kwargs)
            record.msg = f"[tagged] {record.msg}"
            return record

        return tagged

    undo = compat.wrap_log_records(wrap)
    try:
        logger = logging.getLogger("canary")
        record = logger.makeRecord("canary", logging.INFO, "f", 1, "hi", (), None)
        assert record.getMessage() == "[tagged] hi"
    finally:
        undo()
    assert logging.getLogRecordFactory() is original


def test_undo_leaves_a_factory_installed_after_ours() -> None:
    original = logging.getLogRecordFactory()
    undo = compat.wrap_log_records(lambda factory: factory)
    later = logging.getLogRecordFactory()

    def someone_elses(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return later(*args, **kwargs)

    logging.setLogRecordFactory(someone_elses)
    try:
        undo()
        assert logging.getLogRecordFactory() is someone_elses
    finally:
        logging.setLogRecordFactory(original)


# --- requests ----------------------------------------------------------------------------


@pytest.fixture
def json_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": "ok", "word": "grüße"}, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_body_read_in_chunks_is_the_responses_content(json_server: str) -> None:
    with requests.Session() as session:
        response = session.get(json_server, stream=True, timeout=10)
        body = b"".join(response.iter_content(4))
        compat.set_response_body(response, body)
        response.close()
    assert response.content == body
    assert response.json() == {"status": "ok", "word": "grüße"}
    assert "grüße" in response.text
    assert list(response.iter_content(8)) and b"".join(response.iter_content(8)) == body


def test_a_response_without_the_body_cache_is_refused() -> None:
    with pytest.raises(compat.CompatError, match="requests"):
        compat.set_response_body(object(), b"")


# --- pytest ------------------------------------------------------------------------------


def test_junit_writer_takes_suite_properties(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from pytest_golive.core import compat

        @pytest.hookimpl(tryfirst=True)
        def pytest_sessionfinish(session):
            compat.junit_writer(session.config).add_global_property("canary", "sung")
        """
    )
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest("--junitxml=out.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    xml = (pytester.path / "out.xml").read_text()
    assert '<property name="canary" value="sung"' in xml


def test_junit_writer_is_none_without_junitxml(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfigure()
    assert compat.junit_writer(config) is None


@pytest.mark.parametrize("recolor", [False, True])
def test_recolor_summary_turns_the_summary_line_red(
    pytester: pytest.Pytester, recolor: bool
) -> None:
    """pytest recomputes the colour itself only once every collected item was reported.

    A run stopped early (here by ``session.shouldstop``) keeps the colour it had;
    without the recolouring the line stays green, with it the line is red.
    """
    pytester.makeconftest(
        f"""
        from pytest_golive.core import compat

        def pytest_runtest_teardown(item):
            item.session.shouldstop = "stopped early"

        def pytest_terminal_summary(terminalreporter):
            terminalreporter.stats["failed"] = []
            if {recolor}:
                compat.recolor_summary(terminalreporter)
        """
    )
    pytester.makepyfile("def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    result = pytester.runpytest("--color=yes", "-p", "no:cacheprovider")
    last = result.outlines[-1]
    assert "1 passed" in last
    # The line's own colour is its first escape: red (31) once recoloured, green (32) before.
    assert last.startswith("\x1b[31m" if recolor else "\x1b[32m"), repr(last)


# --- cryptography ------------------------------------------------------------------------


def test_oid_name_names_a_signature_algorithm_without_hash() -> None:
    from cryptography.x509.oid import SignatureAlgorithmOID

    assert compat.oid_name(SignatureAlgorithmOID.ED25519) == "ed25519"
    assert compat.oid_name(SignatureAlgorithmOID.RSA_WITH_SHA256) == "sha256WithRSAEncryption"


def test_a_run_puts_the_log_record_factory_back(pytester: pytest.Pytester) -> None:
    """The masking record factory lives for the run only (pytest_unconfigure undoes it)."""
    pytester.makefile(".toml", golive=(
        'checklists = ["checklist.md"]\n[environments.prod.hosts]\nlocal = ["local://"]\n'))
    pytester.makefile(".md", checklist="# R\n## S\n- [ ] CPUs <!-- golive: cpu min=1 -->\n")
    pytester.makeconftest(
        """
        import logging

        def pytest_sessionfinish(session):
            factory = logging.getLogRecordFactory()
            masked = getattr(factory, "golive_masking", False)
            (session.config.rootpath / "masked.txt").write_text(str(masked))
        """
    )
    before = logging.getLogRecordFactory()
    result = pytester.runpytest("-p", "no:cacheprovider", "--golive=prod")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "masked.txt").read_text() == "True"  # masked during the run
    assert logging.getLogRecordFactory() is before


# --- pytest-html -------------------------------------------------------------------------


def test_pytest_html_report_data_takes_an_outcome_of_ours(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        from pytest_golive.core import compat

        def pytest_sessionstart(session):
            data = compat.pytest_html_report_data(session.config)
            assert data is not None, "pytest-html's report data not found"
            compat.pytest_html_add_outcome(data, "canary", "Canaries")
            original = data.add_test

            def add_test(test_data, report, outcome, logs):
                return original(test_data, report, "canary" if report.when == "call" else outcome,
                                logs)

            data.add_test = add_test
        """
    )
    pytester.makepyfile("def test_one():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--html=report.html")
    result.assert_outcomes(passed=1)
    html = (pytester.path / "report.html").read_text()
    # The row is counted under our outcome, with its label, as pytest-html counts its own.
    assert '<span class="canary">1 Canaries,</span>' in html
    assert '<span class="passed">0 Passed,</span>' in html


def test_a_paramiko_client_is_found_only_once_connected() -> None:
    """Closing a host must not open the connection it is closing."""
    from testinfra.backend.paramiko import ParamikoBackend

    assert isinstance(vars(ParamikoBackend)["client"], functools.cached_property)
    backend = testinfra.backend.get_backend("paramiko://nobody@127.0.0.1")
    assert compat.paramiko_client_if_open(backend) is None
    assert "client" not in vars(backend)  # looking did not connect
    vars(backend)["client"] = sentinel = object()  # what a first read of .client leaves
    assert compat.paramiko_client_if_open(backend) is sentinel


def spawn_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The programs ``os.posix_spawn`` starts from now on, in order (each still started)."""
    import os

    spawned: list[str] = []
    real_spawn = os.posix_spawn

    def counting_spawn(path: str, *args: Any, **kwargs: Any) -> int:
        spawned.append(path)
        return real_spawn(path, *args, **kwargs)

    monkeypatch.setattr(os, "posix_spawn", counting_spawn)
    return spawned


def test_a_backend_starts_local_commands_with_posix_spawn_and_answers_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same result as testinfra's own run_local, started without a fork of the runner."""

    from testinfra.backend.base import BaseBackend

    script = "printf 'out\\n%s' \"$GOLIVE_SPAWN_PROBE\"; printf 'err' >&2; exit 3"
    monkeypatch.setenv("GOLIVE_SPAWN_PROBE", "from the parent")
    plain = testinfra.backend.get_backend("local://")
    expected = BaseBackend.run_local(plain, script)
    backend = testinfra.backend.get_backend("local://")
    compat.spawn_local_commands(backend)
    spawned = spawn_log(monkeypatch)
    with compat.no_vfork():  # as while checks are evaluated ahead
        result = backend.run(script)
    assert spawned == ["/bin/sh"]
    assert (result.rc, result.stdout, result.stderr) == (3, "out\nfrom the parent", "err")
    assert (result.rc, result.stdout_bytes, result.stderr_bytes) == (
        expected.rc, expected.stdout_bytes, expected.stderr_bytes)


def test_the_command_that_starts_an_ssh_master_is_started_as_testinfra_starts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The master outlives its command: it must not keep descriptors the runner inherited."""

    backend = testinfra.backend.get_backend("ssh://nobody@127.0.0.1",
                                            controlpath="/nonexistent/%%C")
    compat.spawn_local_commands(backend)
    spawned = spawn_log(monkeypatch)
    first, second = backend.run_local("echo one"), backend.run_local("echo two")
    assert (first.stdout, second.stdout) == ("one\n", "two\n")
    assert spawned == ["/bin/sh"]  # the second only: the first may start the master


def test_a_backend_with_its_own_run_local_keeps_it() -> None:
    from testinfra.backend.local import LocalBackend

    class Own(LocalBackend):
        def run_local(self, command: str, *args: str) -> Any:
            return "own"

    backend = Own()
    compat.spawn_local_commands(backend)
    assert "run_local" not in vars(backend)
    assert backend.run_local("true") == "own"


# --- PyMySQL -----------------------------------------------------------------------------


@pytest.mark.real_systems
def test_pymysql_timeouts_changed_after_connect_are_the_ones_used() -> None:
    """Opened with a 1 s read timeout, a 2 s query only succeeds once the patch raised it."""
    import pymysql

    from support import require
    from support.databases import port_open

    require(port_open(3306), "the machine's MariaDB on 127.0.0.1:3306")
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="",
                           connect_timeout=3, read_timeout=1, write_timeout=1)
    try:
        with pytest.raises(pymysql.err.OperationalError) as lost:
            with conn.cursor() as cur:
                cur.execute("SELECT SLEEP(2)")
        assert lost.value.args[0] == 2013  # what the dialect reads as "no handshake"
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="",
                               connect_timeout=3, read_timeout=1, write_timeout=1)
        compat.set_pymysql_timeouts(conn, read=10, write=10)
        with conn.cursor() as cur:
            cur.execute("SELECT SLEEP(2)")
            assert cur.fetchone() == (0,)
    finally:
        conn.close()


def test_a_pymysql_connection_without_its_timeouts_is_refused() -> None:
    with pytest.raises(compat.CompatError, match="PyMySQL"):
        compat.set_pymysql_timeouts(object(), read=1, write=1)
