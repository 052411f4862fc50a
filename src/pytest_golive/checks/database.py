"""Database checks: MySQL/MariaDB, PostgreSQL and Redis.

Each check takes a :class:`~pytest_golive.targets.database.DatabaseTarget`
and dispatches on its ``driver``. Sessions are read-only by construction
(the target opens them so) and every statement sent here is a read; a check
that does not apply to a driver says so (not applicable) rather than
pretending to pass.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from pytest_golive.checks.registry import check
from pytest_golive.checks.versions import version_at_least
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.secrets import mask
from pytest_golive.targets.database import DatabaseTarget, describe_error, validate_read_only_sql

__all__ = ["validate_read_only_sql"]

SQL = ("mysql", "postgresql")

#: Accounts that may hold global ALL PRIVILEGES / superuser, unless the
#: checklist names its own list.
DEFAULT_ADMINS = {
    # Debian's MariaDB creates mysql@localhost (unix socket only) with ALL.
    "mysql": ["root", "mysql", "mariadb.sys", "mysql.sys", "mysql.session", "mysql.infoschema", "debian-sys-maint"],
    "postgresql": ["postgres"],
}

#: Redis commands that wipe data, reconfigure the server or block it.
DANGEROUS_REDIS_COMMANDS = ["FLUSHALL", "FLUSHDB", "CONFIG", "KEYS", "DEBUG"]

#: Arguments that make an ACL DRYRUN of a command well-formed (never executed).
_DRYRUN_ARGS = {"CONFIG": ["SET", "maxmemory", "0"], "KEYS": ["*"], "DEBUG": ["SLEEP", "0"]}


# --- helpers ---------------------------------------------------------------------------


def _only(db: DatabaseTarget, *drivers: str) -> Outcome | None:
    """A not-applicable outcome when the check does not apply to this driver."""
    if db.driver in drivers:
        return None
    return Outcome.not_applicable(
        f"database {db.name} is {db.driver}; this check applies to {' and '.join(drivers)}"
    )


def _schema(db: DatabaseTarget, schema: str | None) -> str:
    """The schema a check looks at: given, else the DSN's database (MySQL) or current schema."""
    if schema:
        return schema
    if db.driver == "mysql":
        name = db.dsn.database or db.scalar("SELECT DATABASE()")
    else:
        name = db.scalar("SELECT current_schema()")
    if not name:
        raise CheckError(f"database {db.name}: no schema given and the DSN names no database")
    return str(name)


def _names(values: list[str]) -> str:
    return ", ".join(values) if values else "none"


