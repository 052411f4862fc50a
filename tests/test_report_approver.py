"""What an approver reads first: what blocks, one row per line, scope and change metadata.

Pure tests build report documents in memory; the browser tests open the
rendered HTML in headless Chromium; the run tests run pytest on a small
project and read what it wrote.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_golive.core.change import change_record, pipeline_identity
from pytest_golive.core.config import TargetSpec
from pytest_golive.core.results import RunResults
from pytest_golive.core.secrets import Secret
from pytest_golive.report.html_report import render_html, write_html
from pytest_golive.report.lines import (
    attention,
    binding_text,
    compress,
    format_seconds,
    group_lines,
    safe_address,
    sign_command,
)
from pytest_golive.report.markdown_report import render_markdown

sys.path.insert(0, str(Path(__file__).parent))
from test_report_render import model, result  # noqa: E402

HOSTS = [f"h{i}" for i in range(1, 6)]


def five_hosts() -> list[dict[str, Any]]:
    """One line failing on five hosts, a pending sign-off section, a warning, a pass."""
    out = []
    order = 0
    for host in HOSTS:
        out.append(
            result(
                order,
                "failed",
                True,
                section="infrastructure",
                id="infrastructure/vcpus",
                title="At least 64 vCPUs",
                target=host,
                observed="2",
                expected=">= 64",
                nodeid=f"c.md::infrastructure/vcpus[{host}]",
                order=order,
                line=10,
            )
        )
        order += 1
    for i, title in enumerate(("Runbook reviewed", "Rollback rehearsed", "On-call briefed")):
        out.append(
            result(
                order,
                "manual-pending",
                True,
                section="sign-off",
                id=f"sign-off/s{i}",
                title=title,
                target=None,
                check=None,
                manual=True,
                observed="",
                expected="",
                nodeid=f"c.md::sign-off/s{i}",
                order=order,
                line=2 + i,
                message="manual item: no attestation yet",
            )
        )
        order += 1
    out.append(
        result(
            order,
            "failed",
            False,
            section="security",
            id="security/hsts",
            title="HSTS set",
            severity="warning",
            target="web",
            nodeid="c.md::security/hsts[web]",
            order=order,
            line=40,
        )
    )
    order += 1
    out.append(
        result(
            order,
            "passed",
            False,
            section="security",
            id="security/tls",
            title="TLS 1.2+",
            target="web",
            nodeid="c.md::security/tls[web]",
            order=order,
            line=41,
        )
    )
    return out


def approver_document() -> dict[str, Any]:
    run = model(five_hosts())
    run.targets = [
        {"kind": "host", "name": h, "address": f"ssh://deploy@{h}.example.internal", "groups": []}
        for h in HOSTS
    ] + [
        {"kind": "endpoint", "name": "web", "address": "https://shop.example.com", "groups": []},
        {
            "kind": "database",
            "name": "main",
            "address": "mysql://app:*****@db1:3306/shop",
            "groups": [],
        },
    ]
    run.description = "Production, EU region: the shop and its database"
    run.change = {
        "ticket": "CHG-4711",
        "release": "2.14.0",
        "git_commit": "0123456789abcdef",
        "pipeline": {
            "system": "GitLab CI",
            "run_id": "8812",
            "job": "readiness",
            "url": "https://gitlab.example/shop/-/jobs/8812",
        },
    }
    return run.to_dict()


# --- lines: one row per checklist line ------------------------------------------------------


def test_one_row_per_line_with_its_targets_inside() -> None:
    lines = group_lines(five_hosts())
    vcpus = lines[0]
    assert [line.id for line in lines][:1] == ["infrastructure/vcpus"]
    assert len(vcpus.results) == 5
    assert vcpus.sentence() == "failed on 5 of 5 hosts (h1-h5): observed 2, expected >= 64"
    assert len(lines) == 1 + 3 + 2


def test_distinct_evidence_stays_distinct() -> None:
    records = five_hosts()[:5]
    records[3]["observed"] = "8"
    records[4].update(status="passed", blocking=False, observed="96")
    line = group_lines(records)[0]
    groups = line.evidence()
    assert [(g.status, g.observed, g.targets) for g in groups] == [
        ("failed", "2", ["h1", "h2", "h3"]),
        ("failed", "8", ["h4"]),
        ("passed", "96", ["h5"]),
    ]
    assert line.sentence() == "failed on 4 of 5 hosts (h1-h4): 2 different observations"


def test_target_names_compress_into_ranges() -> None:
    assert compress(["h1", "h2", "h3", "h4", "h5"]) == "h1-h5"
    assert compress(["web1", "web2", "db1"]) == "web1, web2, db1"
    assert compress(["a", "b", "c", "d", "e", "f", "g", "h"]) == "a, b, c, d, e, f and 2 more"


def test_what_blocks_comes_first_then_expired_waivers_then_pending_then_warnings() -> None:
    records = five_hosts()
    expired = result(
        99,
        "failed",
        True,
        section="security",
        id="security/old",
        title="Old waiver",
        target="web",
        nodeid="c.md::security/old[web]",
        order=99,
        line=50,
        waiver={
            "item": "security/old",
            "reason": "r",
            "owner": "o",
            "expired": True,
            "expires": "2026-01-01",
        },
    )
    attend = attention(group_lines([*records, expired]))
    assert [line.id for line in attend.failing_lines] == ["infrastructure/vcpus"]
    assert [line.id for line in attend.expired_waivers] == ["security/old"]
    assert [line.id for line in attend.pending] == ["sign-off/s0", "sign-off/s1", "sign-off/s2"]
    assert [line.id for line in attend.warnings] == ["security/hsts"]
    # the JSON verdict lists blocking items in the same order, whatever the arrival order
    run = model(list(reversed([*records, expired])))
    blocking = run.to_dict()["verdict"]["blocking"]
    assert blocking[:5] == [f"c.md::infrastructure/vcpus[{h}]" for h in HOSTS]
    assert blocking[5] == "c.md::security/old[web]"
    assert blocking[6:] == ["c.md::sign-off/s0", "c.md::sign-off/s1", "c.md::sign-off/s2"]


def test_one_command_signs_every_pending_line() -> None:
    lines = group_lines(five_hosts())
    pending = attention(lines).pending
    assert sign_command(pending, lines) == "golive attest 'sign-off/*' --by NAME --ticket TICKET"
    # a section with something else in it is not signed by a glob
    assert sign_command(pending[:2], lines) == (
        "golive attest sign-off/s0 sign-off/s1 --by NAME --ticket TICKET"
    )


def test_markdown_lists_failures_before_sign_offs_and_merges_section_spellings() -> None:
    records = five_hosts()
    records.append(
        result(
            50,
            "passed",
            False,
            section="infrastructure",
            section_title="infrastructure",
            id="infrastructure/test_x",
            title="test_x",
            nodeid="t.py::test_x",
            order=50,
            kind="test",
        )
    )
    text = render_markdown(model(records).to_dict())
    assert text.index("### Blocking: Infrastructure (1)") < text.index("### Pending sign-offs (3)")
    assert "failed on 5 of 5 hosts \\(h1-h5\\): observed 2" in text
    assert "golive attest 'sign-off/\\*'" not in text and "golive attest 'sign-off/*'" in text
    rows = [line for line in text.splitlines() if line.lower().startswith("| infrastructure")]
    assert len(rows) == 1, rows


# --- readable evidence ------------------------------------------------------------------------


def test_binding_reads_as_written_never_a_python_repr() -> None:
    r = result(
        1,
        check="env_no_placeholders",
        params={"keys": ["SECRET_KEY", "DEBUG"], "strict": True, "path": "/srv/app/.env"},
    )
    assert (
        binding_text(r)
        == "env_no_placeholders keys=SECRET_KEY,DEBUG strict=true path=/srv/app/.env"
    )
    assert binding_text({**r, "binding": "env_no_placeholders  keys=SECRET_KEY"}) == (
        "env_no_placeholders keys=SECRET_KEY"
    )


def test_durations_are_real() -> None:
    assert format_seconds(0.85) == "850 ms"
    assert format_seconds(0.0002) == "<1 ms"
    assert format_seconds(2.5) == "2.5 s"


def test_facts_are_a_table_not_json() -> None:
    facts = [
        {"fact": "passwordauthentication", "observed": "yes", "expected": "no", "ok": False},
        {"fact": "permitrootlogin", "observed": "no", "expected": "no", "ok": True},
    ]
    run = model([result(1, "failed", True, details={"facts": facts}, duration=0.85)])
    html = render_html(run.to_dict())
    assert '{"facts"' not in html and "&#34;facts&#34;" not in html
    table = html[html.index('<table class="grid facts">') :]
    table = table[: table.index("</table>")]
    assert re.search(
        r'<tr class="bad"><td><code>passwordauthentication</code></td><td>yes</td>'
        r"<td>no</td><td>no</td></tr>",
        table,
    )
    assert "850 ms" in html and "(0 ms)" not in html


# --- scope -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "address", "shown"),
    [
        ("host", "ssh://deploy@app1.example.internal", "deploy@app1.example.internal"),
        ("host", "ssh://app1:2222", "app1:2222"),
        ("host", "local://", "this machine (local://)"),
        ("endpoint", "https://user:pw@api.example.com/v1", "https://user@api.example.com/v1"),
        ("database", "mysql://ro:*****@db1:3306/app", "mysql ro@db1:3306/app"),
        ("database", "postgresql://db1/app", "postgresql db1/app"),
    ],
)
def test_safe_addresses(kind: str, address: str, shown: str) -> None:
    assert safe_address(kind, address) == shown


def test_a_dsn_with_an_empty_password_is_not_hidden_whole() -> None:
    dsn = Secret("mysql://root:@127.0.0.1:3306/app", "${DB_PASSWORD}")
    spec = TargetSpec("database", "main", (), {"dsn": dsn})
    assert spec.to_dict()["address"] == "mysql://root@127.0.0.1:3306/app"
    with_password = TargetSpec(
        "database", "main", (), {"dsn": Secret("mysql://ro:Tops3cret@db1:3306/app", "${DB}")}
    )
    assert with_password.to_dict()["address"] == "mysql://ro:*****@db1:3306/app"


# --- change metadata --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_REPOSITORY": "o/shop",
                "GITHUB_RUN_ID": "77",
                "GITHUB_WORKFLOW": "release",
                "GITHUB_JOB": "readiness",
                "GITHUB_SHA": "abc",
                "GITHUB_ACTOR": "ana",
            },
            {
                "system": "GitHub Actions",
                "run_id": "77",
                "job": "release / readiness",
                "url": "https://github.com/o/shop/actions/runs/77",
                "actor": "ana",
                "commit": "abc",
            },
        ),
        (
            {
                "GITLAB_CI": "true",
                "CI_PIPELINE_ID": "8812",
                "CI_JOB_NAME": "readiness",
                "CI_JOB_URL": "https://gitlab.example/j/1",
                "CI_COMMIT_SHA": "def",
            },
            {
                "system": "GitLab CI",
                "run_id": "8812",
                "job": "readiness",
                "url": "https://gitlab.example/j/1",
                "commit": "def",
            },
        ),
        (
            {
                "JENKINS_URL": "https://ci.example/",
                "BUILD_NUMBER": "41",
                "JOB_NAME": "shop-release",
                "BUILD_URL": "https://ci.example/job/shop-release/41/",
            },
            {
                "system": "Jenkins",
                "run_id": "41",
                "job": "shop-release",
                "url": "https://ci.example/job/shop-release/41/",
            },
        ),
        (
            {
                "TF_BUILD": "True",
                "BUILD_BUILDNUMBER": "20261201.3",
                "BUILD_BUILDID": "993",
                "SYSTEM_COLLECTIONURI": "https://dev.azure.com/org/",
                "SYSTEM_TEAMPROJECT": "shop",
                "BUILD_REQUESTEDFOR": "Bo",
                "BUILD_SOURCEVERSION": "fed",
            },
            {
                "system": "Azure Pipelines",
                "run_id": "20261201.3",
                "url": "https://dev.azure.com/org/shop/_build/results?buildId=993",
                "actor": "Bo",
                "commit": "fed",
            },
        ),
        ({"PATH": "/bin"}, None),
    ],
)
def test_pipeline_identity_from_ci_variables(
    environ: dict[str, str], expected: dict[str, str] | None
) -> None:
    assert pipeline_identity(environ) == expected


def test_git_commit_comes_from_the_pipeline_outside_a_repository(tmp_path: Path) -> None:
    record = change_record(
        ticket="CHG-1",
        release=None,
        root=tmp_path,
        environ={"GITLAB_CI": "true", "CI_COMMIT_SHA": "c0ffee"},
    )
    assert record == {
        "ticket": "CHG-1",
        "release": None,
        "git_commit": "c0ffee",
        "pipeline": {"system": "GitLab CI", "commit": "c0ffee"},
    }


def test_change_metadata_survives_json_and_merges() -> None:
    document = approver_document()
    again = RunResults.from_dict(document).to_dict()
    assert again["change"] == document["change"]
    assert again["environment_description"] == document["environment_description"]
    schema = json.loads(
        resources.files("pytest_golive").joinpath("schemas/results.schema.json").read_text()
    )
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    broken = {**document, "change": {**document["change"], "ticket": 4711}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


# --- the HTML report in a real browser ------------------------------------------------------


PROBE = """<script>
(function(){
 function text(e){return e?e.textContent.replace(/\\s+/g,' ').trim():'';}
 var first=document.querySelector('#attention ol.blocking li');
 var rows=document.querySelectorAll('#sec0 details.it');
 var line=document.getElementById('l0');
 var out={
  first:text(first),
  firstWord:text(first&&first.querySelector('strong')),
  pendingOpen:document.getElementById('att-pending').open,
  pendingSummary:text(document.querySelector('#att-pending summary')),
  command:text(document.querySelector('pre.cmd')),
  infraRows:rows.length,
  targetsInLine:line.querySelectorAll('details.tg').length,
  scope:text(document.getElementById('scope')),
  change:text(document.getElementById('change')),
  order:[document.getElementById('verdict'),document.getElementById('attention'),
         document.getElementById('scope')].map(function(e){return e.getBoundingClientRect().top;}),
  scrollWidth:document.documentElement.scrollWidth,
  clientWidth:document.documentElement.clientWidth
 };
 document.title='PROBE'+JSON.stringify(out);
})();
</script></body>"""


@pytest.fixture(scope="module")
def approver_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("approver") / "report.html"
    write_html(path, approver_document())
    return path


def _probe(browser: Any, page: Path, tmp_path: Path, width: int = 1280) -> dict[str, Any]:
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE), encoding="utf-8")
    dom = browser.dom(probe, width)
    found = re.search(r"<title>PROBE(.*?)</title>", dom, re.S)
    assert found, dom[-2000:]
    import html as html_module

    data: dict[str, Any] = json.loads(html_module.unescape(found.group(1)))
    return data


@pytest.mark.real_systems
def test_chromium_first_blocking_entry_is_a_failed_check(
    browser: Any, approver_page: Path, tmp_path: Path
) -> None:
    seen = _probe(browser, approver_page, tmp_path)
    assert seen["firstWord"] == "FAILED"
    assert seen["first"].startswith(
        "FAILED At least 64 vCPUs infrastructure/vcpus: failed on 5 of 5 hosts (h1-h5): observed 2"
    )
    # pending sign-offs are counted and collapsed, with the one command that signs them
    assert seen["pendingOpen"] is False
    assert seen["pendingSummary"].startswith("3 sign-offs pending")
    assert seen["command"] == "golive attest 'sign-off/*' --by NAME --ticket TICKET"


@pytest.mark.real_systems
def test_chromium_one_row_per_line_grouping(
    browser: Any, approver_page: Path, tmp_path: Path
) -> None:
    seen = _probe(browser, approver_page, tmp_path)
    assert seen["infraRows"] == 1  # five hosts, one line
    assert seen["targetsInLine"] == 5  # per-target evidence one click away


@pytest.mark.real_systems
def test_chromium_scope_and_change_metadata_at_the_top(
    browser: Any, approver_page: Path, tmp_path: Path
) -> None:
    seen = _probe(browser, approver_page, tmp_path)
    top_verdict, top_attention, top_scope = seen["order"]
    assert top_verdict < top_attention < top_scope < 1400  # all in the first screen
    assert "Production, EU region: the shop and its database" in seen["scope"]
    assert "Hosts (5)" in seen["scope"] and "deploy@h1.example.internal" in seen["scope"]
    assert "https://shop.example.com" in seen["scope"]
    assert "mysql app@db1:3306/shop" in seen["scope"] and "*****" not in seen["scope"]
    for text in ("CHG-4711", "2.14.0", "GitLab CI run 8812", "readiness", "0123456789ab"):
        assert text in seen["change"], text


@pytest.mark.real_systems
@pytest.mark.parametrize("width", [1280, 390])
def test_chromium_no_horizontal_scroll(browser: Any, tmp_path: Path, width: int) -> None:
    document = approver_document()
    long = "x" * 300
    document["results"][0]["observed"] = long
    document["results"][0]["nodeid"] = "c.md::infrastructure/" + long
    page = tmp_path / "wide.html"
    write_html(page, document)
    seen = _probe(browser, page, tmp_path, width)
    assert seen["scrollWidth"] <= seen["clientWidth"], seen


@pytest.mark.real_systems
def test_chromium_prints_every_target_expanded(
    browser: Any, approver_page: Path, tmp_path: Path
) -> None:
    pdf = tmp_path / "report.pdf"
    browser.run_args(
        "--no-pdf-header-footer", f"--print-to-pdf={pdf}", approver_page.resolve().as_uri()
    )
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", data)) >= 1
    html = approver_page.read_text(encoding="utf-8")
    assert "@media print" in html and ".controls,.noprint{display:none!important}" in html
    # printing opens every details element, nested per-target ones included
    assert "all.forEach(function(d){d.open=true;})" in html


# --- a real run -----------------------------------------------------------------------------


CONFIG = """\
checklists = ["checklist.md"]

