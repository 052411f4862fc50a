"""Redis (redis-py): the client, and the observation commands the Redis checks send.

Only observation commands are sent (PING, INFO, CONFIG GET, COMMAND INFO,
ACL WHOAMI, ACL DRYRUN): nothing here writes. SQL questions do not apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_golive.core.outcome import CheckError
from pytest_golive.core.secrets import reveal
from pytest_golive.targets.dialects import (
    AccountMissing,
    Charsets,
    Driver,
    PrivilegeFacts,
    Replication,
    Setting,
    TlsFacts,
)

if TYPE_CHECKING:
    from pytest_golive.targets.database import DatabaseTarget

#: Arguments that make an ACL DRYRUN of a command well-formed (never executed).
DRYRUN_ARGS = {"CONFIG": ["SET", "maxmemory", "0"], "KEYS": ["*"], "DEBUG": ["SLEEP", "0"]}

#: Error codes of a server refusing a client that has not authenticated.
REFUSALS = ("NOAUTH", "WRONGPASS", "NOPERM")


@dataclass(frozen=True)
class CommandFacts:
    """What the server says of one command for one account."""

    name: str
    #: COMMAND INFO knows it under this name (rename-command hides it).
    exists: bool
    #: DEBUG only: ``enable-debug-command no``.
    debug_disabled: bool = False
    #: ACL DRYRUN: True may run, False denied, None unknown.
    allowed: bool | None = None


# --- parsers ---------------------------------------------------------------------------


def parse_config(found: Any, name: str) -> str | None:
    """A CONFIG GET answer (a flat list or, from redis-py, a dict) as the named value."""
    if not found:
        return None
    if isinstance(found, dict):
        value = found.get(name)
    else:
        pairs = list(found)
        value = dict(zip(pairs[::2], pairs[1::2], strict=False)).get(name)
    return None if value is None else str(value)


def dryrun_allowed(answer: Any) -> bool:
    """ACL DRYRUN's answer: "OK" when the user may run the command, else the reason it may not."""
    text = answer.decode() if isinstance(answer, bytes) else str(answer)
    return text == "OK"


# --- the dialect -----------------------------------------------------------------------


