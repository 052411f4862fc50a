"""The system and its software: distribution, commands, packages, kernel parameters.

Distribution facts come from ``os-release`` (freedesktop.org's format, which
Debian, Ubuntu, the RHEL family and Alpine all ship); packages from dpkg's
list on Debian-family hosts and testinfra's package module elsewhere.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from pytest_golive.checks.host.shell import output, q, words
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, has, proposes
from pytest_golive.checks.versions import parse_version, version_at_least
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget

# --- os-release --------------------------------------------------------------------------

OS_RELEASE = "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release"


def parse_os_release(text: str) -> dict[str, str]:
    """KEY -> value of an os-release file, shell quoting removed."""
    info = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip():
            parts = words(value) if value.strip() else [""]
            info[key.strip()] = parts[0] if parts else ""
    return info


def judge_os(
    info: dict[str, str], distribution: list[str] | None, min_version: str | None,
    include_like: bool,
) -> Outcome:
    dist = info.get("ID", "").lower()
    version = info.get("VERSION_ID", "")
    like = info.get("ID_LIKE", "").lower().split()
    pretty = info.get("PRETTY_NAME") or f"{dist} {version}".strip()
    ev = Evidence()
    if distribution:
        wanted = [(d.partition(">=")[0].strip().lower(), d.partition(">=")[2].strip())
                  for d in distribution]
        names = {dist, *like} if include_like else {dist}
        match = next(((n, v) for n, v in wanted if n in names), None)
        shown = " or ".join(f"{n} >= {v}" if v else n for n, v in wanted)
        seen = f"{dist or 'unknown'}" + (f" (like {' '.join(like)})" if like else "")
        ev.add("distribution", match is not None, seen, shown)
        if match and match[1]:
            ev.add("version", version_at_least(version, match[1]), version or "no VERSION_ID",
                   f">= {match[1]}")
    if min_version:
        ev.add("version", version_at_least(version, min_version), version or "no VERSION_ID",
               f">= {min_version}")
    if not ev.facts:
        ev.add("os", bool(dist), pretty or "unknown", "a known distribution")
    return ev.outcome(id=dist, version_id=version, pretty_name=pretty)


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
        include_like: also accept a distribution that names an accepted one in ID_LIKE (rocky for
            rhel).
    """
    info = parse_os_release(output(host, OS_RELEASE, what="reading os-release"))
    return judge_os(info, distribution, min_version, include_like)


# --- commands ----------------------------------------------------------------------------


def command_version_script(command: str, version_arg: str) -> str:
    """The command that runs ``command version_arg`` if its first word exists (else exit 127)."""
    try:
        cmd_words, extra = shlex.split(command), shlex.split(version_arg)
    except ValueError as exc:
        raise CheckError(
            f"command_version: cannot split {command!r} {version_arg!r} into words: {exc}"
        ) from None
    if not cmd_words:
        raise CheckError("command_version: command is empty")
    line = " ".join(q(w) for w in [*cmd_words, *extra])
    return f"command -v {q(cmd_words[0])} >/dev/null 2>&1 || exit 127; {line} 2>&1"


def judge_command_version(
    rc: int, stdout: str, command: str, min_version: str | None, present: bool
) -> Outcome:
    text = stdout.strip()
    first = text.splitlines()[0] if text else ""
    available = rc == 0
    if available:
        observed = first[:120]
    else:
        observed = "not found" if rc == 127 else f"not usable: {first[:120]}"
    ev = Evidence()
    ev.add("present", available == present, observed, "present" if present else "absent")
    words = command.split()
    if available and present and len(words) > 1 and words[-1].lower() not in text.lower():
        # A subcommand or plugin that is missing may leave its parent printing its
        # own version ("podman compose --version" -> "podman version 4.3.1"): the
        # output must name what was asked for.
        ev.add("names", False, f"output does not name '{words[-1]}': {first[:120]}",
               f"the version of {command}")
        return ev.outcome(command=command, output=first[:200])
    if available and present and min_version:
        version = parse_version(text)
        shown = ".".join(map(str, version)) if version else "no version in output"
        ev.add("version", version_at_least(text, min_version), shown, f">= {min_version}")
    return ev.outcome(command=command, output=first[:200])


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
    result = host.run(command_version_script(command, version_arg))
    return judge_command_version(result.rc, result.stdout, command, min_version, present)


