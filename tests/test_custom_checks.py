"""Custom checks, as a check author writes them: conftest ``@check``s and marked tests.

Each test here reproduces one way a custom check went wrong (issue 20) in a
real pytest run inside pytester, and asserts what the approver sees: the
verdict, the JSON results, the terminal.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

from pytest_golive.checks.registry import REGISTRY

CONFIG = """\
checklists = ["checklist.md"]
[settings]
check_timeout = {timeout}
[environments.prod.hosts]
local = ["local://"]
"""

BROKEN_CHECK = """\
from pytest_golive import Outcome, check

@check(target="none")
def broken_lookup() -> Outcome:
    \"\"\"A check with a bug: it looks up a key that is not there.\"\"\"
    return Outcome.passed({}["missing"])
"""

CHECKLIST = """\
# Release
## Custom
- [ ] Lookup works <!-- golive: broken_lookup -->
- [ ] Enough CPUs <!-- golive: cpu min=1 -->
"""


def _project(pytester: pytest.Pytester, *, conftest: str = "", checklist: str = CHECKLIST,
             timeout: float = 30, tests: str = "") -> None:
    pytester.makefile(".toml", golive=CONFIG.format(timeout=timeout))
    pytester.makefile(".md", checklist=checklist)
    if conftest:
        pytester.makeconftest(conftest)
    if tests:
        pytester.makepyfile(test_custom=textwrap.dedent(tests))


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    """An in-process run; its result and its JSON report (checks it registered forgotten)."""
    REGISTRY.names()  # the catalog itself is loaded on first use: it must stay
    before = set(REGISTRY._checks)
    report = pytester.path / "results.json"
    if report.exists():
        report.unlink()
    try:
        result = pytester.runpytest("-p", "no:cacheprovider", "--golive=prod",
                                    f"--golive-json={report}", *args)
    finally:
        for name in set(REGISTRY._checks) - before:
            del REGISTRY._checks[name]
    return result, json.loads(report.read_text(encoding="utf-8"))


def _by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in data["results"]}


# --- finding 1: --golive-traceback never changes the verdict ------------------------------


@pytest.mark.parametrize("flag", [(), ("--golive-traceback",)], ids=["plain", "traceback"])
def test_a_check_that_raises_is_an_error_with_or_without_traceback(
        pytester: pytest.Pytester, flag: tuple[str, ...]) -> None:
    _project(pytester, conftest=BROKEN_CHECK)
    html = pytester.path / "report.html"
    result, data = _run(pytester, f"--golive-report={html}", *flag)
    item = _by_id(data)["custom/lookup-works"]
    assert (item["status"], item["blocking"]) == ("error", True)
    assert "raised KeyError" in item["observed"]
    assert data["verdict"]["verdict"] == "NO-GO"
    assert data["counts"].get("error") == 1
    assert "GOLIVE prod: NO-GO (1 blocker(s) failing)" in result.stdout.str()
    assert result.ret == 1
    assert "custom/lookup-works" in html.read_text(encoding="utf-8")
    shown = result.stdout.str()
    if flag:
        # The traceback is shown (where the check raised), and only shown.
        assert "Traceback (most recent call last)" in shown
        assert 'return Outcome.passed({}["missing"])' in shown
        assert "traceback" in item["details"]
    else:
        assert "Traceback (most recent call last)" not in shown
        assert "--golive-traceback" in item["observed"]
