"""Custom checks, as a check author writes them: conftest ``@check``s and marked tests.

Each test here reproduces one way a custom check went wrong (issue 20) in a
real pytest run inside pytester, and asserts what the approver sees: the
verdict, the JSON results, the terminal.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.checks.registry import REGISTRY

CONFIG = """\
checklists = ["checklist.md"]
[settings]
check_timeout = {timeout}
command_timeout = 2
[environments.prod.hosts]
local = ["local://"]
"""

BROKEN_CHECK = """\
from pytest_golive import Outcome, check

@check(target="none")
def broken_lookup() -> Outcome:
    \"\"\"A check with a bug: it looks up a key that is not there.\"\"\"
    return Outcome.passed({}["missing"])
"""

CHECKLIST = """\
# Release
## Custom
- [ ] Lookup works <!-- golive: broken_lookup -->
- [ ] Enough CPUs <!-- golive: cpu min=1 -->
"""


def _project(pytester: pytest.Pytester, *, conftest: str = "", checklist: str = CHECKLIST,
             timeout: float = 30, tests: str = "") -> None:
    pytester.makefile(".toml", golive=CONFIG.format(timeout=timeout))
    pytester.makefile(".md", checklist=checklist)
    if conftest:
        pytester.makeconftest(conftest)
    if tests:
        pytester.makepyfile(test_custom=textwrap.dedent(tests))


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    """An in-process run; its result and its JSON report (checks it registered forgotten)."""
    REGISTRY.names()  # the catalog itself is loaded on first use: it must stay
    before = set(REGISTRY._checks)
    report = pytester.path / "results.json"
    if report.exists():
        report.unlink()
    try:
        result = pytester.runpytest("-p", "no:cacheprovider", "--golive=prod",
                                    f"--golive-json={report}", *args)
    finally:
        for name in set(REGISTRY._checks) - before:
            del REGISTRY._checks[name]
    return result, json.loads(report.read_text(encoding="utf-8"))


def _by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in data["results"]}


# --- finding 1: --golive-traceback never changes the verdict ------------------------------


@pytest.mark.parametrize("flag", [(), ("--golive-traceback",)], ids=["plain", "traceback"])
def test_a_check_that_raises_is_an_error_with_or_without_traceback(
        pytester: pytest.Pytester, flag: tuple[str, ...]) -> None:
    _project(pytester, conftest=BROKEN_CHECK)
    html = pytester.path / "report.html"
    result, data = _run(pytester, f"--golive-report={html}", *flag)
    item = _by_id(data)["custom/lookup-works"]
    assert (item["status"], item["blocking"]) == ("error", True)
    assert "raised KeyError" in item["observed"]
    assert data["verdict"]["verdict"] == "NO-GO"
    assert data["counts"].get("error") == 1
    assert "GOLIVE prod: NO-GO (1 blocker(s) failing)" in result.stdout.str()
    assert result.ret == 1
    assert "custom/lookup-works" in html.read_text(encoding="utf-8")
    shown = result.stdout.str()
    if flag:
        # The traceback is shown (where the check raised), and only shown.
        assert "Traceback (most recent call last)" in shown
        assert 'return Outcome.passed({}["missing"])' in shown
        assert "traceback" in item["details"]
    else:
        assert "Traceback (most recent call last)" not in shown
        assert "--golive-traceback" in item["observed"]


# --- findings 3, 5, 6, 7: marked tests ------------------------------------------------------

TESTS = """\
import time

import pytest


@pytest.mark.security
def test_sleeps_forever():
    time.sleep(600)


@pytest.mark.security
def test_raises_key_error():
    return {}["missing"]


@pytest.mark.security
def test_no_null_emails(golive_evidence):
    nulls = 2
    golive_evidence.expected("no user without an email")
    assert nulls == 0, f"{nulls} users without an email"


@pytest.mark.security
def test_says_what_it_saw(golive_evidence):
    golive_evidence.observed("TLS 1.3 only")
    golive_evidence.expected("TLS >= 1.2")


@pytest.mark.security
def test_facts(golive_evidence):
    golive_evidence.fact("shell", True, "/bin/bash", "a login shell")
    golive_evidence.fact("uid", False, 0, "not 0")


