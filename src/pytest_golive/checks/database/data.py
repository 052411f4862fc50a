"""What the data says: read-only queries, and replication (MySQL/MariaDB, PostgreSQL)."""

from __future__ import annotations

import re
from typing import Any

from pytest_golive.checks.database.common import number, only_sql, shown
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, db_context, has, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.secrets import mask
from pytest_golive.targets.database import DatabaseTarget, validate_read_only_sql
from pytest_golive.targets.dialects import Replication


def validate_query(params: dict[str, Any]) -> None:
    """A db_query binding that can never be right (a write, a negative count) fails early."""
    validate_read_only_sql(params["sql"])
    for key in ("rows", "min_rows"):
        if params.get(key) is not None and params[key] < 0:
            raise ValueError(f"{key} must be 0 or more, not {params[key]}")


def judge_query(
    result: list[tuple[Any, ...]], equals: str | None, rows: int | None, min_rows: int | None
) -> Outcome:
    if equals is None and rows is None and min_rows is None:
        min_rows = 1
    ev = Evidence()
    if equals is not None:
        first = result[0][0] if result and result[0] else None
        same = first is not None and (
            str(first) == equals or (number(first) is not None and number(first) == number(equals))
        )
        ev.add("value", same, shown(first), shown(equals))
    if rows is not None:
        ev.add("rows", len(result) == rows, f"{len(result)} rows", f"{rows} rows")
    if min_rows is not None:
        ev.add("rows", len(result) >= min_rows, f"{len(result)} rows", f">= {min_rows} rows")
    return ev.outcome(row_count=len(result))


@check(target="database")
def db_query(
    db: DatabaseTarget,
    *,
    sql: str,
    equals: str | None = None,
    rows: int | None = None,
    min_rows: int | None = None,
) -> Outcome:
    """A read-only query returns the expected value or number of rows ("sample data available").

    The query must be one read (SELECT, WITH, SHOW, EXPLAIN, ...): anything
    that could write, lock or run more than one statement is refused at
    collection and again before it is sent, and the session is read-only
    besides. Without an expectation, at least one row is required.

    Args:
        sql: the query, such as SELECT COUNT(*) FROM orders.
        equals: the expected value of the first column of the first row.
        rows: the exact expected number of rows.
        min_rows: the smallest acceptable number of rows.
    """
    if na := only_sql(db):
        return na
    try:
        statement = validate_read_only_sql(sql)
    except ValueError as exc:
        raise CheckError(f"database {db.name}: query refused: {exc}") from None
    return judge_query(db.query(statement), equals, rows, min_rows)


def judge_replication(db_name: str, facts: Replication, max_seconds: float) -> Outcome:
    behind = f"<= {max_seconds:g} s behind"
    if facts.in_recovery:
        if facts.replay_lag is None:
            return Outcome.failed("standby has replayed nothing yet", behind)
        return Outcome.of(facts.replay_lag <= max_seconds,
                          f"standby {facts.replay_lag:.1f} s behind", behind)
    ev = Evidence()
    for ch in facts.channels:
        label = f"channel {ch.name}"
        if not ch.replicating:
            error = mask(ch.error)[:120]
            ev.add(label, False, f"not replicating (IO thread {ch.io_running}, SQL thread "
                                 f"{ch.sql_running}{'; ' + error if error else ''})",
                   f"running, {behind}")
        else:
            ev.add(label, float(ch.lag) <= max_seconds, f"{ch.lag} s behind", behind)
    for sb in facts.standbys:
        ev.add(f"standby {sb.name}", sb.state == "streaming" and sb.lag <= max_seconds,
               f"{sb.state}, {sb.lag:.1f} s behind", f"streaming, {behind}")
    if not ev.facts:
        return Outcome.not_applicable(f"database {db_name} {facts.absent}")
    return ev.outcome()


@check(target="database")
def db_replication_lag(db: DatabaseTarget, *, max_seconds: float) -> Outcome:
    """Replication runs and the replica is at most ``max_seconds`` behind; not applicable without replication.

    MySQL/MariaDB: every replication channel of the server (``SHOW ALL
    SLAVES STATUS`` / ``SHOW REPLICA STATUS``; needs REPLICATION CLIENT or
    SLAVE MONITOR). PostgreSQL: on a standby the age of the last replayed
    transaction, on a primary ``pg_stat_replication.replay_lag``.

    Args:
        max_seconds: the largest acceptable lag, in seconds.
    """  # noqa: E501 - the summary is the check's one-line description
    if na := only_sql(db):
        return na
    return judge_replication(db.name, db.dialect.replication(db), max_seconds)


# The collector calls ``func.golive_validate(params)`` so a binding that can
# never be right fails collection with its file and line, not at run time.
db_query.golive_validate = validate_query  # type: ignore[attr-defined]


# --- import rules: how checklist lines become data and replication checks -------------


@proposes("db_query")
def _sample_data_rule(line: Line) -> Proposal | None:
    t = line.lower
    if has(r"\b(sample|seed|test|reference|initial)\s+data\b", t) and has(
        r"available|loaded|present|exists?|imported", t
    ):
        return Proposal(
            [("db_query", {"sql": "${sample_data_query}", "min_rows": "1"})],
            0.65,
            "a query returns rows (the query is a variable)",
        )
    return None


@proposes("db_replication_lag")
def _db_replication_rule(line: Line) -> Proposal | None:
    t = line.lower
    if (
        has(r"replica\w*|replication", t)
        and db_context(line)
        and not has(r"backups?|off-?site", t)
    ):
        if has(r"\blag\b|in sync|behind|delay", t):
            m = re.search(r"(\d+(?:\.\d+)?)\s*(ms|s|sec\w*|min\w*)\b", t)
            if m:
                seconds = (
                    float(m.group(1))
                    * {"m": 60}.get(m.group(2)[:1], 1)
                    / (1000 if m.group(2) == "ms" else 1)
                )
                return Proposal(
                    [("db_replication_lag", {"max_seconds": f"{seconds:g}"})],
                    0.8,
                    "replication lag",
                )
            return Proposal(
                [("db_replication_lag", {"max_seconds": "${max_replication_lag_s}"})],
                0.7,
                "replication lag: the budget is a variable",
            )
        return Proposal(
            [("db_replication_lag", {"max_seconds": "${max_replication_lag_s}"})],
            0.65,
            "replicas configured: a check sees them replicate, within a budget (a variable)",
        )
    return None
