"""A real DNS server for the tests: Debian's dnsmasq with its own records only.

dnsmasq runs in the foreground with no configuration file, no upstream
servers (``--no-resolv``) and no ``/etc/hosts``, on a free port of one
address: 127.0.0.1 for the runner's view, or a fleet host's address inside its
network namespace for a host's view. Nothing it is asked leaves the machine:
names outside the test zone are refused.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.message
import dns.query
import pytest

from support import require, stop_process

DNSMASQ = "/usr/sbin/dnsmasq"
ZONE = "golive.test"

#: The test zone: what each test expects these names to answer.
RECORDS = [
    f"--local=/{ZONE}/",
    f"--auth-zone={ZONE}",
    f"--host-record={ZONE},192.0.2.1",
    f"--host-record=www.{ZONE},192.0.2.10,2001:db8::10",
    f"--host-record=two.{ZONE},192.0.2.21",
    f"--host-record=two.{ZONE},192.0.2.22",
    f"--cname=app.{ZONE},www.{ZONE}",
    f"--mx-host={ZONE},mail.{ZONE},10",
    f"--txt-record={ZONE},v=spf1 -all",
    f"--caa-record={ZONE},0,issue,letsencrypt.org",
]


@dataclass
class DnsServer:
    address: str
    port: int
    log: Path


def free_port(address: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on ``address`` (dnsmasq binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((address, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((address, port))
                except OSError:
                    continue
            return port
    raise RuntimeError(f"no free port on {address}")


def _wait_answering(address: str, port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    query = dns.message.make_query(f"www.{ZONE}", "A")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dnsmasq exited: {log.read_text()[-500:]}")
        try:
            dns.query.udp(query, address, port=port, timeout=0.3)
            return
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    raise RuntimeError(f"dnsmasq on {address}:{port} did not answer: {log.read_text()[-500:]}")


def _wait_started(proc: subprocess.Popen[bytes], log: Path) -> None:
    """dnsmasq logs "started" once its sockets are bound."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dnsmasq exited: {log.read_text()[-500:]}")
        if "started, version" in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"dnsmasq did not start: {log.read_text()[-500:]}")


def start_dnsmasq(
    workdir: Path, address: str = "127.0.0.1", namespace: str | None = None
) -> tuple[DnsServer, subprocess.Popen[bytes]]:
    require(Path(DNSMASQ).exists(), f"{DNSMASQ} (dnsmasq-base)")
    # A fleet namespace has its own ports: nothing but sshd listens there.
    port = free_port(address) if namespace is None else 5353
    log = workdir / f"dnsmasq-{port}.log"
    cmd = [
        DNSMASQ,
        "--no-resolv",
        "--no-hosts",
        "--no-daemon",
        "--conf-file=/dev/null",
        f"--port={port}",
        f"--listen-address={address}",
        "--bind-interfaces",
        "--pid-file=",
        f"--auth-server=ns1.{ZONE},{address}",
        "--log-queries",
        *RECORDS,
    ]
    if namespace is not None:
        cmd = ["ip", "netns", "exec", namespace, *cmd]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if namespace is not None and address.startswith("127."):
            _wait_started(proc, log)  # the namespace's own loopback: not reachable from here
        else:
            _wait_answering(address, port, proc, log)
    except BaseException:
        _stop(proc)
        raise
    return DnsServer(address, port, log), proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc, timeout=10)


@pytest.fixture
def dnsmasq(tmp_path: Path) -> Iterator[DnsServer]:
    """dnsmasq on a free port of 127.0.0.1, answering for the test zone."""
    server, proc = start_dnsmasq(tmp_path)
    try:
        yield server
    finally:
        _stop(proc)


@pytest.fixture
def silent_resolver() -> Iterator[tuple[str, int]]:
    """A UDP port that receives queries and never answers them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield "127.0.0.1", int(sock.getsockname()[1])
    finally:
        sock.close()
