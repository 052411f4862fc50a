"""Evaluate checklist items ahead of reporting them: hosts at once, each host in order.

pytest runs items one after another, so a readiness run over a fleet would
wait for every host in turn. At the start of the run loop this module hands
every collected checklist item (:class:`~pytest_golive.integration.collection.GoliveItem`)
to :class:`~pytest_golive.engine.ahead.Ahead`: one queue per target, so the
items of one host run one after the other on that host's single (multiplexed) connection, while
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

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

from pytest_golive.core import compat
from pytest_golive.core.outcome import Outcome
from pytest_golive.engine.ahead import Ahead
from pytest_golive.engine.evaluate import Job
from pytest_golive.integration import session as gsession

if TYPE_CHECKING:
    from pytest_golive.integration.collection import GoliveItem

PREFETCH_KEY = pytest.StashKey[Ahead]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("golive")
    group.addoption("--golive-no-prefetch", action="store_true", default=False,
                    help="evaluate checklist items one by one as pytest reaches them "
                         "(no concurrency across hosts; for debugging checks)")


def job_of(item: Any) -> Job | None:
    """The job an item stands for, or ``None`` when it is not evaluated ahead.

    Manual lines have no check; a line whose target kind the environment
    lacks reports that at once.
    """
    chk = getattr(item, "chk", None)
    if chk is None:
        return None
    spec = getattr(item, "spec", None)
    if spec is None and chk.target != "none":
        return None
    return Job(key=item.nodeid, check=chk, spec=spec, params=item.params)


def take(item: GoliveItem) -> Outcome | None:
    """Called by :meth:`GoliveItem.runtest`: the outcome evaluated ahead, if any."""
    ahead = item.config.stash.get(PREFETCH_KEY, None)
    return None if ahead is None else ahead.take(item.nodeid)


def _enabled(config: pytest.Config) -> bool:
    return gsession.get(config) is not None and not config.getoption("golive_no_prefetch", False)


def _jobs(items: Iterable[pytest.Item]) -> list[Job]:
    from pytest_golive.integration.collection import GoliveItem

    jobs = (job_of(i) for i in items if isinstance(i, GoliveItem))
    return [j for j in jobs if j is not None]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    config = session.config
    gs = gsession.get(config)
    ahead = None
    if gs is not None and _enabled(config) and not session.config.option.collectonly:
        worker = hasattr(config, "workerinput")
        if not worker or getattr(config.option, "loadgroup", False):
            settings = gs.env.settings
            ahead = Ahead(gs.engine, _jobs(session.items), concurrency=settings.concurrency,
                          batch_commands=bool(settings.batch_commands), lazy=worker)
            if not worker and len(ahead.queues) < 2 and not ahead.batched():
                ahead.close()  # one target, not a host: nothing to overlap, keep the plain path
                ahead = None
            else:
                config.stash[PREFETCH_KEY] = ahead
                if not worker:
                    ahead.start_all()
    with contextlib.ExitStack() as restore:
        if ahead is not None:
            restore.enter_context(compat.no_vfork())  # see the module docstring
        try:
            return (yield)
        finally:
            if ahead is not None:
                ahead.close()
                del config.stash[PREFETCH_KEY]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """On an xdist worker, start the next item's host while this one runs."""
    ahead = item.config.stash.get(PREFETCH_KEY, None)
    if ahead is not None and ahead.lazy:
        ahead.start(ahead.key_of(item.nodeid))
        if nextitem is not None:
            ahead.start(ahead.key_of(nextitem.nodeid))
