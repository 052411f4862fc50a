"""Evaluate jobs ahead of reporting: targets at once, each target's jobs in order.

A strategy of :class:`~pytest_golive.engine.evaluate.Engine`, not a copy of
it: every job is still evaluated by :meth:`Engine.run` (one by one, bounded)
or :meth:`Engine.observe` inside :class:`~pytest_golive.targets.rounds.Rounds`
(a host's checks together, their commands as one script per round).

Jobs are grouped in queues, one per target (one of its own for a target-less
check). At most ``concurrency`` queues run at once, each on a daemon thread
(:mod:`pytest_golive.engine.bounded` says why daemon). Whoever reports the
results (pytest, in collection order) takes each job's outcome with
:meth:`Ahead.take`, which waits at most as long as the time limit allows:

- a job run by :meth:`Engine.run` is bounded there;
- a check in rounds that hangs without ever asking its host anything (a
  ``time.sleep`` of its own) never hands control back to its rounds, so
  the waiting side watches :meth:`Rounds.stuck`: the hanging check ends as a
  timed-out error, its thread is abandoned, and the host's jobs not finished
  yet are evaluated again one by one (each bounded) on a fresh thread.
"""

from __future__ import annotations

import concurrent.futures
import functools
import queue
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.core.secrets import mask
from pytest_golive.engine.bounded import abandon, start_daemon
from pytest_golive.engine.evaluate import Engine, Job

if TYPE_CHECKING:
    from pytest_golive.targets.rounds import Rounds

QueueKey = tuple[str, str]
Future = concurrent.futures.Future[Outcome]

#: Seconds between two looks at a host's rounds while waiting for one of its outcomes.
WATCH_INTERVAL = 0.25


def queue_key(job: Job) -> QueueKey:
    """The queue of a job: its target, or one of its own for a target-less check."""
    return (job.spec.kind, job.spec.name) if job.spec is not None else ("none", job.key)


class _Queue:
    """The jobs of one target, their futures and, while in rounds, the rounds."""

    def __init__(self, key: QueueKey) -> None:
        self.key = key
        self.jobs: list[Job] = []
        self.futures: list[Future] = []
        self.rounds: Rounds | None = None
        self.thread: threading.Thread | None = None
        #: Set when a hanging check made this queue give up on its rounds.
        self.superseded = threading.Event()


