"""The one place an :class:`~pytest_golive.core.item_result.ItemResult` is built.

A checklist line's item and a Python test marked as a line both end here,
from the line (:class:`~pytest_golive.checklist.model.Item`), its target,
the check's outcome (its evidence) and the verdict's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytest_golive.core.item_result import CheckEvidence, ItemResult, Kind
from pytest_golive.core.status import Status

if TYPE_CHECKING:
    from pytest_golive.checklist.model import Item
    from pytest_golive.checks.registry import Check
    from pytest_golive.core.config import TargetSpec
    from pytest_golive.core.outcome import Outcome
    from pytest_golive.core.verdict import Decision


def item_result(*, nodeid: str, item: Item, target: TargetSpec | None, check: Check | None,
                params: Mapping[str, Any], outcome: Outcome | None, decision: Decision,
                duration: float, order: int = 0, kind: Kind = "checklist") -> ItemResult:
    details: Mapping[str, Any] = outcome.details if outcome is not None else {}
    return ItemResult(
        nodeid=nodeid,
        kind=kind,
        id=item.id,
        section=item.section,
        section_title=item.section_title,
        title=item.title,
        parent=item.parent,
        check=check.name if check else None,
        params=dict(params),
        manual=check is None and kind == "checklist",
        target=target.name if target else None,
        target_kind=target.kind if target else (check.target if check else None),
        severity=decision.severity,
        status=Status.of(decision.status),
        blocking=decision.blocking,
        observed=outcome.observed if outcome else "",
        expected=outcome.expected if outcome else "",
        details=dict(details),
        message=decision.message,
        waiver=decision.waiver,
        attestation=decision.attestation,
        source=item.source,
        line=item.line,
        duration=duration,
        order=order,
        checks=_checks(check, outcome),
        # the binding as written in the checklist, for reports ("Check: cpu min=4")
        extra={"binding": item.binding} if getattr(item, "binding", None) else {},
    )


def _checks(check: Check | None, outcome: Outcome | None) -> tuple[CheckEvidence, ...]:
    """The evidence of each check of the line: several when it holds several."""
    if outcome is None:
        return ()
    parts = outcome.details.get("checks")
    if isinstance(parts, list) and parts:
        return tuple(CheckEvidence(str(p.get("check", "")), str(p.get("status", "")),
                                   str(p.get("observed", "")), str(p.get("expected", "")))
                     for p in parts if isinstance(p, Mapping))
    name = check.name if check is not None else "test"
    return (CheckEvidence(name, outcome.status, outcome.observed, outcome.expected),)
