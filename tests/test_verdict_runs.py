"""The go/no-go decision of whole runs: GO, what turns it, clock, overrides, attest, bad files."""

from __future__ import annotations

import re
import sys

import pytest

from support.golive_project import ERROR, FAIL, PASS, GoliveProject, verdict_lines

#: The golive command of the Python running the tests (a fresh venv is not on PATH).
GOLIVE = (sys.executable, "-m", "pytest_golive.tools.cli")

GO_CHECKLIST = f"""\
# Release

## Infrastructure
- [ ] Enough CPUs <!-- golive: {PASS} id=cpus -->
- [ ] A big machine would be nice <!-- golive: {FAIL} id=big-machine severity=warning -->
- [ ] Accepted: the box is small <!-- golive: {FAIL} id=small-box -->
- [ ] Status page not deployed yet <!-- golive: {ERROR} id=status-page severity=warning -->

## Sign-off
- [ ] Technical lead <!-- golive: manual id=tech-lead -->
"""

GO_WAIVERS = """\
[[waiver]]
item = "small-box"
reason = "test hardware"
owner = "ops"
ticket = "OPS-7"
expires = 2026-06-30
"""

GO_ATTESTATIONS = """\
[[attestation]]
item = "tech-lead"
by = "Ada Lead"
at = 2026-06-14T08:00:00Z
ticket = "CHG-42"
"""


def _errors(result: pytest.RunResult) -> list[str]:
    """What pytest wrote to stderr, without blank lines."""
    return [line for line in result.errlines if line.strip()]


@pytest.fixture
def go_project(golive_project: GoliveProject) -> GoliveProject:
    golive_project.write(GO_CHECKLIST, waivers=GO_WAIVERS, attestations=GO_ATTESTATIONS)
    return golive_project


def test_go_with_warnings_waivers_and_attestations(go_project: GoliveProject) -> None:
    result = go_project.run()
    assert result.ret == pytest.ExitCode.OK
    assert verdict_lines(result) == ["GOLIVE prod: GO"]
    assert result.parseoutcomes() == {"passed": 1, "warned": 2, "waived": 1, "attested": 1}
    assert go_project.results()["verdict"] == {"verdict": "GO", "blocking": [], "reasons": []}


def test_strict_turns_failing_warnings_into_blockers(go_project: GoliveProject) -> None:
    result = go_project.run("--golive-strict")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert verdict_lines(result) == [
        "GOLIVE prod: NO-GO (2 blocker(s) failing)",
        "blocking: infrastructure/big-machine[local], infrastructure/status-page[closed]",
    ]
    # the waived blocker stays waived under --golive-strict
    assert go_project.statuses()["infrastructure/small-box[local]"] == ("waived", False)


def test_go_under_xdist(go_project: GoliveProject) -> None:
    result = go_project.run_subprocess("-n", "2")
    assert result.ret == pytest.ExitCode.OK
    assert verdict_lines(result) == ["GOLIVE prod: GO"]
    assert result.parseoutcomes() == {"passed": 1, "warned": 2, "waived": 1, "attested": 1}
    result.stdout.fnmatch_lines(
        [
            "*golive readiness: prod*",
            "section * passed * warning * waived * attested",
            "Infrastructure * 1 * 2 * 1 * ",
            "Sign-off * 1",
        ]
    )


