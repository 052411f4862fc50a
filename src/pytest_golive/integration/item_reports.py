"""pytest's report of a golive item: its record, an outcome that agrees, properties, masking.

Each test report of a readiness run carries its item's result as plain data
(``report.golive``, :meth:`ItemResult.to_dict`): xdist sends reports from
workers to the controller as data, and the controller builds the one results
model from them. pytest's own outcome is made to agree with the verdict
(failed exactly when the item blocks), and everything pytest prints or writes
for the report is masked.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pytest_golive.core.item_result import ItemResult
from pytest_golive.core.secrets import MASKER, mask, mask_data
from pytest_golive.core.status import Status
from pytest_golive.core.verdict import decide
from pytest_golive.engine.record import item_result
from pytest_golive.integration import custom
from pytest_golive.integration import session as gsession


def attach(item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport,
           record: ItemResult | None) -> None:
    """Put ``record`` on ``report`` and make the report agree with it."""
    if record is None:
        return
    report.golive = record.to_dict()  # type: ignore[attr-defined]
    _apply_decision(report, record)
    _add_properties(report, record)
    if call.when != "teardown":
        # junitxml writes the teardown report's properties: keep them on the item too.
        known = set(item.user_properties)
        item.user_properties.extend(p for p in report.user_properties if p not in known)


def python_test_result(gs: gsession.GoliveSession, item: pytest.Item, call: pytest.CallInfo[None],
                       report: pytest.TestReport) -> ItemResult | None:
    """The result of a Python test that is a checklist line (``None``: nothing to record yet)."""
    if call.when == "setup" and report.passed:
        return None
    if call.when == "teardown" and (report.passed or report.skipped):
        return None
    # A failing teardown after a recorded call is recorded again and replaces
    # the call's result (RunResults.add): pytest counts it as an error, so must the verdict.
    model, target = custom.item_model(item)
    observed_status = custom.observed_status(call, report)
    observed, expected, details = custom.evidence_words(item, call, report)
    plain = custom.plain_longrepr(call)
    if plain is not None:
        report.longrepr = plain  # the message is the whole story: no plugin traceback
    decision = decide(gs.policy, model.id, target, model.severity, observed_status, False, observed)
    from pytest_golive.core.outcome import Outcome

    outcome = Outcome(observed_status, observed, expected, details)  # type: ignore[arg-type]
    return item_result(
        nodeid=item.nodeid, item=model, target=gs.env.target(target) if target else None,
        check=None, params={}, outcome=outcome, decision=decision, duration=report.duration,
        kind="test", order=gs.order.setdefault(item.nodeid, len(gs.order)),
    )


def teststatus(report: Any) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
    """pytest's word and letter for a golive report (pending, waived, warned, ...)."""
    record = getattr(report, "golive", None)
    if record is None:
        return None
    return Status.of(record["status"]).teststatus(bool(record["blocking"]))


def _apply_decision(report: pytest.TestReport, record: ItemResult) -> None:
    """Make pytest's outcome agree with the verdict: failed exactly when blocking."""
    said = record.message or record.observed or record.status.value
    if record.blocking and not report.failed:
        report.outcome = "failed"
        report.longrepr = mask(said)
    elif not record.blocking and report.failed:
        report.outcome = "skipped"
        first = said.strip().splitlines()[0]
        # pytest prints a skip's line number as given: the line's own, counted from 1.
        report.longrepr = (record.source, record.line, mask(first))
    elif record.status is Status.SKIPPED and report.passed and report.when == "call":
        # A line that was not applicable proved nothing: pytest must not count it as passed
        # (its summary line, JUnit and pytest-html would contradict the verdict).
        first = said.strip().splitlines()[0]
        report.outcome = "skipped"
        report.longrepr = (record.source, record.line, mask(f"not applicable: {first}"))


def _add_properties(report: pytest.TestReport, record: ItemResult) -> None:
    """JUnit properties per test case, so CI test reporters show the evidence."""
    props: list[tuple[str, object]] = [
        ("golive.section", record.section),
        ("golive.item", record.id),
        ("golive.severity", record.severity),
        ("golive.target", record.target or ""),
        ("golive.status", record.status.value),
        ("golive.observed", record.observed),
        ("golive.expected", record.expected),
    ]
    if record.waiver:
        w = record.waiver
        props.append(("golive.waiver",
                      f"{w.get('reason')} ({w.get('owner')}, until {w.get('expires')})"))
    existing = {k for k, _ in report.user_properties}
    report.user_properties.extend((k, mask(str(v))) for k, v in props if k not in existing)


def mask_report(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Mask every secret in what pytest will print or write for this report."""
    if not MASKER.active:  # no secret known: nothing to mask (asked for every report)
        return
    longrepr = report.longrepr
    if longrepr is not None:
        if isinstance(longrepr, tuple):
            report.longrepr = (longrepr[0], longrepr[1], mask(str(longrepr[2])))
        elif not isinstance(longrepr, str):
            text = str(longrepr)
            masked = mask(text)
            if masked != text:
                # Masked where it stands, so pytest keeps its crash line for the short
                # summary (a text would be printed whole there, traceback and all, under CI).
                _mask_in_place(longrepr, set())
                if str(longrepr) != masked:  # a part the walk cannot reach: the text, then
                    report.longrepr = masked
        else:
            report.longrepr = mask(longrepr)
    report.sections = [(title, mask(content)) for title, content in report.sections]
    if isinstance(report, pytest.TestReport):  # a CollectReport has no properties
        report.user_properties = [(k, mask_data(v)) for k, v in report.user_properties]


def _mask_in_place(obj: Any, seen: set[int]) -> None:
    """Mask the text of one of pytest's (dataclass) failure representations, recursively."""
    if id(obj) in seen or not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return
    seen.add(id(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        masked = _masked_value(value, seen)
        if masked is not value:
            object.__setattr__(obj, f.name, masked)


def _masked_value(value: Any, seen: set[int]) -> Any:
    if isinstance(value, str):
        masked = mask(value)
        return value if masked == value else masked
    if isinstance(value, list | tuple):
        items = [_masked_value(v, seen) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items) if isinstance(value, list) else tuple(items)
    _mask_in_place(value, seen)
    return value


class ResultsCollector:
    """Collects every report's result into the run's model (on the xdist controller too)."""

    def __init__(self, gs: gsession.GoliveSession) -> None:
        self.gs = gs

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, "golive", None)
        if record is not None:
            self.gs.results.add(record)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            message = mask(str(report.longrepr))
            # A checklist file reports every bad line at once, one per line: each is an error
            # of its own, so the count in the verdict is the count listed.
            parts = [message]
            if not report.nodeid.endswith(".py"):
                parts = [line for line in message.splitlines() if line.strip()] or [message]
            self.gs.results.collection_errors += [{"nodeid": report.nodeid, "message": part}
                                                  for part in parts]
