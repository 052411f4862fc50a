"""The fault matrix: real runs with one fault injected each, and what they must still do.

A readiness run is the last gate before production, often against systems
that are half-migrated. For every fault below the run must end within a
stated bound, make each affected item an *error* whose one line names the
target and the fault in words, keep every unaffected item's true result,
write its reports (JSON valid against the schema, HTML, JUnit XML), and never
print a secret. The bounds are what ``docs/security.md`` ("Faults") promises;
they are liveness bounds (the run ends), generous on a loaded machine, not
speed measurements.

Every run is a real ``pytest --golive`` in a fresh interpreter, against real
servers: hostile HTTP and TCP servers on loopback (tests/support/hostile.py),
the machine's MariaDB, real files, and (in tests/test_faults_hosts.py) the
namespace SSH fleet.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from support import require
from support.databases import port_open
from support.hostile import (
    ESCAPES,
    MARKUP,
    HostileServer,
    huge_body,
    redirect_loop,
    reset,
    silent,
    trickle,
)

pytestmark = pytest.mark.real_systems

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[1]
        / "src"
        / "pytest_golive"
        / "schemas"
        / "results.schema.json"
    ).read_text(encoding="utf-8")
)
#: A value planted in the configuration of every run; it must appear in no output.
PLANTED = "Fault-Matrix-S3cret-7d1e"
#: The control line: a check that passes on any machine, so its result must survive.
CONTROL = "- [ ] Control: one CPU <!-- golive: cpu min=1 id=control -->\n"
CSI = "\x1b["


@dataclass
class Run:
    returncode: int
    output: str
    elapsed: float
    root: Path

    @property
    def json(self) -> dict[str, Any]:
        return json.loads((self.root / "out" / "results.json").read_text(encoding="utf-8"))

    def result(self, item_id: str) -> dict[str, Any]:
        found = [r for r in self.json["results"] if r["id"].endswith(item_id)]
        assert found, f"no result for {item_id}: {[r['id'] for r in self.json['results']]}"
        return found[0]

    def assert_reports(self) -> None:
        """JSON valid against the schema, HTML and JUnit written and well formed."""
        data = self.json
        jsonschema.validate(data, SCHEMA)
        html = (self.root / "out" / "report.html").read_text(encoding="utf-8")
        assert "</html>" in html
        ET.parse(self.root / "out" / "junit.xml")

    def assert_no_leak(self) -> None:
        for path in [*(self.root / "out").iterdir()]:
            assert PLANTED not in path.read_text(encoding="utf-8", errors="replace"), path
        assert PLANTED not in self.output


def project(
    root: Path, checklist: str, targets: str = "", settings: str = "", conftest: str = ""
) -> Path:
    (root / "out").mkdir(parents=True, exist_ok=True)
    (root / "golive.toml").write_text(
        textwrap.dedent(f"""\
        checklists = ["checklist.md"]

        [settings]
        connect_timeout = 3
        command_timeout = 5
        check_timeout = 20
        {settings}

        [environments.prod.hosts]
        local = ["local://"]

        [environments.prod.vars]
        planted = "${{GOLIVE_PLANTED}}"
        """)
        + textwrap.dedent(targets),
        encoding="utf-8",
    )
    (root / "checklist.md").write_text(
        "# Go-live\n\n## Checks\n" + CONTROL + textwrap.dedent(checklist), encoding="utf-8"
    )
    if conftest:
        (root / "conftest.py").write_text(textwrap.dedent(conftest), encoding="utf-8")
    return root


#: The three reports every fault run writes, under out/.
REPORTS = (
    "--golive-json=out/results.json",
    "--golive-report=out/report.html",
    "--junitxml=out/junit.xml",
)


def golive_args(*extra: str, reports: tuple[str, ...] = REPORTS) -> list[str]:
    """``pytest --golive=prod`` in a fresh interpreter, writing ``reports``."""
    return [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--golive=prod",
        *reports,
        *extra,
    ]


def start(root: Path, *extra: str, reports: tuple[str, ...] = REPORTS) -> subprocess.Popen[str]:
    """A readiness run of the project at ``root``, under way (for faults injected mid-run)."""
    return subprocess.Popen(
        golive_args(*extra, reports=reports),
        cwd=root,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "GOLIVE_PLANTED": PLANTED, "PYTHONUNBUFFERED": "1"},
    )


def finish(proc: subprocess.Popen[str], root: Path, started: float, timeout: float = 240) -> Run:
    output, _ = proc.communicate(timeout=timeout)
    return Run(proc.returncode, output, time.monotonic() - started, root)


def run(root: Path, *extra: str, timeout: float = 240, reports: tuple[str, ...] = REPORTS) -> Run:
    """A whole readiness run, with ``-rA`` so every result is in the output that is grepped."""
    started = time.monotonic()
    return finish(start(root, "-rA", *extra, reports=reports), root, started, timeout)


@contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``path`` (a small or read-only disk) for the test's duration."""
    require(os.geteuid() == 0 and shutil.which("mount") is not None, "root and mount (tmpfs)")
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    require(mounted.returncode == 0, f"a tmpfs mount: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True, check=False)


def assert_fault(
    run_: Run, item_id: str, *words: str, bound: float, status: tuple[str, ...] = ("error",)
) -> dict[str, Any]:
    """The common promises of every row: bounded, one clear error line, control intact."""
    assert run_.elapsed < bound, f"run took {run_.elapsed:.1f}s, bound {bound}s"
    run_.assert_reports()
    run_.assert_no_leak()
    assert run_.result("control")["status"] == "passed"
    result = run_.result(item_id)
    assert result["status"] in status, result
    line = result["observed"]
    assert "\n" not in line.strip(), line
    for word in words:
        assert word.lower() in line.lower(), (word, line)
    assert run_.json["verdict"]["verdict"] == "NO-GO"
    assert "Traceback" not in run_.output
    return result


# --- endpoints ------------------------------------------------------------------------

ENDPOINT = """
    [environments.prod.endpoints.api]
    url = "{url}"
    timeout = 3
    read_timeout = 3
    headers = {{ Authorization = "Bearer ${{GOLIVE_PLANTED}}" }}
    """


@pytest.mark.parametrize(
    ("handler", "words", "status"),
    [
        (reset, ("api", "reset"), ("error",)),
        (trickle, ("api",), ("error",)),
        (huge_body, ("api",), ("error",)),
        # Checks do not follow redirects unless asked: a loop is seen as its first 302.
        (redirect_loop, ("302",), ("failed",)),
    ],
    ids=["reset", "one-byte-per-second", "1GB-body", "redirect-loop"],
)
def test_endpoint_faults(
    tmp_path: Path,
    hostile_server: Callable[..., HostileServer],
    handler: Callable[..., None],
    words: tuple[str, ...],
    status: tuple[str, ...],
) -> None:
    server = hostile_server(handler)
    root = project(
        tmp_path,
        "- [ ] Health <!-- golive: http_body path=/health contains=ok id=health -->\n",
        targets=ENDPOINT.format(url=server.url),
    )
    result = run(root)
    assert_fault(result, "health", *words, bound=60, status=status)


def test_hostile_status_line_and_headers_reach_no_terminal_raw(
    tmp_path: Path, hostile_server: Callable[..., HostileServer]
) -> None:
    """Escape sequences from a target never reach the terminal; HTML escapes its markup."""
    server = hostile_server(
        __import__("support.hostile", fromlist=["hostile_headers"]).hostile_headers
    )
    root = project(
        tmp_path,
        textwrap.dedent("""\
        - [ ] Health <!-- golive: http_status path=/x expect=200 id=health -->
        - [ ] Headers <!-- golive: security_headers id=headers -->
        """),
        targets=ENDPOINT.format(url=server.url),
    )
    result = run(root)
    assert result.elapsed < 60
    result.assert_reports()
    result.assert_no_leak()
    assert CSI not in result.output and "\x1b]" not in result.output and "\x07" not in result.output
    assert result.result("health")["status"] == "failed"
    html = (root / "out" / "report.html").read_text(encoding="utf-8")
    assert MARKUP not in html and "<script>alert('golive')" not in html
    assert ESCAPES not in html
    junit = (root / "out" / "junit.xml").read_text(encoding="utf-8")
    assert "\x1b" not in junit


def test_tls_handshake_that_stalls(
    tmp_path: Path, hostile_server: Callable[..., HostileServer]
) -> None:
    server = hostile_server(silent)
    root = project(
        tmp_path,
        "- [ ] Certificate <!-- golive: tls_certificate id=cert -->\n",
        targets=ENDPOINT.format(url=f"https://127.0.0.1:{server.port}"),
    )
    assert_fault(run(root), "cert", "api", bound=60)


# --- databases ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "words"),
    [
        ("mysql", "did not complete the MySQL handshake within 3s"),
        ("redis", "did not answer PING within 3s"),
    ],
    ids=["mysql-never-greets", "redis-never-answers"],
)
def test_database_that_accepts_tcp_and_never_answers(
    tmp_path: Path, hostile_server: Callable[..., HostileServer], scheme: str, words: str
) -> None:
    """The greeting and the login are part of connecting: connect_timeout bounds them, not
    the query timeout (60 s)."""
    server = hostile_server(silent)
    root = project(
        tmp_path,
        "- [ ] Database <!-- golive: db_connect id=db -->\n",
        targets=f"""
        [environments.prod.databases.main]
        dsn = "{scheme}://app:${{GOLIVE_PLANTED}}@127.0.0.1:{server.port}/0"
        connect_timeout = 3
        """,
    )
    assert_fault(run(root), "db", "main", words, bound=40)


