"""Backup integrity against real archives, read on this machine and on a fleet host over SSH.

The archives are made by the real tools: tar, gzip, zstd, bzip2, zip, a
``pg_dump -Fc`` of a scratch database created on the machine's PostgreSQL and
a ``mysqldump`` of a scratch database on its MariaDB (both dropped again).
Each is checked whole (passes), cut short (fails), and beside a checksum file
that matches or not.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_golive.checks import backups
from pytest_golive.checks.registry import REGISTRY
from pytest_golive.checks.rules import Line
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError
from pytest_golive.targets.host import HostTarget
from support import require
from support.databases import port_open
from support.fleet import Fleet


def run(check_name: str, /, *target: object, **params: object):
    chk = REGISTRY.get(check_name)
    return chk.func(*target, **chk.validate(params))


def sh(*cmd: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, check=True, capture_output=True, timeout=120, **kw)  # type: ignore[call-overload]


@pytest.fixture(params=("local", "ssh"))
def host(request: pytest.FixtureRequest, fleet: Fleet) -> Iterator[HostTarget]:
    options = (
        {"url": "local://"} if request.param == "local" else fleet.options(fleet.hosts[0].ssh_url)
    )
    target = HostTarget(TargetSpec("host", request.param, (), options), Settings(connect_timeout=3))
    yield target
    target.close()


@pytest.fixture(scope="module")
def pg_dump_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real custom-format dump of a scratch database with a few thousand rows."""
    require(
        shutil.which("pg_dump") is not None and shutil.which("pg_restore") is not None,
        "pg_dump and pg_restore (postgresql-client)",
    )
    require(port_open(5432), "PostgreSQL on 127.0.0.1:5432")
    name = f"golive_bk_{uuid.uuid4().hex[:10]}"
    psql = ("psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q")
    sh(*psql, "-c", f"CREATE DATABASE {name}")
    try:
        sh(
            *psql,
            "-d",
            name,
            "-c",
            "CREATE TABLE orders (id int PRIMARY KEY, note text); "
            "INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 5000) g;",
        )
        out = tmp_path_factory.mktemp("pg") / "app.dump"
        sh("pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-Fc", "-f", str(out), name)
        # The same database as a plain SQL script, for the trailer check.
        sh("pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-f", str(out.with_suffix(".sql")), name)
    finally:
        sh(*psql, "-c", f"DROP DATABASE IF EXISTS {name}")
    return out


@pytest.fixture(scope="module")
def mysql_dump_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real mysqldump of a scratch database on the machine's MariaDB."""
    require(shutil.which("mysqldump") is not None, "mysqldump (mariadb-client)")
    require(port_open(3306), "MariaDB on 127.0.0.1:3306")
    name = f"golive_bk_{uuid.uuid4().hex[:10]}"
    mysql = ("mysql", "-h", "127.0.0.1", "-u", "root")
    sh(*mysql, "-e", f"CREATE DATABASE {name}")
    try:
        sh(
            *mysql,
            name,
            "-e",
            "CREATE TABLE t (id int PRIMARY KEY, v varchar(40)); "
            "INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');",
        )
        out = tmp_path_factory.mktemp("my") / "app.sql"
        with open(out, "wb") as f:
            subprocess.run(
                ["mysqldump", "-h", "127.0.0.1", "-u", "root", name],
                stdout=f,
                check=True,
                timeout=120,
            )
    finally:
        sh(*mysql, "-e", f"DROP DATABASE IF EXISTS {name}")
    return out


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def sha256_file(path: Path, digest: str | None = None, *, listing: bool = False) -> None:
    value = digest or hashlib.sha256(path.read_bytes()).hexdigest()
    if listing:
        (path.parent / "SHA256SUMS").write_text(f"{value}  {path.name}\n")
    else:
        Path(f"{path}.sha256").write_text(f"{value}  {path.name}\n")


def _facts(out: object) -> dict[str, str]:
    return {f["fact"]: f["observed"] for f in out.details["facts"]}  # type: ignore[attr-defined]


@pytest.mark.real_systems
def test_pg_custom_dump(host: HostTarget, shared_dir: Path, pg_dump_file: Path) -> None:
    dump = shared_dir / "app-2026-12-01.dump"
    shutil.copy(pg_dump_file, dump)
    sha256_file(dump)
    out = run(
        "backup_integrity", host, directory=str(shared_dir), pattern="*.dump", min_bytes="1024"
    )
    assert out.status == "passed", out
    facts = _facts(out)
    assert (
        facts["pg_restore read"] == "every data block read"
        and "TOC entries" in facts["pg_restore --list"]
    )
    assert facts["checksum"] == f"matches {dump}.sha256"
    # A dump cut in half still lists its contents: only reading the data shows it is broken.
    truncate(dump)
    sha256_file(dump)
    out = run("backup_integrity", host, directory=str(shared_dir), pattern="*.dump")
    assert out.status == "failed", out
    facts = _facts(out)
    assert "TOC entries" in facts["pg_restore --list"]
    assert "end of file" in facts["pg_restore read"], facts


