"""Real database servers in known good and bad states, created and removed by the tests.

The machine's MariaDB (127.0.0.1:3306, root without password), PostgreSQL
(127.0.0.1:5432, trust, postgres) and Redis (127.0.0.1:6379, no auth, no
persistence) are used as they are; every database, schema and account a
test needs is created here under a unique name and dropped afterwards.
States the shared servers cannot be put in without changing them for
everyone (Redis with a password, persistence and renamed commands) come
from a private ``redis-server`` started in a temporary directory.

In CI a missing server fails the run (:func:`support.require`).
"""

from __future__ import annotations

import secrets as pysecrets
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.secrets import Secret
from pytest_golive.targets.database import DatabaseTarget
from support import require, stop_process

HOST = "127.0.0.1"
MYSQL_PORT, PG_PORT, REDIS_PORT = 3306, 5432, 6379

#: Columns and indexes of the table the integration-service checklist names.
IMS_TABLE = """CREATE TABLE ims_transaction_logs (
    id INT AUTO_INCREMENT PRIMARY KEY,
    transaction_id VARCHAR(255) UNIQUE NOT NULL,
    source_system VARCHAR(50) NOT NULL,
    transaction_type VARCHAR(50) NOT NULL,
    status VARCHAR(50) NOT NULL,
    ims_response TEXT,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
    {indexes}
)"""
IMS_INDEXES = ", INDEX idx_status (status), INDEX idx_created_at (created_at)"
SAMPLE_ROWS = 3


def port_open(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def planted_password(tag: str) -> str:
    """A distinctive password, so a leak of it anywhere can be searched for."""
    return f"Pl4nted-{tag}-{pysecrets.token_hex(6)}"


def db_target(dsn: str, name: str = "db", **options: Any) -> DatabaseTarget:
    """A real DatabaseTarget for ``dsn``, with short timeouts fit for tests.

    A DSN carrying a password is wrapped in a Secret, as the configuration
    loader does, so the target's label never shows it.
    """
    options.setdefault("connect_timeout", 5)
    options.setdefault("query_timeout", 10)
    value: str | Secret = Secret(dsn, f"{name} dsn") if urlsplit(dsn).password else dsn
    return DatabaseTarget(TargetSpec("database", name, (), {"dsn": value, **options}), Settings())


def dsn(
    scheme: str, port: int, user: str | None = None, password: str | None = None, database: str = ""
) -> str:
    auth = ""
    if user is not None:
        auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "") + "@"
    return f"{scheme}://{auth}{HOST}:{port}/{database}"


@pytest.fixture
def targets() -> Iterator[list[DatabaseTarget]]:
    """Targets a test opens register here and are closed at its end."""
    opened: list[DatabaseTarget] = []
    yield opened
    for target in opened:
        target.close()


# --- MariaDB / MySQL -------------------------------------------------------------------


@dataclass
class MysqlLab:
    """Names and accounts created on the machine's MariaDB for one test session."""

    good: str
    bad: str
    app_user: str
    app_password: str
    over_user: str
    wide_user: str
    other_password: str
    extra: list[str] = field(default_factory=list)

    def dsn(
        self, user: str = "root", password: str | None = None, database: str | None = None
    ) -> str:
        return dsn("mysql", MYSQL_PORT, user, password, self.good if database is None else database)

    def app(self, database: str | None = None, **options: Any) -> DatabaseTarget:
        return db_target(self.dsn(self.app_user, self.app_password, database), "app-db", **options)

    def root(self, database: str | None = None, **options: Any) -> DatabaseTarget:
        return db_target(self.dsn("root", None, database), "root-db", **options)


def _mysql_admin() -> Any:
    import pymysql

    return pymysql.connect(host=HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)


