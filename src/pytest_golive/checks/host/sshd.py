"""The SSH server's effective settings."""

from __future__ import annotations

import re

from pytest_golive.checks.host.shell import read_files, words
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, has, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget

#: sshd's built-in values for the keywords checked by default.
SSHD_DEFAULTS = {"passwordauthentication": "yes", "permitrootlogin": "prohibit-password"}

#: ``sshd -T`` with the first sshd found (exit 127 if none, 1 if it refuses, as a plain user does).
SSHD_T = (
    "for s in /usr/sbin/sshd /usr/local/sbin/sshd; do [ -x \"$s\" ] || continue;"
    " \"$s\" -T -f %s 2>&1 && exit 0; exit 1; done; exit 127"
)


def parse_sshd_t(stdout: str) -> dict[str, str]:
    """keyword -> value from ``sshd -T`` (lower-case keywords; the first of repeated ones)."""
    values: dict[str, str] = {}
    for line in stdout.splitlines():
        key, _, value = line.strip().partition(" ")
        values.setdefault(key.lower(), value.strip())
    if values.get("permitrootlogin") == "without-password":  # sshd -T prints the old name
        values["permitrootlogin"] = "prohibit-password"
    return values


def parse_sshd_config(text: str, values: dict[str, str]) -> list[str]:
    """Add one configuration file's settings to ``values``; return the files it includes.

    As sshd reads it: the first value of a keyword wins, reading stops at the
    first ``Match`` block (its settings apply only to some connections), and
    relative ``Include`` paths are under ``/etc/ssh``.
    """
    includes: list[str] = []
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
            includes += [v if v.startswith("/") else f"/etc/ssh/{v}" for v in words(value)]
            continue
        values.setdefault(key, value)
    return includes


def wanted_settings(
    password_authentication: str | None, permit_root_login: str | None, settings: list[str] | None
) -> dict[str, str]:
    """keyword -> required value from the check's parameters."""
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
    return wanted


def judge_sshd(values: dict[str, str], wanted: dict[str, str], source: str) -> Outcome:
    ev = Evidence()
    for key, value in wanted.items():
        actual = values.get(key, "not set")
        ev.add(key, actual.lower() == value.lower(), actual, value)
    return ev.outcome(source=source)


def _sshd_effective(host: HostTarget, config: str) -> tuple[dict[str, str], str]:
    """sshd's effective settings and how they were read.

    ``sshd -T`` is sshd's own answer; it needs root (the host keys), so as
    a plain user the configuration is parsed instead: the first value of a
    keyword wins, ``Include`` is followed, ``Match`` blocks are not applied.
    """
    result = host.run(SSHD_T, config)
    if result.rc == 0 and result.stdout.strip():
        return parse_sshd_t(result.stdout), "sshd -T"
    values: dict[str, str] = {}
    pending = [config]
    seen: set[str] = set()
    while pending:
        files = read_files(host, pending, what=f"reading {config}")
        if not files and pending == [config]:
            raise CheckError(f"host {host.name}: no sshd configuration at {config}")
        pending = []
        for name, text in files.items():
            if name not in seen:
                seen.add(name)
                pending += parse_sshd_config(text, values)
    return {**SSHD_DEFAULTS, **values}, f"parsed {config}"


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
    wanted = wanted_settings(password_authentication, permit_root_login, settings)
    values, source = _sshd_effective(host, config)
    return judge_sshd(values, wanted, source)


# --- import rules: how checklist lines become sshd checks -----------------------------


@proposes("sshd_config")
def _sshd_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\bssh", t):
        return None
    if has(r"root login|permitrootlogin", t):
        return Proposal(
            [("sshd_config", {"permit_root_login": "no"}), ("sshd_config", {})],
            0.75,
            "sshd root login",
        )
    if has(r"password auth\w*|passwordauthentication|key[- ]?(only|based)", t):
        return Proposal(
            [("sshd_config", {"password_authentication": "no"}), ("sshd_config", {})],
            0.75,
            "sshd password authentication",
        )
    if has(r"harden\w*|configured|secured", t):
        return Proposal([("sshd_config", {})], 0.65, "sshd configuration")
    return None
