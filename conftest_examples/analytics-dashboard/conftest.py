"""The warehouse connection the custom checks use: Snowflake, or a stand-in.

SNOWFLAKE CANNOT RUN HERE (it is a hosted service). The checks in
test_snowflake.py are written against a plain DB-API connection from
:func:`warehouse`, so the same test runs against:

* ``warehouse_driver = "snowflake"`` (production): ``snowflake.connector``
  with the account, user, warehouse, database and schema from ``vars`` and the
  password from the ``SNOWFLAKE_PASSWORD`` environment variable;
* ``warehouse_driver = "standin"`` (the ``example`` environment, and CI): the
  environment's read-only database target, a PostgreSQL database with CLAIMS
  and POLICIES tables. It proves the check's logic, not Snowflake's state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


def connect_snowflake(settings: dict[str, Any]) -> Any:
    """A Snowflake DB-API connection from ``vars`` and SNOWFLAKE_PASSWORD."""
    import snowflake.connector  # only needed where Snowflake is reachable

    return snowflake.connector.connect(
        account=settings["snowflake_account"],
        user=settings["snowflake_user"],
        password=os.environ["SNOWFLAKE_PASSWORD"],
        warehouse=settings["snowflake_warehouse"],
        database=settings["snowflake_database"],
        schema=settings["snowflake_schema"],
        role=settings.get("snowflake_role"),
        login_timeout=10,
        network_timeout=30,
    )


def standin_connection(golive_env: Any, golive_target: Any) -> Any:
    """The read-only connection of the database target named by ``vars.warehouse_standin``.

    The run's shared handle (``golive_target``), so it is opened read-only and
    shared with the checklist's database lines, like ``golive_db``'s.
    """
    from pytest_golive.core.outcome import CheckError

    try:
        return golive_target(golive_env.vars.get("warehouse_standin", "warehouse")).connection()
    except CheckError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def warehouse(golive_env: Any, golive_target: Any) -> Iterator[Any]:
    """A DB-API connection to the warehouse (see the module docstring)."""
    driver = golive_env.vars.get("warehouse_driver", "snowflake")
    if driver == "snowflake":
        connection = connect_snowflake(golive_env.vars)
        try:
            yield connection
        finally:
            connection.close()
    elif driver == "standin":
        yield standin_connection(golive_env, golive_target)  # STAND-IN: PostgreSQL, not Snowflake
    else:
        pytest.fail(f"vars.warehouse_driver is {driver!r}, expected 'snowflake' or 'standin'", pytrace=False)
