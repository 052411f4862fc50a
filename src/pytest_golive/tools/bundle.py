"""``golive bundle`` and ``golive verify BUNDLE``: one self-verifying evidence set.

An auditor asks for everything a go/no-go decision rested on, in one file
that shows any later change. A bundle is a ``.tar.gz`` holding:

- ``report.json`` (signed when a key is given), ``report.html``, ``report.md``;
- ``junit.xml`` when given;
- ``checklists/`` the checklist files exactly as run (their SHA-256 must match
  what the report recorded, else the bundle is refused);
- ``config/`` the configuration with secrets masked, and the waiver and
  attestation files it names;
- ``manifest.json``: every member's SHA-256 and size, the report's digest, and
  the manifest's own digest (and Ed25519 signature with a key).

``verify`` recomputes every digest: a changed byte in any member, a member
added or removed, or a manifest edited without the key is reported.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import re
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_golive.core.secrets import MASK, looks_secret, mask
from pytest_golive.report.json_report import (
    ReportError,
    body,
    canonical,
    digest,
    dumps_document,
    integrity_block,
    load_private_key,
    sign,
)

FORMAT = "golive-bundle-1"
MANIFEST = "manifest.json"
SUFFIXES = (".tar.gz", ".tgz")

#: ``scheme://user:password@host``: the password part, unless it is a ``${VAR}`` reference.
_URL_PASSWORD = re.compile(r"(\w+://[^:/@\s\"']+:)(?!\$\{)([^@\s\"']+)(@)")
#: ``key = "literal"`` anywhere in a TOML line (inline tables included).
_TOML_STRING = re.compile(
    r"""(?P<key>[\w.-]+)(?P<q0>"?)(?P<eq>\s*=\s*)(?P<q>["'])(?P<value>.*?)(?P=q)""")


def _mask_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if not value or not looks_secret(match.group("key")) or "${" in value or "://" in value:
        return match.group(0)
    quote = match.group("q")
    return f"{match.group('key')}{match.group('q0')}{match.group('eq')}{quote}{MASK}{quote}"


def mask_config(text: str) -> str:
    """The configuration with literal secrets replaced by ``*****``.

    ``${VAR}`` references stay (they say where a secret comes from, not what it
    is); a literal value of a key that looks secret is masked, a DSN or URL
    keeps everything but its password, and known secret values are masked
    wherever they appear.
    """
    out = _TOML_STRING.sub(_mask_pair, text)
    out = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), out)
    return mask(out)


#: ``KEY=value``, ``export KEY=value``, ``key: value`` on a line of its own (dotenv, INI, YAML).
_LINE_PAIR = re.compile(
    r"^(?P<head>[ \t]*(?:export[ \t]+)?(?P<key>[\w.-]+)[ \t]*[=:][ \t]*)(?P<value>\S.*?)[ \t]*$",
    re.MULTILINE)


def _mask_line_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if not looks_secret(match.group("key")) or "${" in value or value.strip("'\"") == "":
        return match.group(0)
    quote = value[0] if len(value) > 1 and value[0] in "'\"" and value.endswith(value[0]) else ""
    return match.group("head") + quote + MASK + quote


