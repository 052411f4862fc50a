"""Backup integrity: the newest backup is a whole, readable archive that matches its checksum.

"A backup ran" (``newest_file_age``) is not "a backup can be restored". This
family reads the newest matching file to its end with the tools that made or
would restore it, on the host where it lies, and writes nothing anywhere:

* compressed streams are tested with their own tool (``gzip -t``, ``zstd -t``,
  ``bzip2 -t``, ``xz -t``), which reads every byte and checks the stream's CRC;
* archives are listed to their end (``tar -t``, ``unzip -t``);
* PostgreSQL custom-format dumps are read by ``pg_restore``: the table of
  contents (``--list``) and then every data block, written to ``/dev/null``,
  since a cut-off dump still lists its contents;
* SQL dumps must end with their tool's completion line: mysqldump's and
  mariadb-dump's ``-- Dump completed``, pg_dump's ``-- PostgreSQL database dump
  complete``;
* a checksum file beside it (``NAME.sha256``, ``SHA256SUMS``, ``.sha512``,
  ``.md5``) must match.

Facts are gathered in two commands (find and identify, then test) and judged by
one pure function, :func:`judge_backup`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from typing import Any

from pytest_golive.checks._shell import first_line, q
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget


class Kind(enum.Enum):
    """What a backup file is, outermost layer first."""

    GZIP = "gzip"
    ZSTD = "zstd"
    BZIP2 = "bzip2"
    XZ = "xz"
    TAR = "tar"
    ZIP = "zip"
    PG_CUSTOM = "PostgreSQL custom-format dump"
    MYSQL_DUMP = "MySQL/MariaDB dump"
    PG_PLAIN = "PostgreSQL plain dump"
    UNKNOWN = "unknown"


COMPRESSORS = {Kind.GZIP: "gzip", Kind.ZSTD: "zstd", Kind.BZIP2: "bzip2", Kind.XZ: "xz"}

_MAGIC: tuple[tuple[bytes, Kind], ...] = (
    (b"\x1f\x8b", Kind.GZIP),
    (b"\x28\xb5\x2f\xfd", Kind.ZSTD),
    (b"BZh", Kind.BZIP2),
    (b"\xfd7zXZ\x00", Kind.XZ),
    (b"PK\x03\x04", Kind.ZIP),
    (b"PK\x05\x06", Kind.ZIP),  # an empty zip
    (b"PGDMP", Kind.PG_CUSTOM),
)

#: Checksum files, by how they are named: (suffix or file name, algorithm tool).
CHECKSUM_SUFFIXES = (
    (".sha256", "sha256sum"),
    (".sha256sum", "sha256sum"),
    (".sha512", "sha512sum"),
    (".sha512sum", "sha512sum"),
    (".md5", "md5sum"),
)
CHECKSUM_LISTS = (
    ("SHA256SUMS", "sha256sum"),
    ("sha256sums.txt", "sha256sum"),
    ("SHA512SUMS", "sha512sum"),
    ("MD5SUMS", "md5sum"),
)


def identify(head: bytes) -> Kind:
    """A file's kind from its first bytes (512 are enough for tar's ``ustar`` mark)."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[257:262] == b"ustar":
        return Kind.TAR
    text = head[:512].decode("utf-8", "replace")
    if re.search(r"^-- (MySQL|MariaDB) dump", text, re.M) or "/*!40101 SET" in text:
        return Kind.MYSQL_DUMP
    if re.search(r"^-- PostgreSQL database dump", text, re.M):
        return Kind.PG_PLAIN
    return Kind.UNKNOWN


def is_checksum_file(name: str) -> bool:
    return name.endswith(tuple(s for s, _ in CHECKSUM_SUFFIXES)) or name in {
        n for n, _ in CHECKSUM_LISTS
    }


class Sum(enum.Enum):
    MATCH = "match"
    MISMATCH = "mismatch"
    ABSENT = "absent"
    NOT_LISTED = "not listed"


@dataclass
class BackupFacts:
    """What was found and what reading it said."""

    path: str
    size: int
    age_seconds: float
    layers: list[Kind]
    #: (what was run, passed, what it said) for every reading of the file.
    tests: list[tuple[str, bool, str]] = field(default_factory=list)
    entries: int | None = None
    checksum: Sum = Sum.ABSENT
    checksum_file: str = ""
    checksum_detail: str = ""

    @property
    def kind(self) -> str:
        return " in ".join(k.value for k in reversed(self.layers)) if self.layers else "empty"


