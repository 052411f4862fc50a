"""The engine's time limit and its one way of turning what a check raised into an outcome."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pytest_golive.checks.registry import Registry, check
from pytest_golive.core.config import Environment, Settings
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.engine.bounded import Overdue, TimeLimit, call_bounded
from pytest_golive.engine.evaluate import Engine, Job
from pytest_golive.targets import TargetPool


def test_work_past_its_limit_is_overdue_and_its_thread_never_blocks_exit() -> None:
    release = threading.Event()
    said = r"check x did not finish within 0\.2s \(settings.check_timeout\)"
    with pytest.raises(Overdue, match=said):
        call_bounded(release.wait, TimeLimit(0.2), "check x")
    stuck = [t for t in threading.enumerate() if t.name == "golive-check" and t.is_alive()]
    assert stuck and all(t.daemon for t in stuck)
    release.set()


def test_an_exception_comes_back_with_its_own_traceback() -> None:
    def broken() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError) as info:
        call_bounded(broken, TimeLimit(5), "check y")
    assert any(entry.name == "broken" for entry in info.traceback)


def _engine(traceback: bool) -> tuple[Engine, Registry]:
    registry = Registry()
    env = Environment(name="t", source=Path("golive.toml"), root=Path("."), targets=[], vars={},
                      checklists=[], waivers=None, attestations=None,
                      settings=Settings(check_timeout=0.5), severity={})
    return Engine(TargetPool(env), check_timeout=0.5, traceback=traceback), registry


@pytest.mark.parametrize("traceback", [False, True])
def test_a_check_that_raises_is_an_error_outcome_either_way(traceback: bool) -> None:
    engine, registry = _engine(traceback)

    @check(target="none", registry=registry)
    def raises_key_error() -> Outcome:
        """Has a bug."""
        return Outcome.passed({}["nope"])

    @check(target="none", registry=registry)
    def cannot_see() -> Outcome:
        """Cannot observe."""
        raise CheckError("target x: refused")

    @check(target="none", registry=registry)
    def sleeps() -> Outcome:
        """Never ends in time."""
        time.sleep(30)
        return Outcome.passed("late")

    bug = engine.run(Job("a", registry.get("raises_key_error"), None, {}))
    assert bug.status == "error" and "raised KeyError" in bug.observed
    assert ("traceback" in bug.details) is traceback
    refused = engine.run(Job("b", registry.get("cannot_see"), None, {}))
    assert (refused.status, refused.observed) == ("error", "target x: refused")
    late = engine.run(Job("c", registry.get("sleeps"), None, {}))
    assert late.status == "error"
    assert late.observed == "check sleeps did not finish within 0.5s (settings.check_timeout)"


def test_the_guarded_exit_ends_a_process_whose_abandoned_work_still_runs() -> None:
    script = textwrap.dedent("""
        import atexit, sys, threading
        from pytest_golive.engine.bounded import (
            Overdue, TimeLimit, call_bounded, hard_exit_if_stuck)
        atexit.register(hard_exit_if_stuck, lambda: 3)
        try:
            call_bounded(threading.Event().wait, TimeLimit(0.1), "check z")
        except Overdue:
            print("overdue", flush=False)
    """)
    # A liveness bound, not a speed one.
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 3 and proc.stdout.strip() == "overdue"  # flushed before the exit
