"""A checklist line as teams write it, run for real on the local host.

Several checks on one line, checks with an attestation, lines for another
environment's targets, and parameters left to variables that are not set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CONFIG = """\
checklists = ["checklist.md"]
attestations = "attestations.toml"

[environments.local]
vars = { root_dir = "/" }
[environments.local.hosts]
app = ["local://"]

[environments.prod]
[environments.prod.hosts]
app = ["local://"]
[environments.prod.databases.mysql]
dsn = "mysql://golive@127.0.0.1:3306/golive"
"""

ATTESTED = """\
[[attestation]]
item = "SIGNED"
by = "Ada Lead"
at = 2026-06-14T08:00:00Z
ticket = "CHG-42"
"""


def run(pytester: pytest.Pytester, checklist: str, *args: str,
        attestations: str = "") -> tuple[pytest.RunResult, dict[str, dict[str, Any]]]:
    pytester.makefile(".toml", golive=CONFIG)
    pytester.makefile(".md", checklist=checklist)
    (pytester.path / "attestations.toml").write_text(attestations, encoding="utf-8")
    report = pytester.path / "results.json"
    result = pytester.runpytest("--golive=local", "--golive-today=2026-06-15",
                                f"--golive-json={report}", *args)
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {"results": []}
    return result, {r["id"]: r for r in data["results"]}


def test_a_line_passes_only_when_all_its_checks_pass(pytester: pytest.Pytester) -> None:
    result, items = run(pytester, (
        "# Host\n"
        "- [ ] 1 GB RAM, 1 CPU <!-- golive: memory min_gib=0.01; cpu min=1 id=SMALL -->\n"
        "- [ ] 1 PB RAM, 1 CPU <!-- golive: memory min_gib=1000000; cpu min=1 id=HUGE -->\n"
    ))
    small, huge = items["host/SMALL"], items["host/HUGE"]
    assert small["status"] == "passed"
    assert [c["check"] for c in small["details"]["checks"]] == ["memory", "cpu"]
    assert all(c["status"] == "passed" for c in small["details"]["checks"])
    # The memory half fails: the line fails although its CPU half passes, and says which half.
    assert huge["status"] == "failed" and huge["blocking"]
    assert huge["observed"].startswith("memory: ")
    assert "cpu: " in huge["observed"]
    halves = {c["check"]: c["status"] for c in huge["details"]["checks"]}
    assert halves == {"memory": "failed", "cpu": "passed"}
    result.stdout.fnmatch_lines(["*HUGE*"])
    assert result.ret == 1


def test_checks_and_attestation_both_halves(pytester: pytest.Pytester) -> None:
    checklist = (
        "# Backups\n"
        "- [ ] Strategy implemented <!-- golive: cpu min=1; attest id=SIGNED -->\n"
        "- [ ] Strategy reviewed <!-- golive: cpu min=1; attest id=UNSIGNED -->\n"
        "- [ ] Machine half fails <!-- golive: cpu min=100000; attest id=SIGNED2 -->\n"
    )
    attestations = ATTESTED + ATTESTED.replace("SIGNED", "SIGNED2")
    result, items = run(pytester, checklist, attestations=attestations)
    signed, unsigned = items["backups/SIGNED"], items["backups/UNSIGNED"]
    failing = items["backups/SIGNED2"]
    assert signed["status"] == "passed" and not signed["blocking"]
    assert "checks passed" in signed["message"] and "attested by Ada Lead" in signed["message"]
    assert unsigned["status"] == "manual-pending" and unsigned["blocking"]
    assert "checks passed" in unsigned["message"] and "no attestation yet" in unsigned["message"]
    # An attestation never covers a failing machine half.
    assert failing["status"] == "failed" and failing["blocking"]
    assert "attested by Ada Lead" in failing["message"]
    assert result.ret == 1


def test_a_target_of_another_environment_skips_the_line(pytester: pytest.Pytester) -> None:
    result, items = run(pytester, (
        "# Data\n"
        "- [ ] MySQL answers <!-- golive: db_connect on=mysql id=DB -->\n"
        "- [ ] Host has a CPU <!-- golive: cpu min=1 id=CPU -->\n"
    ))
    assert result.ret == 0, result.stdout.str()
    db = items["data/DB"]
    assert db["status"] == "skipped"
    assert db["observed"] == "no target 'mysql' in environment 'local' (it is a target of 'prod')"
    assert items["data/CPU"]["status"] == "passed"


def test_a_name_in_no_environment_is_an_error_with_a_suggestion(pytester: pytest.Pytester) -> None:
    result, _ = run(pytester, "# Data\n- [ ] MySQL answers <!-- golive: db_connect on=mysq -->\n")
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*no target or group 'mysq' in environment 'local'*"])


def test_unset_variables_make_the_line_not_configured(pytester: pytest.Pytester) -> None:
    result, items = run(pytester, (
        "# Backups\n"
        "- [ ] Backups are recent"
        " <!-- golive: newest_file_age directory=${backup_dir} max_age_hours=26 id=RECENT -->\n"
        "- [ ] Root is a directory <!-- golive: file path=${root_dir} type=directory id=ROOT -->\n"
    ))
    recent = items["backups/RECENT"]
    assert recent["status"] == "not-configured" and recent["blocking"]
    assert recent["observed"].startswith("not configured: variable backup_dir is not set")
    assert "[environments.local.vars]" in recent["observed"]
    assert recent["details"]["not_configured"] == ["backup_dir"]
    assert items["backups/ROOT"]["status"] == "passed"
    result.stdout.fnmatch_lines(["*NO-GO*1 item(s) not configured (unset variables)*"])
    assert result.ret == 1


def test_a_typo_beside_an_unset_variable_still_fails_collection(pytester: pytest.Pytester) -> None:
    checklist = "# B\n- [ ] x <!-- golive: newest_file_age directry=${backup_dir} -->\n"
    result, _ = run(pytester, checklist)
    assert result.ret == 2
    result.stdout.fnmatch_lines(["*has no parameter 'directry'*did you mean 'directory'*"])


def test_results_validate_against_the_schema(pytester: pytest.Pytester) -> None:
    import jsonschema

    run(pytester, "# H\n- [ ] two <!-- golive: memory min_gib=0.01; cpu min=1; attest -->\n")
    schema_path = Path(__file__).parents[1] / "src/pytest_golive/schemas/results.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    results = json.loads((pytester.path / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, schema)
