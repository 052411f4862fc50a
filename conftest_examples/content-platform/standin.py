"""Local stand-ins for the content platform, so the example runs anywhere.

``python standin.py ROOT [--port N]`` lays out, under ROOT, what the checks read
(``app/.env.production`` and its template, a fresh database dump in ``backups/``,
fresh application logs in ``logs/``,
``bin/kubectl``: a STAND-IN for kubectl printing the recorded deployment in
``bin/deployment.json``, and ``deploy/``: the Dockerfile and the rendered Kubernetes
manifests), then serves the API's ``/health``, ``/ready``,
``/docs`` and ``/openapi.json`` on 127.0.0.1, and answers DNS questions for the
API's name over UDP on the same port number (a STAND-IN for the zone's servers).

It prints ``listening on PORT`` once it is ready. The Celery heartbeat is not
written here: the test writes it into Redis before the run (see README.md).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
from pathlib import Path

import standin_monitoring

HERE = Path(__file__).resolve().parent


def prepare(root: Path) -> None:
    standin_monitoring.prepare_ci(root)
    app = root / "app"
    app.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "standin" / "app.env", app / ".env.production")
    os.chmod(app / ".env.production", 0o600)
    shutil.copy(HERE / "standin" / "env.template", app / "env.template")
    backups = root / "backups"
    backups.mkdir(exist_ok=True)
    (backups / "content-latest.dump").write_bytes(b"PGDMP")
    bin_dir = root / "bin"
    bin_dir.mkdir(exist_ok=True)
    shutil.copy(HERE / "standin" / "kubectl", bin_dir / "kubectl")
    os.chmod(bin_dir / "kubectl", 0o755)
    if not (bin_dir / "deployment.json").exists():  # a test may have recorded another answer
        shutil.copy(HERE / "standin" / "deployment.json", bin_dir / "deployment.json")
    # The repository's Dockerfile and the rendered Kubernetes manifests, as the pipeline has them.
    deploy = root / "deploy"
    deploy.mkdir(exist_ok=True)
    for name in ("Dockerfile.prod", "production.yaml"):
        shutil.copy(HERE / "standin" / "deploy" / name, deploy / name)
    # What the API writes while it runs: requests logged, credentials masked.
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    (logs / "app.log").write_text(
        "2026-12-01T07:00:00Z INFO content-generator 1.8.2 started\n"
        "2026-12-01T07:00:01Z INFO connected to database user=content password=*****\n"
        "2026-12-01T07:00:02Z INFO GET /health 200 3ms\n"
    )


#: The records the DNS stand-in serves: the API's public name, as the zone would.
DNS_RECORDS = {("api.halcytone.com.", "A"): ["127.0.0.1"]}


def serve_dns(port: int) -> None:
    """Answer A questions for :data:`DNS_RECORDS` on 127.0.0.1 (UDP), NXDOMAIN for the rest."""
    import socket

    import dns.message
    import dns.rcode
    import dns.rdatatype
    import dns.rrset

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            query = dns.message.from_wire(data)
        except Exception:  # noqa: BLE001 - not a DNS question: ignore it
            continue
        answer = dns.message.make_response(query)
        question = query.question[0]
        key = (question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype))
        names = {name for name, _ in DNS_RECORDS}
        if key in DNS_RECORDS:
            answer.answer.append(dns.rrset.from_text_list(question.name, 300, "IN", key[1],
                                                          DNS_RECORDS[key]))
        elif key[0] not in names:
            answer.set_rcode(dns.rcode.NXDOMAIN)
        sock.sendto(answer.to_wire(), peer)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        routes = {
            "/health": (200, "application/json", json.dumps({"status": "healthy"}).encode()),
            "/ready": (200, "application/json", json.dumps({"ready": True}).encode()),
            "/docs": (200, "text/html", b"<html><body>Swagger UI</body></html>"),
            "/openapi.json": (200, "application/json", json.dumps(
                {"openapi": "3.1.0", "info": {"title": "Content Generator", "version": "1.8.2"}, "paths": {}}).encode()),
        }
        monitoring = standin_monitoring.answer(self.path, dict(self.headers.items()))
        status, content_type, body = monitoring or routes.get(
            self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="where the stand-in files are laid out")
    parser.add_argument("--port", type=int, default=8753)
    args = parser.parse_args()
    prepare(args.root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    import threading

    threading.Thread(target=serve_dns, args=(server.server_address[1],), daemon=True).start()
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
