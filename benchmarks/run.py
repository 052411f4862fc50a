"""Benchmark: the same host checklist through pytest-golive and through plain pytest-testinfra.

Builds a fleet of real SSH hosts (network namespaces running sshd, the test
suite's ``tests/support/fleet.py``), writes a checklist of simple checks per
host (file exists, package installed, user exists, command available), and
times it, median of several runs, as:

* ``golive``            -- ``pytest --golive=bench`` (multiplexed SSH, hosts evaluated at once)
* ``golive-serial``     -- the same with ``--golive-no-prefetch`` (one item after another)
* ``testinfra-mux``     -- plain testinfra tests, OpenSSH multiplexing configured by hand
* ``testinfra``         -- plain testinfra tests as shipped (``ssh://``, no ControlPath:
                           a new SSH handshake for every command)

Per run: ``wall`` (the whole ``pytest`` process, interpreter and plugin
start-up included), ``pytest`` (the session time pytest prints: collection
and the run), ``runner CPU`` (CPU seconds of the ``pytest`` process and its
children, the ``ssh`` clients: what the machine running the checks pays) and
``hosts CPU`` (the machine's CPU seconds during the run less the runner's:
the fleet's sshd and the commands they ran, what the checked hosts pay; here
they share the runner's cores, on a real fleet they are the hosts' own). Needs root (network namespaces) and
openssh-server.

    sudo python3 benchmarks/run.py                  # 1 and 5 hosts, 3 runs each
    sudo python3 benchmarks/run.py --hosts 1,5,50 --runs 5
    sudo python3 benchmarks/run.py --variants golive,testinfra-mux --checks 400

The as-shipped testinfra variant costs minutes per run on several hosts; it
runs only up to ``--plain-max-hosts`` hosts (default 5) and once per size
(``--plain-runs``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support.fleet import Fleet, build_fleet, fleet_available  # noqa: E402

VARIANTS = ("golive", "golive-serial", "testinfra-mux", "testinfra")
_SECONDS = re.compile(r" in ([0-9.]+)s")
_PASSED = re.compile(r"(\d+) passed")


@dataclass
class Sample:
    wall: float
    session: float
    passed: int
    ok: bool
    failures: list[str] = field(default_factory=list)
    runner_cpu: float = 0.0
    hosts_cpu: float = 0.0


@dataclass
class Cell:
    samples: list[Sample] = field(default_factory=list)
    skipped: str = ""

    def median(self, attr: str) -> float | None:
        values = [getattr(s, attr) for s in self.samples]
        return statistics.median(values) if values else None


# --- what to check ---------------------------------------------------------------------------


def _lines(cmd: list[str]) -> list[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()


def pick_subjects(per_kind: int) -> dict[str, list[str]]:
    """Things that exist on this machine (the fleet shares its file system)."""
    files = sorted(str(p) for p in Path("/usr/bin").iterdir() if p.is_file())
    listing = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}|${Package}\n"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    packages = sorted(line.split("|", 1)[1] for line in listing if line.startswith("ii"))
    users = [f[0] for f in (line.split(":") for line in Path("/etc/passwd").read_text().splitlines())
             if len(f) > 2 and f[2] != "0"  # root is refused by the user check's non_root default
             and not f[0].startswith("golive")]  # test fleets come and go
    coreutils = [Path(p).name for p in _lines(["dpkg", "-L", "coreutils"])
                 if p.startswith("/usr/bin/") and Path(p).name not in ("[", "yes", "printf", "echo", "kill", "test", "pwd")]

    def take(values: list[str]) -> list[str]:
        values = list(dict.fromkeys(values))
        if not values:
            raise SystemExit("nothing to check on this machine")
        return [values[i % len(values)] for i in range(per_kind)]

    return {"files": take(files), "packages": take(packages), "users": take(users),
            "commands": take(sorted(coreutils))}


def golive_project(directory: Path, fleet: Fleet, hosts: int, subjects: dict[str, list[str]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    entries = ",\n".join(
        f'  {{ url = "{h.ssh_url}", name = "{h.name}", ssh_config = "{fleet.ssh_config}", '
        f'ssh_identity_file = "{fleet.identity_file}" }}'
        for h in fleet.hosts[:hosts]
    )
    (directory / "golive.toml").write_text(
        f'checklists = ["checklist.md"]\n\n[environments.bench.hosts]\nfleet = [\n{entries}\n]\n'
    )
    lines = ["# Benchmark checklist", "", "## Infrastructure"]
    for i, path in enumerate(subjects["files"]):
        lines.append(f"- [ ] file {i} <!-- golive: file path={path} -->")
    for i, name in enumerate(subjects["packages"]):
        lines.append(f"- [ ] package {i} <!-- golive: package name={name} -->")
    for i, name in enumerate(subjects["users"]):
        lines.append(f"- [ ] user {i} <!-- golive: user name={name} -->")
    for i, name in enumerate(subjects["commands"]):
        lines.append(f"- [ ] command {i} <!-- golive: command_version command={name} -->")
    (directory / "checklist.md").write_text("\n".join(lines) + "\n")


TESTINFRA_TESTS = '''\
"""The benchmark checklist as plain pytest-testinfra tests."""
import json
import pathlib

import pytest

S = json.loads((pathlib.Path(__file__).parent / "subjects.json").read_text())


@pytest.mark.parametrize("path", S["files"])
def test_file(host, path):
    assert host.file(path).exists


@pytest.mark.parametrize("name", S["packages"])
def test_package(host, name):
    assert host.package(name).is_installed


@pytest.mark.parametrize("name", S["users"])
def test_user(host, name):
    assert host.user(name).exists


@pytest.mark.parametrize("name", S["commands"])
def test_command(host, name):
    assert host.run("command -v %s >/dev/null 2>&1 || exit 127; %s --version", name, name).rc == 0
'''


def testinfra_project(directory: Path, fleet: Fleet, subjects: dict[str, list[str]]) -> Path:
    """Tests plus an ssh_config that multiplexes (for the ``testinfra-mux`` variant)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "subjects.json").write_text(json.dumps(subjects))
    (directory / "test_bench.py").write_text(TESTINFRA_TESTS)
    sockets = Path(tempfile.mkdtemp(prefix="gl-bench-mux-"))
    mux = directory / "ssh_config_mux"
    mux.write_text(
        "Host *\n  ControlMaster auto\n  ControlPersist 60\n"
        f"  ControlPath {sockets}/%C\n\n" + fleet.ssh_config.read_text()
    )
    return mux


