"""The YAML reader gives the same model as Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_golive.checklist import ChecklistError, read_checklist, read_yaml


def test_sections_mapping(tmp_path: Path) -> None:
    doc = tmp_path / "c.yaml"
    doc.write_text(
        "sections:\n"
        "  security:\n"
        "    - title: API keys 32+ characters\n"
        "      id: API-KEYS\n"
        "      check: secret_strength\n"
        "      params: {key: API_KEY, min_length: 32}\n"
        "      targets: api\n"
        "      severity: warning\n"
        "    - title: Sign-offs\n"
        "      items:\n"
        "        - title: Security officer\n",
        encoding="utf-8",
    )
    items = read_checklist(doc)
    assert [i.id for i in items] == [
        "security/API-KEYS",
        "security/sign-offs",
        "security/sign-offs/security-officer",
    ]
    first = items[0]
    assert first.params == {"key": "API_KEY", "min_length": 32}
    assert first.severity == "warning" and first.targets == "api" and first.line == 3
    assert items[1].group and items[2].parent == "security/sign-offs" and items[2].manual
    assert "security" in first.markers


def test_flat_items(tmp_path: Path) -> None:
    doc = tmp_path / "c.yml"
    doc.write_text(
        "items:\n  - section: hardware\n    title: CPUs\n    check: cpu\n    params: {min: 2}\n",
        encoding="utf-8",
    )
    (item,) = read_checklist(doc)
    assert item.id == "hardware/cpus" and item.check == "cpu"


@pytest.mark.parametrize(
    "text, message",
    [
        ("sections: [\n", "not valid YAML"),
        ("- a\n- b\n", "mapping with 'sections' or 'items'"),
        ("sections:\n  s:\n    - title: x\n      chek: cpu\n", "unknown key 'chek'"),
        ("sections:\n  s:\n    - check: cpu\n", "no 'title'"),
        ("sections:\n  s:\n    - title: x\n      severity: high\n", "severity must be"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    doc = tmp_path / "bad.yaml"
    doc.write_text(text, encoding="utf-8")
    with pytest.raises(ChecklistError) as exc:
        read_checklist(doc)
    assert str(doc) in str(exc.value) and message in str(exc.value)


def test_yaml_line_with_several_checks_and_attestation(tmp_path: Path) -> None:
    doc = tmp_path / "c.yml"
    doc.write_text(
        "items:\n"
        "  - title: 2 GB RAM and 1 CPU\n"
        "    checks:\n"
        "      - {check: memory, params: {min_gib: 2}}\n"
        "      - cpu min=1\n"
        "    attest: true\n",
        encoding="utf-8",
    )
    (item,) = read_yaml(doc)
    assert [(b.check, b.params) for b in item.bindings] == [
        ("memory", {"min_gib": 2}),
        ("cpu", {"min": "1"}),
    ]
    assert item.check == "memory" and item.attest


def test_yaml_checks_must_be_a_list(tmp_path: Path) -> None:
    doc = tmp_path / "c.yml"
    doc.write_text("items:\n  - title: x\n    checks: cpu\n", encoding="utf-8")
    with pytest.raises(ChecklistError, match="'checks' is a list"):
        read_yaml(doc)
