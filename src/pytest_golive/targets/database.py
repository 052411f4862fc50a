"""Database targets: MySQL/MariaDB (pymysql), PostgreSQL (psycopg), Redis (redis-py).

Every session is opened read-only by construction (``SET SESSION TRANSACTION
READ ONLY`` on MySQL, ``default_transaction_read_only`` on PostgreSQL) with
connect and query timeouts, so no check can change a target even by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pytest_golive.config import Settings, TargetSpec
from pytest_golive.outcome import CheckError
from pytest_golive.secrets import Secret, mask, reveal

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
        self.connect_timeout = float(spec.options.get("connect_timeout", settings.connect_timeout))
        self.query_timeout = float(spec.options.get("query_timeout", settings.command_timeout))
        self._conn: Any = None

    def connection(self) -> Any:
        """A read-only connection, opened on first use and reused."""
        if self._conn is None:
            try:
                self._conn = getattr(self, f"_connect_{self.driver}")()
            except CheckError:
                raise
            except Exception as exc:  # noqa: BLE001 - drivers raise many kinds
                raise CheckError(f"database {self.name} ({self.dsn.address}): {describe_error(exc)}") from None
        return self._conn

    def _connect_mysql(self) -> Any:
        import pymysql

        ssl: dict[str, Any] | None = None
        if self.spec.options.get("ssl_ca"):
            ssl = {"ca": self.spec.options["ssl_ca"]}
        conn = pymysql.connect(
            host=self.dsn.host,
            port=self.dsn.port or 3306,
            user=self.dsn.user or "",
            password=reveal(self.dsn.password) or "",
            database=self.dsn.database,
            connect_timeout=self.connect_timeout,
            read_timeout=self.query_timeout,
            write_timeout=self.query_timeout,
            ssl=ssl,
            autocommit=True,
        )
        with conn.cursor() as cur:
            cur.execute("SET SESSION TRANSACTION READ ONLY")
            ms = int(self.query_timeout * 1000)
            try:  # MySQL 5.7+/8
                cur.execute(f"SET SESSION MAX_EXECUTION_TIME={ms}")
            except Exception:  # noqa: BLE001 - MariaDB spells it differently
                cur.execute(f"SET SESSION max_statement_time={self.query_timeout}")
        return conn

    def _connect_postgresql(self) -> Any:
        import psycopg

        ms = int(self.query_timeout * 1000)
        return psycopg.connect(
            host=self.dsn.host,
            port=self.dsn.port or 5432,
            user=self.dsn.user,
            password=reveal(self.dsn.password),
            dbname=self.dsn.database or "postgres",
            connect_timeout=max(1, int(self.connect_timeout)),
            options=f"-c default_transaction_read_only=on -c statement_timeout={ms}",
            autocommit=True,
            **({"sslmode": self.dsn.query["sslmode"]} if "sslmode" in self.dsn.query else {}),
        )

    def _connect_redis(self) -> Any:
        import redis

        client = redis.Redis(
            host=self.dsn.host,
            port=self.dsn.port or 6379,
            username=self.dsn.user,
            password=reveal(self.dsn.password),
            db=int(self.dsn.database or 0),
            ssl=self.dsn.scheme == "rediss",
            socket_connect_timeout=self.connect_timeout,
            socket_timeout=self.query_timeout,
        )
        client.ping()
        return client

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (SQL databases)."""
        conn = self.connection()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall()) if cur.description else []
        except Exception as exc:  # noqa: BLE001
            raise CheckError(f"database {self.name}: query failed: {describe_error(exc)}") from None

    def scalar(self, sql: str, params: Any = None) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None


def describe_error(exc: Exception) -> str:
    """One line for a driver exception; the password is masked whatever the driver says."""
    args = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int):  # pymysql: (code, message)
        text = f"{args[1]} (error {args[0]})"
    else:
        text = str(exc) or type(exc).__name__
    return mask(" ".join(text.split())[:300])
