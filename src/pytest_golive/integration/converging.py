"""``--golive-wait`` and ``retry=``: when a line that has not passed is tried again.

The rules of a retry (how often, what the evidence says) are the engine's
(:mod:`pytest_golive.engine.converge`); this module only turns the option and
the line's ``retry=`` into a deadline.
"""

from __future__ import annotations

import time

import pytest

_RUN_DEADLINE = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("golive")
    group.addoption(
        "--golive-wait", metavar="SECONDS", type=float, default=None,
        help="retry every line that has not passed until SECONDS after the run started "
             "(targets that converge after a deployment); the evidence says how many "
             "attempts failed first",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    wait = getattr(session.config.option, "golive_wait", None)
    if wait is None or not getattr(session.config.option, "golive", None):
        return
    if wait < 0:
        raise pytest.UsageError(f"--golive-wait {wait:g}: give a number of seconds >= 0")
    session.config.stash[_RUN_DEADLINE] = time.monotonic() + wait


def deadline(config: pytest.Config, line_retry: float | None) -> float | None:
    """The monotonic time until which a line may be retried, or ``None`` (no retry).

    A line's own ``retry=`` counts from its first attempt; ``--golive-wait`` from
    the start of the run. The later of the two wins.
    """
    found = [config.stash.get(_RUN_DEADLINE, None)]
    if line_retry:
        found.append(time.monotonic() + line_retry)
    known = [d for d in found if d is not None]
    return max(known) if known else None
