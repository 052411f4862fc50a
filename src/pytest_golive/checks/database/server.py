"""The server itself: connection, version, TLS and settings (every driver)."""

from __future__ import annotations

import re
import time
from typing import Any

from pytest_golive.checks.database.common import normal_value, number
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, db_context, db_penalty, has, proposes
from pytest_golive.checks.versions import version_at_least
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.database import DatabaseTarget
from pytest_golive.targets.dialects import Setting, TlsFacts


def judge_connect(
    address: str, version: str, rtt_ms: float, connect_ms: float, max_round_trip_ms: float | None
) -> Outcome:
    observed = f"connected to {address}, server {version}, round trip {rtt_ms:.1f} ms"
    ok = max_round_trip_ms is None or rtt_ms <= max_round_trip_ms
    expected = "a connection that authenticates"
    if max_round_trip_ms is not None:
        expected += f", round trip <= {max_round_trip_ms:g} ms"
    return Outcome.of(
        ok, observed, expected,
        server_version=version, round_trip_ms=round(rtt_ms, 2), connect_ms=round(connect_ms, 2),
    )


@check(target="database")
def db_connect(db: DatabaseTarget, *, max_round_trip_ms: float | None = None) -> Outcome:
    """The database accepts a connection and authenticates; evidence: server version and round trip.

    Works for MySQL/MariaDB, PostgreSQL and Redis. A refused, unreachable or
    unauthenticated server is an error naming the cause.

    Args:
        max_round_trip_ms: optionally, the slowest acceptable round trip of a trivial query, in ms.
    """
    started = time.perf_counter()
    db.connection()
    connect_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    db.dialect.ping(db)
    rtt_ms = (time.perf_counter() - started) * 1000
    return judge_connect(db.dsn.address, db.server_version, rtt_ms, connect_ms, max_round_trip_ms)


@check(target="database")
def db_version(db: DatabaseTarget, *, min: str) -> Outcome:
    """The database server runs at least version ``min``.

    Args:
        min: the oldest acceptable server version, such as 10.6 or 15.2.
    """
    version = db.server_version
    return Outcome.of(version_at_least(version, min), f"server {version}", f">= {min}",
                      server_version=version)


def judge_tls(facts: TlsFacts) -> Outcome:
    ev = Evidence()
    if facts.scheme is not None:
        ev.add("connection", facts.encrypted, f"{facts.scheme}:// connection", "rediss:// (TLS)")
        return ev.outcome()
    seen = f"encrypted ({facts.version}, {facts.cipher})" if facts.encrypted else "not encrypted"
    ev.add("connection", facts.encrypted, seen, "encrypted")
    if facts.account is not None:
        ev.add("account", facts.account.required, facts.account.how, "requires TLS")
    return ev.outcome()


@check(target="database")
def db_tls(db: DatabaseTarget, *, require_account: bool = True) -> Outcome:
    """The connection is encrypted and the account cannot connect without TLS.

    MySQL/MariaDB: the session's ``Ssl_cipher``; the account requires TLS when
    its grants say ``REQUIRE SSL``/``X509``/... or the server sets
    ``require_secure_transport``. PostgreSQL: ``pg_stat_ssl`` for the session;
    the account requires TLS when no ``host``/``hostnossl`` line of
    ``pg_hba.conf`` accepts it (reading ``pg_hba_file_rules`` needs a
    superuser or an explicit grant). Redis: the connection is ``rediss://``.

    Args:
        require_account: false to check only that this connection is encrypted.
    """
    return judge_tls(db.dialect.tls(db, require_account))


def validate_variable(params: dict[str, Any]) -> None:
    """A db_variable binding that can never be right (bad name, nothing expected) fails early."""
    name = params["name"]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name):
        raise ValueError(f"'{name}' is not a variable name")
    if all(params.get(k) is None for k in ("value", "min", "max")):
        raise ValueError(f"db_variable {name} needs value, min or max")


def judge_variable(
    name: str, setting: Setting | None, value: str | None, min: float | None, max: float | None
) -> Outcome:
    if setting is None or setting.value is None:
        return Outcome.failed(f"{name} is not a setting of this server", f"{name} set",
                              variable=name)
    observed = setting.value
    unit = f" {setting.unit}" if setting.unit else ""
    ev = Evidence()
    if value is not None:
        ev.add(name, normal_value(observed) == normal_value(value), f"{observed}{unit}",
               f"{value}{unit}")
    found = number(observed)
    if min is not None:
        ev.add(f"{name} minimum", found is not None and found >= min, f"{observed}{unit}",
               f">= {min:g}{unit}")
    if max is not None:
        ev.add(f"{name} maximum", found is not None and found <= max, f"{observed}{unit}",
               f"<= {max:g}{unit}")
    return ev.outcome(variable=name, value=str(observed))


