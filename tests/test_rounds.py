"""Host checks in rounds: many commands in one remote script, answers as if run alone.

Against real shells: ``local://`` and the fleet's SSH hosts (``ssh://`` and
``paramiko://``). Round trips are counted by the target itself; no timing
is asserted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.checks.registry import REGISTRY
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.targets import batch
from pytest_golive.targets.host import HostTarget, _parse_dpkg_list
from pytest_golive.targets.rounds import CheckTimedOut, Rounds
from support import require
from support.fleet import Fleet


def _target(fleet: Fleet | None, url: str, name: str = "t", **settings: object) -> HostTarget:
    options = {"url": url} if url.startswith("local") or fleet is None else fleet.options(url)
    return HostTarget(
        TargetSpec("host", name, (), options), Settings(**{"connect_timeout": 3, **settings})
    )


@pytest.fixture(params=("local", "ssh", "paramiko"))
def target(request: pytest.FixtureRequest, fleet: Fleet) -> Iterator[HostTarget]:
    if request.param == "local":
        handle = _target(None, "local://", "local")
    else:
        host = fleet.hosts[0]
        handle = _target(
            fleet, host.ssh_url if request.param == "ssh" else host.paramiko_url, host.name
        )
    yield handle
    handle.close()


#: Commands whose answers are easy to get wrong when framed together.
AWKWARD = [
    "printf 'no newline at the end'",
    "printf 'two\\n\\nnewlines\\n\\n'",
    "printf ''",
    "echo out; echo err >&2; exit 7",
    "exit 3",  # must not end the script: the next command still runs
    "cat",  # stdin is empty, not the rest of the script
    "printf '\\n\\001GLE 0123456789abcdef 0 0\\n'",  # a forged marker with another nonce
    "printf '\\377\\000\\001 bytes'",
    "test -e /etc/passwd",
    "test -e /no/such/file",
    "command -v sh",
    "[ -d / ]",
    "echo $((6 * 7)) | tr 4 X",
]


def _alone(target: HostTarget, command: str) -> tuple[int, bytes, bytes]:
    result = target.run(command)
    return result.rc, result.stdout_bytes, result.stderr_bytes


def test_a_batch_answers_each_command_as_running_it_alone_would(target: HostTarget) -> None:
    alone = [_alone(target, c) for c in AWKWARD]
    before = target.round_trips
    results = target.run_batch([batch.Command(c, 10) for c in AWKWARD])
    assert target.round_trips == before + 1
    assert [(r.rc, r.stdout_bytes, r.stderr_bytes) for r in results] == alone
    assert alone[0][1] == b"no newline at the end"
    assert alone[3] == (7, b"out\n", b"err\n")
    assert alone[5] == (0, b"", b"")


def test_a_script_cut_short_is_finished_command_by_command(target: HostTarget) -> None:
    """A syntax error ends the script where it stands: the rest is sent again, one by one."""
    commands = ["echo before", "echo (", "echo after; exit 4"]
    alone = [_alone(target, c) for c in commands]
    before = target.round_trips
    results = target.run_batch([batch.Command(c, 10) for c in commands])
    assert target.round_trips == before + 2
    assert [(r.rc, r.stdout_bytes, r.stderr_bytes) for r in results] == alone
    assert alone[1][0] == 2 and b"Syntax error" in alone[1][2]


def test_a_command_over_its_limit_fails_alone_and_the_next_runs(fleet: Fleet) -> None:
    target = _target(fleet, fleet.hosts[1].ssh_url, "slow")
    try:
        first, slow, after, other = target.run_batch(
            [
                batch.Command("echo first", 2),
                batch.Command("sleep 30", 2),
                batch.Command("echo after", 2),
                batch.Command("echo other limit", 10),
            ]
        )
        assert isinstance(slow, CheckError)
        assert str(slow) == "host slow: command timed out after 2s: sleep 30"
        assert (first.stdout, after.stdout, other.stdout) == ("first\n", "after\n", "other limit\n")
        assert target.failure is None
        # one script for each limit, and the one cut short sent again from the slow command on
        assert target.round_trips == 3
    finally:
        target.close()


def test_long_batches_are_split_below_the_argument_limit(target: HostTarget) -> None:
    commands = [batch.Command(f"echo {i} {'x' * 80}", 10) for i in range(1500)]
    assert sum(len(batch.script([c], "n")) for c in commands) > 2 * batch.MAX_SCRIPT
    groups = list(batch.chunks(commands))
    assert len(groups) > 1 and [c for g in groups for c in g] == commands
    assert all(len(batch.script(g, batch.new_nonce())) < batch.MAX_SCRIPT for g in groups)
    before = target.round_trips
    results = target.run_batch(commands)
    assert target.round_trips - before == len(groups)
    assert [r.stdout.split()[0] for r in results] == [str(i) for i in range(1500)]


def test_an_unreachable_host_fails_every_command_of_the_batch_once(fleet: Fleet) -> None:
    target = _target(fleet, f"ssh://{fleet.user}@{fleet.unreachable}", "ghost", connect_timeout=1)
    results = target.run_batch([batch.Command("true", 5), batch.Command("echo x", 5)])
    assert all(
        isinstance(r, CheckError) and str(r).startswith("host ghost: cannot connect: ")
        for r in results
    )
    assert target.run_batch([batch.Command("true", 5)])[0].args == results[0].args
    assert target.failed_attempts == 1
    target.close()


@pytest.mark.parametrize(("command", "expected"), [
    ("test -e /etc/passwd", True),
    ("test -e '/path with spaces'", True),
    ("command -v dpkg-query", True),
    ("[ -d /var ]", True),
    ("true", True),
    ("test -e /x; rm -rf /x", False),
    ("test -e $(reboot)", False),
    ("test -e `reboot`", False),
    ("command -v x | sh", False),
    ("test -e /x && sleep 9", False),
    ("test -e /x > /tmp/y", False),
    ("cat /etc/passwd", False),
    ("test -e '/x'\nreboot", False),
])
def test_only_literal_builtins_run_without_timeout(command: str, expected: bool) -> None:
    assert batch.builtin_only(command) is expected


# --- rounds ------------------------------------------------------------------------------------


def _jobs(
    target: HostTarget, lines: list[tuple[str, dict[str, Any]]]
) -> list[Callable[[], Outcome]]:
    def job(name: str, params: dict[str, Any]) -> Callable[[], Outcome]:
        chk = REGISTRY.get(name)
        return lambda: chk.func(target, **chk.validate(params))

    return [job(name, params) for name, params in lines]


def _evaluate(target: HostTarget, jobs: list[Callable[[], Any]]) -> tuple[Rounds, list[Any]]:
    rounds = Rounds(target, check_timeout=60)
    results: list[Any] = [None] * len(jobs)

    def done(i: int, value: Any, exc: BaseException | None) -> None:
        results[i] = exc if exc is not None else value

    rounds.evaluate(jobs, done)
    return rounds, results


def _checklist(size: int) -> list[tuple[str, dict[str, Any]]]:
    """``size`` lines of each common kind, some passing, some failing."""
    lines: list[tuple[str, dict[str, Any]]] = []
    for i in range(size):
        lines += [
            ("file", {"path": "/etc/passwd" if i % 2 else f"/no/such/file/{i}"}),
            ("package", {"name": "coreutils" if i % 2 else f"no-such-package-{i}"}),
            ("user", {"name": "nobody" if i % 2 else f"nosuchuser{i}"}),
            (
                "command_version",
                {"command": "sh" if i % 2 else f"no-such-command-{i}", "version_arg": "-c true"},
            ),
            ("cpu", {"min": "1"}),
        ]
    return lines


def _facts(outcome: Any) -> tuple[Any, ...]:
    return (
        (outcome.status, outcome.observed, outcome.expected)
        if isinstance(outcome, Outcome)
        else (repr(outcome),)
    )


def test_rounds_give_the_results_of_one_by_one_in_a_constant_number_of_round_trips(
    target: HostTarget,
) -> None:
    small, large = _checklist(3), _checklist(30)
    serial = [_facts(job()) for job in _jobs(target, large)]
    measured = []
    for lines in (small, large):
        # a handle of its own, so nothing is known about the host yet
        fresh = HostTarget(target.spec, target.settings)
        try:
            rounds, results = _evaluate(fresh, _jobs(fresh, lines))
        finally:
            fresh.close()
        assert fresh.round_trips == rounds.round_trips
        measured.append((rounds.rounds, rounds.round_trips, results))
    (rounds_small, trips_small, _), (rounds_large, trips_large, results) = measured
    assert [_facts(r) for r in results] == serial
    assert {s for s, *_ in serial} == {"passed", "failed"}
    # ten times the checks, the same few round trips: one script per round
    assert rounds_large == rounds_small <= 6
    assert trips_large == trips_small == rounds_small
    assert len(large) == 150


def test_identical_commands_in_one_evaluation_run_once(target: HostTarget) -> None:
    jobs = [lambda: target.run("echo same").stdout for _ in range(40)]
    rounds, results = _evaluate(target, jobs)
    assert results == ["same\n"] * 40
    assert rounds.rounds == 1


def test_a_failing_or_broken_check_is_its_own_item(target: HostTarget) -> None:
    def broken() -> str:
        target.run("true")
        raise ValueError("a bug in a check")

    def unreachable_file() -> str:
        raise CheckError("its own error")

    rounds, results = _evaluate(
        target,
        [
            lambda: target.run("echo ok").stdout,
            broken,
            unreachable_file,
            lambda: target.run("echo also").stdout,
        ],
    )
    assert results[0] == "ok\n" and results[3] == "also\n"
    assert isinstance(results[1], ValueError) and isinstance(results[2], CheckError)


def test_a_check_over_its_time_is_ended_at_its_next_answer(fleet: Fleet) -> None:
    target = _target(fleet, fleet.hosts[1].ssh_url, "slowcheck")
    ran_on: list[str] = []

    def slow() -> str:
        target.run("true")
        time.sleep(1.5)  # the check's own time, between two commands
        target.run("true")
        ran_on.append("after the second command")
        return target.run("echo never").stdout

    def waits_for_a_slow_round() -> str:
        target.run("sleep 2")  # longer than check_timeout, but the host's time, not the check's
        return target.run("echo quick").stdout

    rounds = Rounds(target, check_timeout=1)
    results: list[Any] = [None, None]
    rounds.evaluate(
        [slow, waits_for_a_slow_round], lambda i, value, exc: results.__setitem__(i, exc or value)
    )
    target.close()
    assert isinstance(results[0], CheckTimedOut) and not ran_on
    assert str(results[0]) == "did not finish within 1s"
    assert results[1] == "quick\n"


def test_checks_outside_rounds_run_alone(target: HostTarget) -> None:
    before = target.round_trips
    assert target.run("echo alone").stdout == "alone\n"
    assert target.round_trips == before + 1


# --- packages read once ------------------------------------------------------------------------


def test_package_list_answers_as_testinfra_does() -> None:
    target = _target(None, "local://", "local")
    listed = target.installed_packages()
    require(listed is not None, "a Debian-family machine (dpkg-query)")
    assert listed is not None
    names = ["coreutils", "bash", "libc6", "no-such-package-golive", "dpkg"]
    for name in names:
        pkg = target.testinfra.package(name)
        installed = pkg.is_installed
        assert (name in listed) is installed, name
        if installed:
            assert listed[name] == pkg.version
    arch = target.run("dpkg --print-architecture").stdout.strip()
    assert listed[f"libc6:{arch}"] == listed["libc6"]
    # the list is read once per run
    trips = target.round_trips
    assert target.installed_packages() is listed and target.round_trips == trips


def test_package_list_parser_keeps_only_installed_packages() -> None:
    text = (
        "bash\tinstall ok installed\t5.2.15-2+b8\n"
        "libc6:amd64\tinstall ok installed\t2.36-9\n"
        "old\tdeinstall ok config-files\t1.0\n"
        "held\thold ok installed\t2.0\n"
        "broken\tinstall reinstreq half-installed\t3.0\n"
        "garbage line\n"
    )
    assert _parse_dpkg_list(text) == {
        "bash": "5.2.15-2+b8",
        "libc6:amd64": "2.36-9",
        "libc6": "2.36-9",
        "held": "2.0",
    }


def test_package_checks_with_a_glob_ask_testinfra() -> None:
    target = _target(None, "local://", "local")
    chk = REGISTRY.get("package")
    outcome = chk.func(target, **chk.validate({"name": "coreutil*"}))
    assert outcome.status == "passed"


# --- a whole run -------------------------------------------------------------------------------


def _lines_md(size: int) -> str:
    lines = ["# Fleet", ""]
    for i in range(size):
        lines += [
            f"- [ ] file {i} <!-- golive: file path={'/etc/passwd' if i % 2 else f'/no/such/{i}'} "
            "severity=warning -->",
            f"- [ ] package {i} <!-- golive: package "
            f"name={'coreutils' if i % 2 else f'no-such-{i}'} severity=warning -->",
            f"- [ ] user {i} <!-- golive: user name={'nobody' if i % 2 else f'nosuch{i}'} "
            "severity=warning -->",
            f"- [ ] command {i} <!-- golive: command_version "
            f"command={'sh' if i % 2 else f'nosuch-{i}'} "
            "version_arg='-c true' severity=warning -->",
        ]
    return "\n".join(lines) + "\n"


def _remote_commands(result: pytest.RunResult) -> dict[str, int]:
    line = next(line for line in result.outlines if line.startswith("remote commands per host: "))
    pairs = line.split(": ", 1)[1].split(", ")
    return {name: int(n) for name, n in (pair.rsplit(" ", 1) for pair in pairs)}


def test_a_run_sends_each_host_the_same_few_commands_however_long_its_checklist(
    fleet: Fleet, golive_project: Any
) -> None:
    """Over ssh:// and paramiko://: results as one by one, remote commands per host flat."""
    entries = ",\n    ".join(
        f'{{ name = "{name}", url = "{url}", ssh_config = "{fleet.ssh_config}", '
        f'ssh_identity_file = "{fleet.identity_file}" }}'
        for name, url in (
            ("ssh-host", fleet.hosts[0].ssh_url),
            ("paramiko-host", fleet.hosts[1].paramiko_url),
        )
    )
    environments = f"\n[environments.fleet.hosts]\nweb = [\n    {entries}\n]\n"
    seen = {}
    for size in (2, 25):
        golive_project.write(_lines_md(size), environments=environments)
        one_by_one = golive_project.run("--golive-no-prefetch", "-v", env="fleet")
        expected = [
            (r["nodeid"], r["status"], r["observed"]) for r in golive_project.results()["results"]
        ]
        result = golive_project.run("-v", env="fleet")
        records = golive_project.results()["results"]
        assert [(r["nodeid"], r["status"], r["observed"]) for r in records] == expected
        assert len(records) == 2 * 4 * size
        assert {r["status"] for r in records} == {"passed", "failed"}
        seen[size] = _remote_commands(result)
        # one by one, a host is sent a command per file and command line
        # (packages and users come from the lists read once)
        assert min(_remote_commands(one_by_one).values()) >= 2 * size
    assert set(seen[2]) == {"ssh-host", "paramiko-host"}
    assert seen[25] == seen[2]
    assert max(seen[25].values()) <= 6


