"""``golive bundle`` and ``golive verify BUNDLE``: the evidence set of a change ticket.

A real run writes its reports; the bundle is made from them and checked;
then every member is changed by one byte in turn, and the check must fail.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from pytest_golive.tools.bundle import mask_config
from pytest_golive.tools.cli import main

CONFIG = """\
checklists = ["checklist.md"]
waivers = "waivers.toml"
attestations = "attestations.toml"

[environments.prod]
description = "Production"

[environments.prod.hosts]
local = ["local://"]

[environments.prod.databases.main]
dsn = "mysql://ro:${DB_PASSWORD}@127.0.0.1:3306/shop"

[environments.prod.endpoints.api]
url = "http://127.0.0.1:9"
headers = { Authorization = "Bearer literal-token-4711" }

[environments.prod.vars]
api_key = "Lit3ralKey-9"
"""

CHECKLIST = """\
# Release
## Infrastructure
- [ ] Enough CPUs <!-- golive: cpu min=1 -->
## Sign-off
- [ ] Lead says yes
"""


def _read(bundle: Path) -> dict[str, bytes]:
    with tarfile.open(bundle, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()}


def _write(bundle: Path, files: dict[str, bytes]) -> None:
    with tarfile.open(bundle, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(pytester.path)
    monkeypatch.setenv("DB_PASSWORD", "Db-Secret-0815")
    pytester.makefile(".toml", golive=CONFIG, waivers="", attestations="")
    pytester.makefile(".md", checklist=CHECKLIST)
    result = pytester.runpytest("-p", "no:cacheprovider", "--golive=prod", "--golive-json=r.json",
                                "--junitxml=r.xml", "--golive-change=CHG-7", "-k", "cpus or lead")
    assert result.ret == 1  # the sign-off is pending
    return pytester.path


@pytest.mark.real_systems
def test_a_bundle_round_trips_through_verify(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", "r.json", "--junit", "r.xml", "-o", "b.tar.gz"]) == 0
    files = _read(run / "b.tar.gz")
    assert sorted(files) == ["checklists/checklist.md", "config/attestations.toml",
                             "config/golive.toml", "config/waivers.toml", "junit.xml",
                             "manifest.json", "report.html", "report.json", "report.md"]
    assert files["checklists/checklist.md"] == (run / "checklist.md").read_bytes()
    manifest = json.loads(files["manifest.json"])
    assert manifest["verdict"] == "NO-GO" and manifest["change"]["ticket"] == "CHG-7"
    capsys.readouterr()
    assert main(["verify", "b.tar.gz"]) == 0
    assert "b.tar.gz: intact: every member matches its manifest" in capsys.readouterr().out
    # no secret in any member
    for name, data in files.items():
        assert b"Db-Secret-0815" not in data, name
        assert b"literal-token-4711" not in data and b"Lit3ralKey-9" not in data, name


@pytest.mark.real_systems
def test_any_changed_byte_of_any_member_fails_verify(run: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", "r.json", "--junit", "r.xml", "-o", "b.tar.gz"]) == 0
    original = _read(run / "b.tar.gz")
    for name, data in original.items():
        variants = [data + b"\n"]  # one byte more (an empty waiver file too)
        for position in {0, len(data) // 2, len(data) - 1} if data else ():
            changed = bytearray(data)
            changed[position] = (changed[position] + 1) % 256
            variants.append(bytes(changed))
        for variant in variants:
            _write(run / "t.tar.gz", {**original, name: variant})
            capsys.readouterr()
            assert main(["verify", "t.tar.gz"]) == 1, name
            assert "NOT VERIFIED" in capsys.readouterr().out
    # a member taken out or slipped in
    _write(run / "t.tar.gz", {k: v for k, v in original.items() if k != "junit.xml"})
    assert main(["verify", "t.tar.gz"]) == 1
    _write(run / "t.tar.gz", {**original, "extra/note.txt": b"trust me"})
    assert main(["verify", "t.tar.gz"]) == 1
    # the archive itself damaged, wherever the byte is (gzip header, deflate stream,
    # trailer): never a traceback, always NOT VERIFIED (1) or one clear line (2)
    pristine = (run / "b.tar.gz").read_bytes()
    # gzip's header bytes 4-9 (mtime, flags, OS) are outside its CRC and say nothing of
    # the content; every other byte of the file is checked, by the CRC or the manifest
    header_metadata = set(range(4, 10))
    positions = {*range(0, len(pristine), max(1, len(pristine) // 200)),
                 *range(10), *range(len(pristine) - 8, len(pristine))} - header_metadata
    for position in sorted(positions):
        raw = bytearray(pristine)
        raw[position] ^= 0xFF
        (run / "t.tar.gz").write_bytes(bytes(raw))
        capsys.readouterr()
        code = main(["verify", "t.tar.gz"])
        captured = capsys.readouterr()
        assert code in (1, 2), position
        assert "Traceback" not in captured.out + captured.err
        if code == 2:
            assert "not a readable bundle" in captured.err, position


@pytest.mark.real_systems
def test_a_signed_bundle_detects_a_rewritten_manifest(run: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "k.pem"]) == 0
    assert main(["bundle", "r.json", "--sign-key", "k.pem", "-o", "b.tar.gz"]) == 0
    assert main(["verify", "b.tar.gz", "--public-key", "k.pub.pem"]) == 0
    files = _read(run / "b.tar.gz")
    assert json.loads(files["report.json"])["integrity"]["signature"]["algorithm"] == "ed25519"
    # someone edits the Markdown and recomputes the manifest's digests: only the key sees it
    from pytest_golive.report.json_report import canonical
    from pytest_golive.tools.bundle import _sha256

    md = files["report.md"].replace(b"NO-GO", b"GO")
    manifest = json.loads(files["manifest.json"])
    for member in manifest["members"]:
        if member["name"] == "report.md":
            member["sha256"], member["size"] = _sha256(md), len(md)
    manifest.pop("digest")
    signature = manifest.pop("signature")
    manifest["digest"] = _sha256(canonical(manifest))
    manifest["signature"] = signature
    _write(run / "t.tar.gz", {**files, "report.md": md,
                              "manifest.json": (json.dumps(manifest, indent=2) + "\n").encode()})
    capsys.readouterr()
    assert main(["verify", "t.tar.gz"]) == 0  # consistent, unsigned check: cannot tell
    assert "manifest.json: signed, but the signature was NOT checked: pass --public-key" in (
        capsys.readouterr().out)
    assert main(["verify", "t.tar.gz", "--public-key", "k.pub.pem"]) == 1
    assert "manifest.json: signature BAD" in capsys.readouterr().out


@pytest.mark.real_systems
def test_a_checklist_changed_since_the_run_is_refused(run: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (run / "checklist.md").write_text(CHECKLIST + "- [ ] One more\n")
    assert main(["bundle", "r.json", "-o", "b.tar.gz"]) == 2
    assert "changed since the run" in capsys.readouterr().err
    assert not (run / "b.tar.gz").exists()


def test_configuration_secrets_are_masked_but_references_kept() -> None:
    masked = mask_config(CONFIG)
    assert 'dsn = "mysql://ro:${DB_PASSWORD}@127.0.0.1:3306/shop"' in masked
    assert 'api_key = "*****"' in masked
    assert "Lit3ralKey-9" not in masked
    assert mask_config('dsn = "postgresql://app:hunter22@db/x"\n') == (
        'dsn = "postgresql://app:*****@db/x"\n')
    kept = 'password = "${PW}"\nname = "shop"\n'
    assert mask_config(kept) == kept


def test_verify_a_json_report_still_needs_a_key(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.json").write_text('{"environment": "x", "results": []}')
    assert main(["verify", str(tmp_path / "r.json")]) == 2
    assert "pass --public-key KEY" in capsys.readouterr().err


@pytest.mark.real_systems
def test_a_key_given_as_its_content_is_refused_without_echoing_it(
        run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--sign-key "$GOLIVE_SIGNING_KEY"` with the PEM itself in the variable: one line, no key."""
    assert main(["keygen", "k.pem"]) == 0
    pem = (run / "k.pem").read_text()
    capsys.readouterr()
    assert main(["bundle", "r.json", "--sign-key", pem, "-o", "b.tar.gz"]) == 2
    err = capsys.readouterr().err
    assert "the private key itself was given, not the path of its file" in err
    body = [line for line in pem.splitlines() if "-----" not in line]
    assert body and not any(line in err for line in body)
    assert not (run / "b.tar.gz").exists()


@pytest.mark.real_systems
def test_files_added_to_a_bundle_keep_no_literal_secret(run: Path) -> None:
    """`--add app.env`: its secret-looking values are masked, as config/ is; the rest stays."""
    (run / "app.env").write_text("API_KEY=Sh0rt-K3y-Val\nDEBUG=false\n"
                                 "DATABASE_URL=postgres://app:Pl41n-Pw-In-Env@db/app\n")
    (run / "blob.bin").write_bytes(b"\xff\xfe\x00binary")
    assert main(["bundle", "r.json", "--add", "app.env", "--add", "blob.bin",
                 "-o", "b.tar.gz"]) == 0
    files = _read(run / "b.tar.gz")
    assert files["extra/app.env"] == (b"API_KEY=*****\nDEBUG=false\n"
                                      b"DATABASE_URL=postgres://app:*****@db/app\n")
    assert files["extra/blob.bin"] == b"\xff\xfe\x00binary"
    assert main(["verify", "b.tar.gz"]) == 0
