"""Endpoint checks, through requests. Safe methods only.

Every check here takes an :class:`~pytest_golive.targets.endpoint.EndpointTarget`
and sends GET, HEAD or OPTIONS requests only; nothing here changes a target.
Each outcome says whether TLS verification was on (``tls_verify``), because
a result obtained with verification off proves less and the report says so.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
import time
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, has, paths, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.endpoint import EndpointTarget, reports_tls

REDIRECT_CODES = (301, 302, 303, 307, 308)
#: Most samples and requests a single check may send: checks observe, they do not load-test.
MAX_SAMPLES = 100
MAX_RATE_REQUESTS = 1000


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


def _valid_status_spec(expected: str, where: str) -> None:
    """Reject a malformed status expectation with one line before any request."""
    try:
        status_matches(0, expected)
    except ValueError:
        raise CheckError(
            f"{where}: '{expected}' is not a status, class (2xx), range or list"
        ) from None


def _line(response: requests.Response) -> str:
    return f"{response.status_code} {response.reason or ''}".strip()


# --- status and content ----------------------------------------------------------------


@check(target="endpoint")
@reports_tls
def http_status(
    endpoint: EndpointTarget, *, path: str = "/", method: str = "GET", expect: str = "2xx"
) -> Outcome:
    """A path answers with the expected HTTP status.

    Args:
        path: the path below the endpoint's base URL.
        method: GET or HEAD.
        expect: a status, a class (2xx), a range (200-299) or a list (200,204).
    """
    _valid_status_spec(expect, f"http_status on {endpoint.name}")
    response = endpoint.request(method, path)
    return Outcome.of(
        status_matches(response.status_code, expect),
        f"{method.upper()} {path} -> {_line(response)}",
        f"status {expect}",
        status=response.status_code,
        elapsed_ms=round(response.elapsed.total_seconds() * 1000, 1),
    )


_MISSING = object()


def json_field(data: Any, dotted: str) -> Any:
    """The value at ``a.b.0.c`` in parsed JSON, or ``_MISSING``."""
    current = data
    for part in dotted.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif (
            isinstance(current, list)
            and part.lstrip("-").isdigit()
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def json_text(value: Any) -> str:
    """A JSON value as a binding would write it: ok, true, 3, null."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _json_equal(value: Any, expected: str) -> bool:
    if isinstance(value, bool) or value is None:
        return json_text(value) == expected.strip().lower()
    if isinstance(value, (int, float)):
        try:
            return math.isclose(float(value), float(expected))
        except ValueError:
            return False
    return json_text(value) == expected


@check(target="endpoint")
@reports_tls
def http_json(endpoint: EndpointTarget, *, path: str = "/health", expect: list[str]) -> Outcome:
    """A path answers 2xx with JSON whose fields have the expected values.

    A health endpoint that reports its own dependencies ("database":
    {"status": "ok"}) is only as good as its fields: a 200 with
    ``"database": "down"`` is not healthy.

    Args:
        path: the path below the endpoint's base URL.
        expect: ``field.path=value`` pairs, comma separated (``status=ok,database.status=ok``);
            list items by index (``checks.0.status=ok``); ``true``/``false``/``null``/numbers
            compare as JSON values.
    """
    pairs = []
    for item in expect:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise CheckError(
                f"http_json on {endpoint.name}: expectation '{item}' is not field.path=value"
            )
        pairs.append((field.strip(), value.strip()))
    response = endpoint.get(path, headers={"Accept": "application/json"})
    ev = Evidence()
    ev.add("status", 200 <= response.status_code < 300, f"GET {path} -> {_line(response)}", "2xx")
    try:
        data = response.json()
    except ValueError:
        snippet = " ".join(response.text[:80].split())
        ev.add("body", False, f"not JSON ({snippet!r})", "a JSON document")
        return ev.outcome(status=response.status_code)
    fields: dict[str, Any] = {}
    for field, wanted in pairs:
        value = json_field(data, field)
        if value is _MISSING:
            ev.add(field, False, "absent", wanted)
            fields[field] = None
        else:
            ev.add(field, _json_equal(value, wanted), json_text(value), wanted)
            fields[field] = (
                value
                if isinstance(value, (str, int, float, bool)) or value is None
                else json_text(value)
            )
    return ev.outcome(status=response.status_code, fields=fields)


