"""A real monitoring stack on 127.0.0.1: Prometheus, Alertmanager, node-exporter.

Debian's ``prometheus``, ``prometheus-alertmanager`` and
``prometheus-node-exporter`` are started once per test session on free
loopback ports, with configuration, rules and data directories written under
a temporary directory, and stopped at the end. Intervals are 1 s so targets
are scraped and rules evaluated within seconds.

What the stack holds, so tests can assert both outcomes of every check:

* jobs ``node`` (node-exporter, up), ``app`` (node-exporter and a port that
  refuses connections: 1 of 2 up) and ``prometheus`` (itself);
* alerting rules in group ``node`` (disk space, memory, target down) and
  ``app`` (error rate, latency, a rule whose evaluation always fails);
  ``TargetDown`` (severity ``warning``) fires for the refused target;
* Alertmanager routes ``severity="critical"`` to a webhook on loopback and
  everything else to receivers without any integration; one silence covers
  ``service="legacy"``.

Grafana is not packaged in Debian: :class:`GrafanaContract` serves the part of
Grafana's HTTP API the checks use (``/api/health``, ``/api/search``,
``/api/dashboards/uid/<uid>``, bearer-token auth as Grafana answers it), so
the checks are exercised over real HTTP against that contract.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.targets.endpoint import EndpointTarget

LOOPBACK = "127.0.0.1"
PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
READY_WITHIN = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def endpoint(url: str, name: str = "monitoring", **options: Any) -> EndpointTarget:
    options.setdefault("timeout", 5.0)
    return EndpointTarget(TargetSpec("endpoint", name, (), {"url": url, **options}), Settings())


RULES = """\
groups:
  - name: node
    rules:
      - alert: HostDiskSpaceLow
        expr: >-
          node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"}
          / node_filesystem_size_bytes < 0.0001
        for: 5m
        labels: {severity: warning}
        annotations: {summary: "Less than 0.01% disk space left on {{ $labels.mountpoint }}"}
      - alert: HostMemoryLow
        expr: node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.0001
        for: 5m
        labels: {severity: critical}
      - alert: TargetDown
        expr: up == 0
        labels: {severity: warning}
      - alert: Watchdog
        # Always firing, as a dead man's switch: proves the path to the webhook works.
        expr: vector(1)
        labels: {severity: critical}
  - name: app
    rules:
      - alert: HighErrorRate
        expr: >-
          sum(rate(http_requests_total{status=~"5.."}[5m]))
          / sum(rate(http_requests_total[5m])) > 0.05
        for: 10m
        labels: {severity: critical}
      - alert: HighLatencyP95
        expr: >-
          histogram_quantile(0.95,
          sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5
        for: 10m
        labels: {severity: warning}
      - alert: BrokenRule
        # Two series with one label set: every evaluation fails, health "err".
        expr: label_replace(label_replace(up, "instance", "x", "", ""), "job", "x", "", "")
        labels: {severity: info}
"""

ALERTMANAGER_CONFIG = """\
route:
  receiver: default-null
  group_wait: 1s
  group_interval: 1s
  routes:
    - matchers: ['severity="critical"']
      receiver: oncall-webhook
    - matchers: ['severity=~"warning|info"']
      receiver: team-null
receivers:
  - name: default-null
  - name: oncall-webhook
    webhook_configs:
      - url: http://127.0.0.1:{hook_port}/hook
        send_resolved: false
  - name: team-null
"""


class _Hook(BaseHTTPRequestHandler):
    """Alertmanager's webhook receiver: accepts and counts notifications."""

    received: list[Any] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class MonitoringStack:
    root: Path
    prometheus_url: str = ""
    alertmanager_url: str = ""
    node_exporter_url: str = ""
    down_target: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    servers: list[ThreadingHTTPServer] = field(default_factory=list)
    sockets: list[socket.socket] = field(default_factory=list)

    def prometheus(self, **options: Any) -> EndpointTarget:
        return endpoint(self.prometheus_url, "prometheus", **options)

    def alertmanager(self, **options: Any) -> EndpointTarget:
        return endpoint(self.alertmanager_url, "alertmanager", **options)

    def node_exporter(self, **options: Any) -> EndpointTarget:
        return endpoint(self.node_exporter_url, "node-exporter", **options)

    def start(self, name: str, args: list[str]) -> None:
        log = (self.root / f"{name}.log").open("wb")
        self.processes.append(
            subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.root
            )
        )

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.terminate()
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for server in self.servers:
            server.shutdown()
            server.server_close()
        for sock in self.sockets:
            sock.close()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _wait(what: str, stack: MonitoringStack, probe: Any, logs: tuple[str, ...]) -> Any:
    """Poll ``probe`` until it returns something truthy; fail with the logs otherwise."""
    deadline = time.monotonic() + READY_WITHIN
    last: Any = None
    while time.monotonic() < deadline:
        for proc in stack.processes:
            if proc.poll() is not None:
                pytest.fail(
                    f"{what}: a component exited ({proc.args!r}):\n"
                    + "\n".join(stack.log(n) for n in logs),
                    pytrace=False,
                )
        try:
            last = probe()
            if last:
                return last
        except (requests.RequestException, ValueError, KeyError) as exc:
            last = exc
        time.sleep(0.3)
    pytest.fail(
        f"{what} not ready within {READY_WITHIN:g}s (last: {last!r}):\n"
        + "\n".join(stack.log(n) for n in logs),
        pytrace=False,
    )


