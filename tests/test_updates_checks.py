"""OS security update checks: live on this machine (``local://``) and the fleet, and on captures.

This machine is Debian 12 with unattended-upgrades installed by scripts/test.sh
(its package enables ``APT::Periodic::Unattended-Upgrade``) and real package
lists. A failing configuration is made without touching the machine's APT
files: ``local://`` commands inherit the runner's environment, so the test
points ``APT_CONFIG`` at a configuration of its own that APT reads instead.

No RPM host is available here; the dnf parsers are tested on the formats dnf's
documentation gives (``automatic.conf``, ``dnf updateinfo list``).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_golive.checks import updates
from pytest_golive.checks.registry import REGISTRY
from pytest_golive.checks.rules import Line
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.targets.host import HostTarget
from support import require
from support.fleet import Fleet

DATA = Path(__file__).parent / "data" / "updates"


def run(check_name: str, /, *target: object, **params: object):
    chk = REGISTRY.get(check_name)
    return chk.func(*target, **chk.validate(params))


@pytest.fixture(params=("local", "ssh"))
def debian_host(request: pytest.FixtureRequest, fleet: Fleet) -> Iterator[HostTarget]:
    require(shutil.which("apt-config") is not None, "apt-config (a Debian machine)")
    require(Path("/usr/share/doc/unattended-upgrades").is_dir(), "unattended-upgrades")
    options = (
        {"url": "local://"} if request.param == "local" else fleet.options(fleet.hosts[0].ssh_url)
    )
    target = HostTarget(TargetSpec("host", request.param, (), options), Settings(connect_timeout=3))
    yield target
    target.close()


@pytest.mark.real_systems
def test_automatic_security_updates_enabled(debian_host: HostTarget) -> None:
    out = run("automatic_security_updates", debian_host, scheduler="false")
    assert out.status == "passed", out
    facts = {f["fact"]: f["observed"] for f in out.details["facts"]}
    assert facts["Unattended-Upgrade"] == 'APT::Periodic::Unattended-Upgrade "1"'
    assert facts["package"].startswith("unattended-upgrades ")
    assert "Security" in facts["origins"]


@pytest.mark.real_systems
def test_schedule_is_what_this_machine_has(debian_host: HostTarget) -> None:
    """What runs APT's periodic job: the timer under systemd; without systemd, cron."""
    out = run("automatic_security_updates", debian_host)
    schedule = next(f for f in out.details["facts"] if f["fact"] == "schedule")
    if Path("/run/systemd/system").is_dir():
        assert "apt-daily-upgrade.timer" in schedule["observed"], out
        return
    if not _running({"cron", "crond", "anacron"}):
        assert out.status == "failed" and "no cron daemon runs" in out.observed, out
    # A process named cron, as the check sees daemons (/proc/PID/comm). The real cron
    # is not started: it would run this machine's own daily jobs. The fleet hosts share
    # this machine's process table (only their network is their own).
    fake = Path(tempfile.mkdtemp(prefix="golive-cron-")) / "cron"
    shutil.copy("/bin/sleep", fake)
    proc = subprocess.Popen([str(fake), "60"])
    try:
        out = run("automatic_security_updates", debian_host)
        assert out.status == "passed" and "apt-compat run by cron" in out.observed, out
    finally:
        proc.kill()
        proc.wait(timeout=10)
        shutil.rmtree(fake.parent, ignore_errors=True)


def _running(names: set[str]) -> bool:
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() in names:
                return True
        except OSError:
            continue  # the process ended meanwhile
    return False


@pytest.mark.real_systems
def test_automatic_updates_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require(shutil.which("apt-config") is not None, "apt-config (a Debian machine)")
    parts = tmp_path / "apt.conf.d"
    parts.mkdir()
    (tmp_path / "apt.conf").write_text(
        f'Dir::Etc::parts "{parts}/";\nAPT::Periodic::Unattended-Upgrade "0";\n'
    )
    monkeypatch.setenv("APT_CONFIG", str(tmp_path / "apt.conf"))
    target = HostTarget(TargetSpec("host", "local", (), {"url": "local://"}), Settings())
    out = run("automatic_security_updates", target, scheduler="false")
    assert out.status == "failed", out
    assert 'Unattended-Upgrade: APT::Periodic::Unattended-Upgrade "0"' in out.observed
    assert "Update-Package-Lists not set" in out.observed
    assert "no Unattended-Upgrade::Origins-Pattern" in out.observed