class Ahead:
    """Outcomes of jobs being evaluated ahead of reporting, by job key."""

    def __init__(self, engine: Engine, jobs: Iterable[Job], *, concurrency: int,
                 batch_commands: bool, lazy: bool = False) -> None:
        self.engine = engine
        self.lazy = lazy
        self.batch_commands = batch_commands
        self._queues: dict[QueueKey, _Queue] = {}
        self._of_job: dict[str, tuple[_Queue, int]] = {}
        for job in jobs:
            q = self._queues.setdefault(queue_key(job), _Queue(queue_key(job)))
            self._of_job[job.key] = (q, len(q.jobs))
            q.jobs.append(job)
            q.futures.append(Future())
        self._started: set[QueueKey] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._todo: queue.SimpleQueue[_Queue | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._concurrency = max(1, int(concurrency))

    @property
    def queues(self) -> list[QueueKey]:
        return list(self._queues)

    def batched(self) -> bool:
        """Whether some host's jobs will be evaluated in rounds (worth it even for one host)."""
        return self.batch_commands and any(kind == "host" for kind, _ in self._queues)

    def start_all(self) -> None:
        for key in self._queues:
            self.start(key)

    def start(self, key: QueueKey | None) -> None:
        """Queue ``key`` for evaluation (once); it runs in order on one worker thread."""
        with self._lock:
            if key is None or key in self._started or key not in self._queues or self._closed:
                return
            self._started.add(key)
            if len(self._workers) < min(self._concurrency, len(self._queues)):
                self._workers.append(start_daemon(self._work, f"golive-ahead-{len(self._workers)}"))
        self._todo.put(self._queues[key])

    def key_of(self, job_key: str) -> QueueKey | None:
        found = self._of_job.get(job_key)
        return found[0].key if found else None

    def _work(self) -> None:
        while True:
            q = self._todo.get()
            if q is None or self._closed:
                return
            q.thread = threading.current_thread()
            try:
                if q.key[0] == "host" and self.batch_commands:
                    self._run_rounds(q)
                else:
                    self._run_one_by_one(q, range(len(q.jobs)))
            except BaseException as exc:  # noqa: BLE001 - handed to the jobs, raised where taken
                for future in q.futures:
                    _settle(future, None, exc)
            if q.superseded.is_set():
                return  # this thread was abandoned and replaced: it must not take more work

    def _run_one_by_one(self, q: _Queue, indexes: Iterable[int]) -> None:
        for i in indexes:
            future = q.futures[i]
            if future.done() or self._closed:
                continue
            _settle(future, self.engine.run(q.jobs[i]))

    def _run_rounds(self, q: _Queue) -> None:
        """All jobs of one host at once, their commands in one script per round."""
        from pytest_golive.targets.rounds import CheckTimedOut, Rounds

        spec = q.jobs[0].spec
        assert spec is not None
        try:
            handle = self.engine.pool.handle(spec)
        except CheckError as exc:
            for future in q.futures:
                _settle(future, Outcome.error(mask(str(exc))))
            return
        engine = self.engine

        def job(i: int) -> Outcome:
            started = time.perf_counter()
            outcome = engine.observe(q.jobs[i])
            outcome.duration = time.perf_counter() - started
            return outcome

        def done(i: int, outcome: Outcome | None, exc: BaseException | None) -> None:
            future = q.futures[i]
            if q.superseded.is_set() or future.done():
                return
            if isinstance(exc, CheckTimedOut):
                outcome = engine.timed_out(q.jobs[i])
            _settle(future, outcome, exc)

        q.rounds = Rounds(handle, check_timeout=engine.limit.seconds)
        q.rounds.evaluate([functools.partial(job, i) for i in range(len(q.jobs))], done,
                          stop=lambda: self._closed or q.superseded.is_set())

    def take(self, job_key: str) -> Outcome | None:
        """The job's outcome if it is (being) evaluated ahead, else ``None``."""
        found = self._of_job.get(job_key)
        if found is None:
            return None
        q, index = found
        if q.key not in self._started:
            if not self.lazy:
                return None
            self.start(q.key)
        future = q.futures[index]
        while True:
            try:
                return future.result(timeout=WATCH_INTERVAL)
            except concurrent.futures.TimeoutError:
                self._watch(q)

    def _watch(self, q: _Queue) -> None:
        """Give up on a host's rounds when one of its checks hangs (see the module docstring)."""
        rounds = q.rounds
        stuck = rounds.stuck() if rounds is not None else None
        if stuck is None or q.superseded.is_set():
            return
        q.superseded.set()
        if q.thread is not None:
            abandon(q.thread)
        _settle(q.futures[stuck], self.engine.timed_out(q.jobs[stuck]))
        rest = [i for i, f in enumerate(q.futures) if not f.done()]
        start_daemon(lambda: self._run_one_by_one(q, rest), f"golive-ahead-{q.key[1]}")
        with self._lock:  # the abandoned worker's place is taken by a new one
            self._workers.append(start_daemon(self._work, f"golive-ahead-{len(self._workers)}"))

    def close(self) -> None:
        """Cancel what has not started; nothing here is waited for."""
        self._closed = True
        for q in self._queues.values():
            for future in q.futures:
                future.cancel()
        for _ in self._workers:
            self._todo.put(None)


def _settle(future: Future, outcome: Outcome | None, exc: BaseException | None = None) -> None:
    """Give ``future`` its outcome unless it already has one (or was cancelled)."""
    if future.done():
        return
    try:
        if outcome is not None:
            future.set_result(outcome)
        else:
            future.set_exception(exc or RuntimeError("no outcome"))
    except concurrent.futures.InvalidStateError:
        pass  # settled meanwhile by the other side (a watchdog, or close)
