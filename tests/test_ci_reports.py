"""CI evidence checks: JUnit, coverage, SARIF and vulnerability reports.

Reports that tools here can write offline are produced by the real tools in
the test: pytest ``--junitxml``, coverage.py (``coverage xml`` and
``coverage json``) and ruff's SARIF output. Scanners that need the network
(pip-audit, npm audit, Trivy, Grype) and JaCoCo (a JVM build) are represented
by files that follow each tool's published format, in tests/data/ci_reports/
(see its README).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.checks import REGISTRY
from pytest_golive.checks.ci_reports import (
    Allowance,
    Severity,
    findings,
    judge_vulnerabilities,
    parse_json,
)
from pytest_golive.checks.rules import Line
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.targets.files import FileTarget
from pytest_golive.targets.host import HostTarget
from pytest_golive.tools.import_rules import propose
from support import require

DATA = Path(__file__).parent / "data" / "ci_reports"
RUFF = Path(sys.executable).with_name("ruff")
COMMIT = "3f2c1a9e8b7d6c5f4e3a2b1c0d9e8f7a6b5c4d3e"


def target(path: Path, host: Any = None) -> FileTarget:
    return FileTarget(TargetSpec("file", "report", (), {"path": str(path)}), host)


def run(check_name: str, path: Path, host: Any = None, **raw: str) -> Outcome:
    chk = REGISTRY.get(check_name)
    out: Outcome = chk.func(target(path, host), **chk.validate(raw))
    return out


def error_of(check_name: str, path: Path, **raw: str) -> str:
    with pytest.raises(CheckError) as info:
        run(check_name, path, **raw)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny project whose tests are run by the real pytest (and coverage.py), twice."""
    root = tmp_path_factory.mktemp("ci-project")
    (root / "calc.py").write_text(
        textwrap.dedent("""\
        def add(a, b):
            if a < 0:
                return -1
            return a + b


        def unused(x):
            if x:
                return 1
            return x * 2
        """)
    )
    (root / "test_calc.py").write_text(
        textwrap.dedent(f"""\
        import os
        import pytest
        from calc import add

        @pytest.fixture(scope="session", autouse=True)
        def _commit(record_testsuite_property):
            record_testsuite_property("commit", "{COMMIT}")

        def test_add():
            assert add(1, 2) == 3

        def test_negative():
            assert add(-1, 2) == -1

        @pytest.mark.skip(reason="not here")
        def test_skipped():
            pass

        def test_flaky():
            assert os.environ.get("BREAK") != "1"
        """)
    )
    return root


@pytest.fixture(scope="module")
def junit_green(project: Path) -> Path:
    out = project / "junit-green.xml"
    done = _python(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={out}",
        "-o",
        "junit_family=xunit2",
        cwd=project,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    return out


@pytest.fixture(scope="module")
def junit_red(project: Path) -> Path:
    out = project / "junit-red.xml"
    env_run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={out}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "BREAK": "1", "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert env_run.returncode == 1, env_run.stdout[-2000:]
    return out


# --- JUnit ---------------------------------------------------------------------------------


@pytest.mark.real_systems
def test_junit_report_from_real_pytest_passes_and_fails(junit_green: Path, junit_red: Path) -> None:
    green = run("junit_report", junit_green, min_tests="3", max_age_hours="1", commit=COMMIT[:10])
    assert green.ok, green.summary()
    assert green.details["tests"] == 4 and green.details["skipped"] == 1
    red = run("junit_report", junit_red)
    assert red.status == "failed"
    assert "1 failed" in red.observed and "test_calc.test_flaky" in red.observed
    assert run("junit_report", junit_green, min_tests="5").status == "failed"
    assert run("junit_report", junit_green, max_skipped="0").status == "failed"
    wrong = run("junit_report", junit_green, commit="0123456789abcdef")
    assert wrong.status == "failed" and "property commit" in wrong.observed


@pytest.mark.real_systems
def test_junit_report_age_from_the_report_timestamp(junit_green: Path, tmp_path: Path) -> None:
    old = tmp_path / "junit-old.xml"
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)).isoformat()
    text = junit_green.read_text()
    old.write_text(text.replace('timestamp="', f'timestamp="{stamp}" x-was="', 1))
    out = run("junit_report", old, max_age_hours="24")
    assert out.status == "failed" and "30.0 h ago, from the report's timestamp" in out.observed


