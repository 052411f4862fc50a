"""The HTML readiness report: one self-contained file for the person who approves.

Rendered with Jinja2 with autoescaping on for everything: every string in
the model came from a checklist, a target or a driver message, so none of it
is trusted. The template inlines its CSS and script and loads nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from pytest_golive.core.atomic import write_atomic
from pytest_golive.core.status import Status, display_status
from pytest_golive.report.json_report import digest as document_digest
from pytest_golive.report.lines import (
    Line,
    attention,
    binding_text,
    by_section,
    compress,
    facts,
    format_seconds,
    group_lines,
    other_details,
    scope,
    unset_variables,
)

#: status -> (icon, word, short css class).
#: The word is always shown: colour is never the only signal.
STATUS = {s.value: (s.icon, s.label, s.css) for s in Status}
ORDER = list(STATUS)
#: Shown open by default: what an approver has to read.
OPEN = {"failed", "error", "not-configured", "manual-pending", "warning"}
#: Blocking items listed in the verdict banner; the rest are one filter away.
BANNER_BLOCKING = 12
#: Progress bars read left to right from done to not done.
BAR_ORDER = ["passed", "manual-attested", "waived", "skipped", "warning", "manual-pending",
             "not-configured", "error", "failed"]


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
    """One target of a line: its evidence, readable."""
    status = display_status(result)
    icon, word, css = STATUS.get(status, ("•", status.upper(), "skip"))
    return {
        "anchor": f"i{index}",
        "status": status, "icon": icon, "word": word, "css": css,
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
        "binding": binding_text(result),
        "facts": facts(result),
        "details": other_details(result),
        "where": f"{Path(str(result.get('source', ''))).name}:{result.get('line', '')}",
        "nodeid": result.get("nodeid", ""),
        "duration": result.get("duration"),
    }


def _line_view(line: Line, number: int, section_index: int, first_index: int,
               today: str | None) -> dict[str, Any]:
    icon, word, css = STATUS.get(line.status, ("•", line.status.upper(), "skip"))
    targets = [_item_view(r, first_index + i, section_index, today)
               for i, r in enumerate(line.results)]
    days = [t["waiver_days"] for t in targets if t["waiver_days"] is not None]
    groups = []
    for g in line.evidence():
        g_icon, g_word, g_css = STATUS.get(g.status, ("•", g.status.upper(), "skip"))
        groups.append({"word": g_word, "css": g_css, "icon": g_icon,
                       "targets": compress(g.targets) if any(g.targets) else "",
                       "count": len(g.targets), "observed": g.observed, "expected": g.expected,
                       "note": g.note})
    first = line.results[0]
    return {
        "anchor": f"l{number}",
        "status": line.status, "icon": icon, "word": word, "css": css,
        "open": line.status in OPEN,
        "section": section_index,
        "title": line.title, "id": line.id, "environment": line.environment,
        "sentence": line.sentence(),
        "blocking": line.blocking,
        "severity": line.severity,
        "waiver_days": min(days) if days else None,
        "duration": line.duration(),
        "binding": binding_text(first),
        "where": f"{Path(str(first.get('source', ''))).name}:{first.get('line', '')}",
        "groups": groups,
        "targets": targets,
        "several": len(targets) > 1,
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
    today = (data.get("options") or {}).get("today")
    all_lines = group_lines(data.get("results", []))
    views: dict[tuple[str, str], dict[str, Any]] = {}
    sections = []
    index = 0
    for s_index, section in enumerate(by_section(all_lines)):
        rows = []
        counts: Counter[str] = Counter()
        for line in section.lines:
            view = _line_view(line, len(views), s_index, index, today)
            index += len(line.results)
            views[line.key] = view
            rows.append(view)
            counts[view["status"]] += 1
        sections.append({"index": s_index, "name": section.name, "title": section.title,
                         "rows": rows, "counts": counts, "total": len(rows),
                         "items": sum(len(v["targets"]) for v in rows),
                         "segments": _segments(counts, len(rows)),
                         "done": sum(counts[s] for s in DONE)})
    counts = Counter(view["status"] for view in views.values())
    total = sum(counts.values())
    item_counts = Counter(display_status(r) for r in data.get("results", []))
    verdict = data.get("verdict", {})
    attend = attention(all_lines)

    def brief(line: Line) -> dict[str, Any]:
        view = views[line.key]
        return {"anchor": view["anchor"], "title": line.title, "id": line.id,
                "environment": line.environment, "word": view["word"], "css": view["css"],
                "sentence": view["sentence"]}

    failing = [{"title": s.title, "lines": [brief(line) for line in s.lines]}
               for s in attend.failing]
    shown, budget = [], BANNER_BLOCKING
    for group in failing:
        if budget <= 0:
            break
        shown.append({**group, "lines": group["lines"][:budget]})
        budget -= len(group["lines"])
    failing_total = sum(len(g["lines"]) for g in failing)
    return {
        "data": data,
        "verdict": verdict.get("verdict", "NO-GO"),
        "reasons": verdict.get("reasons", []),
        "failing": shown,
        "failing_more": max(failing_total - BANNER_BLOCKING, 0),
        "not_configured": [brief(line) for line in attend.not_configured],
        "unset": unset_variables(attend.not_configured),
        "expired": [brief(line) for line in attend.expired_waivers],
        "pending": [brief(line) for line in attend.pending],
        "sign_command": attend.sign_command(all_lines),
        "warnings": [brief(line) for line in attend.warnings],
        "sections": sections,
        "counts": [{"status": s, "icon": STATUS[s][0], "word": STATUS[s][1], "css": STATUS[s][2],
                    "count": counts[s]} for s in ORDER if counts.get(s)],
        "item_counts": [{"word": STATUS[s][1], "count": item_counts[s]}
                        for s in ORDER if item_counts.get(s)],
        "segments": _segments(counts, total),
        "total": total,
        "items_total": len(data.get("results", [])),
        "run_seconds": _run_seconds(data),
        "digest": digest or document_digest(data),
        "signature": signature,
        "baseline": data.get("baseline"),
        "runs": data.get("runs", []),
        "scope": scope(data.get("targets", [])),
        "change": data.get("change") or {},
        "environments": sorted({r["environment"] for r in data.get("results", [])
                                if r.get("environment")}),
    }


#: Line statuses that count as done in a section's progress.
DONE = ("passed", "manual-attested", "waived", "skipped")


def render_html(data: dict[str, Any], digest: str | None = None,
                signature: dict[str, Any] | None = None) -> str:
    """The report as one HTML document (a string)."""
    template = _environment().get_template("report.html.j2")
    return template.render(**build_view(data, digest, signature))


def write_html(path: Path, data: dict[str, Any], digest: str | None = None,
               signature: dict[str, Any] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, render_html(data, digest, signature))
