"""Database checks against the machine's real MariaDB, PostgreSQL and Redis.

Every check is shown passing on a database in the good state and failing on
one in the bad state; the states are created by ``tests/support/databases.py``.
Faults (wrong password, unknown database, server down, a query that runs for
minutes) must give one clear error line, and a planted password must never
appear in anything a check returns or raises.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_golive.checks import REGISTRY, CheckDefinitionError
from pytest_golive.checks import database as checks
from pytest_golive.checks.database import validate_read_only_sql
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.targets.database import DatabaseTarget
from support.databases import (
    MysqlLab,
    PostgresLab,
    PrivateMariadb,
    PrivateRedis,
    db_target,
    dsn,
    free_port,
    planted_password,
    self_signed_cert,
)

APP_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE"]
TABLE = "ims_transaction_logs"


def run(check: Any, db: DatabaseTarget, **params: Any) -> Outcome:
    """Run a check through its registry entry, so parameters are coerced as from a checklist."""
    entry = REGISTRY.get(check.__name__)
    return entry.func(db, **entry.validate(params))


def error_of(check: Any, db: DatabaseTarget, **params: Any) -> str:
    with pytest.raises(CheckError) as info:
        run(check, db, **params)
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# --- the read-only guard ---------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT COUNT(*) FROM ims_transaction_logs",
        "select status, count(*) from t group by status;",
        "WITH recent AS (SELECT * FROM t) SELECT * FROM recent",
        "SHOW CREATE TABLE ims_transaction_logs",
        "EXPLAIN SELECT * FROM t",
        "SELECT 'insert; drop' AS text, \"update\" FROM t -- ; delete",
        "SELECT updated_at, created_at FROM t",
    ],
)
def test_read_only_sql_accepts_single_reads(sql: str) -> None:
    assert validate_read_only_sql(sql) == sql.rstrip(";")


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("INSERT INTO t VALUES (1)", "'INSERT' statements are not reads"),
        ("UPDATE t SET a = 1", "'UPDATE' statements are not reads"),
        ("DELETE FROM t", "'DELETE' statements are not reads"),
        ("DROP TABLE t", "'DROP' statements are not reads"),
        ("CREATE TABLE x (a int)", "'CREATE' statements are not reads"),
        ("ALTER TABLE t ADD b int", "'ALTER' statements are not reads"),
        ("GRANT ALL ON *.* TO x", "'GRANT' statements are not reads"),
        ("SET GLOBAL max_connections = 1", "'SET' statements are not reads"),
        ("CALL cleanup()", "'CALL' statements are not reads"),
        ("LOCK TABLES t WRITE", "'LOCK' statements are not reads"),
        ("SELECT 1; DROP TABLE t", "only one statement"),
        ("SELECT * FROM t INTO OUTFILE '/tmp/x'", "SELECT ... INTO"),
        ("SELECT a INTO @v FROM t", "SELECT ... INTO"),
        ("SELECT * FROM t FOR UPDATE", "FOR UPDATE"),
        ("SELECT * FROM t FOR SHARE", "FOR SHARE"),
        ("SELECT * FROM t LOCK IN SHARE MODE", "'LOCK' is not allowed"),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "'DELETE' is not allowed"),
        ("/*!50000 DELETE FROM t */ SELECT 1", "executable"),
        ("SELECT 'a\\' ; DROP TABLE t; SELECT '", "only one statement"),
        ("SELECT 5 # 3; DROP TABLE t", "only one statement"),
        ("EXPLAIN ANALYZE DELETE FROM t", "is not allowed"),
        (
            "SELECT set_config('default_transaction_read_only', 'off', false)",
            "set_config() changes server state",
        ),
        ("SELECT nextval('orders_id_seq')", "nextval() changes server state"),
        ("SELECT GET_LOCK('x', 10)", "get_lock() changes server state"),
        ("  ", "empty"),
    ],
)
def test_read_only_sql_refuses_anything_else(sql: str, reason: str) -> None:
    with pytest.raises(ValueError, match=None) as info:
        validate_read_only_sql(sql)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_db_query_parameters_are_validated_like_a_checklist_binding() -> None:
    entry = REGISTRY.get("db_query")
    assert entry.validate({"sql": "SELECT 1", "min_rows": "2"}) == {
        "sql": "SELECT 1",
        "min_rows": 2,
    }
    with pytest.raises(CheckDefinitionError, match="min_rows"):
        entry.validate({"sql": "SELECT 1", "min_rows": "many"})
    assert "validate_read_only_sql" in checks.__all__


# --- MariaDB ---------------------------------------------------------------------------


def test_mysql_connect_reports_version_and_round_trip(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    db = mysql_lab.app()
    targets.append(db)
    out = run(checks.db_connect, db)
    assert out.status == "passed", out.summary()
    assert "MariaDB" in out.details["server_version"] and "MariaDB" in out.observed
    assert out.details["round_trip_ms"] >= 0 and "round trip" in out.observed
    bounded = run(checks.db_connect, db, max_round_trip_ms="0")
    assert bounded.status == "failed" and "<= 0 ms" in bounded.expected


def test_mysql_version(mysql_lab: MysqlLab, targets: list[DatabaseTarget]) -> None:
    db = mysql_lab.app()
    targets.append(db)
    assert run(checks.db_version, db, min="10.3").status == "passed"
    out = run(checks.db_version, db, min="99.1")
    assert out.status == "failed" and out.expected == ">= 99.1" and "MariaDB" in out.observed


def test_mysql_tls_fails_on_a_plain_connection_and_account(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    db = mysql_lab.app()
    targets.append(db)
    out = run(checks.db_tls, db)
    assert out.status == "failed"
    assert "connection: not encrypted" in out.observed
    assert "no REQUIRE SSL" in out.observed


def test_mysql_exists(mysql_lab: MysqlLab, targets: list[DatabaseTarget]) -> None:
    db = mysql_lab.root()
    targets.append(db)
    assert run(checks.db_exists, db).status == "passed"
    out = run(checks.db_exists, db, name=f"{mysql_lab.good}_missing")
    assert out.status == "failed" and "not found" in out.observed


def test_mysql_tables_and_columns(mysql_lab: MysqlLab, targets: list[DatabaseTarget]) -> None:
    db = mysql_lab.app()
    targets.append(db)
    assert run(checks.db_tables, db, tables=TABLE).status == "passed"
    out = run(checks.db_tables, db, tables=f"{TABLE}, orders")
    assert out.status == "failed" and out.details["missing"] == ["orders"]
    assert (
        run(checks.db_columns, db, table=TABLE, columns="transaction_id, status, created_at").status
        == "passed"
    )
    out = run(checks.db_columns, db, table=TABLE, columns="status, retries")
    assert out.status == "failed" and "lacks retries" in out.observed
    out = run(checks.db_columns, db, table="orders", columns="id")
    assert out.status == "failed" and "does not exist" in out.observed


def test_mysql_indexes_found_and_missing(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    root = mysql_lab.root()
    targets.append(root)
    wanted = "idx_status, idx_created_at, PRIMARY, transaction_id"
    assert run(checks.db_indexes, root, table=TABLE, indexes=wanted).status == "passed"
    out = run(checks.db_indexes, root, table=TABLE, indexes=wanted, schema=mysql_lab.bad)
    assert out.status == "failed"
    assert out.details["missing"] == ["idx_created_at"]
    assert "idx_status" in out.details["present"]


def test_mysql_charset_utf8mb4_and_latin1(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    root = mysql_lab.root()
    targets.append(root)
    assert run(checks.db_charset, root, tables="true").status == "passed"
    out = run(checks.db_charset, root, schema=mysql_lab.bad, tables="true")
    assert out.status == "failed"
    assert f"database {mysql_lab.bad}: latin1" in out.observed
    assert f"{TABLE} (latin1)" in out.observed


def test_mysql_variable_value_and_bounds(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    db = mysql_lab.app()
    targets.append(db)
    assert run(checks.db_variable, db, name="max_connections", min="1").status == "passed"
    out = run(checks.db_variable, db, name="max_connections", max="1")
    assert out.status == "failed" and "<= 1" in out.expected
    actual = str(db.scalar("SELECT @@GLOBAL.slow_query_log"))  # 0 or 1
    same, other = ("ON", "OFF") if actual == "1" else ("OFF", "ON")
    assert run(checks.db_variable, db, name="slow_query_log", value=same).status == "passed"
    assert run(checks.db_variable, db, name="slow_query_log", value=other).status == "failed"
    out = run(checks.db_variable, db, name="no_such_variable", value="1")
    assert out.status == "failed" and "not a setting" in out.observed
    assert "needs value, min or max" in error_of(checks.db_variable, db, name="max_connections")
    assert "not a variable name" in error_of(checks.db_variable, db, name="x'; --", value="1")


def test_mysql_least_privilege_app_account_passes(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    db = mysql_lab.app()
    targets.append(db)
    params = {"privileges": ",".join(APP_PRIVILEGES), "schemas": mysql_lab.good, "others": "false"}
    out = run(checks.db_least_privilege, db, **params)
    assert out.status == "passed", out.summary()
    assert run(checks.db_least_privilege, db, exact="true", **params).status == "passed"
    out = run(
        checks.db_least_privilege,
        db,
        **{**params, "privileges": "SELECT, INSERT, UPDATE, DELETE, ALTER"},
        exact="true",
    )
    assert out.status == "failed" and "lacks ALTER" in out.observed


def test_mysql_least_privilege_over_privileged_account_fails(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    root = mysql_lab.root()
    targets.append(root)
    out = run(
        checks.db_least_privilege, root, account=f"{mysql_lab.over_user}@%",
        privileges=",".join(APP_PRIVILEGES), schemas=mysql_lab.good, others="false",
    )
    assert out.status == "failed"
    assert f"SELECT on {mysql_lab.bad}.*" in out.observed  # another schema
    assert f"DROP on {mysql_lab.good}.*" in out.observed  # beyond the list
    out = run(
        checks.db_least_privilege, root, account=mysql_lab.wide_user,
        privileges="SELECT", schemas=mysql_lab.good, others="false",
    )
    assert out.status == "failed"
    assert "global privileges: " in out.observed and "SUPER" in out.observed
    assert "grant option: on *.*" in out.observed


def test_mysql_least_privilege_flags_other_accounts_with_all(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    root = mysql_lab.root()
    targets.append(root)
    params = {
        "account": f"{mysql_lab.app_user}@%",
        "privileges": APP_PRIVILEGES,
        "schemas": [mysql_lab.good],
    }
    out = run(checks.db_least_privilege, root, **params)
    assert out.status == "failed"
    assert f"{mysql_lab.wide_user}@% (ALL PRIVILEGES)" in out.observed
    admins = [*checks.DEFAULT_ADMINS["mysql"], mysql_lab.wide_user]
    out = run(checks.db_least_privilege, root, admins=admins, **params)
    assert mysql_lab.wide_user not in out.observed
    assert any(f["fact"] == "other accounts" for f in out.details["facts"])


def test_mysql_least_privilege_others_needs_a_reader_of_mysql_user(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    db = mysql_lab.app()
    targets.append(db)
    text = error_of(
        checks.db_least_privilege, db, privileges=APP_PRIVILEGES, schemas=[mysql_lab.good]
    )
    assert "cannot list other accounts" in text and "others=false" in text


def test_mysql_query_sample_data(mysql_lab: MysqlLab, targets: list[DatabaseTarget]) -> None:
    good, bad = mysql_lab.app(), mysql_lab.root(database=mysql_lab.bad)
    targets += [good, bad]
    assert (
        run(checks.db_query, good, sql=f"SELECT COUNT(*) FROM {TABLE}", equals="3").status
        == "passed"
    )
    assert run(checks.db_query, good, sql=f"SELECT * FROM {TABLE}", rows="3").status == "passed"
    assert (
        run(checks.db_query, good, sql=f"SELECT * FROM {TABLE}").status == "passed"
    )  # >= 1 row by default
    # A bare % needs no escaping.
    like = f"SELECT COUNT(*) FROM {TABLE} WHERE transaction_id LIKE 'tx-%'"
    assert run(checks.db_query, good, sql=like, equals="3").status == "passed"
    out = run(checks.db_query, bad, sql=f"SELECT * FROM {TABLE}", min_rows="1")
    assert out.status == "failed" and out.observed == "rows: 0 rows"
    out = run(checks.db_query, bad, sql=f"SELECT COUNT(*) FROM {TABLE}", equals="3")
    assert out.status == "failed" and out.observed == "value: 0"


def test_mysql_query_refuses_writes_at_run_time(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    db = mysql_lab.app()
    targets.append(db)
    text = error_of(checks.db_query, db, sql=f"DELETE FROM {TABLE}")
    assert "query refused" in text and "'DELETE' statements are not reads" in text
    with pytest.raises(CheckError, match="not reads"):
        db.query(f"UPDATE {TABLE} SET status = 'x'")
    assert db.scalar(f"SELECT COUNT(*) FROM {TABLE} WHERE status = 'done'") == 3


def test_mysql_session_is_read_only_even_for_a_write_that_slips_through(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    """The app account may INSERT; the session opened by the target still refuses it."""
    import pymysql

    db = mysql_lab.app()
    targets.append(db)
    with db.connection().cursor() as cur:
        with pytest.raises(pymysql.err.MySQLError) as info:
            cur.execute(
                f"INSERT INTO {TABLE} (transaction_id, source_system, transaction_type, status) "
                "VALUES ('x', 'a', 'b', 'c')"
            )
        assert info.value.args[0] == 1792  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
        with pytest.raises(pymysql.err.MySQLError):
            cur.execute(f"CREATE TABLE {TABLE}_copy (a int)")
    assert db.scalar(f"SELECT COUNT(*) FROM {TABLE}") == 3
    assert db.scalar("SELECT @@SESSION.tx_read_only") == 1
    assert float(db.scalar("SELECT @@SESSION.max_statement_time")) == 10.0


def test_mysql_replication_not_applicable_without_replica(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget]
) -> None:
    root = mysql_lab.root()
    targets.append(root)
    out = run(checks.db_replication_lag, root, max_seconds="5")
    assert out.status == "skipped" and "not a replica" in out.observed


# --- MariaDB faults --------------------------------------------------------------------


def test_mysql_wrong_password_is_one_line_and_never_shows_either_password(
    mysql_lab: MysqlLab, assert_no_leak: Any
) -> None:
    wrong = planted_password("wrong")
    db = db_target(mysql_lab.dsn(mysql_lab.app_user, wrong), "app-db")
    text = error_of(checks.db_connect, db)
    assert "Access denied" in text and "app-db" in text
    assert_no_leak([wrong, mysql_lab.app_password], text, repr(db.dsn), str(db.spec.label))


def test_mysql_unknown_database(mysql_lab: MysqlLab) -> None:
    db = mysql_lab.root(database=f"{mysql_lab.good}_nope")
    assert "Unknown database" in error_of(checks.db_tables, db, tables=TABLE)


def test_mysql_server_down(mysql_lab: MysqlLab, assert_no_leak: Any) -> None:
    port = free_port()
    db = db_target(
        dsn("mysql", port, mysql_lab.app_user, mysql_lab.app_password, mysql_lab.good),
        "down-db",
        connect_timeout=2,
    )
    text = error_of(checks.db_connect, db)
    assert f"127.0.0.1:{port}" in text and "connect" in text.lower()
    assert_no_leak([mysql_lab.app_password], text)
    # Later checks on the same target repeat the one line rather than retrying.
    assert error_of(checks.db_tables, db, tables=TABLE) == text


def test_mysql_query_running_for_minutes_is_stopped_at_the_timeout(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget], assert_no_leak: Any
) -> None:
    db = mysql_lab.app(query_timeout=1)
    targets.append(db)
    text = error_of(checks.db_query, db, sql="SELECT SLEEP(600)", equals="0")
    assert "max_statement_time" in text
    # The target is still usable after the interrupted statement.
    assert run(checks.db_query, db, sql="SELECT 1", equals="1").status == "passed"
    assert_no_leak([mysql_lab.app_password], text)


def test_mysql_outcomes_never_contain_the_password(
    mysql_lab: MysqlLab, targets: list[DatabaseTarget], assert_no_leak: Any
) -> None:
    db = mysql_lab.app()
    targets.append(db)
    outputs: list[Any] = []
    for check, params in [
        (checks.db_connect, {}),
        (checks.db_tls, {}),
        (checks.db_tables, {"tables": TABLE}),
        (
            checks.db_least_privilege,
            {"privileges": APP_PRIVILEGES, "schemas": [mysql_lab.good], "others": "false"},
        ),
        (checks.db_query, {"sql": f"SELECT '{mysql_lab.app_password}'", "equals": "x"}),
    ]:
        out = run(check, db, **params)
        outputs += [out.to_dict(), out.summary(), str(out)]
    assert_no_leak([mysql_lab.app_password], *outputs)


# --- PostgreSQL ------------------------------------------------------------------------


def test_pg_connect_and_version(pg_lab: PostgresLab, targets: list[DatabaseTarget]) -> None:
    db = pg_lab.target(pg_lab.app_role)
    targets.append(db)
    out = run(checks.db_connect, db)
    assert out.status == "passed" and out.details["server_version"][0].isdigit()
    assert run(checks.db_version, db, min="12").status == "passed"
    assert run(checks.db_version, db, min="99").status == "failed"


def test_pg_tls_fails_without_ssl(pg_lab: PostgresLab, targets: list[DatabaseTarget]) -> None:
    db = pg_lab.target()
    targets.append(db)
    out = run(checks.db_tls, db)
    assert out.status == "failed" and "connection: not encrypted" in out.observed
    assert "(non-TLS)" in out.observed  # pg_hba.conf accepts plain host connections
    app = pg_lab.target(pg_lab.app_role)
    targets.append(app)
    out = run(checks.db_tls, app)
    assert out.status == "failed" and "cannot read pg_hba_file_rules" in out.observed


def test_pg_exists_tables_columns(pg_lab: PostgresLab, targets: list[DatabaseTarget]) -> None:
    db = pg_lab.target(pg_lab.app_role)
    targets.append(db)
    assert run(checks.db_exists, db).status == "passed"
    assert run(checks.db_exists, db, name=f"{pg_lab.database}_nope").status == "failed"
    assert run(checks.db_tables, db, tables=TABLE, schema="app").status == "passed"
    out = run(checks.db_tables, db, tables=f"{TABLE}, orders", schema="app")
    assert out.status == "failed" and out.details["missing"] == ["orders"]
    assert (
        run(checks.db_columns, db, table=TABLE, columns="id, status", schema="app").status
        == "passed"
    )
    assert (
        run(checks.db_columns, db, table=TABLE, columns="retries", schema="app").status == "failed"
    )


def test_pg_indexes_found_and_missing(pg_lab: PostgresLab, targets: list[DatabaseTarget]) -> None:
    db = pg_lab.target(pg_lab.app_role)
    targets.append(db)
    wanted = "idx_status, idx_created_at, ims_transaction_logs_pkey"
    assert run(checks.db_indexes, db, table=TABLE, indexes=wanted, schema="app").status == "passed"
    out = run(checks.db_indexes, db, table=TABLE, indexes=wanted, schema="bad")
    assert out.status == "failed" and out.details["missing"] == ["idx_created_at"]


def test_pg_charset(pg_lab: PostgresLab, targets: list[DatabaseTarget]) -> None:
    good, latin = pg_lab.target(), pg_lab.target(database=pg_lab.latin1_database)
    targets += [good, latin]
    assert run(checks.db_charset, good).status == "passed"
    out = run(checks.db_charset, latin)
    assert out.status == "failed" and "LATIN1" in out.observed


def test_pg_variable_shows_the_read_only_session(
    pg_lab: PostgresLab, targets: list[DatabaseTarget]
) -> None:
    db = pg_lab.target(pg_lab.app_role)
    targets.append(db)
    assert (
        run(checks.db_variable, db, name="default_transaction_read_only", value="on").status
        == "passed"
    )
    assert (
        run(checks.db_variable, db, name="default_transaction_read_only", value="false").status
        == "failed"
    )
    assert run(checks.db_variable, db, name="max_connections", min="5").status == "passed"
    out = run(checks.db_variable, db, name="statement_timeout", max="1")
    assert out.status == "failed" and "10000 ms" in out.observed


def test_pg_least_privilege(pg_lab: PostgresLab, targets: list[DatabaseTarget]) -> None:
    db = pg_lab.target(pg_lab.app_role)
    targets.append(db)
    admins = ["postgres", "root"]
    good = {"privileges": APP_PRIVILEGES, "schemas": ["app"], "admins": admins}
    out = run(checks.db_least_privilege, db, **good, others="false")
    assert out.status == "passed", out.summary()
    assert (
        run(checks.db_least_privilege, db, **good, exact="true", others="false").status == "passed"
    )
    out = run(checks.db_least_privilege, db, account=pg_lab.super_role, **good, others="false")
    assert out.status == "failed" and "role attributes: super" in out.observed
    out = run(checks.db_least_privilege, db, account=pg_lab.creator_role, **good, others="false")
    assert out.status == "failed"
    assert "createrole, createdb" in out.observed
    assert "grant option: on bad.ims_transaction_logs" in out.observed
    assert "SELECT on bad.ims_transaction_logs" in out.observed
    out = run(checks.db_least_privilege, db, **good)
    assert (
        out.status == "failed"
        and "superuser: " in out.observed
        and pg_lab.super_role in out.observed
    )
    out = run(checks.db_least_privilege, db, **{**good, "admins": [*admins, pg_lab.super_role]})
    assert pg_lab.super_role not in out.observed


def test_pg_query_and_read_only_session(pg_lab: PostgresLab, targets: list[DatabaseTarget]) -> None:
    import psycopg

    db = pg_lab.target(pg_lab.app_role)
    targets.append(db)
    assert (
        run(checks.db_query, db, sql=f"SELECT COUNT(*) FROM app.{TABLE}", equals="3").status
        == "passed"
    )
    like = f"SELECT COUNT(*) FROM app.{TABLE} WHERE transaction_id LIKE 'tx-%'"
    assert run(checks.db_query, db, sql=like, equals="3").status == "passed"
    out = run(
        checks.db_query, db, sql=f"SELECT * FROM app.{TABLE} WHERE status = 'failed'", min_rows="1"
    )
    assert out.status == "failed" and out.observed == "rows: 0 rows"
    assert "query refused" in error_of(
        checks.db_query, db, sql=f"WITH d AS (DELETE FROM app.{TABLE} RETURNING 1) SELECT * FROM d"
    )
    with db.connection().cursor() as cur:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            cur.execute(f"DELETE FROM app.{TABLE}")
    assert db.scalar(f"SELECT COUNT(*) FROM app.{TABLE}") == 3


def test_pg_replication_not_applicable(pg_lab: PostgresLab, targets: list[DatabaseTarget]) -> None:
    db = pg_lab.target()
    targets.append(db)
    out = run(checks.db_replication_lag, db, max_seconds="5")
    assert out.status == "skipped" and "no standby" in out.observed


def test_pg_faults_are_one_line(pg_lab: PostgresLab, targets: list[DatabaseTarget]) -> None:
    slow = pg_lab.target(pg_lab.app_role, query_timeout=1)
    targets.append(slow)
    assert "statement timeout" in error_of(checks.db_query, slow, sql="SELECT pg_sleep(600)")
    assert run(checks.db_query, slow, sql="SELECT 1", equals="1").status == "passed"
    missing = pg_lab.target(database=f"{pg_lab.database}_nope")
    assert "does not exist" in error_of(checks.db_connect, missing)
    down = db_target(
        dsn("postgresql", free_port(), "postgres", None, "postgres"), "pg-down", connect_timeout=2
    )
    text = error_of(checks.db_connect, down)
    assert "pg-down" in text and "refused" in text.lower()


# --- Redis -----------------------------------------------------------------------------


def test_redis_machine_server_fails_every_hardening_check(machine_redis: DatabaseTarget) -> None:
    out = run(checks.redis_auth_required, machine_redis)
    assert out.status == "failed" and "unauthenticated client was accepted" in out.observed
    out = run(checks.redis_persistence, machine_redis)
    assert out.status == "failed" and out.observed == "AOF off, RDB off (no save schedule)"
    out = run(checks.redis_maxmemory, machine_redis)
    assert out.status == "failed" and "0 (unlimited)" in out.observed
    out = run(checks.redis_dangerous_commands, machine_redis)
    assert out.status == "failed"
    assert {"FLUSHALL", "FLUSHDB", "CONFIG", "KEYS"} <= set(out.details["enabled"])
    assert "DEBUG (enable-debug-command no)" in out.details["disabled"]


def test_redis_private_server_passes_every_hardening_check(
    private_redis: PrivateRedis, targets: list[DatabaseTarget]
) -> None:
    db = private_redis.target()
    targets.append(db)
    out = run(checks.redis_auth_required, db)
    assert out.status == "passed" and "Authentication required" in out.observed
    out = run(checks.redis_persistence, db, mode="aof")
    assert out.status == "passed" and "AOF on" in out.observed
    assert run(checks.redis_persistence, db, mode="rdb").status == "failed"
    assert run(checks.redis_maxmemory, db, policy="allkeys-lru").status == "passed"
    out = run(checks.redis_maxmemory, db, policy="noeviction")
    assert out.status == "failed" and out.observed == "policy: allkeys-lru"
    assert out.details["maxmemory"] == 64 * 1024**2
    out = run(checks.redis_dangerous_commands, db)
    assert out.status == "passed", out.summary()
    assert "DEBUG (renamed or absent)" in out.details["disabled"]


def test_redis_dangerous_commands_through_acl(
    private_redis: PrivateRedis, targets: list[DatabaseTarget]
) -> None:
    admin, app = private_redis.target(), private_redis.target(user="app")
    targets += [admin, app]
    out = run(checks.redis_dangerous_commands, admin, commands="SHUTDOWN, MONITOR", account="app")
    assert out.status == "passed" and "SHUTDOWN (denied by ACL)" in out.details["disabled"]
    out = run(checks.redis_dangerous_commands, admin, commands="SHUTDOWN")
    assert out.status == "failed" and out.details["enabled"] == ["SHUTDOWN"]
    # The app user may not run ACL DRYRUN itself: unproven counts as enabled.
    out = run(checks.redis_dangerous_commands, app, commands="SHUTDOWN")
    assert out.status == "failed" and "SHUTDOWN (ACL not checkable)" in out.details["enabled"]


def test_redis_connect_version_variable(
    machine_redis: DatabaseTarget, private_redis: PrivateRedis
) -> None:
    out = run(checks.db_connect, machine_redis)
    assert out.status == "passed" and out.details["server_version"]
    assert run(checks.db_version, machine_redis, min="6").status == "passed"
    assert run(checks.db_version, machine_redis, min="99").status == "failed"
    assert (
        run(checks.db_variable, machine_redis, name="maxmemory-policy", value="noeviction").status
        == "passed"
    )
    assert (
        run(checks.db_variable, machine_redis, name="maxmemory-policy", value="allkeys-lru").status
        == "failed"
    )
    assert run(checks.db_tables, machine_redis, tables="x").status == "skipped"


def test_redis_wrong_password_and_down_are_one_line_without_the_password(
    private_redis: PrivateRedis, assert_no_leak: Any
) -> None:
    wrong = planted_password("wrong")
    text = error_of(checks.db_connect, private_redis.target(password=wrong))
    assert "private-redis" in text and ("invalid" in text.lower() or "WRONGPASS" in text)
    down = db_target(
        dsn("redis", free_port(), "", private_redis.password, "0"), "redis-down", connect_timeout=2
    )
    down_text = error_of(checks.db_connect, down)
    assert "redis-down" in down_text and "refused" in down_text.lower()
    assert_no_leak([wrong, private_redis.password], text, down_text)


def test_checks_that_do_not_apply_say_so(
    mysql_lab: MysqlLab, machine_redis: DatabaseTarget, targets: list[DatabaseTarget]
) -> None:
    db = mysql_lab.app()
    targets.append(db)
    out = run(checks.redis_maxmemory, db)
    assert out.status == "skipped" and "applies to redis" in out.observed
    out = run(checks.db_query, machine_redis, sql="SELECT 1")
    assert out.status == "skipped"


# --- private MariaDB: TLS and replication ----------------------------------------------


def test_mysql_tls_passes_for_an_account_that_requires_it(
    private_mariadb: PrivateMariadb, targets: list[DatabaseTarget]
) -> None:
    db = private_mariadb.target("tls_app", "tls-app-pw", ssl_ca=str(private_mariadb.ca))
    targets.append(db)
    out = run(checks.db_tls, db)
    assert out.status == "passed", out.summary()
    assert "connection: encrypted (TLSv1." in out.observed
    assert "REQUIRE SSL" in out.observed


def test_mysql_tls_fails_for_an_account_that_may_skip_it(
    private_mariadb: PrivateMariadb, targets: list[DatabaseTarget]
) -> None:
    db = private_mariadb.target("plain_app", "plain-app-pw", ssl_ca=str(private_mariadb.ca))
    targets.append(db)
    out = run(checks.db_tls, db)
    assert out.status == "failed"
    assert out.observed.startswith("account: ") and "no REQUIRE SSL" in out.observed
    assert run(checks.db_tls, db, require_account="false").status == "passed"
    plain = private_mariadb.target("plain_app", "plain-app-pw", query="?ssl_mode=disabled")
    targets.append(plain)
    assert (
        "connection: not encrypted" in run(checks.db_tls, plain, require_account="false").observed
    )


def test_mysql_tls_account_refused_without_tls_and_with_a_wrong_ca(
    private_mariadb: PrivateMariadb, tmp_path: Path
) -> None:
    plain = private_mariadb.target("tls_app", "tls-app-pw", query="?ssl_mode=disabled")
    assert "Access denied" in error_of(checks.db_connect, plain)
    other_ca = tmp_path / "other.pem"

    self_signed_cert(tmp_path / "k.pem", other_ca, "other")
    wrong = private_mariadb.target("tls_app", "tls-app-pw", ssl_ca=str(other_ca))
    assert "certificate verify failed" in error_of(checks.db_connect, wrong)


def test_mysql_least_privilege_no_other_account_with_all(
    private_mariadb: PrivateMariadb, targets: list[DatabaseTarget]
) -> None:
    db = private_mariadb.target(ssl_ca=str(private_mariadb.ca))
    targets.append(db)
    out = run(
        checks.db_least_privilege, db, account="plain_app", privileges="SELECT", schemas="app"
    )
    assert out.status == "passed", out.summary()
    assert any(f["fact"] == "other accounts" and f["ok"] for f in out.details["facts"])
    out = run(checks.db_least_privilege, db, account="repl", privileges="SELECT", schemas="app")
    assert out.status == "failed" and "global privileges: REPLICATION SLAVE" in out.observed


def test_replication_lag_on_a_running_replica(
    private_replica: PrivateMariadb, targets: list[DatabaseTarget]
) -> None:
    db = private_replica.target()
    targets.append(db)
    out = run(checks.db_replication_lag, db, max_seconds="3600")
    assert out.status == "passed", out.summary()
    assert "s behind" in out.observed


def test_replication_lag_fails_when_replication_stopped(
    private_replica: PrivateMariadb, targets: list[DatabaseTarget]
) -> None:
    from support.databases import wait_replicating

    db = private_replica.target()
    targets.append(db)
    private_replica.execute("STOP SLAVE SQL_THREAD")
    try:
        out = run(checks.db_replication_lag, db, max_seconds="3600")
    finally:
        private_replica.execute("START SLAVE SQL_THREAD")
        wait_replicating(private_replica)
    assert out.status == "failed"
    assert "not replicating (IO thread Yes, SQL thread No)" in out.observed


def test_replication_lag_not_applicable_on_the_primary(
    private_mariadb: PrivateMariadb, targets: list[DatabaseTarget]
) -> None:
    db = private_mariadb.target(ssl_ca=str(private_mariadb.ca))
    targets.append(db)
    assert run(checks.db_replication_lag, db, max_seconds="1").status == "skipped"


def test_pg_password_never_appears(
    pg_lab: PostgresLab, targets: list[DatabaseTarget], assert_no_leak: Any
) -> None:
    """The server trusts 127.0.0.1, so a planted password is sent and ignored: it must still never
    show."""
    password = planted_password("pg")
    db = db_target(dsn("postgresql", 5432, pg_lab.app_role, password, pg_lab.database), "pg-app")
    missing = db_target(
        dsn("postgresql", 5432, pg_lab.app_role, password, f"{pg_lab.database}_nope"), "pg-missing"
    )
    down = db_target(
        dsn("postgresql", free_port(), pg_lab.app_role, password, pg_lab.database), "pg-down"
    )
    targets += [db, missing, down]
    outputs: list[Any] = [error_of(checks.db_connect, missing), error_of(checks.db_connect, down)]
    for check, params in [
        (checks.db_connect, {}),
        (checks.db_tls, {}),
        (
            checks.db_least_privilege,
            {"privileges": APP_PRIVILEGES, "schemas": ["app"], "others": "false"},
        ),
        (checks.db_query, {"sql": f"SELECT '{password}'", "equals": "x"}),
    ]:
        out = run(check, db, **params)
        outputs += [out.to_dict(), out.summary()]
    outputs += [db.spec.label, repr(db.dsn)]
    assert_no_leak([password], *outputs)


# --- through the plugin: collection and a run ------------------------------------------

E2E_CONFIG = """\
checklists = ["checklist.md"]
[environments.prod.databases.appdb]
dsn = "mysql://{user}:${{GOLIVE_TEST_DB_PASSWORD}}@127.0.0.1:3306/{database}"
query_timeout = 5
"""

E2E_CHECKLIST = """\
# Release
## Database
- [ ] Database connection verified <!-- golive: db_connect id=DB-CONNECT -->
- [ ] Tables created with indexes <!-- golive: db_indexes table=ims_transaction_logs indexes=idx_status,idx_created_at id=DB-INDEXES -->
- [ ] Sample data available for testing <!-- golive: db_query sql="SELECT COUNT(*) FROM ims_transaction_logs" equals=4 id=DB-SAMPLE -->
- [ ] Service account created with least privileges <!-- golive: db_least_privilege privileges=SELECT,INSERT,UPDATE,DELETE schemas={database} others=false id=DB-PRIV -->
"""  # noqa: E501 - checklist lines, verbatim


@pytest.fixture
def db_project(
    pytester: pytest.Pytester, mysql_lab: MysqlLab, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    monkeypatch.setenv("GOLIVE_TEST_DB_PASSWORD", mysql_lab.app_password)
    pytester.makefile(
        ".toml", golive=E2E_CONFIG.format(user=mysql_lab.app_user, database=mysql_lab.good)
    )
    pytester.makefile(".md", checklist=E2E_CHECKLIST.format(database=mysql_lab.good))
    return pytester


def test_a_write_in_db_query_fails_collection_with_one_line(
    db_project: pytest.Pytester, mysql_lab: MysqlLab
) -> None:
    db_project.makefile(
        ".md",
        checklist=(
            "## Database\n"
            '- [ ] Clean up <!-- golive: db_query sql="DELETE FROM ims_transaction_logs" -->\n'
        ),
    )
    result = db_project.runpytest("--golive=prod")
    result.stdout.fnmatch_lines(["*checklist.md*'DELETE' statements are not reads*"])
    assert "Traceback" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert mysql_lab.root().scalar(f"SELECT COUNT(*) FROM {TABLE}") == 3


def test_database_lines_run_through_the_plugin(
    db_project: pytest.Pytester, mysql_lab: MysqlLab, assert_no_leak: Any
) -> None:
    result = db_project.runpytest(
        "--golive=prod", "-rA", f"--junitxml={db_project.path / 'junit.xml'}"
    )
    out = result.stdout.str()
    result.assert_outcomes(passed=3, failed=1)
    assert "DB-SAMPLE" in out and "value: 3" in out  # the failing line shows its evidence
    assert_no_leak(
        [mysql_lab.app_password], out, result.stderr.str(), db_project.path / "junit.xml"
    )
