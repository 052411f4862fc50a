"""OS security updates: applied automatically, and none left pending.

Debian-family hosts are read through APT's own tools: ``dpkg-query`` for the
unattended-upgrades package, ``apt-config dump`` for the settings APT really
uses (every file of ``apt.conf.d`` merged, as APT merges them), and the
scheduler that runs APT's periodic job (``apt-daily-upgrade.timer`` under
systemd, ``/etc/cron.daily/apt-compat`` and a cron daemon elsewhere).
RPM-family hosts are read through dnf-automatic's timers and configuration.

Pending updates are counted from the package lists the host already has,
never refreshed (``apt-get -s``, ``dnf -C``): nothing is downloaded or
changed, and the age of those lists is part of the evidence, since a count
from old lists can miss newer fixes.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any

from pytest_golive.checks._shell import first_line
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget


class Family(enum.Enum):
    APT = "apt"
    DNF = "dnf"
    OTHER = "other"


#: One script per host: which family, then every fact the judgement needs.
_SCRIPT = r"""
if [ -r /etc/debian_version ] && command -v apt-config >/dev/null 2>&1; then
  echo @@family apt
  echo @@package; dpkg-query -W -f '${Status}\t${Version}\n' unattended-upgrades 2>/dev/null
  echo @@config; apt-config dump 2>&1
  echo @@scheduler
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    echo "systemd $(systemctl is-enabled apt-daily-upgrade.timer 2>/dev/null || true)"
  else
    s=no; [ -x /etc/cron.daily/apt-compat ] && s=yes
    echo "cron $s $(cat /proc/[0-9]*/comm 2>/dev/null | grep -xE 'cron|crond|anacron|busybox' \
      | sort -u | tr '\n' ' ')"
  fi
elif command -v rpm >/dev/null 2>&1; then
  echo @@family dnf
  echo @@package; rpm -q dnf-automatic dnf5-plugin-automatic 2>/dev/null | grep -v 'not installed'
  echo @@scheduler
  for t in dnf-automatic.timer dnf-automatic-install.timer dnf5-automatic.timer; do
    echo "$t $(systemctl is-enabled "$t" 2>/dev/null || echo absent)"
  done
  echo @@config; cat /etc/dnf/automatic.conf 2>/dev/null
else
  echo @@family other
fi
"""


@dataclass
class UpdateFacts:
    """What a host says about its automatic updates."""

    family: Family
    #: The package that applies updates (unattended-upgrades, dnf-automatic) and its version.
    package: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    origins: list[str] = field(default_factory=list)
    #: What runs the job: "systemd enabled", "cron yes cron", "dnf-automatic-install.timer enabled".
    scheduler: list[str] = field(default_factory=list)


def _sections(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("@@"):
            name, _, rest = line[2:].partition(" ")
            current = name
            out[current] = rest + "\n" if rest else ""
        elif current:
            out[current] += line + "\n"
    return out


def parse_apt_config(text: str) -> tuple[dict[str, str], list[str]]:
    """``apt-config dump``: scalar settings, and the unattended-upgrades origins (patterns)."""
    settings: dict[str, str] = {}
    origins: list[str] = []
    for line in text.splitlines():
        m = re.match(r'^(\S+?)\s+"(.*)";$', line.strip())
        if not m:
            continue
        key, value = m.group(1), m.group(2)
        if key.endswith("::") and key.rstrip(":") in (
            "Unattended-Upgrade::Origins-Pattern",
            "Unattended-Upgrade::Allowed-Origins",
        ):
            origins.append(value)
        else:
            settings[key] = value
    return settings, origins


def parse_facts(text: str) -> UpdateFacts:
    parts = _sections(text)
    family = Family(parts.get("family", "other").strip() or "other")
    facts = UpdateFacts(family)
    if family is Family.APT:
        status = parts.get("package", "").strip().split("\t")
        if len(status) == 2 and status[0].endswith("ok installed"):
            facts.package = f"unattended-upgrades {status[1]}"
        facts.settings, facts.origins = parse_apt_config(parts.get("config", ""))
    elif family is Family.DNF:
        installed = parts.get("package", "").split()
        facts.package = installed[0] if installed else None
        facts.settings = _ini(parts.get("config", ""))
    facts.scheduler = [ln.strip() for ln in parts.get("scheduler", "").splitlines() if ln.strip()]
    return facts


def _ini(text: str) -> dict[str, str]:
    """``[section]`` / ``key = value`` lines as ``section.key``."""
    out: dict[str, str] = {}
    section = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line:
            key, _, value = line.partition("=")
            out[f"{section}.{key.strip()}"] = value.strip()
    return out


def _on(value: str | None) -> bool:
    """APT's periodic values are day counts ("1", "7") or "always"; "0" and empty mean off."""
    if value is None:
        return False
    text = value.strip().lower()
    return (
        text == "always"
        or (text.isdigit() and int(text) > 0)
        or bool(re.fullmatch(r"\d+[smhd]", text) and not text.startswith("0"))
    )


