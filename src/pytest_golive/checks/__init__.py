"""The check catalog. Each module holds the checks for one target kind.

``REGISTRY`` is filled on first use by importing the built-in modules below;
third-party checks register with the same :func:`check` decorator.
"""

from __future__ import annotations

import importlib

from pytest_golive.checks.registry import REGISTRY, Check, CheckDefinitionError, check

BUILTIN_MODULES = (
    "host",
    "endpoint",
    "tls",
    "database",
    "config",
)


def load_builtin() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(f"pytest_golive.checks.{module}")


__all__ = ["REGISTRY", "Check", "CheckDefinitionError", "check", "load_builtin"]
