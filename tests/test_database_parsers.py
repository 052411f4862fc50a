"""Database dialects' parsers and the checks' judges on rows captured from real servers.

No server is contacted: each recording in tests/data/database/ is replayed
through the check's own code and its dialect (:class:`data.recording.ReplayDatabase`),
and the parsers are tested one by one on the captured rows. Row shapes no
server here can produce (MySQL 8, a PostgreSQL standby) are built by hand
from the servers' documented columns, and the tests say so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from data.recording import ReplayDatabase, load, unplain
from pytest_golive.checks.database import data, privileges, redis, schema, server
from pytest_golive.checks.registry import REGISTRY
from pytest_golive.core.outcome import CheckError
from pytest_golive.targets.dialects import (
    AccountTls,
    Charsets,
    Replication,
    Setting,
    Standby,
    TlsFacts,
    dialect_for,
    mysql,
    normal_value,
    postgresql,
)
from pytest_golive.targets.dialects import redis as redis_dialect

DATA = Path(__file__).parent / "data" / "database"
RECORDINGS = sorted(p for p in DATA.glob("*/*.json") if p.name != "unauthenticated-ping.json")


def rec(path: str) -> dict[str, Any]:
    return load(DATA / path)


def rows(path: str, sql_start: str) -> list[list[Any]]:
    """The rows a recorded query starting with ``sql_start`` returned."""
    step = next(s for s in rec(path)["steps"] if s.get("sql", "").startswith(sql_start))
    return [[unplain(v) for v in row] for row in step["rows"]]


def records(path: str, sql_start: str) -> list[dict[str, Any]]:
    step = next(s for s in rec(path)["steps"] if s.get("sql", "").startswith(sql_start))
    names = [c.lower() for c in step["columns"]]
    return [dict(zip(names, [unplain(v) for v in row], strict=True)) for row in step["rows"]]


# --- every recording, replayed -----------------------------------------------------------


def test_there_are_recordings_of_every_server() -> None:
    systems = {p.parent.name for p in RECORDINGS}
    assert {"mariadb-10.11", "mariadb-10.11-tls", "mariadb-10.11-replica", "postgresql-15",
            "redis-7.0", "redis-7.0-hardened"} <= systems


@pytest.mark.parametrize("path", RECORDINGS, ids=[f"{p.parent.name}/{p.stem}" for p in RECORDINGS])
def test_replaying_real_rows_gives_the_outcome_the_live_check_gave(path: Path) -> None:
    recording = load(path)
    chk = REGISTRY.get(recording["check"])
    db = ReplayDatabase(recording)
    try:
        outcome = chk.func(db, **chk.validate(recording["params"]))
    except CheckError as exc:
        assert recording["outcome"] == {"error": str(exc)}
    else:
        assert json.loads(json.dumps(outcome.to_dict(), default=str)) == recording["outcome"]


def test_a_handle_carries_the_dialect_of_its_dsn() -> None:
    for path, driver in (("mariadb-10.11/db_version.json", "mysql"),
                         ("postgresql-15/db_version.json", "postgresql"),
                         ("redis-7.0/db_version.json", "redis")):
        db = ReplayDatabase(rec(path))
        assert db.dialect is dialect_for(driver) and db.dialect.driver == driver
    assert not dialect_for("redis").sql and dialect_for("mysql").sql


# --- MySQL / MariaDB ---------------------------------------------------------------------


def test_mariadb_account_tls_from_grants() -> None:
    grants = [r[0] for r in rows("mariadb-10.11-tls/db_tls-required.json", "SHOW GRANTS")]
    assert any("REQUIRE SSL" in g for g in grants)
    assert mysql.account_tls("OFF", grants, True) == AccountTls(
        True, "account grants say REQUIRE SSL")
    plain = [r[0] for r in rows("mariadb-10.11/db_tls-plain.json", "SHOW GRANTS")]
    assert mysql.account_tls("OFF", plain, True).required is False  # type: ignore[union-attr]
    assert mysql.account_tls("ON", plain, True) == AccountTls(
        True, "server sets require_secure_transport=ON")


def test_mysql_8_keeps_require_ssl_out_of_show_grants() -> None:
    """Built by hand: MySQL 8 prints no REQUIRE in SHOW GRANTS (not capturable here)."""
    grants = ["GRANT USAGE ON *.* TO `app`@`%`"]
    assert mysql.account_tls("OFF", grants, mariadb=False) is None


def test_mariadb_grantees_and_schema_names() -> None:
    assert mysql.parse_grantee("'app'@'%'") == ("app", "%")
    assert mysql.parse_grantee("'a@b'@'10.0.0.%'") == ("a@b", "10.0.0.%")
    assert mysql.unescape_schema("app\\_db") == "app_db"
    path = "mariadb-10.11/db_least_privilege-over.json"
    user = rec(path)["params"]["account"].partition("@")[0]
    grants = mysql.scoped_grants(
        lambda g: mysql.parse_grantee(g)[0] == user,
        rows(path, "SELECT GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE"),
        rows(path, "SELECT GRANTEE, TABLE_SCHEMA, TABLE_NAME"),
    )
    kinds = {g.privilege for g in grants}
    assert {"SELECT", "DROP", "ALTER"} <= kinds
    assert {g.object for g in grants} == {"*"} and not any(g.grantable for g in grants)
    assert {g.schema for g in grants if g.privilege == "SELECT"} == {
        rec(path)["params"]["schemas"], rec(path)["params"]["schemas"].replace("_good", "_bad")}


def test_mariadb_accounts_with_full_power() -> None:
    accounts = records("mariadb-10.11/db_least_privilege-others.json", "SELECT * FROM mysql.user")
    assert all(a["authentication_string"] in ("<redacted>", "") for a in accounts)
    powerful = mysql.full_power_accounts(accounts, list(mysql.MYSQL.default_admins))
    assert powerful and all(p.endswith("(ALL PRIVILEGES)") and "_wide@" in p for p in powerful)
    # With root not an admin, root is one of them too; roles never count.
    assert any(p.startswith("root@") for p in mysql.full_power_accounts(accounts, []))
    assert mysql.full_power_accounts([{"user": "r", "host": "", "is_role": "Y",
                                       "grant_priv": "Y"}], []) == []


def test_mariadb_replication_channels() -> None:
    running = records("mariadb-10.11-replica/db_replication_lag-running.json",
                      "SHOW ALL SLAVES STATUS")
    (channel,) = mysql.parse_channels(running)
    assert channel.replicating and channel.name == "default" and channel.lag is not None
    stopped = mysql.parse_channels(records("mariadb-10.11-replica/db_replication_lag-stopped.json",
                                           "SHOW ALL SLAVES STATUS"))[0]
    assert (stopped.io_running, stopped.sql_running, stopped.lag) == ("Yes", "No", None)
    assert not stopped.replicating


def test_mysql_8_replica_columns() -> None:
    """Built by hand from MySQL 8.0.22+'s SHOW REPLICA STATUS columns (not capturable here)."""
    (channel,) = mysql.parse_channels([{
        "channel_name": "", "replica_io_running": "Yes", "replica_sql_running": "Yes",
        "seconds_behind_source": 7, "last_error": ""}])
    assert channel.replicating and channel.lag == 7 and channel.name == "default"


