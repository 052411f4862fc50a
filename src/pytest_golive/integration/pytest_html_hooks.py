"""pytest-html hooks: golive columns in its table and the verdict in its summary.

Registered only when pytest-html is active in a readiness run (see
``register_report_hooks``), so the plugin does not depend on its hook specs.
Every cell is escaped here: pytest-html inserts the strings as HTML.
"""

from __future__ import annotations

from html import escape
from typing import Any

COLUMNS = ("Section", "Target", "Severity", "Evidence")


def pytest_html_results_table_header(cells: list[str]) -> None:
    at = min(2, len(cells))
    for offset, title in enumerate(COLUMNS):
        cells.insert(
            at + offset,
            f'<th class="sortable" data-column-type="golive{title.lower()}">{title}</th>',
        )


#: golive status -> the outcome pytest-html counts and filters a row under (its own
#: outcome keys are lower-case words; these are added to them).
EXTRA_OUTCOMES = {"waived": "Waived", "attested": "Attested", "pending": "Pending",
                  "warning": "Warnings"}


def outcome_word(record: dict[str, Any] | None) -> str | None:
    """The outcome a golive item is shown and counted under, or None to keep pytest's."""
    if not record:
        return None
    status, blocking = record.get("status"), bool(record.get("blocking"))
    if status in ("failed", "error") and not blocking:
        return "Warning"
    return {"error": "Error", "failed": "Failed", "waived": "Waived",
            "manual-attested": "Attested", "manual-pending": "Pending",
            "passed": "Passed", "skipped": "Skipped"}.get(str(status))


def pytest_sessionstart(session: Any) -> None:
    """Count rows under golive's words: an erroring check as an error, a waived one as waived."""
    from pytest_golive.core import compat

    data = compat.pytest_html_report_data(session.config)
    if data is None or getattr(data, "golive_outcomes", False):
        return
    for key, label in EXTRA_OUTCOMES.items():
        compat.pytest_html_add_outcome(data, key, label)
    original = data.add_test

    def add_test(test_data: Any, report: Any, outcome: str, logs: Any) -> Any:
        word = outcome_word(getattr(report, "golive", None)) if report.when == "call" else None
        return original(test_data, report, word or outcome, logs)

    data.add_test = add_test
    data.golive_outcomes = True


def pytest_html_results_table_row(report: Any, cells: list[str]) -> None:
    record = getattr(report, "golive", None) or {}
    word = outcome_word(record) if getattr(report, "when", "call") == "call" else None
    if word and cells and 'class="col-result"' in cells[0]:
        cells[0] = f'<td class="col-result">{word}</td>'
    observed, expected = record.get("observed") or "", record.get("expected") or ""
    evidence = (
        f"observed {observed}" + (f", expected {expected}" if expected else "")
        if observed
        else (
            (record.get("message") or "").strip().splitlines()[0] if record.get("message") else ""
        )
    )
    values = (
        record.get("section_title") or record.get("section") or "",
        record.get("target") or "",
        record.get("severity") or "",
        evidence,
    )
    at = min(2, len(cells))
    for offset, value in enumerate(values):
        cells.insert(at + offset, f'<td class="col-golive">{escape(str(value))}</td>')


def pytest_html_results_summary(prefix: list[str], summary: list[str], postfix: list[str],
                                session: Any) -> None:
    from pytest_golive.integration import session as gsession
    from pytest_golive.report.terminal import verdict_line

    gs = gsession.get(session.config)
    if gs is None:
        return
    go = gs.results.verdict["verdict"] == "GO"
    colour = "#1a7f37" if go else "#cf222e"
    text = escape(verdict_line(gs.results)).replace("\n", "<br>")
    prefix.append(
        f'<p class="golive-verdict" style="font-size:1.3em;font-weight:bold;color:{colour}">'
        f"{'✓' if go else '✗'} {text}</p>"
    )
    from pytest_golive.report.html_report import ORDER, STATUS

    counts = gs.results.counts()
    words = ", ".join(f"{counts[s]} {STATUS[s][1].lower()}" for s in ORDER if counts.get(s))
    prefix.append(f'<p class="golive-counts">golive: {escape(words)}</p>')
