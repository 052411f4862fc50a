"""The runnable examples in conftest_examples/ do what their READMEs say.

Each example is copied to a temporary directory and run as a user would run it,
``pytest --golive=example -p no:cacheprovider`` in a subprocess, against the
stand-ins the test starts: the example's ``standin.py`` (an HTTP server on a free
127.0.0.1 port, and the files its checklist names) and databases and accounts on
the machine's MariaDB / PostgreSQL / Redis created here under unique names and
dropped afterwards. The copy's golive.toml gets its own port, stand-in directory
and database names, so runs never collide.

For each example: with ``--golive-manual=warn`` the verdict is GO, bound lines
passed and the custom checks ran and passed; without it the verdict is NO-GO
naming the pending manual items; and one broken stand-in makes its custom check
fail with evidence.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from support import require
from support.databases import port_open

EXAMPLES = Path(__file__).resolve().parent.parent / "conftest_examples"
RUN_TIMEOUT = 120


@dataclass
class Example:
    """A copy of one example, its stand-ins running, ready to be run."""

    path: Path
    env: dict[str, str]
    replacements: dict[str, str] = field(default_factory=dict)

    def edit(self, filename: str, old: str, new: str) -> None:
        """Change a stand-in (config or file) of this copy, to make one check fail."""
        target = self.path / filename
        text = target.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {filename}"
        target.write_text(text.replace(old, new), encoding="utf-8")

    def run(self, *args: str) -> tuple[int, str, dict[str, Any]]:
        report = self.path / "golive-results.json"
        report.unlink(missing_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "--golive=example", "-p", "no:cacheprovider",
             f"--golive-json={report}", *args],
            cwd=self.path, env=self.env, capture_output=True, text=True, timeout=RUN_TIMEOUT,
        )
        output = proc.stdout + proc.stderr
        assert report.exists(), f"no JSON report; output:\n{output}"
        text = report.read_text(encoding="utf-8")
        for key, value in self.env.items():
            if key.endswith("_PASSWORD"):
                assert value not in output and value not in text, (
                    f"${key} leaked into the output or report"
                )
        return proc.returncode, output, json.loads(text)


def copy_example(name: str, tmp_path: Path, replacements: dict[str, str]) -> Path:
    """Copy an example and give its golive.toml this run's port, directory and names."""
    dest = tmp_path / name
    shutil.copytree(
        EXAMPLES / name, dest, ignore=shutil.ignore_patterns("__pycache__", "*.json", "*.html")
    )
    config = dest / "golive.toml"
    text = config.read_text(encoding="utf-8")
    for old, new in replacements.items():
        text = text.replace(old, new)
    config.write_text(text, encoding="utf-8")
    return dest