@check(target="endpoint")
@reports_tls
def http_body(
    endpoint: EndpointTarget,
    *,
    path: str = "/",
    contains: str | None = None,
    regex: str | None = None,
    expect: str = "2xx",
) -> Outcome:
    """A path answers with a body that contains a text and/or matches a regular expression.

    Args:
        path: the path below the endpoint's base URL.
        contains: text the body must contain (case-sensitive).
        regex: a Python regular expression the body must match somewhere.
        expect: the status the answer must have as well (2xx by default).
    """
    where = f"http_body on {endpoint.name}"
    if contains is None and regex is None:
        raise CheckError(f"{where}: give contains=... or regex=... (nothing to look for)")
    _valid_status_spec(expect, where)
    pattern = None
    if regex is not None:
        try:
            pattern = re.compile(regex)
        except re.error as exc:
            raise CheckError(f"{where}: regex {regex!r} is not valid: {exc}") from None
    response = endpoint.get(path)
    body = response.text
    ev = Evidence()
    ev.add(
        "status",
        status_matches(response.status_code, expect),
        f"GET {path} -> {_line(response)}",
        expect,
    )
    if contains is not None:
        ev.add(
            "contains",
            contains in body,
            "found" if contains in body else f"not found in {len(body)} characters",
            repr(contains),
        )
    if pattern is not None:
        found = pattern.search(body)
        ev.add(
            "regex",
            found is not None,
            f"matched {found.group(0)[:80]!r}" if found else f"no match in {len(body)} characters",
            f"/{regex}/",
        )
    return ev.outcome(status=response.status_code, body_chars=len(body))


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile: a value that was actually observed."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@check(target="endpoint")
@reports_tls
def http_latency(
    endpoint: EndpointTarget,
    *,
    path: str = "/",
    samples: int = 10,
    p50_ms: float | None = None,
    p95_ms: float = 1000.0,
) -> Outcome:
    """Response time of a path stays within budget over several sequential requests.

    Each sample is one complete GET (connection reused, body read); the
    percentiles are nearest-rank, so they are times that were observed. All
    samples are in the evidence.

    Args:
        path: the path below the endpoint's base URL.
        samples: how many requests to time (1 to 100).
        p50_ms: budget for the median, in milliseconds (not checked if unset).
        p95_ms: budget for the 95th percentile, in milliseconds.
    """
    if not 1 <= samples <= MAX_SAMPLES:
        raise CheckError(
            f"http_latency on {endpoint.name}: samples must be 1 to {MAX_SAMPLES}, not {samples}"
        )
    times: list[float] = []
    statuses: list[int] = []
    for _ in range(samples):
        start = time.perf_counter()
        response = endpoint.get(path)
        times.append(round((time.perf_counter() - start) * 1000, 2))
        statuses.append(response.status_code)
    p50, p95 = percentile(times, 50), percentile(times, 95)
    ev = Evidence()
    bad = sorted({s for s in statuses if not 200 <= s < 400})
    ev.add("status", not bad, f"statuses {sorted(set(statuses))}", "2xx/3xx on every sample")
    if p50_ms is not None:
        ev.add("p50", p50 <= p50_ms, f"{p50:g} ms", f"<= {p50_ms:g} ms")
    ev.add("p95", p95 <= p95_ms, f"{p95:g} ms over {samples} samples", f"<= {p95_ms:g} ms")
    return ev.outcome(samples_ms=times, p50_ms=p50, p95_ms=p95, max_ms=max(times))


# --- transport and headers -------------------------------------------------------------


def _http_url(endpoint: EndpointTarget, http_url: str | None, port: int | None, path: str) -> str:
    """The plain-http URL on the endpoint's own host that should redirect."""
    if http_url:
        if not http_url.startswith("http://"):
            raise CheckError(
                f"https_redirect on {endpoint.name}: http_url must start with http://, not "
                f"{http_url!r}"
            )
        return http_url
    host = endpoint.host
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, 80) else f"{host}:{port}"
    if port is None and endpoint.scheme == "http":
        netloc = urlsplit(endpoint.base_url).netloc
    return urlunsplit(("http", netloc, path or "/", "", ""))


@check(target="endpoint")
@reports_tls
def https_redirect(
    endpoint: EndpointTarget,
    *,
    path: str = "/",
    http_url: str | None = None,
    port: int | None = None,
) -> Outcome:
    """Plain http:// answers with a redirect to https:// on the same host.

    Args:
        path: the path to request over plain http.
        http_url: the full http:// URL to try, when it is not the endpoint's host on port 80.
        port: the plain-http port on the endpoint's host (80 by default).
    """
    url = _http_url(endpoint, http_url, port, path)
    response = endpoint.request("GET", url)
    location = response.headers.get("Location", "")
    target = urlsplit(location) if location else None
    asked = urlsplit(url)
    ev = Evidence()
    ev.add(
        "status",
        response.status_code in REDIRECT_CODES,
        f"GET {url} -> {_line(response)}",
        "a redirect (301/302/303/307/308)",
    )
    ev.add(
        "scheme",
        target is not None and target.scheme == "https",
        f"Location {location!r}" if location else "no Location header",
        "https://",
    )
    if target is not None:
        same = (target.hostname or asked.hostname) == asked.hostname
        ev.add("host", same, target.hostname or "(relative)", f"same host {asked.hostname}")
    return ev.outcome(url=url, status=response.status_code, location=location)


PERMANENT_CODES = (301, 308)