[environments.prod]
description = "Production (this machine stands in for it)"

[environments.prod.hosts]
local = ["local://"]
"""

CHECKLIST = """\
# Release

## Infrastructure
- [ ] Enough CPUs <!-- golive: cpu min=1 -->
- [ ] Huge machine <!-- golive: cpu min=9999 id=huge -->

## Sign-off
- [ ] Lead says yes
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", golive=CONFIG)
    pytester.makefile(".md", checklist=CHECKLIST)
    return pytester


@pytest.mark.real_systems
def test_a_run_records_change_ticket_release_and_pipeline(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "TF_BUILD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TF_BUILD", "True")
    monkeypatch.setenv("BUILD_BUILDNUMBER", "20261201.7")
    monkeypatch.setenv("BUILD_SOURCEVERSION", "feedface")
    result = project.runpytest(
        "-p",
        "no:cacheprovider",
        "--golive=prod",
        "--golive-change=CHG-9",
        "--golive-release=3.1.0",
        "--golive-json=r.json",
        "--golive-markdown=r.md",
        "--junitxml=r.xml",
    )
    assert result.ret == 1
    document = json.loads((project.path / "r.json").read_text())
    schema = json.loads(
        resources.files("pytest_golive").joinpath("schemas/results.schema.json").read_text()
    )
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    change = document["change"]
    assert change["ticket"] == "CHG-9" and change["release"] == "3.1.0"
    assert change["pipeline"]["system"] == "Azure Pipelines"
    assert change["pipeline"]["run_id"] == "20261201.7"
    assert change["git_commit"] == "feedface"  # the pytester directory is no git tree
    assert document["environment_description"] == "Production (this machine stands in for it)"
    text = (project.path / "r.md").read_text()
    assert "**Change:** CHG-9" in text and "**Release:** 3.1.0" in text
    root = ET.parse(project.path / "r.xml").getroot()
    props = {p.get("name"): p.get("value") for p in root.find("testsuite/properties")}
    assert props["golive.change"] == "CHG-9" and props["golive.release"] == "3.1.0"
    assert props["golive.pipeline"] == "Azure Pipelines 20261201.7"
    assert props["golive.description"] == "Production (this machine stands in for it)"
    # the terminal lists the failing check before the pending sign-off, by its id
    out = result.stdout.str()
    assert out.index("FAILED infrastructure/huge") < out.index("PENDING 1 sign-off")
    assert "blocking: infrastructure/huge[local], sign-off/lead-says-yes" in out


