"""The terminal summary: counts per section and the verdict line."""

from __future__ import annotations

from typing import Any

from pytest_golive.core.results import RunResults, display_status

COLUMNS = ("passed", "failed", "error", "warning", "waived", "manual-pending", "manual-attested", "skipped")
HEADERS = {"manual-pending": "pending", "manual-attested": "attested"}


def verdict_line(results: RunResults) -> str:
    v = results.verdict
    if v["verdict"] == "GO":
        return f"GOLIVE {results.environment}: GO"
    blocking = v["blocking"]
    reasons = "; ".join(v["reasons"])
    line = f"GOLIVE {results.environment}: NO-GO ({reasons})"
    if blocking:
        shown = ", ".join(_short(n) for n in blocking[:5])
        more = f" and {len(blocking) - 5} more" if len(blocking) > 5 else ""
        line += f"\n  blocking: {shown}{more}"
    return line


def _short(nodeid: str) -> str:
    """A checklist item without its file (its id names it); a Python test in full,
    since a test name alone can belong to several files."""
    path, sep, rest = nodeid.partition("::")
    return nodeid if path.endswith(".py") or not sep else rest


def write_summary(tr: Any, results: RunResults, reportchars: str = "",
                  round_trips: dict[str, int] | None = None) -> None:
    """Write the golive section of pytest's terminal summary.

    ``round_trips`` (with ``-v``): remote commands sent to each host by this
    process, so the cost of a checklist per host can be seen.
    """
    tr.write_sep("=", f"golive readiness: {results.environment}")
    sections = results.by_section()
    if sections:
        width = max(len(s) for s in sections) + 2
        used = [c for c in COLUMNS if any(display_status(r) == c for r in results.results)]
        tr.write_line("section".ljust(width) + "".join(HEADERS.get(c, c).rjust(10) for c in used))
        for name, rows in sections.items():
            counts = {c: sum(1 for r in rows if display_status(r) == c) for c in used}
            tr.write_line(name.ljust(width) + "".join(str(counts[c] or "").rjust(10) for c in used))
    for err in results.collection_errors:
        tr.write_line(f"checklist error: {err['message'].splitlines()[0]}", red=True)
    for w in results.stale_waivers:
        tr.write_line(f"stale waiver: '{w['item']}' matched no item ({w['source']}); remove it", yellow=True)
    _reasons(tr, results, everything=any(ch in reportchars for ch in "aAwWpP"))
    if round_trips:
        shown = ", ".join(f"{name} {n}" for name, n in sorted(round_trips.items()))
        tr.write_line(f"remote commands per host: {shown}")
    line = verdict_line(results)
    go = results.verdict["verdict"] == "GO"
    tr.write_line(line, green=go, red=not go, bold=True)


def _reasons(tr: Any, results: RunResults, everything: bool) -> None:
    """Why each waived, pending, warning and attested item is what it is.

    Shown with ``-r`` a/A/w/p; pending items that block are always shown,
    since pytest's failure section does not list them and the reason says
    how to attest.
    """
    rows = [r for r in results.results
            if display_status(r) in ("waived", "manual-pending", "warning", "manual-attested")
            and (everything or (r["status"] == "manual-pending" and r.get("blocking")))]
    if not rows:
        return
    title = "waived, pending, warning and attested items" if everything else "pending manual items"
    tr.write_sep("-", f"golive: {title}")
    for r in rows:
        word = {"waived": "WAIVED", "manual-pending": "PENDING", "warning": "WARN",
                "manual-attested": "ATTESTED"}[display_status(r)]
        reason = (r.get("message") or r.get("observed") or "").splitlines()
        tr.write_line(f"{word} {_short(r['nodeid'])} - {reason[0] if reason else ''}")