class RedisDialect:
    driver: Driver = "redis"
    sql: bool = False
    default_admins: tuple[str, ...] = ()

    def connect(self, db: DatabaseTarget) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        def client(socket_timeout: float) -> Any:
            return redis.Redis(
                # One attempt: a retry loop would multiply the configured timeout.
                retry=Retry(NoBackoff(), 0),
                host=db.dsn.host,
                port=db.dsn.port or 6379,
                username=db.dsn.user,
                password=reveal(db.dsn.password),
                db=int(db.dsn.database or 0),
                ssl=db.dsn.scheme == "rediss",
                socket_connect_timeout=db.connect_timeout,
                socket_timeout=socket_timeout,
            )

        # The login and the first PING are part of connecting: a server that accepts
        # TCP and never answers is given connect_timeout, not the query timeout.
        probe = client(db.connect_timeout)
        try:
            probe.ping()
        except redis.exceptions.TimeoutError:
            raise CheckError(
                f"database {db.name} ({db.dsn.address}): the server accepted the connection "
                f"but did not answer PING within {db.connect_timeout:g}s: is it a Redis "
                "server, and is it responding?") from None
        finally:
            probe.close()
        return client(db.query_timeout)

    def server_version(self, db: DatabaseTarget) -> str:
        return str(self.info(db, "server").get("redis_version", ""))

    def ping(self, db: DatabaseTarget) -> None:
        db.redis("PING")

    def info(self, db: DatabaseTarget, section: str) -> dict[str, Any]:
        found = db.redis("INFO", section)
        return dict(found) if found else {}

    def config(self, db: DatabaseTarget, name: str) -> str | None:
        """A CONFIG GET value, or None when CONFIG is renamed or not permitted."""
        try:
            return parse_config(db.redis("CONFIG GET", name), name)
        except CheckError:
            return None

    def setting(self, db: DatabaseTarget, name: str) -> Setting | None:
        value = parse_config(db.redis("CONFIG GET", name), name)
        return None if value is None else Setting(value)

    def tls(self, db: DatabaseTarget, require_account: bool) -> TlsFacts:
        db.connection()
        return TlsFacts(db.dsn.scheme == "rediss", scheme=db.dsn.scheme)

    def whoami(self, db: DatabaseTarget) -> str | None:
        try:
            return str(db.redis("ACL WHOAMI"))
        except CheckError:
            return None

    def commands(
        self, db: DatabaseTarget, names: list[str], account: str | None
    ) -> list[CommandFacts]:
        """Each command's existence, DEBUG's switch, and whether ``account`` may run it."""
        info = db.redis("COMMAND INFO", *[n.lower() for n in names])
        facts = []
        for name, entry in zip(names, info or [None] * len(names), strict=False):
            if not entry:
                facts.append(CommandFacts(name, exists=False))
            elif name == "DEBUG" and self.config(db, "enable-debug-command") == "no":
                facts.append(CommandFacts(name, exists=True, debug_disabled=True))
            else:
                allowed = self._dryrun(db, account, name) if account else None
                facts.append(CommandFacts(name, exists=True, allowed=allowed))
        return facts

    @staticmethod
    def _dryrun(db: DatabaseTarget, user: str, name: str) -> bool | None:
        try:
            return dryrun_allowed(db.redis("ACL DRYRUN", user, name, *DRYRUN_ARGS.get(name, [])))
        except CheckError:
            return None

    def unauthenticated_ping(self, db: DatabaseTarget) -> str | None:
        """A PING from a second client without credentials: the refusal it got, None if answered.

        RESP2, so the first command is PING itself (no HELLO handshake) and the
        server's answer is the plain NOAUTH a client without password sees.
        """
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        from pytest_golive.targets.database import describe_error

        client = redis.Redis(
            host=db.dsn.host, port=db.dsn.port or 6379, ssl=db.dsn.scheme == "rediss", protocol=2,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=db.connect_timeout, socket_timeout=db.query_timeout,
        )
        try:
            client.ping()
        except redis.exceptions.AuthenticationError as exc:
            return describe_error(exc)
        except redis.exceptions.ResponseError as exc:
            text = describe_error(exc)
            if any(code in text for code in REFUSALS):
                return text
            raise CheckError(f"database {db.name}: unauthenticated PING failed: {text}") from None
        except redis.exceptions.RedisError as exc:
            raise CheckError(
                f"database {db.name} ({db.dsn.address}): {describe_error(exc)}"
            ) from None
        finally:
            client.close()
        return None

    # SQL questions: the checks that ask them do not apply to Redis (``sql`` is false).

    def _no_sql(self, db: DatabaseTarget) -> CheckError:
        return CheckError(f"database {db.name}: SQL queries do not apply to Redis")

    def default_schema(self, db: DatabaseTarget) -> str | None:
        raise self._no_sql(db)

    def database_exists(self, db: DatabaseTarget, name: str) -> bool:
        raise self._no_sql(db)

    def tables(self, db: DatabaseTarget, schema: str) -> set[str]:
        raise self._no_sql(db)

    def relation_exists(self, db: DatabaseTarget, schema: str, table: str) -> bool:
        raise self._no_sql(db)

    def columns(self, db: DatabaseTarget, schema: str, table: str) -> set[str]:
        raise self._no_sql(db)

    def indexes(self, db: DatabaseTarget, schema: str, table: str) -> set[str]:
        raise self._no_sql(db)

    def charsets(self, db: DatabaseTarget, schema: str | None, tables: bool) -> Charsets:
        raise self._no_sql(db)

    def privileges(
        self, db: DatabaseTarget, account: str | None, admins: list[str], others: bool
    ) -> PrivilegeFacts | AccountMissing:
        raise self._no_sql(db)

    def replication(self, db: DatabaseTarget) -> Replication:
        raise self._no_sql(db)


REDIS = RedisDialect()
