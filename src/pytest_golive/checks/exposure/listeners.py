"""Listening sockets (``ss``): only allowed ports on a host's non-loopback addresses."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Literal

from pytest_golive.checks._shell import first_line
from pytest_golive.checks.exposure.ports import SBIN_PATH, PortRule, parse_ports
from pytest_golive.checks.registry import check
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.targets.host import HostTarget

# --- listening sockets ------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    """One listening socket from ``ss``."""

    protocol: str  # tcp or udp
    address: str
    port: int
    processes: tuple[str, ...] = ()

    @property
    def loopback(self) -> bool:
        try:
            ip = ipaddress.ip_address(self.address)
        except ValueError:
            return self.address == "localhost"
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return ip.ipv4_mapped.is_loopback
        return ip.is_loopback

    def describe(self) -> str:
        who = ", ".join(self.processes) if self.processes else "process not visible"
        shown = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.port}/{self.protocol} on {shown} ({who})"


def parse_ss(text: str) -> list[Listener]:
    """Listening sockets from ``ss -Htulnp`` (Netid, State, queues, Local, Peer, Process)."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] not in ("tcp", "udp"):
            continue
        if fields[0] == "tcp" and fields[1] != "LISTEN":
            continue
        local = fields[4]
        addr, _, port = local.rpartition(":")
        if not port.isdigit():
            continue
        addr = addr.strip("[]").split("%", 1)[0]
        if addr == "*":
            addr = "::"
        procs = tuple(dict.fromkeys(re.findall(r'\("([^"]+)",pid=', " ".join(fields[6:]))))
        found.append(Listener(fields[0], addr, int(port), procs))
    return found


def judge_listeners(
    listeners: list[Listener], allowed: list[PortRule], *, include_loopback: bool = False
) -> Outcome:
    """Pass when every listener on a non-loopback address is on an allowed port."""
    exposed = [lst for lst in listeners if include_loopback or not lst.loopback]
    unexpected = [
        lst for lst in exposed if not any(r.covers(lst.protocol, lst.port) for r in allowed)
    ]
    scope = "listening" if include_loopback else "listening on non-loopback addresses"
    shown = "; ".join(lst.describe() for lst in unexpected[:15])
    if len(unexpected) > 15:
        shown += f"; and {len(unexpected) - 15} more"
    allowed_text = ", ".join(map(str, allowed)) or "none"
    if unexpected:
        seen = f"not allowed: {shown}"
    else:
        ports = sorted({f"{lst.port}/{lst.protocol}" for lst in exposed})
        count = f"{len(exposed)} socket{'' if len(exposed) == 1 else 's'}"
        seen = f"{count} {scope}, all on allowed ports" + (
            f" ({', '.join(ports)})" if ports else ""
        )
    return Outcome.of(
        not unexpected,
        seen,
        f"only allowed ports {scope}: {allowed_text}",
        listeners=[lst.describe() for lst in exposed],
        unexpected=[lst.describe() for lst in unexpected],
    )


@check(target="host", aliases=("only_allowed_ports", "open_ports"))
def listening_ports(
    host: HostTarget,
    *,
    allowed: list[str],
    protocol: Literal["tcp", "udp", "all"] = "all",
    include_loopback: bool = False,
) -> Outcome:
    """Only allowed ports listen on the host's non-loopback addresses; the others are named.

    Read from ``ss -Htulnp`` in the host's own network namespace: TCP sockets
    in LISTEN and bound UDP sockets. A socket on a loopback address
    (127.0.0.0/8, ::1) is not exposed and is ignored unless
    ``include_loopback``. Each offending socket is shown with its process,
    which ``ss`` can name only for the account's own processes unless the
    check runs as root (``sudo = true``).

    Args:
        allowed: ports that may listen, such as 22, 80/tcp, 443/tcp, 51820/udp, 8000-8010/tcp.
        protocol: tcp, udp or all.
        include_loopback: also hold loopback-only sockets to the list.
    """
    rules = parse_ports(allowed, "listening_ports: allowed")
    flags = {"tcp": "-Htlnp", "udp": "-Hulnp", "all": "-Htulnp"}[protocol]
    result = host.run(f"{SBIN_PATH}command -v ss >/dev/null 2>&1 || exit 127; ss {flags}")
    if result.rc == 127:
        raise CheckError(f"host {host.name}: listening_ports needs ss (iproute2) on the host")
    if result.rc != 0:
        cause = first_line(str(result.stderr)) or f"exit status {result.rc}"
        raise CheckError(f"host {host.name}: ss {flags} failed: {cause}")
    return judge_listeners(parse_ss(str(result.stdout)), rules, include_loopback=include_loopback)
