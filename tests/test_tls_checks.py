"""TLS checks against real TLS servers and real certificate files.

Servers and certificates come from tests/support/https.py: a private CA and
leaves that are valid, expiring in 3 days, expired, for the wrong host,
self-signed, with a 1024-bit RSA key and SHA-1 signed; servers that accept
TLS 1.0 or only TLS 1.3. Certificate files are read through a real
``local://`` host target.
"""

from __future__ import annotations

import json

import pytest

from pytest_golive.checks import REGISTRY, CheckDefinitionError
from pytest_golive.checks.tls import (
    CertInfo,
    certificate_file,
    hostname_matches,
    tls_certificate,
    tls_protocols,
)
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError
from pytest_golive.targets.endpoint import EndpointTarget
from pytest_golive.targets.host import HostTarget


@pytest.fixture(scope="module")
def local_host():
    return HostTarget(TargetSpec("host", "local", (), {"url": "local://"}), Settings())


def _tls(lab, state, **options):
    return lab.endpoint(lab.server(f"tls:{state}").url, name=state, **options)


def _fact(outcome, name):
    return next(f for f in outcome.details["facts"] if f["fact"] == name)


def _failing(outcome):
    return sorted(f["fact"] for f in outcome.details["facts"] if not f["ok"])


# --- tls_certificate --------------------------------------------------------------------


def test_valid_certificate_passes_with_full_evidence(https_lab):
    out = tls_certificate(_tls(https_lab, "valid"), min_days=30)
    assert out.status == "passed", out.summary()
    cert = out.details["certificate"]
    assert cert["key_type"] == "RSA" and cert["key_bits"] == 2048
    assert cert["signature_hash"] == "sha256"
    assert cert["days_left"] >= 360 and cert["not_after"].startswith("20")
    assert "IP:127.0.0.1" in cert["sans"]
    assert out.details["tls_verify"] is True
    assert "days left" in _fact(out, "expiry")["observed"]
    json.dumps(out.to_dict())


def test_ec_key_passes(https_lab):
    out = tls_certificate(_tls(https_lab, "ec"))
    assert out.status == "passed", out.summary()
    assert _fact(out, "key")["observed"] == "EC 256 bits"


def test_hostname_by_name_passes_and_is_sent_as_sni(https_lab):
    assert tls_certificate(_tls(https_lab, "valid"), hostname="localhost").ok


def test_expiring_soon_fails_on_expiry_only(https_lab):
    out = tls_certificate(_tls(https_lab, "expiring"), min_days=30)
    assert out.status == "failed"
    assert _failing(out) == ["expiry"]
    assert out.details["certificate"]["days_left"] in (2, 3)
    assert ">= 30 days left" in out.expected
    # The same certificate passes a 1-day threshold: the evidence is the days left, not a guess.
    assert tls_certificate(_tls(https_lab, "expiring"), min_days=1).ok


def test_expired_fails_with_all_facts(https_lab):
    out = tls_certificate(_tls(https_lab, "expired"))
    assert out.status == "failed"
    assert _failing(out) == ["chain", "expiry"]
    assert "expired" in _fact(out, "expiry")["observed"]
    assert "certificate has expired" in _fact(out, "chain")["observed"]
    # Facts that hold are still reported when verification fails.
    assert _fact(out, "key")["ok"] and _fact(out, "hostname")["ok"]


def test_wrong_hostname_fails(https_lab):
    out = tls_certificate(_tls(https_lab, "wrong_host"))
    assert out.status == "failed" and _failing(out) == ["hostname"]
    assert "DNS:other.example" in out.observed


def test_self_signed_fails_chain(https_lab):
    out = tls_certificate(_tls(https_lab, "self_signed"))
    assert out.status == "failed" and _failing(out) == ["chain"]
    assert "self-signed" in out.observed


def test_self_signed_passes_only_when_chain_check_is_turned_off(https_lab):
    out = tls_certificate(_tls(https_lab, "self_signed"), verify_chain=False)
    assert out.status == "passed"
    assert all(f["fact"] != "chain" for f in out.details["facts"])


def test_weak_key_fails(https_lab):
    out = tls_certificate(_tls(https_lab, "weak_key"))
    assert out.status == "failed"
    assert "key" in _failing(out)
    assert _fact(out, "key")["observed"] == "RSA 1024 bits"


def test_sha1_signature_fails(https_lab):
    out = tls_certificate(_tls(https_lab, "sha1"))
    assert out.status == "failed"
    assert "signature" in _failing(out)
    assert _fact(out, "signature")["observed"] == "signed with sha1"


