"""``golive init``: the starter files are valid, runnable, and never overwrite a user's files."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pytest_golive.checklist.markdown import read_markdown
from pytest_golive.checks.registry import REGISTRY
from pytest_golive.core.config import Settings, TargetSpec, load_environment
from pytest_golive.core.verdict import load_waivers
from pytest_golive.targets.host import HostTarget
from pytest_golive.tools.importer import scaffold_init
from pytest_golive.tools.scaffold import templates


@pytest.fixture
def project(tmp_path: Path) -> Path:
    out = io.StringIO()
    assert scaffold_init(tmp_path, out) == 0
    assert "next: pytest --golive=local" in out.getvalue()
    return tmp_path


def test_init_writes_every_starter_file(project: Path) -> None:
    for name in (
        "golive.toml",
        "golive.md",
        "waivers.toml",
        "conftest.py",
        "test_golive_checks.py",
    ):
        assert (project / name).is_file(), name


def test_config_loads_as_an_environment(project: Path) -> None:
    env = load_environment(project, "local", environ={})
    assert [t.name for t in env.of_kind("host")] == ["local"]
    assert env.checklists == [(project / "golive.md").resolve()]
    assert env.waivers == project / "waivers.toml"
    assert load_waivers(env.waivers) == []
    assert tomllib.loads((project / "waivers.toml").read_text()) == {}


def test_checklist_bindings_are_valid_and_manual_lines_remain(project: Path) -> None:
    items = read_markdown(project / "golive.md")
    bound = [i for i in items if i.check]
    assert len(bound) >= 3 and any(i.manual for i in items)
    for item in bound:
        REGISTRY.get(item.check).validate(item.params)


def test_bound_lines_pass_on_this_machine(project: Path) -> None:
    """The first run must be GO here: every bound host line passes against local://."""
    host = HostTarget(TargetSpec("host", "local", (), {"url": "local://"}), Settings())
    for item in (i for i in read_markdown(project / "golive.md") if i.check):
        chk = REGISTRY.get(item.check)
        assert chk.target == "host", f"{item.check}: the local environment has hosts only"
        outcome = chk.func(host, **chk.validate(item.params))
        assert outcome.status == "passed", f"{item.title}: {outcome.observed} / {outcome.expected}"


def test_python_files_are_valid_python(project: Path) -> None:
    for name in ("conftest.py", "test_golive_checks.py"):
        compile((project / name).read_text(), name, "exec")
    assert "@pytest.mark.infrastructure" in (project / "test_golive_checks.py").read_text()
    assert "golive_host" in (project / "test_golive_checks.py").read_text()


def test_first_run_is_go(project: Path) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--golive=local",
            "--golive-manual=warn",
            "-p",
            "no:cacheprovider",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "GOLIVE local: GO" in result.stdout
    assert "test_golive_checks.py ." in result.stdout  # the custom check ran and passed


def test_existing_files_are_kept(tmp_path: Path) -> None:
    mine = "# my own checklist\n"
    (tmp_path / "golive.md").write_text(mine)
    out = io.StringIO()
    assert scaffold_init(tmp_path, out) == 0
    assert (tmp_path / "golive.md").read_text() == mine
    assert "kept" in out.getvalue() and "golive.md" in out.getvalue()
    assert (tmp_path / "golive.toml").read_text() == templates()["golive.toml"]


def test_not_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    out = io.StringIO()
    assert scaffold_init(tmp_path / "missing", out) == 4
    assert out.getvalue().count("\n") == 1 and "not a directory" in out.getvalue()


def test_the_example_waiver_waives_its_line_when_uncommented(project: Path) -> None:
    """The starter waiver names the host group of the starter golive.toml ("app"): a waiver's
    target may be a group, as `on=` may, so uncommenting it waives the line it names."""
    waivers = project / "waivers.toml"
    text = waivers.read_text()
    waivers.write_text("\n".join(line[2:] if line.startswith("# ") and "=" in line
                                 or line == "# [[waiver]]" else line
                                 for line in text.splitlines()) + "\n")
    (waiver,) = load_waivers(waivers)
    assert waiver.target == "app"
    checklist = project / "golive.md"
    # the waived line fails here whatever the machine: a disk no machine has
    checklist.write_text(checklist.read_text().replace("min_gib=1 ", "min_gib=9999999 "))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--golive=local", "--golive-manual=warn",
         "--golive-today=2029-06-01", "-p", "no:cacheprovider", "-rA"],
        cwd=project, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert "GOLIVE local: GO" in result.stdout, result.stdout[-3000:]
    assert "stale waiver" not in result.stdout
    assert "1 waived" in result.stdout.splitlines()[-1]