def location_matches(location: str, to: str) -> bool:
    """Whether an absolute redirect ``location`` points where ``to`` says.

    ``to`` is a glob over the whole URL (``*://www.*``), a URL (the location is it, or
    under it: ``https://www.example.com`` matches ``https://www.example.com/shop``), or a
    bare host name (the location's host is it).
    """
    if any(c in to for c in "*?["):
        return fnmatch.fnmatchcase(location, to)
    if to.startswith("/"):
        where = urlsplit(location).path or "/"
        return where == to or where.rstrip("/") == to.rstrip("/") or where.startswith(
            to.rstrip("/") + "/")
    if "://" in to:
        base = to.rstrip("/")
        return location == to or location.rstrip("/") == base or (
            location.startswith(base) and location[len(base)] in "/?#")
    return (urlsplit(location).hostname or "") == to.lower().rstrip(".")


def judge_redirect(
    asked: str, status: int, reason: str, location: str, to: str, permanent: bool | None
) -> Outcome:
    """A redirect's answer against where it should go (pure: the answer is gathered first).

    ``{host}`` in ``to`` stands for the host that was asked: ``www.{host}`` is the
    apex's own www name, not any www.
    """
    absolute = urljoin(asked, location) if location else ""
    to = to.replace("{host}", urlsplit(asked).hostname or "")
    kinds = {True: (PERMANENT_CODES, "a permanent redirect (301/308)"),
             False: ((302, 303, 307), "a temporary redirect (302/303/307)"),
             None: (REDIRECT_CODES, "a redirect (301/302/303/307/308)")}
    codes, wanted = kinds[permanent]
    ev = Evidence()
    ev.add("status", status in codes, f"GET {asked} -> {status} {reason}".rstrip(), wanted)
    ev.add("location", bool(absolute) and location_matches(absolute, to),
           f"Location {absolute!r}" if absolute else "no Location header", f"Location {to}")
    return ev.outcome(url=asked, status=status, location=absolute)


@check(target="endpoint", aliases=("redirect",))
@reports_tls
def http_redirect(
    endpoint: EndpointTarget, *, path: str = "/", to: str, permanent: bool | None = None
) -> Outcome:
    """A path answers with a redirect to the expected place (the redirect is not followed).

    For lines such as "the apex domain redirects to www" or "/old-shop moves to
    /shop": the answer itself must be a redirect, and its Location must point
    where ``to`` says. A page that is served instead, or a redirect elsewhere,
    fails.

    Args:
        path: the path to request.
        to: where it must point: a URL or a /path (the Location is it or under it), a
            glob over the whole URL (``*://www.*``), or a host name; ``{host}`` is the host
            asked (``www.{host}``: the apex's own www name).
        permanent: true requires 301/308, false 302/303/307; empty: any redirect.
    """
    if not to.strip():
        raise CheckError(f"http_redirect on {endpoint.name}: to= is empty: give the URL, /path, "
                         "glob or host the redirect must point to")
    response = endpoint.request("GET", path)
    return judge_redirect(
        response.url or endpoint.url(path), response.status_code, response.reason or "",
        response.headers.get("Location", ""), to, permanent,
    )


SECURITY_RULES = ("hsts", "nosniff", "frame", "csp")


def _max_age(value: str) -> int | None:
    found = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.IGNORECASE)
    return int(found.group(1)) if found else None


def _csp_frame_ancestors(csp: str) -> str | None:
    for directive in csp.split(";"):
        parts = directive.strip().split(None, 1)
        if parts and parts[0].lower() == "frame-ancestors":
            return parts[1] if len(parts) > 1 else ""
    return None


@check(target="endpoint")
@reports_tls
def security_headers(
    endpoint: EndpointTarget,
    *,
    path: str = "/",
    required: list[str] = list(SECURITY_RULES),  # noqa: B006 - never mutated; shown in docs
    hsts_min_age: int = 15552000,
) -> Outcome:
    """A path answers with the browser security headers.

    Known rules: ``hsts`` (Strict-Transport-Security with max-age >=
    ``hsts_min_age``), ``nosniff`` (X-Content-Type-Options: nosniff),
    ``frame`` (X-Frame-Options DENY/SAMEORIGIN, or CSP frame-ancestors),
    ``csp`` (a Content-Security-Policy). Any other entry is a header name that
    must be present.

    Args:
        path: the path below the endpoint's base URL.
        required: the rules and header names to require, comma separated.
        hsts_min_age: the smallest acceptable HSTS max-age in seconds (180 days by default).
    """
    response = endpoint.get(path)
    h = response.headers
    csp = h.get("Content-Security-Policy", "")
    ev = Evidence()
    for rule in [r.strip() for r in required if r.strip()]:
        key = rule.lower()
        if key == "hsts":
            value = h.get("Strict-Transport-Security")
            age = _max_age(value or "")
            if endpoint.scheme != "https":
                ev.add(
                    "hsts",
                    False,
                    "endpoint is plain http (browsers ignore HSTS there)",
                    "an https endpoint with HSTS",
                )
            else:
                ev.add(
                    "hsts",
                    age is not None and age >= hsts_min_age,
                    f"Strict-Transport-Security: {value}"
                    if value
                    else "no Strict-Transport-Security header",
                    f"max-age >= {hsts_min_age}",
                )
        elif key == "nosniff":
            value = h.get("X-Content-Type-Options")
            ev.add(
                "nosniff",
                (value or "").strip().lower() == "nosniff",
                f"X-Content-Type-Options: {value}" if value else "no X-Content-Type-Options header",
                "nosniff",
            )
        elif key == "frame":
            xfo = (h.get("X-Frame-Options") or "").strip()
            ancestors = _csp_frame_ancestors(csp)
            ok = xfo.upper() in ("DENY", "SAMEORIGIN") or (
                ancestors is not None and "*" not in ancestors.split()
            )
            seen = [f"X-Frame-Options: {xfo}" if xfo else "no X-Frame-Options"]
            seen.append(
                f"CSP frame-ancestors {ancestors}"
                if ancestors is not None
                else "no CSP frame-ancestors"
            )
            ev.add(
                "frame",
                ok,
                ", ".join(seen),
                "X-Frame-Options DENY/SAMEORIGIN or CSP frame-ancestors",
            )
        elif key == "csp":
            ev.add(
                "csp",
                bool(csp.strip()),
                f"Content-Security-Policy: {csp}" if csp else "no Content-Security-Policy header",
                "a Content-Security-Policy",
            )
        else:
            value = h.get(rule)
            ev.add(
                rule,
                value is not None,
                f"{rule}: {value}" if value is not None else f"no {rule} header",
                f"{rule} present",
            )
    if not ev.facts:
        raise CheckError(
            f"security_headers on {endpoint.name}: required is empty; nothing to check"
        )
    return ev.outcome(status=response.status_code, headers=_header_subset(h))


