"""Checklist lines become pytest items: ids, markers, selection, errors, and no interference."""

from __future__ import annotations

import pytest

CONFIG = """\
checklists = ["checklist.md"]
[environments.prod]
vars = { min_cpus = 1 }
[environments.prod.hosts]
app = ["local://"]
[environments.prod.endpoints.api]
url = "http://127.0.0.1:9"
timeout = 2
"""

CHECKLIST = """\
# Release
## 🔐 Security Configuration
- [ ] Files in place <!-- golive: file path=/etc/hostname -->
- [ ] Security officer signed
## Hardware
- [ ] Enough CPUs <!-- golive: cpu min=${min_cpus} id=CPU -->
- [ ] Way too many CPUs <!-- golive: cpu min=100000 severity=warning -->
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".toml", golive=CONFIG)
    pytester.makefile(".md", checklist=CHECKLIST)
    return pytester


def test_node_ids_are_section_item_target(project: pytest.Pytester) -> None:
    result = project.runpytest("--golive=prod", "--collect-only", "-q")
    result.stdout.fnmatch_lines([
        "checklist.md::security-configuration/files-in-place[[]local[]]",
        "checklist.md::security-configuration/security-officer-signed",
        "checklist.md::hardware/CPU[[]local[]]",
        "checklist.md::hardware/way-too-many-cpus[[]local[]]",
    ])


def test_run_gives_verdict_and_counts(project: pytest.Pytester) -> None:
    result = project.runpytest("--golive=prod")
    result.stdout.fnmatch_lines([
        "*golive readiness: prod*",
        "*Security Configuration*1*1*",
        "GOLIVE prod: NO-GO (*)",
        "*blocking: security-configuration/security-officer-signed",
    ])
    assert result.ret == 1


def test_section_markers_select(project: pytest.Pytester) -> None:
    result = project.runpytest("--golive=prod", "-m", "security", "--golive-manual=warn")
    assert result.parseoutcomes() == {"passed": 1, "pending": 1, "deselected": 2}
    assert result.ret == 0
    result.stdout.fnmatch_lines(["GOLIVE prod: GO"])
    result = project.runpytest("--golive=prod", "-m", "hardware")
    assert result.parseoutcomes() == {"passed": 1, "warned": 1, "deselected": 2}
    result = project.runpytest("--golive=prod", "-k", "CPU and not way")
    result.assert_outcomes(passed=1)


def test_markers_are_registered(project: pytest.Pytester) -> None:
    result = project.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.security(*golive section*", "@pytest.mark.signoff(*"]
    )
    result = project.runpytest(
        "--golive=prod", "--strict-markers", "-m", "security_configuration", "--co", "-q"
    )
    result.stdout.fnmatch_lines(["*2/4 tests collected*"])


def test_python_tests_with_section_marker_are_items(project: pytest.Pytester) -> None:
    project.makepyfile(test_custom="""
        import pytest

        @pytest.mark.security(id="TMP-STICKY")
        def test_tmp_is_sticky(golive_host):
            '''/tmp has the sticky bit'''
            assert golive_host.file("/tmp").mode & 0o1000

        @pytest.mark.monitoring(severity="warning")
        def test_always_fails(golive_host):
            assert 1 == 2, "observed one, expected two"
    """)
    result = project.runpytest("--golive=prod", "--golive-manual=warn", "-rA", "-k", "test_")
    assert result.parseoutcomes() == {"passed": 1, "warned": 1, "deselected": 4}
    result.stdout.fnmatch_lines(["WARN *test_always_fails*observed one*", "GOLIVE prod: GO"])


def test_failure_is_evidence_not_traceback(project: pytest.Pytester) -> None:
    project.makefile(".md", checklist="## H\n- [ ] Many CPUs <!-- golive: cpu min=100000 -->\n")
    result = project.runpytest("--golive=prod")
    result.stdout.fnmatch_lines(["*observed * vCPUs", "expected >= 100000 vCPUs"])
    assert "Traceback" not in result.stdout.str()
    assert "def runtest" not in result.stdout.str()


def test_unreachable_endpoint_is_one_error_line(project: pytest.Pytester) -> None:
    project.makefile(".md", checklist="## A\n- [ ] up <!-- golive: http_status path=/ -->\n")
    result = project.runpytest("--golive=prod")
    result.stdout.fnmatch_lines(
        ["could not check: endpoint api: GET http://127.0.0.1:9/: connection refused*"]
    )
    assert result.ret == 1


@pytest.mark.parametrize(
    "line, fragments",
    [
        (
            "- [ ] x <!-- golive: cpux min=1 -->",
            ["checklist.md:2: unknown check 'cpux' (did you mean 'cpu'"],
        ),
        (
            "- [ ] x <!-- golive: cpu mn=1 -->",
            ["checklist.md:2: check 'cpu' has no parameter 'mn' (did you mean 'min'?)"],
        ),
        (
            "- [ ] x <!-- golive: cpu min=four -->",
            ["checklist.md:2: check 'cpu' parameter 'min': 'four' is not a whole number"],
        ),
        (
            "- [ ] x <!-- golive: cpu on=wbe -->",
            ["checklist.md:2: no target or group 'wbe' in environment 'prod'"],
        ),
        # An unset ${variable} is not a mistake of the file: the line runs as "not configured"
        # (tests/test_line_runs.py); a misspelt parameter beside it still is one.
        (
            "- [ ] x <!-- golive: cpu mn=${nope} -->",
            ["checklist.md:2: check 'cpu' has no parameter 'mn'*"],
        ),
        ('- [ ] x <!-- golive: cpu min="1 -->', ["checklist.md:2: cannot parse binding*"]),
    ],
)
def test_checklist_mistakes_fail_collection_with_file_and_line(
    project: pytest.Pytester, line: str, fragments: list[str]
) -> None:
    project.makefile(".md", checklist=f"## H\n{line}\n- [ ] fine <!-- golive: cpu min=1 -->\n")
    result = project.runpytest("--golive=prod")
    result.stdout.fnmatch_lines([f"*{f}*" for f in fragments])
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED


@pytest.mark.parametrize(
    "config, fragment",
    [
        (CONFIG.replace("timeout = 2", "timeout = -1"), "endpoints.api.timeout"),
        (
            CONFIG + '[environments.prod.databases.db]\ndsn = "mysql://a:${NOPE_PW}@h/db"\n',
            "variable NOPE_PW is not set",
        ),
        (CONFIG.replace("checklist.md", "missing.md"), "missing.md: file not found"),
    ],
)
def test_config_mistakes_are_usage_errors(
    pytester: pytest.Pytester, config: str, fragment: str
) -> None:
    pytester.makefile(".toml", golive=config)
    pytester.makefile(".md", checklist=CHECKLIST)
    result = pytester.runpytest("--golive=prod")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert fragment in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_unknown_environment(project: pytest.Pytester) -> None:
    result = project.runpytest("--golive=prdo")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*unknown environment 'prdo' (did you mean 'prod'?) (known: prod)"]
    )


def test_plugin_stays_out_of_the_way(pytester: pytest.Pytester) -> None:
    """A plain run of an unrelated project is unchanged: same items, outcomes, output."""
    pytester.makefile(".md", README="- [ ] not a test\n")
    pytester.makefile(".toml", golive=CONFIG)
    pytester.makepyfile(test_plain="""
        def test_ok():
            assert True
        def test_bad():
            assert False
    """)
    with_plugin = pytester.runpytest("-q")
    without = pytester.runpytest("-q", "-p", "no:golive")
    with_plugin.assert_outcomes(passed=1, failed=1)
    without.assert_outcomes(passed=1, failed=1)
    assert with_plugin.ret == without.ret == 1
    # One line at the end says the readiness suite (golive.toml) was not checked; nothing else.
    hint = with_plugin.stdout.lines[-1]
    assert hint.startswith("golive: golive.toml defines a readiness suite, but this run did not")
    rest = with_plugin.stdout.lines[:-1]
    assert "golive" not in "\n".join(rest).lower().replace("golive-0", "").replace(
        "golive.toml", ""
    )
    strip = lambda lines: [ln for ln in lines if " in " not in ln]  # noqa: E731 - durations differ
    assert strip(rest) == strip(without.stdout.lines)


def test_fixtures_skip_without_golive(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_f="""
        def test_needs_host(golive_host):
            pass
    """)
    result = pytester.runpytest("-rs")
    result.stdout.fnmatch_lines(["*needs a readiness run: pytest --golive=ENV*"])
    assert result.ret == 0


def test_yaml_checklist_and_extra_checklist_option(project: pytest.Pytester) -> None:
    project.makefile(
        ".yaml",
        extra="sections:\n  backup:\n    - title: Backups dir\n      check: file\n"
        "      params: {path: /tmp, type: directory}\n",
    )
    result = project.runpytest(
        "--golive=prod", "--golive-checklist=extra.yaml", "-m", "backup", "-v"
    )
    result.stdout.fnmatch_lines(["*extra.yaml::backup/backups-dir[[]local[]] PASSED*"])


def test_endpoint_fixture_is_bound_and_read_only(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", golive=CONFIG)
    pytester.makefile(".md", checklist="")
    pytester.makepyfile(test_e="""
        import pytest

        @pytest.mark.application
        def test_session(golive_endpoint):
            assert golive_endpoint.base_url == "http://127.0.0.1:9/"
            with pytest.raises(ValueError, match="safe methods only"):
                golive_endpoint.post("/x")
    """)
    result = pytester.runpytest("--golive=prod")
    result.assert_outcomes(passed=1)
