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
from collections.abc import Callable
from dataclasses import dataclass, field


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