# --- packages ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageState:
    """One package as the host's package manager sees it."""

    installed: bool
    version: str | None


def _package_state(host: HostTarget, name: str) -> PackageState:
    """Whether one package is installed, and its version.

    On Debian-family hosts from the package list read once per host
    (:meth:`HostTarget.installed_packages`); elsewhere, and for glob
    patterns, through testinfra's package module, which knows each package
    manager.
    """
    listed = host.installed_packages()
    if listed is not None and not any(c in name for c in "*?["):
        version = listed.get(name)
        return PackageState(version is not None, version)
    try:
        pkg = host.testinfra.package(name)
        is_installed = bool(pkg.is_installed)
        return PackageState(is_installed, pkg.version if is_installed else None)
    except CheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - testinfra raises for unknown package managers
        raise CheckError(f"host {host.name}: cannot query package {name}: {exc}") from None


def judge_package(
    name: str, state: PackageState, installed: bool, min_version: str | None
) -> Outcome:
    ev = Evidence()
    ev.add("installed", state.installed == installed, "yes" if state.installed else "no",
           "yes" if installed else "no")
    if installed and min_version and state.installed:
        ev.add("version", version_at_least(state.version, min_version), state.version,
               f">= {min_version}")
    return ev.outcome(package=name, version=state.version)


def judge_packages(states: list[tuple[str, PackageState]]) -> Outcome:
    names = [n for n, _ in states]
    missing = [n for n, s in states if not s.installed]
    versions = {n: s.version for n, s in states if s.installed}
    seen = f"missing: {', '.join(missing)}" if missing else f"all {len(names)} installed"
    return Outcome.of(not missing, seen, f"installed: {', '.join(names)}", versions=versions,
                      missing=missing)


@check(target="host")
def package(
    host: HostTarget, *, name: str, installed: bool = True, min_version: str | None = None
) -> Outcome:
    """A system package is installed (or absent), optionally at least a version.

    Args:
        name: the package name as the host's package manager knows it.
        installed: false to require that the package is absent.
        min_version: the smallest acceptable version (compared by the package manager's rules where
            possible).
    """
    return judge_package(name, _package_state(host, name), installed, min_version)


@check(target="host")
def packages(host: HostTarget, *, names: list[str]) -> Outcome:
    """Every package in a list is installed (for "required system packages installed").

    Args:
        names: the package names as the host's package manager knows them.
    """
    return judge_packages([(name, _package_state(host, name)) for name in names])


# --- kernel parameters -------------------------------------------------------------------


def sysctl_path(name: str) -> str:
    """The ``/proc/sys`` file of a parameter; one line if ``name`` is not a parameter name."""
    if not re.fullmatch(r"[A-Za-z0-9_.\-/]+", name) or ".." in name:
        raise CheckError(f"sysctl: {name!r} is not a kernel parameter name")
    return "/proc/sys/" + name.replace(".", "/")


def judge_sysctl(
    name: str, actual: str | None, value: str | None, min: int | None, max: int | None
) -> Outcome:
    """``actual`` is the parameter's value with white space folded, None if there is no such one."""
    ev = Evidence()
    if actual is None:
        ev.add(name, False, "no such parameter", "present")
        return ev.outcome(name=name)
    if value is not None:
        ev.add(name, actual == " ".join(value.split()), actual, value)
    if min is not None or max is not None:
        number = int(actual) if actual.lstrip("-").isdigit() else None
        bounds = " and ".join(b for b in (f">= {min}" if min is not None else "",
                                          f"<= {max}" if max is not None else "") if b)
        ok = (number is not None and (min is None or number >= min)
              and (max is None or number <= max))
        ev.add(name, ok, actual, bounds)
    if not ev.facts:
        ev.add(name, True, actual, "present")
    return ev.outcome(name=name, value=actual)