@pytest.mark.real_systems
def test_pending_security_updates_from_the_current_lists(debian_host: HostTarget) -> None:
    lists = list(Path("/var/lib/apt/lists").glob("*Release"))
    if not lists:  # a machine whose lists were never fetched: nothing to count from
        out = run("pending_security_updates", debian_host)
        assert out.status == "failed" and "no package lists" in out.observed, out
        return
    before = {p: p.stat().st_mtime for p in lists}
    out = run("pending_security_updates", debian_host, max="100000", max_list_age_days="100000")
    assert out.status == "passed", out
    assert "security updates pending" in out.observed and "lists" in out.observed
    assert out.details["lists_age_days"] is not None
    count = out.details["pending_security_count"]
    # Lists older than 0 days always fail; pending updates fail too when there are any.
    out = run("pending_security_updates", debian_host, max="0", max_list_age_days="0")
    assert out.status == "failed" and "lists at most 0 days old" in out.expected, out
    if count:
        assert f"{count} security updates pending" in out.observed, out
    # Read-only: the lists were not refreshed.
    assert {p: p.stat().st_mtime for p in lists} == before


# --- parsers on captured output -------------------------------------------------------------------


def test_apt_config_dump_captured() -> None:
    settings, origins = updates.parse_apt_config((DATA / "apt-config-dump.txt").read_text())
    assert settings["APT::Periodic::Unattended-Upgrade"] == "1"
    assert any("Debian-Security" in o for o in origins)


def test_apt_simulation_captured() -> None:
    total, security = updates.parse_apt_simulation((DATA / "apt-get-s-upgrade.txt").read_text())
    assert total == 123 and len(security) == 76
    assert "libssl3 3.0.22-1~deb12u2" in security
    assert not any(s.startswith("bash ") for s in security)  # from the point release, not security
    pending = updates.Pending(updates.Family.APT, total, security, lists_age_days=1.5)
    out = updates.judge_pending(pending, max=0, max_list_age_days=7)
    assert out.status == "failed" and "76 security updates pending" in out.observed
    assert "123 updates in all; lists 36.0 hours old" in out.observed


def test_no_lists_cannot_pass() -> None:
    out = updates.judge_pending(updates.Pending(updates.Family.APT), max=0, max_list_age_days=None)
    assert out.status == "failed" and "no package lists" in out.observed


def test_apt_facts_without_the_package() -> None:
    text = "@@family apt\n@@package\n@@config\n" + (DATA / "apt-config-dump.txt").read_text()
    text += "@@scheduler\nsystemd disabled\n"
    out = updates.judge_automatic_updates(updates.parse_facts(text))
    assert out.status == "failed"
    assert "unattended-upgrades not installed" in out.observed
    assert "apt-daily-upgrade.timer disabled" in out.observed


AUTOMATIC_CONF = """\
[commands]
#  What kind of upgrade to perform:
# default                            = all available upgrades
# security                           = only the security upgrades
upgrade_type = security
random_sleep = 0
download_updates = yes
apply_updates = {apply}
"""


def test_dnf_automatic() -> None:
    for timer, apply, status in (
        ("dnf-automatic.timer", "yes", "passed"),
        ("dnf-automatic.timer", "no", "failed"),
        ("dnf-automatic-install.timer", "no", "passed"),
    ):
        text = (
            f"@@family dnf\n@@package\ndnf-automatic-4.14.0-9.el9.noarch\n@@scheduler\n"
            f"{timer} enabled\ndnf5-automatic.timer absent\n@@config\n"
            + AUTOMATIC_CONF.format(apply=apply)
        )
        out = updates.judge_automatic_updates(updates.parse_facts(text))
        assert out.status == status, (timer, apply, out)
    text = "@@family dnf\n@@package\n@@scheduler\ndnf-automatic.timer disabled\n@@config\n"
    out = updates.judge_automatic_updates(updates.parse_facts(text))
    assert out.status == "failed" and "dnf-automatic not installed" in out.observed


def test_dnf_updateinfo() -> None:
    text = (
        "RHSA-2024:1234 Important/Sec. kernel-5.14.0-362.24.1.el9_3.x86_64\n"
        "RHSA-2024:1250 Moderate/Sec.  openssl-1:3.0.7-25.el9_3.x86_64\n"
        "RHSA-2024:1250 Moderate/Sec.  openssl-libs-1:3.0.7-25.el9_3.x86_64\n"
    )
    total, security = updates.parse_dnf_updateinfo(text)
    assert total == 3 and security[0].startswith("kernel-")


def _line(title: str) -> Line:
    return Line(1, 0, title, title, "", "", False)


@pytest.mark.parametrize(
    "title, check",
    [
        ("Regular security updates scheduled", "automatic_security_updates"),
        ("Automatic security updates enabled", "automatic_security_updates"),
        ("Unattended upgrades configured", "automatic_security_updates"),
        ("Check for security updates", "pending_security_updates"),
        ("OS is patched", "pending_security_updates"),
        ("Server OS fully patched", "pending_security_updates"),
    ],
)
def test_import_rule(title: str, check: str) -> None:
    proposal = updates._updates_rule(_line(title))
    assert proposal is not None and proposal.candidates[0] == (check, {})


def test_import_rule_leaves_dependencies_alone() -> None:
    assert updates._updates_rule(_line("npm dependencies have no security updates pending")) is None
