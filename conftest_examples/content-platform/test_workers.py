"""Custom check: Celery workers are alive, by the heartbeat they write into Redis.

Each worker of the platform writes ``<prefix>:<hostname>`` = the current unix
time every 30 seconds (a ``heartbeat_sent`` signal handler, expiring after
five minutes). This check only READS those keys through the read-only Redis
client ``golive_db``: at least ``celery_min_workers`` heartbeats no older than
``celery_heartbeat_max_age`` seconds.

STAND-IN in the example environment: no Celery worker runs here. The machine's
Redis holds a heartbeat key that the test (tests/test_examples.py) writes
before the run, as a worker would.
"""

from __future__ import annotations

import time

import pytest


def heartbeats(client, prefix: str) -> dict[str, float]:
    """Worker name -> age in seconds of its heartbeat (read-only: SCAN and GET)."""
    now = time.time()
    ages: dict[str, float] = {}
    for key in client.scan_iter(match=f"{prefix}:*", count=100):
        name = key.decode() if isinstance(key, bytes) else key
        value = client.get(name)
        if value is None:
            continue
        try:
            ages[name.removeprefix(prefix + ":")] = now - float(value)
        except ValueError:
            ages[name.removeprefix(prefix + ":")] = float("inf")
    return ages


@pytest.mark.monitoring(id="celery-workers-heartbeat", on="redis")
def test_celery_workers_send_heartbeats(golive_db, golive_env):
    """At least the expected number of Celery workers sent a heartbeat recently."""
    prefix = golive_env.vars["celery_heartbeat_prefix"]
    max_age = float(golive_env.vars.get("celery_heartbeat_max_age", "120"))
    minimum = int(golive_env.vars.get("celery_min_workers", "1"))
    ages = heartbeats(golive_db, prefix)
    alive = sorted(name for name, age in ages.items() if age <= max_age)
    seen = ", ".join(f"{name} {age:.0f} s ago" for name, age in sorted(ages.items())) or "no heartbeat keys"
    assert len(alive) >= minimum, (
        f"observed {len(alive)} live worker(s) ({seen}), expected >= {minimum} with a heartbeat "
        f"<= {max_age:.0f} s old under {prefix}:*"
    )
