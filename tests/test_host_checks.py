"""Host checks against real hosts: the local machine and a fleet of SSH hosts.

Every check is run over ``local://``, ``ssh://`` and ``paramiko://`` (the
fleet's hosts are network namespaces running Debian's sshd, logged into as a
plain account), once where it must pass and once where it must fail.
Fixture files live in a per-test directory the fleet account can read: the
namespaces share this machine's file system.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_golive.checks import host as checks
from pytest_golive.checks.registry import REGISTRY, CheckDefinitionError
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError
from pytest_golive.targets import TargetPool
from pytest_golive.targets.host import HostTarget, control_dir
from support import environment, require
from support.fleet import Fleet

KINDS = ("local", "ssh", "paramiko")


@dataclass
class Host:
    """A target under test and what the test knows about it."""

    kind: str
    target: HostTarget
    #: An address and port something listens on, as seen from the host itself.
    listener: tuple[str, int]


def _target(fleet: Fleet, url: str, name: str = "t", **settings: object) -> HostTarget:
    options = {"url": url} if url.startswith("local") else fleet.options(url)
    return HostTarget(
        TargetSpec("host", name, (), options), Settings(**{"connect_timeout": 3, **settings})
    )


@pytest.fixture(scope="module")
def local_listener() -> Iterator[tuple[str, int]]:
    """A real listening socket on this machine, for ``local://``."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield sock.getsockname()
    finally:
        sock.close()


@pytest.fixture(params=("ssh", "paramiko"))
def remote(request: pytest.FixtureRequest, fleet: Fleet) -> Iterator[Host]:
    """A fleet host over SSH, logged into as the plain fleet account."""
    first = fleet.hosts[0]
    url = first.ssh_url if request.param == "ssh" else first.paramiko_url
    target = _target(fleet, url, first.name)
    yield Host(request.param, target, (first.address, 22))
    target.close()


@pytest.fixture(params=KINDS)
def host(
    request: pytest.FixtureRequest, fleet: Fleet, local_listener: tuple[str, int]
) -> Iterator[Host]:
    kind = request.param
    first = fleet.hosts[0]
    if kind == "local":
        target, listener = _target(fleet, "local://", "local"), local_listener
    else:
        url = first.ssh_url if kind == "ssh" else first.paramiko_url
        target, listener = _target(fleet, url, first.name), (first.address, 22)
    yield Host(kind, target, listener)
    target.close()


def run(check_name: str, target: HostTarget, /, **params: object):
    """Run a check as a checklist would: parameters validated and coerced first."""
    chk = REGISTRY.get(check_name)
    return chk.func(target, **chk.validate(params))


def assert_status(outcome, status: str, *words: str) -> None:
    assert outcome.status == status, outcome
    text = f"{outcome.observed} {outcome.expected}"
    for word in words:
        assert word in text, (word, outcome)


# --- capacity and system ---------------------------------------------------------------------

def test_cpu_and_memory(host: Host) -> None:
    assert_status(run("cpu", host.target, min="1"), "passed", "vCPUs")
    assert_status(run("cpu", host.target, min="100000"), "failed", ">= 100000 vCPUs")
    assert_status(run("memory", host.target, min_gib="0.1"), "passed", "GiB")
    assert_status(run("memory", host.target, min_gib="100000"), "failed", ">= 100000 GiB")


def test_disk_free_and_size(host: Host) -> None:
    assert_status(run("disk_free", host.target, path="/", min_gib="0.001"), "passed", "free on /")
    assert_status(run("disk_free", host.target, path="/", min_gib="1e9"), "failed", ">= 1e+09 GiB")
    assert_status(
        run("disk_size", host.target, path="/", min_gib="0.001"), "passed", "file system for /"
    )
    assert_status(run("disk_size", host.target, path="/", min_gib="1e9"), "failed")


def test_os(host: Host) -> None:
    assert_status(
        run("os", host.target, distribution="debian, ubuntu", min_version="11"), "passed", "debian"
    )
    assert_status(
        run("os", host.target, distribution="ubuntu,rhel"), "failed", "distribution: debian"
    )
    assert_status(run("os", host.target, min_version="99"), "failed", ">= 99")
    # Per-distribution minimums, as in "Ubuntu 20.04+ or RHEL 8+".
    assert_status(
        run("os", host.target, distribution="ubuntu>=20.04,debian>=11"), "passed", "version"
    )
    assert_status(
        run("os", host.target, distribution="ubuntu>=20.04,debian>=99"), "failed", "version: 12"
    )
    # Debian names no parent in ID_LIKE: include_like changes nothing here.
    assert_status(run("os", host.target, distribution="rhel", include_like="true"), "failed")


