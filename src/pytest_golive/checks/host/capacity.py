"""Capacity: CPUs, memory, disk space, and how much of the CPU and memory is in use.

Read from the kernel's own files (``/proc/meminfo``, ``/proc/stat``) and the
POSIX output of ``df -P``, whose formats are the same on every Linux
distribution; nothing here needs procps.
"""

from __future__ import annotations

import re

from pytest_golive.checks.host.shell import GIB, ParseError, output, parsing
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, has, paths, proposes
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


# --- import rules: how checklist lines become capacity and usage checks ---------------


_SIZE = r"(\d+(?:[.,]\d+)?)\s*(tb|tib|gb|gib|g|mb|mib)\b"


_NOT_CAPACITY = r"usage|utili[sz]|leak|threshold|spike|alert|consum|pressure|normal|stable|%"


def _gib(number: str, unit: str) -> str:
    value = float(number.replace(",", "."))
    unit = unit.lower()
    if unit.startswith("t"):
        value *= 1024
    elif unit.startswith("m"):
        value /= 1024
    return f"{value:g}"


def _near_number(text: str, word: str, tail: str, window: int = 30) -> re.Match[str] | None:
    """A number (with ``tail``) within ``window`` characters after or before ``word``."""
    after = re.search(rf"{word}[^\d\n]{{0,{window}}}?{tail}", text, re.IGNORECASE)
    before = re.search(rf"{tail}[^\d\n]{{0,{window // 2}}}?{word}", text, re.IGNORECASE)
    return before or after


_CPU = r"(?<![.\w])(?:v?cpus?|cores?|processors?|vcores?|threads?)(?![.\w])"


@proposes("cpu")
def _cpu_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(rf"\b{_CPU}\b", t) or has(_NOT_CAPACITY, t):
        return None
    m = re.search(
        rf"(\d+)[\s-]*\+?\s*(?:x\s*)?(?:physical\s+|logical\s+|virtual\s+|cpu\s+)?{_CPU}\b", t
    )
    m = m or re.search(rf"\b{_CPU}\b[^\d\n]{{0,25}}?(\d+)(?!\s*(?:ghz|mhz|\.\d|%))", t)
    if not m:
        if has(r"sufficient|enough|minimum|at least|resources", t):
            return Proposal([("cpu", {"min": "${min_cpus}"})], 0.7,
                            "CPU requirement without a number: the count is a variable")
        return None
    return Proposal([("cpu", {"min": m.group(1)})], 0.9, f"CPU count {m.group(1)}")


@proposes("memory")
def _memory_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\b(ram|memory|mem)\b", t) or has(_NOT_CAPACITY, t):
        return None
    m = _near_number(t, r"\b(?:ram|memory|mem)\b", _SIZE)
    if not m:
        if has(r"sufficient|enough|minimum|at least|resources", t):
            return Proposal(
                [("memory", {"min_gib": "${min_memory_gib}"})],
                0.7,
                "memory requirement without a size: the size is a variable",
            )
        return None
    number, unit = m.group(1), m.group(2)
    return Proposal(
        [("memory", {"min_gib": _gib(number, unit)})], 0.9, f"memory {number} {unit.upper()}"
    )


_DISK = r"\b(?:disks?|storage|ssd|hdd|nvme|volumes?|drives?|space|partitions?|file ?systems?)\b"


@proposes("disk_free", "disk_size")
def _disk_rule(line: Line) -> Proposal | None:
    t = line.lower
    free = bool(has(r"\b(free|available|left|remaining|headroom|spare)\b", t))
    named_paths = paths(line.title)
    if not (has(_DISK, t) or (free and named_paths and re.search(_SIZE, t))) or has(
        r"usage|utili[sz]|%|alert|threshold", t
    ):
        return None
    if has(r"\b(ram|memory)\b", t):
        return None
    path = named_paths[0] if named_paths else "/"
    guessed = () if named_paths else ("path=/",)
    m = _near_number(t, _DISK, _SIZE, 40) if has(_DISK, t) else re.search(_SIZE, t)
    if not m:
        if has(r"sufficient|enough|minimum|at least|space", t):
            check = (
                "disk_size" if has(r"allocat\w*|size|capacity|provision\w*", t) else "disk_free"
            )
            var = "min_disk_gib" if check == "disk_size" else "min_free_gib"
            return Proposal(
                [(check, {"path": path, "min_gib": f"${{{var}}}"})],
                0.7,
                "disk requirement without a size: the size is a variable",
                guessed,
            )
        return None
    size = _gib(m.group(1), m.group(2))
    params = {"path": path, "min_gib": size}
    if free:
        return Proposal([("disk_free", params)], 0.85, f"free space {size} GiB", guessed)
    return Proposal([("disk_size", params)], 0.85, f"disk size {size} GiB", guessed)


@proposes("cpu_usage", "memory_usage")
def _usage_rule(line: Line) -> Proposal | None:
    """CPU or memory in use below a budget now ("CPU usage normal (<70%)")."""
    t = line.lower
    kind = has(r"\b(cpu|memory|ram)\s+(usage|utili[sz]ation|use)\b", t)
    if not kind or has(r"alert|threshold|monitor|leak|spike|under load|trend|dashboard", t):
        return None
    check = "cpu_usage" if kind.group(1) == "cpu" else "memory_usage"
    m = re.search(r"(?:<|below|under|less than|at most|max(?:imum)?)\s*(\d+(?:\.\d+)?)\s*%", t)
    budget = (
        m.group(1)
        if m
        else ("${max_cpu_percent}" if check == "cpu_usage" else "${max_memory_percent}")
    )
    return Proposal(
        [(check, {"max_percent": budget})],
        0.7 if m else 0.65,
        f"{kind.group(1).upper()} in use below {budget}%",
    )
