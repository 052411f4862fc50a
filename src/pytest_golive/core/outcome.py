"""What a check returns: a status and the evidence behind it.

Checks observe; they never format reports and never decide the verdict. An
approver must be able to judge a failure from the evidence alone, so every
outcome carries what was observed and what was expected, in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_golive.core.text import printable

Status = Literal["passed", "failed", "error", "skipped"]


class CheckError(Exception):
    """The check could not observe its target (unreachable, refused, timed out).

    The message is one line naming the target and the cause, ready to show
    as is; it becomes an ``error`` outcome, never a traceback.
    """


class NotApplicable(Exception):
    """The check does not apply to this target (no systemd on the host, ...)."""


@dataclass
class Outcome:
    """The result of one check on one target.

    ``observed`` and ``expected`` are short human sentences
    ("2 vCPUs" / ">= 4 vCPUs"); ``details`` holds structured evidence
    (plain, JSON-serialisable data) for the reports.
    """

    status: Status
    observed: str = ""
    expected: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    #: Seconds the check itself took, set by the runner (not by checks): an item
    #: evaluated ahead of time must report its own time, not how long pytest waited.
    duration: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Evidence quotes what targets said; their control characters must not
        # reach the terminal (or any report) raw.
        self.observed = printable(self.observed)
        self.expected = printable(self.expected)

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    @classmethod
    def passed(cls, observed: str, expected: str = "", **details: Any) -> Outcome:
        return cls("passed", str(observed), str(expected), details)

    @classmethod
    def failed(cls, observed: str, expected: str = "", **details: Any) -> Outcome:
        return cls("failed", str(observed), str(expected), details)

    @classmethod
    def of(cls, ok: bool, observed: str, expected: str = "", **details: Any) -> Outcome:
        """Passed if ``ok`` else failed, with the same evidence either way."""
        return cls("passed" if ok else "failed", str(observed), str(expected), details)

    @classmethod
    def error(cls, message: str, **details: Any) -> Outcome:
        return cls("error", str(message), "", details)

    @classmethod
    def not_applicable(cls, reason: str, **details: Any) -> Outcome:
        return cls("skipped", str(reason), "", details)

    def summary(self) -> str:
        """One or two lines for the terminal: ``observed … / expected …``."""
        if self.status == "error":
            return f"could not check: {self.observed}"
        if self.status == "skipped":
            return f"not applicable: {self.observed}"
        if self.expected:
            return f"observed {self.observed}\nexpected {self.expected}"
        return f"observed {self.observed}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "observed": self.observed,
            "expected": self.expected,
            "details": self.details,
        }


class Evidence:
    """Collects several facts about one target into one outcome.

    Many checks test more than one property (a user exists, has the right
    shell, is not uid 0). Each fact is added with its own observed and
    expected value; the outcome fails if any fact fails and its evidence
    leads with the failing facts, so the first line says what is wrong.
    """

    def __init__(self) -> None:
        self.facts: list[dict[str, Any]] = []

    def add(self, label: str, ok: bool, observed: Any, expected: Any) -> bool:
        self.facts.append(
            {"fact": label, "ok": bool(ok), "observed": printable(str(observed)),
             "expected": printable(str(expected))}
        )
        return bool(ok)

    @property
    def ok(self) -> bool:
        return all(f["ok"] for f in self.facts)

    def outcome(self, **details: Any) -> Outcome:
        failing = [f for f in self.facts if not f["ok"]]
        shown = failing or self.facts
        observed = "; ".join(f"{f['fact']}: {f['observed']}" for f in shown)
        expected = "; ".join(f"{f['fact']}: {f['expected']}" for f in shown)
        return Outcome(
            "failed" if failing else "passed", observed, expected, {"facts": self.facts, **details}
        )


def combine(parts: list[tuple[str, Outcome]]) -> Outcome:
    """One outcome for a line's several checks on one target.

    The line passes only when every check passed (a check that does not
    apply to the target is shown, not counted); a failure outweighs an
    error, an error outweighs a pass. The evidence names each check, the
    failing ones first, and ``details["checks"]`` keeps every check's own.
    """
    if len(parts) == 1:
        return parts[0][1]
    statuses = [o.status for _, o in parts]
    status: Status
    if "failed" in statuses:
        status = "failed"
    elif "error" in statuses:
        status = "error"
    elif all(s == "skipped" for s in statuses):
        status = "skipped"
    else:
        status = "passed"
    rank = {"failed": 0, "error": 1, "passed": 2, "skipped": 3}
    shown = sorted(parts, key=lambda p: rank[p[1].status])

    def said(o: Outcome, text: str) -> str:
        if o.status == "error":
            return f"could not check: {o.observed}"
        if o.status == "skipped":
            return f"not applicable: {o.observed}"
        return text

    observed = "; ".join(f"{name}: {said(o, o.observed)}" for name, o in shown)
    expected = "; ".join(
        f"{name}: {o.expected}" for name, o in shown if o.expected and o.status != "error"
    )
    durations = [o.duration for _, o in parts if o.duration is not None]
    checks = [{"check": name, **o.to_dict()} for name, o in parts]
    out = Outcome(status, observed, expected, {"checks": checks})
    out.duration = sum(durations) if durations else None
    return out