def test_plain_unit_test():
    assert 1 + 1 == 3


@pytest.mark.security
def test_command_times_out(golive_host):
    golive_host.run("sleep 30")
"""


@pytest.fixture
def custom_project(pytester: pytest.Pytester) -> pytest.Pytester:
    _project(pytester, checklist="# Release\n## Hardware\n- [ ] CPUs <!-- golive: cpu min=1 -->\n",
             timeout=3, tests=TESTS)
    return pytester


def _check_custom_results(result: pytest.RunResult, data: dict[str, Any]) -> None:
    items = _by_id(data)
    # finding 3: the sleeping test is bounded by check_timeout and is an error
    slow = items["security/test_sleeps_forever"]
    assert (slow["status"], slow["blocking"]) == ("error", True)
    assert "did not finish within 3s (settings.check_timeout)" in slow["observed"]
    # finding 7: an exception is an error, not a failure
    assert items["security/test_raises_key_error"]["status"] == "error"
    assert "KeyError" in items["security/test_raises_key_error"]["observed"]
    # finding 7: a command that timed out is an error, one line, no plugin frames
    timed_out = items["security/test_command_times_out"]
    assert timed_out["status"] == "error", timed_out
    # finding 6: evidence for failing and passing tests
    nulls = items["security/test_no_null_emails"]
    assert nulls["status"] == "failed"
    assert nulls["observed"] == "2 users without an email"
    assert nulls["expected"] == "no user without an email"
    assert "assert 2 == 0" in nulls["details"]["assertion"]
    saw = items["security/test_says_what_it_saw"]
    assert (saw["status"], saw["observed"], saw["expected"]) == (
        "passed",
        "TLS 1.3 only",
        "TLS >= 1.2",
    )
    facts = items["security/test_facts"]
    assert facts["status"] == "failed"
    assert facts["observed"] == "uid: 0" and facts["expected"] == "uid: not 0"
    # finding 5: the unmarked unit test is not part of the checklist
    assert not any("plain_unit_test" in r["nodeid"] for r in data["results"])
    assert data["verdict"]["verdict"] == "NO-GO"
    out = result.stdout.str()
    assert "src/pytest_golive/" not in out and "bounded.py" not in out  # no plugin frames
    assert result.ret == 1


def test_custom_tests_are_bounded_honest_and_have_evidence(custom_project: pytest.Pytester) -> None:
    result, data = _run(custom_project, "-rA")
    _check_custom_results(result, data)
    result.stdout.fnmatch_lines(["*1 deselected*"])
    assert "golive: 1 test(s) deselected: not checklist lines" in result.stdout.str()


def test_custom_tests_are_bounded_under_xdist(custom_project: pytest.Pytester) -> None:
    report = custom_project.path / "results.json"
    result = custom_project.runpytest_subprocess(
        "-p", "no:cacheprovider", "--golive=prod", f"--golive-json={report}", "-n", "2",
        timeout=240)
    _check_custom_results(result, json.loads(report.read_text(encoding="utf-8")))
    assert "golive: 1 test(s) deselected: not checklist lines" in result.stdout.str()


# --- finding 2: nothing a check leaves running keeps pytest alive ---------------------------

HANGING_CHECKS = """\
import time

from pytest_golive import Outcome, check


@check(target="none")
def hangs_alone() -> Outcome:
    \"\"\"Never returns.\"\"\"
    time.sleep(600)
    return Outcome.passed("woke up")


@check(target="host")
def hangs_on_host(host) -> Outcome:
    \"\"\"Asks the host once, then never returns (in rounds: never hands control back).\"\"\"
    host.run("true")
    time.sleep(600)
    return Outcome.passed("woke up")
