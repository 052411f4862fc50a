"""Every combination, end to end: severity x outcome x waiver, manual items, marker severity.

One checklist holds the whole matrix; it is run serially with each option
(default, ``--golive-strict``, ``--golive-manual=warn``) and under
``-n 2``, and every item's status and blocking flag is compared with the
table below, written out by hand rather than computed.
"""

from __future__ import annotations

import pytest

from support.golive_project import ERROR, FAIL, MISSING_FILE, PASS, GoliveProject, verdict_lines

CHECKLIST = f"""\
# Matrix

## Checks
- [ ] blocker pass <!-- golive: {PASS} id=blocker-pass -->
- [ ] blocker pass with a waiver <!-- golive: {PASS} id=blocker-pass-waived -->
- [ ] blocker fail <!-- golive: {FAIL} id=blocker-fail -->
- [ ] blocker fail, valid waiver <!-- golive: {FAIL} id=blocker-fail-valid -->
- [ ] blocker fail, expired waiver <!-- golive: {FAIL} id=blocker-fail-expired -->
- [ ] blocker error <!-- golive: {ERROR} id=blocker-error -->
- [ ] blocker error, valid waiver <!-- golive: {ERROR} id=blocker-error-valid -->
- [ ] blocker error, expired waiver <!-- golive: {ERROR} id=blocker-error-expired -->
- [ ] warning pass <!-- golive: {PASS} id=warning-pass severity=warning -->
- [ ] warning fail <!-- golive: {FAIL} id=warning-fail severity=warning -->
- [ ] warning fail, valid waiver <!-- golive: {FAIL} id=warning-fail-valid severity=warning -->
- [ ] warning fail, expired waiver <!-- golive: {FAIL} id=warning-fail-expired severity=warning -->
- [ ] warning error <!-- golive: {ERROR} id=warning-error severity=warning -->
- [ ] warning error, valid waiver <!-- golive: {ERROR} id=warning-error-valid severity=warning -->
- [ ] warning error, expired waiver <!-- golive: {ERROR} id=warning-error-expired severity=warning -->
- [ ] missing config file <!-- golive: {MISSING_FILE} id=file-missing -->
- [ ] renewed waiver: an expired record first, a valid one after <!-- golive: {FAIL} id=renewed -->
- [ ] waiver for another target only <!-- golive: {FAIL} id=other-target -->

## Sign-off
- [ ] Technical lead signed <!-- golive: manual id=attested -->
- [ ] Security signed long ago <!-- golive: manual id=attestation-expired -->
- [ ] Business owner signed, explicit expiry passed <!-- golive: manual id=attestation-expires-field -->
- [ ] Runbook reviewed
- [ ] Stakeholders notified <!-- golive: manual id=pending-warning severity=warning -->
- [ ] Load test sign-off <!-- golive: manual id=pending-waived -->
"""  # noqa: E501 - checklist lines, verbatim

WAIVERS = """\
[[waiver]]
item = "blocker-pass-waived"
reason = "was failing last month"
owner = "ops"
expires = 2026-12-31

[[waiver]]
item = "checks/blocker-fail-valid"
target = "local"
reason = "small test box"
owner = "ops"
ticket = "OPS-1"
expires = 2026-12-31

[[waiver]]
item = "blocker-fail-expired"
reason = "was accepted until spring"
owner = "ops"
ticket = "OPS-2"
expires = 2026-03-01

[[waiver]]
item = "blocker-error-valid"
reason = "endpoint not deployed yet"
owner = "web"
expires = 2026-07-01

[[waiver]]
item = "blocker-error-expired"
reason = "old"
owner = "web"
expires = 2026-06-14

[[waiver]]
item = "warning-fail-valid"
reason = "known"
owner = "ops"
expires = 2026-06-15

[[waiver]]
item = "warning-fail-expired"
reason = "old"
owner = "ops"
expires = 2025-01-01

[[waiver]]
item = "warning-error-valid"
reason = "known"
owner = "web"
expires = 2027-01-01

[[waiver]]
item = "warning-error-expired"
reason = "old"
owner = "web"
expires = 2025-01-01

[[waiver]]
item = "renewed"
reason = "first acceptance"
owner = "ops"
expires = 2026-01-31

[[waiver]]
item = "renewed"
reason = "renewed acceptance"
owner = "ops"
ticket = "OPS-9"
expires = 2026-09-30

[[waiver]]
item = "other-target"
target = "db-*"
reason = "only for the database hosts"
owner = "ops"
expires = 2026-12-31

[[waiver]]
item = "pending-waived"
reason = "load test moved to next release"
owner = "qa"
expires = 2026-07-15

[[waiver]]
item = "security/test_waived_python"
reason = "vendor fix pending"
owner = "sec"
expires = 2026-08-01

[[waiver]]
item = "no-such-item"
reason = "left over"
owner = "ops"
expires = 2026-12-31
"""

