"""Queue and worker checks against real brokers and a real Celery worker.

Redis is the machine's (keys under a prefix of this test process, in a
scratch database, deleted afterwards); RabbitMQ is a node of the tests' own
with the management plugin (tests/support/rabbitmq.py), never the machine's
instance on 5672; the Celery worker is real (tests/support/celery_worker.py).
Queues, exchanges, policies and messages are the tests' setup, made through
the management API; the checks only read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.checks import REGISTRY
from pytest_golive.checks.queues import (
    DeadLetter,
    dead_letter_of,
    judge_celery_processes,
    judge_dead_letter,
    parse_event,
    parse_ps,
)
from pytest_golive.checks.rules import Line
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.core.secrets import Secret
from pytest_golive.targets.database import DatabaseTarget
from pytest_golive.targets.endpoint import EndpointTarget
from pytest_golive.targets.host import HostTarget
from pytest_golive.tools.import_rules import propose
from support import require
from support.celery_worker import SCRATCH_DB
from support.leaks import assert_no_leak
from support.rabbitmq import VHOST

PREFIX = f"golive-test-{os.getpid()}-q:"


def run(check_name: str, handle: Any, **raw: str) -> Outcome:
    chk = REGISTRY.get(check_name)
    out: Outcome = chk.func(handle, **chk.validate(raw))
    return out


# --- pure judgement ---------------------------------------------------------------------------

PS = """\
    1     0 86400 /sbin/init
  812     1  3600 python3 /opt/shop/bin/celery -A shop worker -Q orders,emails -n w1@%h
  840   812  3599 python3 /opt/shop/bin/celery -A shop worker -Q orders,emails -n w1@%h
  841   812  3599 python3 /opt/shop/bin/celery -A shop worker -Q orders,emails -n w1@%h
  900     1   120 python -m celery --app=shop.celery:app worker --concurrency=4
  950     1    10 timeout 60 celery -A shop worker
  951   950    10 /srv/app/.venv/bin/celery -A shop beat
  999   700     1 grep celery worker
"""


def test_celery_processes_count_main_processes_only() -> None:
    procs = parse_ps(PS)
    out = judge_celery_processes(procs, 2, None, None)
    assert out.ok and (out.details["workers"], out.details["pool_processes"]) == (2, 2)
    assert judge_celery_processes(procs, 1, "shop", "emails").details["workers"] == 1
    assert (
        judge_celery_processes(procs, 1, "shop", "celery").details["workers"] == 1
    )  # the default queue
    assert not judge_celery_processes(procs, 1, "billing", None).ok
    tuned = judge_celery_processes(procs, 1, "shop", None, min_concurrency=4)
    assert tuned.status == "failed" and "not set (one process per CPU)" in tuned.observed
    assert judge_celery_processes(procs, 1, "shop", "celery", min_concurrency=4).ok
    assert not judge_celery_processes(procs, 1, "shop", "celery", min_concurrency=8).ok


def test_heartbeat_event_decoding() -> None:
    """On a message captured from a real Celery 5.7 worker's event channel."""
    raw = (Path(__file__).parent / "data" / "queues" / "celery_heartbeat.json").read_bytes()
    beat = parse_event(raw)
    assert beat is not None and (beat.hostname, beat.active, beat.freq) == ("probe@vm", 0, 2.0)
    assert parse_event(b"not json") is None
    assert parse_event(b'{"body": "e30=", "properties": {"body_encoding": "base64"}}') is None


def test_dead_letter_judgement_cases() -> None:
    q = {
        "name": "orders",
        "arguments": {},
        "effective_policy_definition": {
            "dead-letter-exchange": "dlx",
            "dead-letter-routing-key": "dead",
        },
        "policy": "dlx-all",
    }
    dl = dead_letter_of(q)
    assert dl == DeadLetter("dlx", "dead", "policy dlx-all")
    direct = {"type": "direct"}
    good = [{"destination": "orders.dead", "destination_type": "queue", "routing_key": "dead"}]
    wrong_key = [
        {"destination": "orders.dead", "destination_type": "queue", "routing_key": "other"}
    ]
    assert judge_dead_letter("orders", dl, direct, good, None).ok
    assert not judge_dead_letter("orders", dl, direct, wrong_key, None).ok
    loop = [{"destination": "orders", "destination_type": "queue", "routing_key": "dead"}]
    assert not judge_dead_letter("orders", dl, direct, loop, None).ok
    assert not judge_dead_letter("orders", DeadLetter(None, None, ""), None, [], None).ok


