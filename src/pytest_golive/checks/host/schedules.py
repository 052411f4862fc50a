"""Log rotation, schedules (cron, run-parts, systemd timers) and backups' ages."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Literal

from pytest_golive.checks.host.shell import FILE_MARK, ParseError, parsing, q, read_files, words
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import (
    Line,
    Proposal,
    has,
    lines_below,
    nearest_context,
    paths,
    proposes,
)
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget

# --- logrotate ---------------------------------------------------------------------------

#: File names logrotate skips in its include directories.
TABOO = (".dpkg-old", ".dpkg-dist", ".dpkg-new", ".dpkg-bak", ".disabled", ".rpmsave", ".rpmorig",
         ".rpmnew", ".swp", ".bak", ".old", ".orig", ",v", "~")
_FREQUENCIES = ("hourly", "daily", "weekly", "monthly", "yearly")
_SCRIPTS = ("postrotate", "prerotate", "firstaction", "lastaction", "preremove")


@dataclass
class RotateRule:
    """One logrotate block with its effective settings (its own over the defaults before it)."""

    patterns: list[str]
    file: str
    rotate: int = 0
    compress: bool = False
    frequency: str | None = None


def parse_logrotate(files: dict[str, str]) -> list[RotateRule]:
    """Rules from logrotate configuration files, read in order.

    Each rule has its patterns, the file it is in, and its effective
    ``rotate``, ``compress`` and frequency: the block's own directives over
    the global ones set before it.
    """
    defaults = RotateRule([], "")
    rules: list[RotateRule] = []
    for source, text in files.items():
        block: RotateRule | None = None
        in_script = False
        pending: list[str] = []  # patterns on the lines before a "{"
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if in_script:
                in_script = line != "endscript"
                continue
            if line.endswith("{"):
                patterns = pending + words(line[:-1])
                pending = []
                block = RotateRule(patterns, source, defaults.rotate, defaults.compress,
                                   defaults.frequency)
                continue
            if block is None and line[0] in "/\"'~*":
                pending += words(line)
                continue
            if line == "}":
                if block is not None:
                    rules.append(block)
                block = None
                continue
            word, _, rest = line.partition(" ")
            target = block if block is not None else defaults
            if word in _SCRIPTS:
                in_script = True
            elif word == "rotate" and rest.strip().lstrip("-").isdigit():
                target.rotate = int(rest.strip())
            elif word in ("compress", "nocompress"):
                target.compress = word == "compress"
            elif word in _FREQUENCIES:
                target.frequency = word
    return rules


def judge_logrotate(
    path: str, files: dict[str, str], config: str, config_dir: str, *, min_rotate: int | None,
    compress: bool | None, frequency: str | None,
) -> Outcome:
    """``files``: the configuration as read (path -> text), names logrotate skips included."""
    files = {k: v for k, v in files.items() if k == config or not k.endswith(TABOO)}
    rule = next(
        (r for r in parse_logrotate(files)
         if any(fnmatch.fnmatchcase(path, p) for p in r.patterns)),
        None,
    )
    ev = Evidence()
    where = f"{config} and {config_dir}/*"
    if rule is None:
        ev.add("rule", False, f"no rule for {path} in {where} ({len(files)} files)",
               f"a rule for {path}")
        return ev.outcome(path=path, files=sorted(files))
    ev.add("rule", True, f"{rule.file}: {' '.join(rule.patterns)}", f"a rule for {path}")
    if min_rotate is not None:
        ev.add("rotate", rule.rotate >= min_rotate, f"rotate {rule.rotate}",
               f"rotate >= {min_rotate}")
    if compress is not None:
        ev.add("compress", rule.compress == compress, "compress" if rule.compress else "nocompress",
               "compress" if compress else "nocompress")
    if frequency:
        ev.add("frequency", rule.frequency == frequency, rule.frequency or "none (size only)",
               frequency)
    return ev.outcome(path=path, rule_file=rule.file, rotate=rule.rotate, compress=rule.compress,
                      frequency=rule.frequency)


@check(target="host")
def logrotate(
    host: HostTarget,
    *,
    path: str,
    min_rotate: int | None = None,
    compress: bool | None = None,
    frequency: Literal["hourly", "daily", "weekly", "monthly", "yearly"] | None = None,
    config: str = "/etc/logrotate.conf",
    config_dir: str = "/etc/logrotate.d",
) -> Outcome:
    """A logrotate rule covers a log file, keeping at least N rotations, compressed, at a frequency.

    ``config`` and the files in ``config_dir`` are read and parsed as
    logrotate does: a rule's pattern (glob) must match ``path``; directives
    set outside any rule are the defaults for the rules after them.

    Args:
        path: the log file, such as /var/log/app/app.log.
        min_rotate: the fewest rotated files to keep (``rotate N``).
        compress: true to require ``compress``, false to require no compression.
        frequency: hourly, daily, weekly, monthly or yearly.
        config: the main logrotate configuration file.
        config_dir: the directory of per-package rules.
    """
    files = read_files(host, [config, f"{config_dir.rstrip('/')}/*"],
                       what="reading logrotate configuration")
    return judge_logrotate(path, files, config, config_dir, min_rotate=min_rotate,
                           compress=compress, frequency=frequency)


# --- cron and timers ---------------------------------------------------------------------

_ENV_LINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")
PERIODIC = ("/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly")
_UNREADABLE = "@@unreadable"
_PERIODIC_MARK = "@@periodic "
_TIMER_MARK = "@@timer "
_CROND_MARK = "@@crond"

#: The cron daemons running, by process name, printed before everything else: crontabs and
#: /etc/cron.* scripts only run while one does (``/proc/1/comm`` unreadable: cannot tell).
CROND_SCRIPT = (
    "if [ -r /proc/1/comm ]; then printf '" + _CROND_MARK + " %s\\n' \"$(cat /proc/[0-9]*/comm"
    " 2>/dev/null | grep -xE 'cron|crond|anacron|fcron|dcron|cronie' | sort -u | tr '\\n' ' ')\";"
    " fi; "
)


def parse_cron_daemons(out: str) -> list[str] | None:
    """The cron daemons :data:`CROND_SCRIPT` saw running, or None when it could not look."""
    for line in out.splitlines():
        if line == _CROND_MARK or line.startswith(_CROND_MARK + " "):
            return line[len(_CROND_MARK):].split()
    return None


#: Every systemd timer: unit|ActiveState|TimersCalendar|User and ExecStart of the service it starts.
TIMER_SCRIPT = (
    "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then "
    "for t in $(systemctl list-units --type=timer --all --plain --no-legend --no-pager"
    " | awk '{print $1}'); do "
    "u=$(systemctl show -p Unit --value \"$t\"); "
    "printf '@@timer %s|%s|%s|%s|%s\\n' \"$t\" \"$(systemctl show -p ActiveState --value \"$t\")\" "
    "\"$(systemctl show -p TimersCalendar --value \"$t\" | tr '\\n' ' ')\" "
    "\"$(systemctl show -p User --value \"$u\")\" "
    "\"$(systemctl show -p ExecStart --value \"$u\" | tr '\\n' ' ')\"; done; fi; true"
)


@dataclass(frozen=True)
class Schedule:
    """One way a command is run on a schedule."""

    source: str
    schedule: str
    user: str
    command: str

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "schedule": self.schedule, "user": self.user,
                "command": self.command}


def schedules_script(
    crontab: str, cron_dir: str, spool: str, periodic_dirs: list[str] | None, timers: bool
) -> str:
    """Every crontab (marked by file), every periodic script, and every timer, in one command.

    A file that cannot be read is marked ``@@unreadable`` instead of ending the
    command: the check can still conclude from a schedule it did find.
    """
    return CROND_SCRIPT + (
        f"for f in {q(crontab)} {q(cron_dir.rstrip('/'))}/*; do [ -f \"$f\" ] || continue; "
        f"printf '\\n{FILE_MARK}%s\\n' \"$f\"; "
        f"cat \"$f\" 2>/dev/null || echo '{_UNREADABLE}'; done; "
        f"if [ -d {q(spool)} ]; then if [ -r {q(spool)} ] && [ -x {q(spool)} ]; then "
        f"for f in {q(spool)}/*; do [ -f \"$f\" ] || continue; "
        f"printf '\\n{FILE_MARK}%s\\n' \"$f\"; "
        f"cat \"$f\" 2>/dev/null || echo '{_UNREADABLE}'; done; "
        f"else printf '\\n{FILE_MARK}%s\\n{_UNREADABLE}\\n' {q(spool)}; fi; fi; "
        f"for f in {' '.join(q(d.rstrip('/')) + '/*' for d in periodic_dirs or PERIODIC)}; do "
        "[ -f \"$f\" ] && [ -x \"$f\" ] || continue; printf '\\n@@periodic %s\\n' \"$f\"; "
        f"head -c 65536 \"$f\" 2>/dev/null || echo '{_UNREADABLE}'; done; "
        + (TIMER_SCRIPT if timers else "true")
    )


def parse_crontab(text: str, source: str, owner: str | None) -> list[Schedule]:
    """Entries of a crontab; ``owner`` is the user of a user crontab (no user field)."""
    entries = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or _ENV_LINE.match(line):
            continue
        fields = line.split()
        count = 1 if fields[0].startswith("@") else 5
        if owner is None:
            if len(fields) <= count + 1:
                continue
            schedule, who = " ".join(fields[:count]), fields[count]
            cmd = " ".join(fields[count + 1:])
        else:
            if len(fields) <= count:
                continue
            schedule, who, cmd = " ".join(fields[:count]), owner, " ".join(fields[count:])
        entries.append(Schedule(source, schedule, who, cmd))
    return entries


def parse_schedules(out: str, spool: str) -> tuple[list[Schedule], list[str]]:
    """(every schedule, every source that could not be read) from :func:`schedules_script`."""
    entries: list[Schedule] = []
    unreadable: list[str] = []
    current: str | None = None
    text = ""

    def flush() -> None:
        if current is None:
            return
        if _UNREADABLE in text:
            unreadable.append(current)
            return
        if current.startswith(_PERIODIC_MARK):
            path = current[len(_PERIODIC_MARK):]
            folder, _, name = path.rpartition("/")
            if re.fullmatch(r"[A-Za-z0-9_-]+", name):  # what run-parts runs
                entries.append(Schedule(path, folder.rsplit(".", 1)[-1], "root", f"{path}\n{text}"))
            return
        owner = current.rsplit("/", 1)[-1] if current.startswith(spool + "/") else None
        entries.extend(parse_crontab(text, current, owner))

    for line in out.splitlines():
        if line.startswith(FILE_MARK) or line.startswith(_PERIODIC_MARK):
            flush()
            current = line[len(FILE_MARK):] if line.startswith(FILE_MARK) else line
            text = ""
        elif line.startswith(_TIMER_MARK):
            flush()
            current, text = None, ""
            unit, state, calendar, run_as, exec_start = (line[8:].split("|") + [""] * 5)[:5]
            if state == "active":
                entries.append(Schedule(f"timer {unit}", calendar.strip(), run_as or "root",
                                        exec_start.strip()))
        else:
            text += line + "\n"
    flush()
    return entries, unreadable


def judge_schedules(
    host_name: str, entries: list[Schedule], unreadable: list[str], command: str,
    user: str | None, cron_daemons: list[str] | None = None,
) -> Outcome:
    """``command`` is the regular expression asked for (compiled by the caller's validation).

    ``cron_daemons``: the cron daemons running ([] none: cron entries never run; None: not
    known, or not asked).
    """
    pattern = re.compile(command)
    found = [e for e in entries if pattern.search(e.command) and (user is None or e.user == user)]
    expected = f"a cron entry or active timer running /{command}/" + (f" as {user}" if user else "")
    if cron_daemons == []:
        dormant = [e for e in found if not e.source.startswith("timer ")]
        found = [e for e in found if e.source.startswith("timer ")]
        if dormant and not found:
            first = dormant[0]
            return Outcome.failed(
                f"{first.source}: {first.schedule} (as {first.user}), but no cron daemon runs "
                f"on {host_name}: it never runs", expected + ", run by a cron daemon",
                schedules=[e.to_dict() for e in dormant[:10]], cron_daemon=False)
    if found:
        first = found[0]
        shown = first.command.splitlines()[0][:150] if first.command else ""
        seen = f"{first.source}: {first.schedule} (as {first.user}): {shown}"
        return Outcome.passed(seen, expected, schedules=[e.to_dict() for e in found[:10]])
    if unreadable:
        raise CheckError(
            f"host {host_name}: no schedule for /{command}/ found, and cannot read "
            f"{', '.join(unreadable)} (permission denied): run as root or with sudo"
        )
    return Outcome.failed(f"no schedule runs /{command}/ among {len(entries)} entries", expected,
                          entries=len(entries))


@check(target="host")
def cron_or_timer(
    host: HostTarget,
    *,
    command: str,
    user: str | None = None,
    crontab: str = "/etc/crontab",
    cron_dir: str = "/etc/cron.d",
    spool_dir: str = "/var/spool/cron/crontabs",
    periodic_dirs: list[str] | None = None,
    timers: bool = True,
    daemon: bool = True,
) -> Outcome:
    """A schedule exists that runs a command: a crontab entry, a periodic script or a systemd timer.

    Looked for in the system crontab, ``cron_dir``, the users' crontabs in
    ``spool_dir``, the scripts run-parts runs from ``/etc/cron.daily`` and
    its siblings (matched on their path and content) and, where systemd
    runs, the active timers and the ExecStart of the services they start. If
    nothing is found while a source could not be read (user crontabs are
    root-only), the check cannot conclude and says so.

    Args:
        command: a regular expression the scheduled command must match.
        user: only count schedules that run as this user.
        crontab: the system crontab.
        cron_dir: the directory of system crontab fragments.
        spool_dir: the directory of per-user crontabs.
        periodic_dirs: run-parts directories; empty for /etc/cron.hourly, .daily, .weekly and
            .monthly.
        timers: false to ignore systemd timers.
        daemon: false to count cron entries even when no cron daemon (cron, crond,
            anacron, ...) is seen running; by default such entries never run, so they fail.
    """
    try:
        re.compile(command)
    except re.error as exc:
        raise CheckError(
            f"cron_or_timer: command is not a valid regular expression: {exc}"
        ) from None
    spool = spool_dir.rstrip("/")
    out = host.run(schedules_script(crontab, cron_dir, spool, periodic_dirs, timers)).stdout
    entries, unreadable = parse_schedules(out, spool)
    return judge_schedules(host.name, entries, unreadable, command, user,
                           parse_cron_daemons(out) if daemon else None)


# --- backups -----------------------------------------------------------------------------


def newest_files_script(directory: str, pattern: str, recursive: bool) -> str:
    """The host's clock, then "mtime name" of each matching file; exit 3 without the directory.

    ``-printf`` is GNU find's: BusyBox find (Alpine without findutils) lacks it.
    """
    depth = "" if recursive else "-maxdepth 1 "
    return (
        f"test -d {q(directory)} || exit 3; date +%s; "
        f"find {q(directory)} {depth}-type f -name {q(pattern)} -printf '%T@ %f\\n'"
    )


def parse_file_times(stdout: str) -> tuple[float, list[tuple[float, str]]]:
    """(the host's time now, (mtime, name) of each file, oldest first)."""
    lines = stdout.strip().splitlines()
    try:
        now = float(lines[0])
        files = sorted((float(t), name) for t, _, name in (ln.partition(" ") for ln in lines[1:]))
    except (IndexError, ValueError):
        raise ParseError(f"unexpected answer listing files: {stdout.strip()[:80]!r}") from None
    return now, files


def _age(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def judge_file_ages(
    directory: str, pattern: str, now: float, files: list[tuple[float, str]], *,
    max_age_hours: float | None, retention_days: float | None,
) -> Outcome:
    ev = Evidence()
    ev.add("files", bool(files), f"{len(files)} files matching {pattern} in {directory}",
           "at least one")
    if files and max_age_hours is not None:
        newest_age = now - files[-1][0]
        ev.add("newest", newest_age <= max_age_hours * 3600,
               f"{files[-1][1]} is {_age(newest_age)} old", f"younger than {max_age_hours:g} h")
    if files and retention_days is not None:
        oldest_age = now - files[0][0]
        ev.add("oldest", oldest_age >= retention_days * 86400,
               f"{files[0][1]} is {_age(oldest_age)} old",
               f"at least {retention_days:g} days old (retention)")
    return ev.outcome(directory=directory, count=len(files))


@check(target="host", aliases=("backup_age",))
def newest_file_age(
    host: HostTarget,
    *,
    directory: str,
    pattern: str = "*",
    max_age_hours: float | None = None,
    retention_days: float | None = None,
    recursive: bool = False,
) -> Outcome:
    """The newest matching file in a directory is recent; the oldest shows retention.

    For backups: ``max_age_hours=26`` requires last night's backup to be
    there; ``retention_days=7`` requires that backups older than 7 days are
    still kept. Ages are measured against the host's own clock. Files are
    listed with GNU find (on Alpine, install ``findutils``).

    Args:
        directory: the directory holding the files.
        pattern: a shell glob the file names must match, such as *.sql.gz.
        max_age_hours: the newest matching file must be younger than this.
        retention_days: the oldest matching file must be at least this old.
        recursive: also look in subdirectories.
    """
    result = host.run(newest_files_script(directory, pattern, recursive))
    if result.rc == 3:
        ev = Evidence()
        ev.add("directory", False, f"no directory {directory}", "a directory with files")
        return ev.outcome(directory=directory)
    if "Permission denied" in result.stderr:
        raise CheckError(f"host {host.name}: cannot read {directory}: permission denied")
    with parsing(host):
        now, files = parse_file_times(result.stdout)
    return judge_file_ages(directory, pattern, now, files, max_age_hours=max_age_hours,
                           retention_days=retention_days)


# --- import rules: how checklist lines become schedule, rotation and backup-age checks ---


@proposes("logrotate")
def _logrotate_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\blog\w*\b.*\brotat\w*|\brotat\w*\b.*\blogs?\b|\blogrotate\b", t):
        return None
    rules = re.findall(r"^\s*(/\S+)\s*\{", line.code, re.MULTILINE)
    named_paths = rules or [p for p in paths(line.title + "\n" + line.code) if re.search(r"log", p)]
    if not named_paths:
        return Proposal(
            [("logrotate", {"path": "${log_file}"})],
            0.7,
            "log rotation: the log file is a variable",
        )
    # A rule's glob (/opt/app/logs/*.log) stands for the files it rotates: name one of them.
    path = re.sub(r"\*", "app", named_paths[0])
    params = {"path": path}
    rotate = re.search(r"^\s*rotate\s+(\d+)", line.code, re.MULTILINE)
    if rotate:
        params["min_rotate"] = rotate.group(1)
    freq = re.search(r"^\s*(hourly|daily|weekly|monthly|yearly)\s*$", line.code, re.MULTILINE)
    if freq:
        params["frequency"] = freq.group(1)
    if re.search(r"^\s*compress\s*$", line.code, re.MULTILINE):
        params["compress"] = "true"
    guessed = (
        (f"path={path} (a file the rule {named_paths[0]} covers)",) if "*" in named_paths[0] else ()
    )
    return Proposal(
        [("logrotate", params), ("logrotate", {"path": path})], 0.85, "log rotation", guessed
    )


def _max_age_hours(text: str) -> tuple[str, bool]:
    if has(r"hourly|every hour", text):
        return "2", False
    if has(r"every night|every day", text):
        return "26", False
    if has(r"weekly|every week", text):
        return "192", False
    if has(r"monthly", text):
        return "768", False
    return "26", not has(r"daily|nightly|every day|24 ?h", text)


@proposes("newest_file_age")
def _backups_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\bbackups?\b|\bbacked up\b|\bsnapshots?\b|\bdumps?\b", t):
        return None
    if has(
        r"restor\w*|retention|off-?site|replicat\w*|bucket|encrypt\w*|tested|test\b|"
        r"verify .*integrity",
        t,
    ):
        return None
    if not has(
        r"schedul\w*|automat\w*|daily|nightly|hourly|weekly|running|completed|configured|enabled|"
        r"in place|implemented|successful|every (night|day|hour|week)|taken|recent",
        t,
    ):
        return None
    named_paths = paths(line.title + "\n" + line.code)
    # A directory the line does not name is the team's: /var/backups is fresh on any Debian host.
    path = named_paths[0] if named_paths else "${backup_dir}"
    hours, hours_guessed = _max_age_hours(t + " " + " ".join(lines_below(line)))
    guessed = tuple(g for g, on in ((f"max_age_hours={hours}", hours_guessed),) if on)
    params = {"directory": path, "max_age_hours": hours}
    retention = re.search(
        r"(\d+)[- ]?days? retention|retention[^\d]{0,20}(\d+)[- ]?days?",
        " ".join(lines_below(line)),
    )
    if retention:
        params["retention_days"] = retention.group(1) or retention.group(2)
    return Proposal(
        [("newest_file_age", params)], 0.75 if named_paths else 0.7, "backups are recent", guessed
    )


@proposes("newest_file_age")
def _backup_retention_rule(line: Line) -> Proposal | None:
    t = line.lower
    m = re.search(
        r"(\d+)[- ]?days?\b.*\bretention|\bretention\b[^\d]{0,20}(\d+)[- ]?days?|\b(?:keep\w*|"
        r"kept)\b.*?(\d+)[- ]?days?",
        t,
    )
    about_backups = has(r"backup|dump|snapshot", t) or has(
        r"backup|dump|snapshot", nearest_context(line)
    )
    if not about_backups:
        return None
    if not m:
        if has(r"\bretention\b", t) and not has(r"off-?site|replicat\w*|restor\w*", t):
            return Proposal([("newest_file_age", {"directory": "${backup_dir}",
                                                  "retention_days": "${backup_retention_days}"})],
                            0.7, "the oldest backup shows the retention (days are a variable)")
        return None
    days = m.group(1) or m.group(2) or m.group(3)
    named_paths = paths(line.title)
    path = named_paths[0] if named_paths else "${backup_dir}"
    guessed: tuple[str, ...] = ()
    return Proposal([("newest_file_age", {"directory": path, "retention_days": days})], 0.7,
                    f"backups kept {days} days", guessed)


@proposes("cron_or_timer")
def _cron_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\b(cron(job|tab)?|systemd timer|timer unit|scheduled job)\b", t) or has(
        r"backup", t
    ):
        return None
    m = re.search(r"[`'\"]([\w@.-]+)[`'\"]", line.marked)
    if m:
        return Proposal(
            [("cron_or_timer", {"command": re.escape(m.group(1))})],
            0.7,
            f"scheduled job {m.group(1)}",
        )
    return Proposal([("cron_or_timer", {})], 0.45, "which job? add command=REGEX")
