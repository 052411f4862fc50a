"""The retry rules of converging lines, on a fake clock (no waiting)."""

from __future__ import annotations

from pytest_golive.core.outcome import Outcome
from pytest_golive.engine.converge import converge


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def _answers(*statuses: str) -> tuple[Outcome, object]:
    outcomes = [Outcome(s, f"answer {i} {s}") for i, s in enumerate(statuses)]
    rest = iter(outcomes[1:])
    return outcomes[0], lambda: next(rest)


def test_a_pass_is_never_retried() -> None:
    clock = Clock()
    first, again = _answers("passed")
    assert converge(first, again, 100, now=clock.now, sleep=clock.sleep) is first  # type: ignore[arg-type]
    assert clock.t == 0


def test_a_late_pass_says_how_many_attempts_failed_first() -> None:
    clock = Clock()
    first, again = _answers("failed", "error", "passed")
    out = converge(first, again, 100, interval=2, now=clock.now, sleep=clock.sleep)  # type: ignore[arg-type]
    assert out.status == "passed"
    assert out.details["attempts"] == 3 and out.details["failed_attempts"] == 2
    assert "answer 0 failed" in out.observed and "after 2 that did not over 4s" in out.observed


def test_the_deadline_ends_the_retries() -> None:
    clock = Clock()
    first, again = _answers(*["failed"] * 100)
    out = converge(first, again, 10, interval=2, now=clock.now, sleep=clock.sleep)  # type: ignore[arg-type]
    assert out.status == "failed" and out.details["attempts"] == 6
    assert clock.t <= 10
    assert "still so after 6 attempts" in out.observed


def test_not_applicable_is_not_retried() -> None:
    clock = Clock()
    first, again = _answers("skipped")
    assert converge(first, again, 100, now=clock.now, sleep=clock.sleep) is first  # type: ignore[arg-type]
