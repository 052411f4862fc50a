"""Concurrent evaluation ahead of reporting, and pytest-xdist runs.

No timed assertions: concurrency is proved by a rendezvous (every host's
first item must be running at the same moment for it to pass), per-host
order by a check that fails if two items of one host overlap.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_golive.checks.registry import REGISTRY, check
from pytest_golive.core.outcome import Outcome
from pytest_golive.integration.xdist_support import choose_loadgroup

HOSTS = ("h1", "h2", "h3")
INVENTORY = "[app]\n" + "".join(f"{h} ansible_connection=local\n" for h in HOSTS)

CHECKLIST = """\
# Readiness

## Infrastructure
- [ ] A shell <!-- golive: file path=/bin/sh -->
- [ ] No such file (warning) <!-- golive: file path=/no/such/file/golive severity=warning -->
- [ ] At least one CPU <!-- golive: cpu min=1 -->
- [ ] Far too many CPUs <!-- golive: cpu min=4096 on=h2 -->
- [ ] Some memory <!-- golive: memory min_gib=0.01 -->

## Sign-off
- [ ] Someone signed
"""


def project(pytester: pytest.Pytester, checklist: str = CHECKLIST, settings: str = "") -> None:
    pytester.makefile(".ini", hosts=INVENTORY)
    pytester.makefile(".toml", golive=f'checklists = ["checklist.md"]\n{settings}\n'
                                      '[environments.prod]\ninventory = "hosts.ini"\n')
    pytester.makefile(".md", checklist=checklist)


def run(
    pytester: pytest.Pytester, *args: str, name: str, subprocess: bool = False
) -> tuple[Any, dict[str, Any]]:
    report = pytester.path / f"{name}.json"
    argv = (
        "-p",
        "no:cacheprovider",
        "--golive=prod",
        "--golive-manual=warn",
        f"--golive-json={report}",
        *args,
    )
    result = pytester.runpytest_subprocess(*argv) if subprocess else pytester.runpytest(*argv)
    return result, json.loads(report.read_text())


def rows(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (r["nodeid"], r["status"], r["observed"], r["expected"], r["order"])
        for r in data["results"]
    ]


# --- checks that observe how they are scheduled ----------------------------------------------

class _Probe:
    def __init__(self) -> None:
        self.barriers: dict[int, threading.Barrier] = {}
        self.lock = threading.Lock()
        self.in_flight: dict[str, int] = {}


PROBE = _Probe()


@pytest.fixture
def probe_checks() -> Iterator[_Probe]:
    """Two test-only checks, registered for one test and removed after it."""
    PROBE.barriers.clear()
    PROBE.in_flight.clear()

    @check(target="host", name="speedtest_rendezvous")
    def rendezvous(host: Any, *, parties: int, wait: float = 30) -> Outcome:
        """Pass only when ``parties`` hosts run this check at the same moment.

        Args:
            parties: how many hosts must meet.
            wait: seconds to wait for the others before failing.
        """
        with PROBE.lock:
            barrier = PROBE.barriers.setdefault(parties, threading.Barrier(parties))
        try:
            barrier.wait(timeout=wait)
        except threading.BrokenBarrierError:
            return Outcome.failed(
                f"{host.name} ran without the other hosts", f"{parties} hosts at once"
            )
        return Outcome.passed(f"{parties} hosts at once", f"{parties} hosts at once")

    @check(target="host", name="speedtest_alone")
    def alone(host: Any, *, step: int) -> Outcome:
        """Fail if another item of the same host runs at the same time.

        Args:
            step: which step this is (only to make lines distinct).
        """
        with PROBE.lock:
            PROBE.in_flight[host.name] = PROBE.in_flight.get(host.name, 0) + 1
            others = PROBE.in_flight[host.name] - 1
        time.sleep(0.05)  # leave room for an overlap, were there one
        with PROBE.lock:
            others = max(others, PROBE.in_flight[host.name] - 1)
            PROBE.in_flight[host.name] -= 1
        return Outcome.of(others == 0, f"{others} other items of {host.name} running",
                          "0 other items of the same host running", step=step)

    @check(target="host", name="speedtest_nofork")
    def nofork(host: Any) -> Outcome:
        """Pass when new processes start with fork, not vfork (see integration.prefetch)."""
        vfork = getattr(subprocess, "_USE_VFORK", False)
        return Outcome.of(not vfork, f"vfork {'on' if vfork else 'off'}", "vfork off")

    try:
        yield PROBE
    finally:
        for name in ("speedtest_rendezvous", "speedtest_alone", "speedtest_nofork"):
            REGISTRY._checks.pop(name, None)


RENDEZVOUS = """\
# Readiness

