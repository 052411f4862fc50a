"""The HTML report itself: escaping, size at scale, and how a real browser shows it."""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.core.results import RunResults
from pytest_golive.report.html_report import render_html, write_html
from pytest_golive.report.json_report import canonical, digest
from pytest_golive.report.markdown_report import render_markdown

HOSTILE = "</summary><script>alert('x')</script>\"><img src=x onerror=alert(1)> ü 日本 \u202e"
STATUSES = [
    ("passed", False),
    ("failed", True),
    ("error", True),
    ("failed", False),
    ("waived", False),
    ("manual-pending", True),
    ("manual-attested", False),
    ("skipped", False),
]


def result(
    i: int,
    status: str = "passed",
    blocking: bool = False,
    section: str = "infrastructure",
    **extra: Any,
) -> dict[str, Any]:
    record = {
        "nodeid": f"checklist.md::{section}/item-{i}[web-{i % 7}]",
        "kind": "checklist",
        "id": f"{section}/item-{i}",
        "section": section,
        "section_title": section.title(),
        "title": f"Item {i} has enough capacity",
        "parent": None,
        "check": "cpu",
        "params": {"min": 4},
        "manual": False,
        "target": f"web-{i % 7}",
        "target_kind": "host",
        "severity": "blocker" if blocking or status == "passed" else "warning",
        "status": status,
        "blocking": blocking,
        "observed": f"{i % 8} vCPUs",
        "expected": ">= 4 vCPUs",
        "details": {"cpus": i % 8},
        "message": "",
        "waiver": None,
        "attestation": None,
        "source": "/srv/checklists/checklist.md",
        "line": 10 + i,
        "duration": 0.0123,
        "order": i,
    }
    record.update(extra)
    return record


def model(results: list[dict[str, Any]], environment: str = "prod") -> RunResults:
    run = RunResults(
        environment=environment,
        started="2026-11-23T10:00:00+00:00",
        finished="2026-11-23T10:02:30+00:00",
        provenance={
            "plugin_version": "0.1.0",
            "python": "3.11",
            "run_by": "release-bot",
            "machine": "ci-runner-3",
            "platform": "Linux",
        },
        options={"manual": "block", "strict": False, "today": "2026-11-23"},
        targets=[{"kind": "host", "name": "web-1", "address": "ssh://web-1", "groups": []}],
        checklists=[
            {"path": "/srv/checklists/checklist.md", "sha256": "ab" * 32, "git_commit": "c0ffee"}
        ],
    )
    for r in results:
        run.add(r)
    return run


def mixed(n: int = 40) -> list[dict[str, Any]]:
    sections = ["infrastructure", "security", "observability", "sign-off"]
    return [result(i, *STATUSES[i % len(STATUSES)], section=sections[i % 4]) for i in range(n)]


def hostile_model() -> RunResults:
    records = [
        result(
            1,
            "failed",
            True,
            title=HOSTILE,
            observed=HOSTILE,
            expected="<b>" + HOSTILE,
            target="<i>web</i>",
            details={"body": HOSTILE},
            section_title=HOSTILE,
            id="a/" + HOSTILE,
        ),
        result(
            2,
            "waived",
            False,
            waiver={
                "item": "x",
                "reason": HOSTILE,
                "owner": "'ops'",
                "ticket": "<t>",
                "expires": "2099-01-01",
            },
        ),
        result(
            3,
            "manual-attested",
            False,
            check=None,
            manual=True,
            attestation={
                "item": "x",
                "by": HOSTILE,
                "at": "2026-11-01T09:00:00+00:00",
                "ticket": "T-1",
                "evidence": HOSTILE,
                "valid_until": None,
            },
        ),
    ]
    return model(records, environment="prod<script>")


def test_every_user_string_is_escaped() -> None:
    html = render_html(hostile_model().to_dict())
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "</summary><script>" not in html
    assert "<b>" not in html and "<i>web</i>" not in html
    escaped = (
        "&lt;/summary&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&#34;&gt;"
        "&lt;img src=x onerror=alert(1)&gt; ü 日本"
    )
    assert html.count(escaped) >= 6  # title, observed, expected, details, waiver, attestation, ...
    assert "prod&lt;script&gt;" in html
    assert "\u202e" not in html, "a bidi override could make text display reversed"
    # The report's own script is the only one.
    assert len(re.findall(r"<script\b", html)) == 1


