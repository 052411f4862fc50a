"""What differs between database servers, behind one protocol: a dialect per driver.

A :class:`~pytest_golive.targets.database.DatabaseTarget` carries the
dialect of its DSN (``db.dialect``). The dialect opens the read-only
session, and answers the questions the database checks ask (which tables
exist, what a setting is, who may do what, how far a replica lags) with
typed facts; the checks only judge those facts. Each driver's queries and
the pure functions that turn their rows into facts live in that driver's
module, so adding a server is one module, and no check branches on a
driver name.

Every statement a dialect sends is a read; the session is read-only besides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pytest_golive.core.outcome import CheckError

if TYPE_CHECKING:
    from pytest_golive.targets.database import DatabaseTarget

Driver = Literal["mysql", "postgresql", "redis"]

#: Seconds the client waits beyond the server-side statement limit.
CLIENT_GRACE = 2.0


def names(values: list[str]) -> str:
    """A list for evidence: comma-separated, or "none"."""
    return ", ".join(values) if values else "none"


def normal_value(value: Any) -> str:
    """A setting as comparable text: booleans folded to on/off, case ignored."""
    text = str(value).strip().lower()
    if text in ("1", "on", "true", "yes"):
        return "on"
    if text in ("0", "off", "false", "no"):
        return "off"
    return text


# --- facts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """A server setting's value, and its unit where the server names one (PostgreSQL: "kB")."""

    value: Any
    unit: str = ""


@dataclass(frozen=True)
class AccountTls:
    """Whether the account cannot connect without TLS, and what showed it."""

    required: bool
    how: str


@dataclass(frozen=True)
class TlsFacts:
    """The encryption of this session, and of the account's other sessions where asked."""

    encrypted: bool
    #: Protocol and cipher of the session ("TLSv1.3", "TLS_AES_256_GCM_SHA384").
    version: str = ""
    cipher: str = ""
    #: Set where only the URL scheme can tell (Redis: rediss://).
    scheme: str | None = None
    account: AccountTls | None = None


@dataclass(frozen=True)
class Charsets:
    """Character sets: PostgreSQL's database encoding, or a MySQL schema's default and tables'."""

    #: PostgreSQL: the database encoding (tables have no character set of their own).
    encoding: str | None = None
    schema: str = ""
    #: MySQL: the schema's default character set; None if the schema is not visible.
    schema_default: str | None = None
    #: MySQL: (table, character set) of every base table, when asked.
    tables: list[tuple[str, str]] | None = None


@dataclass(frozen=True)
class Grant:
    """One privilege on a schema (``object`` "*") or on one of its tables."""

    schema: str
    object: str
    privilege: str
    grantable: bool


@dataclass(frozen=True)
class Standing:
    """A standing power of an account beyond any schema, as a fact to judge: none held is right."""

    label: str
    held: list[str]
    expected: str
    #: What to show when it holds some; by default their names.
    shown: str | None = None
    #: What to show when it holds none; by default "none".
    none: str = "none"


@dataclass(frozen=True)
class PrivilegeFacts:
    """Everything the least-privilege judgement needs about one account."""

    account: str
    #: Powers beyond schemas (MySQL: global privileges; PostgreSQL: role attributes, memberships).
    standing: list[Standing]
    grants: list[Grant]
    #: MySQL: the account holds GRANT OPTION globally.
    global_grant_option: bool = False
    #: Privileges on a schema itself that grant nothing on its data (PostgreSQL: USAGE).
    harmless_on_schema: frozenset[str] = frozenset()
    #: Where a listed privilege must be held to count: on the schema (MySQL) or on its tables.
    held_on: Literal["schema", "tables"] = "schema"
    #: Other accounts with full power, when asked.
    others: Standing | None = None


@dataclass(frozen=True)
class AccountMissing:
    """The account to judge does not exist (or is not visible)."""

    observed: str
    expected: str


@dataclass(frozen=True)
class Channel:
    """One replication channel of a MySQL/MariaDB replica (SHOW ALL SLAVES STATUS)."""

    name: str
    io_running: str
    sql_running: str
    #: Seconds behind the source; None while a thread is stopped.
    lag: Any
    error: str = ""

    @property
    def replicating(self) -> bool:
        return self.io_running == "Yes" and self.sql_running == "Yes" and self.lag is not None


@dataclass(frozen=True)
class Standby:
    """One standby attached to a PostgreSQL primary (pg_stat_replication)."""

    name: str
    state: str
    lag: float


@dataclass(frozen=True)
class Replication:
    """Replication as the server sees it; all empty means none is configured."""

    #: MySQL/MariaDB: the server is a replica with these channels.
    channels: list[Channel] = field(default_factory=list)
    #: PostgreSQL: the server is a standby (in recovery).
    in_recovery: bool = False
    #: PostgreSQL standby: seconds since the last replayed transaction (0 when caught up),
    #: None when nothing has been replayed yet.
    replay_lag: float | None = None
    #: PostgreSQL primary: the standbys attached.
    standbys: list[Standby] = field(default_factory=list)
    #: What the server is when none of the above holds, after "database NAME".
    absent: str = "has no replication configured"


