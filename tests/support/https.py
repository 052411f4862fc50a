"""Real HTTP(S) servers and certificates in known states, on 127.0.0.1.

Servers are Python's own ``ThreadingHTTPServer`` wrapped in ``ssl``, each in
a thread on a random port; certificates come from ``cryptography`` (and the
``openssl`` command for a SHA-1 signature, which ``cryptography`` refuses to
make). Nothing here talks to any address outside 127.0.0.0/8.

Fixtures:
    https_lab: a session-wide :class:`Lab` that makes certificates, starts
        servers lazily and stops them all at the end.
"""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.targets.endpoint import EndpointTarget
from support import stop_process

LOOPBACK = "127.0.0.1"
DAY = dt.timedelta(days=1)

# --- certificates ----------------------------------------------------------------------


@dataclass(frozen=True)
class CertFiles:
    """A server certificate (leaf first, then its issuer unless self-signed) and key."""

    cert: Path
    key: Path


class CertFactory:
    """A private CA and leaf certificates in chosen states."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = _name("golive test CA")
        now = dt.datetime.now(dt.UTC)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - DAY)
            .not_valid_after(now + 3650 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()), critical=False
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_path = directory / "ca.pem"
        self.ca_path.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))
        self.ca_key_path = directory / "ca.key"
        self.ca_key_path.write_bytes(_key_pem(self.ca_key))

    def issue(
        self,
        label: str,
        *,
        hosts: tuple[str, ...] = ("localhost", LOOPBACK),
        valid_from_days: float = -1,
        valid_until_days: float = 365,
        key: str = "rsa2048",
        self_signed: bool = False,
    ) -> CertFiles:
        """A leaf for ``hosts`` valid from/until the given days from now."""
        leaf_key = _make_key(key)
        now = dt.datetime.now(dt.UTC)
        subject = _name(hosts[0])
        issuer_key = leaf_key if self_signed else self.ca_key
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject if self_signed else self.ca_cert.subject)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now + valid_from_days * DAY)
            .not_valid_after(now + valid_until_days * DAY)
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        )
        if not self_signed:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()),
                critical=False,
            )
        cert = builder.sign(issuer_key, hashes.SHA256())
        pem = cert.public_bytes(serialization.Encoding.PEM)
        return self._write(label, pem, leaf_key, chain=not self_signed)

    def issue_sha1(
        self, label: str, *, hosts: tuple[str, ...] = ("localhost", LOOPBACK)
    ) -> CertFiles:
        """A leaf signed by the CA with SHA-1, made with the openssl command."""
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.fail("the openssl command is needed to make a SHA-1 signed certificate")
        leaf_key = _make_key("rsa2048")
        key_path = self.dir / f"{label}.key"
        key_path.write_bytes(_key_pem(leaf_key))
        csr = self.dir / f"{label}.csr"
        ext = self.dir / f"{label}.ext"
        sans = ",".join(("IP:" if _is_ip(h) else "DNS:") + h for h in hosts)
        ext.write_text(f"subjectAltName={sans}\nbasicConstraints=critical,CA:FALSE\n")
        leaf = self.dir / f"{label}.leaf.pem"
        subprocess.run(
            [
                openssl,
                "req",
                "-new",
                "-key",
                str(key_path),
                "-subj",
                f"/CN={hosts[0]}",
                "-out",
                str(csr),
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                openssl,
                "x509",
                "-req",
                "-in",
                str(csr),
                "-CA",
                str(self.ca_path),
                "-CAkey",
                str(self.ca_key_path),
                "-set_serial",
                "4242",
                "-days",
                "200",
                "-sha1",
                "-extfile",
                str(ext),
                "-out",
                str(leaf),
            ],
            check=True,
            capture_output=True,
        )
        return self._write(label, leaf.read_bytes(), leaf_key, chain=True)

    def _write(self, label: str, leaf_pem: bytes, key: Any, *, chain: bool) -> CertFiles:
        cert_path = self.dir / f"{label}.pem"
        ca_pem = self.ca_cert.public_bytes(serialization.Encoding.PEM)
        cert_path.write_bytes(leaf_pem + (ca_pem if chain else b""))
        key_path = self.dir / f"{label}.key"
        key_path.write_bytes(_key_pem(key))
        return CertFiles(cert_path, key_path)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _san(host: str) -> x509.GeneralName:
    if _is_ip(host):
        return x509.IPAddress(ipaddress.ip_address(host))
    return x509.DNSName(host)


def _make_key(kind: str) -> Any:
    if kind == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa1024":
        return rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# --- servers ---------------------------------------------------------------------------

#: A route answers (status, headers, body) for a request handler.
Answer = tuple[int, dict[str, str], bytes]
Route = Answer | Callable[[BaseHTTPRequestHandler], Answer]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # a stuck client cannot hold a handler thread for long

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def _answer(self, with_body: bool) -> None:
        routes: dict[str, Route] = self.server.routes  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        route = routes.get(path)
        if route is None:
            status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found\n"
        else:
            status, headers, body = route(self) if callable(route) else route
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._answer(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(False)

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._answer(False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Handshake failures and dropped clients are what fault tests cause.
        pass


@dataclass
class Running:
    """A started server: where it listens and how to stop it."""

    url: str
    port: int
    stop: Callable[[], None]


def serve(
    routes: dict[str, Route],
    *,
    cert: CertFiles | None = None,
    min_version: ssl.TLSVersion | None = None,
    max_version: ssl.TLSVersion | None = None,
    weak_ok: bool = False,
) -> Running:
    """Start an HTTP(S) server on 127.0.0.1 with ``routes`` in a thread."""
    server = _Server((LOOPBACK, 0), _Handler)
    server.routes = routes  # type: ignore[attr-defined]
    scheme = "http"
    if cert is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if weak_ok:
            # Let OpenSSL serve weak keys, SHA-1 signatures and old protocols:
            # the very states the checks must catch.
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 on purpose
            if min_version is not None:
                ctx.minimum_version = min_version
            if max_version is not None:
                ctx.maximum_version = max_version
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
        server.socket = ctx.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        scheme = "https"
    port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
    )
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return Running(f"{scheme}://{LOOPBACK}:{port}", port, stop)


def silent_listener() -> tuple[socket.socket, int]:
    """A socket that accepts connections (kernel backlog) and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    sock.listen(16)
    return sock, sock.getsockname()[1]