def mask_extra(data: bytes) -> bytes:
    """A file added with ``--add``, with literal secrets masked as in ``config/``.

    A text file's secret-looking keys lose their values (dotenv, INI, YAML and TOML pairs),
    DSNs their passwords; a file that is not UTF-8 text is kept as it is.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data
    return mask_config(_LINE_PAIR.sub(_mask_line_pair, text)).encode("utf-8")


@dataclass
class Member:
    name: str
    data: bytes


@dataclass
class BundleInputs:
    report: dict[str, Any]
    junit: Path | None = None
    config: Path | None = None
    extra: list[Path] = field(default_factory=list)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def collect_members(inputs: BundleInputs, sign_key: Path | None) -> list[Member]:
    from pytest_golive.report.html_report import render_html
    from pytest_golive.report.markdown_report import render_markdown

    data = body(inputs.report)
    recorded = (inputs.report.get("integrity") or {}).get("digest")
    if recorded and recorded != digest(data):
        raise ReportError("the JSON report's digest does not match its content: it was changed "
                          "after the run; bundle the report the run wrote")
    integrity = integrity_block(data, sign_key)
    document = {**data, "integrity": integrity}
    members = [
        Member("report.json", dumps_document(document).encode("utf-8")),
        Member("report.html", render_html(data, integrity["digest"],
                                          integrity.get("signature")).encode("utf-8")),
        Member("report.md", render_markdown(data, integrity["digest"]).encode("utf-8")),
    ]
    if inputs.junit is not None:
        members.append(Member("junit.xml", _read(inputs.junit, "--junit")))
    used: set[str] = set()
    for entry in data.get("checklists", []):
        path = Path(str(entry.get("path", "")))
        content = _read(path, "checklist")
        if entry.get("sha256") and hashlib.sha256(content).hexdigest() != entry["sha256"]:
            raise ReportError(f"{path}: changed since the run (its SHA-256 differs from the "
                              "report's): the bundle must hold the checklist exactly as run")
        members.append(Member(_unique(f"checklists/{path.name}", used), content))
    if inputs.config is not None:
        text = _read(inputs.config, "--config").decode("utf-8")
        members.append(Member(_unique(f"config/{inputs.config.name}", used),
                              mask_config(text).encode("utf-8")))
        for path in _named_files(inputs.config, text):
            if path.is_file():
                masked = mask(path.read_text(encoding="utf-8")).encode("utf-8")
                members.append(Member(_unique(f"config/{path.name}", used), masked))
    for path in inputs.extra:
        members.append(Member(_unique(f"extra/{path.name}", used),
                              mask_extra(_read(path, "--add"))))
    return members


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        stem, dot, suffix = name.rpartition(".")
        candidate = f"{stem}-{n}.{suffix}" if dot else f"{name}-{n}"
    used.add(candidate)
    return candidate


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ReportError(f"{what}: {path}: cannot read: {exc.strerror or exc}") from None


def _named_files(config: Path, text: str) -> list[Path]:
    """The waiver and attestation files the configuration names (any environment)."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return []
    if config.name == "pyproject.toml":
        data = data.get("tool", {}).get("golive", {})
    names = [data.get("waivers"), data.get("attestations")]
    for table in (data.get("environments") or {}).values():
        if isinstance(table, dict):
            names += [table.get("waivers"), table.get("attestations")]
    paths = [config.parent / str(n) for n in names if isinstance(n, str) and n]
    return list(dict.fromkeys(paths))


def manifest(members: list[Member], report: dict[str, Any], sign_key: Path | None) -> bytes:
    data = body(report)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "environment": data.get("environment", ""),
        "verdict": (data.get("verdict") or {}).get("verdict", ""),
        "report_digest": digest(data),
        "change": data.get("change") or {},
        "members": [{"name": m.name, "sha256": _sha256(m.data), "size": len(m.data)}
                    for m in members],
    }
    doc["digest"] = _sha256(canonical(doc))
    if sign_key is not None:
        doc["signature"] = sign(canonical({k: v for k, v in doc.items() if k != "signature"}),
                                load_private_key(sign_key))
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_bundle(out: Path, inputs: BundleInputs, sign_key: Path | None = None) -> dict[str, Any]:
    """Write the archive; return its manifest."""
    members = collect_members(inputs, sign_key)
    man = manifest(members, inputs.report, sign_key)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz") as tar:
        for member in [Member(MANIFEST, man), *members]:
            info = tarfile.TarInfo(member.name)
            info.size = len(member.data)
            info.mtime = int(dt.datetime.now(dt.UTC).timestamp())
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(member.data))
    result: dict[str, Any] = json.loads(man)
    return result


@dataclass
class BundleCheck:
    intact: bool
    lines: list[str]


def is_bundle(path: Path) -> bool:
    return str(path).endswith(SUFFIXES)


