"""A fleet of real SSH hosts for the tests: network namespaces running sshd.

Each host is a network namespace joined to a private bridge by a veth pair,
with Debian's ``/usr/sbin/sshd`` listening on the host's own address in
10.201.0.0/16, a throwaway host key, and a plain (non-root) account that logs
in with a throwaway client key. The namespaces share the machine's file
system, so tests put the files a check must find under :attr:`Fleet.shared`
(readable by the fleet account) rather than under ``/etc``.

``build_fleet(n, workdir)`` is a plain function so benchmarks can build a
fleet too; the ``fleet`` fixture builds one per test session and tears it
down at the end, also when tests fail.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support import require

SSHD = "/usr/sbin/sshd"
#: The only range the fleet may use.
PREFIX = "10.201"
_LOCK = "/run/golive-fleet.lock"


@dataclass(frozen=True)
class FleetHost:
    """One host of the fleet, as a check's configuration would name it."""

    name: str
    namespace: str
    address: str
    user: str
    #: The host's end of its veth pair, inside its namespace (down = host unplugged).
    interface: str = ""

    @property
    def ssh_url(self) -> str:
        return f"ssh://{self.user}@{self.address}"

    @property
    def paramiko_url(self) -> str:
        return f"paramiko://{self.user}@{self.address}"


@dataclass
class Fleet:
    hosts: list[FleetHost]
    #: An address in the fleet's subnet with nothing behind it.
    unreachable: str
    user: str
    ssh_config: Path
    identity_file: Path
    #: A key the hosts do not accept, for refused logins.
    wrong_identity_file: Path
    #: A directory every fleet account can read, for per-test fixture files.
    shared: Path
    workdir: Path
    teardown: Callable[[], None] = field(repr=False, default=lambda: None)

    def options(self, url: str, **extra: object) -> dict[str, object]:
        """Target options for ``url`` (ssh_config and identity of the fleet)."""
        return {
            "url": url,
            "ssh_config": str(self.ssh_config),
            "ssh_identity_file": str(self.identity_file),
            **extra,
        }


def fleet_available() -> tuple[bool, str]:
    """Whether this machine can build a fleet, and what is missing if not."""
    if not os.path.exists(SSHD):
        return False, f"{SSHD} (openssh-server)"
    missing = [tool for tool in ("ip", "ssh", "ssh-keygen", "useradd") if not shutil.which(tool)]
    if missing:
        return False, ", ".join(missing)
    if os.geteuid() != 0:
        return False, "root (network namespaces)"
    return True, ""


def _sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")
    return result


def _used_octets() -> set[int]:
    """Third octets of 10.201.x.0/24 subnets already configured on this machine."""
    out = _sh("ip", "-o", "-4", "addr", "show").stdout
    used = set()
    for word in out.split():
        if word.startswith(PREFIX + "."):
            used.add(int(word.split(".")[2]))
    return used


def _remove_stale() -> None:
    """Remove namespaces and bridges left by fleets whose process is gone."""
    for line in _sh("ip", "netns", "list").stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if len(parts) == 4 and parts[0] == "golive" and parts[1].isdigit():
            if not Path(f"/proc/{parts[1]}").exists():
                _delete_namespace(name)
                _sh("ip", "link", "del", f"glbr{parts[2]}", check=False)
                _sh("userdel", "--force", f"golive{parts[2]}", check=False)


def _delete_namespace(name: str) -> None:
    """Kill every process left in a namespace (sshd sessions), then delete it."""
    for pid in _sh("ip", "netns", "pids", name, check=False).stdout.split():
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass
    _sh("ip", "netns", "del", name, check=False)


def _keygen(path: Path, comment: str) -> str:
    _sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path))
    return Path(f"{path}.pub").read_text().strip()


def _wait_listening(address: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, 22), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"sshd on {address} did not start")