# --- Redis --------------------------------------------------------------------------------------


def _redis_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture
def redis_db() -> Iterator[DatabaseTarget]:
    require(_redis_up(), "Redis on 127.0.0.1:6379")
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=SCRATCH_DB)
    client.rpush(PREFIX + "celery", *[f"task-{i}" for i in range(5)])
    client.rpush(PREFIX + "celery\x06\x163", "high-priority")
    for i in range(4):
        client.xadd(PREFIX + "events", {"n": str(i)})
    client.xgroup_create(PREFIX + "events", "workers", id="0")
    client.xreadgroup(
        "workers", "c1", {PREFIX + "events": ">"}, count=1
    )  # 1 pending, 3 undelivered
    client.zadd(PREFIX + "scheduled", {"a": 1, "b": 2})
    client.set(PREFIX + "plain", "x")
    db = DatabaseTarget(
        TargetSpec("database", "broker", (), {"dsn": f"redis://127.0.0.1:6379/{SCRATCH_DB}"}),
        Settings(),
    )
    try:
        yield db
    finally:
        db.close()
        for key in client.scan_iter(match=PREFIX + "*"):
            client.delete(key)
        client.close()


@pytest.mark.real_systems
def test_redis_queue_depth(redis_db: DatabaseTarget) -> None:
    keys = f"{PREFIX}celery,{PREFIX}events,{PREFIX}scheduled,{PREFIX}missing"
    out = run("redis_queue_depth", redis_db, keys=keys, max="6")
    assert out.ok, out.summary()
    assert out.details["depths"] == {
        f"{PREFIX}celery": 6,
        f"{PREFIX}events": 4,
        f"{PREFIX}scheduled": 2,
        f"{PREFIX}missing": 0,
    }
    fail = run("redis_queue_depth", redis_db, keys=f"{PREFIX}celery", max="5")
    assert fail.status == "failed" and "6 waiting (list and its priority lists)" in fail.observed
    assert run(
        "redis_queue_depth", redis_db, keys=f"{PREFIX}celery", max="5", priorities="false"
    ).ok
    missing = run(
        "redis_queue_depth", redis_db, keys=f"{PREFIX}missing", max="1", must_exist="true"
    )
    assert missing.status == "failed" and "no such key" in missing.observed
    with pytest.raises(CheckError, match="is a Redis string"):
        run("redis_queue_depth", redis_db, keys=f"{PREFIX}plain", max="1")


