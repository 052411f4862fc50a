"""PostgreSQL (psycopg): the read-only session, its catalog queries, and their parsers.

The parsers (:func:`hba_account_tls`, :func:`role_powers`, :func:`risky_memberships`, ...)
are pure: rows in, facts out, tested on rows captured from PostgreSQL 15
(``tests/data/database/``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_golive.core.outcome import CheckError
from pytest_golive.core.secrets import reveal
from pytest_golive.targets.dialects import (
    AccountMissing,
    AccountTls,
    Charsets,
    Driver,
    Grant,
    PrivilegeFacts,
    Replication,
    Setting,
    SqlCatalog,
    Standby,
    Standing,
    TlsFacts,
    names,
)

if TYPE_CHECKING:
    from pytest_golive.targets.database import DatabaseTarget

#: Relation kinds that hold or show rows: tables, partitioned tables, views, materialised
#: views, foreign tables.
_RELATIONS = "('r', 'p', 'v', 'm', 'f')"
_ROLE_ATTRIBUTES = ("rolsuper", "rolcreaterole", "rolcreatedb", "rolreplication", "rolbypassrls")
#: Built-in roles that read or write the server's files or run programs on it.
FILE_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")

# --- parsers ---------------------------------------------------------------------------


def hba_account_tls(rules: list[dict[str, Any]], user: str, dbname: str) -> AccountTls:
    """Whether ``pg_hba_file_rules`` leave the role only TLS connections (first match wins)."""
    for rule in rules:
        if rule["type"] not in ("host", "hostnossl") or rule["auth_method"] == "reject":
            continue
        dbs, users = list(rule["database"] or []), list(rule["user_name"] or [])
        if ("all" in dbs or dbname in dbs) and ("all" in users or user in users):
            return AccountTls(False, f"pg_hba.conf line {rule['line_number']} accepts "
                                     f"'{rule['type']}' (non-TLS) connections")
    return AccountTls(True, "no pg_hba.conf line accepts this role without TLS")


def role_powers(attrs: dict[str, Any]) -> list[str]:
    """The attributes beyond a plain login that a ``pg_roles`` record sets (super, createdb...)."""
    return [k[3:] for k in _ROLE_ATTRIBUTES if attrs[k]]


def risky_memberships(member_of: list[tuple[Any, ...]]) -> list[str]:
    """Roles (name, rolsuper) the role is a member of that are superusers or server-file roles."""
    return sorted(str(n) for n, sup in member_of if sup or n in FILE_ROLES)


def parse_grants(
    table_rows: list[tuple[Any, ...]], schema_rows: list[tuple[Any, ...]]
) -> list[Grant]:
    """Grants from ``aclexplode`` over relations (schema, table, ...) and schemas (schema, ...)."""
    grants = [Grant(str(s), str(o), str(p), bool(g)) for s, o, p, g in table_rows]
    grants += [Grant(str(s), "*", str(p), bool(g)) for s, p, g in schema_rows]
    return grants


# --- the dialect -----------------------------------------------------------------------


class PostgresDialect(SqlCatalog):
    driver: Driver = "postgresql"
    sql: bool = True
    default_admins: tuple[str, ...] = ("postgres",)

    database_sql = "SELECT COUNT(*) FROM pg_catalog.pg_database WHERE datname = %s"
    tables_sql = ("SELECT c.relname FROM pg_catalog.pg_class c"
                  " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                  f" WHERE n.nspname = %s AND c.relkind IN {_RELATIONS}")
    relation_sql = ("SELECT COUNT(*) FROM pg_catalog.pg_class c"
                    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                    f" WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN {_RELATIONS}")
    columns_sql = ("SELECT a.attname FROM pg_catalog.pg_attribute a"
                   " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
                   " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                   " WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0"
                   " AND NOT a.attisdropped")
    indexes_sql = ("SELECT indexname FROM pg_catalog.pg_indexes"
                   " WHERE schemaname = %s AND tablename = %s")

    def connect(self, db: DatabaseTarget) -> Any:
        import psycopg

        ms = int(db.query_timeout * 1000)
        tls: dict[str, Any] = {}
        if "sslmode" in db.dsn.query:
            tls["sslmode"] = db.dsn.query["sslmode"]
        return psycopg.connect(
            host=db.dsn.host,
            port=db.dsn.port or 5432,
            user=db.dsn.user,
            password=reveal(db.dsn.password),
            dbname=db.dsn.database or "postgres",
            connect_timeout=max(1, int(db.connect_timeout)),
            options=f"-c default_transaction_read_only=on -c statement_timeout={ms}",
            autocommit=True,
            **tls,
        )

    def server_version(self, db: DatabaseTarget) -> str:
        return str(db.scalar("SHOW server_version"))

    def ping(self, db: DatabaseTarget) -> None:
        db.scalar("SELECT 1")

    def default_schema(self, db: DatabaseTarget) -> str | None:
        name = db.scalar("SELECT current_schema()")
        return str(name) if name else None

    def charsets(self, db: DatabaseTarget, schema: str | None, tables: bool) -> Charsets:
        # Tables have no character set of their own: the database's encoding is all there is.
        enc = db.scalar("SELECT pg_encoding_to_char(encoding) FROM pg_database"
                        " WHERE datname = current_database()")
        return Charsets(encoding=str(enc))

    def setting(self, db: DatabaseTarget, name: str) -> Setting | None:
        rows = db.query("SELECT setting, unit FROM pg_catalog.pg_settings WHERE name = %s", (name,))
        return Setting(rows[0][0], str(rows[0][1] or "")) if rows else None

    def tls(self, db: DatabaseTarget, require_account: bool) -> TlsFacts:
        row = db.query("SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        ssl_on = bool(row and row[0][0])
        return TlsFacts(ssl_on, str(row[0][1]) if ssl_on else "", str(row[0][2]) if ssl_on else "",
                        account=self._account_tls(db) if require_account else None)

    def _account_tls(self, db: DatabaseTarget) -> AccountTls:
        """Whether pg_hba.conf accepts the current role over a non-TLS connection."""
        try:
            rules = db.records(
                "SELECT line_number, type, database, user_name, auth_method FROM pg_hba_file_rules"
                " WHERE error IS NULL ORDER BY line_number"
            )
        except CheckError as exc:
            cause = str(exc).split(": ", 2)[-1]
            return AccountTls(False, f"cannot read pg_hba_file_rules ({cause})")
        user = str(db.scalar("SELECT current_user"))
        dbname = str(db.scalar("SELECT current_database()"))
        return hba_account_tls(rules, user, dbname)

    def privileges(
        self, db: DatabaseTarget, account: str | None, admins: list[str], others: bool
    ) -> PrivilegeFacts | AccountMissing:
        role = account or str(db.scalar("SELECT current_user"))
        rows = db.records(
            "SELECT oid, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
            " FROM pg_catalog.pg_roles WHERE rolname = %s",
            (role,),
        )
        if not rows:
            return AccountMissing(f"role {role} not found", f"role {role} exists")
        attrs = rows[0]
        member_of = db.query(
            "SELECT r.rolname, r.rolsuper FROM pg_catalog.pg_auth_members m"
            " JOIN pg_catalog.pg_roles r ON r.oid = m.roleid WHERE m.member = %s",
            (attrs["oid"],),
        )
        table_rows = db.query(
            "SELECT n.nspname, c.relname, a.privilege_type, a.is_grantable"
            " FROM pg_catalog.pg_class c"
            " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a"
            " WHERE a.grantee = %s AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
            (attrs["oid"],),
        )
        schema_rows = db.query(
            "SELECT n.nspname, a.privilege_type, a.is_grantable FROM pg_catalog.pg_namespace n,"
            " aclexplode(n.nspacl) a WHERE a.grantee = %s"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
            (attrs["oid"],),
        )
        supers = None
        if others:
            found = [str(r[0]) for r in db.query(
                "SELECT rolname FROM pg_catalog.pg_roles WHERE rolsuper ORDER BY rolname")]
            intruders = [r for r in found if r != role and r not in admins]
            supers = Standing("other roles", intruders, f"only {names(admins)} are superusers",
                              shown=f"superuser: {names(intruders)}", none="no other superuser")
        return PrivilegeFacts(
            account=role,
            standing=[
                Standing("role attributes", role_powers(attrs),
                         "none of super, createrole, createdb, replication, bypassrls"),
                Standing("role memberships", risky_memberships(member_of),
                         "no superuser or server-file role"),
            ],
            grants=parse_grants(table_rows, schema_rows),
            harmless_on_schema=frozenset({"USAGE"}),
            held_on="tables",
            others=supers,
        )

    def replication(self, db: DatabaseTarget) -> Replication:
        if db.scalar("SELECT pg_is_in_recovery()"):
            lag = db.scalar(
                "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
                " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
            )
            return Replication(in_recovery=True, replay_lag=None if lag is None else float(lag))
        standbys = db.query(
            "SELECT application_name, state, EXTRACT(EPOCH FROM replay_lag)"
            " FROM pg_stat_replication"
        )
        return Replication(standbys=[Standby(str(n), str(s), float(lag or 0))
                                     for n, s, lag in standbys],
                           absent="has no standby attached and is not one")


POSTGRESQL = PostgresDialect()
