"""Reports written by a real readiness run: JSON (schema), HTML, Markdown, JUnit, pytest-html.

Each test runs pytest on a small project (golive.toml + a Markdown
checklist against this machine via local://) and reads what it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from support import require

SECRET = "Tops3cretValue-4711"
HOSTILE = "<script>alert(\"t\")</script> & \"q\" 'ü' 日本"

CONFIG = """\
checklists = ["checklist.md"]
waivers = "waivers.toml"

[environments.prod.hosts]
local = ["local://"]
"""

CHECKLIST = f"""\
# Release checklist

## Infrastructure
- [ ] {HOSTILE} CPUs <!-- golive: cpu min=999 -->
- [ ] Enough CPUs <!-- golive: cpu min=1 -->
- [ ] Waived CPUs <!-- golive: cpu min=998 -->
- [ ] Hostname holds the token <!-- golive: file path=/etc/hostname contains=${{GOLIVE_REPORT_SECRET}} -->

## Operations
- [ ] Hostname file exists <!-- golive: file path=/etc/hostname type=file -->
- [ ] Optional tuning <!-- golive: cpu min=997 severity=warning -->

## Sign-off
- [ ] Lead says <b>yes</b>
"""  # noqa: E501 - checklist lines, verbatim

WAIVERS = """\
[[waiver]]
item = "infrastructure/waived-cpus"
reason = "<img src=x onerror=alert(1)> bigger box ordered"
owner = "ops & \\"friends\\""
ticket = "CHG-1"
expires = 2099-01-01
"""


def results_schema() -> dict:
    text = resources.files("pytest_golive").joinpath("schemas/results.schema.json").read_text()
    return json.loads(text)


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("GOLIVE_REPORT_SECRET", SECRET)
    pytester.makefile(".toml", golive=CONFIG, waivers=WAIVERS)
    pytester.makefile(".md", checklist=CHECKLIST)
    return pytester


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    return project.runpytest("-p", "no:cacheprovider", "--golive=prod", *args)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run writing every form of the report, read by several tests."""
    work = tmp_path_factory.mktemp("project")
    (work / "golive.toml").write_text(CONFIG)
    (work / "waivers.toml").write_text(WAIVERS)
    (work / "checklist.md").write_text(CHECKLIST)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--golive=prod",
         "--golive-json=out/r.json", "--golive-report=r.html", "--golive-markdown=r.md",
         "--junitxml=r.xml", "--html=ph.html", "--self-contained-html"],
        cwd=work, env={**os.environ, "GOLIVE_REPORT_SECRET": SECRET},
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "2 passed" in proc.stdout
    return work


def test_json_report_follows_the_shipped_schema(reports: Path) -> None:
    document = json.loads((reports / "out/r.json").read_text())
    jsonschema.validate(document, results_schema(), cls=jsonschema.Draft202012Validator)
    assert document["verdict"]["verdict"] == "NO-GO"
    statuses = {r["title"]: (r["status"], r["blocking"]) for r in document["results"]}
    assert statuses["Waived CPUs"] == ("waived", False)
    assert statuses["Optional tuning"] == ("failed", False)
    assert statuses["Lead says <b>yes</b>"] == ("manual-pending", True)
    assert document["integrity"]["digest"].startswith("sha256:")
    assert document["checklists"][0]["sha256"]


def test_the_schema_rejects_a_report_missing_its_verdict(reports: Path) -> None:
    document = json.loads((reports / "out/r.json").read_text())
    del document["verdict"]
    with pytest.raises(jsonschema.ValidationError, match="verdict"):
        jsonschema.validate(document, results_schema(), cls=jsonschema.Draft202012Validator)


def test_no_report_carries_the_secret(reports: Path) -> None:
    for name in ("out/r.json", "r.html", "r.md", "r.xml", "ph.html"):
        text = (reports / name).read_text(encoding="utf-8")
        assert text, name
        assert SECRET not in text, name
    assert "*****" in (reports / "out/r.json").read_text()


