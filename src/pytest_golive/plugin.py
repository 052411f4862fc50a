"""pytest hooks only: options, markers, collection, fixtures and reporting hooks.

Without ``--golive`` the plugin registers its options and markers and does
nothing else: no collection, no output, no change to exit codes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.checklist import is_checklist
from pytest_golive.checklist.model import CANONICAL_SECTIONS
from pytest_golive.core.secrets import MASKER, mask
from pytest_golive.core.verdict import check_severity, stale_waivers
from pytest_golive.integration import custom, item_reports, memory
from pytest_golive.integration import session as gsession
from pytest_golive.integration.collection import ChecklistFile, GoliveItem
from pytest_golive.integration.fixtures import (  # noqa: F401 - fixtures are found by name
    FIXTURE_KINDS,
    golive_db,
    golive_endpoint,
    golive_env,
    golive_host,
    golive_target,
)

#: Concurrent evaluation ahead of reporting, and xdist defaults, as plugins of their own.
pytest_plugins = ("pytest_golive.integration.prefetch", "pytest_golive.integration.xdist_support",
                  "pytest_golive.integration.approval", "pytest_golive.integration.catalog",
                  "pytest_golive.integration.remote_runners",
                  "pytest_golive.integration.converging")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("golive", "production readiness (pytest-golive)")
    group.addoption(
        "--golive",
        metavar="ENV",
        default=None,
        help="run the readiness checklist against environment ENV from golive.toml",
    )
    group.addoption(
        "--golive-config",
        metavar="PATH",
        default=None,
        help="configuration file (default: golive.toml or [tool.golive] in pyproject.toml)",
    )
    group.addoption(
        "--golive-checklist",
        metavar="PATH",
        action="append",
        default=[],
        help="an extra checklist file (Markdown or YAML); may be repeated",
    )
    group.addoption(
        "--golive-manual",
        choices=("block", "warn"),
        default=None,
        help="manual items without attestation: block the release (default) or warn",
    )
    group.addoption(
        "--golive-strict",
        action="store_true",
        default=False,
        help="failing warnings block the release too",
    )
    group.addoption(
        "--golive-today",
        metavar="YYYY-MM-DD",
        default=None,
        help="the date waivers and attestations are judged on (default: today)",
    )
    group.addoption(
        "--golive-json", metavar="PATH", default=None, help="write the JSON results report"
    )
    group.addoption(
        "--golive-report", metavar="PATH", default=None, help="write the HTML readiness report"
    )
    group.addoption(
        "--golive-markdown", metavar="PATH", default=None, help="write a Markdown summary"
    )
    group.addoption(
        "--golive-sign-key",
        metavar="KEY",
        default=None,
        help="sign the JSON report with this Ed25519 private key (PEM)",
    )
    group.addoption(
        "--golive-baseline",
        metavar="OLD.json",
        default=None,
        help="compare with an earlier JSON report and show what changed",
    )
    group.addoption(
        "--golive-traceback",
        action="store_true",
        default=False,
        help="show full tracebacks for errors inside checks (for check authors)",
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> Any:
    """Before pytest starts capturing: mask secrets in whatever reaches the terminal."""
    if getattr(early_config.known_args_namespace, "golive", None):
        # Cleanups run last first: this one after capture has given the streams back.
        early_config.add_cleanup(gsession.mask_streams())
    return (yield)


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in CANONICAL_SECTIONS.items():
        config.addinivalue_line(
            "markers",
            f"{name}(id=None, severity='blocker', on=None): golive section: {doc}",
        )
    config.addinivalue_line(
        "markers",
        "golive(id=None, severity='blocker', on=None, section=None): "
        "a golive check written as a test",
    )
    if not config.pluginmanager.is_registered(custom):  # custom tests: time limit, evidence
        config.pluginmanager.register(custom, "golive-custom")
    if not config.pluginmanager.has_plugin("golive-exit-status"):  # for gsession.guard_exit
        config.pluginmanager.register(gsession.ExitStatusNote(), "golive-exit-status")
    if not config.option.golive:
        return
    gs = gsession.GoliveSession.start(config)
    config.stash[gsession.SESSION_KEY] = gs
    gsession.guard_exit()
    from pytest_golive.integration import signals

    signals.install()
    _mask_log_records(config)
    gsession.add_checklist_args(config, gs.checklists)
    from pytest_golive.integration.reporting import register_report_hooks

    register_report_hooks(config)


#: Puts logging's record factory back as it was before this run wrapped it.
_UNDO_LOG_MASKING = pytest.StashKey[Callable[[], None]]()
_UNDO_GC = pytest.StashKey[Callable[[], None]]()


def _mask_log_records(config: pytest.Config) -> None:
    """Mask secrets in every log record as it is made.

    Live logging (``log_cli``), captured logs and log files all format the
    same records, and drivers (testinfra, paramiko, urllib3) log commands and
    URLs at DEBUG; masking the record itself covers every handler at once.
    """
    import logging

    from pytest_golive.core import compat

    if getattr(logging.getLogRecordFactory(), "golive_masking", False):
        return  # an outer run (pytester in-process) already masks, and will restore

    def wrap(factory: compat.LogRecordFactory) -> compat.LogRecordFactory:
        def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = factory(*args, **kwargs)
            if MASKER.values():
                try:
                    message = record.getMessage()
                except Exception:  # noqa: BLE001 - a broken format string stays as it was
                    return record
                masked = mask(message)
                if masked != message:  # leave untouched records as they were, args included
                    record.msg, record.args = masked, None
            return record

        masking_factory.golive_masking = True  # type: ignore[attr-defined]
        return masking_factory

    config.stash[_UNDO_LOG_MASKING] = compat.wrap_log_records(wrap)


def pytest_unconfigure(config: pytest.Config) -> None:
    undo = config.stash.get(_UNDO_LOG_MASKING, None)
    if undo is not None:
        undo()
    restore_gc = config.stash.get(_UNDO_GC, None)
    if restore_gc is not None:
        restore_gc()
    gs = gsession.get(config)
    if gs is not None:
        from pytest_golive.integration import signals

        signals.uninstall()
        gs.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    gs = gsession.get(parent.config)
    if gs is None or not is_checklist(file_path):
        return None
    if file_path.resolve() in gs.checklists:
        return ChecklistFile.from_parent(parent, path=file_path)
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    gs = gsession.get(metafunc.config)
    for fixture, kind in FIXTURE_KINDS.items():
        if fixture not in metafunc.fixturenames:
            continue
        if gs is None:
            continue  # the fixture itself skips with a clear reason
        selector = (custom.marker_option(metafunc.definition, "on")
                    or custom.marker_option(metafunc.definition, "targets"))
        try:
            specs = gs.env.select(kind, selector)
        except KeyError as exc:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: {exc.args[0]}") from None
        metafunc.parametrize(fixture, specs, indirect=True, ids=[s.name for s in specs])


COLLECTED_KEY = pytest.StashKey[list[tuple[str, "str | None"]]]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Check marker severities and remember every collected (item id, target).

    Runs before ``-k``/``-m``/``--deselect`` narrow the run: stale waivers
    are judged against everything the checklists hold, not what was selected.
    """
    gs = gsession.get(config)
    if gs is None:
        return
    keys: list[tuple[str, str | None]] = []
    plain = [node for node in items if not isinstance(node, GoliveItem) and not custom.counts(node)]
    if plain:  # not checklist lines: see integration/custom.py for why they are deselected
        config.hook.pytest_deselected(items=plain)
        dropped = set(plain)
        items[:] = [node for node in items if node not in dropped]
        gs.plain_tests = len(plain)
        if hasattr(config, "workerinput"):  # every worker collects all: the controller says it
            config.workeroutput["golive_plain"] = len(plain)  # type: ignore[attr-defined]
    for node in items:
        if isinstance(node, GoliveItem):
            keys.append((node.item.id, node.target_name))
            continue
        model, target = custom.item_model(node)
        mark = custom.section_marker(node)
        if mark is not None:
            check_severity(model.severity, f"{node.nodeid}: @pytest.mark.{mark.name}(severity=...)")
        keys.append((model.id, target))
    if any("::" in str(a) for a in config.invocation_params.args):
        return  # node ids chose what to collect: too little is known to call a waiver stale
    config.stash[COLLECTED_KEY] = keys
    if hasattr(config, "workerinput"):
        output = config.workeroutput  # type: ignore[attr-defined]
        output["golive_collected"] = [list(k) for k in keys]


