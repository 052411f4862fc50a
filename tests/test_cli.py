"""The golive command: items, checks, attest, demo; mistakes are one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pytest_golive.tools.cli import main

SHARED = Path(__file__).resolve().parents[2] / "shared" / "checklists"


def test_items_json_is_the_reader_model(tmp_path: Path, capsys) -> None:
    doc = tmp_path / "c.md"
    doc.write_text(
        "## Hardware\n- [ ] CPUs <!-- golive: cpu min=4 -->\n- [ ] Group\n  - [ ] Child\n",
        encoding="utf-8",
    )
    assert main(["items", str(doc), "--format", "json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["id"] for i in items] == ["hardware/cpus", "hardware/group", "hardware/group/child"]
    first = items[0]
    assert {k: first[k] for k in ("section", "title", "check", "params", "manual", "parent")} == {
        "section": "hardware", "title": "CPUs", "check": "cpu", "params": {"min": "4"},
        "manual": False, "parent": None,
    }
    assert items[2]["parent"] == "hardware/group" and items[2]["manual"]


def test_items_on_real_checklists(capsys) -> None:
    paths = sorted(str(p) for p in SHARED.glob("*.md") if p.name != "README.md")
    assert main(["items", *paths, "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 151 + 231 + 130


def test_items_error_is_one_line(tmp_path: Path, capsys) -> None:
    doc = tmp_path / "bad.md"
    doc.write_text("- [ ] x <!-- golive: cpu min=\"4 -->\n", encoding="utf-8")
    assert main(["items", str(doc)]) == 2
    err = capsys.readouterr().err
    assert f"{doc}:1:" in err and "Traceback" not in err


def test_checks_json_lists_the_catalog(capsys) -> None:
    assert main(["checks", "--format", "json"]) == 0
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert {"cpu", "memory", "disk_free", "file", "package", "http_status"} <= set(checks)
    cpu = checks["cpu"]
    assert cpu["target"] == "host" and cpu["doc"]
    assert cpu["params"] == [{"name": "min", "type": "int", "required": False, "default": 1,
                              "doc": cpu["params"][0]["doc"]}]


def test_attest_writes_a_record_the_loader_reads(tmp_path: Path, capsys) -> None:
    from pytest_golive.core.verdict import load_attestations

    path = tmp_path / "attestations.toml"
    for _ in range(2):
        assert main(["attest", "signoff/security-officer", "--by", "Dana", "--ticket", "CHG-9",
                     "--file", str(path)]) == 0
    records = load_attestations(path)
    assert len(records) == 2 and records[0].by == "Dana" and records[0].ticket == "CHG-9"


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest_golive.tools.cli", "demo"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "GOLIVE demo: GO" in proc.stdout
    data = json.loads((tmp_path / "golive-demo.json").read_text())
    assert data["verdict"]["verdict"] == "GO"
    assert (tmp_path / "golive-demo.html").stat().st_size > 1000