@pytest.mark.real_systems
def test_junit_report_through_a_host(junit_green: Path) -> None:
    host = HostTarget(TargetSpec("host", "ci", (), {"url": "local://"}), Settings())
    assert run("junit_report", junit_green, host=host, max_age_hours="1").ok


def test_junit_other_producers_and_the_commit_in_the_path(tmp_path: Path) -> None:
    """Surefire-style single <testsuite> with totals only, under a directory named by commit."""
    folder = tmp_path / COMMIT[:12]
    folder.mkdir()
    report = folder / "TEST-com.example.OrdersTest.xml"
    report.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="com.example.OrdersTest" '
        'tests="12" failures="0" errors="0" skipped="0" time="1.2"/>\n'
    )
    out = run("junit_report", report, min_tests="10", commit=COMMIT)
    assert out.ok and "the file's path" in out.observed
    report.write_text('<testsuite name="x" tests="3" failures="0" errors="1"/>')
    assert run("junit_report", report).status == "failed"


def test_junit_suites_by_name(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="integration"><testcase name="a"/><testcase name="b"/>'
        '</testsuite><testsuite name="e2e-browser"><testcase name="c"><failure message="x"/>'
        "</testcase></testsuite></testsuites>"
    )
    assert run("junit_report", report, suite="Integration*", min_tests="2").ok
    assert run("junit_report", report, suite="e2e*").status == "failed"
    assert run("junit_report", report, suite="contract*").status == "failed"  # 0 tests


def test_junit_bad_files_are_one_line(tmp_path: Path) -> None:
    assert "does not exist" in error_of("junit_report", tmp_path / "missing.xml")
    (tmp_path / "broken.xml").write_text("<testsuites><testsuite>")
    assert "not well-formed XML" in error_of("junit_report", tmp_path / "broken.xml")
    (tmp_path / "other.xml").write_text("<html/>")
    assert "not a JUnit XML report" in error_of("junit_report", tmp_path / "other.xml")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuites><testsuite name="&lol9;" tests="1"><testcase name="t"/></testsuite></testsuites>
