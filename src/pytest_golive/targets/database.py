"""Database targets: MySQL/MariaDB (pymysql), PostgreSQL (psycopg), Redis (redis-py).

Every session is opened read-only by construction (``SET SESSION TRANSACTION
READ ONLY`` on MySQL, ``default_transaction_read_only`` on PostgreSQL) with
connect and query timeouts, so no check can change a target even by mistake.
What differs between the servers is the handle's dialect
(:mod:`pytest_golive.targets.dialects`): one object per driver, one protocol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError
from pytest_golive.core.secrets import Secret, mask, reveal
from pytest_golive.targets.dialects import CLIENT_GRACE, Dialect, dialect_for

__all__ = ["CLIENT_GRACE", "DRIVERS", "DatabaseTarget", "Dsn", "describe_error",
           "validate_read_only_sql"]

DRIVERS = {
    "mysql": "mysql", "mariadb": "mysql",
    "postgresql": "postgresql", "postgres": "postgresql",
    "redis": "redis", "rediss": "redis",
}


@dataclass(frozen=True)
class Dsn:
    driver: str
    scheme: str
    host: str
    port: int | None
    user: str | None
    password: Secret | None
    database: str | None
    query: dict[str, str]

    @classmethod
    def parse(cls, dsn: str | Secret) -> Dsn:
        text = str(reveal(dsn))
        parts = urlsplit(text)
        password = Secret(unquote(parts.password), "DSN password") if parts.password else None
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return cls(
            driver=DRIVERS[parts.scheme],
            scheme=parts.scheme,
            host=parts.hostname or "localhost",
            port=parts.port,
            user=unquote(parts.username) if parts.username else None,
            password=password,
            database=unquote(parts.path.lstrip("/")) or None,
            query=query,
        )

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}" if self.port else self.host


class DatabaseTarget:
    kind = "database"

    def __init__(self, spec: TargetSpec, settings: Settings) -> None:
        self.spec = spec
        self.name = spec.name
        self.dsn = Dsn.parse(spec.options["dsn"])
        self.driver = self.dsn.driver
        #: What differs between servers: session, catalog queries, facts (one object per driver).
        self.dialect: Dialect = dialect_for(self.driver)
        self.connect_timeout = float(spec.options.get("connect_timeout", settings.connect_timeout))
        self.query_timeout = float(spec.options.get("query_timeout", settings.command_timeout))
        self._conn: Any = None
        self._last_description: Any = None
        self._failure: str | None = None

    def connection(self) -> Any:
        """A read-only connection, opened on first use and reused.

        A failure to connect is remembered: every later check on this target
        reports the same one line at once instead of waiting for its own
        connect timeout.
        """
        if self._failure is not None:
            raise CheckError(self._failure)
        if self._conn is None:
            try:
                self._conn = self.dialect.connect(self)
            except Exception as exc:  # noqa: BLE001 - drivers raise many kinds
                self._failure = (
                    str(exc) if isinstance(exc, CheckError)
                    else f"database {self.name} ({self.dsn.address}): {describe_error(exc)}"
                )
                raise CheckError(self._failure) from None
        return self._conn

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (SQL databases).

        The statement is refused before it is sent unless it is a single
        read (:func:`validate_read_only_sql`); the read-only session is the
        second line of defence.
        """
        if not self.dialect.sql:
            raise CheckError(f"database {self.name}: SQL queries do not apply to Redis")
        try:
            validate_read_only_sql(sql)
        except ValueError as exc:
            raise CheckError(f"database {self.name}: {exc}") from None
        conn = self.connection()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                self._last_description = cur.description
                return list(cur.fetchall()) if cur.description else []
        except Exception as exc:  # noqa: BLE001
            self._drop_if_broken()
            raise CheckError(f"database {self.name}: query failed: {describe_error(exc)}") from None

    def _drop_if_broken(self) -> None:
        """Forget a connection the driver has lost (timeout, server gone)."""
        conn = self._conn
        if conn is None:
            return
        broken = (not conn.open) if hasattr(conn, "open") else bool(getattr(conn, "closed", False))
        if broken:
            self._conn = None

    @property
    def server_version(self) -> str:
        """The server's version string ("10.11.6-MariaDB", "15.4", "7.0.15")."""
        return self.dialect.server_version(self)

    def redis(self, command: str, *args: Any) -> Any:
        """One Redis command through the shared client; errors become one line.

        Callers pass observation commands only (INFO, CONFIG GET, COMMAND
        INFO, ACL DRYRUN): nothing here writes.
        """
        client = self.connection()
        try:
            return client.execute_command(command, *args)
        except Exception as exc:  # noqa: BLE001
            raise CheckError(
                f"database {self.name}: {command.upper()} failed: {describe_error(exc)}"
            ) from None

    def records(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        """Rows of a read-only query as dicts keyed by lower-case column name."""
        rows = self.query(sql, params)
        names = [str(c[0]).lower() for c in (self._last_description or ())]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def scalar(self, sql: str, params: Any = None) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None



#: First words of the statements a read-only check may send.
READ_STATEMENTS = ("SELECT", "WITH", "SHOW", "EXPLAIN", "DESCRIBE", "DESC", "VALUES", "TABLE")

#: Words that turn a statement that starts as a read into a write, a lock or
#: an execution (data-modifying CTEs, SELECT ... INTO, FOR UPDATE, EXPLAIN
#: ANALYZE), wherever they appear outside literals and quoted identifiers.
#: Statement-only words (SET, CALL, BEGIN, ...) need no entry: a statement
#: must start with a read and only one statement is allowed.
WRITE_WORDS = frozenset(
    "INSERT UPDATE DELETE MERGE UPSERT DROP CREATE ALTER GRANT REVOKE INTO LOCK CALL EXECUTE "
    "ANALYZE ANALYSE".split()
)

#: Functions that change state although called from a SELECT: session
#: settings (set_config could turn the read-only default off for the next
#: statement), sequences, locks, large objects, backends, WAL and slots,
#: remote execution. Refused wherever they appear.
WRITE_FUNCTIONS = frozenset(
    """SET_CONFIG NEXTVAL SETVAL LO_IMPORT LO_EXPORT LO_UNLINK LO_CREATE LO_FROM_BYTEA LO_PUT
    PG_TERMINATE_BACKEND PG_CANCEL_BACKEND PG_RELOAD_CONF PG_ROTATE_LOGFILE PG_SWITCH_WAL
    PG_PROMOTE PG_CREATE_RESTORE_POINT PG_CREATE_PHYSICAL_REPLICATION_SLOT
    PG_CREATE_LOGICAL_REPLICATION_SLOT PG_DROP_REPLICATION_SLOT PG_ADVISORY_LOCK
    PG_ADVISORY_XACT_LOCK PG_TRY_ADVISORY_LOCK PG_ADVISORY_LOCK_SHARED DBLINK DBLINK_EXEC
    PG_FILE_WRITE PG_FILE_UNLINK PG_FILE_RENAME GET_LOCK RELEASE_LOCK RELEASE_ALL_LOCKS""".split()
)

# Literals, quoted identifiers and comments, read two ways: with backslash
# escapes (MySQL, PostgreSQL E'') and without (standard SQL strings). A query
# must pass under both readings, so a quote trick that hides a second
# statement from one reading is seen by the other. ``#`` is not taken for a
# comment (it is an operator in PostgreSQL) and ``--`` only before white
# space (MySQL's rule), so text the server would run is never skipped.
_COMMENTS = r"--(?=\s)[^\n]*|--$|/\*.*?\*/"
_LITERALS = (
    re.compile(
        r"""'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|`(?:[^`]|``)*`|""" + _COMMENTS, re.DOTALL
    ),
    re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|""" + _COMMENTS, re.DOTALL),
)
_DOLLAR_QUOTE = re.compile(r"\$[A-Za-z_]*\$")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_SHARE_LOCK = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+|KEY\s+)?SHARE\b", re.IGNORECASE)


def validate_read_only_sql(sql: str) -> str:
    """Refuse anything but one read-only statement; return it without a trailing ``;``.

    Keyword-level, so it is strict: a statement is accepted only if it starts
    with a read (SELECT, WITH, SHOW, EXPLAIN, DESCRIBE, VALUES, TABLE) and no
    write, lock, transaction or session word (INSERT, UPDATE ... SET, INTO,
    FOR UPDATE/SHARE, CALL, ...) appears outside string literals and quoted
    identifiers. Executable comments (``/*! ... */``), dollar quoting and
    more than one statement are refused because they could hide a write.
    SHOW statements are read-only by definition and accepted whole (so
    ``SHOW CREATE TABLE`` works). Raises ValueError with one clear line.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise ValueError("the query is empty")
    text = sql.strip()
    if "/*!" in text or "/*+" in text.replace(" ", ""):
        raise ValueError(
            "executable or hint comments (/*! ... */) are not allowed in a read-only query"
        )
    for literals in _LITERALS:
        _check_statement(literals.sub(" ", text).strip())
    return text[:-1].rstrip() if text.endswith(";") else text


def _check_statement(stripped: str) -> None:
    """Raise ValueError unless ``stripped`` (literals removed) is one read."""
    if _DOLLAR_QUOTE.search(stripped):
        raise ValueError("dollar-quoted bodies ($$ ... $$) are not allowed in a read-only query")
    if stripped.endswith(";"):
        stripped = stripped[:-1].rstrip()
    if ";" in stripped:
        raise ValueError(
            "only one statement is allowed in a read-only query (found ';' between statements)"
        )
    words = [w.upper() for w in _WORD.findall(stripped)]
    if not words:
        raise ValueError("the query has no statement")
    first = words[0]
    if first not in READ_STATEMENTS:
        raise ValueError(
            f"'{first}' statements are not reads: a query must start with "
            f"{', '.join(READ_STATEMENTS[:-1])} or {READ_STATEMENTS[-1]}"
        )
    if first == "SHOW":
        return
    func = next((w for w in words if w in WRITE_FUNCTIONS), None)
    if func:
        raise ValueError(f"{func.lower()}() changes server state: not allowed in a read-only query")
    bad = next((w for w in words if w in WRITE_WORDS), None)
    if bad == "UPDATE" and re.search(r"\bFOR\s+(NO\s+KEY\s+)?UPDATE\b", stripped, re.IGNORECASE):
        raise ValueError("SELECT ... FOR UPDATE takes locks: not allowed in a read-only query")
    if bad == "INTO":
        raise ValueError(
            "SELECT ... INTO writes a file or variable: not allowed in a read-only query"
        )
    if bad:
        raise ValueError(f"'{bad}' is not allowed in a read-only query")
    if _SHARE_LOCK.search(stripped):
        raise ValueError("SELECT ... FOR SHARE takes locks: not allowed in a read-only query")


#: Drivers that are optional extras: what each is for, and the extra that installs it.
_OPTIONAL_DRIVERS = {"psycopg": ("PostgreSQL", "postgresql"), "redis": ("Redis", "redis")}


def describe_error(exc: Exception) -> str:
    """One line for a driver exception; the password is masked whatever the driver says."""
    missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if missing and missing.split(".")[0] in _OPTIONAL_DRIVERS:
        what, extra = _OPTIONAL_DRIVERS[missing.split(".")[0]]
        return (f"the {what} driver is not installed: "
                f'pip install "pytest-golive[{extra}]" (or "pytest-golive[all]")')
    args: tuple[Any, ...] = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int):  # pymysql: (code, message)
        text = f"{args[1]} (error {args[0]})"
    else:
        text = str(exc) or type(exc).__name__
    return mask(" ".join(text.split())[:300])
