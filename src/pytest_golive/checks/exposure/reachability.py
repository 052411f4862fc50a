"""Reachability from a vantage point: does a host's port answer from the runner or a host?"""

from __future__ import annotations

import enum
import re
import socket
from dataclasses import dataclass

from pytest_golive.checks._shell import host_address, q
from pytest_golive.checks.registry import check
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget

# --- reachability -----------------------------------------------------------------------


class Reach(enum.Enum):
    """What a TCP connection attempt came to."""

    CONNECTED = "connected"
    REFUSED = "refused"
    TIMED_OUT = "timed out"
    FAILED = "failed"


@dataclass(frozen=True)
class Probe:
    """One connection attempt: from where, to where, and what happened."""

    source: str
    destination: str
    result: Reach
    detail: str = ""
    timeout: float = 0


def judge_reachability(probes: list[Probe], *, reachable: bool) -> Outcome:
    """Pass when every probe connected (``reachable``) or none did (not reachable).

    A refused connection and one that got no answer within the timeout both
    mean "not reachable"; the evidence says which (refused: nothing listens
    or a firewall rejects; no answer: a firewall drops).
    """
    ev = Evidence()
    for probe in probes:
        if probe.result is Reach.CONNECTED:
            seen = f"{probe.destination} connected"
        elif probe.result is Reach.REFUSED:
            seen = f"{probe.destination} connection refused"
        elif probe.result is Reach.TIMED_OUT:
            seen = f"{probe.destination} gave no answer within {probe.timeout:g}s (filtered)"
        else:
            seen = f"{probe.destination}: {probe.detail or 'connection failed'}"
        connected = probe.result is Reach.CONNECTED
        expected = "reachable (a TCP connection succeeds)" if reachable else "not reachable"
        ev.add(f"from {probe.source}", connected == reachable, seen, expected)
    return ev.outcome(
        probes=[{"from": p.source, "to": p.destination, "result": p.result.value} for p in probes]
    )


def probe_from_runner(address: str, port: int, timeout: float) -> Probe:
    destination = f"{address}:{port}" if ":" not in address else f"[{address}]:{port}"
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return Probe("the runner", destination, Reach.CONNECTED, timeout=timeout)
    except ConnectionRefusedError:
        return Probe("the runner", destination, Reach.REFUSED, timeout=timeout)
    except TimeoutError:
        return Probe("the runner", destination, Reach.TIMED_OUT, timeout=timeout)
    except socket.gaierror as exc:
        raise CheckError(f"port_reachable: {address} does not resolve ({exc.strerror})") from None
    except OSError as exc:
        return Probe("the runner", destination, Reach.FAILED, exc.strerror or str(exc), timeout)


def probe_from_host(source: HostTarget, address: str, port: int, timeout: float) -> Probe:
    """A TCP connection tried on ``source`` itself (bash ``/dev/tcp``, else ``nc -z``)."""
    limit = max(1, int(round(timeout)))
    destination = f"{address}:{port}" if ":" not in address else f"[{address}]:{port}"
    script = (
        "if command -v bash >/dev/null 2>&1; then "
        f"timeout {limit} bash -c 'exec 3<>/dev/tcp/$0/$1' {q(address)} {port} 2>&1; r=$?; "
        "elif command -v nc >/dev/null 2>&1; then "
        f"timeout {limit} nc -z -w {limit} {q(address)} {port} 2>&1; r=$?; "
        'else r=125; fi; echo "@@rc=$r"'
    )
    out = str(source.run(script, timeout=limit + 10).stdout)
    found = re.search(r"@@rc=(\d+)", out)
    rc = int(found.group(1)) if found else -1
    if rc == 125:
        raise CheckError(f"host {source.name}: neither bash nor nc to try a TCP connection")
    text = " ".join(ln for ln in out.splitlines() if ln.strip() and not ln.startswith("@@rc="))
    if rc == 0:
        return Probe(source.name, destination, Reach.CONNECTED, timeout=limit)
    if rc == 124:
        return Probe(source.name, destination, Reach.TIMED_OUT, timeout=limit)
    if "refused" in text.lower():
        return Probe(source.name, destination, Reach.REFUSED, timeout=limit)
    message = text.rsplit(": ", 1)[-1].strip() if text else f"exit status {rc}"
    return Probe(source.name, destination, Reach.FAILED, message, limit)


def _vantage_hosts(host: HostTarget, selector: str) -> list[HostTarget]:
    pool = host.pool
    if pool is None:
        raise CheckError(f"port_reachable: from_host={selector} needs a run over an environment")
    try:
        specs = pool.env.select("host", selector)
    except KeyError as exc:
        raise CheckError(f"port_reachable: from_host: {exc.args[0]}") from None
    if not specs:
        raise CheckError(f"port_reachable: from_host={selector} names no host target")
    return [pool.handle(spec) for spec in specs]


@check(target="host", aliases=("port_exposed", "reachable_from"))
def port_reachable(
    host: HostTarget,
    *,
    port: int,
    reachable: bool = True,
    address: str | None = None,
    from_host: str | None = None,
    timeout: float = 3,
) -> Outcome:
    """A TCP port of a host answers (or, with ``reachable=false``, does not) from a vantage point.

    The connection is tried from the machine running pytest (the pipeline's
    view: "the database port is not exposed" is proven by it not answering
    from outside) or, with ``from_host``, from every host of that name or
    group (tried on those hosts with bash's ``/dev/tcp``). Only a
    connection is opened; nothing is sent. A refusal and no answer within
    ``timeout`` both count as not reachable; the evidence says which.

    Args:
        port: the TCP port on the host.
        reachable: false for a port that must not answer from there.
        address: the address to connect to; default: the host of the target's URL.
        from_host: a host target name or group to try from, instead of the runner.
        timeout: seconds to wait for the connection.
    """
    target = address or host_address(host)
    if not target:
        raise CheckError(
            f"port_reachable on {host.name}: its URL names no address to connect to: set address="
        )
    if from_host:
        probes = [
            probe_from_host(v, target, port, timeout) for v in _vantage_hosts(host, from_host)
        ]
    else:
        probes = [probe_from_runner(target, port, timeout)]
    return judge_reachability(probes, reachable=reachable)
