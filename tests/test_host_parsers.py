"""Host checks' parsers and judges on output captured from real hosts (tests/data/host/).

No host is contacted: each recording is replayed through the check's own
code (:class:`data.recording.ReplayHost`), and the parsers are tested one by
one on the captured text. Samples under ``documented/`` are written from
documented formats of systems this machine cannot run (see the README there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from data.recording import ReplayHost, load
from pytest_golive.checks.host import (
    accounts,
    capacity,
    files,
    network,
    schedules,
    services,
    shell,
    sshd,
)
from pytest_golive.checks.host import system as software
from pytest_golive.checks.host.shell import ParseError, parse_file_dump
from pytest_golive.checks.registry import REGISTRY
from pytest_golive.core.outcome import CheckError
from pytest_golive.targets.host import Accounts, _parse_dpkg_list

DATA = Path(__file__).parent / "data" / "host"
LOCAL = DATA / "debian-12"
SSH = DATA / "debian-12-netns-ssh"
DOCUMENTED = DATA / "documented"
RECORDINGS = sorted(DATA.glob("*/*.json"))


def recording(path: Path) -> dict[str, Any]:
    return load(path)


def stdout(path: Path, index: int = 0) -> str:
    """What the recording's ``index``-th command printed."""
    return str(recording(path)["commands"][index]["stdout"])


def answer(path: Path, command: str) -> dict[str, Any]:
    """The recorded answer to ``command``."""
    return next(c for c in recording(path)["commands"] if c["command"] == command)


# --- every recording, replayed -----------------------------------------------------------


def test_there_are_recordings_from_both_systems() -> None:
    assert len(list(LOCAL.glob("*.json"))) >= 40
    assert len(list(SSH.glob("*.json"))) >= 15


@pytest.mark.parametrize("path", RECORDINGS, ids=[f"{p.parent.name}/{p.stem}" for p in RECORDINGS])
def test_replaying_a_real_answer_gives_the_outcome_the_live_check_gave(path: Path) -> None:
    rec = recording(path)
    chk = REGISTRY.get(rec["check"])
    host = ReplayHost(rec)
    try:
        outcome = chk.func(host, **chk.validate(rec["params"]))
    except CheckError as exc:
        assert rec["outcome"] == {"error": str(exc)}
    else:
        assert json.loads(json.dumps(outcome.to_dict(), default=str)) == rec["outcome"]
    # The check asked exactly what it asked live: nothing more, nothing less.
    assert sorted(set(host.asked)) == sorted({c["command"] for c in rec["commands"]})


# --- capacity ----------------------------------------------------------------------------


def test_nproc_meminfo_df_and_proc_stat() -> None:
    assert capacity.parse_nproc(stdout(LOCAL / "cpu.json")) == 2
    assert capacity.parse_nproc("nproc: command not found\n") is None
    info = capacity.parse_meminfo(stdout(LOCAL / "memory_usage.json"))
    assert info["MemTotal"] > info["MemAvailable"] > 0
    assert info["MemTotal"] % 1024 == 0  # the kernel's kB are KiB
    assert 0 < capacity.memory_used_percent(info) < 100
    with pytest.raises(ParseError, match="MemAvailable"):
        capacity.memory_used_percent({"MemTotal": 1})
    size, avail = capacity.parse_df(stdout(LOCAL / "disk_free.json"))
    assert size > avail > 0
    with pytest.raises(ParseError):
        capacity.parse_df("Filesystem 1-blocks Used Available Capacity Mounted on\n")
    first, second = capacity.parse_cpu_samples(stdout(LOCAL / "cpu_usage.json"))
    assert len(first) == len(second) >= 8
    assert all(b >= a for a, b in zip(first, second, strict=True))
    assert 0 <= capacity.cpu_busy_percent(first, second) <= 100


def test_cpu_busy_percent_counts_idle_and_iowait_as_not_busy() -> None:
    # user nice system idle iowait irq softirq steal
    assert capacity.cpu_busy_percent([0] * 8, [10, 0, 10, 60, 20, 0, 0, 0]) == 20.0