# --- the protocol ------------------------------------------------------------------------


class Dialect(Protocol):
    """One database server family: its session, and its answers as facts."""

    driver: Driver
    #: Whether SQL checks apply (tables, grants, queries).
    sql: bool
    #: Accounts that may hold full privileges unless a checklist names its own.
    default_admins: tuple[str, ...]

    def connect(self, db: DatabaseTarget) -> Any:
        """A new read-only session with the target's connect and query timeouts."""

    def server_version(self, db: DatabaseTarget) -> str:
        """The server's version string ("10.11.6-MariaDB", "15.4", "7.0.15")."""

    def ping(self, db: DatabaseTarget) -> None:
        """The cheapest round trip the server answers."""

    def default_schema(self, db: DatabaseTarget) -> str | None:
        """The schema checks look at when none is given."""

    def database_exists(self, db: DatabaseTarget, name: str) -> bool: ...

    def tables(self, db: DatabaseTarget, schema: str) -> set[str]:
        """Tables and views of a schema."""

    def relation_exists(self, db: DatabaseTarget, schema: str, table: str) -> bool: ...

    def columns(self, db: DatabaseTarget, schema: str, table: str) -> set[str]: ...

    def indexes(self, db: DatabaseTarget, schema: str, table: str) -> set[str]: ...

    def charsets(self, db: DatabaseTarget, schema: str | None, tables: bool) -> Charsets: ...

    def setting(self, db: DatabaseTarget, name: str) -> Setting | None:
        """A server setting, None if the server has no such one."""

    def tls(self, db: DatabaseTarget, require_account: bool) -> TlsFacts: ...

    def privileges(
        self, db: DatabaseTarget, account: str | None, admins: list[str], others: bool
    ) -> PrivilegeFacts | AccountMissing: ...

    def replication(self, db: DatabaseTarget) -> Replication: ...


class SqlCatalog:
    """The catalogue questions every SQL dialect asks alike: one statement each, names bound.

    Only the statements differ between servers (MySQL's ``information_schema``,
    PostgreSQL's ``pg_catalog``); a dialect sets them and inherits the answers.
    """

    #: A count: the database (``%s``) exists.
    database_sql: ClassVar[str]
    #: The names of the tables and views of a schema (``%s``).
    tables_sql: ClassVar[str]
    #: A count: the table or view exists (schema ``%s``, name ``%s``).
    relation_sql: ClassVar[str]
    #: The column names of a table (schema ``%s``, name ``%s``).
    columns_sql: ClassVar[str]
    #: The index names of a table (schema ``%s``, name ``%s``).
    indexes_sql: ClassVar[str]

    def database_exists(self, db: DatabaseTarget, name: str) -> bool:
        return _counted(db, self.database_sql, (name,))

    def tables(self, db: DatabaseTarget, schema: str) -> set[str]:
        return _first_column(db, self.tables_sql, (schema,))

    def relation_exists(self, db: DatabaseTarget, schema: str, table: str) -> bool:
        return _counted(db, self.relation_sql, (schema, table))

    def columns(self, db: DatabaseTarget, schema: str, table: str) -> set[str]:
        return _first_column(db, self.columns_sql, (schema, table))

    def indexes(self, db: DatabaseTarget, schema: str, table: str) -> set[str]:
        return _first_column(db, self.indexes_sql, (schema, table))


def _counted(db: DatabaseTarget, sql: str, params: tuple[str, ...]) -> bool:
    return int(db.scalar(sql, params) or 0) > 0


def _first_column(db: DatabaseTarget, sql: str, params: tuple[str, ...]) -> set[str]:
    return {str(r[0]) for r in db.query(sql, params)}


def schema_of(db: DatabaseTarget, schema: str | None) -> str:
    """The schema a check looks at: given, else the dialect's default; one line if there is none."""
    name = schema or db.dialect.default_schema(db)
    if not name:
        raise CheckError(f"database {db.name}: no schema given and the DSN names no database")
    return str(name)


def dialect_for(driver: str) -> Dialect:
    """The dialect of a driver name as :data:`~pytest_golive.targets.database.DRIVERS` gives it."""
    from pytest_golive.targets.dialects.mysql import MYSQL
    from pytest_golive.targets.dialects.postgresql import POSTGRESQL
    from pytest_golive.targets.dialects.redis import REDIS

    dialects: dict[str, Dialect] = {"mysql": MYSQL, "postgresql": POSTGRESQL, "redis": REDIS}
    return dialects[driver]
