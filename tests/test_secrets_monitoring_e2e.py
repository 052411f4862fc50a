"""A Grafana token and a RabbitMQ password never reach any output.

Both are planted through ``${VAR}`` in golive.toml (the token as an
Authorization header, the password in the management API's URL), once right
and once wrong, and the checks are made to fail and to error (a refused
token, a refused password). Every byte the run writes (terminal at -vv,
JSON, HTML, Markdown, JUnit XML, pytest-html) is searched in every encoding.

Grafana is not packaged in Debian: its side is the ``grafana_contract``
server (Grafana's HTTP API for health, search and dashboards, with its 401
answer). RabbitMQ is the tests' own node with the management plugin.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from support.leaks import assert_no_leak
from support.rabbitmq import VHOST

BAD_TOKEN = "glsa_bad-grafana-token-planted-5566"
BAD_PASSWORD = "bad-rabbit-password-planted-7788"
OPTIONS = ["-vv", "-l", "-rA", "--tb=long", "--log-level=DEBUG", "-o", "log_cli=true"]


@pytest.mark.real_systems
def test_no_grafana_token_or_rabbitmq_password_in_any_output(
    pytester: pytest.Pytester,
    grafana_contract: Any,
    rabbitmq_node: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rabbitmq_node.api("PUT", f"/api/queues/{VHOST}/leak-check", {"durable": False})
    rabbitmq_node.api(
        "POST",
        f"/api/exchanges/{VHOST}/amq.default/publish",
        {
            "properties": {},
            "routing_key": "leak-check",
            "payload": "x",
            "payload_encoding": "string",
        },
    )
    deadline = time.monotonic() + 30
    while (
        rabbitmq_node.api("GET", f"/api/queues/{VHOST}/leak-check").json().get("messages_ready")
        != 1
    ):
        assert time.monotonic() < deadline, "the management API never showed the message"
        time.sleep(0.3)
    secrets = {
        "GRAFANA_TOKEN": grafana_contract.token,
        "GRAFANA_BAD_TOKEN": BAD_TOKEN,
        "RABBITMQ_PASSWORD": rabbitmq_node.password,
        "RABBITMQ_BAD_PASSWORD": BAD_PASSWORD,
    }
    for key, value in secrets.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    api = rabbitmq_node.api_url.split("://", 1)[1]
    pytester.makefile(
        ".toml",
        golive=f"""
checklists = ["checklist.md"]
[environments.prod.endpoints.grafana]
url = "{grafana_contract.url}"
headers = {{ Authorization = "Bearer ${{GRAFANA_TOKEN}}" }}
timeout = 5
[environments.prod.endpoints.grafana_bad]
url = "{grafana_contract.url}"
headers = {{ Authorization = "Bearer ${{GRAFANA_BAD_TOKEN}}" }}
timeout = 5
[environments.prod.endpoints.rabbit]
url = "http://golive:${{RABBITMQ_PASSWORD}}@{api}"
timeout = 5
[environments.prod.endpoints.rabbit_bad]
url = "http://golive:${{RABBITMQ_BAD_PASSWORD}}@{api}"
timeout = 5
""",
    )
    v = VHOST  # short, to keep the checklist lines readable
    pytester.makefile(
        ".md",
        checklist=f"""
## Monitoring
- [ ] Grafana dashboards accessible <!-- golive: grafana_dashboard title=Missing on=grafana -->
- [ ] Grafana with a refused token <!-- golive: grafana_dashboard title=API on=grafana_bad -->
## Queues
- [ ] Queue drained <!-- golive: rabbitmq_queue_depth queue=leak-check vhost={v} max=0 on=rabbit -->
- [ ] Refused password <!-- golive: rabbitmq_dead_letter queue=leak-check on=rabbit_bad -->
""",
    )
    out = pytester.path / "out"
    out.mkdir()
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--golive=prod",
        *OPTIONS,
        f"--junitxml={out / 'junit.xml'}",
        f"--golive-json={out / 'report.json'}",
        f"--golive-report={out / 'report.html'}",
        f"--golive-markdown={out / 'report.md'}",
        f"--html={out / 'pytest-html.html'}",
        "--self-contained-html",
        timeout=300,
    )
    text = "\n".join(result.outlines)
    assert result.ret == 1, text[-3000:]
    # Each path was taken: a failure with evidence and an error per component.
    assert "no dashboard with title 'Missing'" in text
    assert "credentials refused" in text and "401" in text
    assert "1 ready" in text
    produced = {p.name for p in out.iterdir()}
    assert {"junit.xml", "report.json", "report.html", "report.md", "pytest-html.html"} <= produced
    assert_no_leak(list(secrets.values()), out, text, "\n".join(result.errlines))