def test_waiver_expiry_follows_the_clock(
    go_project: GoliveProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiver counts through its expiry day, not a day longer; GOLIVE_TODAY sets the clock too."""
    assert go_project.run(today="2026-06-30").ret == pytest.ExitCode.OK
    result = go_project.run(today="2026-07-01")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert verdict_lines(result)[1] == "blocking: infrastructure/small-box[local]"
    result.stdout.fnmatch_lines(["waiver expired on 2026-06-30 (ops: test hardware, OPS-7)"])

    monkeypatch.setenv("GOLIVE_TODAY", "2026-07-01")
    assert go_project.run(today=None).ret == pytest.ExitCode.TESTS_FAILED
    monkeypatch.setenv("GOLIVE_TODAY", "2026-06-20")
    assert go_project.run(today=None).ret == pytest.ExitCode.OK


def test_attestation_validity_per_environment(golive_project: GoliveProject) -> None:
    """attestation_valid_days of the environment: valid on the last day, pending the day after."""
    golive_project.write(
        GO_CHECKLIST.split("## Sign-off")[0].replace(FAIL, PASS).replace(ERROR, PASS)
        + "## Sign-off\n- [ ] Technical lead <!-- golive: manual id=tech-lead -->\n",
        attestations=GO_ATTESTATIONS,
        environments="""
            [environments.staging]
            extends = "prod"
            [environments.staging.settings]
            attestation_valid_days = 7
            """,
    )
    # prod has no validity limit: the attestation counts for ever
    assert golive_project.run(today="2027-06-14").ret == pytest.ExitCode.OK
    # staging: at 2026-06-14 + 7 days = valid until 2026-06-21
    assert golive_project.run(env="staging", today="2026-06-21").ret == pytest.ExitCode.OK
    result = golive_project.run("-rA", env="staging", today="2026-06-22")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert verdict_lines(result) == [
        "GOLIVE staging: NO-GO (1 manual item(s) pending)",
        "blocking: sign-off/tech-lead",
    ]
    result.stdout.fnmatch_lines(
        [
            "PENDING sign-off/tech-lead - attestation by Ada Lead on 2026-06-14 "
            "expired on 2026-06-21; attest again*"
        ]
    )


PENDING_ONLY = f"""\
# Release
## Infrastructure
- [ ] Enough CPUs <!-- golive: {PASS} -->
## Sign-off
- [ ] Security review done
"""


def test_pending_sign_off_blocks_until_attested(golive_project: GoliveProject) -> None:
    golive_project.write(PENDING_ONLY, attestations="")
    result = golive_project.run("--color=yes")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert result.parseoutcomes() == {"passed": 1, "pending": 1}
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in result.outlines]
    assert "GOLIVE prod: NO-GO (1 manual item(s) pending)" in plain
    # without -r, pending sign-offs are counted and one command signs them all
    assert "PENDING 1 sign-off (Sign-off 1); sign them with:" in plain
    assert "  golive attest sign-off/security-review-done --by NAME --ticket TICKET" in plain
    # pytest's own summary line is red: the run failed, though nothing 'failed'
    assert result.outlines[-1].startswith("\x1b[31m")

    warn = golive_project.run("--golive-manual=warn")
    assert warn.ret == pytest.ExitCode.OK
    assert verdict_lines(warn) == ["GOLIVE prod: GO"]
    assert warn.parseoutcomes() == {"passed": 1, "pending": 1}

    attest = golive_project.pytester.run(
        *GOLIVE, "attest", "sign-off/security-review-done", "--by", "Sam Sec", "--ticket", "SEC-1",
        "--evidence", "https://example.invalid/sec/1",
    )
    assert attest.ret == 0
    text = (golive_project.pytester.path / "attestations.toml").read_text(encoding="utf-8")
    assert 'item = "sign-off/security-review-done"' in text
    assert 'by = "Sam Sec"' in text

    after = golive_project.run("-rA", today=None)
    assert after.ret == pytest.ExitCode.OK
    assert verdict_lines(after) == ["GOLIVE prod: GO"]
    after.stdout.fnmatch_lines(
        ["ATTESTED sign-off/security-review-done - attested by Sam Sec on * (SEC-1)"]
    )
    record = golive_project.results()["results"][-1]
    assert record["attestation"]["evidence"] == "https://example.invalid/sec/1"


def test_attest_writes_to_the_configured_yaml_file(golive_project: GoliveProject) -> None:
    golive_project.write(PENDING_ONLY)
    config = golive_project.pytester.path / "golive.toml"
    config.write_text(config.read_text().replace('"attestations.toml"', '"signoffs.yaml"'))
    result = golive_project.pytester.run(
        *GOLIVE, "attest", "security-review-done", "--by", "Zoë Ünal", "--env", "prod")
    assert result.ret == 0
    assert (golive_project.pytester.path / "signoffs.yaml").is_file()
    after = golive_project.run("-rA", today=None)
    assert after.ret == pytest.ExitCode.OK
    after.stdout.fnmatch_lines(
        ["ATTESTED sign-off/security-review-done - attested by Zoë Ünal on *"]
    )


def test_attest_without_a_configured_file_is_one_line(golive_project: GoliveProject) -> None:
    golive_project.write(PENDING_ONLY)
    config = golive_project.pytester.path / "golive.toml"
    config.write_text(config.read_text().replace('attestations = "attestations.toml"\n', ""))
    result = golive_project.pytester.run(*GOLIVE, "attest", "sign-off/security-review-done",
                                         "--by", "me")
    assert result.ret == 2
    assert result.errlines == [
        f"golive attest: {config} names no attestation file "
        '(set attestations = "attestations.toml" or pass --file PATH)'
    ]


SEVERITY_CHECKLIST = f"""\
# Release
## Performance
- [ ] Big machine <!-- golive: {FAIL} id=big-machine -->
- [ ] Optional extra <!-- golive: {FAIL} id=extra severity=warning -->
"""


def test_severity_override_per_environment(golive_project: GoliveProject) -> None:
    """The same line blocks in prod and only warns in staging, and the other way round."""
    golive_project.write(SEVERITY_CHECKLIST, environments="""
        [environments.staging]
        extends = "prod"
        [environments.staging.severity]
        "performance/big-machine" = "warning"
        "extra" = "blocker"
        """)
    prod = golive_project.run()
    assert golive_project.statuses() == {
        "performance/big-machine[local]": ("failed", True),
        "performance/extra[local]": ("failed", False),
    }
    assert verdict_lines(prod)[1] == "blocking: performance/big-machine[local]"
    staging = golive_project.run(env="staging")
    assert golive_project.statuses() == {
        "performance/big-machine[local]": ("failed", False),
        "performance/extra[local]": ("failed", True),
    }
    assert verdict_lines(staging)[1] == "blocking: performance/extra[local]"
    assert {r["id"]: r["severity"] for r in golive_project.results()["results"]} == {
        "performance/big-machine": "warning", "performance/extra": "blocker",
    }


def test_marker_severity_on_a_python_test(golive_project: GoliveProject) -> None:
    golive_project.write(f"# R\n## Infrastructure\n- [ ] CPUs <!-- golive: {PASS} -->\n")
    golive_project.pytester.makepyfile(test_custom="""
        import pytest

        @pytest.mark.security(severity="warning")
        def test_headers_hardened():
            assert "server: nginx/1.2" == "server: nginx", "server header shows the version"

        @pytest.mark.security(id="tls-only")
        def test_plain_http_closed():
            assert False, "port 80 answers"
    """)
    result = golive_project.run("-rA")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert {r["id"]: (r["status"], r["blocking"], r["severity"])
            for r in golive_project.results()["results"]} == {
        "infrastructure/cpus": ("passed", False, "blocker"),
        "security/test_headers_hardened": ("failed", False, "warning"),
        "security/tls-only": ("failed", True, "blocker"),
    }
    assert verdict_lines(result) == [
        "GOLIVE prod: NO-GO (1 blocker(s) failing)",
        "blocking: security/tls-only",
    ]
    result.stdout.fnmatch_lines(
        [
            "WARN test_custom.py::test_headers_hardened - severity warning, does not block "
            "the release: *server header shows the version*"
        ]
    )


def test_misspelt_marker_severity_is_a_usage_error(golive_project: GoliveProject) -> None:
    golive_project.write(f"# R\n## Infrastructure\n- [ ] CPUs <!-- golive: {PASS} -->\n")
    golive_project.pytester.makepyfile(test_custom="""
        import pytest

        @pytest.mark.security(severity="warn")
        def test_x():
            assert False
    """)
    result = golive_project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert _errors(result) == [
        "ERROR: test_custom.py::test_x: @pytest.mark.security(severity=...): "
        "severity must be blocker or warning, not 'warn'"
    ]
    assert "Traceback" not in result.stdout.str()


def test_waiver_without_expiry_is_refused(golive_project: GoliveProject) -> None:
    golive_project.write(f"# R\n## Infrastructure\n- [ ] Big <!-- golive: {FAIL} id=big -->\n",
                         waivers='[[waiver]]\nitem = "big"\nreason = "r"\nowner = "o"\n')
    result = golive_project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    waivers = golive_project.pytester.path / "waivers.toml"
    assert _errors(result) == [
        f"ERROR: {waivers}: waiver[0]: waiver for 'big' has no 'expires' date (every waiver must "
        "end; "
        "set settings.allow_waivers_without_expiry = true to allow it)"
    ]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_waiver_without_expiry_when_the_config_allows_it(golive_project: GoliveProject) -> None:
    golive_project.write(
        f"# R\n## Infrastructure\n- [ ] Big <!-- golive: {FAIL} id=big -->\n",
        waivers='[[waiver]]\nitem = "big"\nreason = "r"\nowner = "o"\n',
        settings="allow_waivers_without_expiry = true",
    )
    result = golive_project.run("-rA")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["WAIVED infrastructure/big[[]local[]] - waived until further notice by o: r"]
    )


@pytest.mark.parametrize(
    ("waivers", "message"),
    [
        (
            '[[waiver]]\nitem = "big"\nreason = "r"\nowner = "o"\nexpires = 2026-13-01\n',
            "cannot parse",
        ),
        (
            '[[waiver]]\nitem = "big"\nreason = "r"\nowner = "o"\nexpires = "next week"\n',
            "waiver[0].expires: 'next week' is not a date (YYYY-MM-DD)",
        ),
        (
            '[[waiver]]\nitem = "big"\nreason = "r"\nexpires = 2027-01-01\n',
            "waiver[0]: 'owner' is required",
        ),
        (
            '[[waiver]]\nitem = "big"\nreason = "r"\nowner = "o"\ntarget = ["a", "b"]\nexpires = '
            '2027-01-01\n',
            "waiver[0].target: must be a string, not list",
        ),
        (
            '[[waiver]]\nitem = "big"\nreason = "r"\nowner = "o"\nuntil = 2027-01-01\n',
            "waiver[0].until: unknown key",
        ),
    ],
)
def test_bad_waiver_files_are_one_line(
    golive_project: GoliveProject, waivers: str, message: str
) -> None:
    golive_project.write(
        f"# R\n## Infrastructure\n- [ ] Big <!-- golive: {FAIL} id=big -->\n", waivers=waivers
    )
    result = golive_project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = _errors(result)
    assert len(errors) == 1
    assert errors[0].startswith("ERROR: ")
    assert message in errors[0]


def test_a_waiver_file_that_is_not_utf8_is_one_line(golive_project: GoliveProject) -> None:
    golive_project.write(f"# R\n## Infrastructure\n- [ ] Big <!-- golive: {FAIL} id=big -->\n",
                         waivers="")
    waivers = golive_project.pytester.path / "waivers.toml"
    waivers.write_bytes('[[waiver]]\nitem = "big"\nreason = "caf\xe9"\n'.encode("latin-1"))
    result = golive_project.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    (error,) = _errors(result)
    assert error.endswith("waivers.toml: not UTF-8 text (byte 37): save it as UTF-8"), error


def test_yaml_waivers_and_attestations(golive_project: GoliveProject) -> None:
    golive_project.write(PENDING_ONLY.replace(PASS, FAIL))
    path = golive_project.pytester.path
    (path / "waivers.yaml").write_text(
        "waivers:\n  - item: enough-cpus\n    reason: lab box\n    owner: ops\n    expires: "
        "2026-12-31\n"
    )
    (path / "signoffs.yml").write_text(
        "- item: security-review-done\n  by: Sam Sec\n  at: 2026-06-01T10:00:00Z\n  ticket: SEC-2\n"
    )
    config = path / "golive.toml"
    config.write_text(
        config.read_text()
        .replace('"waivers.toml"', '"waivers.yaml"')
        .replace('"attestations.toml"', '"signoffs.yml"')
    )
    result = golive_project.run()
    assert result.ret == pytest.ExitCode.OK
    assert golive_project.statuses() == {
        "infrastructure/enough-cpus[local]": ("waived", False),
        "sign-off/security-review-done": ("manual-attested", False),
    }


def test_only_skipped_items_is_not_go(golive_project: GoliveProject) -> None:
    """An environment the checklist does not apply to has checked nothing: NO-GO."""
    golive_project.write(
        "# R\n## App\n- [ ] Health <!-- golive: http_status path=/ expect=200 -->\n",
        environments="""
                             [environments.bare.hosts]
                             local = ["local://"]
                             """,
    )
    result = golive_project.run(env="bare")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert verdict_lines(result) == [
        "GOLIVE bare: NO-GO (nothing was checked: all 1 item(s) skipped)"
    ]


def test_a_line_that_is_not_applicable_is_skipped_for_pytest_too(
    golive_project: GoliveProject,
) -> None:
    """pytest's counts, JUnit and -ra agree with the verdict: a line with no target is skipped."""
    golive_project.write(
        f"# R\n## App\n- [ ] Enough CPUs <!-- golive: {PASS} -->\n"
        "- [ ] Database up <!-- golive: db_connect -->\n"
    )
    result = golive_project.run("-rs", "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.OK
    assert result.parseoutcomes() == {"passed": 1, "skipped": 1}
    result.stdout.fnmatch_lines(
        ["SKIPPED [[]1[]] checklist.md:4: not applicable: environment 'prod' has no database*"]
    )
    junit = (golive_project.pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert 'skipped="1"' in junit
    assert golive_project.statuses()["app/database-up[no-database]"] == ("skipped", False)
