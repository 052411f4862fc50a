"""Monitoring checks: Prometheus, Alertmanager and Grafana.

Judgement is tested on API answers captured from the real components
(tests/data/monitoring/, recorded from the stack in tests/support/monitoring.py);
every check is then run pass and fail against that stack: Debian's
prometheus, prometheus-alertmanager and prometheus-node-exporter on loopback.

Grafana is not packaged in Debian: its checks run against a real HTTP server
that serves Grafana's API contract for /api/health, /api/search and
/api/dashboards/uid (the ``grafana_contract`` fixture), including its 401
answer to a missing or wrong token.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_golive.checks import REGISTRY
from pytest_golive.checks.monitoring import (
    Concern,
    alert_rules,
    judge_alert_rule,
    judge_alerts_cover,
    judge_firing,
    judge_metric_samples,
    judge_notifications,
    judge_routing,
    judge_silences,
    judge_targets,
    metric_names,
    parse_matcher,
    rule_concerns,
    scrape_targets,
)
from pytest_golive.checks.rules import Line
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.core.secrets import Secret
from pytest_golive.tools.import_rules import propose
from support.leaks import assert_no_leak
from support.monitoring import endpoint

DATA = Path(__file__).parent / "data" / "monitoring"


def data(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def run(check_name: str, handle: Any, **raw: str) -> Outcome:
    """Run a check as a checklist binding does: string parameters, coerced by the registry."""
    chk = REGISTRY.get(check_name)
    out: Outcome = chk.func(handle, **chk.validate(raw))
    return out


# --- judgement on captured answers ---------------------------------------------------------


def test_targets_all_up_at_least_n_and_unknown_job() -> None:
    targets = scrape_targets(data("targets.json")["data"])
    assert judge_targets(targets, "node", None).ok
    app = judge_targets(targets, "app", None)
    assert app.status == "failed"
    assert "1 of 2 targets of job 'app' up" in app.observed
    assert "connection refused" in app.observed
    assert judge_targets(targets, "app", 1).ok
    assert not judge_targets(targets, "app", 2).ok
    missing = judge_targets(targets, "api", None)
    assert missing.status == "failed" and "jobs: app, node, prometheus" in missing.observed


def test_metric_age_from_timestamp_query() -> None:
    result = data("query_timestamp.json")["data"]["result"]
    newest = max(float(s["value"][1]) for s in result)
    assert judge_metric_samples(result, "node_load1", "node_load1", 60, newest + 5).ok
    stale = judge_metric_samples(result, "node_load1", "node_load1", 60, newest + 600)
    assert stale.status == "failed" and "600 s old" in stale.observed
    assert judge_metric_samples([], "x", 'x{job="a"}', 60, newest).status == "failed"


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        (
            'node_filesystem_avail_bytes{fstype!~"tmpfs"} / node_filesystem_size_bytes < 0.1',
            {"node_filesystem_avail_bytes", "node_filesystem_size_bytes"},
        ),
        (
            "histogram_quantile(0.95, sum by (le, job) "
            "(rate(http_request_duration_seconds_bucket[5m])))",
            {"http_request_duration_seconds_bucket"},
        ),
        ('sum without (instance) (rate(errors_total{job="api"}[1m])) > bool 3', {"errors_total"}),
        ('absent(up{job="celery"}) or on() vector(0)', {"up"}),
    ],
)
def test_metric_names_of_an_expression(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize(
    ("expr", "concern"),
    [
        ("node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.1", Concern.DISK),
        (
            "kubelet_volume_stats_available_bytes / kubelet_volume_stats_capacity_bytes < 0.1",
            Concern.DISK,
        ),
        ("node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.1", Concern.MEMORY),
        ('container_memory_working_set_bytes{container="api"} > 1e9', Concern.MEMORY),
        (
            'sum(rate(http_requests_total{status=~"5.."}[5m]))'
            " / sum(rate(http_requests_total[5m]))",
            Concern.ERROR_RATE,
        ),
        ("rate(celery_task_failed_total[5m]) > 0", Concern.ERROR_RATE),
        (
            "histogram_quantile(0.95, rate(http_request_duration_seconds_bucket[5m])) > 0.5",
            Concern.LATENCY,
        ),
        ("up == 0", Concern.TARGET_DOWN),
        ('up{job="celery-workers"} == 0', Concern.WORKERS),
        ("celery_workers < 1", Concern.WORKERS),
        ("probe_ssl_earliest_cert_expiry - time() < 86400 * 14", Concern.CERTIFICATE),
        ("pg_up == 0", Concern.DATABASE),
        ("sum(pg_stat_activity_count) / sum(pg_settings_max_connections) > 0.8", Concern.DATABASE),
    ],
)
def test_rule_concerns_from_metric_names(expr: str, concern: Concern) -> None:
    assert concern in rule_concerns(expr)


def test_a_request_counter_without_a_5xx_matcher_is_not_an_error_rate() -> None:
    assert Concern.ERROR_RATE not in rule_concerns("sum(rate(http_requests_total[5m])) < 1")
    assert rule_concerns("vector(1)") == set()


def test_alert_rules_and_cover_on_captured_rules() -> None:
    rules = alert_rules(data("rules.json")["data"])
    assert {r.name for r in rules} >= {
        "HostDiskSpaceLow",
        "HostMemoryLow",
        "TargetDown",
        "BrokenRule",
    }
    assert judge_alert_rule(rules, "*disk*", None).ok
    broken = judge_alert_rule(rules, "BrokenRule", None)
    assert broken.status == "failed" and "health err" in broken.observed
    assert "same labelset" in broken.observed
    assert not judge_alert_rule(rules, "HostDiskSpaceLow", "app").ok
    assert judge_alerts_cover(
        rules, [Concern.DISK, Concern.MEMORY, Concern.ERROR_RATE, Concern.LATENCY], None
    ).ok
    out = judge_alerts_cover(rules, [Concern.DISK, Concern.CERTIFICATE], "node")
    assert out.status == "failed"
    assert "certificate: no rule in group 'node' reads its metrics" in out.observed
    assert judge_alerts_cover([], [Concern.DISK], None).status == "failed"


def test_firing_alerts_by_severity() -> None:
    alerts = data("alerts.json")["data"]["alerts"]
    assert judge_firing(alerts, "critical", []).ok
    warn = judge_firing(alerts, "warning", [])
    assert warn.status == "failed" and "TargetDown (warning" in warn.observed
    assert judge_firing(alerts, "warning", ["Target*"]).ok
    unlabelled = [{"state": "firing", "labels": {"alertname": "Mystery"}}]
    assert not judge_firing(unlabelled, "critical", []).ok


def test_routing_tree_walk_on_captured_configuration() -> None:
    config = yaml.safe_load(data("am_status.json")["config"]["original"])
    critical = judge_routing(config, {"severity": "critical"})
    assert critical.ok and "oncall-webhook" in critical.observed and "webhook" in critical.observed
    assert "127.0.0.1" not in json.dumps(critical.to_dict())  # integration URLs are never shown
    warning = judge_routing(config, {"severity": "warning"})
    assert warning.status == "failed" and "team-null" in warning.observed
    other = judge_routing(config, {"severity": "page"})
    assert other.status == "failed" and "default-null via root" in other.observed


def test_routing_continue_inheritance_and_legacy_match() -> None:
    config = {
        "route": {
            "receiver": "pager",
            "routes": [
                {"match": {"team": "db"}, "continue": True, "receiver": "db-mail"},
                {"match_re": {"severity": "crit.*"}},  # inherits the root's receiver
            ],
        },
        "receivers": [
            {"name": "pager", "pagerduty_configs": [{"routing_key": "<secret>"}]},
            {"name": "db-mail", "email_configs": [{"to": "db@example.com"}]},
        ],
    }
    out = judge_routing(config, {"severity": "critical", "team": "db"})
    assert out.ok
    assert [r["name"] for r in out.details["receivers"]] == ["db-mail", "pager"]


@pytest.mark.parametrize(
    ("text", "name", "op", "value"),
    [
        ('severity="critical"', "severity", "=", "critical"),
        ("team=~db|ops", "team", "=~", "db|ops"),
        ('env != "stag\\"ing"', "env", "!=", 'stag"ing'),
    ],
)
def test_matcher_syntax(text: str, name: str, op: str, value: str) -> None:
    m = parse_matcher(text)
    assert (m.name, m.op, m.value) == (name, op, value)


def test_silences_cover_only_the_named_service() -> None:
    silences = data("am_silences.json")
    assert judge_silences(silences, {"service": "api"}).ok
    out = judge_silences(silences, {"service": "legacy"})
    assert out.status == "failed" and "legacy service retired" in out.observed
    expired = [{**silences[0], "status": {"state": "expired"}}]
    assert judge_silences(expired, {"service": "legacy"}).ok
    regex = [
        {
            **silences[0],
            "matchers": [{"name": "service", "value": "leg.*", "isRegex": True, "isEqual": True}],
        }
    ]
    assert not judge_silences(regex, {"service": "legacy"}).ok


# --- against the real Prometheus, Alertmanager, node-exporter ------------------------------


@pytest.mark.real_systems
def test_prometheus_targets_up_real(monitoring_stack: Any) -> None:
    prom = monitoring_stack.prometheus()
    assert run("prometheus_targets_up", prom, job="node").ok
    out = run("prometheus_targets_up", prom, job="app")
    assert out.status == "failed" and monitoring_stack.down_target in out.observed
    assert run("prometheus_targets_up", prom, job="app", min_up="1").ok
    assert run("prometheus_targets_up", prom, job="nope").status == "failed"


@pytest.mark.real_systems
def test_prometheus_metric_real(monitoring_stack: Any) -> None:
    prom = monitoring_stack.prometheus()
    out = run("prometheus_metric", prom, metric="node_memory_MemAvailable_bytes", job="node")
    assert out.ok, out.summary()
    assert run("prometheus_metric", prom, metric="up", labels="job=app", max_age_seconds="60").ok
    missing = run("prometheus_metric", prom, metric="http_requests_total", job="node")
    assert missing.status == "failed" and "no series" in missing.observed
    with pytest.raises(CheckError, match="not a metric name"):
        run("prometheus_metric", prom, metric="up or vector(1)")


@pytest.mark.real_systems
def test_metrics_exposed_by_the_app_itself(monitoring_stack: Any) -> None:
    exporter = monitoring_stack.node_exporter()
    assert run("metrics_exposed", exporter, metrics="node_load1,node_cpu_seconds").ok
    out = run("metrics_exposed", exporter, metrics="http_requests")
    assert out.status == "failed" and "http_requests: not exposed" in out.observed
    assert run("metrics_exposed", exporter, path="/nothing").status == "failed"


@pytest.mark.real_systems
def test_prometheus_alert_rule_and_cover_real(monitoring_stack: Any) -> None:
    prom = monitoring_stack.prometheus()
    assert run("prometheus_alert_rule", prom, name="HostDiskSpaceLow").ok
    assert run("prometheus_alert_rule", prom, name="*memory*", group="node").ok
    assert run("prometheus_alert_rule", prom, name="BrokenRule").status == "failed"
    assert run("prometheus_alert_rule", prom, name="CertificateExpiry").status == "failed"
    assert run("prometheus_alerts_cover", prom, concerns="disk,memory,error_rate,latency").ok
    out = run("prometheus_alerts_cover", prom, concerns="disk,workers")
    assert out.status == "failed" and "workers: no rule reads its metrics" in out.observed


@pytest.mark.real_systems
def test_prometheus_no_firing_alerts_real(monitoring_stack: Any) -> None:
    prom = monitoring_stack.prometheus()
    # Watchdog, the always-firing dead man's switch, is critical: it counts until ignored.
    critical = run("prometheus_no_firing_alerts", prom, min_severity="critical")
    assert critical.status == "failed" and "Watchdog (critical" in critical.observed
    assert run("prometheus_no_firing_alerts", prom, min_severity="critical", ignore="Watchdog").ok
    out = run("prometheus_no_firing_alerts", prom, min_severity="warning", ignore="Watchdog")
    assert out.status == "failed" and "TargetDown" in out.observed
    with pytest.raises(CheckError, match="min_severity"):
        run("prometheus_no_firing_alerts", prom, min_severity="scary")


@pytest.mark.real_systems
def test_alertmanager_receiver_real(monitoring_stack: Any) -> None:
    am = monitoring_stack.alertmanager()
    out = run("alertmanager_receiver", am, severity="critical")
    assert out.ok and "oncall-webhook" in out.observed
    assert run("alertmanager_receiver", am, severity="warning").status == "failed"
    assert (
        run("alertmanager_receiver", am, severity="page", labels="service=api").status == "failed"
    )


def test_notification_counters_on_captured_metrics() -> None:
    text = (DATA / "am_metrics.txt").read_text()
    out = judge_notifications(text, [], 1, 0)
    assert out.ok and out.details["sent"] == {"webhook": 1}
    email = judge_notifications(text, ["email", "webhook"], 1, 0)
    assert email.status == "failed" and "email: 0 sent, 0 failed" in email.observed
    failing = text.replace(
        'alertmanager_notifications_failed_total{integration="webhook"} 0',
        'alertmanager_notifications_failed_total{integration="webhook"} 2',
    )
    assert not judge_notifications(failing, ["webhook"], 1, 0).ok
    with pytest.raises(CheckError, match="is this Alertmanager"):
        judge_notifications("up 1\n", [], 1, 0)


@pytest.mark.real_systems
def test_alertmanager_notifications_real(monitoring_stack: Any) -> None:
    am = monitoring_stack.alertmanager()
    out = run("alertmanager_notifications", am, integrations="webhook")
    assert out.ok, out.summary()
    assert run("alertmanager_notifications", am, integrations="slack").status == "failed"
    with pytest.raises(CheckError):
        run("alertmanager_notifications", monitoring_stack.node_exporter())


@pytest.mark.real_systems
def test_alertmanager_no_silence_real(monitoring_stack: Any) -> None:
    am = monitoring_stack.alertmanager()
    assert run("alertmanager_no_silence", am, labels="service=api").ok
    out = run("alertmanager_no_silence", am, labels="service=legacy")
    assert out.status == "failed" and "ops@example.com" in out.observed


@pytest.mark.real_systems
def test_prometheus_checks_on_alertmanager_are_one_clear_line(monitoring_stack: Any) -> None:
    with pytest.raises(CheckError) as info:
        run("prometheus_targets_up", monitoring_stack.alertmanager(), job="node")
    assert "\n" not in str(info.value) and "Prometheus" in str(info.value)


# --- Grafana's contract ---------------------------------------------------------------------


def _grafana(contract: Any, token: str | None) -> Any:
    headers = {"Authorization": Secret(f"Bearer {token}")} if token else {}
    return endpoint(contract.url, "grafana", headers=headers)


@pytest.mark.real_systems
def test_grafana_health_and_dashboards(grafana_contract: Any) -> None:
    """Against a real HTTP server speaking Grafana's API (Grafana is not in Debian)."""
    grafana = _grafana(grafana_contract, grafana_contract.token)
    assert run("grafana_health", grafana).ok
    assert run("grafana_dashboard", grafana, title="api overview").ok
    assert run("grafana_dashboard", grafana, uid="celery-workers").ok
    out = run("grafana_dashboard", grafana, title="Database")
    assert out.status == "failed" and "no dashboard with title 'Database'" in out.observed
    assert (
        run("grafana_dashboard", grafana, title="API Overview", uid="celery-workers").status
        == "failed"
    )