def _relation_exists(db: DatabaseTarget, schema: str, table: str) -> bool:
    if db.driver == "mysql":
        sql = "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s"
    else:
        sql = (
            "SELECT COUNT(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        )
    return int(db.scalar(sql, (schema, table)) or 0) > 0


def _normal_value(value: Any) -> str:
    """A setting as comparable text: booleans folded to on/off, case ignored."""
    text = str(value).strip().lower()
    if text in ("1", "on", "true", "yes"):
        return "on"
    if text in ("0", "off", "false", "no"):
        return "off"
    return text


def _number(value: Any) -> float | None:
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _shown(value: Any, limit: int = 80) -> str:
    """A query value fit for evidence: masked and short."""
    text = mask("NULL" if value is None else str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- all drivers -----------------------------------------------------------------------


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
    if db.driver == "redis":
        db.redis("PING")
    else:
        db.scalar("SELECT 1")
    rtt_ms = (time.perf_counter() - started) * 1000
    version = db.server_version
    observed = f"connected to {db.dsn.address}, server {version}, round trip {rtt_ms:.1f} ms"
    ok = max_round_trip_ms is None or rtt_ms <= max_round_trip_ms
    expected = "a connection that authenticates"
    if max_round_trip_ms is not None:
        expected += f", round trip <= {max_round_trip_ms:g} ms"
    return Outcome.of(
        ok, observed, expected,
        server_version=version, round_trip_ms=round(rtt_ms, 2), connect_ms=round(connect_ms, 2),
    )


@check(target="database")
def db_version(db: DatabaseTarget, *, min: str) -> Outcome:
    """The database server runs at least version ``min``.

    Args:
        min: the oldest acceptable server version, such as 10.6 or 15.2.
    """
    version = db.server_version
    return Outcome.of(version_at_least(version, min), f"server {version}", f">= {min}", server_version=version)


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
    ev = Evidence()
    if db.driver == "mysql":
        cipher = _mysql_status(db, "Ssl_cipher")
        version = _mysql_status(db, "Ssl_version")
        ev.add("connection", bool(cipher), f"encrypted ({version}, {cipher})" if cipher else "not encrypted", "encrypted")
        if require_account:
            required, how = _mysql_account_requires_tls(db)
            ev.add("account", required, how, "requires TLS")
    elif db.driver == "postgresql":
        row = db.query("SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        ssl_on = bool(row and row[0][0])
        ev.add("connection", ssl_on, f"encrypted ({row[0][1]}, {row[0][2]})" if ssl_on else "not encrypted", "encrypted")
        if require_account:
            required, how = _pg_account_requires_tls(db)
            ev.add("account", required, how, "requires TLS")
    else:
        db.connection()
        ev.add("connection", db.dsn.scheme == "rediss", f"{db.dsn.scheme}:// connection", "rediss:// (TLS)")
    return ev.outcome()


def _mysql_status(db: DatabaseTarget, name: str) -> str:
    rows = db.query("SHOW SESSION STATUS LIKE %s", (name,))
    return str(rows[0][1]) if rows and rows[0][1] else ""


def _mysql_account_requires_tls(db: DatabaseTarget) -> tuple[bool, str]:
    """Whether the current account must use TLS, and how that was seen."""
    rows = db.query("SHOW GLOBAL VARIABLES LIKE 'require_secure_transport'")
    if rows and _normal_value(rows[0][1]) == "on":
        return True, "server sets require_secure_transport=ON"
    grants = [str(r[0]) for r in db.query("SHOW GRANTS")]
    for line in grants:
        match = re.search(r"\bREQUIRE\s+(SSL|X509|ISSUER|SUBJECT|CIPHER)\b", line, re.IGNORECASE)
        if match:
            return True, f"account grants say REQUIRE {match.group(1).upper()}"
    if "mariadb" in db.server_version.lower():
        return False, "account grants have no REQUIRE SSL and require_secure_transport is OFF"
    # MySQL 8 keeps the requirement out of SHOW GRANTS: read mysql.user if allowed.
    try:
        ssl_type = db.scalar(
            "SELECT ssl_type FROM mysql.user WHERE CONCAT(user, '@', host) = CURRENT_USER()"
        )
    except CheckError:
        return False, "not shown by SHOW GRANTS, and mysql.user is not readable by this account"
    return bool(ssl_type), f"mysql.user ssl_type={ssl_type or 'none'}"


def _pg_account_requires_tls(db: DatabaseTarget) -> tuple[bool, str]:
    """Whether pg_hba.conf accepts the current role over a non-TLS connection."""
    try:
        rules = db.records(
            "SELECT line_number, type, database, user_name, auth_method FROM pg_hba_file_rules"
            " WHERE error IS NULL ORDER BY line_number"
        )
    except CheckError as exc:
        return False, f"cannot read pg_hba_file_rules ({str(exc).split(': ', 2)[-1]})"
    user = str(db.scalar("SELECT current_user"))
    dbname = str(db.scalar("SELECT current_database()"))
    for rule in rules:
        if rule["type"] not in ("host", "hostnossl") or rule["auth_method"] == "reject":
            continue
        dbs, users = list(rule["database"] or []), list(rule["user_name"] or [])
        if ("all" in dbs or dbname in dbs) and ("all" in users or user in users):
            return False, f"pg_hba.conf line {rule['line_number']} accepts '{rule['type']}' (non-TLS) connections"
    return True, "no pg_hba.conf line accepts this role without TLS"


# --- SQL schema checks -----------------------------------------------------------------


@check(target="database")
def db_exists(db: DatabaseTarget, *, name: str | None = None) -> Outcome:
    """The named database exists on the server (and is visible to the account).

    Args:
        name: the database name; by default the one the DSN names.
    """
    if na := _only(db, *SQL):
        return na
    name = name or db.dsn.database
    if not name:
        raise CheckError(f"database {db.name}: no database name given and the DSN names none")
    if db.driver == "mysql":
        sql = "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s"
    else:
        sql = "SELECT COUNT(*) FROM pg_catalog.pg_database WHERE datname = %s"
    found = int(db.scalar(sql, (name,)) or 0) > 0
    return Outcome.of(found, f"database {name} {'exists' if found else 'not found'}", f"database {name} exists", database=name)


@check(target="database")
def db_tables(db: DatabaseTarget, *, tables: list[str], schema: str | None = None) -> Outcome:
    """Every named table (or view) exists in the schema.

    Args:
        tables: the table names that must exist.
        schema: the schema (MySQL: database) to look in; by default the DSN's database (MySQL) or the current schema (PostgreSQL).
    """
    if na := _only(db, *SQL):
        return na
    schema = _schema(db, schema)
    if db.driver == "mysql":
        sql = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s"
    else:
        sql = (
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        )
    present = {str(r[0]) for r in db.query(sql, (schema,))}
    missing = [t for t in tables if t not in present]
    return Outcome.of(
        not missing,
        f"missing in {schema}: {_names(missing)}" if missing else f"all {len(tables)} tables present in {schema}",
        f"tables {_names(tables)}",
        schema=schema, missing=missing,
    )


_COLUMNS_SQL = {
    "mysql": "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
    "postgresql": (
        "SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped"
    ),
}
_INDEXES_SQL = {
    "mysql": "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
    "postgresql": "SELECT indexname FROM pg_catalog.pg_indexes WHERE schemaname = %s AND tablename = %s",
}


def _table_has(db: DatabaseTarget, schema: str | None, table: str, wanted: list[str],
               kind: str, queries: dict[str, str]) -> Outcome:
    """Whether a table has every named column or index (``kind``); one shape for both checks."""
    if na := _only(db, *SQL):
        return na
    schema = _schema(db, schema)
    if not _relation_exists(db, schema, table):
        return Outcome.failed(f"table {schema}.{table} does not exist", f"{kind} {_names(wanted)}", missing=wanted)
    present = sorted({str(r[0]) for r in db.query(queries[db.driver], (schema, table))})
    missing = [name for name in wanted if name not in present]
    return Outcome.of(
        not missing,
        f"{schema}.{table} lacks {_names(missing)} (has {_names(present)})" if missing
        else f"{schema}.{table} has {_names(wanted)}",
        f"{kind} {_names(wanted)}",
        missing=missing, present=present,
    )


@check(target="database")
def db_columns(db: DatabaseTarget, *, table: str, columns: list[str], schema: str | None = None) -> Outcome:
    """The table has every named column.

    Args:
        table: the table to inspect.
        columns: the column names that must exist.
        schema: the schema (MySQL: database); by default the DSN's database or the current schema.
    """
    return _table_has(db, schema, table, columns, "columns", _COLUMNS_SQL)


@check(target="database")
def db_indexes(db: DatabaseTarget, *, table: str, indexes: list[str], schema: str | None = None) -> Outcome:
    """The table has every named index (MySQL's primary key is ``PRIMARY``).

    Args:
        table: the table to inspect.
        indexes: the index names that must exist, such as idx_status.
        schema: the schema (MySQL: database); by default the DSN's database or the current schema.
    """
    return _table_has(db, schema, table, indexes, "indexes", _INDEXES_SQL)


@check(target="database")
def db_charset(db: DatabaseTarget, *, charset: str = "utf8mb4", tables: bool = False, schema: str | None = None) -> Outcome:
    """The database's default character set is ``charset`` (and, optionally, every table's).

    On PostgreSQL the database encoding is compared (``utf8mb4`` means UTF8);
    tables have no character set of their own there.

    Args:
        charset: the required character set.
        tables: true to require it of every table in the schema too (MySQL).
        schema: the schema (MySQL: database); by default the DSN's database.
    """
    if na := _only(db, *SQL):
        return na
    want = charset.lower()
    ev = Evidence()
    if db.driver == "postgresql":
        want = "utf8" if want in ("utf8mb4", "utf-8") else want.replace("-", "")
        enc = str(db.scalar("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()"))
        ev.add("database encoding", enc.lower() == want, enc, want.upper())
        return ev.outcome()
    schema = _schema(db, schema)
    found = db.scalar(
        "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (schema,)
    )
    if found is None:
        raise CheckError(f"database {db.name}: schema {schema} not found or not visible")
    ev.add(f"database {schema}", str(found).lower() == want, found, want)
    if tables:
        rows = db.query(
            "SELECT t.TABLE_NAME, c.CHARACTER_SET_NAME FROM information_schema.TABLES t"
            " JOIN information_schema.COLLATIONS c ON c.COLLATION_NAME = t.TABLE_COLLATION"
            " WHERE t.TABLE_SCHEMA = %s AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY t.TABLE_NAME",
            (schema,),
        )
        wrong = [f"{name} ({cs})" for name, cs in rows if str(cs).lower() != want]
        ev.add("tables", not wrong, f"{_names(wrong)} differ" if wrong else f"all {len(rows)} tables {want}", f"every table {want}")
    return ev.outcome()


# --- settings --------------------------------------------------------------------------


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
        _validate_variable({"name": name, "value": value, "min": min, "max": max})
    except ValueError as exc:
        raise CheckError(f"database {db.name}: {exc}") from None
    unit = ""
    if db.driver == "mysql":
        rows = db.query("SHOW GLOBAL VARIABLES WHERE Variable_name = %s", (name,))
        observed = rows[0][1] if rows else None
    elif db.driver == "postgresql":
        rows = db.query("SELECT setting, unit FROM pg_catalog.pg_settings WHERE name = %s", (name,))
        observed, unit = (rows[0][0], f" {rows[0][1]}" if rows[0][1] else "") if rows else (None, "")
    else:
        found = db.redis("CONFIG GET", name)
        observed = dict(found).get(name) if found else None
    if observed is None:
        return Outcome.failed(f"{name} is not a setting of this server", f"{name} set", variable=name)
    ev = Evidence()
    if value is not None:
        ev.add(name, _normal_value(observed) == _normal_value(value), f"{observed}{unit}", f"{value}{unit}")
    number = _number(observed)
    if min is not None:
        ev.add(f"{name} minimum", number is not None and number >= min, f"{observed}{unit}", f">= {min:g}{unit}")
    if max is not None:
        ev.add(f"{name} maximum", number is not None and number <= max, f"{observed}{unit}", f"<= {max:g}{unit}")
    return ev.outcome(variable=name, value=str(observed))


# --- privileges ------------------------------------------------------------------------


def _is_admin(user: str, host: str, admins: list[str]) -> bool:
    return any(a == user or a == f"{user}@{host}" for a in admins)


def _grantee(grantee: str) -> tuple[str, str]:
    """('user', 'host') from information_schema's ``'user'@'host'``."""
    match = re.fullmatch(r"'(.*)'@'(.*)'", grantee)
    return (match.group(1), match.group(2)) if match else (grantee, "")


def _unescape_schema(name: str) -> str:
    return name.replace("\\_", "_").replace("\\%", "%")


@check(target="database")
def db_least_privilege(
    db: DatabaseTarget,
    *,
    privileges: list[str],
    schemas: list[str],
    account: str | None = None,
    admins: list[str] | None = None,
    exact: bool = False,
    others: bool = True,
) -> Outcome:
    """The application account holds only the listed privileges on the listed schemas.

    MySQL/MariaDB: no global privilege beyond USAGE, no GRANT OPTION, and
    schema and table privileges only on ``schemas`` and only of the kinds in
    ``privileges``. PostgreSQL: the role is not superuser and cannot create
    roles or databases, is no member of a superuser or server-file role, and
    its table and schema grants stay within the lists. With ``others``, no
    account except ``admins`` holds global ALL PRIVILEGES or GRANT OPTION
    (PostgreSQL: superuser), which needs an account that can read
    ``mysql.user`` (PostgreSQL: ``pg_roles`` is readable by all).
    Privileges reached through MySQL/MariaDB roles and column-level grants
    are not counted; on PostgreSQL, ownership of a table is not a grant and
    is not counted either.

    Args:
        privileges: the privileges the account may hold, such as SELECT, INSERT, UPDATE, DELETE.
        schemas: the schemas (MySQL: databases) it may hold them on.
        account: the account to inspect, user or user@host; by default the DSN's own.
        admins: accounts allowed full privileges (default: root and the server's system accounts; postgres).
        exact: true to require every listed privilege on every listed schema as well.
        others: false to skip the check of the other accounts.
    """
    if na := _only(db, *SQL):
        return na
    allowed = {p.strip().upper() for p in privileges}
    admins = admins if admins is not None else DEFAULT_ADMINS[db.driver]
    if db.driver == "mysql":
        return _mysql_least_privilege(db, allowed, schemas, account, admins, exact, others)
    return _pg_least_privilege(db, allowed, schemas, account, admins, exact, others)


def _mysql_least_privilege(
    db: DatabaseTarget, allowed: set[str], schemas: list[str], account: str | None,
    admins: list[str], exact: bool, others: bool,
) -> Outcome:
    if account:
        user, _, host = account.partition("@")
    else:
        user, _, host = str(db.scalar("SELECT CURRENT_USER()")).partition("@")
    def mine(grantee: str) -> bool:
        u, h = _grantee(grantee)
        return u == user and (not host or h == host)

    label = f"{user}@{host}" if host else user
    ev = Evidence()
    global_rows = [r for r in db.query("SELECT GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES") if mine(r[0])]
    if not global_rows:
        return Outcome.failed(f"account {label} not found or not visible to this account", f"account {label} exists")
    global_privs = sorted({str(r[1]) for r in global_rows if str(r[1]) != "USAGE"})
    ev.add("global privileges", not global_privs, _names(global_privs), "none (USAGE only)")
    scoped: list[tuple[str, str, str, str]] = []  # (schema, object, privilege, grantable)
    for grantee, schema, priv, grantable in db.query(
        "SELECT GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.SCHEMA_PRIVILEGES"
    ):
        if mine(grantee):
            scoped.append((_unescape_schema(str(schema)), "*", str(priv), str(grantable)))
    for grantee, schema, table, priv, grantable in db.query(
        "SELECT GRANTEE, TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.TABLE_PRIVILEGES"
    ):
        if mine(grantee):
            scoped.append((str(schema), str(table), str(priv), str(grantable)))
    grantable = sorted({f"{s}.{o}" for s, o, _, g in scoped if g == "YES"} | ({"*.*"} if any(r[2] == "YES" for r in global_rows) else set()))
    ev.add("grant option", not grantable, f"on {_names(grantable)}" if grantable else "none", "none")
    outside = sorted({f"{p} on {s}.{o}" for s, o, p, _ in scoped if s not in schemas})
    ev.add("other schemas", not outside, _names(outside), f"privileges only on {_names(schemas)}")
    extra = sorted({f"{p} on {s}.{o}" for s, o, p, _ in scoped if s in schemas and p not in allowed and "ALL" not in allowed})
    ev.add("extra privileges", not extra, _names(extra), f"only {_names(sorted(allowed))}")
    if exact:
        held = {(s, p) for s, o, p, _ in scoped if o == "*"}
        lacking = sorted(f"{p} on {s}" for s in schemas for p in allowed if (s, p) not in held)
        ev.add("listed privileges", not lacking, f"lacks {_names(lacking)}" if lacking else "all held", "every listed privilege held")
    if others:
        try:
            accounts = db.records("SELECT * FROM mysql.user")
        except CheckError as exc:
            raise CheckError(
                f"database {db.name}: cannot list other accounts (grant SELECT on mysql.user to the checking "
                f"account, or pass others=false): {str(exc).split(': ', 2)[-1]}"
            ) from None
        powerful = []
        for acc in accounts:
            u, h = str(acc.get("user", "")), str(acc.get("host", ""))
            if _is_admin(u, h, admins) or str(acc.get("is_role", "N")).upper() == "Y":
                continue
            flags = {k: str(v).upper() for k, v in acc.items() if k.endswith("_priv")}
            if flags and all(v == "Y" for v in flags.values()):
                powerful.append(f"{u}@{h} (ALL PRIVILEGES)")
            elif flags.get("grant_priv") == "Y":
                powerful.append(f"{u}@{h} (GRANT OPTION)")
        ev.add("other accounts", not powerful, _names(powerful), f"only {_names(admins)} hold global ALL or GRANT OPTION")
    return ev.outcome(account=label)


_PG_FILE_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")


def _pg_least_privilege(
    db: DatabaseTarget, allowed: set[str], schemas: list[str], account: str | None,
    admins: list[str], exact: bool, others: bool,
) -> Outcome:
    role = account or str(db.scalar("SELECT current_user"))
    rows = db.records(
        "SELECT oid, rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = %s",
        (role,),
    )
    if not rows:
        return Outcome.failed(f"role {role} not found", f"role {role} exists")
    attrs = rows[0]
    ev = Evidence()
    powers = [k[3:] for k in ("rolsuper", "rolcreaterole", "rolcreatedb", "rolreplication", "rolbypassrls") if attrs[k]]
    ev.add("role attributes", not powers, _names(powers), "none of super, createrole, createdb, replication, bypassrls")
    member_of = db.query(
        "SELECT r.rolname, r.rolsuper FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles r ON r.oid = m.roleid"
        " WHERE m.member = %s",
        (attrs["oid"],),
    )
    risky = sorted(str(n) for n, sup in member_of if sup or n in _PG_FILE_ROLES)
    ev.add("role memberships", not risky, _names(risky), "no superuser or server-file role")
    grants = db.query(
        "SELECT n.nspname, c.relname, a.privilege_type, a.is_grantable FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a"
        " WHERE a.grantee = %s AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
        (attrs["oid"],),
    )
    schema_grants = db.query(
        "SELECT n.nspname, a.privilege_type, a.is_grantable FROM pg_catalog.pg_namespace n, aclexplode(n.nspacl) a"
        " WHERE a.grantee = %s AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
        (attrs["oid"],),
    )
    scoped = [(str(s), str(o), str(p), bool(g)) for s, o, p, g in grants]
    scoped += [(str(s), "*", str(p), bool(g)) for s, p, g in schema_grants]
    grantable = sorted({f"{s}.{o}" for s, o, _, g in scoped if g})
    ev.add("grant option", not grantable, f"on {_names(grantable)}" if grantable else "none", "none")
    outside = sorted({f"{p} on {s}.{o}" for s, o, p, _ in scoped if s not in schemas})
    ev.add("other schemas", not outside, _names(outside), f"privileges only on {_names(schemas)}")
    extra = sorted(
        {f"{p} on {s}.{o}" for s, o, p, _ in scoped
         if s in schemas and p not in allowed and "ALL" not in allowed and not (o == "*" and p == "USAGE")}
    )
    ev.add("extra privileges", not extra, _names(extra), f"only {_names(sorted(allowed))}")
    if exact:
        tables = {(s, p) for s, o, p, _ in scoped if o != "*"}
        lacking = sorted(f"{p} on {s}" for s in schemas for p in allowed if (s, p) not in tables)
        ev.add("listed privileges", not lacking, f"lacks {_names(lacking)}" if lacking else "all held", "every listed privilege held")
    if others:
        supers = [str(r[0]) for r in db.query("SELECT rolname FROM pg_catalog.pg_roles WHERE rolsuper ORDER BY rolname")]
        intruders = [r for r in supers if r != role and r not in admins]
        ev.add("other roles", not intruders, f"superuser: {_names(intruders)}" if intruders else "no other superuser",
               f"only {_names(admins)} are superusers")
    return ev.outcome(account=role)


# --- data ------------------------------------------------------------------------------


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
    if na := _only(db, *SQL):
        return na
    try:
        statement = validate_read_only_sql(sql)
    except ValueError as exc:
        raise CheckError(f"database {db.name}: query refused: {exc}") from None
    if equals is None and rows is None and min_rows is None:
        min_rows = 1
    result = db.query(statement)
    ev = Evidence()
    if equals is not None:
        first = result[0][0] if result and result[0] else None
        same = first is not None and (
            str(first) == equals or (_number(first) is not None and _number(first) == _number(equals))
        )
        ev.add("value", same, _shown(first), _shown(equals))
    if rows is not None:
        ev.add("rows", len(result) == rows, f"{len(result)} rows", f"{rows} rows")
    if min_rows is not None:
        ev.add("rows", len(result) >= min_rows, f"{len(result)} rows", f">= {min_rows} rows")
    return ev.outcome(row_count=len(result))


@check(target="database")
def db_replication_lag(db: DatabaseTarget, *, max_seconds: float) -> Outcome:
    """Replication runs and the replica is at most ``max_seconds`` behind; not applicable without replication.

    MySQL/MariaDB: every replication channel of the server (``SHOW ALL
    SLAVES STATUS`` / ``SHOW REPLICA STATUS``; needs REPLICATION CLIENT or
    SLAVE MONITOR). PostgreSQL: on a standby the age of the last replayed
    transaction, on a primary ``pg_stat_replication.replay_lag``.

    Args:
        max_seconds: the largest acceptable lag, in seconds.
    """
    if na := _only(db, *SQL):
        return na
    if db.driver == "mysql":
        return _mysql_replication(db, max_seconds)
    return _pg_replication(db, max_seconds)


def _mysql_replication(db: DatabaseTarget, max_seconds: float) -> Outcome:
    if "mariadb" in db.server_version.lower():
        channels = db.records("SHOW ALL SLAVES STATUS")
    else:
        try:  # MySQL 8.0.22+
            channels = db.records("SHOW REPLICA STATUS")
        except CheckError:  # older MySQL
            channels = db.records("SHOW SLAVE STATUS")
    if not channels:
        return Outcome.not_applicable(f"database {db.name} is not a replica (no replication configured)")
    ev = Evidence()
    for ch in channels:
        label = f"channel {ch.get('connection_name') or ch.get('channel_name') or 'default'}"
        io = str(ch.get("slave_io_running") or ch.get("replica_io_running") or "No")
        sql_thread = str(ch.get("slave_sql_running") or ch.get("replica_sql_running") or "No")
        lag = ch.get("seconds_behind_master", ch.get("seconds_behind_source"))
        if io != "Yes" or sql_thread != "Yes" or lag is None:
            error = mask(str(ch.get("last_error") or ch.get("last_io_error") or ch.get("last_sql_error") or ""))[:120]
            ev.add(label, False, f"not replicating (IO thread {io}, SQL thread {sql_thread}{'; ' + error if error else ''})",
                   f"running, <= {max_seconds:g} s behind")
        else:
            ev.add(label, float(lag) <= max_seconds, f"{lag} s behind", f"<= {max_seconds:g} s behind")
    return ev.outcome()


def _pg_replication(db: DatabaseTarget, max_seconds: float) -> Outcome:
    if db.scalar("SELECT pg_is_in_recovery()"):
        lag = db.scalar(
            "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
            " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
        )
        if lag is None:
            return Outcome.failed("standby has replayed nothing yet", f"<= {max_seconds:g} s behind")
        return Outcome.of(float(lag) <= max_seconds, f"standby {float(lag):.1f} s behind", f"<= {max_seconds:g} s behind")
    standbys = db.query(
        "SELECT application_name, state, EXTRACT(EPOCH FROM replay_lag) FROM pg_stat_replication"
    )
    if not standbys:
        return Outcome.not_applicable(f"database {db.name} has no standby attached and is not one")
    ev = Evidence()
    for name, state, lag in standbys:
        seconds = float(lag or 0)
        ev.add(f"standby {name}", state == "streaming" and seconds <= max_seconds,
               f"{state}, {seconds:.1f} s behind", f"streaming, <= {max_seconds:g} s behind")
    return ev.outcome()


# --- Redis -----------------------------------------------------------------------------


@check(target="database")
def redis_auth_required(db: DatabaseTarget) -> Outcome:
    """Redis refuses a client that has not authenticated.

    A second connection without user or password sends PING; it must be
    refused (NOAUTH / WRONGPASS / NOPERM).
    """
    if na := _only(db, "redis"):
        return na
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # RESP2, so the first command is PING itself (no HELLO handshake) and
    # the server's answer is the plain NOAUTH a client without password sees.
    client = redis.Redis(
        host=db.dsn.host, port=db.dsn.port or 6379, ssl=db.dsn.scheme == "rediss", protocol=2, retry=Retry(NoBackoff(), 0),
        socket_connect_timeout=db.connect_timeout, socket_timeout=db.query_timeout,
    )
    try:
        client.ping()
    except redis.exceptions.AuthenticationError as exc:
        return Outcome.passed(f"unauthenticated PING refused ({describe_error(exc)})", "unauthenticated clients refused")
    except redis.exceptions.ResponseError as exc:
        text = describe_error(exc)
        if any(code in text for code in ("NOAUTH", "WRONGPASS", "NOPERM")):
            return Outcome.passed(f"unauthenticated PING refused ({text})", "unauthenticated clients refused")
        raise CheckError(f"database {db.name}: unauthenticated PING failed: {text}") from None
    except redis.exceptions.RedisError as exc:
        raise CheckError(f"database {db.name} ({db.dsn.address}): {describe_error(exc)}") from None
    finally:
        client.close()
    return Outcome.failed("an unauthenticated client was accepted (PING answered)", "unauthenticated clients refused")


def _redis_config(db: DatabaseTarget, name: str) -> str | None:
    """A CONFIG GET value, or None when CONFIG is renamed or not permitted."""
    try:
        found = db.redis("CONFIG GET", name)
    except CheckError:
        return None
    return dict(found).get(name) if found else None


@check(target="database")
def redis_persistence(db: DatabaseTarget, *, mode: Literal["any", "aof", "rdb", "both"] = "any") -> Outcome:
    """Redis persists its data: append-only file or RDB snapshots enabled.

    AOF comes from ``INFO persistence``; RDB from the ``save`` schedule
    (``CONFIG GET save``), which cannot be seen when CONFIG is disabled.

    Args:
        mode: which persistence must be on: any (AOF or RDB), aof, rdb or both.
    """
    if na := _only(db, "redis"):
        return na
    info = db.redis("INFO", "persistence")
    aof = str(info.get("aof_enabled", "0")) == "1"
    save = _redis_config(db, "save")
    rdb = bool(save and save.strip())
    rdb_text = "unknown (CONFIG not available)" if save is None else (f"save {save}" if rdb else "off (no save schedule)")
    observed = f"AOF {'on' if aof else 'off'}, RDB {rdb_text}"
    ok = {"any": aof or rdb, "aof": aof, "rdb": rdb, "both": aof and rdb}[mode]
    expected = {"any": "AOF or RDB on", "aof": "AOF on", "rdb": "RDB on", "both": "AOF and RDB on"}[mode]
    return Outcome.of(ok, observed, expected, aof=aof, rdb=rdb)


@check(target="database")
def redis_maxmemory(db: DatabaseTarget, *, policy: str | None = None) -> Outcome:
    """Redis has a memory limit (``maxmemory``), optionally with a given eviction policy.

    Args:
        policy: the required maxmemory-policy, such as allkeys-lru or noeviction.
    """
    if na := _only(db, "redis"):
        return na
    info = db.redis("INFO", "memory")
    limit = int(info.get("maxmemory", 0) or 0)
    current = str(info.get("maxmemory_policy", ""))
    ev = Evidence()
    ev.add("maxmemory", limit > 0, f"{limit / 1024**2:g} MiB" if limit else "0 (unlimited)", "a limit > 0")
    if policy:
        ev.add("policy", current == policy, current, policy)
    return ev.outcome(maxmemory=limit, policy=current)


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
    if na := _only(db, "redis"):
        return na
    names = [c.upper() for c in (commands or DANGEROUS_REDIS_COMMANDS)]
    info = db.redis("COMMAND INFO", *[n.lower() for n in names])
    user = account or _redis_whoami(db)
    enabled, disabled = [], []
    for name, entry in zip(names, info or [None] * len(names), strict=False):
        if not entry:
            disabled.append(f"{name} (renamed or absent)")
            continue
        if name == "DEBUG" and _redis_config(db, "enable-debug-command") == "no":
            disabled.append("DEBUG (enable-debug-command no)")
            continue
        verdict = _redis_dryrun(db, user, name) if user else None
        if verdict is False:
            disabled.append(f"{name} (denied by ACL)")
        else:
            enabled.append(name if verdict else f"{name} (ACL not checkable)")
    return Outcome.of(
        not enabled,
        f"enabled for {user or 'this client'}: {_names(enabled)}" if enabled else f"all disabled: {_names(disabled)}",
        f"{_names(names)} renamed or disabled",
        enabled=enabled, disabled=disabled, account=user,
    )


def _redis_whoami(db: DatabaseTarget) -> str | None:
    try:
        return str(db.redis("ACL WHOAMI"))
    except CheckError:
        return None


def _redis_dryrun(db: DatabaseTarget, user: str, name: str) -> bool | None:
    """True if ACL DRYRUN says the user may run ``name``, False if denied, None if unknown."""
    try:
        answer = db.redis("ACL DRYRUN", user, name, *_DRYRUN_ARGS.get(name, []))
    except CheckError:
        return None
    text = answer.decode() if isinstance(answer, bytes) else str(answer)
    return text == "OK"


# --- collection-time validation --------------------------------------------------------
# The collector calls ``func.golive_validate(params)`` so a binding that can
# never be right fails collection with its file and line, not at run time.


def _validate_query(params: dict[str, Any]) -> None:
    validate_read_only_sql(params["sql"])
    for key in ("rows", "min_rows"):
        if params.get(key) is not None and params[key] < 0:
            raise ValueError(f"{key} must be 0 or more, not {params[key]}")


def _validate_variable(params: dict[str, Any]) -> None:
    name = params["name"]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name):
        raise ValueError(f"'{name}' is not a variable name")
    if all(params.get(k) is None for k in ("value", "min", "max")):
        raise ValueError(f"db_variable {name} needs value, min or max")


db_query.golive_validate = _validate_query  # type: ignore[attr-defined]
db_variable.golive_validate = _validate_variable  # type: ignore[attr-defined]
