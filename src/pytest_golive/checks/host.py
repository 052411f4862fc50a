"""Host checks, through pytest-testinfra.

Each check takes a :class:`~pytest_golive.targets.host.HostTarget` and
observation-only parameters; nothing here changes a host.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import socket
from typing import Literal

from pytest_golive.checks.registry import check
from pytest_golive.checks.versions import parse_version, version_at_least
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget

GIB = 1024**3


@check(target="host", aliases=("vcpus",))
def cpu(host: HostTarget, *, min: int = 1) -> Outcome:
    """At least ``min`` CPUs are online on the host.

    Args:
        min: the smallest acceptable number of online CPUs.
    """
    result = host.run("nproc")
    if result.rc != 0 or not result.stdout.strip().isdigit():
        raise CheckError(f"host {host.name}: nproc failed: {result.stderr.strip() or result.stdout.strip()}")
    count = int(result.stdout.strip())
    return Outcome.of(count >= min, f"{count} vCPUs", f">= {min} vCPUs", cpus=count)


@check(target="host", aliases=("ram",))
def memory(host: HostTarget, *, min_gib: float) -> Outcome:
    """The host has at least ``min_gib`` GiB of memory in all (MemTotal).

    Args:
        min_gib: the smallest acceptable total memory, in GiB.
    """
    result = host.run("cat /proc/meminfo")
    for line in result.stdout.splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            gib = kib * 1024 / GIB
            return Outcome.of(gib >= min_gib, f"{gib:.1f} GiB", f">= {min_gib:g} GiB", mem_total_bytes=kib * 1024)
    raise CheckError(f"host {host.name}: no MemTotal in /proc/meminfo")


def _df(host: HostTarget, path: str) -> tuple[int, int]:
    """(size, available) in bytes of the file system holding ``path``."""
    result = host.run("df -P -B1 %s", path)
    lines = result.stdout.strip().splitlines()
    if result.rc != 0 or len(lines) < 2:
        raise CheckError(f"host {host.name}: df {path} failed: {result.stderr.strip()}")
    fields = lines[-1].split()
    return int(fields[1]), int(fields[3])


@check(target="host")
def disk_free(host: HostTarget, *, path: str = "/", min_gib: float) -> Outcome:
    """The file system holding ``path`` has at least ``min_gib`` GiB available.

    Args:
        path: a path on the file system to measure.
        min_gib: the smallest acceptable free space, in GiB.
    """
    size, avail = _df(host, path)
    return Outcome.of(
        avail / GIB >= min_gib, f"{avail / GIB:.1f} GiB free on {path}", f">= {min_gib:g} GiB free",
        size_bytes=size, available_bytes=avail,
    )


def _package_state(host: HostTarget, name: str) -> tuple[bool, str | None]:
    """(installed, version) of one package.

    On Debian-family hosts from the package list read once per host
    (:meth:`HostTarget.installed_packages`); elsewhere, and for glob
    patterns, through testinfra's package module, which knows each package
    manager.
    """
    listed = host.installed_packages()
    if listed is not None and not any(c in name for c in "*?["):
        version = listed.get(name)
        return version is not None, version
    try:
        pkg = host.testinfra.package(name)
        is_installed = pkg.is_installed
        return is_installed, pkg.version if is_installed else None
    except CheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - testinfra raises for unknown package managers
        raise CheckError(f"host {host.name}: cannot query package {name}: {exc}") from None


@check(target="host")
def package(host: HostTarget, *, name: str, installed: bool = True, min_version: str | None = None) -> Outcome:
    """A system package is installed (or absent), optionally at least a version.

    Args:
        name: the package name as the host's package manager knows it.
        installed: false to require that the package is absent.
        min_version: the smallest acceptable version (compared by the package manager's rules where possible).
    """
    is_installed, version = _package_state(host, name)
    ev = Evidence()
    ev.add("installed", is_installed == installed, "yes" if is_installed else "no", "yes" if installed else "no")
    if installed and min_version and is_installed:
        ev.add("version", version_at_least(version, min_version), version, f">= {min_version}")
    return ev.outcome(package=name, version=version)


@check(target="host")
def packages(host: HostTarget, *, names: list[str]) -> Outcome:
    """Every package in a list is installed (for "required system packages installed").

    Args:
        names: the package names as the host's package manager knows them.
    """
    missing, versions = [], {}
    for name in names:
        installed, version = _package_state(host, name)
        if installed:
            versions[name] = version
        else:
            missing.append(name)
    seen = f"missing: {', '.join(missing)}" if missing else f"all {len(names)} installed"
    return Outcome.of(not missing, seen, f"installed: {', '.join(names)}", versions=versions, missing=missing)


@check(target="host")
def file(
    host: HostTarget,
    *,
    path: str,
    exists: bool = True,
    type: str | None = None,
    mode: str | None = None,
    owner: str | None = None,
    group: str | None = None,
    contains: str | None = None,
) -> Outcome:
    """A file exists (or not) with the given type, mode, owner, group and content.

    Args:
        path: the absolute path on the host.
        exists: false to require that nothing exists at ``path``.
        type: file, directory, symlink, socket or pipe.
        mode: the exact octal mode, such as 0600.
        owner: the owning user name.
        group: the owning group name.
        contains: a regular expression the content must match (files only).
    """
    f = host.testinfra.file(path)
    ev = Evidence()
    present = f.exists
    ev.add("exists", present == exists, "yes" if present else "no", "yes" if exists else "no")
    if present and exists:
        if type:
            kinds = {"file": f.is_file, "directory": f.is_directory, "symlink": f.is_symlink,
                     "socket": f.is_socket, "pipe": f.is_pipe}
            if type not in kinds:
                raise CheckError(f"file check: type must be one of {', '.join(kinds)}, not {type!r}")
            actual = next((k for k, v in kinds.items() if v), "other")
            ev.add("type", actual == type, actual, type)
        if mode:
            expected = _octal(mode, "mode")
            ev.add("mode", f.mode == expected, f"{f.mode:04o}", f"{expected:04o}")
        if owner:
            ev.add("owner", f.user == owner, f.user, owner)
        if group:
            ev.add("group", f.group == group, f.group, group)
        if contains:
            found = f.contains(contains)
            ev.add("contains", found, "matches" if found else "no match", f"/{contains}/")
    return ev.outcome(path=path)


# --- helpers ----------------------------------------------------------------------------

#: Marks the start of one file's content in a multi-file read.
_FILE_MARK = "@@golive-file "


def _q(value: object) -> str:
    return shlex.quote(str(value))


def _output(host: HostTarget, command: str, *args: str, what: str) -> str:
    """stdout of an observation command that must succeed; else one CheckError line."""
    result = host.run(command, *args)
    if result.rc != 0:
        cause = (result.stderr.strip() or result.stdout.strip() or f"exit status {result.rc}").splitlines()
        raise CheckError(f"host {host.name}: {what} failed: {cause[0][:200] if cause else ''}")
    return result.stdout


def _read_files(host: HostTarget, paths: list[str], what: str) -> dict[str, str]:
    """The content of every existing regular file among ``paths`` (globs allowed), in one command.

    A file that exists but cannot be read is an error: a check must not pass
    on the part of the configuration it could see.
    """
    globs = " ".join(_glob_word(p) for p in paths)
    script = (
        f'for f in {globs}; do [ -f "$f" ] || continue; '
        f"printf '\\n{_FILE_MARK}%s\\n' \"$f\"; cat \"$f\" || exit 3; done; true"
    )
    out = _output(host, script, what=what)
    files: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if line.startswith(_FILE_MARK):
            current = line[len(_FILE_MARK):]
            files[current] = ""
        elif current is not None:
            files[current] += line + "\n"
    return files


def _words(text: str) -> list[str]:
    """Shell-like words of a configuration line; a stray quote does not stop the parse."""
    try:
        return shlex.split(text, comments=False)
    except ValueError:
        return text.split()


def _glob_word(path: str) -> str:
    """``path`` quoted for the shell except its glob characters, which stay live."""
    parts = re.split(r"([*?])", path)
    return "".join(p if p in ("*", "?") else shlex.quote(p) for p in parts if p)


def _octal(text: str, param: str) -> int:
    try:
        return int(text, 8)
    except ValueError:
        raise CheckError(f"{param} must be an octal mode such as 0750, not {text!r}") from None


# --- capacity ----------------------------------------------------------------------------

@check(target="host")
def disk_size(host: HostTarget, *, path: str = "/", min_gib: float) -> Outcome:
    """The file system holding ``path`` is at least ``min_gib`` GiB in size.

    Args:
        path: a path on the file system to measure.
        min_gib: the smallest acceptable size, in GiB.
    """
    size, avail = _df(host, path)
    return Outcome.of(
        size / GIB >= min_gib, f"{size / GIB:.1f} GiB file system for {path}", f">= {min_gib:g} GiB",
        size_bytes=size, available_bytes=avail,
    )


def _meminfo(host: HostTarget) -> dict[str, int]:
    out = _output(host, "cat /proc/meminfo", what="reading /proc/meminfo")
    info = {}
    for line in out.splitlines():
        key, _, rest = line.partition(":")
        if rest.split() and rest.split()[0].isdigit():
            info[key] = int(rest.split()[0]) * 1024
    return info


@check(target="host")
def memory_usage(host: HostTarget, *, max_percent: float) -> Outcome:
    """Memory in use (MemTotal minus MemAvailable) is below ``max_percent`` of the total.

    Args:
        max_percent: the usage to stay under, in percent, such as 80.
    """
    info = _meminfo(host)
    if "MemTotal" not in info or "MemAvailable" not in info:
        raise CheckError(f"host {host.name}: no MemTotal/MemAvailable in /proc/meminfo")
    used = 100 * (1 - info["MemAvailable"] / info["MemTotal"])
    return Outcome.of(used < max_percent, f"{used:.1f}% of {info['MemTotal'] / GIB:.1f} GiB in use",
                      f"< {max_percent:g}%", used_percent=round(used, 2))


@check(target="host")
def cpu_usage(host: HostTarget, *, max_percent: float, sample_seconds: int = 1) -> Outcome:
    """CPU time in use over a short sample is below ``max_percent`` (all CPUs together).

    Two readings of ``/proc/stat``, ``sample_seconds`` apart; busy time is
    everything but idle and iowait.

    Args:
        max_percent: the usage to stay under, in percent, such as 70.
        sample_seconds: how long to sample, in seconds.
    """
    out = _output(host, f"head -n1 /proc/stat; sleep {max(1, sample_seconds)}; head -n1 /proc/stat",
                  what="reading /proc/stat")
    rows = [[int(v) for v in line.split()[1:]] for line in out.splitlines() if line.startswith("cpu ")]
    if len(rows) != 2:
        raise CheckError(f"host {host.name}: unexpected /proc/stat output")
    delta = [b - a for a, b in zip(rows[0], rows[1], strict=False)]
    total = sum(delta[:8]) or 1
    idle = delta[3] + (delta[4] if len(delta) > 4 else 0)
    used = 100 * (total - idle) / total
    return Outcome.of(used < max_percent, f"{used:.1f}% CPU in use over {max(1, sample_seconds)}s",
                      f"< {max_percent:g}%", used_percent=round(used, 2))


# --- system and software -------------------------------------------------------------------

def _os_release(host: HostTarget) -> dict[str, str]:
    out = _output(host, "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release", what="reading os-release")
    info = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            words = _words(value) if value.strip() else [""]
            info[key.strip()] = words[0] if words else ""
    return info


@check(target="host", name="os", aliases=("distribution",))
def os_release(
    host: HostTarget,
    *,
    distribution: list[str] | None = None,
    min_version: str | None = None,
    include_like: bool = False,
) -> Outcome:
    """The host runs one of the accepted distributions, at least at a version.

    Read from ``/etc/os-release``: the distribution is its ``ID`` (debian,
    ubuntu, rhel, ...), the version its ``VERSION_ID``. An entry may carry
    its own minimum, for lines like "Ubuntu 20.04+ or RHEL 8+":
    ``distribution=ubuntu>=20.04,rhel>=8``.

    Args:
        distribution: accepted distribution IDs, each optionally with ">=version".
        min_version: the smallest acceptable VERSION_ID for any distribution, such as 12 or 22.04.
        include_like: also accept a distribution that names an accepted one in ID_LIKE (rocky for rhel).
    """
    info = _os_release(host)
    dist = info.get("ID", "").lower()
    version = info.get("VERSION_ID", "")
    like = info.get("ID_LIKE", "").lower().split()
    pretty = info.get("PRETTY_NAME") or f"{dist} {version}".strip()
    ev = Evidence()
    if distribution:
        wanted = [(d.partition(">=")[0].strip().lower(), d.partition(">=")[2].strip()) for d in distribution]
        names = {dist, *like} if include_like else {dist}
        match = next(((n, v) for n, v in wanted if n in names), None)
        shown = " or ".join(f"{n} >= {v}" if v else n for n, v in wanted)
        ev.add("distribution", match is not None, f"{dist or 'unknown'}" + (f" (like {' '.join(like)})" if like else ""),
               shown)
        if match and match[1]:
            ev.add("version", version_at_least(version, match[1]), version or "no VERSION_ID", f">= {match[1]}")
    if min_version:
        ev.add("version", version_at_least(version, min_version), version or "no VERSION_ID", f">= {min_version}")
    if not ev.facts:
        ev.add("os", bool(dist), pretty or "unknown", "a known distribution")
    return ev.outcome(id=dist, version_id=version, pretty_name=pretty)


@check(target="host")
def command_version(
    host: HostTarget,
    *,
    command: str,
    min_version: str | None = None,
    present: bool = True,
    version_arg: str = "--version",
) -> Outcome:
    """A command is available on the host, optionally at least a version.

    The version is the first dotted number the command prints for
    ``version_arg`` (``python3 --version`` -> "Python 3.11.2"). A command of
    several words (``docker compose``) is present only if that whole command
    runs, so a missing Compose plugin counts as absent.

    Args:
        command: the command, such as python3, git or "docker compose".
        min_version: the smallest acceptable version, such as 3.11.
        present: false to require that the command is absent.
        version_arg: what makes the command print its version.
    """
    try:
        words, extra = shlex.split(command), shlex.split(version_arg)
    except ValueError as exc:
        raise CheckError(f"command_version: cannot split {command!r} {version_arg!r} into words: {exc}") from None
    if not words:
        raise CheckError("command_version: command is empty")
    line = " ".join(_q(w) for w in [*words, *extra])
    script = f"command -v {_q(words[0])} >/dev/null 2>&1 || exit 127; {line} 2>&1"
    result = host.run(script)
    text = result.stdout.strip()
    first = text.splitlines()[0] if text else ""
    available = result.rc == 0
    observed = first[:120] if available else ("not found" if result.rc == 127 else f"not usable: {first[:120]}")
    ev = Evidence()
    ev.add("present", available == present, observed, "present" if present else "absent")
    if available and present and min_version:
        version = parse_version(text)
        shown = ".".join(map(str, version)) if version else "no version in output"
        ev.add("version", version_at_least(text, min_version), shown, f">= {min_version}")
    return ev.outcome(command=command, output=first[:200])


# --- services and processes -----------------------------------------------------------------

#: PID 1 commands of init systems testinfra's service module understands.
_KNOWN_INITS = {"systemd": "systemd", "init": "sysvinit", "openrc-init": "openrc", "upstart": "upstart"}


def _init_system(host: HostTarget) -> tuple[str | None, str]:
    """(init system testinfra can query or None, PID 1's command name)."""
    out = host.run(
        "if [ -d /run/systemd/system ]; then echo systemd; else echo none; fi; cat /proc/1/comm 2>/dev/null;"
        " command -v rc-service >/dev/null 2>&1 && echo openrc; true"
    ).stdout.split()
    pid1 = out[1] if len(out) > 1 else "unknown"
    if out and out[0] == "systemd":
        return "systemd", pid1
    if "openrc" in out[2:]:
        return "openrc", pid1
    return _KNOWN_INITS.get(pid1), pid1


@check(target="host")
def service(host: HostTarget, *, name: str, running: bool = True, enabled: bool | None = True) -> Outcome:
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
    init, pid1 = _init_system(host)
    if init is None:
        return Outcome.not_applicable(
            f"host {host.name} has no init system testinfra knows (PID 1 is {pid1}): "
            f"cannot tell whether service {name} is running or enabled",
            pid1=pid1,
        )
    svc = host.testinfra.service(name)
    ev = Evidence()
    is_running = bool(svc.is_running)
    ev.add("running", is_running == running, "running" if is_running else "not running",
           "running" if running else "not running")
    if enabled is not None:
        is_enabled = bool(svc.is_enabled)
        ev.add("enabled", is_enabled == enabled, "enabled" if is_enabled else "disabled",
               "enabled" if enabled else "disabled")
    return ev.outcome(service=name, init=init)


_PROCESS_SCRIPT = (
    "cat /proc/[0-9]*/status 2>/dev/null | awk '/^Name:/{n=$2} /^Uid:/{print $2, n}'; "
    "echo @@passwd; getent passwd | cut -d: -f1,3"
)


def _processes(host: HostTarget) -> list[tuple[str, str]]:
    """(user, command name) of every process, read from /proc: no procps needed on the host."""
    out = _output(host, _PROCESS_SCRIPT, what="reading /proc")
    table, _, passwd = out.partition("@@passwd")
    names = dict(reversed(line.split(":", 1)) for line in passwd.split() if ":" in line)
    procs = []
    for line in table.splitlines():
        uid, _, comm = line.partition(" ")
        if comm:
            procs.append((names.get(uid, uid), comm.strip()))
    return procs


@check(target="host")
def process(
    host: HostTarget, *, name: str, running: bool = True, user: str | None = None, min_count: int = 1
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
    users = [who for who, comm in _processes(host) if comm == name[:15] and (user is None or who == user)]
    who = f" as {user}" if user else ""
    count = len(users)
    seen = f"{count} {name} process{'es' if count != 1 else ''}{who}"
    if users:
        seen += f" (users: {', '.join(sorted(set(users)))})"
    if running:
        return Outcome.of(count >= min_count, seen, f">= {min_count} running{who}", count=count)
    return Outcome.of(count == 0, seen, f"no {name} process{who}", count=count)


# --- network ----------------------------------------------------------------------------------

def _hex_address(text: str) -> str:
    """An address from /proc/net/tcp's little-endian hex (IPv4-mapped IPv6 shown as IPv4)."""
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    swapped = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    addr = socket.inet_ntop(socket.AF_INET6, swapped)
    return addr[7:] if addr.startswith("::ffff:") and "." in addr else addr


def _listeners(host: HostTarget, protocol: str) -> list[tuple[str, int]]:
    """(address, port) of every listening socket in the host's network namespace."""
    state = "0A" if protocol == "tcp" else "07"
    out = _output(host, f"cat /proc/net/{protocol} /proc/net/{protocol}6 2>/dev/null; true",
                  what=f"reading /proc/net/{protocol}")
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) > 3 and ":" in fields[1] and fields[3] == state:
            addr, _, port = fields[1].rpartition(":")
            try:
                found.append((_hex_address(addr), int(port, 16)))
            except ValueError:
                continue
    return found


_WILDCARDS = {"0.0.0.0", "::"}


@check(target="host")
def port_listening(
    host: HostTarget,
    *,
    port: int,
    address: str | None = None,
    protocol: Literal["tcp", "udp"] = "tcp",
    listening: bool = True,
) -> Outcome:
    """Something listens on a port (or, with ``listening=false``, nothing does).

    Read from ``/proc/net/tcp`` (and ``tcp6``, ``udp``, ``udp6``) of the
    host's own network namespace. A socket bound to every address (0.0.0.0
    or ::) counts as listening on any ``address``; ``address=0.0.0.0`` asks
    whether the port is exposed on all addresses.

    Args:
        port: the port number.
        address: the address the port must be reachable on; empty for any.
        protocol: tcp or udp.
        listening: false for a port that must not be exposed.
    """
    bound = sorted({a for a, p in _listeners(host, protocol) if p == port})
    if address is None:
        matching = bound
    elif address in _WILDCARDS:
        matching = [a for a in bound if a in _WILDCARDS]
    else:
        matching = [a for a in bound if a == address or a in _WILDCARDS]
    where = f" on {address}" if address else ""
    seen = f"{port}/{protocol} listening on {', '.join(bound)}" if bound else f"nothing listening on {port}/{protocol}"
    expected = f"{port}/{protocol} listening{where}" if listening else f"{port}/{protocol} not listening{where}"
    return Outcome.of(bool(matching) == listening, seen, expected, addresses=bound)


def _split_host_port(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d+)", text.strip())
    if not match:
        raise CheckError(f"tcp_reachable_from: 'to' must be host:port, not {text!r}")
    return match.group(1), int(match.group(2))


@check(target="host")
def tcp_reachable_from(host: HostTarget, *, to: str, reachable: bool = True, timeout: float = 5) -> Outcome:
    """From the host, a TCP connection to ``to`` (host:port) succeeds (or does not).

    Tried on the host itself with bash's ``/dev/tcp`` (or ``nc -z`` where
    bash is missing), bounded by ``timeout``; only a connection is opened,
    nothing is sent.

    Args:
        to: the destination as host:port, such as db.internal:3306.
        reachable: false to require that the connection fails (a firewall rule).
        timeout: seconds to wait for the connection.
    """
    dest, port = _split_host_port(to)
    limit = max(1, int(round(timeout)))
    script = (
        "if command -v bash >/dev/null 2>&1; then "
        f"timeout {limit} bash -c 'exec 3<>/dev/tcp/$0/$1' {_q(dest)} {port} 2>&1; r=$?; "
        "elif command -v nc >/dev/null 2>&1; then "
        f"timeout {limit} nc -z -w {limit} {_q(dest)} {port} 2>&1; r=$?; "
        "else r=125; fi; echo \"@@rc=$r\""
    )
    out = host.run(script, timeout=limit + 10).stdout
    rc_match = re.search(r"@@rc=(\d+)", out)
    rc = int(rc_match.group(1)) if rc_match else -1
    if rc == 125:
        raise CheckError(f"host {host.name}: neither bash nor nc to test a TCP connection")
    lines = [line for line in out.splitlines() if line.strip() and not line.startswith("@@rc=")]
    message = lines[0].rsplit(": ", 1)[-1].strip() if lines else ""
    if rc == 0:
        seen = f"{dest}:{port} reachable from {host.name}"
    elif rc == 124:
        seen = f"{dest}:{port} not reachable from {host.name}: timed out after {limit}s"
    else:
        seen = f"{dest}:{port} not reachable from {host.name}: {message or f'exit status {rc}'}"
    expected = f"{'reachable' if reachable else 'not reachable'}"
    return Outcome.of((rc == 0) == reachable, seen, expected, destination=f"{dest}:{port}")


# --- accounts ----------------------------------------------------------------------------------

def _account(host: HostTarget, name: str) -> tuple[list[str] | None, list[str]]:
    """An account's passwd fields (``None`` if there is none) and its groups.

    From the host's account list read once per run where accounts are all
    local (:meth:`HostTarget.local_accounts`); otherwise ``getent`` and ``id``
    for this account.
    """
    accounts = host.local_accounts()
    if accounts is not None:
        if name not in accounts.users:
            return None, []
        return accounts.users[name], accounts.groups_of(name)
    result = host.run("getent passwd %s || exit 3; id -Gn %s", name, name)
    if result.rc != 0 or not result.stdout.strip():
        return None, []
    lines = result.stdout.strip().splitlines()
    fields = lines[0].split(":")
    if len(fields) < 7:
        raise CheckError(f"host {host.name}: getent passwd {name}: unexpected answer {lines[0][:80]!r}")
    return fields, lines[1].split() if len(lines) > 1 else []


@check(target="host")
def user(
    host: HostTarget,
    *,
    name: str,
    exists: bool = True,
    shell: str | None = None,
    home: str | None = None,
    groups: list[str] | None = None,
    non_root: bool = True,
) -> Outcome:
    """A user account exists (or not) with the given shell, home, groups, and not uid 0.

    Args:
        name: the user name.
        exists: false to require that no such account exists.
        shell: the expected login shell, such as /usr/sbin/nologin.
        home: the expected home directory.
        groups: groups the user must belong to (others are allowed).
        non_root: false to allow uid 0 (by default an account other than root must not have it).
    """
    fields, member_of = _account(host, name)
    ev = Evidence()
    present = fields is not None
    ev.add("exists", present == exists, "yes" if present else "no", "yes" if exists else "no")
    if fields is None or not exists:
        return ev.outcome(user=name)
    uid, actual_home, actual_shell = int(fields[2]), fields[5], fields[6]
    if shell:
        ev.add("shell", actual_shell == shell, actual_shell, shell)
    if home:
        ev.add("home", actual_home.rstrip("/") == home.rstrip("/"), actual_home, home)
    if groups:
        missing = [g for g in groups if g not in member_of]
        ev.add("groups", not missing, ", ".join(member_of) or "none",
               f"member of {', '.join(groups)}")
    if non_root:
        ev.add("uid", uid != 0, f"uid {uid}", "not uid 0")
    return ev.outcome(user=name, uid=uid, groups=member_of)


@check(target="host")
def group(
    host: HostTarget, *, name: str, exists: bool = True, gid: int | None = None, members: list[str] | None = None
) -> Outcome:
    """A group exists (or not), optionally with a gid and members.

    A member counts whether the group is listed among the user's
    supplementary groups or is its primary group.

    Args:
        name: the group name.
        exists: false to require that no such group exists.
        gid: the expected group id.
        members: users that must belong to the group (others are allowed).
    """
    checks = "".join(f"; echo @@user {_q(m)} $(id -Gn {_q(m)} 2>/dev/null)" for m in members or [])
    result = host.run(f"getent group {_q(name)} || exit 3{checks}")
    ev = Evidence()
    present = result.rc == 0 and bool(result.stdout.strip())
    ev.add("exists", present == exists, "yes" if present else "no", "yes" if exists else "no")
    if not (present and exists):
        return ev.outcome(group=name)
    lines = result.stdout.strip().splitlines()
    actual_gid = int(lines[0].split(":")[2])
    if gid is not None:
        ev.add("gid", actual_gid == gid, actual_gid, gid)
    if members:
        belong = [ln.split()[1] for ln in lines[1:] if ln.startswith("@@user ") and name in ln.split()[2:]]
        missing = [m for m in members if m not in belong]
        ev.add("members", not missing, ", ".join(belong) or "none of them",
               ", ".join(members))
    return ev.outcome(group=name, gid=actual_gid)


@check(target="host")
def directory_permissions(
    host: HostTarget,
    *,
    path: str,
    mode: str | None = None,
    max_mode: str | None = None,
    owner: str | None = None,
    group: str | None = None,
    recursive: bool = False,
    writable_by: str | None = None,
) -> Outcome:
    """A directory has the given mode, owner and group; optionally everything under it too.

    ``max_mode`` allows no permission beyond a mask: ``max_mode=0755`` fails a
    group- or world-writable directory. With ``recursive``, every file and
    directory below ``path`` is held to ``max_mode``, ``owner`` and ``group``
    (the first offenders are shown).

    Args:
        path: the directory on the host.
        mode: the exact octal mode, such as 0750.
        max_mode: the most permissive acceptable mode, such as 0755.
        owner: the owning user name.
        group: the owning group name.
        recursive: also check everything below ``path``.
        writable_by: a user who must be able to create files in the directory (by owner, group or other bits).
    """
    want_mode = _octal(mode, "mode") if mode else None
    mask_mode = _octal(max_mode, "max_mode") if max_mode else None
    result = host.run("stat -c '%%F|%%a|%%U|%%G' %s", path)
    ev = Evidence()
    if result.rc != 0:
        ev.add("exists", False, "no such directory", "a directory")
        return ev.outcome(path=path)
    kind, perm, actual_owner, actual_group = result.stdout.strip().split("|")
    if kind != "directory":
        ev.add("type", False, kind, "directory")
        return ev.outcome(path=path)
    actual = int(perm, 8)
    if want_mode is not None:
        ev.add("mode", actual == want_mode, f"{actual:04o}", f"{want_mode:04o}")
    if mask_mode is not None:
        ev.add("max mode", not actual & ~mask_mode & 0o7777, f"{actual:04o}", f"no more than {mask_mode:04o}")
    if owner:
        ev.add("owner", actual_owner == owner, actual_owner, owner)
    if group:
        ev.add("group", actual_group == group, actual_group, group)
    if writable_by:
        uid, *groups = _output(host, "id -u %s && id -Gn %s", writable_by, writable_by,
                               what=f"looking up user {writable_by}").split()
        can = uid == "0" or (actual_owner == writable_by and actual & 0o300 == 0o300) or (
            actual_group in groups and actual & 0o030 == 0o030) or actual & 0o003 == 0o003
        ev.add("writable", can, f"{actual:04o} {actual_owner}:{actual_group}", f"writable by {writable_by}")
    if recursive and (mask_mode is not None or owner or group):
        tests = []
        if mask_mode is not None:
            tests.append(f"-perm /{~mask_mode & 0o7777:04o}")
        if owner:
            tests.append(f"! -user {_q(owner)}")
        if group:
            tests.append(f"! -group {_q(group)}")
        found = host.run(
            f"find {_q(path)} -mindepth 1 \\( {' -o '.join(tests)} \\) -printf '%#m %u:%g %p\\n' | head -n 11"
        )
        if "Permission denied" in found.stderr:
            raise CheckError(f"host {host.name}: cannot read everything under {path}: permission denied")
        offenders = found.stdout.strip().splitlines()
        shown = "; ".join(offenders[:10]) + ("; ..." if len(offenders) > 10 else "")
        ev.add("below", not offenders, shown or "all conform", "everything conforms")
    return ev.outcome(path=path)


# --- log rotation and schedules --------------------------------------------------------------

#: File names logrotate skips in its include directories.
_TABOO = (".dpkg-old", ".dpkg-dist", ".dpkg-new", ".dpkg-bak", ".disabled", ".rpmsave", ".rpmorig",
          ".rpmnew", ".swp", ".bak", ".old", ".orig", ",v", "~")
_FREQUENCIES = ("hourly", "daily", "weekly", "monthly", "yearly")
_SCRIPTS = ("postrotate", "prerotate", "firstaction", "lastaction", "preremove")


def _logrotate_rules(files: dict[str, str]) -> list[dict[str, object]]:
    """Rules from logrotate configuration files, read in order.

    Each rule has its patterns, the file it is in, and its effective
    ``rotate``, ``compress`` and frequency: the block's own directives over
    the global ones set before it.
    """
    defaults: dict[str, object] = {"rotate": 0, "compress": False, "frequency": None}
    rules: list[dict[str, object]] = []
    for source, text in files.items():
        block: dict[str, object] | None = None
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
                patterns = pending + _words(line[:-1])
                pending = []
                block = {"patterns": patterns, "file": source, **defaults}
                continue
            if block is None and line[0] in "/\"'~*":
                pending += _words(line)
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
                target["rotate"] = int(rest.strip())
            elif word in ("compress", "nocompress"):
                target["compress"] = word == "compress"
            elif word in _FREQUENCIES:
                target["frequency"] = word
    return rules


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
    files = _read_files(host, [config, f"{config_dir.rstrip('/')}/*"], what="reading logrotate configuration")
    files = {k: v for k, v in files.items() if k == config or not k.endswith(_TABOO)}
    rule = next(
        (r for r in _logrotate_rules(files) if any(fnmatch.fnmatchcase(path, p) for p in r["patterns"])),  # type: ignore[attr-defined]
        None,
    )
    ev = Evidence()
    where = f"{config} and {config_dir}/*"
    if rule is None:
        ev.add("rule", False, f"no rule for {path} in {where} ({len(files)} files)", f"a rule for {path}")
        return ev.outcome(path=path, files=sorted(files))
    ev.add("rule", True, f"{rule['file']}: {' '.join(rule['patterns'])}", f"a rule for {path}")  # type: ignore[arg-type]
    if min_rotate is not None:
        ev.add("rotate", int(rule["rotate"]) >= min_rotate, f"rotate {rule['rotate']}", f"rotate >= {min_rotate}")  # type: ignore[call-overload]
    if compress is not None:
        ev.add("compress", rule["compress"] == compress, "compress" if rule["compress"] else "nocompress",
               "compress" if compress else "nocompress")
    if frequency:
        ev.add("frequency", rule["frequency"] == frequency, rule["frequency"] or "none (size only)", frequency)
    return ev.outcome(path=path, rule_file=rule["file"], rotate=rule["rotate"], compress=rule["compress"],
                      frequency=rule["frequency"])


_ENV_LINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=")


def _cron_entries(text: str, source: str, owner: str | None) -> list[dict[str, str]]:
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
            schedule, who, cmd = " ".join(fields[:count]), fields[count], " ".join(fields[count + 1:])
        else:
            if len(fields) <= count:
                continue
            schedule, who, cmd = " ".join(fields[:count]), owner, " ".join(fields[count:])
        entries.append({"source": source, "schedule": schedule, "user": who, "command": cmd})
    return entries


_PERIODIC = ("/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly", "/etc/cron.monthly")

_TIMER_SCRIPT = (
    "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then "
    "for t in $(systemctl list-units --type=timer --all --plain --no-legend --no-pager | awk '{print $1}'); do "
    "u=$(systemctl show -p Unit --value \"$t\"); "
    "printf '@@timer %s|%s|%s|%s|%s\\n' \"$t\" \"$(systemctl show -p ActiveState --value \"$t\")\" "
    "\"$(systemctl show -p TimersCalendar --value \"$t\" | tr '\\n' ' ')\" "
    "\"$(systemctl show -p User --value \"$u\")\" "
    "\"$(systemctl show -p ExecStart --value \"$u\" | tr '\\n' ' ')\"; done; fi; true"
)


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
        periodic_dirs: run-parts directories; empty for /etc/cron.hourly, .daily, .weekly and .monthly.
        timers: false to ignore systemd timers.
    """
    try:
        pattern = re.compile(command)
    except re.error as exc:
        raise CheckError(f"cron_or_timer: command is not a valid regular expression: {exc}") from None
    spool = spool_dir.rstrip("/")
    script = (
        f"for f in {_q(crontab)} {_q(cron_dir.rstrip('/'))}/*; do [ -f \"$f\" ] || continue; "
        f"printf '\\n{_FILE_MARK}%s\\n' \"$f\"; cat \"$f\" 2>/dev/null || echo '@@unreadable'; done; "
        f"if [ -d {_q(spool)} ]; then if [ -r {_q(spool)} ] && [ -x {_q(spool)} ]; then "
        f"for f in {_q(spool)}/*; do [ -f \"$f\" ] || continue; "
        f"printf '\\n{_FILE_MARK}%s\\n' \"$f\"; cat \"$f\" 2>/dev/null || echo '@@unreadable'; done; "
        f"else printf '\\n{_FILE_MARK}%s\\n@@unreadable\\n' {_q(spool)}; fi; fi; "
        f"for f in {' '.join(_q(d.rstrip('/')) + '/*' for d in periodic_dirs or _PERIODIC)}; do "
        "[ -f \"$f\" ] && [ -x \"$f\" ] || continue; printf '\\n@@periodic %s\\n' \"$f\"; "
        "head -c 65536 \"$f\" 2>/dev/null || echo '@@unreadable'; done; "
        + (_TIMER_SCRIPT if timers else "true")
    )
    out = host.run(script).stdout
    entries: list[dict[str, str]] = []
    unreadable: list[str] = []
    current, text = None, ""

    def flush() -> None:
        if current is None:
            return
        if "@@unreadable" in text:
            unreadable.append(current)
            return
        if current.startswith("@@periodic "):
            path = current[len("@@periodic "):]
            folder, _, name = path.rpartition("/")
            if re.fullmatch(r"[A-Za-z0-9_-]+", name):  # what run-parts runs
                entries.append({"source": path, "schedule": folder.rsplit(".", 1)[-1], "user": "root",
                                "command": f"{path}\n{text}"})
            return
        owner = current.rsplit("/", 1)[-1] if current.startswith(spool + "/") else None
        entries.extend(_cron_entries(text, current, owner))

    for line in out.splitlines():
        if line.startswith(_FILE_MARK) or line.startswith("@@periodic "):
            flush()
            current = line[len(_FILE_MARK):] if line.startswith(_FILE_MARK) else line
            text = ""
        elif line.startswith("@@timer "):
            flush()
            current, text = None, ""
            unit, state, calendar, run_as, exec_start = (line[8:].split("|") + [""] * 5)[:5]
            if state == "active":
                entries.append({"source": f"timer {unit}", "schedule": calendar.strip(),
                                "user": run_as or "root", "command": exec_start.strip()})
        else:
            text += line + "\n"
    flush()
    found = [e for e in entries if pattern.search(e["command"]) and (user is None or e["user"] == user)]
    expected = f"a cron entry or active timer running /{command}/" + (f" as {user}" if user else "")
    if found:
        first = found[0]
        shown = first["command"].splitlines()[0][:150] if first["command"] else ""
        seen = f"{first['source']}: {first['schedule']} (as {first['user']}): {shown}"
        return Outcome.passed(seen, expected, schedules=found[:10])
    if unreadable:
        raise CheckError(
            f"host {host.name}: no schedule for /{command}/ found, and cannot read {', '.join(unreadable)}"
            " (permission denied): run as root or with sudo"
        )
    return Outcome.failed(f"no schedule runs /{command}/ among {len(entries)} entries", expected,
                          entries=len(entries))


# --- backups ----------------------------------------------------------------------------------

def _age(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


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
    still kept. Ages are measured against the host's own clock.

    Args:
        directory: the directory holding the files.
        pattern: a shell glob the file names must match, such as *.sql.gz.
        max_age_hours: the newest matching file must be younger than this.
        retention_days: the oldest matching file must be at least this old.
        recursive: also look in subdirectories.
    """
    depth = "" if recursive else "-maxdepth 1 "
    result = host.run(
        f"test -d {_q(directory)} || exit 3; date +%s; "
        f"find {_q(directory)} {depth}-type f -name {_q(pattern)} -printf '%T@ %f\\n'"
    )
    ev = Evidence()
    if result.rc == 3:
        ev.add("directory", False, f"no directory {directory}", "a directory with files")
        return ev.outcome(directory=directory)
    if "Permission denied" in result.stderr:
        raise CheckError(f"host {host.name}: cannot read {directory}: permission denied")
    lines = result.stdout.strip().splitlines()
    now = float(lines[0])
    files = sorted((float(t), name) for t, _, name in (ln.partition(" ") for ln in lines[1:]))
    ev.add("files", bool(files), f"{len(files)} files matching {pattern} in {directory}", "at least one")
    if files and max_age_hours is not None:
        newest_age = now - files[-1][0]
        ev.add("newest", newest_age <= max_age_hours * 3600, f"{files[-1][1]} is {_age(newest_age)} old",
               f"younger than {max_age_hours:g} h")
    if files and retention_days is not None:
        oldest_age = now - files[0][0]
        ev.add("oldest", oldest_age >= retention_days * 86400, f"{files[0][1]} is {_age(oldest_age)} old",
               f"at least {retention_days:g} days old (retention)")
    return ev.outcome(directory=directory, count=len(files))


# --- kernel, mounts, time -----------------------------------------------------------------------

@check(target="host")
def sysctl(
    host: HostTarget, *, name: str, value: str | None = None, min: int | None = None, max: int | None = None
) -> Outcome:
    """A kernel parameter has a value, or lies within bounds.

    Read from ``/proc/sys`` of the host (network parameters are those of the
    host's own network namespace).

    Args:
        name: the parameter, such as net.ipv4.ip_forward or vm.swappiness.
        value: the exact expected value (whitespace-insensitive).
        min: the smallest acceptable (numeric) value.
        max: the largest acceptable (numeric) value.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.\-/]+", name) or ".." in name:
        raise CheckError(f"sysctl: {name!r} is not a kernel parameter name")
    result = host.run("cat %s", "/proc/sys/" + name.replace(".", "/"))
    ev = Evidence()
    if result.rc != 0:
        ev.add(name, False, "no such parameter", "present")
        return ev.outcome(name=name)
    actual = " ".join(result.stdout.split())
    if value is not None:
        ev.add(name, actual == " ".join(value.split()), actual, value)
    if min is not None or max is not None:
        number = int(actual) if actual.lstrip("-").isdigit() else None
        bounds = " and ".join(b for b in (f">= {min}" if min is not None else "", f"<= {max}" if max is not None else "") if b)
        ok = number is not None and (min is None or number >= min) and (max is None or number <= max)
        ev.add(name, ok, actual, bounds)
    if not ev.facts:
        ev.add(name, True, actual, "present")
    return ev.outcome(name=name, value=actual)


def _unescape_mount(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


@check(target="host")
def mount(
    host: HostTarget,
    *,
    path: str,
    options: list[str] | None = None,
    fstype: str | None = None,
    dedicated: bool = False,
) -> Outcome:
    """The file system holding ``path`` is mounted with the given options and type.

    Args:
        path: a path on the host; its mount is the closest mount point above it.
        options: mount options that must be set, such as nodev, nosuid, noexec.
        fstype: the expected file system type, such as ext4 or tmpfs.
        dedicated: true to require that ``path`` is itself a mount point (its own partition).
    """
    out = _output(host, "readlink -f %s || echo %s; echo @@mounts; cat /proc/self/mounts", path, path,
                  what="reading mounts")
    real, _, table = out.partition("@@mounts\n")
    real = real.strip() or path
    best: tuple[str, str, list[str]] | None = None
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        point = _unescape_mount(fields[1])
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, fields[2], fields[3].split(","))
    if best is None:
        raise CheckError(f"host {host.name}: no mount holds {path}")
    point, kind, opts = best
    ev = Evidence()
    if dedicated:
        ev.add("mount point", point == real, point, real)
    if fstype:
        ev.add("type", kind == fstype, kind, fstype)
    if options:
        missing = [o for o in options if o not in opts]
        ev.add("options", not missing, ",".join(opts), "includes " + ",".join(options))
    if not ev.facts:
        ev.add("mounted", True, f"{point} ({kind})", "a mount")
    return ev.outcome(path=path, mount_point=point, fstype=kind, options=opts)


_TIME_DAEMONS = ("chronyd", "ntpd", "systemd-timesyn", "openntpd", "ntpsec")


@check(target="host", aliases=("ntp",))
def time_sync(host: HostTarget, *, synchronized: bool = False) -> Outcome:
    """A time synchronisation daemon runs: chrony, ntpd or systemd-timesyncd.

    With ``synchronized``, the clock must also report itself synchronised
    (``timedatectl`` where systemd runs, else ``chronyc tracking``).

    Args:
        synchronized: also require that the clock is synchronised now.
    """
    script = (
        "cat /proc/[0-9]*/comm 2>/dev/null; echo @@sync; "
        "if [ -d /run/systemd/system ] && command -v timedatectl >/dev/null 2>&1; then "
        "echo timedatectl $(timedatectl show -p NTPSynchronized --value); "
        "elif command -v chronyc >/dev/null 2>&1; then "
        "echo chronyc $(chronyc -n tracking 2>/dev/null | grep -i '^Leap status' | cut -d: -f2); fi; true"
    )
    out = host.run(script).stdout
    procs, _, sync = out.partition("@@sync")
    running = sorted({p.strip() for p in procs.split() if p.strip() in _TIME_DAEMONS})
    ev = Evidence()
    ev.add("daemon", bool(running), ", ".join(running) or "no time synchronisation daemon running",
           "chronyd, ntpd or systemd-timesyncd running")
    if synchronized:
        words = sync.split()
        tool = words[0] if words else "nothing"
        state = " ".join(words[1:])
        ok = state.lower() in ("yes", "normal")
        ev.add("synchronized", ok, f"{tool}: {state or 'unknown'}", "synchronised")
    return ev.outcome(daemons=running)


# --- sshd -----------------------------------------------------------------------------------------

#: sshd's built-in values for the keywords checked by default.
_SSHD_DEFAULTS = {"passwordauthentication": "yes", "permitrootlogin": "prohibit-password"}


def _sshd_effective(host: HostTarget, config: str) -> tuple[dict[str, str], str]:
    """sshd's effective settings and how they were read.

    ``sshd -T`` is sshd's own answer; it needs root (the host keys), so as
    a plain user the configuration is parsed instead: the first value of a
    keyword wins, ``Include`` is followed, ``Match`` blocks are not applied.
    """
    result = host.run(
        "for s in /usr/sbin/sshd /usr/local/sbin/sshd; do [ -x \"$s\" ] || continue;"
        " \"$s\" -T -f %s 2>&1 && exit 0; exit 1; done; exit 127",
        config,
    )
    if result.rc == 0 and result.stdout.strip():
        values = {}
        for line in result.stdout.splitlines():
            key, _, value = line.strip().partition(" ")
            values.setdefault(key.lower(), value.strip())
        if values.get("permitrootlogin") == "without-password":  # sshd -T prints the old name
            values["permitrootlogin"] = "prohibit-password"
        return values, "sshd -T"
    values: dict[str, str] = {}
    pending = [config]
    seen: set[str] = set()
    while pending:
        files = _read_files(host, pending, what=f"reading {config}")
        if not files and pending == [config]:
            raise CheckError(f"host {host.name}: no sshd configuration at {config}")
        pending = []
        for name, text in files.items():
            if name in seen:
                continue
            seen.add(name)
            for raw in text.splitlines():
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                match = re.match(r"(\S+?)(?:\s*=\s*|\s+)(.*)", line)
                if not match:
                    continue
                key, value = match.group(1).lower(), match.group(2).strip()
                if key == "match":
                    break
                if key == "include":
                    # sshd reads relative Include paths from /etc/ssh.
                    pending += [v if v.startswith("/") else f"/etc/ssh/{v}" for v in _words(value)]
                    continue
                values.setdefault(key, value)
    return {**_SSHD_DEFAULTS, **values}, f"parsed {config}"


@check(target="host")
def sshd_config(
    host: HostTarget,
    *,
    password_authentication: str | None = "no",
    permit_root_login: str | None = "no",
    settings: list[str] | None = None,
    config: str = "/etc/ssh/sshd_config",
) -> Outcome:
    """The SSH server's effective settings: no passwords, no root login, and more.

    Uses ``sshd -T`` (the settings sshd would really use) where the check
    runs as root; otherwise parses the configuration file.

    Args:
        password_authentication: the required PasswordAuthentication; empty to not check.
        permit_root_login: the required PermitRootLogin; empty to not check.
        settings: more "keyword value" pairs, such as "x11forwarding no".
        config: the sshd configuration file.
    """
    wanted = {}
    if password_authentication:
        wanted["passwordauthentication"] = password_authentication
    if permit_root_login:
        wanted["permitrootlogin"] = permit_root_login
    for pair in settings or []:
        key, _, value = pair.strip().partition(" ")
        if not value.strip():
            raise CheckError(f"sshd_config: setting {pair!r} must be 'keyword value'")
        wanted[key.lower()] = value.strip()
    values, source = _sshd_effective(host, config)
    ev = Evidence()
    for key, value in wanted.items():
        actual = values.get(key, "not set")
        ev.add(key, actual.lower() == value.lower(), actual, value)
    return ev.outcome(source=source)
