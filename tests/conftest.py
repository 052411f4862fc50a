"""Test-suite configuration.

Fixtures that start real components live in ``tests/support/*.py``, one
module per kind of component; each is loaded here as a plugin so any test
can use them.

Every test that reaches a real component is marked ``real_systems``, so
``pytest -m "not real_systems"`` runs the pure tests alone in seconds while
CI runs everything. The mark follows what a test needs: a fixture of
``tests/support/`` (even through another fixture), except the few there that
start nothing (:data:`PURE_SUPPORT_FIXTURES`); a pytester run
(:data:`LIVE_FIXTURES`); or a call of ``support.require`` in the test or one
of its fixtures, which is how a test says it needs a real component. A new
component's fixture is therefore live without anyone remembering to say so.
The few tests that reach a real system in none of these ways are named in
:data:`REAL_WITHOUT_FIXTURE`, or carry ``@pytest.mark.real_systems``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

pytest_plugins = sorted(
    f"support.{p.stem}" for p in (HERE / "support").glob("*.py") if not p.name.startswith("_")
)

#: Fixtures of tests/support/ that start and reach nothing themselves.
PURE_SUPPORT_FIXTURES = frozenset({
    "targets",  # a list the test appends its handles to, closed at the end
    "assert_no_leak",  # searches texts and files for secrets
    "closed_port",  # a loopback port bound and released: nothing answers on it
})

#: Fixtures from elsewhere that make a test live. A pytester run is a whole readiness run:
#: it evaluates checks against whatever targets the test's configuration names (this machine
#: over local://, servers on loopback), which collection cannot see, so every such run counts.
LIVE_FIXTURES = frozenset({"pytester", "testdir"})

#: Tests (node-id prefixes) that reach real systems with neither a support fixture nor
#: ``support.require``: they run this machine as a ``local://`` host in a subprocess.
REAL_WITHOUT_FIXTURE: tuple[str, ...] = (
    "tests/test_cli.py::test_demo_runs_end_to_end",  # local:// and an HTTP server on loopback
    "tests/test_scaffold.py::test_first_run_is_go",  # the scaffolded project checks local://
)


def _calls_require(func: object) -> bool:
    """Whether a test or fixture function calls ``support.require``: it needs a real component."""
    code = getattr(func, "__code__", None)
    return code is not None and "require" in code.co_names


def _uses_real_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    for name in info.names_closure:
        if name in LIVE_FIXTURES:
            return True
        if name in PURE_SUPPORT_FIXTURES:
            continue
        for fixturedef in info.name2fixturedefs.get(name, ()):
            if getattr(fixturedef.func, "__module__", "").startswith("support."):
                return True
            if _calls_require(fixturedef.func):
                return True
    return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("real_systems"):
            continue
        nodeid = item.nodeid
        live = (
            _uses_real_fixture(item)
            or _calls_require(getattr(item, "function", None))
            or any(nodeid.startswith(p) for p in REAL_WITHOUT_FIXTURE)
        )
        if live:
            item.add_marker(pytest.mark.real_systems)
