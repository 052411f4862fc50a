"""TLS checks: served certificates, accepted protocol versions, certificates on disk.

The facts about one certificate (expiry, key strength, signature hash,
host name) are judged by one function, :func:`judge_certificate`, whether
the certificate was served by an endpoint (:func:`tls_certificate`) or read
from a PEM file on a host (:func:`certificate_file`), so a certificate is held
to the same rules before and after it is deployed.

For a served certificate every fact is gathered even when verification
fails: the certificate is first fetched with verification off, then the
chain is verified in a second handshake, so "expired" and "weak key" are
both reported instead of only the first error a verifying client hits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import socket
import ssl
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, db_context, has, paths, proposes
from pytest_golive.core import compat
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.secrets import mask
from pytest_golive.targets.endpoint import EndpointTarget
from pytest_golive.targets.host import HostTarget

WEAK_HASHES = ("md5", "sha1")

# --- certificate facts (shared) --------------------------------------------------------


@dataclass(frozen=True)
class CertInfo:
    """Plain facts about one certificate, ready for evidence."""

    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    key_type: str
    key_bits: int
    signature_hash: str
    serial: str
    sha256: str
    self_issued: bool

    def to_dict(self, now: dt.datetime) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "sans": list(self.sans),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "days_left": days_left(self, now),
            "key_type": self.key_type,
            "key_bits": self.key_bits,
            "signature_hash": self.signature_hash,
            "serial": self.serial,
            "sha256_fingerprint": self.sha256,
        }


def cert_info(cert: x509.Certificate) -> CertInfo:
    """The facts of ``cert`` that the checks judge and the report shows."""
    key = cert.public_key()
    key_type, bits = _key_kind(key)
    try:
        sans_ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(
            [f"DNS:{n}" for n in sans_ext.get_values_for_type(x509.DNSName)]
            + [f"IP:{ip}" for ip in sans_ext.get_values_for_type(x509.IPAddress)]
        )
    except x509.ExtensionNotFound:
        sans = ()
    algo = cert.signature_hash_algorithm
    return CertInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        sans=sans,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type,
        key_bits=bits,
        signature_hash=(algo.name if algo is not None
                        else f"none ({compat.oid_name(cert.signature_algorithm_oid)})"),
        serial=format(cert.serial_number, "x"),
        sha256=hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
        self_issued=cert.issuer == cert.subject,
    )


def _key_kind(key: Any) -> tuple[str, int]:
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, 0


def days_left(info: CertInfo, now: dt.datetime) -> int:
    """Whole days until expiry (negative once expired)."""
    return int((info.not_after - now).total_seconds() // 86400)


def hostname_matches(info: CertInfo, hostname: str) -> bool:
    """RFC 6125 matching against the SANs: exact, or a wildcard in the leftmost label."""
    try:
        ip = ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        ip = None
    for san in info.sans:
        kind, _, value = san.partition(":")
        if ip is not None:
            if kind == "IP" and ipaddress.ip_address(value) == ip:
                return True
            continue
        if kind == "DNS" and _dns_match(value.lower(), hostname.lower().rstrip(".")):
            return True
    return False


def _dns_match(pattern: str, host: str) -> bool:
    if pattern == host:
        return True
    if pattern.startswith("*.") and "." in host:
        first, rest = host.split(".", 1)
        return bool(first) and rest == pattern[2:] and "." in rest
    return False


def judge_certificate(
    ev: Evidence,
    info: CertInfo,
    *,
    now: dt.datetime,
    min_days: int,
    min_rsa_bits: int,
    min_ec_bits: int,
    hostname: str | None,
) -> None:
    """Add the facts every certificate is held to: validity, expiry, key, signature, name."""
    if info.not_before > now:
        ev.add(
            "not yet valid", False, f"valid from {info.not_before:%Y-%m-%d %H:%M} UTC", "valid now"
        )
    left = days_left(info, now)
    when = f"{info.not_after:%Y-%m-%d %H:%M} UTC"
    ago = int((now - info.not_after).total_seconds() // 86400)
    observed = (
        f"expired {when} ({ago} days ago)"
        if info.not_after <= now
        else f"expires {when}, {left} days left"
    )
    ev.add(
        "expiry", info.not_after > now and left >= min_days, observed, f">= {min_days} days left"
    )
    ev.add(
        "key",
        _key_ok(info, min_rsa_bits, min_ec_bits),
        f"{info.key_type} {info.key_bits} bits",
        f"RSA >= {min_rsa_bits} or EC >= {min_ec_bits} bits",
    )
    ev.add(
        "signature",
        info.signature_hash.lower() not in WEAK_HASHES,
        f"signed with {info.signature_hash}",
        "not " + "/".join(h.upper().replace("SHA", "SHA-") for h in WEAK_HASHES),
    )
    if hostname:
        ev.add(
            "hostname",
            hostname_matches(info, hostname),
            f"{hostname} vs {', '.join(info.sans) or 'no subjectAltName (' + info.subject + ')'}",
            f"a SAN matching {hostname}",
        )


def _key_ok(info: CertInfo, min_rsa_bits: int, min_ec_bits: int) -> bool:
    if info.key_type == "RSA":
        return info.key_bits >= min_rsa_bits
    if info.key_type == "EC":
        return info.key_bits >= min_ec_bits
    return info.key_type in ("Ed25519", "Ed448")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- talking TLS to an endpoint --------------------------------------------------------


def _tls_target(endpoint: EndpointTarget, check_name: str) -> tuple[str, int]:
    if endpoint.scheme != "https":
        raise CheckError(
            f"{check_name} on {endpoint.name}: {mask(endpoint.base_url)} is not an https:// URL"
        )
    return endpoint.host, endpoint.port


def _handshake(
    endpoint: EndpointTarget, ctx: ssl.SSLContext, server_name: str | None
) -> ssl.SSLSocket:
    """Connect and complete a TLS handshake within the endpoint's timeouts.

    Connection problems (refused, unresolvable, silent) raise CheckError;
    TLS-level refusals raise ssl.SSLError for the caller to judge.
    """
    host, port = endpoint.host, endpoint.port
    where = f"endpoint {endpoint.name}: TLS to {host}:{port}"
    try:
        raw = socket.create_connection((host, port), timeout=endpoint.connect_timeout)
    except socket.gaierror as exc:
        raise CheckError(f"{where}: DNS name does not resolve ({exc.strerror})") from None
    except ConnectionRefusedError:
        raise CheckError(f"{where}: connection refused") from None
    except TimeoutError:
        raise CheckError(
            f"{where}: connect timed out after {endpoint.connect_timeout:g}s"
        ) from None
    except OSError as exc:
        raise CheckError(f"{where}: connection failed ({exc.strerror or exc})") from None
    raw.settimeout(endpoint.read_timeout)
    try:
        return ctx.wrap_socket(raw, server_hostname=server_name)
    except TimeoutError:
        raw.close()
        raise CheckError(
            f"{where}: no TLS handshake answer within {endpoint.read_timeout:g}s"
        ) from None
    except (ConnectionResetError, BrokenPipeError) as exc:
        raw.close()
        raise ssl.SSLError(f"connection closed during handshake ({exc.strerror or exc})") from None
    except ssl.SSLError:
        raw.close()
        raise
    except OSError as exc:
        raw.close()
        raise CheckError(f"{where}: handshake failed ({exc.strerror or exc})") from None


def _sni(name: str) -> str | None:
    """SNI is a host name; for an address, send none (as browsers do)."""
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return name
    return None


def _observing_context() -> ssl.SSLContext:
    """A client that accepts anything, so weak or broken certificates can still be read."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def _ssl_reason(exc: ssl.SSLError) -> str:
    """OpenSSL's short reason (``self-signed certificate``, ``wrong version number``)."""
    if isinstance(exc, ssl.SSLCertVerificationError) and exc.verify_message:
        return str(exc.verify_message)
    reason = getattr(exc, "reason", None)
    if reason:
        return str(reason).replace("_", " ").lower()
    return " ".join(str(exc).split())[:200]