def build_fleet(n: int, workdir: Path) -> Fleet:
    """Build ``n`` SSH hosts in network namespaces; call ``fleet.teardown()`` after.

    Everything created is recorded as it is created, so a failure half-way
    through still tears down what exists.
    """
    if not 1 <= n <= 200:
        raise ValueError(f"a fleet has 1 to 200 hosts (one /24), not {n}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    undo: list[Callable[[], object]] = []

    def teardown() -> None:
        for step in reversed(undo):
            try:
                step()
            except Exception:  # noqa: BLE001 - tear down as much as possible
                pass
        undo.clear()

    try:
        return _build(n, workdir, undo, teardown)
    except BaseException:
        teardown()
        raise


def _build(
    n: int, workdir: Path, undo: list[Callable[[], object]], teardown: Callable[[], None]
) -> Fleet:
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    with open(_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _remove_stale()
        octet = next(o for o in range(10, 250) if o not in _used_octets())
        bridge = f"glbr{octet}"
        _sh("ip", "link", "add", bridge, "type", "bridge")
        undo.append(lambda: _sh("ip", "link", "del", bridge, check=False))
        _sh("ip", "addr", "add", f"{PREFIX}.{octet}.1/24", "dev", bridge)
        _sh("ip", "link", "set", bridge, "up")

    # A world-readable tree: the fleet account must reach keys and fixtures.
    base = Path(workdir) / f"fleet{octet}"
    base.mkdir()
    base.chmod(0o755)
    undo.append(lambda: shutil.rmtree(base, ignore_errors=True))
    for parent in base.parents:  # traversable, not listable
        if parent != Path("/"):
            parent.chmod(parent.stat().st_mode | 0o001)
    user = f"golive{octet}"
    home = base / "home"
    _sh("userdel", "--force", user, check=False)  # left by a fleet that was killed
    _sh("useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/bin/bash",
        "--password", "*", user)
    undo.append(lambda: _sh("userdel", "--force", user, check=False))
    client_key = base / "client_key"
    client_pub = _keygen(client_key, f"{user}@golive-fleet")
    wrong_key = base / "wrong_key"
    _keygen(wrong_key, "not-authorised")
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    (home / ".ssh" / "authorized_keys").write_text(client_pub + "\n")
    for path in (home, home / ".ssh", home / ".ssh" / "authorized_keys"):
        shutil.chown(path, user, user)
    shared = base / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)

    known_hosts = []
    hosts = []
    for i in range(n):
        ns = f"golive-{os.getpid()}-{octet}-{i}"
        address = f"{PREFIX}.{octet}.{11 + i}"
        outer, inner = f"gl{octet}h{i}", f"gl{octet}n{i}"
        _sh("ip", "netns", "add", ns)
        undo.append(lambda ns=ns: _delete_namespace(ns))
        _sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        undo.append(lambda outer=outer: _sh("ip", "link", "del", outer, check=False))
        _sh("ip", "link", "set", inner, "netns", ns)
        _sh("ip", "link", "set", outer, "master", f"glbr{octet}", "up")
        _sh("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", inner)
        _sh("ip", "-n", ns, "link", "set", inner, "up")
        _sh("ip", "-n", ns, "link", "set", "lo", "up")
        _sh("ip", "-n", ns, "route", "add", "default", "via", f"{PREFIX}.{octet}.1")
        hostdir = base / f"host{i}"
        hostdir.mkdir(mode=0o755)
        host_pub = _keygen(hostdir / "host_key", f"host{i}")
        known_hosts.append(f"{address} {' '.join(host_pub.split()[:2])}")
        config = hostdir / "sshd_config"
        config.write_text(
            f"ListenAddress {address}\nPort 22\nHostKey {hostdir / 'host_key'}\n"
            f"PidFile {hostdir / 'sshd.pid'}\nAllowUsers {user}\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin no\nUsePAM no\n"
            "StrictModes yes\nMaxStartups 100:30:200\nLogLevel ERROR\n"
        )
        log = open(hostdir / "sshd.log", "w")  # noqa: SIM115 - lives as long as sshd
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, SSHD, "-D", "-e", "-f", str(config)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        undo.append(lambda proc=proc, log=log: (_stop(proc), log.close()))
        hosts.append(FleetHost(f"fleet-{i}", ns, address, user, inner))
    deadline = time.monotonic() + 30
    for host in hosts:
        _wait_listening(host.address, deadline)

    (base / "known_hosts").write_text("\n".join(known_hosts) + "\n")
    ssh_config = base / "ssh_config"
    ssh_config.write_text(
        f"Host {PREFIX}.{octet}.*\n"
        f"  IdentityFile {client_key}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {base / 'known_hosts'}\n"
        "  StrictHostKeyChecking yes\n"
        "  LogLevel ERROR\n"
    )
    return Fleet(
        hosts=hosts,
        unreachable=f"{PREFIX}.{octet}.250",
        user=user,
        ssh_config=ssh_config,
        identity_file=client_key,
        wrong_identity_file=wrong_key,
        shared=shared,
        workdir=base,
        teardown=teardown,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End sshd and every session it forked (they share its process group)."""
    try:
        os.killpg(proc.pid, 15)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def fleet() -> Iterator[Fleet]:
    """Three SSH hosts in network namespaces, for the whole session."""
    ok, missing = fleet_available()
    require(ok, f"a fleet of SSH hosts needs {missing}")
    workdir = Path(tempfile.mkdtemp(prefix="golive-fleet-"))
    try:
        built = build_fleet(3, workdir)
        try:
            yield built
        finally:
            from pytest_golive.targets.host import close_all_masters

            close_all_masters()
            built.teardown()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def shared_dir(fleet: Fleet, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A fresh per-test directory every fleet host (and the fleet account) can read."""
    path = fleet.shared / request.node.name.replace("/", "_")[:80]
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
