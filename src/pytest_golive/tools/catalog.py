"""The whole catalog a project sees, for ``golive checks`` and ``golive docs``.

Built-in checks and installed check packs load with the registry; this adds
what only the project knows: the ``plugins`` modules its golive.toml names,
and the checks its conftest.py files register. Conftests are imported the
way pytest imports them, by a collect-only pytest session over the project
that collects no test file (so no test module is imported), with the
project's own pytest configuration (rootdir, ``testpaths``, plugins).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest

from pytest_golive.checks import packs
from pytest_golive.checks.registry import REGISTRY, CheckDefinitionError


class _OnlyConftests:
    """Collect directories (so pytest imports their conftest.py), never a file."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_ignore_collect(self, collection_path: Path) -> bool | None:
        return True if collection_path.is_file() else None


def load_project(root: Path, config: str | None = None, *, conftests: bool = True) -> None:
    """Load the project's ``plugins`` and conftest checks into the registry.

    Raises :class:`CheckDefinitionError` (one line) for a broken pack or
    plugin, a conftest pytest cannot import, and a name defined twice.
    """
    REGISTRY.names()
    packs.load_configured(root, config, REGISTRY)
    if conftests and _has_conftest(root):
        _import_conftests(root)
    REGISTRY.check_clashes()


#: Directories pytest does not collect by default either.
_SKIP = {"node_modules", "venv", "__pycache__", "build", "dist"}


def _has_conftest(root: Path) -> bool:
    """Whether any conftest.py is there to import (no pytest session otherwise)."""
    for _, dirs, files in os.walk(root):
        if "conftest.py" in files:
            return True
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP]
    return False


def _import_conftests(root: Path) -> None:
    out = io.StringIO()
    # The project's addopts could ask for a readiness run or workers (--golive, -n): the
    # session only imports conftests, so they are left out.
    args = ["--collect-only", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
            "--rootdir", str(root)]
    if root.resolve() != Path.cwd().resolve():
        args.append(str(root))  # in the project itself, pytest's own testpaths apply
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main(args, plugins=[_OnlyConftests()])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise CheckDefinitionError(
            f"{root}: pytest could not load the project's conftest.py files: {_first_error(out)}"
        )


def _first_error(out: io.StringIO) -> str:
    """The line of pytest's output that says what went wrong."""
    lines = [ln.strip() for ln in out.getvalue().splitlines()]
    for prefix in ("E ", "ERROR: "):
        for line in lines:
            if line.startswith(prefix):
                return line.removeprefix(prefix).strip()
    return next((ln for ln in reversed(lines) if ln), "no output")


def is_builtin(name: str) -> bool:
    """Whether a check is one of the package's own (its origin is inside the package)."""
    origin = REGISTRY.origin(name).replace("\\", "/")
    return "pytest_golive/checks/" in origin and "(" not in origin


def of_pack(name: str, pack: str) -> bool:
    """Whether a check comes from the check pack named ``pack`` (entry-point or distribution)."""
    origin = REGISTRY.origin(name)
    return f"check pack '{pack}'" in origin or f", from {pack} " in origin