# --- PostgreSQL --------------------------------------------------------------------------


def test_pg_hba_rules() -> None:
    rules = records("postgresql-15/db_tls-superuser.json", "SELECT line_number")
    assert rules and all(isinstance(r["database"], list) for r in rules)
    found = postgresql.hba_account_tls(rules, "postgres", "anything")
    assert not found.required and "(non-TLS)" in found.how
    only_tls = [{**r, "type": "hostssl"} for r in rules]
    assert postgresql.hba_account_tls(only_tls, "postgres", "x").required
    rejected = [{**r, "auth_method": "reject"} for r in rules]
    assert postgresql.hba_account_tls(rejected, "postgres", "x").required


def test_pg_roles_memberships_and_grants() -> None:
    creator = "postgresql-15/db_least_privilege-creator.json"
    attrs = records(creator, "SELECT oid, rolsuper")[0]
    assert postgresql.role_powers(attrs) == ["createrole", "createdb"]
    sup = records("postgresql-15/db_least_privilege-super.json", "SELECT oid, rolsuper")[0]
    assert postgresql.role_powers(sup) == ["super"]
    assert postgresql.risky_memberships([("pg_read_server_files", False), ("readers", False),
                                         ("admins", True)]) == ["admins", "pg_read_server_files"]
    grants = postgresql.parse_grants(rows(creator, "SELECT n.nspname, c.relname"),
                                     rows(creator, "SELECT n.nspname, a.privilege_type"))
    assert any(g.schema == "bad" and g.privilege == "SELECT" and g.grantable for g in grants)
    app = "postgresql-15/db_least_privilege-app.json"
    app_grants = postgresql.parse_grants(rows(app, "SELECT n.nspname, c.relname"),
                                         rows(app, "SELECT n.nspname, a.privilege_type"))
    assert {(g.schema, g.object, g.privilege) for g in app_grants if g.object == "*"} == {
        ("app", "*", "USAGE")}