@check(target="database")
def db_variable(
    db: DatabaseTarget,
    *,
    name: str,
    value: str | None = None,
    min: float | None = None,
    max: float | None = None,
) -> Outcome:
    """A server setting has the expected value or lies within bounds.

    MySQL/MariaDB: ``SHOW GLOBAL VARIABLES``; PostgreSQL: ``pg_settings``
    (numbers in the setting's own unit); Redis: ``CONFIG GET``. Booleans
    compare loosely (ON = 1 = true).

    Args:
        name: the variable, such as max_connections or slow_query_log.
        value: the exact expected value.
        min: the smallest acceptable numeric value.
        max: the largest acceptable numeric value.
    """
    try:
        validate_variable({"name": name, "value": value, "min": min, "max": max})
    except ValueError as exc:
        raise CheckError(f"database {db.name}: {exc}") from None
    return judge_variable(name, db.dialect.setting(db, name), value, min, max)


# The collector calls ``func.golive_validate(params)`` so a binding that can
# never be right fails collection with its file and line, not at run time.
db_variable.golive_validate = validate_variable  # type: ignore[attr-defined]


# --- import rules: how checklist lines become database server checks ------------------


@proposes("db_version")
def _db_version_rule(line: Line) -> Proposal | None:
    m = re.search(
        r"\b(mysql|mariadb|postgres(?:ql)?|redis)\b\W{0,3}(?:version\s*)?v?(\d+(?:\.\d+)*)(\+)?",
        line.lower,
    )
    if m:
        return Proposal(
            [("db_version", {"min": m.group(2)}), ("db_version", {"min_version": m.group(2)})],
            0.8,
            f"{m.group(1)} version {m.group(2)}",
        )
    return None


_DB_SETTINGS = (
    r"max_connections|innodb_\w+|wal_\w+|shared_buffers|work_mem|max_wal_\w+|sql_mode|"
    r"slow_query_log|long_query_time|max_allowed_packet|wait_timeout|log_bin|ssl|"
    r"require_secure_transport"
)


@proposes("db_variable")
def _db_variable_rule(line: Line) -> Proposal | None:
    t = line.lower
    m = re.search(
        r"\b([a-z]+(?:_[a-z0-9]+)+)\s*(>=|=>|<=|=<|==|=|>|<|at least|at most)\s*([\w.]+)", t
    )
    if not m or not (db_context(line) or re.fullmatch(_DB_SETTINGS, m.group(1))):
        return None
    name, op, value = m.groups()
    if op in (">=", "=>", ">", "at least"):
        params = {"name": name, "min": value}
    elif op in ("<=", "=<", "<", "at most"):
        params = {"name": name, "max": value}
    else:
        params = {"name": name, "value": value}
    return Proposal([("db_variable", params)], 0.75, f"server setting {name}")


@proposes("db_tls")
def _db_tls_rule(line: Line) -> Proposal | None:
    t = line.lower
    if has(r"\b(ssl|tls|encrypt\w* (connection|in transit))\b", t) and db_context(line):
        return Proposal([("db_tls", {})], 0.8 + db_penalty(line), "database connections use TLS")
    return None


@proposes("db_connect")
def _db_connect_rule(line: Line) -> Proposal | None:
    t = line.lower
    if has(r"alert|pool|issues?|normal|string|leak|credentials", t):
        return None
    engine = has(r"\b(mysql|mariadb|postgres\w*|redis|database|db)\b", t)
    if engine and has(
        r"\b(instance|server)\b.*\b(created|running|provisioned|available|installed|for)\b|"
        r"\b(local|running) (instance|server)\b",
        t,
    ):
        return Proposal(
            [("db_connect", {})], 0.65 + db_penalty(line), "the database server answers"
        )
    if (
        engine
        and has(r"\buser\b.*\bcreated\b", t)
        and not has(r"privilege|permission|grant|role", t)
    ):
        return Proposal(
            [("db_connect", {})], 0.6 + db_penalty(line), "the account exists: it can connect"
        )
    own = db_context(line, own_only=True)
    if not own and not db_context(line):
        return None
    if not has(r"connect\w*|accessible|reachable|responding|\bup\b|available", t):
        return None
    if not own and not has(r"connect\w*", t):
        return None
    if not has(
        r"verified|successful|tested|works|working|accessible|reachable|established|responding|"
        r"ok\b|available|"
        r"can (connect|log ?in)",
        t,
    ):
        return None
    return Proposal(
        [("db_connect", {})], (0.75 if own else 0.65) + db_penalty(line), "database reachable"
    )