def start_standin(example: Path, root: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    """Start the example's standin.py on a free port; return it and the port."""
    proc = subprocess.Popen(
        [sys.executable, str(example / "standin.py"), str(root), "--port", "0", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.kill()
        raise AssertionError(
            f"standin.py did not start: {line}{proc.stderr.read() if proc.stderr else ''}"
        )
    return proc, int(line.split()[-1])


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GOLIVE"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def by_id(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for result in report["results"]:
        out.setdefault(result["id"], []).append(result)
    return out


def statuses(report: dict[str, Any], item_id: str) -> set[str]:
    found = by_id(report).get(item_id)
    assert found, f"no result for {item_id}; ids: {sorted(by_id(report))[:20]}..."
    return {r["status"] for r in found}


def assert_go_with_manual_warn(
    example: Example, passed: list[str], custom: list[str]
) -> dict[str, Any]:
    """GO with --golive-manual=warn: named lines and custom checks passed, manual items pending."""
    code, output, report = example.run("--golive-manual=warn")
    assert code == 0, output[-4000:]
    assert "GOLIVE example: GO" in output, output[-4000:]
    assert report["verdict"]["verdict"] == "GO", report["verdict"]
    for item_id in passed + custom:
        assert statuses(report, item_id) == {"passed"}, (item_id, by_id(report)[item_id])
    for item_id in custom:
        assert all(r["kind"] == "test" for r in by_id(report)[item_id]), item_id
    pending = [r for r in report["results"] if r["status"] == "manual-pending"]
    assert len(pending) > 10, len(pending)
    return report


def assert_no_go_names_manual(example: Example, manual_id: str) -> None:
    """Without --golive-manual=warn the pending manual items block: NO-GO naming them."""
    code, output, report = example.run()
    assert code != 0
    assert "GOLIVE example: NO-GO" in output
    assert report["verdict"]["verdict"] == "NO-GO", report["verdict"]
    assert "manual item(s) pending" in output
    blocking = {r["id"] for r in report["results"] if r["blocking"]}
    assert manual_id in blocking, sorted(blocking)[:10]
    assert all(r["status"] == "manual-pending" for r in report["results"] if r["blocking"]), [
        (r["id"], r["status"])
        for r in report["results"]
        if r["blocking"] and r["status"] != "manual-pending"
    ]


def assert_custom_fails(example: Example, item_id: str, evidence: str) -> None:
    code, output, report = example.run("--golive-manual=warn")
    assert code != 0
    assert "GOLIVE example: NO-GO" in output
    failed = by_id(report)[item_id]
    assert {r["status"] for r in failed} == {"failed"}, failed
    assert evidence in output, output[-4000:]


# --- MariaDB -----------------------------------------------------------------------------


def _mysql() -> Any:
    import pymysql

    return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True)


# --- integration-service: SOAP WSDL ------------------------------------------------------

IMS_TABLE = """CREATE TABLE ims_transaction_logs (
    id INT AUTO_INCREMENT PRIMARY KEY,
    transaction_id VARCHAR(255) UNIQUE NOT NULL,
    status VARCHAR(50) NOT NULL,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    INDEX idx_status (status),
    INDEX idx_created_at (created_at))"""


def app_owner() -> tuple[str, str]:
    """The stand-in application user: ``nobody`` when files can be given away (root), else us."""
    if os.geteuid() == 0:
        return "nobody", "nogroup"
    import grp
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name


@pytest.fixture
def integration_service(tmp_path: Path) -> Iterator[Example]:
    require(port_open(3306), "MariaDB on 127.0.0.1:3306")
    require(shutil.which("git") is not None, "git")
    prefix = f"golive_ex{uuid.uuid4().hex[:6]}_"
    ims, triton = prefix + "ims", prefix + "triton"
    passwords = {ims: pysecrets.token_urlsafe(16), triton: pysecrets.token_urlsafe(16)}
    conn = _mysql()
    root = tmp_path / "server"
    proc = None
    try:
        with conn.cursor() as cur:
            for name, password in passwords.items():
                cur.execute(f"CREATE DATABASE `{name}`")
                cur.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", (password,))
            cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{ims}`.* TO '{ims}'@'%'")
            cur.execute(f"GRANT SELECT ON `{triton}`.* TO '{triton}'@'%'")
            cur.execute(f"USE `{ims}`")
            cur.execute(IMS_TABLE)
        user, group = app_owner()
        proc, port = start_standin(
            EXAMPLES / "integration-service", root, "--owner", f"{user}:{group}"
        )
        path = copy_example(
            "integration-service",
            tmp_path,
            {
                "8731": str(port),
                'app_user = "nobody"': f'app_user = "{user}"',
                'app_group = "nogroup"': f'app_group = "{group}"',
                "/tmp/golive-example-integration-service": str(root),
                "golive_example_": prefix,
            },
        )
        yield Example(
            path, base_env(IMS_DB_PASSWORD=passwords[ims], TRITON_DB_PASSWORD=passwords[triton])
        )
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        with conn.cursor() as cur:
            for name in passwords:
                cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


IS_PASSED = [
    "software/python-version-3-11-installed",
    "connectivity-verification/ims-soap-endpoints-accessible-from-server",
    "connectivity-verification/database-connectivity/local-mysql-accessible",
    "connectivity-verification/database-connectivity/triton-mysql-accessible-direct-or-via-ssm",
    "api-security/production-api-keys-generated-32-characters",
    "api-security/api-keys-stored-securely-not-in-code",
    "api-security/cors-origins-restricted-not",
    "credentials/database-credentials/minimum-required-permissions-granted",
    "file-permissions/directory-permissions-set",
    "environment-variables/no-default-test-values-remaining",
    "configuration-files/ims-config-files-present/ims-configs-ims-one-config",
    "local-mysql/tables-created",
    "logging-configuration/log-rotation-configured",
    "logging-configuration/log-level-set-to-info-not-debug",
    "monitoring-setup/health-check-endpoint-accessible",
    "backup-configuration/database-backup-scheduled/30-day-retention-minimum",
    "configuration-documentation/api-documentation-accessible",
]


def test_integration_service_is_go_with_manual_items_as_warnings(
    integration_service: Example,
) -> None:
    assert_go_with_manual_warn(integration_service, IS_PASSED, ["application/ims-one-wsdl"])


def test_integration_service_manual_items_block_by_default(integration_service: Example) -> None:
    assert_no_go_names_manual(integration_service, "deployment-approval/technical-lead-date")


def test_integration_service_wsdl_missing_an_operation_fails(integration_service: Example) -> None:
    integration_service.edit("golive.toml", 'BindQuote"', 'BindQuote,CancelPolicy"')
    assert_custom_fails(integration_service, "application/ims-one-wsdl", "missing ['CancelPolicy']")


# --- analytics-dashboard: Snowflake query, against a PostgreSQL stand-in ------------------


def _pg(dbname: str = "postgres") -> Any:
    import psycopg

    return psycopg.connect(
        host="127.0.0.1", port=5432, user="postgres", dbname=dbname, autocommit=True
    )


@pytest.fixture
def analytics_dashboard(tmp_path: Path) -> Iterator[Example]:
    """PostgreSQL stands in for Snowflake: CLAIMS (3 rows) and POLICIES (2 rows)."""
    require(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    require(shutil.which("git") is not None, "git")
    prefix = f"golive_ex{uuid.uuid4().hex[:6]}_"
    name = prefix + "ltc"
    password = pysecrets.token_urlsafe(16)
    admin = _pg()
    root = tmp_path / "server"
    proc = None
    try:
        admin.execute(f'CREATE ROLE "{name}" LOGIN PASSWORD \'{password}\'')
        admin.execute(f'CREATE DATABASE "{name}"')
        with _pg(name) as db:
            db.execute("CREATE TABLE claims (id int PRIMARY KEY, amount numeric)")
            db.execute("CREATE TABLE policies (id int PRIMARY KEY)")
            db.execute("INSERT INTO claims VALUES (1, 10), (2, 20), (3, 30)")
            db.execute("INSERT INTO policies VALUES (1), (2)")
            db.execute(f'GRANT SELECT ON claims, policies TO "{name}"')
        proc, port = start_standin(EXAMPLES / "analytics-dashboard", root)
        path = copy_example("analytics-dashboard", tmp_path, {
            "8742": str(port),
            "/tmp/golive-example-analytics-dashboard": str(root),
            "golive_example_": prefix,
        })
        yield Example(path, base_env(WAREHOUSE_DB_PASSWORD=password))
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{name}"')
        admin.close()


AD_PASSED = [
    # The pipeline's reports, as standin.py lays them out.
    "code-review/no-linter-errors-or-warnings",
    "testing/unit-tests-passing-backend",
    "testing/integration-tests-passing",
    "dependencies/no-vulnerable-dependencies-run-pip-audit",
    "configuration/env-file-created-from-env-template",
    "configuration/api-ports-configured-correctly",
    "configuration/cors-origins-set-for-production-domains",
    "configuration/json-logging-enabled-for-production",
    "security/strong-passwords-set-16-characters",
    "security/api-credentials-secured-not-in-code",
    "security/rate-limiting-configured",
    "application-deployment/file-permissions-set-correctly",
    "service-configuration/log-rotation-configured",
    "reverse-proxy-setup/gzip-compression-enabled",
    "reverse-proxy-setup/static-file-caching-configured",
    "health-checks/frontend-loads-successfully",
    "health-checks/api-endpoints-responding-correctly",
    "documentation/api-documentation-accessible",
]


def test_analytics_dashboard_is_go_with_manual_items_as_warnings(
    analytics_dashboard: Example,
) -> None:
    report = assert_go_with_manual_warn(
        analytics_dashboard, AD_PASSED, ["database/snowflake-tables-hold-rows"]
    )
    # Lines the stand-ins cannot truthfully satisfy are warnings in this environment only.
    for item_id in (
        "performance-testing/response-times-acceptable-1s-for-most-requests",
        "reverse-proxy-setup/http-to-https-redirect-enabled",
    ):
        assert {r["severity"] for r in by_id(report)[item_id]} == {"warning"}, item_id
    # The firewall and patch lines are read from this machine for real (as root: nft and
    # apt work), whatever they find; here they are warnings, on the server they block.
    for item_id, word in (("security/firewall-rules-configured", "inbound"),
                          ("infrastructure-setup/operating-system-updated", "security updates")):
        results = by_id(report)[item_id]
        assert {r["severity"] for r in results} == {"warning"}, item_id
        assert {r["status"] for r in results} <= {"passed", "failed"}, results
        assert all(word in json.dumps(r["details"]) for r in results), results


def test_analytics_dashboard_manual_items_block_by_default(analytics_dashboard: Example) -> None:
    assert_no_go_names_manual(
        analytics_dashboard, "final-checks/stakeholders-notified-of-go-live-date"
    )


def test_analytics_dashboard_empty_table_fails(analytics_dashboard: Example) -> None:
    config = (analytics_dashboard.path / "golive.toml").read_text(encoding="utf-8")
    database = config.split("@127.0.0.1:5432/", 1)[1].split('"', 1)[0]
    with _pg(database) as db:
        db.execute("DELETE FROM policies")
    assert_custom_fails(
        analytics_dashboard, "database/snowflake-tables-hold-rows", "POLICIES returned 0 rows"
    )


def test_analytics_dashboard_vulnerable_dependency_fails(analytics_dashboard: Example) -> None:
    """pip-audit's report (as the pipeline left it) now names an advisory: NO-GO, naming it."""
    config = (analytics_dashboard.path / "golive.toml").read_text(encoding="utf-8")
    table = "[environments.example.files.pip_audit]\npath = \""
    report = Path(config.split(table, 1)[1].split('"', 1)[0])
    doc = json.loads(report.read_text(encoding="utf-8"))
    doc["dependencies"][0]["vulns"] = [{"id": "GHSA-qf9m-vfgh-m389", "fix_versions": ["0.109.1"],
                                        "aliases": ["CVE-2024-24762"], "description": "ReDoS"}]
    report.write_text(json.dumps(doc), encoding="utf-8")
    item = "dependencies/no-vulnerable-dependencies-run-pip-audit"
    assert_custom_fails(analytics_dashboard, item, "GHSA-qf9m-vfgh-m389")


# --- content-platform: Celery heartbeat in Redis, Kubernetes replicas -------------------


@dataclass
class ContentPlatform:
    example: Example
    root: Path
    heartbeat_key: str


@pytest.fixture
def content_platform(tmp_path: Path) -> Iterator[ContentPlatform]:
    """PostgreSQL with schema ``content``; a worker heartbeat in Redis; recorded kubectl."""
    require(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    require(port_open(6379), "Redis on 127.0.0.1:6379")
    import redis

    prefix = f"golive_ex{uuid.uuid4().hex[:6]}_"
    name = prefix + "content"
    heartbeat_key = f"{prefix}content:celery:heartbeat:worker1@ops"
    password = pysecrets.token_urlsafe(16)
    grafana_token = "glsa_" + pysecrets.token_urlsafe(24)  # the stand-in takes any bearer token
    admin = _pg()
    cache = redis.Redis(host="127.0.0.1", port=6379, db=0)
    root = tmp_path / "ops"
    proc = None
    try:
        admin.execute(f'CREATE ROLE "{name}" LOGIN PASSWORD \'{password}\'')
        admin.execute(f'CREATE DATABASE "{name}"')
        with _pg(name) as db:
            db.execute("CREATE SCHEMA content")
            db.execute("CREATE TABLE content.posts (id int PRIMARY KEY, body text)")
            db.execute(f'GRANT USAGE ON SCHEMA content TO "{name}"')
            db.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON content.posts TO "{name}"')
        # What a live worker does every 30 s: the check only reads it.
        cache.set(heartbeat_key, str(time.time()), ex=600)
        proc, port = start_standin(EXAMPLES / "content-platform", root)
        path = copy_example(
            "content-platform",
            tmp_path,
            {
                "8753": str(port),
                "/tmp/golive-example-content-platform": str(root),
                "golive_example_": prefix,
            },
        )
        yield ContentPlatform(
            Example(path, base_env(CONTENT_DB_PASSWORD=password, GRAFANA_TOKEN=grafana_token)),
            root,
            heartbeat_key,
        )
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        cache.delete(heartbeat_key)
        cache.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'DROP ROLE IF EXISTS "{name}"')
        admin.close()


CP_PASSED = [
    # Monitoring and CI evidence, read from the recorded stand-ins (standin_monitoring.py).
    "configuration/container-images/security-scanning-completed",
    "monitoring-observability/monitoring-stack-deployed/prometheus-deployed-and-configured",
    "monitoring-observability/monitoring-stack-deployed/grafana-deployed-and-configured",
    "monitoring-observability/dashboards-configured/application-overview-dashboard",
    "monitoring-observability/dashboards-configured/performance-metrics-dashboard",
    "monitoring-observability/dashboards-configured/infrastructure-metrics-dashboard",
    "monitoring-observability/dashboards-configured/business-metrics-dashboard",
    "monitoring-observability/alerts-configured/high-error-rate-alerts",
    "monitoring-observability/alerts-configured/high-response-time-alerts",
    "monitoring-observability/alerts-configured/service-down-alerts",
    "monitoring-observability/alerts-configured/database-connection-alerts",
    "monitoring-observability/alerts-configured/memory-cpu-threshold-alerts",
    "monitoring-observability/alerts-configured/alert-destinations-configured-email-slack",
    "testing/integration-tests/all-integration-tests-passing",
    "testing/integration-tests/contract-tests-passing",
    "testing/integration-tests/end-to-end-tests-passing",
    "pre-deployment-verification/final-checks/all-tests-passing-in-ci-cd",
    "monitoring-verification/metrics-collection/prometheus-collecting-metrics",
    "monitoring-verification/alerts/alert-routing-correct",
    "infrastructure-preparation/database-setup/postgresql-instance-created",
    "infrastructure-preparation/database-setup/database-user-created-with-appropriate",
    "infrastructure-preparation/database-setup/backup-automation-configured",
    "infrastructure-preparation/cache-layer-setup/redis-instance-created",
    "secrets-management/security-secrets-generated/jwt-secret-key-generated-32-characters",
    "configuration/environment-configuration/env-production-created-from-template",
    "configuration/environment-configuration/all-placeholder-values-replaced",
    "configuration/environment-configuration/debug-mode-disabled-debug-false",
    "configuration/environment-configuration/dry-run-disabled-dry-run-false-use-mock",
    "post-deployment-verification/service-health/readiness-endpoint-responding-curl-https-api",
    "post-deployment-verification/service-health/api-docs-accessible-https-api-halcytone-com-docs",
    "configuration/container-images/production-dockerfile-created-dockerfile-prod",
    "configuration/container-images/multi-stage-build-optimized",
    "infrastructure-preparation/cloud-infrastructure-provisioned/dns-records-created",
    "monitoring-verification/logging/application-logs-flowing",
    "security/security-review/verify-no-secrets-in-logs",
]
CP_CUSTOM = ["monitoring/celery-workers-heartbeat", "deployment/k8s-content-generator-replicas"]


def test_content_platform_is_go_with_manual_items_as_warnings(
    content_platform: ContentPlatform,
) -> None:
    report = assert_go_with_manual_warn(content_platform.example, CP_PASSED, CP_CUSTOM)
    assert statuses(
        report, "infrastructure-preparation/database-setup/read-replicas-configured-if-applicable"
    ) == {"skipped"}  # not applicable: no standby
    # The manifests prove the HPA (and budget, replicas) configured; a person signs "active".
    hpa_id = "option-b-kubernetes-deployment/deploy-to-kubernetes/hpa-configured-and-active"
    hpa = by_id(report)[hpa_id]
    assert {r["status"] for r in hpa} == {"manual-pending"}, hpa
    assert all(r["message"].startswith("checks passed; attestation:") for r in hpa), hpa
    assert [f["fact"] for f in hpa[0]["details"]["facts"] if f["ok"]] == [
        "Deployment/content-generator: hpa", "Deployment/content-generator: pdb",
        "Deployment/content-generator: replicas"]
    for item_id in (
        "testing/load-testing/response-time-500ms-for-95th-percentile",
        "infrastructure-preparation/cache-layer-setup/redis-password-configured",
    ):
        assert {r["severity"] for r in by_id(report)[item_id]} == {"warning"}, item_id


def test_content_platform_manual_items_block_by_default(content_platform: ContentPlatform) -> None:
    assert_no_go_names_manual(
        content_platform.example,
        "option-b-kubernetes-deployment/deploy-to-kubernetes/pods-running-3-3-minimum",
    )


def test_content_platform_failed_integration_test_fails(content_platform: ContentPlatform) -> None:
    report = content_platform.root / "ci" / "junit.xml"
    text = report.read_text(encoding="utf-8")
    text = text.replace('name="test_publish_to_crm" time="1.655"/>',
                        'name="test_publish_to_crm" time="1.655"><failure message="502 from CRM"/>'
                        "</testcase>")
    report.write_text(text, encoding="utf-8")
    item = "testing/integration-tests/all-integration-tests-passing"
    assert_custom_fails(content_platform.example, item,
                        "tests.integration.test_generation.test_publish_to_crm")


def test_content_platform_one_replica_fails(content_platform: ContentPlatform) -> None:
    recorded = content_platform.root / "bin" / "deployment.json"
    doc = json.loads(recorded.read_text(encoding="utf-8"))
    doc["spec"]["replicas"] = doc["status"]["replicas"] = doc["status"]["readyReplicas"] = 1
    recorded.write_text(json.dumps(doc), encoding="utf-8")
    assert_custom_fails(content_platform.example, "deployment/k8s-content-generator-replicas",
                        "observed 1/1 ready/desired replicas, expected >= 3 of each")


def test_content_platform_secret_in_the_log_fails(content_platform: ContentPlatform) -> None:
    """The JWT secret of .env.production in the log: NO-GO naming file and line, never the value."""
    env = (content_platform.root / "app" / ".env.production").read_text(encoding="utf-8")
    secret = next(
        ln.split("=", 1)[1] for ln in env.splitlines() if ln.startswith("JWT_SECRET_KEY=")
    )
    log = content_platform.root / "logs" / "app.log"
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"DEBUG signing with {secret}\n")
    code, output, report = content_platform.example.run("--golive-manual=warn")
    assert code != 0 and "GOLIVE example: NO-GO" in output
    found = by_id(report)["security/security-review/verify-no-secrets-in-logs"]
    assert {r["status"] for r in found} == {"failed"}, found
    assert f"{log}:4: value of JWT_SECRET_KEY from" in output, output[-4000:]
    assert secret not in output and secret not in json.dumps(report)


def test_content_platform_stale_heartbeat_fails(content_platform: ContentPlatform) -> None:
    import redis

    with redis.Redis(host="127.0.0.1", port=6379, db=0) as cache:
        cache.set(content_platform.heartbeat_key, str(time.time() - 3600), ex=600)
    assert_custom_fails(content_platform.example, "monitoring/celery-workers-heartbeat",
                        "observed 0 live worker(s)")


# --- the annotated checklists --------------------------------------------------------------


@pytest.mark.parametrize("name", ["integration-service", "analytics-dashboard", "content-platform"])
def test_reimporting_an_example_checklist_changes_nothing(name: str, tmp_path: Path) -> None:
    """The hand-tuned bindings (and explicit ``manual`` marks) survive ``golive import``."""
    copy = tmp_path / "checklist.md"
    shutil.copy(EXAMPLES / name / "checklist.md", copy)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_golive.tools.cli", "import", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Every binding written by hand is kept as it is; a line without one may gain one as the
    # catalog grows (an unmarked line is not a manual mark), and nothing else changes.
    from pytest_golive.tools.importer import strip_bindings

    before = (EXAMPLES / name / "checklist.md").read_text(encoding="utf-8").splitlines()
    after = copy.read_text(encoding="utf-8").splitlines()
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        if "golive:" in old:
            assert new == old
        else:
            assert strip_bindings(new) == old