_SHOWN_HEADERS = (
    "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
    "Content-Security-Policy", "Referrer-Policy", "Permissions-Policy",
)


def _header_subset(headers: Any) -> dict[str, str]:
    return {name: headers[name] for name in _SHOWN_HEADERS if name in headers}


@check(target="endpoint")
@reports_tls
def cors(
    endpoint: EndpointTarget,
    *,
    path: str = "/",
    allowed_origins: list[str] = [],  # noqa: B006 - never mutated
    foreign_origin: str = "https://golive-foreign.invalid",
    allow_any: bool = False,
) -> Outcome:
    """Cross-origin requests are allowed only for the listed origins.

    Sends GET with an ``Origin`` header (the name is never resolved or
    contacted) and reads ``Access-Control-Allow-Origin``: a foreign origin
    must not be allowed (reflected or ``*``), ``*`` must never come with
    ``Access-Control-Allow-Credentials: true``, and each allowed origin must
    be answered with itself. The path must be a page the API serves (2xx, 3xx, or 401/403
    behind authentication): an error page's headers prove nothing, so they are an error.

    Args:
        path: the path below the endpoint's base URL.
        allowed_origins: origins that must be allowed (https://app.example.com), comma separated.
        foreign_origin: an origin that must not be allowed.
        allow_any: accept ``*`` (a public, credential-less API) for foreign origins.
    """
    ev = Evidence()
    answers: dict[str, dict[str, str]] = {}

    def ask(origin: str) -> tuple[str, bool]:
        response = endpoint.get(path, headers={"Origin": origin})
        acao = response.headers.get("Access-Control-Allow-Origin", "")
        creds = (
            response.headers.get("Access-Control-Allow-Credentials", "").strip().lower() == "true"
        )
        answers[origin] = {
            "status": str(response.status_code),
            "allow_origin": acao,
            "allow_credentials": str(creds).lower(),
        }
        if acao.strip() == "*" and creds:
            ev.add(
                f"credentials for {origin}",
                False,
                "Access-Control-Allow-Origin: * with Allow-Credentials: true",
                "no * with credentials",
            )
        return acao.strip(), creds

    acao, _ = ask(foreign_origin)
    status = int(answers[foreign_origin]["status"])
    if status >= 400 and status not in (401, 403):
        # A page that does not exist (or fails) may carry none of the API's CORS headers:
        # passing on it would prove nothing about the API.
        raise CheckError(
            f"cors on {endpoint.name}: GET {path} answered {status}: the headers of an error "
            "page say nothing about the API's CORS policy; set path= to a page the API serves"
        )
    allowed_foreign = acao == foreign_origin or (acao == "*" and not allow_any)
    ev.add(
        "foreign origin",
        not allowed_foreign,
        f"{foreign_origin} -> Access-Control-Allow-Origin: {acao}"
        if acao
        else f"{foreign_origin} -> no Access-Control-Allow-Origin",
        "not allowed" + (" (* accepted)" if allow_any else ""),
    )
    for origin in allowed_origins:
        acao, _ = ask(origin)
        ev.add(
            f"allowed {origin}",
            acao in (origin, "*") if allow_any else acao == origin,
            f"Access-Control-Allow-Origin: {acao}" if acao else "no Access-Control-Allow-Origin",
            origin,
        )
    return ev.outcome(answers=answers)