def test_markdown_escapes_user_strings() -> None:
    text = render_markdown(hostile_model().to_dict())
    assert not re.search(r"(?<!\\)<", text), "an unescaped < reaches the ticket"
    assert "\\<script\\>" in text
    assert "\u202e" not in text


def test_report_is_self_contained() -> None:
    html = render_html(model(mixed()).to_dict())
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert "<link" not in html


def test_verdict_first_with_blocking_items_linked() -> None:
    html = render_html(model(mixed(16)).to_dict())
    banner = html.index('class="verdict nogo"')
    assert banner < html.index("Summary by section") < html.index('class="sec"')
    assert "✗ NO-GO" in html
    # each blocking item is listed in the banner and links to its entry
    for anchor in re.findall(r'<a href="#(i\d+)">', html[banner:html.index("Summary by section")]):
        assert f'id="{anchor}"' in html


def test_failures_open_and_the_rest_collapsed() -> None:
    html = render_html(model(mixed(16)).to_dict())
    opened = re.findall(r'<details class="it s-(\w+)"[^>]*\bopen>', html)
    closed = re.findall(r'<details class="it s-(\w+)"[^>]*"(?<!open)>', html)
    assert set(opened) == {"fail", "err", "pend", "warn"}
    assert set(closed) == {"pass", "waiv", "att", "skip"}


def test_status_is_a_word_not_only_a_colour() -> None:
    html = render_html(model(mixed(16)).to_dict())
    for word in (
        "PASSED",
        "FAILED",
        "ERROR",
        "WARNING",
        "WAIVED",
        "PENDING",
        "ATTESTED",
        "SKIPPED",
    ):
        assert re.search(
            rf'<span class="st s-\w+"><i aria-hidden="true">.</i>{word}</span>', html
        ), word


def test_digest_shown_is_the_canonical_json_digest() -> None:
    data = model(mixed()).to_dict()
    expected = "sha256:" + hashlib.sha256(canonical(data)).hexdigest()
    assert digest(data) == expected
    assert expected in render_html(data)


@pytest.mark.slow
def test_five_thousand_items_stay_small(tmp_path: Path) -> None:
    data = model(mixed(5000)).to_dict()
    out = tmp_path / "big.html"
    started = time.perf_counter()
    write_html(out, data)
    seconds = time.perf_counter() - started
    size = out.stat().st_size
    json_size = len(json.dumps(data))
    print(f"5000 items: {size / 1e6:.2f} MB HTML ({size / 5000:.0f} bytes/item), "
          f"JSON {json_size / 1e6:.2f} MB, rendered in {seconds:.2f} s")
    assert size < 4_000_000
    assert size < 1.3 * json_size
    html = out.read_text(encoding="utf-8")
    assert html.count('<details class="it') == 5000
    assert "more blocking items" in html  # the banner lists a few, not thousands


# --- a real browser -----------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    records = mixed(24) + hostile_model().results
    write_html(path, model(records).to_dict())
    return path


@pytest.mark.parametrize("width", [1280, 390])
def test_chromium_renders_the_report(
    browser: Any, rendered: Path, tmp_path: Path, width: int
) -> None:
    png = browser.screenshot(rendered, tmp_path / f"report-{width}.png", width, 1400)
    assert _png_size(png) == (width, 1400)
    assert png.stat().st_size > 20_000  # a blank page is a few kB
    dom = browser.dom(rendered, width)
    assert "✗ NO-GO" in dom
    # The counter says how many lines the page shows, before any filter is touched.
    shown = re.search(r'id="shown"[^>]*>\s*(\d+) lines<', dom)
    assert shown is not None
    assert int(shown.group(1)) == dom.count('<details class="it ') > 0
    # no injected script became an element
    assert dom.count("<script") == 1
    assert "<img src=\"x\"" not in dom and "<img src=x" not in dom


def test_chromium_search_and_filter_script(browser: Any, rendered: Path, tmp_path: Path) -> None:
    """The filter code runs in a real browser: search hides what does not match."""
    html = rendered.read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(
        html.replace(
            "</body>",
            "<script>var q=document.getElementById('fq');q.value='item 5 ';"
            "q.dispatchEvent(new Event('input'));"
            "setTimeout(function(){document.title='shown:'+document.getElementById('shown').textContent;},400);"
            "</script></body>",
        ),
        encoding="utf-8",
    )
    dom = browser.dom(probe)
    assert "<title>shown:1 of 27 lines shown</title>" in dom


