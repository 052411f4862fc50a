"""Custom checks: the Snowflake tables the dashboard reads exist and hold rows.

STAND-IN WARNING: Snowflake cannot run on this machine or in CI. In the
``example`` environment (and in this project's CI) these tests run against a
PostgreSQL database standing in for Snowflake, through the same DB-API
interface (see conftest.py). A pass there shows the check works; only a run
with ``warehouse_driver = "snowflake"`` says anything about Snowflake.

The queries are plain ``SELECT COUNT(*)``: read-only, and the same SQL on
Snowflake and PostgreSQL (unquoted names are case-insensitive on both).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def row_count(connection: Any, table: str) -> int:
    """Rows in ``table`` (a bare identifier, checked before it reaches SQL)."""
    if not NAME.fullmatch(table):
        raise ValueError(f"not a table name: {table!r}")
    cursor = connection.cursor()
    try:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - identifier validated above
        (count,) = cursor.fetchone()
        return int(count)
    finally:
        cursor.close()


def tables(golive_env: Any) -> list[str]:
    return [t.strip() for t in golive_env.vars.get("warehouse_tables", "CLAIMS,POLICIES").split(",") if t.strip()]


@pytest.mark.database(id="snowflake-tables-hold-rows")
def test_dashboard_tables_return_rows(warehouse, golive_env):
    """Each table the dashboard reads (CLAIMS, POLICIES) answers a query with rows."""
    counts = {table: row_count(warehouse, table) for table in tables(golive_env)}
    empty = sorted(t for t, n in counts.items() if n == 0)
    assert not empty, f"row counts {counts}: {', '.join(empty)} returned 0 rows, expected >= 1 each"
