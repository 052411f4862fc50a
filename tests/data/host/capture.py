"""Capture what real hosts answer the host checks: run explicitly, as root, to refresh the data.

    .venv/bin/python -m pytest tests/data/host/capture.py -p no:cacheprovider

Each case runs one check once on a real host and writes its recording
(:mod:`data.recording`) under ``<system>/``: this machine over ``local://``
(as root) and a fleet host over ``ssh://`` (``tests/support/fleet.py``: a
network namespace running Debian's sshd, logged into as a plain account).
The checks read this machine's own configuration (``/etc/logrotate.d``,
``/etc/cron.daily``, ``/etc/ssh``...), nothing planted, so a recording is
what a readiness run here would see. Not collected by the suite (the name
does not start with ``test_``).
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import pytest

from data.recording import RecordingHost, outcome_record, run_once, write
from pytest_golive.checks.registry import REGISTRY
from pytest_golive.core.config import Settings, TargetSpec
from support.fleet import Fleet

HERE = Path(__file__).parent


def _system() -> str:
    lines = Path("/etc/os-release").read_text().splitlines()
    info = dict(line.split("=", 1) for line in lines if "=" in line)
    return f"{info['ID']}-{info['VERSION_ID'].strip(chr(34))}"


#: (case name, check, parameters, where: "local", "ssh" or both)
CASES: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
    ("cpu", "cpu", {"min": "1"}, ("local", "ssh")),
    ("memory", "memory", {"min_gib": "0.5"}, ("local",)),
    ("disk_free", "disk_free", {"path": "/", "min_gib": "1"}, ("local", "ssh")),
    ("disk_size", "disk_size", {"path": "/var", "min_gib": "10000"}, ("local",)),
    ("memory_usage", "memory_usage", {"max_percent": "95"}, ("local",)),
    ("cpu_usage", "cpu_usage", {"max_percent": "99"}, ("local",)),
    ("os", "os", {"distribution": "debian>=12,ubuntu>=22.04"}, ("local", "ssh")),
    ("os-rhel", "os", {"distribution": "rhel,rocky", "include_like": "true"}, ("local",)),
    ("command_version-python3", "command_version", {"command": "python3", "min_version": "3.11"},
     ("local", "ssh")),
    ("command_version-git", "command_version", {"command": "git", "min_version": "99"}, ("local",)),
    ("command_version-missing", "command_version", {"command": "no-such-command-x"}, ("local",)),
    ("command_version-subcommand", "command_version",
     {"command": "git no-such-subcommand", "min_version": "2"}, ("local",)),
    ("package", "package", {"name": "openssh-server", "min_version": "9"}, ("local", "ssh")),
    ("package-missing", "package", {"name": "no-such-package-x"}, ("local",)),
    ("packages", "packages", {"names": "openssh-server, iproute2, nginx-light"}, ("local",)),
    ("service", "service", {"name": "ssh"}, ("local", "ssh")),
    ("process", "process", {"name": "sshd", "user": "root"}, ("local", "ssh")),
    ("process-absent", "process", {"name": "no-such-daemon", "running": "false"}, ("local",)),
    ("port_listening-mariadb", "port_listening", {"port": "3306", "address": "0.0.0.0",
                                                   "listening": "false"}, ("local",)),
    ("port_listening-ssh", "port_listening", {"port": "22"}, ("ssh",)),
    ("port_listening-udp", "port_listening", {"port": "53", "protocol": "udp",
                                               "listening": "false"}, ("local",)),
    ("user-root", "user", {"name": "root"}, ("local", "ssh")),
    ("user-missing", "user", {"name": "no-such-user-x", "exists": "false"}, ("local",)),
    ("user-nobody", "user", {"name": "nobody", "shell": "/usr/sbin/nologin", "groups": "nogroup"},
     ("local",)),
    ("group-root", "group", {"name": "root", "gid": "0", "members": "root"}, ("local", "ssh")),
    ("group-missing", "group", {"name": "no-such-group-x"}, ("local",)),
    ("directory_permissions-etc-ssh", "directory_permissions",
     {"path": "/etc/ssh", "max_mode": "0755", "owner": "root", "recursive": "true"}, ("local",)),
    ("directory_permissions-tmp", "directory_permissions",
     {"path": "/tmp", "mode": "1777", "writable_by": "nobody"}, ("local",)),
    ("directory_permissions-file", "directory_permissions", {"path": "/etc/hostname"}, ("local",)),
    ("mount-etc", "mount", {"path": "/etc", "options": "rw"}, ("local", "ssh")),
    ("mount-proc", "mount", {"path": "/proc", "fstype": "proc", "dedicated": "true"}, ("local",)),
    ("time_sync", "time_sync", {"synchronized": "true"}, ("local",)),
    ("sysctl-ostype", "sysctl", {"name": "kernel.ostype", "value": "Linux"}, ("local",)),
    ("sysctl-forward", "sysctl", {"name": "net.ipv4.ip_forward", "max": "0"}, ("local", "ssh")),
    ("sysctl-missing", "sysctl", {"name": "kernel.no_such_key", "value": "1"}, ("local",)),
    ("logrotate-apt", "logrotate", {"path": "/var/log/apt/history.log", "min_rotate": "12",
                                    "compress": "true", "frequency": "monthly"}, ("local",)),
    ("logrotate-missing", "logrotate", {"path": "/srv/app/app.log"}, ("local",)),
    ("cron_or_timer-logrotate", "cron_or_timer", {"command": "logrotate"}, ("local",)),
    ("cron_or_timer-e2scrub", "cron_or_timer", {"command": "e2scrub_all", "user": "root"},
     ("local",)),
    # Debian 12's /etc/cron.daily/dpkg runs dpkg-db-backup: matched on the script's content.
    ("cron_or_timer-db-backup", "cron_or_timer", {"command": "db-backup"}, ("local", "ssh")),
    # As a plain user the crontab spool is unreadable: nothing found cannot be concluded.
    ("cron_or_timer-missing", "cron_or_timer", {"command": "no-such-job-x"}, ("local", "ssh")),
    ("newest_file_age", "newest_file_age", {"directory": "/var/log/apt", "pattern": "*.log",
                                            "max_age_hours": "1", "retention_days": "1"},
     ("local",)),
    ("newest_file_age-missing", "newest_file_age", {"directory": "/no/such/dir"}, ("local",)),
    ("sshd_config", "sshd_config", {"settings": "x11forwarding no"}, ("local", "ssh")),
]


@pytest.fixture(scope="module")
def hosts(fleet: Fleet) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "local": ("local", {"url": "local://"}),
        "ssh": (fleet.hosts[0].name, fleet.options(fleet.hosts[0].ssh_url)),
    }


@pytest.mark.parametrize(("case", "check", "params", "where"), CASES, ids=[c[0] for c in CASES])
def test_capture(case: str, check: str, params: dict[str, Any], where: tuple[str, ...],
                 hosts: dict[str, tuple[str, dict[str, Any]]]) -> None:
    for kind in where:
        name, options = hosts[kind]
        target = RecordingHost(TargetSpec("host", name, (), options), Settings(connect_timeout=3))
        outcome = run_once(target, check, params)
        system = _system() if kind == "local" else f"{_system()}-netns-ssh"
        write(HERE / system / f"{case}.json", {
            "system": system,
            "how": ("this machine over local:// as root" if kind == "local" else
                    "a fleet host (network namespace, Debian's sshd) over ssh:// as a plain user"),
            "kernel": platform.release(),
            "target": name,
            "check": check,
            "params": params,
            "commands": target.steps,
            "outcome": outcome,
        })


def test_capture_tcp_reachable_from(fleet: Fleet) -> None:
    """Connections from a fleet host: open, refused, and to an address nobody answers."""
    first = fleet.hosts[0]
    cases = {
        "tcp_reachable_from-open": {"to": f"{fleet.hosts[1].address}:22"},
        "tcp_reachable_from-refused": {"to": f"{fleet.hosts[1].address}:23"},
        "tcp_reachable_from-silent": {"to": f"{fleet.unreachable}:22", "timeout": "1"},
    }
    chk = REGISTRY.get("tcp_reachable_from")
    for case, params in cases.items():
        target = RecordingHost(TargetSpec("host", first.name, (), fleet.options(first.ssh_url)),
                               Settings(connect_timeout=3))
        try:
            outcome = chk.func(target, **chk.validate(params))
        finally:
            target.close()
        system = f"{_system()}-netns-ssh"
        write(HERE / system / f"{case}.json", {
            "system": system, "how": "a fleet host over ssh:// as a plain user",
            "kernel": platform.release(), "target": first.name, "check": "tcp_reachable_from",
            "params": params, "commands": target.steps, "outcome": outcome_record(outcome, None),
        })
