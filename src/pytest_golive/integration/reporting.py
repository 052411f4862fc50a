"""Renderers: each turns the results model into one format and decides nothing.

``write_reports`` is called once, on the controller, at the end of a run.
Every renderer reads the same masked plain data (``RunResults.to_dict()``),
so no renderer can show a secret the model does not.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_golive.integration.session import GoliveSession


def write_reports(config: pytest.Config, gs: GoliveSession) -> None:
    from pytest_golive.report.json_report import ReportError, integrity_block

    opt = config.option
    if opt.golive_baseline:
        gs.results.baseline = baseline_block(Path(opt.golive_baseline), gs.results.to_dict())
    data = gs.results.to_dict()
    try:
        integrity = integrity_block(data, opt.golive_sign_key)
    except ReportError as exc:
        raise pytest.UsageError(str(exc)) from None
    if opt.golive_json:
        from pytest_golive.report.json_report import write_json

        _written(config, "--golive-json", opt.golive_json,
                 lambda path: write_json(path, data, integrity=integrity))
    if opt.golive_report:
        from pytest_golive.report.html_report import write_html

        signature = integrity.get("signature")
        _written(config, "--golive-report", opt.golive_report,
                 lambda path: write_html(path, data, integrity["digest"], signature))
    if opt.golive_markdown:
        from pytest_golive.report.markdown_report import write_markdown

        _written(config, "--golive-markdown", opt.golive_markdown,
                 lambda path: write_markdown(path, data, integrity["digest"]))


#: One line per report that could not be written, for the terminal summary and the exit code.
REPORT_ERRORS = pytest.StashKey[list[str]]()


def _written(config: pytest.Config, option: str, value: str,
             write: Callable[[Path], object]) -> None:
    """Write one report; a failure is one line, and the other reports are still written."""
    path = Path(value)
    existed = path.exists()
    try:
        write(path)
    except OSError as exc:
        left = "the previous file is left as it was" if existed else "no file was written"
        reason = exc.strerror or type(exc).__name__
        config.stash.setdefault(REPORT_ERRORS, []).append(
            f"golive: {option} {path}: cannot write: {reason} ({left})")


def baseline_block(path: Path, current: dict[str, Any]) -> dict[str, Any]:
    """The comparison with an earlier report, as data carried in this report."""
    from pytest_golive.report.diff import compare
    from pytest_golive.report.json_report import ReportError, digest, read_json

    try:
        old = read_json(path)
    except ReportError as exc:
        raise pytest.UsageError(f"--golive-baseline: {exc}") from None
    return {
        "path": str(path),
        "environment": old.get("environment", ""),
        "finished": old.get("finished", ""),
        "digest": digest(old),
        "diff": compare(old, current).to_dict(),
    }


def register_report_hooks(config: pytest.Config) -> None:
    """Hooks that feed other reporters (JUnit XML, pytest-html) in a readiness run."""
    from pytest_golive.integration.junit import JunitSuiteProperties

    if not config.pluginmanager.has_plugin("golive-junit"):
        config.pluginmanager.register(JunitSuiteProperties(), "golive-junit")
    if config.pluginmanager.has_plugin("html") and not config.pluginmanager.has_plugin(
        "golive-html"
    ):
        from pytest_golive.integration import pytest_html_hooks

        config.pluginmanager.register(pytest_html_hooks, "golive-html")
