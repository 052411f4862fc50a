"""Checks from outside the package: check packs, golive.toml plugins, conftest checks.

A check pack here is a real distribution: written in the test, built by pip
(setuptools, no build isolation) and installed into a virtual environment of
its own under tmp_path that sees the project's .venv, so the .venv itself is
never changed and other test runs never see the pack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from pytest_golive.checks.registry import Registry, check

ACME_CHECKS = '''\
"""Acme's own readiness checks."""
from pytest_golive import Evidence, Outcome, check


@check(target="none")
def acme_change_window(*, hours: int, max_hours: int = 4) -> Outcome:
    """A change window is at most ``max_hours`` long.

    Args:
        hours: the length of the planned window.
        max_hours: the longest window the change board accepts.
    """
    ev = Evidence()
    ev.add("window", hours <= max_hours, f"{hours} h", f"<= {max_hours} h")
    return ev.outcome()


@check(target="host")
def acme_hostname_set(host) -> Outcome:
    """The host has a non-empty host name."""
    name = host.run("hostname").stdout.strip()
    ev = Evidence()
    ev.add("hostname", bool(name), name or "empty", "a host name")
    return ev.outcome()
'''


def _pyproject(name: str, module: str, entry: str) -> str:
    return textwrap.dedent(f"""\
        [build-system]
        requires = ["setuptools>=70.1"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{name}"
        version = "1.0"

        [project.entry-points."pytest_golive.checks"]
        {entry} = "{module}"

        [tool.setuptools]
        packages = ["{module.split('.')[0]}"]
        """)


def _venv(where: Path) -> Path:
    """A virtual environment whose Python also sees the running .venv (the plugin, pip)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    site_dir = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True).stdout.strip()
    parent = sysconfig.get_path("purelib")
    # A .pth line starting with "import" runs: the parent's own .pth files (the
    # editable install of pytest-golive) are processed too, after this venv's.
    Path(site_dir, "_golive_parent.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return python


def _install(python: Path, source: Path) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", str(source)],
        capture_output=True, text=True, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert result.returncode == 0, result.stdout + result.stderr


def _write_pack(root: Path, name: str, module: str, entry: str, code: str) -> Path:
    (root / module).mkdir(parents=True)
    (root / module / "__init__.py").write_text("")
    (root / module / "checks.py").write_text(code)
    (root / "pyproject.toml").write_text(_pyproject(name, f"{module}.checks", entry))
    return root


def _golive(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "pytest_golive", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _pytest(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


PROJECT_TOML = """\
checklists = ["checklist.md"]
[environments.prod.hosts]
local = ["local://"]
"""

PROJECT_CHECKLIST = """\
# Release
## Change
- [ ] Short change window <!-- golive: acme_change_window hours=2 -->
- [ ] Marathon window <!-- golive: acme_change_window hours=9 -->
- [ ] Hosts are named <!-- golive: acme_hostname_set -->
"""


@pytest.fixture(scope="module")
def acme_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the acme-golive-checks pack built and installed by pip."""
    root = tmp_path_factory.mktemp("packs")
    source = _write_pack(root / "acme-src", "acme-golive-checks", "acme_golive", "acme",
                         ACME_CHECKS)
    python = _venv(root / "venv")
    _install(python, source)
    return python


@pytest.mark.real_systems
def test_an_installed_pack_is_listed_by_golive_checks(acme_python: Path, tmp_path: Path) -> None:
    result = _golive(acme_python, tmp_path, "checks")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "acme_change_window [none] (hours: int, max_hours: int = 4)" in lines
    at = lines.index("acme_change_window [none] (hours: int, max_hours: int = 4)")
    assert lines[at + 1].strip() == "A change window is at most ``max_hours`` long."
    assert "check pack 'acme' (acme_golive.checks, from acme-golive-checks 1.0)" in lines[at + 2]
    assert "cpu [host]" in result.stdout  # built-ins are still there
    rows = json.loads(_golive(acme_python, tmp_path, "checks", "--format", "json").stdout)
    acme = next(r for r in rows if r["name"] == "acme_hostname_set")
    assert acme["target"] == "host" and "check pack 'acme'" in acme["origin"]


@pytest.mark.real_systems
def test_an_installed_pack_is_in_the_generated_reference(acme_python: Path, tmp_path: Path) -> None:
    whole = _golive(acme_python, tmp_path, "docs", "--output", "all.md")
    assert whole.returncode == 0, whole.stderr
    text = (tmp_path / "all.md").read_text()
    assert "### acme_change_window" in text and "### cpu" in text
    only = _golive(acme_python, tmp_path, "docs", "--pack", "acme", "--output", "acme.md")
    assert only.returncode == 0, only.stderr
    pack_ref = (tmp_path / "acme.md").read_text()
    assert "The catalog has 2 checks." in pack_ref
    assert "| `max_hours` | int | `4` |" in pack_ref.replace("| 4 |", "| `4` |")
    assert "### cpu" not in pack_ref
    # Where it comes from: the pack, not the path it happens to be installed at.
    source = "**From:** check pack 'acme' (acme_golive.checks, from acme-golive-checks 1.0)"
    assert source in pack_ref
    assert "site-packages" not in pack_ref
    missing = _golive(acme_python, tmp_path, "docs", "--pack", "nosuch", "--output", "x.md")
    assert missing.returncode == 2 and "no installed check pack 'nosuch'" in missing.stderr


@pytest.mark.real_systems
def test_an_installed_pack_runs_in_a_readiness_run(acme_python: Path, tmp_path: Path) -> None:
    (tmp_path / "golive.toml").write_text(PROJECT_TOML)
    (tmp_path / "checklist.md").write_text(PROJECT_CHECKLIST)
    result = _pytest(acme_python, tmp_path, "--golive=prod", "--golive-json=results.json")
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads((tmp_path / "results.json").read_text())
    status = {r["title"]: r["status"] for r in data["results"]}
    assert status == {
        "Short change window": "passed",
        "Marathon window": "failed",
        "Hosts are named": "passed",
    }, status
    assert data["verdict"]["verdict"] == "NO-GO"
    marathon = next(r for r in data["results"] if r["title"] == "Marathon window")
    assert "9 h" in json.dumps(marathon)


@pytest.mark.real_systems
def test_a_broken_pack_is_one_line_naming_it(tmp_path: Path) -> None:
    source = _write_pack(tmp_path / "broken-src", "broken-golive-pack", "broken_golive",
                         "broken", "import golive_no_such_dependency\n")
    python = _venv(tmp_path / "venv")
    _install(python, source)
    listed = _golive(python, tmp_path, "checks")
    assert listed.returncode == 2
    assert listed.stdout == ""
    assert len(listed.stderr.strip().splitlines()) == 1, listed.stderr
    pack = "check pack 'broken' (broken_golive.checks, from broken-golive-pack 1.0)"
    assert pack in listed.stderr
    assert "golive_no_such_dependency" in listed.stderr
    assert "pip uninstall broken-golive-pack" in listed.stderr
    (tmp_path / "golive.toml").write_text(PROJECT_TOML)
    (tmp_path / "checklist.md").write_text("# R\n## S\n- [ ] CPUs <!-- golive: cpu min=1 -->\n")
    run = _pytest(python, tmp_path, "--golive=prod")
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    errors = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(errors) == 1 and errors[0].startswith("ERROR: check pack 'broken'"), run.stderr
    assert "Traceback" not in run.stdout + run.stderr


# --- checks of the project: conftest.py and golive.toml plugins --------------------------

CONFTEST_CHECK = '''\
from pytest_golive import Outcome, check


