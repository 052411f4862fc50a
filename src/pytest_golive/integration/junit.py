"""JUnit XML: suite-level properties (environment, verdict) for CI test reporters.

Per-test-case properties (section, item, severity, target, status,
observed, expected, waiver) are added by the plugin to each report's
``user_properties``. The suite's properties are added here, to pytest's own
junitxml writer, before it writes the file at the end of the session.
"""

from __future__ import annotations

from typing import Any

import pytest


def suite_properties(config: pytest.Config) -> list[tuple[str, str]]:
    from pytest_golive.core.secrets import mask
    from pytest_golive.integration import session as gsession

    gs = gsession.get(config)
    if gs is None:
        return []
    verdict = gs.results.verdict
    props = [
        ("golive.environment", gs.results.environment),
        ("golive.verdict", verdict["verdict"]),
        ("golive.reasons", "; ".join(verdict["reasons"])),
        ("golive.blocking", str(len(verdict["blocking"]))),
        ("golive.items", str(len(gs.results.results))),
        ("golive.started", gs.results.started),
        ("golive.run_by", str(gs.results.provenance.get("run_by", ""))),
        ("golive.plugin_version", str(gs.results.provenance.get("plugin_version", ""))),
    ]
    # What the run is evidence for, so a CI test reporter shows it beside the verdict.
    change = gs.results.change
    pipeline = change.get("pipeline") or {}
    for name, value in (
        ("golive.change", change.get("ticket")),
        ("golive.release", change.get("release")),
        ("golive.git_commit", change.get("git_commit")),
        (
            "golive.pipeline",
            " ".join(str(pipeline[k]) for k in ("system", "run_id") if pipeline.get(k)),
        ),
        ("golive.pipeline_url", pipeline.get("url")),
        ("golive.description", gs.results.description),
    ):
        if value:
            props.append((name, str(value)))
    return [(k, mask(v)) for k, v in props]


class JunitSuiteProperties:
    """Adds the suite properties just before pytest's junitxml writes its file."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(session.config, "workerinput"):
            return
        from pytest_golive.core import compat

        xml: Any = compat.junit_writer(session.config)
        if xml is None:
            return
        for name, value in suite_properties(session.config):
            xml.add_global_property(name, value)