def refused_port() -> tuple[socket.socket, int]:
    """A port bound but not listening: connections are refused, and no one else takes it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    return sock, sock.getsockname()[1]


# --- routes for the endpoint checks ----------------------------------------------------

ALLOWED_ORIGIN = "https://app.example.com"
BIG_BODY = b"x" * (10 * 1024 * 1024)


def _json(data: Any, status: int = 200, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(data).encode()


def _text(body: str, status: int = 200, **headers: str) -> Answer:
    return status, {"Content-Type": "text/plain", **headers}, body.encode()


def _slow(handler: BaseHTTPRequestHandler) -> Answer:
    threading.Event().wait(0.2)
    return _text("slow\n")


def _gzip(handler: BaseHTTPRequestHandler) -> Answer:
    body = ("compress me " * 200).encode()
    if "gzip" in handler.headers.get("Accept-Encoding", ""):
        return (
            200,
            {"Content-Type": "text/plain", "Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
            gzip.compress(body),
        )
    return 200, {"Content-Type": "text/plain"}, body


def _private(handler: BaseHTTPRequestHandler) -> Answer:
    if handler.headers.get("Authorization") != "Bearer lab-token-123":
        return _text("login first\n", 401, **{"WWW-Authenticate": "Bearer"})
    return _text("secret data\n")


def _cors_strict(handler: BaseHTTPRequestHandler) -> Answer:
    origin = handler.headers.get("Origin", "")
    headers = {"Vary": "Origin"}
    if origin == ALLOWED_ORIGIN:
        headers |= {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
        }
    return _text("cors\n", **headers)


def _cors_reflect(handler: BaseHTTPRequestHandler) -> Answer:
    origin = handler.headers.get("Origin", "")
    return _text(
        "cors\n",
        **{"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true"},
    )


def _limited(limit: int) -> Route:
    count = {"n": 0}
    lock = threading.Lock()

    def route(handler: BaseHTTPRequestHandler) -> Answer:
        with lock:
            count["n"] += 1
            n = count["n"]
        if n > limit:
            return _text("slow down\n", 429, **{"Retry-After": "30"})
        return _text("ok\n")

    return route


GOOD_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'",
}


def app_routes() -> dict[str, Route]:
    """The application the endpoint checks are proven against: good and bad paths."""
    return {
        "/": _text("hello from the lab\nversion 1.4.2\n"),
        "/health": _json(
            {
                "status": "ok",
                "database": {"status": "ok", "latency_ms": 3},
                "ready": True,
                "checks": [{"name": "db", "status": "ok"}],
            }
        ),
        "/health-degraded": _json(
            {"status": "degraded", "database": {"status": "down"}, "ready": False}, 200
        ),
        "/not-json": _text("<html>oops</html>"),
        "/missing": _text("gone\n", 404),
        "/slow": _slow,
        "/secure": _text("secure\n", **GOOD_HEADERS),
        "/csp-frames": _text(
            "csp\n",
            **{
                "Strict-Transport-Security": "max-age=63072000",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
            },
        ),
        "/weak-hsts": _text(
            "weak\n", **{**GOOD_HEADERS, "Strict-Transport-Security": "max-age=300"}
        ),
        "/cors-strict": _cors_strict,
        "/cors-reflect": _cors_reflect,
        "/cors-star": _text(
            "cors\n",
            **{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"},
        ),
        "/cors-public": _text("cors\n", **{"Access-Control-Allow-Origin": "*"}),
        "/private": _private,
        "/gzip": _gzip,
        "/static/app.js": _text("js\n", **{"Cache-Control": "public, max-age=31536000, immutable"}),
        "/static/etag.css": _text("css\n", ETag='"abc123"'),
        "/static/nocache.js": _text("js\n", **{"Cache-Control": "no-store"}),
        "/static/short.js": _text("js\n", **{"Cache-Control": "max-age=60"}),
        "/limited": _limited(5),
        "/openapi.json": _json(
            {"openapi": "3.1.0", "info": {"title": "lab", "version": "1"}, "paths": {"/health": {}}}
        ),
        "/docs": (200, {"Content-Type": "text/html"}, b"<html><body>API docs</body></html>"),
        "/big": (200, {"Content-Type": "application/octet-stream"}, BIG_BODY),
    }


# --- nginx ---------------------------------------------------------------------------

NGINX_CONF = """
daemon off;
master_process off;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type text/plain;
    gzip on;
    gzip_min_length 20;
    gzip_types text/plain application/json;
    server {{
        listen {host}:{http_port};
        return 301 https://{host}:{https_port}$request_uri;
    }}
    server {{
        listen {host}:{https_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
        add_header X-Content-Type-Options nosniff always;
        add_header X-Frame-Options DENY always;
        add_header Content-Security-Policy "default-src 'self'" always;
        location = /health {{
            default_type application/json;
            return 200 '{{"status": "ok", "database": {{"status": "ok"}}}}';
        }}
        location /static/ {{
            expires 7d;
            return 200 'static asset body';
        }}
        location /private {{
            return 401 'login first';
        }}
        location / {{
            return 200 'hello from nginx, a page long enough to be worth compressing';
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen[bytes], limit: float = 10.0) -> bool:
    """Readiness only: wait until the port accepts, or the process died."""
    import time

    end = time.monotonic() + limit
    while time.monotonic() < end and proc.poll() is None:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def start_nginx(directory: Path, cert: CertFiles) -> tuple[Running, Running] | str:
    """Debian's nginx on two random ports (http redirecting, https), or why it cannot run."""
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        return "nginx is not installed (apt-get install nginx-light)"
    directory.mkdir(parents=True, exist_ok=True)
    http_port, https_port = _free_port(), _free_port()
    conf = directory / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=directory, host=LOOPBACK, http_port=http_port,
                                      https_port=https_port, cert=cert.cert, key=cert.key))
    log = (directory / "error.log").open("wb")
    proc = subprocess.Popen([binary, "-e", "stderr", "-p", str(directory), "-c", str(conf)],
                            stdout=log, stderr=subprocess.STDOUT)
    if not (_wait_listening(https_port, proc) and _wait_listening(http_port, proc)):
        proc.kill()
        proc.wait()
        log.close()
        return "nginx did not start: " + (directory / "error.log").read_text()[-500:]

    def stop() -> None:
        stop_process(proc, timeout=5)
        log.close()

    return (Running(f"http://{LOOPBACK}:{http_port}", http_port, lambda: None),
            Running(f"https://{LOOPBACK}:{https_port}", https_port, stop))


# --- the lab ---------------------------------------------------------------------------


class Lab:
    """Certificates and servers for one test session, started on first use."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self._certs: CertFactory | None = None
        self._servers: dict[str, Running] = {}
        self._sockets: dict[str, tuple[socket.socket, int]] = {}
        self._lock = threading.RLock()  # a server may start the one it redirects to

    @property
    def certs(self) -> CertFactory:
        if self._certs is None:
            self._certs = CertFactory(self.dir)
        return self._certs

    @property
    def ca_bundle(self) -> str:
        return str(self.certs.ca_path)

    def cert(self, state: str) -> CertFiles:
        """A certificate in one of the known states."""
        f = self.certs
        makers: dict[str, Callable[[], CertFiles]] = {
            "valid": lambda: f.issue("valid"),
            "ec": lambda: f.issue("ec", key="ec256"),
            "expiring": lambda: f.issue("expiring", valid_until_days=3),
            "expired": lambda: f.issue("expired", valid_from_days=-60, valid_until_days=-2),
            "wrong_host": lambda: f.issue("wrong_host", hosts=("other.example",)),
            "self_signed": lambda: f.issue("self_signed", self_signed=True),
            "weak_key": lambda: f.issue("weak_key", key="rsa1024"),
            "sha1": lambda: f.issue_sha1("sha1"),
        }
        path = self.dir / f"{state}.pem"
        if path.exists():
            return CertFiles(path, self.dir / f"{state}.key")
        return makers[state]()

    def server(self, name: str) -> Running:
        """A named server (see :meth:`_start`), started once per session."""
        with self._lock:
            if name not in self._servers:
                self._servers[name] = self._start(name)
            return self._servers[name]

    def _start(self, name: str) -> Running:
        weak = {"weak_key", "sha1"}
        if name == "app":
            return serve(app_routes(), cert=self.cert("valid"))
        if name == "app_http":
            return serve(app_routes())
        if name.startswith("tls:"):
            state = name[4:]
            return serve({"/": _text("tls\n")}, cert=self.cert(state), weak_ok=state in weak)
        if name == "tls10":
            return serve({"/": _text("old\n")}, cert=self.cert("valid"),
                         min_version=ssl.TLSVersion.TLSv1, weak_ok=True)
        if name == "tls13_only":
            return serve({"/": _text("new\n")}, cert=self.cert("valid"),
                         min_version=ssl.TLSVersion.TLSv1_3)
        if name == "redirect_good":
            target = self.server("app").url
            return serve({"/": (301, {"Location": target + "/"}, b""),
                          "/login": (308, {"Location": target + "/login"}, b"")})
        if name == "redirect_bad":
            return serve({"/": (302, {"Location": "https://elsewhere.example/"}, b""),
                          "/plain": _text("no redirect here\n")})
        raise KeyError(name)

    def nginx(self) -> tuple[Running, Running] | str:
        """(http, https) servers of one nginx, or the reason it cannot run."""
        with self._lock:
            if "nginx" not in self._servers:
                started = start_nginx(self.dir / "nginx", self.cert("valid"))
                if isinstance(started, str):
                    return started
                self._servers["nginx"] = started[1]
                self._servers["nginx_http"] = started[0]
            return self._servers["nginx_http"], self._servers["nginx"]

    def silent_port(self) -> int:
        return self._socket("silent", silent_listener)

    def refused_port(self) -> int:
        return self._socket("refused", refused_port)

    def _socket(self, name: str, make: Callable[[], tuple[socket.socket, int]]) -> int:
        with self._lock:
            if name not in self._sockets:
                self._sockets[name] = make()
            return self._sockets[name][1]

    def endpoint(self, url: str, *, name: str = "lab", **options: Any) -> EndpointTarget:
        """An endpoint handle for ``url``, trusting the lab CA unless told otherwise."""
        if (
            url.startswith("https://")
            and "ca_bundle" not in options
            and options.get("verify", True) is not False
        ):
            options["ca_bundle"] = self.ca_bundle
        options.setdefault("timeout", 2.0)
        return EndpointTarget(TargetSpec("endpoint", name, (), {"url": url, **options}), Settings())

    def close(self) -> None:
        for running in self._servers.values():
            running.stop()
        for sock, _ in self._sockets.values():
            sock.close()


@pytest.fixture(scope="session")
def https_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Certificates and real HTTP(S) servers on 127.0.0.1, for the whole session."""
    lab = Lab(tmp_path_factory.mktemp("https-lab"))
    yield lab
    lab.close()
