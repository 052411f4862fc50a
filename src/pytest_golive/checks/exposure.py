"""Network exposure: what answers from where, what listens, what the firewall lets in.

Three views of one question ("is the database port exposed?"), each proven
differently:

* :func:`port_reachable` tries the connection from a vantage point, the
  runner (the pipeline's view) or a named host, and reports what happened:
  connected, refused, or no answer within the timeout (filtered);
* :func:`listening_ports` reads the host's listening sockets (``ss``) and
  fails on any port on a non-loopback address that is not in an allowed list,
  naming the process;
* :func:`firewall_policy` reads the host's packet filter (``nft -j list
  ruleset``, else ``iptables-save``, else ``ufw status verbose``) and judges
  its inbound default and the ports it accepts.

Observation and judgement are separate: each parser turns a command's output
into plain facts, and pure functions judge them (tested on captured output).
"""

from __future__ import annotations

import enum
import ipaddress
import json
import re
import shlex
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_golive.checks._shell import first_line, host_address, q
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget

#: Where administrative tools live; a plain account's PATH often lacks them.
_SBIN = "PATH=$PATH:/usr/sbin:/sbin:/usr/local/sbin; export PATH; "


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


@dataclass(frozen=True)
class PortRule:
    """One allowed port (or range) for a protocol; ``any`` matches tcp and udp."""

    low: int
    high: int
    protocol: str = "any"

    def covers(self, protocol: str, port: int) -> bool:
        return self.protocol in ("any", protocol) and self.low <= port <= self.high

    def __str__(self) -> str:
        ports = str(self.low) if self.low == self.high else f"{self.low}-{self.high}"
        return ports if self.protocol == "any" else f"{ports}/{self.protocol}"


def parse_ports(values: Iterable[str], what: str) -> list[PortRule]:
    """``22``, ``80/tcp``, ``53/udp``, ``8000-8010/tcp`` (or ``8000:8010``)."""
    rules = []
    for value in values:
        m = re.fullmatch(
            r"\s*(\d{1,5})(?:\s*[-:]\s*(\d{1,5}))?\s*(?:/\s*(tcp|udp))?\s*", value, re.I
        )
        if not m:
            raise CheckError(f"{what}: {value!r} is not a port such as 22, 80/tcp or 8000-8010/tcp")
        low = int(m.group(1))
        high = int(m.group(2) or low)
        rules.append(PortRule(low, high, (m.group(3) or "any").lower()))
    return rules


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
    result = host.run(f"{_SBIN}command -v ss >/dev/null 2>&1 || exit 127; ss {flags}")
    if result.rc == 127:
        raise CheckError(f"host {host.name}: listening_ports needs ss (iproute2) on the host")
    if result.rc != 0:
        cause = first_line(str(result.stderr)) or f"exit status {result.rc}"
        raise CheckError(f"host {host.name}: ss {flags} failed: {cause}")
    return judge_listeners(parse_ss(str(result.stdout)), rules, include_loopback=include_loopback)


# --- firewall rulesets -------------------------------------------------------------------


class Verdict(enum.Enum):
    ACCEPT = "accept"
    DROP = "drop"
    REJECT = "reject"
    JUMP = "jump"
    GOTO = "goto"
    RETURN = "return"
    NONE = "none"  # counters, logs: no decision


@dataclass
class Rule:
    """One rule as the judgement needs it: what it matches and what it does."""

    verdict: Verdict
    target: str = ""
    protocol: str = "any"
    ports: list[tuple[int, int]] | None = None  # None: any port
    sources: list[str] = field(default_factory=list)
    interface: str = ""
    #: Matches only packets of existing connections (replies), or only ICMP.
    replies_only: bool = False
    icmp: bool = False
    #: Conditions this parser does not understand: the rule's reach is unknown.
    unknown: list[str] = field(default_factory=list)
    text: str = ""

    @property
    def unconditional(self) -> bool:
        return (
            self.protocol == "any"
            and self.ports is None
            and not self.sources
            and not self.interface
            and not self.replies_only
            and not self.icmp
            and not self.unknown
        )


@dataclass
class Chain:
    name: str
    rules: list[Rule] = field(default_factory=list)
    #: For base chains hooked on input: the policy (accept when none is set).
    policy: Verdict | None = None
    #: The nftables family and table the chain is in ("" for iptables-save and ufw).
    table: tuple[str, str] = ("", "")


