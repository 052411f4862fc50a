"""SQL schemas: databases, tables, columns, indexes, character sets (MySQL/MariaDB, PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Callable

from pytest_golive.checks.database.common import names, only_sql
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, db_context, db_penalty, has, proposes
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
    return _table_has(db, schema, table, "columns", db.dialect.columns, columns)


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
    return _table_has(db, schema, table, "indexes", db.dialect.indexes, indexes)


def _table_has(
    db: DatabaseTarget,
    schema: str | None,
    table: str,
    kind: str,
    read: Callable[[DatabaseTarget, str, str], set[str]],
    wanted: list[str],
) -> Outcome:
    """Observe a table's columns or indexes (``read``) where the table exists, and judge them."""
    if na := only_sql(db):
        return na
    schema = schema_of(db, schema)
    exists = db.dialect.relation_exists(db, schema, table)
    present = read(db, schema, table) if exists else None
    return judge_table_has(schema, table, kind, present, wanted)


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


# --- import rules: how checklist lines become schema checks ---------------------------


@proposes("db_tables")
def _db_tables_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\btables?\b", t) or not has(r"exists?|created|present|migrated|in place", t):
        return None
    if has(r"\bindex(es)?\b|\bindices\b|\bcolumns?\b", t):
        return None
    names = re.findall(r"create\s+table\s+(?:if\s+not\s+exists\s+)?[`\"]?([\w.]+)", line.code, re.I)
    inside = re.search(r"\(([^)]*)\)", line.title)
    if not names and inside:
        names = [
            n
            for n in re.split(r"[,\s]+(?:and\s+)?", inside.group(1))
            if re.fullmatch(r"[A-Za-z_][\w.]*", n)
        ]
    names = names or re.findall(r"`([A-Za-z_][\w.]*)`", line.marked)
    if not names:
        listed = re.search(
            r"\btables?\s*:?\s+((?:[A-Za-z_][\w.]*\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)?)+)",
            line.title,
            re.I,
        )
        stop = {
            "created",
            "exist",
            "exists",
            "present",
            "migrated",
            "are",
            "is",
            "in",
            "the",
            "all",
            "required",
            "and",
        }
        names = [n for n in re.findall(r"[A-Za-z_][\w.]*", listed.group(1))] if listed else []
        names = [n for n in names if n.lower() not in stop]
    if not names:
        return Proposal([("db_tables", {})], 0.45, "which tables? add tables=A,B")
    return Proposal(
        [("db_tables", {"tables": ",".join(names)}), ("db_tables", {"names": ",".join(names)})],
        0.85 + db_penalty(line),
        f"tables {', '.join(names)}",
    )


@proposes("db_exists")
def _db_exists_rule(line: Line) -> Proposal | None:
    t = line.lower
    if (
        not has(r"\b(databases?|schemas?)\b", t)
        or not has(r"created|exists?|present", t)
        or has(r"\btables?\b|users?", t)
    ):
        return None
    names = re.findall(
        r"create\s+(?:database|schema)\s+(?:if\s+not\s+exists\s+)?[`\"]?(\w+)", line.code, re.I
    )
    names = names or re.findall(r"`(\w+)`", line.marked)
    if names:
        return Proposal(
            [("db_exists", {"name": names[0]}), ("db_exists", {"database": names[0]})],
            0.8 + db_penalty(line),
            f"database {names[0]}",
        )
    return Proposal([("db_exists", {})], 0.7 + db_penalty(line), "the configured database exists")


@proposes("db_indexes")
def _db_indexes_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\bindex(es)?\b|\bindices\b", t) or not has(
        r"exists?|created|present|in place|added", t
    ):
        return None
    table = re.search(
        r"\b(?:on\s+(?:the\s+)?(?:table\s+)?|table\s+)`?([A-Za-z_][\w.]*)`?", line.marked
    )
    names = [
        n for n in re.findall(r"`([A-Za-z_]\w*)`", line.marked) if not table or n != table.group(1)
    ]
    if names and table:
        return Proposal(
            [("db_indexes", {"table": table.group(1), "indexes": ",".join(names)})],
            0.75 + db_penalty(line),
            f"indexes on {table.group(1)}",
        )
    return Proposal([("db_indexes", {})], 0.4, "which table and indexes? add table= indexes=")


@proposes("db_charset")
def _db_charset_rule(line: Line) -> Proposal | None:
    m = re.search(r"\b(utf-?8mb4|utf-?8|latin1)\b", line.lower)
    if has(r"charset|character set|collation|encoding|utf", line.lower) and db_context(line):
        charset = m.group(1).replace("-", "") if m else "utf8mb4"
        return Proposal(
            [("db_charset", {"charset": charset}), ("db_charset", {})], 0.75, f"charset {charset}"
        )
    return None
