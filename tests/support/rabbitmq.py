"""A RabbitMQ node of the tests' own, with the management plugin, on 127.0.0.1.

Debian's ``rabbitmq-server`` is started once per session as a separate node
(``golive-test-<pid>@localhost``) with its own AMQP, distribution, epmd and
management ports, its own data, log and configuration files under a
temporary directory, and an Erlang cookie in a private HOME, so it never
touches the machine's RabbitMQ on 5672. It is stopped at the end, with the
epmd it started.

The node has a user ``golive`` with a random password, a vhost
``golive-test`` and, for the dead-letter checks, queues declared through the
management API (the tests' setup; the checks only read).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from support.monitoring import LOOPBACK, free_port

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
BOOT_WITHIN = 120.0
VHOST = "golive-test"


@dataclass
class RabbitNode:
    root: Path
    api_url: str
    user: str
    password: str
    amqp_port: int
    epmd_port: int
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None) -> requests.Response:
        """The tests' own setup requests (the checks never write)."""
        response = requests.request(
            method, self.api_url + path, json=body, auth=(self.user, self.password), timeout=10
        )
        response.raise_for_status()
        return response

    def url_with_credentials(self, password: str | None = None) -> str:
        return f"http://{self.user}:{quote(password or self.password, safe='')}@{self.api_url.split('://')[1]}"

    def log(self) -> str:
        text = []
        for path in sorted((self.root / "log").glob("*.log")) + [self.root / "stdout.log"]:
            if path.exists():
                text.append(f"--- {path.name}\n" + path.read_text(errors="replace")[-2000:])
        return "\n".join(text)


def rabbitmq_available() -> bool:
    return Path(SERVER).exists() and shutil.which("epmd") is not None


@pytest.fixture(scope="session")
def rabbitmq_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitNode]:
    """A running RabbitMQ node with management on its own ports (see the module doc)."""
    from support import require

    require(rabbitmq_available(), "rabbitmq-server (Debian package rabbitmq-server) and epmd")
    root = tmp_path_factory.mktemp("rabbitmq")
    home = root / "home"
    home.mkdir()
    cookie = home / ".erlang.cookie"
    cookie.write_text(secrets.token_hex(16))
    cookie.chmod(0o400)
    amqp, dist, mgmt, epmd = free_port(), free_port(), free_port(), free_port()
    password = "rmq-" + secrets.token_urlsafe(18)
    (root / "rabbitmq.conf").write_text(
        f"listeners.tcp.1 = {LOOPBACK}:{amqp}\n"
        f"management.tcp.ip = {LOOPBACK}\nmanagement.tcp.port = {mgmt}\n"
        "default_user = golive\n"
        f"default_pass = {password}\n"
        f"default_vhost = {VHOST}\n"
        "default_permissions.configure = .*\ndefault_permissions.read = .*\n"
        "default_permissions.write = .*\n"
        "default_user_tags.administrator = true\n"
        "log.console = false\nlog.file.level = warning\n"
        # Queue figures in the management API refresh every 0.5 s instead of 5 s.
        "collect_statistics_interval = 500\n"
    )
    (root / "enabled_plugins").write_text("[rabbitmq_management].\n")
    (root / "rabbitmq-env.conf").write_text("")
    env = {
        **os.environ,
        "HOME": str(home),
        "RABBITMQ_NODENAME": f"golive-test-{os.getpid()}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
        "RABBITMQ_NODE_PORT": str(amqp),
        "RABBITMQ_DIST_PORT": str(dist),
        "ERL_EPMD_PORT": str(epmd),
        "ERL_EPMD_ADDRESS": LOOPBACK,
        "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
        "RABBITMQ_LOG_BASE": str(root / "log"),
        "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
        "RABBITMQ_CONF_ENV_FILE": str(root / "rabbitmq-env.conf"),
        "RABBITMQ_PID_FILE": str(root / "rabbit.pid"),
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }
    env.pop("ERL_FLAGS", None)
    log = (root / "stdout.log").open("wb")
    # Its own session, so teardown can stop the node and nothing else.
    process = subprocess.Popen(
        [SERVER],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    node = RabbitNode(
        root, f"http://{LOOPBACK}:{mgmt}", "golive", password, amqp, epmd, process, env
    )
    try:
        deadline = time.monotonic() + BOOT_WITHIN
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"rabbitmq-server exited with {process.returncode}:\n{node.log()}",
                    pytrace=False,
                )
            try:
                if requests.get(
                    node.api_url + "/api/overview", auth=("golive", password), timeout=2
                ).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"rabbitmq-server not ready within {BOOT_WITHIN:g}s:\n{node.log()}",
                    pytrace=False,
                )
            time.sleep(0.5)
        yield node
    finally:
        _stop(process)
        subprocess.run(
            ["epmd", "-port", str(epmd), "-kill"],
            env=env,
            capture_output=True,
            timeout=10,
            check=False,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