@dataclass(frozen=True)
class Allowed:
    """An inbound port (range) the ruleset accepts, and from where."""

    protocol: str
    low: int
    high: int
    sources: tuple[str, ...] = ()
    interface: str = ""

    def __str__(self) -> str:
        ports = (
            "all ports"
            if (self.low, self.high) == (0, 65535)
            else (str(self.low) if self.low == self.high else f"{self.low}-{self.high}")
        )
        text = ports if self.protocol == "any" else f"{ports}/{self.protocol}"
        if self.sources:
            text += f" from {', '.join(self.sources)}"
        if self.interface:
            text += f" on {self.interface}"
        return text


@dataclass
class Ruleset:
    """Facts about one host's inbound filtering, from whichever tool read it."""

    source: str
    active: bool = True
    #: Input base chains (or the one INPUT chain, or ufw's defaults) by name.
    inputs: list[Chain] = field(default_factory=list)
    chains: dict[str, Chain] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: nftables tables holding iptables-nft rules (xt matches), which nft cannot show in full.
    xt_tables: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class InputView:
    """What one input base chain does to a new inbound connection."""

    name: str
    default: Verdict
    allowed: list[Allowed]
    unknown: list[str]


def evaluate_chain(ruleset: Ruleset, chain: Chain) -> InputView:
    """The default fate of a new connection in an input chain, and what it accepts first."""
    allowed: list[Allowed] = []
    unknown: list[str] = []
    default = _walk(ruleset, chain, allowed, unknown, depth=0)
    final = default or chain.policy or Verdict.ACCEPT
    return InputView(chain.name, final, allowed, unknown)


def _walk(
    ruleset: Ruleset, chain: Chain, allowed: list[Allowed], unknown: list[str], depth: int
) -> Verdict | None:
    """Rules in order; returns the verdict that ends the chain unconditionally, if any."""
    if depth > 16:
        unknown.append(f"chain {chain.name}: jumps nested too deep")
        return None
    for rule in chain.rules:
        if rule.replies_only or rule.icmp or rule.interface == "lo":
            continue
        if rule.verdict in (Verdict.JUMP, Verdict.GOTO):
            sub = ruleset.chains.get(rule.target)
            if sub is None:
                unknown.append(f"jump to unknown chain {rule.target}")
                continue
            ended = _walk(ruleset, sub, allowed, unknown, depth + 1)
            if ended is not None and rule.unconditional:
                return ended
            continue
        if rule.verdict is Verdict.RETURN and rule.unconditional:
            return None
        if rule.verdict is Verdict.ACCEPT:
            if rule.unknown:
                unknown.append(
                    f"accept rule not understood ({'; '.join(rule.unknown)}): {rule.text}"
                )
                continue
            for low, high in rule.ports or [(0, 65535)]:
                allowed.append(
                    Allowed(rule.protocol, low, high, tuple(rule.sources), rule.interface)
                )
            if rule.unconditional:
                return Verdict.ACCEPT
        elif rule.verdict in (Verdict.DROP, Verdict.REJECT) and rule.unconditional:
            return rule.verdict
    return None


def _covers(allowed: list[Allowed], protocol: str, port: int) -> bool:
    return any(a.protocol in ("any", protocol) and a.low <= port <= a.high for a in allowed)


