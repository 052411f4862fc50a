"""Checks from outside the package: installed check packs and modules named in golive.toml.

A check pack is a distribution that declares an entry point in the group
``pytest_golive.checks``::

    [project.entry-points."pytest_golive.checks"]
    acme = "acme_golive.checks"

Its module is imported when the catalog is first used, right after the
built-in check modules, so its ``@check`` functions are in ``golive checks``,
in the generated reference and in collection exactly like built-in ones. An
entry point may also name a function (``acme_golive:register``); it is
called with no arguments once its module is imported.

A project can name modules of its own in golive.toml (``plugins =
["ops_checks"]``), found next to the configuration file first, the way
``pytest -p`` would load them from the rootdir.

Whatever fails while loading one of these is a :class:`CheckPackError`: one
line naming the pack or the module, what went wrong and what to do.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import types
from collections.abc import Iterable
from pathlib import Path

from pytest_golive.checks.registry import CheckDefinitionError, Registry

#: The entry-point group third-party check packs declare.
ENTRY_POINT_GROUP = "pytest_golive.checks"


class CheckPackError(CheckDefinitionError):
    """A check pack or a configured plugin module that cannot be loaded."""


def entry_points() -> list[importlib.metadata.EntryPoint]:
    """The installed check packs' entry points, in a stable order."""
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    return sorted(found, key=lambda ep: (ep.name, ep.value))


def describe(ep: importlib.metadata.EntryPoint) -> str:
    """``'acme' (acme_golive.checks, from acme-golive 1.2)`` for messages and origins."""
    dist = ep.dist
    source = f", from {dist.name} {dist.version}" if dist is not None else ""
    return f"'{ep.name}' ({ep.value}{source})"


def load_entry_points(registry: Registry) -> list[str]:
    """Import every installed check pack; the names of those loaded.

    Raises :class:`CheckPackError` naming the first pack that fails.
    """
    loaded: list[str] = []
    for ep in entry_points():
        what = describe(ep)
        registry.loading_pack = f"check pack {what}"
        try:
            target = ep.load()
            if callable(target) and not isinstance(target, types.ModuleType):
                target()
        except CheckDefinitionError as exc:
            raise CheckPackError(f"check pack {what}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - any failure of third-party code is one line
            dist = ep.dist.name if ep.dist is not None else ep.name
            raise CheckPackError(
                f"check pack {what} cannot be loaded: {type(exc).__name__}: {exc} "
                f"(fix the pack, or remove it: pip uninstall {dist})"
            ) from None
        finally:
            registry.loading_pack = None
        loaded.append(ep.name)
    return loaded


def load_modules(names: Iterable[str], base: Path, source: str, registry: Registry) -> None:
    """Import the modules golive.toml's ``plugins`` names, from ``base`` first.

    ``source`` (the configuration file) starts each error line, with the module.
    """
    names = list(names)
    if not names:
        return
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    for name in names:
        registry.loading_pack = f"plugin '{name}' of {source}"
        try:
            importlib.import_module(name)
        except CheckDefinitionError as exc:
            raise CheckPackError(f"{source}: plugins: '{name}': {exc}") from None
        except Exception as exc:  # noqa: BLE001 - a plugin's failure is one line
            raise CheckPackError(
                f"{source}: plugins: module '{name}' cannot be imported: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        finally:
            registry.loading_pack = None


def configured_plugins(data: dict[str, object]) -> list[str]:
    """The module names of a configuration table's ``plugins`` key (a string or a list)."""
    value = data.get("plugins")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def load_configured(rootdir: Path, explicit: str | None, registry: Registry) -> Path | None:
    """Import the ``plugins`` of the project's configuration, if it has one; its path.

    No configuration file is not an error here: ``golive checks`` also runs
    outside projects.
    """
    from pytest_golive.core.config import ConfigError, find_config, validate

    try:
        path, data = find_config(rootdir, explicit)
    except ConfigError:
        if explicit:
            raise
        return None
    validate(path, data)
    load_modules(configured_plugins(data), path.parent, path.name, registry)
    return path
