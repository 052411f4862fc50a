"""MySQL and MariaDB (pymysql): the read-only session, its catalog queries, and their parsers.

The parsers (:func:`account_tls`, :func:`scoped_grants`, :func:`full_power_accounts`,
:func:`parse_channels`, ...) are pure: rows in, facts out, tested on rows
captured from MariaDB 10.11 (``tests/data/database/``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pytest_golive.core import compat
from pytest_golive.core.outcome import CheckError
from pytest_golive.core.secrets import reveal
from pytest_golive.targets.dialects import (
    CLIENT_GRACE,
    AccountMissing,
    AccountTls,
    Channel,
    Charsets,
    Driver,
    Grant,
    PrivilegeFacts,
    Replication,
    Setting,
    SqlCatalog,
    Standing,
    TlsFacts,
    names,
    normal_value,
    schema_of,
)

if TYPE_CHECKING:
    from pytest_golive.targets.database import DatabaseTarget

# --- parsers ---------------------------------------------------------------------------

#: CR_SERVER_LOST: PyMySQL's "Lost connection to MySQL server during query", raised for a
#: read that timed out, here the greeting or the answer to the login.
LOST_CONNECTION = 2013

_REQUIRE = re.compile(r"\bREQUIRE\s+(SSL|X509|ISSUER|SUBJECT|CIPHER)\b", re.IGNORECASE)


def account_tls(secure_transport: Any, grants: list[str], mariadb: bool) -> AccountTls | None:
    """Whether the account must use TLS, from the server variable and ``SHOW GRANTS``.

    None when neither says and the server is MySQL, whose ``SHOW GRANTS``
    leaves the requirement out: then only ``mysql.user`` can tell.
    """
    if secure_transport is not None and normal_value(secure_transport) == "on":
        return AccountTls(True, "server sets require_secure_transport=ON")
    for line in grants:
        match = _REQUIRE.search(line)
        if match:
            return AccountTls(True, f"account grants say REQUIRE {match.group(1).upper()}")
    if mariadb:
        return AccountTls(
            False, "account grants have no REQUIRE SSL and require_secure_transport is OFF"
        )
    return None


def parse_grantee(grantee: str) -> tuple[str, str]:
    """('user', 'host') from information_schema's ``'user'@'host'``."""
    match = re.fullmatch(r"'(.*)'@'(.*)'", grantee)
    return (match.group(1), match.group(2)) if match else (grantee, "")


def unescape_schema(name: str) -> str:
    """A schema name as granted: ``GRANT ... ON `app\\_db`.*`` is shown escaped."""
    return name.replace("\\_", "_").replace("\\%", "%")


def is_admin(user: str, host: str, admins: list[str]) -> bool:
    return any(a == user or a == f"{user}@{host}" for a in admins)


def scoped_grants(
    mine: Callable[[str], bool],
    schema_rows: list[tuple[Any, ...]],
    table_rows: list[tuple[Any, ...]],
) -> list[Grant]:
    """The account's schema and table grants from information_schema's privilege tables.

    ``mine(grantee)`` says whether a grantee is the account judged.
    """
    grants = [
        Grant(unescape_schema(str(schema)), "*", str(priv), str(grantable) == "YES")
        for grantee, schema, priv, grantable in schema_rows if mine(str(grantee))
    ]
    grants += [
        Grant(str(schema), str(table), str(priv), str(grantable) == "YES")
        for grantee, schema, table, priv, grantable in table_rows if mine(str(grantee))
    ]
    return grants


def full_power_accounts(accounts: list[dict[str, Any]], admins: list[str]) -> list[str]:
    """Accounts in ``mysql.user`` with all global privileges or GRANT OPTION, bar admins, roles."""
    powerful = []
    for acc in accounts:
        u, h = str(acc.get("user", "")), str(acc.get("host", ""))
        if is_admin(u, h, admins) or str(acc.get("is_role", "N")).upper() == "Y":
            continue
        flags = {k: str(v).upper() for k, v in acc.items() if k.endswith("_priv")}
        if flags and all(v == "Y" for v in flags.values()):
            powerful.append(f"{u}@{h} (ALL PRIVILEGES)")
        elif flags.get("grant_priv") == "Y":
            powerful.append(f"{u}@{h} (GRANT OPTION)")
    return powerful