def _get(url: str) -> Any:
    response = requests.get(url, timeout=3)
    response.raise_for_status()
    return response.json()


def monitoring_available() -> bool:
    return all(Path(p).exists() for p in (PROMETHEUS, ALERTMANAGER, NODE_EXPORTER))


@pytest.fixture(scope="session")
def monitoring_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonitoringStack]:
    """Prometheus, Alertmanager and node-exporter, started once and ready (see the module doc)."""
    from support import require

    require(
        monitoring_available(), "prometheus, prometheus-alertmanager and prometheus-node-exporter"
    )
    root = tmp_path_factory.mktemp("monitoring")
    stack = MonitoringStack(root)
    try:
        hook = ThreadingHTTPServer((LOOPBACK, 0), _Hook)
        threading.Thread(target=hook.serve_forever, daemon=True).start()
        stack.servers.append(hook)
        refused = socket.socket()
        refused.bind((LOOPBACK, 0))  # bound, never listening: scrapes are refused
        stack.sockets.append(refused)
        stack.down_target = f"{LOOPBACK}:{refused.getsockname()[1]}"

        ne_port, am_port, prom_port = free_port(), free_port(), free_port()
        stack.node_exporter_url = f"http://{LOOPBACK}:{ne_port}"
        stack.alertmanager_url = f"http://{LOOPBACK}:{am_port}"
        stack.prometheus_url = f"http://{LOOPBACK}:{prom_port}"
        stack.start(
            "node-exporter",
            [
                NODE_EXPORTER,
                f"--web.listen-address={LOOPBACK}:{ne_port}",
                "--collector.disable-defaults",
                "--collector.filesystem",
                "--collector.meminfo",
                "--collector.cpu",
                "--collector.loadavg",
            ],
        )

        am_dir = root / "alertmanager"
        am_dir.mkdir()
        (am_dir / "alertmanager.yml").write_text(
            ALERTMANAGER_CONFIG.format(hook_port=hook.server_address[1])
        )
        stack.start(
            "alertmanager",
            [
                ALERTMANAGER,
                f"--config.file={am_dir / 'alertmanager.yml'}",
                f"--storage.path={am_dir / 'data'}",
                f"--web.listen-address={LOOPBACK}:{am_port}",
                "--cluster.listen-address=",
            ],
        )

        prom_dir = root / "prometheus"
        prom_dir.mkdir()
        (prom_dir / "rules.yml").write_text(RULES)
        (prom_dir / "prometheus.yml").write_text(
            json.dumps(
                {
                    "global": {
                        "scrape_interval": "1s",
                        "evaluation_interval": "1s",
                        "scrape_timeout": "900ms",
                    },
                    "alerting": {
                        "alertmanagers": [
                            {"static_configs": [{"targets": [f"{LOOPBACK}:{am_port}"]}]}
                        ]
                    },
                    "rule_files": [str(prom_dir / "rules.yml")],
                    "scrape_configs": [
                        {
                            "job_name": "prometheus",
                            "static_configs": [{"targets": [f"{LOOPBACK}:{prom_port}"]}],
                        },
                        {
                            "job_name": "node",
                            "static_configs": [{"targets": [f"{LOOPBACK}:{ne_port}"]}],
                        },
                        {
                            "job_name": "app",
                            "static_configs": [
                                {"targets": [f"{LOOPBACK}:{ne_port}", stack.down_target]}
                            ],
                        },
                    ],
                }
            )
        )
        stack.start(
            "prometheus",
            [
                PROMETHEUS,
                f"--config.file={prom_dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={prom_dir / 'data'}",
                f"--web.listen-address={LOOPBACK}:{prom_port}",
                # An alert firing before Alertmanager is known is sent again after 1 s, not 1 min.
                "--rules.alert.resend-delay=1s",
            ],
        )

        logs = ("node-exporter", "alertmanager", "prometheus")
        _wait(
            "node-exporter",
            stack,
            lambda: requests.get(stack.node_exporter_url + "/metrics", timeout=3).ok,
            logs,
        )
        _wait(
            "alertmanager",
            stack,
            lambda: requests.get(stack.alertmanager_url + "/-/ready", timeout=3).ok,
            logs,
        )
        _wait(
            "prometheus",
            stack,
            lambda: requests.get(stack.prometheus_url + "/-/ready", timeout=3).ok,
            logs,
        )

        def scraped() -> bool:
            targets = _get(stack.prometheus_url + "/api/v1/targets")["data"]["activeTargets"]
            return len(targets) == 4 and all(t["health"] != "unknown" for t in targets)

        def evaluated() -> bool:
            groups = _get(stack.prometheus_url + "/api/v1/rules")["data"]["groups"]
            rules = {r["name"]: r for g in groups for r in g["rules"]}
            return bool(
                rules.get("BrokenRule", {}).get("health") == "err"
                and rules["TargetDown"]["state"] == "firing"
            )

        def alert_reached_alertmanager() -> bool:
            return any(
                a["labels"].get("alertname") == "TargetDown"
                for a in _get(stack.alertmanager_url + "/api/v2/alerts")
            )

        _wait("prometheus scrapes", stack, scraped, logs)
        _wait("prometheus rules", stack, evaluated, logs)
        _wait("alertmanager alerts", stack, alert_reached_alertmanager, logs)
        _wait("webhook notified", stack, lambda: bool(_Hook.received), logs)
        silence = {
            "matchers": [{"name": "service", "value": "legacy", "isRegex": False, "isEqual": True}],
            "startsAt": "2020-01-01T00:00:00Z",
            "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "ops@example.com",
            "comment": "legacy service retired",
        }
        requests.post(
            stack.alertmanager_url + "/api/v2/silences", json=silence, timeout=5
        ).raise_for_status()
        yield stack
    finally:
        stack.stop()