"""

HANGING_CHECKLIST = """\
# Release
## Custom
- [ ] Alone <!-- golive: hangs_alone -->
- [ ] On the host <!-- golive: hangs_on_host -->
- [ ] Enough CPUs <!-- golive: cpu min=1 -->
"""


@pytest.mark.parametrize(
    "args",
    [(), ("--golive-no-prefetch",), ("-n", "2")],
    ids=["ahead-in-rounds", "one-by-one", "xdist"],
)
def test_a_hanging_check_does_not_keep_pytest_alive(
    pytester: pytest.Pytester, args: tuple[str, ...]
) -> None:
    _project(pytester, conftest=HANGING_CHECKS, checklist=HANGING_CHECKLIST, timeout=2, tests=TESTS)
    report = pytester.path / "results.json"
    # A liveness bound, not a speed one: before the fix the process never exited.
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--golive=prod", f"--golive-json={report}", *args, timeout=180
    )
    assert result.ret == 1
    items = _by_id(json.loads(report.read_text(encoding="utf-8")))
    for item_id, what in (
        ("custom/alone", "check hangs_alone"),
        ("custom/on-the-host", "check hangs_on_host on local"),
    ):
        assert items[item_id]["status"] == "error"
        assert (
            f"{what} did not finish within 2s (settings.check_timeout)"
            in items[item_id]["observed"]
        )
    assert items["custom/enough-cpus"]["status"] == "passed"
    assert items["security/test_sleeps_forever"]["status"] == "error"


# --- finding 4: golive_endpoint verifies with the endpoint's own CA bundle ----------------


@pytest.mark.real_systems
def test_endpoint_fixture_uses_its_ca_bundle_whatever_the_environment_says(
        pytester: pytest.Pytester, https_lab: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import certifi

    app = https_lab.server("app")
    self_signed = https_lab.server("tls:self_signed")
    # As on many CI images: a bundle that does not hold the lab's CA wins unless told otherwise.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    pytester.makefile(".toml", golive=f"""\
        checklists = []
        [environments.prod.endpoints.api]
        url = "{app.url}"
        ca_bundle = "{https_lab.ca_bundle}"
        [environments.prod.endpoints.lab]
        url = "{self_signed.url}"
        verify = false
        """)
    pytester.makepyfile(test_api="""
        import pytest

        @pytest.mark.security
        def test_health(golive_endpoint):
            assert golive_endpoint.get("/").status_code == 200
        """)
    result, data = _run(pytester)
    statuses = {r["nodeid"]: r["status"] for r in data["results"]}
    assert statuses == {"test_api.py::test_health[api]": "passed",
                        "test_api.py::test_health[lab]": "passed"}, data["results"]
    assert result.ret == 0


# --- finding 8: a catalog check from a test -------------------------------------------------

REUSE_TESTS = """\
import pytest
import pytest_golive


@pytest.mark.infrastructure
def test_cpus_by_fixture(golive_host):
    pytest_golive.run_check("cpu", golive_host, min=1)


@pytest.mark.infrastructure
def test_cpus_by_name():
    pytest_golive.run_check("cpu", "local", min=1)


@pytest.mark.infrastructure
def test_cpus_by_handle(golive_target):
    pytest_golive.run_check("cpu", golive_target("local"), min=1)


@pytest.mark.infrastructure
def test_returns_a_failed_outcome(golive_host):
    return pytest_golive.run_check("cpu", golive_host, min=100000)


@pytest.mark.infrastructure
def test_bad_parameter(golive_host):
    pytest_golive.run_check("cpu", golive_host, min="many")


@pytest.mark.infrastructure
def test_wrong_kind(golive_host):
    pytest_golive.run_check("http_status", golive_host, path="/health")
"""


def test_a_test_runs_a_catalog_check_with_its_evidence(pytester: pytest.Pytester) -> None:
    _project(pytester, checklist="# Release\n", tests=REUSE_TESTS)
    result, data = _run(pytester)
    items = {r["nodeid"].split("::")[1]: r for r in data["results"]}
    for name in ("test_cpus_by_fixture[local]", "test_cpus_by_name", "test_cpus_by_handle"):
        assert items[name]["status"] == "passed", items[name]
        assert "CPU" in items[name]["observed"] or "cpu" in items[name]["observed"].lower()
        assert items[name]["expected"], items[name]
    failed = items["test_returns_a_failed_outcome[local]"]
    assert failed["status"] == "failed" and failed["blocking"]
    assert "100000" in failed["expected"]
    bad = items["test_bad_parameter[local]"]
    assert bad["status"] == "error" and "parameter 'min'" in bad["observed"]
    wrong = items["test_wrong_kind[local]"]
    assert wrong["status"] == "error"
    assert "runs on endpoint targets; 'local' is a host" in wrong["observed"]
    assert result.ret == 1
    assert "PytestReturnNotNoneWarning" not in result.stdout.str()


# --- finding 10: secrets a test prints, derives or reads itself ----------------------------

LEAKY_TESTS = """\
import base64
import os

