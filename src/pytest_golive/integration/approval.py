"""What the approver's reports need from pytest itself.

- ``--golive-change TICKET`` and ``--golive-release VERSION`` (with the
  pipeline's identity and the commit) say what a run is evidence for.
- A readiness suite run without ``--golive`` checks nothing; a pipeline that
  forgets the flag must not go green silently: the run says so in one line
  at its end, and ``--golive-required`` (or ``golive_required = true`` in
  the ini file) makes it a usage error.
- Under xdist's ``loadgroup`` the node id of every checklist item gets an
  ``@<target>`` suffix; reports (JUnit included) name items as a serial run
  does, so CI history does not split in two.
- pytest's own report duration of an item evaluated ahead of reporting is
  near zero; the check's real duration is what people read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.integration import session as gsession

REQUIRED_INI = "golive_required"
_REFUSED = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("golive", "production readiness (pytest-golive)")
    group.addoption("--golive-change", metavar="TICKET", default=None,
                    help="the change ticket this run is evidence for (shown in every report)")
    group.addoption("--golive-release", metavar="VERSION", default=None,
                    help="the release (version) being checked (shown in every report)")
    group.addoption("--golive-required", action="store_true", default=False,
                    help="a usage error unless --golive=ENV is given (for pipelines)")
    parser.addini(REQUIRED_INI, type="bool", default=False,
                  help="a run without --golive=ENV is a usage error (pytest-golive)")


def _has_suite(config: pytest.Config) -> Path | None:
    """The configuration of a readiness suite in this project, if there is one."""
    from pytest_golive.core.config import ConfigError, find_config

    try:
        source, _ = find_config(config.rootpath)
    except (ConfigError, OSError):
        return None
    return source


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    if not config.option.golive:
        if config.option.golive_required or config.getini(REQUIRED_INI):
            config.stash[_REFUSED] = True
            why = "--golive-required" if config.option.golive_required else f"{REQUIRED_INI} = true"
            raise pytest.UsageError(
                f"{why}: this run must check an environment: add --golive=ENV")
        return
    gs = gsession.get(config)
    if gs is None:
        return
    if not config.pluginmanager.has_plugin("golive-serial-names"):
        config.pluginmanager.register(SerialNames(), "golive-serial-names")
    from pytest_golive.core.change import change_record

    gs.results.change = change_record(ticket=config.option.golive_change,
                                      release=config.option.golive_release,
                                      environ=os.environ, root=gs.env.root)
    gs.results.description = gs.env.description


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tell the policy how each line reads now: a sign-off of other words lapses."""
    gs = gsession.get(config)
    if gs is None:
        return
    from pytest_golive.integration.collection import GoliveItem

    for node in items:
        if isinstance(node, GoliveItem):
            gs.policy.line_texts.setdefault(node.item.id, node.item.title)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The last line of a run that had a readiness suite and did not check it."""
    if config.option.golive or hasattr(config, "workerinput") or config.stash.get(_REFUSED, False):
        return
    if getattr(config.option, "help", False) or getattr(config.option, "version", False):
        return
    source = _has_suite(config)
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if source is None or tr is None:
        return
    tr.write_line(f"golive: {source.name} defines a readiness suite, but this run did not "
                  "check it (no --golive=ENV): it says nothing about go-live", yellow=True)


class SerialNames:
    """On the controller (serial run or xdist's): names and durations as a serial run has them.

    Not on xdist workers: a worker checks that each report's node id is its item's.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Every phase: junitxml opens a test case with the setup report's node id.
        report.nodeid = serial_nodeid(report.nodeid)
        record: Any = getattr(report, "golive", None)
        if not isinstance(record, dict):
            return
        duration = record.get("duration")
        if (report.when == "call" and isinstance(duration, (int, float))
                and duration > report.duration):
            report.duration = float(duration)  # evaluated ahead: the check's own time
        if isinstance(record.get("nodeid"), str):
            record["nodeid"] = serial_nodeid(record["nodeid"])


#: ``checklist.md::section/id[web1]@web1``: loadgroup's suffix repeats the item's target.
_GROUP_SUFFIX = re.compile(r"\[([^\[\]]+)\]@\1$")


def serial_nodeid(nodeid: str) -> str:
    """A checklist item's node id without xdist's ``@<group>`` suffix (its target)."""
    if "@" not in nodeid:  # asked for every report: most ids have no suffix to look for
        return nodeid
    return _GROUP_SUFFIX.sub(r"[\1]", nodeid)
