"""Endpoint targets, through requests.

One ``requests.Session`` per endpoint: base URL, headers (secret ones kept
wrapped until sent), CA bundle, connect and read timeouts, and a cap on the
response size so a 10 MB answer cannot flood memory or a report.

TLS verification is on unless the endpoint says ``verify = false``; that
choice is visible on the handle (:attr:`EndpointTarget.tls_verify`) so every
endpoint check can put it in its evidence and the report can show it.
"""

from __future__ import annotations

import functools
import re
import time
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import InsecureRequestWarning

from pytest_golive.core import compat
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.core.secrets import Secret, mask, reveal

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DEFAULT_MAX_BYTES = 1_000_000
_FALSE = {"0", "false", "no", "off"}

#: Headers that carry credentials even when not configured as secret.
CREDENTIAL_HEADERS = ("authorization", "cookie", "proxy-authorization", "x-api-key")


class BaseUrlSession(requests.Session):
    """A requests session bound to an endpoint's base URL, with its timeouts.

    ``session.get("/health")`` goes to the endpoint; only safe methods are
    allowed, because a readiness check must never change its target.
    """

    def __init__(self, base_url: str, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.default_timeout = timeout

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if method.upper() not in ("GET", "HEAD", "OPTIONS"):
            raise ValueError(f"golive_endpoint allows safe methods only, not {method}")
        kwargs.setdefault("timeout", self.default_timeout)
        # Explicitly, per request: given verify=None, requests lets REQUESTS_CA_BUNDLE or
        # CURL_CA_BUNDLE replace the session's own (the endpoint's ca_bundle, or verify = false).
        kwargs.setdefault("verify", self.verify)
        if not url.startswith(("http://", "https://")):
            url = urljoin(self.base_url, url.lstrip("/"))
        return super().request(method, url, *args, **kwargs)


class EndpointTarget:
    kind = "endpoint"

    def __init__(self, spec: TargetSpec, settings: Settings) -> None:
        self.spec = spec
        self.name = spec.name
        opts = spec.options
        self.base_url = str(reveal(opts["url"]))
        self.tls_verify = _flag(opts.get("verify", True))
        self.ca_bundle: str | None = str(opts["ca_bundle"]) if opts.get("ca_bundle") else None
        self.verify: bool | str = (self.ca_bundle or True) if self.tls_verify else False
        self.connect_timeout = float(opts.get("timeout", settings.connect_timeout))
        self.read_timeout = float(
            opts.get("read_timeout", opts.get("timeout", settings.connect_timeout))
        )
        self.max_bytes = int(opts.get("max_bytes", DEFAULT_MAX_BYTES))
        headers = dict(opts.get("headers", {}))
        self.credential_headers = tuple(
            h
            for h, v in headers.items()
            if isinstance(v, Secret) or h.lower() in CREDENTIAL_HEADERS
        )
        self.session = requests.Session()
        self.session.verify = self.verify
        self.session.headers.update({k: reveal(v) for k, v in headers.items()})

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @property
    def scheme(self) -> str:
        return urlsplit(self.base_url).scheme.lower()

    @property
    def host(self) -> str:
        """The host name (or address) of the base URL, without brackets."""
        return urlsplit(self.base_url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.base_url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def tls_details(self) -> dict[str, Any]:
        """What an outcome must say about TLS verification for this endpoint."""
        if self.scheme != "https":
            return {}
        out: dict[str, Any] = {"tls_verify": self.tls_verify}
        if self.tls_verify and self.ca_bundle:
            out["ca_bundle"] = self.ca_bundle
        return out

    def url(self, path: str = "") -> str:
        if not path:
            return self.base_url
        if path.startswith(("http://", "https://")):
            return path
        base = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return urljoin(base, path.lstrip("/"))

    def request(
        self, method: str, path: str = "", *, with_auth: bool = True, **kwargs: Any
    ) -> requests.Response:
        """A safe-method request; the body is read up to ``max_bytes``.

        The whole exchange is bounded by connect + read timeout, so a server
        that trickles bytes cannot hold a check longer than a silent one. A
        body larger than ``max_bytes`` is an error: a page that size is not
        what a check expects, and reading it all would flood memory.
        ``with_auth=False`` leaves out the endpoint's credential headers.
        """
        method = method.upper()
        if method not in SAFE_METHODS:
            raise CheckError(
                f"endpoint {self.name}: method {method} is not a safe method; checks only read"
            )
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        # Per request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        kwargs.setdefault("verify", self.verify)
        if not with_auth:
            headers = dict(kwargs.pop("headers", None) or {})
            for name in self.credential_headers:
                headers.setdefault(name, None)  # None removes a session header
            kwargs["headers"] = headers
        url = self.url(path)
        where = f"endpoint {self.name}: {method} {mask(url)}"
        deadline = time.monotonic() + self.connect_timeout + self.read_timeout
        try:
            with warnings.catch_warnings():
                # verify=false is explicit in the configuration and shown in every outcome.
                warnings.simplefilter("ignore", InsecureRequestWarning)
                response = self.session.request(method, url, stream=True, **kwargs)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_content(65536):
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_bytes:
                    response.close()
                    raise CheckError(
                        f"{where}: response body larger than {self.max_bytes} bytes "
                        f"(the endpoint's max_bytes); not read further"
                    )
                if time.monotonic() > deadline:
                    response.close()
                    raise CheckError(
                        f"{where}: response not complete within "
                        f"{self.connect_timeout + self.read_timeout:g}s"
                    )
            compat.set_response_body(response, b"".join(chunks))
            response.close()
            return response
        except requests.exceptions.RequestException as exc:
            raise CheckError(f"{where}: {describe_error(exc)}") from None

    def get(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def close(self) -> None:
        self.session.close()


def reports_tls(func: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """Add the endpoint's TLS verification setting to every outcome: without it, less is proven.

    A decorator for every check that takes an endpoint (HTTP, monitoring, queue APIs), so
    each of them says the same thing about TLS in the same words.
    """

    @functools.wraps(func)
    def wrapper(endpoint: EndpointTarget, **params: Any) -> Outcome:
        outcome = func(endpoint, **params)
        for key, value in endpoint.tls_details().items():
            outcome.details.setdefault(key, value)
        return outcome

    return wrapper


def _flag(value: Any) -> bool:
    """A boolean option that may arrive as text from a variable."""
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE
    return bool(value)


_DNS_MARKERS = (
    "Name or service not known",
    "NameResolutionError",
    "nodename nor servname",
    "Temporary failure in name resolution",
    "No address associated with hostname",
    "getaddrinfo failed",
)


def describe_error(exc: Exception) -> str:
    """One line for a requests exception, without its nested reprs."""
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError):
        kind = "TLS handshake failed"
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        kind = "connect timed out"
    elif isinstance(exc, requests.exceptions.ReadTimeout):
        kind = "no answer within the read timeout"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        if any(marker in text for marker in _DNS_MARKERS):
            kind = "DNS name does not resolve"
        elif "Connection refused" in text:
            kind = "connection refused"
        elif "Read timed out" in text:
            kind = "no answer within the read timeout"
        else:
            kind = "connection failed"
    else:
        kind = type(exc).__name__
    detail = _innermost(text)
    return mask(f"{kind} ({detail})" if detail and kind.lower() not in detail.lower() else kind)


_INNER = (
    re.compile(r"certificate verify failed: (?P<d>[^(]+?)\s*\(_ssl"),
    re.compile(r"\[SSL: [A-Z_]+\] (?P<d>[^(]+?)\s*\(_ssl"),
    re.compile(r"(?P<d>\[Errno -?\d+\] [^'\")]+)"),
    re.compile(r"(?P<d>Read timed out\. \(read timeout=[\d.]+\))"),
)


def _innermost(text: str) -> str:
    """The root cause inside requests' nested exception reprs, or a short cut of it."""
    for pattern in _INNER:
        found = pattern.search(text)
        if found:
            return " ".join(found.group("d").split())
    detail = text.split("(Caused by", 1)[-1].strip(" )") if "(Caused by" in text else text
    return " ".join(detail.split())[:200]
