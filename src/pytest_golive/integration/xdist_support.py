"""pytest-xdist for readiness runs: keep each host's items on one worker.

Every checklist item carries ``pytest.mark.xdist_group(<target name>)``
(:class:`~pytest_golive.integration.collection.GoliveItem`). xdist honours that mark only
under ``--dist loadgroup``; its default for ``-n`` is ``load``, which would
scatter one host's items over every worker, so each worker would open its
own connection to every host. So when a golive run uses ``-n`` and the user
did not choose a distribution mode, this module chooses ``loadgroup``. An
explicit ``--dist`` (on the command line, in ``PYTEST_ADDOPTS`` or in the
``addopts`` ini setting) is always respected.

Results need nothing from here: workers send their reports (which carry the
golive record) to the controller, which builds the one results model and
writes the reports (see :mod:`pytest_golive.plugin`).
"""

from __future__ import annotations

import os
import shlex
from typing import Any

import pytest

from pytest_golive.core.item_result import ItemResult


def user_chose_dist(config: pytest.Config) -> bool:
    """Whether ``--dist``/``-d`` was given anywhere pytest reads options from."""
    args = [str(a) for a in config.invocation_params.args]
    args += shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    try:
        args += [str(a) for a in config.getini("addopts")]
    except ValueError:
        pass
    return any(a == "--dist" or a.startswith("--dist=") or a in ("-d", "--distload") for a in args)


def choose_loadgroup(config: pytest.Config) -> bool:
    """Set ``--dist loadgroup`` for a distributed golive run; True if it did."""
    if not getattr(config.option, "golive", None):
        return False
    if not config.pluginmanager.hasplugin("xdist"):
        return False
    numprocesses = getattr(config.option, "numprocesses", None)
    if not numprocesses or numprocesses == 0:
        return False
    if user_chose_dist(config) or getattr(config.option, "distload", False):
        return False
    config.option.dist = "loadgroup"
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # Whether this runs before or after xdist's own hook, the result is the
    # same: xdist only turns "no" into "load", and leaves "loadgroup" alone.
    choose_loadgroup(config)



# --- telling workers, and merging their results back in collection order -----------------

@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller: tell each worker whether items are grouped by host.

    Workers parse the original command line again, which may say only
    ``-n 2``; the ``@host`` suffix xdist's loadgroup needs is added on the
    worker, so the worker must know the mode chosen here.
    """
    node.workerinput["golive_loadgroup"] = getattr(node.config.option, "dist", "no") == "loadgroup"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        if workerinput.get("golive_loadgroup"):
            config.option.loadgroup = True
    elif getattr(config.option, "golive", None) and getattr(config.option, "dist", "no") != "no":
        config.pluginmanager.register(_Merger(), "golive-xdist-merger")


class _Merger:
    """Controller: give each worker's record its serial node id and place in the run."""

    def __init__(self) -> None:
        #: node id (as workers report it) -> index in collection order.
        self.order: dict[str, int] = {}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if not self.order:
            from pytest_golive.integration.approval import serial_nodeid

            # keyed by serial node ids: approval.SerialNames may strip the suffix first
            self.order = {serial_nodeid(nodeid): i for i, nodeid in enumerate(ids)}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Under loadgroup xdist appends ``@<group>`` to node ids; a checklist
        item's group is its target, so ``checklist.md::x[web1]@web1`` is
        recorded as ``checklist.md::x[web1]``, as in a serial run. Each worker
        numbers the items it ran; here they are renumbered in collection
        order, so the merged report lists results as a serial run does.
        """
        data = getattr(report, "golive", None)
        if not isinstance(data, dict):
            return
        record = ItemResult.from_dict(data)
        nodeid, target = record.nodeid, record.target
        if target and nodeid.endswith(f"@{target}"):
            nodeid = nodeid[: -len(target) - 1]
        from pytest_golive.integration.approval import serial_nodeid

        order = self.order.get(serial_nodeid(report.nodeid))
        placed = record.placed(nodeid=nodeid, order=order)
        report.golive = placed.to_dict()  # type: ignore[attr-defined]