@check(target="none")
def {name}() -> Outcome:
    """{doc}"""
    return Outcome.passed("seen", "seen")
'''


def _run_golive(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "pytest_golive", *args, timeout=300)


def test_golive_checks_lists_conftest_checks(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST_CHECK.format(name="team_runbook", doc="The runbook exists."))
    sub = pytester.mkpydir("services")
    (sub / "conftest.py").write_text(
        CONFTEST_CHECK.format(name="service_owner", doc="A service names its owner."))
    pytester.makepyfile(test_never_imported="raise SystemExit('a test module was imported')")
    result = _run_golive(pytester, "checks", "--target", "none")
    assert result.ret == 0, result.stderr.str()
    out = result.stdout.lines
    assert "team_runbook [none] ()" in out and "service_owner [none] ()" in out
    assert any(ln.strip() == "from conftest.py:4" for ln in out), out
    assert any(ln.strip() == "from services/conftest.py:4" for ln in out), out
    assert "secrets_in_repo [none]" in result.stdout.str()
    bare = _run_golive(pytester, "checks", "--target", "none", "--no-conftest")
    assert "team_runbook" not in bare.stdout.str()


def test_one_name_in_two_conftests_is_one_line_naming_both(pytester: pytest.Pytester) -> None:
    for team in ("alpha", "beta"):
        pkg = pytester.mkdir(team)
        (pkg / "conftest.py").write_text(CONFTEST_CHECK.format(name="shared_name", doc="x."))
    listed = _run_golive(pytester, "checks")
    assert listed.ret == 2
    message = listed.stderr.str().strip()
    assert "\n" not in message
    assert "check 'shared_name' is defined twice" in message
    assert "alpha/conftest.py:4" in message and "beta/conftest.py:4" in message
    pytester.makefile(".toml", golive=PROJECT_TOML)
    pytester.makefile(".md", checklist="# R\n## S\n- [ ] Shared <!-- golive: shared_name -->\n")
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--golive=prod")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    errors = [ln for ln in run.stderr.lines if ln.strip()]
    assert len(errors) == 1 and errors[0].startswith("ERROR: check 'shared_name' is defined twice")
    assert "alpha/conftest.py:4" in errors[0] and "beta/conftest.py:4" in errors[0]


def test_one_name_in_two_conftests_under_xdist_is_no_go_naming_both(
    pytester: pytest.Pytester,
) -> None:
    for team in ("alpha", "beta"):
        pkg = pytester.mkdir(team)
        (pkg / "conftest.py").write_text(CONFTEST_CHECK.format(name="shared_name", doc="x."))
    pytester.makefile(".toml", golive=PROJECT_TOML)
    pytester.makefile(".md", checklist="# R\n## S\n- [ ] Shared <!-- golive: shared_name -->\n")
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--golive=prod", "-n", "2")
    text = run.stdout.str() + run.stderr.str()
    assert run.ret == pytest.ExitCode.TESTS_FAILED
    assert "INTERNALERROR" not in text
    assert "GOLIVE prod: NO-GO" in text
    clash = "check 'shared_name' is defined twice: in alpha/conftest.py:4 and in beta/conftest.py:4"
    assert clash in text


def test_a_conftest_check_shadowing_a_builtin_names_both(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST_CHECK.format(name="cpu", doc="Mine."))
    listed = _run_golive(pytester, "checks")
    assert listed.ret == 2
    assert "check 'cpu' is defined twice" in listed.stderr.str()
    assert "pytest_golive/checks/host/" in listed.stderr.str()
    assert "conftest.py:4" in listed.stderr.str()


def test_golive_toml_plugins_are_loaded_for_checks_and_runs(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", golive='plugins = ["ops_checks"]\n' + PROJECT_TOML)
    pytester.makepyfile(ops_checks=CONFTEST_CHECK.format(name="ops_paging", doc="Paging works."))
    pytester.makefile(".md", checklist="# R\n## S\n- [ ] Paging <!-- golive: ops_paging -->\n")
    listed = _run_golive(pytester, "checks", "--target", "none")
    assert listed.ret == 0, listed.stderr.str()
    assert "ops_paging [none] ()" in listed.stdout.lines
    assert any("plugin 'ops_checks' of golive.toml" in ln for ln in listed.stdout.lines)
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--golive=prod",
                                        "--golive-json=r.json")
    assert run.ret == 0, run.stdout.str()
    data = json.loads((pytester.path / "r.json").read_text())
    assert [(r["check"], r["status"]) for r in data["results"]] == [("ops_paging", "passed")]


def test_a_plugin_that_cannot_be_imported_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", golive='plugins = "ops_missing"\n' + PROJECT_TOML)
    pytester.makefile(".md", checklist="# R\n## S\n- [ ] CPUs <!-- golive: cpu min=1 -->\n")
    listed = _run_golive(pytester, "checks")
    assert listed.ret == 2
    assert listed.stderr.str().strip() == (
        "golive checks: golive.toml: plugins: module 'ops_missing' cannot be imported: "
        "ModuleNotFoundError: No module named 'ops_missing'"
    )
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--golive=prod")
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    assert "ERROR: golive.toml: plugins: module 'ops_missing' cannot be" in run.stderr.str()


def test_the_plugins_key_is_validated(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", golive="plugins = 3\n" + PROJECT_TOML)
    listed = _run_golive(pytester, "checks")
    assert listed.ret == 2
    assert "plugins: must be a string or a list of strings, not a number" in listed.stderr.str()


# --- the registry itself -----------------------------------------------------------------


def _define(registry: Registry, filename: str, name: str) -> None:
    code = compile(f"def {name}() -> None:\n    '''Doc.'''\n", filename, "exec")
    namespace: dict[str, object] = {"__name__": "defined"}
    exec(code, namespace)
    check(target="none", registry=registry)(namespace[name])  # type: ignore[arg-type]


def test_the_same_function_imported_again_is_no_clash() -> None:
    registry = Registry()
    _define(registry, "/srv/a/conftest.py", "again")
    _define(registry, "/srv/a/conftest.py", "again")
    assert registry.clashes == {}
    registry.check_clashes()


def test_two_definitions_of_one_name_are_recorded_with_both_sites() -> None:
    registry = Registry()
    _define(registry, "/srv/a/conftest.py", "twice")
    _define(registry, "/srv/b/conftest.py", "twice")
    assert list(registry.clashes) == ["twice"]
    message = registry.clashes["twice"]
    assert "/srv/a/conftest.py:1" in message and "/srv/b/conftest.py:1" in message
    assert registry.origin("twice") == "/srv/a/conftest.py:1"  # the first one stays


def test_a_conftest_pytest_cannot_import_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import golive_no_such_module\n")
    listed = _run_golive(pytester, "checks")
    assert listed.ret == 2
    message = listed.stderr.str().strip()
    assert "\n" not in message and listed.stdout.str() == ""
    assert "could not load the project's conftest.py files" in message
    assert "No module named 'golive_no_such_module'" in message


def test_golive_checks_ignores_the_projects_addopts(pytester: pytest.Pytester) -> None:
    """A project that runs its readiness run by default (addopts) still lists its checks."""
    pytester.makeini("[pytest]\naddopts = --golive=prod -n 2\n")
    pytester.makeconftest(CONFTEST_CHECK.format(name="team_runbook", doc="The runbook exists."))
    result = _run_golive(pytester, "checks", "--target", "none")
    assert result.ret == 0, result.stderr.str()
    assert "team_runbook [none] ()" in result.stdout.lines
