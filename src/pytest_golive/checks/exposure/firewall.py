"""Firewall policy: inbound default drop or reject, accepted ports within a list."""

from __future__ import annotations

import re
from typing import Any, Literal

from pytest_golive.checks._shell import first_line
from pytest_golive.checks.exposure.ports import SBIN_PATH, PortRule, parse_ports
from pytest_golive.checks.exposure.rulesets import (
    Allowed,
    Chain,
    InputView,
    Ruleset,
    Verdict,
    merge_iptables,
    parse_iptables_save,
    parse_nft_json,
    parse_ufw_status,
)
from pytest_golive.checks.registry import check
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget


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


# --- reading a host's ruleset --------------------------------------------------------------------

Source = Literal["auto", "nftables", "iptables", "ufw"]

_NO_PRIVILEGE = re.compile(
    r"operation not permitted|permission denied|you must be root|"
    r"need to be root|are you root",
    re.I,
)


def _run_tool(host: HostTarget, tool: str, command: str) -> str | None:
    """stdout of a ruleset tool; None if it is not installed; one line if it cannot read."""
    result = host.run(f"{SBIN_PATH}command -v {tool} >/dev/null 2>&1 || exit 127; {command}")
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
