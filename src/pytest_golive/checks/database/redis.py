"""Redis hardening: authentication, persistence, a memory limit, dangerous commands."""

from __future__ import annotations

from typing import Any, Literal

from pytest_golive.checks.database.common import names, only_redis, redis_of
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, has, nearest_context, proposes
from pytest_golive.core.outcome import Evidence, Outcome
from pytest_golive.targets.database import DatabaseTarget
from pytest_golive.targets.dialects.redis import CommandFacts

#: Redis commands that wipe data, reconfigure the server or block it.
DANGEROUS_REDIS_COMMANDS = ["FLUSHALL", "FLUSHDB", "CONFIG", "KEYS", "DEBUG"]


def judge_auth(refusal: str | None) -> Outcome:
    """``refusal``: what the server answered an unauthenticated PING, None if it answered it."""
    expected = "unauthenticated clients refused"
    if refusal is None:
        return Outcome.failed("an unauthenticated client was accepted (PING answered)", expected)
    return Outcome.passed(f"unauthenticated PING refused ({refusal})", expected)


@check(target="database")
def redis_auth_required(db: DatabaseTarget) -> Outcome:
    """Redis refuses a client that has not authenticated.

    A second connection without user or password sends PING; it must be
    refused (NOAUTH / WRONGPASS / NOPERM).
    """
    if na := only_redis(db):
        return na
    return judge_auth(redis_of(db).unauthenticated_ping(db))


def judge_persistence(info: dict[str, Any], save: str | None, mode: str) -> Outcome:
    """``info``: INFO persistence; ``save``: CONFIG GET save, None when CONFIG is unavailable."""
    aof = str(info.get("aof_enabled", "0")) == "1"
    rdb = bool(save and save.strip())
    if save is None:
        rdb_text = "unknown (CONFIG not available)"
    else:
        rdb_text = f"save {save}" if rdb else "off (no save schedule)"
    observed = f"AOF {'on' if aof else 'off'}, RDB {rdb_text}"
    ok = {"any": aof or rdb, "aof": aof, "rdb": rdb, "both": aof and rdb}[mode]
    expected = {"any": "AOF or RDB on", "aof": "AOF on", "rdb": "RDB on",
                "both": "AOF and RDB on"}[mode]
    return Outcome.of(ok, observed, expected, aof=aof, rdb=rdb)


@check(target="database")
def redis_persistence(
    db: DatabaseTarget, *, mode: Literal["any", "aof", "rdb", "both"] = "any"
) -> Outcome:
    """Redis persists its data: append-only file or RDB snapshots enabled.

    AOF comes from ``INFO persistence``; RDB from the ``save`` schedule
    (``CONFIG GET save``), which cannot be seen when CONFIG is disabled.

    Args:
        mode: which persistence must be on: any (AOF or RDB), aof, rdb or both.
    """
    if na := only_redis(db):
        return na
    dialect = redis_of(db)
    return judge_persistence(dialect.info(db, "persistence"), dialect.config(db, "save"), mode)


def judge_maxmemory(info: dict[str, Any], policy: str | None) -> Outcome:
    """``info``: INFO memory."""
    limit = int(info.get("maxmemory", 0) or 0)
    current = str(info.get("maxmemory_policy", ""))
    ev = Evidence()
    ev.add("maxmemory", limit > 0, f"{limit / 1024**2:g} MiB" if limit else "0 (unlimited)",
           "a limit > 0")
    if policy:
        ev.add("policy", current == policy, current, policy)
    return ev.outcome(maxmemory=limit, policy=current)


@check(target="database")
def redis_maxmemory(db: DatabaseTarget, *, policy: str | None = None) -> Outcome:
    """Redis has a memory limit (``maxmemory``), optionally with a given eviction policy.

    Args:
        policy: the required maxmemory-policy, such as allkeys-lru or noeviction.
    """
    if na := only_redis(db):
        return na
    return judge_maxmemory(redis_of(db).info(db, "memory"), policy)


def judge_dangerous(user: str | None, commands: list[CommandFacts], asked: list[str]) -> Outcome:
    enabled, disabled = [], []
    for cmd in commands:
        if not cmd.exists:
            disabled.append(f"{cmd.name} (renamed or absent)")
        elif cmd.debug_disabled:
            disabled.append("DEBUG (enable-debug-command no)")
        elif cmd.allowed is False:
            disabled.append(f"{cmd.name} (denied by ACL)")
        else:
            enabled.append(cmd.name if cmd.allowed else f"{cmd.name} (ACL not checkable)")
    return Outcome.of(
        not enabled,
        f"enabled for {user or 'this client'}: {names(enabled)}" if enabled
        else f"all disabled: {names(disabled)}",
        f"{names(asked)} renamed or disabled",
        enabled=enabled, disabled=disabled, account=user,
    )


@check(target="database")
def redis_dangerous_commands(
    db: DatabaseTarget, *, commands: list[str] | None = None, account: str | None = None
) -> Outcome:
    """Dangerous Redis commands are renamed or disabled for this account.

    Nothing is executed: ``COMMAND INFO`` shows whether a command still
    exists under its name (rename-command hides it), and ``ACL DRYRUN``
    whether the account may run it. DEBUG also counts as disabled when
    ``enable-debug-command`` is ``no``. A command that exists and cannot be
    proven denied counts as enabled: an application user denied
    ``@dangerous`` cannot run ACL DRYRUN itself, so check it through an
    administrative DSN with ``account``.

    Args:
        commands: the commands to look at (default FLUSHALL, FLUSHDB, CONFIG, KEYS, DEBUG).
        account: the ACL user to judge; by default the DSN's own.
    """
    if na := only_redis(db):
        return na
    asked = [c.upper() for c in (commands or DANGEROUS_REDIS_COMMANDS)]
    dialect = redis_of(db)
    user = account or dialect.whoami(db)
    return judge_dangerous(user, dialect.commands(db, asked, user), asked)


# --- import rules: how checklist lines become Redis checks ----------------------------


def _redis(line: Line) -> bool:
    return bool(
        has(r"\bredis\b|\baof\b|\brdb\b|appendonly", line.lower)
        or has(r"\b(redis|cache)\b", nearest_context(line))
    )


@proposes("redis_persistence", "redis_auth_required", "redis_maxmemory", "redis_dangerous_commands")
def _redis_checks_rule(line: Line) -> Proposal | None:
    if not _redis(line):
        return None
    t = line.lower
    if has(r"persist\w*|\baof\b|\brdb\b|appendonly|snapshot", t):
        aof, rdb = bool(has(r"\baof\b|append-?only", t)), bool(has(r"\brdb\b|snapshot", t))
        both = has(r"\bboth\b|\band\b", t) and aof and rdb
        mode = "both" if both else "aof" if aof and not rdb else "rdb" if rdb and not aof else "any"
        params = {} if mode == "any" else {"mode": mode}
        return Proposal([("redis_persistence", params)], 0.85, f"Redis persistence ({mode})")
    if has(r"password|\bauth\w*|requirepass|\bacl\b", t):
        return Proposal([("redis_auth_required", {})], 0.8, "Redis requires authentication")
    if has(r"maxmemory|memory limit|eviction", t):
        return Proposal([("redis_maxmemory", {})], 0.8, "Redis memory limit")
    if has(r"flushall|flushdb|dangerous|rename-command|\bconfig\b command", t):
        return Proposal(
            [("redis_dangerous_commands", {})], 0.8, "Redis dangerous commands disabled"
        )
    return None
