"""The result of one item (a checklist line on one target): one typed, frozen record.

Built in one place (:func:`pytest_golive.engine.record.item_result`) for
checklist lines and Python tests alike, carried across xdist workers as its
plain-data form (:meth:`ItemResult.to_dict`, the keys of the JSON report's
``results``) and read back with :meth:`ItemResult.from_dict`. Secrets are
masked when the record is turned into data, that is when it is written.

A line may hold several checks on its target: :attr:`ItemResult.checks` keeps
the evidence of each (also in ``details["checks"]`` of the plain data), the
record's own ``observed``/``expected`` say it for the line as a whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_golive.core.secrets import MASKER, Secret, is_clean, mask_data
from pytest_golive.core.status import Status

Kind = Literal["checklist", "test"]


@dataclass(frozen=True)
class CheckEvidence:
    """What one check of a line observed on the item's target."""

    check: str
    status: str
    observed: str = ""
    expected: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ItemResult:
    nodeid: str
    id: str
    section: str
    section_title: str
    title: str
    status: Status
    blocking: bool
    severity: str
    kind: Kind = "checklist"
    parent: str | None = None
    check: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    manual: bool = False
    target: str | None = None
    target_kind: str | None = None
    observed: str = ""
    expected: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""
    waiver: Mapping[str, Any] | None = None
    attestation: Mapping[str, Any] | None = None
    source: str = ""
    line: int = 0
    duration: float = 0.0
    order: int = 0
    checks: tuple[CheckEvidence, ...] = ()
    #: Keys of the plain data this version does not know (a newer writer's): kept as they are.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shown(self) -> Status:
        """The status a person reads (a failure that does not block is a warning)."""
        return self.status.shown(self.blocking)

    def placed(self, *, nodeid: str | None = None, order: int | None = None) -> ItemResult:
        """The same result under another node id or place in the run (xdist, merges)."""
        return dataclasses.replace(self, nodeid=self.nodeid if nodeid is None else nodeid,
                                   order=self.order if order is None else order)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (masked): every key of ``results`` in the results schema.

        Asked for each of an item's reports (setup, call, teardown) and again for the
        run's reports: the masked form is made once per record and set of known
        secrets, and each caller gets its own copy to edit.
        """
        cached = self.__dict__.get("_masked")
        if cached is None or cached[0] != MASKER.generation:
            cached = (MASKER.generation, self._masked_dict())
            object.__setattr__(self, "_masked", cached)  # frozen: a cache, not a field
        data: dict[str, Any] = cached[1]
        return {**data, "details": dict(data["details"])}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_masked", None)  # masked under this process's secrets, not the reader's
        return state

    def _masked_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nodeid": self.nodeid,
            "kind": self.kind,
            "id": self.id,
            "section": self.section,
            "section_title": self.section_title,
            "title": self.title,
            "parent": self.parent,
            "check": self.check,
            "params": {k: (str(v) if isinstance(v, Secret) else v) for k, v in self.params.items()},
            "manual": self.manual,
            "target": self.target,
            "target_kind": self.target_kind,
            "severity": self.severity,
            "status": self.status.value,
            "blocking": self.blocking,
            "observed": self.observed,
            "expected": self.expected,
            "details": dict(self.details),
            "message": self.message,
            "waiver": dict(self.waiver) if self.waiver is not None else None,
            "attestation": dict(self.attestation) if self.attestation is not None else None,
            "source": self.source,
            "line": self.line,
            "duration": round(self.duration, 4),
            "order": self.order,
        }
        if len(self.checks) > 1 and "checks" not in data["details"]:
            data["details"]["checks"] = [c.to_dict() for c in self.checks]
        data.update(self.extra)
        if is_clean(data):  # plain JSON data without a secret: nothing to convert or mask
            return data
        data["details"] = jsonable(data["details"])
        masked: dict[str, Any] = mask_data(data)
        return masked

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemResult:
        known = {f.name for f in dataclasses.fields(cls)} - {"checks", "extra"}
        values = {k: v for k, v in data.items() if k in known}
        values["status"] = Status.of(str(data["status"]))
        details = data.get("details") or {}
        parts = details.get("checks") if isinstance(details, Mapping) else None
        checks = tuple(CheckEvidence(str(p.get("check", "")), str(p.get("status", "")),
                                     str(p.get("observed", "")), str(p.get("expected", "")))
                       for p in parts or () if isinstance(p, Mapping))
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, checks=checks, extra=extra)


def jsonable(value: Any) -> Any:
    """Plain JSON data from check details (sets, tuples, odd objects become lists and text)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