# --- running -----------------------------------------------------------------------------------


#: Runs as a runner would: Python caches compiled modules (and pytest its rewritten ones).
#: With PYTHONDONTWRITEBYTECODE every run compiles every module again, for all variants alike.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_cpu() -> float:
    """CPU seconds this machine has used since boot, all processes (``/proc/stat``)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = [int(v) for i, v in enumerate(fields) if i not in (3, 4)]  # all but idle and iowait
    return sum(busy) / os.sysconf("SC_CLK_TCK")


def _pytest(args: list[str], cwd: Path, timeout: float) -> Sample:
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header", *args]
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=_ENV)
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]
    seconds = _SECONDS.search(tail)
    passed = _PASSED.search(tail)
    return Sample(wall=wall, session=float(seconds.group(1)) if seconds else wall,
                  passed=int(passed.group(1)) if passed else 0, ok=proc.returncode == 0,
                  failures=[line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))][:3],
                  runner_cpu=cpu)


def close_masters(fleet: Fleet, ssh_config: Path, hosts: int) -> None:
    for host in fleet.hosts[:hosts]:
        subprocess.run(["ssh", "-F", str(ssh_config), "-O", "exit", host.ssh_url.removeprefix("ssh://")],
                       capture_output=True, timeout=10, check=False)


def run_variant(variant: str, fleet: Fleet, hosts: int, work: Path, mux_config: Path) -> Sample:
    """One run of ``variant``, with the CPU the hosts used for it.

    The hosts' sessions are not children of anything this process can ask,
    so their CPU is the machine's during the run less the runner's: keep the
    machine otherwise idle while benchmarking.
    """
    before = machine_cpu()
    sample = _run_variant(variant, fleet, hosts, work, mux_config)
    sample.hosts_cpu = max(0.0, machine_cpu() - before - sample.runner_cpu)
    return sample


def _run_variant(variant: str, fleet: Fleet, hosts: int, work: Path, mux_config: Path) -> Sample:
    if variant.startswith("golive"):
        extra = ["--golive-no-prefetch"] if variant == "golive-serial" else []
        report = work / f"golive-{hosts}" / "report.json"
        sample = _pytest(["--golive=bench", f"--golive-json={report}", *extra], work / f"golive-{hosts}", timeout=3600)
        if not sample.ok and report.is_file():
            results = json.loads(report.read_text())["results"]
            sample.failures = [f"{r['nodeid']}: {r['status']}: {r['observed']} (expected {r['expected']})"
                               for r in results if r["status"] != "passed"][:3]
        return sample
    urls = ",".join(h.ssh_url for h in fleet.hosts[:hosts])
    config = mux_config if variant == "testinfra-mux" else fleet.ssh_config
    try:
        return _pytest([f"--hosts={urls}", f"--ssh-config={config}",
                        f"--ssh-identity-file={fleet.identity_file}", "test_bench.py"],
                       work / "testinfra", timeout=7200)
    finally:
        if variant == "testinfra-mux":
            close_masters(fleet, mux_config, hosts)  # every run starts cold, as golive's does


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", default="1,5", help="comma-separated fleet sizes (default 1,5)")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell; the median is shown")
    parser.add_argument("--checks", type=int, default=200, help="checks per host (default 200)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"any of {', '.join(VARIANTS)}")
    parser.add_argument("--plain-max-hosts", type=int, default=5,
                        help="largest fleet the as-shipped testinfra variant runs on (default 5)")
    parser.add_argument("--plain-runs", type=int, default=1,
                        help="runs of the as-shipped testinfra variant (default 1)")
    parser.add_argument("--json", metavar="PATH", help="also write the samples as JSON")
    args = parser.parse_args(argv)

    sizes = [int(s) for s in args.hosts.split(",") if s.strip()]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]} (known: {', '.join(VARIANTS)})")
    ok, missing = fleet_available()
    if not ok:
        print(f"cannot build the fleet: needs {missing}", file=sys.stderr)
        return 2

    # A plain kill must still tear the fleet down (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="golive-bench-"))
    fleet = build_fleet(max(sizes), work / "fleet")
    cells: dict[tuple[str, int], Cell] = {}
    try:
        subjects = pick_subjects(args.checks // 4)
        checks = 4 * (args.checks // 4)
        mux_config = testinfra_project(work / "testinfra", fleet, subjects)
        for size in sizes:
            golive_project(work / f"golive-{size}", fleet, size, subjects)
        print(f"{checks} checks per host; fleet sizes {sizes}; median of {args.runs} runs; "
              f"{os.cpu_count()} CPUs", flush=True)
        for size in sizes:
            # Round-robin over the variants, so a change in the machine's load
            # during the benchmark weighs on every variant alike.
            plan: list[str] = []
            for variant in variants:
                cell = cells.setdefault((variant, size), Cell())
                if variant == "testinfra" and size > args.plain_max_hosts:
                    cell.skipped = f"> --plain-max-hosts={args.plain_max_hosts}"
            for round_ in range(args.runs):
                plan += [v for v in variants if not cells[(v, size)].skipped
                         and (v != "testinfra" or round_ < args.plain_runs)]
            for variant in plan:
                cell = cells[(variant, size)]
                sample = run_variant(variant, fleet, size, work, mux_config)
                cell.samples.append(sample)
                flag = "" if sample.ok and sample.passed == checks * size else \
                    f"  (!) {sample.passed}/{checks * size} passed"
                print(f"  {variant:14} {size:3} hosts  wall {sample.wall:7.2f}s  "
                      f"pytest {sample.session:7.2f}s  runner CPU {sample.runner_cpu:7.2f}s  "
                      f"hosts CPU {sample.hosts_cpu:7.2f}s{flag}", flush=True)
                for failure in sample.failures:
                    print(f"      {failure[:300]}", flush=True)
    finally:
        from pytest_golive.targets.host import close_all_masters

        close_all_masters()
        fleet.teardown()
        shutil.rmtree(work, ignore_errors=True)

    print_table(cells, sizes, variants)
    if args.json:
        Path(args.json).write_text(json.dumps(
            {f"{v}@{n}": [s.__dict__ for s in c.samples] for (v, n), c in cells.items()}, indent=2))
    return 0


def print_table(cells: dict[tuple[str, int], Cell], sizes: list[int], variants: list[str]) -> None:
    """Median times per variant and fleet size, and each as a multiple of golive's."""
    for size in sizes:
        print(f"\n{size} host{'s' if size > 1 else ''}, medians:\n")
        print("| variant | wall | pytest | runner CPU | hosts CPU | wall x golive |")
        print("|---|---|---|---|---|---|")
        base = cells.get(("golive", size), Cell()).median("wall")
        for variant in variants:
            cell = cells.get((variant, size), Cell())
            wall = cell.median("wall")
            if wall is None:
                print(f"| {variant} | {cell.skipped or '-'} | | | | |")
                continue
            runs = "" if len(cell.samples) > 1 else " [1 run]"
            ratio = f"{wall / base:.1f}x" if base else ""
            print(f"| {variant} | {wall:.2f} s{runs} | {cell.median('session'):.2f} s | "
                  f"{cell.median('runner_cpu'):.2f} s | {cell.median('hosts_cpu'):.2f} s | {ratio} |")


if __name__ == "__main__":
    sys.exit(main())