def fetch_certificate(endpoint: EndpointTarget, server_name: str) -> x509.Certificate:
    """The leaf certificate the endpoint serves, read with verification off."""
    try:
        with _handshake(endpoint, _observing_context(), _sni(server_name)) as tls:
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLError as exc:
        raise CheckError(
            f"endpoint {endpoint.name}: TLS handshake with {endpoint.host}:{endpoint.port} failed "
            f"({_ssl_reason(exc)})"
        ) from None
    if not der:
        raise CheckError(
            f"endpoint {endpoint.name}: {endpoint.host}:{endpoint.port} sent no certificate"
        )
    return x509.load_der_x509_certificate(der)


def chain_verifies(endpoint: EndpointTarget, server_name: str) -> tuple[bool, str, str]:
    """(verified, what was seen, trust store) from a handshake that verifies the chain.

    Host name matching is judged separately, so this one failure reason is
    about the chain alone.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if endpoint.ca_bundle:
        ctx.load_verify_locations(cafile=endpoint.ca_bundle)
        store = f"CA bundle {endpoint.ca_bundle}"
    else:
        ctx.load_default_certs()
        store = "the system trust store"
    try:
        with _handshake(endpoint, ctx, _sni(server_name)):
            return True, f"verifies against {store}", store
    except ssl.SSLError as exc:
        return False, f"does not verify against {store}: {_ssl_reason(exc)}", store


@check(target="endpoint", aliases=("tls_cert",))
def tls_certificate(
    endpoint: EndpointTarget,
    *,
    min_days: int = 30,
    hostname: str | None = None,
    min_rsa_bits: int = 2048,
    min_ec_bits: int = 256,
    verify_chain: bool = True,
) -> Outcome:
    """The certificate an https endpoint serves is trusted, current, strong and for its name.

    Facts: the chain verifies against the system trust store (or the
    endpoint's ``ca_bundle``), the host name matches a subjectAltName, at
    least ``min_days`` days are left before expiry, the key is RSA >=
    ``min_rsa_bits`` or EC >= ``min_ec_bits`` bits, and the signature is not
    SHA-1 or MD5. All facts are reported even when the chain does not verify.

    Args:
        min_days: the fewest days that must be left before the certificate expires.
        hostname: the name the certificate must be valid for (default: the URL's host);
            also sent as SNI.
        min_rsa_bits: the smallest acceptable RSA key.
        min_ec_bits: the smallest acceptable elliptic-curve key.
        verify_chain: whether the chain must verify; turn off only for a certificate
            that is deliberately not publicly trusted, and say why in the checklist.
    """
    host, port = _tls_target(endpoint, "tls_certificate")
    name = hostname or host
    cert = fetch_certificate(endpoint, name)
    info = cert_info(cert)
    now = _now()
    ev = Evidence()
    store = None
    if verify_chain:
        ok, seen, store = chain_verifies(endpoint, name)
        ev.add("chain", ok, seen, "a chain to a trusted root")
    judge_certificate(ev, info, now=now, min_days=min_days, min_rsa_bits=min_rsa_bits,
                      min_ec_bits=min_ec_bits, hostname=name)
    return ev.outcome(
        address=f"{host}:{port}", certificate=info.to_dict(now), trust_store=store,
        **endpoint.tls_details(),
    )



# --- protocol versions -----------------------------------------------------------------

VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


def _probe(endpoint: EndpointTarget, version: ssl.TLSVersion) -> tuple[bool | None, str]:
    """(accepted, note) for a handshake pinned to ``version``; None if we cannot offer it."""
    ctx = _observing_context()
    try:
        with warnings.catch_warnings():
            # Offering TLS 1.0/1.1 is the point of the probe.
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = version
            ctx.maximum_version = version
    except (ValueError, ssl.SSLError) as exc:
        return None, f"not testable here ({exc})"
    try:
        with _handshake(endpoint, ctx, _sni(endpoint.host)) as tls:
            cipher = tls.cipher()
            return True, f"accepted ({tls.version()}, {cipher[0] if cipher else '?'})"
    except ssl.SSLError as exc:
        reason = _ssl_reason(exc)
        if "no protocols available" in reason:
            return None, f"not testable here ({reason})"
        return False, f"refused ({reason})"


@check(target="endpoint")
def tls_protocols(
    endpoint: EndpointTarget, *, minimum: Literal["TLSv1.1", "TLSv1.2", "TLSv1.3"] = "TLSv1.2"
) -> Outcome:
    """An https endpoint refuses every TLS version below ``minimum`` and accepts one at or above it.

    One handshake is tried per version, each pinned to that version alone
    (SSLv3 and older cannot be offered by current OpenSSL and are not tried).
    A version this machine's OpenSSL cannot offer is reported as not tested.

    Args:
        minimum: the oldest TLS version that may be accepted.
    """
    host, port = _tls_target(endpoint, "tls_protocols")
    names = list(VERSIONS)
    floor = names.index(minimum)
    results: dict[str, bool | None] = {}
    notes: dict[str, str] = {}
    for name in names:
        results[name], notes[name] = _probe(endpoint, VERSIONS[name])
    ev = Evidence()
    for name in names[:floor]:
        if results[name] is None:
            ev.add(name, True, notes[name], "refused")
        else:
            ev.add(name, results[name] is False, notes[name], "refused")
    good = [n for n in names[floor:] if results[n]]
    if not any(results.values()):
        detail = "; ".join(f"{n}: {notes[n]}" for n in names)
        raise CheckError(
            f"endpoint {endpoint.name}: no TLS handshake with {host}:{port} succeeded ({detail})"
        )
    ev.add(
        f">= {minimum}",
        bool(good),
        ", ".join(good) + " accepted" if good else "none accepted",
        f"{minimum} or newer accepted",
    )
    return ev.outcome(address=f"{host}:{port}", accepted=results, probes=notes)


# --- certificates on disk --------------------------------------------------------------


def _read_on_host(host: HostTarget, path: str, what: str) -> str:
    try:
        f = host.testinfra.file(path)
        if not f.exists:
            raise CheckError(f"host {host.name}: {what} {path} does not exist")
        return str(f.content_string)
    except CheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - any backend failure is one line
        text = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise CheckError(f"host {host.name}: cannot read {what} {path}: {mask(text)}") from None


def load_pem_certificates(
    text: str, where: str, *, skip_bad: bool = False
) -> list[x509.Certificate]:
    """Every CERTIFICATE block in ``text`` (other blocks, such as keys, are ignored)."""
    blocks = []
    inside = False
    for line in text.splitlines():
        if line.strip() == "-----BEGIN CERTIFICATE-----":
            inside, current = True, [line]
        elif inside:
            current.append(line)
            if line.strip() == "-----END CERTIFICATE-----":
                blocks.append("\n".join(current) + "\n")
                inside = False
    if not blocks:
        raise CheckError(f"{where}: no PEM certificate found")
    certs = []
    with warnings.catch_warnings():
        # Some system roots break RFC 5280 in ways cryptography warns about.
        warnings.simplefilter("ignore")
        for block in blocks:
            try:
                certs.append(x509.load_pem_x509_certificate(block.encode()))
            except ValueError as exc:
                if not skip_bad:
                    raise CheckError(f"{where}: malformed PEM certificate ({exc})") from None
    return certs


def _system_store() -> list[x509.Certificate]:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            text = Path(candidate).read_text(encoding="utf-8", errors="replace")
            return load_pem_certificates(text, candidate, skip_bad=True)
    return []


def chain_from_pem(
    leaf: x509.Certificate,
    intermediates: Iterable[x509.Certificate],
    anchors: list[x509.Certificate],
    now: dt.datetime,
) -> tuple[bool, str]:
    """Whether ``leaf`` chains, through the given intermediates, to one of ``anchors``.

    Each link's signature is checked with the issuer's key, and every
    certificate on the path must be within its validity period.
    """
    try:
        return _walk_chain(leaf, list(intermediates), anchors, now)
    except _WeakLink as exc:
        return False, f"a link is signed with {exc}, too weak to verify"


def _walk_chain(
    leaf: x509.Certificate,
    pool: list[x509.Certificate],
    anchors: list[x509.Certificate],
    now: dt.datetime,
) -> tuple[bool, str]:
    anchor_ders = {a.public_bytes(serialization.Encoding.DER) for a in anchors}
    current = leaf
    for _ in range(10):
        if current.public_bytes(serialization.Encoding.DER) in anchor_ders:
            return True, "ends at a trusted root"
        issuer = _find_issuer(current, anchors)
        if issuer is not None:
            if not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
                return (
                    False,
                    f"trusted issuer {issuer.subject.rfc4514_string()} is outside its validity "
                    "period",
                )
            return True, f"issued by trusted {issuer.subject.rfc4514_string()}"
        issuer = _find_issuer(current, pool)
        if issuer is None:
            if current.issuer == current.subject:
                return (
                    False,
                    f"self-signed certificate {current.subject.rfc4514_string()} is not trusted",
                )
            return (
                False,
                f"issuer {current.issuer.rfc4514_string()} not found in the file or the trust "
                "store",
            )
        if not issuer.not_valid_before_utc <= now <= issuer.not_valid_after_utc:
            return (
                False,
                f"intermediate {issuer.subject.rfc4514_string()} is outside its validity period",
            )
        pool.remove(issuer)
        current = issuer
    return False, "chain longer than 10 certificates"


def _find_issuer(
    cert: x509.Certificate, candidates: Iterable[x509.Certificate]
) -> x509.Certificate | None:
    for candidate in candidates:
        if candidate.subject != cert.issuer or candidate == cert:
            continue
        try:
            cert.verify_directly_issued_by(candidate)
        except ValueError as exc:
            if "Unsupported signature algorithm" in str(exc):
                # As a verifying TLS client does, refuse to trust a SHA-1/MD5 link.
                raise _WeakLink(cert.signature_hash_algorithm) from None
            continue
        except Exception:  # noqa: BLE001 - any other failure means "not this issuer"
            continue
        return candidate
    return None


class _WeakLink(Exception):
    def __init__(self, algorithm: Any) -> None:
        super().__init__(getattr(algorithm, "name", "unknown"))


@check(target="host", aliases=("cert_file",))
def certificate_file(
    host: HostTarget,
    *,
    path: str,
    min_days: int = 30,
    hostname: str | None = None,
    ca_bundle: str | None = None,
    verify_chain: bool = True,
    min_rsa_bits: int = 2048,
    min_ec_bits: int = 256,
) -> Outcome:
    """A PEM certificate file on a host is trusted, current and strong, before it is served.

    The first certificate in the file is the one judged (as for a served
    certificate: expiry, key, signature, and the host name when given); the
    others are its intermediates. The chain is checked against ``ca_bundle``
    (a PEM file read on the same host) or this machine's system trust store.
    Private-key blocks in the file are ignored and never shown.

    Args:
        path: the certificate file on the host (PEM; leaf first).
        min_days: the fewest days that must be left before the certificate expires.
        hostname: a name the certificate must be valid for (not checked if unset).
        ca_bundle: a PEM bundle of trusted roots on the same host.
        verify_chain: whether the chain must reach a trusted root.
        min_rsa_bits: the smallest acceptable RSA key.
        min_ec_bits: the smallest acceptable elliptic-curve key.
    """
    where = f"host {host.name}: {path}"
    certs = load_pem_certificates(_read_on_host(host, path, "certificate file"), where)
    leaf, intermediates = certs[0], certs[1:]
    info = cert_info(leaf)
    now = _now()
    ev = Evidence()
    store = None
    if verify_chain:
        if ca_bundle:
            anchors = load_pem_certificates(
                _read_on_host(host, ca_bundle, "CA bundle"), f"host {host.name}: {ca_bundle}"
            )
            store = f"CA bundle {ca_bundle}"
        else:
            anchors = _system_store()
            store = "the system trust store"
        ok, seen = chain_from_pem(leaf, intermediates, anchors, now)
        ev.add("chain", ok, f"{seen} ({store})", "a chain to a trusted root")
    judge_certificate(
        ev,
        info,
        now=now,
        min_days=min_days,
        min_rsa_bits=min_rsa_bits,
        min_ec_bits=min_ec_bits,
        hostname=hostname,
    )
    return ev.outcome(
        path=path,
        certificate=info.to_dict(now),
        intermediates=len(intermediates),
        trust_store=store,
    )


# --- import rule ------------------------------------------------------------------------

_CERT = r"\b(ssl|tls|https|x\.?509)\b|certificates?|\bcerts?\b"


@proposes("tls_certificate", "tls_protocols", "certificate_file")
def _tls_rule(line: Line) -> Proposal | None:
    """TLS lines: a minimum protocol, a certificate file on a host, or the served certificate."""
    t = line.lower
    if not has(_CERT, t):
        return None
    if db_context(line):
        return None
    if has(
        r"monitor|alert|renewal|auto-?renew|rotation|expiration monitoring|pinning|client cert", t
    ):
        if has(r"renew", t) and not has(r"monitor|alert", t):
            return Proposal(
                [("tls_certificate", {"min_days": "30"}), ("tls_certificate", {})],
                0.45,
                "renewal is a process; a check can only see the current expiry",
            )
        return None
    protocols = re.search(
        r"tls\s*v?(1\.[0-3])\s*(\+|(?:or|and) (?:higher|later|above|newer)|only|minimum)|"
        r"(?:min(?:imum)?|at least)\s+tls\s*v?(1\.[0-3])",
        t,
    )
    if protocols or has(
        r"(sslv[23]|tls ?v?1\.[01])\b.*\b(disabled|off|refused|rejected|not (allowed|accepted|"
        r"supported))|weak (ciphers|protocols)",
        t,
    ):
        version = (protocols and (protocols.group(1) or protocols.group(3))) or "1.2"
        spellings = [
            ("tls_protocols", {"minimum": f"TLSv{version}"}),
            ("tls_protocols", {"min_version": version}),
        ]
        return Proposal(spellings, 0.8, f"TLS >= {version}")
    files = [p for p in paths(line.title + "\n" + line.code) if re.search(r"\.(pem|crt|cer)$", p)]
    if files:
        return Proposal(
            [("certificate_file", {"path": files[0]})], 0.8, f"certificate file {files[0]}"
        )
    if not has(r"certif|\bcerts?\b|ssl|tls|https", t):
        return None
    days = re.search(r"(\d+)\s*\+?\s*days?", t)
    if not has(
        r"install\w*|valid|obtain\w*|configured|enabled|in place|working|expir\w*|trusted|chain|"
        r"served|present|https",
        t,
    ):
        return None
    candidates: list[tuple[str, dict[str, str]]] = []
    if days:
        d = days.group(1)
        candidates += [
            ("tls_certificate", {"min_days": d}),
            ("tls_certificate", {"days": d}),
            ("tls_certificate", {"min_days_left": d}),
            ("tls_certificate", {"min_valid_days": d}),
        ]
    else:
        candidates.append(("tls_certificate", {}))
    return Proposal(
        candidates, 0.85 if days or has(r"certif|\bcerts?\b", t) else 0.7, "TLS certificate valid"
    )
