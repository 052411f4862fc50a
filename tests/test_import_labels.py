"""How well ``golive import`` binds real checklists, measured on labelled lines.

Every line of the sample checklists (``../shared/checklists/``) and of the
checklists under ``tests/data/checklists/`` is labelled by hand in
``tests/data/labels/``: machine-checkable, partly (a check proves a necessary
part, a person signs the rest), person, or group, with the checks that would
prove it and a one-line reason. From the labels:

- recall: machine-checkable (and partly) lines bound to a right check;
- precision: bound lines whose every check is one the label accepts;
- lines only a person can sign, and group lines, must never be bound.

A binding is right only if its checks are ones the label accepts *and* it
cannot pass without checking the line: a host path it reads (a backup
directory, a log file) is named on the line or left to a variable, never a
default that an unrelated system satisfies (``/var/backups``). The root file
system stands for "the host's storage" only in a capacity check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pytest_golive.checklist.model import Binding, parse_line_binding
from pytest_golive.checks.registry import REGISTRY
from pytest_golive.tools.importer import Decision, import_text, scan
from support import require

HERE = Path(__file__).parent
SHARED = Path(__file__).parents[1].parent / "shared" / "checklists"
LABELS = HERE / "data" / "labels"
OWN = HERE / "data" / "checklists"
KINDS = ("machine", "partly", "person", "group")

RECALL_TARGET = 0.70


@dataclass(frozen=True)
class Label:
    line: int
    kind: str
    checks: frozenset[str]
    reason: str


def read_labels(path: Path) -> dict[int, Label]:
    labels: dict[int, Label] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in raw.split("|")]
        assert len(parts) == 4, f"{path}:{number}: write 'line | kind | checks | reason'"
        line, kind, checks, reason = parts
        assert kind in KINDS, f"{path}:{number}: kind must be one of {KINDS}"
        assert reason, f"{path}:{number}: every label says why"
        names = frozenset() if checks == "-" else frozenset(c.strip() for c in checks.split(","))
        checkable = kind in ("machine", "partly")
        assert bool(names) == checkable, f"{path}:{number}: checks only for machine/partly"
        labels[int(line)] = Label(int(line), kind, names, reason)
    return labels


def checklist_for(labels: Path) -> Path:
    name = labels.stem + ".md"
    return SHARED / name if (SHARED / name).exists() else OWN / name


@dataclass
class Score:
    machine: int = 0
    bound_right: int = 0
    bound: int = 0
    right: int = 0
    person_bound: int = 0
    group_bound: int = 0

    def add(self, other: Score) -> None:
        for key in vars(self):
            setattr(self, key, getattr(self, key) + getattr(other, key))

    @property
    def recall(self) -> float:
        return self.bound_right / self.machine if self.machine else 1.0

    @property
    def precision(self) -> float:
        return self.right / self.bound if self.bound else 1.0


def bindings_of(decision: Decision) -> tuple[Binding, ...]:
    if decision.status != "bound" or not decision.binding:
        return ()
    return parse_line_binding(decision.binding).bindings


_PATH_PARAMS = ("path", "directory", "config", "crontab")


def proves_the_line(binding: Binding, decision: Decision) -> bool:
    """No host path the line does not name (a guessed default proves nothing about the line)."""
    if binding.check not in REGISTRY or REGISTRY.get(binding.check).target != "host":
        return True
    said = " ".join((decision.line.title, decision.line.marked, decision.line.code))
    for key in _PATH_PARAMS:
        value = str(binding.params.get(key, ""))
        if not value.startswith("/") or "${" in value:
            continue
        if value == "/" and binding.check in ("disk_free", "disk_size"):
            continue
        if value.rstrip("/") not in said and value not in said:
            return False
    return True


def score(path: Path, labels: dict[int, Label], wrong: list[str]) -> Score:
    text = path.read_text(encoding="utf-8")
    _, decisions = import_text(text)
    by_line = {d.line.number: d for d in decisions}
    assert sorted(by_line) == sorted(labels), (
        f"{path.name}: lines without a label {sorted(set(by_line) - set(labels))}, "
        f"labels without a line {sorted(set(labels) - set(by_line))}"
    )
    s = Score()
    for number, label in labels.items():
        d = by_line[number]
        found = bindings_of(d)
        checks = frozenset(b.check for b in found)
        ok = bool(checks) and checks <= label.checks and all(proves_the_line(b, d) for b in found)
        if label.kind in ("machine", "partly"):
            s.machine += 1
            s.bound_right += ok
        if checks:
            s.bound += 1
            s.right += ok
            s.person_bound += label.kind == "person"
            s.group_bound += label.kind == "group"
            if not ok:
                wrong.append(f"{path.name}:{number} [{label.kind}] {d.binding}  -- {d.line.title}")
    return s


LABEL_FILES = sorted(LABELS.glob("*.labels"))


@pytest.mark.parametrize("labels", LABEL_FILES, ids=[p.stem for p in LABEL_FILES])
def test_every_line_is_labelled_once(labels: Path) -> None:
    path = checklist_for(labels)
    if path.parent == SHARED:
        require(path.exists(), f"the shared checklists beside the repository ({SHARED})")
    numbers = {line.number for line in scan(path.read_text(encoding="utf-8"))}
    assert set(read_labels(labels)) == numbers


def test_recall_and_precision_on_labelled_checklists(capsys: pytest.CaptureFixture[str]) -> None:
    require(SHARED.is_dir(), f"the shared checklists beside the repository ({SHARED})")
    total = Score()
    wrong: list[str] = []
    rows = []
    for labels in LABEL_FILES:
        path = checklist_for(labels)
        s = score(path, read_labels(labels), wrong)
        rows.append(f"  {path.name:<28s} recall {s.recall:6.1%} ({s.bound_right}/{s.machine})  "
                    f"precision {s.precision:6.1%} ({s.right}/{s.bound})")
        total.add(s)
    with capsys.disabled():
        print("\nimport on labelled checklists:")
        print("\n".join(rows))
        print(f"  {'all':<28s} recall {total.recall:6.1%} ({total.bound_right}/{total.machine})  "
              f"precision {total.precision:6.1%} ({total.right}/{total.bound})  "
              f"person-lines bound {total.person_bound}, group lines bound {total.group_bound}")
        if wrong:
            print("  bound but not right:\n    " + "\n    ".join(wrong))
    assert total.person_bound == 0, "a line only a person can sign was bound"
    assert total.group_bound == 0, "a group line was bound from its children's words"
    assert total.recall >= RECALL_TARGET