import pytest
import pytest_golive


@pytest.mark.security
def test_prints_what_it_should_not(golive_evidence):
    token = os.environ["GOLIVE_TEST_API_TOKEN"]            # listed in settings.secret_env
    mine = pytest_golive.secret("locally-made-" + "c0ffee-credential")
    print("token", token, token.upper(), token.lower())
    print("basic", base64.b64encode(f"svc:{token}".encode()).decode())
    print("b64", base64.b64encode(token.encode()).decode())
    print("mine", mine, base64.b64encode(f"admin:{mine}".encode()).decode())
    golive_evidence.observed(f"token {token}")
    assert False, f"saw {token} and {mine}"
"""

PLANTED = "Zq8-rT41-secret-Wm"


@pytest.mark.parametrize("capture", ["-s", "--capture=tee-sys"])
def test_secrets_are_masked_with_s_and_tee_sys(pytester: pytest.Pytester, capture: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from support.leaks import assert_no_leak

    monkeypatch.setenv("GOLIVE_TEST_API_TOKEN", PLANTED)
    pytester.makefile(".toml", golive="""\
        checklists = []
        [settings]
        secret_env = ["GOLIVE_TEST_API_TOKEN"]
        [environments.prod.hosts]
        local = ["local://"]
        """)
    pytester.makepyfile(test_leaky=LEAKY_TESTS)
    html, junit = pytester.path / "report.html", pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--golive=prod", capture, "-rA",
        f"--golive-json={pytester.path / 'results.json'}", f"--golive-report={html}",
        f"--junitxml={junit}", timeout=120)
    assert result.ret == 1
    out = result.stdout.str() + result.stderr.str()
    assert "token *****" in out and "basic " in out  # it printed, masked
    assert_no_leak([PLANTED, "locally-made-c0ffee-credential"], out,
                   pytester.path / "results.json", html, junit)


# --- docs/custom-checks.md, tried as written --------------------------------------------------

DOC = Path(__file__).parent.parent / "docs" / "custom-checks.md"


def _doc_example(name: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return next(b for b in blocks if f"def {name}(" in b)


@pytest.mark.real_systems
def test_the_custom_checks_of_the_docs_show_their_evidence(pytester: pytest.Pytester,
                                                           https_lab: Any) -> None:
    app = https_lab.server("app")
    pytester.makefile(".toml", golive=f"""\
        checklists = []
        [environments.prod.hosts]
        web = ["local://"]
        [environments.prod.endpoints.api]
        url = "{app.url}"
        ca_bundle = "{https_lab.ca_bundle}"
        """)
    source = "\n\n".join(["import pytest\nimport pytest_golive\n",
                          _doc_example("test_wsdl_is_served"),
                          _doc_example("test_service_account"),
                          _doc_example("test_health_after_login")])
    pytester.makepyfile(test_from_docs=source)
    html = pytester.path / "report.html"
    result, data = _run(pytester, f"--golive-report={html}")
    items = {r["nodeid"].split("::")[1].split("[")[0]: r for r in data["results"]}
    assert set(items) == {"test_wsdl_is_served", "test_service_account", "test_health_after_login",
                          "test_warehouse_host_has_cpus"}
    unknown = items["test_warehouse_host_has_cpus"]  # the docs' target is not in this project
    assert unknown["status"] == "error" and "no target 'warehouse-host'" in unknown["observed"]
    wsdl = items["test_wsdl_is_served"]  # the lab serves no WSDL: a failure with its evidence
    assert wsdl["status"] == "failed" and wsdl["observed"].startswith("HTTP 404")
    assert wsdl["expected"] == "HTTP 200 with a <wsdl:definitions> document"
    account = items["test_service_account"]  # no user 'app' here
    assert account["status"] == "failed" and "exists: missing" in account["observed"]
    health = items["test_health_after_login"]
    assert health["status"] == "passed" and "200" in health["observed"], health
    page = html.read_text(encoding="utf-8")
    assert "HTTP 404" in page and "exists: missing" in page
    result.stdout.fnmatch_lines(["*FAILED*test_wsdl_is_served*observed HTTP 404*"])


def test_a_target_that_cannot_be_reached_is_one_line_not_a_chain(
    pytester: pytest.Pytester, closed_port: int
) -> None:
    """A fixture's connection error reads once, without a second 'During handling' copy and
    without pytest's 'Failed:' prefix in the evidence."""
    pytester.makefile(".toml", golive=f"""\
        checklists = []
        [environments.prod.databases.main]
        dsn = "mysql://app@127.0.0.1:{closed_port}/app"
        connect_timeout = 3
        """)
    pytester.makepyfile(test_db="""
        import pytest

        @pytest.mark.database
        def test_rows(golive_db):
            golive_db.cursor()
        """)
    result, data = _run(pytester)
    out = result.stdout.str()
    assert "During handling of the above exception" not in out
    (rows,) = data["results"]
    assert rows["status"] == "error"
    assert rows["observed"].startswith(f"setup failed: database main (127.0.0.1:{closed_port})")


