"""The HTML readiness report: one self-contained file for the person who approves.

Rendered with Jinja2 with autoescaping on for everything: every string in
the model came from a checklist, a target or a driver message, so none of it
is trusted. The template inlines its CSS and script and loads nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from pytest_golive.core.results import display_status
from pytest_golive.report.json_report import digest as document_digest

#: status -> (icon, word, short css class). The word is always shown: colour is never the only signal.
STATUS = {
    "failed": ("✗", "FAILED", "fail"),
    "error": ("⚠", "ERROR", "err"),
    "manual-pending": ("?", "PENDING", "pend"),
    "warning": ("!", "WARNING", "warn"),
    "waived": ("⊘", "WAIVED", "waiv"),
    "manual-attested": ("✎", "ATTESTED", "att"),
    "passed": ("✓", "PASSED", "pass"),
    "skipped": ("–", "SKIPPED", "skip"),
}
ORDER = list(STATUS)
#: Shown open by default: what an approver has to read.
OPEN = {"failed", "error", "manual-pending", "warning"}
#: Blocking items listed in the verdict banner; the rest are one filter away.
BANNER_BLOCKING = 12
#: Progress bars read left to right from done to not done.
BAR_ORDER = ["passed", "manual-attested", "waived", "skipped", "warning", "manual-pending", "error", "failed"]


#: Bidirectional-text controls let a string display reversed ("gnp.exe" as "exe.png"):
#: shown as a visible replacement character instead, in every rendered value.
_BIDI = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F], "\ufffd")


def neutralise(value: Any) -> Any:
    return value.translate(_BIDI) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        finalize=neutralise,
        loader=jinja2.PackageLoader("pytest_golive.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.ChainableUndefined,
    )
    env.filters["when"] = format_when
    env.filters["secs"] = format_seconds
    return env


def format_when(value: str | None) -> str:
    """``2026-11-23T10:51:03+00:00`` -> ``2026-11-23 10:51:03 UTC``."""
    if not value:
        return "unknown"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC)
    return parsed.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if parsed.tzinfo else "")


def format_seconds(value: float | int | None) -> str:
    if value is None:
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def _run_seconds(data: dict[str, Any]) -> float | None:
    try:
        start = dt.datetime.fromisoformat(data["started"])
        end = dt.datetime.fromisoformat(data["finished"])
    except (KeyError, TypeError, ValueError):
        return None
    return max((end - start).total_seconds(), 0.0)


#: A waiver ending this soon is flagged: the approver should know the exception is about to lapse.
WAIVER_WARN_DAYS = 14


def _days_left(waiver: dict[str, Any] | None, today: str | None) -> int | None:
    if not waiver or waiver.get("expired") or not waiver.get("expires") or not today:
        return None
    try:
        days = (dt.date.fromisoformat(waiver["expires"]) - dt.date.fromisoformat(today)).days
    except ValueError:
        return None
    return days if days <= WAIVER_WARN_DAYS else None


def _item_view(result: dict[str, Any], index: int, section_index: int,
               today: str | None = None) -> dict[str, Any]:
    status = display_status(result)
    icon, word, css = STATUS.get(status, ("•", status.upper(), "skip"))
    params = result.get("params") or {}
    details = result.get("details") or {}
    return {
        "anchor": f"i{index}",
        "status": status, "icon": icon, "word": word, "css": css,
        "open": status in OPEN,
        "section": section_index,
        "title": result.get("title") or result.get("id", ""),
        "id": result.get("id", ""),
        "environment": result.get("environment"),
        "target": result.get("target") or "",
        "severity": result.get("severity", ""),
        "blocking": bool(result.get("blocking")),
        "observed": result.get("observed") or "",
        "expected": result.get("expected") or "",
        "message": result.get("message") or "",
        "waiver": result.get("waiver"),
        "waiver_days": _days_left(result.get("waiver"), today),
        "attestation": result.get("attestation"),
        "check": result.get("check"),
        "params": " ".join(f"{k}={v}" for k, v in params.items()),
        "details": json.dumps(details, ensure_ascii=False, sort_keys=True) if details else "",
        "where": f"{Path(str(result.get('source', ''))).name}:{result.get('line', '')}",
        "nodeid": result.get("nodeid", ""),
        "duration": result.get("duration"),
    }


def _segments(counts: dict[str, int], total: int) -> list[dict[str, Any]]:
    return [
        {"status": s, "css": STATUS[s][2], "word": STATUS[s][1].lower(), "count": counts[s],
         "pct": round(100 * counts[s] / total, 3)}
        for s in BAR_ORDER if counts.get(s)
    ] if total else []


def build_view(data: dict[str, Any], digest: str | None = None,
               signature: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the template shows, computed once (the template only lays it out)."""
    sections: dict[str, dict[str, Any]] = {}
    anchors: dict[str, str] = {}
    for index, result in enumerate(data.get("results", [])):
        name = result.get("section", "")
        if name not in sections:
            sections[name] = {"index": len(sections), "name": name,
                              "title": result.get("section_title") or name, "rows": [],
                              "counts": Counter()}
        section = sections[name]
        view = _item_view(result, index, section["index"], (data.get("options") or {}).get("today"))
        section["rows"].append(view)
        section["counts"][view["status"]] += 1
        anchors.setdefault(result.get("nodeid", ""), view["anchor"])
    for section in sections.values():
        total = len(section["rows"])
        section["total"] = total
        section["segments"] = _segments(section["counts"], total)
        section["done"] = sum(section["counts"][s] for s in ("passed", "manual-attested", "waived", "skipped"))
    counts = Counter(display_status(r) for r in data.get("results", []))
    total = sum(counts.values())
    by_nodeid = {r.get("nodeid"): r for r in data.get("results", [])}
    verdict = data.get("verdict", {})
    blocking = []
    for nodeid in verdict.get("blocking", []):
        r = by_nodeid.get(nodeid, {})
        blocking.append({"anchor": anchors.get(nodeid, ""), "title": r.get("title") or nodeid,
                         "target": r.get("target") or "", "environment": r.get("environment"),
                         "word": STATUS.get(display_status(r), ("", "FAILED", ""))[1] if r else "FAILED",
                         "evidence": _evidence(r)})
    return {
        "data": data,
        "verdict": verdict.get("verdict", "NO-GO"),
        "reasons": verdict.get("reasons", []),
        "blocking": blocking[:BANNER_BLOCKING],
        "blocking_more": max(len(blocking) - BANNER_BLOCKING, 0),
        "sections": list(sections.values()),
        "counts": [{"status": s, "icon": STATUS[s][0], "word": STATUS[s][1], "css": STATUS[s][2],
                    "count": counts[s]} for s in ORDER if counts.get(s)],
        "segments": _segments(counts, total),
        "total": total,
        "run_seconds": _run_seconds(data),
        "digest": digest or document_digest(data),
        "signature": signature,
        "baseline": data.get("baseline"),
        "runs": data.get("runs", []),
        "environments": sorted({r["environment"] for r in data.get("results", []) if r.get("environment")}),
    }


def _evidence(result: dict[str, Any]) -> str:
    observed, expected = result.get("observed") or "", result.get("expected") or ""
    if observed:
        return f"observed {observed}" + (f", expected {expected}" if expected else "")
    message = (result.get("message") or "").strip()
    return message.splitlines()[0] if message else ""


def render_html(data: dict[str, Any], digest: str | None = None,
                signature: dict[str, Any] | None = None) -> str:
    """The report as one HTML document (a string)."""
    template = _environment().get_template("report.html.j2")
    return template.render(**build_view(data, digest, signature))


def write_html(path: Path, data: dict[str, Any], digest: str | None = None,
               signature: dict[str, Any] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data, digest, signature), encoding="utf-8")
