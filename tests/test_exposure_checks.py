"""Network exposure checks: reachability, listening ports and firewall rulesets.

Live tests use real hosts: the session's fleet (network namespaces running sshd,
logged into as a plain account) for reachability, and a one-host fleet of their
own (tests/support/nftables_host.py) whose namespace gets real nftables rules
(``ip netns exec NS nft -f``, as root, by the test) for listeners and firewalls.
The parsers are also tested on output captured from the real tools
(tests/data/exposure: nft 1.0.6 and iptables-save 1.8.9 of Debian 12, ss of
iproute2 6.1) and, for ufw, which is not installed here, on the format its
manual documents.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_golive.checks import exposure
from pytest_golive.checks.registry import REGISTRY
from pytest_golive.checks.rules import Line
from pytest_golive.core.config import Environment, Settings, TargetSpec
from pytest_golive.core.outcome import CheckError
from pytest_golive.targets import TargetPool
from pytest_golive.targets.host import HostTarget
from support import environment
from support.fleet import Fleet
from support.nftables_host import ROOT_PORT, FirewallHost

DATA = Path(__file__).parent / "data" / "exposure"


def run(check_name: str, /, *target: object, **params: object):
    chk = REGISTRY.get(check_name)
    return chk.func(*target, **chk.validate(params))


def _host(options: dict[str, object], name: str = "t") -> HostTarget:
    return HostTarget(TargetSpec("host", name, (), options), Settings(connect_timeout=3))


def ports(*values: str) -> list[exposure.PortRule]:
    return exposure.parse_ports(values, "test")


# --- parsers and judgement on captured output ---------------------------------------------


def test_nft_drop_policy_with_sets_ranges_and_jumps() -> None:
    ruleset = exposure.parse_nft_json((DATA / "nft-drop-policy.json").read_text())
    out = exposure.judge_firewall(
        ruleset, allowed_ports=ports("22", "80", "443", "51820/udp", "5432", "8000-8010/tcp")
    )
    assert out.status == "passed", out
    assert "inet filter input: drop" in out.observed
    assert out.details["accepted"] == [
        "22/tcp",
        "80/tcp",
        "443/tcp",
        "51820/udp",
        "5432/tcp from 10.0.0.0/8",
        "8000-8010/tcp",
    ]
    out = exposure.judge_firewall(
        ruleset, allowed_ports=ports("22", "80", "443"), required_ports=ports("22", "80", "443")
    )
    assert (
        out.status == "failed"
        and "not allowed: 51820/udp, 5432/tcp from 10.0.0.0/8" in out.observed
    )
    out = exposure.judge_firewall(ruleset, required_ports=ports("22", "3306"))
    assert out.status == "failed" and "not open: 3306" in out.observed


def test_nft_empty_ruleset_fails() -> None:
    out = exposure.judge_firewall(exposure.parse_nft_json((DATA / "nft-empty.json").read_text()))
    assert out.status == "failed" and "no inbound (input) rules" in out.observed


def test_nft_view_of_iptables_rules_is_not_trusted_blindly() -> None:
    """iptables-nft's xt matches are opaque in nft's JSON: named, never guessed."""
    ruleset = exposure.parse_nft_json((DATA / "nft-iptables-nft.json").read_text())
    assert ruleset.notes and "iptables-save" in ruleset.notes[0]
    out = exposure.judge_firewall(
        ruleset, allowed_ports=ports("22", "80", "443", "8080-8082", "5432")
    )
    assert out.status == "failed" and "not understood" in out.observed
    unknown = out.details["chains"][0]["not_understood"]
    assert any("conntrack" in u for u in unknown) and any("multiport" in u for u in unknown)


def test_iptables_save() -> None:
    ruleset = exposure.parse_iptables_save((DATA / "iptables-save.txt").read_text())
    out = exposure.judge_firewall(
        ruleset,
        allowed_ports=ports("22", "80", "443", "8080-8082", "5432"),
        required_ports=ports("22", "80", "443"),
    )
    assert out.status == "passed" and "INPUT: reject" in out.observed, out
    out = exposure.judge_firewall(ruleset, allowed_ports=ports("22", "80", "443"))
    assert out.status == "failed" and "8080-8082/tcp" in out.observed


def test_iptables_accept_policy_fails() -> None:
    text = (
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
        "-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    )
    out = exposure.judge_firewall(exposure.parse_iptables_save(text))
    assert out.status == "failed" and "INPUT: accept" in out.observed


def test_ufw_status_verbose() -> None:
    ruleset = exposure.parse_ufw_status((DATA / "ufw-status-verbose.txt").read_text())
    out = exposure.judge_firewall(
        ruleset,
        allowed_ports=ports("22", "80", "443", "5432"),
        required_ports=ports("80", "443", "22"),
    )
    assert out.status == "passed", out
    out = exposure.judge_firewall(ruleset, allowed_ports=ports("22", "80", "443"))
    assert out.status == "failed" and "5432/tcp from 10.0.0.0/8" in out.observed
    inactive = exposure.parse_ufw_status((DATA / "ufw-status-inactive.txt").read_text())
    out = exposure.judge_firewall(inactive)
    assert out.status == "failed" and "ufw: inactive" in out.observed


def test_ss_parser_on_captured_output() -> None:
    listeners = exposure.parse_ss((DATA / "ss-root.txt").read_text())
    shown = {(lst.protocol, lst.address, lst.port, lst.processes) for lst in listeners}
    assert ("tcp", "::", 3306, ("python3",)) in shown  # "*:3306"
    assert ("tcp", "::1", 6379, ("python3",)) in shown
    assert ("udp", "127.0.0.53", 53, ("python3",)) in shown
    out = exposure.judge_listeners(
        listeners, ports("8080", "8443/tcp", "3306", "5353/udp", "123/udp")
    )
    assert out.status == "passed", out
    out = exposure.judge_listeners(listeners, ports("8080", "8443", "3306", "5353"))
    assert out.status == "failed" and out.observed == "not allowed: 123/udp on [::] (python3)"
    # Loopback sockets count only when asked.
    out = exposure.judge_listeners(
        listeners, ports("8080", "8443", "3306", "5353", "123"), include_loopback=True
    )
    assert out.status == "failed" and "6379/tcp on 127.0.0.1" in out.observed
    plain = exposure.parse_ss((DATA / "ss-user.txt").read_text())
    out = exposure.judge_listeners(plain, ports("22"))
    assert "8080/tcp on 0.0.0.0 (process not visible)" in out.observed


def test_port_lists_are_validated() -> None:
    with pytest.raises(CheckError, match="is not a port such as"):
        exposure.parse_ports(["ssh"], "listening_ports: allowed")
    assert [str(p) for p in ports("22", "80/tcp", "8000:8010/udp")] == [
        "22",
        "80/tcp",
        "8000-8010/udp",
    ]


# --- reachability, live ------------------------------------------------------------------------


@pytest.mark.real_systems
def test_port_reachable_from_the_runner(fleet: Fleet) -> None:
    target = _host(fleet.options(fleet.hosts[1].ssh_url), "db")
    out = run("port_reachable", target, port="22")
    assert (
        out.status == "passed"
        and f"from the runner: {fleet.hosts[1].address}:22 connected" in out.observed
    )
    out = run("port_reachable", target, port="22", reachable="false")
    assert out.status == "failed" and "connected" in out.observed
    out = run("port_reachable", target, port="5432", reachable="false")
    assert out.status == "passed" and "connection refused" in out.observed, out
    out = run("port_reachable", target, port="5432")
    assert out.status == "failed"
    with pytest.raises(CheckError, match="set address="):
        run("port_reachable", _host({"url": "local://"}), port="22")


def _environment(fleet: Fleet) -> Environment:
    specs = [
        TargetSpec("host", "web", ("app",), fleet.options(fleet.hosts[0].ssh_url)),
        TargetSpec("host", "db", ("data",), fleet.options(fleet.hosts[1].ssh_url)),
    ]
    return environment(specs, connect_timeout=3)


@pytest.mark.real_systems
def test_port_reachable_from_a_named_host(fleet: Fleet) -> None:
    pool = TargetPool(_environment(fleet))
    try:
        db = pool.handle(pool.env.targets[1])
        out = run("port_reachable", db, port="22", from_host="app")
        assert (
            out.status == "passed"
            and f"from web: {fleet.hosts[1].address}:22 connected" in out.observed
        ), out
        out = run("port_reachable", db, port="6379", reachable="false", from_host="web")
        assert (
            out.status == "passed"
            and f"from web: {fleet.hosts[1].address}:6379 connection refused" in out.observed
        )
        out = run("port_reachable", db, port="6379", from_host="web")
        assert out.status == "failed"
        with pytest.raises(CheckError, match="no target or group 'nowhere'"):
            run("port_reachable", db, port="22", from_host="nowhere")
    finally:
        pool.close()


@pytest.fixture
def namespace_listeners(fw: FirewallHost) -> Iterator[None]:
    """A "database" on 0.0.0.0:5432, a UDP socket on :5353 and a loopback-only :6379, as root."""
    code = (
        "import socket,sys,time\n"
        "t=socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "t.bind(('0.0.0.0',5432)); t.listen()\n"
        "u=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('0.0.0.0',5353))\n"
        "l=socket.socket(); l.bind(('127.0.0.1',6379)); l.listen()\n"
        "print('ready', flush=True); time.sleep(300)\n"
    )
    proc = subprocess.Popen(
        ["ip", "netns", "exec", fw.host.namespace, sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.real_systems
def test_filtered_port_does_not_answer_from_the_runner(
    fw: FirewallHost, namespace_listeners: None
) -> None:
    """The database listens on every address: only the firewall keeps it from being exposed."""
    target = _host(fw.options(), "db")
    out = run("port_reachable", target, port="5432", reachable="false", timeout="1")
    assert out.status == "failed" and ":5432 connected" in out.observed
    fw.nft(DROP_RULESET)
    started = time.monotonic()
    out = run("port_reachable", target, port="5432", reachable="false", timeout="1")
    assert out.status == "passed" and "gave no answer within 1s (filtered)" in out.observed, out
    assert time.monotonic() - started < 10
    assert run("port_reachable", target, port="22").status == "passed"


@pytest.mark.real_systems
def test_listening_ports(fw: FirewallHost, namespace_listeners: None) -> None:
    for root in (False, True):
        target = _host(fw.options(root=root), "root" if root else "plain")
        try:
            out = run("listening_ports", target, allowed=f"22,{ROOT_PORT},5432/tcp,5353/udp")
            assert out.status == "passed", out
            out = run("listening_ports", target, allowed=f"22,{ROOT_PORT}")
            assert out.status == "failed", out
            assert "5432/tcp on 0.0.0.0" in out.observed and "5353/udp on 0.0.0.0" in out.observed
            assert "6379" not in out.observed  # loopback only: not exposed
            # Root sees whose socket it is; a plain account sees only its own processes.
            assert ("(python" if root else "(process not visible)") in out.observed, out
            out = run("listening_ports", target, allowed=f"22,{ROOT_PORT},5432", protocol="tcp")
            assert out.status == "passed", out
        finally:
            target.close()


# --- firewall, live ------------------------------------------------------------------------------

DROP_RULESET = f"""
table inet filter {{
  set web {{ type inet_service; elements = {{ 80, 443 }} }}
  chain input {{
    type filter hook input priority 0; policy drop;
    iifname "lo" accept
    ct state established,related accept
    tcp dport {{ 22, {ROOT_PORT} }} accept
    tcp dport @web accept
    icmp type echo-request accept
  }}
}}
"""

OPEN_RULESET = f"""
table inet filter {{
  chain input {{
    type filter hook input priority 0; policy accept;
    tcp dport {{ 22, {ROOT_PORT} }} accept
  }}
}}
"""


@pytest.mark.real_systems
def test_firewall_without_privileges_says_so(fw: FirewallHost) -> None:
    """As the plain fleet account nft cannot read the ruleset: one line that says what to do."""
    fw.nft(DROP_RULESET)
    target = _host(fw.options(), "plain")
    try:
        with pytest.raises(CheckError) as err:
            run("firewall_policy", target, allowed_ports="22,80,443")
        message = str(err.value)
        assert message.startswith(
            "host plain: cannot read the ruleset without privileges: set sudo = true"
        )
        assert "nft:" in message and "\n" not in message
        with pytest.raises(CheckError, match="cannot read the ruleset without privileges"):
            run("firewall_policy", target, source="iptables")
    finally:
        target.close()


@pytest.mark.real_systems
def test_firewall_policy_as_root(fw: FirewallHost) -> None:
    """The privileged path: root over SSH (this machine has no sudo; see nftables_host.py)."""
    target = _host(fw.options(root=True), "root")
    try:
        out = run("firewall_policy", target)
        assert out.status == "failed" and "no inbound (input) rules" in out.observed, out
        fw.nft(DROP_RULESET)
        allowed = f"22,{ROOT_PORT},80,443"
        out = run("firewall_policy", target, allowed_ports=allowed, required_ports="80,443,22")
        assert out.status == "passed" and "inet filter input: drop" in out.observed, out
        out = run("firewall_policy", target, allowed_ports="22,80,443")
        assert out.status == "failed" and f"not allowed: {ROOT_PORT}/tcp" in out.observed, out
        out = run("firewall_policy", target, required_ports="5432")
        assert out.status == "failed" and "not open: 5432" in out.observed, out
        fw.flush()
        fw.nft(OPEN_RULESET)
        out = run("firewall_policy", target, allowed_ports=allowed)
        assert out.status == "failed" and "inet filter input: accept" in out.observed, out
    finally:
        target.close()


@pytest.mark.real_systems
def test_firewall_from_iptables_save_as_root(fw: FirewallHost) -> None:
    """Rules written with iptables (iptables-nft): read through iptables-save in auto mode too."""
    script = (
        f"iptables -P INPUT DROP && iptables -A INPUT -i lo -j ACCEPT && "
        f"iptables -A INPUT -p tcp -m multiport --dports 22,{ROOT_PORT},443 -j ACCEPT"
    )
    subprocess.run(
        ["ip", "netns", "exec", fw.host.namespace, "sh", "-c", script], check=True, timeout=30
    )
    target = _host(fw.options(root=True), "root")
    try:
        out = run("firewall_policy", target, allowed_ports=f"22,{ROOT_PORT},443")
        assert out.status == "passed" and out.details["source"] == "nftables and iptables-save"
        assert "INPUT: drop" in out.observed, out
        out = run("firewall_policy", target, allowed_ports="22")
        assert out.status == "failed" and "443/tcp" in out.observed, out
        out = run("firewall_policy", target, source="iptables", allowed_ports="22")
        assert out.status == "failed" and out.details["source"] == "iptables", out
    finally:
        target.close()


@pytest.mark.real_systems
def test_native_nftables_beside_iptables_rules(fw: FirewallHost) -> None:
    """A host's own nftables table next to a tool's iptables rules (as Docker adds them):
    the native table drops by default, the iptables INPUT chain accepts; both are read."""
    fw.nft(DROP_RULESET)
    subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            fw.host.namespace,
            "iptables",
            "-A",
            "INPUT",
            "-p",
            "tcp",
            "-m",
            "multiport",
            "--dports",
            "8080,8081",
            "-j",
            "ACCEPT",
        ],
        check=True,
        timeout=30,
    )
    target = _host(fw.options(root=True), "root")
    try:
        out = run("firewall_policy", target, allowed_ports=f"22,{ROOT_PORT},80,443")
        assert out.status == "passed", out
        assert "inet filter input: drop" in out.observed and "INPUT: accept" in out.observed
        # 8080 is accepted by the iptables chain but dropped by the native one: not open.
        out = run("firewall_policy", target, required_ports="8080")
        assert out.status == "failed" and "not open: 8080" in out.observed, out
    finally:
        target.close()


def test_merge_of_captured_nft_and_iptables_save() -> None:
    nft = exposure.parse_nft_json((DATA / "nft-iptables-nft.json").read_text())
    ipt = exposure.parse_iptables_save((DATA / "iptables-save.txt").read_text())
    merged = exposure.merge_iptables(nft, ipt, None)
    out = exposure.judge_firewall(
        merged, allowed_ports=ports("22", "80", "443", "8080-8082", "5432")
    )
    assert out.status == "passed", out
    assert [c["chain"] for c in out.details["chains"]] == ["INPUT"]


# --- import rules ---------------------------------------------------------------------------------


def _line(title: str) -> Line:
    return Line(1, 0, title, title, "", "", False)


@pytest.mark.parametrize(
    "title, check, params",
    [
        (
            "Database ports not exposed to internet",
            "port_reachable",
            {"port": "${db_port}", "reachable": "false"},
        ),
        ("Redis access restricted", "port_reachable", {"port": "6379", "reachable": "false"}),
        (
            "MySQL port 3306 closed to public",
            "port_reachable",
            {"port": "3306", "reachable": "false"},
        ),
        (
            "Port 6379 blocked from outside",
            "port_reachable",
            {"port": "6379", "reachable": "false"},
        ),
        (
            "MongoDB bound to localhost only",
            "port_reachable",
            {"port": "27017", "reachable": "false"},
        ),
        ("Close unused ports", "listening_ports", {"allowed": "${allowed_ports}"}),
        (
            "UFW enabled with only SSH, HTTP and HTTPS allowed",
            "firewall_policy",
            {"allowed_ports": "22,80,443", "required_ports": "22,80,443"},
        ),
        (
            "PostgreSQL not publicly accessible",
            "port_reachable",
            {"port": "5432", "reachable": "false"},
        ),
        ("Unnecessary ports closed", "listening_ports", {"allowed": "${allowed_ports}"}),
        ("Only ports 22 and 443 open", "listening_ports", {"allowed": "22,443"}),
        (
            "Firewall rules configured (ports 80, 443, 22)",
            "firewall_policy",
            {"allowed_ports": "80,443,22", "required_ports": "80,443,22"},
        ),
        ("Firewall rules configured", "firewall_policy", {"allowed_ports": "${allowed_ports}"}),
        ("UFW enabled", "firewall_policy", {"allowed_ports": "${allowed_ports}"}),
    ],
)
def test_import_rules(title: str, check: str, params: dict[str, str]) -> None:
    rules = {
        "port_reachable": exposure._not_exposed_rule,
        "listening_ports": exposure._ports_closed_rule,
        "firewall_policy": exposure._firewall_rule,
    }
    proposal = rules[check](_line(title))
    assert proposal is not None and proposal.candidates[0] == (check, params)


@pytest.mark.parametrize(
    "title",
    [
        "Database users have least privilege",
        "AWS security groups configured",
        "API ports configured correctly",
        "PostgreSQL 15 installed",
        "API rate limit of 100 requests per minute",
    ],
)
def test_import_rules_leave_other_lines(title: str) -> None:
    line = _line(title)
    assert all(
        r(line) is None
        for r in (exposure._not_exposed_rule, exposure._ports_closed_rule, exposure._firewall_rule)
    )


@pytest.mark.parametrize(
    "title, check",
    [
        ("Database not accessible from the internet", "port_reachable"),
        ("UFW enabled with only SSH, HTTP and HTTPS allowed", "firewall_policy"),
        ("Database ports not exposed to internet", "port_reachable"),
        ("Firewall rules configured (ports 80, 443, 22)", "firewall_policy"),
    ],
)
def test_the_importer_prefers_these_rules(title: str, check: str) -> None:
    """Against every rule of the catalog, not only this module's."""
    from pytest_golive.tools.import_rules import propose

    proposal = propose(_line(title))
    assert proposal is not None and proposal.check == check, proposal