def parse_channels(records: list[dict[str, Any]]) -> list[Channel]:
    """Replication channels from ``SHOW ALL SLAVES STATUS`` / ``SHOW REPLICA STATUS`` records.

    MariaDB and older MySQL name the columns slave_* and *_master, MySQL 8.0.22+ replica_* and
    *_source; both are read.
    """
    channels = []
    for ch in records:
        channels.append(Channel(
            name=str(ch.get("connection_name") or ch.get("channel_name") or "default"),
            io_running=str(ch.get("slave_io_running") or ch.get("replica_io_running") or "No"),
            sql_running=str(ch.get("slave_sql_running") or ch.get("replica_sql_running") or "No"),
            lag=ch.get("seconds_behind_master", ch.get("seconds_behind_source")),
            error=str(ch.get("last_error") or ch.get("last_io_error") or ch.get("last_sql_error")
                      or ""),
        ))
    return channels


# --- the dialect -----------------------------------------------------------------------


class MysqlDialect(SqlCatalog):
    driver: Driver = "mysql"
    sql: bool = True
    # Debian's MariaDB creates mysql@localhost (unix socket only) with ALL.
    default_admins: tuple[str, ...] = ("root", "mysql", "mariadb.sys", "mysql.sys", "mysql.session",
                      "mysql.infoschema", "debian-sys-maint")

    database_sql = "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s"
    tables_sql = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
    relation_sql = ("SELECT COUNT(*) FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s")
    columns_sql = ("SELECT COLUMN_NAME FROM information_schema.COLUMNS"
                   " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s")
    indexes_sql = ("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS"
                   " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s")

    @staticmethod
    def _ssl_mode(db: DatabaseTarget) -> str:
        return (db.dsn.query.get("ssl_mode") or db.dsn.query.get("ssl-mode") or "").lower()

    def _ssl(self, db: DatabaseTarget) -> dict[str, Any] | None:
        """TLS options for pymysql: required when a CA is configured or the DSN asks.

        Without either, pymysql negotiates TLS when the server offers it;
        ``?ssl_mode=disabled`` in the DSN turns TLS off.
        """
        verify = bool(db.spec.options.get("ssl_verify", True))
        if db.spec.options.get("ssl_ca"):
            return {"ca": db.spec.options["ssl_ca"], "check_hostname": verify,
                    "verify_mode": verify}
        mode = self._ssl_mode(db)
        asked = mode in ("required", "require", "verify_ca", "verify_identity")
        if asked or db.dsn.query.get("ssl") in ("1", "true"):
            return {"check_hostname": False, "verify_mode": False}
        return None

    def connect(self, db: DatabaseTarget) -> Any:
        import pymysql

        try:
            conn = pymysql.connect(
                host=db.dsn.host,
                port=db.dsn.port or 3306,
                user=db.dsn.user or "",
                password=reveal(db.dsn.password) or "",
                database=db.dsn.database,
                connect_timeout=db.connect_timeout,
                # The greeting and the login are part of connecting: connect_timeout.
                read_timeout=db.connect_timeout,
                write_timeout=db.connect_timeout,
                ssl=self._ssl(db),
                ssl_disabled=self._ssl_mode(db) == "disabled",
                autocommit=True,
            )
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] == LOST_CONNECTION:
                raise CheckError(
                    f"database {db.name} ({db.dsn.address}): the server accepted the "
                    f"connection but did not complete the MySQL handshake within "
                    f"{db.connect_timeout:g}s (no greeting, or no answer to the login): is "
                    "it a MySQL/MariaDB server, and is it responding?") from None
            raise
        # The server stops a statement at query_timeout; the socket timeout is a
        # backstop for a server that does not answer at all.
        compat.set_pymysql_timeouts(conn, read=db.query_timeout + CLIENT_GRACE,
                                    write=db.query_timeout + CLIENT_GRACE)
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION READ ONLY")
            server: str = conn.get_server_info()  # type: ignore[no-untyped-call]
            if "mariadb" in server.lower():
                # MariaDB: seconds, any statement.
                cur.execute(f"SET SESSION max_statement_time={db.query_timeout:g}")
            else:
                # MySQL 5.7+/8: milliseconds, SELECT statements.
                cur.execute(f"SET SESSION MAX_EXECUTION_TIME={int(db.query_timeout * 1000)}")
        return conn

    def server_version(self, db: DatabaseTarget) -> str:
        # MariaDB before 11 prefixes "5.5.5-" for old replication clients.
        return str(db.connection().get_server_info()).removeprefix("5.5.5-")

    def ping(self, db: DatabaseTarget) -> None:
        db.scalar("SELECT 1")

    def default_schema(self, db: DatabaseTarget) -> str | None:
        name = db.dsn.database or db.scalar("SELECT DATABASE()")
        return str(name) if name else None

    def charsets(self, db: DatabaseTarget, schema: str | None, tables: bool) -> Charsets:
        name = schema_of(db, schema)
        found = db.scalar(
            "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA"
            " WHERE SCHEMA_NAME = %s", (name,)
        )
        if found is None or not tables:
            return Charsets(schema=name, schema_default=None if found is None else str(found))
        rows = db.query(
            "SELECT t.TABLE_NAME, c.CHARACTER_SET_NAME FROM information_schema.TABLES t"
            " JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION"
            " WHERE t.TABLE_SCHEMA = %s AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY t.TABLE_NAME",
            (name,),
        )
        return Charsets(schema=name, schema_default=str(found),
                        tables=[(str(t), str(cs)) for t, cs in rows])

    def setting(self, db: DatabaseTarget, name: str) -> Setting | None:
        rows = db.query("SHOW GLOBAL VARIABLES WHERE Variable_name = %s", (name,))
        return Setting(rows[0][1]) if rows else None

    @staticmethod
    def _status(db: DatabaseTarget, name: str) -> str:
        rows = db.query("SHOW SESSION STATUS LIKE %s", (name,))
        return str(rows[0][1]) if rows and rows[0][1] else ""

    def tls(self, db: DatabaseTarget, require_account: bool) -> TlsFacts:
        cipher = self._status(db, "Ssl_cipher")
        version = self._status(db, "Ssl_version")
        return TlsFacts(bool(cipher), version, cipher,
                        account=self._account_tls(db) if require_account else None)

    def _account_tls(self, db: DatabaseTarget) -> AccountTls:
        rows = db.query("SHOW GLOBAL VARIABLES LIKE 'require_secure_transport'")
        grants = [str(r[0]) for r in db.query("SHOW GRANTS")]
        found = account_tls(rows[0][1] if rows else None, grants,
                            "mariadb" in self.server_version(db).lower())
        if found is not None:
            return found
        # MySQL 8 keeps the requirement out of SHOW GRANTS: read mysql.user if allowed.
        try:
            ssl_type = db.scalar(
                "SELECT ssl_type FROM mysql.user WHERE CONCAT(user, '@', host) = CURRENT_USER()"
            )
        except CheckError:
            return AccountTls(False, "not shown by SHOW GRANTS, and mysql.user is not readable by "
                                     "this account")
        return AccountTls(bool(ssl_type), f"mysql.user ssl_type={ssl_type or 'none'}")

    def privileges(
        self, db: DatabaseTarget, account: str | None, admins: list[str], others: bool
    ) -> PrivilegeFacts | AccountMissing:
        if account:
            user, _, host = account.partition("@")
        else:
            user, _, host = str(db.scalar("SELECT CURRENT_USER()")).partition("@")

        def mine(grantee: str) -> bool:
            u, h = parse_grantee(grantee)
            return u == user and (not host or h == host)

        label = f"{user}@{host}" if host else user
        global_rows = [r for r in db.query(
            "SELECT GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES"
        ) if mine(str(r[0]))]
        if not global_rows:
            return AccountMissing(f"account {label} not found or not visible to this account",
                                  f"account {label} exists")
        global_privs = sorted({str(r[1]) for r in global_rows if str(r[1]) != "USAGE"})
        grants = scoped_grants(
            mine,
            db.query("SELECT GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE"
                     " FROM information_schema.SCHEMA_PRIVILEGES"),
            db.query("SELECT GRANTEE, TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE, IS_GRANTABLE"
                     " FROM information_schema.TABLE_PRIVILEGES"),
        )
        powerful = None
        if others:
            try:
                accounts = db.records("SELECT * FROM mysql.user")
            except CheckError as exc:
                raise CheckError(
                    f"database {db.name}: cannot list other accounts (grant SELECT on mysql.user "
                    f"to the checking account, or pass others=false): {str(exc).split(': ', 2)[-1]}"
                ) from None
            powerful = Standing("other accounts", full_power_accounts(accounts, admins),
                                f"only {names(admins)} hold global ALL or GRANT OPTION")
        return PrivilegeFacts(
            account=label,
            standing=[Standing("global privileges", global_privs, "none (USAGE only)")],
            grants=grants,
            global_grant_option=any(str(r[2]) == "YES" for r in global_rows),
            held_on="schema",
            others=powerful,
        )

    def replication(self, db: DatabaseTarget) -> Replication:
        if "mariadb" in self.server_version(db).lower():
            records = db.records("SHOW ALL SLAVES STATUS")
        else:
            try:  # MySQL 8.0.22+
                records = db.records("SHOW REPLICA STATUS")
            except CheckError:  # older MySQL
                records = db.records("SHOW SLAVE STATUS")
        return Replication(channels=parse_channels(records),
                           absent="is not a replica (no replication configured)")


MYSQL = MysqlDialect()
