"""Services, processes and time synchronisation.

Processes are read from ``/proc`` (no procps needed), so the same parser
serves every Linux host; services go through testinfra's service module,
which knows systemd, SysV init, OpenRC and Upstart.
"""

from __future__ import annotations

import re

from pytest_golive.checks.host.shell import output
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, has, names_from_code, proposes
from pytest_golive.core.outcome import Evidence, Outcome
from pytest_golive.targets.host import HostTarget

# --- init system -------------------------------------------------------------------------

#: PID 1 commands of init systems testinfra's service module understands.
KNOWN_INITS = {
    "systemd": "systemd", "init": "sysvinit", "openrc-init": "openrc", "upstart": "upstart",
}

#: Whether systemd runs, PID 1's command name, and whether OpenRC's tools are there.
INIT_SCRIPT = (
    "if [ -d /run/systemd/system ]; then echo systemd; else echo none; fi;"
    " cat /proc/1/comm 2>/dev/null;"
    " command -v rc-service >/dev/null 2>&1 && echo openrc; true"
)


def parse_init(out: str) -> tuple[str | None, str]:
    """(init system testinfra can query or None, PID 1's command name) from :data:`INIT_SCRIPT`."""
    found = out.split()
    pid1 = found[1] if len(found) > 1 else "unknown"
    if found and found[0] == "systemd":
        return "systemd", pid1
    if "openrc" in found[2:]:
        return "openrc", pid1
    return KNOWN_INITS.get(pid1), pid1


def judge_service(
    name: str, init: str, is_running: bool, running: bool, is_enabled: bool | None,
    enabled: bool | None,
) -> Outcome:
    ev = Evidence()
    ev.add("running", is_running == running, "running" if is_running else "not running",
           "running" if running else "not running")
    if enabled is not None and is_enabled is not None:
        ev.add("enabled", is_enabled == enabled, "enabled" if is_enabled else "disabled",
               "enabled" if enabled else "disabled")
    return ev.outcome(service=name, init=init)


@check(target="host")
def service(
    host: HostTarget, *, name: str, running: bool = True, enabled: bool | None = True
) -> Outcome:
    """A service is running (or stopped) and enabled at boot (or not), per the init system.

    Queried through testinfra's service module: systemd where present, else
    SysV init, OpenRC or Upstart. A host whose PID 1 is none of those (a
    container started without an init system) cannot say whether a service
    is running or enabled: the check is then not applicable, never passed.

    Args:
        name: the service (unit) name, such as nginx or ssh.
        running: false to require that the service is stopped.
        enabled: false to require that it is disabled at boot; empty to not check.
    """
    init, pid1 = parse_init(host.run(INIT_SCRIPT).stdout)
    if init is None:
        return Outcome.not_applicable(
            f"host {host.name} has no init system testinfra knows (PID 1 is {pid1}): "
            f"cannot tell whether service {name} is running or enabled",
            pid1=pid1,
        )
    svc = host.testinfra.service(name)
    is_running = bool(svc.is_running)
    is_enabled = bool(svc.is_enabled) if enabled is not None else None
    return judge_service(name, init, is_running, running, is_enabled, enabled)


# --- processes ---------------------------------------------------------------------------

#: uid and command name of every process, then uid of every account.
PROCESS_SCRIPT = (
    "cat /proc/[0-9]*/status 2>/dev/null | awk '/^Name:/{n=$2} /^Uid:/{print $2, n}'; "
    "echo @@passwd; getent passwd | cut -d: -f1,3"
)


def parse_processes(out: str) -> list[tuple[str, str]]:
    """(user, command name) of every process from :data:`PROCESS_SCRIPT`'s output.

    A uid without an account is shown as the number.
    """
    table, _, passwd = out.partition("@@passwd")
    names = {}
    for line in passwd.split():
        if ":" in line:
            user, _, uid = line.partition(":")
            names[uid] = user
    procs = []
    for line in table.splitlines():
        uid, _, comm = line.partition(" ")
        if comm:
            procs.append((names.get(uid, uid), comm.strip()))
    return procs


