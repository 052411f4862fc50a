"""``golive import``: bindings proposed by meaning, written without touching anything else.

The catalog is filled by several modules; a proposal must be written only when
the catalog installed at run time accepts it. The expectations below are
therefore checked against ``REGISTRY``: where the expected check and
parameters are valid, the line must be bound exactly so; where they are not
(yet), it must be reported as unsure, never written.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

from pytest_golive.checklist import read_checklist
from pytest_golive.checklist.markdown import count_task_lines, read_markdown
from pytest_golive.checklist.model import parse_line_binding
from pytest_golive.checks.registry import REGISTRY, CheckDefinitionError, Registry
from pytest_golive.checks.rules import validate_params
from pytest_golive.tools.importer import annotate, coverage, import_text, run_import, strip_bindings

CHECKLISTS = sorted((Path(__file__).resolve().parents[2] / "shared" / "checklists").glob("*.md"))
SAMPLES = [p for p in CHECKLISTS if p.name != "README.md"]


def _valid(binding: str) -> bool:
    for one in parse_line_binding(binding).bindings:
        if one.check not in REGISTRY:
            return False
        try:
            validate_params(REGISTRY.get(one.check), one.params)
        except CheckDefinitionError:
            return False
    return True


def _decision(line: str, heading: str = "Checks"):
    _, decisions = import_text(f"# {heading}\n\n- [ ] {line}\n")
    assert len(decisions) == 1
    return decisions[0]


# Wording that appears in none of the sample checklists: the importer must read meaning.
GENERALISATION = [
    ("Host has 16 cores or more", "cpu min=16"),
    ("Memory >= 32GiB", "memory min_gib=32"),
    ("At least 2 TB of disk", "disk_size path=/ min_gib=2048"),
    ("20 GB free space on /var/lib/mysql", "disk_free path=/var/lib/mysql min_gib=20"),
    ("Node.js v18 or newer on every app server", "command_version command=node min_version=18"),
    ("Nginx 1.24+ installed", "command_version command=nginx min_version=1.24"),
    ("Running Debian 12 or later", "os distribution=debian min_version=12"),
    ("GET /api/status returns 200", "http_status path=/api/status expect=200"),
    ("Liveness probe answers at /healthz", "http_status path=/healthz"),
    ("Plain HTTP requests are redirected to HTTPS", "https_redirect"),
    ("Responses are brotli-compressed", "compression"),
    ("HSTS header present on every page", "security_headers"),
    ("p95 latency under 300 ms", "http_latency p95_ms=300"),
    ("Median response time below 0.2 s", "http_latency p50_ms=200"),
    ("APP_ENV=production in the environment file", "env_value key=APP_ENV equals=production"),
    ("Session secret at least 64 characters long", "secret_strength min_length=64"),
    ("Redis AOF enabled", "redis_persistence mode=aof"),
    ("Redis requires a password", "redis_auth_required"),
    ("PostgreSQL 15 or newer", "db_version min=15"),
    ("Tables `orders` and `customers` exist", "db_tables tables=orders,customers"),
    ("chronyd keeps the clock in sync", "time_sync"),
    ("Port 8443 is listening", "port_listening port=8443"),
    (
        "Nightly database dumps land in /srv/backups",
        "newest_file_age directory=/srv/backups max_age_hours=26",
    ),
    ("Log files rotated weekly (/var/log/myapp/app.log)", "logrotate path=/var/log/myapp/app.log"),
    ("Service `nginx` enabled and running", "service name=nginx"),
    ("Unprivileged account `deploy` exists", "user name=deploy"),
    ("No secrets committed to git", "secrets_in_repo"),
    (".env permissions no wider than 600", "file_mode max=600"),
    ("SSH: root login disabled", "sshd_config permit_root_login=no"),
    ("vm.swappiness = 10", "sysctl name=vm.swappiness value=10"),
    ("Debug mode turned off", "env_value key=DEBUG equals=false"),
    (
        "Allowed CORS origins limited to https://app.example.com",
        "cors allowed_origins=https://app.example.com",
    ),
    ("Only TLS 1.3 or higher is accepted", "tls_protocols minimum=TLSv1.3"),
    (
        "Server certificate /etc/nginx/tls/site.pem installed",
        "certificate_file path=/etc/nginx/tls/site.pem",
    ),
    ("Triton MySQL user created", "db_connect"),
    # A directory the line does not name is a variable: /var/backups is fresh on any Debian host.
    (
        "Backups kept for 14 days (retention)",
        "newest_file_age directory=${backup_dir} retention_days=14",
    ),
    ("Minimum 2GB RAM, 1 CPU core", "memory min_gib=2; cpu min=1"),
    ("Docker Compose 2.0+ installed", "command_version command='docker compose' min_version=2.0"),
    ("kubectl krew 0.4 or newer", "command_version command='kubectl krew' min_version=0.4"),
    ("Git LFS 3.0+ on the build hosts", "command_version command='git lfs' min_version=3.0"),
    ("Automated backups working", "newest_file_age directory=${backup_dir} max_age_hours=26"),
    ("Log storage has sufficient space", "disk_free path=${log_dir} min_gib=${min_free_gib}"),
    ("Alert on high response time", "prometheus_alerts_cover concerns=latency"),
    (".env created from `.env.example`", "env_required template=.env.example"),
    ("Minimum of two vCPU per instance", "cpu min=2"),
    ("fail2ban up and running on all hosts", "service name=fail2ban"),
    ("Quad-core CPU", "cpu min=4"),
    ("Node 20 LTS", "command_version command=node min_version=20"),
    ("Login page at /login requires authentication", "auth_required path=/login"),
    ("Endpoint /api/ping returns 204", "http_status path=/api/ping expect=204"),
    ("/var/log has 10 GB free", "disk_free path=/var/log min_gib=10"),
    ("/metrics endpoint exposed", "http_status path=/metrics"),
    ("TLS 1.0 and 1.1 disabled", "tls_protocols minimum=TLSv1.2"),
    ("DATABASE_URL set", "env_required keys=DATABASE_URL"),
    ("SECRET_KEY is at least 50 characters", "secret_strength keys=SECRET_KEY min_length=50"),
    ("max_connections >= 500", "db_variable name=max_connections min=500"),
    ("Tables users, orders, and payments created", "db_tables tables=users,orders,payments"),
    (
        "Index `idx_orders_created` exists on table `orders`",
        "db_indexes table=orders indexes=idx_orders_created",
    ),
    ("Apex domain redirects to www", "http_redirect to=www.{host}"),
    ("/old-shop moves permanently to /shop",
     "http_redirect path=/old-shop to=/shop permanent=true"),
    ("Legacy login redirects to https://sso.example.com/login",
     "http_redirect to=https://sso.example.com/login"),
    ("Verify automated backups running",
     "newest_file_age directory=${backup_dir} max_age_hours=26"),
    ("Backup integrity verified in /srv/backups", "backup_integrity directory=/srv/backups"),
    ("Security upgrades applied automatically", "automatic_security_updates"),
    ("shop.example.net resolves to the load balancer",
     "dns_record name=shop.example.net contains=${dns_target}"),
    ("At least 3 consumers on the `jobs` queue (RabbitMQ)",
     "rabbitmq_queue_depth queue=jobs min_consumers=3"),
    ("Unknown URLs answer 404", "http_status path=/golive-no-such-page-4a7e expect=404"),
    ("Branded not-found page served",
     "http_status path=/golive-no-such-page-4a7e expect=404; attest"),
    ("Code adheres to the style guide", "sarif_clean level=error"),
    ("Pipeline is green for the release commit", "junit_report min_tests=1 commit=${git_commit}"),
]


@pytest.mark.parametrize(("line", "expected"), GENERALISATION, ids=[g[0] for g in GENERALISATION])
def test_lines_are_read_by_meaning(line: str, expected: str) -> None:
    decision = _decision(line)
    if _valid(expected):
        assert decision.status == "bound", (
            f"{line!r}: {decision.status} {decision.binding} ({decision.note})"
        )
        assert decision.binding == expected
    else:
        # Not (yet) in the catalog: proposed, but never written as a broken binding.
        assert decision.status == "unsure", (
            f"{line!r} bound to {decision.binding} though {expected} is invalid"
        )
        assert decision.binding.split()[0] == expected.split()[0]


@pytest.mark.skipif(
    "tls_certificate" not in REGISTRY, reason="proven once the TLS checks are in the catalog"
)
def test_certificate_validity_days_become_a_parameter() -> None:
    decision = _decision("TLS cert valid for 30+ days")
    assert decision.status == "bound", decision
    assert re.fullmatch(r"tls_certificate \w+=30", decision.binding), decision.binding


MANUAL = [
    "Runbook reviewed by on-call",
    "Stakeholders informed of the go-live date",
    "Backup restore drill documented",
    "CPU usage below 70% under load",
    "Memory leak tests done",
    "Team trained on the new dashboards",
    "Security Officer: ______ Date: ____",
    "AWS Secrets Manager / Azure Key Vault / HashiCorp Vault set up",
    "Lifecycle policies configured",
]


@pytest.mark.parametrize("line", MANUAL)
def test_lines_about_people_stay_manual(line: str) -> None:
    assert _decision(line).status == "manual"


def test_database_context_turns_tls_into_db_tls() -> None:
    text = "# Setup\n\n- [ ] **Database Setup**\n  - [ ] SSL/TLS certificates configured\n"
    _, decisions = import_text(text)
    child = decisions[1]
    expected = "db_tls"
    assert child.binding == expected if _valid(expected) else child.status == "unsure"


def test_code_block_of_an_item_names_what_a_check_needs() -> None:
    text = (
        "## Deploy\n\n"
        "- [ ] **Systemd Service** configured:\n"
        "  ```bash\n  sudo systemctl enable billing-api\n  ```\n"
        "- [ ] **Tables Created**:\n"
        "  ```sql\n  CREATE TABLE invoices (id INT);\n  CREATE TABLE payments (id INT);\n  ```\n"
    )
    new, decisions = import_text(text)
    assert [d.binding for d in decisions] == [
        "service name=billing-api",
        "db_tables tables=invoices,payments",
    ]
    assert strip_bindings(new) == text


def test_nothing_is_written_when_the_catalog_lacks_the_check() -> None:
    text = "# Hardware\n\n- [ ] Minimum 4 vCPUs\n- [ ] RAM: 8 GB\n"
    new, decisions = import_text(text, registry=Registry())
    assert new == text
    assert [d.status for d in decisions] == ["unsure", "unsure"]
    assert all("not in the catalog" in d.note for d in decisions)


def test_sample_checklists_are_imported_without_changing_visible_text(tmp_path: Path) -> None:
    assert len(SAMPLES) >= 3, "the sample checklists are missing"
    for sample in SAMPLES:
        path = tmp_path / sample.name
        shutil.copyfile(sample, path)
        original = path.read_bytes()
        out = io.StringIO()
        assert run_import(path, write=True, out=out) == 0, out.getvalue()
        annotated = path.read_bytes()
        assert annotated != original, f"{sample.name}: nothing bound\n{out.getvalue()}"
        assert strip_bindings(annotated.decode()).encode() == original

        items = read_markdown(path)
        assert len(items) == count_task_lines(original.decode())
        bound = [i for i in items if i.check]
        for item in bound:  # every written binding is valid, as collection validates it
            for one in item.bindings:
                validate_params(REGISTRY.get(one.check), one.params)

        # Coverage: a real share of each checklist is machine-checkable, and sign-offs are not.
        assert 10 <= len(bound) < len(items) // 2, (
            f"{sample.name}: {len(bound)} of {len(items)} bound"
        )
        assert all(
            not i.check for i in items if re.search(r"sign-?off|approv", i.section_title, re.I)
        )
        report = out.getvalue()
        assert f"{len(items)} checklist lines" in report
        assert re.search(rf"bound\s+{len(bound)}\b", report)
        assert re.search(rf"manual\s+{len(items) - len(bound)}\b", report)

        # Idempotent: a second run finds nothing new and writes nothing.
        again = io.StringIO()
        assert run_import(path, write=True, out=again) == 0
        assert path.read_bytes() == annotated
        assert "0 new" in again.getvalue() and "unchanged" in again.getvalue()


def test_unsure_lines_are_listed_with_confidence(tmp_path: Path) -> None:
    path = tmp_path / "c.md"
    path.write_text("# Resources\n\n- [ ] Packages installed\n- [ ] Nginx or Apache installed\n")
    out = io.StringIO()
    assert run_import(path, write=False, out=out) == 0
    report = out.getvalue()
    assert re.search(r"unsure\s+2\b", report)
    assert re.search(r"L3\s+\d+%\s+package", report), report
    assert re.search(r"L4\s+\d+%\s+package", report), report  # alternatives: a person picks
    assert "dry run" in report


def test_dry_run_shows_per_line_binding_variables_and_why(tmp_path: Path) -> None:
    path = tmp_path / "c.md"
    path.write_text(
        "# Resources\n\n- [ ] Sufficient resources allocated (CPU, RAM, storage)\n"
        "- [ ] Backup strategy implemented\n"
        "## Weekly Maintenance\n\n- [ ] Verify backups completed\n"
    )
    out = io.StringIO()
    assert run_import(path, write=False, out=out) == 0
    report = out.getvalue()
    # One line naming three requirements: three checks, their numbers left to variables.
    assert (
        "cpu min=${min_cpus}; memory min_gib=${min_memory_gib}; disk_size path=/ "
        "min_gib=${min_disk_gib}"
        in report
    ), report
    assert "needs min_cpus, min_memory_gib, min_disk_gib" in report
    # The machine proves the backups are recent; a person attests the strategy.
    assert "newest_file_age directory=${backup_dir} max_age_hours=26; attest" in report
    assert "a recurring operations task (under 'Weekly Maintenance'), not a release gate" in report
    assert "[environments.ENV.vars]" in report and 'backup_dir = "..."' in report
    assert path.read_text().count("golive:") == 0


def test_a_binding_a_person_wrote_is_never_changed(tmp_path: Path) -> None:
    text = (
        "# Hardware\n\n"
        "- [ ] Minimum 4 vCPUs <!-- golive: cpu min=2 severity=warning -->\n"
        "- [ ] RAM: Minimum 8 GB <!-- golive: manual -->\n"
        "- [ ] Disk: 100 GB SSD\n"
    )
    new, decisions = import_text(text)
    assert [d.status for d in decisions][:2] == ["kept", "manual"]
    assert new.splitlines()[2:4] == text.splitlines()[2:4]
    cov = coverage(decisions)
    assert (cov.lines, cov.kept) == (3, 1)


def test_only_task_lines_outside_code_blocks_are_annotated() -> None:
    text = (
        "# Hardware\n\n"
        "Minimum 4 vCPUs are needed (prose, not an item).\n\n"
        "```markdown\n- [ ] Minimum 4 vCPUs\n```\n\n"
        "    - [ ] Minimum 8 GB RAM (indented code)\n\n"
        "- [ ] Minimum 4 vCPUs\n"
    )
    new, decisions = import_text(text)
    assert len(decisions) == 1
    changed = [
        i
        for i, (a, b) in enumerate(zip(text.splitlines(), new.splitlines(), strict=True))
        if a != b
    ]
    assert changed == ([10] if decisions[0].status == "bound" else [])


def test_line_endings_trailing_spaces_and_encoding_survive(tmp_path: Path) -> None:
    text = "# Hardware\r\n\r\n- [ ] Minimum 4 vCPUs  \r\n- [ ] Caf\xe9 menu printed\r\n"
    path = tmp_path / "legacy.md"
    path.write_bytes(text.encode("latin-1"))
    assert run_import(path, write=True, out=io.StringIO()) == 0
    data = path.read_bytes()
    assert strip_bindings(data.decode("latin-1")).encode("latin-1") == text.encode("latin-1")
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    if _valid("cpu min=4"):
        assert b"- [ ] Minimum 4 vCPUs <!-- golive: cpu min=4 -->  \r\n" in data

    bom = tmp_path / "bom.md"
    bom.write_bytes(b"\xef\xbb\xbf# H\n\n- [ ] Minimum 4 vCPUs\n")
    assert run_import(bom, write=True, out=io.StringIO()) == 0
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf# H\n")

    # Windows editors' "Unicode": UTF-16 LE with its mark, written back as it came
    wide = tmp_path / "wide.md"
    original = "# H\r\n\r\n- [ ] Minimum 4 vCPUs\r\n- [ ] Caf\u00e9 \u2713\r\n"
    wide.write_bytes(b"\xff\xfe" + original.encode("utf-16-le"))
    assert run_import(wide, write=True, out=io.StringIO()) == 0
    written = wide.read_bytes()
    assert written.startswith(b"\xff\xfe")
    assert strip_bindings(written[2:].decode("utf-16-le")) == original
    if _valid("cpu min=4"):
        assert "<!-- golive: cpu min=4 -->" in written[2:].decode("utf-16-le")
    items = read_checklist(wide)  # and the run reads it as the importer wrote it
    assert [i.title for i in items] == ["Minimum 4 vCPUs", "Caf\u00e9 \u2713"]


def test_nested_items_get_their_own_binding_on_their_own_line() -> None:
    text = "# Infra\n\n- [ ] **Hardware**\n  - [ ] 8 vCPUs\n  - [ ] 16 GB RAM\n"
    new, decisions = import_text(text)
    lines = new.splitlines()
    assert lines[2] == "- [ ] **Hardware**"
    if _valid("cpu min=8"):
        assert lines[3] == "  - [ ] 8 vCPUs <!-- golive: cpu min=8 -->"
    if _valid("memory min_gib=16"):
        assert lines[4] == "  - [ ] 16 GB RAM <!-- golive: memory min_gib=16 -->"


def test_annotate_and_strip_are_inverse() -> None:
    text = "a\n- [ ] b \t\r\nc"
    new = annotate(text, {1: "cpu min=1"})
    assert new == "a\n- [ ] b <!-- golive: cpu min=1 --> \t\r\nc"
    assert strip_bindings(new) == text


def test_unreadable_path_is_a_usage_error(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_import(tmp_path / "missing.md", write=True, out=out) == 4
    assert (
        "cannot read" in out.getvalue()
        and "\n" == out.getvalue()[-1]
        and out.getvalue().count("\n") == 1
    )
    assert run_import(tmp_path, write=True, out=io.StringIO()) == 4
    yaml = tmp_path / "c.yaml"
    yaml.write_text("- title: x\n")
    assert run_import(yaml, write=True, out=io.StringIO()) == 4


def test_a_malformed_existing_binding_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "c.md"
    text = "# H\n\n- [ ] Minimum 4 vCPUs <!-- golive: cpu min=4\n- [ ] 8 GB RAM\n"
    path.write_text(text)
    out = io.StringIO()
    assert run_import(path, write=True, out=out) == 0
    assert "not closed" in out.getvalue()
    assert strip_bindings(path.read_text()) == text


# A whole checklist in a style and wording none of the samples use.
UNSEEN = """\
# 🚀 Launch readiness — billing-api