@pytest.mark.real_systems
def test_pg_plain_dump(host: HostTarget, shared_dir: Path, pg_dump_file: Path) -> None:
    dump = shared_dir / "app.sql"
    shutil.copy(pg_dump_file.with_suffix(".sql"), dump)
    out = run("backup_integrity", host, directory=str(shared_dir), pattern="*.sql")
    assert out.status == "passed" and out.details["kind"] == "PostgreSQL plain dump", out
    text = dump.read_bytes()
    dump.write_bytes(text[: text.rindex(b"PostgreSQL database dump complete")])
    out = run("backup_integrity", host, directory=str(shared_dir), pattern="*.sql")
    assert out.status == "failed" and "no 'PostgreSQL database dump complete'" in out.observed


@pytest.mark.real_systems
def test_mysql_dump_plain_and_gzipped(
    host: HostTarget, shared_dir: Path, mysql_dump_file: Path
) -> None:
    dump = shared_dir / "db.sql"
    shutil.copy(mysql_dump_file, dump)
    out = run("backup_integrity", host, directory=str(shared_dir), pattern="db.sql")
    assert out.status == "passed" and "ends with '-- Dump completed'" in out.observed, out
    sh("gzip", "-k", str(dump))
    out = run("backup_integrity", host, directory=str(shared_dir), pattern="*.sql.gz")
    assert out.status == "passed" and "MySQL/MariaDB dump in gzip" == out.details["kind"], out
    # Cut short before its trailer (a dump killed half-way): the stream is fine, the dump is not.
    text = dump.read_bytes()
    dump.write_bytes(text[: text.rindex(b"-- Dump completed")])
    out = run("backup_integrity", host, directory=str(shared_dir), pattern="db.sql")
    assert out.status == "failed" and "the dump was cut short" in out.observed, out


@pytest.mark.real_systems
def test_compressed_tar_archives(host: HostTarget, shared_dir: Path, mysql_dump_file: Path) -> None:
    src = shared_dir / "src"
    src.mkdir()
    for i in range(30):
        (src / f"file{i}.txt").write_bytes(uuid.uuid4().bytes * 2000)
    shutil.copy(mysql_dump_file, src / "db.sql")
    for name, flag in (
        ("files.tar.gz", "-z"),
        ("files.tar.zst", "--zstd"),
        ("files.tar.bz2", "-j"),
        ("files.tar.xz", "-J"),
        ("files.tar", ""),
    ):
        archive = shared_dir / name
        sh("tar", "-C", str(src), *([flag] if flag else []), "-cf", str(archive), ".")
        out = run("backup_integrity", host, directory=str(shared_dir), pattern=name)
        assert out.status == "passed", (name, out)
        assert out.details["entries"] == 32  # ".", 30 files and db.sql
        truncate(archive, 0.6)
        out = run("backup_integrity", host, directory=str(shared_dir), pattern=name)
        assert out.status == "failed", (name, out)
        archive.unlink()


@pytest.mark.real_systems
def test_zip_and_plain_zstd(host: HostTarget, shared_dir: Path, mysql_dump_file: Path) -> None:
    require(shutil.which("zip") is not None and shutil.which("unzip") is not None, "zip and unzip")
    sh("zip", "-qj", str(shared_dir / "site.zip"), str(mysql_dump_file))
    assert (
        run("backup_integrity", host, directory=str(shared_dir), pattern="*.zip").status == "passed"
    )
    truncate(shared_dir / "site.zip", 0.7)
    assert (
        run("backup_integrity", host, directory=str(shared_dir), pattern="*.zip").status == "failed"
    )
    sh("zstd", "-q", str(mysql_dump_file), "-o", str(shared_dir / "db.sql.zst"))
    out = run("backup_integrity", host, directory=str(shared_dir), pattern="*.zst")
    assert out.status == "passed" and out.details["kind"] == "MySQL/MariaDB dump in zstd", out
    truncate(shared_dir / "db.sql.zst", 0.5)
    out = run("backup_integrity", host, directory=str(shared_dir), pattern="*.zst")
    assert out.status == "failed" and "zstd stream" in out.observed, out


