"""Endpoint checks against real HTTP(S) servers on 127.0.0.1 (tests/support/https.py).

Each check has a passing and a failing case against the lab application,
and the faults (refused, unresolvable, silent, handshake failure, 10 MB body)
each end as one CheckError line within the configured timeout.
"""

from __future__ import annotations

import json

import pytest

from pytest_golive.checks import REGISTRY, CheckDefinitionError
from pytest_golive.checks.endpoint import (
    auth_required,
    cache_headers,
    compression,
    cors,
    http_body,
    http_json,
    http_latency,
    http_redirect,
    http_status,
    https_redirect,
    judge_redirect,
    location_matches,
    openapi_docs,
    percentile,
    rate_limited,
    security_headers,
)
from pytest_golive.core.outcome import CheckError
from pytest_golive.core.secrets import MASK, Secret


@pytest.fixture(scope="module")
def app(https_lab):
    """The lab application over HTTPS, trusted through the lab CA bundle."""
    return https_lab.endpoint(https_lab.server("app").url, name="app")


@pytest.fixture(scope="module")
def app_http(https_lab):
    return https_lab.endpoint(https_lab.server("app_http").url, name="app-http")


def _one_line(exc: pytest.ExceptionInfo[CheckError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# --- http_status ------------------------------------------------------------------------


def test_http_status_passes_on_expected_status(app):
    out = http_status(app, path="/health", expect="200")
    assert out.status == "passed", out.summary()
    assert out.details["status"] == 200
    assert out.details["tls_verify"] is True
    assert "GET /health -> 200 OK" in out.observed


def test_http_status_fails_on_other_status(app):
    out = http_status(app, path="/missing", expect="2xx")
    assert out.status == "failed"
    assert "404" in out.observed and out.expected == "status 2xx"


def test_http_status_head_and_ranges(app):
    assert http_status(app, path="/missing", method="HEAD", expect="400-499,500").ok
    assert not http_status(app, path="/", method="HEAD", expect="301,302").ok


def test_http_status_refuses_unsafe_method(app):
    with pytest.raises(CheckError, match="not a safe method"):
        http_status(app, path="/", method="POST")


def test_http_status_rejects_malformed_expectation(app):
    with pytest.raises(CheckError, match="not a status"):
        http_status(app, path="/", expect="ok")


# --- http_json --------------------------------------------------------------------------


def test_http_json_passes_when_fields_match(app):
    out = http_json(
        app,
        path="/health",
        expect=[
            "status=ok",
            "database.status=ok",
            "ready=true",
            "checks.0.status=ok",
            "database.latency_ms=3",
        ],
    )
    assert out.status == "passed", out.summary()
    assert out.details["fields"]["database.status"] == "ok"
    json.dumps(out.details)


def test_http_json_fails_on_wrong_and_absent_fields(app):
    out = http_json(app, path="/health-degraded", expect=["database.status=ok", "cache.status=ok"])
    assert out.status == "failed"
    assert "database.status: down" in out.observed
    assert "cache.status: absent" in out.observed


def test_http_json_fails_on_non_json_body(app):
    out = http_json(app, path="/not-json", expect=["status=ok"])
    assert out.status == "failed" and "not JSON" in out.observed


def test_http_json_binding_from_markdown_text():
    params = REGISTRY.get("http_json").validate(
        {"path": "/health", "expect": "status=ok,database.status=ok"}
    )
    assert params["expect"] == ["status=ok", "database.status=ok"]
    with pytest.raises(CheckDefinitionError, match="needs parameter"):
        REGISTRY.get("http_json").validate({"path": "/health"})


def test_http_json_bad_expectation_is_one_line(app):
    with pytest.raises(CheckError, match="not field.path=value"):
        http_json(app, path="/health", expect=["status"])


# --- http_body --------------------------------------------------------------------------


def test_http_body_passes_on_contains_and_regex(app):
    out = http_body(app, path="/", contains="hello from the lab", regex=r"version \d+\.\d+\.\d+")
    assert out.status == "passed", out.summary()


def test_http_body_fails_when_text_absent(app):
    out = http_body(app, path="/", contains="maintenance mode off", regex=r"build \d+")
    assert out.status == "failed"
    assert "not found" in out.observed and "no match" in out.observed


def test_http_body_needs_something_to_look_for(app):
    with pytest.raises(CheckError, match="give contains"):
        http_body(app, path="/")
    with pytest.raises(CheckError, match="not valid"):
        http_body(app, path="/", regex="([")


# --- http_latency -----------------------------------------------------------------------


def test_http_latency_within_generous_budget(app):
    out = http_latency(app, path="/", samples=5, p50_ms=30000, p95_ms=30000)
    assert out.status == "passed", out.summary()
    assert len(out.details["samples_ms"]) == 5
    assert out.details["p95_ms"] == max(out.details["samples_ms"])


def test_http_latency_over_budget_fails(app):
    # /slow sleeps 200 ms before answering, so a 50 ms budget cannot be met.
    out = http_latency(app, path="/slow", samples=3, p95_ms=50)
    assert out.status == "failed"
    assert "3 samples" in out.observed and "<= 50 ms" in out.expected
    assert all(s >= 200 for s in out.details["samples_ms"])


def test_http_latency_error_statuses_fail(app):
    out = http_latency(app, path="/missing", samples=2, p95_ms=30000)
    assert out.status == "failed" and "404" in out.observed


def test_http_latency_bounds_samples(app):
    with pytest.raises(CheckError, match="samples must be"):
        http_latency(app, samples=0)


def test_percentile_is_nearest_rank():
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile([float(i) for i in range(1, 101)], 95) == 95


# --- https_redirect ---------------------------------------------------------------------


def test_https_redirect_passes(https_lab, app):
    port = https_lab.server("redirect_good").port
    out = https_redirect(app, port=port)
    assert out.status == "passed", out.summary()
    assert out.details["location"].startswith("https://127.0.0.1:")


def test_https_redirect_from_http_endpoint_base(https_lab):
    ep = https_lab.endpoint(https_lab.server("redirect_good").url)
    assert https_redirect(ep, path="/login").ok


def test_https_redirect_fails_without_redirect(https_lab, app):
    url = https_lab.server("redirect_bad").url + "/plain"
    out = https_redirect(app, http_url=url)
    assert out.status == "failed"
    assert "200" in out.observed and "no Location header" in out.observed


def test_https_redirect_fails_to_other_host(https_lab, app):
    out = https_redirect(app, http_url=https_lab.server("redirect_bad").url + "/")
    assert out.status == "failed"
    assert "elsewhere.example" in out.observed


# --- http_redirect ----------------------------------------------------------------------


@pytest.mark.parametrize(("location", "to", "ok"), [
    ("https://www.example.com/", "*://www.*", True),
    ("https://example.com/", "*://www.*", False),
    ("https://www.example.com/shop?x=1", "https://www.example.com", True),
    ("https://www.example.com.evil.test/", "https://www.example.com", False),
    ("https://www.example.com/", "www.example.com", True),
    ("https://elsewhere.example/", "www.example.com", False),
    ("https://example.com/shop/", "/shop", True),
    ("https://example.com/shopping", "/shop", False),
])
def test_location_matches_urls_globs_hosts_and_paths(location: str, to: str, ok: bool) -> None:
    assert location_matches(location, to) is ok


def test_judge_redirect_needs_a_redirect_and_the_place() -> None:
    ok = judge_redirect("http://a.test/", 301, "Moved Permanently", "http://www.a.test/",
                        "*://www.*", True)
    assert ok.status == "passed" and ok.details["location"] == "http://www.a.test/"
    served = judge_redirect("http://a.test/", 200, "OK", "", "*://www.*", None)
    assert served.status == "failed" and "no Location header" in served.observed
    temporary = judge_redirect("http://a.test/", 302, "Found", "http://www.a.test/",
                               "*://www.*", True)
    assert temporary.status == "failed" and "permanent redirect (301/308)" in temporary.expected
    relative = judge_redirect("http://a.test/old", 308, "", "/new", "/new", None)
    assert relative.status == "passed" and relative.details["location"] == "http://a.test/new"
    # {host}: the apex's own www name, not any www
    own = judge_redirect("https://a.test/", 301, "", "https://www.a.test/", "www.{host}", None)
    assert own.status == "passed" and "Location www.a.test" in own.expected
    other = judge_redirect("https://a.test/", 301, "", "https://www.b.test/", "www.{host}", None)
    assert other.status == "failed"


def test_http_redirect_passes_on_the_expected_place(https_lab):
    good = https_lab.endpoint(https_lab.server("redirect_good").url)
    app_url = https_lab.server("app").url
    out = http_redirect(good, to=app_url, permanent=True)
    assert out.status == "passed", out.summary()
    assert out.details["status"] == 301 and out.details["location"] == app_url + "/"
    assert http_redirect(good, path="/login", to="/login", permanent=True).ok  # a 308


def test_http_redirect_fails_elsewhere_temporary_or_served(https_lab):
    bad = https_lab.endpoint(https_lab.server("redirect_bad").url)
    elsewhere = http_redirect(bad, to="*://www.*")
    assert elsewhere.status == "failed" and "elsewhere.example" in elsewhere.observed
    assert http_redirect(bad, to="elsewhere.example").ok
    assert http_redirect(bad, to="elsewhere.example", permanent=True).status == "failed"  # 302
    served = http_redirect(bad, path="/plain", to="elsewhere.example")
    assert served.status == "failed" and "200" in served.observed
    with pytest.raises(CheckError, match="to= is empty"):
        http_redirect(bad, to=" ")


def test_https_redirect_rejects_https_url(app):
    with pytest.raises(CheckError, match="must start with http://"):
        https_redirect(app, http_url="https://127.0.0.1/")


# --- security_headers -------------------------------------------------------------------


def test_security_headers_pass(app):
    out = security_headers(app, path="/secure")
    assert out.status == "passed", out.summary()
    assert out.details["headers"]["X-Frame-Options"] == "DENY"


def test_security_headers_accept_csp_frame_ancestors(app):
    assert security_headers(app, path="/csp-frames").ok


def test_security_headers_fail_when_missing(app):
    out = security_headers(app, path="/")
    assert out.status == "failed"
    for rule in ("hsts", "nosniff", "frame", "csp"):
        assert f"{rule}:" in out.observed


def test_security_headers_fail_on_short_hsts(app):
    out = security_headers(app, path="/weak-hsts")
    assert out.status == "failed"
    assert "max-age=300" in out.observed and "max-age >= 15552000" in out.expected


def test_security_headers_configurable_list(app):
    assert security_headers(app, path="/weak-hsts", required=["nosniff", "csp"]).ok
    out = security_headers(app, path="/secure", required=["nosniff", "Referrer-Policy"])
    assert out.status == "failed" and "no Referrer-Policy header" in out.observed


def test_security_headers_hsts_needs_https(app_http):
    out = security_headers(app_http, path="/secure", required=["hsts"])
    assert out.status == "failed" and "plain http" in out.observed
    assert "tls_verify" not in out.details


# --- cors -------------------------------------------------------------------------------


def test_cors_strict_passes(app):
    out = cors(app, path="/cors-strict", allowed_origins=["https://app.example.com"])
    assert out.status == "passed", out.summary()


def test_cors_reflecting_any_origin_fails(app):
    out = cors(app, path="/cors-reflect")
    assert out.status == "failed"
    assert (
        "golive-foreign.invalid -> Access-Control-Allow-Origin: https://golive-foreign.invalid"
        in out.observed
    )


def test_cors_star_with_credentials_fails_even_when_star_allowed(app):
    out = cors(app, path="/cors-star", allow_any=True)
    assert out.status == "failed"
    assert "* with Allow-Credentials" in out.observed


def test_cors_public_star_allowed_only_when_asked(app):
    assert cors(app, path="/cors-public", allow_any=True).ok
    assert not cors(app, path="/cors-public").ok


def test_cors_allowed_origin_missing_fails(app):
    out = cors(app, path="/cors-strict", allowed_origins=["https://admin.example.com"])
    assert out.status == "failed" and "allowed https://admin.example.com" in out.observed


# --- auth_required ----------------------------------------------------------------------


def test_auth_required_passes_without_credentials_even_if_endpoint_has_them(https_lab):
    token = Secret("Bearer lab-token-123", "${LAB_TOKEN}")
    ep = https_lab.endpoint(https_lab.server("app").url, headers={"Authorization": token})
    # With credentials the lab answers 200 ...
    assert ep.get("/private").status_code == 200
    # ... and the check leaves them out.
    out = auth_required(ep, path="/private")
    assert out.status == "passed", out.summary()
    assert out.details["credential_headers_left_out"] == ["Authorization"]
    assert "lab-token-123" not in json.dumps(out.to_dict())


def test_auth_required_fails_on_open_path(app):
    out = auth_required(app, path="/health")
    assert out.status == "failed"
    assert "without credentials -> 200" in out.observed


# --- compression ------------------------------------------------------------------------


def test_compression_gzip_passes(app):
    out = compression(app, path="/gzip")
    assert out.status == "passed", out.summary()
    assert out.details["content_encoding"] == "gzip"


def test_compression_missing_fails(app):
    out = compression(app, path="/")
    assert out.status == "failed" and "uncompressed" in out.observed


def test_compression_only_br_wanted_fails_on_gzip_server(app):
    assert not compression(app, path="/gzip", encodings=["br"]).ok


# --- cache_headers ----------------------------------------------------------------------


def test_cache_headers_max_age_passes(app):
    out = cache_headers(app, path="/static/app.js", min_max_age=86400)
    assert out.status == "passed", out.summary()


def test_cache_headers_validator_passes_unless_refused(app):
    assert cache_headers(app, path="/static/etag.css").ok
    assert not cache_headers(app, path="/static/etag.css", validators=False).ok


def test_cache_headers_no_store_fails(app):
    out = cache_headers(app, path="/static/nocache.js")
    assert out.status == "failed" and "no-store" in out.observed


def test_cache_headers_short_max_age_fails(app):
    out = cache_headers(app, path="/static/short.js", min_max_age=3600)
    assert out.status == "failed" and "max-age=60" in out.observed


# --- rate_limited -----------------------------------------------------------------------


def test_rate_limited_is_opt_in():
    assert REGISTRY.get("rate_limited").opt_in is True


def test_rate_limited_refuses_without_consent(app):
    with pytest.raises(CheckError, match="refusing to run.*max_requests=N"):
        rate_limited(app, path="/limited")


def test_rate_limited_sees_429(app):
    out = rate_limited(app, path="/limited", max_requests=20)
    assert out.status == "passed", out.summary()
    assert out.details["requests_sent"] <= 6
    assert out.details["retry_after"] == "30"


def test_rate_limited_fails_without_429(app):
    out = rate_limited(app, path="/", max_requests=5)
    assert out.status == "failed"
    assert out.details["requests_sent"] == 5 and "no 429 in 5 requests" in out.observed


# --- openapi_docs -----------------------------------------------------------------------


def test_openapi_docs_pass(app):
    out = openapi_docs(app, docs_path="/docs")
    assert out.status == "passed", out.summary()
    assert out.details["openapi_version"] == "3.1.0"


def test_openapi_docs_fail(app):
    out = openapi_docs(app, path="/not-json", docs_path="/missing")
    assert out.status == "failed"
    assert "no openapi/swagger version" in out.observed and "404" in out.observed


# --- TLS verification setting -----------------------------------------------------------


def test_verification_off_is_explicit_and_reported(https_lab):
    url = https_lab.server("tls:self_signed").url
    with pytest.raises(CheckError, match="TLS handshake failed.*self-signed"):
        http_status(https_lab.endpoint(url), path="/")
    out = http_status(https_lab.endpoint(url, verify=False), path="/")
    assert out.status == "passed"
    assert out.details["tls_verify"] is False


def test_verify_false_as_text_turns_verification_off(https_lab):
    ep = https_lab.endpoint(https_lab.server("tls:self_signed").url, verify="false")
    assert ep.tls_verify is False and ep.verify is False


def test_verification_uses_the_endpoint_ca_bundle_not_the_environment(https_lab, monkeypatch):
    # requests would let REQUESTS_CA_BUNDLE replace the session's bundle.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/bundle.pem")
    out = http_status(https_lab.endpoint(https_lab.server("app").url), path="/")
    assert out.ok and out.details["ca_bundle"] == https_lab.ca_bundle


# --- faults -----------------------------------------------------------------------------


def test_connection_refused_is_one_line(https_lab):
    ep = https_lab.endpoint(f"https://127.0.0.1:{https_lab.refused_port()}")
    with pytest.raises(CheckError) as exc:
        http_status(ep)
    assert "connection refused" in _one_line(exc)


def test_unresolvable_name_is_one_line(https_lab):
    ep = https_lab.endpoint("https://golive-lab-no-such-host.invalid")
    with pytest.raises(CheckError) as exc:
        http_status(ep)
    line = _one_line(exc)
    assert "golive-lab-no-such-host.invalid" in line and "DNS name does not resolve" in line


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_silent_server_times_out_with_one_line(https_lab, scheme):
    ep = https_lab.endpoint(f"{scheme}://127.0.0.1:{https_lab.silent_port()}", timeout=0.5)
    with pytest.raises(CheckError) as exc:
        http_status(ep)
    assert "no answer within the read timeout" in _one_line(exc)


def test_tls_handshake_failure_is_one_line(https_lab):
    plain = https_lab.server("app_http")
    ep = https_lab.endpoint(f"https://127.0.0.1:{plain.port}")
    with pytest.raises(CheckError) as exc:
        http_status(ep)
    assert "TLS handshake failed" in _one_line(exc)


def test_ten_megabyte_response_is_one_line(app):
    with pytest.raises(CheckError) as exc:
        http_body(app, path="/big", contains="x")
    line = _one_line(exc)
    assert "larger than 1000000 bytes" in line


def test_secret_in_url_is_masked_in_errors(https_lab):
    token = Secret("s3cr3t-path-token", "${PATH_TOKEN}")
    ep = https_lab.endpoint(f"https://127.0.0.1:{https_lab.refused_port()}/{token.reveal()}/")
    with pytest.raises(CheckError) as exc:
        http_status(ep, path="health")
    assert "s3cr3t-path-token" not in str(exc.value) and MASK in str(exc.value)


# --- catalog ----------------------------------------------------------------------------

ENDPOINT_CHECKS = (
    "http_status", "http_json", "http_body", "http_latency", "https_redirect", "security_headers",
    "cors", "auth_required", "compression", "cache_headers", "rate_limited", "openapi_docs",
)


@pytest.mark.parametrize("name", ENDPOINT_CHECKS)
def test_endpoint_checks_are_documented(name):
    chk = REGISTRY.get(name)
    assert chk.target == "endpoint" and chk.summary
    for param in chk.params:
        assert param.doc, f"{name}.{param.name} has no documentation"
    json.dumps(chk.to_dict())


# --- the same checks against Debian's nginx ---------------------------------------------


@pytest.fixture(scope="module")
def nginx(https_lab):
    from support import require

    started = https_lab.nginx()
    require(not isinstance(started, str), started if isinstance(started, str) else "")
    http, https = started
    return http, https_lab.endpoint(https.url, name="nginx")


def test_nginx_passes_the_web_checklist(nginx):
    http, ep = nginx
    results = {
        "status": http_status(ep, path="/health", expect="200"),
        "json": http_json(ep, path="/health", expect=["status=ok", "database.status=ok"]),
        "redirect": https_redirect(ep, port=http.port, path="/health"),
        "headers": security_headers(ep, path="/"),
        "gzip": compression(ep, path="/", encodings=["gzip"]),
        "cache": cache_headers(ep, path="/static/app.js", min_max_age=86400),
        "auth": auth_required(ep, path="/private"),
    }
    failing = {k: v.summary() for k, v in results.items() if not v.ok}
    assert not failing
    assert results["redirect"].details["location"].endswith("/health")


def test_nginx_failures_are_reported(nginx):
    _, ep = nginx
    assert not http_status(ep, path="/private", expect="2xx").ok
    assert not cache_headers(ep, path="/", min_max_age=60, validators=False).ok
    assert not security_headers(ep, path="/", hsts_min_age=63072000).ok
    assert not openapi_docs(ep).ok


def test_cors_on_a_page_that_does_not_exist_proves_nothing(app):
    """No CORS header on a 404 says nothing about the API: an error, never a pass."""
    with pytest.raises(CheckError) as exc:
        cors(app, path="/no-such-page-golive")
    assert "answered 404" in _one_line(exc) and "set path=" in _one_line(exc)
