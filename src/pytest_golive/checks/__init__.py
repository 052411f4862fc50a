"""The check catalog. Each module holds the checks for one target kind.

``REGISTRY`` is filled on first use by importing the built-in modules below,
then the installed check packs (:mod:`pytest_golive.checks.packs`);
third-party checks register with the same :func:`check` decorator.
"""

from __future__ import annotations

import importlib
import pkgutil

from pytest_golive.checks.registry import REGISTRY, Check, CheckDefinitionError, check

#: Modules of this package that hold no checks of their own.
_INFRASTRUCTURE = frozenset({"packs", "registry", "rules"})


def builtin_modules() -> list[str]:
    """Every check module of the package (a module or a subpackage per family).

    Found by listing the package, so a new family is one new module and no
    list elsewhere has to be kept in step with it.
    """
    return sorted(
        info.name
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name not in _INFRASTRUCTURE
    )


def load_builtin() -> None:
    for module in builtin_modules():
        importlib.import_module(f"pytest_golive.checks.{module}")


__all__ = ["REGISTRY", "Check", "CheckDefinitionError", "check", "load_builtin"]
