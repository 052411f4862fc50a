"""The Markdown summary: a few lines to paste into a change ticket.

Short by design: the verdict, counts per section, what blocks, what is
waived or pending, and the digest of the full report it summarises.
Every user-derived string is escaped so a checklist title cannot break
the table or inject links or HTML into the ticket.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from pytest_golive.core.results import display_status
from pytest_golive.report.html_report import ORDER, STATUS, format_when, neutralise
from pytest_golive.report.json_report import digest as document_digest

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")
MAX_LISTED = 20


def md(text: Any) -> str:
    """Escape Markdown and HTML syntax in one line of user-derived text."""
    one_line = " ".join(neutralise(str(text)).split())
    return _SPECIAL.sub(r"\\\1", one_line).replace("&", "&amp;")


def _line(r: dict[str, Any]) -> str:
    status = display_status(r)
    word = STATUS.get(status, ("", status.upper(), ""))[1]
    where = f" on `{md(r['target']).replace('`', '')}`" if r.get("target") else ""
    env = f" ({md(r['environment'])})" if r.get("environment") else ""
    evidence = ""
    if r.get("observed"):
        evidence = f": observed {md(r['observed'])}" + (f", expected {md(r['expected'])}" if r.get("expected") else "")
    elif r.get("message"):
        evidence = f": {md(str(r['message']).strip().splitlines()[0])}"
    return f"- **{word}** {md(r.get('title') or r['id'])}{env}{where}{evidence}"


def _listing(title: str, rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    out = ["", f"### {title} ({len(rows)})", ""]
    out += [_line(r) for r in rows[:MAX_LISTED]]
    if len(rows) > MAX_LISTED:
        out.append(f"- … and {len(rows) - MAX_LISTED} more (see the full report)")
    return out


def render_markdown(data: dict[str, Any], digest: str | None = None) -> str:
    results = data.get("results", [])
    verdict = data.get("verdict", {})
    word = verdict.get("verdict", "NO-GO")
    icon = "✅" if word == "GO" else "⛔"
    prov = data.get("provenance", {})
    lines = [
        f"## {icon} {word}: {md(data.get('environment', ''))}",
        "",
        f"Readiness run finished {format_when(data.get('finished'))} by {md(prov.get('run_by', 'unknown'))}"
        + (f" on {md(prov['machine'])}" if prov.get("machine") else "")
        + f", pytest-golive {md(prov.get('plugin_version', ''))}.",
    ]
    if verdict.get("reasons"):
        lines += ["", "**" + md("; ".join(verdict["reasons"])) + "**"]
    used = [s for s in ORDER if any(display_status(r) == s for r in results)]
    if results:
        lines += ["", "| Section | " + " | ".join(STATUS[s][1].title() for s in used) + " |",
                  "|---|" + "---:|" * len(used)]
        sections: dict[str, list[dict[str, Any]]] = {}
        for r in results:
            sections.setdefault(r.get("section_title") or r["section"], []).append(r)
        for title, rows in sections.items():
            counts = Counter(display_status(r) for r in rows)
            lines.append(f"| {md(title)} | " + " | ".join(str(counts[s] or "") for s in used) + " |")
    blocking = [r for r in results if r.get("blocking")]
    lines += _listing("Blocking", blocking)
    lines += _listing("Warnings", [r for r in results if display_status(r) == "warning"])
    lines += _listing("Waived", [r for r in results if display_status(r) == "waived"])
    lines += _listing("Pending, not blocking",
                      [r for r in results if display_status(r) == "manual-pending" and not r.get("blocking")])
    for err in data.get("collection_errors", []):
        lines += ["", f"- **CHECKLIST ERROR** {md(str(err.get('message', '')).splitlines()[0] if err.get('message') else '')}"]
    lines += ["", f"Report digest: `{digest or document_digest(data)}`", ""]
    return "\n".join(lines)


def write_markdown(path: Path, data: dict[str, Any], digest: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(data, digest), encoding="utf-8")
