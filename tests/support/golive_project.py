"""Tiny golive projects inside pytester, for tests of the verdict and exit codes.

A project is a ``golive.toml`` with one real host target (``local://``), one
endpoint on a 127.0.0.1 port that is bound but not listening (connection
refused: an *error* result), a checklist, and optional waiver and
attestation files. Checks are chosen so their outcome is certain on any
machine: ``cpu min=1`` passes, ``cpu min=9999`` fails, ``file`` on a path
that does not exist fails, ``http_status`` on the closed port errors.

Every run fixes the clock with ``--golive-today`` so expiry never depends on
the real date.
"""

from __future__ import annotations

import json
import socket
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TODAY = "2026-06-15"

PASS = "cpu min=1"
FAIL = "cpu min=9999"
MISSING_FILE = "file path=/nonexistent/golive-test/missing.conf type=file"
ERROR = "http_status path=/health expect=200 on=closed"


@dataclass
class GoliveProject:
    pytester: pytest.Pytester
    closed_port: int

    def write(self, checklist: str, *, waivers: str | None = None, attestations: str | None = None,
              environments: str = "", settings: str = "") -> None:
        """Write golive.toml (environment ``prod``, plus any extra TOML) and the files."""
        config = textwrap.dedent(f"""\
            checklists = ["checklist.md"]
            waivers = "waivers.toml"
            attestations = "attestations.toml"

            [settings]
            connect_timeout = 3
            {settings}

            [environments.prod.hosts]
            local = ["local://"]

            [environments.prod.endpoints.closed]
            url = "http://127.0.0.1:{self.closed_port}"
            timeout = 3
            """) + textwrap.dedent(environments)
        self.pytester.path.joinpath("golive.toml").write_text(config, encoding="utf-8")
        self.pytester.path.joinpath("checklist.md").write_text(
            textwrap.dedent(checklist), encoding="utf-8"
        )
        self.pytester.path.joinpath("waivers.toml").write_text(
            textwrap.dedent(waivers or ""), encoding="utf-8"
        )
        if attestations is not None:
            self.pytester.path.joinpath("attestations.toml").write_text(
                textwrap.dedent(attestations), encoding="utf-8"
            )

    def args(self, *extra: str, env: str = "prod", today: str | None = TODAY) -> list[str]:
        out = ["-p", "no:cacheprovider", f"--golive={env}", f"--golive-json={self.json_path}"]
        if today:
            out.append(f"--golive-today={today}")
        return [*out, *extra]

    @property
    def json_path(self) -> Path:
        return self.pytester.path / "golive-results.json"

    def run(self, *extra: str, env: str = "prod", today: str | None = TODAY) -> pytest.RunResult:
        """A serial run in this process."""
        if self.json_path.exists():
            self.json_path.unlink()
        return self.pytester.runpytest(*self.args(*extra, env=env, today=today))

    def run_subprocess(
        self, *extra: str, env: str = "prod", today: str | None = TODAY
    ) -> pytest.RunResult:
        """A run in a fresh interpreter (needed for ``-n``: xdist starts its workers there)."""
        if self.json_path.exists():
            self.json_path.unlink()
        return self.pytester.runpytest_subprocess(
            *self.args(*extra, env=env, today=today), timeout=300
        )

    def results(self) -> dict[str, Any]:
        """The JSON results of the last run."""
        return json.loads(self.json_path.read_text(encoding="utf-8"))

    def statuses(self) -> dict[str, tuple[str, bool]]:
        """Item id (with target) -> (status, blocking), from the JSON results."""
        return {
            _short(r["nodeid"]): (r["status"], r["blocking"]) for r in self.results()["results"]
        }


def _short(nodeid: str) -> str:
    return nodeid.split("::", 1)[-1]


def verdict_lines(result: pytest.RunResult) -> list[str]:
    """The GOLIVE verdict line and the 'blocking:' line under it, if any."""
    lines = result.outlines
    out = []
    for i, line in enumerate(lines):
        if line.startswith("GOLIVE "):
            out.append(line)
            if i + 1 < len(lines) and lines[i + 1].strip().startswith("blocking:"):
                out.append(lines[i + 1].strip())
    return out


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 TCP port that refuses connections for the whole test.

    The socket is bound (so nothing else can take the port) but never
    listens, so a connection is refused at once.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def golive_project(
    pytester: pytest.Pytester, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> GoliveProject:
    monkeypatch.delenv("GOLIVE_TODAY", raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    return GoliveProject(pytester, closed_port)
