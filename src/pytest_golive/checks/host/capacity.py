"""Capacity: CPUs, memory, disk space, and how much of the CPU and memory is in use.

Read from the kernel's own files (``/proc/meminfo``, ``/proc/stat``) and the
POSIX output of ``df -P``, whose formats are the same on every Linux
distribution; nothing here needs procps.
"""

from __future__ import annotations

from pytest_golive.checks.host.shell import GIB, ParseError, output, parsing
from pytest_golive.checks.registry import check
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.targets.host import HostTarget

# --- observation ------------------------------------------------------------------------

NPROC = "nproc"
MEMINFO = "cat /proc/meminfo"
#: Sizes in bytes, one line per file system (POSIX format: never wrapped).
DF = "df -P -B1 %s"


def cpu_sample_command(sample_seconds: int) -> str:
    """Two readings of the total CPU line of ``/proc/stat``, ``sample_seconds`` apart."""
    return f"head -n1 /proc/stat; sleep {max(1, sample_seconds)}; head -n1 /proc/stat"


# --- parsing ----------------------------------------------------------------------------


def parse_nproc(stdout: str) -> int | None:
    """The number ``nproc`` printed, or None when it printed something else."""
    text = stdout.strip()
    return int(text) if text.isdigit() else None


def parse_meminfo(text: str) -> dict[str, int]:
    """``/proc/meminfo`` as field -> bytes (the kernel writes kB, meaning KiB)."""
    info = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        values = rest.split()
        if values and values[0].isdigit():
            info[key] = int(values[0]) * 1024
    return info


def parse_df(stdout: str) -> tuple[int, int]:
    """(size, available) in bytes from ``df -P -B1`` output for one path."""
    lines = stdout.strip().splitlines()
    if len(lines) < 2:
        raise ParseError("df printed no file system line")
    fields = lines[-1].split()
    try:
        return int(fields[1]), int(fields[3])
    except (IndexError, ValueError):
        raise ParseError(f"unexpected df output {lines[-1][:80]!r}") from None


def parse_cpu_samples(out: str) -> tuple[list[int], list[int]]:
    """The two ``cpu`` lines of :func:`cpu_sample_command`'s output, as counters."""
    rows = [[int(v) for v in line.split()[1:]]
            for line in out.splitlines() if line.startswith("cpu ")]
    if len(rows) != 2:
        raise ParseError("unexpected /proc/stat output")
    return rows[0], rows[1]


def cpu_busy_percent(first: list[int], second: list[int]) -> float:
    """CPU time in use between two readings: everything but idle and iowait, in percent."""
    delta = [b - a for a, b in zip(first, second, strict=False)]
    total = sum(delta[:8]) or 1
    idle = delta[3] + (delta[4] if len(delta) > 4 else 0)
    return 100 * (total - idle) / total


# --- judgement --------------------------------------------------------------------------


def judge_cpu(count: int, minimum: int) -> Outcome:
    return Outcome.of(count >= minimum, f"{count} vCPUs", f">= {minimum} vCPUs", cpus=count)


def judge_memory(total_bytes: int, min_gib: float) -> Outcome:
    gib = total_bytes / GIB
    return Outcome.of(gib >= min_gib, f"{gib:.1f} GiB", f">= {min_gib:g} GiB",
                      mem_total_bytes=total_bytes)


def judge_disk_free(size: int, avail: int, path: str, min_gib: float) -> Outcome:
    return Outcome.of(
        avail / GIB >= min_gib, f"{avail / GIB:.1f} GiB free on {path}", f">= {min_gib:g} GiB free",
        size_bytes=size, available_bytes=avail,
    )


def judge_disk_size(size: int, avail: int, path: str, min_gib: float) -> Outcome:
    return Outcome.of(
        size / GIB >= min_gib, f"{size / GIB:.1f} GiB file system for {path}",
        f">= {min_gib:g} GiB",
        size_bytes=size, available_bytes=avail,
    )


def memory_used_percent(info: dict[str, int]) -> float:
    """Memory in use (MemTotal minus MemAvailable) in percent of MemTotal."""
    if "MemTotal" not in info or "MemAvailable" not in info:
        raise ParseError("no MemTotal/MemAvailable in /proc/meminfo")
    return 100 * (1 - info["MemAvailable"] / info["MemTotal"])