ATTESTATIONS = """\
[[attestation]]
item = "sign-off/attested"
by = "Ada Lead"
at = 2026-06-01T09:00:00Z
ticket = "CHG-1"
evidence = "https://example.invalid/chg/1"

[[attestation]]
item = "attestation-expired"
by = "Sam Sec"
at = 2026-04-01T09:00:00Z

[[attestation]]
item = "attestation-expires-field"
by = "Bo Owner"
at = 2026-06-10T09:00:00Z
expires = 2026-06-12
"""

PYTHON_TESTS = """\
import pytest


@pytest.mark.security(severity="warning")
def test_marker_warning():
    assert 1 == 2, "observed 1, expected 2"


@pytest.mark.security
def test_marker_blocker():
    assert True


@pytest.mark.security
def test_waived_python():
    assert False, "vendor library has a known CVE"
"""

SETTINGS = "attestation_valid_days = 30"

# item -> (status, blocking) by default, under --golive-strict, under --golive-manual=warn
DEFAULT, STRICT, MANUAL_WARN = 0, 1, 2
EXPECTED: dict[str, tuple[tuple[str, bool], tuple[str, bool], tuple[str, bool]]] = {
    "checks/blocker-pass[local]": (("passed", False),) * 3,
    "checks/blocker-pass-waived[local]": (("passed", False),) * 3,
    "checks/blocker-fail[local]": (("failed", True),) * 3,
    "checks/blocker-fail-valid[local]": (("waived", False),) * 3,
    "checks/blocker-fail-expired[local]": (("failed", True),) * 3,
    "checks/blocker-error[closed]": (("error", True),) * 3,
    "checks/blocker-error-valid[closed]": (("waived", False),) * 3,
    "checks/blocker-error-expired[closed]": (("error", True),) * 3,
    "checks/warning-pass[local]": (("passed", False),) * 3,
    "checks/warning-fail[local]": (("failed", False), ("failed", True), ("failed", False)),
    "checks/warning-fail-valid[local]": (("waived", False),) * 3,
    "checks/warning-fail-expired[local]": (("failed", False), ("failed", True), ("failed", False)),
    "checks/warning-error[closed]": (("error", False), ("error", True), ("error", False)),
    "checks/warning-error-valid[closed]": (("waived", False),) * 3,
    "checks/warning-error-expired[closed]": (("error", False), ("error", True), ("error", False)),
    "checks/file-missing[local]": (("failed", True),) * 3,
    "checks/renewed[local]": (("waived", False),) * 3,
    "checks/other-target[local]": (("failed", True),) * 3,
    "sign-off/attested": (("manual-attested", False),) * 3,
    "sign-off/attestation-expired": (("manual-pending", True),) * 2 + (("manual-pending", False),),
    "sign-off/attestation-expires-field": (("manual-pending", True),) * 2
    + (("manual-pending", False),),
    "sign-off/runbook-reviewed": (("manual-pending", True),) * 2 + (("manual-pending", False),),
    "sign-off/pending-warning": (
        ("manual-pending", False),
        ("manual-pending", True),
        ("manual-pending", False),
    ),
    "sign-off/pending-waived": (("waived", False),) * 3,
    "test_checks.py::test_marker_warning": (("failed", False), ("failed", True), ("failed", False)),
    "test_checks.py::test_marker_blocker": (("passed", False),) * 3,
    "test_checks.py::test_waived_python": (("waived", False),) * 3,
}


@pytest.fixture
def matrix(golive_project: GoliveProject) -> GoliveProject:
    golive_project.write(CHECKLIST, waivers=WAIVERS, attestations=ATTESTATIONS, settings=SETTINGS)
    golive_project.pytester.makepyfile(test_checks=PYTHON_TESTS)
    return golive_project