@pytest.mark.real_systems
def test_grafana_unhealthy_database_fails(grafana_contract: Any) -> None:
    """Against Grafana's health contract: a 'failing' database is not healthy."""
    grafana_contract.handler.database = "failing"
    try:
        out = run("grafana_health", _grafana(grafana_contract, None))
    finally:
        grafana_contract.handler.database = "ok"
    assert out.status == "failed" and "database failing" in out.observed


@pytest.mark.real_systems
def test_grafana_refused_token_is_an_error_that_never_shows_it(grafana_contract: Any) -> None:
    """Against Grafana's 401 contract: a wrong token is an error, and the token is not shown."""
    wrong = "glsa_wrong-token-planted-987654321"
    with pytest.raises(CheckError) as info:
        run("grafana_dashboard", _grafana(grafana_contract, wrong), title="API Overview")
    assert "401" in str(info.value) and "credentials refused" in str(info.value)
    assert_no_leak([wrong, grafana_contract.token], str(info.value))
    with pytest.raises(CheckError, match="title= or uid="):
        run("grafana_dashboard", _grafana(grafana_contract, None))


# --- import rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "attest"),
    [
        ("Notification channels tested", True),
        ("Alert routing correct", False),
        ("Grafana dashboards showing data", True),
        ("Application overview dashboard", False),
    ],
)
def test_a_person_signs_what_the_api_cannot_show(title: str, attest: bool) -> None:
    proposal = propose(_line(title))
    assert proposal is not None and proposal.attest is attest
    assert bool(proposal.also) is (attest and "channel" in title)


