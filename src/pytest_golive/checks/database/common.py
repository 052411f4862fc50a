"""What the database checks share: applicability, and values fit for evidence."""

from __future__ import annotations

from typing import Any

from pytest_golive.core.outcome import Outcome
from pytest_golive.core.secrets import mask
from pytest_golive.targets.database import DatabaseTarget
from pytest_golive.targets.dialects import names, normal_value
from pytest_golive.targets.dialects.redis import RedisDialect

__all__ = ["names", "normal_value", "number", "only_redis", "only_sql", "redis_of", "shown"]


def only_sql(db: DatabaseTarget) -> Outcome | None:
    """A not-applicable outcome for a SQL check on a server without SQL."""
    if db.dialect.sql:
        return None
    return Outcome.not_applicable(
        f"database {db.name} is {db.driver}; this check applies to mysql and postgresql"
    )


def only_redis(db: DatabaseTarget) -> Outcome | None:
    """A not-applicable outcome for a Redis check on another server."""
    if isinstance(db.dialect, RedisDialect):
        return None
    return Outcome.not_applicable(f"database {db.name} is {db.driver}; this check applies to redis")


def number(value: Any) -> float | None:
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def shown(value: Any, limit: int = 80) -> str:
    """A query value fit for evidence: masked and short."""
    text = mask("NULL" if value is None else str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def redis_of(db: DatabaseTarget) -> RedisDialect:
    """The Redis dialect of a target :func:`only_redis` let through."""
    if not isinstance(db.dialect, RedisDialect):
        raise TypeError(f"database {db.name} is {db.driver}: call only_redis() first")
    return db.dialect
