"""Accounts: users and groups, as the host's name service switch resolves them.

Where every account is local, the host's whole account list is read once
per run (:meth:`HostTarget.local_accounts`); otherwise ``getent`` answers
for one account at a time, which also sees LDAP, SSSD or NIS accounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pytest_golive.checks.host.shell import ParseError, parsing, q
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, has, names_from_code, proposes
from pytest_golive.core.outcome import Evidence, Outcome
from pytest_golive.targets.host import HostTarget

# --- users -------------------------------------------------------------------------------

#: The passwd entry of one account (exit 3 if there is none), then its groups.
USER_COMMAND = "getent passwd %s || exit 3; id -Gn %s"


def parse_user(rc: int, stdout: str, name: str) -> tuple[list[str] | None, list[str]]:
    """(passwd fields or None if there is no such account, groups) from :data:`USER_COMMAND`."""
    if rc != 0 or not stdout.strip():
        return None, []
    lines = stdout.strip().splitlines()
    fields = lines[0].split(":")
    if len(fields) < 7:
        raise ParseError(f"getent passwd {name}: unexpected answer {lines[0][:80]!r}")
    return fields, lines[1].split() if len(lines) > 1 else []


def _account(host: HostTarget, name: str) -> tuple[list[str] | None, list[str]]:
    """An account's passwd fields (``None`` if there is none) and its groups."""
    accounts = host.local_accounts()
    if accounts is not None:
        if name not in accounts.users:
            return None, []
        return accounts.users[name], accounts.groups_of(name)
    result = host.run(USER_COMMAND, name, name)
    with parsing(host):
        return parse_user(result.rc, result.stdout, name)


def judge_user(
    name: str, fields: list[str] | None, member_of: list[str], *, exists: bool,
    shell: str | None, home: str | None, groups: list[str] | None, non_root: bool,
) -> Outcome:
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
    return judge_user(name, fields, member_of, exists=exists, shell=shell, home=home,
                      groups=groups, non_root=non_root)


# --- groups ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupFacts:
    """One group: its gid, and which of the users asked about belong to it."""

    gid: int
    members: list[str]


def group_script(name: str, members: list[str]) -> str:
    """The group's entry (exit 3 if none), then each asked-about user's groups."""
    checks = "".join(f"; echo @@user {q(m)} $(id -Gn {q(m)} 2>/dev/null)" for m in members)
    return f"getent group {q(name)} || exit 3{checks}"


def parse_group(rc: int, stdout: str, name: str) -> GroupFacts | None:
    """The group's facts from :func:`group_script`'s output; None when there is no such group."""
    if rc != 0 or not stdout.strip():
        return None
    lines = stdout.strip().splitlines()
    try:
        gid = int(lines[0].split(":")[2])
    except (IndexError, ValueError):
        raise ParseError(f"getent group {name}: unexpected answer {lines[0][:80]!r}") from None
    belong = [ln.split()[1] for ln in lines[1:]
              if ln.startswith("@@user ") and name in ln.split()[2:]]
    return GroupFacts(gid, belong)


def judge_group(
    name: str, facts: GroupFacts | None, exists: bool, gid: int | None, members: list[str] | None
) -> Outcome:
    ev = Evidence()
    present = facts is not None
    ev.add("exists", present == exists, "yes" if present else "no", "yes" if exists else "no")
    if facts is None or not exists:
        return ev.outcome(group=name)
    if gid is not None:
        ev.add("gid", facts.gid == gid, facts.gid, gid)
    if members:
        missing = [m for m in members if m not in facts.members]
        ev.add("members", not missing, ", ".join(facts.members) or "none of them",
               ", ".join(members))
    return ev.outcome(group=name, gid=facts.gid)


@check(target="host")
def group(
    host: HostTarget, *, name: str, exists: bool = True, gid: int | None = None,
    members: list[str] | None = None,
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
    result = host.run(group_script(name, members or []))
    with parsing(host):
        facts = parse_group(result.rc, result.stdout, name)
    return judge_group(name, facts, exists, gid, members)


# --- import rules: how checklist lines become account checks --------------------------


@proposes("user")
def _user_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\b(users?|accounts?)\b", t) or not has(
        r"\b(create[sd]?|exists?|present|added|set up|runs? as)\b", t
    ):
        return None
    if has(r"\bprivileges?\b|permission|grant", t):
        return None
    if has(
        r"\b(database|db|mysql|mariadb|postgres\w*|redis|sql|snowflake|iam|admin panel|cloud|"
        r"google|aws|gcp|azure)\b",
        t,
    ):
        return None
    if not has(
        r"\b(application|app|service|system|dedicated|non-?root|unprivileged|daemon|run ?as)\b", t
    ):
        return None
    names = names_from_code(line.code, "useradd|adduser") or re.findall(
        r"[`'\"]([a-z_][\w.-]*)[`'\"]", line.marked
    )
    if names:
        return Proposal([("user", {"name": names[0]})], 0.8, f"user {names[0]}")
    return Proposal(
        [("user", {"name": "${app_user}"})], 0.75, "application user: its name is a variable"
    )