def test_html_report_escapes_checklist_text_and_shows_the_verdict(reports: Path) -> None:
    html = (reports / "r.html").read_text(encoding="utf-8")
    digest = json.loads((reports / "out/r.json").read_text())["integrity"]["digest"]
    assert "NO-GO" in html
    assert "<script>alert" not in html
    assert (
        "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; &amp; &#34;q&#34; &#39;ü&#39; 日本" in html
    )
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>yes</b>" not in html
    assert digest in html
    assert "http://" not in html.replace("http://127.0.0.1", "") and "https://" not in html


def test_markdown_summary_names_blockers_and_escapes(reports: Path) -> None:
    text = (reports / "r.md").read_text(encoding="utf-8")
    assert text.startswith("## ⛔ NO-GO: prod")
    # what blocks first, by section; the pending sign-off counted, with its command
    assert "### Blocking: Infrastructure (2)" in text and "### Pending sign-offs (1)" in text
    assert text.index("### Blocking: Infrastructure") < text.index("### Pending sign-offs")
    assert "golive attest sign-off/lead-says-b-yes-b --by NAME --ticket TICKET" in text
    assert "### Waived (1)" in text and "### Warnings (1)" in text
    assert "<script>" not in text and "\\<script\\>" in text
    assert "observed 2 vCPUs, expected \\>= 999 vCPUs" in text


JUNIT_XSD = Path(__file__).parent / "data" / "junit.xsd"


def test_junit_xml_is_valid_and_carries_golive_properties(reports: Path) -> None:
    lxml = _lxml()
    schema = lxml.XMLSchema(lxml.parse(str(JUNIT_XSD)))
    document = lxml.parse(str(reports / "r.xml"))
    assert schema.validate(document), schema.error_log
    root = ET.parse(reports / "r.xml").getroot()
    suite = {p.get("name"): p.get("value") for p in root.find("testsuite/properties")}
    assert suite["golive.environment"] == "prod" and suite["golive.verdict"] == "NO-GO"
    cases = {c.get("name"): {p.get("name"): p.get("value") for p in c.iter("property")}
             for c in root.iter("testcase")}
    cpu = cases["infrastructure/enough-cpus[local]"]
    assert cpu["golive.section"] == "infrastructure" and cpu["golive.status"] == "passed"
    assert cpu["golive.observed"] == "2 vCPUs" or cpu["golive.observed"].endswith("vCPUs")
    assert cpu["golive.expected"] == ">= 1 vCPUs" and cpu["golive.target"] == "local"
    waived = cases["infrastructure/waived-cpus[local]"]
    assert waived["golive.status"] == "waived" and "bigger box ordered" in waived["golive.waiver"]


def test_junit_schema_rejects_a_malformed_document(tmp_path: Path) -> None:
    lxml = _lxml()
    schema = lxml.XMLSchema(lxml.parse(str(JUNIT_XSD)))
    bad = lxml.fromstring(b"<testsuites><testsuite tests='1'><testcase/></testsuite></testsuites>")
    assert not schema.validate(bad)


def _lxml():  # noqa: ANN202 - a module
    try:
        import lxml.etree as etree
    except ImportError:
        etree = None
    require(etree is not None, "lxml (pip install -e '.[test]')")
    return etree


def test_pytest_html_gets_golive_columns_and_the_verdict(reports: Path) -> None:
    html = (reports / "ph.html").read_text(encoding="utf-8")
    for column in ("Section", "Target", "Severity", "Evidence"):
        assert f'data-column-type="golive{column.lower()}">{column}</th>' in html
    assert "GOLIVE prod: NO-GO" in html
    # pytest-html counts and labels rows with golive's words, as golive's own summary does
    for count in (
        '<span class="failed">2 Failed,</span>',
        '<span class="passed">2 Passed,</span>',
        '<span class="error">0 Errors,</span>',
        '<span class="waived">1 Waived,</span>',
        '<span class="pending">1 Pending,</span>',
        '<span class="warning">1 Warnings,</span>',
    ):
        assert count in html, count
    assert "golive: 2 failed, 1 pending, 1 warning, 1 waived, 2 passed" in html
    assert (
        "&#34;result&#34;: &#34;Waived&#34;" in html
        and "&#34;result&#34;: &#34;Pending&#34;" in html
    )
    assert (
        "observed 2 vCPUs, expected &amp;gt;= 999 vCPUs" in html
        or "expected &gt;= 999 vCPUs" in html
    )
    assert "<script>alert(" not in html