def test_usage(host: Host) -> None:
    assert_status(run("memory_usage", host.target, max_percent="100.1"), "passed", "GiB in use")
    assert_status(run("memory_usage", host.target, max_percent="0"), "failed", "< 0%")
    assert_status(
        run("cpu_usage", host.target, max_percent="100.1"), "passed", "CPU in use over 1s"
    )
    assert_status(run("cpu_usage", host.target, max_percent="0"), "failed", "< 0%")


def test_command_version(host: Host) -> None:
    assert_status(
        run("command_version", host.target, command="python3", min_version="3.11"),
        "passed",
        "Python 3.",
    )
    assert_status(
        run("command_version", host.target, command="python3", min_version="99"), "failed", ">= 99"
    )
    assert_status(run("command_version", host.target, command="git"), "passed", "git version")
    assert_status(
        run("command_version", host.target, command="no-such-command-x"), "failed", "not found"
    )
    assert_status(
        run("command_version", host.target, command="no-such-command-x", present="false"), "passed"
    )
    # A subcommand that does not exist makes the whole command absent ("docker compose" without the
    # plugin).
    assert_status(
        run("command_version", host.target, command="git no-such-subcommand", min_version="2.0"),
        "failed",
        "not usable",
    )


def test_bad_input_is_one_line(fleet: Fleet, shared_dir: Path) -> None:
    target = _target(fleet, "local://", "local")
    with pytest.raises(CheckError, match="^command_version: cannot split"):
        run("command_version", target, command="docker 'compose")
    conf = shared_dir / "odd.conf"
    conf.write_text('"/var/log/odd.log {\n rotate 3\n}\n')
    outcome = run(
        "logrotate",
        target,
        path="/var/log/x.log",
        config=str(conf),
        config_dir=str(shared_dir / "none"),
    )
    assert_status(outcome, "failed", "no rule")


def test_package(host: Host) -> None:
    assert_status(
        run("package", host.target, name="openssh-server", min_version="8"),
        "passed",
        "installed: yes",
    )
    assert_status(
        run("package", host.target, name="openssh-server", min_version="99"), "failed", ">= 99"
    )
    assert_status(run("package", host.target, name="no-such-package-x"), "failed", "installed: no")
    assert_status(
        run("packages", host.target, names="openssh-server, iproute2"), "passed", "all 2 installed"
    )
    assert_status(
        run("packages", host.target, names="openssh-server, no-such-package-x"),
        "failed",
        "missing: no-such-package-x",
    )


def test_service(host: Host) -> None:
    """Without an init system testinfra knows, a service's state is not applicable, never passed."""
    pid1 = Path("/proc/1/comm").read_text().strip()
    outcome = run("service", host.target, name="ssh")
    if pid1 in ("systemd", "init") or Path("/run/systemd/system").is_dir():
        assert outcome.status in ("passed", "failed") and "running" in outcome.observed, outcome
        assert_status(
            run("service", host.target, name="no-such-service-x"), "failed", "not running"
        )
    else:
        assert_status(outcome, "skipped", "no init system", f"PID 1 is {pid1}", "service ssh")


def test_process(host: Host) -> None:
    assert_status(run("process", host.target, name="sshd", user="root"), "passed", "sshd process")
    assert_status(
        run("process", host.target, name="sshd", running="false"), "failed", "no sshd process"
    )
    assert_status(
        run("process", host.target, name="no-such-daemon"), "failed", "0 no-such-daemon processes"
    )
    assert_status(run("process", host.target, name="no-such-daemon", running="false"), "passed")


# --- network --------------------------------------------------------------------------------------


def test_port_listening(host: Host) -> None:
    address, port = host.listener
    assert_status(
        run("port_listening", host.target, port=str(port), address=address), "passed", address
    )
    assert_status(run("port_listening", host.target, port=str(port)), "passed")
    assert_status(
        run("port_listening", host.target, port=str(port), address="10.201.255.254"), "failed"
    )
    assert_status(
        run("port_listening", host.target, port="1"), "failed", "nothing listening on 1/tcp"
    )
    assert_status(run("port_listening", host.target, port="1", listening="false"), "passed")
    assert_status(
        run("port_listening", host.target, port=str(port), listening="false"),
        "failed",
        "not listening",
    )
    # Bound to one address only: not exposed on all addresses.
    assert_status(
        run("port_listening", host.target, port=str(port), address="0.0.0.0", listening="false"),
        "passed",
    )