@check(target="endpoint")
@reports_tls
def auth_required(endpoint: EndpointTarget, *, path: str, expect: str = "401,403") -> Outcome:
    """A protected path refuses a request without credentials.

    The request leaves out the endpoint's credential headers (Authorization,
    Cookie, API keys and any header configured as secret).

    Args:
        path: the protected path below the endpoint's base URL.
        expect: the refusal statuses (401,403 by default).
    """
    _valid_status_spec(expect, f"auth_required on {endpoint.name}")
    response = endpoint.get(path, with_auth=False)
    return Outcome.of(
        status_matches(response.status_code, expect),
        f"GET {path} without credentials -> {_line(response)}",
        f"status {expect}",
        status=response.status_code,
        www_authenticate=response.headers.get("WWW-Authenticate", ""),
        credential_headers_left_out=list(endpoint.credential_headers),
    )


@check(target="endpoint")
@reports_tls
def compression(
    endpoint: EndpointTarget,
    *,
    path: str = "/",
    encodings: list[str] = ["gzip", "br"],  # noqa: B006
) -> Outcome:
    """A path is served compressed to a client that accepts it.

    Args:
        path: the path below the endpoint's base URL.
        encodings: acceptable Content-Encoding values, comma separated (gzip, br, zstd, deflate).
    """
    wanted = [e.strip().lower() for e in encodings if e.strip()]
    response = endpoint.get(path, headers={"Accept-Encoding": ", ".join(wanted)})
    got = response.headers.get("Content-Encoding", "").strip().lower()
    ok = 200 <= response.status_code < 300 and got in wanted
    seen = f"Content-Encoding: {got}" if got else "no Content-Encoding (uncompressed)"
    return Outcome.of(
        ok,
        f"GET {path} -> {_line(response)}, {seen}",
        f"2xx with Content-Encoding one of {', '.join(wanted)}",
        status=response.status_code,
        content_encoding=got,
    )


def _cache_control(value: str) -> dict[str, str]:
    out = {}
    for part in value.split(","):
        key, _, val = part.strip().partition("=")
        if key:
            out[key.strip().lower()] = val.strip().strip('"')
    return out


@check(target="endpoint")
@reports_tls
def cache_headers(
    endpoint: EndpointTarget, *, path: str, min_max_age: int = 3600, validators: bool = True
) -> Outcome:
    """A static asset is cacheable by browsers and proxies.

    Cacheable means Cache-Control max-age (or s-maxage) of at least
    ``min_max_age`` seconds, or (when ``validators`` is true) an ETag or
    Last-Modified for revalidation; ``no-store`` is never cacheable.

    Args:
        path: the asset path below the endpoint's base URL (/static/app.js).
        min_max_age: the smallest acceptable max-age in seconds.
        validators: whether an ETag or Last-Modified alone is enough.
    """
    response = endpoint.get(path)
    h = response.headers
    cc = _cache_control(h.get("Cache-Control", ""))
    ages = [int(cc[k]) for k in ("s-maxage", "max-age") if cc.get(k, "").isdigit()]
    age = max(ages) if ages else None
    validator = h.get("ETag") or h.get("Last-Modified")
    if "no-store" in cc:
        ok, why = False, "Cache-Control: no-store"
    elif age is not None and age >= min_max_age:
        ok, why = True, f"Cache-Control max-age {age}s"
    elif validators and validator:
        ok, why = (
            True,
            "ETag " + h["ETag"] if h.get("ETag") else "Last-Modified " + h["Last-Modified"],
        )
    else:
        parts = [
            f"Cache-Control: {h['Cache-Control']}" if "Cache-Control" in h else "no Cache-Control"
        ]
        parts.append("no ETag/Last-Modified")
        ok, why = False, ", ".join(parts)
    ok = ok and 200 <= response.status_code < 300
    expected = f"max-age >= {min_max_age}s" + (" or ETag/Last-Modified" if validators else "")
    return Outcome.of(
        ok,
        f"GET {path} -> {_line(response)}, {why}",
        expected,
        status=response.status_code,
        cache_control=h.get("Cache-Control", ""),
        etag=h.get("ETag", ""),
        last_modified=h.get("Last-Modified", ""),
    )


@check(target="endpoint", opt_in=True)
@reports_tls
def rate_limited(
    endpoint: EndpointTarget, *, path: str = "/", max_requests: int | None = None
) -> Outcome:
    """A burst of requests is answered with 429 Too Many Requests before it ends.

    This check sends load: up to ``max_requests`` sequential GETs, stopping
    at the first 429. It refuses to run unless ``max_requests`` is given, so
    no checklist sends a burst to production by accident.

    Args:
        path: the rate-limited path below the endpoint's base URL.
        max_requests: the most requests to send (1 to 1000); required, it is the consent.
    """
    if max_requests is None:
        raise CheckError(
            f"rate_limited on {endpoint.name}: refusing to run: it sends a burst of requests "
            f"to {path}; give max_requests=N to allow at most N"
        )
    if not 1 <= max_requests <= MAX_RATE_REQUESTS:
        raise CheckError(
            f"rate_limited on {endpoint.name}: max_requests must be 1 to {MAX_RATE_REQUESTS}, not "
            f"{max_requests}"
        )
    statuses: dict[str, int] = {}
    for sent in range(1, max_requests + 1):
        response = endpoint.get(path)
        statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
        if response.status_code == 429:
            retry = response.headers.get("Retry-After", "")
            return Outcome.passed(
                f"429 after {sent} requests" + (f" (Retry-After: {retry})" if retry else ""),
                f"429 within {max_requests} requests",
                requests_sent=sent, statuses=statuses, retry_after=retry,
            )
    return Outcome.failed(
        f"no 429 in {max_requests} requests (statuses {statuses})",
        f"429 within {max_requests} requests",
        requests_sent=max_requests, statuses=statuses,
    )