def test_pytest_html_outcome_words() -> None:
    from pytest_golive.integration.pytest_html_hooks import outcome_word

    assert outcome_word({"status": "error", "blocking": True}) == "Error"
    assert outcome_word({"status": "error", "blocking": False}) == "Warning"
    assert outcome_word({"status": "failed", "blocking": True}) == "Failed"
    assert outcome_word({"status": "manual-pending", "blocking": False}) == "Pending"
    assert outcome_word({"status": "manual-attested", "blocking": False}) == "Attested"
    assert outcome_word(None) is None


def test_pytest_html_is_untouched_without_golive(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    assert True\n")
    pytester.runpytest("-p", "no:cacheprovider", "--html=ph.html").assert_outcomes(passed=1)
    html = (pytester.path / "ph.html").read_text(encoding="utf-8")
    assert "golivesection" not in html and "GOLIVE" not in html


def test_xdist_run_writes_one_merged_report(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--golive=prod", "-n", "2",
                                          "--golive-json=r.json", "--golive-report=r.html")
    assert result.ret == 1
    document = json.loads((project.path / "r.json").read_text())
    assert len(document["results"]) == 7
    assert document["verdict"]["verdict"] == "NO-GO"
    jsonschema.validate(document, results_schema(), cls=jsonschema.Draft202012Validator)
    assert SECRET not in (project.path / "r.html").read_text(encoding="utf-8")


def test_baseline_changes_appear_in_the_html(project: pytest.Pytester) -> None:
    run(project, "--golive-json=old.json")
    (project.path / "checklist.md").write_text(
        CHECKLIST.replace("cpu min=999", "cpu min=1").replace("type=file -->", "type=directory -->")
    )
    run(project, "--golive-json=new.json", "--golive-report=new.html", "--golive-baseline=old.json")
    html = (project.path / "new.html").read_text(encoding="utf-8")
    assert "Changes since the baseline" in html
    new = json.loads((project.path / "new.json").read_text())
    diff = new["baseline"]["diff"]
    assert [c["item"] for c in diff["new_failures"]] == ["operations/hostname-file-exists [local]"]
    assert [c["title"] for c in diff["fixed"]] == [f"{HOSTILE} CPUs"]
    jsonschema.validate(new, results_schema(), cls=jsonschema.Draft202012Validator)


def test_bad_sign_key_is_one_clear_line(project: pytest.Pytester) -> None:
    (project.path / "key.pem").write_text("not a key")
    result = run(project, "--golive-json=r.json", "--golive-sign-key=key.pem")
    assert result.ret != 0
    result.stderr.fnmatch_lines(
        ["*--golive-sign-key: key.pem: not an unencrypted PEM private key*"]
    )


def test_a_run_signs_its_json_report(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    from pytest_golive.tools.cli import main

    key = project.path / "sign.pem"
    assert main(["keygen", str(key)]) == 0
    capsys.readouterr()
    run(project, "--golive-json=r.json", "--golive-report=r.html", f"--golive-sign-key={key}")
    assert (
        main(
            [
                "verify",
                str(project.path / "r.json"),
                "--public-key",
                str(project.path / "sign.pub.pem"),
            ]
        )
        == 0
    )
    document = json.loads((project.path / "r.json").read_text())
    html = (project.path / "r.html").read_text(encoding="utf-8")
    assert document["integrity"]["signature"]["key_id"] in html
    assert document["integrity"]["digest"] in html