def judge_firewall(
    ruleset: Ruleset,
    *,
    allowed_ports: list[PortRule] | None = None,
    required_ports: list[PortRule] | None = None,
) -> Outcome:
    """Inbound default drop or reject; accepted ports within a list; required ports open.

    A packet passes every input base chain, so the host drops by default when
    any of them does, and a port is open only if every dropping chain accepts
    it. An accept rule the parser does not understand makes the allowed ports
    unprovable: it fails, naming the rule.
    """
    ev = Evidence()
    views = [evaluate_chain(ruleset, c) for c in ruleset.inputs]
    closed = [v for v in views if v.default in (Verdict.DROP, Verdict.REJECT)]
    details: dict[str, Any] = {
        "source": ruleset.source,
        "notes": ruleset.notes,
        "chains": [
            {
                "chain": v.name,
                "default": v.default.value,
                "accepts": [str(a) for a in v.allowed],
                "not_understood": v.unknown,
            }
            for v in views
        ],
    }
    if not ruleset.active:
        ev.add(
            "firewall",
            False,
            f"{ruleset.source}: inactive",
            "active, inbound default drop or reject",
        )
        return ev.outcome(**details)
    if not views:
        ev.add(
            "default",
            False,
            f"{ruleset.source}: no inbound (input) rules at all",
            "inbound default drop or reject",
        )
        return ev.outcome(**details)
    defaults = ", ".join(f"{v.name}: {v.default.value}" for v in views)
    ev.add(
        "default", bool(closed), f"{ruleset.source}: {defaults}", "inbound default drop or reject"
    )
    if not closed:
        return ev.outcome(**details)
    first, others = closed[0], closed[1:]
    first.allowed = list(dict.fromkeys(first.allowed))  # IPv4 and IPv6 rules often repeat
    opened = [
        a
        for a in first.allowed
        if all(
            _covers(o.allowed, a.protocol if a.protocol != "any" else "tcp", a.low) for o in others
        )
    ]
    unknown = [u for v in closed for u in v.unknown]
    details["accepted"] = [str(a) for a in opened]
    shown = ", ".join(str(a) for a in opened) or "nothing"
    if unknown:
        ev.add(
            "rules",
            False,
            f"not understood: {unknown[0]}"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""),
            "rules whose reach is known",
        )
    if allowed_ports is not None:
        extra = [a for a in opened if not _within(a, allowed_ports)]
        ev.add(
            "allowed",
            not extra,
            f"accepts {shown}" + (f" (not allowed: {', '.join(map(str, extra))})" if extra else ""),
            f"accepts only {', '.join(map(str, allowed_ports)) or 'nothing'}",
        )
    if required_ports:
        missing = [r for r in required_ports if not _open(opened, r)]
        ev.add(
            "required",
            not missing,
            f"accepts {shown}"
            + (f" (not open: {', '.join(map(str, missing))})" if missing else ""),
            f"open: {', '.join(map(str, required_ports))}",
        )
    if allowed_ports is None and not required_ports:
        ev.add("accepts", True, shown, "listed")
    return ev.outcome(**details)


def _open(opened: list[Allowed], rule: PortRule) -> bool:
    """Every port of ``rule`` is accepted (a port without protocol: over TCP)."""
    protocol = "tcp" if rule.protocol == "any" else rule.protocol
    return all(
        _covers(opened, protocol, port)
        for port in range(rule.low, min(rule.high, rule.low + 256) + 1)
    )


def _within(allowed: Allowed, rules: list[PortRule]) -> bool:
    protocols = ("tcp", "udp") if allowed.protocol == "any" else (allowed.protocol,)
    if (allowed.low, allowed.high) == (0, 65535):
        return False
    return all(
        any(
            r.protocol in ("any", p) and r.low <= allowed.low and allowed.high <= r.high
            for r in rules
        )
        for p in protocols
    )


# --- nftables JSON ---------------------------------------------------------------------------


def parse_nft_json(text: str) -> Ruleset:
    """``nft -j list ruleset``: input base chains of the ip, ip6 and inet families."""
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"nft -j output is not JSON ({exc})") from None
    items = data.get("nftables", []) if isinstance(data, dict) else []
    sets: dict[tuple[str, str, str], list[Any]] = {}
    ruleset = Ruleset("nftables")
    keyed: dict[tuple[str, str, str], Chain] = {}
    for item in items:
        if "set" in item:
            s = item["set"]
            sets[(s.get("family", ""), s.get("table", ""), s.get("name", ""))] = list(
                s.get("elem", [])
            )
        elif "chain" in item:
            c = item["chain"]
            if c.get("family") not in ("ip", "ip6", "inet"):
                continue
            chain = Chain(
                f"{c.get('family')} {c.get('table')} {c.get('name')}",
                table=(str(c.get("family", "")), str(c.get("table", ""))),
            )
            keyed[(c.get("family", ""), c.get("table", ""), c.get("name", ""))] = chain
            if c.get("hook") == "input" and c.get("type", "filter") == "filter":
                chain.policy = Verdict(c.get("policy", "accept"))
                ruleset.inputs.append(chain)
    for item in items:
        if "rule" not in item:
            continue
        r = item["rule"]
        key = (r.get("family", ""), r.get("table", ""), r.get("chain", ""))
        owner = keyed.get(key)
        if owner is None:
            continue
        rule = _nft_rule(r.get("expr", []), sets, key[0], key[1])
        if any("xt" in e for e in r.get("expr", []) if isinstance(e, dict)):
            ruleset.xt_tables.add((key[0], key[1]))
        owner.rules.append(rule)
    for (family, table, _), chain in keyed.items():
        ruleset.chains[chain.name] = chain
        for rule in chain.rules:
            if rule.verdict in (Verdict.JUMP, Verdict.GOTO):
                rule.target = f"{family} {table} {rule.target}"
    if ruleset.xt_tables:
        tables = ", ".join(f"{f} {t}" for f, t in sorted(ruleset.xt_tables))
        ruleset.notes.append(
            f"iptables-nft rules (xt matches) in {tables}: iptables-save reads them in full"
        )
    return ruleset


