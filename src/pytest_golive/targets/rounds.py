"""Evaluate the checks of one host in rounds: one remote command per round, not per check.

A host check is a short chain of observation commands (``getent passwd``
then ``id -Gn``; testinfra's package module asks ``uname -s``, reads
``/etc/os-release``, then queries the package). Run one check after another,
a checklist pays one round trip per command, so the time per host grows with
the checklist. Most of those commands do not depend on each other across
checks, only within one check.

So the checks of a host run together, each in a greenlet on the host's one
evaluation thread. A check runs until it asks the host something; its
command is put aside and the next check runs. When every check is either
done or waiting for a command, the waiting commands go to the host as one
script (:meth:`~pytest_golive.targets.host.HostTarget.run_batch`), each
check gets its own answer back and runs on to its next command or its
outcome. The number of round trips per host is the length of the longest
chain of commands in one check, whatever the number of checks.

Why greenlets rather than threads: a round must start exactly when every
check is waiting, which is only knowable when the checks switch to the
scheduler themselves; threads would need a timer per round, a thread per
check (thousands on a fleet), and would block on locks testinfra takes
(Python 3.11's ``functools.cached_property``) without ever reaching a
command.

Identical commands asked in one evaluation (``command -v dpkg-query`` by fifty
package checks) run once: the answer is shared, as if the checks had looked
at the same moment, which within one readiness run they do.

The check code is unchanged: ``host.run`` and every testinfra module command
go through :meth:`Rounds.request` when the caller is a check greenlet of
this host's evaluation, and run on their own otherwise (Python tests using
the ``golive_host`` fixture, ``--golive-no-prefetch``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import greenlet

from pytest_golive.core.outcome import CheckError

if TYPE_CHECKING:
    from pytest_golive.targets.batch import Command
    from pytest_golive.targets.host import HostTarget

#: Called with (index of the job, its result or None, the exception it raised or None).
Done = Callable[[int, Any, "BaseException | None"], None]


class CheckTimedOut(CheckError):
    """A check that took longer than ``settings.check_timeout`` in all."""


class _CheckGreenlet(greenlet.greenlet):
    """A check of one evaluation; knows its rounds so ``host.run`` can find them."""

    def __init__(self, run: Callable[[], Any], rounds: Rounds) -> None:
        super().__init__(run)
        self.golive_rounds = rounds
        #: Seconds the check has run itself, not counting the rounds it waited for.
        self.own_time = 0.0


def current(target: HostTarget) -> Rounds | None:
    """The rounds evaluating checks of ``target`` that the caller is one of, if any."""
    rounds = getattr(greenlet.getcurrent(), "golive_rounds", None)
    return rounds if rounds is not None and rounds.target is target else None


class Rounds:
    """The checks of one host being evaluated together on the calling thread."""

    def __init__(self, target: HostTarget, *, check_timeout: float | None = None) -> None:
        self.target = target
        self.check_timeout = check_timeout
        #: Answers given in this evaluation, by command: identical commands run once.
        self._answers: dict[Command, Any] = {}
        self._hub: Any = None
        #: Remote commands sent (one per round, more when a round's script is split).
        self.round_trips = 0
        self.rounds = 0
        #: The check running right now: (its index, when it was switched to, its own
        #: time before that), so a watchdog on another thread can see one that hangs.
        self.running: tuple[int, float, float] | None = None

    def request(self, command: Command) -> Any:
        """Called by a check greenlet: wait for the round that answers ``command``."""
        answer = self._hub.switch(command)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def evaluate(self, jobs: Sequence[Callable[[], Any]], done: Done,
                 stop: Callable[[], bool] = lambda: False) -> None:
        """Run ``jobs`` (checks of this host) to the end; ``done`` is told of each as it ends.

        ``stop()`` is asked before each round: when it says so (the session
        is over), the checks still waiting are ended without another round.
        """
        self._hub = greenlet.getcurrent()
        ready: deque[tuple[int, _CheckGreenlet, Any]] = deque(
            (i, _CheckGreenlet(job, self), None) for i, job in enumerate(jobs))
        waiting: list[tuple[int, _CheckGreenlet, Command]] = []
        while ready or waiting:
            if waiting and not ready and stop():
                for i, glet, _ in waiting:
                    glet.throw(greenlet.GreenletExit)
                    done(i, None, CheckError("not evaluated: the session ended first"))
                return
            while ready:
                i, glet, answer = ready.popleft()
                if self._overdue(glet):
                    glet.throw(greenlet.GreenletExit)
                    done(i, None, CheckTimedOut(f"did not finish within {self.check_timeout:g}s"))
                    continue
                started = time.perf_counter()
                self.running = (i, started, glet.own_time)
                try:
                    # The first switch calls the job (a greenlet is false until it has
                    # started); later ones return the answer to request().
                    asked = glet.switch(answer) if glet else glet.switch()
                except BaseException as exc:  # noqa: BLE001 - the check's own error, for its item
                    done(i, None, exc)
                    continue
                finally:
                    glet.own_time += time.perf_counter() - started
                    self.running = None
                if glet.dead:
                    done(i, asked, None)
                else:
                    waiting.append((i, glet, asked))
            if waiting:
                answers = self._answer([command for _, _, command in waiting])
                ready.extend(
                    (i, glet, answer) for (i, glet, _), answer in zip(waiting, answers, strict=True)
                )
                waiting = []

    def stuck(self) -> int | None:
        """The index of the check running longer than ``check_timeout`` without a command.

        Such a check never switches back, so :meth:`evaluate` cannot end it
        itself: the caller on another thread gives up on this evaluation.
        """
        running = self.running
        if running is None or self.check_timeout is None:
            return None
        index, since, before = running
        return index if before + time.perf_counter() - since > self.check_timeout else None

    def _overdue(self, glet: _CheckGreenlet) -> bool:
        """Whether the check has run longer than ``check_timeout`` between its commands.

        The rounds it waited for do not count: a round lasts as long as its
        slowest command (each bounded by ``command_timeout`` on the host), and
        one slow command must not end every check that shared its round.
        """
        return self.check_timeout is not None and glet.own_time > self.check_timeout

    def _answer(self, commands: list[Command]) -> list[Any]:
        """One round: every new command in one batch; repeated ones from the answers so far."""
        new = [c for c in dict.fromkeys(commands) if c not in self._answers]
        if new:
            before = self.target.round_trips
            self._answers.update(zip(new, self.target.run_batch(new), strict=True))
            self.round_trips += self.target.round_trips - before
            self.rounds += 1
        return [self._answers[c] for c in commands]