@check(target="endpoint")
@reports_tls
def openapi_docs(
    endpoint: EndpointTarget, *, path: str = "/openapi.json", docs_path: str = ""
) -> Outcome:
    """The API description (OpenAPI/Swagger JSON) and, if given, its docs page are reachable.

    Args:
        path: the OpenAPI document's path; it must answer 2xx with JSON holding an
            ``openapi`` or ``swagger`` version.
        docs_path: a human docs page (/docs) that must answer 2xx as well; empty to skip.
    """
    response = endpoint.get(path, headers={"Accept": "application/json"})
    ev = Evidence()
    version = None
    if 200 <= response.status_code < 300:
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            version = data.get("openapi") or data.get("swagger")
        ev.add(
            "document",
            version is not None,
            f"GET {path} -> {_line(response)}, "
            + (f"OpenAPI {version}" if version else "no openapi/swagger version in body"),
            "2xx JSON with an openapi or swagger version",
        )
    else:
        ev.add(
            "document",
            False,
            f"GET {path} -> {_line(response)}",
            "2xx JSON with an openapi or swagger version",
        )
    if docs_path:
        docs = endpoint.get(docs_path)
        ev.add(
            "docs page", 200 <= docs.status_code < 300, f"GET {docs_path} -> {_line(docs)}", "2xx"
        )
    return ev.outcome(openapi_version=str(version) if version else None)


# --- import rules: how checklist lines become endpoint checks -------------------------


def _url_paths(line: Line) -> list[str]:
    """Paths named in a line: from URLs, code spans or bare ``/path`` words."""
    found = []
    for url in re.findall(r"https?://[^\s`'\")\]]+", line.title + "\n" + line.code):
        path = urlsplit(url).path
        if path and path != "/":
            found.append(path)
    for span in re.findall(r"`(/[\w./{}-]*)`|\((/[\w./-]+)\)", line.marked):
        found.extend(s for s in span if s)
    found += [
        p
        for p in paths(line.title)
        if p not in found and not p.startswith(("/etc", "/var", "/opt", "/usr"))
    ]
    return list(dict.fromkeys(found))


@proposes("http_status")
def _health_rule(line: Line) -> Proposal | None:
    t = line.lower
    kind = has(r"\b(health|healthz|readiness|ready|liveness|live|status page|heartbeat|ping)\b", t)
    if not kind or has(
        r"every \d|alert|dashboards?|for \d+ ?h|\d+[- ]?hours?|consecutive|monitor", t
    ):
        return None
    if not has(
        r"endpoint|url|check|respond\w*|accessible|reachable|returns?|passing|\bok\b|\b200\b|"
        r"\bup\b|available|/",
        t,
    ):
        return None
    if has(r"\b(database|db|redis|mysql|postgres\w*|services? healthy|all services)\b", t):
        return None
    paths = [p for p in _url_paths(line) if re.search(r"health|ready|live|status|ping|alive", p)]
    word = kind.group(1)
    default = (
        "/ready"
        if word in ("readiness", "ready")
        else "/live"
        if word in ("liveness", "live")
        else "/health"
    )
    path = paths[0] if paths else default
    guessed = () if paths else (f"path={path}",)
    params = {"path": path}
    status = re.search(
        r"\b(?:returns?|answers?|with|responds? with)\s+(?:http\s+)?([1-5]\d\d)\b", t
    )
    if status:
        params["expect"] = status.group(1)
    return Proposal(
        [("http_status", params)], 0.8 if paths else 0.7, f"health endpoint {path}", guessed
    )


@proposes("http_status")
def _endpoint_reachable_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\b(endpoints?|api|url|page|site|frontend|dashboard)\b", t) and not _url_paths(
        line
    ):
        return None
    if not has(
        r"respond\w*|accessible|reachable|loads?|returns?\b|answers?\b|available|\bup\b|exposed|"
        r"served|works|live\b",
        t,
    ):
        return None
    if has(
        r"external|third|soap|snowflake|google|notion|openai|crm|docs?\b|documentation|swagger|"
        r"openapi",
        t,
    ):
        return None
    paths = _url_paths(line)
    if paths:
        status = re.search(r"\b([1-5]\d\d)\b", t)
        params = {"path": paths[0]}
        if status:
            params["expect"] = status.group(1)
        return Proposal([("http_status", params)], 0.75, f"endpoint {paths[0]} answers")
    if has(r"\b(frontend|site|page|home ?page|web ?app)\b", t) and has(
        r"loads?|available|up\b|accessible|answers?|returns?|respond\w*", t
    ):
        status = re.search(r"\b([1-5]\d\d)\b", t)
        return Proposal(
            [("http_status", {"path": "/", **({"expect": status.group(1)} if status else {})})],
            0.7,
            "the front page answers",
        )
    if has(r"\b(api )?endpoints?\b", t) and has(r"respond\w*|answer\w*", t):
        return Proposal(
            [("http_status", {"path": "${api_path}"})],
            0.65,
            "an API path answers (a variable); every endpoint a person covers",
            attest=True,
        )
    return Proposal([("http_status", {"path": "/"})], 0.45, "which path? endpoint answers")


