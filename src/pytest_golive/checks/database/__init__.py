"""Database checks: MySQL/MariaDB, PostgreSQL and Redis.

Each check takes a :class:`~pytest_golive.targets.database.DatabaseTarget`.
What differs between servers is the handle's dialect
(:mod:`pytest_golive.targets.dialects`): it sends the queries and returns
typed facts, which the checks here judge with pure functions, tested on
rows captured from real servers (``tests/data/database/``). Sessions are
read-only by construction and every statement sent is a read; a check that
does not apply to a server says so (not applicable) rather than pretending
to pass.
"""

from __future__ import annotations

from pytest_golive.checks.database.data import db_query, db_replication_lag
from pytest_golive.checks.database.privileges import db_least_privilege
from pytest_golive.checks.database.redis import (
    DANGEROUS_REDIS_COMMANDS,
    redis_auth_required,
    redis_dangerous_commands,
    redis_maxmemory,
    redis_persistence,
)
from pytest_golive.checks.database.schema import (
    db_charset,
    db_columns,
    db_exists,
    db_indexes,
    db_tables,
)
from pytest_golive.checks.database.server import db_connect, db_tls, db_variable, db_version
from pytest_golive.targets.database import validate_read_only_sql
from pytest_golive.targets.dialects.mysql import MYSQL
from pytest_golive.targets.dialects.postgresql import POSTGRESQL

#: Accounts that may hold global ALL PRIVILEGES / superuser, unless the checklist names its own.
DEFAULT_ADMINS = {d.driver: list(d.default_admins) for d in (MYSQL, POSTGRESQL)}

__all__ = [
    "DANGEROUS_REDIS_COMMANDS", "DEFAULT_ADMINS", "db_charset", "db_columns", "db_connect",
    "db_exists", "db_indexes", "db_least_privilege", "db_query", "db_replication_lag",
    "db_tables", "db_tls", "db_variable", "db_version", "redis_auth_required",
    "redis_dangerous_commands", "redis_maxmemory", "redis_persistence", "validate_read_only_sql",
]