def merge_iptables(nft: Ruleset, ipv4: Ruleset | None, ipv6: Ruleset | None) -> Ruleset:
    """nftables' own tables, with the iptables-nft tables read through iptables-save instead."""
    merged = Ruleset("nftables and iptables-save", notes=list(nft.notes))
    replaced = {("ip", "filter"): ipv4, ("ip6", "filter"): ipv6}
    for chain in nft.inputs:
        if chain.table in nft.xt_tables and replaced.get(chain.table) is not None:
            continue
        merged.inputs.append(chain)
    merged.chains.update(nft.chains)
    for other in (ipv4, ipv6):
        if other is not None:
            merged.inputs += other.inputs
            merged.chains.update(other.chains)
    return merged


def _nft_values(
    right: Any, sets: dict[tuple[str, str, str], list[Any]], family: str, table: str
) -> list[tuple[int, int]] | None:
    """Ports from a match's right side: a number, a set, a range, or a named set."""
    if isinstance(right, bool):
        return None
    if isinstance(right, int):
        return [(right, right)]
    if isinstance(right, str) and right.startswith("@"):
        elems = sets.get((family, table, right[1:]))
        return None if elems is None else _nft_values({"set": elems}, sets, family, table)
    if isinstance(right, dict):
        if "range" in right:
            low, high = right["range"]
            return (
                [(int(low), int(high))] if isinstance(low, int) and isinstance(high, int) else None
            )
        if "set" in right:
            out: list[tuple[int, int]] = []
            for elem in right["set"]:
                if isinstance(elem, dict) and "elem" in elem:
                    elem = elem["elem"].get("val")
                values = _nft_values(elem, sets, family, table)
                if values is None:
                    return None
                out += values
            return out
    return None


def _nft_rule(
    exprs: list[Any], sets: dict[tuple[str, str, str], list[Any]], family: str, table: str
) -> Rule:
    rule = Rule(Verdict.NONE, text=_nft_text(exprs))
    for expr in exprs:
        if not isinstance(expr, dict) or not expr:
            continue
        kind, body = next(iter(expr.items()))
        if kind in ("accept", "drop"):
            rule.verdict = Verdict(kind)
        elif kind == "reject":
            rule.verdict = Verdict.REJECT
        elif kind in ("jump", "goto"):
            rule.verdict = Verdict(kind)
            rule.target = str(body.get("target", "")) if isinstance(body, dict) else ""
        elif kind == "return":
            rule.verdict = Verdict.RETURN
        elif kind == "xt":
            name = str(body.get("name", "")) if isinstance(body, dict) else ""
            if (
                isinstance(body, dict)
                and body.get("type") == "target"
                and name in ("REJECT", "DROP")
            ):
                rule.verdict = Verdict.REJECT if name == "REJECT" else Verdict.DROP
            else:
                rule.unknown.append(f"iptables match {name or '?'}")
        elif kind == "match" and isinstance(body, dict):
            _nft_match(rule, body, sets, family, table)
        elif kind in ("counter", "log", "limit", "comment", "meter", "quota"):
            continue
        else:
            rule.unknown.append(kind)
    return rule


def _nft_match(
    rule: Rule,
    body: dict[str, Any],
    sets: dict[tuple[str, str, str], list[Any]],
    family: str,
    table: str,
) -> None:
    left, right, op = body.get("left"), body.get("right"), body.get("op", "==")
    negated = op in ("!=",)
    if isinstance(left, dict) and "payload" in left:
        proto = str(left["payload"].get("protocol", ""))
        fld = str(left["payload"].get("field", ""))
        if fld == "dport" and proto in ("tcp", "udp", "th") and not negated:
            ports = _nft_values(right, sets, family, table)
            if ports is None:
                rule.unknown.append(f"{proto} dport {right}")
                return
            rule.protocol = "any" if proto == "th" else proto
            rule.ports = ports
            return
        if proto in ("icmp", "icmpv6"):
            rule.icmp = True
            return
        if fld == "saddr" and proto in ("ip", "ip6") and not negated:
            rule.sources.append(_nft_addr(right))
            return
        rule.unknown.append(f"{proto} {fld} {op} {right}")
        return
    if isinstance(left, dict) and "meta" in left:
        key = str(left["meta"].get("key", ""))
        if key in ("iifname", "iif") and not negated and isinstance(right, str):
            rule.interface = right
            return
        if key == "l4proto" and not negated and right in ("tcp", "udp"):
            rule.protocol = str(right)
            return
        if key == "l4proto" and right in ("icmp", "ipv6-icmp", "icmpv6"):
            rule.icmp = True
            return
        if key == "nfproto":
            return
        rule.unknown.append(f"meta {key} {op} {right}")
        return
    if isinstance(left, dict) and "ct" in left and left["ct"].get("key") == "state":
        states = right if isinstance(right, list) else [right]
        if not negated and set(states) <= {"established", "related"}:
            rule.replies_only = True
            return
        if not negated and "new" not in states:
            rule.replies_only = True  # invalid/untracked only: never a new connection
            return
        return
    rule.unknown.append(_nft_text([{"match": body}]))


