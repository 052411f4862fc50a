"""Local stand-ins for the RSG Integration Service, so the example runs anywhere.

``python standin.py ROOT [--port N]`` lays out, under ROOT, the files the
checklist names on the application server (the application directory, IMS
configs, a logrotate rule, backups 0 hours to 31 days old), then serves on
127.0.0.1:

* ``/api/health`` and ``/openapi.json`` and ``/docs``: the service itself;
* ``/ims/IMSOne.asmx?wsdl``: the IMS One SOAP service description
  (``standin/IMSONE.wsdl``), which the real one serves from ``dc02imsws01``.

It prints ``listening on PORT`` once it is ready. Nothing here is production:
see README.md for which line each stand-in replaces.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOGROTATE_RULE = """{app}/logs/*.log {{
    daily
    rotate 30
    compress
    delaycompress
    notifempty
    create 0640 {user} {group}
}}
"""


def prepare(root: Path, owner: str = "nobody:nogroup") -> None:
    """The application server's files, owned by the stand-in application user.

    ``owner`` is ``user:group``; only root can give files away, so anyone else
    passes their own user and group (and sets ``app_user``/``app_group`` to them).
    """
    user, _, group = owner.partition(":")
    app = root / "opt" / "rsg-integration"
    for sub in ("IMS_Configs", "logs", "data"):
        (app / sub).mkdir(parents=True, exist_ok=True)
    (app / "IMS_Configs" / "IMS_ONE.config").write_text("<config service='IMS One'/>\n")
    (app / "IMS_Configs" / "ISCMGA_Test.config").write_text("<config service='ISCMGA'/>\n")
    (app / "logs" / "app.log").write_text("INFO started\n")
    for path in (app, app / "IMS_Configs", app / "logs", app / "data"):
        os.chmod(path, 0o755)
        if os.geteuid() == 0:
            shutil.chown(path, user, group)
    rules = root / "logrotate.d"
    rules.mkdir(exist_ok=True)
    (rules / "rsg-integration").write_text(LOGROTATE_RULE.format(app=app, user=user, group=group))
    src = root / "src"  # the deployed checkout: a git working tree without secrets
    src.mkdir(exist_ok=True)
    (src / "settings.py").write_text('API_KEY = os.environ["API_KEY"]\n')
    subprocess.run(["git", "init", "-q", str(src)], check=True)
    subprocess.run(["git", "-C", str(src), "add", "settings.py"], check=True)
    backups = root / "backups"
    backups.mkdir(exist_ok=True)
    now = time.time()
    for name, age_days in (("ims-today.sql.gz", 0.1), ("ims-today.sqlite3.gz", 0.1), ("ims-oldest.sql.gz", 31)):
        path = backups / name
        path.write_bytes(b"\x1f\x8b")
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/api/health":
            self.reply(200, "application/json", json.dumps({"status": "healthy"}).encode())
        elif self.path == "/openapi.json":
            doc = {"openapi": "3.0.0", "info": {"title": "RSG Integration", "version": "1"}, "paths": {}}
            self.reply(200, "application/json", json.dumps(doc).encode())
        elif self.path == "/docs":
            self.reply(200, "text/html", b"<html><body>API docs</body></html>")
        elif self.path.lower() == "/ims/imsone.asmx?wsdl":
            self.reply(200, "text/xml; charset=utf-8", (HERE / "standin" / "IMSONE.wsdl").read_bytes())
        else:
            self.reply(404, "text/plain", b"not found")

    def reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="where the application server's files are laid out")
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--owner", default="nobody:nogroup", help="user:group owning the application files")
    args = parser.parse_args()
    prepare(args.root, args.owner)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