## Infrastructure
- [ ] Hosts are checked at once <!-- golive: speedtest_rendezvous parties=3 wait={wait} -->
- [ ] Step 1 <!-- golive: speedtest_alone step=1 -->
- [ ] Step 2 <!-- golive: speedtest_alone step=2 -->
- [ ] Step 3 <!-- golive: speedtest_alone step=3 -->
- [ ] Processes start with fork <!-- golive: speedtest_nofork -->
"""


def test_hosts_are_evaluated_at_once_and_each_host_in_order(
    pytester: pytest.Pytester, probe_checks: _Probe
) -> None:
    project(pytester, RENDEZVOUS.format(wait=30))
    result, data = run(pytester, name="ahead")
    statuses = {r["nodeid"].split("::")[1]: r["status"] for r in data["results"]}
    assert len(statuses) == 15
    assert set(statuses.values()) == {"passed"}, statuses
    assert result.ret == 0
    # reported in collection order all the same
    assert [r["order"] for r in data["results"]] == list(range(15))
    # vfork is off only while checks run in threads
    assert getattr(subprocess, "_USE_VFORK", True) is True


def test_without_prefetch_hosts_are_checked_one_after_another(pytester: pytest.Pytester,
                                                               probe_checks: _Probe) -> None:
    project(pytester, RENDEZVOUS.format(wait=1))
    _, data = run(pytester, "--golive-no-prefetch", name="serial")
    first = [r for r in data["results"] if r["check"] == "speedtest_rendezvous"]
    assert [r["status"] for r in first] == ["failed"] * 3
    assert "ran without the other hosts" in first[0]["observed"]
    # one by one in the main thread, vfork stays as Python has it
    vfork = getattr(subprocess, "_USE_VFORK", None)
    expected = "passed" if vfork is None else "failed"
    assert {r["status"] for r in data["results"] if r["check"] == "speedtest_nofork"} == {expected}


def test_concurrency_bounds_the_hosts_checked_at_once(
    pytester: pytest.Pytester, probe_checks: _Probe
) -> None:
    project(pytester, RENDEZVOUS.format(wait=1), settings="[settings]\nconcurrency = 2\n")
    _, data = run(pytester, name="bounded")
    first = [r for r in data["results"] if r["check"] == "speedtest_rendezvous"]
    # two hosts may run together, never three: the rendezvous of three is never met
    assert {r["status"] for r in first} == {"failed"}
    assert {r["status"] for r in data["results"] if r["check"] == "speedtest_alone"} == {"passed"}


def test_prefetch_gives_the_same_results_as_one_by_one(pytester: pytest.Pytester) -> None:
    project(pytester)
    ahead_result, ahead = run(pytester, name="ahead")
    serial_result, serial = run(pytester, "--golive-no-prefetch", name="serial")
    assert rows(ahead) == rows(serial)
    assert len(rows(ahead)) == 14  # 4 lines x 3 hosts, one line on h2, one manual line
    assert ahead["verdict"] == serial["verdict"]
    assert ahead["verdict"]["verdict"] == "NO-GO"  # the CPU blocker on h2
    assert ahead_result.ret == serial_result.ret == 1


# --- xdist ----------------------------------------------------------------------------------


def test_loadgroup_is_chosen_for_n_unless_the_user_chose(pytester: pytest.Pytester) -> None:
    config = pytester.parseconfig("--golive=prod", "-n", "2")
    assert choose_loadgroup(config) and config.option.dist == "loadgroup"
    config = pytester.parseconfig("--golive=prod", "-n", "2", "--dist", "load")
    assert not choose_loadgroup(config) and config.option.dist == "load"
    config = pytester.parseconfig("-n", "2")
    assert not choose_loadgroup(config)  # not a readiness run: xdist as usual
    config = pytester.parseconfig("--golive=prod")
    assert not choose_loadgroup(config)


def _workers_by_host(stdout: list[str]) -> dict[str, set[str]]:
    """Host -> the xdist workers that ran its items, from ``-v`` output."""
    seen: dict[str, set[str]] = {}
    for line in stdout:
        match = re.match(r"\[(gw\d+)\] .*checklist\.md::\S+\[(h\d)\]", line)
        if match:
            seen.setdefault(match.group(2), set()).add(match.group(1))
    return seen


@pytest.mark.parametrize(
    "dist_args",
    [
        ("-n", "2"),
        ("--tx", "2*popen", "--dist", "loadgroup"),
        # As with remote runners (docs/performance.md): workers started in a
        # directory of their own (the suite at the same path), pytest copied there.
        ("--tx", "popen//chdir={path}", "--tx", "popen//chdir={path}", "--dist", "loadgroup"),
    ],
    ids=["n2", "tx-popen", "tx-chdir"],
)
def test_xdist_run_matches_the_serial_run(
    pytester: pytest.Pytester, dist_args: tuple[str, ...]
) -> None:
    dist_args = tuple(a.format(path=pytester.path) for a in dist_args)
    project(pytester)
    serial_result, serial = run(pytester, name="serial")
    result, merged = run(pytester, "-v", *dist_args, name="xdist", subprocess=True)
    # one merged report, with the serial run's node ids, statuses, evidence and order
    assert rows(merged) == rows(serial)
    assert merged["verdict"] == serial["verdict"]
    assert merged["counts"] == serial["counts"]
    assert result.ret == serial_result.ret == 1
    # every host's items ran on one worker, and both workers were used
    workers = _workers_by_host(result.outlines)
    assert set(workers) == set(HOSTS), result.outlines
    assert all(len(w) == 1 for w in workers.values()), workers
    assert len(set().union(*workers.values())) == 2, workers
    assert not list(pytester.path.glob("xdist.json.*")), (
        "workers must not write reports of their own"
    )
