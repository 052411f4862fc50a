"""SQL schemas: databases, tables, columns, indexes, character sets (MySQL/MariaDB, PostgreSQL)."""

from __future__ import annotations

from pytest_golive.checks.database.common import names, only_sql
from pytest_golive.checks.registry import check
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.database import DatabaseTarget
from pytest_golive.targets.dialects import Charsets, schema_of


@check(target="database")
def db_exists(db: DatabaseTarget, *, name: str | None = None) -> Outcome:
    """The named database exists on the server (and is visible to the account).

    Args:
        name: the database name; by default the one the DSN names.
    """
    if na := only_sql(db):
        return na
    name = name or db.dsn.database
    if not name:
        raise CheckError(f"database {db.name}: no database name given and the DSN names none")
    found = db.dialect.database_exists(db, name)
    return Outcome.of(found, f"database {name} {'exists' if found else 'not found'}",
                      f"database {name} exists", database=name)


def judge_tables(schema: str, present: set[str], tables: list[str]) -> Outcome:
    missing = [t for t in tables if t not in present]
    return Outcome.of(
        not missing,
        f"missing in {schema}: {names(missing)}" if missing
        else f"all {len(tables)} tables present in {schema}",
        f"tables {names(tables)}",
        schema=schema, missing=missing,
    )


@check(target="database")
def db_tables(db: DatabaseTarget, *, tables: list[str], schema: str | None = None) -> Outcome:
    """Every named table (or view) exists in the schema.

    Args:
        tables: the table names that must exist.
        schema: the schema (MySQL: database) to look in; by default the DSN's database (MySQL)
            or the current schema (PostgreSQL).
    """
    if na := only_sql(db):
        return na
    schema = schema_of(db, schema)
    return judge_tables(schema, db.dialect.tables(db, schema), tables)


def judge_table_has(
    schema: str, table: str, kind: str, present: set[str] | None, wanted: list[str]
) -> Outcome:
    """Whether a table has every named column or index (``kind``); ``present`` None: no table."""
    if present is None:
        return Outcome.failed(f"table {schema}.{table} does not exist", f"{kind} {names(wanted)}",
                              missing=wanted)
    have = sorted(present)
    missing = [name for name in wanted if name not in present]
    return Outcome.of(
        not missing,
        f"{schema}.{table} lacks {names(missing)} (has {names(have)})" if missing
        else f"{schema}.{table} has {names(wanted)}",
        f"{kind} {names(wanted)}",
        missing=missing, present=have,
    )


@check(target="database")
def db_columns(
    db: DatabaseTarget, *, table: str, columns: list[str], schema: str | None = None
) -> Outcome:
    """The table has every named column.

    Args:
        table: the table to inspect.
        columns: the column names that must exist.
        schema: the schema (MySQL: database); by default the DSN's database or the current schema.
    """
    if na := only_sql(db):
        return na
    schema = schema_of(db, schema)
    exists = db.dialect.relation_exists(db, schema, table)
    present = db.dialect.columns(db, schema, table) if exists else None
    return judge_table_has(schema, table, "columns", present, columns)


@check(target="database")
def db_indexes(
    db: DatabaseTarget, *, table: str, indexes: list[str], schema: str | None = None
) -> Outcome:
    """The table has every named index (MySQL's primary key is ``PRIMARY``).

    Args:
        table: the table to inspect.
        indexes: the index names that must exist, such as idx_status.
        schema: the schema (MySQL: database); by default the DSN's database or the current schema.
    """
    if na := only_sql(db):
        return na
    schema = schema_of(db, schema)
    exists = db.dialect.relation_exists(db, schema, table)
    present = db.dialect.indexes(db, schema, table) if exists else None
    return judge_table_has(schema, table, "indexes", present, indexes)


def judge_charsets(db_name: str, facts: Charsets, charset: str) -> Outcome:
    want = charset.lower()
    ev = Evidence()
    if facts.encoding is not None:
        # PostgreSQL names UTF-8 "UTF8"; utf8mb4 is MySQL's name for the same.
        want = "utf8" if want in ("utf8mb4", "utf-8") else want.replace("-", "")
        ev.add("database encoding", facts.encoding.lower() == want, facts.encoding, want.upper())
        return ev.outcome()
    if facts.schema_default is None:
        raise CheckError(f"database {db_name}: schema {facts.schema} not found or not visible")
    ev.add(f"database {facts.schema}", facts.schema_default.lower() == want, facts.schema_default,
           want)
    if facts.tables is not None:
        wrong = [f"{name} ({cs})" for name, cs in facts.tables if cs.lower() != want]
        ev.add("tables", not wrong,
               f"{names(wrong)} differ" if wrong else f"all {len(facts.tables)} tables {want}",
               f"every table {want}")
    return ev.outcome()


@check(target="database")
def db_charset(
    db: DatabaseTarget, *, charset: str = "utf8mb4", tables: bool = False,
    schema: str | None = None,
) -> Outcome:
    """The database's default character set is ``charset`` (and, optionally, every table's).

    On PostgreSQL the database encoding is compared (``utf8mb4`` means UTF8);
    tables have no character set of their own there.

    Args:
        charset: the required character set.
        tables: true to require it of every table in the schema too (MySQL).
        schema: the schema (MySQL: database); by default the DSN's database.
    """
    if na := only_sql(db):
        return na
    return judge_charsets(db.name, db.dialect.charsets(db, schema, tables), charset)