@check(target="host")
def sysctl(
    host: HostTarget, *, name: str, value: str | None = None, min: int | None = None,
    max: int | None = None,
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
    result = host.run("cat %s", sysctl_path(name))
    actual = " ".join(result.stdout.split()) if result.rc == 0 else None
    return judge_sysctl(name, actual, value, min, max)


# --- import rules: how checklist lines become system checks ---------------------------


_DISTROS = {
    "ubuntu": r"ubuntu",
    "debian": r"debian",
    "rhel": r"rhel|red ?hat(?: enterprise linux)?",
    "centos": r"centos",
    "rocky": r"rocky(?: linux)?",
    "almalinux": r"alma(?:linux| linux)?",
    "amzn": r"amazon linux",
    "fedora": r"fedora",
    "sles": r"sles|suse",
    "ol": r"oracle linux",
}


def _os_versions(text: str) -> list[tuple[str, str, bool]]:
    """(distribution, version, or-later) triples named in ``text``."""
    found = []
    names = "|".join(f"(?P<{k}>{v})" for k, v in _DISTROS.items())
    for m in re.finditer(
        rf"\b(?:{names})\b((?:\s*(?:/|,|or|and)?\s*v?\d+(?:\.\d+)?\+?(?:\s*lts)?)*)", text, re.I
    ):
        distro = next(k for k in _DISTROS if m.group(k))
        versions = re.findall(r"(\d+(?:\.\d+)?)(\+)?", m.group(m.lastindex or 0) or "")
        if not versions:
            found.append((distro, "", False))
        for number, plus in versions:
            found.append(
                (distro, number, bool(plus) or bool(has(r"or (later|newer|higher|above)", text)))
            )
    return found


@proposes("os")
def _os_rule(line: Line) -> Proposal | None:
    found = _os_versions(line.title)
    if not found:
        return None
    distros = ",".join(dict.fromkeys(d for d, _, _ in found))
    minimums = {
        d: v for d, v, _ in reversed(found) if v
    }  # the lowest version named per distribution
    described = ", ".join(f"{d} {v}" if v else d for d, v, _ in found)
    if len(minimums) == 1 and len(set(d for d, _, _ in found)) == 1:
        version = next(iter(minimums.values()))
        return Proposal(
            [("os", {"distribution": distros, "min_version": version})],
            0.85,
            f"operating system {described}",
        )
    guessed = ("no min_version: the distributions name different versions",) if minimums else ()
    return Proposal(
        [("os", {"distribution": distros})], 0.8, f"operating system {described}", guessed
    )


_TOOLS = {
    "python3": r"python(?:3)?",
    "docker": r"docker(?![ -]?compose)(?: engine)?",
    "docker compose": r"docker[ -]compose",
    "node": r"node(?:\.?js)?",
    "java": r"java|openjdk|jdk|jre",
    "go": r"golang|go(?=\s+v?\d)",
    "ruby": r"ruby",
    "php": r"php",
    "nginx": r"nginx",
    "git": r"git",
    "kubectl": r"kubectl",
    "helm": r"helm",
    "terraform": r"terraform",
    "ansible": r"ansible",
    "openssl": r"openssl",
    "perl": r"perl",
    "rustc": r"rust(?:c)?",
    "dotnet": r"dotnet|\.net(?: core)?",
    "npm": r"npm",
    "pip": r"pip3?",
    "java_": r"maven|mvn",
}


_VERSION = r"v?(\d+(?:\.\d+){0,3})(\+|\s*(?:or|and)\s*(?:later|newer|higher|above|up))?"


#: A tool's subcommand or plugin ("docker buildx", "kubectl krew", "git lfs"): checked as
#: itself, so a parent printing its own version never passes for the plugin.
_PLUGIN = re.compile(r"\b(docker|podman|kubectl|helm|git|gh)[ -]"
                     r"(compose|buildx|scan|krew|lfs|diff|secrets|"
                     r"convert|kustomize)\b\W{0,3}(?:version\s*)?:?\s*" + r"v?(\d+(?:\.\d+){0,3})")


@proposes("command_version")
def _command_version_rule(line: Line) -> Proposal | None:
    t = line.lower
    if has(r"\b(mysql|mariadb|postgres(?:ql)?|redis|mongodb|tls|ssl|http/)\b", t):
        return None
    plugin = _PLUGIN.search(t)
    if plugin and plugin.group(2) != "compose":
        command = f"{plugin.group(1)} {plugin.group(2)}"
        return Proposal([("command_version", {"command": command, "min_version": plugin.group(3)})],
                        0.85, f"{command} version {plugin.group(3)}")
    for command, word in _TOOLS.items():
        m = re.search(rf"\b(?:{word})\b\W{{0,3}}(?:version\s*)?:?\s*{_VERSION}", t)
        if not m:
            continue
        number = m.group(1)
        if (
            "." not in number
            and not m.group(2)
            and not has(r"version|installed|available|runtime|\blts\b|present", t)
        ):
            continue
        command = "mvn" if command == "java_" else command
        return Proposal(
            [("command_version", {"command": command, "min_version": number}),
             ("command_version", {"command": command, "min": number})],
            0.85, f"{command} version {number}",
        )
    return None


_KNOWN_PACKAGES = (
    "nginx", "apache2", "httpd", "haproxy", "curl", "openssl", "fail2ban", "ufw", "chrony", "ntp",
    "logrotate", "certbot", "supervisor", "rsync", "git", "unzip", "jq", "auditd", "clamav",
)


@proposes("package", "packages")
def _package_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\b(installed|present|available)\b", t) or has(r"\bnot installed\b", t):
        return None
    named = re.search(r"\bpackages?\s+`?([a-z0-9][a-z0-9+._-]+)`?", t) or re.search(
        r"`([a-z0-9][a-z0-9+._-]+)`\s+packages?", t
    )
    if named and named.group(1) in (
        "installed",
        "present",
        "available",
        "are",
        "is",
        "and",
        "for",
        "from",
    ):
        named = None
    if named:
        return Proposal([("package", {"name": named.group(1)})], 0.75, f"package {named.group(1)}")
    names = [p for p in _KNOWN_PACKAGES if re.search(rf"(?<![\w/-]){re.escape(p)}(?![\w/-])", t)]
    if len(names) == 1 and not re.search(r"\w/\w|\bor\b|\beither\b", t):
        return Proposal([("package", {"name": names[0]})], 0.7, f"package {names[0]}")
    if not names and has(r"\b(required|system|needed|all)\b.*\bpackages\b", t):
        return Proposal([("packages", {"names": "${system_packages}"})], 0.7,
                        "required packages: the list is a variable")
    if names or has(r"\bpackages\b", t):
        return Proposal([("package", {})], 0.4, "which package? alternatives or no name given")
    return None


@proposes("sysctl")
def _sysctl_rule(line: Line) -> Proposal | None:
    m = re.search(
        r"\b((?:vm|net|kernel|fs)\.[a-z0-9_.]+)\s*=\s*([\w.-]+)", line.title + " " + line.code, re.I
    )
    if m:
        return Proposal(
            [
                ("sysctl", {"name": m.group(1), "value": m.group(2)}),
                ("sysctl", {"key": m.group(1), "value": m.group(2)}),
            ],
            0.8,
            f"kernel parameter {m.group(1)}",
        )
    return None
