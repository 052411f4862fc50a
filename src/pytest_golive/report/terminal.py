"""The terminal summary: counts per section and the verdict line."""

from __future__ import annotations

import unicodedata
from typing import Any

from pytest_golive.core.results import RunResults
from pytest_golive.core.status import Status, display_status

#: Summary columns, in this order; each status's header comes from core/status.py.
COLUMNS = tuple(s.value for s in (
    Status.PASSED, Status.FAILED, Status.ERROR, Status.NOT_CONFIGURED, Status.WARNING,
    Status.WAIVED, Status.MANUAL_PENDING, Status.MANUAL_ATTESTED, Status.SKIPPED))
HEADERS = {s.value: s.header for s in Status}


def verdict_line(results: RunResults) -> str:
    v = results.verdict
    if v["verdict"] == "GO":
        return f"GOLIVE {results.environment}: GO"
    blocking = v["blocking"]
    reasons = "; ".join(v["reasons"])
    line = f"GOLIVE {results.environment}: NO-GO ({reasons})"
    if blocking:
        records = {r["nodeid"]: r for r in results.results}
        shown = ", ".join(_label(records.get(n), n) for n in blocking[:5])
        more = f" and {len(blocking) - 5} more" if len(blocking) > 5 else ""
        line += f"\n  blocking: {shown}{more}"
    return line


def _label(record: dict[str, Any] | None, nodeid: str) -> str:
    """An item by its checklist id (the user's ``id=`` where given) and target: the
    same in a serial run and under xdist, and what ``golive attest`` and waivers take."""
    if record is None or not record.get("id"):
        return _short(nodeid)
    return str(record["id"]) + (f"[{record['target']}]" if record.get("target") else "")


def _short(nodeid: str) -> str:
    """A checklist item without its file (its id names it); a Python test in full,
    since a test name alone can belong to several files."""
    path, sep, rest = nodeid.partition("::")
    return nodeid if path.endswith(".py") or not sep else rest