def _periodic(ev: Evidence, facts: UpdateFacts, name: str, why: str = "") -> None:
    """One ``APT::Periodic`` setting that must be on: its value as APT's configuration says it."""
    key = f"APT::Periodic::{name}"
    value = facts.settings.get(key)
    ev.add(
        name,
        _on(value),
        f'{key} "{value or ""}"' if value is not None else f"{key} not set",
        f'{key} "1"{why}',
    )


def judge_automatic_updates(facts: UpdateFacts, *, scheduler: bool = True) -> Outcome:
    """Pass when updates are installed automatically, security fixes included, on a schedule."""
    ev = Evidence()
    if facts.family is Family.APT:
        ev.add(
            "package",
            facts.package is not None,
            facts.package or "unattended-upgrades not installed",
            "unattended-upgrades installed",
        )
        _periodic(ev, facts, "Unattended-Upgrade")
        _periodic(ev, facts, "Update-Package-Lists", " (else the fixes are never seen)")
        security = [o for o in facts.origins if "security" in o.lower()]
        ev.add(
            "origins",
            bool(security),
            security[0]
            if security
            else (
                f"{len(facts.origins)} origins, none a security archive"
                if facts.origins
                else "no Unattended-Upgrade::Origins-Pattern"
            ),
            "a security origin among those upgraded",
        )
        if scheduler:
            ev.add("schedule", *_apt_schedule(facts.scheduler))
    elif facts.family is Family.DNF:
        ev.add(
            "package",
            facts.package is not None,
            facts.package or "dnf-automatic not installed",
            "dnf-automatic installed",
        )
        timers = [t.split()[0] for t in facts.scheduler if t.split()[1:2] == ["enabled"]]
        installs = "dnf-automatic-install.timer" in timers or (
            bool(timers)
            and facts.settings.get("commands.apply_updates", "no").lower() in ("yes", "true", "1")
        )
        shown = ", ".join(timers) or "no dnf-automatic timer enabled"
        ev.add("timer", bool(timers), shown, "a dnf-automatic timer enabled")
        ev.add(
            "apply",
            installs,
            f"apply_updates = {facts.settings.get('commands.apply_updates', 'no')}"
            if "dnf-automatic-install.timer" not in timers
            else "dnf-automatic-install.timer",
            "updates applied, not only downloaded (apply_updates = yes)",
        )
        kind = facts.settings.get("commands.upgrade_type", "default")
        ev.add(
            "upgrade_type",
            kind in ("default", "security"),
            f"upgrade_type = {kind}",
            "default or security",
        )
    else:
        raise CheckError("automatic_security_updates: neither APT nor RPM on the host")
    return ev.outcome(
        family=facts.family.value,
        package=facts.package,
        scheduler=facts.scheduler,
        origins=facts.origins[:10],
    )


def _apt_schedule(lines: list[str]) -> tuple[bool, str, str]:
    words = lines[0].split() if lines else []
    expected = "apt-daily-upgrade.timer enabled (systemd) or apt-compat run by cron"
    if words[:1] == ["systemd"]:
        state = words[1] if len(words) > 1 else "absent"
        return state == "enabled", f"apt-daily-upgrade.timer {state}", expected
    if words[:1] == ["cron"]:
        script = len(words) > 1 and words[1] == "yes"
        daemons = words[2:]
        if not script:
            return False, "no systemd, and no /etc/cron.daily/apt-compat", expected
        if not daemons:
            return (
                False,
                "no systemd; /etc/cron.daily/apt-compat present but no cron daemon runs",
                expected,
            )
        return True, f"/etc/cron.daily/apt-compat run by {', '.join(daemons)}", expected
    return False, "cannot tell what runs APT's periodic job", expected


