"""``golive demo``: a complete readiness run on this machine, in one command.

It writes a small project (golive.toml, a checklist, an attestation for the
sign-off line) into a directory, starts a local HTTP service on 127.0.0.1
for the endpoint checks, and runs pytest with the HTML and JSON reports.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from importlib import resources
from pathlib import Path

CONFIG = """\
# golive demo: this machine and a local HTTP service.
checklists = ["checklist.md"]
attestations = "attestations.toml"

[environments.demo]
description = "The machine running the demo"

[environments.demo.hosts]
local = ["local://"]

[environments.demo.endpoints.app]
url = "http://127.0.0.1:{port}"
timeout = 5
"""

ATTESTATIONS = """\
[[attestation]]
item = "sign-off/release-notes-reviewed-by-the-technical-lead"
by = "Demo Lead"
at = 2026-01-01T09:00:00Z
ticket = "DEMO-1"
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/health":
            body = b'{"status": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            body = b"not found"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def run_demo(directory: Path | None, pytest_args: list[str]) -> int:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    keep = directory is not None
    work = directory or Path(tempfile.mkdtemp(prefix="golive-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        (work / "golive.toml").write_text(
            CONFIG.format(port=server.server_address[1]), encoding="utf-8"
        )
        (work / "attestations.toml").write_text(ATTESTATIONS, encoding="utf-8")
        source = (
            resources.files("pytest_golive")
            .joinpath("data/demo_checklist.md")
            .read_text(encoding="utf-8")
        )
        (work / "checklist.md").write_text(source, encoding="utf-8")
        out = Path.cwd()
        args = [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--golive=demo",
            f"--golive-json={out / 'golive-demo.json'}",
            f"--golive-report={out / 'golive-demo.html'}",
            "-v", *pytest_args,
        ]
        # A child process: pytest must import the plugin itself to rewrite its asserts.
        code = subprocess.run(args, cwd=work, check=False).returncode
        print(f"\nreports: {out / 'golive-demo.html'} and {out / 'golive-demo.json'}")
        return code
    finally:
        server.shutdown()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
