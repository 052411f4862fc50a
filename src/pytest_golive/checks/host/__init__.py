"""Host checks, through pytest-testinfra.

Each check takes a :class:`~pytest_golive.targets.host.HostTarget` and
observation-only parameters; nothing here changes a host. One module per
concern, and in each the same three steps: an observation (a command, or a
testinfra module) gathers raw output, a pure parser turns it into facts, and
a pure judge turns facts and parameters into an :class:`Outcome`. Parsers
and judges are tested on output captured from real hosts
(``tests/data/host/``); the checks themselves on live hosts.
"""

from __future__ import annotations

from pytest_golive.checks.host.accounts import group, user
from pytest_golive.checks.host.capacity import (
    cpu,
    cpu_usage,
    disk_free,
    disk_size,
    memory,
    memory_usage,
)
from pytest_golive.checks.host.files import directory_permissions, file, mount
from pytest_golive.checks.host.network import port_listening, tcp_reachable_from
from pytest_golive.checks.host.schedules import cron_or_timer, logrotate, newest_file_age
from pytest_golive.checks.host.services import TIME_DAEMONS, process, service, time_sync
from pytest_golive.checks.host.sshd import sshd_config
from pytest_golive.checks.host.system import command_version, os_release, package, packages, sysctl

#: The command names of time synchronisation daemons (kept under its former name too).
_TIME_DAEMONS = TIME_DAEMONS

__all__ = [
    "command_version", "cpu", "cpu_usage", "cron_or_timer", "directory_permissions", "disk_free",
    "disk_size", "file", "group", "logrotate", "memory", "memory_usage", "mount",
    "newest_file_age", "os_release", "package", "packages", "port_listening", "process",
    "service", "sshd_config", "sysctl", "tcp_reachable_from", "time_sync", "user",
]