# --- RabbitMQ -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rabbit(rabbitmq_node: Any) -> Any:
    """Queues in known dead-letter states, and three messages waiting in 'orders'."""
    n = rabbitmq_node
    v = VHOST
    n.api("PUT", f"/api/exchanges/{v}/orders.dlx", {"type": "fanout", "durable": True})
    n.api("PUT", f"/api/queues/{v}/orders.dead", {"durable": True})
    n.api("POST", f"/api/bindings/{v}/e/orders.dlx/q/orders.dead", {"routing_key": ""})
    n.api(
        "PUT",
        f"/api/queues/{v}/orders",
        {"durable": True, "arguments": {"x-dead-letter-exchange": "orders.dlx"}},
    )
    n.api("PUT", f"/api/exchanges/{v}/payments.dlx", {"type": "direct", "durable": True})
    n.api("PUT", f"/api/queues/{v}/payments.dead", {"durable": True})
    n.api("POST", f"/api/bindings/{v}/e/payments.dlx/q/payments.dead", {"routing_key": "dead"})
    n.api(
        "PUT",
        f"/api/policies/{v}/payments-dlx",
        {
            "pattern": "^payments$",
            "apply-to": "queues",
            "definition": {
                "dead-letter-exchange": "payments.dlx",
                "dead-letter-routing-key": "dead",
            },
        },
    )
    n.api("PUT", f"/api/queues/{v}/payments", {"durable": True})
    n.api("PUT", f"/api/queues/{v}/emails", {"durable": True})
    n.api(
        "PUT",
        f"/api/queues/{v}/invoices",
        {"durable": True, "arguments": {"x-dead-letter-exchange": "nowhere"}},
    )
    n.api("PUT", f"/api/exchanges/{v}/reports.dlx", {"type": "fanout", "durable": True})
    n.api(
        "PUT",
        f"/api/queues/{v}/reports",
        {"durable": True, "arguments": {"x-dead-letter-exchange": "reports.dlx"}},
    )
    n.api("PUT", f"/api/queues/{v}/tasks.dead", {"durable": True})
    n.api(
        "PUT",
        f"/api/queues/{v}/tasks",
        {
            "durable": True,
            "arguments": {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "tasks.dead"},
        },
    )
    for i in range(3):
        n.api(
            "POST",
            f"/api/exchanges/{v}/amq.default/publish",
            {
                "properties": {},
                "routing_key": "orders",
                "payload": f"order {i}",
                "payload_encoding": "string",
            },
        )
    deadline = time.monotonic() + 30
    while n.api("GET", f"/api/queues/{v}/orders").json().get("messages_ready") != 3:
        assert time.monotonic() < deadline, "the management API never showed the 3 messages"
        time.sleep(0.3)
    while n.api("GET", f"/api/queues/{v}/payments").json().get("policy") != "payments-dlx":
        assert time.monotonic() < deadline, "the policy was never applied"
        time.sleep(0.3)
    return n


def _endpoint(node: Any, password: str | None = None) -> EndpointTarget:
    url = Secret(node.url_with_credentials(password))
    return EndpointTarget(
        TargetSpec("endpoint", "rabbitmq", (), {"url": url, "timeout": 5}), Settings()
    )


@pytest.mark.real_systems
def test_rabbitmq_queue_depth(rabbit: Any) -> None:
    mq = _endpoint(rabbit)
    out = run("rabbitmq_queue_depth", mq, queue="orders", vhost=VHOST, max="5")
    assert out.ok and out.details["ready"] == 3
    fail = run("rabbitmq_queue_depth", mq, queue="orders", vhost=VHOST, max="2")
    assert fail.status == "failed" and "3 ready" in fail.observed
    consumers = run(
        "rabbitmq_queue_depth", mq, queue="orders", vhost=VHOST, max="5", min_consumers="1"
    )
    assert consumers.status == "failed" and "0 consumer(s)" in consumers.observed
    # "queue orders has consumers attached": consumers alone, the backlog not judged
    attached = run("rabbitmq_queue_depth", mq, queue="orders", vhost=VHOST, min_consumers="1")
    assert attached.status == "failed" and attached.observed == "consumers: 0 consumer(s)"
    with pytest.raises(CheckError, match="give max, max_unacked or min_consumers"):
        run("rabbitmq_queue_depth", mq, queue="orders", vhost=VHOST)
    with pytest.raises(CheckError, match="has no queue 'nope'"):
        run("rabbitmq_queue_depth", mq, queue="nope", vhost=VHOST, max="1")
    with pytest.raises(CheckError, match="no vhost"):
        run("rabbitmq_queue_depth", mq, queue="orders", vhost="missing-vhost", max="1")


@pytest.mark.real_systems
@pytest.mark.parametrize(
    ("queue", "ok", "words"),
    [
        ("orders", True, "fanout exchange 'orders.dlx' bound to orders.dead"),
        ("payments", True, "policy payments-dlx"),
        ("tasks", True, "queue 'tasks.dead' exists"),
        ("emails", False, "none: rejected and expired messages are dropped"),
        ("invoices", False, "exchange 'nowhere' does not exist"),
        ("reports", False, "no queue (0 binding(s) in all)"),
    ],
)
def test_rabbitmq_dead_letter(rabbit: Any, queue: str, ok: bool, words: str) -> None:
    out = run("rabbitmq_dead_letter", _endpoint(rabbit), queue=queue, vhost=VHOST)
    assert out.ok is ok, out.summary()
    assert words in out.observed