def test_pg_standby_from_documented_columns() -> None:
    """Built by hand: a standby in recovery (no standby runs here)."""
    facts = Replication(in_recovery=True, replay_lag=2.5)
    assert data.judge_replication("pg", facts, 5).observed == "standby 2.5 s behind"
    assert data.judge_replication("pg", Replication(in_recovery=True), 5).observed == (
        "standby has replayed nothing yet")
    primary = Replication(standbys=[Standby("replica1", "catchup", 0.0)])
    assert data.judge_replication("pg", primary, 5).status == "failed"


# --- Redis -------------------------------------------------------------------------------


def test_redis_config_answers() -> None:
    step = next(s for s in rec("redis-7.0/redis_dangerous_commands.json")["steps"]
                if s["redis"][0] == "CONFIG GET")
    assert redis_dialect.parse_config(unplain(step["answer"]), "enable-debug-command") == "no"
    assert redis_dialect.parse_config(["save", "3600 1"], "save") == "3600 1"
    assert redis_dialect.parse_config([], "save") is None
    assert redis_dialect.dryrun_allowed(b"OK")
    denied = "User app has no permissions to run the 'shutdown' command"
    assert not redis_dialect.dryrun_allowed(denied)


def test_redis_info_judged() -> None:
    info_step = next(s for s in rec("redis-7.0-hardened/redis_maxmemory.json")["steps"]
                     if s["redis"][0] == "INFO")
    info = unplain(info_step["answer"])
    assert info["maxmemory"] == 64 * 1024**2 and info["maxmemory_policy"] == "allkeys-lru"
    assert redis.judge_maxmemory(info, "allkeys-lru").status == "passed"
    assert redis.judge_persistence({"aof_enabled": 0}, "", "any").observed == (
        "AOF off, RDB off (no save schedule)")
    assert redis.judge_persistence({"aof_enabled": 1}, None, "both").observed == (
        "AOF on, RDB unknown (CONFIG not available)")


def test_unauthenticated_ping_answers() -> None:
    machine = json.loads((DATA / "redis-7.0" / "unauthenticated-ping.json").read_text())
    hardened = json.loads((DATA / "redis-7.0-hardened" / "unauthenticated-ping.json").read_text())
    assert redis.judge_auth(machine["refusal"]).status == "failed"
    out = redis.judge_auth(hardened["refusal"])
    assert out.status == "passed" and "Authentication required" in out.observed


# --- judges on their own -----------------------------------------------------------------