| Owner | Date |
|-------|------|
| ops   | tbd  |

## 1) Capacity

* [ ] Each node: 8+ CPU cores
* [x] Each node: RAM of at least 16 GB
* [ ] Root volume 100 GB or larger
1. [ ] Spare space: 25 GB free on /var/lib/postgresql

## 2) Platform

- [ ] Runs on Ubuntu 22.04
- [ ] OpenJDK 17 available
- [ ] `chrony` keeps clocks in sync
- [ ] Kernel: net.core.somaxconn = 4096
- [ ] Billing daemon
  ```sh
  systemctl enable --now billing-api
  ```

## 3) HTTP surface

- [ ] `/internal/health` returns 200
- [ ] p95 latency under 250 ms
- [ ] All plain-HTTP traffic is redirected to HTTPS
- [ ] X-Frame-Options and CSP headers set
- [ ] TLS 1.2 minimum

## 4) Settings & secrets

- [ ] `ENVIRONMENT=production`
- [ ] No placeholder values left in the env file
- [ ] Webhook signing secret >= 48 chars
- [ ] Nothing secret committed to the repo

## 5) Data

- [ ] PostgreSQL 14+
- [ ] Schema migrated: tables `invoices`, `payments` exist
- [ ] Replication lag below 5 s
- [ ] Daily pg_dump backups in /srv/backups/pg