def _expected(column: int) -> dict[str, tuple[str, bool]]:
    return {item: row[column] for item, row in EXPECTED.items()}


def _observed(project: GoliveProject) -> dict[str, tuple[str, bool]]:
    out = {}
    for r in project.results()["results"]:
        tail = r["nodeid"].split("::", 1)[-1]
        key = tail if r["kind"] == "checklist" else r["nodeid"]
        out[key] = (r["status"], r["blocking"])
    return out


def test_default_run(matrix: GoliveProject) -> None:
    """One run, every combination: statuses, counts, reasons, verdict, exit code."""
    result = matrix.run("-rA")
    data = matrix.results()

    # every item's status and whether it blocks
    assert _observed(matrix) == _expected(DEFAULT)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert data["verdict"]["verdict"] == "NO-GO"
    assert data["verdict"]["reasons"] == ["6 blocker(s) failing", "3 manual item(s) pending"]

    # pytest's summary line counts each kind in its own word
    assert result.parseoutcomes() == {
        "passed": 4, "failed": 4, "errors": 2, "warned": 5, "waived": 7,
        "attested": 1, "pending": 4,
    }

    # status letters in the progress lines, in checklist order
    progress = {line.split()[0]: line.split()[1] for line in result.outlines
                if line.startswith(("checklist.md ", "test_checks.py "))}
    assert progress == {"checklist.md": "..FWFEWE.wWwwWwFWFAPPPPW", "test_checks.py": "w.W"}

    # the verdict line names the blocking items in the order an approver reads them:
    # failing and erroring blockers (by section, in checklist order), expired waivers, pending
    lines = verdict_lines(result)
    assert lines[0] == "GOLIVE prod: NO-GO (6 blocker(s) failing; 3 manual item(s) pending)"
    assert lines[1] == (
        "blocking: checks/blocker-fail[local], checks/blocker-error[closed], "
        "checks/file-missing[local], checks/other-target[local], "
        "checks/blocker-fail-expired[local] and 4 more"
    )
    assert [b.split("::", 1)[-1] for b in data["verdict"]["blocking"]] == [
        "checks/blocker-fail[local]", "checks/blocker-error[closed]",
        "checks/file-missing[local]", "checks/other-target[local]",
        "checks/blocker-fail-expired[local]", "checks/blocker-error-expired[closed]",
        "sign-off/attestation-expired", "sign-off/attestation-expires-field",
        "sign-off/runbook-reviewed",
    ]

    # -rA: why each waived, warning, attested and pending item is what it is
    result.stdout.fnmatch_lines_random(
        [
            "WAIVED checks/blocker-fail-valid[[]local[]] - waived until 2026-12-31 by ops: small "
            "test box (OPS-1)",
            "WAIVED checks/renewed[[]local[]] - waived until 2026-09-30 by ops: renewed acceptance "
            "(OPS-9)",
            "WAIVED sign-off/pending-waived - waived until 2026-07-15 by qa: load test moved to "
            "next release",
            "WAIVED test_checks.py::test_waived_python - waived until 2026-08-01 by sec: vendor "
            "fix pending",
            "WARN checks/warning-fail[[]local[]] - severity warning, does not block the release: "
            "observed * vCPU*",
            "WARN checks/warning-fail-expired[[]local[]] - severity warning, does not block the "
            "release: observed *",
            "WARN checks/warning-error[[]closed[]] - severity warning, does not block the release: "
            "could not check: *connection refused*",
            "WARN test_checks.py::test_marker_warning - severity warning, does not block the "
            "release: *observed 1, expected 2*",
            "ATTESTED sign-off/attested - attested by Ada Lead on 2026-06-01 (CHG-1), valid until "
            "2026-07-01",
            "PENDING sign-off/attestation-expired - attestation by Sam Sec on 2026-04-01 expired "
            "on 2026-05-01; attest again*",
            "PENDING sign-off/attestation-expires-field - attestation by Bo Owner on 2026-06-10 "
            "expired on 2026-06-12*",
            "PENDING sign-off/runbook-reviewed - manual item: no attestation yet "
            "(golive attest sign-off/runbook-reviewed --by NAME --ticket TICKET)",
            "PENDING sign-off/pending-warning - manual item: no attestation yet *; "
            "does not block the release (severity warning)",
        ]
    )

    # an expired waiver no longer applies, and is shown with the failure
    result.stdout.fnmatch_lines(
        [
            "*checks/blocker-fail-expired[[]local[]]*",
            "blocker fail, expired waiver  (*checklist.md:*)",
            "target: local",
            "observed * vCPU*",
            "expected >= 9999 vCPUs",
            "waiver expired on 2026-03-01 (ops: was accepted until spring, OPS-2)",
        ]
    )
    record = next(r for r in data["results"] if r["id"] == "checks/blocker-fail-expired")
    assert record["waiver"]["expired"] is True
    assert record["waiver"]["ticket"] == "OPS-2"

    # waivers that match nothing (or only another target) are reported as stale
    assert [w["item"] for w in data["stale_waivers"]] == ["other-target", "no-such-item"]
    result.stdout.fnmatch_lines_random([
        "stale waiver: 'other-target' matched no item (*waivers.toml: waiver[[]11[]]); remove it",
        "stale waiver: 'no-such-item' matched no item (*waivers.toml: waiver[[]14[]]); remove it",
    ])


