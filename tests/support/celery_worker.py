"""A real Celery worker on the machine's Redis, under a key prefix of its own.

The worker (Celery from the test extra, solo pool) uses Redis database
``SCRATCH_DB`` with ``global_keyprefix`` ``golive-test-<pid>:``, so its keys and
its event channel are the tests' alone; the keys are deleted at the end. It
is started once per session and stopped at teardown. The checks under test
never publish to the broker; only the worker does, as a worker does.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import stop_process

SCRATCH_DB = 13
REDIS = ("127.0.0.1", 6379)
READY_WITHIN = 60.0


@dataclass
class CeleryWorker:
    app: str
    queue: str
    prefix: str
    hostname: str
    dsn: str
    process: subprocess.Popen[bytes]


def _redis_up() -> bool:
    import socket

    try:
        socket.create_connection(REDIS, timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def celery_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryWorker]:
    from support import require

    require(importlib.util.find_spec("celery") is not None, "Celery (the test extra)")
    require(_redis_up(), "Redis on 127.0.0.1:6379")
    import redis

    root = tmp_path_factory.mktemp("celery")
    prefix = f"golive-test-{os.getpid()}:"
    queue = f"golive-test-{os.getpid()}-tasks"
    dsn = f"redis://{REDIS[0]}:{REDIS[1]}/{SCRATCH_DB}"
    (root / "golive_tasks.py").write_text(
        textwrap.dedent(f"""\
        from celery import Celery

        app = Celery("golive_tasks", broker="{dsn}")
        app.conf.broker_transport_options = {{"global_keyprefix": "{prefix}"}}
        app.conf.worker_hijack_root_logger = False


        @app.task
        def noop():
            return None
        """)
    )
    hostname = f"golive-test-{os.getpid()}@localhost"
    celery = Path(sys.executable).with_name("celery")
    log = (root / "worker.log").open("wb")
    process = subprocess.Popen(
        [
            str(celery),
            "-A",
            "golive_tasks",
            "worker",
            "--pool=solo",
            "-n",
            hostname,
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "-l",
            "warning",
        ],
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    client = redis.Redis(host=REDIS[0], port=REDIS[1], db=SCRATCH_DB)
    pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    try:
        pubsub.subscribe(f"{prefix}/{SCRATCH_DB}.celeryev/worker.heartbeat")
        deadline = time.monotonic() + READY_WITHIN
        while pubsub.get_message(timeout=1.0) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "Celery worker did not start:\n" + (root / "worker.log").read_text()[-3000:],
                    pytrace=False,
                )
        pubsub.close()
        yield CeleryWorker("golive_tasks", queue, prefix, hostname, dsn, process)
    finally:
        pubsub.close()
        stop_process(process, timeout=20)
        for key in client.scan_iter(match=f"{prefix}*", count=500):
            client.delete(key)
        client.close()
