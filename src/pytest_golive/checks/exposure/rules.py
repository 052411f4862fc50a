"""Import rules: the wordings teams use for exposure and firewall lines."""

from __future__ import annotations

import re

from pytest_golive.checks.rules import Line, Proposal, proposes

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