def judge_process(
    procs: list[tuple[str, str]], name: str, running: bool, user: str | None, min_count: int
) -> Outcome:
    # The kernel keeps 15 characters of a command name.
    users = [who for who, comm in procs if comm == name[:15] and (user is None or who == user)]
    who = f" as {user}" if user else ""
    count = len(users)
    seen = f"{count} {name} process{'es' if count != 1 else ''}{who}"
    if users:
        seen += f" (users: {', '.join(sorted(set(users)))})"
    if running:
        return Outcome.of(count >= min_count, seen, f">= {min_count} running{who}", count=count)
    return Outcome.of(count == 0, seen, f"no {name} process{who}", count=count)


@check(target="host")
def process(
    host: HostTarget, *, name: str, running: bool = True, user: str | None = None,
    min_count: int = 1,
) -> Outcome:
    """A process with this command name is running (or none is), optionally as a user.

    Matched on the exact command name (``Name`` in ``/proc/PID/status``, at most 15
    characters), not on arguments, so the observation command never matches
    itself.

    Args:
        name: the process's command name, such as nginx or mysqld.
        running: false to require that no such process runs.
        user: only count processes running as this user.
        min_count: the smallest acceptable number of matching processes.
    """
    procs = parse_processes(output(host, PROCESS_SCRIPT, what="reading /proc"))
    return judge_process(procs, name, running, user, min_count)


# --- time synchronisation ----------------------------------------------------------------

TIME_DAEMONS = ("chronyd", "ntpd", "systemd-timesyn", "openntpd", "ntpsec")

#: Every process's command name, then what the clock says of its synchronisation.
TIME_SCRIPT = (
    "cat /proc/[0-9]*/comm 2>/dev/null; echo @@sync; "
    "if [ -d /run/systemd/system ] && command -v timedatectl >/dev/null 2>&1; then "
    "echo timedatectl $(timedatectl show -p NTPSynchronized --value); "
    "elif command -v chronyc >/dev/null 2>&1; then "
    "echo chronyc $(chronyc -n tracking 2>/dev/null | grep -i '^Leap status' | cut -d: -f2);"
    " fi; true"
)


def parse_time_sync(out: str) -> tuple[list[str], str, str]:
    """(time daemons running, the tool asked, its answer) from :data:`TIME_SCRIPT`'s output.

    The tool is ``timedatectl`` (answer yes/no) or ``chronyc`` (its leap
    status, "Normal" when synchronised); "nothing" when neither could be asked.
    """
    procs, _, sync = out.partition("@@sync")
    running = sorted({p.strip() for p in procs.split() if p.strip() in TIME_DAEMONS})
    found = sync.split()
    return running, found[0] if found else "nothing", " ".join(found[1:])


def judge_time_sync(running: list[str], tool: str, state: str, synchronized: bool) -> Outcome:
    ev = Evidence()
    ev.add("daemon", bool(running), ", ".join(running) or "no time synchronisation daemon running",
           "chronyd, ntpd or systemd-timesyncd running")
    if synchronized:
        ok = state.lower() in ("yes", "normal")
        ev.add("synchronized", ok, f"{tool}: {state or 'unknown'}", "synchronised")
    return ev.outcome(daemons=running)


@check(target="host", aliases=("ntp",))
def time_sync(host: HostTarget, *, synchronized: bool = False) -> Outcome:
    """A time synchronisation daemon runs: chrony, ntpd or systemd-timesyncd.

    With ``synchronized``, the clock must also report itself synchronised
    (``timedatectl`` where systemd runs, else ``chronyc tracking``).

    Args:
        synchronized: also require that the clock is synchronised now.
    """
    running, tool, state = parse_time_sync(host.run(TIME_SCRIPT).stdout)
    return judge_time_sync(running, tool, state, synchronized)


# --- import rules: how checklist lines become service and process checks --------------


_SERVICE_STATE = r"enabled|enable|auto-?start|on boot|running|started|active|up"


