"""No secret reaches any output, whatever the verbosity and whichever report.

Distinct secrets are planted in every input path (a DSN password, an
authorization header, a checklist parameter built from the process
environment, a dotenv value under a secret-looking key), the checks and
custom tests are made to fail in the ways most likely to show them (driver
errors, response bodies echoing headers, assertion diffs, local variables,
logs, stdout), and every byte written is searched, in every encoding.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import require
from support.leaks import assert_no_leak

SECRETS = {
    "DB_PASSWORD": "dbpw-Q7x!kL2#mZ9-planted",
    "API_TOKEN": "tok-8f3a9c1e5b7d-planted",
    "PARAM_SECRET": "param-4R2t6Y8u0-planted",
}
DOTENV_SECRET = "dotenv-Zk93Lm28Qp-planted"


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers with the request headers in the body: the worst case for a leak."""

    def do_GET(self) -> None:  # noqa: N802
        body = str(self.headers).encode()
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def _mariadb_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 3306), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def leaky_project(
    pytester: pytest.Pytester, echo_server: int, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    require(_mariadb_up(), "MariaDB on 127.0.0.1:3306")
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    pytester.makefile(".toml", golive=f"""
checklists = ["checklist.md"]
[environments.prod]
[environments.prod.hosts]
app = ["local://"]
[environments.prod.endpoints.echo]
url = "http://127.0.0.1:{echo_server}"
headers = {{ Authorization = "Bearer ${{API_TOKEN}}" }}
timeout = 5
[environments.prod.databases.main]
dsn = "mysql://golive_leak_user:${{DB_PASSWORD}}@127.0.0.1:3306/golive_no_such_db"
connect_timeout = 5
[environments.prod.files.dotenv]
path = ".env"
""",
    )
    pytester.path.joinpath(".env").write_text(
        f"SECRET_KEY={DOTENV_SECRET}\nDEBUG=true\n", encoding="utf-8"
    )
    pytester.makefile(
        ".md",
        checklist="""
## Security
- [ ] Echo body has no token <!-- golive: http_body path=/ contains=nothing-here -->
- [ ] Parameter from env <!-- golive: file path=/nonexistent/${PARAM_SECRET} -->
- [ ] Secret key is strong <!-- golive: secret_strength keys=SECRET_KEY min_length=500 -->
- [ ] Secret key value <!-- golive: env_value key=SECRET_KEY equals=something-else -->
## Database
- [ ] Database reachable <!-- golive: db_connect -->
""")
    pytester.makepyfile(test_custom="""
        import logging
        import pytest

        @pytest.mark.security
        def test_dsn_in_locals(golive_env):
            dsn = golive_env.target("main").options["dsn"].reveal()
            token = golive_env.target("echo").options["headers"]["Authorization"].reveal()
            print("stdout:", dsn, token)
            logging.getLogger("app").warning("connecting with %s", dsn)
            assert dsn == token

        @pytest.mark.database
        def test_db_fixture(golive_db):
            pass
    """)
    return pytester


OPTIONS = ["-vv", "-l", "-rA", "--tb=long", "--log-level=DEBUG", "-o", "log_cli=true"]


def _outputs(pytester: pytest.Pytester, out: Path, extra: list[str]) -> list[object]:
    out.mkdir()
    result = pytester.runpytest_subprocess(
        "--golive=prod", *OPTIONS, *extra,
        f"--junitxml={out / 'junit.xml'}", f"--golive-json={out / 'report.json'}",
        f"--golive-report={out / 'report.html'}", f"--golive-markdown={out / 'report.md'}",
        f"--html={out / 'pytest-html.html'}", "--self-contained-html",
    )
    assert result.ret == 1, result.stdout.str()[-2000:]
    produced = sorted(p.name for p in out.iterdir())
    assert {"junit.xml", "report.json", "report.html", "report.md", "pytest-html.html"} <= set(
        produced
    )
    return [out, "\n".join(result.outlines), "\n".join(result.errlines)]


def test_no_secret_in_any_output(leaky_project: pytest.Pytester) -> None:
    outputs = _outputs(leaky_project, leaky_project.path / "out", [])
    text = outputs[1]
    # The failures happened and were shown: the search below is meaningful.
    assert "security/echo-body-has-no-token[echo]" in text
    assert "test_dsn_in_locals" in text and "*****" in text
    assert "database/database-reachable[main]" in text
    assert_no_leak([*SECRETS.values(), DOTENV_SECRET], *outputs)


def test_no_secret_under_xdist(leaky_project: pytest.Pytester) -> None:
    outputs = _outputs(leaky_project, leaky_project.path / "out-xdist", ["-n", "2"])
    assert "security/echo-body-has-no-token[echo]" in outputs[1]
    assert_no_leak([*SECRETS.values(), DOTENV_SECRET], *outputs)