def _age(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def judge_backup(
    facts: BackupFacts, *, min_bytes: int, checksum: bool | None, max_age_hours: float | None
) -> Outcome:
    """Every reading passed, the file is big enough, recent enough, and matches its checksum."""
    ev = Evidence()
    name = facts.path
    ev.add("size", facts.size >= min_bytes, f"{name}: {facts.size} bytes", f">= {min_bytes} bytes")
    if max_age_hours is not None:
        ev.add(
            "age",
            facts.age_seconds <= max_age_hours * 3600,
            f"{_age(facts.age_seconds)} old",
            f"younger than {max_age_hours:g} h",
        )
    last = facts.layers[-1] if facts.layers else Kind.UNKNOWN
    if last is Kind.UNKNOWN:
        ev.add(
            "format",
            False,
            f"not a format this check can read ({facts.kind})",
            "gzip, zstd, bzip2, xz, tar, zip, pg_dump -Fc or an SQL dump",
        )
    for what, ok, said in facts.tests:
        ev.add(what, ok, said, "read to the end without error")
    if checksum is not False:
        if facts.checksum is Sum.MATCH:
            ev.add("checksum", True, f"matches {facts.checksum_file}", "matches its checksum file")
        elif facts.checksum is Sum.MISMATCH:
            ev.add(
                "checksum",
                False,
                f"does not match {facts.checksum_file} ({facts.checksum_detail})",
                "matches its checksum file",
            )
        elif checksum:
            seen = (
                f"{facts.checksum_file} does not list it"
                if facts.checksum is Sum.NOT_LISTED
                else "no checksum file beside it"
            )
            ev.add(
                "checksum", False, seen, "a checksum file (NAME.sha256, SHA256SUMS) that matches"
            )
    details: dict[str, Any] = {
        "path": facts.path,
        "size": facts.size,
        "kind": facts.kind,
        "age_hours": round(facts.age_seconds / 3600, 2),
        "entries": facts.entries,
        "checksum": facts.checksum.value,
        "checksum_file": facts.checksum_file or None,
    }
    return ev.outcome(**details)


# --- reading on the host -----------------------------------------------------------------------

_MARK = "@@golive-"


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex("".join(text.split()))
    except ValueError:
        return b""


def _sections(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith(_MARK):
            name, _, rest = line[len(_MARK) :].partition(" ")
            current = name
            out[current] = f"{out[current]}\n{rest}" if current in out else rest
        elif current:
            out[current] += ("\n" if out[current] else "") + line
    return out


def _find_newest(host: HostTarget, directory: str, pattern: str) -> tuple[str, int, float]:
    result = host.run(
        f"test -d {q(directory)} || exit 3; date +%s; "
        f"find {q(directory)} -maxdepth 1 -type f -name {q(pattern)} -printf '%T@ %s %p\\n'"
    )
    if result.rc == 3:
        raise CheckError(f"host {host.name}: backup directory {directory} does not exist")
    if result.rc != 0 and "Permission denied" in str(result.stderr):
        raise CheckError(f"host {host.name}: cannot list {directory}: permission denied")
    lines = str(result.stdout).strip().splitlines()
    if not lines or not lines[0].strip().isdigit():
        cause = first_line(str(result.stderr)) or "no answer"
        raise CheckError(f"host {host.name}: listing {directory} failed: {cause}")
    now = float(lines[0])
    found: list[tuple[float, int, str]] = []
    for line in lines[1:]:
        fields = line.split(" ", 2)
        if len(fields) == 3 and not is_checksum_file(fields[2].rsplit("/", 1)[-1]):
            found.append((float(fields[0]), int(fields[1]), fields[2]))
    if not found:
        return "", 0, 0.0
    newest = max(found)
    return newest[2], newest[1], now - newest[0]


def _probe(name: str, command: str) -> str:
    """Run ``command``; print its last lines of output and its exit status under ``name``."""
    return (
        f'{{ {command} 2>&1; echo "@@rc $?"; }} | tail -n 5 | '
        f'sed -e "s/^@@rc /{_MARK}{name}-rc /" -e t -e "s/^/{_MARK}{name} /"; '
    )


def _script(path: str, outer: Kind, checksum_names: list[tuple[str, str]]) -> str:
    f = q(path)
    tool = COMPRESSORS.get(outer)
    cat = f"{tool} -dc -- {f}" if tool else f"cat -- {f}"
    script = (
        f'echo "{_MARK}tools $(for t in gzip zstd bzip2 xz tar unzip pg_restore sha256sum '
        f"sha512sum md5sum; do command -v $t >/dev/null 2>&1 && printf '%s ' $t; done)\"; "
    )
    if tool:
        script += _probe("stream", f"{tool} -t -- {f} >/dev/null")
    script += (
        f'echo "{_MARK}inner $({cat} 2>/dev/null | head -c 512 | od -An -tx1 -v | tr -d " \\n")"; '
        f'echo "{_MARK}tail $({cat} 2>/dev/null | tail -c 4096 | od -An -tx1 -v | tr -d " \\n")"; '
    )
    for checksum_file, algorithm in checksum_names:
        script += (
            f'[ -f {q(checksum_file)} ] && {{ echo "{_MARK}sumfile {checksum_file}"; '
            f'echo "{_MARK}sumtext $(head -c 65536 -- {q(checksum_file)} | base64 -w0)"; '
            f'echo "{_MARK}actual {algorithm} $({algorithm} -- {f} | cut -d" " -f1)"; }}; '
        )
    return script


def _test_script(path: str, outer: Kind, inner: Kind) -> str:
    f = q(path)
    tool = COMPRESSORS.get(outer)
    cat = f"{tool} -dc -- {f}" if tool else f"cat -- {f}"
    if inner is Kind.TAR:
        return (
            f'{{ {cat} | tar -tf - 2>&1; echo "{_MARK}tar-rc $?"; }} | awk '
            f"'/^{_MARK}/{{print; next}} /^tar: /{{e=$0; next}} {{n++}} "
            f'END{{print "{_MARK}tar-entries " n+0; if (e) print "{_MARK}tar " e}}\'; '
        )
    if inner is Kind.ZIP:
        return (
            _probe("zip", f"unzip -tq -- {f}")
            + f'echo "{_MARK}zip-entries $(unzip -Z1 -- {f} 2>/dev/null | wc -l)"; '
        )
    if inner is Kind.PG_CUSTOM:
        source = f if not tool else "-"
        feed = "" if not tool else f"{cat} | "
        return (
            _probe("pg-list", f"{feed}pg_restore --list {source} >/dev/null")
            + f'echo "{_MARK}pg-entries $({feed}pg_restore --list {source} 2>/dev/null '
            f"| grep -c '^[0-9]')\"; "
            + _probe("pg-read", f"{feed}pg_restore -f /dev/null {source}")
        )
    return ""


def _checksum_candidates(path: str) -> list[tuple[str, str]]:
    directory = path.rsplit("/", 1)[0] if "/" in path else "."
    names = [(path + suffix, tool) for suffix, tool in CHECKSUM_SUFFIXES]
    names += [(f"{directory}/{name}", tool) for name, tool in CHECKSUM_LISTS]
    return names


def _needs(kind: Kind) -> str | None:
    return {
        Kind.GZIP: "gzip",
        Kind.ZSTD: "zstd",
        Kind.BZIP2: "bzip2",
        Kind.XZ: "xz",
        Kind.TAR: "tar",
        Kind.ZIP: "unzip",
        Kind.PG_CUSTOM: "pg_restore",
    }.get(kind)


_PACKAGES = {
    "zstd": "zstd",
    "bzip2": "bzip2",
    "xz": "xz-utils",
    "unzip": "unzip",
    "pg_restore": "postgresql-client",
    "tar": "tar",
    "gzip": "gzip",
}


def parse_checksum_file(text: str, filename: str) -> str | None:
    """The expected digest for ``filename``: a bare digest, or ``DIGEST  NAME`` lines."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    for line in lines:
        m = re.fullmatch(r"([0-9a-fA-F]{32,128})(?:\s+\*?(.+))?", line)
        if not m:
            continue
        name = (m.group(2) or "").strip()
        if not name and len(lines) == 1:
            return m.group(1).lower()
        if name and (name == filename or name.rsplit("/", 1)[-1] == filename):
            return m.group(1).lower()
    return None


def gather(host: HostTarget, path: str, size: int, age: float, timeout: float) -> BackupFacts:
    head_result = host.run(f"head -c 512 -- {q(path)} | od -An -tx1 -v | tr -d ' \\n'")
    if head_result.rc != 0:
        cause = first_line(str(head_result.stderr)) or f"exit status {head_result.rc}"
        raise CheckError(f"host {host.name}: cannot read {path}: {cause}")
    outer = identify(_hex(str(head_result.stdout)))
    facts = BackupFacts(path, size, age, [outer] if size else [])
    result = host.run(_script(path, outer, _checksum_candidates(path)), timeout=timeout)
    parts = _sections(str(result.stdout))
    tools = set(parts.get("tools", "").split())
    if outer in COMPRESSORS:
        if COMPRESSORS[outer] not in tools:
            _missing(host, COMPRESSORS[outer], path)
        rc = parts.get("stream-rc", "").strip()
        said = " ".join(ln for ln in parts.get("stream", "").splitlines() if ln.strip())
        facts.tests.append(
            (
                f"{outer.value} stream",
                rc == "0",
                "intact (CRC checked)" if rc == "0" else first_line(said) or f"exit {rc}",
            )
        )
        inner = identify(_hex(parts.get("inner", "")))
        facts.layers.append(inner)
    else:
        inner = outer
    tail = _hex(parts.get("tail", "")).decode("utf-8", "replace")
    if inner is Kind.MYSQL_DUMP:
        done = bool(re.search(r"^-- Dump completed", tail, re.M))
        facts.tests.append(
            (
                "dump trailer",
                done,
                "ends with '-- Dump completed'"
                if done
                else "no '-- Dump completed' line at the end: the dump was cut short",
            )
        )
    elif inner is Kind.PG_PLAIN:
        done = "-- PostgreSQL database dump complete" in tail
        facts.tests.append(
            (
                "dump trailer",
                done,
                "ends with '-- PostgreSQL database dump complete'"
                if done
                else "no 'PostgreSQL database dump complete' at the end",
            )
        )
    elif inner in (Kind.TAR, Kind.ZIP, Kind.PG_CUSTOM):
        tool = _needs(inner)
        if tool and tool not in tools:
            _missing(host, tool, path)
        tested = host.run(_test_script(path, outer, inner), timeout=timeout)
        _archive_tests(facts, inner, _sections(str(tested.stdout)))
    _checksum(facts, parts, path)
    return facts


def _missing(host: HostTarget, tool: str, path: str) -> None:
    raise CheckError(
        f"host {host.name}: {tool} is not installed there: cannot read {path} "
        f"(install {_PACKAGES.get(tool, tool)})"
    )


def _archive_tests(facts: BackupFacts, inner: Kind, parts: dict[str, str]) -> None:
    if inner is Kind.TAR:
        facts.entries = _count(parts.get("tar-entries", "0"))
        _tool_test(facts, parts, "tar listing", "tar", f"{facts.entries} entries", "tar exit")
    elif inner is Kind.ZIP:
        facts.entries = _count(parts.get("zip-entries", ""))
        _tool_test(
            facts, parts, "zip test", "zip", f"{facts.entries} entries, no errors", "unzip exit"
        )
    elif inner is Kind.PG_CUSTOM:
        facts.entries = _count(parts.get("pg-entries", ""))
        _tool_test(
            facts, parts, "pg_restore --list", "pg-list", f"{facts.entries} TOC entries", "exit"
        )
        _tool_test(facts, parts, "pg_restore read", "pg-read", "every data block read", "exit")


def _count(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def _tool_test(
    facts: BackupFacts, parts: dict[str, str], name: str, key: str, passed: str, failed: str
) -> None:
    """One tool's test of the archive: its exit status in ``KEY-rc``, what it said in ``KEY``.

    ``passed`` is the evidence when it exited 0; otherwise its first line, or ``failed``
    and the exit status when it said nothing.
    """
    rc = parts.get(f"{key}-rc", "").strip()
    said = passed if rc == "0" else first_line(parts.get(key, "")) or f"{failed} {rc}"
    facts.tests.append((name, rc == "0", said))


def _checksum(facts: BackupFacts, parts: dict[str, str], path: str) -> None:
    sumfile = parts.get("sumfile", "").strip()
    if not sumfile:
        return
    import base64

    text = base64.b64decode(parts.get("sumtext", "").strip() or b"").decode("utf-8", "replace")
    algorithm, _, actual = parts.get("actual", "").strip().partition(" ")
    expected = parse_checksum_file(text, path.rsplit("/", 1)[-1])
    facts.checksum_file = sumfile
    if expected is None:
        facts.checksum = Sum.NOT_LISTED
    elif actual.strip().lower() == expected:
        facts.checksum = Sum.MATCH
    else:
        facts.checksum = Sum.MISMATCH
        facts.checksum_detail = f"{algorithm} {actual.strip()[:16]}... vs {expected[:16]}..."


@check(target="host", aliases=("backup_verified", "backup_readable"))
def backup_integrity(
    host: HostTarget,
    *,
    directory: str,
    pattern: str = "*",
    min_bytes: int = 1,
    checksum: bool | None = None,
    max_age_hours: float | None = None,
    timeout: float = 600,
) -> Outcome:
    """The newest backup in a directory is a whole, readable archive that matches its checksum.

    The newest file matching ``pattern`` (checksum files aside) is read to
    its end on the host: compressed streams with their own tool (gzip, zstd,
    bzip2, xz: CRCs checked), tar and zip archives listed, PostgreSQL
    custom-format dumps read by ``pg_restore`` (contents and every data block,
    to ``/dev/null``), SQL dumps required to end with mysqldump's ``-- Dump
    completed`` or pg_dump's ``dump complete`` line. A ``NAME.sha256``
    (``.sha512``, ``.md5``) or ``SHA256SUMS`` beside it must match. Nothing is
    restored and nothing is written.

    Args:
        directory: the directory holding the backups.
        pattern: a shell glob the backup names match, such as *.dump or db-*.sql.gz.
        min_bytes: the smallest acceptable size, in bytes.
        checksum: true to require a checksum file, false to ignore one; empty: verify when present.
        max_age_hours: the newest backup must be younger than this.
        timeout: seconds allowed for reading the backup.
    """
    path, size, age = _find_newest(host, directory, pattern)
    if not path:
        ev = Evidence()
        ev.add("backup", False, f"no file matching {pattern} in {directory}", "a backup to read")
        return ev.outcome(directory=directory)
    facts = gather(host, path, size, age, timeout)
    return judge_backup(facts, min_bytes=min_bytes, checksum=checksum, max_age_hours=max_age_hours)


# --- import rules ---------------------------------------------------------------------------


@proposes("backup_integrity")
def _backup_integrity_rule(line: Line) -> Proposal | None:
    """ "Backup integrity verified", "Checksum validation working", "Backups are restorable"."""
    t = line.lower
    checksum = bool(
        re.search(r"\b(checksums?|sha-?256|sha-?512|md5|hash(es)? (match|verified))\b", t)
    )
    backup = bool(re.search(r"\b(backups?|dumps?|archives?|snapshots?)\b", t))
    if not (backup or checksum):
        return None
    # "Backups working" is about backups being made (newest_file_age), not about
    # what is in them; "checksum validation working" is about their integrity.
    # A leading "Verify" is the checklist's imperative ("Verify automated backups
    # running"), not a claim that the backups are verified.
    t = re.sub(r"^\s*(verify|check|confirm|ensure)\b(\s+that\b)?", "", t)
    if not re.search(
        r"\b(integrity|verif\w*|validat\w*|valid|readable|restorable|can be restored|intact|"
        r"corrupt\w*|complete|checksums?)\b",
        t,
    ):
        return None
    if re.search(
        r"\b(restore (test|drill)|restoration tested|tested restore|off-?site|encrypt\w*|"
        r"retention|schedul\w*|download|package|image|artifact)\b",
        t,
    ):
        return None
    paths = [p for p in re.findall(r"(?<![\w.])(/[\w.@/-]+)", line.title + " " + line.code)]
    params = {"directory": paths[0] if paths else "${backup_dir}"}
    if checksum:
        params["checksum"] = "true"
    return Proposal(
        [("backup_integrity", params)],
        0.7 if backup or checksum else 0.5,
        "the newest backup reads to its end" + (" and matches its checksum" if checksum else ""),
    )
