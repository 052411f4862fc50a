"""The Markdown reader on real checklists and on hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_golive.checklist import ChecklistError, count_task_lines, read_markdown, slugify

SHARED = Path(__file__).resolve().parents[2] / "shared" / "checklists"
REAL = sorted(p for p in SHARED.glob("*.md") if p.name != "README.md")


def test_shared_checklists_are_present() -> None:
    assert len(REAL) >= 3, f"expected the real-world checklists in {SHARED}"


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_every_checklist_line_is_one_item(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    items = read_markdown(path)
    assert len(items) == count_task_lines(text)
    assert len(items) > 100


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_ids_are_unique_and_readable(path: Path) -> None:
    items = read_markdown(path)
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    for item_id in ids:
        assert item_id.isascii() and " " not in item_id


def test_emoji_headings_give_clean_sections() -> None:
    items = read_markdown(SHARED / "integration-service.md")
    first = items[0]
    assert first.section == "hardware"
    assert first.title == "CPU: Minimum 4 vCPUs available"
    assert "infrastructure" in first.markers
    assert "security" in next(i for i in items if i.section == "credentials").markers


def test_nested_items_have_parents_and_groups() -> None:
    items = read_markdown(SHARED / "content-platform.md")
    by_id = {i.id: i for i in items}
    child = next(i for i in items if i.title == "PostgreSQL instance created")
    parent = by_id[child.parent]
    assert parent.group and parent.title == "Database Setup"
    assert child.id.startswith(parent.id + "/")


def test_numbered_items_and_code_blocks(tmp_path: Path) -> None:
    doc = tmp_path / "c.md"
    doc.write_text(
        "# Rollback\n\n1. [ ] Stop traffic\n2. [ ] Revert:\n   ```bash\n   - [ ] not an item\n   "
        "```\n"
        "3. [x] Verify\n\n| a | b |\n|---|---|\n| - [ ] x | y |\n\nSome prose - [ ] here.\n",
        encoding="utf-8",
    )
    items = read_markdown(doc)
    assert [i.title for i in items] == ["Stop traffic", "Revert:", "Verify"]
    assert items[2].checked


def test_binding_is_parsed_and_invisible_in_title(tmp_path: Path) -> None:
    doc = tmp_path / "c.md"
    doc.write_text(
        "## Security\n- [ ] API keys long <!-- golive: secret_strength key=API_KEY min_length=32 "
        'id=API-KEYS on=api severity=warning path="/etc/my app" -->\n',
        encoding="utf-8",
    )
    (item,) = read_markdown(doc)
    assert item.title == "API keys long"
    assert item.check == "secret_strength"
    assert item.params == {"key": "API_KEY", "min_length": "32", "path": "/etc/my app"}
    assert item.id == "security/API-KEYS"
    assert item.targets == "api" and item.severity == "warning"


def test_binding_on_the_next_line(tmp_path: Path) -> None:
    doc = tmp_path / "c.md"
    doc.write_text(
        "## Hardware\n- [ ] Enough CPUs\n  <!-- golive: cpu min=4 -->\n", encoding="utf-8"
    )
    (item,) = read_markdown(doc)
    assert item.check == "cpu" and item.params == {"min": "4"}


def test_ids_survive_reordering(tmp_path: Path) -> None:
    a = tmp_path / "a.md"
    b = tmp_path / "b.md"
    a.write_text("## S\n- [ ] One\n- [ ] Two\n  - [ ] Child\n", encoding="utf-8")
    b.write_text("## S\n- [ ] Two\n  - [ ] Child\n- [ ] One\n", encoding="utf-8")
    assert sorted(i.id for i in read_markdown(a)) == sorted(i.id for i in read_markdown(b))


@pytest.mark.parametrize(
    "line, message",
    [
        ('- [ ] x <!-- golive: cpu min="4 -->', "No closing quotation"),
        ("- [ ] x <!-- golive: cpu min=4", "not closed"),
        ("- [ ] x <!-- golive: min=4 -->", "must start with a check name"),
        ("- [ ] x <!-- golive: cpu four -->", "is not key=value"),
    ],
)
def test_malformed_binding_names_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    doc = tmp_path / "bad.md"
    doc.write_text(f"# T\n\n{line}\n", encoding="utf-8")
    with pytest.raises(ChecklistError) as exc:
        read_markdown(doc)
    assert f"{doc}:3:" in str(exc.value)
    assert message in str(exc.value)


def test_all_binding_errors_are_reported_at_once(tmp_path: Path) -> None:
    doc = tmp_path / "bad.md"
    doc.write_text(
        "# T\n- [ ] a <!-- golive: x= -->\n- [ ] ok\n- [ ] b <!-- golive: cpu z -->\n",
        encoding="utf-8",
    )
    with pytest.raises(ChecklistError) as exc:
        read_markdown(doc)
    assert f"{doc}:2:" in str(exc.value) and f"{doc}:4:" in str(exc.value)


def test_empty_and_headless_documents(tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("", encoding="utf-8")
    assert read_markdown(empty) == []
    headless = tmp_path / "headless.md"
    headless.write_text("- [ ] alone\n", encoding="utf-8")
    (item,) = read_markdown(headless)
    assert item.section == "general" and item.id == "general/alone"


@pytest.mark.slow
def test_five_megabyte_checklist(tmp_path: Path) -> None:
    block = "".join(
        f"## Section {s}\n" + "".join(f"- [ ] Item {s}-{i} with some text\n" for i in range(50))
        for s in range(2200)
    )
    doc = tmp_path / "big.md"
    doc.write_text(block, encoding="utf-8")
    assert doc.stat().st_size > 5_000_000 or len(block) > 3_000_000
    items = read_markdown(doc)
    assert len(items) == 2200 * 50


def test_mojibake_and_emoji_slugs() -> None:
    assert slugify("✅ Infrastructure Requirements") == "infrastructure-requirements"
    assert slugify("\u00e2\u0153\u2026 Network Configuration") == "network-configuration"
    assert slugify("1. Infrastructure Preparation") == "infrastructure-preparation"
    assert slugify("🚀🚀🚀") == "item"
    assert slugify("Monitoring & Logging") == "monitoring-logging"


def test_legacy_encoded_file_is_read(tmp_path: Path) -> None:
    doc = tmp_path / "latin.md"
    doc.write_bytes("## Sécurité\n- [ ] Clés changées\n".encode("cp1252"))
    (item,) = read_markdown(doc)
    assert item.section == "securite" and item.title == "Clés changées"


def test_a_line_carries_several_checks_and_an_attestation(tmp_path: Path) -> None:
    doc = tmp_path / "c.md"
    doc.write_text(
        "# Host\n"
        "- [ ] 2 GB RAM, 1 CPU <!-- golive: memory min_gib=2; cpu min=1 on=web -->\n"
        '- [ ] Backups <!-- golive: newest_file_age directory=${backup_dir} pattern="a;b"; attest '
        '-->\n'
        "- [ ] Two comments <!-- golive: cpu min=1 --> <!-- golive: memory min_gib=1 -->\n"
        "- [ ] Signed <!-- golive: attest -->\n",
        encoding="utf-8",
    )
    two, backup, joined, signed = read_markdown(doc)
    assert [(b.check, b.params) for b in two.bindings] == [
        ("memory", {"min_gib": "2"}),
        ("cpu", {"min": "1"}),
    ]
    assert (two.check, two.params, two.targets, two.attest) == (
        "memory",
        {"min_gib": "2"},
        "web",
        False,
    )
    assert backup.attest and backup.partly_manual and not backup.manual
    assert backup.params == {"directory": "${backup_dir}", "pattern": "a;b"}
    assert [b.check for b in joined.bindings] == ["cpu", "memory"]
    assert signed.manual and not signed.attest and signed.bindings == ()


@pytest.mark.parametrize(
    "binding, message",
    [
        ("cpu min=1; memory on=a; disk_free on=b", "given twice with different values"),
        ("cpu min=1; attest who=me", "takes no parameters"),
        ("cpu min=1;; min=2", "must start with a check name"),
    ],
)
def test_malformed_multi_check_bindings(tmp_path: Path, binding: str, message: str) -> None:
    doc = tmp_path / "bad.md"
    doc.write_text(f"# T\n\n- [ ] x <!-- golive: {binding} -->\n", encoding="utf-8")
    with pytest.raises(ChecklistError, match=message):
        read_markdown(doc)


def test_line_binding_text_round_trips() -> None:
    from pytest_golive.checklist.model import parse_line_binding

    text = "memory min_gib=2 on=web; cpu min=1; file path='/srv/my app'; attest"
    parsed = parse_line_binding(text)
    assert parse_line_binding(parsed.text()) == parsed


def test_severity_is_the_lines_unless_it_is_another_word(tmp_path: Path) -> None:
    doc = tmp_path / "c.md"
    doc.write_text(
        "# T\n- [ ] a <!-- golive: cpu severity=warning -->\n"
        "- [ ] b <!-- golive: vulnerability_report severity=critical -->\n",
        encoding="utf-8",
    )
    line, report = read_markdown(doc)
    assert (line.severity, line.params) == ("warning", {})
    # A check's own parameter of that name: collection says if the check has none.
    assert (report.severity, report.params) == ("blocker", {"severity": "critical"})


def test_golive_items_lists_every_check_of_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from pytest_golive.tools.cli import main

    doc = tmp_path / "c.md"
    line = "- [ ] two <!-- golive: memory min_gib=1; cpu min=1; attest -->"
    doc.write_text(f"# H\n{line}\n", encoding="utf-8")
    assert main(["items", str(doc)]) == 0
    assert "[memory+cpu+attest]" in capsys.readouterr().out
    assert main(["items", str(doc), "--format", "json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["checks"] == [{"check": "memory", "params": {"min_gib": "1"}},
                              {"check": "cpu", "params": {"min": "1"}}]
    assert item["attest"] is True


def test_only_paired_emphasis_is_markup(tmp_path: Path) -> None:
    """A lone '*' or '_' is part of what the line says; pairs and code spans are markup."""
    doc = tmp_path / "c.md"
    doc.write_text(
        "## Security\n"
        '- [ ] **CORS Origins Restricted** (not ["*"])\n'
        "- [ ] **Technical Lead**: ________ Date: ____\n"
        "- [ ] *Logs* in `/var/log/*.log` and `__init__.py` rotate, 5 * 3 kept\n"
        "- [ ] IMS_Configs/IMS_ONE.config present, __bold__ and _em_ too\n",
        encoding="utf-8",
    )
    assert [i.title for i in read_markdown(doc)] == [
        'CORS Origins Restricted (not ["*"])',
        "Technical Lead: ________ Date: ____",
        "Logs in /var/log/*.log and __init__.py rotate, 5 * 3 kept",
        "IMS_Configs/IMS_ONE.config present, bold and em too",
    ]