def judge_memory_usage(info: dict[str, int], max_percent: float) -> Outcome:
    used = memory_used_percent(info)
    return Outcome.of(used < max_percent, f"{used:.1f}% of {info['MemTotal'] / GIB:.1f} GiB in use",
                      f"< {max_percent:g}%", used_percent=round(used, 2))


def judge_cpu_usage(used: float, sample_seconds: int, max_percent: float) -> Outcome:
    return Outcome.of(used < max_percent, f"{used:.1f}% CPU in use over {max(1, sample_seconds)}s",
                      f"< {max_percent:g}%", used_percent=round(used, 2))


# --- checks -----------------------------------------------------------------------------


def _df(host: HostTarget, path: str) -> tuple[int, int]:
    result = host.run(DF, path)
    try:
        if result.rc != 0:
            raise ParseError("")
        return parse_df(result.stdout)
    except ParseError:
        raise CheckError(f"host {host.name}: df {path} failed: {result.stderr.strip()}") from None


@check(target="host", aliases=("vcpus",))
def cpu(host: HostTarget, *, min: int = 1) -> Outcome:
    """At least ``min`` CPUs are online on the host.

    Args:
        min: the smallest acceptable number of online CPUs.
    """
    result = host.run(NPROC)
    count = parse_nproc(result.stdout) if result.rc == 0 else None
    if count is None:
        cause = result.stderr.strip() or result.stdout.strip()
        raise CheckError(f"host {host.name}: nproc failed: {cause}")
    return judge_cpu(count, min)


@check(target="host", aliases=("ram",))
def memory(host: HostTarget, *, min_gib: float) -> Outcome:
    """The host has at least ``min_gib`` GiB of memory in all (MemTotal).

    Args:
        min_gib: the smallest acceptable total memory, in GiB.
    """
    total = parse_meminfo(host.run(MEMINFO).stdout).get("MemTotal")
    if total is None:
        raise CheckError(f"host {host.name}: no MemTotal in /proc/meminfo")
    return judge_memory(total, min_gib)


@check(target="host")
def disk_free(host: HostTarget, *, path: str = "/", min_gib: float) -> Outcome:
    """The file system holding ``path`` has at least ``min_gib`` GiB available.

    Args:
        path: a path on the file system to measure.
        min_gib: the smallest acceptable free space, in GiB.
    """
    size, avail = _df(host, path)
    return judge_disk_free(size, avail, path, min_gib)


@check(target="host")
def disk_size(host: HostTarget, *, path: str = "/", min_gib: float) -> Outcome:
    """The file system holding ``path`` is at least ``min_gib`` GiB in size.

    Args:
        path: a path on the file system to measure.
        min_gib: the smallest acceptable size, in GiB.
    """
    size, avail = _df(host, path)
    return judge_disk_size(size, avail, path, min_gib)


@check(target="host")
def memory_usage(host: HostTarget, *, max_percent: float) -> Outcome:
    """Memory in use (MemTotal minus MemAvailable) is below ``max_percent`` of the total.

    Args:
        max_percent: the usage to stay under, in percent, such as 80.
    """
    info = parse_meminfo(output(host, MEMINFO, what="reading /proc/meminfo"))
    with parsing(host):
        return judge_memory_usage(info, max_percent)


@check(target="host")
def cpu_usage(host: HostTarget, *, max_percent: float, sample_seconds: int = 1) -> Outcome:
    """CPU time in use over a short sample is below ``max_percent`` (all CPUs together).

    Two readings of ``/proc/stat``, ``sample_seconds`` apart; busy time is
    everything but idle and iowait.

    Args:
        max_percent: the usage to stay under, in percent, such as 70.
        sample_seconds: how long to sample, in seconds.
    """
    out = output(host, cpu_sample_command(sample_seconds), what="reading /proc/stat")
    with parsing(host):
        first, second = parse_cpu_samples(out)
    return judge_cpu_usage(cpu_busy_percent(first, second), sample_seconds, max_percent)
