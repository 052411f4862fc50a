"""Least privilege of the application account (MySQL/MariaDB, PostgreSQL)."""

from __future__ import annotations

import re

from pytest_golive.checks.database.common import names, only_sql
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, db_context, has, proposes
from pytest_golive.core.outcome import Evidence, Outcome
from pytest_golive.targets.database import DatabaseTarget
from pytest_golive.targets.dialects import AccountMissing, PrivilegeFacts, Standing


def _standing(ev: Evidence, fact: Standing) -> None:
    seen = (fact.shown or names(fact.held)) if fact.held else fact.none
    ev.add(fact.label, not fact.held, seen, fact.expected)


def judge_privileges(
    facts: PrivilegeFacts | AccountMissing, allowed: set[str], schemas: list[str], exact: bool
) -> Outcome:
    """Hold the account's standing powers and grants to ``allowed`` privileges on ``schemas``."""
    if isinstance(facts, AccountMissing):
        return Outcome.failed(facts.observed, facts.expected)
    ev = Evidence()
    for fact in facts.standing:
        _standing(ev, fact)
    grants = facts.grants
    grantable = sorted({f"{g.schema}.{g.object}" for g in grants if g.grantable}
                       | ({"*.*"} if facts.global_grant_option else set()))
    ev.add("grant option", not grantable, f"on {names(grantable)}" if grantable else "none", "none")
    outside = sorted({f"{g.privilege} on {g.schema}.{g.object}" for g in grants
                      if g.schema not in schemas})
    ev.add("other schemas", not outside, names(outside), f"privileges only on {names(schemas)}")
    extra = sorted(
        {f"{g.privilege} on {g.schema}.{g.object}" for g in grants
         if g.schema in schemas and g.privilege not in allowed and "ALL" not in allowed
         and not (g.object == "*" and g.privilege in facts.harmless_on_schema)}
    )
    ev.add("extra privileges", not extra, names(extra), f"only {names(sorted(allowed))}")
    if exact:
        on_schema = facts.held_on == "schema"
        held = {(g.schema, g.privilege) for g in grants if (g.object == "*") == on_schema}
        lacking = sorted(f"{p} on {s}" for s in schemas for p in allowed if (s, p) not in held)
        ev.add("listed privileges", not lacking,
               f"lacks {names(lacking)}" if lacking else "all held", "every listed privilege held")
    if facts.others is not None:
        _standing(ev, facts.others)
    return ev.outcome(account=facts.account)


@check(target="database")
def db_least_privilege(
    db: DatabaseTarget,
    *,
    privileges: list[str],
    schemas: list[str],
    account: str | None = None,
    admins: list[str] | None = None,
    exact: bool = False,
    others: bool = True,
) -> Outcome:
    """The application account holds only the listed privileges on the listed schemas.

    MySQL/MariaDB: no global privilege beyond USAGE, no GRANT OPTION, and
    schema and table privileges only on ``schemas`` and only of the kinds in
    ``privileges``. PostgreSQL: the role is not superuser and cannot create
    roles or databases, is no member of a superuser or server-file role, and
    its table and schema grants stay within the lists. With ``others``, no
    account except ``admins`` holds global ALL PRIVILEGES or GRANT OPTION
    (PostgreSQL: superuser), which needs an account that can read
    ``mysql.user`` (PostgreSQL: ``pg_roles`` is readable by all).
    Privileges reached through MySQL/MariaDB roles and column-level grants
    are not counted; on PostgreSQL, ownership of a table is not a grant and
    is not counted either.

    Args:
        privileges: the privileges the account may hold, such as SELECT, INSERT, UPDATE, DELETE.
        schemas: the schemas (MySQL: databases) it may hold them on.
        account: the account to inspect, user or user@host; by default the DSN's own.
        admins: accounts allowed full privileges (default: root and the server's system
            accounts; postgres).
        exact: true to require every listed privilege on every listed schema as well.
        others: false to skip the check of the other accounts.
    """
    if na := only_sql(db):
        return na
    allowed = {p.strip().upper() for p in privileges}
    admins = admins if admins is not None else list(db.dialect.default_admins)
    facts = db.dialect.privileges(db, account, admins, others)
    return judge_privileges(facts, allowed, schemas, exact)


# --- import rules: how checklist lines become privilege checks ------------------------


_PRIVILEGES = (
    r"select|insert|update|delete|execute|usage|create|alter|drop|references|trigger|truncate"
)


def _named_privileges(line: Line) -> Proposal | None:
    """"only SELECT, INSERT on schema orders": the privileges and schemas named on the line."""
    m = re.search(rf"\b((?:(?:{_PRIVILEGES})\s*(?:,|and|&)?\s*)+)\s+on\s+(?:the\s+)?"
                  r"(?:schemas?|databases?)\s+`?([\w,.`\s]+?)`?(?:$|\s+(?:only|and)\b|[.;])",
                  line.title, re.IGNORECASE)
    if not m:
        return None
    privileges = ",".join(p.upper() for p in re.findall(_PRIVILEGES, m.group(1), re.IGNORECASE))
    schemas = ",".join(re.findall(r"\w+", m.group(2).replace("`", "")))
    params = {"privileges": privileges, "schemas": schemas}
    account = re.search(r"\b(?:account|user|role)\s+`?([\w.-]+)`?", line.title, re.IGNORECASE)
    if account and account.group(1).lower() not in ("holds", "has", "can"):
        params["account"] = account.group(1)
    return Proposal([("db_least_privilege", params)], 0.8, f"only {privileges} on {schemas}")


@proposes("db_least_privilege")
def _db_least_privilege_rule(line: Line) -> Proposal | None:
    t = line.lower
    named = _named_privileges(line) if has(r"\bonly\b", t) else None
    if named is not None:
        return named
    if not has(
        r"least[- ]privilege|minimum (required )?(permissions|privileges)|minimal (permissions|"
        r"privileges)|"
        r"(correct|appropriate|limited|restricted) (permissions|privileges|grants)|no "
        r"superuser|not (a )?superuser|"
        r"roles and (permissions|privileges)|(permissions|privileges|grants) (configured|granted)",
        t,
    ):
        return None
    if not (db_context(line) or has(r"service account|user", t)):
        return None
    return _named_privileges(line) or Proposal(
        [("db_least_privilege", {"privileges": "${app_privileges}", "schemas": "${app_schemas}"})],
        0.7,
        "least privilege: the privileges and schemas the account may hold are variables",
    )