def _nft_addr(right: Any) -> str:
    if isinstance(right, dict) and "prefix" in right:
        return f"{right['prefix'].get('addr')}/{right['prefix'].get('len')}"
    if isinstance(right, dict) and "set" in right:
        return ",".join(_nft_addr(v) for v in right["set"])
    return str(right)


def _nft_text(exprs: list[Any]) -> str:
    """A short, readable form of a rule for evidence (never the whole JSON)."""
    words = []
    for expr in exprs:
        if not isinstance(expr, dict) or not expr:
            continue
        kind, body = next(iter(expr.items()))
        if kind == "match" and isinstance(body, dict):
            left = body.get("left")
            if isinstance(left, dict) and left:
                lk, lv = next(iter(left.items()))
                name = " ".join(str(v) for v in lv.values()) if isinstance(lv, dict) else str(lv)
                words.append(f"{lk} {name} {body.get('op', '==')} {json.dumps(body.get('right'))}")
        elif kind != "counter":
            words.append(kind if body is None else f"{kind} {json.dumps(body)}")
    return " ".join(words)[:200]


# --- iptables-save ----------------------------------------------------------------------------


def parse_iptables_save(text: str, prefix: str = "") -> Ruleset:
    """The ``filter`` table of ``iptables-save``: INPUT's policy, its rules, user chains.

    ``prefix`` names the chains apart (``ip6 INPUT``) when IPv4 and IPv6 rules are judged
    together.
    """
    ruleset = Ruleset("ip6tables" if prefix.startswith("ip6") else "iptables")
    table = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("*"):
            table = line[1:]
            continue
        if table != "filter" or not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith(":"):
            name, policy = (line[1:].split() + ["-"])[:2]
            name = prefix + name
            chain = ruleset.chains.setdefault(name, Chain(name))
            if name == prefix + "INPUT":
                chain.policy = (
                    Verdict(policy.lower())
                    if policy.lower() in ("accept", "drop")
                    else Verdict.ACCEPT
                )
                ruleset.inputs.append(chain)
            continue
        if line.startswith("-A "):
            try:
                words = shlex.split(line)
            except ValueError:
                words = line.split()
            chain = ruleset.chains.setdefault(prefix + words[1], Chain(prefix + words[1]))
            rule = _iptables_rule(words[2:], line)
            if rule.target:
                rule.target = prefix + rule.target
            chain.rules.append(rule)
    return ruleset


_IGNORED_MATCHES = {
    "tcp",
    "udp",
    "multiport",
    "comment",
    "conntrack",
    "state",
    "icmp",
    "icmp6",
    "limit",
}