def verify_bundle(path: Path, public_key: Any | None = None) -> BundleCheck:
    """Every member against the manifest, the manifest against itself (and the key)."""
    from pytest_golive.report.json_report import verify as verify_report

    try:
        # The whole gzip stream is decompressed first, so its CRC and length are checked:
        # tarfile alone stops at the end-of-archive blocks and never reads (or checks) the
        # padding behind them, so a byte changed there went unnoticed.
        payload = gzip.decompress(path.read_bytes())
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:") as tar:
            files: dict[str, bytes] = {}
            for info in tar.getmembers():
                if not info.isfile():
                    return BundleCheck(False, [f"{info.name}: not a regular file"])
                handle = tar.extractfile(info)
                files[info.name] = handle.read() if handle else b""
    # zlib.error is not an OSError: a flipped byte inside the deflate stream raises it
    # where a flipped byte in the gzip header or trailer raises BadGzipFile (an OSError)
    except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
        raise ReportError(f"{path}: not a readable bundle ({type(exc).__name__}: {exc})") from None
    lines: list[str] = []
    ok = True
    if MANIFEST not in files:
        return BundleCheck(False, [f"{MANIFEST}: missing"])
    try:
        man = json.loads(files[MANIFEST])
        listed = {m["name"]: m for m in man["members"]}
    except (ValueError, KeyError, TypeError) as exc:
        return BundleCheck(False, [f"{MANIFEST}: unreadable ({exc})"])
    own = _sha256(canonical({k: v for k, v in man.items() if k not in ("digest", "signature")}))
    # byte for byte as written: whitespace added to the manifest is a change too
    as_written = (json.dumps(man, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if man.get("digest") != own or files[MANIFEST] != as_written:
        ok = False
        lines.append(f"{MANIFEST}: CHANGED (its digest does not match its content)")
    for name, entry in listed.items():
        data = files.get(name)
        if data is None:
            ok = False
            lines.append(f"{name}: MISSING")
        elif _sha256(data) != entry.get("sha256") or len(data) != entry.get("size"):
            ok = False
            lines.append(f"{name}: CHANGED (sha256 {_sha256(data)}, "
                         f"manifest {entry.get('sha256')})")
        else:
            lines.append(f"{name}: ok")
    for name in sorted(set(files) - set(listed) - {MANIFEST}):
        ok = False
        lines.append(f"{name}: NOT IN THE MANIFEST (added after the bundle was made)")
    report: dict[str, Any] | None = None
    if "report.json" in files:
        try:
            report = json.loads(files["report.json"])
        except ValueError:
            ok = False
            lines.append("report.json: not JSON")
    if report is not None:
        if digest(report) != man.get("report_digest") or (
                (report.get("integrity") or {}).get("digest") != digest(report)):
            ok = False
            lines.append("report.json: its digest does not match the manifest's report_digest")
    if public_key is not None:
        signature = man.get("signature")
        if not isinstance(signature, dict):
            ok = False
            lines.append(f"{MANIFEST}: not signed (make the bundle with --sign-key)")
        else:
            doc = {k: v for k, v in man.items() if k != "signature"}
            check = verify_report({**doc, "integrity": {"signature": signature,
                                                         "digest": digest(doc)}}, public_key)
            ok = ok and check.intact
            lines.append(f"{MANIFEST}: signature {'ok' if check.intact else 'BAD'}: {check.reason}")
        if report is not None:
            check = verify_report(report, public_key)
            ok = ok and check.intact
            lines.append(f"report.json: signature {'ok' if check.intact else 'BAD'}: "
                         f"{check.reason}")
    elif isinstance(man.get("signature"), dict):
        # Digests alone cannot tell a member rewritten together with the manifest: say so
        # rather than let "intact" read as "signed and unchanged".
        lines.append(f"{MANIFEST}: signed, but the signature was NOT checked: pass --public-key KEY"
                     " (without it, a member rewritten together with the manifest goes unnoticed)")
    return BundleCheck(ok, lines)
