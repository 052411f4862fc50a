"""Local stand-ins for the LTC analytics dashboard, so the example runs anywhere.

``python standin.py ROOT [--port N]`` lays out, under ROOT, the files the
checklist names on the server (``ltc/.env`` mode 600 and its template, the
deployed checkout, logs, a logrotate rule), then serves on 127.0.0.1:

* ``/health``, ``/openapi.json``, ``/docs``, ``/api/claims``: the FastAPI
  backend (``/api/claims`` answers 429 after 30 requests a minute);
* ``/dashboard/`` and ``/dashboard/static/app.js``: the Streamlit frontend
  behind nginx (gzip, cacheable static files).

It prints ``listening on PORT`` once it is ready. Snowflake is not stood in
here: the test creates a PostgreSQL database for that (see README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = b"<html><head><title>LTC Claims Dashboard</title></head><body>" + b"<div></div>" * 200 + b"</body></html>"
RATE_LIMIT = 30


def prepare(root: Path) -> None:
    """The server's files, as the deployment leaves them."""
    app = root / "ltc"
    # The pipeline's reports (STAND-IN: recorded from pytest and ruff; pip-audit's format),
    # stamped now as a fresh CI run's would be.
    ci = root / "ci"
    ci.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC).isoformat()
    for name in ("junit-unit.xml", "junit-integration.xml", "ruff.sarif", "pip-audit.json"):
        text = (HERE / "standin" / "ci" / name).read_text(encoding="utf-8")
        text = re.sub(r'timestamp="[^"]*"', f'timestamp="{now}"', text)
        (ci / name).write_text(text, encoding="utf-8")
    (app / "logs").mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "standin" / "app.env", app / ".env")
    os.chmod(app / ".env", 0o600)
    shutil.copy(HERE / "standin" / "env.template", app / "env.template")
    (app / "logs" / "backend.log").write_text('{"level": "INFO", "message": "started"}\n')
    src = app / "src"
    src.mkdir(exist_ok=True)
    (src / "settings.py").write_text('SNOWFLAKE_PASSWORD = os.environ["SNOWFLAKE_PASSWORD"]\n')
    subprocess.run(["git", "init", "-q", str(src)], check=True)
    subprocess.run(["git", "-C", str(src), "add", "settings.py"], check=True)
    rules = root / "logrotate.d"
    rules.mkdir(exist_ok=True)
    (rules / "ltc").write_text(f"{app}/logs/*.log {{\n    daily\n    rotate 14\n    compress\n}}\n")


class Handler(http.server.BaseHTTPRequestHandler):
    hits: list[float] = []
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/health":
            self.reply(200, "application/json", json.dumps({"status": "healthy", "snowflake": "connected"}).encode())
        elif self.path == "/openapi.json":
            doc = {"openapi": "3.0.0", "info": {"title": "LTC Claims API", "version": "1"}, "paths": {}}
            self.reply(200, "application/json", json.dumps(doc).encode())
        elif self.path == "/docs":
            self.reply(200, "text/html", b"<html><body>Swagger UI</body></html>")
        elif self.path == "/api/claims":
            self.reply(429 if self.limited() else 200, "application/json", b"[]")
        elif self.path == "/dashboard/":
            self.reply(200, "text/html", PAGE)
        elif self.path == "/dashboard/static/app.js":
            self.reply(200, "application/javascript", b"console.log('dashboard');\n",
                       {"Cache-Control": "public, max-age=86400", "ETag": '"app-1"'})
        else:
            self.reply(404, "text/plain", b"not found")

    def limited(self) -> bool:
        now = time.monotonic()
        with self.lock:
            self.hits[:] = [t for t in self.hits if now - t < 60] + [now]
            return len(self.hits) > RATE_LIMIT

    def reply(self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 1000:
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="where the server's files are laid out")
    parser.add_argument("--port", type=int, default=8742)
    args = parser.parse_args()
    prepare(args.root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