## 6) People

- [ ] On-call rota published
- [ ] CAB approval recorded
"""

UNSEEN_EXPECTED = {
    "Each node: 8+ CPU cores": "cpu min=8",
    "Each node: RAM of at least 16 GB": "memory min_gib=16",
    "Root volume 100 GB or larger": "disk_size path=/ min_gib=100",
    "Spare space: 25 GB free on /var/lib/postgresql": (
        "disk_free path=/var/lib/postgresql min_gib=25"
    ),
    "Runs on Ubuntu 22.04": "os distribution=ubuntu min_version=22.04",
    "OpenJDK 17 available": "command_version command=java min_version=17",
    "chrony keeps clocks in sync": "time_sync",
    "Kernel: net.core.somaxconn = 4096": "sysctl name=net.core.somaxconn value=4096",
    "Billing daemon": "service name=billing-api",
    "/internal/health returns 200": "http_status path=/internal/health expect=200",
    "p95 latency under 250 ms": "http_latency p95_ms=250",
    "All plain-HTTP traffic is redirected to HTTPS": "https_redirect",
    "X-Frame-Options and CSP headers set": "security_headers",
    "TLS 1.2 minimum": "tls_protocols minimum=TLSv1.2",
    "ENVIRONMENT=production": "env_value key=ENVIRONMENT equals=production",
    "No placeholder values left in the env file": "env_no_placeholders",
    "Webhook signing secret >= 48 chars": "secret_strength min_length=48",
    "Nothing secret committed to the repo": "secrets_in_repo",
    "PostgreSQL 14+": "db_version min=14",
    "Schema migrated: tables invoices, payments exist": "db_tables tables=invoices,payments",
    "Replication lag below 5 s": "db_replication_lag max_seconds=5",
    "Daily pg_dump backups in /srv/backups/pg": (
        "newest_file_age directory=/srv/backups/pg max_age_hours=26"
    ),
    "On-call rota published": None,
    "CAB approval recorded": None,
}


def test_an_unseen_checklist_is_bound_by_meaning(tmp_path: Path) -> None:
    path = tmp_path / "LAUNCH.md"
    path.write_text(UNSEEN, encoding="utf-8")
    out = io.StringIO()
    assert run_import(path, write=True, out=out) == 0
    items = {i.title: i for i in read_markdown(path)}
    assert set(items) == set(UNSEEN_EXPECTED)
    wrong = []
    for title, expected in UNSEEN_EXPECTED.items():
        got = items[title].binding
        if expected is None or not _valid(expected):
            if got is not None:
                wrong.append(f"{title!r}: bound to {got!r}, expected no binding")
        elif got != expected:
            wrong.append(f"{title!r}: {got!r} != {expected!r}")
    assert not wrong, "\n".join(wrong) + "\n" + out.getvalue()
    assert strip_bindings(path.read_text(encoding="utf-8")) == UNSEEN
    annotated = path.read_bytes()
    assert run_import(path, write=True, out=io.StringIO()) == 0
    assert path.read_bytes() == annotated


def test_a_multi_line_item_is_annotated_where_its_paragraph_ends() -> None:
    text = (
        "# H\n\n- [ ] Minimum 4 vCPUs\\\n  on every node\n"
        "- [ ] 8 GB RAM  \n  per node\n\n> - [ ] 16 cores\n"
    )
    new, decisions = import_text(text)
    assert strip_bindings(new) == text
    lines = new.splitlines()
    assert lines[2] == "- [ ] Minimum 4 vCPUs\\" and lines[4] == "- [ ] 8 GB RAM  "
    if _valid("cpu min=4"):
        assert lines[3] == "  on every node <!-- golive: cpu min=4 -->"
        assert lines[7] == "> - [ ] 16 cores <!-- golive: cpu min=16 -->"
    if _valid("memory min_gib=8"):
        assert lines[5] == "  per node <!-- golive: memory min_gib=8 -->"
    items = read_markdown("x.md", new)
    assert [i.check for i in items] == [
        d.binding.split()[0] if d.binding else None for d in decisions
    ]


def test_import_adds_the_checklist_to_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "golive.toml"
    config.write_text('checklists = ["old.md"]\n\n[environments.prod.hosts]\nweb = ["local://"]\n')
    (tmp_path / "docs").mkdir()
    path = tmp_path / "docs" / "release.md"
    path.write_text("# Host\n\n- [ ] Minimum 2 vCPUs\n")

    out = io.StringIO()
    assert run_import(path, write=False, out=out) == 0
    assert 'checklists = ["old.md", "docs/release.md"]' in out.getvalue()
    assert config.read_text().startswith('checklists = ["old.md"]\n')  # a dry run writes nothing

    out = io.StringIO()
    assert run_import(path, write=True, out=out) == 0
    assert 'added docs/release.md to golive.toml' in out.getvalue()
    assert config.read_text().startswith('checklists = ["old.md", "docs/release.md"]\n')
    assert "[environments.prod.hosts]" in config.read_text()

    out = io.StringIO()
    assert run_import(path, write=True, out=out) == 0  # again: nothing changes
    assert "golive.toml already runs docs/release.md" in out.getvalue()
    assert config.read_text().count("docs/release.md") == 1


def test_a_configuration_without_checklists_gets_them_and_an_unusual_one_gets_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "golive.toml"
    config.write_text('[environments.prod.hosts]\nweb = ["local://"]\n')
    path = tmp_path / "c.md"
    path.write_text("# H\n\n- [ ] Minimum 2 vCPUs\n")
    assert run_import(path, write=True, out=io.StringIO()) == 0
    assert config.read_text().startswith('checklists = ["c.md"]\n\n[environments.prod.hosts]')

    config.write_text(
        'checklists = [\n  "a.md",\n]\n[environments.prod.hosts]\nweb = ["local://"]\n'
    )
    before = config.read_text()
    out = io.StringIO()
    assert run_import(path, write=True, out=out) == 0
    assert config.read_text() == before  # not a form we edit: the exact line is printed instead
    assert 'checklists = ["c.md"]' in out.getvalue()


def test_re_importing_an_imported_file_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.md"
    path.write_text(
        "# Host\n\n- [ ] Minimum 2GB RAM, 1 CPU core\n- [ ] Backup strategy implemented\n"
        "- [ ] `LOG_LEVEL` - Logging level (default: INFO)\n"
    )
    assert run_import(path, write=True, out=io.StringIO(), config=tmp_path / "none.toml") == 0
    once = path.read_bytes()
    assert b"memory min_gib=2; cpu min=1" in once and b"; attest" in once
    out = io.StringIO()
    assert run_import(path, write=True, out=out, config=tmp_path / "none.toml") == 0
    assert path.read_bytes() == once
    assert "3 kept" in out.getvalue()
    # A stated default is not a requirement: no exact LOG_LEVEL=INFO blocker is written.
    assert b"equals=INFO" not in once


# The lines of a Docker-deployed API's checklist that went wrong before, as they were written.
ISSUE_LINES = """\
# API go-live

