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


def pytest_html_results_table_row(report: Any, cells: list[str]) -> None:
    record = getattr(report, "golive", None) or {}
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