def read_facts(host: HostTarget) -> UpdateFacts:
    result = host.run(_SCRIPT)
    if result.rc != 0:
        cause = first_line(str(result.stderr)) or f"exit status {result.rc}"
        raise CheckError(f"host {host.name}: reading the update configuration failed: {cause}")
    return parse_facts(str(result.stdout))


@check(target="host", aliases=("unattended_upgrades", "auto_updates"))
def automatic_security_updates(host: HostTarget, *, scheduler: bool = True) -> Outcome:
    """Security updates are installed automatically, on a schedule.

    Debian and Ubuntu: unattended-upgrades is installed, ``apt-config dump``
    (every file of apt.conf.d merged) sets ``APT::Periodic::Unattended-Upgrade``
    and ``Update-Package-Lists`` on, a security archive is among its origins,
    and something runs APT's periodic job: ``apt-daily-upgrade.timer``
    enabled under systemd, else ``/etc/cron.daily/apt-compat`` with a cron
    daemon running. RHEL, Rocky, Fedora: a dnf-automatic timer is enabled and
    applies updates (``dnf-automatic-install.timer``, or ``apply_updates =
    yes``) of the default or security type.

    Args:
        scheduler: false to skip the schedule fact (a host whose init system
            this check cannot see, such as a container image).
    """
    return judge_automatic_updates(read_facts(host), scheduler=scheduler)


# --- pending updates ---------------------------------------------------------------------------

_PENDING_SCRIPT = r"""
if [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
  echo @@family apt
  echo @@now; date +%s
  echo @@lists; for f in /var/lib/apt/lists/*Release; do [ -f "$f" ] && stat -c '%Y %n' "$f"; done
  echo @@simulate; apt-get -s -q -o Debug::NoLocking=1 dist-upgrade 2>&1; echo "@@rc $?"
elif command -v dnf >/dev/null 2>&1; then
  echo @@family dnf
  echo @@now; date +%s
  echo @@lists
  for f in /var/cache/dnf/*/repodata/repomd.xml /var/cache/libdnf5/*/repodata/repomd.xml; do
    [ -f "$f" ] && stat -c '%Y %n' "$f"
  done
  echo @@simulate; dnf -C -q updateinfo list --security --updates 2>&1; echo "@@rc $?"
else
  echo @@family other
fi
"""


@dataclass
class Pending:
    """Pending updates from the host's current lists, and how old those lists are."""

    family: Family
    total: int = 0
    security: list[str] = field(default_factory=list)
    lists_age_days: float | None = None
    error: str = ""


def parse_apt_simulation(text: str) -> tuple[int, list[str]]:
    """``apt-get -s``: the ``Inst`` lines, and those whose version is from a security archive."""
    total, security = 0, []
    for line in text.splitlines():
        m = re.match(r"^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) ([^\[]*?)(?: \[[^\]]*\])?\)", line)
        if not m:
            continue
        total += 1
        if re.search(r"security", m.group(3), re.I):
            security.append(f"{m.group(1)} {m.group(2)}")
    return total, security


def parse_dnf_updateinfo(text: str) -> tuple[int, list[str]]:
    """``dnf updateinfo list --security``: ``ADVISORY  SEVERITY/Sec.  PACKAGE-VERSION`` lines."""
    packages = []
    for line in text.splitlines():
        fields = line.split()
        if (
            len(fields) >= 3
            and "/Sec" in fields[1]
            or (len(fields) == 3 and fields[1] == "security")
        ):
            packages.append(fields[-1])
    unique = list(dict.fromkeys(packages))
    return len(unique), unique


def parse_pending(text: str) -> Pending:
    parts = _sections(text)
    family = Family(parts.get("family", "other").strip() or "other")
    pending = Pending(family)
    now = parts.get("now", "").strip()
    stamps = [
        int(ln.split()[0])
        for ln in parts.get("lists", "").splitlines()
        if ln.split()[:1] and ln.split()[0].isdigit()
    ]
    if now.isdigit() and stamps:
        pending.lists_age_days = (int(now) - max(stamps)) / 86400
    output = parts.get("simulate", "")
    rc = re.search(r"^@@rc (\d+)", text, re.M)
    if rc and rc.group(1) != "0":
        pending.error = first_line(
            "\n".join(ln for ln in output.splitlines() if re.match(r"^(E|W|Error):", ln)) or output
        )
    if family is Family.APT:
        pending.total, pending.security = parse_apt_simulation(output)
    elif family is Family.DNF:
        pending.total, pending.security = parse_dnf_updateinfo(output)
    return pending


