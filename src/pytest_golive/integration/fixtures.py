"""Fixtures for custom checks written as plain pytest tests.

``golive_host``, ``golive_endpoint`` and ``golive_db`` are parametrized over
the environment's targets of their kind (``pytest_generate_tests`` in
plugin.py), narrowed by ``on=`` on the test's section marker::

    @pytest.mark.security(on="web", severity="warning")
    def test_no_world_writable_tmp(golive_host):
        assert golive_host.file("/tmp").mode == 0o1777

They share the run's connections with the checklist items, and a target
that cannot be reached fails the test with one line, not a traceback.
"""

from __future__ import annotations

from typing import Any, NoReturn

import pytest

from pytest_golive.core.config import Environment, TargetSpec
from pytest_golive.core.outcome import CheckError
from pytest_golive.integration import session as gsession

FIXTURE_KINDS = {"golive_host": "host", "golive_endpoint": "endpoint", "golive_db": "database"}

#: What each fixture value stands for, by id: ``pytest_golive.run_check(name, golive_host)``
#: converts a fixture value back to its target explicitly (the values are testinfra's,
#: requests' and the drivers' own objects, which cannot carry it themselves).
_TARGET_OF: dict[int, tuple[Any, TargetSpec]] = {}


def target_of(value: Any) -> TargetSpec | None:
    """The target a fixture value (or a ``golive_target`` handle) stands for, if any."""
    known = _TARGET_OF.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    spec = getattr(value, "spec", None)
    return spec if isinstance(spec, TargetSpec) else None


def _remember(value: Any, request: pytest.FixtureRequest) -> Any:
    spec = getattr(request, "param", None)
    if isinstance(spec, TargetSpec):
        _TARGET_OF[id(value)] = (value, spec)
        request.addfinalizer(lambda: _TARGET_OF.pop(id(value), None))
    return value


def _unreachable(exc: CheckError) -> NoReturn:
    """Fail the test with the target's one line, without pytest also printing the cause it
    was raised from ("During handling of the above exception...", the same line again)."""
    raise pytest.fail.Exception(str(exc), pytrace=False) from None


def _skip(reason: str) -> NoReturn:
    """Skip the test, reported at the test (-rs names its line), not at this fixture."""
    raise pytest.skip.Exception(reason, _use_item_location=True)


def _session(request: pytest.FixtureRequest) -> gsession.GoliveSession:
    gs = gsession.get(request.config)
    if gs is None:
        _skip("needs a readiness run: pytest --golive=ENV")
    return gs


def _handle(request: pytest.FixtureRequest) -> Any:
    gs = _session(request)
    spec: TargetSpec | None = getattr(request, "param", None)
    if spec is None:
        _skip("no target of this kind in the environment")
    try:
        return gs.pool.handle(spec)
    except CheckError as exc:
        _unreachable(exc)


@pytest.fixture(scope="session")
def golive_env(request: pytest.FixtureRequest) -> Environment:
    """The environment of this run (targets, vars, settings)."""
    return _session(request).env


@pytest.fixture
def golive_host(request: pytest.FixtureRequest) -> Any:
    """A testinfra ``Host`` for each host target (connection reused across the run)."""
    handle = _handle(request)
    try:
        handle.run("true")
    except CheckError as exc:
        _unreachable(exc)
    return _remember(handle.testinfra, request)


@pytest.fixture
def golive_endpoint(request: pytest.FixtureRequest) -> Any:
    """A requests session bound to each endpoint's base URL, headers, CA bundle and timeouts."""
    from pytest_golive.targets.endpoint import BaseUrlSession  # requests only where endpoints are

    handle = _handle(request)
    session = BaseUrlSession(handle.base_url, handle.timeout)
    session.verify = handle.verify
    session.headers.update(handle.session.headers)
    yield _remember(session, request)
    session.close()


@pytest.fixture
def golive_db(request: pytest.FixtureRequest) -> Any:
    """A read-only DB-API connection (or redis client) for each database target."""
    handle = _handle(request)
    try:
        return _remember(handle.connection(), request)
    except CheckError as exc:
        _unreachable(exc)


@pytest.fixture
def golive_target(request: pytest.FixtureRequest) -> Any:
    """Look a target's handle up by name: ``golive_target("warehouse")``.

    For custom checks that need one named target rather than a test per
    target (``golive_db`` and friends parametrize). The handle is the run's
    shared one (read-only database session, reused SSH connection); an
    unknown name or an unreachable target fails the test with one line.
    """
    gs = _session(request)

    def lookup(name: str) -> Any:
        spec = gs.env.target(name)
        if spec is None:
            known = ", ".join(t.name for t in gs.env.targets) or "none"
            pytest.fail(
                f"no target '{name}' in environment '{gs.env.name}' (known: {known})", pytrace=False
            )
        try:
            return gs.pool.handle(spec)
        except CheckError as exc:
            _unreachable(exc)

    return lookup