def test_system_store_does_not_trust_the_lab_ca(https_lab):
    out = tls_certificate(_system(https_lab))
    assert out.status == "failed" and _failing(out) == ["chain"]
    assert "system trust store" in out.observed


def _system(lab):
    """An endpoint without a CA bundle: verification uses the system store."""
    spec = TargetSpec("endpoint", "sys", (), {"url": lab.server("tls:valid").url, "timeout": 2.0})
    return EndpointTarget(spec, Settings())


def test_verification_off_is_shown(https_lab):
    out = tls_certificate(_tls(https_lab, "valid", verify=False))
    assert out.details["tls_verify"] is False


def test_tls_certificate_needs_https(https_lab):
    ep = https_lab.endpoint(https_lab.server("app_http").url)
    with pytest.raises(CheckError, match="not an https:// URL"):
        tls_certificate(ep)


# --- tls_protocols ----------------------------------------------------------------------


def test_tls_protocols_default_server_passes(https_lab):
    out = tls_protocols(https_lab.endpoint(https_lab.server("tls:valid").url))
    assert out.status == "passed", out.summary()
    assert out.details["accepted"]["TLSv1"] is False and out.details["accepted"]["TLSv1.2"] is True


def test_tls_protocols_old_versions_fail(https_lab):
    out = tls_protocols(https_lab.endpoint(https_lab.server("tls10").url))
    assert out.status == "failed"
    assert _failing(out) == ["TLSv1", "TLSv1.1"]
    assert "accepted (TLSv1," in out.observed


def test_tls_protocols_minimum_13(https_lab):
    assert tls_protocols(
        https_lab.endpoint(https_lab.server("tls13_only").url), minimum="TLSv1.3"
    ).ok
    out = tls_protocols(https_lab.endpoint(https_lab.server("tls:valid").url), minimum="TLSv1.3")
    assert out.status == "failed" and _failing(out) == ["TLSv1.2"]


def test_tls_protocols_minimum_is_validated():
    chk = REGISTRY.get("tls_protocols")
    assert chk.validate({"minimum": "TLSv1.3"}) == {"minimum": "TLSv1.3"}
    with pytest.raises(CheckDefinitionError, match="not one of"):
        chk.validate({"minimum": "SSLv3"})


# --- faults -----------------------------------------------------------------------------


@pytest.mark.parametrize("check", [tls_certificate, tls_protocols])
def test_refused_port_is_one_line(https_lab, check):
    ep = https_lab.endpoint(f"https://127.0.0.1:{https_lab.refused_port()}")
    with pytest.raises(CheckError, match="connection refused"):
        check(ep)


@pytest.mark.parametrize("check", [tls_certificate, tls_protocols])
def test_silent_server_times_out(https_lab, check):
    ep = https_lab.endpoint(f"https://127.0.0.1:{https_lab.silent_port()}", timeout=0.5)
    with pytest.raises(CheckError, match=r"no TLS handshake answer within 0.5s"):
        check(ep)


def test_unresolvable_name_is_one_line(https_lab):
    ep = https_lab.endpoint("https://golive-lab-no-such-host.invalid:8443")
    with pytest.raises(
        CheckError, match="golive-lab-no-such-host.invalid.*DNS name does not resolve"
    ):
        tls_certificate(ep)


@pytest.mark.parametrize("check", [tls_certificate, tls_protocols])
def test_handshake_failure_is_one_line(https_lab, check):
    ep = https_lab.endpoint(f"https://127.0.0.1:{https_lab.server('app_http').port}")
    with pytest.raises(CheckError) as exc:
        check(ep)
    assert "wrong version number" in str(exc.value) and "\n" not in str(exc.value)


# --- certificate_file -------------------------------------------------------------------


def test_certificate_file_passes(https_lab, local_host):
    out = certificate_file(
        local_host,
        path=str(https_lab.cert("valid").cert),
        ca_bundle=https_lab.ca_bundle,
        hostname="localhost",
    )
    assert out.status == "passed", out.summary()
    assert out.details["intermediates"] == 1
    assert "issued by trusted" in _fact(out, "chain")["observed"]