#: Daemons that are a host's own services, named as their units usually are.
_DAEMONS = {
    "nginx": "nginx",
    "apache2": "apache2",
    "httpd": "httpd",
    "haproxy": "haproxy",
    "fail2ban": "fail2ban",
    "chronyd": "chronyd",
    "chrony": "chronyd",
    "sshd": "sshd",
    "docker": "docker",
    "containerd": "containerd",
    "cron": "cron",
    "crond": "crond",
    "rsyslog": "rsyslog",
    "auditd": "auditd",
    "firewalld": "firewalld",
    "node_exporter": "node_exporter",
    "prometheus": "prometheus",
    "grafana": "grafana-server",
    "supervisor": "supervisor",
    "supervisord": "supervisord",
    "postfix": "postfix",
    "filebeat": "filebeat",
    "fluentd": "fluentd",
    "fluent-bit": "fluent-bit",
    "telegraf": "telegraf",
    "datadog-agent": "datadog-agent",
}


@proposes("service")
def _daemon_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\b(running|active|started|enabled|up and running)\b", t) or has(
        r"\b(not|no longer|disabled|stopped)\b", t
    ):
        return None
    found = [
        unit
        for word, unit in _DAEMONS.items()
        if re.search(rf"(?<![\w/-]){re.escape(word)}(?![\w/-])", t)
    ]
    if len(found) == 1:
        # A daemon named by its unit says more than a role word on the same line
        # ("node_exporter running on every worker" is not about the workers): it wins the tie.
        return Proposal([("service", {"name": found[0]})], 0.72, f"service {found[0]} running")
    return None


@proposes("service")
def _service_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\b(systemd|services?|daemons?|units?)\b", t):
        return None
    if has(
        r"\b(external|web ?service|soap|api|micro-?services?|service account|services? (is|"
        r"are) (reachable|healthy))\b",
        t,
    ):
        return None
    names = re.findall(r"([\w@-]+)\.service\b", line.title + "\n" + line.code)
    names = names or names_from_code(
        line.code, r"systemctl\s+(?:enable|start|status|restart|is-active|is-enabled)(?:\s+--now)?"
    )
    names = names or re.findall(r"`([\w@.-]+)`", line.marked)
    enabled = bool(has(r"enable|auto-?start|on boot|boot", t + " " + line.code))
    running = bool(has(r"running|started|\bactive\b|\bstart\b|status", t + " " + line.code))
    if has(r"\b(stopped|disabled|not running|masked)\b|restart polic\w*|restart=", t):
        return None
    if not names:
        if has(rf"\b({_SERVICE_STATE}|created|configured)\b", t) and has(r"systemd|services?", t):
            return Proposal(
                [("service", {"name": "${app_service}"})],
                0.65,
                "which service is the team's: its unit name is a variable",
            )
        return None
    # The service check requires running and enabled by default, which is what these lines mean.
    state = (
        " and ".join(w for w, on in (("enabled", enabled), ("running", running)) if on) or "present"
    )
    return Proposal([("service", {"name": names[0]})], 0.8, f"service {names[0]} {state}")


@proposes("service")
def _application_running_rule(line: Line) -> Proposal | None:
    """"Application started": the team's service runs (its unit name is a variable)."""
    t = line.lower
    shape = (r"\W*(the )?(application|app|backend|api|worker|daemon)s?( service)?( is| are)? "
             r"(started|running|up( and running)?)( on \w+( \w+)?)?\W*")
    if not re.fullmatch(shape, t):
        return None
    return Proposal([("service", {"name": "${app_service}"})], 0.65,
                    "the application's service runs (its unit name is a variable)")


@proposes("process")
def _process_rule(line: Line) -> Proposal | None:
    m = re.search(r"\bprocess\s+[`'\"]?([\w.-]+)[`'\"]?\s+(?:is\s+)?running\b", line.marked, re.I)
    if m:
        return Proposal([("process", {"name": m.group(1)})], 0.75, f"process {m.group(1)}")
    return None


@proposes("time_sync")
def _time_sync_rule(line: Line) -> Proposal | None:
    if has(
        r"\b(ntpd?|chrony\w*|timesyncd|time[- ]?sync\w*|clock (is |in )?(sync\w*|drift)|"
        r"clocks? in sync)\b",
        line.lower,
    ):
        return Proposal([("time_sync", {})], 0.8, "time synchronisation")
    return None
