"""A fleet host of its own for firewall tests, reachable as the plain account and as root.

Loading a packet filter into a host of the session's fleet would cut off the
other tests that use it, so these tests build a one-host fleet
(:func:`support.fleet.build_fleet`) whose namespace they may filter freely,
and flush its ruleset after each test.

Reading a ruleset needs root. This machine has no ``sudo``, so the privileged
path is a second sshd in the same namespace (port 2222) that admits root with
a throwaway key: a root-login host, as an operator's inventory would have for
checks that must read root-only state. The plain account on port 22 is the
unprivileged view.

The root sshd is started after ``/etc/netns/NS/resolv.conf`` is written, so its
sessions see a resolver configuration of the host's own (``ip netns exec`` mounts it
over ``/etc/resolv.conf``): ``nameserver 127.0.0.1``, the namespace's own loopback,
where a test may start a DNS server. The file is removed at the end.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import require
from support.fleet import SSHD, Fleet, FleetHost, build_fleet, fleet_available

ROOT_PORT = 2222


@dataclass
class FirewallHost:
    fleet: Fleet
    host: FleetHost
    #: ssh_config that logs in as root on :data:`ROOT_PORT`.
    root_config: Path
    root_identity: Path

    @property
    def root_url(self) -> str:
        return f"ssh://root@{self.host.address}:{ROOT_PORT}"

    def options(self, *, root: bool = False) -> dict[str, object]:
        if root:
            return {
                "url": self.root_url,
                "ssh_config": str(self.root_config),
                "ssh_identity_file": str(self.root_identity),
            }
        return self.fleet.options(self.host.ssh_url)

    def nft(self, ruleset: str) -> None:
        """Load ``ruleset`` (nft syntax) into the host's namespace, as root."""
        subprocess.run(
            ["ip", "netns", "exec", self.host.namespace, "nft", "-f", "-"],
            input=ruleset,
            text=True,
            check=True,
            capture_output=True,
            timeout=30,
        )

    def flush(self) -> None:
        subprocess.run(
            ["ip", "netns", "exec", self.host.namespace, "nft", "flush", "ruleset"],
            check=False,
            capture_output=True,
            timeout=30,
        )


def _root_sshd(host: FleetHost, workdir: Path) -> tuple[subprocess.Popen[bytes], Path, Path]:
    workdir.mkdir(mode=0o700)
    key = workdir / "root_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    host_key = workdir / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], check=True)
    (workdir / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
    config = workdir / "sshd_config"
    # StrictModes off: the key file lives under /tmp, which sshd's path check refuses.
    config.write_text(
        f"ListenAddress {host.address}\nPort {ROOT_PORT}\nHostKey {host_key}\n"
        f"PidFile {workdir / 'sshd.pid'}\nAllowUsers root\nPermitRootLogin prohibit-password\n"
        f"AuthorizedKeysFile {workdir / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel ERROR\n"
    )
    proc = subprocess.Popen(
        ["ip", "netns", "exec", host.namespace, SSHD, "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection((host.address, ROOT_PORT), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the root sshd did not start") from None
            time.sleep(0.05)
    public = " ".join(Path(f"{host_key}.pub").read_text().split()[:2])
    (workdir / "known_hosts").write_text(f"[{host.address}]:{ROOT_PORT} {public}\n")
    ssh_config = workdir / "ssh_config"
    ssh_config.write_text(
        f"Host {host.address}\n  IdentityFile {key}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {workdir / 'known_hosts'}\n  StrictHostKeyChecking yes\n"
        "  LogLevel ERROR\n"
    )
    return proc, ssh_config, key


@pytest.fixture(scope="module")
def firewall_host() -> Iterator[FirewallHost]:
    ok, missing = fleet_available()
    require(ok, f"a fleet host needs {missing}")
    require(shutil.which("nft") is not None, "nft (nftables)")
    workdir = Path(tempfile.mkdtemp(prefix="golive-fw-"))
    built = build_fleet(1, workdir / "fleet")
    proc = None
    netns_etc = Path("/etc/netns") / built.hosts[0].namespace
    created_parent = not netns_etc.parent.exists()
    try:
        netns_etc.mkdir(parents=True)
        (netns_etc / "resolv.conf").write_text("nameserver 127.0.0.1\n")
        proc, config, key = _root_sshd(built.hosts[0], workdir / "root")
        yield FirewallHost(built, built.hosts[0], config, key)
    finally:
        from pytest_golive.targets.host import close_all_masters

        close_all_masters()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        built.teardown()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(netns_etc, ignore_errors=True)
        if created_parent:
            try:
                netns_etc.parent.rmdir()
            except OSError:
                pass  # another fleet's files are there now


@pytest.fixture
def fw(firewall_host: FirewallHost) -> Iterator[FirewallHost]:
    """The firewall host with an empty ruleset before and after the test."""
    firewall_host.flush()
    try:
        yield firewall_host
    finally:
        firewall_host.flush()