def _iptables_rule(words: list[str], text: str) -> Rule:
    rule = Rule(Verdict.NONE, text=text[:200])
    i = 0
    while i < len(words):
        word = words[i]
        value = words[i + 1] if i + 1 < len(words) else ""
        if word == "!":
            rule.unknown.append(f"negated {value} {words[i + 2] if i + 2 < len(words) else ''}")
            i += 3
            continue
        if word in ("-p", "--protocol"):
            if value in ("tcp", "udp"):
                rule.protocol = value
            elif value in ("icmp", "ipv6-icmp", "icmpv6"):
                rule.icmp = True
            elif value != "all":
                rule.unknown.append(f"protocol {value}")
            i += 2
        elif word in ("--dport", "--destination-port", "--dports", "--destination-ports"):
            rule.ports = []
            for part in value.split(","):
                low, _, high = part.partition(":")
                if not low.isdigit() or (high and not high.isdigit()):
                    rule.unknown.append(f"port {part}")
                    continue
                rule.ports.append((int(low), int(high or low)))
            i += 2
        elif word in ("-s", "--source"):
            rule.sources.append(value)
            i += 2
        elif word in ("-i", "--in-interface"):
            rule.interface = value
            i += 2
        elif word in ("--ctstate", "--state"):
            states = {s.upper() for s in value.split(",")}
            if "NEW" not in states:
                rule.replies_only = True
            i += 2
        elif word in ("-m", "--match"):
            if value not in _IGNORED_MATCHES:
                rule.unknown.append(f"match {value}")
            i += 2
        elif word in ("-j", "--jump", "-g", "--goto"):
            upper = value.upper()
            if upper in ("ACCEPT", "DROP", "REJECT", "RETURN"):
                rule.verdict = Verdict(upper.lower())
            elif upper in ("LOG", "NFLOG", "ULOG"):
                rule.verdict = Verdict.NONE
            else:
                rule.verdict = Verdict.JUMP if word in ("-j", "--jump") else Verdict.GOTO
                rule.target = value
            i += 2
            while (
                i < len(words)
                and words[i].startswith("--")
                and words[i] not in ("--dport", "--dports", "--ctstate", "--state")
            ):
                i += 2  # the target's own options (--reject-with ...)
        elif word in ("--comment", "--icmp-type", "--icmpv6-type", "--limit", "--limit-burst"):
            i += 2
        else:
            rule.unknown.append(word + (f" {value}" if value and not value.startswith("-") else ""))
            i += 2 if value and not value.startswith("-") else 1
    return rule


# --- ufw status verbose ------------------------------------------------------------------------


#: The application profiles Debian's packages install (``ufw app info NAME``).
_UFW_PROFILES = {
    "OpenSSH": (22,),
    "Nginx HTTP": (80,),
    "Nginx HTTPS": (443,),
    "Nginx Full": (80, 443),
    "Apache": (80,),
    "Apache Secure": (443,),
    "Apache Full": (80, 443),
    "WWW": (80,),
    "WWW Secure": (443,),
    "WWW Full": (80, 443),
}


def parse_ufw_status(text: str) -> Ruleset:
    """``ufw status verbose``: its status, incoming default and ALLOW/LIMIT rules."""
    ruleset = Ruleset("ufw")
    chain = Chain("ufw incoming")
    status = re.search(r"^Status:\s*(\w+)", text, re.M)
    ruleset.active = bool(status and status.group(1).lower() == "active")
    default = re.search(r"^Default:\s*(\w+)\s*\(incoming\)", text, re.M)
    word = default.group(1).lower() if default else "allow"
    chain.policy = {"deny": Verdict.DROP, "reject": Verdict.REJECT}.get(word, Verdict.ACCEPT)
    in_table = False
    for line in text.splitlines():
        if re.match(r"^-+\s+-+\s+-+", line.strip()):
            in_table = True
            continue
        if not in_table or not line.strip():
            continue
        columns = re.split(r"\s{2,}", line.strip())
        if len(columns) < 3:
            continue
        to, action, source = columns[0], columns[1].upper(), columns[2]
        if "OUT" in action.split() or "FWD" in action.split():
            continue
        verdict = {
            "ALLOW": Verdict.ACCEPT,
            "LIMIT": Verdict.ACCEPT,
            "DENY": Verdict.DROP,
            "REJECT": Verdict.REJECT,
        }.get(action.split()[0])
        if verdict is None:
            continue
        to = to.replace("(v6)", "").strip()
        source = source.replace("(v6)", "").strip()
        rule = Rule(verdict, text=line.strip())
        if source.lower() != "anywhere":
            rule.sources.append(source)
        m = re.fullmatch(r"([\d,:]+)(?:/(tcp|udp))?(?:\s+on\s+(\S+))?", to)
        if m:
            rule.protocol = m.group(2) or "any"
            rule.ports = [
                (int(p.split(":")[0]), int(p.split(":")[-1])) for p in m.group(1).split(",") if p
            ]
            rule.interface = m.group(3) or ""
        elif to.lower().startswith("anywhere"):
            on = re.search(r"\bon\s+(\S+)", to)
            rule.interface = on.group(1) if on else ""
        elif to in _UFW_PROFILES:
            rule.protocol = "tcp"
            rule.ports = [(p, p) for p in _UFW_PROFILES[to]]
        else:
            rule.unknown.append(f"application profile {to!r} (its ports: ufw app info)")
        chain.rules.append(rule)
    ruleset.inputs.append(chain)
    ruleset.chains[chain.name] = chain
    return ruleset


