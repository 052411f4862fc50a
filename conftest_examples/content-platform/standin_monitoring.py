"""STAND-INS for the platform's monitoring stack and CI reports (used by standin.py).

No Prometheus, Alertmanager or Grafana of the platform runs here. The stand-in
HTTP server answers their API paths with recorded documents in the shape the
real components answer (``standin/monitoring/``), under a prefix per component:

* ``/prometheus/api/v1/targets``, ``/rules``, ``/alerts`` and ``/query`` (an
  instant query answers the current time, as a scraped series would);
* ``/alertmanager/api/v2/status`` and ``/silences``;
* ``/grafana/api/health`` and ``/grafana/api/search`` (this one, like Grafana,
  answers 401 without ``Authorization: Bearer ...``).

The pipeline's reports are laid out under ``ci/``: a JUnit report of the
integration, contract and end-to-end suites (stamped with the time it is laid
out, as a fresh CI run would be) and the image's Trivy scan.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
RECORDED = HERE / "standin" / "monitoring"

Answer = tuple[int, str, bytes]

_FILES = {
    "/prometheus/api/v1/targets": "targets.json",
    "/prometheus/api/v1/rules": "rules.json",
    "/prometheus/api/v1/alerts": "alerts.json",
    "/alertmanager/api/v2/status": "alertmanager-status.json",
    "/alertmanager/api/v2/silences": "alertmanager-silences.json",
    "/grafana/api/health": "grafana-health.json",
}


def prepare_ci(root: Path) -> None:
    ci = root / "ci"
    ci.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).isoformat()
    text = (HERE / "standin" / "ci" / "junit.xml").read_text(encoding="utf-8")
    (ci / "junit.xml").write_text(text.replace("{timestamp}", stamp), encoding="utf-8")
    shutil.copy(HERE / "standin" / "ci" / "trivy.json", ci / "trivy.json")


def _json(data: object, status: int = 200) -> Answer:
    return status, "application/json", json.dumps(data).encode()


def answer(path: str, headers: dict[str, str]) -> Answer | None:
    """The recorded answer for a monitoring API path, or None for other paths."""
    url = urlsplit(path)
    if url.path in _FILES:
        return 200, "application/json", (RECORDED / _FILES[url.path]).read_bytes()
    if url.path == "/prometheus/api/v1/query":
        query = parse_qs(url.query).get("query", [""])[0]
        if not query.startswith("timestamp("):
            return _json(
                {"status": "error", "errorType": "bad_data", "error": "stand-in: timestamp() only"},
                400,
            )
        now = time.time()
        series = [
            {
                "metric": {
                    "job": "content-generator",
                    "instance": f"content-generator-{i}.halcytone:8000",
                },
                "value": [now, f"{now - 5:.3f}"],
            }
            for i in range(3)
        ]
        return _json({"status": "success", "data": {"resultType": "vector", "result": series}})
    if url.path == "/grafana/api/search":
        if not headers.get("Authorization", "").startswith("Bearer "):
            return _json({"message": "Unauthorized"}, 401)
        query = parse_qs(url.query)
        found = json.loads((RECORDED / "grafana-search.json").read_text(encoding="utf-8"))
        text = query.get("query", [""])[0].lower()
        found = [d for d in found if text in d["title"].lower()]
        if "dashboardUIDs" in query:
            found = [d for d in found if d["uid"] in query["dashboardUIDs"]]
        return _json(found)
    return None
