"""The check catalog of a readiness run: check packs and golive.toml plugins at start,
name clashes after collection, each as one usage line instead of a traceback.

Checks registered in conftest.py files are imported by pytest itself while it
collects; two of them (or a conftest and a pack) defining one name are
recorded by the registry and reported here once collection has seen them all.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.option.golive:
        return
    from pytest_golive.checks import packs
    from pytest_golive.checks.registry import REGISTRY, CheckDefinitionError

    try:
        REGISTRY.names()  # built-ins, then the installed packs
        packs.load_configured(config.rootpath, config.option.golive_config, REGISTRY)
    except CheckDefinitionError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config) -> None:
    # On an xdist worker a usage error would only take the worker down; there a
    # line naming the clashing check fails its collection with the same line.
    if not config.option.golive or hasattr(config, "workerinput"):
        return
    from pytest_golive.checks.registry import REGISTRY, CheckNameClash

    try:
        REGISTRY.check_clashes()
    except CheckNameClash as exc:
        raise pytest.UsageError(str(exc)) from None