def test_port_listening_on_all_addresses(fleet: Fleet) -> None:
    sock = socket.socket()
    sock.bind(("0.0.0.0", 0))
    sock.listen()
    try:
        port = sock.getsockname()[1]
        target = _target(fleet, "local://", "local")
        assert_status(
            run("port_listening", target, port=str(port), address="127.0.0.1"), "passed", "0.0.0.0"
        )
        assert_status(
            run("port_listening", target, port=str(port), address="0.0.0.0", listening="false"),
            "failed",
            "0.0.0.0",
        )
    finally:
        sock.close()


def test_tcp_reachable_from(host: Host, fleet: Fleet) -> None:
    other = fleet.hosts[1].address
    assert_status(
        run("tcp_reachable_from", host.target, to=f"{other}:22"), "passed", "reachable from"
    )
    assert_status(
        run("tcp_reachable_from", host.target, to=f"{other}:23"), "failed", ": Connection refused"
    )
    assert_status(
        run("tcp_reachable_from", host.target, to=f"{other}:23", reachable="false"), "passed"
    )
    outcome = run("tcp_reachable_from", host.target, to=f"{fleet.unreachable}:22", timeout="1")
    assert_status(outcome, "failed", "not reachable")


def test_tcp_reachable_from_rejects_bad_destination(fleet: Fleet) -> None:
    with pytest.raises(CheckError, match="host:port"):
        run("tcp_reachable_from", _target(fleet, "local://"), to="no-port-here")


# --- accounts and files ---------------------------------------------------------------------------


def test_user(host: Host, fleet: Fleet) -> None:
    home = str(fleet.workdir / "home")
    assert_status(
        run("user", host.target, name=fleet.user, shell="/bin/bash", home=home, groups=fleet.user),
        "passed",
        "uid",
    )
    assert_status(
        run("user", host.target, name=fleet.user, shell="/usr/sbin/nologin"),
        "failed",
        "shell: /bin/bash",
    )
    assert_status(
        run("user", host.target, name=fleet.user, groups="sudo"), "failed", "member of sudo"
    )
    assert_status(run("user", host.target, name="root"), "failed", "uid 0")
    assert_status(run("user", host.target, name="root", non_root="false"), "passed")
    assert_status(run("user", host.target, name="no-such-user-x"), "failed", "exists: no")
    assert_status(run("user", host.target, name="no-such-user-x", exists="false"), "passed")


def test_group(host: Host, fleet: Fleet) -> None:
    gid = Path("/etc/group").read_text().split(f"\n{fleet.user}:x:")[1].split(":")[0]
    assert_status(run("group", host.target, name=fleet.user, gid=gid, members=fleet.user), "passed")
    assert_status(run("group", host.target, name=fleet.user, gid="1"), "failed", f"gid: {gid}")
    assert_status(run("group", host.target, name="root", members=fleet.user), "failed", "members")
    assert_status(run("group", host.target, name="no-such-group-x"), "failed", "exists: no")


def test_file(host: Host, shared_dir: Path) -> None:
    path = shared_dir / "app.env"
    path.write_text("MODE=production\n")
    path.chmod(0o644)
    assert_status(
        run(
            "file",
            host.target,
            path=str(path),
            type="file",
            mode="0644",
            owner="root",
            contains="^MODE=production$",
        ),
        "passed",
    )
    assert_status(run("file", host.target, path=str(path), mode="0600"), "failed", "mode: 0644")
    assert_status(
        run("file", host.target, path=str(shared_dir / "missing")), "failed", "exists: no"
    )
    assert_status(
        run("file", host.target, path=str(path), contains="^MODE=staging$"), "failed", "no match"
    )
    with pytest.raises(CheckError, match="mode must be an octal mode"):
        run("file", host.target, path=str(path), mode="rw-r--r--")


def test_directory_permissions(host: Host, shared_dir: Path, fleet: Fleet) -> None:
    uploads = shared_dir / "uploads"
    uploads.mkdir(mode=0o755)
    (uploads / "ok.txt").write_text("x")
    assert_status(
        run(
            "directory_permissions",
            host.target,
            path=str(uploads),
            mode="0755",
            max_mode="0755",
            owner="root",
            group="root",
            recursive="true",
        ),
        "passed",
    )
    assert_status(
        run("directory_permissions", host.target, path=str(uploads), max_mode="0700"),
        "failed",
        "no more than 0700",
    )
    assert_status(
        run("directory_permissions", host.target, path=str(uploads), writable_by="root"), "passed"
    )
    assert_status(
        run("directory_permissions", host.target, path=str(uploads), writable_by=fleet.user),
        "failed",
        f"writable by {fleet.user}",
    )
    shutil.chown(uploads, group=fleet.user)
    uploads.chmod(0o775)
    assert_status(
        run("directory_permissions", host.target, path=str(uploads), writable_by=fleet.user),
        "passed",
    )
    uploads.chmod(0o755)
    shutil.chown(uploads, group="root")
    loose = uploads / "loose.txt"
    loose.write_text("x")
    loose.chmod(0o666)
    outcome = run(
        "directory_permissions", host.target, path=str(uploads), max_mode="0755", recursive="true"
    )
    assert_status(outcome, "failed", "loose.txt")
    assert_status(
        run("directory_permissions", host.target, path=str(loose)), "failed", "regular file"
    )
    assert_status(
        run("directory_permissions", host.target, path=str(uploads / "none")),
        "failed",
        "no such directory",
    )


