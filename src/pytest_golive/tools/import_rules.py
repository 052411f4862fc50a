"""How ``golive import`` weighs what the rules propose for a checklist line.

The rules themselves live beside the checks they propose (``@proposes`` in
each check's module, :mod:`pytest_golive.checks.rules`); this module asks all
of them (:func:`propose_all`, :func:`propose`) and holds the words that lower
any proposal, whatever the check (:func:`adjust`): a person's work, a history
over time, a condition.
"""

from __future__ import annotations

import re

from pytest_golive.checks.rules import RULES, Line, Proposal


def propose_all(line: Line) -> list[Proposal]:
    """Every proposal any registered rule makes for ``line``, at the rule's own confidence.

    The catalog must be loaded first (``REGISTRY.names()``): check modules
    declare their rules when they are imported.
    """
    # Rules in a fixed order (module, name), not in the order their modules happened
    # to be imported: a tie between two rules is then decided the same way every run.
    ordered = sorted(RULES, key=lambda r: (r.module, r.func.__name__))
    return [p for p in (r.func(line) for r in ordered) if p is not None and p.candidates]


def propose(line: Line) -> Proposal | None:
    """The most confident proposal for ``line``, adjusted for words about people (None: manual)."""
    from pytest_golive.checks.registry import REGISTRY

    REGISTRY.names()  # load the catalog: its modules declare the rules
    found = propose_all(line)
    if not found:
        return None
    best = max(found, key=lambda p: p.confidence)
    best.confidence = round(max(0.0, min(1.0, best.confidence + adjust(line))), 2)
    return best


def names_one_test(line: Line) -> bool:
    """The line's code runs one test script of the team's (``python test_login.py``)."""
    return bool(_NAMED_SCRIPT.search(line.code))


def adjust(line: Line) -> float:
    """How much words about a person's work, or a condition, lower any proposal for ``line``."""
    return _adjust(line)


#: Words that make a line about a person's work (a document, a decision, a
#: meeting), which no check can observe even when a technical word appears.
_HUMAN = re.compile(
    r"\b(documented|plan(ned)?|review(ed)?|train(ed|ing)|notif(y|ied)|approv(e|ed|al)|"
    r"sign(ed)?[- ]?off|agreed|defined|communicated|procedures?|strategy|"
    r"stakeholders?|tested manually|drill|meeting|obtained and tested|identified|prepared|"
    r"bugs?|complaints?|feedback|adjust|tune|tuning|optimi[sz]e|knows?|aware(ness)?|proofread|"
    r"on-?call|rota|escalation)\b"
)
#: Words about a history or a period of watching, which a check of the present cannot see.
_OVER_TIME = re.compile(
    r"\b(no gaps|gaps in|over time|trends?|for the (first|next|last) \d+ ?(hours|days|h)|"
    r"for \d+ ?(hours|h)|during)\b"
)
#: A test script of the team's, named on the line: a whole-report check cannot tell that one ran.
_NAMED_SCRIPT = re.compile(
    r"(^|\s)(python3?|bash|sh|node|\./)\s*[\w./-]*test[\w./-]*", re.MULTILINE
)
_CONDITIONAL = re.compile(r"\((if|when|optional)\b|\bif (using|needed|applicable)\b")


def _adjust(line: Line) -> float:
    # Identifiers (TABLE_NAMES, `code`) are names, not words about the work.
    text = re.sub(r"`[^`]*`|\b[A-Z][A-Z0-9_]+\b", " ", line.marked).lower()
    delta = 0.0
    if _HUMAN.search(text):
        delta -= 0.4
    if _OVER_TIME.search(text):
        delta -= 0.4
    if _CONDITIONAL.search(text):
        delta -= 0.05
    return delta