def columns(text: str) -> int:
    """Terminal columns ``text`` takes: a heading's emoji or CJK character takes two."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def write_summary(tr: Any, results: RunResults, reportchars: str = "",
                  round_trips: dict[str, int] | None = None) -> None:
    """Write the golive section of pytest's terminal summary.

    ``round_trips`` (with ``-v``): remote commands sent to each host by this
    process, so the cost of a checklist per host can be seen.
    """
    tr.write_sep("=", f"golive readiness: {results.environment}")
    # each section by its heading as written ("Sign-off"), as in every other report
    sections: dict[str, list[dict[str, Any]]] = {}
    for name, rows in results.by_section().items():
        title = str(rows[0].get("section_title") or name)
        sections[title if title not in sections else name] = rows  # two alike: the name too
    if sections:
        width = max(columns(s) for s in sections) + 2
        used = [c for c in COLUMNS if any(display_status(r) == c for r in results.results)]
        # Each column as wide as its header plus a space, so no two headers run together.
        widths = {c: max(10, len(HEADERS.get(c, c)) + 2) for c in used}
        tr.write_line("section".ljust(width)
                      + "".join(HEADERS.get(c, c).rjust(widths[c]) for c in used))
        for name, rows in sections.items():
            counts = {c: sum(1 for r in rows if display_status(r) == c) for c in used}
            tr.write_line(name + " " * (width - columns(name))
                          + "".join(str(counts[c] or "").rjust(widths[c]) for c in used))
    for err in results.collection_errors:
        tr.write_line(f"checklist error: {err['message'].splitlines()[0]}", red=True)
    for w in results.stale_waivers:
        tr.write_line(f"stale waiver: '{w['item']}' matched no item ({w['source']}); remove it",
                      yellow=True)
    for a in results.stale_attestations:
        tr.write_line(f"stale attestation: '{a['item']}' (by {a['by']}) matched no item "
                      f"({a.get('source', '')}); remove it or correct the id", yellow=True)
    _reasons(tr, results, everything=any(ch in reportchars for ch in "aAwWpP"))
    if round_trips:
        shown = ", ".join(f"{name} {n}" for name, n in sorted(round_trips.items()))
        tr.write_line(f"remote commands per host: {shown}")
    line = verdict_line(results)
    go = results.verdict["verdict"] == "GO"
    tr.write_line(line, green=go, red=not go, bold=True)


def _reasons(tr: Any, results: RunResults, everything: bool) -> None:
    """What needs attention, one line per checklist line, in the order an approver reads it.

    Failing and erroring blockers (by section), expired waivers, then pending
    sign-offs -- counted, collapsed to one line with the one command that
    signs them all (listed one by one with ``-rp``/``-ra``) -- then warnings.
    With ``-r`` a/A/w also waived and attested lines.
    """
    from pytest_golive.report.lines import attention, group_lines, unset_variables

    lines = group_lines(results.results)
    attend = attention(lines)
    if not (attend.failing or attend.not_configured or attend.expired_waivers or attend.pending
            or attend.warnings or everything):
        return
    blocks = bool(attend.failing or attend.not_configured or attend.expired_waivers
                  or any(x.blocking for x in attend.pending))
    tr.write_sep(
        "-", "golive: what blocks the release, first" if blocks else "golive: needs attention"
    )
    for section in attend.failing:
        tr.write_line(f"{section.title}:", bold=True)
        for line in section.lines:
            word = Status.of(line.status).label
            tr.write_line(f"  {word} {line.id}  {line.title} - {line.sentence()}", red=True)
    if attend.not_configured:
        n = len(attend.not_configured)
        names = unset_variables(attend.not_configured)
        tr.write_line(f"NOT CONFIGURED {n} line{'s' if n != 1 else ''}, waiting for "
                      f"{len(names)} variable{'s' if len(names) != 1 else ''}: "
                      f"{', '.join(names)} (set them in [environments.{results.environment}.vars] "
                      "or export them)",
                      red=True)
        shown = attend.not_configured if everything else attend.not_configured[:NOT_CONFIGURED]
        for line in shown:
            tr.write_line(f"  NOT CONFIGURED {line.id}  {line.title}")
        if len(shown) < n:
            tr.write_line(f"  ... and {n - len(shown)} more (-rA lists them)")
    for line in attend.expired_waivers:
        tr.write_line(f"EXPIRED WAIVER {line.id}  {line.title} - {line.sentence()}", red=True)
    if attend.pending:
        n = len(attend.pending)
        free = sum(1 for line in attend.pending if not line.blocking)
        note = f"; {free} of them do{'es' if free == 1 else ''} not block" if free else ""
        tr.write_line(f"PENDING {n} sign-off{'s' if n != 1 else ''} "
                      f"({_by_section(attend.pending)}{note}); sign them with:", yellow=True)
        tr.write_line(f"  {attend.sign_command(lines)}")
        for line in attend.pending:
            # a sign-off that lapsed says why, even collapsed: someone signed it once
            lapsed = next((r.get("message") for r in line.results if r.get("attestation")), None)
            if everything or lapsed:
                note = f" - {lapsed.strip().splitlines()[0]}" if lapsed else ""
                tr.write_line(f"  PENDING {line.id}  {line.title}{note}")
    for line in attend.warnings:
        tr.write_line(f"WARN {line.id}  {line.title} - {line.sentence()}", yellow=True)
    if everything:
        _item_reasons(tr, results)


def _item_reasons(tr: Any, results: RunResults) -> None:
    """With ``-r`` a/A/w/p: why each waived, pending, warning and attested item is what it is,
    one line per item and target, with the decision's own words."""
    rows = [r for r in results.results
            if display_status(r) in ("waived", "manual-pending", "warning", "manual-attested")]
    if not rows:
        return
    tr.write_sep("-", "golive: waived, pending, warning and attested items")
    for r in rows:
        word = Status(display_status(r)).verbose
        reason = (r.get("message") or r.get("observed") or "").splitlines()
        tr.write_line(f"{word} {_short(r['nodeid'])} - {reason[0] if reason else ''}")


#: Not-configured lines listed by default; the variables they wait for are always named.
NOT_CONFIGURED = 5


def _by_section(lines: list[Any]) -> str:
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.section_title] = counts.get(line.section_title, 0) + 1
    return ", ".join(f"{title} {n}" for title, n in counts.items())
