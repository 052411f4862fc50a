"""Evaluate a check on a target: the one place an :class:`Outcome` is made.

Every way a checklist item is evaluated goes through :class:`Engine`: one
by one as pytest reaches it (:meth:`Engine.run`), ahead of reporting on a
worker thread, or together with the other checks of its host in rounds
(:mod:`pytest_golive.engine.ahead`). They share :meth:`Engine.observe` (call
the check, turn what it raised into an error outcome) and one time limit
(:mod:`pytest_golive.engine.bounded`). Nothing here knows pytest.
"""

from __future__ import annotations

import time
import traceback as tb
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_golive.core.outcome import CheckError, NotApplicable, Outcome
from pytest_golive.core.secrets import mask
from pytest_golive.engine.bounded import Overdue, TimeLimit, call_bounded

if TYPE_CHECKING:
    from pytest_golive.checks.registry import Check
    from pytest_golive.core.config import TargetSpec
    from pytest_golive.targets import TargetPool


@dataclass(frozen=True)
class Job:
    """One check to evaluate on one target (``spec`` is ``None`` for a target-less check)."""

    key: str
    check: Check
    spec: TargetSpec | None
    params: dict[str, Any]


class Engine:
    """Evaluates checks on the run's targets under one time limit."""

    def __init__(self, pool: TargetPool, *, check_timeout: float | None,
                 traceback: bool = False) -> None:
        self.pool = pool
        self.limit = TimeLimit(check_timeout)
        #: Keep the traceback of an exception a check raised (``--golive-traceback``).
        self.traceback = traceback

    def run(self, job: Job) -> Outcome:
        """Evaluate ``job`` now, bounded by the time limit; the outcome carries its duration."""
        started = time.perf_counter()
        try:
            outcome = call_bounded(lambda: self.observe(job), self.limit, _what(job))
        except Overdue as exc:
            outcome = Outcome.error(str(exc))
        outcome.duration = time.perf_counter() - started
        return outcome

    def timed_out(self, job: Job) -> Outcome:
        outcome = Outcome.error(self.limit.message(_what(job)))
        outcome.duration = self.limit.seconds
        return outcome

    def observe(self, job: Job) -> Outcome:
        """Call the check on the calling thread; whatever it raises becomes an error outcome.

        An unexpected exception is a bug in the check: it is an *error* of
        its item whatever the options. ``--golive-traceback`` adds where it
        was raised to the evidence (and so to the terminal), it never takes
        the item out of the results.
        """
        chk = job.check
        try:
            if job.spec is None:
                outcome = chk.func(**job.params)
            else:
                outcome = chk.func(self.pool.handle(job.spec), **job.params)
        except CheckError as exc:
            return Outcome.error(mask(str(exc)))
        except NotApplicable as exc:
            return Outcome.not_applicable(mask(str(exc)))
        except Exception as exc:  # noqa: BLE001 - a bug in a check must not stop the run
            return self.raised(chk.name, exc)
        if not isinstance(outcome, Outcome):
            kind = type(outcome).__name__
            return Outcome.error(f"check {chk.name} returned {kind}, not an Outcome")
        return outcome

    def raised(self, name: str, exc: BaseException) -> Outcome:
        """The error outcome of a check that raised ``exc``."""
        message = f"check {name} raised {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        if not self.traceback:
            return Outcome.error(mask(message + " (run with --golive-traceback to see where)"))
        trace = "".join(tb.format_exception(type(exc), exc, exc.__traceback__))
        return Outcome.error(mask(message), traceback=mask(trace))


def _what(job: Job) -> str:
    where = f" on {job.spec.name}" if job.spec is not None else ""
    return f"check {job.check.name}{where}"
