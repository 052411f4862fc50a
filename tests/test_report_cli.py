"""``golive keygen / verify / report / diff`` on real JSON reports and real keys."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pytest_golive.core.results import RunResults
from pytest_golive.report.json_report import read_json, write_json
from pytest_golive.tools.cli import main
from test_report_render import mixed, model, result
from test_report_run import results_schema


def write_report(path: Path, run: RunResults, key: Path | None = None) -> Path:
    write_json(path, run.to_dict(), sign_key=key)
    return path


@pytest.fixture
def keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path]:
    private, public = tmp_path / "sign.pem", tmp_path / "sign.pub.pem"
    assert main(["keygen", str(private)]) == 0
    out = capsys.readouterr().out
    assert "key id:" in out and str(public) in out
    assert private.stat().st_mode & 0o077 == 0
    return private, public


def test_signed_report_verifies_intact(tmp_path: Path, keys: tuple[Path, Path],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path / "r.json", model(mixed(10)), keys[0])
    jsonschema.validate(read_json(report), results_schema(), cls=jsonschema.Draft202012Validator)
    assert main(["verify", str(report), "--public-key", str(keys[1])]) == 0
    assert ": intact: signed by key sha256:" in capsys.readouterr().out


def test_any_change_to_a_signed_report_is_detected(tmp_path: Path, keys: tuple[Path, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path / "r.json", model(mixed(10)), keys[0])
    document = json.loads(report.read_text())
    document["verdict"]["verdict"] = "GO"
    document["results"][1]["status"] = "passed"
    report.write_text(json.dumps(document, indent=1))
    assert main(["verify", str(report), "--public-key", str(keys[1])]) == 1
    assert "NOT VERIFIED: the signature does not match the content" in capsys.readouterr().out


def test_reformatting_a_signed_report_keeps_it_intact(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    """The signature covers canonical JSON, not bytes: re-indenting is not tampering."""
    report = write_report(tmp_path / "r.json", model(mixed(10)), keys[0])
    report.write_text(json.dumps(json.loads(report.read_text()), indent=None, sort_keys=False))
    assert main(["verify", str(report), "--public-key", str(keys[1])]) == 0


def test_another_key_does_not_verify(tmp_path: Path, keys: tuple[Path, Path],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path / "r.json", model(mixed(4)), keys[0])
    other = tmp_path / "other.pem"
    assert main(["keygen", str(other)]) == 0
    assert main(["verify", str(report), "--public-key", str(tmp_path / "other.pub.pem")]) == 1
    assert "signed with another key" in capsys.readouterr().out


def test_unsigned_report_is_not_verified(tmp_path: Path, keys: tuple[Path, Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path / "r.json", model(mixed(4)))
    assert main(["verify", str(report), "--public-key", str(keys[1])]) == 1
    assert "not signed" in capsys.readouterr().out


def test_verify_with_a_bad_key_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = write_report(tmp_path / "r.json", model(mixed(4)))
    (tmp_path / "k.pem").write_text("garbage")
    assert main(["verify", str(report), "--public-key", str(tmp_path / "k.pem")]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "not a PEM public key" in err


def test_keygen_never_overwrites(tmp_path: Path, keys: tuple[Path, Path],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    before = keys[0].read_bytes()
    assert main(["keygen", str(keys[0])]) == 2
    assert "not overwriting" in capsys.readouterr().err
    assert keys[0].read_bytes() == before


def test_rerender_keeps_the_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path / "r.json", model(mixed(12)))
    digest = read_json(report)["integrity"]["digest"]
    assert main(["report", str(report), "--html", str(tmp_path / "r.html"),
                 "--markdown", str(tmp_path / "r.md")]) == 0
    assert digest in (tmp_path / "r.html").read_text(encoding="utf-8")
    assert digest in (tmp_path / "r.md").read_text(encoding="utf-8")
    assert digest in capsys.readouterr().out


def test_merge_environments_into_one_report(tmp_path: Path) -> None:
    staging = write_report(
        tmp_path / "staging.json", model([result(i) for i in range(5)], "staging")
    )
    prod = write_report(tmp_path / "prod.json", model(mixed(8), "prod"))
    assert (
        main(
            [
                "report",
                str(staging),
                str(prod),
                "--json",
                str(tmp_path / "all.json"),
                "--html",
                str(tmp_path / "all.html"),
            ]
        )
        == 0
    )
    merged = read_json(tmp_path / "all.json")
    jsonschema.validate(merged, results_schema(), cls=jsonschema.Draft202012Validator)
    assert merged["environment"] == "staging + prod"
    assert len(merged["results"]) == 13
    assert {r["environment"] for r in merged["results"]} == {"staging", "prod"}
    assert [(r["environment"], r["verdict"]) for r in merged["runs"]] == [
        ("staging", "GO"),
        ("prod", "NO-GO"),
    ]
    assert merged["verdict"]["verdict"] == "NO-GO"
    html = (tmp_path / "all.html").read_text(encoding="utf-8")
    assert "Merged runs" in html and read_json(prod)["integrity"]["digest"] in html


def test_merge_shards_of_one_run(tmp_path: Path) -> None:
    rows = [result(i) for i in range(6)]
    one = write_report(tmp_path / "a.json", model(rows[:3]))
    two = write_report(tmp_path / "b.json", model(rows[3:]))
    assert main(["report", str(one), str(two), "--json", str(tmp_path / "m.json")]) == 0
    merged = read_json(tmp_path / "m.json")
    assert merged["environment"] == "prod" and merged["verdict"]["verdict"] == "GO"
    assert len(merged["results"]) == 6 and all("environment" not in r for r in merged["results"])


def test_report_warns_about_a_changed_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = write_report(tmp_path / "r.json", model(mixed(4)))
    document = json.loads(report.read_text())
    document["environment"] = "other"
    report.write_text(json.dumps(document))
    assert main(["report", str(report), "--html", str(tmp_path / "r.html")]) == 0
    assert "digest does not match" in capsys.readouterr().err


def test_report_rejects_a_non_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.json").write_text('{"hello": 1}')
    assert main(["report", str(tmp_path / "x.json"), "--html", str(tmp_path / "x.html")]) == 2
    assert "not a golive JSON report" in capsys.readouterr().err


def test_diff_names_new_failures_fixes_and_waivers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = write_report(
        tmp_path / "old.json",
        model([result(1), result(2, "failed", True), result(3), result(4, "failed", True)]),
    )
    waiver = {
        "item": "infrastructure/item-4",
        "reason": "vendor fix due",
        "owner": "ops",
        "ticket": "CHG-9",
        "expires": "2099-01-01",
    }
    new = write_report(
        tmp_path / "new.json",
        model(
            [
                result(1, "failed", True),
                result(2),
                result(3),
                result(4, "waived", False, waiver=waiver, message="waived: vendor fix due"),
            ]
        ),
    )
    assert main(["diff", str(old), str(new), "--format", "json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert [c["item"] for c in diff["new_failures"]] == ["infrastructure/item-1 [web-1]"]
    assert [c["item"] for c in diff["fixed"]] == ["infrastructure/item-2 [web-2]"]
    assert [c["item"] for c in diff["new_waivers"]] == ["infrastructure/item-4 [web-4]"]
    assert main(["diff", str(old), str(new), "--fail-on-new"]) == 1
    text = capsys.readouterr().out
    assert "new failures: 1" in text and "fixed: 1" in text and "new waivers: 1" in text


def test_schema_command_prints_the_shipped_results_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema", "results"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == results_schema()
    jsonschema.Draft202012Validator.check_schema(schema)


def test_report_command_signs_a_merged_report(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    one = write_report(tmp_path / "a.json", model(mixed(3), "staging"))
    two = write_report(tmp_path / "b.json", model(mixed(3), "prod"))
    out = tmp_path / "merged.json"
    assert main(["report", str(one), str(two), "--json", str(out), "--sign-key", str(keys[0])]) == 0
    assert main(["verify", str(out), "--public-key", str(keys[1])]) == 0