@proposes("openapi_docs")
def _openapi_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"swagger|openapi|api (docs?|documentation|reference)\b|\bredoc\b", t):
        return None
    if not has(
        r"accessible|available|served|published|reachable|online|loads?|exposed|disabled|hidden|"
        r"up\b",
        t,
    ):
        return None
    paths = [p for p in _url_paths(line) if re.search(r"doc|swagger|openapi|redoc", p)]
    candidates: list[tuple[str, dict[str, str]]] = []
    for p in paths:
        if re.search(r"\.(json|ya?ml)$|openapi|swagger\.json", p):
            candidates.append(("openapi_docs", {"path": p}))
        else:
            candidates.append(("openapi_docs", {"docs_path": p}))
    candidates.append(("openapi_docs", {}))
    return Proposal(candidates, 0.7, "API documentation served")


@proposes("https_redirect")
def _https_redirect_rule(line: Line) -> Proposal | None:
    t = line.lower
    if "http://" not in t:
        # "redirects to https://sso.example.com/login" names a place, not plain HTTP's upgrade
        t = re.sub(r"https://\S+", " ", t)
    if has(
        r"\bhttp\b.*\bhttps\b|\bhttps\b.*\b(redirect|forced|enforced|only)\b|"
        r"\bredirect\w*\b.*\bhttps\b",
        t,
    ) and has(r"redirect|forc|enforc|only", t):
        return Proposal([("https_redirect", {})], 0.85, "plain HTTP redirects to HTTPS")
    return None


@proposes("http_redirect")
def _redirect_rule(line: Line) -> Proposal | None:
    """ "Apex domain redirects to www", "/old-shop moves to /shop (301)"."""
    t = line.lower
    if not has(r"\bredirect\w*\b|\bmov(e|es|ed) (permanently )?to\b", t):
        return None
    words = re.sub(r"https?://\S+", " ", t)
    if has(r"\bhttps\b", words) or ("http://" in t and "https://" in t):
        return None  # plain HTTP to HTTPS: https_redirect's line
    params: dict[str, str] = {}
    guessed: tuple[str, ...] = ()
    urls = re.findall(r"https?://[^\s`'\")>]+", line.title)
    routes = re.findall(r"(?<![\w.:/])(/[\w.@/-]*)", line.title)
    if urls:
        params["to"] = urls[-1].rstrip(".,;")
    elif has(r"\bto (the )?www\b|\bto www\.", t):
        params["to"] = "www.{host}"  # its own www name, not any www
    elif len(routes) >= 2:
        params["path"], params["to"] = routes[0], routes[-1]
    elif has(r"\bwww\b.*\bto (the )?(apex|bare|naked|root)\b", t):
        params["to"], guessed = "${domain}", ("to=${domain}",)
    else:  # the line does not say where: a person decides whether this is the line's check
        params["to"], guessed = "${redirect_to}", ("to=${redirect_to}",)
    if has(r"\bpermanent\w*\b|\b30[18]\b", t):
        params["permanent"] = "true"
    elif has(r"\btemporar\w*\b|\b30[237]\b", t):
        params["permanent"] = "false"
    sure = params["to"] != "${redirect_to}"
    return Proposal([("http_redirect", params)], 0.75 if sure else 0.5,
                    "a redirect to the place the line names", guessed)


@proposes("compression")
def _compression_rule(line: Line) -> Proposal | None:
    if has(r"\b(gzip|brotli|deflate|compression)\b", line.lower) and not has(
        r"\blogs?\b|backup|image|rotat", line.lower
    ):
        return Proposal([("compression", {})], 0.8, "responses are compressed")
    return None


@proposes("cache_headers")
def _cache_headers_rule(line: Line) -> Proposal | None:
    t = line.lower
    paths = [p for p in _url_paths(line) if re.search(r"\.\w{2,5}$|static|assets", p)]
    if has(
        r"cache-control|caching headers?|cache headers?|expires headers?|etag|"
        r"cach\w* (lifetimes?|max-?age|expir\w*)|(long|far-future) cach\w*",
        t,
    ) or (has(r"static (files?|assets?|content).*cach|cach\w* .*static", t)):
        if paths:
            return Proposal(
                [("cache_headers", {"path": paths[0]})], 0.8, f"{paths[0]} is cacheable"
            )
        return Proposal(
            [("cache_headers", {"path": "${static_asset}"})],
            0.7,
            "static files cacheable: which asset is a variable",
        )
    return None


#: A path no site serves: the answer to it is the site's "not found" page.
NO_SUCH_PATH = "/golive-no-such-page-4a7e"


