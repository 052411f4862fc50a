"""DNS checks: a name has the records a release expects, asked of a real resolver.

The question is built and the answer parsed with dnspython on the machine
running pytest, whoever sends it: :func:`dns_record` asks from the runner (the
pipeline's view), :func:`dns_record_from` sends the same query from a host
(its own resolver, its own network view) through a few lines of ``python3``
there and brings the raw answer back. Both answers are judged by one pure
function, :func:`judge_records`, so the two views are held to the same rules.

A resolver that does not answer is one error line after ``timeout`` seconds,
never a hang and never a pass.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from pytest_golive.checks._shell import first_line, q
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget

RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "CAA", "NS"]


class Rcode(enum.Enum):
    """The answer codes the judgement distinguishes (others keep their DNS name)."""

    NOERROR = "NOERROR"
    NXDOMAIN = "NXDOMAIN"
    OTHER = "OTHER"


@dataclass(frozen=True)
class Answer:
    """What a resolver said about one (name, type) question."""

    name: str
    rtype: str
    resolver: str
    rcode: Rcode
    rcode_text: str
    #: Records of the asked type, in presentation form (see :func:`normalise`).
    records: tuple[str, ...] = ()
    #: Aliases followed on the way (CNAME records met for another type).
    chain: tuple[str, ...] = ()
    authoritative: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _name_text(name: str) -> str:
    return name.strip().rstrip(".").lower()


def normalise(rtype: str, text: str) -> str:
    """One record (or one expected value) in a form that compares as people mean it.

    Addresses are compressed (``2001:db8:0::1`` = ``2001:db8::1``), names are
    lower case without the final dot, TXT strings are joined without quotes,
    CAA values lose their quotes.
    """
    value = " ".join(text.split())
    if rtype in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            return value
    if rtype in ("CNAME", "NS"):
        return _name_text(value)
    if rtype == "MX":
        parts = value.split()
        if len(parts) == 2 and parts[0].isdigit():
            return f"{int(parts[0])} {_name_text(parts[1])}"
        return _name_text(value)
    if rtype == "TXT":
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', value)
        return "".join(strings) if strings else value
    if rtype == "CAA":
        return value.replace('"', "").lower()
    return value


def _short(rtype: str, value: str) -> str:
    """A record without its leading number (MX preference, CAA flags), for loose matches."""
    if rtype in ("MX", "CAA"):
        parts = value.split(" ", 1)
        if len(parts) == 2 and parts[0].isdigit():
            return parts[1]
    return value


def matches(rtype: str, record: str, expected: str) -> bool:
    """Whether a record is the expected value (MX/CAA also without their number)."""
    want = normalise(rtype, expected)
    return record == want or _short(rtype, record) == want


def judge_records(
    answer: Answer, *, equals: list[str] | None = None, contains: list[str] | None = None
) -> Outcome:
    """Pass when the name exists with records of the type that fit ``equals``/``contains``.

    ``equals``: the records are exactly these values (no more, no fewer);
    ``contains``: each of these values is among the records. Neither: at least
    one record.
    """
    ev = Evidence()
    what = f"{answer.name} {answer.rtype}"
    shown = ", ".join(answer.records) or "none"
    details: dict[str, Any] = {
        "name": answer.name,
        "type": answer.rtype,
        "resolver": answer.resolver,
        "rcode": answer.rcode_text,
        "records": list(answer.records),
        "chain": list(answer.chain),
        **answer.extra,
    }
    if answer.rcode is Rcode.NXDOMAIN:
        ev.add(
            "exists",
            False,
            f"{answer.name} does not exist (NXDOMAIN from {answer.resolver})",
            f"{what} records",
        )
        return ev.outcome(**details)
    if answer.rcode is not Rcode.NOERROR:
        ev.add(
            "answer",
            False,
            f"{answer.resolver} answered {answer.rcode_text} for {what}",
            f"{what} records",
        )
        return ev.outcome(**details)
    via = f" (via {' -> '.join(answer.chain)})" if answer.chain else ""
    ev.add(
        "records",
        bool(answer.records),
        f"{what}: {shown}{via}",
        f"at least one {answer.rtype} record",
    )
    if equals is not None:
        wanted = sorted({normalise(answer.rtype, e) for e in equals})
        unmatched = [
            r for r in answer.records if not any(matches(answer.rtype, r, e) for e in equals)
        ]
        missing = _not_found(answer, equals)
        ok = not unmatched and not missing
        ev.add(
            "equals",
            ok,
            shown + (f" (unexpected: {', '.join(unmatched)})" if unmatched else ""),
            f"exactly {', '.join(wanted)}",
        )
    if contains:
        missing = _not_found(answer, contains)
        ev.add(
            "contains",
            not missing,
            shown + (f" (missing: {', '.join(missing)})" if missing else ""),
            f"includes {', '.join(normalise(answer.rtype, c) for c in contains)}",
        )
    return ev.outcome(**details)


def _not_found(answer: Answer, values: list[str]) -> list[str]:
    """The expected values no record of the answer matches."""
    return [v for v in values if not any(matches(answer.rtype, r, v) for r in answer.records)]


# --- asking ---------------------------------------------------------------------------


def build_query(name: str, rtype: str) -> dns.message.Message:
    """A recursive query with EDNS (so common answers fit one UDP datagram)."""
    try:
        qname = dns.name.from_text(name)
    except (dns.exception.DNSException, ValueError) as exc:
        raise CheckError(f"dns_record: {name!r} is not a DNS name ({exc})") from None
    query = dns.message.make_query(qname, rtype, use_edns=0, payload=1232)
    query.flags |= dns.flags.RD
    return query


def parse_answer(response: dns.message.Message, name: str, rtype: str, resolver: str) -> Answer:
    """The records of ``rtype`` for ``name`` in a response, following its CNAMEs."""
    code = response.rcode()
    text = dns.rcode.to_text(code)
    kind = (
        Rcode.NOERROR
        if text == "NOERROR"
        else Rcode.NXDOMAIN
        if text == "NXDOMAIN"
        else Rcode.OTHER
    )
    wanted = dns.rdatatype.from_text(rtype)
    current = dns.name.from_text(name)
    chain: list[str] = []
    records: list[str] = []
    for _ in range(16):
        rrset = next((r for r in response.answer if r.name == current and r.rdtype == wanted), None)
        if rrset is not None:
            records = [normalise(rtype, rd.to_text()) for rd in rrset]
            break
        alias = next(
            (r for r in response.answer if r.name == current and r.rdtype == dns.rdatatype.CNAME),
            None,
        )
        if alias is None or wanted == dns.rdatatype.CNAME:
            break
        target = alias[0].target
        chain.append(_name_text(current.to_text()))
        current = target
    if chain:
        chain.append(_name_text(current.to_text()))
    return Answer(
        name=_name_text(name),
        rtype=rtype,
        resolver=resolver,
        rcode=kind,
        rcode_text=text,
        records=tuple(sorted(dict.fromkeys(records))),
        chain=tuple(chain),
        authoritative=bool(response.flags & dns.flags.AA),
    )


def _check_response(response: dns.message.Message, query: dns.message.Message, where: str) -> None:
    if response.id != query.id or not response.flags & dns.flags.QR:
        raise CheckError(f"{where}: the answer does not belong to the question")
    if response.flags & dns.flags.TC:
        raise CheckError(f"{where}: the answer was truncated and did not fit one UDP datagram")


def _system_resolver() -> tuple[str, int]:
    try:
        config = dns.resolver.Resolver(configure=True)
    except dns.exception.DNSException as exc:
        raise CheckError(
            f"dns_record: no resolver configured on this machine ({exc}): set resolver="
        ) from None
    if not config.nameservers:
        raise CheckError("dns_record: no resolver configured on this machine: set resolver=")
    return str(config.nameservers[0]), int(config.port)


def ask(name: str, rtype: str, *, resolver: str | None, port: int, timeout: float) -> Answer:
    """Ask ``resolver`` (default: this machine's first resolver) one question over UDP."""
    server, server_port = (resolver, port) if resolver else _system_resolver()
    where = f"dns_record: resolver {server}:{server_port}"
    query = build_query(name, rtype)
    try:
        response = dns.query.udp(query, server, port=server_port, timeout=timeout)
    except dns.exception.Timeout:
        raise CheckError(f"{where}: no answer for {name} {rtype} within {timeout:g}s") from None
    except (OSError, ValueError) as exc:
        raise CheckError(f"{where}: cannot ask for {name} {rtype}: {exc}") from None
    except dns.exception.DNSException as exc:
        raise CheckError(f"{where}: unreadable answer for {name} {rtype}: {exc}") from None
    _check_response(response, query, where)
    return parse_answer(response, name, rtype, f"{server}:{server_port}")


def _types(rtype: str | None) -> list[str]:
    return [rtype] if rtype else ["A", "AAAA"]


def _judge_any(
    answers: list[Answer], equals: list[str] | None, contains: list[str] | None
) -> Outcome:
    """For no type given: the name resolves to an address, A or AAAA."""
    if len(answers) == 1:
        return judge_records(answers[0], equals=equals, contains=contains)
    a, aaaa = answers
    records = (*a.records, *aaaa.records)
    merged = Answer(
        a.name,
        "A/AAAA",
        a.resolver,
        a.rcode if a.records or not aaaa.records else aaaa.rcode,
        a.rcode_text if a.records or not aaaa.records else aaaa.rcode_text,
        records,
        a.chain or aaaa.chain,
    )
    # An address value compares the same whichever family it is.
    return judge_records(merged, equals=equals, contains=contains)


@check(target="none", aliases=("dns",))
def dns_record(
    *,
    name: str,
    type: RecordType | None = None,
    equals: list[str] | None = None,
    contains: list[str] | None = None,
    resolver: str | None = None,
    port: int = 53,
    timeout: float = 5,
) -> Outcome:
    """A DNS name has records of a type, equal to or containing the expected values.

    Asked from the machine running pytest (the pipeline's view), of
    ``resolver`` or, without one, of this machine's first configured resolver.
    Without ``type`` the name must resolve to an address (A or AAAA). A name
    that does not exist (NXDOMAIN), a refusal or a server failure fails with
    the resolver's answer; a resolver that does not answer within ``timeout``
    is an error naming it. MX and CAA values may be given with or without
    their number (``mail.example.com`` or ``10 mail.example.com``).

    Args:
        name: the DNS name, such as www.example.com.
        type: A, AAAA, CNAME, MX, TXT, CAA or NS; empty for "resolves to an address".
        equals: the records must be exactly these values.
        contains: these values must be among the records (others allowed).
        resolver: the resolver or authoritative server to ask (an address).
        port: the resolver's port.
        timeout: seconds to wait for the answer.
    """
    answers = [ask(name, t, resolver=resolver, port=port, timeout=timeout) for t in _types(type)]
    return _judge_any(answers, equals, contains)


#: Sends one hex-encoded query to a resolver over UDP and prints the answer in hex.
#: The resolver defaults to the host's first ``nameserver``; a silent one prints
#: @@timeout after the time limit. Only the standard library is needed on the host.
_HOST_QUERY = r"""
import binascii, socket, sys
server, port, limit, query = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
if not server:
    try:
        for line in open("/etc/resolv.conf"):
            words = line.split()
            if len(words) > 1 and words[0] == "nameserver":
                server = words[1].split("%")[0]
                break
    except OSError:
        pass
if not server:
    print("@@noresolver")
    sys.exit(0)
family = socket.AF_INET6 if ":" in server else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(limit)
print("@@server " + server)
try:
    s.sendto(binascii.unhexlify(query), (server, port))
    print("@@answer " + binascii.hexlify(s.recv(65535)).decode())
except socket.timeout:
    print("@@timeout")
except OSError as exc:
    print("@@error " + str(exc))
"""


def ask_from_host(
    host: HostTarget, name: str, rtype: str, *, resolver: str | None, port: int, timeout: float
) -> Answer:
    """Send the question from ``host`` (``python3`` there) and parse the answer here."""
    query = build_query(name, rtype)
    wire = query.to_wire().hex()
    script = (
        f"command -v python3 >/dev/null 2>&1 || exit 127; "
        f"python3 -c {q(_HOST_QUERY)} {q(resolver or '')} {port} {timeout:g} {wire}"
    )
    result = host.run(script, timeout=timeout + 10)
    who = f"host {host.name}"
    if result.rc == 127:
        raise CheckError(f"{who}: dns_record_from needs python3 on the host to send the query")
    lines = {
        ln.split(" ", 1)[0]: (ln.split(" ", 1) + [""])[1] for ln in str(result.stdout).splitlines()
    }
    if "@@noresolver" in lines:
        raise CheckError(f"{who}: no nameserver in /etc/resolv.conf: set resolver=")
    server = lines.get("@@server", resolver or "?")
    where = f"{who}: resolver {server}:{port}"
    if "@@timeout" in lines:
        raise CheckError(f"{where}: no answer for {name} {rtype} within {timeout:g}s")
    if "@@error" in lines:
        raise CheckError(f"{where}: cannot ask for {name} {rtype}: {lines['@@error'][:200]}")
    if "@@answer" not in lines:
        cause = first_line(str(result.stderr)) or f"exit status {result.rc}"
        raise CheckError(f"{who}: sending the DNS query failed: {cause}")
    try:
        response = dns.message.from_wire(bytes.fromhex(lines["@@answer"].strip()))
    except (ValueError, dns.exception.DNSException) as exc:
        raise CheckError(f"{where}: unreadable answer for {name} {rtype}: {exc}") from None
    _check_response(response, query, where)
    return parse_answer(response, name, rtype, f"{server}:{port} from {host.name}")


@check(target="host", aliases=("dns_record_on_host",))
def dns_record_from(
    host: HostTarget,
    *,
    name: str,
    type: RecordType | None = None,
    equals: list[str] | None = None,
    contains: list[str] | None = None,
    resolver: str | None = None,
    port: int = 53,
    timeout: float = 5,
) -> Outcome:
    """From a host, a DNS name has records of a type, equal to or containing the expected values.

    The same question and judgement as ``dns_record``, sent from the host
    itself: to ``resolver`` or, without one, to the first ``nameserver`` of
    the host's ``/etc/resolv.conf``, so "the app servers resolve the database
    name" is proven where it matters. Needs ``python3`` on the host (the
    standard library only); the answer is parsed on the machine running pytest.

    Args:
        name: the DNS name, such as db.internal.example.com.
        type: A, AAAA, CNAME, MX, TXT, CAA or NS; empty for "resolves to an address".
        equals: the records must be exactly these values.
        contains: these values must be among the records (others allowed).
        resolver: the resolver to ask (an address), instead of the host's own.
        port: the resolver's port.
        timeout: seconds to wait for the answer.
    """
    answers = [
        ask_from_host(host, name, t, resolver=resolver, port=port, timeout=timeout)
        for t in _types(type)
    ]
    return _judge_any(answers, equals, contains)


# --- import rules -----------------------------------------------------------------------

_DNS_WORDS = re.compile(
    r"\b(dns|domain( name)?s?|a records?|aaaa|cname|mx records?|nameservers?|"
    r"caa|spf|dkim|dmarc|txt records?)\b"
)
_NOT_DNS = re.compile(
    r"\b(nginx|apache|caddy|vhost|virtual hosts?|server_name|allowed[_ ]hosts|configuration)\b|"
    + r"\b(cors|cookie|ssl|tls|https?|certificate|email deliver|subdomain takeover)\b"
)


def _domains(text: str) -> list[str]:
    found = re.findall(r"\b((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,})\b", text, re.I)
    return [
        d for d in found if not re.search(r"\.(md|py|txt|log|conf|json|ya?ml|sh|env|sql)$", d, re.I)
    ]


def _addresses(text: str) -> list[str]:
    found = []
    for word in re.findall(r"[0-9a-f:.]{3,}", text, re.I):
        try:
            found.append(str(ipaddress.ip_address(word)))
        except ValueError:
            continue
    return found


@proposes("dns_record")
def _dns_rule(line: Line) -> Proposal | None:
    """ "Domain name configured", "DNS records pointing to server", "MX records set up"."""
    t = line.lower
    named = _domains(line.title + " " + line.code)
    # "www.example.org resolves to the CDN": a named domain that resolves is a DNS line
    # even without the word DNS
    resolves = bool(named) and bool(re.search(r"\bresolv\w*\b", t))
    if not (_DNS_WORDS.search(t) or resolves) or _NOT_DNS.search(t):
        return None
    if re.search(
        r"\b(registered|renew\w*|purchas\w*|transfer\w*|propagat\w* (time|delay))\b", t
    ) and not re.search(r"record|point|resolv", t):
        return None  # a registrar's paperwork, not something a resolver says
    domains = _domains(line.title + " " + line.code)
    name = domains[0] if domains else "${domain}"
    params: dict[str, str] = {"name": name}
    reason = "the domain resolves"
    for rtype in ("AAAA", "CNAME", "MX", "TXT", "CAA", "NS"):
        if re.search(rf"\b{rtype.lower()}\b", t) or (
            rtype == "NS" and re.search(r"nameservers?", t)
        ):
            params["type"] = rtype
            reason = f"{rtype} records"
            break
    else:
        if re.search(r"\bspf|dkim|dmarc\b", t):
            params["type"] = "TXT"
            reason = "TXT records"
        elif re.search(r"\bresolv\w* to (the |our )?(cdn|load[- ]balancer|lb|edge)\b", t):
            # an alias or the provider's addresses: whatever the records are, they hold it
            params["contains"] = "${dns_target}"
            reason = "the name resolves to the CDN or load balancer"
        elif re.search(r"\ba records?\b|point\w* (to|at)|resolv\w* to|\bserver\b|\bip\b", t):
            params["type"] = "A"
            addresses = _addresses(line.title + " " + line.code)
            params["contains"] = addresses[0] if addresses else "${server_ip}"
            reason = "A records point to the server"
    confidence = 0.75 if domains else 0.6
    return Proposal([("dns_record", params)], confidence, reason)
