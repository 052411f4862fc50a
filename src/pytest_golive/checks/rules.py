"""Import rules: how ``golive import`` learns what a checklist line means.

A rule reads one line (its visible text, the code that belongs to it, the
headings above it) and may propose checks with parameters and a confidence.
Rules are declared next to the check they propose, in the check's own module,
with :func:`proposes`; the importer asks every registered rule.

    @proposes("cpu")
    def _cpu_rule(line: Line) -> Proposal | None:
        ...

Rules match meaning (keywords, numbers, units, paths, names in code) and never
the wording of one particular checklist.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_golive.checks.registry import Check, CheckDefinitionError, coerce
from pytest_golive.core import variables


@dataclass
class Line:
    """One checklist line as the proposal rules see it."""

    number: int  # 1-based line of the item in the file
    index: int  # 0-based line that receives the binding comment
    title: str  # visible text, one line
    marked: str  # the same with its `code spans` still marked
    context: str  # headings and parent titles above it
    code: str  # code spans and code blocks that belong to the item
    has_binding: bool
    existing: str | None = None  # the existing binding text, if any
    parent: int | None = None  # index in the document's line list
    children: list[int] = field(default_factory=list)
    children_text: list[str] = field(default_factory=list)  # sub-items' words, for group lines
    headings: tuple[str, ...] = ()  # the headings above the line, outermost first
    #: The titles of the other lines under the same heading (filled in by the importer):
    #: "Backlog on order-events" says which broker only through its neighbours.
    section_text: str = ""

    @property
    def lower(self) -> str:
        """Lower-case text with number words as digits ("two vCPUs" -> "2 vcpus")."""
        return _NUMBER_WORDS.sub(lambda m: _NUMBERS[m.group(0)], self.title.lower())


_NUMBERS = {
    w: str(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve".split()
    )
} | {
    "sixteen": "16",
    "twenty": "20",
    "thirty": "30",
    "sixty": "60",
    "single": "1",
    "dual": "2",
    "quad": "4",
    "hexa": "6",
    "octa": "8",
}
_NUMBER_WORDS = re.compile(
    r"\b(" + "|".join(w for w in _NUMBERS if w not in ("zero", "one")) + r")\b"
)


# --- reading helpers, shared by the rules of every family ----------------------------


def has(pattern: str, text: str) -> re.Match[str] | None:
    """``pattern`` found in ``text``, case-insensitively."""
    return re.search(pattern, text, re.IGNORECASE)


#: An absolute path as written in prose or code.
ABS_PATH = r"(?<![\w.:/])(/(?:[A-Za-z0-9_.@-]+/?)*)"


def paths(text: str) -> list[str]:
    """Absolute paths named in ``text``; a slash between two words ("A / B") is no path."""
    found = []
    for m in re.finditer(ABS_PATH, text):
        path = m.group(1)
        if re.fullmatch(r"/\d[\d.]*", path):
            continue
        if path == "/" and re.match(r"\s+\w", text[m.end():]):
            continue
        found.append(path.rstrip("/") or "/")
    return found


def nearest_context(line: Line) -> str:
    """The closest heading or parent title (the whole chain is too broad to judge by)."""
    return line.context.rsplit(" / ", 1)[-1].lower()


_DB_WORDS = (r"\b(databases?|db|mysql|mariadb|postgres\w*|pg|sql|redis|replicas?|replication|"
             r"cache layer)\b")


def db_context(line: Line, own_only: bool = False) -> bool:
    """The line (or, unless ``own_only``, its nearest heading) is about a database."""
    if has(_DB_WORDS, line.lower):
        return True
    return not own_only and bool(has(_DB_WORDS, nearest_context(line)))


def env_keys(line: Line) -> list[str]:
    """Setting names written as such (``SECRET_KEY``, ``DATABASE_URL``)."""
    return [
        k
        for k in re.findall(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\b", line.marked)
        if not k.isdigit()
    ]


def names_from_code(code: str, verbs: str) -> list[str]:
    """The last word of each code line that runs one of ``verbs`` (``useradd -r app`` -> app)."""
    return re.findall(rf"\b(?:{verbs})\b[^\n]*?\s([A-Za-z_][\w@.-]*)\s*$", code, re.MULTILINE)


def section_words(line: Line) -> str:
    """The lower-case titles of the lines under the same heading, the line's own aside."""
    return line.section_text.lower()


