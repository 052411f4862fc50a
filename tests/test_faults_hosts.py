"""The fault matrix, host rows: real SSH hosts that die, vanish, freeze or answer garbage.

Each test builds a readiness run over two hosts of a private namespace fleet
(tests/support/fleet.py: real sshd, real network namespaces), injects one fault
into one host while the run is under way, and checks the promises of
tests/test_faults.py: the run ends within its bound, the affected items are
errors whose one line names the host and the fault in words, the other host's
items keep their true results, and the reports are written and valid.

The fleet is private to this module because the faults break its hosts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import require
from support.fleet import Fleet, build_fleet, fleet_available
from test_faults import Run, finish, start, tmpfs

pytestmark = pytest.mark.real_systems


@pytest.fixture
def private_fleet() -> Iterator[Fleet]:
    """Two SSH hosts for one test: faults leave them broken, so each test gets its own."""
    ok, missing = fleet_available()
    require(ok, f"a fleet of SSH hosts needs {missing}")
    workdir = Path(tempfile.mkdtemp(prefix="golive-faults-"))
    built = build_fleet(2, workdir)
    try:
        yield built
    finally:
        from pytest_golive.targets.host import close_all_masters

        close_all_masters()
        built.teardown()
        shutil.rmtree(workdir, ignore_errors=True)


CONFTEST = '''
    from pytest_golive import Outcome, check

    @check(target="host")
    def remote_says(host, *, command: str) -> Outcome:
        """What a command prints on the host (for fault tests)."""
        result = host.run(command)
        return Outcome.of(result.rc == 0, f"rc {result.rc}, {len(result.stdout)} characters",
                          "rc 0")
    '''


def _project(root: Path, fleet: Fleet, checklist: str) -> Path:
    (root / "out").mkdir(parents=True)
    hosts = "\n".join(
        f'{h.name} = [{{ url = "{h.ssh_url}", name = "{h.name}", '
        f'ssh_config = "{fleet.ssh_config}", ssh_identity_file = "{fleet.identity_file}" }}]'
        for h in fleet.hosts
    )
    (root / "golive.toml").write_text(
        textwrap.dedent("""\
        checklists = ["checklist.md"]

        [settings]
        connect_timeout = 3
        command_timeout = 8
        check_timeout = 30

        [environments.prod.vars]
        planted = "${GOLIVE_PLANTED}"

        [environments.prod.hosts]
        """)
        + hosts
        + "\n",
        encoding="utf-8",
    )
    (root / "checklist.md").write_text(
        "# Go-live\n\n## Checks\n- [ ] Control: one CPU <!-- golive: cpu min=1 id=control -->\n"
        + textwrap.dedent(checklist),
        encoding="utf-8",
    )
    (root / "conftest.py").write_text(textwrap.dedent(CONFTEST), encoding="utf-8")
    return root


def _wait_for(path: Path, proc: subprocess.Popen[str], limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while not path.exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def _sshd_pids(fleet: Fleet, index: int) -> list[int]:
    pidfile = fleet.workdir / f"host{index}" / "sshd.pid"
    return [int(pidfile.read_text().strip())]


def _kill_sessions(fleet: Fleet, index: int, sig: int) -> None:
    """Signal the host's sshd and every session process it forked."""
    ns = fleet.hosts[index].namespace
    pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
    for pid in pids.split():
        try:
            os.kill(int(pid), sig)
        except ProcessLookupError:
            pass


def _marker(fleet: Fleet, name: str) -> Path:
    """A path the fleet account may create (the shared tree is read-only to it)."""
    box = fleet.shared / "markers"
    box.mkdir(exist_ok=True)
    box.chmod(0o1777)
    return box / name


def _mid_round_checklist(marker: Path) -> str:
    # The victim's command marks that the round is under way, then takes its time.
    return (
        f"- [ ] Slow remote work <!-- golive: remote_says command='touch {marker}; sleep 6; "
        f"echo done' id=slow -->\n"
    )


