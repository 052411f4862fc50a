"""Monitoring checks: Prometheus, Alertmanager and Grafana, through their HTTP APIs.

Every check takes an endpoint target whose URL is the component's base URL
(``http://prometheus:9090``, ``http://alertmanager:9093``,
``https://grafana.example.com``) and sends GET requests only. Observation
reads one API document; judgement is a pure function of that document and the
check's parameters (the ``judge_*`` functions), tested on answers captured
from the real components.

"Disk space alerts" is a real check here: :func:`prometheus_alerts_cover`
reads the loaded alerting rules and looks for one whose expression uses the
metrics that measure disk space (``node_filesystem_avail_bytes`` and
friends), so a rule that exists only in a wiki page does not pass.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, get_args

import yaml

from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.secrets import mask
from pytest_golive.targets.endpoint import EndpointTarget, reports_tls

# --- reading APIs -------------------------------------------------------------------------


def get_json(
    endpoint: EndpointTarget, path: str, what: str, params: Mapping[str, str] | None = None
) -> Any:
    """The JSON document at ``path``; any other answer is one CheckError line."""
    response = endpoint.get(path, params=dict(params or {}), headers={"Accept": "application/json"})
    where = f"endpoint {endpoint.name}: GET {path}"
    if response.status_code in (401, 403):
        raise CheckError(
            f"{where} -> {response.status_code}: credentials refused; "
            f"set the endpoint's headers (a token as a secret header) for the {what} API"
        )
    if response.status_code == 404:
        raise CheckError(f"{where} -> 404: not the {what} API (check the endpoint's base URL)")
    if not 200 <= response.status_code < 300:
        raise CheckError(f"{where} -> {response.status_code} {response.reason or ''}".rstrip())
    try:
        return response.json()
    except ValueError:
        raise CheckError(f"{where}: the answer is not JSON; is this the {what} API?") from None


def prometheus_data(
    endpoint: EndpointTarget, path: str, params: Mapping[str, str] | None = None
) -> Any:
    """The ``data`` of a Prometheus API answer (``{"status": "success", "data": ...}``)."""
    doc = get_json(endpoint, path, "Prometheus", params)
    if not isinstance(doc, dict) or doc.get("status") != "success" or "data" not in doc:
        error = doc.get("error", "") if isinstance(doc, dict) else ""
        raise CheckError(
            f"endpoint {endpoint.name}: GET {path}: not a Prometheus API answer"
            + (f" ({mask(str(error))[:200]})" if error else "")
        )
    return doc["data"]


def _labels(pairs: Iterable[str], where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CheckError(f"{where}: '{pair}' is not label=value")
        out[name.strip()] = value.strip()
    return out


# --- Prometheus: scrape targets -------------------------------------------------------------


@dataclass(frozen=True)
class ScrapeTarget:
    job: str
    instance: str
    health: str  # up, down, unknown
    last_error: str


def scrape_targets(data: Mapping[str, Any]) -> list[ScrapeTarget]:
    """The active targets of a ``/api/v1/targets`` answer."""
    out = []
    for t in data.get("activeTargets", []):
        labels = t.get("labels", {})
        out.append(
            ScrapeTarget(
                job=str(labels.get("job", t.get("scrapePool", ""))),
                instance=str(labels.get("instance", t.get("scrapeUrl", ""))),
                health=str(t.get("health", "unknown")),
                last_error=str(t.get("lastError", "")),
            )
        )
    return out


def judge_targets(targets: list[ScrapeTarget], job: str, min_up: int | None) -> Outcome:
    """All targets of ``job`` up (or at least ``min_up``); a job without targets fails."""
    mine = [t for t in targets if t.job == job]
    up = [t for t in mine if t.health == "up"]
    down = [t for t in mine if t.health != "up"]
    jobs = sorted({t.job for t in targets})
    if not mine:
        return Outcome.failed(
            f"no active target in job '{job}' (jobs: {', '.join(jobs) or 'none'})",
            f"targets of job '{job}' up",
            jobs=jobs,
        )
    needed = len(mine) if min_up is None else min_up
    seen = f"{len(up)} of {len(mine)} targets of job '{job}' up"
    if down:
        seen += "; down: " + "; ".join(
            f"{t.instance} ({t.health}{': ' + mask(t.last_error)[:160] if t.last_error else ''})"
            for t in down
        )
    expected = f"all {len(mine)} up" if min_up is None else f">= {min_up} up"
    return Outcome.of(
        len(up) >= needed,
        seen,
        expected,
        up=[t.instance for t in up],
        down={t.instance: mask(t.last_error) for t in down},
    )


@check(target="endpoint")
@reports_tls
def prometheus_targets_up(
    endpoint: EndpointTarget, *, job: str, min_up: int | None = None
) -> Outcome:
    """The scrape targets of a Prometheus job are up: all of them, or at least ``min_up``.

    Reads ``/api/v1/targets`` (active targets). A job that Prometheus does not
    scrape at all fails, naming the jobs it does scrape.

    Args:
        job: the scrape job name (the ``job`` label).
        min_up: how many targets must be up; all of them when unset.
    """
    return judge_targets(
        scrape_targets(prometheus_data(endpoint, "/api/v1/targets", {"state": "active"})),
        job,
        min_up,
    )


# --- Prometheus: a metric is collected ---------------------------------------------------

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def judge_metric_samples(
    result: Sequence[Mapping[str, Any]],
    metric: str,
    selector: str,
    max_age_seconds: float,
    now: float,
) -> Outcome:
    """Judge ``timestamp(<selector>)`` results: at least one series, its newest sample recent."""
    if not result:
        return Outcome.failed(
            f"no series of {selector}",
            f"{metric} collected, newest sample <= {max_age_seconds:g} s old",
            series=0,
        )
    ages = []
    for series in result:
        try:
            ages.append((now - float(series["value"][1]), series.get("metric", {})))
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    if not ages:
        raise CheckError(f"{selector}: the answer holds no sample timestamps")
    newest, labels = min(ages, key=lambda a: a[0])
    where = ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"
    return Outcome.of(
        newest <= max_age_seconds,
        f"{len(ages)} series of {selector}; newest sample {max(newest, 0):.0f} s old ({where})",
        f"{metric} collected, newest sample <= {max_age_seconds:g} s old",
        series=len(ages),
        newest_age_seconds=round(max(newest, 0.0), 1),
    )


def _selector(metric: str, labels: Mapping[str, str]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{metric}{{{inner}}}" if inner else metric


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@check(target="endpoint")
@reports_tls
def prometheus_metric(
    endpoint: EndpointTarget,
    *,
    metric: str,
    job: str | None = None,
    labels: list[str] = [],  # noqa: B006 - never mutated
    max_age_seconds: float = 300,
) -> Outcome:
    """Prometheus holds a recent sample of a metric (for a job, for given labels).

    Queries ``timestamp(<metric>{job=...,labels...})`` and judges the newest
    sample's age, so a target that stopped reporting minutes ago fails even
    while its old samples are still in the database.

    Args:
        metric: the metric name (``http_requests_total``).
        job: the scrape job whose series count (the ``job`` label).
        labels: more label=value pairs the series must have, comma separated.
        max_age_seconds: the oldest acceptable newest sample.
    """
    if not _METRIC_NAME.match(metric):
        raise CheckError(f"prometheus_metric on {endpoint.name}: '{metric}' is not a metric name")
    wanted = _labels(labels, f"prometheus_metric on {endpoint.name}")
    if job:
        wanted["job"] = job
    selector = _selector(metric, wanted)
    data = prometheus_data(endpoint, "/api/v1/query", {"query": f"timestamp({selector})"})
    if data.get("resultType") != "vector":
        raise CheckError(
            f"endpoint {endpoint.name}: timestamp({selector}) gave a {data.get('resultType')}"
        )
    now = dt.datetime.now(dt.UTC).timestamp()
    return judge_metric_samples(data.get("result", []), metric, selector, max_age_seconds, now)


def exposed_metrics(text: str) -> dict[str, int]:
    """Metric family name -> number of samples in a Prometheus text exposition."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name = re.split(r"[{\s]", line, maxsplit=1)[0]
        if _METRIC_NAME.match(name):
            out[name] = out.get(name, 0) + 1
    return out


def _family(name: str, exposed: Mapping[str, int]) -> bool:
    """A counter ``x`` is exposed as ``x_total``, a histogram as ``x_bucket``, ``x_sum``..."""
    suffixes = ("", "_total", "_bucket", "_sum", "_count", "_created", "_info")
    return any(name + s in exposed for s in suffixes)


@check(target="endpoint")
@reports_tls
def metrics_exposed(
    endpoint: EndpointTarget,
    *,
    path: str = "/metrics",
    metrics: list[str] = [],  # noqa: B006
) -> Outcome:
    """An application serves Prometheus metrics itself, including the named ones.

    GETs ``path`` and reads the text exposition format. With ``metrics``,
    each named family must be present (``http_requests`` matches
    ``http_requests_total``; a histogram matches its ``_bucket`` series).

    Args:
        path: the metrics path below the endpoint's base URL.
        metrics: metric names that must be exposed, comma separated.
    """
    response = endpoint.get(path, headers={"Accept": "text/plain"})
    ev = Evidence()
    exposed = exposed_metrics(response.text) if 200 <= response.status_code < 300 else {}
    ev.add(
        "exposition",
        bool(exposed),
        f"GET {path} -> {response.status_code}, {len(exposed)} metric names",
        "2xx with Prometheus text metrics",
    )
    for name in metrics:
        ev.add(
            name,
            _family(name, exposed),
            "exposed" if _family(name, exposed) else "not exposed",
            "exposed",
        )
    return ev.outcome(metric_names=len(exposed), samples=sum(exposed.values()))


# --- Prometheus: alerting rules --------------------------------------------------------------


@dataclass(frozen=True)
class AlertRule:
    group: str
    name: str
    query: str
    health: str
    last_error: str
    state: str
    labels: Mapping[str, str]


def alert_rules(data: Mapping[str, Any]) -> list[AlertRule]:
    """The alerting rules of a ``/api/v1/rules`` answer."""
    out = []
    for group in data.get("groups", []):
        for r in group.get("rules", []):
            if r.get("type") != "alerting":
                continue
            out.append(
                AlertRule(
                    group=str(group.get("name", "")),
                    name=str(r.get("name", "")),
                    query=str(r.get("query", "")),
                    health=str(r.get("health", "unknown")),
                    last_error=str(r.get("lastError", "")),
                    state=str(r.get("state", "")),
                    labels={str(k): str(v) for k, v in r.get("labels", {}).items()},
                )
            )
    return out


def _name_matches(name: str, pattern: str) -> bool:
    """A glob (``*Disk*``) or a plain name, without regard to case."""
    return fnmatch.fnmatchcase(name.lower(), pattern.lower())


def judge_alert_rule(rules: list[AlertRule], name: str, group: str | None) -> Outcome:
    """At least one loaded alerting rule named like ``name`` (in ``group``), all of them healthy."""
    pool = [r for r in rules if group is None or r.group == group]
    found = [r for r in pool if _name_matches(r.name, name)]
    where = f" in group '{group}'" if group else ""
    if not found:
        close = sorted({r.name for r in pool})[:10]
        return Outcome.failed(
            f"no alerting rule named '{name}'{where} "
            f"({len(pool)} loaded{': ' + ', '.join(close) if close else ''})",
            f"an alerting rule '{name}' loaded and healthy",
        )
    ev = Evidence()
    for r in found:
        seen = f"group {r.group}, health {r.health}, state {r.state or 'inactive'}"
        if r.last_error:
            seen += f" ({mask(r.last_error)[:200]})"
        ev.add(r.name, r.health == "ok", seen, "health ok")
    return ev.outcome(
        rules=[
            {"group": r.group, "name": r.name, "query": r.query, "health": r.health} for r in found
        ]
    )


@check(target="endpoint")
@reports_tls
def prometheus_alert_rule(
    endpoint: EndpointTarget, *, name: str, group: str | None = None
) -> Outcome:
    """An alerting rule is loaded in Prometheus and evaluates without error.

    Reads ``/api/v1/rules``. Every rule whose name matches must have health
    ``ok``: a rule whose query fails at each evaluation never fires.

    Args:
        name: the rule name, or a glob (``*Disk*``), compared without regard to case.
        group: the rule group it must be in.
    """
    return judge_alert_rule(
        alert_rules(prometheus_data(endpoint, "/api/v1/rules", {"type": "alert"})), name, group
    )


class Concern(StrEnum):
    """What an alerting rule can watch, told from the metrics its expression reads."""

    DISK = "disk"
    MEMORY = "memory"
    CPU = "cpu"
    ERROR_RATE = "error_rate"
    LATENCY = "latency"
    TARGET_DOWN = "target_down"
    CERTIFICATE = "certificate"
    DATABASE = "database"
    QUEUE = "queue"
    WORKERS = "workers"


#: The names a checklist binding may use (the values of :class:`Concern`).
ConcernName = Literal[
    "disk",
    "memory",
    "cpu",
    "error_rate",
    "latency",
    "target_down",
    "certificate",
    "database",
    "queue",
    "workers",
]
assert set(get_args(ConcernName)) == {c.value for c in Concern}

#: Metric names (regular expressions over the names an expression reads) per concern,
#: from the exporters that publish them: node_exporter, cAdvisor/kubelet, windows_exporter,
#: client libraries' HTTP metrics, blackbox_exporter, Celery/RabbitMQ/Redis exporters.
CONCERN_METRICS: dict[Concern, tuple[str, ...]] = {
    Concern.DISK: (
        r"node_filesystem_(avail|free|size|files_free)_bytes|node_filesystem_files_free",
        r"kubelet_volume_stats_(available|capacity|used)_bytes",
        r"windows_logical_disk_free_bytes",
        r"container_fs_(usage|limit)_bytes",
        r"disk_(free|used_percent|used)",
    ),
    Concern.MEMORY: (
        r"node_memory_\w+",
        r"container_memory_(working_set|usage|rss)_bytes",
        r"windows_(os_physical_memory_free|memory_available)_bytes",
        r"process_resident_memory_bytes",
        r"mem_(available|used)_percent",
        r"jvm_memory_(used|max)_bytes",
    ),
    Concern.CPU: (
        r"node_cpu_seconds_total",
        r"container_cpu_usage_seconds_total",
        r"process_cpu_seconds_total",
        r"node_load(1|5|15)",
        r"windows_cpu_time_total",
    ),
    Concern.LATENCY: (
        r"\w+_(duration|latency)_(seconds|milliseconds|ms)(_bucket|_sum|_count)?",
        r"\w*latency\w*",
        r"probe_duration_seconds",
    ),
    Concern.TARGET_DOWN: (r"up", r"probe_success"),
    Concern.CERTIFICATE: (
        r"probe_ssl_earliest_cert_expiry",
        r"x509_cert_not_after",
        r"ssl_certificate_expiry\w*",
    ),
    Concern.DATABASE: (
        r"(pg|mysql|redis|mongodb|elasticsearch|memcached)_up",
        r"pg_stat_activity_count",
        r"pg_stat_database_numbackends",
        r"pg_settings_max_connections",
        r"mysql_global_status_threads_connected",
        r"mysql_global_variables_max_connections",
        r"redis_connected_clients",
        r"\w*db_(pool|connections?)\w*",
    ),
    Concern.QUEUE: (
        r"celery_queue_length",
        r"rabbitmq_queue_messages(_ready|_unacked)?",
        r"\w*queue_(length|depth|size)\w*",
        r"redis_key_size",
    ),
    Concern.WORKERS: (
        r"celery_workers?\w*",
        r"celery_tasks?\w*",
        r"flower_(worker|task)\w*",
        r"\w*worker\w*(up|online|count|alive)\w*",
    ),
}
#: Error rate: an error counter, or a request counter read with a 5xx matcher.
_ERROR_METRIC = re.compile(r"\w*(error|errors|failed|failures?|exceptions?)(_total|_count)?")
_REQUEST_METRIC = re.compile(
    r"\w*(requests?|responses?|http_server\w*)(_total|_count|_seconds_count)?"
)
_5XX_MATCHER = re.compile(r"""(status|code|status_code|response_code)\s*=~?\s*"5""")
_WORKER_JOB = re.compile(r"""\bup\s*\{[^}]*job\s*=~?\s*"[^"]*(worker|celery)""")

_PROMQL_WORDS = frozenset(
    """
sum min max avg group stddev stdvar count count_values bottomk topk quantile by without on ignoring
group_left group_right bool and or unless offset rate irate increase delta idelta deriv
predict_linear
histogram_quantile abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month
day_of_week days_in_month exp floor holt_winters hour label_join label_replace ln log2 log10 minute
month resets round scalar sgn sort sort_desc sqrt time timestamp vector year avg_over_time
min_over_time max_over_time sum_over_time count_over_time quantile_over_time stddev_over_time
stdvar_over_time last_over_time present_over_time inf nan atan2 start end
""".split()
)


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (not functions, keywords or label names)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges, subqueries
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in _PROMQL_WORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def rule_concerns(query: str) -> set[Concern]:
    """The concerns an alerting rule's expression watches."""
    names = metric_names(query)
    found = {
        c
        for c, patterns in CONCERN_METRICS.items()
        if any(re.fullmatch(p, n) for p in patterns for n in names)
    }
    if any(_ERROR_METRIC.fullmatch(n) for n in names) or (
        any(_REQUEST_METRIC.fullmatch(n) for n in names) and _5XX_MATCHER.search(query)
    ):
        found.add(Concern.ERROR_RATE)
    if _WORKER_JOB.search(query):
        found.add(Concern.WORKERS)
    if (
        Concern.LATENCY in found
        and Concern.ERROR_RATE in found
        and not _5XX_MATCHER.search(query)
        and not any(_ERROR_METRIC.fullmatch(n) for n in names)
    ):
        found.discard(Concern.ERROR_RATE)
    return found


def judge_alerts_cover(
    rules: list[AlertRule], concerns: list[Concern], group: str | None
) -> Outcome:
    """Each concern is watched by at least one loaded, healthy alerting rule (in ``group``)."""
    pool = [r for r in rules if group is None or r.group == group]
    where = f" in group '{group}'" if group else ""
    ev = Evidence()
    covering: dict[str, list[str]] = {}
    for concern in concerns:
        watching = [r for r in pool if concern in rule_concerns(r.query)]
        healthy = [r for r in watching if r.health == "ok"]
        covering[concern.value] = [r.name for r in healthy]
        if healthy:
            seen = ", ".join(
                f"{r.name} ({', '.join(sorted(metric_names(r.query)))})" for r in healthy[:5]
            )
        elif watching:
            seen = "only unhealthy rules: " + ", ".join(f"{r.name} ({r.health})" for r in watching)
        else:
            seen = f"no rule{where} reads its metrics"
        ev.add(concern.value, bool(healthy), seen, "a loaded alerting rule with health ok")
    if not pool:
        return Outcome.failed(
            f"no alerting rule loaded{where}",
            "alerting rules for " + ", ".join(c.value for c in concerns),
            rules=0,
        )
    return ev.outcome(rules=len(pool), covering=covering)


@check(target="endpoint", aliases=("prometheus_rules_cover",))
@reports_tls
def prometheus_alerts_cover(
    endpoint: EndpointTarget, *, concerns: list[ConcernName], group: str | None = None
) -> Outcome:
    """Loaded alerting rules watch the named concerns (disk, memory, error rate, latency, ...).

    Reads ``/api/v1/rules`` and tells what each alerting rule watches from
    the metric names its expression reads: ``disk`` (node_filesystem_avail_bytes,
    kubelet_volume_stats_*, ...), ``memory`` (node_memory_*, container_memory_*),
    ``cpu`` (node_cpu_seconds_total, ...), ``error_rate`` (an error counter, or a
    request counter selected with a 5xx status matcher), ``latency`` (``*_duration_seconds``
    histograms, ``*latency*``), ``target_down`` (``up``, ``probe_success``),
    ``certificate`` (probe_ssl_earliest_cert_expiry), ``database`` (pg_up, mysql_up,
    connection counts), ``queue`` (celery_queue_length,
    rabbitmq_queue_messages) and ``workers`` (Celery worker metrics, ``up`` of a worker job).
    Each concern needs at least one such rule with health ok.

    Args:
        concerns: the concerns that must be watched, comma separated.
        group: the rule group the rules must be in.
    """
    rules = alert_rules(prometheus_data(endpoint, "/api/v1/rules", {"type": "alert"}))
    return judge_alerts_cover(rules, [Concern(c) for c in concerns], group)


SEVERITY_RANK = {
    "none": 0,
    "info": 1,
    "informational": 1,
    "low": 1,
    "notice": 1,
    "warning": 2,
    "warn": 2,
    "medium": 2,
    "minor": 2,
    "error": 3,
    "high": 3,
    "major": 3,
    "critical": 4,
    "page": 4,
    "emergency": 5,
    "fatal": 5,
    "disaster": 5,
}


def judge_firing(
    alerts: Sequence[Mapping[str, Any]], min_severity: str, ignore: list[str]
) -> Outcome:
    """No firing alert at or above ``min_severity``; an unknown or missing severity counts."""
    floor = SEVERITY_RANK[min_severity]
    firing = [a for a in alerts if a.get("state") == "firing"]
    counted, unranked = [], []
    for alert in firing:
        labels = alert.get("labels", {})
        name = str(labels.get("alertname", "?"))
        if any(_name_matches(name, pattern) for pattern in ignore):
            continue
        severity = str(labels.get("severity", "")).lower()
        rank = SEVERITY_RANK.get(severity)
        if rank is None:
            unranked.append(name)
        if rank is None or rank >= floor:
            counted.append(
                f"{name} ({severity or 'no severity'}; "
                + ", ".join(
                    f"{k}={v}"
                    for k, v in sorted(labels.items())
                    if k not in ("alertname", "severity")
                )[:160]
                + ")"
            )
    return Outcome.of(
        not counted,
        f"{len(counted)} firing at or above {min_severity}: {'; '.join(counted[:10])}"
        if counted
        else f"{len(firing)} firing, none at or above {min_severity}",
        f"no alert firing at severity {min_severity} or above",
        firing=len(firing),
        counted=len(counted),
        unknown_severity=unranked,
    )


@check(target="endpoint")
@reports_tls
def prometheus_no_firing_alerts(
    endpoint: EndpointTarget,
    *,
    min_severity: str = "critical",
    ignore: list[str] = [],  # noqa: B006
) -> Outcome:
    """No alert is firing at or above a severity at go-live time.

    Reads ``/api/v1/alerts``. Severities rank none < info < warning <
    error/high < critical/page < emergency; a firing alert with no severity
    label or an unknown one counts (it cannot be shown to be minor).

    Args:
        min_severity: the lowest severity that blocks.
        ignore: alert names or globs that never count (``Watchdog``, the always-firing
            dead-man's switch), comma separated.
    """
    if min_severity.lower() not in SEVERITY_RANK:
        raise CheckError(
            f"prometheus_no_firing_alerts: min_severity '{min_severity}' is not one of "
            + ", ".join(SEVERITY_RANK)
        )
    data = prometheus_data(endpoint, "/api/v1/alerts")
    return judge_firing(data.get("alerts", []), min_severity.lower(), ignore)


# --- Alertmanager --------------------------------------------------------------------------

#: Receiver keys that send somewhere (Alertmanager's *_configs).
INTEGRATIONS = (
    "email",
    "slack",
    "pagerduty",
    "webhook",
    "opsgenie",
    "victorops",
    "pushover",
    "wechat",
    "telegram",
    "sns",
    "discord",
    "msteams",
    "webex",
)


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str  # =, !=, =~, !~
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op in ("=~", "!~"):
            try:
                hit = re.fullmatch(self.value, actual) is not None
            except re.error:
                hit = False
            return hit if self.op == "=~" else not hit
        return (actual == self.value) if self.op == "=" else (actual != self.value)

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


def parse_matcher(text: str) -> Matcher:
    """``severity="critical"``, ``team=~"db|ops"``, ``env!=staging`` (Alertmanager's syntax)."""
    m = _MATCHER.match(text)
    if not m:
        raise ValueError(f"not a matcher: {text!r}")
    value = m.group(3)
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return Matcher(m.group(1), m.group(2), value)


def route_matchers(route: Mapping[str, Any]) -> list[Matcher]:
    """A route's matchers, from ``matchers`` and the older ``match``/``match_re``."""
    out = [parse_matcher(str(m)) for m in route.get("matchers") or []]
    out += [Matcher(str(k), "=", str(v)) for k, v in (route.get("match") or {}).items()]
    out += [Matcher(str(k), "=~", str(v)) for k, v in (route.get("match_re") or {}).items()]
    return out


def route_receivers(
    route: Mapping[str, Any], labels: Mapping[str, str], inherited: str = "", path: str = "root"
) -> list[tuple[str, str]]:
    """(receiver, route path) an alert with ``labels`` is sent to, as Alertmanager routes it.

    The root matches every alert. Children are tried in order; a matching
    child takes the alert and, unless it has ``continue: true``, stops the
    search. When no child matches, the route itself receives it. A route
    without a receiver inherits its parent's.
    """
    receiver = str(route.get("receiver") or inherited)
    found: list[tuple[str, str]] = []
    for i, child in enumerate(route.get("routes") or []):
        if all(m.matches(labels) for m in route_matchers(child)):
            desc = ",".join(str(m) for m in route_matchers(child)) or "no matchers"
            found += route_receivers(child, labels, receiver, f"{path} > routes[{i}] ({desc})")
            if not child.get("continue", False):
                break
    return found or [(receiver, path)]


def receiver_integrations(receiver: Mapping[str, Any]) -> list[str]:
    return [kind for kind in INTEGRATIONS if receiver.get(f"{kind}_configs")]


def judge_routing(config: Mapping[str, Any], labels: Mapping[str, str]) -> Outcome:
    """At least one receiver an alert with ``labels`` reaches has a real integration."""
    route = config.get("route")
    if not isinstance(route, Mapping):
        raise CheckError("Alertmanager configuration has no route")
    receivers = {str(r.get("name")): r for r in config.get("receivers") or []}
    reached = route_receivers(route, labels)
    ev = Evidence()
    seen = []
    ok = False
    for name, path in reached:
        kinds = receiver_integrations(receivers.get(name, {}))
        ok = ok or bool(kinds)
        seen.append(f"{name} via {path}: " + (", ".join(kinds) if kinds else "no integration"))
    alert = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
    ev.add(
        "receiver",
        ok,
        "; ".join(seen),
        f"an alert {{{alert}}} reaches a receiver with an integration "
        f"({', '.join(INTEGRATIONS[:4])}, ...)",
    )
    return ev.outcome(
        receivers=[
            {"name": n, "route": p, "integrations": receiver_integrations(receivers.get(n, {}))}
            for n, p in reached
        ]
    )


@check(target="endpoint")
@reports_tls
def alertmanager_receiver(
    endpoint: EndpointTarget,
    *,
    severity: str = "critical",
    labels: list[str] = [],  # noqa: B006
) -> Outcome:
    """Alerts of a severity reach a receiver that notifies someone (email, Slack, PagerDuty, ...).

    Reads the running configuration from ``/api/v2/status`` and walks the
    routing tree as Alertmanager does for an alert with ``severity`` and the
    given labels. A receiver without any ``*_configs`` (a "null" receiver)
    notifies nobody and does not count. Only integration kinds are shown,
    never their URLs or keys.

    Args:
        severity: the ``severity`` label of the alert to route.
        labels: more label=value pairs of the alert (``service=api,team=ops``), comma separated.
    """
    alert = _labels(labels, f"alertmanager_receiver on {endpoint.name}")
    alert.setdefault("severity", severity)
    status = get_json(endpoint, "/api/v2/status", "Alertmanager")
    try:
        config = yaml.safe_load(status["config"]["original"])
    except (KeyError, TypeError, yaml.YAMLError):
        raise CheckError(
            f"endpoint {endpoint.name}: /api/v2/status holds no readable configuration; "
            "is this Alertmanager (API v2)?"
        ) from None
    if not isinstance(config, Mapping):
        raise CheckError(f"endpoint {endpoint.name}: Alertmanager configuration is empty")
    try:
        return judge_routing(config, alert)
    except ValueError as exc:
        raise CheckError(f"endpoint {endpoint.name}: Alertmanager route: {exc}") from None


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """(labels, value) of every sample of metric ``name`` in a text exposition."""
    out = []
    for line in text.splitlines():
        m = _SAMPLE.match(line.strip())
        if not m or m.group(1) != name:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out.append(({k: v for k, v in _LABEL.findall(m.group(2) or "")}, value))
    return out


def judge_notifications(
    text: str, integrations: list[str], min_sent: int, max_failed: int
) -> Outcome:
    """Alertmanager's own counters: notifications sent per integration, and failed ones."""
    sent: dict[str, float] = {}
    failed: dict[str, float] = {}
    for labels, value in samples(text, "alertmanager_notifications_total"):
        key = labels.get("integration", "?")
        sent[key] = sent.get(key, 0) + value
    for labels, value in samples(text, "alertmanager_notifications_failed_total"):
        key = labels.get("integration", "?")
        failed[key] = failed.get(key, 0) + value
    if not sent:
        raise CheckError("no alertmanager_notifications_total in /metrics; is this Alertmanager?")
    wanted = [i.lower() for i in integrations] or [k for k, v in sent.items() if v > 0]
    ev = Evidence()
    if not wanted:
        ev.add(
            "sent",
            False,
            "no notification sent by any integration since Alertmanager started",
            f">= {min_sent} sent",
        )
    for kind in wanted:
        n, bad = int(sent.get(kind, 0)), int(failed.get(kind, 0))
        ev.add(
            kind,
            n >= min_sent and bad <= max_failed,
            f"{n} sent, {bad} failed",
            f">= {min_sent} sent, <= {max_failed} failed",
        )
    return ev.outcome(
        sent={k: int(v) for k, v in sent.items() if v},
        failed={k: int(v) for k, v in failed.items() if v},
    )


@check(target="endpoint")
@reports_tls
def alertmanager_notifications(
    endpoint: EndpointTarget,
    *,
    integrations: list[str] = [],  # noqa: B006 - never mutated
    min_sent: int = 1,
    max_failed: int = 0,
) -> Outcome:
    """Alertmanager has delivered notifications through its integrations, without failures.

    Reads Alertmanager's own ``/metrics`` (``alertmanager_notifications_total`` and
    ``alertmanager_notifications_failed_total`` per integration): a channel that was
    tested (a test alert, an always-firing Watchdog) has sent at least ``min_sent``.
    The counters start at zero when Alertmanager starts.

    Args:
        integrations: the integrations that must have delivered (email, slack, pagerduty,
            webhook, ...), comma separated; every integration that sent anything when empty.
        min_sent: the fewest notifications each must have sent.
        max_failed: the most failed notifications allowed for each.
    """
    response = endpoint.get("/metrics", headers={"Accept": "text/plain"})
    if not 200 <= response.status_code < 300:
        raise CheckError(f"endpoint {endpoint.name}: GET /metrics -> {response.status_code}")
    try:
        return judge_notifications(response.text, list(integrations), min_sent, max_failed)
    except CheckError as exc:
        raise CheckError(f"endpoint {endpoint.name}: {exc}") from None


def silence_covers(silence: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether an active silence mutes alerts of the service named by ``labels``.

    It does when at least one of its matchers is on a label given here and
    every such matcher matches; matchers on other labels (``alertname``) only
    narrow which of the service's alerts are muted.
    """
    if silence.get("status", {}).get("state") != "active":
        return False
    relevant = []
    for m in silence.get("matchers", []):
        name = str(m.get("name", ""))
        if name not in labels:
            continue
        op = (
            ("=~" if m.get("isRegex") else "=")
            if m.get("isEqual", True)
            else ("!~" if m.get("isRegex") else "!=")
        )
        relevant.append(Matcher(name, op, str(m.get("value", ""))))
    return bool(relevant) and all(m.matches(labels) for m in relevant)


def judge_silences(silences: Sequence[Mapping[str, Any]], labels: Mapping[str, str]) -> Outcome:
    covering = [s for s in silences if silence_covers(s, labels)]
    active = [s for s in silences if s.get("status", {}).get("state") == "active"]
    service = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def describe(s: Mapping[str, Any]) -> str:
        matchers = ",".join(
            f"{m.get('name')}{'=' if m.get('isEqual', True) else '!'}"
            f'{"~" if m.get("isRegex") else ""}"{m.get("value")}"'
            for m in s.get("matchers", [])
        )
        return (
            f"{str(s.get('id', '?'))[:8]} {{{matchers}}} until {s.get('endsAt', '?')} by "
            f"{s.get('createdBy', '?')}: {mask(str(s.get('comment', '')))[:80]}"
        )

    return Outcome.of(
        not covering,
        f"{len(covering)} active silence(s) cover {{{service}}}: "
        + "; ".join(describe(s) for s in covering)
        if covering
        else f"{len(active)} active silence(s), none covers {{{service}}}",
        f"no active silence covers {{{service}}}",
        active=len(active),
        covering=[str(s.get("id")) for s in covering],
    )


@check(target="endpoint")
@reports_tls
def alertmanager_no_silence(endpoint: EndpointTarget, *, labels: list[str]) -> Outcome:
    """No active Alertmanager silence mutes the service's alerts at go-live.

    Reads ``/api/v2/silences``. A silence covers the service when one of its
    matchers names a label given here and all such matchers match (a silence
    on ``service="api", alertname="HighLatency"`` mutes part of the service
    and counts).

    Args:
        labels: the label=value pairs that identify the service's alerts (``service=api``),
            comma separated.
    """
    wanted = _labels(labels, f"alertmanager_no_silence on {endpoint.name}")
    if not wanted:
        raise CheckError(
            f"alertmanager_no_silence on {endpoint.name}: labels= names the service (service=api)"
        )
    silences = get_json(endpoint, "/api/v2/silences", "Alertmanager")
    if not isinstance(silences, list):
        raise CheckError(
            f"endpoint {endpoint.name}: /api/v2/silences is not a list; is this Alertmanager?"
        )
    return judge_silences(silences, wanted)


# --- Grafana -------------------------------------------------------------------------------


@check(target="endpoint")
@reports_tls
def grafana_health(endpoint: EndpointTarget) -> Outcome:
    """Grafana answers its health API and reaches its database.

    Reads ``/api/health`` (no credentials needed): 200 with ``"database": "ok"``.
    """
    response = endpoint.get("/api/health", headers={"Accept": "application/json"})
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return Outcome.failed(
            f"GET /api/health -> {response.status_code}, not Grafana's health JSON",
            "200 with database ok",
            status=response.status_code,
        )
    db = str(data.get("database", "missing"))
    return Outcome.of(
        response.status_code == 200 and db == "ok",
        f"GET /api/health -> {response.status_code}, database {db}, "
        f"version {data.get('version', '?')}",
        "200 with database ok",
        status=response.status_code,
        version=data.get("version"),
    )


def judge_dashboards(
    found: Sequence[Mapping[str, Any]], title: str | None, uid: str | None
) -> Outcome:
    """A dashboard with this exact title (without regard to case) or uid is among ``found``."""

    def hit(d: Mapping[str, Any]) -> bool:
        if uid and d.get("uid") != uid:
            return False
        return not title or str(d.get("title", "")).casefold() == title.casefold()

    wanted = " and ".join(
        x for x in (f"title '{title}'" if title else "", f"uid '{uid}'" if uid else "") if x
    )
    hits = [d for d in found if d.get("type", "dash-db") == "dash-db" and hit(d)]
    if hits:
        d = hits[0]
        return Outcome.passed(
            f"dashboard '{d.get('title')}' (uid {d.get('uid')}, folder "
            f"{d.get('folderTitle') or 'General'})",
            f"a dashboard with {wanted}",
            dashboards=[{"uid": h.get("uid"), "title": h.get("title")} for h in hits],
        )
    near = ", ".join(f"'{d.get('title')}'" for d in found[:5])
    return Outcome.failed(
        f"no dashboard with {wanted}" + (f" (search found {near})" if near else ""),
        f"a dashboard with {wanted}",
    )


@check(target="endpoint")
@reports_tls
def grafana_dashboard(
    endpoint: EndpointTarget, *, title: str | None = None, uid: str | None = None
) -> Outcome:
    """A Grafana dashboard with a given title or uid exists and the API token can read it.

    Searches ``/api/search?type=dash-db`` (by title, or by uid). The
    endpoint carries the API token as a secret header
    (``Authorization = "Bearer ${GRAFANA_TOKEN}"``); a refused token is an
    error that says so, never a pass.

    Args:
        title: the dashboard's title (exact, without regard to case).
        uid: the dashboard's uid.
    """
    if not title and not uid:
        raise CheckError(f"grafana_dashboard on {endpoint.name}: give title= or uid=")
    params = {"type": "dash-db"}
    if title:
        params["query"] = title
    if uid:
        params["dashboardUIDs"] = uid
    found = get_json(endpoint, "/api/search", "Grafana", params)
    if not isinstance(found, list):
        raise CheckError(
            f"endpoint {endpoint.name}: /api/search did not answer a list; is this Grafana?"
        )
    return judge_dashboards(found, title, uid)


# --- import rules ---------------------------------------------------------------------------

_ALERT_WORDS = re.compile(r"\b(alerts?|alerting|alarms?|paging|notif\w*|on-?call)\b")
_CONCERN_WORDS: dict[Concern, str] = {
    Concern.DISK: r"\b(disk|storage|filesystem|volume)s?( space| usage| full)?\b",
    Concern.MEMORY: r"\b(memory|ram|oom)\b",
    Concern.CPU: r"\bcpu\b",
    Concern.ERROR_RATE: r"\berror[- ]?(rate|ratio|s)\b|\b5xx\b|\bfailure rate\b",
    Concern.LATENCY: r"\b(latency|response[- ]time|slow)\b",
    Concern.TARGET_DOWN: r"\b(uptime|downtime|(service|instance|host)s? down)\b",
    Concern.CERTIFICATE: r"\bcertificates?\b.*\bexpir",
    Concern.DATABASE: r"\b(database|db|postgres\w*|mysql|mariadb|redis) (connections?|down|up)\b",
    Concern.QUEUE: r"\bqueue (depth|length|size|backlog)\b|\bbacklog\b",
    Concern.WORKERS: r"\b(workers?|tasks?|celery)\b",
}


_CHANNEL_WORDS = re.compile(
    r"\b(channels?|receivers?|destinations?|routes?|routing|pagerduty|slack|opsgenie|e-?mail|"
    r"webhooks?|escalation|on-?call|teams)\b"
)


def _concerns_in(text: str) -> list[Concern]:
    return [c for c, pattern in _CONCERN_WORDS.items() if re.search(pattern, text)]


@proposes("prometheus_alerts_cover")
def _monitoring_of_a_concern(line: Line) -> Proposal | None:
    """ "Certificate expiration monitoring configured", "Uptime monitoring enabled"."""
    t = line.lower
    if _ALERT_WORDS.search(t) or not re.search(r"\bmonitor(ing|ed)?\b", t):
        return None
    if not re.search(r"\b(configured|enabled|active|set ?up|in place)\b", t):
        return None
    concerns = [c for c in _concerns_in(t) if c is not Concern.WORKERS]
    if not concerns:
        return None
    value = ",".join(c.value for c in concerns)
    return Proposal(
        [("prometheus_alerts_cover", {"concerns": value})], 0.6, f"alerting rules watch {value}"
    )


@proposes("prometheus_alerts_cover")
def _alert_concerns(line: Line) -> Proposal | None:
    t = line.lower
    if not _ALERT_WORDS.search(t) or re.search(r"\b(grafana|dashboard)\b", t):
        return None
    if _CHANNEL_WORDS.search(t):
        return None  # where alerts go, not what they watch: alertmanager_receiver
    concerns = _concerns_in(t + " " + " ".join(line.children_text).lower())
    if not concerns:
        found = _ALERT_WORDS.search(t)
        subject = t[: found.start()].strip(" -*:") if found else ""
        # "Consumer lag alerts configured" names a concern no rule knows: the usual
        # resource concerns would pass without proving it, so only a line without a
        # subject of its own ("Alerts configured for thresholds") gets them.
        generic = not subject or re.fullmatch(
            r"((all|basic|standard|default|key|critical|the|proper|necessary|required|"
            r"monitoring|and|&)\s*)+", subject)
        if generic and re.search(r"\b(thresholds?|rules?|configured|set ?up|defined)\b", t):
            # "Alerts configured for thresholds": the usual resource concerns.
            return Proposal(
                [("prometheus_alerts_cover", {"concerns": "disk,memory,cpu,error_rate"})],
                0.6,
                "alert rules for the usual thresholds",
                ("concerns=disk,memory,cpu,error_rate",),
            )
        return None
    value = ",".join(c.value for c in concerns)
    return Proposal(
        [("prometheus_alerts_cover", {"concerns": value})], 0.8, f"alert rules watch {value}"
    )


@proposes("prometheus_targets_up")
def _metrics_collecting(line: Line) -> Proposal | None:
    t = line.lower
    if not re.search(r"\b(prometheus|metrics?)\b", t) or _ALERT_WORDS.search(t):
        return None
    if not re.search(
        r"\b(collect\w*|scrap\w*|gather\w*|ingest\w*|working|flowing|exported|exposed|enabled|"
        r"configured|set ?up|up)\b",
        t,
    ):
        return None
    return Proposal(
        [("prometheus_targets_up", {"job": "${prometheus_job}"})],
        0.75,
        "Prometheus scrapes the service",
        ("job=${prometheus_job}",),
    )


@proposes("alertmanager_receiver", "alertmanager_notifications")
def _notification_channels(line: Line) -> Proposal | None:
    t = line.lower
    if not re.search(r"\b(notification|alert(ing)?|paging|on-?call|escalation)s?\b", t):
        return None
    system = re.search(r"\balert(ing)? (system|pipeline|manager|delivery)\b", t)
    tested = bool(re.search(r"\btest(ed|s)?\b|\breceived\b|\bdelivered\b", t))
    if not _CHANNEL_WORDS.search(t) and not system:
        return None
    return Proposal(
        [("alertmanager_receiver", {"severity": "critical"})],
        0.7,
        "critical alerts reach a notifying receiver",
        # "tested", "sent and received": the routing is proven, Alertmanager's counters show
        # a delivery, and that the right people got it a person signs.
        also=[("alertmanager_notifications", {})] if tested else [],
        attest=tested,
    )


@proposes("grafana_dashboard", "grafana_health")
def _grafana(line: Line) -> Proposal | None:
    t = line.lower
    if not re.search(r"\b(grafana|dashboards?)\b", t):
        return None
    if (
        re.search(
            r"\b(accessible|reachable|available|up|working|healthy|loads?|deployed|running|"
            r"installed|configured)\b",
            t,
        )
        and "dashboard" not in t
    ):
        return Proposal([("grafana_health", {})], 0.7, "Grafana is healthy")
    if "dashboard" in t:
        return Proposal(
            [("grafana_dashboard", {"title": "${grafana_dashboard}"})],
            0.65,
            "a Grafana dashboard exists",
            ("title=${grafana_dashboard}",),
            # That it shows the right data is a person's judgement.
            attest=bool(re.search(r"\b(show(s|ing)?|display(s|ing)?)\b.*\bdata\b", t)),
        )
    return None


@proposes("prometheus_no_firing_alerts")
def _no_firing(line: Line) -> Proposal | None:
    t = line.lower
    if re.search(
        r"\b(no|zero|without)\b[\w\s]{0,20}\b(critical |active |open |firing )*alerts?\b", t
    ) and re.search(r"\b(firing|active|open|triggered|critical)\b", t):
        severity = "warning" if re.search(r"\bwarnings?\b", t) else "critical"
        return Proposal(
            [("prometheus_no_firing_alerts", {"min_severity": severity})],
            0.75,
            f"no {severity} alert firing",
        )
    return None


@proposes("alertmanager_no_silence")
def _silence(line: Line) -> Proposal | None:
    t = line.lower
    if re.search(r"\bsilenc\w*|\bmuted?\b", t) and re.search(r"\balert", t):
        return Proposal(
            [("alertmanager_no_silence", {"labels": "service=${alert_service}"})],
            0.65,
            "no silence mutes the service",
            ("labels=service=${alert_service}",),
        )
    return None