@pytest.mark.real_systems
def test_checksums(host: HostTarget, shared_dir: Path, mysql_dump_file: Path) -> None:
    dump = shared_dir / "db.sql.gz"
    with open(dump, "wb") as f:
        subprocess.run(["gzip", "-c", str(mysql_dump_file)], stdout=f, check=True)
    where = {"directory": str(shared_dir), "pattern": "*.gz"}
    # No checksum: fine unless one is required.
    assert run("backup_integrity", host, **where).status == "passed"
    out = run("backup_integrity", host, checksum="true", **where)
    assert out.status == "failed" and "no checksum file beside it" in out.observed
    sha256_file(dump, listing=True)
    out = run("backup_integrity", host, checksum="true", **where)
    assert out.status == "passed" and f"matches {shared_dir}/SHA256SUMS" in out.observed, out
    sha256_file(dump, "0" * 64)  # db.sql.gz.sha256, looked at before SHA256SUMS
    out = run("backup_integrity", host, **where)
    assert out.status == "failed" and f"does not match {dump}.sha256" in out.observed, out
    assert run("backup_integrity", host, checksum="false", **where).status == "passed"


@pytest.mark.real_systems
def test_size_age_and_nothing_to_read(
    host: HostTarget, shared_dir: Path, mysql_dump_file: Path
) -> None:
    shutil.copy(mysql_dump_file, shared_dir / "db.sql")
    out = run("backup_integrity", host, directory=str(shared_dir), min_bytes="100000000")
    assert out.status == "failed" and ">= 100000000 bytes" in out.expected
    stamp = time.time() - 2 * 3600
    os.utime(shared_dir / "db.sql", (stamp, stamp))
    out = run("backup_integrity", host, directory=str(shared_dir), max_age_hours="1")
    assert out.status == "failed" and "younger than" in out.expected
    out = run("backup_integrity", host, directory=str(shared_dir), pattern="*.dump")
    assert out.status == "failed" and "no file matching *.dump" in out.observed
    (shared_dir / "notes.txt").write_text("not a backup\n" * 10)
    out = run("backup_integrity", host, directory=str(shared_dir), pattern="notes.txt")
    assert out.status == "failed" and "not a format this check can read" in out.observed
    with pytest.raises(CheckError, match="does not exist"):
        run("backup_integrity", host, directory=str(shared_dir / "none"))


@pytest.mark.real_systems
def test_reading_writes_nothing(host: HostTarget, shared_dir: Path, pg_dump_file: Path) -> None:
    shutil.copy(pg_dump_file, shared_dir / "a.dump")
    before = {p.name: p.stat().st_mtime_ns for p in shared_dir.iterdir()}
    assert run("backup_integrity", host, directory=str(shared_dir)).status == "passed"
    assert {p.name: p.stat().st_mtime_ns for p in shared_dir.iterdir()} == before


def test_identify_and_checksum_parsing() -> None:
    assert backups.identify(b"PGDMP\x01\x0e") is backups.Kind.PG_CUSTOM
    assert backups.identify(b"-- MariaDB dump 10.19\n") is backups.Kind.MYSQL_DUMP
    assert backups.identify(b"\x00" * 257 + b"ustar\x0000") is backups.Kind.TAR
    assert backups.parse_checksum_file("ab" * 32 + "\n", "x.gz") == "ab" * 32
    listing = f"{'cd' * 32}  other.gz\n{'ef' * 32} *x.gz\n"
    assert backups.parse_checksum_file(listing, "x.gz") == "ef" * 32
    assert backups.parse_checksum_file(listing, "y.gz") is None


def _line(title: str, context: str = "") -> Line:
    return Line(1, 0, title, title, context, "", False)


@pytest.mark.parametrize(
    "title, params",
    [
        ("Backup integrity verified", {"directory": "${backup_dir}"}),
        ("Checksum validation working", {"directory": "${backup_dir}", "checksum": "true"}),
        ("Backups in /srv/backups are restorable", {"directory": "/srv/backups"}),
        ("Database dumps validated", {"directory": "${backup_dir}"}),
        ("Latest backup is not corrupted", {"directory": "${backup_dir}"}),
    ],
)
def test_import_rule(title: str, params: dict[str, str]) -> None:
    proposal = backups._backup_integrity_rule(_line(title, "Backup and Recovery"))
    assert proposal is not None and proposal.candidates[0] == ("backup_integrity", params)


@pytest.mark.parametrize(
    "title",
    ["Backup restoration tested", "Automated backups configured", "Backups encrypted at rest"],
)
def test_import_rule_leaves_other_backup_lines(title: str) -> None:
    assert backups._backup_integrity_rule(_line(title)) is None