def test_sshd_killed_in_the_middle_of_a_round(private_fleet: Fleet, tmp_path: Path) -> None:
    marker = _marker(private_fleet, "round-started-kill")
    root = _project(tmp_path / "p", private_fleet, _mid_round_checklist(marker))
    started = time.monotonic()
    proc = start(root)
    _wait_for(marker, proc)
    _kill_sessions(private_fleet, 0, signal.SIGKILL)
    result = finish(proc, root, started)
    victim = [
        r for r in result.json["results"] if r["target"] == "fleet-0" and r["id"].endswith("slow")
    ]
    assert victim and victim[0]["status"] == "error", victim
    line = victim[0]["observed"]
    assert "fleet-0" in line and "GLE" not in line, line
    assert "connect" in line.lower(), line  # "connection lost", or the reconnect refused
    other = [
        r for r in result.json["results"] if r["target"] == "fleet-1" and r["id"].endswith("slow")
    ]
    assert other and other[0]["status"] == "passed", other
    _assert_host_fault(result, "slow", bound=120)


def test_host_network_goes_away_mid_run(private_fleet: Fleet, tmp_path: Path) -> None:
    marker = _marker(private_fleet, "round-started-link")
    root = _project(tmp_path / "p", private_fleet, _mid_round_checklist(marker))
    started = time.monotonic()
    proc = start(root)
    _wait_for(marker, proc)
    host = private_fleet.hosts[0]
    subprocess.run(["ip", "-n", host.namespace, "link", "set", host.interface, "down"], check=True)
    result = finish(proc, root, started)
    victim = [
        r for r in result.json["results"] if r["target"] == "fleet-0" and r["id"].endswith("slow")
    ]
    assert victim and victim[0]["status"] == "error", victim
    assert "fleet-0" in victim[0]["observed"] and "GLE" not in victim[0]["observed"]
    other = [
        r for r in result.json["results"] if r["target"] == "fleet-1" and r["id"].endswith("slow")
    ]
    assert other and other[0]["status"] == "passed", other
    _assert_host_fault(result, "slow", bound=150)


def _assert_host_fault(result: Run, item_id: str, bound: float) -> None:
    """The promises of a host row: fleet-0 is the victim, fleet-1 keeps its true results."""
    assert result.elapsed < bound, f"run took {result.elapsed:.1f}s, bound {bound}s"
    result.assert_reports()
    result.assert_no_leak()
    victim = [r for r in result.json["results"] if r["target"] == "fleet-0"]
    hit = [r for r in victim if r["id"].endswith(item_id)]
    assert hit and hit[0]["status"] == "error", hit
    for r in victim:  # every item of the victim is either done or an error naming it
        assert r["status"] in ("passed", "error"), r
        if r["status"] == "error":
            line = r["observed"]
            assert "fleet-0" in line and "GLE" not in line and "\n" not in line.strip(), line
    assert all(r["status"] == "passed" for r in result.json["results"] if r["target"] == "fleet-1")
    assert result.json["verdict"]["verdict"] == "NO-GO"
    assert "Traceback" not in result.output


def _control_on(result: Run, target: str) -> str:
    return next(
        r["status"]
        for r in result.json["results"]
        if r["id"].endswith("control") and r["target"] == target
    )


def test_host_that_accepts_and_freezes(private_fleet: Fleet, tmp_path: Path) -> None:
    """sshd stopped with SIGSTOP: the kernel still accepts TCP, nothing answers."""
    root = _project(
        tmp_path / "p",
        private_fleet,
        "- [ ] Remote <!-- golive: remote_says command='echo hi' id=remote -->\n",
    )
    for pid in _sshd_pids(private_fleet, 0):
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        result = finish(start(root), root, started)
    finally:
        for pid in _sshd_pids(private_fleet, 0):
            os.kill(pid, signal.SIGCONT)
    victim = [
        r for r in result.json["results"] if r["target"] == "fleet-0" and r["id"].endswith("remote")
    ]
    assert victim and victim[0]["status"] == "error", victim
    assert "fleet-0" in victim[0]["observed"]
    other = [
        r for r in result.json["results"] if r["target"] == "fleet-1" and r["id"].endswith("remote")
    ]
    assert other and other[0]["status"] == "passed", other
    # Every item of the frozen host is an error; the other host's control still passes.
    assert _control_on(result, "fleet-0") == "error"
    assert _control_on(result, "fleet-1") == "passed"
    assert result.elapsed < 90, result.elapsed
    result.assert_reports()
    result.assert_no_leak()


