"""Network: listening sockets of the host, and connections from the host to elsewhere.

Listening sockets come from the kernel's ``/proc/net/{tcp,tcp6,udp,udp6}``
tables (no ``ss`` or ``netstat`` needed), the same format on every Linux.
"""

from __future__ import annotations

import re
import socket
from typing import Literal
from urllib.parse import urlsplit

from pytest_golive.checks.host.shell import output, q
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, has, proposes
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.targets.host import HostTarget

# --- listening sockets -------------------------------------------------------------------

#: The socket state that means listening: TCP_LISTEN for tcp, TCP_CLOSE for an unconnected
#: (bound) udp socket.
_LISTEN_STATE = {"tcp": "0A", "udp": "07"}
WILDCARDS = {"0.0.0.0", "::"}


def listeners_command(protocol: str) -> str:
    return f"cat /proc/net/{protocol} /proc/net/{protocol}6 2>/dev/null; true"


def hex_address(text: str) -> str:
    """An address from /proc/net/tcp's little-endian hex (IPv4-mapped IPv6 shown as IPv4)."""
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    swapped = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    addr = socket.inet_ntop(socket.AF_INET6, swapped)
    return addr[7:] if addr.startswith("::ffff:") and "." in addr else addr


def parse_listeners(text: str, protocol: str) -> list[tuple[str, int]]:
    """(address, port) of every listening socket in ``/proc/net/<protocol>`` tables."""
    state = _LISTEN_STATE[protocol]
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 3 and ":" in fields[1] and fields[3] == state:
            addr, _, port = fields[1].rpartition(":")
            try:
                found.append((hex_address(addr), int(port, 16)))
            except ValueError:
                continue
    return found


def judge_port_listening(
    listeners: list[tuple[str, int]], port: int, address: str | None, protocol: str, listening: bool
) -> Outcome:
    bound = sorted({a for a, p in listeners if p == port})
    if address is None:
        matching = bound
    elif address in WILDCARDS:
        matching = [a for a in bound if a in WILDCARDS]
    else:
        matching = [a for a in bound if a == address or a in WILDCARDS]
    where = f" on {address}" if address else ""
    if bound:
        seen = f"{port}/{protocol} listening on {', '.join(bound)}"
    else:
        seen = f"nothing listening on {port}/{protocol}"
    if listening:
        expected = f"{port}/{protocol} listening{where}"
    else:
        expected = f"{port}/{protocol} not listening{where}"
    return Outcome.of(bool(matching) == listening, seen, expected, addresses=bound)


@check(target="host")
def port_listening(
    host: HostTarget,
    *,
    port: int,
    address: str | None = None,
    protocol: Literal["tcp", "udp"] = "tcp",
    listening: bool = True,
) -> Outcome:
    """Something listens on a port (or, with ``listening=false``, nothing does).

    Read from ``/proc/net/tcp`` (and ``tcp6``, ``udp``, ``udp6``) of the
    host's own network namespace. A socket bound to every address (0.0.0.0
    or ::) counts as listening on any ``address``; ``address=0.0.0.0`` asks
    whether the port is exposed on all addresses.

    Args:
        port: the port number.
        address: the address the port must be reachable on; empty for any.
        protocol: tcp or udp.
        listening: false for a port that must not be exposed.
    """
    text = output(host, listeners_command(protocol), what=f"reading /proc/net/{protocol}")
    return judge_port_listening(parse_listeners(text, protocol), port, address, protocol, listening)


# --- outgoing connections ----------------------------------------------------------------

#: The probe's own status when the host has neither bash nor nc.
NO_PROBE = 125


def split_host_port(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d+)", text.strip())
    if not match:
        raise CheckError(f"tcp_reachable_from: 'to' must be host:port, not {text!r}")
    return match.group(1), int(match.group(2))


def probe_script(dest: str, port: int, limit: int) -> str:
    """Open (and close) one TCP connection from the host; prints what failed and ``@@rc=N``."""
    return (
        "if command -v bash >/dev/null 2>&1; then "
        f"timeout {limit} bash -c 'exec 3<>/dev/tcp/$0/$1' {q(dest)} {port} 2>&1; r=$?; "
        "elif command -v nc >/dev/null 2>&1; then "
        f"timeout {limit} nc -z -w {limit} {q(dest)} {port} 2>&1; r=$?; "
        f"else r={NO_PROBE}; fi; echo \"@@rc=$r\""
    )