@pytest.mark.real_systems
def test_rabbitmq_wrong_password_is_an_error_that_never_shows_it(rabbit: Any) -> None:
    wrong = "wrong-rabbit-password-planted-42"
    with pytest.raises(CheckError) as info:
        run("rabbitmq_queue_depth", _endpoint(rabbit, wrong), queue="orders", vhost=VHOST, max="1")
    message = str(info.value)
    assert "401" in message and "credentials refused" in message and "\n" not in message
    assert_no_leak([wrong, rabbit.password], message)


# --- Celery --------------------------------------------------------------------------------------


@pytest.mark.real_systems
def test_celery_workers_process_check(celery_worker: Any) -> None:
    host = HostTarget(TargetSpec("host", "workers", (), {"url": "local://"}), Settings())
    out = run("celery_workers", host, app=celery_worker.app, queue=celery_worker.queue)
    assert out.ok, out.summary()
    assert celery_worker.hostname in out.observed
    assert run("celery_workers", host, app="no_such_app").status == "failed"
    assert (
        run("celery_workers", host, app=celery_worker.app, queue="other-queue").status == "failed"
    )


@pytest.mark.real_systems
def test_celery_heartbeats_are_heard(celery_worker: Any) -> None:
    db = DatabaseTarget(
        TargetSpec("database", "broker", (), {"dsn": celery_worker.dsn}), Settings()
    )
    try:
        out = run("celery_heartbeats", db, key_prefix=celery_worker.prefix, wait_seconds="6")
        assert out.ok, out.summary()
        assert out.details["workers"] == [celery_worker.hostname]
        none = run("celery_heartbeats", db, key_prefix="golive-nobody:", wait_seconds="2.5")
        assert none.status == "failed" and "0 worker(s)" in none.observed
        two = run(
            "celery_heartbeats",
            db,
            key_prefix=celery_worker.prefix,
            wait_seconds="3",
            min_workers="2",
        )
        assert two.status == "failed"
    finally:
        db.close()


# --- import rules --------------------------------------------------------------------------------


def _line(title: str) -> Line:
    return Line(
        number=1, index=0, title=title, marked=title, context="Workers", code="", has_binding=False
    )


@pytest.mark.parametrize(
    ("title", "check", "params"),
    [
        ("Broker (Redis) password set", "redis_auth_required", {}),
        ("Dead letter queue (DLQ) setup", "rabbitmq_dead_letter", {"queue": "${work_queue}"}),
        ("Queue depth below 1000", "redis_queue_depth", {"keys": "${work_queue}", "max": "1000"}),
        (
            "RabbitMQ queue backlog under 50",
            "rabbitmq_queue_depth",
            {"queue": "${work_queue}", "max": "50"},
        ),
        ("Celery workers running", "celery_workers", {}),
        ("4 workers online", "celery_workers", {"min_workers": "4"}),
        (
            "Worker concurrency tuned",
            "celery_workers",
            {"min_concurrency": "${worker_concurrency}"},
        ),
    ],
)
def test_import_rules(title: str, check: str, params: dict[str, str]) -> None:
    proposal = propose(_line(title))
    assert proposal is not None, title
    assert proposal.candidates[0] == (check, params)


def test_judge_rabbit_depth_on_consumers_alone() -> None:
    from pytest_golive.checks.queues import judge_rabbit_depth

    queue = {"name": "orders", "vhost": "/", "messages_ready": 5000, "consumers": 2}
    out = judge_rabbit_depth(queue, None, None, 1)
    assert out.ok and out.observed == "consumers: 2 consumer(s)"
    assert out.expected == "consumers: >= 1"
    assert judge_rabbit_depth(queue, 1000, None, 1).status == "failed"  # the backlog, when asked