def _days(value: float) -> str:
    return f"{value * 24:.1f} hours" if value < 2 else f"{value:.1f} days"


def judge_pending(pending: Pending, *, max: int, max_list_age_days: float | None) -> Outcome:
    """At most ``max`` security updates pending, counted from lists at most N days old."""
    ev = Evidence()
    details: dict[str, Any] = {
        "family": pending.family.value,
        "pending_total": pending.total,
        "pending_security_count": len(pending.security),
        "pending_security": pending.security[:50],
        "lists_age_days": None
        if pending.lists_age_days is None
        else round(pending.lists_age_days, 2),
    }
    if pending.family is Family.OTHER:
        raise CheckError("pending_security_updates: neither apt-get nor dnf on the host")
    if pending.error:
        raise CheckError(f"pending_security_updates: the simulation failed: {pending.error}")
    if pending.lists_age_days is None:
        ev.add(
            "lists",
            False,
            "no package lists on the host (never updated): nothing to count from",
            "package lists to count from",
        )
        return ev.outcome(**details)
    age = _days(pending.lists_age_days)
    shown = ", ".join(pending.security[:10]) + (
        f" and {len(pending.security) - 10} more" if len(pending.security) > 10 else ""
    )
    count = len(pending.security)
    ev.add(
        "security",
        count <= max,
        f"{count} security updates pending"
        + (f": {shown}" if shown else "")
        + f" ({pending.total} updates in all; lists {age} old)",
        f"at most {max} security updates pending",
    )
    if max_list_age_days is not None:
        ev.add(
            "lists",
            pending.lists_age_days <= max_list_age_days,
            f"package lists {age} old",
            f"lists at most {max_list_age_days:g} days old (older lists miss newer fixes)",
        )
    return ev.outcome(**details)


@check(target="host", aliases=("security_updates_pending",))
def pending_security_updates(
    host: HostTarget, *, max: int = 0, max_list_age_days: float | None = 7
) -> Outcome:
    """No more than ``max`` security updates are waiting to be installed.

    Counted from the host's current package lists without refreshing them
    (read-only): ``apt-get -s dist-upgrade`` (a simulation) on Debian and
    Ubuntu, where an update is a security one when its new version comes
    from a ``*-security`` archive; ``dnf -C updateinfo list --security`` (the
    cache only) on RPM hosts. The age of the lists is in the evidence; lists
    older than ``max_list_age_days`` fail, since they may not know of newer
    fixes.

    Args:
        max: the most security updates that may be pending.
        max_list_age_days: the oldest acceptable package lists, in days; empty to not check.
    """
    result = host.run(_PENDING_SCRIPT, timeout=120)
    return judge_pending(
        parse_pending(str(result.stdout)), max=max, max_list_age_days=max_list_age_days
    )


# --- import rules ------------------------------------------------------------------------------


@proposes("automatic_security_updates", "pending_security_updates")
def _updates_rule(line: Line) -> Proposal | None:
    """ "Regular security updates scheduled", "Automatic security updates enabled", "OS patched"."""
    t = line.lower
    if not re.search(
        r"\b(security (updates?|upgrades?|patch\w*|fixes)|unattended[- ](security )?upgrades?|"
        r"auto(matic)?[- ]?(os )?(updates?|upgrades?|patch\w*)|os patch\w*|"
        r"(os|system|server|packages?|kernel) (is |are )?(fully )?(up to date|up-to-date|patched|"
        r"updated))\b",
        t,
    ):
        return None
    if re.search(
        r"\b(dependenc\w*|npm|pip|docker image|container image|library|libraries|"
        r"app(lication)? (updates?|version))\b",
        t,
    ):
        return None
    if re.search(
        r"\b(schedul\w*|automat\w*|unattended|regular\w*|enabled|configured|periodic)\b", t
    ):
        return Proposal([("automatic_security_updates", {})], 0.75, "automatic security updates")
    return Proposal([("pending_security_updates", {})], 0.65, "no security updates pending")
