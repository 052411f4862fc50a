"""Host checks, through pytest-testinfra.

Each check takes a :class:`~pytest_golive.targets.host.HostTarget` and
observation-only parameters; nothing here changes a host.
"""

from __future__ import annotations

from pytest_golive.checks.registry import check
from pytest_golive.outcome import CheckError, Evidence, Outcome
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


@check(target="host")
def package(host: HostTarget, *, name: str, installed: bool = True, min_version: str | None = None) -> Outcome:
    """A system package is installed (or absent), optionally at least a version.

    Args:
        name: the package name as the host's package manager knows it.
        installed: false to require that the package is absent.
        min_version: the smallest acceptable version (compared by the package manager's rules where possible).
    """
    from pytest_golive.checks.versions import version_at_least

    try:
        pkg = host.testinfra.package(name)
        is_installed = pkg.is_installed
        version = pkg.version if is_installed else None
    except CheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - testinfra raises for unknown package managers
        raise CheckError(f"host {host.name}: cannot query package {name}: {exc}") from None
    ev = Evidence()
    ev.add("installed", is_installed == installed, "yes" if is_installed else "no", "yes" if installed else "no")
    if installed and min_version and is_installed:
        ev.add("version", version_at_least(version, min_version), version, f">= {min_version}")
    return ev.outcome(package=name, version=version)


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
            expected = int(mode, 8)
            ev.add("mode", f.mode == expected, f"{f.mode:04o}", f"{expected:04o}")
        if owner:
            ev.add("owner", f.user == owner, f.user, owner)
        if group:
            ev.add("group", f.group == group, f.group, group)
        if contains:
            ev.add("contains", f.contains(contains), "matches" if f.contains(contains) else "no match", f"/{contains}/")
    return ev.outcome(path=path)
