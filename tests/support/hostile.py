"""Hostile and broken servers on loopback, for the fault matrix (tests/test_faults.py).

Each server is a real TCP listener on 127.0.0.1 whose connection handler
misbehaves in one way: resets the connection, trickles one byte per second,
sends an endless body, redirects in a loop, puts terminal escapes and HTML
in its status line and headers, accepts and never speaks (a stalled TLS
handshake or database greeting). Every handler is bounded in time and stops
when the client goes away or the fixture ends, so no test can leave traffic
running.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

#: The longest any handler keeps a connection, whatever the client does.
HANDLER_LIMIT_S = 60.0

Handler = Callable[[socket.socket, threading.Event], None]


@dataclass
class HostileServer:
    port: int
    stop: threading.Event
    connections: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _read_request(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data


def reset(conn: socket.socket, stop: threading.Event) -> None:
    """Read the request, then reset the connection (RST, not FIN)."""
    _read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def trickle(conn: socket.socket, stop: threading.Event) -> None:
    """Answer one byte per second, forever (until the client gives up)."""
    _read_request(conn)
    response = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000
    deadline = time.monotonic() + HANDLER_LIMIT_S
    for byte in response:
        if stop.is_set() or time.monotonic() > deadline:
            return
        try:
            conn.sendall(bytes([byte]))
        except OSError:
            return
        stop.wait(1.0)


def huge_body(conn: socket.socket, stop: threading.Event) -> None:
    """A 1 GB body, sent as fast as the client reads it."""
    _read_request(conn)
    size = 1 << 30
    try:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            + f"Content-Length: {size}\r\n\r\n".encode()
        )
        block = b"A" * 65536
        sent = 0
        deadline = time.monotonic() + HANDLER_LIMIT_S
        while sent < size and not stop.is_set() and time.monotonic() < deadline:
            conn.sendall(block)
            sent += len(block)
    except OSError:
        return


def redirect_loop(conn: socket.socket, stop: threading.Event) -> None:
    """Every path redirects to another path of the same server, without end."""
    request = _read_request(conn)
    path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b"/"
    target = b"/loop" + str(len(path)).encode() if len(path) < 50 else b"/loop"
    try:
        conn.sendall(
            b"HTTP/1.1 302 Found\r\nLocation: "
            + target
            + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    except OSError:
        return


#: What a hostile server puts in its status line and headers.
ESCAPES = "\x1b[31mRED\x1b[0m\x1b]0;owned\x07"
MARKUP = "<script>alert('golive')</script><img src=x onerror=alert(1)>"


def hostile_headers(conn: socket.socket, stop: threading.Event) -> None:
    """A 500 whose reason phrase and headers carry terminal escapes and HTML/JS."""
    _read_request(conn)
    body = f"{MARKUP}{ESCAPES}".encode()
    try:
        conn.sendall(
            f"HTTP/1.1 500 Err{ESCAPES}\r\n".encode("latin-1")
            + f"Server: {ESCAPES}{MARKUP}\r\n".encode("latin-1")
            + f"X-Frame-Options: {MARKUP}\r\n".encode("latin-1")
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
    except OSError:
        return


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept and never send a byte: a stalled TLS handshake, a database with no greeting."""
    stop.wait(HANDLER_LIMIT_S)


@pytest.fixture
def hostile_server() -> Iterator[Callable[[Handler], HostileServer]]:
    """Start hostile servers: ``hostile_server(trickle).url``; all stop at teardown."""
    started: list[tuple[socket.socket, threading.Event, list[threading.Thread]]] = []

    def start(handler: Handler) -> HostileServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.2)
        stop = threading.Event()
        threads: list[threading.Thread] = []
        server = HostileServer(listener.getsockname()[1], stop)

        def serve(conn: socket.socket) -> None:
            with conn:
                handler(conn, stop)

        def accept_loop() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                server.connections.append(time.monotonic())
                thread = threading.Thread(target=serve, args=(conn,), daemon=True)
                threads.append(thread)
                thread.start()

        acceptor = threading.Thread(target=accept_loop, daemon=True)
        acceptor.start()
        threads.append(acceptor)
        started.append((listener, stop, threads))
        return server

    yield start
    for listener, stop, threads in started:
        stop.set()
        listener.close()
        for thread in threads:
            thread.join(timeout=5)