# --- reading a host's ruleset --------------------------------------------------------------------

Source = Literal["auto", "nftables", "iptables", "ufw"]

_NO_PRIVILEGE = re.compile(
    r"operation not permitted|permission denied|you must be root|"
    r"need to be root|are you root",
    re.I,
)


def _run_tool(host: HostTarget, tool: str, command: str) -> str | None:
    """stdout of a ruleset tool; None if it is not installed; one line if it cannot read."""
    result = host.run(f"{_SBIN}command -v {tool} >/dev/null 2>&1 || exit 127; {command}")
    if result.rc == 127:
        return None
    text = f"{result.stderr}\n{result.stdout}"
    if result.rc != 0 and _NO_PRIVILEGE.search(text):
        raise CheckError(
            f"host {host.name}: cannot read the ruleset without privileges: set sudo = true on the "
            f"target ({tool}: {first_line(str(result.stderr) or str(result.stdout), 120)})"
        )
    if result.rc != 0:
        cause = first_line(str(result.stderr)) or f"exit status {result.rc}"
        raise CheckError(f"host {host.name}: {command} failed: {cause}")
    return str(result.stdout)


def read_ruleset(host: HostTarget, source: Source) -> Ruleset:
    tried = []
    if source in ("auto", "nftables"):
        text = _run_tool(host, "nft", "nft -j list ruleset")
        if text is not None:
            try:
                ruleset = parse_nft_json(text)
            except ValueError as exc:
                raise CheckError(f"host {host.name}: {exc}") from None
            if not ruleset.xt_tables or source == "nftables":
                return ruleset
            ipv4 = ipv6 = None
            if ("ip", "filter") in ruleset.xt_tables:
                text4 = _run_tool(host, "iptables-save", "iptables-save -t filter")
                ipv4 = parse_iptables_save(text4) if text4 is not None else None
            if ("ip6", "filter") in ruleset.xt_tables:
                text6 = _run_tool(host, "ip6tables-save", "ip6tables-save -t filter")
                ipv6 = parse_iptables_save(text6, "ip6 ") if text6 is not None else None
            return merge_iptables(ruleset, ipv4, ipv6)
        tried.append("nft")
    if source in ("auto", "iptables"):
        text = _run_tool(host, "iptables-save", "iptables-save")
        if text is not None:
            return parse_iptables_save(text)
        tried.append("iptables-save")
    if source in ("auto", "ufw"):
        text = _run_tool(host, "ufw", "ufw status verbose")
        if text is not None:
            return parse_ufw_status(text)
        tried.append("ufw")
    raise CheckError(
        f"host {host.name}: no firewall tool to read the ruleset ({', '.join(tried)} not installed)"
    )


@check(target="host", aliases=("firewall",))
def firewall_policy(
    host: HostTarget,
    *,
    allowed_ports: list[str] | None = None,
    required_ports: list[str] | None = None,
    source: Source = "auto",
) -> Outcome:
    """The host's firewall drops (or rejects) inbound by default and accepts only listed ports.

    Read from ``nft -j list ruleset`` (nftables; iptables-nft rules it cannot
    show in full are read from ``iptables-save`` instead), else
    ``iptables-save``, else ``ufw status verbose``. Every input base chain
    is followed through its jumps: a new inbound connection must end in
    drop or reject unless a rule accepts its port. Loopback, reply
    (established/related) and ICMP rules are not inbound ports. Reading a
    ruleset needs root: as a plain account the check says so (set
    ``sudo = true`` on the target).

    Args:
        allowed_ports: ports that may be accepted inbound, such as 22, 80/tcp, 443/tcp.
        required_ports: ports that must be accepted inbound, such as 80, 443, 22.
        source: auto, nftables, iptables or ufw: which tool to read.
    """
    allowed = (
        parse_ports(allowed_ports, "firewall_policy: allowed_ports")
        if allowed_ports is not None
        else None
    )
    required = parse_ports(required_ports or [], "firewall_policy: required_ports")
    ruleset = read_ruleset(host, source)
    return judge_firewall(ruleset, allowed_ports=allowed, required_ports=required)


# --- import rules ---------------------------------------------------------------------------------

#: Well-known ports of services a checklist names; "database" alone names none.
SERVICE_PORTS = {
    "mysql": "3306",
    "mariadb": "3306",
    "postgres": "5432",
    "postgresql": "5432",
    "redis": "6379",
    "mongodb": "27017",
    "mongo": "27017",
    "elasticsearch": "9200",
    "memcached": "11211",
    "rabbitmq": "5672",
    "cassandra": "9042",
    "couchdb": "5984",
    "etcd": "2379",
}