# --- log rotation, schedules, backups -------------------------------------------------------------

LOGROTATE_CONF = """\
# defaults
weekly
rotate 4
include {dir}
"""

APP_RULE = """\
"/var/log/app/*.log" /var/log/app/extra.log {{
    daily
    rotate {rotate}
    compress
    postrotate
        rotate 999
    endscript
}}
"""


def test_logrotate(host: Host, shared_dir: Path) -> None:
    conf, conf_dir = shared_dir / "logrotate.conf", shared_dir / "logrotate.d"
    conf_dir.mkdir()
    conf.write_text(LOGROTATE_CONF.format(dir=conf_dir))
    (conf_dir / "app").write_text(APP_RULE.format(rotate=14))
    (conf_dir / "app.dpkg-old").write_text(
        APP_RULE.format(rotate=1).replace("app/*.log", "old/*.log")
    )
    (conf_dir / "web").write_text("/var/log/web.log\n/var/log/web-error.log {\n  nocompress\n}\n")
    where = {"config": str(conf), "config_dir": str(conf_dir)}
    assert_status(
        run(
            "logrotate",
            host.target,
            path="/var/log/app/api.log",
            min_rotate="14",
            compress="true",
            frequency="daily",
            **where,
        ),
        "passed",
        "app",
    )
    assert_status(
        run("logrotate", host.target, path="/var/log/app/api.log", min_rotate="30", **where),
        "failed",
        "rotate 14",
    )
    # Global defaults apply to a rule that sets nothing itself.
    outcome = run(
        "logrotate",
        host.target,
        path="/var/log/web.log",
        min_rotate="4",
        compress="true",
        frequency="daily",
        **where,
    )
    assert_status(outcome, "failed", "compress: nocompress", "frequency: weekly")
    assert "rotate" not in outcome.observed
    # A rule's patterns may be spread over the lines before its "{".
    assert_status(
        run("logrotate", host.target, path="/var/log/web-error.log", compress="false", **where),
        "passed",
        "/var/log/web.log /var/log/web-error.log",
    )
    assert_status(
        run("logrotate", host.target, path="/var/log/old/x.log", **where), "failed", "no rule"
    )


def test_logrotate_unreadable_rule_is_an_error(remote: Host, shared_dir: Path) -> None:
    host = remote
    conf_dir = shared_dir / "logrotate.d"
    conf_dir.mkdir()
    (conf_dir / "secret").write_text("/var/log/x.log {\n rotate 9\n}\n")
    (conf_dir / "secret").chmod(0o600)
    with pytest.raises(
        CheckError, match=f"host {host.target.name}: reading logrotate configuration failed"
    ):
        run(
            "logrotate",
            host.target,
            path="/var/log/x.log",
            config=str(shared_dir / "none"),
            config_dir=str(conf_dir),
        )