def parse_probe(out: str) -> tuple[int, str]:
    """(exit status of the probe, -1 if unknown; the cause it printed) from :func:`probe_script`."""
    rc_match = re.search(r"@@rc=(\d+)", out)
    rc = int(rc_match.group(1)) if rc_match else -1
    lines = [line for line in out.splitlines() if line.strip() and not line.startswith("@@rc=")]
    # bash: "bash: connect: Connection refused"; nc: "nc: connect to ... failed: Connection refused"
    message = lines[0].rsplit(": ", 1)[-1].strip() if lines else ""
    return rc, message


def judge_tcp_reachable(
    host_name: str, dest: str, port: int, rc: int, message: str, limit: int, reachable: bool
) -> Outcome:
    if rc == 0:
        seen = f"{dest}:{port} reachable from {host_name}"
    elif rc == 124:
        seen = f"{dest}:{port} not reachable from {host_name}: timed out after {limit}s"
    else:
        seen = f"{dest}:{port} not reachable from {host_name}: {message or f'exit status {rc}'}"
    expected = f"{'reachable' if reachable else 'not reachable'}"
    return Outcome.of((rc == 0) == reachable, seen, expected, destination=f"{dest}:{port}")


@check(target="host")
def tcp_reachable_from(
    host: HostTarget, *, to: str, reachable: bool = True, timeout: float = 5
) -> Outcome:
    """From the host, a TCP connection to ``to`` (host:port) succeeds (or does not).

    Tried on the host itself with bash's ``/dev/tcp`` (or ``nc -z`` where
    bash is missing), bounded by ``timeout``; only a connection is opened,
    nothing is sent.

    Args:
        to: the destination as host:port, such as db.internal:3306.
        reachable: false to require that the connection fails (a firewall rule).
        timeout: seconds to wait for the connection.
    """
    dest, port = split_host_port(to)
    limit = max(1, int(round(timeout)))
    rc, message = parse_probe(host.run(probe_script(dest, port, limit), timeout=limit + 10).stdout)
    if rc == NO_PROBE:
        raise CheckError(f"host {host.name}: neither bash nor nc to test a TCP connection")
    return judge_tcp_reachable(host.name, dest, port, rc, message, limit, reachable)


# --- import rules: how checklist lines become network checks --------------------------


@proposes("port_listening")
def _port_listening_rule(line: Line) -> Proposal | None:
    t = line.lower
    if has(r"firewall|inbound|outbound|allow(ed)? from|rules?\b", t + " " + line.context.lower()):
        return None
    m = re.search(r"\b(?:listen(?:s|ing)?\s+on\s+(?:port\s+)?|port\s+)(\d{2,5})\b", t)
    if m and has(r"listen|open|bound|accept", t):
        return Proposal(
            [("port_listening", {"port": m.group(1)})], 0.75, f"port {m.group(1)} listening"
        )
    if has(r"\bports?\b.*\b(configured|open|listening|bound)\b", t):
        return Proposal(
            [("port_listening", {"port": "${app_port}"})],
            0.65,
            "the service listens on its port (a variable)",
        )
    return None


@proposes("tcp_reachable_from")
def _reachable_from_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"reachable|accessible|connectivity|can connect|connection", t) or not has(
        r"\bfrom\b", t
    ):
        return None
    if not has(
        r"\bfrom (the )?(app\w*|application|web|each|all|every)?\s*(servers?|hosts?|nodes?|"
        r"machines?|instances?|workers?)\b",
        t,
    ):
        return None
    if not line.code and not re.search(r"https?://|:\d{2,5}\b", line.title):
        return None
    found = []
    for url in re.findall(r"https?://[^\s`'\")\]]+", line.title + "\n" + line.code):
        parts = urlsplit(url)
        if parts.hostname:
            found.append(
                f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
            )
    found += re.findall(
        r"\b((?:[a-z0-9-]+\.)+[a-z]{2,}:\d{2,5})\b", line.title + "\n" + line.code, re.I
    )
    found = list(dict.fromkeys(found))
    if len(found) == 1:
        return Proposal(
            [("tcp_reachable_from", {"to": found[0]})], 0.75, f"{found[0]} reachable from the hosts"
        )
    if found:
        # Every destination the line names must be reachable: one check each.
        return Proposal(
            [("tcp_reachable_from", {"to": found[0]})],
            0.75,
            f"{len(found)} destinations reachable from the hosts",
            also=[("tcp_reachable_from", {"to": d}) for d in found[1:]],
        )
    return None