def test_certificate_file_same_facts_as_served(https_lab, local_host):
    on_disk = certificate_file(
        local_host,
        path=str(https_lab.cert("expired").cert),
        ca_bundle=https_lab.ca_bundle,
        hostname="127.0.0.1",
    )
    served = tls_certificate(_tls(https_lab, "expired"))
    assert (
        on_disk.details["certificate"]["sha256_fingerprint"]
        == served.details["certificate"]["sha256_fingerprint"]
    )
    assert _failing(on_disk) == ["expiry"]  # the chain itself is sound; the date is not
    assert _fact(on_disk, "expiry")["observed"] == _fact(served, "expiry")["observed"]
    assert [f["fact"] for f in on_disk.details["facts"]] == [
        f["fact"] for f in served.details["facts"]
    ]


@pytest.mark.parametrize(
    ("state", "failing"),
    [
        ("expiring", ["expiry"]),
        ("weak_key", ["key"]),
        ("sha1", ["chain", "signature"]),
        ("self_signed", ["chain"]),
    ],
)
def test_certificate_file_failures(https_lab, local_host, state, failing):
    out = certificate_file(
        local_host, path=str(https_lab.cert(state).cert), ca_bundle=https_lab.ca_bundle
    )
    assert out.status == "failed"
    assert _failing(out) == failing


def test_certificate_file_hostname_only_when_given(https_lab, local_host):
    path = str(https_lab.cert("wrong_host").cert)
    assert certificate_file(local_host, path=path, ca_bundle=https_lab.ca_bundle).ok
    out = certificate_file(
        local_host, path=path, ca_bundle=https_lab.ca_bundle, hostname="www.example.com"
    )
    assert _failing(out) == ["hostname"]


def test_certificate_file_untrusted_by_system_store(https_lab, local_host):
    out = certificate_file(local_host, path=str(https_lab.cert("valid").cert))
    assert _failing(out) == ["chain"]
    assert "system trust store" in out.observed


def test_certificate_file_ignores_and_hides_private_key(https_lab, local_host, tmp_path):
    files = https_lab.cert("valid")
    key_text = files.key.read_text()
    combined = tmp_path / "combined.pem"
    combined.write_text(key_text + files.cert.read_text())
    out = certificate_file(local_host, path=str(combined), ca_bundle=https_lab.ca_bundle)
    assert out.ok
    body = key_text.splitlines()[1]
    assert body not in json.dumps(out.to_dict())


def test_certificate_file_missing_or_not_pem(local_host, tmp_path):
    with pytest.raises(CheckError, match="does not exist"):
        certificate_file(local_host, path=str(tmp_path / "nope.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    with pytest.raises(CheckError, match="no PEM certificate found"):
        certificate_file(local_host, path=str(junk))


# --- shared facts -----------------------------------------------------------------------


def _info(*sans):
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    return CertInfo("CN=x", "CN=x", sans, now, now, "RSA", 2048, "sha256", "1", "00", False)


def test_hostname_matching_rules():
    info = _info("DNS:*.example.com", "DNS:example.com", "IP:10.201.0.5")
    assert hostname_matches(info, "www.example.com")
    assert hostname_matches(info, "EXAMPLE.com")
    assert hostname_matches(info, "10.201.0.5")
    assert not hostname_matches(info, "a.b.example.com")
    assert not hostname_matches(info, "10.201.0.6")
    assert not hostname_matches(_info("DNS:*.com"), "example.com")


@pytest.mark.parametrize("name", ["tls_certificate", "tls_protocols", "certificate_file"])
def test_tls_checks_are_documented(name):
    chk = REGISTRY.get(name)
    assert chk.summary
    assert all(p.doc for p in chk.params)


def test_certificate_file_sha1_link_is_named(https_lab, local_host):
    out = certificate_file(
        local_host, path=str(https_lab.cert("sha1").cert), ca_bundle=https_lab.ca_bundle
    )
    assert "signed with sha1, too weak to verify" in _fact(out, "chain")["observed"]


def test_nginx_certificate_and_protocols(https_lab):
    from support import require

    started = https_lab.nginx()
    require(not isinstance(started, str), started if isinstance(started, str) else "")
    ep = https_lab.endpoint(started[1].url, name="nginx")
    cert = tls_certificate(ep, hostname="localhost")
    assert cert.status == "passed", cert.summary()
    assert cert.details["certificate"]["sha256_fingerprint"] == certificate_file(
        HostTarget(TargetSpec("host", "local", (), {"url": "local://"}), Settings()),
        path=str(https_lab.cert("valid").cert),
    ).details["certificate"]["sha256_fingerprint"]
    protocols = tls_protocols(ep)
    assert protocols.status == "passed", protocols.summary()
    assert not tls_protocols(ep, minimum="TLSv1.3").ok
    assert not tls_certificate(ep, min_days=400).ok