def test_cron_or_timer(host: Host, shared_dir: Path, fleet: Fleet) -> None:
    crontab, cron_dir, spool = shared_dir / "crontab", shared_dir / "cron.d", shared_dir / "spool"
    cron_dir.mkdir()
    spool.mkdir(mode=0o755)
    crontab.write_text(
        "SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
    )
    (cron_dir / "backup").write_text(
        "# nightly\nMAILTO=ops\n30 2 * * * backup /usr/local/bin/db-backup --full\n"
    )
    (spool / fleet.user).write_text("@daily /home/app/bin/cleanup-sessions\n")
    daily = shared_dir / "cron.daily"
    daily.mkdir()
    (daily / "files-backup").write_text("#!/bin/sh\nexec /usr/local/bin/rsync-offsite --all\n")
    (daily / "files-backup").chmod(0o755)
    (daily / "disabled.dpkg-old").write_text("#!/bin/sh\n/usr/local/bin/old-job\n")
    (daily / "disabled.dpkg-old").chmod(0o755)
    where = {
        "crontab": str(crontab),
        "cron_dir": str(cron_dir),
        "spool_dir": str(spool),
        "periodic_dirs": str(daily),
    }
    # No cron daemon runs on the fleet's hosts: the entries are there but never run.
    assert_status(
        run("cron_or_timer", host.target, command="db-backup", **where), "failed",
        "30 2 * * * (as backup), but no cron daemon runs", "it never runs",
    )
    where["daemon"] = "false"  # from here on: the entries themselves
    assert_status(
        run("cron_or_timer", host.target, command="db-backup", user="backup", **where),
        "passed",
        "30 2 * * *",
        "as backup",
    )
    assert_status(
        run("cron_or_timer", host.target, command="cleanup-sessions", **where),
        "passed",
        f"as {fleet.user}",
        "@daily",
    )
    assert_status(
        run("cron_or_timer", host.target, command="db-backup", user="root", **where), "failed"
    )
    assert_status(
        run("cron_or_timer", host.target, command="logrotate", **where), "failed", "no schedule"
    )
    # A run-parts script, matched on its content; names run-parts skips do not count.
    assert_status(
        run("cron_or_timer", host.target, command="rsync-offsite", **where),
        "passed",
        "files-backup: daily (as root)",
    )
    assert_status(run("cron_or_timer", host.target, command="old-job", **where), "failed")


def test_cron_or_timer_unreadable_crontabs_cannot_conclude(remote: Host, shared_dir: Path) -> None:
    host = remote
    spool = shared_dir / "spool"
    spool.mkdir(mode=0o700)
    with pytest.raises(CheckError, match="cannot read .*spool .*permission denied"):
        run(
            "cron_or_timer",
            host.target,
            command="db-backup",
            crontab=str(shared_dir / "none"),
            cron_dir=str(shared_dir / "none.d"),
            spool_dir=str(spool),
            periodic_dirs=str(shared_dir / "none"),
        )


def test_newest_file_age(host: Host, shared_dir: Path) -> None:
    backups = shared_dir / "backups"
    backups.mkdir()
    now = time.time()
    for name, hours in (
        ("db-1.sql.gz", 2),
        ("db-2.sql.gz", 30),
        ("db-3.sql.gz", 24 * 9),
        ("notes.txt", 0),
    ):
        path = backups / name
        path.write_text(name)
        os.utime(path, (now - hours * 3600, now - hours * 3600))
    args = {"directory": str(backups), "pattern": "*.sql.gz"}
    assert_status(
        run("newest_file_age", host.target, max_age_hours="26", retention_days="7", **args),
        "passed",
        "db-1.sql.gz",
        "db-3.sql.gz",
    )
    assert_status(
        run("newest_file_age", host.target, max_age_hours="1", **args),
        "failed",
        "db-1.sql.gz is 2.0 h",
    )
    assert_status(
        run("newest_file_age", host.target, retention_days="30", **args),
        "failed",
        "db-3.sql.gz is 9.0 days",
    )
    assert_status(
        run("newest_file_age", host.target, directory=str(backups), pattern="*.dump"),
        "failed",
        "0 files",
    )
    assert_status(
        run("newest_file_age", host.target, directory=str(shared_dir / "none")),
        "failed",
        "no directory",
    )


# --- kernel, mounts, time, sshd ------------------------------------------------------------------


def test_sysctl(host: Host) -> None:
    assert_status(run("sysctl", host.target, name="kernel.ostype", value="Linux"), "passed")
    assert_status(
        run("sysctl", host.target, name="kernel.ostype", value="FreeBSD"), "failed", "Linux"
    )
    assert_status(run("sysctl", host.target, name="kernel.pid_max", min="1"), "passed")
    assert_status(run("sysctl", host.target, name="kernel.pid_max", max="1"), "failed", "<= 1")
    assert_status(
        run("sysctl", host.target, name="kernel.no_such_key", value="1"),
        "failed",
        "no such parameter",
    )
    with pytest.raises(CheckError, match="not a kernel parameter"):
        run("sysctl", host.target, name="../etc/passwd")


