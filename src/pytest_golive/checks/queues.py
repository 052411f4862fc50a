"""Queue and worker checks: queue depth, dead-letter queues, Celery workers alive.

Everything here only reads: Redis lengths (TYPE, LLEN, XLEN, XINFO GROUPS,
ZCARD), RabbitMQ's management HTTP API (GET only), the host's process table,
and Celery's own worker heartbeats, received by listening on the broker's
event channel. Nothing is published to a broker: no ``inspect`` or
``control`` broadcast, which would make every worker answer.

RabbitMQ endpoints are the management API's base URL; credentials go in the
URL (``http://monitor:${RABBITMQ_PASSWORD}@rabbit:15672``) or an
``Authorization`` header, and are masked in every output.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, proposes, section_words
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.secrets import mask
from pytest_golive.targets.database import DatabaseTarget
from pytest_golive.targets.endpoint import EndpointTarget, reports_tls
from pytest_golive.targets.host import HostTarget

# --- Redis queue depth --------------------------------------------------------------------------

#: Celery's Redis transport keeps priority levels in sibling lists: ``<queue>\x06\x16<n>``.
PRIORITY_SEP = "\x06\x16"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _redis_only(db: DatabaseTarget, name: str) -> None:
    if db.driver != "redis":
        raise CheckError(f"{name} on database {db.name}: applies to Redis, not {db.driver}")


def redis_depth(db: DatabaseTarget, key: str) -> tuple[int, str]:
    """(messages waiting, how they were counted) for a Redis list, stream or sorted set."""
    kind = _text(db.redis("TYPE", key))
    if kind == "none":
        return 0, "absent (an empty queue)"
    if kind == "list":
        return int(db.redis("LLEN", key)), "list"
    if kind == "zset":
        return int(db.redis("ZCARD", key)), "sorted set"
    if kind == "stream":
        groups = db.redis("XINFO GROUPS", key) or []
        if not groups:
            return int(db.redis("XLEN", key)), "stream without consumer groups (XLEN)"
        worst = 0
        for group in groups:
            info = _pairs(group)
            lag = info.get("lag")
            pending = int(info.get("pending") or 0)
            # Entries not yet delivered to the group plus those delivered and not acknowledged.
            backlog = pending + (int(lag) if lag is not None else int(db.redis("XLEN", key)))
            worst = max(worst, backlog)
        return worst, f"stream, largest backlog of {len(groups)} consumer group(s)"
    raise CheckError(
        f"database {db.name}: key {key!r} is a Redis {kind}, not a list, stream or sorted set"
    )


def _pairs(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {_text(k): v for k, v in value.items()}
    items = list(value)
    return {_text(items[i]): items[i + 1] for i in range(0, len(items) - 1, 2)}


def judge_depths(depths: Mapping[str, tuple[int, str]], max_depth: int) -> Outcome:
    ev = Evidence()
    for key, (depth, how) in depths.items():
        ev.add(key, depth <= max_depth, f"{depth} waiting ({how})", f"<= {max_depth}")
    return ev.outcome(depths={k: d for k, (d, _) in depths.items()})


@check(target="database")
def redis_queue_depth(
    db: DatabaseTarget,
    *,
    keys: list[str],
    max: int,
    priorities: bool = True,
    must_exist: bool = False,
) -> Outcome:
    """Redis queues hold at most ``max`` waiting messages each (lists, streams, sorted sets).

    A list (Celery, RQ, Sidekiq, Bull's wait list) counts its length; a
    stream counts, per consumer group, the entries not yet delivered plus
    those pending acknowledgement (the largest group's backlog); without
    groups, its length. A missing key is an empty queue (Redis deletes empty
    lists). With ``priorities``, Celery's priority lists
    (``<queue>\\x06\\x16<n>``) are added to their queue.

    Args:
        keys: the queue keys, comma separated.
        max: the most messages a queue may hold.
        priorities: add Celery's per-priority sibling lists to each list key.
        must_exist: fail for a key that does not exist (a stream or a queue whose name
            may be misspelt), instead of reading it as an empty queue.
    """
    _redis_only(db, "redis_queue_depth")
    if not keys:
        raise CheckError(f"redis_queue_depth on database {db.name}: keys= names the queues")
    depths: dict[str, tuple[int, str]] = {}
    for key in keys:
        depth, how = redis_depth(db, key)
        if priorities and how in ("list", "absent (an empty queue)"):
            extra = 0
            for level in range(10):
                sibling = f"{key}{PRIORITY_SEP}{level}"
                if _text(db.redis("TYPE", sibling)) == "list":
                    extra += int(db.redis("LLEN", sibling))
            if extra:
                depth, how = depth + extra, f"{how} and its priority lists"
        depths[key] = (depth, how)
    out = judge_depths(depths, max)
    absent = [k for k, (_, how) in depths.items() if how.startswith("absent")]
    if must_exist and absent:
        return Outcome.failed(
            f"no such key: {', '.join(absent)}; {out.observed}",
            f"the keys exist; {out.expected}",
            **out.details,
        )
    return out


# --- RabbitMQ (management HTTP API) ------------------------------------------------------------


def _rabbit_get(endpoint: EndpointTarget, path: str, what: str) -> Any:
    response = endpoint.get(path, headers={"Accept": "application/json"})
    where = f"endpoint {endpoint.name}: GET {path}"
    if response.status_code in (401, 403):
        raise CheckError(
            f"{where} -> {response.status_code}: credentials refused; give the endpoint a "
            "monitoring user (user:${PASSWORD}@ in the URL, or an Authorization header)"
        )
    if response.status_code == 404:
        return None
    if not 200 <= response.status_code < 300:
        raise CheckError(f"{where} -> {response.status_code} {response.reason or ''}".rstrip())
    try:
        return response.json()
    except ValueError:
        raise CheckError(
            f"{where}: the answer is not JSON; is this RabbitMQ's management API ({what})?"
        ) from None


def _vq(vhost: str, name: str) -> str:
    return f"{quote(vhost, safe='')}/{quote(name, safe='')}"


def _queue(endpoint: EndpointTarget, vhost: str, queue: str) -> Mapping[str, Any]:
    data = _rabbit_get(endpoint, f"/api/queues/{_vq(vhost, queue)}", "queue")
    if data is None:
        if _rabbit_get(endpoint, f"/api/vhosts/{quote(vhost, safe='')}", "vhost") is None:
            raise CheckError(
                f"endpoint {endpoint.name}: RabbitMQ has no vhost {vhost!r} "
                "(or this is not its management API)"
            )
        raise CheckError(
            f"endpoint {endpoint.name}: RabbitMQ vhost {vhost!r} has no queue {queue!r}"
        )
    if not isinstance(data, Mapping):
        raise CheckError(f"endpoint {endpoint.name}: unexpected answer for queue {queue!r}")
    return data


def judge_rabbit_depth(
    q: Mapping[str, Any], max_depth: int | None, max_unacked: int | None, min_consumers: int
) -> Outcome:
    ev = Evidence()
    ready = int(q.get("messages_ready") or 0)
    unacked = int(q.get("messages_unacknowledged") or 0)
    if max_depth is not None:
        ev.add("ready", ready <= max_depth, f"{ready} ready", f"<= {max_depth}")
    if max_unacked is not None:
        ev.add(
            "unacknowledged",
            unacked <= max_unacked,
            f"{unacked} unacknowledged",
            f"<= {max_unacked}",
        )
    consumers = int(q.get("consumers") or 0)
    if min_consumers:
        ev.add(
            "consumers",
            consumers >= min_consumers,
            f"{consumers} consumer(s)",
            f">= {min_consumers}",
        )
    return ev.outcome(
        queue=q.get("name"),
        vhost=q.get("vhost"),
        ready=ready,
        unacknowledged=unacked,
        consumers=consumers,
        state=q.get("state"),
    )


@check(target="endpoint")
@reports_tls
def rabbitmq_queue_depth(
    endpoint: EndpointTarget,
    *,
    queue: str,
    max: int | None = None,
    vhost: str = "/",
    max_unacked: int | None = None,
    min_consumers: int = 0,
) -> Outcome:
    """A RabbitMQ queue holds at most ``max`` ready messages (and has its consumers).

    Reads ``/api/queues/<vhost>/<queue>`` of the management API. The figures
    are the broker's own (refreshed every few seconds by the management plugin).
    "Queue order-events has consumers attached" is ``min_consumers=1`` alone; at
    least one of ``max``, ``max_unacked`` and ``min_consumers`` must be given.

    Args:
        queue: the queue name.
        max: the most ready (undelivered) messages allowed; not judged when unset.
        vhost: the virtual host.
        max_unacked: the most delivered but unacknowledged messages allowed; not judged when unset.
        min_consumers: the fewest consumers the queue must have (workers attached).
    """
    if max is None and max_unacked is None and not min_consumers:
        raise CheckError(f"rabbitmq_queue_depth on {endpoint.name}: give max, max_unacked or "
                         "min_consumers: with none of them nothing about the queue is judged")
    return judge_rabbit_depth(_queue(endpoint, vhost, queue), max, max_unacked, min_consumers)


@dataclass(frozen=True)
class DeadLetter:
    exchange: str | None  # None: not configured; "": the default exchange
    routing_key: str | None
    source: str


def dead_letter_of(q: Mapping[str, Any]) -> DeadLetter:
    """Where a queue dead-letters: its arguments win over a policy, as in RabbitMQ."""
    args = q.get("arguments") or {}
    if "x-dead-letter-exchange" in args:
        return DeadLetter(
            str(args["x-dead-letter-exchange"]),
            _opt(args.get("x-dead-letter-routing-key")),
            "queue argument x-dead-letter-exchange",
        )
    for field, label in (
        ("effective_policy_definition", f"policy {q.get('policy') or '?'}"),
        ("operator_policy", "operator policy"),
    ):
        definition = q.get(field)
        if isinstance(definition, Mapping) and "dead-letter-exchange" in definition:
            return DeadLetter(
                str(definition["dead-letter-exchange"]),
                _opt(definition.get("dead-letter-routing-key")),
                label,
            )
    return DeadLetter(None, None, "")


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def judge_dead_letter(
    queue: str,
    dl: DeadLetter,
    exchange: Mapping[str, Any] | None,
    bindings: Sequence[Mapping[str, Any]],
    target_queue: Mapping[str, Any] | None,
) -> Outcome:
    """Judge facts gathered for one queue's dead-lettering (see :func:`rabbitmq_dead_letter`)."""
    ev = Evidence()
    if dl.exchange is None:
        ev.add(
            "dead-letter exchange",
            False,
            "none: rejected and expired messages are dropped",
            "x-dead-letter-exchange (queue argument or policy)",
        )
        return ev.outcome()
    ev.add(
        "dead-letter exchange",
        True,
        f"'{dl.exchange or '(default exchange)'}' from {dl.source}"
        + (f", routing key '{dl.routing_key}'" if dl.routing_key else ""),
        "configured",
    )
    if dl.exchange == "":
        ok = dl.routing_key is not None and target_queue is not None and dl.routing_key != queue
        ev.add(
            "dead-letter queue",
            ok,
            f"queue '{dl.routing_key}' "
            + ("exists" if target_queue is not None else "does not exist")
            if dl.routing_key
            else "no dead-letter routing key: the default exchange routes nowhere",
            "a queue other than this one, named by the routing key",
        )
        return ev.outcome()
    if exchange is None:
        ev.add(
            "exchange exists",
            False,
            f"exchange '{dl.exchange}' does not exist: dead letters are dropped",
            "the exchange exists",
        )
        return ev.outcome()
    kind = str(exchange.get("type", "?"))
    to_queues = [
        b
        for b in bindings
        if b.get("destination_type") == "queue" and b.get("destination") != queue
    ]
    if kind == "direct" and dl.routing_key is not None:
        routed = [b for b in to_queues if b.get("routing_key") == dl.routing_key]
        expected = f"a queue bound with routing key '{dl.routing_key}'"
    else:
        routed = to_queues
        expected = "a queue bound to it (other than this one)"
    ev.add(
        "bound",
        bool(routed),
        f"{kind} exchange '{dl.exchange}' bound to "
        + (
            ", ".join(
                f"{b.get('destination')} ({b.get('routing_key') or 'no key'})" for b in routed
            )
            if routed
            else f"no queue ({len(bindings)} binding(s) in all)"
        ),
        expected,
    )
    return ev.outcome(
        exchange=dl.exchange, dead_letter_queues=sorted({str(b.get("destination")) for b in routed})
    )


@check(target="endpoint", aliases=("rabbitmq_dlq",))
@reports_tls
def rabbitmq_dead_letter(endpoint: EndpointTarget, *, queue: str, vhost: str = "/") -> Outcome:
    """A RabbitMQ queue dead-letters into an exchange that exists and is bound to a queue.

    The dead-letter exchange comes from the queue's ``x-dead-letter-exchange``
    argument or, failing that, its policy's ``dead-letter-exchange`` (as
    RabbitMQ applies them). The exchange must exist and route to a queue other
    than this one: for a direct exchange with a dead-letter routing key, a
    binding with that key; for the default exchange, the queue the routing
    key names.

    Args:
        queue: the work queue whose rejected and expired messages must be kept.
        vhost: the virtual host.
    """
    q = _queue(endpoint, vhost, queue)
    dl = dead_letter_of(q)
    exchange = None
    bindings: list[Mapping[str, Any]] = []
    target = None
    if dl.exchange:
        exchange = _rabbit_get(endpoint, f"/api/exchanges/{_vq(vhost, dl.exchange)}", "exchange")
        if exchange is not None:
            bindings = (
                _rabbit_get(
                    endpoint,
                    f"/api/exchanges/{_vq(vhost, dl.exchange)}/bindings/source",
                    "bindings",
                )
                or []
            )
    elif dl.exchange == "" and dl.routing_key:
        target = _rabbit_get(endpoint, f"/api/queues/{_vq(vhost, dl.routing_key)}", "queue")
    return judge_dead_letter(queue, dl, exchange, bindings, target)


# --- Celery workers -------------------------------------------------------------------------------

PS_COMMAND = "ps -eo pid=,ppid=,etimes=,args= -ww"


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    seconds: int
    args: tuple[str, ...]


def parse_ps(text: str) -> list[Proc]:
    out = []
    for line in text.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[0].isdigit() and parts[1].isdigit() and parts[2].isdigit():
            out.append(Proc(int(parts[0]), int(parts[1]), int(parts[2]), tuple(parts[3].split())))
    return out


def _celery_argv(args: Sequence[str]) -> Sequence[str] | None:
    """The arguments after ``celery`` when the process IS the celery program, else None."""
    if not args:
        return None
    base = args[0].rsplit("/", 1)[-1]
    if base == "celery":
        return args[1:]
    if re.fullmatch(r"python[\d.]*", base):
        rest = [a for a in args[1:] if not a.startswith("-") or a == "-m"]
        if rest[:2] == ["-m", "celery"]:
            return args[args.index("celery") + 1 :]
        if rest and rest[0].rsplit("/", 1)[-1] == "celery":
            return args[args.index(rest[0]) + 1 :]
    return None


def _option(argv: Sequence[str], short: str, long: str) -> str | None:
    for i, a in enumerate(argv):
        if a in (short, long) and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(long + "="):
            return a.split("=", 1)[1]
        if short and a.startswith(short) and len(a) > len(short) and not a.startswith("--"):
            return a[len(short) :]
    return None


def _worker_name(p: Proc) -> str:
    return _option(_celery_argv(p.args) or (), "-n", "--hostname") or "default name"


def judge_celery_processes(
    procs: Sequence[Proc],
    min_workers: int,
    app: str | None,
    queue: str | None,
    min_concurrency: int | None = None,
) -> Outcome:
    """Celery worker main processes (pool children not counted) for ``app`` consuming ``queue``.

    With ``min_concurrency``, each worker must set ``--concurrency``/``-c`` to at least that:
    a worker without it runs one process per CPU of wherever it lands, which is not tuned.
    """
    workers = {}
    for p in procs:
        argv = _celery_argv(p.args)
        if argv is None or "worker" not in argv:
            continue
        if (
            app
            and (_option(argv, "-A", "--app") or "").split(":")[0].split(".")[0]
            != app.split(".")[0]
        ):
            continue
        if queue and queue not in (_option(argv, "-Q", "--queues") or "celery").split(","):
            continue
        workers[p.pid] = p
    main = [p for p in workers.values() if p.ppid not in workers]
    what = (
        "Celery worker"
        + (f" of app {app}" if app else "")
        + (f" consuming {queue}" if queue else "")
    )
    seen = ", ".join(f"pid {p.pid} ({_worker_name(p)}, up {p.seconds} s)" for p in main[:10])
    ev = Evidence()
    ev.add(
        "workers",
        len(main) >= min_workers,
        f"{len(main)} {what} process(es)" + (f": {seen}" if seen else ""),
        f">= {min_workers} running",
    )
    if min_concurrency is not None:
        for p in main:
            value = _option(_celery_argv(p.args) or (), "-c", "--concurrency")
            ok = value is not None and value.isdigit() and int(value) >= min_concurrency
            ev.add(
                f"concurrency of {_worker_name(p)}",
                ok,
                f"--concurrency {value}" if value else "not set (one process per CPU)",
                f">= {min_concurrency}, set explicitly",
            )
    return ev.outcome(workers=len(main), pool_processes=len(workers) - len(main))


@check(target="host")
def celery_workers(
    host: HostTarget,
    *,
    min_workers: int = 1,
    app: str | None = None,
    queue: str | None = None,
    min_concurrency: int | None = None,
) -> Outcome:
    """Celery worker processes run on the host (for an app, consuming a queue).

    Reads the process table (``ps``) and counts ``celery ... worker`` main
    processes (prefork pool children are not counted again). Nothing is sent
    to the broker.

    Args:
        min_workers: the fewest worker processes.
        app: the Celery app (``-A``/``--app``) the workers must run.
        queue: a queue (``-Q``/``--queues``; ``celery`` when not given) the workers must consume.
        min_concurrency: each worker's ``--concurrency`` must be set and at least this.
    """
    result = host.run(PS_COMMAND)
    if getattr(result, "rc", 0) != 0:
        raise CheckError(
            f"host {host.name}: '{PS_COMMAND}' failed: "
            f"{mask(str(getattr(result, 'stderr', '')))[:200]}"
        )
    procs = parse_ps(str(result.stdout))
    return judge_celery_processes(procs, min_workers, app, queue, min_concurrency)


@dataclass(frozen=True)
class Heartbeat:
    hostname: str
    timestamp: float
    active: int
    processed: int
    freq: float


def parse_event(raw: bytes | str) -> Heartbeat | None:
    """A worker heartbeat from a kombu message on Celery's event channel, or None."""
    try:
        envelope = json.loads(raw)
        body: Any = envelope.get("body", "")
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        event = json.loads(body)
    except (ValueError, TypeError, AttributeError, binascii.Error):
        return None
    if not isinstance(event, dict) or event.get("type") != "worker-heartbeat":
        return None
    try:
        return Heartbeat(
            str(event.get("hostname", "?")),
            float(event.get("timestamp", 0)),
            int(event.get("active", 0)),
            int(event.get("processed", 0)),
            float(event.get("freq", 2.0)),
        )
    except (TypeError, ValueError):
        return None


def judge_heartbeats(beats: Sequence[Heartbeat], min_workers: int, waited: float) -> Outcome:
    latest: dict[str, Heartbeat] = {}
    for b in beats:
        if b.hostname not in latest or b.timestamp > latest[b.hostname].timestamp:
            latest[b.hostname] = b
    seen = ", ".join(
        f"{b.hostname} ({b.active} active, {b.processed} processed)" for b in latest.values()
    )
    return Outcome.of(
        len(latest) >= min_workers,
        f"{len(latest)} worker(s) sent a heartbeat within {waited:g} s"
        + (f": {seen}" if seen else ""),
        f">= {min_workers} worker(s) sending heartbeats",
        workers=sorted(latest),
    )


@check(target="database")
def celery_heartbeats(
    db: DatabaseTarget, *, min_workers: int = 1, wait_seconds: float = 5.0, key_prefix: str = ""
) -> Outcome:
    """Celery workers on a Redis broker are alive: their heartbeat events arrive.

    Listens (SUBSCRIBE, read-only) on the channel where Celery workers
    publish ``worker-heartbeat`` events every 2 s
    (``<key_prefix>/<db>.celeryev/worker.heartbeat``) for up to
    ``wait_seconds``, and counts the workers heard. Nothing is published:
    this is not ``celery inspect``.

    Args:
        min_workers: the fewest workers that must be heard.
        wait_seconds: how long to listen (at least two heartbeat intervals is wise).
        key_prefix: the broker transport's ``global_keyprefix``, if the app sets one.
    """
    _redis_only(db, "celery_heartbeats")
    if not 0 < wait_seconds <= 60:
        raise CheckError(
            f"celery_heartbeats on database {db.name}: wait_seconds must be above 0 and at most 60"
        )
    number = db.dsn.database or "0"
    channel = f"{key_prefix}/{number}.celeryev/worker.heartbeat"
    client = db.connection()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    beats: list[Heartbeat] = []
    start = time.monotonic()
    try:
        pubsub.subscribe(channel)
        while (left := wait_seconds - (time.monotonic() - start)) > 0:
            message = pubsub.get_message(timeout=min(left, 1.0))
            if message and message.get("type") == "message":
                beat = parse_event(message["data"])
                if beat:
                    beats.append(beat)
                    if (
                        len({b.hostname for b in beats}) >= min_workers
                        and time.monotonic() - start >= 2.5
                    ):
                        break
    except Exception as exc:  # noqa: BLE001 - any client failure is one line
        raise CheckError(
            f"database {db.name}: SUBSCRIBE {channel} failed: {mask(str(exc))[:200]}"
        ) from None
    finally:
        pubsub.close()
    out = judge_heartbeats(beats, min_workers, round(time.monotonic() - start, 1))
    out.details["channel"] = channel
    return out


# --- import rules ---------------------------------------------------------------------------------


@proposes("rabbitmq_dead_letter")
def _dead_letter(line: Line) -> Proposal | None:
    t = line.lower
    if not re.search(r"\b(dead[- ]?letter\w*|dlq|dlx|poison (queue|messages?))\b", t):
        return None
    return Proposal(
        [("rabbitmq_dead_letter", {"queue": "${work_queue}"})],
        0.75,
        "the work queue dead-letters into a bound queue",
        ("queue=${work_queue}",),
    )


@proposes("redis_queue_depth", "rabbitmq_queue_depth")
def _queue_depth(line: Line) -> Proposal | None:
    t = line.lower
    if not re.search(
        r"\bqueues?\b.{0,20}\b(depth|length|size|backlog|empty|drained)\b|\bbacklog\b", t
    ):
        return None
    if re.search(r"\balert", t):
        return None  # an alert on queue depth is a rule in Prometheus, not today's depth
    m = re.search(r"(?:<|below|under|less than|max(?:imum)?|at most)\s*(\d+)", t)
    limit = (
        m.group(1) if m else ("0" if re.search(r"\b(empty|drained)\b", t) else "${max_queue_depth}")
    )
    broker, sure = _broker(line)
    name = _queue_name(line)
    guessed = () if name != "${work_queue}" else ("queue=${work_queue}",)
    if broker == "rabbitmq":
        return Proposal(
            [("rabbitmq_queue_depth", {"queue": name, "max": limit})],
            0.7 if sure else 0.5,
            "RabbitMQ queue depth" + ("" if sure else " (no broker named near the line)"),
            guessed,
        )
    return Proposal(
        [("redis_queue_depth", {"keys": name, "max": limit})],
        0.65 if sure else 0.5,
        "Redis queue depth" + ("" if sure else " (no broker named near the line)"),
        tuple(g.replace("queue=", "keys=") for g in guessed),
    )


def _queue_name(line: Line) -> str:
    """The queue a line names in a code span (`order-events`), else a variable."""
    spans = [c.strip() for c in line.code.split("\n") if c.strip()]
    names = [c for c in spans if re.fullmatch(r"[\w.:@/-]{1,255}", c) and not c.startswith("/")]
    return names[0] if len(names) == 1 else "${work_queue}"


@proposes("rabbitmq_queue_depth")
def _consumers_rule(line: Line) -> Proposal | None:
    """ "Queue `order-events` has consumers attached", "At least 3 consumers on `jobs`"."""
    t = line.lower
    if not re.search(r"\bconsumers?\b", t) or not re.search(r"\bqueues?\b|`", line.marked.lower()):
        return None
    if re.search(r"\balert|\blag\b", t):
        return None
    m = re.search(r"(\d+)\s+consumers?\b|consumers?\D{0,12}(?:>=|at least|min(?:imum)?)\s*(\d+)", t)
    count = (m.group(1) or m.group(2)) if m else "1"
    broker, sure = _broker(line)
    if broker != "rabbitmq" and sure:
        return None  # a Redis list has no consumers to count
    name = _queue_name(line)
    return Proposal(
        [("rabbitmq_queue_depth", {"queue": name, "min_consumers": count})],
        0.75 if sure else 0.5,
        "consumers attached to the queue" + ("" if sure else " (no broker named near the line)"),
        () if name != "${work_queue}" else ("queue=${work_queue}",),
    )


_RABBIT = r"\b(rabbit\w*|amqp)\b"
_REDIS = r"\b(redis|celery|rq|sidekiq)\b"


def _broker(line: Line) -> tuple[str, bool]:
    """Which broker a queue line means, and whether the checklist says so.

    The line's own words decide, then its headings, then the lines beside it ("RabbitMQ
    queue order-events has consumers" above "Backlog on order-events"). With no broker
    named, or both, Redis is only a guess and the line is left to a person.
    """
    for words in (line.lower, line.context.lower(), section_words(line)):
        rabbit, redis = bool(re.search(_RABBIT, words)), bool(re.search(_REDIS, words))
        if rabbit != redis:
            return ("rabbitmq" if rabbit else "redis"), True
        if rabbit and redis:
            break
    return "redis", False


@proposes("celery_workers")
def _workers_alive(line: Line) -> Proposal | None:
    t = line.lower
    if re.search(r"\b(celery|workers?)\b", t) and re.search(r"\bconcurrency\b", t):
        m = re.search(r"concurrency\D{0,15}(\d+)", t)
        value = m.group(1) if m else "${worker_concurrency}"
        return Proposal(
            [("celery_workers", {"min_concurrency": value})],
            0.7,
            "worker concurrency set explicitly",
            () if m else (f"min_concurrency={value}",),
        )
    if not re.search(r"\b(celery|workers?)\b", t) or re.search(r"\balert", t):
        return None
    if not re.search(
        r"\b(running|alive|up|started|healthy|online|active|processing|consuming)\b", t
    ):
        return None
    m = re.search(r"(\d+)\s*(?:celery\s+)?workers?\b", t)
    params = {"min_workers": m.group(1)} if m else {}
    return Proposal([("celery_workers", params)], 0.7, "Celery worker processes run")