def test_query_that_runs_forever(tmp_path: Path) -> None:
    require(port_open(3306), "the machine's MariaDB on 127.0.0.1:3306")
    mariadb_url = "mysql://root@127.0.0.1:3306/mysql"
    root = project(
        tmp_path,
        "- [ ] Query <!-- golive: db_query sql='SELECT SLEEP(600)' id=query -->\n",
        targets=f"""
        [environments.prod.databases.main]
        dsn = "{mariadb_url}"
        query_timeout = 3
        """,
    )
    assert_fault(run(root), "query", "main", bound=90)


# --- files ----------------------------------------------------------------------------

FILES = """
    [environments.prod.files.app]
    path = "{path}"
    format = "dotenv"
    """


@pytest.mark.parametrize("kind", ["500MB", "nul-byte", "fifo", "directory"])
def test_config_file_faults(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "data" / "app.env"
    target.parent.mkdir()
    if kind == "500MB":
        with open(target, "wb") as fh:
            fh.write(b"SECRET_KEY=" + b"x" * 64 + b"\n")
            fh.truncate(500 * 1024 * 1024)  # sparse: no disk used, every read is real
    elif kind == "nul-byte":
        target.write_bytes(b"SECRET_KEY=abc\x00def\nDEBUG=false\n")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    root = project(
        tmp_path / "p",
        "- [ ] Keys <!-- golive: env_required keys=SECRET_KEY id=keys -->\n",
        targets=FILES.format(path=target),
    )
    before = os.stat(target)
    result = run(root)
    assert result.elapsed < 60
    result.assert_reports()
    outcome = result.result("keys")
    # Each is an error in words (none of them is a configuration file), never a pass.
    assert outcome["status"] == "error", outcome
    assert str(target) in outcome["observed"]
    assert {"500MB": "MiB", "nul-byte": "NUL byte", "fifo": "FIFO", "directory": "directory"}[
        kind
    ] in outcome["observed"]
    # Read-only: the target is as it was (a FIFO was not even opened for reading).
    after = os.stat(target)
    assert (after.st_mtime_ns, after.st_size, after.st_mode) == (
        before.st_mtime_ns,
        before.st_size,
        before.st_mode,
    )
    assert result.result("control")["status"] == "passed"
    assert "Traceback" not in result.output


# --- checklists -----------------------------------------------------------------------


def test_checklist_of_twenty_thousand_lines(tmp_path: Path) -> None:
    lines = "".join(f"- [ ] Manual line {i}\n" for i in range(20000))
    root = project(tmp_path, lines)
    result = run(root, "-q", timeout=600)
    assert result.elapsed < 400, result.elapsed
    result.assert_reports()
    assert len(result.json["results"]) == 20001


def test_deeply_nested_checklist(tmp_path: Path) -> None:
    nested = "".join("  " * depth + f"- [ ] level {depth}\n" for depth in range(200))
    root = project(tmp_path, nested)
    result = run(root)
    assert result.elapsed < 120
    assert "Traceback" not in result.output
    assert "RecursionError" not in result.output
    result.assert_reports()


def test_injection_in_titles_sections_and_ids(tmp_path: Path) -> None:
    checklist = textwrap.dedent(f"""\
        ## {MARKUP} section {ESCAPES}
        - [ ] Title {MARKUP} **bold** [link](javascript:alert(1)) {ESCAPES}
        - [ ] Bound <!-- golive: cpu min=9999 id=x"><script>alert(3)</script> -->
        """)
    root = project(tmp_path, checklist)
    result = run(root)
    assert "Traceback" not in result.output
    assert CSI not in result.output
    html_path = root / "out" / "report.html"
    if html_path.exists():
        html = html_path.read_text(encoding="utf-8")
        assert MARKUP not in html and "<script>alert(3)" not in html
        assert 'href="javascript:' not in html
    else:  # an id that is not a valid id is refused at collection, in one clear line
        assert result.returncode == 2 and "id" in result.output


def test_duplicate_ids_are_refused_in_one_line(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        textwrap.dedent("""\
        - [ ] One <!-- golive: cpu min=1 id=same -->
        - [ ] Two <!-- golive: cpu min=2 id=same -->
        """),
    )
    result = run(root)
    assert result.returncode in (2, 3, 4), result.output
    assert "same" in result.output and "Traceback" not in result.output
    assert "checklist.md" in result.output


# --- the runner -----------------------------------------------------------------------

SLOW_CONFTEST = """
    import time
    from pytest_golive import Outcome, check

    @check(target="host")
    def slow_check(host, *, seconds: float = 1.0) -> Outcome:
        \"\"\"Takes its time.\"\"\"
        time.sleep(seconds)
        return Outcome.passed(f"waited {seconds}s")
    """


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_signal_halfway_writes_reports_marked_incomplete(
    tmp_path: Path, sig: signal.Signals
) -> None:
    lines = "".join(
        f"- [ ] Slow {i} <!-- golive: slow_check seconds=1 id=slow{i} -->\n" for i in range(30)
    )
    root = project(tmp_path, lines, conftest=SLOW_CONFTEST, settings="")
    proc = start(root, "--golive-no-prefetch")
    time.sleep(8)
    proc.send_signal(sig)
    result = finish(proc, root, time.monotonic(), timeout=60)
    assert result.returncode == pytest.ExitCode.INTERRUPTED, result.output
    data = json.loads((root / "out" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA)
    assert data["verdict"]["verdict"] == "NO-GO"
    assert data["options"].get("incomplete"), data["options"]
    assert any(r["status"] == "passed" for r in data["results"])
    assert (root / "out" / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")


def test_report_directory_not_writable(tmp_path: Path) -> None:
    root = project(tmp_path, "")
    # root ignores directory modes; a path under a regular file fails for everyone.
    (root / "afile").write_text("x")
    result = run(root, reports=(f"--golive-json={root / 'afile'}/results.json",))
    assert "Traceback" not in result.output, result.output
    assert "results.json" in result.output
    assert result.returncode != 0
    assert "GOLIVE prod" in result.output  # the verdict is still told


def test_two_runs_at_once_in_the_same_project(tmp_path: Path) -> None:
    root = project(tmp_path, "- [ ] Fails <!-- golive: cpu min=9999 id=big -->\n")
    both = REPORTS[:2]
    procs = [start(root, reports=both) for _ in range(2)]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [1, 1], outputs
    data = json.loads((root / "out" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(data, SCHEMA)
    assert data["verdict"]["verdict"] == "NO-GO"
    assert not [
        p for p in (root / "out").iterdir() if p.name not in ("results.json", "report.html")
    ]


def test_database_that_stops_during_a_query(tmp_path: Path) -> None:
    """The server ends the session while the query runs (as a restart or failover does)."""
    require(port_open(3306), "the machine's MariaDB on 127.0.0.1:3306")
    import pymysql

    root = project(
        tmp_path,
        "- [ ] Query <!-- golive: db_query sql='SELECT SLEEP(40) AS golive_fault' id=query -->\n",
        targets="""
        [environments.prod.databases.main]
        dsn = "mysql://root@127.0.0.1:3306/mysql"
        query_timeout = 60
        """,
    )
    started = time.monotonic()
    proc = start(root)
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    try:
        killed = False
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline and proc.poll() is None:
            with admin.cursor() as cur:
                cur.execute(
                    "SELECT id FROM information_schema.processlist "
                    "WHERE info LIKE 'SELECT SLEEP(40) AS golive_fault%'"
                )
                for (thread,) in cur.fetchall():
                    cur.execute(f"KILL CONNECTION {int(thread)}")
                    killed = True
            time.sleep(0.2)
    finally:
        admin.close()
    result = finish(proc, root, started, timeout=120)
    assert killed, result.output
    assert_fault(result, "query", "main", bound=60)


def test_disk_full_while_writing_reports(tmp_path: Path) -> None:
    """A report that does not fit leaves the previous one whole and says so in one line."""
    with tmpfs(tmp_path / "full", "size=256k") as full:
        previous = "<!DOCTYPE html><html>the previous report</html>\n"
        (full / "report.html").write_text(previous, encoding="utf-8")
        lines = "".join(
            f"- [ ] Manual line {i} with a long title to fill the report\n" for i in range(3000)
        )
        root = project(tmp_path / "p", lines)
        result = run(
            root,
            "-q",
            timeout=300,
            reports=("--golive-json=out/results.json", f"--golive-report={full / 'report.html'}"),
        )
        out = result.output
        assert "Traceback" not in out, out[-3000:]
        said = [ln for ln in out.splitlines() if "--golive-report" in ln and "cannot write" in ln]
        assert len(said) == 1, out[-3000:]
        assert "No space left on device" in said[0] and "previous file is left" in said[0]
        assert (full / "report.html").read_text(encoding="utf-8") == previous
        assert [p.name for p in full.iterdir()] == ["report.html"]  # no temporary file left
        # The other report was still written, and the verdict still told.
        jsonschema.validate(json.loads((root / "out" / "results.json").read_text()), SCHEMA)
        assert "GOLIVE prod: NO-GO" in out
        assert result.returncode == 1


# --- converging targets ------------------------------------------------------------


def _converging_server(fail_first: int) -> tuple[Any, int]:
    """An HTTP server whose /health answers 503 for its first ``fail_first`` requests."""
    import http.server
    import threading

    seen = {"n": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            seen["n"] += 1
            code = 503 if seen["n"] <= fail_first else 200
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def _converging_run(tmp_path: Path, fail_first: int, line: str, *extra: str) -> Run:
    """A run of ``line`` against an endpoint whose /health fails its first ``fail_first``."""
    server, port = _converging_server(fail_first=fail_first)
    try:
        root = project(
            tmp_path,
            line,
            targets=f"""
            [environments.prod.endpoints.api]
            url = "http://127.0.0.1:{port}"
            timeout = 3
            """,
        )
        return run(root, *extra)
    finally:
        server.shutdown()


@pytest.mark.parametrize("how", ["line", "option"])
def test_a_converging_endpoint_is_retried_and_says_so(tmp_path: Path, how: str) -> None:
    retry = " retry=30s" if how == "line" else ""
    result = _converging_run(
        tmp_path, 2,
        f"- [ ] Health <!-- golive: http_status path=/health expect=200{retry} id=health -->\n",
        *(["--golive-wait", "30"] if how == "option" else []))
    health = result.result("health")
    assert health["status"] == "passed", health
    # The retry hides nothing: the evidence says two attempts did not pass, and what they saw.
    assert health["details"]["attempts"] == 3 and health["details"]["failed_attempts"] == 2
    assert "after 2 that did not" in health["observed"] and "503" in health["observed"]
    assert result.json["verdict"]["verdict"] == "GO"


def test_a_line_that_never_converges_ends_at_its_deadline(tmp_path: Path) -> None:
    result = _converging_run(
        tmp_path, 10**6,
        "- [ ] Health <!-- golive: http_status path=/health expect=200 retry=6s id=health -->\n")
    assert result.elapsed < 60
    health = result.result("health")
    assert health["status"] == "failed"
    assert health["details"]["attempts"] >= 3
    assert "still so after" in health["observed"]


def test_every_check_of_a_line_converges(tmp_path: Path) -> None:
    """retry= is the line's: its second check is retried like its first."""
    result = _converging_run(
        tmp_path, 2,
        "- [ ] CPU and health <!-- golive: cpu min=1; http_status path=/health expect=200 "
        "retry=30s id=both -->\n")
    both = [r for r in result.json["results"] if r["id"].endswith("both")]
    assert both and all(r["status"] == "passed" for r in both), both
    assert any("after 2 that did not" in r["observed"] for r in both), both