def pytest_collection_finish(session: pytest.Session) -> None:
    if gsession.get(session.config) is not None and _UNDO_GC not in session.config.stash:
        session.config.stash[_UNDO_GC] = memory.during_run()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: gather what each worker collected."""
    gs = gsession.get(node.config)
    output = getattr(node, "workeroutput", {})
    if gs is not None:
        gs.plain_tests = max(gs.plain_tests, int(output.get("golive_plain", 0)))
    keys = output.get("golive_collected")
    if gs is None or keys is None:
        return
    known = node.config.stash.setdefault(COLLECTED_KEY, [])
    known.extend(tuple(k) for k in keys if tuple(k) not in known)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    gs = gsession.get(item.config)
    if gs is not None and not isinstance(item, GoliveItem):
        custom.without_plugin_frames(call)
    report = yield
    if gs is not None:
        if isinstance(item, GoliveItem):
            record = item.golive_result if call.when == "call" else None
        else:
            record = item_reports.python_test_result(gs, item, call, report)
        item_reports.attach(item, call, report, record)
    item_reports.mask_report(report)
    return report


def pytest_collectreport(report: pytest.CollectReport) -> None:
    item_reports.mask_report(report)


def pytest_report_teststatus(report: Any, config: pytest.Config) -> Any:
    if gsession.get(config) is None:
        return None
    return item_reports.teststatus(report)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    gs = gsession.get(session.config)
    if gs is not None:
        session.config.pluginmanager.register(item_reports.ResultsCollector(gs),
                                              "golive-collector")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    gs = gsession.get(session.config)
    if gs is None or hasattr(session.config, "workerinput") or session.config.option.collectonly:
        return
    from pytest_golive.core.results import now_iso
    from pytest_golive.integration.reporting import REPORT_ERRORS, write_reports

    gs.results.finished = now_iso()
    incomplete = gsession.incomplete(session, exitstatus)
    if incomplete and not gs.results.collection_errors:
        gs.results.options["incomplete"] = incomplete
    collected = session.config.stash.get(COLLECTED_KEY, None)
    gs.results.stale_waivers = [w.to_dict() for w in stale_waivers(gs.policy, collected)]
    from pytest_golive.core.verdict import stale_attestations

    gs.results.stale_attestations = [a.to_dict() for a in stale_attestations(gs.policy, collected)]
    write_reports(session.config, gs)
    if gs.results.verdict["verdict"] == "NO-GO" and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if session.config.stash.get(REPORT_ERRORS, None) and session.exitstatus == 0:
        # A GO whose report could not be written must not pass a pipeline that attaches it.
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    gs = gsession.get(config)
    if gs is None or hasattr(config, "workerinput") or config.option.collectonly:
        return
    from pytest_golive.report.terminal import write_summary

    write_summary(terminalreporter, gs.results, config.option.reportchars or "",
                  round_trips=gs.pool.round_trips() if config.option.verbose > 0 else None)
    from pytest_golive.integration.reporting import REPORT_ERRORS

    for line in config.stash.get(REPORT_ERRORS, []):
        terminalreporter.write_line(line, red=True, bold=True)
    if gs.results.verdict["verdict"] == "NO-GO":
        _red_summary_line(terminalreporter)


def _red_summary_line(tr: Any) -> None:
    """End a NO-GO run in a red summary line, even when only pending items block it.

    pytest colours the line red only for its own 'failed'/'error' counts; an
    empty 'failed' entry adds no count and makes the colour tell the truth.
    """
    if "failed" in tr.stats or "error" in tr.stats:
        return
    tr.stats["failed"] = []
    from pytest_golive.core import compat

    compat.recolor_summary(tr)