def test_settings_compare_booleans_loosely_and_show_units() -> None:
    assert normal_value("ON") == normal_value(1) == normal_value("true") == "on"
    out = server.judge_variable("statement_timeout", Setting("10000", "ms"), None, None, 1)
    assert out.status == "failed" and out.observed == "statement_timeout maximum: 10000 ms"
    assert server.judge_variable("x", None, "1", None, None).observed == (
        "x is not a setting of this server")
    with pytest.raises(ValueError, match="needs value, min or max"):
        server.validate_variable({"name": "max_connections"})


def test_tls_judgement_per_kind_of_fact() -> None:
    assert server.judge_tls(TlsFacts(False, scheme="redis")).observed == (
        "connection: redis:// connection")
    out = server.judge_tls(TlsFacts(True, "TLSv1.3", "TLS_AES_256_GCM_SHA384",
                                    account=AccountTls(False, "pg_hba.conf line 2 accepts")))
    assert out.status == "failed" and out.observed == "account: pg_hba.conf line 2 accepts"


def test_charset_judgement() -> None:
    assert schema.judge_charsets("db", Charsets(encoding="UTF8"), "utf8mb4").status == "passed"
    with pytest.raises(CheckError, match="schema shop not found"):
        schema.judge_charsets("db", Charsets(schema="shop"), "utf8mb4")
    out = schema.judge_charsets("db", Charsets(schema="s", schema_default="utf8mb4",
                                               tables=[("a", "utf8mb4"), ("b", "latin1")]),
                                "utf8mb4")
    assert out.status == "failed" and "b (latin1) differ" in out.observed


def test_query_judgement() -> None:
    assert data.judge_query([(3,)], "3.0", None, None).status == "passed"
    assert data.judge_query([], None, None, None).observed == "rows: 0 rows"
    with pytest.raises(ValueError, match="min_rows must be 0 or more"):
        data.validate_query({"sql": "SELECT 1", "min_rows": -1})


def test_privileges_judgement_counts_grant_option_anywhere() -> None:
    facts = mysql.PrivilegeFacts(account="app", standing=[], grants=[
        mysql.Grant("shop", "*", "SELECT", True)], global_grant_option=True)
    out = privileges.judge_privileges(facts, {"SELECT"}, ["shop"], False)
    assert out.status == "failed" and out.observed == "grant option: on *.*, shop.*"


def test_every_parser_of_the_dialects_is_tested_here() -> None:
    """A new ``parse_*`` function of a dialect must come with a test in this file."""
    source = Path(__file__).read_text()
    modules = {"mysql": mysql, "postgresql": postgresql, "redis_dialect": redis_dialect}
    parsers = {f"{alias}.{name}" for alias, m in modules.items() for name, f in vars(m).items()
               if name.startswith("parse_") and getattr(f, "__module__", "") == m.__name__}
    assert len(parsers) >= 4
    assert not sorted(p for p in parsers if f"{p}(" not in source)


@pytest.mark.parametrize(("module", "scheme", "extra"), [
    ("psycopg", "postgresql", "postgresql"), ("redis", "redis", "redis")])
def test_a_driver_that_is_not_installed_says_which_extra_installs_it(
    monkeypatch: pytest.MonkeyPatch, module: str, scheme: str, extra: str
) -> None:
    """`pip install pytest-golive` has MySQL only: the others name the extra, not the module."""
    from pytest_golive.core.config import Settings, TargetSpec
    from pytest_golive.targets.database import DatabaseTarget

    monkeypatch.setitem(sys.modules, module, None)  # as on an install without the extra
    db = DatabaseTarget(TargetSpec("database", "main", (), {"dsn": f"{scheme}://127.0.0.1:1/0"}),
                        Settings(connect_timeout=1))
    with pytest.raises(CheckError) as exc:
        db.connection()
    assert str(exc.value) == (
        f'database main (127.0.0.1:1): the {"PostgreSQL" if module == "psycopg" else "Redis"} '
        f'driver is not installed: pip install "pytest-golive[{extra}]" '
        '(or "pytest-golive[all]")')