"""


@pytest.mark.parametrize("check_name", ["junit_report", "coverage_report"])
def test_hostile_xml_fails_safely_in_one_line(tmp_path: Path, check_name: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("planted-local-file-content-1234")
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(BILLION_LAUGHS)
    message = error_of(check_name, bomb)
    assert "refused as unsafe XML" in message and "EntitiesForbidden" in message
    xxe = tmp_path / "xxe.xml"
    xxe.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        '<testsuites><testsuite name="&x;" tests="1"/></testsuites>\n'
    )
    message = error_of(check_name, xxe)
    assert "refused as unsafe XML" in message
    assert "planted-local-file-content" not in message


# --- coverage --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coverage_files(project: Path) -> dict[str, Path]:
    try:
        import coverage  # noqa: F401
    except ImportError:
        require(False, "coverage.py in the test environment (pip install coverage)")
    done = _python(
        "-m",
        "coverage",
        "run",
        "--branch",
        "--source=.",
        "--omit=test_*.py",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        cwd=project,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    files = {"xml": project / "coverage.xml", "json": project / "coverage.json"}
    assert (
        _python("-m", "coverage", "xml", "-q", "-o", str(files["xml"]), cwd=project).returncode == 0
    )
    assert (
        _python("-m", "coverage", "json", "-q", "-o", str(files["json"]), cwd=project).returncode
        == 0
    )
    done = _python(
        "-m",
        "coverage",
        "run",
        "--source=.",
        "--omit=test_*.py",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        cwd=project,
    )
    files["xml-lines-only"] = project / "coverage-lines.xml"
    assert (
        _python(
            "-m", "coverage", "xml", "-q", "-o", str(files["xml-lines-only"]), cwd=project
        ).returncode
        == 0
    )
    return files


@pytest.mark.real_systems
@pytest.mark.parametrize("kind", ["xml", "json"])
def test_coverage_report_from_real_coverage_py(coverage_files: dict[str, Path], kind: str) -> None:
    path = coverage_files[kind]
    out = run("coverage_report", path, min_line="60", min_branch="50", max_age_hours="1")
    assert out.ok, out.summary()
    # calc.py: 8 statements and 4 branches; `unused` never runs: 5/8 lines, 2/4 branches.
    assert out.details["line_percent"] == 62.5 and out.details["branch_percent"] == 50.0
    fail = run("coverage_report", path, min_line="80")
    assert fail.status == "failed" and "62.5% of lines (5/8)" in fail.observed
    branches = run("coverage_report", path, min_line="60", min_branch="60")
    assert branches.status == "failed" and "50.0% of branches (2/4)" in branches.observed


@pytest.mark.real_systems
def test_branch_threshold_on_a_report_without_branches_fails(
    coverage_files: dict[str, Path],
) -> None:
    out = run("coverage_report", coverage_files["xml-lines-only"], min_line="50", min_branch="10")
    assert out.status == "failed" and "branch coverage not measured" in out.observed


def test_jacoco_xml_with_its_doctype() -> None:
    out = run("coverage_report", DATA / "jacoco.xml", min_line="80", min_branch="70")
    assert out.ok and out.details["format"] == "JaCoCo XML"
    assert run("coverage_report", DATA / "jacoco.xml", min_line="90").status == "failed"


def test_a_coverage_report_that_measured_nothing_fails(tmp_path: Path) -> None:
    empty = tmp_path / "coverage.json"
    empty.write_text(
        '{"meta": {"branch_coverage": false}, "totals": {"num_statements": 0, '
        '"covered_lines": 0, "percent_covered": 100.0}}'
    )
    out = run("coverage_report", empty, min_line="1")
    assert out.status == "failed" and "no lines measured" in out.observed


def test_coverage_wrong_files(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"files": {}}')
    assert "not a coverage.py JSON report" in error_of("coverage_report", tmp_path / "x.json")
    (tmp_path / "junit.xml").write_text("<testsuites/>")
    assert "not a Cobertura or JaCoCo" in error_of("coverage_report", tmp_path / "junit.xml")


# --- SARIF -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ruff_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    require(RUFF.exists() or shutil.which("ruff") is not None, "ruff (the test extra)")
    ruff = str(RUFF) if RUFF.exists() else str(shutil.which("ruff"))
    root = tmp_path_factory.mktemp("lint")
    (root / "clean.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    (root / "dirty.py").write_text(
        "import os\nimport sys\n\n\ndef f():\n    return undefined_name\n"
    )
    logs = {}
    for name in ("clean", "dirty"):
        done = subprocess.run(
            [ruff, "check", "--no-cache", "--isolated", "--output-format", "sarif", f"{name}.py"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        logs[name] = root / f"{name}.sarif"
        logs[name].write_text(done.stdout)
    return logs


@pytest.mark.real_systems
def test_sarif_clean_on_real_ruff_output(ruff_logs: dict[str, Path]) -> None:
    assert run("sarif_clean", ruff_logs["clean"], tools="ruff", max_age_hours="1").ok
    out = run("sarif_clean", ruff_logs["dirty"])
    assert out.status == "failed"
    assert "ruff: 3 result(s) at level error or above" in out.observed
    assert "F401 dirty.py:1" in out.observed and "F821 dirty.py:6" in out.observed
    missing = run("sarif_clean", ruff_logs["clean"], tools="ruff,semgrep")
    assert missing.status == "failed" and "no run of semgrep" in missing.observed


def test_sarif_levels_defaults_and_suppressions(tmp_path: Path) -> None:
    log = tmp_path / "eslint.sarif"
    log.write_text("""{"version": "2.1.0",
      "runs": [{"tool": {"driver": {"name": "ESLint", "rules": [
        {"id": "no-eval", "defaultConfiguration": {"level": "error"}}, {"id": "semi"}]}},
      "results": [
        {"ruleId": "no-eval", "ruleIndex": 0, "message": {"text": "eval"},
         "suppressions": [{"kind": "inSource", "status": "accepted"}]},
        {"ruleId": "semi", "message": {"text": "missing semicolon"}}]}]}""")
    assert run(
        "sarif_clean", log, level="error"
    ).ok  # the error is suppressed; "semi" defaults to warning
    assert run("sarif_clean", log, level="warning").status == "failed"
    log.write_text('{"version": "2.0.0", "runs": []}')
    assert "only 2.1.0 is read" in error_of("sarif_clean", log)


# --- vulnerability reports ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt", "ids"),
    [
        ("pip-audit.json", "pip-audit JSON", {"GHSA-h5c8-rqwp-cp95", "PYSEC-2024-60"}),
        ("npm-audit.json", "npm audit JSON", {"GHSA-jf85-cpcp-j695", "GHSA-vh95-rmgr-6w4m"}),
        ("trivy.json", "Trivy JSON", {"CVE-2024-2961", "CVE-2023-45853"}),
        ("grype.json", "Grype JSON", {"GHSA-9wx4-h78v-vm56", "CVE-2023-45853"}),
        ("scanner.sarif", "SARIF", {"CVE-2024-2961", "CVE-2023-45853"}),
    ],
)
def test_each_report_format_is_read(name: str, fmt: str, ids: set[str]) -> None:
    found_fmt, found = findings(parse_json((DATA / name).read_text(), name), name)
    assert found_fmt == fmt
    assert {f.id for f in found} == ids


@pytest.mark.parametrize(
    ("name", "critical", "high"),
    [
        ("npm-audit.json", False, False),
        ("trivy.json", False, False),
        ("grype.json", True, True),
        ("scanner.sarif", False, False),
        ("pip-audit.json", False, False),
    ],
)
def test_vulnerability_report_by_severity(name: str, critical: bool, high: bool) -> None:
    assert run("vulnerability_report", DATA / name, severity="critical").ok is critical
    assert run("vulnerability_report", DATA / name, severity="high").ok is high


def test_pip_audit_findings_have_unknown_severity_and_count() -> None:
    out = run("vulnerability_report", DATA / "pip-audit.json", severity="critical")
    assert "2 of unknown severity count" in out.observed


def test_allow_list_with_expiry_as_waivers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_TODAY", "2026-06-15")
    trivy = DATA / "trivy.json"
    assert run(
        "vulnerability_report", trivy, severity="critical", allow="CVE-2023-45853:2026-06-30"
    ).ok
    expired = run(
        "vulnerability_report", trivy, severity="critical", allow="CVE-2023-45853:2026-06-14"
    )
    assert expired.status == "failed" and "allowance expired 2026-06-14" in expired.observed
    # An alias allows too (pip-audit: CVE of a GHSA/PYSEC advisory).
    allow = "CVE-2024-22195:2026-12-31,CVE-2024-35195:2026-12-31"
    assert run("vulnerability_report", DATA / "pip-audit.json", allow=allow).ok
    assert "no expiry" in error_of("vulnerability_report", trivy, allow="CVE-2023-45853")
    assert "not a date" in error_of("vulnerability_report", trivy, allow="CVE-2023-45853:soon")


def test_judge_vulnerabilities_is_pure() -> None:
    found = findings(parse_json((DATA / "trivy.json").read_text(), "t"), "t")[1]
    out = judge_vulnerabilities(
        "Trivy JSON",
        found,
        Severity.HIGH,
        [Allowance("CVE-2024-2961", dt.date(2026, 1, 1))],
        dt.date(2026, 1, 1),
    )
    assert out.status == "failed" and out.details["counted"] == ["CVE-2023-45853"]


@pytest.mark.parametrize(
    "text",
    [
        '{"dependencies": [], "fixes": []}',
        '{"SchemaVersion": 2, "ArtifactName": "x", "Results": []}',
        '{"version": "2.1.0", "runs": []}',
    ],
)
def test_a_scan_of_nothing_fails(tmp_path: Path, text: str) -> None:
    report = tmp_path / "scan.json"
    report.write_text(text)
    out = run("vulnerability_report", report, severity="low")
    assert out.status == "failed" and "scanned nothing" in out.observed


def test_vulnerability_report_age_and_wrong_files(tmp_path: Path) -> None:
    old = tmp_path / "trivy.json"
    shutil.copy(DATA / "trivy.json", old)
    week_ago = time.time() - 8 * 86400
    os.utime(old, (week_ago, week_ago))
    out = run(
        "vulnerability_report",
        old,
        severity="critical",
        allow="CVE-2023-45853:2099-01-01",
        max_age_hours="168",
    )
    assert out.status == "failed" and "age:" in out.observed
    (tmp_path / "other.json").write_text('{"hello": 1}')
    assert "not a vulnerability report" in error_of("vulnerability_report", tmp_path / "other.json")
    (tmp_path / "bad.json").write_text("{nope")
    assert "not valid JSON (line 1)" in error_of("vulnerability_report", tmp_path / "bad.json")


# --- import rules ---------------------------------------------------------------------------------


def _line(title: str) -> Line:
    return Line(
        number=1, index=0, title=title, marked=title, context="CI/CD", code="", has_binding=False
    )


@pytest.mark.parametrize(
    "title",
    [
        "Test Transaction processes successfully",
        "API endpoints tested manually",
        "Stress tests survived",
        "Penetration tests passed",
    ],
)
def test_lines_that_are_not_about_a_test_report(title: str) -> None:
    proposal = propose(_line(title))
    assert proposal is None or proposal.candidates[0][0] != "junit_report"


def test_a_load_test_line_is_its_report_and_a_person_confirms_the_load() -> None:
    """A load tool's JUnit output (k6, Locust) says whether its thresholds held; which load
    they were ("at 500 rps") is for a person to confirm: checks plus a sign-off."""
    at_load = propose(_line("Load tests pass at 500 rps"))
    assert at_load is not None and at_load.candidates[0][0] == "junit_report"
    assert at_load.attest and at_load.confidence < 0.75
    plain = propose(_line("Performance tests passing"))
    assert plain is not None and plain.candidates[0][0] == "junit_report" and not plain.attest


@pytest.mark.parametrize(
    ("title", "check", "params"),
    [
        ("All unit tests passing", "junit_report", {"min_tests": "1"}),
        ("Integration tests pass", "junit_report", {"min_tests": "1"}),
        ("Contract tests passing", "junit_report", {"min_tests": "1"}),
        ("Code coverage > 80%", "coverage_report", {"min_line": "80"}),
        ("Test coverage at least 92.5%", "coverage_report", {"min_line": "92.5"}),
        ("No critical security vulnerabilities", "vulnerability_report", {"severity": "critical"}),
        ("No high or critical CVEs in the image", "vulnerability_report", {"severity": "high"}),
        (
            "Security scanning enabled",
            "vulnerability_report",
            {"severity": "critical", "max_age_hours": "168"},
        ),
        ("Linting and formatting checks passed", "sarif_clean", {"level": "error"}),
        ("No linter errors or warnings", "sarif_clean", {"level": "warning"}),
        (
            "No vulnerable dependencies (run `pip audit`)",
            "vulnerability_report",
            {"severity": "low"},
        ),
        ("Static analysis clean", "sarif_clean", {"level": "error"}),
    ],
)
def test_import_rules(title: str, check: str, params: dict[str, str]) -> None:
    proposal = propose(_line(title))
    assert proposal is not None, title
    assert proposal.candidates[0] == (check, params)
    REGISTRY.get(check).validate(params)
