"""Exit codes of a readiness run: pytest's meanings kept, 0 only for GO.

0 GO, 1 NO-GO (failures), 2 interrupted (including checklist collection
errors), 3 internal error, 4 usage error, 5 nothing collected.
"""

from __future__ import annotations

import pytest

from support.golive_project import FAIL, PASS, GoliveProject, verdict_lines

PASSING = f"# R\n## Infrastructure\n- [ ] CPUs <!-- golive: {PASS} id=cpus -->\n"
FAILING = PASSING + f"- [ ] Lots of CPUs <!-- golive: {FAIL} id=lots -->\n"


def _errors(result: pytest.RunResult) -> list[str]:
    return [line for line in result.errlines if line.strip()]


def test_0_go(golive_project: GoliveProject) -> None:
    golive_project.write(PASSING)
    result = golive_project.run()
    assert result.ret == pytest.ExitCode.OK == 0
    assert verdict_lines(result) == ["GOLIVE prod: GO"]


def test_1_no_go(golive_project: GoliveProject) -> None:
    golive_project.write(FAILING)
    result = golive_project.run()
    assert result.ret == pytest.ExitCode.TESTS_FAILED == 1
    assert verdict_lines(result) == ["GOLIVE prod: NO-GO (1 blocker(s) failing)",
                                     "blocking: infrastructure/lots[local]"]


def test_1_when_x_stops_the_run_and_the_verdict_says_so(golive_project: GoliveProject) -> None:
    golive_project.write(FAILING + f"- [ ] More CPUs <!-- golive: {PASS} id=more -->\n")
    result = golive_project.run("-x")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert golive_project.results()["verdict"]["reasons"] == [
        "run incomplete: stopping after 1 failures", "1 blocker(s) failing",
    ]


def test_1_when_a_test_passes_but_its_teardown_fails(golive_project: GoliveProject) -> None:
    """pytest counts the teardown error; the verdict must not say GO beside exit code 1."""
    golive_project.write(PASSING)
    golive_project.pytester.makepyfile(test_cleanup="""
        import pytest

        @pytest.fixture
        def session_on_target():
            yield
            raise RuntimeError("could not close the session")

        @pytest.mark.security
        def test_with_cleanup(session_on_target):
            pass
    """
    )
    result = golive_project.run()
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert verdict_lines(result) == [
        "GOLIVE prod: NO-GO (1 blocker(s) failing)",
        "blocking: security/test_with_cleanup",
    ]
    records = [r for r in golive_project.results()["results"] if r["kind"] == "test"]
    assert len(records) == 1
    assert (records[0]["status"], records[0]["observed"]) == (
        "error", "teardown failed: RuntimeError: could not close the session")


def test_2_checklist_collection_error(golive_project: GoliveProject) -> None:
    golive_project.write(PASSING + "- [ ] Typo <!-- golive: cpuu min=1 -->\n")
    result = golive_project.run()
    assert result.ret == pytest.ExitCode.INTERRUPTED == 2
    result.stdout.fnmatch_lines(["checklist error: *checklist.md:4*cpuu*"])
    assert verdict_lines(result) == [
        "GOLIVE prod: NO-GO (nothing was checked; 1 checklist error(s))"
    ]


def test_2_interrupted_run_is_never_go(golive_project: GoliveProject) -> None:
    """Every item that ran passed, but the run did not finish: NO-GO, not GO."""
    golive_project.write(PASSING)
    golive_project.pytester.makepyfile(test_zz_last="""
        import pytest

        @pytest.mark.golive
        def test_operator_pressed_ctrl_c():
            raise KeyboardInterrupt
    """)
    result = golive_project.run_subprocess()  # in-process, pytester would re-raise the interrupt
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert verdict_lines(result) == ["GOLIVE prod: NO-GO (run incomplete: interrupted)"]
    assert golive_project.results()["verdict"]["verdict"] == "NO-GO"


def test_3_internal_error(golive_project: GoliveProject) -> None:
    golive_project.write(PASSING)
    golive_project.pytester.makeconftest("""
        def pytest_collection_finish(session):
            raise RuntimeError("a bug in a plugin")
    """)
    result = golive_project.run()
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR == 3
    assert "GOLIVE prod: GO" not in result.stdout.str()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--golive=nowhere",), "unknown environment 'nowhere'"),
        (
            ("--golive=prod", "--golive-today=31.12.2026"),
            "--golive-today: '31.12.2026' is not a date (YYYY-MM-DD)",
        ),
        (
            ("--golive=prod", "--golive-checklist=missing.md"),
            "--golive-checklist: missing.md: file not found",
        ),
    ],
)
def test_4_usage_error_is_one_line(
    golive_project: GoliveProject, args: tuple[str, ...], message: str
) -> None:
    golive_project.write(PASSING)
    result = golive_project.pytester.runpytest("-p", "no:cacheprovider", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR == 4
    errors = _errors(result)
    assert len(errors) == 1, errors
    assert errors[0].startswith("ERROR: ") and message in errors[0]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_4_bad_manual_option(golive_project: GoliveProject) -> None:
    golive_project.write(PASSING)
    result = golive_project.run("--golive-manual=maybe")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--golive-manual: invalid choice: 'maybe'*"])


def test_5_nothing_collected(golive_project: GoliveProject) -> None:
    golive_project.write(PASSING)
    result = golive_project.run("-k", "no-such-item")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED == 5
    assert verdict_lines(result) == ["GOLIVE prod: NO-GO (nothing was checked)"]


def test_without_golive_the_plugin_changes_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="""
        def test_passes():
            assert True
    """)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    assert "GOLIVE" not in result.stdout.str()
    assert "golive readiness" not in result.stdout.str()