# --- Grafana's HTTP contract ---------------------------------------------------------------

DASHBOARDS: list[dict[str, Any]] = [
    {
        "id": 1,
        "uid": "api-overview",
        "title": "API Overview",
        "type": "dash-db",
        "folderTitle": "Production",
        "tags": ["api"],
        "url": "/d/api-overview/api-overview",
    },
    {
        "id": 2,
        "uid": "celery-workers",
        "title": "Celery Workers",
        "type": "dash-db",
        "folderTitle": "Production",
        "tags": ["workers"],
        "url": "/d/celery-workers/celery-workers",
    },
]


class _Grafana(BaseHTTPRequestHandler):
    """Grafana's answers to /api/health, /api/search and /api/dashboards/uid/<uid>.

    As Grafana does: /api/health needs no auth; the others need
    ``Authorization: Bearer <token>`` and answer 401 with
    ``{"message": "Unauthorized"}`` without it (or with a wrong one).
    """

    token = ""
    database = "ok"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        if url.path == "/api/health":
            return self._json(
                200, {"commit": "03f502a94d", "database": self.database, "version": "10.4.2"}
            )
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json(401, {"message": "Unauthorized"})
        if url.path == "/api/search":
            query = parse_qs(url.query)
            text = query.get("query", [""])[0].lower()
            found = [d for d in DASHBOARDS if text in d["title"].lower()]
            if "dashboardUIDs" in query:
                found = [d for d in found if d["uid"] in query["dashboardUIDs"]]
            return self._json(200, found)
        if url.path.startswith("/api/dashboards/uid/"):
            uid = url.path.rsplit("/", 1)[-1]
            for d in DASHBOARDS:
                if d["uid"] == uid:
                    return self._json(
                        200,
                        {
                            "dashboard": {"uid": uid, "title": d["title"], "panels": []},
                            "meta": {"folderTitle": d["folderTitle"], "url": d["url"]},
                        },
                    )
            return self._json(404, {"message": "Dashboard not found"})
        return self._json(404, {"message": "Not found"})

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class GrafanaContract:
    url: str
    token: str
    handler: type[_Grafana]


@pytest.fixture(scope="session")
def grafana_contract() -> Iterator[GrafanaContract]:
    """A server speaking Grafana's HTTP API for health, search and dashboards (see _Grafana)."""
    token = "glsa_golive-grafana-token-planted-0123456789"
    handler = type("GrafanaHandler", (_Grafana,), {"token": token})
    server = ThreadingHTTPServer((LOOPBACK, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield GrafanaContract(f"http://{LOOPBACK}:{server.server_address[1]}", token, handler)
    finally:
        server.shutdown()
        server.server_close()
