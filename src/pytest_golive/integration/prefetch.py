"""Evaluate checklist items ahead of reporting them: hosts at once, each host in order.

pytest runs items one after another, so a readiness run over a fleet would
wait for every host in turn. At the start of the run loop this module hands
every collected checklist item (:class:`~pytest_golive.integration.collection.GoliveItem`)
to a thread pool: one queue per target, so the items of one host run one
after the other on that host's single (multiplexed) connection, while
different hosts run at the same time, at most ``settings.concurrency`` of them.
Each item then takes its outcome from its future when pytest reaches it, so
results are still reported, and recorded, in collection order.

The items of one host are evaluated in rounds (:mod:`pytest_golive.targets.rounds`):
all of them at once, their commands sent to the host as one script per
round, so a host costs a few round trips however long its checklist is.
That pays with a single host too; with a single target of another kind
there is nothing to overlap, and items run one by one as in plain pytest.
``settings.batch_commands = false`` keeps evaluation ahead but sends every
command on its own. Only declarative checklist items are evaluated ahead. Python tests (and their
fixtures) run exactly as in plain pytest. ``--golive-no-prefetch`` turns the
whole thing off, for debugging a check with ``pdb`` or prints in order.

Under pytest-xdist every worker collects every item but runs only those sent
to it. With ``--dist loadgroup`` (the default golive chooses, see
:mod:`pytest_golive.integration.xdist_support`) all items of one host go to one worker,
so a worker evaluates a host's queue the first time it is sent one of that
host's items (and the next item's host too, to overlap hosts). Under any other
distribution mode workers do not evaluate ahead: they could not know which of
a host's items are theirs.

While items are evaluated ahead, new processes are started with ``fork``
rather than ``vfork``. pytest's main thread keeps setting
``PYTEST_CURRENT_TEST`` in the environment while check threads start
``ssh``; a ``vfork`` child reads the parent's environment while it
``exec``s, and a concurrent ``setenv`` moving that array makes the ``exec``
fail with EFAULT ("Bad address: '/bin/sh'"), which would look like a host
that cannot be reached. ``fork`` gives the child its own copy.

Items that pytest never reaches (``-x`` stopping early, a keyboard interrupt)
may still have been evaluated; the checks are read-only, so that costs time,
not safety. Pending work is cancelled when the session ends.
"""

from __future__ import annotations

import concurrent.futures
import subprocess
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.core.secrets import mask
from pytest_golive.integration import session as gsession
from pytest_golive.targets.rounds import CheckTimedOut, Rounds

if TYPE_CHECKING:
    from pytest_golive.integration.collection import GoliveItem

PREFETCH_KEY = pytest.StashKey["Prefetcher"]()

QueueKey = tuple[str, str]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("golive")
    group.addoption("--golive-no-prefetch", action="store_true", default=False,
                    help="evaluate checklist items one by one as pytest reaches them "
                         "(no concurrency across hosts; for debugging checks)")