# --- accounts read once ------------------------------------------------------------------------


def test_account_list_answers_as_getent_and_id_do(target: HostTarget) -> None:
    accounts = target.local_accounts()
    require(
        accounts is not None, "accounts from local files (nsswitch passwd/group: files systemd)"
    )
    assert accounts is not None
    names = list(accounts.users)
    assert "root" in names and len(names) > 5
    for name in names:
        alone = target.run("getent passwd %s || exit 3; id -Gn %s", name, name).stdout.splitlines()
        assert accounts.users[name] == alone[0].split(":"), name
        assert accounts.groups_of(name) == alone[1].split(), name
    trips = target.round_trips
    assert target.local_accounts() is accounts and target.round_trips == trips


@pytest.mark.parametrize(("nsswitch", "local"), [
    ("passwd: files systemd\ngroup: files systemd\n", True),
    ("passwd:         compat\ngroup: files [NOTFOUND=return] systemd\n", True),
    ("passwd: files sss\ngroup: files sss\n", False),
    ("passwd: files ldap\ngroup: files\n", False),
    ("passwd: files\n", False),  # group left to the default, which may include NIS
])
def test_accounts_are_listed_only_where_every_source_is_local(nsswitch: str, local: bool) -> None:
    from pytest_golive.targets.host import Accounts

    text = nsswitch + "@@golive\nroot:x:0:0:root:/root:/bin/bash\n@@golive\nroot:x:0:\n"
    assert (Accounts.parse(text) is not None) is local