def test_chromium_status_and_section_filters(browser: Any, rendered: Path, tmp_path: Path) -> None:
    html = rendered.read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(
        html.replace(
            "</body>",
            "<script>document.querySelector('input[name=status][value=passed]').click();"
            "var a=document.getElementById('shown').textContent;"
            "var s=document.getElementById('fsec');s.value='1';s.dispatchEvent(new "
            "Event('change'));"
            "var hidden=[].filter.call(document.querySelectorAll('section.sec'),function(e){return "
            "e.hidden;}).length;"
            "document.title='r:'+a+'|'+document.getElementById('shown').textContent+'|'+hidden;"
            "</script></body>",
        ),
        encoding="utf-8",
    )
    dom = browser.dom(probe)
    # 27 lines (one target each) of which 3 passed; section 1 ("Security") holds 6, none passed
    assert "<title>r:24 of 27 lines shown|6 of 27 lines shown|3</title>" in dom


def test_an_empty_run_renders_as_no_go() -> None:
    data = model([]).to_dict()
    html = render_html(data)
    assert "✗ NO-GO" in html and "nothing was checked" in html
    assert "nothing was checked" in render_markdown(data)


def test_chromium_prints_the_report_to_pdf(browser: Any, rendered: Path, tmp_path: Path) -> None:
    """An approver may print it to PDF: every item is expanded for printing."""
    collapsed = tmp_path / "collapsed.html"
    collapsed.write_text(rendered.read_text(encoding="utf-8").replace(
        'addEventListener("beforeprint"', 'addEventListener("no-beforeprint"'), encoding="utf-8")
    pages = {}
    for page in (rendered, collapsed):
        pdf = tmp_path / (page.stem + ".pdf")
        browser.run_args("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.resolve().as_uri())
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF")
        pages[page] = len(re.findall(rb"/Type\s*/Page\b", data))
    assert pages[rendered] > pages[collapsed] >= 1


def test_ci_pipeline_names_who_triggered_the_run() -> None:
    from pytest_golive.core.results import ci_context

    env = {
        "GITLAB_CI": "true",
        "GITLAB_USER_LOGIN": "alice",
        "CI_JOB_URL": "https://gitlab.example/j/1",
        "CI_COMMIT_REF_NAME": "main",
        "CI_COMMIT_SHA": "0123456789abcdef",
    }
    ci = ci_context(env)
    assert ci == {
        "system": "GitLab CI",
        "actor": "alice",
        "url": "https://gitlab.example/j/1",
        "ref": "main",
        "commit": "0123456789abcdef",
    }
    assert ci_context({"PATH": "/bin"}) is None
    run = model(mixed(4))
    run.provenance["ci"] = ci
    html = render_html(run.to_dict())
    assert "alice via GitLab CI" in html and "0123456789ab" in html
    assert 'href="https://gitlab.example' not in html  # shown, not linked: the file loads nothing


def test_a_waiver_about_to_lapse_is_flagged() -> None:
    soon = {"item": "x", "reason": "r", "owner": "o", "ticket": "", "expires": "2026-11-26"}
    later = {**soon, "expires": "2027-06-01"}
    run = model([result(1, "waived", False, waiver=soon), result(2, "waived", False, waiver=later)])
    html = render_html(run.to_dict())  # the run's date is 2026-11-23
    assert html.count("waiver ends in") == 1 and "waiver ends in 3 days" in html


def test_the_json_report_text_holds_the_same_data_with_one_line_per_result() -> None:
    from pytest_golive.report.json_report import dumps_document

    document = {"environment": "prod", "verdict": {"verdict": "GO", "reasons": []},
                "results": [{"nodeid": "a.md::x[web]", "observed": "é \"q\" \n", "details": {
                    "checks": [{"check": "cpu"}]}}, {"nodeid": "b", "details": {}}],
                "sections": []}
    text = dumps_document(document)
    assert json.loads(text) == document
    assert text.endswith("}\n") and text.startswith("{\n  \"environment\": \"prod\"")
    rows = [line for line in text.splitlines() if line.startswith('    {"details"')]
    assert len(rows) == 2  # each result on a line of its own, keys sorted
    assert json.loads(dumps_document({"results": []})) == {"results": []}