def test_selection_does_not_make_waivers_stale(matrix: GoliveProject) -> None:
    """-m narrows the run, not the set of items waivers are judged against."""
    result = matrix.run("-m", "sign_off")
    assert [w["item"] for w in matrix.results()["stale_waivers"]] == [
        "other-target",
        "no-such-item",
    ]
    assert verdict_lines(result)[0] == "GOLIVE prod: NO-GO (3 manual item(s) pending)"
    # node ids collect only what they name: no waiver is called stale then
    one = matrix.run("checklist.md::checks/blocker-fail-valid[local]")
    assert one.ret == pytest.ExitCode.OK
    assert matrix.results()["stale_waivers"] == []
    assert "stale waiver" not in one.stdout.str()


def test_strict_makes_every_failing_warning_block(matrix: GoliveProject) -> None:
    result = matrix.run("--golive-strict")
    assert _observed(matrix) == _expected(STRICT)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert matrix.results()["verdict"]["reasons"] == [
        "11 blocker(s) failing",
        "4 manual item(s) pending",
    ]


def test_manual_warn_lets_pending_items_through(matrix: GoliveProject) -> None:
    result = matrix.run("--golive-manual=warn", "-v", "-rA")
    assert _observed(matrix) == _expected(MANUAL_WARN)
    assert matrix.results()["verdict"]["reasons"] == ["6 blocker(s) failing"]
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines_random([
        "PENDING sign-off/runbook-reviewed - manual item: no attestation yet *; "
        "does not block the release (--golive-manual=warn)",
        # each kind has its own word in verbose progress lines
        "*checks/blocker-fail-valid[[]local[]] WAIVED*",
        "*checks/blocker-fail[[]local[]] FAILED*",
        "*checks/blocker-error[[]closed[]] ERROR*",
        "*checks/warning-fail[[]local[]] WARN*",
        "*sign-off/attested ATTESTED*",
        "*sign-off/runbook-reviewed PENDING*",
        "*test_checks.py::test_marker_warning WARN*",
        "*test_checks.py::test_waived_python WAIVED*",
    ])


def test_xdist_gives_the_same_results_and_verdict(matrix: GoliveProject) -> None:
    matrix.run()
    serial = matrix.results()
    result = matrix.run_subprocess("-n", "2")
    parallel = matrix.results()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert _observed(matrix) == _expected(DEFAULT)
    assert parallel["verdict"] == serial["verdict"]
    assert parallel["stale_waivers"] == serial["stale_waivers"]
    assert parallel["counts"] == serial["counts"]
    # The controller's terminal summary has the golive section with every result.
    assert (
        verdict_lines(result)[0]
        == "GOLIVE prod: NO-GO (6 blocker(s) failing; 3 manual item(s) pending)"
    )
    result.stdout.fnmatch_lines_random(
        [
            "*golive readiness: prod*",
            "section * passed * failed * error * warning * waived * pending * attested",
            "Checks * 3 * 4 * 2 * 4 * 5 * ",
            "Sign-off * 1 * 4 * 1",
            "stale waiver: 'no-such-item' matched no item*",
        ]
    )
    assert result.parseoutcomes() == {
        "passed": 4,
        "failed": 4,
        "errors": 2,
        "warned": 5,
        "waived": 7,
        "attested": 1,
        "pending": 4,
    }