# --- system and software -----------------------------------------------------------------


def test_os_release_of_this_debian() -> None:
    info = software.parse_os_release(stdout(LOCAL / "os.json"))
    assert info["ID"] == "debian" and info["VERSION_ID"] == "12"
    assert info["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"


@pytest.mark.parametrize(
    ("sample", "distribution", "include_like", "status", "words"),
    [
        ("ubuntu-22.04", ["ubuntu>=20.04"], False, "passed", "version: 22.04"),
        ("ubuntu-22.04", ["debian"], True, "passed", "like debian"),
        ("ubuntu-22.04", ["debian"], False, "failed", "distribution: ubuntu"),
        ("rhel-9", ["rhel>=8"], False, "passed", "version: 9.3"),
        ("rocky-9", ["rhel>=9"], True, "passed", "rocky (like rhel centos fedora)"),
        ("rocky-9", ["rhel"], False, "failed", "rocky"),
        ("alpine-3.19", ["alpine>=3.20"], False, "failed", "version: 3.19.1"),
    ],
)
def test_os_release_of_other_distributions_from_documented_samples(
    sample: str, distribution: list[str], include_like: bool, status: str, words: str
) -> None:
    """Written from os-release(5) and the values each distribution ships: not captured here."""
    info = software.parse_os_release((DOCUMENTED / f"os-release-{sample}.txt").read_text())
    outcome = software.judge_os(info, distribution, None, include_like)
    assert outcome.status == status, outcome
    assert words in outcome.observed, outcome


def test_command_version_outputs() -> None:
    git = answer(LOCAL / "command_version-git.json",
                 software.command_version_script("git", "--version"))
    outcome = software.judge_command_version(git["rc"], git["stdout"], "git", "2.30", True)
    assert outcome.status == "passed" and outcome.observed.startswith("present: git version 2.")
    missing = recording(LOCAL / "command_version-missing.json")["commands"][0]
    assert missing["rc"] == 127
    assert software.judge_command_version(127, "", "x", None, False).status == "passed"
    with pytest.raises(CheckError, match="cannot split"):
        software.command_version_script("docker 'compose", "--version")


def test_dpkg_package_list() -> None:
    listed = _parse_dpkg_list(stdout(LOCAL / "package.json"))
    assert listed["openssh-server"].startswith("1:9.")
    assert "libc6" in listed and "libc6:amd64" in listed
    assert "no-such-package-x" not in listed
    state = software.PackageState(True, listed["openssh-server"])
    assert software.judge_package("openssh-server", state, True, "10").status == "failed"


def test_sysctl_name_and_value() -> None:
    assert software.sysctl_path("net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward"
    with pytest.raises(CheckError, match="not a kernel parameter"):
        software.sysctl_path("../../etc/shadow")
    assert software.judge_sysctl("x", "0", None, None, 0).status == "passed"
    assert software.judge_sysctl("x", None, "1", None, None).observed == "x: no such parameter"


# --- services and processes --------------------------------------------------------------


def test_init_probe_in_this_container_and_on_other_systems() -> None:
    assert services.parse_init(stdout(LOCAL / "service.json")) == (None, "process_api")
    # Documented samples, not captured: systemd as PID 1; Alpine's BusyBox init with OpenRC.
    systemd = (DOCUMENTED / "init-systemd.txt").read_text()
    assert services.parse_init(systemd) == ("systemd", "systemd")
    alpine = (DOCUMENTED / "init-alpine-openrc.txt").read_text()
    assert services.parse_init(alpine) == ("openrc", "init")
    assert services.parse_init("none\ninit\n") == ("sysvinit", "init")


def test_processes_from_proc() -> None:
    procs = services.parse_processes(stdout(LOCAL / "process.json"))
    assert ("root", "sshd") in procs
    assert len(procs) > 10
    # Over ssh as a plain account the same table is readable: the sessions' sshd run as root.
    remote = services.parse_processes(stdout(SSH / "process.json"))
    assert ("root", "sshd") in remote
    assert services.parse_processes("1000 app\n@@passwd\n") == [("1000", "app")]
    judged = services.judge_process([("root", "nginx"), ("www-data", "nginx")], "nginx", True,
                                    "www-data", 1)
    assert judged.status == "passed"
    assert judged.observed == "1 nginx process as www-data (users: www-data)"


def test_time_sync_probe() -> None:
    running, tool, state = services.parse_time_sync(stdout(LOCAL / "time_sync.json"))
    assert running == [] and tool == "chronyc" and state == ""
    # Documented sample (a systemd host), not captured here.
    sample = (DOCUMENTED / "time-sync-timedatectl.txt").read_text()
    running, tool, state = services.parse_time_sync(sample)
    assert (running, tool, state) == (["chronyd"], "timedatectl", "yes")
    assert services.judge_time_sync(running, tool, state, True).status == "passed"


# --- network -----------------------------------------------------------------------------


def test_hex_addresses_of_proc_net() -> None:
    assert network.hex_address("0100007F") == "127.0.0.1"
    assert network.hex_address("00000000000000000000000001000000") == "::1"
    assert network.hex_address("0000000000000000FFFF00000100007F") == "127.0.0.1"
    assert network.hex_address("00000000000000000000000000000000") == "::"


def test_listening_sockets_of_this_machine_and_of_a_namespace() -> None:
    local = network.parse_listeners(stdout(LOCAL / "port_listening-mariadb.json"), "tcp")
    assert ("127.0.0.1", 3306) in local
    assert all(0 < port < 65536 for _, port in local)
    remote = network.parse_listeners(stdout(SSH / "port_listening-ssh.json"), "tcp")
    assert [p for _, p in remote] == [22]
    assert remote[0][0].startswith("10.201.")
    udp = network.parse_listeners(stdout(LOCAL / "port_listening-udp.json"), "udp")
    assert all(port != 53 for _, port in udp)


def test_tcp_probe_answers() -> None:
    rc, message = network.parse_probe(stdout(SSH / "tcp_reachable_from-refused.json"))
    assert (rc, message) == (1, "Connection refused")
    assert network.parse_probe(stdout(SSH / "tcp_reachable_from-open.json"))[0] == 0
    assert network.parse_probe(stdout(SSH / "tcp_reachable_from-silent.json")) == (124, "")
    assert network.parse_probe("") == (-1, "")
    with pytest.raises(CheckError, match="host:port"):
        network.split_host_port("db.internal")
    assert network.split_host_port("[::1]:5432") == ("::1", 5432)


# --- accounts ----------------------------------------------------------------------------


def test_account_list_of_this_machine() -> None:
    accounts_list = Accounts.parse(stdout(LOCAL / "user-root.json"))
    assert accounts_list is not None
    assert accounts_list.users["root"][:4] == ["root", "x", "0", "0"]
    assert accounts_list.groups_of("root")[0] == "root"


def test_accounts_from_sssd_are_asked_one_by_one() -> None:
    """Documented sample (RHEL 9 with SSSD), not captured: enumeration would miss accounts."""
    assert Accounts.parse((DOCUMENTED / "accounts-rhel-9-sssd.txt").read_text()) is None


def test_getent_answers_for_one_account_and_group() -> None:
    answer_ = "app:x:1000:1000::/home/app:/bin/bash\napp docker\n"
    fields, groups = accounts.parse_user(0, answer_, "app")
    assert fields is not None and fields[6] == "/bin/bash" and groups == ["app", "docker"]
    assert accounts.parse_user(3, "", "nobody-x") == (None, [])
    with pytest.raises(ParseError, match="unexpected answer"):
        accounts.parse_user(0, "garbage\n", "x")
    group = recording(LOCAL / "group-root.json")["commands"][0]
    facts = accounts.parse_group(group["rc"], group["stdout"], "root")
    assert facts is not None and facts.gid == 0 and facts.members == ["root"]
    assert accounts.parse_group(2, "", "x") is None


# --- files, directories, mounts ----------------------------------------------------------


def test_stat_id_and_offenders() -> None:
    st = files.parse_stat(stdout(LOCAL / "directory_permissions-tmp.json"))
    assert (st.kind, st.mode, st.owner) == ("directory", 0o1777, "root")
    plain_file = files.parse_stat(stdout(LOCAL / "directory_permissions-file.json"))
    assert plain_file.kind == "regular file"
    with pytest.raises(ParseError):
        files.parse_stat("stat: cannot statx '/x': No such file or directory")
    uid, groups = files.parse_user_ids(answer(LOCAL / "directory_permissions-tmp.json",
                                              "id -u nobody && id -Gn nobody")["stdout"])
    assert uid == "65534" and groups == ["nogroup"]
    assert files.can_write(st, "nobody", uid, groups)  # world-writable
    assert not files.can_write(files.Stat("directory", 0o755, "root", "root"), "nobody", uid,
                               groups)
    command = files.offenders_command("/srv", 0o755, None, None)
    assert command.startswith("find /srv -mindepth 1 \\( -perm /7022")


def test_mount_table() -> None:
    real, mounts = files.parse_mounts(stdout(LOCAL / "mount-proc.json"), "/proc")
    assert real == "/proc"
    proc = files.holding_mount(real, mounts)
    assert proc is not None and proc.fstype == "proc" and proc.point == "/proc"
    real, mounts = files.parse_mounts(stdout(LOCAL / "mount-etc.json"), "/etc")
    etc = files.holding_mount(real, mounts)
    assert etc is not None and etc.point == "/" and "rw" in etc.options
    table = "/srv/a b\n@@mounts\n/dev/x /srv/a\\040b ext4 rw 0 0\n"
    escaped = files.parse_mounts(table, "/srv/a b")
    assert files.holding_mount(*escaped) == files.Mount("/srv/a b", "ext4", ["rw"])


# --- logrotate, schedules, backups -------------------------------------------------------


def test_debian_logrotate_configuration() -> None:
    conf = parse_file_dump(stdout(LOCAL / "logrotate-apt.json"))
    assert "/etc/logrotate.conf" in conf and "/etc/logrotate.d/apt" in conf
    rules = schedules.parse_logrotate(conf)
    apt = next(r for r in rules if "/var/log/apt/history.log" in r.patterns)
    assert (apt.rotate, apt.compress, apt.frequency) == (12, True, "monthly")
    # A rule that sets nothing itself takes the defaults set before it in logrotate.conf.
    defaults = schedules.parse_logrotate({"a": "weekly\nrotate 4\n/x.log {\n}\n"})
    assert (defaults[0].rotate, defaults[0].frequency, defaults[0].compress) == (4, "weekly", False)


def test_debian_schedules() -> None:
    out = stdout(LOCAL / "cron_or_timer-logrotate.json")
    entries, unreadable = schedules.parse_schedules(out, "/var/spool/cron/crontabs")
    assert unreadable == []
    sources = {e.source for e in entries}
    assert {"/etc/cron.daily/logrotate", "/etc/cron.daily/dpkg"} <= sources
    e2scrub = next(e for e in entries if e.source == "/etc/cron.d/e2scrub_all")
    assert e2scrub.user == "root" and e2scrub.schedule.count(" ") == 4
    daily = next(e for e in entries if e.source == "/etc/cron.daily/dpkg")
    assert daily.schedule == "daily" and "dpkg-db-backup" in daily.command
    user = schedules.parse_crontab("MAILTO=ops\n@daily /bin/cleanup --all\n", "/spool/app", "app")
    assert user == [schedules.Schedule("/spool/app", "@daily", "app", "/bin/cleanup --all")]
    blocked = "\n@@golive-file /var/spool/cron/crontabs\n@@unreadable\n"
    assert schedules.parse_schedules(blocked, "/var/spool/cron/crontabs") == (
        [], ["/var/spool/cron/crontabs"])
    with pytest.raises(CheckError, match="permission denied"):
        schedules.judge_schedules("h", [], ["/var/spool/cron/crontabs"], "backup", None)


def test_cron_entries_without_a_cron_daemon_never_run() -> None:
    """Debian 12 ships /etc/cron.daily/logrotate; in this container no cron daemon runs it."""
    out = stdout(LOCAL / "cron_or_timer-logrotate.json")
    assert schedules.parse_cron_daemons(out) == []
    entries, unreadable = schedules.parse_schedules(out, "/var/spool/cron/crontabs")
    dormant = schedules.judge_schedules("h", entries, unreadable, "logrotate", None, [])
    assert dormant.status == "failed"
    assert dormant.observed == ("/etc/cron.daily/logrotate: daily (as root), but no cron daemon "
                                "runs on h: it never runs")
    running = schedules.judge_schedules("h", entries, unreadable, "logrotate", None, ["cron"])
    assert running.status == "passed"
    unknown = schedules.judge_schedules("h", entries, unreadable, "logrotate", None, None)
    assert unknown.status == "passed"  # daemon=false, or /proc/1 not readable: entries count
    assert schedules.parse_cron_daemons("@@crond cron anacron \n") == ["cron", "anacron"]
    assert schedules.parse_cron_daemons("\n@@golive-file /etc/crontab\n") is None
    timer = schedules.Schedule("timer logrotate.timer", "daily", "root", "/usr/sbin/logrotate")
    assert schedules.judge_schedules("h", [timer], [], "logrotate", None, []).status == "passed"


def test_file_times() -> None:
    now, found = schedules.parse_file_times(stdout(LOCAL / "newest_file_age.json"))
    assert found and all(t <= now for t, _ in found)
    assert [t for t, _ in found] == sorted(t for t, _ in found)
    with pytest.raises(ParseError):
        schedules.parse_file_times("")


# --- sshd --------------------------------------------------------------------------------


def test_sshd_t_as_root() -> None:
    values = sshd.parse_sshd_t(stdout(LOCAL / "sshd_config.json"))
    assert values["passwordauthentication"] == "yes"  # Debian's default configuration
    assert values["permitrootlogin"] == "prohibit-password"
    assert values["x11forwarding"] == "yes"
    assert sshd.parse_sshd_t("permitrootlogin without-password\n")["permitrootlogin"] == (
        "prohibit-password")


def test_sshd_configuration_parsed_as_a_plain_user() -> None:
    rec = recording(SSH / "sshd_config.json")
    assert rec["commands"][0]["rc"] == 1  # sshd -T refused: no access to the host keys
    conf = parse_file_dump(rec["commands"][1]["stdout"])
    values: dict[str, str] = {}
    includes = sshd.parse_sshd_config(conf["/etc/ssh/sshd_config"], values)
    assert includes == ["/etc/ssh/sshd_config.d/*.conf"]
    assert values["kbdinteractiveauthentication"] == "no" and values["x11forwarding"] == "yes"
    first: dict[str, str] = {}
    sshd.parse_sshd_config("PasswordAuthentication no\nMatch User x\nPermitRootLogin yes\n", first)
    assert first == {"passwordauthentication": "no"}
    with pytest.raises(CheckError, match="keyword value"):
        sshd.wanted_settings(None, None, ["x11forwarding"])


def test_every_parser_of_the_host_checks_is_tested_here() -> None:
    """A new ``parse_*`` function must come with a test on captured output in this file."""
    source = Path(__file__).read_text()
    modules = (accounts, capacity, files, network, schedules, services, sshd, software, shell)
    parsers = {name for m in modules for name, f in vars(m).items()
               if name.startswith("parse_") and getattr(f, "__module__", "") == m.__name__}
    assert len(parsers) >= 20
    assert not sorted(p for p in parsers if f"{p}(" not in source)
