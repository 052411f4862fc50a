"""Endpoint checks, through requests. Safe methods only."""

from __future__ import annotations

from pytest_golive.checks.registry import check
from pytest_golive.outcome import Outcome
from pytest_golive.targets.endpoint import EndpointTarget


def status_matches(code: int, expected: str) -> bool:
    """Whether ``code`` matches ``200``, ``2xx``, ``200-299`` or ``200,204``."""
    for part in str(expected).split(","):
        part = part.strip().lower()
        if not part:
            continue
        if part.endswith("xx") and part[0].isdigit():
            if code // 100 == int(part[0]):
                return True
        elif "-" in part:
            lo, hi = part.split("-", 1)
            if int(lo) <= code <= int(hi):
                return True
        elif code == int(part):
            return True
    return False


@check(target="endpoint")
def http_status(
    endpoint: EndpointTarget, *, path: str = "/", method: str = "GET", expect: str = "2xx"
) -> Outcome:
    """A path answers with the expected HTTP status.

    Args:
        path: the path below the endpoint's base URL.
        method: GET or HEAD.
        expect: a status, a class (2xx), a range (200-299) or a list (200,204).
    """
    response = endpoint.request(method, path)
    return Outcome.of(
        status_matches(response.status_code, expect),
        f"{method} {path} -> {response.status_code} {response.reason}",
        f"status {expect}",
        status=response.status_code,
        elapsed_ms=round(response.elapsed.total_seconds() * 1000, 1),
    )
