"""Firewall rulesets as facts: nftables JSON, iptables-save and ufw status, one model."""

from __future__ import annotations

import enum
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

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
