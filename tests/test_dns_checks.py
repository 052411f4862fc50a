"""DNS checks against a real DNS server: Debian's dnsmasq with its own test zone.

From the runner, dnsmasq listens on a free port of 127.0.0.1; from a host, it
runs inside one fleet namespace on that host's address and another fleet host
(over SSH, as the plain fleet account) sends the query. A resolver that never
answers is a UDP socket that reads nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import pytest

from pytest_golive.checks import dns_records
from pytest_golive.checks.registry import REGISTRY
from pytest_golive.checks.rules import Line
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError
from pytest_golive.targets.host import HostTarget
from support.dnsmasq import ZONE, DnsServer, _stop, start_dnsmasq
from support.fleet import Fleet
from support.nftables_host import FirewallHost

DATA = Path(__file__).parent / "data" / "dns"


def run(check_name: str, /, *target: object, **params: object):
    chk = REGISTRY.get(check_name)
    return chk.func(*target, **chk.validate(params))


def at(server: DnsServer) -> dict[str, str]:
    return {"resolver": server.address, "port": str(server.port), "timeout": "3"}


@pytest.mark.real_systems
def test_dns_record_types_from_the_runner(dnsmasq: DnsServer) -> None:
    where = at(dnsmasq)
    out = run("dns_record", name=f"www.{ZONE}", type="A", equals="192.0.2.10", **where)
    assert out.status == "passed", out
    out = run("dns_record", name=f"www.{ZONE}", type="A", equals="192.0.2.99", **where)
    assert out.status == "failed" and "192.0.2.10 (unexpected: 192.0.2.10)" in out.observed, out
    assert "exactly 192.0.2.99" in out.expected
    out = run("dns_record", name=f"www.{ZONE}", type="AAAA", equals="2001:0db8:0::10", **where)
    assert out.status == "passed", out
    # Two A records: equals wants both, contains one of them.
    assert (
        run(
            "dns_record", name=f"two.{ZONE}", type="A", equals="192.0.2.22,192.0.2.21", **where
        ).status
        == "passed"
    )
    out = run("dns_record", name=f"two.{ZONE}", type="A", equals="192.0.2.21", **where)
    assert out.status == "failed" and "unexpected: 192.0.2.22" in out.observed, out
    assert (
        run("dns_record", name=f"two.{ZONE}", type="A", contains="192.0.2.21", **where).status
        == "passed"
    )
    # A CNAME is followed for an A question, and can be asked for itself.
    out = run("dns_record", name=f"app.{ZONE}", type="A", contains="192.0.2.10", **where)
    assert out.status == "passed" and f"via app.{ZONE} -> www.{ZONE}" in out.observed, out
    out = run("dns_record", name=f"app.{ZONE}", type="CNAME", equals=f"WWW.{ZONE}.", **where)
    assert out.status == "passed", out
    out = run("dns_record", name=f"app.{ZONE}", type="CNAME", equals=f"mail.{ZONE}", **where)
    assert out.status == "failed", out
    # MX with or without its preference; TXT without quotes; CAA; NS.
    assert (
        run("dns_record", name=ZONE, type="MX", equals=f"mail.{ZONE}", **where).status == "passed"
    )
    assert (
        run("dns_record", name=ZONE, type="MX", equals=f"10 mail.{ZONE}", **where).status
        == "passed"
    )
    out = run("dns_record", name=ZONE, type="MX", equals=f"20 mail.{ZONE}", **where)
    assert out.status == "failed", out
    assert (
        run("dns_record", name=ZONE, type="TXT", contains="v=spf1 -all", **where).status == "passed"
    )
    out = run(
        "dns_record", name=ZONE, type="TXT", contains="v=spf1 include:mail.example ~all", **where
    )
    assert out.status == "failed" and "missing:" in out.observed, out
    out = run("dns_record", name=ZONE, type="CAA", contains="issue letsencrypt.org", **where)
    assert out.status == "passed", out
    out = run("dns_record", name=ZONE, type="CAA", contains='0 issue "pki.goog"', **where)
    assert out.status == "failed", out
    assert run("dns_record", name=ZONE, type="NS", equals=f"ns1.{ZONE}", **where).status == "passed"
    # No MX at www: the name exists, with no record of that type.
    out = run("dns_record", name=f"www.{ZONE}", type="MX", **where)
    assert out.status == "failed" and f"www.{ZONE} MX: none" in out.observed, out


@pytest.mark.real_systems
def test_dns_record_resolves_at_all(dnsmasq: DnsServer) -> None:
    where = at(dnsmasq)
    out = run("dns_record", name=f"www.{ZONE}", **where)
    assert (
        out.status == "passed" and "192.0.2.10" in out.observed and "2001:db8::10" in out.observed
    )
    out = run("dns_record", name=f"nope.{ZONE}", **where)
    assert out.status == "failed" and "does not exist (NXDOMAIN" in out.observed, out
    # Outside its zone, with no upstream, dnsmasq refuses: a failure naming the answer.
    out = run("dns_record", name="www.example.com", type="A", **where)
    assert out.status == "failed" and "answered REFUSED" in out.observed, out


@pytest.mark.real_systems
def test_silent_resolver_is_one_line_within_the_timeout(silent_resolver: tuple[str, int]) -> None:
    address, port = silent_resolver
    started = time.monotonic()
    with pytest.raises(CheckError) as err:
        run(
            "dns_record",
            name=f"www.{ZONE}",
            type="A",
            resolver=address,
            port=str(port),
            timeout="1",
        )
    elapsed = time.monotonic() - started
    message = str(err.value)
    assert message == f"dns_record: resolver {address}:{port}: no answer for www.{ZONE} A within 1s"
    assert elapsed < 10  # bounded by the timeout, not by a default resolver's retries


def test_bad_name_is_one_line() -> None:
    with pytest.raises(CheckError, match="is not a DNS name"):
        run("dns_record", name="a..b", resolver="127.0.0.1", port="9")


@pytest.fixture
def namespace_dns(fleet: Fleet, tmp_path: Path) -> Iterator[DnsServer]:
    """dnsmasq inside the second fleet host's namespace, on that host's address."""
    server, proc = start_dnsmasq(tmp_path, fleet.hosts[1].address, fleet.hosts[1].namespace)
    try:
        yield server
    finally:
        _stop(proc)


@pytest.mark.real_systems
def test_dns_record_from_a_host(fleet: Fleet, namespace_dns: DnsServer) -> None:
    """The query is sent from the fleet host over SSH, as the plain fleet account."""
    first = fleet.hosts[0]
    target = HostTarget(
        TargetSpec("host", first.name, (), fleet.options(first.ssh_url)),
        Settings(connect_timeout=3),
    )
    try:
        where = at(namespace_dns)
        out = run(
            "dns_record_from", target, name=f"www.{ZONE}", type="A", equals="192.0.2.10", **where
        )
        assert out.status == "passed" and f"from {first.name}" in out.details["resolver"], out
        out = run(
            "dns_record_from", target, name=f"app.{ZONE}", type="A", equals="192.0.2.99", **where
        )
        assert out.status == "failed" and "unexpected: 192.0.2.10" in out.observed, out
        out = run("dns_record_from", target, name=f"nope.{ZONE}", **where)
        assert out.status == "failed" and "NXDOMAIN" in out.observed, out
        # The query really came from the host's address (dnsmasq logs the sender).
        assert f"from {first.address}" in namespace_dns.log.read_text()
        # Nothing answers on this port of that address: one line, within the timeout.
        with pytest.raises(
            CheckError, match=rf"^host {first.name}: resolver .*: no answer for .* within 1s$"
        ):
            run(
                "dns_record_from",
                target,
                name=f"www.{ZONE}",
                type="A",
                resolver=namespace_dns.address,
                port="5354",
                timeout="1",
            )
    finally:
        target.close()


@pytest.mark.real_systems
def test_dns_record_from_asks_the_hosts_own_resolver(
    firewall_host: FirewallHost, tmp_path: Path
) -> None:
    """Without resolver=, the first nameserver of the host's /etc/resolv.conf is asked.

    The host is the one-host fleet of tests/support/nftables_host.py, whose resolv.conf
    names its own loopback; dnsmasq listens there, inside its namespace. Only the root
    login sees that file (its sshd started after it was written).
    """
    server, proc = start_dnsmasq(tmp_path, "127.0.0.1", firewall_host.host.namespace)
    target = HostTarget(
        TargetSpec("host", "root", (), firewall_host.options(root=True)),
        Settings(connect_timeout=3),
    )
    try:
        out = run("dns_record_from", target, name=f"www.{ZONE}", type="A", port=str(server.port))
        assert out.status == "passed" and out.details["resolver"] == "127.0.0.1:5353 from root"
        out = run("dns_record_from", target, name=f"nope.{ZONE}", port=str(server.port))
        assert out.status == "failed" and "NXDOMAIN from 127.0.0.1:5353" in out.observed, out
    finally:
        target.close()
        _stop(proc)


# --- judgement on captured answers ------------------------------------------------------------


def _captured(name: str) -> dns.message.Message:
    """An answer dnsmasq 2.90 gave, saved in wire format (hex) under tests/data/dns."""
    return dns.message.from_wire(bytes.fromhex((DATA / name).read_text().strip()))


def test_parse_captured_cname_chain() -> None:
    answer = dns_records.parse_answer(_captured("app-a.hex"), f"app.{ZONE}", "A", "127.0.0.1:53")
    assert answer.records == ("192.0.2.10",) and answer.chain == (f"app.{ZONE}", f"www.{ZONE}")
    out = dns_records.judge_records(answer, equals=["192.0.2.10"])
    assert out.status == "passed"
    assert dns_records.judge_records(answer, contains=["192.0.2.11"]).status == "failed"


def test_parse_captured_nxdomain_and_caa() -> None:
    answer = dns_records.parse_answer(_captured("nope-a.hex"), f"nope.{ZONE}", "A", "127.0.0.1:53")
    assert answer.rcode is dns_records.Rcode.NXDOMAIN
    assert dns_records.judge_records(answer).status == "failed"
    caa = dns_records.parse_answer(_captured("zone-caa.hex"), ZONE, "CAA", "127.0.0.1:53")
    assert caa.records == ("0 issue letsencrypt.org",)
    assert dns_records.matches("CAA", caa.records[0], 'issue "letsencrypt.org"')


def _line(title: str) -> Line:
    return Line(1, 0, title, title, "", "", False)


@pytest.mark.parametrize(
    "title, params",
    [
        ("Domain name configured", {"name": "${domain}"}),
        (
            "DNS records pointing to server",
            {"name": "${domain}", "type": "A", "contains": "${server_ip}"},
        ),
        ("DNS records created", {"name": "${domain}"}),
        (
            "DNS A record for api.example.com points to 203.0.113.7",
            {"name": "api.example.com", "type": "A", "contains": "203.0.113.7"},
        ),
        ("MX records configured for example.org", {"name": "example.org", "type": "MX"}),
        ("SPF record published", {"name": "${domain}", "type": "TXT"}),
    ],
)
def test_dns_import_rule(title: str, params: dict[str, str]) -> None:
    proposal = dns_records._dns_rule(_line(title))
    assert proposal is not None and proposal.candidates[0] == ("dns_record", params)


@pytest.mark.parametrize(
    "title",
    [
        "Domain registered and renewed",
        "CORS origins set for production domains",
        "SSL certificate for the domain installed",
        "**Nginx Configuration** updated with domain",
    ],
)
def test_dns_import_rule_leaves_other_lines(title: str) -> None:
    assert dns_records._dns_rule(_line(title)) is None