## Environment
- [ ] **Required Environment Variables**
  - [ ] `GROQ_API_KEY` - Valid Groq API key
  - [ ] `ALLOWED_ORIGINS` - Production domain(s)
  - [ ] `LOG_LEVEL` - Logging level (default: INFO)
## Security
- [ ] No sensitive data in version control
## Infrastructure
- [ ] Docker Compose 2.0+ installed
- [ ] Minimum 2GB RAM, 1 CPU core
- [ ] Automated backups working
## Docker Configuration
- [ ] Health checks configured
## Daily Tasks
- [ ] Verify backups ran
"""


def test_the_lines_that_went_wrong_before() -> None:
    _, decisions = import_text(ISSUE_LINES)
    got = {d.line.title: (d.status, d.binding) for d in decisions}
    # A bold parent is the sum of its children: never an env_required without keys.
    assert got["Required Environment Variables"] == ("group", None)
    assert got["GROQ_API_KEY - Valid Groq API key"] == ("bound", "env_required keys=GROQ_API_KEY")
    assert got["ALLOWED_ORIGINS - Production domain(s)"] == (
        "bound",
        "cors_origins key=ALLOWED_ORIGINS",
    )
    # An optional variable with a default: any valid level, not blocking, never exactly INFO.
    status, binding = got["LOG_LEVEL - Logging level (default: INFO)"]
    assert status == "bound" and "severity=warning" in binding and "equals=INFO" not in binding
    assert got["No sensitive data in version control"] == ("bound", "secrets_in_repo")
    assert got["Minimum 2GB RAM, 1 CPU core"] == ("bound", "memory min_gib=2; cpu min=1")
    assert (
        got["Automated backups working"][1]
        == "newest_file_age directory=${backup_dir} max_age_hours=26"
    )
    # Under a Docker heading a health check is the container's, not an HTTP probe.
    assert got["Health checks configured"][1].split()[0] in ("compose_service", "dockerfile")
    assert got["Verify backups ran"] == ("manual", None)
    for d in decisions:
        for one in (
            parse_line_binding(d.binding).bindings if d.status == "bound" and d.binding else ()
        ):
            validate_params(REGISTRY.get(one.check), one.params)


def test_a_kept_binding_that_cannot_collect_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "c.md"
    text = "# Env\n\n- [ ] **Required Environment Variables** <!-- golive: env_required -->\n"
    path.write_text(text)
    out = io.StringIO()
    assert run_import(path, write=True, out=out, config=tmp_path / "none.toml") == 0
    assert path.read_text() == text  # a person's binding is never rewritten
    report = out.getvalue()
    assert "bindings already in the file that a run would reject" in report
    assert "L3     env_required  (kept as written, but it cannot collect" in report


def test_a_queue_line_takes_its_broker_from_the_lines_beside_it() -> None:
    """"Backlog on order-events" names no broker; the line above it does. With no broker
    named anywhere near, Redis would be a guess: the line is left unsure."""
    text = ("# Worker\n\n## Messaging\n\n"
            "- [ ] RabbitMQ queue `order-events` has consumers attached\n"
            "- [ ] Backlog on `order-events` below 1000 messages\n\n"
            "## Cache\n\n- [ ] Redis keeps its data on disk (AOF)\n"
            "- [ ] Backlog of `jobs` below 50\n\n"
            "## Elsewhere\n\n- [ ] Backlog of `mail` below 10\n")
    _, decisions = import_text(text)
    got = {d.line.title: (d.status, d.binding) for d in decisions}
    assert got["Backlog on order-events below 1000 messages"] == (
        "bound", "rabbitmq_queue_depth queue=order-events max=1000")
    assert got["Backlog of jobs below 50"] == (
        "bound", "redis_queue_depth keys=jobs max=50")
    status, binding = got["Backlog of mail below 10"]
    assert status == "unsure" and binding is not None and "queue_depth" in binding


def test_an_alert_line_naming_an_unknown_concern_is_not_given_the_usual_ones() -> None:
    """"Consumer lag alerts configured": rules for disk, memory, CPU and errors would pass
    without proving it. Only a line with no subject of its own gets the usual concerns."""
    assert _decision("Consumer lag alerts configured").status == "manual"
    usual = _decision("Alerts configured for thresholds")
    assert usual.binding == "prometheus_alerts_cover concerns=disk,memory,cpu,error_rate"