@proposes("http_status")
def _not_found_page_rule(line: Line) -> Proposal | None:
    """ "Custom 404 page in place", "Unknown paths answer 404", "Not-found page configured"."""
    t = line.lower
    if not has(r"\b404\b|\bnot[- ]found (page|error)|\b(unknown|missing|invalid) (paths?|urls?|"
               r"pages?|routes?)\b", t):
        return None
    if has(r"\b(monitor\w*|alert\w*|rate|count|logs?|broken links?)\b", t):
        return None  # how many 404s there are, not what one looks like
    # a page's design is a person's to judge; that it is the answer to a path that
    # does not exist is the machine's
    designed = bool(has(r"\b(custom|branded|designed|styled|friendly|helpful)\b", t))
    return Proposal([("http_status", {"path": NO_SUCH_PATH, "expect": "404"})], 0.7,
                    "a path that does not exist answers 404", attest=designed)


@proposes("security_headers")
def _security_headers_rule(line: Line) -> Proposal | None:
    if has(
        r"security headers|\bhsts\b|strict-transport|content-security-policy|\bcsp\b|"
        r"x-frame-options|x-content-type",
        line.lower,
    ):
        return Proposal([("security_headers", {})], 0.85, "security headers")
    return None


@proposes("cors")
def _cors_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\bcors\b|cross-origin|allowed origins", t):
        return None
    sure = has(
        r"restrict|production|not \[?\W*\*|specific|allow-?list|white-?list|limited|only|domains?",
        t,
    )
    origins = re.findall(r"https?://[\w.-]+(?::\d+)?", line.title)
    params = {"allowed_origins": ",".join(origins)} if origins else {}
    return Proposal([("cors", params)], 0.85 if sure else 0.65, "CORS restricted")


@proposes("auth_required")
def _auth_required_rule(line: Line) -> Proposal | None:
    t = line.lower
    if has(
        r"(authentication|auth|login|token|api key)s? (is |are )?(required|enforced|mandatory)|"
        r"unauthenticated|"
        r"requires? (an? )?(authentication|auth\w*|login|token|api key|credentials)|"
        r"without (a )?(token|credentials|auth\w*)|endpoints? (are )?(protected|secured)|\b401\b",
        t,
    ):
        paths = _url_paths(line)
        if paths:
            return Proposal(
                [("auth_required", {"path": paths[0]})], 0.75, f"{paths[0]} requires authentication"
            )
        return Proposal(
            [("auth_required", {"path": "${protected_path}"})],
            0.7,
            "authentication required: the protected path is a variable",
        )
    if has(r"\b(authentication|auth|login)\b.*\b(works|enabled|configured|working)\b", t):
        return Proposal(
            [("auth_required", {"path": "${protected_path}"})],
            0.65,
            "anonymous requests are refused (the protected path is a variable); "
            "logging in a person tries",
            attest=True,
        )
    return None


@proposes("rate_limited")
def _rate_limit_rule(line: Line) -> Proposal | None:
    t = line.lower
    if has(r"rate[- ]?limit\w*|throttl\w*", t) and has(
        r"configured|enabled|in place|active|enforced|set up|applied", t
    ):
        return Proposal([("rate_limited", {})], 0.75, "rate limiting")
    return None


_LATENCY = (
    r"(response times?|latency|p\d\d|\d\d(?:th|st|nd) percentile|ttfb|time to first byte|page load)"
)


@proposes("http_latency")
def _latency_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(_LATENCY, t) or has(r"alert|monitor|dashboard", t):
        return None
    m = re.search(
        r"(?:<|≤|<=|under|below|within|less than|max(?:imum)?|at most)\s*(\d+(?:\.\d+)?)\s*(ms|"
        r"milliseconds?|s|secs?|seconds?)\b",
        t,
    )
    if not m:
        if has(r"\bsla\b|budget|acceptable|target", t):
            return Proposal(
                [("http_latency", {"p95_ms": "${max_latency_ms}"})],
                0.7,
                "latency within a budget: the budget is a variable",
            )
        return Proposal([("http_latency", {})], 0.4, "latency budget: add max_ms=N")
    value = float(m.group(1)) * (1 if m.group(2).startswith("m") else 1000)
    pct = re.search(r"\bp(\d\d(?:\.\d+)?)\b|\b(\d\d(?:\.\d+)?)(?:th|st|nd|rd)? percentile", t)
    max_ms = f"{value:g}"
    candidates: list[tuple[str, dict[str, str]]] = []
    guessed: tuple[str, ...] = ()
    if pct:
        p = pct.group(1) or pct.group(2)
        candidates += [
            ("http_latency", {f"p{p}_ms": max_ms}),
            ("http_latency", {"max_ms": max_ms, "percentile": p}),
        ]
    elif has(r"median|typical|average|p50", t):
        candidates.append(("http_latency", {"p50_ms": max_ms}))
    else:
        guessed = ("95th percentile",)
        candidates += [("http_latency", {"max_ms": max_ms}), ("http_latency", {"p95_ms": max_ms})]
    return Proposal(candidates, 0.8, f"latency under {max_ms} ms", guessed)