class Prefetcher:
    """Futures of the checklist items being evaluated ahead, keyed by node id."""

    def __init__(self, gs: gsession.GoliveSession, items: list[GoliveItem], *, lazy: bool) -> None:
        self.gs = gs
        self.lazy = lazy
        self._queues: dict[QueueKey, list[GoliveItem]] = {}
        for item in items:
            key = queue_key(item)
            if key is not None:
                self._queues.setdefault(key, []).append(item)
        self._futures: dict[str, concurrent.futures.Future[Outcome]] = {}
        self._started: set[QueueKey] = set()
        self._lock = threading.Lock()
        self._closed = False
        workers = max(1, int(gs.env.settings.concurrency))
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="golive-prefetch")

    @property
    def queues(self) -> dict[QueueKey, list[GoliveItem]]:
        return self._queues

    def start_all(self) -> None:
        for key in self._queues:
            self.start(key)

    def start(self, key: QueueKey | None) -> None:
        """Submit the queue ``key`` (once): its items run in order on one pool thread."""
        if key is None:
            return
        with self._lock:
            if key in self._started or key not in self._queues:
                return
            self._started.add(key)
            queue = self._queues[key]
            futures = [concurrent.futures.Future[Outcome]() for _ in queue]
            for item, future in zip(queue, futures, strict=True):
                self._futures[item.nodeid] = future
        self._pool.submit(self._run_queue, key, queue, futures)

    def _run_queue(self, key: QueueKey, queue: list[GoliveItem],
                   futures: list[concurrent.futures.Future[Outcome]]) -> None:
        from pytest_golive.integration.collection import run_check

        if key[0] == "host" and self.gs.env.settings.batch_commands:
            self._run_rounds(queue, futures)
            return
        for item, future in zip(queue, futures, strict=True):
            if not future.set_running_or_notify_cancel():
                continue
            try:
                assert item.chk is not None
                future.set_result(run_check(self.gs, item.chk, item.spec, item.params))
            except BaseException as exc:  # noqa: BLE001 - handed to the item, raised there
                future.set_exception(exc)

    def _run_rounds(self, queue: list[GoliveItem], futures: list[concurrent.futures.Future[Outcome]]) -> None:
        """All items of one host at once, their commands in one script per round."""
        from pytest_golive.integration.collection import observe, timed_out

        gs = self.gs
        live = [(item, future) for item, future in zip(queue, futures, strict=True)
                if future.set_running_or_notify_cancel()]
        if not live:
            return
        spec = live[0][0].spec
        assert spec is not None
        try:
            handle = gs.pool.handle(spec)
        except CheckError as exc:
            for _, future in live:
                future.set_result(Outcome.error(mask(str(exc))))
            return

        def job(item: GoliveItem) -> Outcome:
            assert item.chk is not None
            started = time.perf_counter()
            outcome = observe(gs, item.chk, item.spec, item.params)
            outcome.duration = time.perf_counter() - started
            return outcome

        def done(i: int, outcome: Outcome | None, exc: BaseException | None) -> None:
            item, future = live[i]
            if isinstance(exc, CheckTimedOut):
                assert item.chk is not None
                outcome = timed_out(gs, item.chk, item.spec)
                outcome.duration = gs.env.settings.check_timeout
            if outcome is not None:
                future.set_result(outcome)
            else:
                future.set_exception(exc or RuntimeError("no outcome"))

        rounds = Rounds(handle, check_timeout=gs.env.settings.check_timeout)
        rounds.evaluate([lambda item=item: job(item) for item, _ in live], done,
                        stop=lambda: self._closed)

    def take(self, item: GoliveItem) -> Outcome | None:
        """The item's outcome if it is (being) evaluated ahead, else ``None``."""
        future = self._futures.get(item.nodeid)
        if future is None and self.lazy:
            self.start(queue_key(item))
            future = self._futures.get(item.nodeid)
        if future is None:
            return None
        return future.result()

    def close(self) -> None:
        self._closed = True
        with self._lock:
            for future in self._futures.values():
                future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)


def queue_key(item: Any) -> QueueKey | None:
    """Which queue an item belongs to: its target, or its own for a target-less check.

    ``None`` for items not evaluated ahead: manual lines, and lines whose
    target kind the environment does not have (they report that at once).
    """
    chk = getattr(item, "chk", None)
    if chk is None:
        return None
    spec = getattr(item, "spec", None)
    if spec is not None:
        return (spec.kind, spec.name)
    if chk.target == "none":
        return ("none", item.nodeid)
    return None


def take(item: GoliveItem) -> Outcome | None:
    """Called by :meth:`GoliveItem._observe`: the outcome evaluated ahead, if any."""
    prefetcher = item.config.stash.get(PREFETCH_KEY, None)
    return None if prefetcher is None else prefetcher.take(item)


def _batched(prefetcher: Prefetcher, gs: gsession.GoliveSession) -> bool:
    """Whether some host's items will be evaluated in rounds (worth it even for one host)."""
    return bool(gs.env.settings.batch_commands) and any(kind == "host" for kind, _ in prefetcher.queues)


def _enabled(config: pytest.Config) -> bool:
    return gsession.get(config) is not None and not config.getoption("golive_no_prefetch", False)


def _golive_items(items: Iterable[pytest.Item]) -> list[GoliveItem]:
    from pytest_golive.integration.collection import GoliveItem

    return [i for i in items if isinstance(i, GoliveItem)]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    config = session.config
    gs = gsession.get(config)
    prefetcher = None
    if gs is not None and _enabled(config) and not session.config.option.collectonly:
        worker = hasattr(config, "workerinput")
        if not worker or getattr(config.option, "loadgroup", False):
            prefetcher = Prefetcher(gs, _golive_items(session.items), lazy=worker)
            if not worker and len(prefetcher.queues) < 2 and not _batched(prefetcher, gs):
                prefetcher.close()  # one target, not a host: nothing to overlap, keep the plain path
                prefetcher = None
            else:
                config.stash[PREFETCH_KEY] = prefetcher
                if not worker:
                    prefetcher.start_all()
    vfork = getattr(subprocess, "_USE_VFORK", None)
    if prefetcher is not None and vfork is not None:
        subprocess._USE_VFORK = False  # see the module docstring
    try:
        return (yield)
    finally:
        if prefetcher is not None:
            prefetcher.close()
            del config.stash[PREFETCH_KEY]
            if vfork is not None:
                subprocess._USE_VFORK = vfork


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """On an xdist worker, start the next item's host while this one runs."""
    prefetcher = item.config.stash.get(PREFETCH_KEY, None)
    if prefetcher is not None and prefetcher.lazy:
        prefetcher.start(queue_key(item))
        if nextitem is not None:
            prefetcher.start(queue_key(nextitem))