@pytest.mark.real_systems
def test_a_readiness_suite_run_without_golive_says_so(project: pytest.Pytester) -> None:
    result = project.runpytest("-p", "no:cacheprovider")
    assert result.outlines[-1] == (
        "golive: golive.toml defines a readiness suite, but this run did "
        "not check it (no --golive=ENV): it says nothing about go-live"
    )
    refused = project.runpytest("-p", "no:cacheprovider", "--golive-required")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(
        ["*--golive-required: this run must check an environment: add --golive=ENV*"]
    )
    project.makeini("[pytest]\ngolive_required = true\n")
    assert project.runpytest("-p", "no:cacheprovider").ret == pytest.ExitCode.USAGE_ERROR
    assert (
        project.runpytest(
            "-p", "no:cacheprovider", "--golive=prod", "--golive-manual=warn", "-k", "enough"
        ).ret
        == 0
    )


@pytest.mark.real_systems
def test_names_are_the_same_serially_and_under_xdist(project: pytest.Pytester) -> None:
    project.makefile(
        ".md", checklist=CHECKLIST + "\n## Operations\n- [ ] Ops CPU <!-- golive: cpu min=1 -->\n"
    )
    names = {}
    sections = {}
    for mode, extra in (("serial", ()), ("xdist", ("-n", "2"))):
        project.runpytest_subprocess(
            "-p",
            "no:cacheprovider",
            "--golive=prod",
            f"--junitxml={mode}.xml",
            f"--golive-json={mode}.json",
            *extra,
            timeout=300,
        )
        root = ET.parse(project.path / f"{mode}.xml").getroot()
        names[mode] = sorted(c.get("name") for c in root.iter("testcase"))
        document = json.loads((project.path / f"{mode}.json").read_text())
        sections[mode] = [s["name"] for s in document["sections"]]
        assert not any("@" in r["nodeid"] for r in document["results"])
    assert names["serial"] == names["xdist"]
    assert not any("@" in n for n in names["xdist"]), names["xdist"]
    assert sections["serial"] == sections["xdist"] == ["infrastructure", "sign-off", "operations"]


