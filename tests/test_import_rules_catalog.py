"""Every import rule of the catalog proposes real checks with parameters collection accepts.

Rules live next to their checks, in many modules; a rule that names a
renamed check or a parameter the check does not have would make
``golive import`` write nothing (or, worse, a binding that stops the run).
Each rule is asked about every line of every checklist we know.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from pytest_golive.checks.registry import REGISTRY
from pytest_golive.checks.rules import RULES, Line, Proposal
from pytest_golive.tools.importer import BIND_THRESHOLD, resolve, scan

HERE = Path(__file__).parent
SHARED = Path(__file__).parents[1].parent / "shared" / "checklists"


def corpus() -> list[Line]:
    paths = [*SHARED.glob("*.md"), *HERE.parent.glob("conftest_examples/*/checklist.md"),
             *(HERE / "data" / "checklists").glob("*.md")]
    lines: list[Line] = []
    for path in sorted(paths):
        scanned = scan(path.read_text(encoding="utf-8"))
        for entry in scanned:
            entry.children_text = [scanned[c].lower for c in entry.children]
        lines += scanned
    return lines


@functools.cache
def proposals() -> list[tuple[str, Line, Proposal]]:
    REGISTRY.names()  # the catalog's modules declare their rules when imported
    found = []
    for registered in list(RULES):
        for line in LINES:
            proposal = registered.func(line)
            if proposal is not None:
                found.append((f"{registered.module}.{registered.func.__name__}", line, proposal))
    return found


LINES = corpus()


def test_the_catalog_declares_rules_in_several_modules() -> None:
    REGISTRY.names()
    modules = {r.module for r in RULES}
    assert {"pytest_golive.checks.host.capacity", "pytest_golive.checks.database.schema",
            "pytest_golive.checks.config"} <= modules, modules
    assert len(modules) >= 3, modules


def test_every_rule_lives_with_checks_and_declares_real_ones() -> None:
    """A rule says which checks it may propose, by their names, next to a check."""
    REGISTRY.names()
    wrong = []
    for registered in RULES:
        rule = f"{registered.module}.{registered.func.__name__}"
        if not registered.module.startswith("pytest_golive.checks."):
            wrong.append(f"{rule}: rules live beside their checks, under pytest_golive.checks")
        if not registered.checks:
            wrong.append(f"{rule}: declares no check (@proposes(\"name\", ...))")
        for name in registered.checks:
            if name not in REGISTRY or REGISTRY.get(name).name != name:
                wrong.append(f"{rule}: declares '{name}', which is not a check's name")
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
def test_every_proposed_check_is_in_the_catalog_and_declared() -> None:
    wrong = []
    for rule, line, proposal in proposals():
        declared = next(r.checks for r in RULES if f"{r.module}.{r.func.__name__}" == rule)
        for name, _ in [*proposal.candidates, *proposal.also]:
            if name not in REGISTRY:
                wrong.append(f"{rule}: '{name}' is not a check ({line.title!r})")
            elif declared and REGISTRY.get(name).name not in declared:
                wrong.append(f"{rule}: proposes '{name}' but declares only {declared}")
    assert not wrong, "\n".join(sorted(set(wrong)))


def test_every_sure_proposal_resolves_to_a_binding_that_collects() -> None:
    """A rule sure enough to be written must have a candidate collection accepts."""
    dead = []
    for rule, line, proposal in proposals():
        if proposal.confidence < BIND_THRESHOLD:
            continue
        bindings, why = resolve(proposal, REGISTRY, line)
        if not bindings:
            dead.append(f"{rule} on {line.title!r}: {why}")
    assert not dead, "\n".join(dead)


ODD = ["", "- [ ]", "🚀🚀🚀", "x" * 5000, "CPU: RAM: disk: /", "`` ` ``"]


@pytest.mark.parametrize("text", ODD)
def test_no_rule_raises_on_odd_lines(text: str) -> None:
    REGISTRY.names()
    line = Line(number=1, index=0, title=text, marked=text, context="A / B", code=text,
                has_binding=False, headings=("A", "B"))
    for registered in list(RULES):
        registered.func(line)  # must not raise