def _ports_named(text: str) -> list[str]:
    """Port numbers a line names as ports ("port 5432", "ports 80, 443 and 22", "443/tcp",
    "db:5432"), never other numbers ("PostgreSQL 15", "Python 3.11")."""
    found: list[str] = []
    listed = r"\d{1,5}(?:/(?:tcp|udp))?(?:\s*(?:,|\band\b|\bor\b|&)\s*)?"
    for m in re.finditer(rf"\bports?\s*[:#]?\s*((?:{listed})+)", text, re.I):
        found += re.findall(r"\d{1,5}", m.group(1))
    found += re.findall(r"(?<![\d.])(\d{2,5})/(?:tcp|udp)\b", text, re.I)
    found += re.findall(r"(?<=[a-z0-9\]]):(\d{2,5})\b", text, re.I)
    return [p for p in dict.fromkeys(found) if 0 < int(p) < 65536]


@proposes("port_reachable")
def _not_exposed_rule(line: Line) -> Proposal | None:
    """ "Database ports not exposed to internet", "Redis access restricted"."""
    t = line.lower
    closed = re.search(
        r"\bnot (publicly |externally )?(exposed|accessible|reachable|open)\b|\brestrict\w*\b|"
        r"\bblock\w*\b|\bprivate (network|subnet)\b|\binternal only\b|\bno public\b|"
        r"\bclosed (to|from|for)\b|\bfirewalled\b|\b(bound|listens?|listening) (to|on) "
        r"(localhost|127\.0\.0\.1|loopback)\b",
        t,
    )
    if not closed:
        return None
    if re.search(r"\b(user|grant|privilege|permission|password|account)s?\b", t):
        return None  # about who may log in, not about the network
    services = [s for s in SERVICE_PORTS if re.search(rf"\b{s}\b", t)]
    ports = _ports_named(line.title)
    if not services and not ports and not re.search(r"\b(database|db)\b", t):
        return None
    if ports:
        port = ports[0]
    elif services:
        port = SERVICE_PORTS[services[0]]
    else:
        port = "${db_port}"
    # "from the internet", "publicly": the line names the outside view this check takes.
    outside = re.search(r"\b(internet|public\w*|outside|external\w*|world)\b", t)
    return Proposal(
        [("port_reachable", {"port": port, "reachable": "false"})],
        0.8 if outside else 0.7,
        f"port {port} does not answer from the runner",
    )


@proposes("listening_ports")
def _ports_closed_rule(line: Line) -> Proposal | None:
    """ "Unnecessary ports closed", "Only required ports open", "Close unused ports"."""
    t = line.lower
    if not re.search(r"\bports?\b", t) or re.search(r"\bfirewall|security group|ufw|iptables\b", t):
        return None
    if not re.search(r"\b(unnecessary|unused|unneeded|other|only|required|needed|necessary)\b", t):
        return None
    if not re.search(r"\b(closed?|open|exposed|listening|disabled)\b", t):
        return None
    ports = _ports_named(line.title)
    allowed = ",".join(ports) if ports else "${allowed_ports}"
    return Proposal([("listening_ports", {"allowed": allowed})], 0.7, "only allowed ports listen")


#: Services a firewall line names by protocol instead of by port.
_NAMED_PORTS = {"ssh": "22", "http": "80", "https": "443", "smtp": "25", "dns": "53"}


@proposes("firewall_policy")
def _firewall_rule(line: Line) -> Proposal | None:
    """ "Firewall rules configured (ports 80, 443, 22)", "UFW enabled"."""
    t = line.lower
    if not re.search(r"\b(firewall\w*|ufw|iptables|nftables|nft|firewalld|packet filter)\b", t):
        return None
    if re.search(r"\b(web application firewall|waf|cloud|security groups?|aws|gcp|azure)\b", t):
        return None
    ports = _ports_named(line.title) or [
        port for name, port in _NAMED_PORTS.items() if re.search(rf"\b{name}\b", t)
    ]
    if ports:
        joined = ",".join(dict.fromkeys(ports))
        params = {"allowed_ports": joined, "required_ports": joined}
        return Proposal([("firewall_policy", params)], 0.9, f"firewall allows only {joined}")
    return Proposal(
        [("firewall_policy", {"allowed_ports": "${allowed_ports}"})],
        0.75,
        "firewall drops inbound by default",
    )