@pytest.mark.real_systems
def test_each_bad_checklist_line_counts_as_one_error(project: pytest.Pytester) -> None:
    project.makefile(".md", checklist=CHECKLIST + "- [ ] a <!-- golive: cpux min=1 -->\n"
                     "- [ ] b <!-- golive: cpu mni=1 -->\n- [ ] c <!-- golive: memroy -->\n")
    result = project.runpytest("-p", "no:cacheprovider", "--golive=prod", "--golive-json=r.json")
    listed = [line for line in result.outlines if line.startswith("checklist error: ")]
    assert len(listed) == 3, listed
    assert "3 checklist error(s)" in result.stdout.str()
    assert len(json.loads((project.path / "r.json").read_text())["collection_errors"]) == 3


def test_not_configured_lines_come_after_failures_with_the_variables_named() -> None:
    unset = result(60, "not-configured", True, section="infrastructure", id="infrastructure/fw",
                   title="Firewall rules", target="h1", nodeid="c.md::infrastructure/fw[h1]",
                   order=-1, line=1,
                   observed="not configured: variable allowed_ports is not set (add ...)")
    records = [unset, *five_hosts()]
    attend = attention(group_lines(records))
    assert [line.id for line in attend.failing_lines] == ["infrastructure/vcpus"]
    assert [line.id for line in attend.not_configured] == ["infrastructure/fw"]
    assert attend.not_configured[0].sentence() == (
        "not configured on 1 of 1 host (h1): variable allowed_ports is not set (add ...)")
    blocking = model(records).to_dict()["verdict"]["blocking"]
    assert blocking.index("c.md::infrastructure/fw[h1]") == 5  # after the five failing items
    html = render_html(model(records).to_dict())
    assert html.index("Failing blockers") < html.index("1 line not configured")
    assert "waiting for 1 variable: <code>allowed_ports</code>" in html