def test_a_test_that_does_not_apply_is_skipped_at_its_own_line(pytester: pytest.Pytester) -> None:
    """-rs names the test, not the plugin frame that skipped it."""
    pytester.makefile(".toml", golive=CONFIG.format(timeout=30).replace(
        '["checklist.md"]', "[]"))
    pytester.makepyfile(test_na="""
        import pytest
        from pytest_golive import Outcome

        @pytest.mark.infrastructure
        def test_returns_not_applicable(golive_host):
            return Outcome.not_applicable("no widgets here")

        @pytest.mark.database
        def test_needs_a_database(golive_db):
            pass
        """)
    result, data = _run(pytester, "-rs")
    skipped = [line for line in result.outlines if line.startswith("SKIPPED")]
    assert len(skipped) == 2, result.outlines
    assert all(line.split()[2].startswith("test_na.py:") for line in skipped), skipped
    assert "not applicable: no widgets here" in " ".join(skipped)
    assert {r["status"] for r in data["results"]} == {"skipped"}


def test_a_failure_that_names_a_secret_keeps_its_short_summary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Masking keeps pytest's crash line: the short summary says the failure, not (under CI)
    the whole traceback again."""
    monkeypatch.setenv("CI", "true")
    pytester.makefile(".toml", golive=CONFIG.format(timeout=30).replace(
        '["checklist.md"]', "[]"))
    pytester.makepyfile(test_s="""
        import pytest
        import pytest_golive

        @pytest.mark.security
        def test_token():
            token = pytest_golive.secret("Tok3n-Value-55aa")
            assert token == "nope", f"token {token} rejected"
        """)
    result, _ = _run(pytester, "-rf")
    out = result.stdout.str()
    assert "Tok3n-Value-55aa" not in out
    summary = out[out.index("short test summary info"):]
    assert "FAILED test_s.py::test_token - AssertionError: token ***** rejected" in summary
    assert "def test_token" not in summary


def test_run_check_on_a_group_says_how_to_run_it_on_each(pytester: pytest.Pytester) -> None:
    # a group is several targets; one outcome cannot stand for them all
    pytester.makefile(".toml", golive="""\
        checklists = []
        [environments.prod.hosts]
        app = [{url = "local://", name = "one"}, {url = "local://", name = "two"}]
        """)
    pytester.makepyfile(test_group="""
        import pytest
        import pytest_golive

        @pytest.mark.infrastructure
        def test_cpus_of_a_group():
            pytest_golive.run_check("cpu", "app", min=1)
        """)
    result, data = _run(pytester)
    (item,) = data["results"]
    assert item["status"] == "error", item
    assert "'app' is a group of 2 target(s) (one, two)" in item["observed"]
    assert "on='app'" in item["observed"]
    assert result.ret == 1
