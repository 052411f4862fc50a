"""Every ``golive`` subcommand keeps docs/exit-codes.md: 0 success, 1 a negative answer,
2 a usage error or an input that cannot be read (one line on stderr, no traceback)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_golive.tools.cli import build_parser

GOLIVE = (sys.executable, "-m", "pytest_golive.tools.cli")

CONFIG = """\
checklists = ["c.md"]
attestations = "attestations.toml"
[environments.prod.hosts]
local = ["local://"]
"""

CHECKLIST = "# C\n## Sign-off\n- [ ] Lead says yes\n"


def golive(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*GOLIVE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def _report(path: Path, verdict: str = "NO-GO", status: str = "failed") -> Path:
    path.write_text(json.dumps({
        "environment": "prod", "started": "", "finished": "", "targets": [], "checklists": [],
        "verdict": {"verdict": verdict, "blocking": [], "reasons": []},
        "results": [{"nodeid": "c.md::s/a[h]", "id": "s/a", "section": "s", "title": "A",
                     "status": status, "blocking": status == "failed", "target": "h",
                     "observed": "", "expected": "", "message": ""}],
    }))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "golive.toml").write_text(CONFIG)
    (tmp_path / "c.md").write_text(CHECKLIST)
    (tmp_path / "attestations.toml").write_text("")
    _report(tmp_path / "old.json", "GO", "passed")
    _report(tmp_path / "new.json")
    return tmp_path


#: subcommand -> [(arguments, expected exit code)]; every subcommand is listed.
CASES: dict[str, list[tuple[tuple[str, ...], int]]] = {
    "items": [(("c.md",), 0), (("missing.md",), 2)],
    "checks": [((), 0), (("--target", "nonsense"), 2)],
    "attest": [(("sign-off/lead-says-yes", "--by", "A"), 0), (("sign-of/lead", "--by", "A"), 2),
               (("sign-off/*", "--by", "A"), 2)],
    "schema": [(("results",), 0), (("other",), 2)],
    "demo": [(("--help",), 0), (("--no-such-option",), 2)],
    "import": [(("c.md", "--dry-run"), 0), (("missing.md",), 2)],
    "init": [(("sub",), 0), (("missing/dir",), 2)],
    "docs": [(("--output", "out/checks.md"), 0), (("--pack", "no-such-pack"), 2)],
    "report": [(("new.json", "--markdown", "r.md"), 0), (("new.json",), 2),
               (("missing.json", "--html", "r.html"), 2)],
    "diff": [(("old.json", "new.json"), 0), (("old.json", "new.json", "--fail-on-new"), 1),
             (("old.json", "missing.json"), 2)],
    "verify": [(("b.tar.gz",), 0), (("tampered.tar.gz",), 1), (("new.json",), 2)],
    "bundle": [(("new.json", "-o", "b.tar.gz"), 0), (("missing.json",), 2)],
    "keygen": [(("k.pem",), 0), (("k.pem",), 2)],
}


def test_every_subcommand_is_covered() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sorted(commands.choices) == sorted(CASES)


@pytest.mark.real_systems
@pytest.mark.parametrize("command", sorted(CASES))
def test_exit_codes_follow_the_docs(project: Path, command: str) -> None:
    (project / "sub").mkdir()
    if command == "verify":
        assert golive(project, "bundle", "new.json", "-o", "b.tar.gz").returncode == 0
        data = (project / "b.tar.gz").read_bytes()
        import io
        import tarfile

        with tarfile.open(project / "b.tar.gz") as tar:
            files = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
        files["report.md"] += b"\n"
        with tarfile.open(project / "tampered.tar.gz", "w:gz") as out:
            for name, body in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(body)
                out.addfile(info, io.BytesIO(body))
        assert data
    for args, expected in CASES[command]:
        proc = golive(project, command, *args)
        assert proc.returncode == expected, (command, args, proc.stdout[-800:], proc.stderr[-800:])
        assert "Traceback" not in proc.stderr, (command, args, proc.stderr)
        if expected == 2:
            assert proc.stderr.strip(), (command, args)


def test_output_read_by_a_pipe_that_closes_early_is_no_error(project: Path) -> None:
    """`golive checks | head`: the reader went away, so nothing to say on stderr (code 141)."""
    read, write = os.pipe()
    os.close(read)  # no reader at all: the first write fails, whatever the timing
    try:
        proc = subprocess.run([*GOLIVE, "checks"], cwd=project, stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=300, check=False)
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 141