def lines_below(line: Line) -> list[str]:
    """Words that a group parent's children add (filled in by the importer)."""
    return line.children_text


#: Database servers no check talks to: a database proposal for them is a weak guess.
UNSUPPORTED_DB = (
    r"\b(snowflake|oracle|mssql|sql server|mongodb|cassandra|dynamodb|bigquery|elasticsearch|s3)\b"
)


def db_penalty(line: Line) -> float:
    """How much a database proposal loses when the line names a server no check supports."""
    return -0.35 if has(UNSUPPORTED_DB, line.lower) else 0.0


# --- proposals ----------------------------------------------------------------------


@dataclass
class Proposal:
    """What a rule thinks a line means.

    ``candidates`` are (check, params) pairs in order of preference; the first
    one the catalog accepts is written. Several are given where the same
    meaning can be expressed by more than one check or parameter spelling.
    """

    candidates: list[tuple[str, dict[str, str]]]
    confidence: float
    reason: str
    guessed: tuple[str, ...] = ()
    #: Further checks the line needs as well (each a (check, params) pair): the line
    #: passes only when all of them pass ("reachable: host A and host B").
    also: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    #: The checks prove a necessary part; a person must attest the rest.
    attest: bool = False

    @property
    def check(self) -> str:
        return self.candidates[0][0] if self.candidates else "?"


Rule = Callable[[Line], Proposal | None]


@dataclass(frozen=True)
class RegisteredRule:
    """A rule and the checks it may propose (checked against the catalog by the tests)."""

    func: Rule
    checks: tuple[str, ...]
    module: str


RULES: list[RegisteredRule] = []


def proposes(*checks: str) -> Callable[[Rule], Rule]:
    """Register an import rule that proposes the named checks."""

    def register(func: Rule) -> Rule:
        RULES.append(RegisteredRule(func, tuple(checks), func.__module__))
        return func

    return register


def rule(func: Rule) -> Rule:
    """Register a rule whose checks are named only in its proposals."""
    RULES.append(RegisteredRule(func, (), func.__module__))
    return func


# --- validation -----------------------------------------------------------------------

def validate_params(chk: Check, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a binding's parameters exactly as collection does.

    Names, types and required parameters, then the check's own validator.
    A value that still holds a ``${variable}`` (unset when collected, or not
    known yet when imported) is checked for its name only: its type and the
    check's own validator are decided once the variable has a value.
    Raises :class:`CheckDefinitionError`.
    """
    if "severity" in raw and chk.param("severity") is None:
        raise CheckDefinitionError(f"severity must be blocker or warning, not '{raw['severity']}'")
    pending = {k for k, v in raw.items() if isinstance(v, str) and variables.names(v)}
    if not pending:
        params = chk.validate(raw)
        extra = getattr(chk.func, "golive_validate", None)
        if extra is not None:
            try:
                extra(params)
            except ValueError as exc:
                raise CheckDefinitionError(f"check '{chk.name}': {exc}") from None
        return params
    for key in raw:
        if chk.param(key) is None:
            chk.validate({key: raw[key]})  # raises, naming the nearest parameter
    out = dict(raw)
    for key, value in raw.items():
        param = chk.param(key)
        if key in pending or param is None:
            continue
        try:
            out[key] = coerce(value, param.annotation)
        except (TypeError, ValueError) as exc:
            raise CheckDefinitionError(
                f"check '{chk.name}' parameter '{key}': {exc} (expected {param.type_name()})"
            ) from None
    missing = [p.name for p in chk.params if p.required and p.name not in raw]
    if missing:
        raise CheckDefinitionError(f"check '{chk.name}' needs parameter(s) {', '.join(missing)}")
    return out


def variables_of(params: Mapping[str, Any]) -> list[str]:
    """The ``${variables}`` a binding's parameters name, in order."""
    found: list[str] = []
    for value in params.values():
        if isinstance(value, str):
            found += [m for m in variables.names(value) if m not in found]
    return found