@pytest.fixture(scope="session")
def mysql_lab() -> Iterator[MysqlLab]:
    """Two databases and three accounts on the machine's MariaDB.

    * ``good``: utf8mb4, ``ims_transaction_logs`` with idx_status and
      idx_created_at, three sample rows.
    * ``bad``: latin1, the same table without idx_created_at, no rows.
    * app account: SELECT, INSERT, UPDATE, DELETE on ``good`` only (the
      least-privilege state); over account: ALL on ``good`` and SELECT on
      ``bad``; wide account: ALL PRIVILEGES ON *.* WITH GRANT OPTION.
    """
    require(port_open(MYSQL_PORT), f"MariaDB on {HOST}:{MYSQL_PORT}")
    tag = uuid.uuid4().hex[:8]
    lab = MysqlLab(
        good=f"golive_{tag}_good",
        bad=f"golive_{tag}_bad",
        app_user=f"golive_{tag}_app",
        app_password=planted_password("mysql"),
        over_user=f"golive_{tag}_over",
        wide_user=f"golive_{tag}_wide",
        other_password=pysecrets.token_hex(12),
    )
    conn = _mysql_admin()
    try:
        with conn.cursor() as cur:
            cur.execute(
                f"CREATE DATABASE `{lab.good}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
            cur.execute(f"CREATE DATABASE `{lab.bad}` CHARACTER SET latin1")
            cur.execute(f"USE `{lab.good}`")
            cur.execute(IMS_TABLE.format(indexes=IMS_INDEXES))
            for n in range(SAMPLE_ROWS):
                cur.execute(
                    "INSERT INTO ims_transaction_logs (transaction_id, source_system, "
                    "transaction_type, status)"
                    " VALUES (%s, 'erp', 'order', 'done')",
                    (f"tx-{n}",),
                )
            cur.execute(f"USE `{lab.bad}`")
            cur.execute(IMS_TABLE.format(indexes=", INDEX idx_status (status)"))
            for user, password in (
                (lab.app_user, lab.app_password),
                (lab.over_user, lab.other_password),
                (lab.wide_user, lab.other_password),
            ):
                cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
            cur.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{lab.good}`.* TO '{lab.app_user}'@'%'"
            )
            cur.execute(f"GRANT ALL PRIVILEGES ON `{lab.good}`.* TO '{lab.over_user}'@'%'")
            cur.execute(f"GRANT SELECT ON `{lab.bad}`.* TO '{lab.over_user}'@'%'")
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{lab.wide_user}'@'%' WITH GRANT OPTION")
        yield lab
    finally:
        with conn.cursor() as cur:
            for user in (lab.app_user, lab.over_user, lab.wide_user, *lab.extra):
                cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            for db in (lab.good, lab.bad):
                cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        conn.close()


# --- PostgreSQL ------------------------------------------------------------------------


@dataclass
class PostgresLab:
    """A database with schemas ``app`` (good) and ``bad``, and roles, on the local PostgreSQL."""

    database: str
    latin1_database: str
    app_role: str
    super_role: str
    creator_role: str

    def target(
        self, user: str = "postgres", database: str | None = None, **options: Any
    ) -> DatabaseTarget:
        return db_target(
            dsn("postgresql", PG_PORT, user, None, database or self.database), "pg", **options
        )


def _pg_admin(dbname: str = "postgres") -> Any:
    import psycopg

    return psycopg.connect(host=HOST, port=PG_PORT, user="postgres", dbname=dbname, autocommit=True)


@pytest.fixture(scope="session")
def pg_lab() -> Iterator[PostgresLab]:
    """A UTF8 database with a good ``app`` schema and a ``bad`` one, a LATIN1 database, three roles.

    ``app`` holds ``ims_transaction_logs`` with idx_status and
    idx_created_at and three sample rows; ``bad`` the same table without
    idx_created_at. The app role may USAGE ``app`` and SELECT, INSERT,
    UPDATE, DELETE its table; the super role is a superuser; the creator
    role may create databases and roles and SELECT in ``bad``.
    """
    require(port_open(PG_PORT), f"PostgreSQL on {HOST}:{PG_PORT}")
    tag = uuid.uuid4().hex[:8]
    lab = PostgresLab(
        database=f"golive_{tag}",
        latin1_database=f"golive_{tag}_latin1",
        app_role=f"golive_{tag}_app",
        super_role=f"golive_{tag}_super",
        creator_role=f"golive_{tag}_creator",
    )
    admin = _pg_admin()
    try:
        admin.execute(f"CREATE DATABASE \"{lab.database}\" ENCODING 'UTF8' TEMPLATE template0")
        admin.execute(
            f"CREATE DATABASE \"{lab.latin1_database}\" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE "
            "'C' TEMPLATE template0"
        )
        admin.execute(f'CREATE ROLE "{lab.app_role}" LOGIN')
        admin.execute(f'CREATE ROLE "{lab.super_role}" LOGIN SUPERUSER')
        admin.execute(f'CREATE ROLE "{lab.creator_role}" LOGIN CREATEDB CREATEROLE')
        with _pg_admin(lab.database) as conn:
            table = IMS_TABLE.replace("INT AUTO_INCREMENT", "SERIAL").replace(
                " ON UPDATE CURRENT_TIMESTAMP", ""
            )
            for schema, has_created_index in (("app", True), ("bad", False)):
                conn.execute(f"CREATE SCHEMA {schema}")
                conn.execute(f"SET search_path TO {schema}")
                conn.execute(table.format(indexes=""))
                conn.execute("CREATE INDEX idx_status ON ims_transaction_logs (status)")
                if has_created_index:
                    conn.execute("CREATE INDEX idx_created_at ON ims_transaction_logs (created_at)")
            for n in range(SAMPLE_ROWS):
                conn.execute(
                    "INSERT INTO app.ims_transaction_logs (transaction_id, source_system, "
                    "transaction_type, status)"
                    " VALUES (%s, 'erp', 'order', 'done')",
                    (f"tx-{n}",),
                )
            conn.execute(f'GRANT USAGE ON SCHEMA app TO "{lab.app_role}"')
            conn.execute(
                'GRANT SELECT, INSERT, UPDATE, DELETE ON app.ims_transaction_logs TO '
                f'"{lab.app_role}"'
            )
            conn.execute(f'GRANT USAGE ON SCHEMA bad TO "{lab.creator_role}"')
            conn.execute(
                f'GRANT SELECT ON bad.ims_transaction_logs TO "{lab.creator_role}" WITH GRANT '
                'OPTION'
            )
        yield lab
    finally:
        for db in (lab.database, lab.latin1_database):
            admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        for role in (lab.app_role, lab.super_role, lab.creator_role):
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()


# --- Redis -----------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    """A redis-server of our own: password, AOF, maxmemory, dangerous commands renamed.

    CONFIG is disabled too, so persistence is read from INFO alone there.
    """

    port: int
    password: str
    directory: Path

    def target(
        self, password: str | None = None, user: str | None = None, **options: Any
    ) -> DatabaseTarget:
        pw = self.password if password is None else password
        return db_target(
            dsn("redis", self.port, user or "", pw or None, "0"), "private-redis", **options
        )

    def admin(self) -> Any:
        import redis

        return redis.Redis(host=HOST, port=self.port, password=self.password, socket_timeout=5)


@pytest.fixture(scope="session")
def machine_redis() -> DatabaseTarget:
    """The machine's Redis as it is: no password, no persistence, no memory limit."""
    require(port_open(REDIS_PORT), f"Redis on {HOST}:{REDIS_PORT}")
    return db_target(dsn("redis", REDIS_PORT, database="0"), "machine-redis")


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A redis-server in a temporary directory in the good state, stopped afterwards.

    An ``app`` ACL user that may run everything but ``@dangerous`` is added
    so the ACL path of the dangerous-commands check can be tested.
    """
    binary = shutil.which("redis-server")
    require(binary is not None, "redis-server binary")
    assert binary is not None
    directory = tmp_path_factory.mktemp("redis")
    server = PrivateRedis(free_port(), planted_password("redis"), directory)
    config = directory / "redis.conf"
    lines = [
        f"bind {HOST}",
        f"port {server.port}",
        f"dir {directory}",
        "daemonize no",
        "appendonly yes",
        'save ""',
        "maxmemory 64mb",
        "maxmemory-policy allkeys-lru",
        f"requirepass {server.password}",
        *(f'rename-command {cmd} ""' for cmd in ("FLUSHALL", "FLUSHDB", "KEYS", "CONFIG")),
        "rename-command DEBUG golive-debug-renamed",
        f"logfile {directory / 'redis.log'}",
    ]
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    proc = subprocess.Popen(
        [binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            if port_open(server.port):
                break
            if proc.poll() is not None:
                pytest.fail(
                    f"private redis-server exited: {(directory / 'redis.log').read_text()[-500:]}"
                )
            time.sleep(0.05)
        admin = server.admin()
        admin.execute_command(
            "ACL SETUSER", "app", "on", f">{server.password}", "~*", "+@all", "-@dangerous"
        )
        admin.close()
        yield server
    finally:
        stop_process(proc, timeout=10)


# --- private MariaDB: TLS and replication ----------------------------------------------


@dataclass
class PrivateMariadb:
    """A mariadbd of our own in a temporary directory, with TLS and a binary log."""

    port: int
    directory: Path
    ca: Path
    process: subprocess.Popen[bytes]

    def admin(self) -> Any:
        import pymysql

        return pymysql.connect(host=HOST, port=self.port, user="root", password="", autocommit=True)

    def execute(self, *statements: str) -> list[Any]:
        conn = self.admin()
        try:
            with conn.cursor(__import__("pymysql").cursors.DictCursor) as cur:
                rows: list[Any] = []
                for statement in statements:
                    cur.execute(statement)
                    rows = list(cur.fetchall())
                return rows
        finally:
            conn.close()

    def target(
        self, user: str = "root", password: str | None = None, query: str = "", **options: Any
    ) -> DatabaseTarget:
        return db_target(
            dsn("mysql", self.port, user, password, "") + query, "private-mariadb", **options
        )


def _mariadb_binaries() -> tuple[str | None, str | None, str | None]:
    return (
        shutil.which("mariadbd") or shutil.which("mysqld"),
        shutil.which("mariadb-install-db"),
        shutil.which("openssl"),
    )


def _start_mariadb(
    datadir: Path, port: int, server_id: int, tls: tuple[Path, Path] | None
) -> subprocess.Popen[bytes]:
    daemon = _mariadb_binaries()[0]
    assert daemon is not None
    args = [
        daemon, "--no-defaults", f"--datadir={datadir}", f"--socket={datadir}/mysqld.sock",
        f"--port={port}", f"--bind-address={HOST}", "--user=root", "--skip-name-resolve",
        "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M", f"--server-id={server_id}",
        "--log-bin=binlog", f"--pid-file={datadir}/mysqld.pid", f"--log-error={datadir}/error.log",
        f"--tmpdir={datadir.parent / 'tmp'}",
    ]
    if tls:
        cert, key = tls
        args += [f"--ssl-cert={cert}", f"--ssl-key={key}", f"--ssl-ca={cert}"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if port_open(port):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    log = (
        (datadir / "error.log").read_text(errors="replace")[-600:]
        if (datadir / "error.log").exists()
        else ""
    )
    stop_process(proc, timeout=30)
    pytest.fail(f"private mariadbd on port {port} did not start: {log}", pytrace=False)


def self_signed_cert(key: Path, cert: Path, common_name: str, *, days: int = 1,
                     ip_san: str | None = None, openssl: str = "openssl") -> None:
    """A self-signed certificate (its own CA) by the openssl command; fails the test if not."""
    extra = ["-addext", f"subjectAltName=IP:{ip_san}"] if ip_san else []
    result = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", str(days), "-subj", f"/CN={common_name}", *extra],
        capture_output=True, text=True, timeout=60,
    )
    if result.returncode != 0:
        pytest.fail(
            f"openssl could not make a test certificate: {result.stderr[-300:]}", pytrace=False
        )


@pytest.fixture(scope="session")
def mariadb_pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly installed, never started data directory, copied for each private server."""
    daemon, install, openssl = _mariadb_binaries()
    require(
        bool(daemon and install and openssl), "mariadbd, mariadb-install-db and openssl binaries"
    )
    assert install is not None and openssl is not None
    base = tmp_path_factory.mktemp("mariadb")
    data = base / "pristine"
    # A private tmpdir: concurrent bootstraps (xdist workers) must not share /tmp names.
    tmp = base / "tmp"
    tmp.mkdir()
    result = subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
         "--skip-test-db", "--user=root", "--innodb-log-file-size=8M", f"--tmpdir={tmp}"],
        capture_output=True, text=True, timeout=120,
    )
    if result.returncode != 0:
        pytest.fail(f"mariadb-install-db failed: {result.stderr[-600:]}", pytrace=False)
    self_signed_cert(base / "key.pem", base / "cert.pem", "127.0.0.1", days=2,
                     ip_san="127.0.0.1", openssl=openssl)
    return data


@pytest.fixture(scope="session")
def private_mariadb(mariadb_pristine: Path) -> Iterator[PrivateMariadb]:
    """A private MariaDB primary with TLS (self-signed cert for 127.0.0.1) and a binary log.

    Accounts: ``tls_app`` (REQUIRE SSL), ``plain_app`` (no requirement),
    ``repl`` (REPLICATION SLAVE, for the replica).
    """
    base = mariadb_pristine.parent
    datadir = base / "primary"
    shutil.copytree(mariadb_pristine, datadir)
    port = free_port()
    proc = _start_mariadb(datadir, port, 1, (base / "cert.pem", base / "key.pem"))
    server = PrivateMariadb(port, datadir, base / "cert.pem", proc)
    try:
        server.execute(
            "CREATE USER tls_app@'%' IDENTIFIED BY 'tls-app-pw' REQUIRE SSL",
            "CREATE USER plain_app@'%' IDENTIFIED BY 'plain-app-pw'",
            "CREATE USER repl@'%' IDENTIFIED BY 'repl-pw'",
            "GRANT REPLICATION SLAVE ON *.* TO repl@'%'",
        )
        yield server
    finally:
        stop_process(proc, timeout=30)


@pytest.fixture(scope="session")
def private_replica(
    private_mariadb: PrivateMariadb, mariadb_pristine: Path
) -> Iterator[PrivateMariadb]:
    """A private MariaDB replicating from :func:`private_mariadb`, running and caught up."""
    datadir = mariadb_pristine.parent / "replica"
    shutil.copytree(mariadb_pristine, datadir)
    port = free_port()
    proc = _start_mariadb(datadir, port, 2, None)
    replica = PrivateMariadb(port, datadir, private_mariadb.ca, proc)
    try:
        replica.execute(
            f"CHANGE MASTER TO MASTER_HOST='{HOST}', MASTER_PORT={private_mariadb.port},"
            " MASTER_USER='repl', MASTER_PASSWORD='repl-pw', MASTER_USE_GTID=slave_pos",
            "START SLAVE",
        )
        wait_replicating(replica)
        yield replica
    finally:
        stop_process(proc, timeout=30)


def wait_replicating(replica: PrivateMariadb, attempts: int = 200) -> None:
    """Until both replication threads run and the lag is known (or fail the test)."""
    status: dict[str, Any] = {}
    for _ in range(attempts):
        rows = replica.execute("SHOW SLAVE STATUS")
        status = rows[0] if rows else {}
        if (
            status.get("Slave_IO_Running") == "Yes"
            and status.get("Slave_SQL_Running") == "Yes"
            and status.get("Seconds_Behind_Master") is not None
        ):
            return
        time.sleep(0.05)
    pytest.fail(
        f"private replica did not start replicating: {status.get('Last_IO_Error') or status}",
        pytrace=False,
    )
