"""Shared helpers for the test suite: real servers, real hosts, no mocks."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip a test whose real server or binary is missing, except in CI.

    In CI a missing server must fail the run: a suite that silently skips
    its real-server tests proves nothing.
    """
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required for this test and missing in CI: {reason}", pytrace=False)
    pytest.skip(f"missing: {reason}")


def stop_process(process: subprocess.Popen[Any], timeout: float) -> None:
    """End a server a test started: SIGTERM, then SIGKILL if it is still there after ``timeout``.

    A server that has exited already (it failed to start) is left as it is.
    """
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def environment(targets: list[Any], **settings: Any) -> Any:
    """An environment named ``test`` holding ``targets`` and nothing else, as the
    configuration would build it, for tests that need a pool without a golive.toml."""
    from pathlib import Path

    from pytest_golive.core.config import Environment, Settings

    return Environment(
        name="test", source=Path("golive.toml"), root=Path("."), targets=targets, vars={},
        checklists=[], waivers=None, attestations=None, settings=Settings(**settings),
        severity={},
    )