def test_change_metadata_and_scope_are_escaped_everywhere() -> None:
    hostile = "<script>alert(1)</script>"
    document = approver_document()
    document["change"] = {"ticket": hostile, "release": hostile, "git_commit": hostile,
                          "pipeline": {"system": hostile, "run_id": hostile, "url": hostile}}
    document["environment_description"] = hostile
    document["targets"].append({"kind": "host", "name": hostile, "address": f"ssh://{hostile}"})
    html = render_html(document)
    assert "<script>alert(1)" not in html and html.count("&lt;script&gt;alert(1)") >= 6
    text = render_markdown(document)
    assert not re.search(r"(?<!\\)<script", text)


def test_a_failing_test_in_a_checklist_section_is_listed_under_its_heading() -> None:
    """A marker's name ("infrastructure") reads as the checklist's heading wherever it is
    shown, whichever result came first: what blocks is not split into two sections."""
    marker_test = result(0, "failed", True, section="infrastructure",
                         section_title="infrastructure", id="infrastructure/test_x",
                         title="test_x", nodeid="t.py::test_x", order=0, kind="test")
    records = [marker_test, *five_hosts()]
    data = model(records).to_dict()
    assert {r["section_title"] for r in data["results"] if r["section"] == "infrastructure"} == {
        "Infrastructure"}
    assert [s["title"] for s in data["sections"] if s["name"] == "infrastructure"] == [
        "Infrastructure"]
    text = render_markdown(data)
    assert "### Blocking: infrastructure" not in text
    assert "### Blocking: Infrastructure (2)" in text


def test_a_section_known_only_by_its_marker_is_titled_not_lowercase() -> None:
    """No checklist heading for the section: its title is the marker's name as a title
    ("signoff" as "Sign-off"), in the results, the sections and the Markdown."""
    tests = [result(i, "failed", True, section=name, section_title=name, id=f"{name}/test_{i}",
                    title=f"test_{i}", nodeid=f"t.py::test_{i}", order=i, kind="test")
             for i, name in enumerate(("security", "signoff", "payments_api"))]
    data = model(tests).to_dict()
    assert [r["section_title"] for r in data["results"]] == ["Security", "Sign-off",
                                                              "Payments api"]
    assert [s["title"] for s in data["sections"]] == ["Security", "Sign-off", "Payments api"]
    text = render_markdown(data)
    assert "Security" in text and "### Blocking: security" not in text