def test_nis_lines_under_compat_mean_asking_per_account() -> None:
    from pytest_golive.targets.host import Accounts

    text = (
        "passwd: compat\ngroup: compat\n@@golive\n"
        "root:x:0:0:root:/root:/bin/bash\n+::::::\n@@golive\nroot:x:0:\n"
    )
    assert Accounts.parse(text) is None


def test_groups_of_an_account_as_id_names_them() -> None:
    from pytest_golive.targets.host import Accounts

    accounts = Accounts(
        users={"app": "app:x:1001:1001::/srv/app:/usr/sbin/nologin".split(":"),
               "orphan": "orphan:x:1002:4242::/:/bin/sh".split(":")},
        groups=[("adm", "4", ["syslog", "app"]), ("app", "1001", []), ("docker", "999", ["app"]),
                ("app2", "1001", ["app"])],
    )
    # app2 shares app's id: id names that id once, by its first group
    assert accounts.groups_of("app") == ["app", "adm", "docker"]
    assert accounts.groups_of("orphan") == ["4242"]


#: Checks whose evidence changes from one moment to the next (load, free space, ages, sshd
#: session processes coming and going): compared on status only.
_VOLATILE = {"cpu_usage", "memory_usage", "disk_free", "newest_file_age", "process"}


def _catalog_checklist(shared: Path, fleet: Fleet) -> str:
    """A line (or two) of every host check, each a warning so the comparison is the point."""
    (shared / "f.txt").write_text("hello rounds\n")
    (shared / "f.txt").chmod(0o644)
    (shared / "logrotate.d").mkdir()
    (shared / "logrotate.conf").write_text(f"weekly\nrotate 4\ninclude {shared / 'logrotate.d'}\n")
    (shared / "logrotate.d" / "app").write_text(
        "/var/log/app/*.log {\n  daily\n  rotate 14\n  compress\n}\n"
    )
    (shared / "cron.d").mkdir()
    (shared / "spool").mkdir(mode=0o755)
    (shared / "crontab").write_text("17 * * * * root run-parts /etc/cron.hourly\n")
    (shared / "cron.d" / "backup").write_text("30 2 * * * backup /usr/local/bin/db-backup --full\n")
    (shared / "backups").mkdir()
    (shared / "backups" / "db.sql.gz").write_text("x")
    cron = (
        f"crontab={shared / 'crontab'} cron_dir={shared / 'cron.d'} "
        f"spool_dir={shared / 'spool'} periodic_dirs={shared / 'none'}"
    )
    lines = [
        "cpu min=1",
        "cpu min=4096",
        "memory min_gib=0.01",
        "disk_free path=/ min_gib=0.001",
        "disk_size path=/ min_gib=0.001",
        # Above 100: a fully loaded machine (100.0%) must not flip the comparison.
        "cpu_usage max_percent=101 sample_seconds=1",
        "memory_usage max_percent=100",
        "os",
        "os distribution=debian min_version=11",
        "command_version command=sh version_arg='-c true'",
        "command_version command=no-such-cmd present=false",
        "package name=coreutils",
        "package name=no-such-package",
        "packages names='coreutils, bash'",
        "service name=ssh",
        "process name=sshd",
        "port_listening port=22",
        "port_listening port=1 listening=false",
        "tcp_reachable_from to=127.0.0.1:1 reachable=false timeout=1",
        "user name=nobody",
        "user name=root non_root=false",
        "group name=root",
        "group name=no-such-group exists=false",
        f"file path={shared / 'f.txt'} mode=0644 contains=hello",
        f"file path={shared / 'none'} exists=false",
        f"directory_permissions path={shared} max_mode=0755",
        f"logrotate path=/var/log/app/api.log min_rotate=7 config={shared / 'logrotate.conf'} "
        f"config_dir={shared / 'logrotate.d'}",
        f"cron_or_timer command=db-backup {cron}",
        f"cron_or_timer command=nothing-scheduled {cron}",
        f"newest_file_age directory={shared / 'backups'} max_age_hours=24",
        "sysctl name=kernel.ostype value=Linux",
        "sysctl name=vm.swappiness max=100",
        "mount path=/",
        "time_sync",
        f"sshd_config config={fleet.workdir / 'host0' / 'sshd_config'} password_authentication=no",
    ]
    return "# Catalog\n\n" + "".join(
        f"- [ ] line {i} <!-- golive: {line} severity=warning -->\n" for i, line in enumerate(lines)
    )


