"""The terminal summary's table: every header readable, counts under their headers."""

from __future__ import annotations

from typing import Any

from pytest_golive.core.results import RunResults
from pytest_golive.report.terminal import write_summary


class Lines:
    """Stands in for pytest's terminal reporter: it only collects what is written."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write_sep(self, sep: str, title: str, **kw: Any) -> None:
        self.lines.append(f"{sep * 3} {title} {sep * 3}")

    def write_line(self, line: str, **kw: Any) -> None:
        self.lines.extend(line.splitlines())


def _record(i: int, status: str) -> dict[str, Any]:
    return {"nodeid": f"c.md::infra/line-{i}", "id": f"infra/line-{i}", "section": "infra",
            "section_title": "Infrastructure", "title": f"line {i}", "status": status,
            "blocking": status != "passed", "severity": "blocker", "target": None,
            "observed": "", "expected": "", "message": "", "kind": "checklist",
            "details": {}, "check": "cpu", "source": "c.md", "line": i, "order": i}


def test_no_two_headers_run_together() -> None:
    results = RunResults(environment="prod", started="2026-12-01T00:00:00+00:00")
    for i, status in enumerate(["failed", "not-configured", "not-configured", "passed"]):
        results.add(_record(i, status))
    tr = Lines()
    write_summary(tr, results)
    header = next(ln for ln in tr.lines if ln.startswith("section"))
    words = header.split()
    assert "failed" in words and "not-configured" in words, header
    row = next(ln for ln in tr.lines if ln.startswith("Infrastructure"))  # the heading
    # Each count stands right-aligned under the end of its own header.
    for word, count in (("failed", "1"), ("not-configured", "2"), ("passed", "1")):
        end = header.index(word) + len(word)
        assert row[end - 1] == count, (header, row)


def test_a_heading_with_an_emoji_keeps_the_counts_under_their_headers() -> None:
    results = RunResults(environment="prod", started="2026-12-01T00:00:00+00:00")
    for i, title in enumerate(["\U0001f510 Security", "Hardware"]):
        results.add({**_record(i, "passed"), "section": f"s{i}", "section_title": title})
    tr = Lines()
    write_summary(tr, results)
    header = next(ln for ln in tr.lines if ln.startswith("section"))
    rows = [ln for ln in tr.lines if ln.startswith(("\U0001f510", "Hardware"))]
    end = header.index("passed") + len("passed")
    # the emoji takes two columns: its row is one character shorter for the same place
    assert rows[0][end - 2] == "1" and rows[1][end - 1] == "1", (header, rows)
