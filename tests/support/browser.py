"""A real browser for report tests: headless Chromium screenshots and rendered DOM.

Chromium runs with a throwaway profile and every background service off,
and is only ever pointed at local files, so it sends no traffic anywhere.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import require

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic", "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--hide-scrollbars",
)


@dataclass
class Browser:
    executable: str
    workdir: Path

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        profile = tempfile.mkdtemp(prefix="profile-", dir=self.workdir)
        try:
            return subprocess.run(
                [self.executable, *FLAGS, f"--user-data-dir={profile}", *args],
                capture_output=True, text=True, timeout=120, check=False,
            )
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    def screenshot(self, page: Path, out: Path, width: int, height: int = 1400) -> Path:
        """Render ``page`` at ``width`` CSS pixels and save a PNG."""
        proc = self._run(
            f"--screenshot={out}", f"--window-size={width},{height}", page.resolve().as_uri()
        )
        assert out.is_file(), f"chromium wrote no screenshot: {proc.stderr[-2000:]}"
        return out

    def run_args(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run Chromium with these extra arguments (a fresh profile, background services off)."""
        return self._run(*args)

    def dom(self, page: Path, width: int = 1280) -> str:
        """The DOM after scripts ran, as Chromium serialises it."""
        proc = self._run("--dump-dom", "--virtual-time-budget=2000", f"--window-size={width},900",
                         page.resolve().as_uri())
        assert proc.stdout.strip(), f"chromium returned no DOM: {proc.stderr[-2000:]}"
        return proc.stdout


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Browser:
    exe = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    require(exe is not None, "chromium (apt-get install chromium)")
    assert exe is not None
    return Browser(exe, tmp_path_factory.mktemp("browser"))