def _root_mount() -> tuple[str, list[str]]:
    """The file system type and options of ``/``, as this machine's kernel reports them."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if fields[1] == "/":
            found = fields[2], fields[3].split(",")
    return found


def test_mount(host: Host, shared_dir: Path) -> None:
    fstype, options = _root_mount()
    assert_status(
        run("mount", host.target, path="/etc", options=",".join(options[:2]), fstype=fstype),
        "passed",
        options[0],
    )
    assert_status(run("mount", host.target, path="/", dedicated="true"), "passed")
    assert_status(run("mount", host.target, path="/proc", fstype="ext4"), "failed", "type: proc")
    assert_status(
        run("mount", host.target, path="/etc", options="no-such-option"), "failed", "no-such-option"
    )
    assert_status(
        run("mount", host.target, path=str(shared_dir), dedicated="true"), "failed", "mount point"
    )


def _time_daemons() -> set[str]:
    names = set()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            names.add(comm.read_text().strip())
        except OSError:
            continue
    return names & set(checks._TIME_DAEMONS)


def test_time_sync(fleet: Fleet, tmp_path: Path) -> None:
    """Fails without a time daemon, passes while chronyd runs (in a fleet namespace, with no
    servers)."""
    chronyd = shutil.which("chronyd") or "/usr/sbin/chronyd"
    require(os.path.exists(chronyd), "chronyd (chrony)")
    targets = [_target(fleet, "local://", "local"), _target(fleet, fleet.hosts[0].ssh_url, "ssh"),
               _target(fleet, fleet.hosts[0].paramiko_url, "paramiko")]
    if not _time_daemons():
        for target in targets:
            assert_status(run("time_sync", target), "failed", "no time synchronisation daemon")
    conf = tmp_path / "chrony.conf"
    conf.write_text(f"cmdport 0\npidfile {tmp_path}/chronyd.pid\n")
    proc = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            fleet.hosts[2].namespace,
            chronyd,
            "-x",
            "-n",
            "-u",
            "root",
            "-f",
            str(conf),
        ]
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (tmp_path / "chronyd.pid").exists():
            time.sleep(0.05)
        for target in targets:
            assert_status(run("time_sync", target), "passed", "chronyd")
            assert_status(run("time_sync", target, synchronized="true"), "failed", "synchronized")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for target in targets:
            target.close()


def test_sshd_config(host: Host, fleet: Fleet, shared_dir: Path) -> None:
    good = fleet.workdir / "host0" / "sshd_config"
    outcome = run("sshd_config", host.target, config=str(good), settings="maxstartups 100:30:200")
    assert_status(outcome, "passed", "passwordauthentication: no", "permitrootlogin: no")
    # Root asks sshd itself; a plain account can only read the file.
    assert outcome.details["source"] == ("sshd -T" if host.kind == "local" else f"parsed {good}")
    weak = shared_dir / "sshd_config"
    weak.write_text(
        f"Include {shared_dir}/conf.d/*.conf\nPermitRootLogin=no\nMatch User x\n  "
        "PasswordAuthentication no\n"
    )
    (shared_dir / "conf.d").mkdir()
    (shared_dir / "conf.d" / "10-pw.conf").write_text("PasswordAuthentication yes\n")
    outcome = run("sshd_config", host.target, config=str(weak))
    assert_status(outcome, "failed", "passwordauthentication: yes")
    assert "permitrootlogin" not in outcome.observed
    # Nothing set: sshd's defaults allow passwords and key-only root logins.
    (shared_dir / "empty_config").write_text("# nothing\n")
    outcome = run("sshd_config", host.target, config=str(shared_dir / "empty_config"))
    assert_status(
        outcome, "failed", "passwordauthentication: yes", "permitrootlogin: prohibit-password"
    )


def test_bad_parameters_are_one_line() -> None:
    with pytest.raises(CheckDefinitionError, match="frequency"):
        REGISTRY.get("logrotate").validate({"path": "/x", "frequency": "fortnightly"})
    with pytest.raises(CheckDefinitionError, match="needs parameter"):
        REGISTRY.get("tcp_reachable_from").validate({})


# --- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["ssh", "paramiko"])
def test_unreachable_host_is_one_error_and_not_retried(fleet: Fleet, scheme: str) -> None:
    target = _target(
        fleet, f"{scheme}://{fleet.user}@{fleet.unreachable}", "ghost", connect_timeout=2
    )
    with pytest.raises(CheckError) as first:
        run("cpu", target)
    message = str(first.value)
    assert message.startswith("host ghost: cannot connect: ") and "\n" not in message
    assert fleet.unreachable in message or "timed out" in message.lower()
    for name, params in (
        ("memory", {"min_gib": "1"}),
        ("os", {}),
        ("file", {"path": "/etc/hostname"}),
    ):
        with pytest.raises(CheckError) as again:
            run(name, target, **params)
        assert str(again.value) == message
    assert target.failed_attempts == 1


@pytest.mark.parametrize("scheme", ["ssh", "paramiko"])
def test_refused_login_names_host_and_cause(fleet: Fleet, scheme: str, tmp_path: Path) -> None:
    address = fleet.hosts[0].address
    wrong_user = _target(fleet, f"{scheme}://nobody-here@{address}", "wrong-user")
    with pytest.raises(CheckError, match=r"^host wrong-user: login refused: "):
        run("cpu", wrong_user)
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host *\n  IdentityFile {fleet.wrong_identity_file}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {fleet.workdir / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
    )
    options = {
        "url": f"{scheme}://{fleet.user}@{address}",
        "ssh_config": str(config),
        "ssh_identity_file": str(fleet.wrong_identity_file),
    }
    wrong_key = HostTarget(
        TargetSpec("host", "wrong-key", (), options), Settings(connect_timeout=3)
    )
    with pytest.raises(CheckError, match=r"^host wrong-key: login refused: "):
        run("cpu", wrong_key)


@pytest.mark.parametrize("scheme", ["ssh", "paramiko"])
def test_host_keys_are_verified(fleet: Fleet, scheme: str, tmp_path: Path) -> None:
    """A changed host key is refused, and so is an unknown one under StrictHostKeyChecking yes."""
    first, second = fleet.hosts[0], fleet.hosts[1]
    lines = (fleet.workdir / "known_hosts").read_text().splitlines()
    second_key = next(ln for ln in lines if ln.startswith(second.address + " ")).split(" ", 1)[1]
    cases = {"changed": f"{first.address} {second_key}\n", "unknown": ""}
    for case, known in cases.items():
        (tmp_path / case).write_text(known)
        config = tmp_path / f"{case}.config"
        config.write_text(
            f"Host *\n  IdentityFile {fleet.identity_file}\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {tmp_path / case}\n  StrictHostKeyChecking yes\n"
        )
        options = {"url": f"{scheme}://{fleet.user}@{first.address}", "ssh_config": str(config)}
        target = HostTarget(TargetSpec("host", case, (), options), Settings(connect_timeout=3))
        with pytest.raises(
            CheckError, match=rf"^host {case}: cannot connect: .*(?i:host key|known_hosts)"
        ):
            target.run("true")


@pytest.mark.parametrize("kind", KINDS)
def test_hanging_command_is_bounded(fleet: Fleet, kind: str) -> None:
    url = "local://" if kind == "local" else f"{kind}://{fleet.user}@{fleet.hosts[1].address}"
    target = _target(fleet, url, "slow", command_timeout=1)
    with pytest.raises(CheckError, match=r"^host slow: command timed out after 1s: sleep 30$"):
        target.run("sleep 30")
    # A slow command is not a dead host: the next command runs.
    assert target.failure is None
    assert target.run("echo alive").stdout.strip() == "alive"
    target.close()


@pytest.mark.parametrize("scheme", ["ssh", "paramiko"])
def test_host_that_stops_answering_is_one_error(fleet: Fleet, scheme: str) -> None:
    """A host unplugged mid-session (its link down) fails the command instead of hanging it."""
    victim = fleet.hosts[2]
    target = _target(
        fleet,
        f"{scheme}://{fleet.user}@{victim.address}",
        "unplugged",
        connect_timeout=1,
        command_timeout=1,
    )
    assert target.run("true").rc == 0
    subprocess.run(
        ["ip", "-n", victim.namespace, "link", "set", victim.interface, "down"], check=True
    )
    try:
        # It had answered before: the connection was lost, not refused (the words say which).
        lost = r"^host unplugged: connection lost during the check: "
        with pytest.raises(CheckError, match=lost):
            target.run("true")
        with pytest.raises(CheckError, match=lost):
            run("cpu", target)
        assert target.failed_attempts == 1
    finally:
        subprocess.run(
            ["ip", "-n", victim.namespace, "link", "set", victim.interface, "up"], check=True
        )
        target.close()
    assert _target(fleet, victim.ssh_url, "back").run("true").rc == 0


def test_pool_isolates_failing_hosts(fleet: Fleet) -> None:
    specs = [
        TargetSpec("host", "good", (), fleet.options(fleet.hosts[2].ssh_url)),
        TargetSpec("host", "ghost", (), fleet.options(f"ssh://{fleet.user}@{fleet.unreachable}")),
    ]
    env = environment(specs, connect_timeout=2)
    pool = TargetPool(env)
    try:
        ghost = pool.handle(specs[1])
        with pytest.raises(CheckError):
            run("cpu", ghost)
        assert pool.failure(specs[1]) is not None
        with pytest.raises(CheckError, match="host ghost: cannot connect"):
            pool.handle(specs[1])
        assert_status(run("cpu", pool.handle(specs[0]), min="1"), "passed")
        assert pool.failure(specs[0]) is None
    finally:
        pool.close()


# --- connection reuse -----------------------------------------------------------------------------

def test_ssh_reuses_one_connection_per_host(fleet: Fleet) -> None:
    target = _target(fleet, fleet.hosts[1].ssh_url, "mux")
    directory = Path(control_dir())
    assert directory.stat().st_mode & 0o777 == 0o700
    before = set(directory.iterdir())
    for _ in range(5):
        assert target.run("true").rc == 0
    sockets = set(directory.iterdir()) - before
    assert len(sockets) == 1 and next(iter(sockets)).is_socket()
    target.close()
    assert not any(p.exists() for p in sockets)


def test_ssh_without_multiplexing_leaves_no_socket(fleet: Fleet) -> None:
    directory = Path(control_dir())
    before = set(directory.iterdir())
    target = _target(fleet, fleet.hosts[2].ssh_url, "plain", ssh_multiplex=False)
    assert target.run("echo once").stdout.strip() == "once"
    assert set(directory.iterdir()) == before
    target.close()


# --- the fleet itself -----------------------------------------------------------------------------

def test_build_fleet_teardown_leaves_nothing(fleet: Fleet, tmp_path: Path) -> None:
    """A second, independent fleet (as a benchmark builds one) coexists and cleans up after it."""
    from support.fleet import build_fleet

    extra = build_fleet(1, tmp_path)
    try:
        assert extra.hosts[0].address != fleet.hosts[0].address
        assert extra.hosts[0].address.startswith("10.201.")
        target = _target(extra, extra.hosts[0].ssh_url, "extra")
        assert target.run("id -un").stdout.strip() == extra.user
        target.close()
    finally:
        extra.teardown()
    namespaces = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert extra.hosts[0].namespace not in namespaces
    links = subprocess.run(
        ["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    assert extra.hosts[0].address.rsplit(".", 1)[0] + ".1/" not in links
    users = subprocess.run(
        ["getent", "passwd", extra.user], capture_output=True, text=True, check=False
    )
    assert users.returncode != 0
    assert not extra.workdir.exists()
    # The session's fleet is untouched.
    assert _target(fleet, fleet.hosts[0].ssh_url, "still").run("true").rc == 0


# --- a whole run ----------------------------------------------------------------------------------

def test_checklist_run_over_the_fleet(fleet: Fleet, golive_project) -> None:
    """A checklist over three hosts: the unreachable one gives one error line per item, quickly,
    and the reachable ones (ssh:// and paramiko://) are checked as usual."""
    hosts = [
        ("good-ssh", fleet.hosts[0].ssh_url),
        ("good-paramiko", fleet.hosts[1].paramiko_url),
        ("ghost", f"ssh://{fleet.user}@{fleet.unreachable}"),
    ]
    entries = ",\n    ".join(
        f'{{ name = "{name}", url = "{url}", ssh_config = "{fleet.ssh_config}" }}'
        for name, url in hosts
    )
    # The fleet's hosts share this machine's system: the line asks for what it runs.
    release = dict(
        line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines()
        if "=" in line
    )
    distribution = release["ID"].strip('"')
    major = release.get("VERSION_ID", "0").strip('"').split(".")[0]
    golive_project.write(
        """\
        # Servers
        - [ ] Minimum 1 vCPU <!-- golive: cpu min=1 on=web -->
        - [ ] Recent system <!-- golive: os distribution=DIST min_version=MAJOR on=web -->
        - [ ] No password logins <!-- golive: sshd_config config=CONFIG on=web -->
        """.replace("CONFIG", str(fleet.workdir / "host0" / "sshd_config"))
        .replace("DIST", distribution).replace("MAJOR", major),
        environments=f"""
[environments.fleet.hosts]
web = [
    {entries}
]
""",
    )
    result = golive_project.run(env="fleet")
    records = golive_project.results()["results"]
    by_target: dict[str, list[dict]] = {}
    for record in records:
        target = record["nodeid"].rsplit("[", 1)[-1].rstrip("]")
        by_target.setdefault(target, []).append(record)
    assert {r["status"] for name in ("good-ssh", "good-paramiko") for r in by_target[name]} == {
        "passed"
    }, records
    ghost = by_target["ghost"]
    assert len(ghost) == 3 and {r["status"] for r in ghost} == {"error"}, ghost
    text = result.stdout.str()
    assert text.count("host ghost: cannot connect: ") >= 1
    assert f"{fleet.unreachable} port 22" in text