@pytest.mark.parametrize(
    ("command", "status"),
    [
        ("head -c 104857600 /dev/zero | tr '\\\\0' x", ("passed", "error")),
        ("head -c 4096 /dev/urandom", ("passed",)),
        ("printf 'caf\\\\351 \\\\377\\\\376 ok'", ("passed",)),
        ("printf '\\\\033[31mRED\\\\033[0m\\\\033]0;owned\\\\007'", ("passed",)),
    ],
    ids=["100MB", "binary", "invalid-utf8", "ansi-escapes"],
)
def test_commands_that_print_garbage(
    private_fleet: Fleet, tmp_path: Path, command: str, status: tuple[str, ...]
) -> None:
    root = _project(
        tmp_path / "p",
        private_fleet,
        f'- [ ] Output <!-- golive: remote_says command="{command}" id=output -->\n',
    )
    started = time.monotonic()
    result = finish(start(root), root, started)
    assert result.elapsed < 150, result.elapsed
    result.assert_reports()
    assert "\x1b[" not in result.output and "\x1b]" not in result.output
    assert "Traceback" not in result.output
    for r in result.json["results"]:
        if r["id"].endswith("output"):
            assert r["status"] in status, r
        else:
            assert r["status"] == "passed", r


# --- remote runners (--tx) ----------------------------------------------------------


def _tx_run(root: Path, *tx: str) -> Run:
    args = ["--dist", "loadgroup"]
    for spec in tx:
        args += ["--tx", spec]
    return finish(start(root, *args, reports=()), root, time.monotonic(), timeout=120)


def _one_line_usage_error(result: Run, *words: str) -> None:
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.output
    assert "Traceback" not in result.output and "execnet" not in result.output
    said = [ln for ln in result.output.splitlines() if ln.startswith("ERROR: --tx")]
    assert len(said) == 1, result.output
    for word in words:
        assert word in said[0], said[0]


def test_tx_runner_whose_directory_is_not_writable(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "ro,size=64k") as readonly:
        root = tmp_path / "p"
        root.mkdir()
        (root / "golive.toml").write_text(
            'checklists = ["c.md"]\n[environments.prod.hosts]\nlocal = ["local://"]\n'
        )
        (root / "c.md").write_text("- [ ] CPU <!-- golive: cpu min=1 -->\n")
        runner_dir = readonly / "runner"
        _one_line_usage_error(
            _tx_run(root, f"popen//chdir={runner_dir}"), str(readonly), "not writable"
        )


def test_tx_runner_whose_ssh_key_is_missing(private_fleet: Fleet, tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "golive.toml").write_text(
        'checklists = ["c.md"]\n[environments.prod.hosts]\nlocal = ["local://"]\n'
    )
    (root / "c.md").write_text("- [ ] CPU <!-- golive: cpu min=1 -->\n")
    host = private_fleet.hosts[0]
    missing = tmp_path / "no-such-key"
    _one_line_usage_error(
        _tx_run(root, f"ssh=-i {missing} {host.user}@{host.address}//python={sys.executable}"),
        str(missing),
        "does not exist",
    )
    # A directory the runner's account cannot write, tested on the runner itself.
    spec = (
        f"ssh=-F {private_fleet.ssh_config} {host.user}@{host.address}"
        f"//python={sys.executable}//chdir=/etc/golive-runner"
    )
    _one_line_usage_error(_tx_run(root, spec), "/etc/golive-runner", "not a writable directory")