def test_every_host_check_answers_the_same_in_rounds(
    fleet: Fleet, shared_dir: Path, golive_project: Any
) -> None:
    """The whole host catalog, over local:// and ssh://: rounds change only the round trips."""
    host = fleet.hosts[0]
    environments = (
        "\n[environments.fleet.hosts]\nweb = [\n"
        f'    {{ name = "local", url = "local://" }},\n'
        f'    {{ name = "ssh-host", url = "{host.ssh_url}", ssh_config = "{fleet.ssh_config}", '
        f'ssh_identity_file = "{fleet.identity_file}" }},\n]\n'
    )
    golive_project.write(_catalog_checklist(shared_dir, fleet), environments=environments)
    golive_project.run("--golive-no-prefetch", env="fleet")
    alone = golive_project.results()["results"]
    result = golive_project.run("-v", env="fleet")
    batched = golive_project.results()["results"]

    def facts(record: dict[str, Any]) -> tuple[Any, ...]:
        if record["check"] in _VOLATILE:
            return record["nodeid"], record["status"]
        return record["nodeid"], record["status"], record["observed"], record["expected"]

    assert [facts(r) for r in batched] == [facts(r) for r in alone]
    assert len(batched) == 2 * 35
    statuses = {r["status"] for r in batched}
    assert {"passed", "failed"} <= statuses, statuses
    assert max(_remote_commands(result).values()) <= 8


def test_batch_commands_false_sends_every_command_on_its_own(golive_project: Any) -> None:
    golive_project.write(_lines_md(5))
    in_rounds = golive_project.run("-v")
    batched = golive_project.results()["results"]
    assert _remote_commands(in_rounds)["local"] <= 6
    golive_project.write(_lines_md(5), settings="batch_commands = false")
    result = golive_project.run("-v")
    alone = golive_project.results()["results"]
    assert [(r["nodeid"], r["status"], r["observed"]) for r in alone] == \
        [(r["nodeid"], r["status"], r["observed"]) for r in batched]
    # a command per file and command line at least (packages and users come from one list each)
    assert _remote_commands(result)["local"] >= 2 * 5
