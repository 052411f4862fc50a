"""Endpoint targets, through requests.

One ``requests.Session`` per endpoint: base URL, headers (secret ones kept
wrapped until sent), CA bundle, connect and read timeouts, and a cap on the
response size so a 10 MB answer cannot flood memory or a report.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import requests

from pytest_golive.config import Settings, TargetSpec
from pytest_golive.outcome import CheckError
from pytest_golive.secrets import mask, reveal

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DEFAULT_MAX_BYTES = 1_000_000


class EndpointTarget:
    kind = "endpoint"

    def __init__(self, spec: TargetSpec, settings: Settings) -> None:
        self.spec = spec
        self.name = spec.name
        opts = spec.options
        self.base_url = str(reveal(opts["url"]))
        self.verify: bool | str = opts.get("ca_bundle") or bool(opts.get("verify", True))
        self.connect_timeout = float(opts.get("timeout", settings.connect_timeout))
        self.read_timeout = float(opts.get("read_timeout", opts.get("timeout", settings.connect_timeout)))
        self.max_bytes = int(opts.get("max_bytes", DEFAULT_MAX_BYTES))
        self.session = requests.Session()
        self.session.verify = self.verify
        self.session.headers.update({k: reveal(v) for k, v in opts.get("headers", {}).items()})

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def url(self, path: str = "") -> str:
        if not path:
            return self.base_url
        return urljoin(self.base_url if self.base_url.endswith("/") else self.base_url + "/", path.lstrip("/")) if not path.startswith(("http://", "https://")) else path

    def request(self, method: str, path: str = "", **kwargs: Any) -> requests.Response:
        """A safe-method request; the body is read up to ``max_bytes``."""
        method = method.upper()
        if method not in SAFE_METHODS:
            raise CheckError(f"endpoint {self.name}: method {method} is not a safe method; checks only read")
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        url = self.url(path)
        try:
            response = self.session.request(method, url, stream=True, **kwargs)
            body = b""
            for chunk in response.iter_content(65536):
                body += chunk
                if len(body) > self.max_bytes:
                    body = body[: self.max_bytes]
                    response.golive_truncated = True  # type: ignore[attr-defined]
                    break
            response._content = body  # requests' own cache of the body
            response._content_consumed = True
            response.close()
            return response
        except requests.exceptions.RequestException as exc:
            raise CheckError(f"endpoint {self.name}: {method} {mask(url)}: {describe_error(exc)}") from None

    def get(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def close(self) -> None:
        self.session.close()


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
        if "Name or service not known" in text or "NameResolutionError" in text or "nodename nor servname" in text:
            kind = "DNS name does not resolve"
        elif "Connection refused" in text:
            kind = "connection refused"
        else:
            kind = "connection failed"
    else:
        kind = type(exc).__name__
    detail = text.split("(Caused by", 1)[-1].strip(" )") if "(Caused by" in text else text
    detail = " ".join(detail.split())[:200]
    return mask(f"{kind} ({detail})" if detail and kind not in detail else kind)
