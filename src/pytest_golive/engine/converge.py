"""Lines that converge: retrying a check until it passes or a deadline comes.

Right after a deployment, health endpoints answer 503 for a while and replicas
catch up. A line may be retried until it passes (``retry=60s`` on the line, or
``--golive-wait 120`` for the whole run), but a retry never hides what happened:
the evidence of a line that passed late says how many attempts failed first and
what the first one saw, and a line that never passed says how often it was tried.
Pure: the clock and the pause are parameters, so the rules are tested without
waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pytest_golive.core.outcome import Outcome

#: Seconds between two attempts of a line that has not passed yet.
INTERVAL = 2.0


def converge(first: Outcome, again: Callable[[], Outcome], deadline: float, *,
             interval: float = INTERVAL, now: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """The outcome after retrying ``again`` while it has not passed and ``deadline`` (on the
    ``now`` clock) is ahead; a skipped (not applicable) outcome is never retried."""
    if first.status in ("passed", "skipped") or now() + interval > deadline:
        return first
    started = now()
    attempts = [first]
    latest = first
    while latest.status not in ("passed", "skipped") and now() + interval <= deadline:
        sleep(interval)
        latest = again()
        attempts.append(latest)
    return _told(latest, attempts, now() - started)


def _told(last: Outcome, attempts: list[Outcome], waited: float) -> Outcome:
    failed = [a for a in attempts if a.status not in ("passed", "skipped")]
    tries = len(attempts)
    if last.status == "passed":
        note = (f" (passed on attempt {tries} of {tries}, after {len(failed)} that did not "
                f"over {waited:.0f}s; the first saw: {attempts[0].observed})")
    else:
        note = f" (still so after {tries} attempts over {waited:.0f}s)"
    details = {**last.details, "attempts": tries, "failed_attempts": len(failed),
               "waited_seconds": round(waited, 1),
               "first_attempt": {"status": attempts[0].status,
                                 "observed": attempts[0].observed}}
    told = Outcome(last.status, last.observed + note, last.expected, details)
    told.duration = sum(a.duration or 0.0 for a in attempts) or last.duration
    return told