def _line(title: str) -> Line:
    return Line(
        number=1,
        index=0,
        title=title,
        marked=title,
        context="Monitoring",
        code="",
        has_binding=False,
    )


@pytest.mark.parametrize(
    ("title", "check", "params"),
    [
        ("Disk space alerts", "prometheus_alerts_cover", {"concerns": "disk"}),
        ("Memory usage alerts", "prometheus_alerts_cover", {"concerns": "memory"}),
        ("Error rate alerts", "prometheus_alerts_cover", {"concerns": "error_rate"}),
        (
            "Alerts on high latency and 5xx errors",
            "prometheus_alerts_cover",
            {"concerns": "error_rate,latency"},
        ),
        ("Worker health check alerts", "prometheus_alerts_cover", {"concerns": "workers"}),
        ("Task monitoring alerts configured", "prometheus_alerts_cover", {"concerns": "workers"}),
        (
            "Alert rules configured",
            "prometheus_alerts_cover",
            {"concerns": "disk,memory,cpu,error_rate"},
        ),
        (
            "Alerts configured for thresholds",
            "prometheus_alerts_cover",
            {"concerns": "disk,memory,cpu,error_rate"},
        ),
        ("Prometheus metrics collecting", "prometheus_targets_up", {"job": "${prometheus_job}"}),
        ("Metrics are being scraped", "prometheus_targets_up", {"job": "${prometheus_job}"}),
        ("Notification channels tested", "alertmanager_receiver", {"severity": "critical"}),
        (
            "Alert destinations configured (email, Slack)",
            "alertmanager_receiver",
            {"severity": "critical"},
        ),
        ("Database connection alerts", "prometheus_alerts_cover", {"concerns": "database"}),
        ("PagerDuty routing for on-call", "alertmanager_receiver", {"severity": "critical"}),
        ("Grafana dashboards accessible", "grafana_dashboard", {"title": "${grafana_dashboard}"}),
        ("Grafana is reachable", "grafana_health", {}),
        ("Grafana deployed and configured", "grafana_health", {}),
        (
            "Certificate expiration monitoring configured",
            "prometheus_alerts_cover",
            {"concerns": "certificate"},
        ),
        ("Uptime monitoring enabled", "prometheus_alerts_cover", {"concerns": "target_down"}),
        ("Alert system functional", "alertmanager_receiver", {"severity": "critical"}),
        ("No critical alerts firing", "prometheus_no_firing_alerts", {"min_severity": "critical"}),
        (
            "No alerts silenced for the service",
            "alertmanager_no_silence",
            {"labels": "service=${alert_service}"},
        ),
    ],
)
def test_import_rules(title: str, check: str, params: dict[str, str]) -> None:
    proposal = propose(_line(title))
    assert proposal is not None, title
    assert proposal.candidates[0] == (check, params)
    chk = REGISTRY.get(check)
    # A ${variable} is filled in by the environment; any value of it must fit the check.
    chk.validate({k: re.sub(r"\$\{\w+\}", "x", v) for k, v in params.items()})


@pytest.mark.real_systems
def test_outcomes_say_whether_tls_was_verified(https_lab: Any) -> None:
    """Over https (the lab server, which is no Grafana), the outcome records tls_verify."""
    out = run("grafana_health", https_lab.endpoint(https_lab.server("app").url, name="grafana"))
    assert out.status == "failed"
    assert out.details["tls_verify"] is True and out.details["ca_bundle"]
