"""Capture what real database servers answer the database checks: run explicitly to refresh.

    .venv/bin/python -m pytest tests/data/database/capture.py -p no:cacheprovider

Each case runs one check once against a real server set up by
``tests/support/databases.py`` (the machine's MariaDB, PostgreSQL and Redis,
and private MariaDB and Redis servers it starts) and writes its recording
(:mod:`data.recording`): every query or command, the rows or answer that
came back, and the outcome. Passwords are never recorded: DSNs are written
without them, and the password hash columns of ``mysql.user`` are replaced
by ``<redacted>`` (the parser does not read them). Not collected by the
suite (the name does not start with ``test_``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from data.recording import RecordingDatabase, run_once, write
from pytest_golive.core.config import Settings
from pytest_golive.core.secrets import reveal
from pytest_golive.targets.database import DatabaseTarget
from support.databases import MysqlLab, PostgresLab, PrivateMariadb, PrivateRedis, wait_replicating

HERE = Path(__file__).parent
TABLE = "ims_transaction_logs"
APP = "SELECT, INSERT, UPDATE, DELETE"
_HASHES = ("password", "authentication_string")


def _without_password(dsn: str) -> str:
    parts = urlsplit(dsn)
    netloc = parts.netloc.rsplit("@", 1)
    if len(netloc) == 2:
        user = netloc[0].split(":", 1)[0]
        return urlunsplit(parts._replace(netloc=f"{user}@{netloc[1]}"))
    return dsn


def _redact(steps: list[dict[str, Any]]) -> None:
    for step in steps:
        columns = [c.lower() for c in step.get("columns", [])]
        hidden = [i for i, c in enumerate(columns) if c in _HASHES]
        if hidden:
            step["rows"] = [[("<redacted>" if i in hidden else v) for i, v in enumerate(row)]
                            for row in step["rows"]]


def record(system: str, case: str, db: DatabaseTarget, check: str, secrets: list[str],
           **params: Any) -> dict[str, Any]:
    """Run ``check`` on a recording copy of ``db`` and write what it saw to ``system/case.json``."""
    target = RecordingDatabase(db.spec, Settings())
    outcome = run_once(target, check, params)
    _redact(target.steps)
    rec = {
        "system": system,
        "server": target.server_info,
        "target": db.name,
        "dsn": _without_password(str(reveal(db.spec.options["dsn"]))),
        "check": check,
        "params": params,
        "server_info": target.server_info,
        "steps": target.steps,
        "outcome": outcome,
    }
    text = json.dumps(rec)
    leaked = [s for s in secrets if s and s in text]
    assert not leaked, f"a password would be recorded in {case}"
    write(HERE / system / f"{case}.json", rec)
    return rec


def test_capture_mariadb(mysql_lab: MysqlLab) -> None:
    system = "mariadb-10.11"
    secrets = [mysql_lab.app_password, mysql_lab.other_password]
    app, root = mysql_lab.app(), mysql_lab.root()
    cases: list[tuple[str, DatabaseTarget, str, dict[str, Any]]] = [
        ("db_version", app, "db_version", {"min": "10.3"}),
        ("db_tls-plain", app, "db_tls", {}),
        ("db_exists", root, "db_exists", {}),
        ("db_exists-missing", root, "db_exists", {"name": f"{mysql_lab.good}_missing"}),
        ("db_tables-missing", app, "db_tables", {"tables": f"{TABLE}, orders"}),
        ("db_columns", app, "db_columns", {"table": TABLE, "columns": "status, retries"}),
        ("db_columns-no-table", app, "db_columns", {"table": "orders", "columns": "id"}),
        ("db_indexes", root, "db_indexes",
         {"table": TABLE, "indexes": "idx_status, idx_created_at, PRIMARY, transaction_id"}),
        ("db_indexes-bad", root, "db_indexes",
         {"table": TABLE, "indexes": "idx_status, idx_created_at", "schema": mysql_lab.bad}),
        ("db_charset", root, "db_charset", {"tables": "true"}),
        ("db_charset-latin1", root, "db_charset", {"tables": "true", "schema": mysql_lab.bad}),
        ("db_variable", app, "db_variable", {"name": "max_connections", "min": "1", "max": "10"}),
        ("db_variable-boolean", app, "db_variable", {"name": "slow_query_log", "value": "OFF"}),
        ("db_variable-missing", app, "db_variable", {"name": "no_such_variable", "value": "1"}),
        ("db_least_privilege-app", app, "db_least_privilege",
         {"privileges": APP, "schemas": mysql_lab.good, "others": "false", "exact": "true"}),
        ("db_least_privilege-over", root, "db_least_privilege",
         {"account": f"{mysql_lab.over_user}@%", "privileges": APP, "schemas": mysql_lab.good,
          "others": "false"}),
        ("db_least_privilege-wide", root, "db_least_privilege",
         {"account": mysql_lab.wide_user, "privileges": "SELECT", "schemas": mysql_lab.good,
          "others": "false"}),
        ("db_least_privilege-others", root, "db_least_privilege",
         {"account": f"{mysql_lab.app_user}@%", "privileges": APP, "schemas": mysql_lab.good}),
        ("db_least_privilege-unreadable", app, "db_least_privilege",
         {"privileges": APP, "schemas": mysql_lab.good}),
        ("db_query", app, "db_query", {"sql": f"SELECT COUNT(*) FROM {TABLE}", "equals": "3"}),
        ("db_query-rows", app, "db_query", {"sql": f"SELECT status FROM {TABLE}", "rows": "2"}),
        ("db_replication_lag", root, "db_replication_lag", {"max_seconds": "5"}),
        ("redis_maxmemory-not-applicable", app, "redis_maxmemory", {}),
    ]
    try:
        for case, db, check, params in cases:
            record(system, case, db, check, secrets, **params)
    finally:
        app.close()
        root.close()


def test_capture_mariadb_tls(private_mariadb: PrivateMariadb) -> None:
    system = "mariadb-10.11-tls"
    ca = str(private_mariadb.ca)
    secrets = ["tls-app-pw", "plain-app-pw"]
    targets = {
        "tls_app": private_mariadb.target("tls_app", "tls-app-pw", ssl_ca=ca),
        "plain_app": private_mariadb.target("plain_app", "plain-app-pw", ssl_ca=ca),
        "root": private_mariadb.target(ssl_ca=ca),
    }
    try:
        record(system, "db_tls-required", targets["tls_app"], "db_tls", secrets)
        record(system, "db_tls-optional", targets["plain_app"], "db_tls", secrets)
        record(system, "db_least_privilege-plain", targets["root"], "db_least_privilege", secrets,
               account="plain_app", privileges="SELECT", schemas="app")
        record(system, "db_least_privilege-repl", targets["root"], "db_least_privilege", secrets,
               account="repl", privileges="SELECT", schemas="app")
        record(system, "db_replication_lag-primary", targets["root"], "db_replication_lag",
               secrets, max_seconds="1")
    finally:
        for db in targets.values():
            db.close()


def test_capture_mariadb_replica(private_replica: PrivateMariadb) -> None:
    system = "mariadb-10.11-replica"
    db = private_replica.target()
    try:
        record(system, "db_replication_lag-running", db, "db_replication_lag", [],
               max_seconds="3600")
        private_replica.execute("STOP SLAVE SQL_THREAD")
        try:
            record(system, "db_replication_lag-stopped", db, "db_replication_lag", [],
                   max_seconds="3600")
        finally:
            private_replica.execute("START SLAVE SQL_THREAD")
            wait_replicating(private_replica)
    finally:
        db.close()


def test_capture_postgresql(pg_lab: PostgresLab) -> None:
    system = "postgresql-15"
    app, admin = pg_lab.target(pg_lab.app_role), pg_lab.target()
    latin = pg_lab.target(database=pg_lab.latin1_database)
    good = {"privileges": APP, "schemas": "app", "admins": "postgres, root"}
    cases: list[tuple[str, DatabaseTarget, str, dict[str, Any]]] = [
        ("db_version", app, "db_version", {"min": "12"}),
        ("db_tls-superuser", admin, "db_tls", {}),
        ("db_tls-app", app, "db_tls", {}),
        ("db_exists", app, "db_exists", {}),
        ("db_tables", app, "db_tables", {"tables": f"{TABLE}, orders", "schema": "app"}),
        ("db_columns", app, "db_columns",
         {"table": TABLE, "columns": "id, status", "schema": "app"}),
        ("db_indexes-bad", app, "db_indexes",
         {"table": TABLE, "indexes": "idx_status, idx_created_at, ims_transaction_logs_pkey",
          "schema": "bad"}),
        ("db_charset", admin, "db_charset", {}),
        ("db_charset-latin1", latin, "db_charset", {}),
        ("db_variable-read-only", app, "db_variable",
         {"name": "default_transaction_read_only", "value": "on"}),
        ("db_variable-unit", app, "db_variable", {"name": "statement_timeout", "max": "1"}),
        ("db_least_privilege-app", app, "db_least_privilege",
         {**good, "others": "false", "exact": "true"}),
        ("db_least_privilege-super", app, "db_least_privilege",
         {**good, "account": pg_lab.super_role, "others": "false"}),
        ("db_least_privilege-creator", app, "db_least_privilege",
         {**good, "account": pg_lab.creator_role, "others": "false"}),
        ("db_least_privilege-others", app, "db_least_privilege", good),
        ("db_query", app, "db_query",
         {"sql": f"SELECT * FROM app.{TABLE} WHERE status = 'failed'", "min_rows": "1"}),
        ("db_replication_lag", admin, "db_replication_lag", {"max_seconds": "5"}),
    ]
    try:
        for case, db, check, params in cases:
            record(system, case, db, check, [], **params)
    finally:
        for db in (app, admin, latin):
            db.close()


def test_capture_redis(machine_redis: DatabaseTarget, private_redis: PrivateRedis) -> None:
    secrets = [private_redis.password]
    machine: list[tuple[str, str, dict[str, Any]]] = [
        ("redis_persistence", "redis_persistence", {}),
        ("redis_maxmemory", "redis_maxmemory", {}),
        ("redis_dangerous_commands", "redis_dangerous_commands", {}),
        ("db_variable", "db_variable", {"name": "maxmemory-policy", "value": "noeviction"}),
        ("db_version", "db_version", {"min": "6"}),
        ("db_tls", "db_tls", {}),
        ("db_tables-not-applicable", "db_tables", {"tables": "x"}),
    ]
    for case, check, params in machine:
        record("redis-7.0", case, machine_redis, check, secrets, **params)
    admin, app = private_redis.target(), private_redis.target(user="app")
    hardened: list[tuple[str, DatabaseTarget, str, dict[str, Any]]] = [
        ("redis_persistence-aof", admin, "redis_persistence", {"mode": "aof"}),
        ("redis_persistence-rdb", admin, "redis_persistence", {"mode": "rdb"}),
        ("redis_maxmemory", admin, "redis_maxmemory", {"policy": "noeviction"}),
        ("redis_dangerous_commands", admin, "redis_dangerous_commands", {}),
        ("redis_dangerous_commands-acl", admin, "redis_dangerous_commands",
         {"commands": "SHUTDOWN, MONITOR", "account": "app"}),
        ("redis_dangerous_commands-app", app, "redis_dangerous_commands", {"commands": "SHUTDOWN"}),
    ]
    try:
        for case, db, check, params in hardened:
            record("redis-7.0-hardened", case, db, check, secrets, **params)
    finally:
        admin.close()
        app.close()


@pytest.mark.parametrize("which", ["machine", "hardened"])
def test_capture_unauthenticated_ping(
    which: str, machine_redis: DatabaseTarget, private_redis: PrivateRedis
) -> None:
    """What an unauthenticated client is told: not through the shared session, so kept as text."""
    from pytest_golive.targets.dialects.redis import REDIS

    db = machine_redis if which == "machine" else private_redis.target()
    refusal: Callable[[], str | None] = lambda: REDIS.unauthenticated_ping(db)  # noqa: E731
    answer = refusal()
    system = "redis-7.0" if which == "machine" else "redis-7.0-hardened"
    (HERE / system).mkdir(parents=True, exist_ok=True)
    (HERE / system / "unauthenticated-ping.json").write_text(json.dumps(
        {"system": system, "what": "the refusal an unauthenticated PING got (null: answered)",
         "refusal": answer}, indent=1) + "\n")
