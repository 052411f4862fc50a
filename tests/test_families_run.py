"""The DNS, exposure, update, log and backup checks in a whole run, as a team would bind them.

One checklist binds each of them with ``${variables}``, over this machine (``local://``)
and a fleet host over SSH, against a real dnsmasq, real logs and a real archive. The run
is made twice, one check at a time and in rounds (batched), and must answer the same.
A secret of the run's configuration (a bearer token from the environment) is written
to a log: the log check finds it and no report or terminal line shows it.
"""

from __future__ import annotations

import io
import json
import secrets
import tarfile
from pathlib import Path
from typing import Any

import pytest

from support.dnsmasq import ZONE, DnsServer
from support.fleet import Fleet

CHECKLIST = f"""\
# Network
- [ ] DNS records pointing to server <!-- golive: dns_record name=www.{ZONE} type=A equals=192.0.2.10 resolver=127.0.0.1 port=${{dns_port}} -->
- [ ] Hosts resolve the API <!-- golive: dns_record_from name=app.{ZONE} type=A contains=192.0.2.10 resolver=127.0.0.1 port=${{dns_port}} on=local -->
- [ ] SSH answers <!-- golive: port_reachable port=22 on=ssh-host -->
- [ ] Database port not exposed <!-- golive: port_reachable port=5432 reachable=false timeout=1 on=ssh-host -->
- [ ] Unnecessary ports closed <!-- golive: listening_ports allowed=22 on=ssh-host -->
- [ ] Firewall rules configured (ports 80, 443, 22) <!-- golive: firewall_policy allowed_ports=80,443,22 on=ssh-host severity=warning -->

# Operations
- [ ] Regular security updates scheduled <!-- golive: automatic_security_updates scheduler=false -->
- [ ] Sensitive data excluded from logs <!-- golive: logs_no_secrets paths=${{log_dir}}/*.log severity=warning -->
- [ ] Backup integrity verified <!-- golive: backup_integrity directory=${{backup_dir}} pattern=*.tar.gz min_bytes=100 -->
"""  # noqa: E501 - checklist lines are written as teams write them


def _archive(path: Path) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for i in range(3):
            data = f"row {i}\n".encode() * 200
            info = tarfile.TarInfo(f"data/part{i}.csv")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.real_systems
def test_new_families_in_a_run_alone_and_in_rounds(
    fleet: Fleet,
    shared_dir: Path,
    dnsmasq: DnsServer,
    golive_project: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "glsa_" + secrets.token_urlsafe(24)
    monkeypatch.setenv("GOLIVE_TEST_API_TOKEN", token)
    logs, backups = shared_dir / "logs", shared_dir / "backups"
    logs.mkdir()
    backups.mkdir()
    (logs / "api.log").write_text(f"INFO start\nDEBUG calling upstream with token {token}\n")
    _archive(backups / "files-2026-12-01.tar.gz")
    host = fleet.hosts[0]
    environments = f"""
[environments.fleet.hosts]
web = [
    {{ name = "local", url = "local://" }},
    {{ name = "ssh-host", url = "{host.ssh_url}", ssh_config = "{fleet.ssh_config}", ssh_identity_file = "{fleet.identity_file}" }},
]

[environments.fleet.endpoints.api]
url = "http://127.0.0.1:9/"
headers = {{ Authorization = "Bearer ${{GOLIVE_TEST_API_TOKEN}}" }}

[environments.fleet.vars]
dns_port = "{dnsmasq.port}"
log_dir = "{logs}"
backup_dir = "{backups}"
"""  # noqa: E501
    golive_project.write(CHECKLIST, environments=environments)
    alone_run = golive_project.run("--golive-no-prefetch", env="fleet")
    alone = golive_project.results()["results"]
    rounds_run = golive_project.run(env="fleet")
    batched = golive_project.results()["results"]

    def facts(record: dict[str, Any]) -> tuple[Any, ...]:
        return record["nodeid"], record["status"], record["observed"], record["expected"]

    assert [facts(r) for r in batched] == [facts(r) for r in alone]
    by_line: dict[str, dict[str, str]] = {}
    for record in batched:
        target = record["nodeid"].rsplit("[", 1)[-1].rstrip("]") if "[" in record["nodeid"] else ""
        by_line.setdefault(record["check"], {})[target] = record["status"]
    assert set(by_line["dns_record"].values()) == {"passed"}, by_line
    assert set(by_line["dns_record_from"].values()) == {"passed"}, by_line
    assert set(by_line["port_reachable"].values()) == {"passed"}, by_line
    assert set(by_line["listening_ports"].values()) == {"passed"}, by_line
    assert set(by_line["automatic_security_updates"].values()) == {"passed"}, by_line
    assert set(by_line["backup_integrity"].values()) == {"passed"}, by_line
    # The plain fleet account cannot read a ruleset: an error that says what to do.
    firewall = next(r for r in batched if r["check"] == "firewall_policy")
    assert firewall["status"] == "error" and "set sudo = true" in firewall["observed"], firewall
    leaked = [r for r in batched if r["check"] == "logs_no_secrets"]
    assert {r["status"] for r in leaked} == {"failed"}, leaked
    assert all("api.log:2: a secret of this run" in r["observed"] for r in leaked), leaked
    for run in (alone_run, rounds_run):
        assert token not in run.stdout.str() and token not in run.stderr.str()
    assert token not in json.dumps(golive_project.results())
