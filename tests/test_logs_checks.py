"""Log hygiene checks over real hosts: this machine (``local://``) and a fleet host over SSH.

The log files are written by the test into a directory the fleet account can
read (the fleet's namespaces share this machine's file system). Every test that
finds a secret also asserts that its value appears nowhere in the outcome.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_golive.checks import logs
from pytest_golive.checks.registry import REGISTRY
from pytest_golive.checks.rules import Line
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.secrets import Secret
from pytest_golive.targets.host import HostTarget
from support.fleet import Fleet

# Shaped like real credentials, made up for these tests (none is valid anywhere).
AWS_KEY = "AKIA" + "QWERTYUIOPASDFGH"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkdvbGl2ZSJ9."
    "c2lnbmF0dXJlLW5vdC1yZWFsLWF0LWFsbA"
)
BEARER = "Authorization: Bearer " + "d3JvbmctdG9rZW4tZm9yLXRlc3Rz"


def run(check_name: str, /, *target: object, **params: object):
    chk = REGISTRY.get(check_name)
    return chk.func(*target, **chk.validate(params))


@pytest.fixture(params=("local", "ssh"))
def host(request: pytest.FixtureRequest, fleet: Fleet) -> Iterator[HostTarget]:
    options = (
        {"url": "local://"} if request.param == "local" else fleet.options(fleet.hosts[0].ssh_url)
    )
    target = HostTarget(TargetSpec("host", request.param, (), options), Settings(connect_timeout=3))
    yield target
    target.close()


def _no_value(outcome: object, *values: str) -> None:
    text = json.dumps(outcome.to_dict())  # type: ignore[attr-defined]
    for value in values:
        assert value not in text, "a secret value reached the evidence"


def _write(path: Path, lines: list[str], age: float = 0) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    if age:
        stamp = path.stat().st_mtime - age
        os.utime(path, (stamp, stamp))
    return path


@pytest.mark.real_systems
def test_clean_logs_pass(host: HostTarget, shared_dir: Path) -> None:
    _write(
        shared_dir / "app.log",
        [
            "2026-12-01T07:00:00Z INFO started on :8080",
            "2026-12-01T07:00:01Z INFO login user=alice password=***** ok",
            '2026-12-01T07:00:02Z INFO {"token": "[REDACTED]", "status": 200}',
            "2026-12-01T07:00:03Z WARN Authorization: Bearer ***",
        ],
    )
    out = run("logs_no_secrets", host, paths=f"{shared_dir}/*.log")
    assert out.status == "passed" and "none found (1 of 1 files read)" in out.observed, out


@pytest.mark.real_systems
def test_run_secret_in_a_log_is_found_and_never_shown(host: HostTarget, shared_dir: Path) -> None:
    value = "golive-run-secret-" + os.urandom(6).hex()
    Secret(value, "${DB_PASSWORD}")  # as the configuration registers ${DB_PASSWORD}
    _write(
        shared_dir / "app.log",
        ["INFO start", "INFO connecting", f"DEBUG dsn=mysql://app@db/{value}"],
    )
    out = run("logs_no_secrets", host, paths=f"{shared_dir}/app.log", patterns="false")
    assert (
        out.status == "failed" and f"{shared_dir}/app.log:3: a secret of this run" in out.observed
    ), out
    _no_value(out, value)


@pytest.mark.real_systems
def test_secret_looking_values(host: HostTarget, shared_dir: Path) -> None:
    _write(
        shared_dir / "api.log",
        [
            "INFO ok",
            f"DEBUG aws key {AWS_KEY}",
            f"DEBUG {BEARER}",
            f"DEBUG session {JWT}",
            "DEBUG -----BEGIN OPENSSH PRIVATE KEY-----",
            "DEBUG connect password=hunter2hunter2 db=app",
            'DEBUG {"client_secret": "s3cr3t-client-value"}',
            "DEBUG fetch https://deploy:pa55w0rd-xyz@git.example.com/repo.git",
        ],
    )
    out = run("logs_no_secrets", host, paths=f"{shared_dir}/*.log")
    assert out.status == "failed", out
    found = {(f["line"], f["kind"]) for f in out.details["findings"]}
    assert found == {
        (2, "AWS access key id"),
        (3, "bearer token"),
        (4, "JSON Web Token"),
        (5, "private key"),
        (6, "password value"),
        (7, "password value"),
        (8, "credentials in a URL"),
    }, found
    _no_value(
        out,
        AWS_KEY,
        JWT,
        "hunter2hunter2",
        "s3cr3t-client-value",
        "pa55w0rd-xyz",
        "d3JvbmctdG9rZW4tZm9yLXRlc3Rz",
    )


@pytest.mark.real_systems
def test_values_of_secret_keys_in_configured_files(host: HostTarget, shared_dir: Path) -> None:
    env = shared_dir / "app.env"
    env.write_text("APP_ENV=production\nDB_PASSWORD='Tr0ub4dor&3-golive'\nLOG_LEVEL=INFO\n")
    _write(shared_dir / "app.log", ["INFO up", "ERROR auth failed for Tr0ub4dor&3-golive"])
    out = run(
        "logs_no_secrets",
        host,
        paths=f"{shared_dir}/*.log",
        secret_files=str(env),
        patterns="false",
    )
    assert (
        out.status == "failed" and f"app.log:2: value of DB_PASSWORD from {env}" in out.observed
    ), out
    _no_value(out, "Tr0ub4dor&3-golive")
    # "production" and "INFO" are not secret keys' values: not looked for.
    _write(shared_dir / "app.log", ["INFO production up"])
    assert (
        run(
            "logs_no_secrets",
            host,
            paths=f"{shared_dir}/*.log",
            secret_files=str(env),
            patterns="false",
        ).status
        == "passed"
    )


@pytest.mark.real_systems
def test_reading_is_bounded_and_says_where_it_stopped(host: HostTarget, shared_dir: Path) -> None:
    lines = [f"INFO request {i} served in 12 ms" for i in range(1, 1001)]
    lines[4] = f"DEBUG old key {AWS_KEY}"  # line 5: beyond the bound, from the end
    lines[989] = f"DEBUG new key {AWS_KEY}"  # line 990: within it
    _write(shared_dir / "big.log", lines)
    out = run("logs_no_secrets", host, paths=f"{shared_dir}/big.log", max_mib=str(4096 / 2**20))
    assert out.status == "failed", out
    assert [f["line"] for f in out.details["findings"]] == [990]
    assert "1 only in part (their newest part)" in out.observed
    # Newest files first; the rest are named as not read.
    _write(shared_dir / "old.log", [f"DEBUG key {AWS_KEY}"], age=3600)
    _write(shared_dir / "new.log", ["INFO fine"])
    out = run(
        "logs_no_secrets", host, paths=f"{shared_dir}/new.log,{shared_dir}/old.log", max_files="1"
    )
    assert (
        out.status == "passed"
        and "stopped: max_files=1 reached, 1 older files not read" in out.observed
    )


@pytest.mark.real_systems
def test_rotated_gzip_logs_are_read(host: HostTarget, shared_dir: Path) -> None:
    with gzip.open(shared_dir / "app.log.1.gz", "wt") as f:
        f.write(f"INFO a\nDEBUG {JWT}\n")
    out = run("logs_no_secrets", host, paths=f"{shared_dir}/app.log*")
    assert out.status == "failed" and "app.log.1.gz:2: JSON Web Token" in out.observed, out


@pytest.mark.real_systems
def test_nothing_to_read_cannot_pass(host: HostTarget, shared_dir: Path) -> None:
    out = run("logs_no_secrets", host, paths=f"{shared_dir}/*.log")
    assert out.status == "failed" and "no log file matches" in out.observed


@pytest.mark.real_systems
def test_unreadable_log_fails_over_ssh(fleet: Fleet, shared_dir: Path) -> None:
    target = HostTarget(
        TargetSpec("host", "ssh", (), fleet.options(fleet.hosts[0].ssh_url)),
        Settings(connect_timeout=3),
    )
    try:
        secret = _write(shared_dir / "auth.log", ["INFO root only"])
        secret.chmod(0o600)
        _write(shared_dir / "app.log", ["INFO fine"])
        out = run("logs_no_secrets", target, paths=f"{shared_dir}/*.log")
        assert (
            out.status == "failed" and "cannot read" in out.observed and "auth.log" in out.observed
        )
    finally:
        target.close()


def test_scan_line_judgement() -> None:
    known = {"a-known-secret": "a secret of this run"}
    assert logs.scan_line("x a-known-secret y", known) == ["a secret of this run"]
    assert logs.scan_line("password=${DB_PASSWORD}", {}) == []
    assert logs.scan_line("password: <hidden>", {}) == []
    assert logs.scan_line("Failed password for root from 10.0.0.1 port 22 ssh2", {}) == []
    assert logs.scan_line("api_key=AKIAIOSFODNN7EXAMPLE", {}) == []  # the documented example key
    assert logs.scan_line("pwd=correct-horse", {}) == ["password value"]


def _line(title: str) -> Line:
    return Line(1, 0, title, title, "", "", False)


@pytest.mark.parametrize(
    "title, check, params",
    [
        ("Sensitive data excluded from logs", "logs_no_secrets", {"paths": "${log_dir}/*.log"}),
        ("No passwords or tokens logged", "logs_no_secrets", {"paths": "${log_dir}/*.log"}),
        (
            "Secrets are masked in /var/log/app/*.log",
            "logs_no_secrets",
            {"paths": "/var/log/app/*.log"},
        ),
        (
            "Application logs being written",
            "newest_file_age",
            {"directory": "${log_dir}", "pattern": "*.log", "max_age_hours": "24"},
        ),
        (
            "Access logs captured",
            "newest_file_age",
            {"directory": "${access_log_dir}", "pattern": "*access*", "max_age_hours": "24"},
        ),
        (
            "Application logs written within the last 5 minutes",
            "newest_file_age",
            {"directory": "${log_dir}", "pattern": "*.log", "max_age_hours": "0.0833333"},
        ),
        (
            "Application logs flowing",
            "newest_file_age",
            {"directory": "${log_dir}", "pattern": "*.log", "max_age_hours": "24"},
        ),
    ],
)
def test_import_rules(title: str, check: str, params: dict[str, str]) -> None:
    rule = {
        "logs_no_secrets": logs._log_secrets_rule,
        "newest_file_age": logs._logs_written_rule,
    }[check]
    proposal = rule(_line(title))
    assert proposal is not None and proposal.candidates[0] == (check, params)


@pytest.mark.parametrize(
    "title",
    [
        "Log aggregation configured",
        "Log levels set appropriately",
        "Monitor logs for first 24 hours",
    ],
)
def test_import_rules_leave_other_log_lines(title: str) -> None:
    line = _line(title)
    assert logs._log_secrets_rule(line) is None and logs._logs_written_rule(line) is None


def test_access_log_lines_are_about_the_logs() -> None:
    from pytest_golive.tools.import_rules import propose

    proposal = propose(_line("Access logs enabled in nginx"))
    assert proposal is not None and proposal.check == "newest_file_age", proposal


def test_log_rotation_lines_name_the_file_as_a_variable() -> None:
    """The catalog's logrotate rule binds them; the file is the team's to name, never guessed."""
    from pytest_golive.tools.import_rules import propose

    proposal = propose(_line("Log rotation covers app logs"))
    assert proposal is not None and proposal.candidates[0][0] == "logrotate"
    assert proposal.candidates[0][1]["path"].startswith("${")
