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

from pytest_golive.core.atomic import write_atomic
from pytest_golive.core.status import display_status
from pytest_golive.report.html_report import ORDER, STATUS, format_when, neutralise
from pytest_golive.report.json_report import digest as document_digest
from pytest_golive.report.lines import (
    Line,
    attention,
    by_section,
    group_lines,
    scope,
    unset_variables,
)

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")
MAX_LISTED = 20


def md(text: Any) -> str:
    """Escape Markdown and HTML syntax in one line of user-derived text."""
    one_line = " ".join(neutralise(str(text)).split())
    return _SPECIAL.sub(r"\\\1", one_line).replace("&", "&amp;")


def _line_entry(line: Line) -> str:
    word = STATUS.get(line.status, ("", line.status.upper(), ""))[1]
    env = f" ({md(line.environment)})" if line.environment else ""
    return f"- **{word}** {md(line.title)}{env} (id {md(line.id)}): {md(line.sentence())}"


def _listing(title: str, lines: list[Line]) -> list[str]:
    if not lines:
        return []
    out = ["", f"### {title} ({len(lines)})", ""]
    out += [_line_entry(line) for line in lines[:MAX_LISTED]]
    if len(lines) > MAX_LISTED:
        out.append(f"- … and {len(lines) - MAX_LISTED} more (see the full report)")
    return out


def _scope_and_change(data: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if data.get("environment_description"):
        out.append(f"- **Environment:** {md(data['environment'])}: "
                   f"{md(data['environment_description'])}")
    for kind in scope(data.get("targets", [])):
        shown = ", ".join(f"{md(name)} ({md(address)})" if address and address != name else md(name)
                          for name, address in kind.targets[:8])
        more = f" and {len(kind.targets) - 8} more" if len(kind.targets) > 8 else ""
        out.append(f"- **{kind.title} ({len(kind.targets)}):** {shown}{more}")
    change = data.get("change") or {}
    for key, label in (("ticket", "Change"), ("release", "Release"), ("git_commit", "Commit")):
        if change.get(key):
            out.append(f"- **{label}:** {md(change[key])}")
    pipeline = change.get("pipeline") or {}
    if pipeline.get("system"):
        run = pipeline.get("run_id") or ""
        url = f" <{md(pipeline['url'])}>" if pipeline.get("url") else ""
        out.append(f"- **Pipeline:** {md(pipeline['system'])}" + (f" run {md(run)}" if run else "")
                   + url)
    return ["", *out] if out else []


def render_markdown(data: dict[str, Any], digest: str | None = None) -> str:
    results = data.get("results", [])
    verdict = data.get("verdict", {})
    word = verdict.get("verdict", "NO-GO")
    icon = "✅" if word == "GO" else "⛔"
    prov = data.get("provenance", {})
    lines = [
        f"## {icon} {word}: {md(data.get('environment', ''))}",
        "",
        f"Readiness run finished {format_when(data.get('finished'))} "
        f"by {md(prov.get('run_by', 'unknown'))}"
        + (f" on {md(prov['machine'])}" if prov.get("machine") else "")
        + f", pytest-golive {md(prov.get('plugin_version', ''))}.",
    ]
    if verdict.get("reasons"):
        lines += ["", "**" + md("; ".join(verdict["reasons"])) + "**"]
    lines += _scope_and_change(data)
    checklist_lines = group_lines(results)
    attend = attention(checklist_lines)
    # What blocks, first: failing blockers by section, expired waivers, pending, warnings.
    for section in attend.failing:
        lines += _listing(f"Blocking: {md(section.title)}", section.lines)
    if attend.not_configured:
        names = unset_variables(attend.not_configured)
        lines += ["", f"### Not configured ({len(attend.not_configured)})", "",
                  f"Waiting for {len(names)} variable{'s' if len(names) != 1 else ''}: "
                  f"{md(', '.join(names))} (set them in "
                  f"\\[environments.{md(data.get('environment', ''))}.vars\\] or export them)."]
        lines += _listing("Not configured: lines", attend.not_configured)[2:]
    lines += _listing("Blocking: expired waivers", attend.expired_waivers)
    if attend.pending:
        n = len(attend.pending)
        lines += ["", f"### Pending sign-offs ({n})", "",
                  f"{n} line{'s' if n != 1 else ''} wait{'s' if n == 1 else ''} for a person's "
                  "sign-off. Sign them with one command (it lists them and asks first):", "",
                  "```", attend.sign_command(checklist_lines).replace("`", "'"), "```"]
    lines += _listing("Warnings", attend.warnings)
    lines += _listing("Waived", [line for line in checklist_lines
                                 if line.attention is None and line.status == "waived"])
    used = [s for s in ORDER if any(display_status(r) == s for r in results)]
    if results:
        lines += ["", "### By section", "",
                  "| Section | Lines | " + " | ".join(STATUS[s][1].title() for s in used) + " |",
                  "|---|---:|" + "---:|" * len(used)]
        for section in by_section(checklist_lines):
            rows = [r for line in section.lines for r in line.results]
            counts = Counter(display_status(r) for r in rows)
            lines.append(f"| {md(section.title)} | {len(section.lines)} | "
                         + " | ".join(str(counts[s] or "") for s in used) + " |")
    for err in data.get("collection_errors", []):
        first = str(err.get("message") or "").splitlines()
        lines += ["", f"- **CHECKLIST ERROR** {md(first[0] if first else '')}"]
    for att in data.get("stale_attestations", []):
        lines += ["", f"- **STALE ATTESTATION** {md(att.get('item', ''))} matched no item "
                      f"({md(att.get('source', ''))}): remove it"]
    lines += ["", f"Report digest: `{digest or document_digest(data)}`", ""]
    return "\n".join(lines)


def write_markdown(path: Path, data: dict[str, Any], digest: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, render_markdown(data, digest))
