"""The verdict module on its own: the clock, waiver and attestation records, decide(), overall()."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pytest_golive.core.config import ConfigError
from pytest_golive.core.verdict import (
    Attestation,
    Clock,
    Policy,
    Waiver,
    check_severity,
    decide,
    load_attestations,
    load_waivers,
    overall,
    stale_waivers,
)

TODAY = dt.date(2026, 6, 15)


def policy(**kwargs: object) -> Policy:
    return Policy(environment="prod", clock=Clock(TODAY), **kwargs)  # type: ignore[arg-type]


def waiver(item: str, expires: dt.date | None, **kwargs: str) -> Waiver:
    return Waiver(
        item=item, reason=kwargs.pop("reason", "accepted"), owner="ops", expires=expires, **kwargs
    )


# --- clock ----------------------------------------------------------------------------


def test_clock_from_option_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOLIVE_TODAY", "2030-02-03")
    assert Clock().today() == dt.date(2030, 2, 3)
    assert Clock("2031-01-01").today() == dt.date(2031, 1, 1)  # the option wins
    assert Clock().now() == dt.datetime(2030, 2, 3, 12, 0, tzinfo=dt.UTC)
    monkeypatch.delenv("GOLIVE_TODAY")
    assert Clock().today() == dt.date.today()


def test_clock_refuses_a_non_date() -> None:
    with pytest.raises(
        ConfigError, match=r"--golive-today: '2026-02-30' is not a date \(YYYY-MM-DD\)"
    ):
        Clock("2026-02-30")


# --- decide ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "observed", "strict", "status", "blocking"),
    [
        ("blocker", "passed", False, "passed", False),
        ("blocker", "failed", False, "failed", True),
        ("blocker", "error", False, "error", True),
        ("blocker", "skipped", False, "skipped", False),
        ("warning", "passed", False, "passed", False),
        ("warning", "failed", False, "failed", False),
        ("warning", "error", False, "error", False),
        ("warning", "failed", True, "failed", True),
        ("warning", "error", True, "error", True),
        ("warning", "skipped", True, "skipped", False),
    ],
)
def test_severity_and_outcome(
    severity: str, observed: str, strict: bool, status: str, blocking: bool
) -> None:
    d = decide(
        policy(strict=strict), "s/x", "web1", severity, observed, False, "observed 1, expected 2"
    )
    assert (d.status, d.blocking, d.severity) == (status, blocking, severity)
    if status in ("failed", "error") and not blocking:
        assert d.message == "severity warning, does not block the release: observed 1, expected 2"


@pytest.mark.parametrize("observed", ["failed", "error"])
@pytest.mark.parametrize("severity", ["blocker", "warning"])
def test_valid_waiver_waives_failures_and_errors(observed: str, severity: str) -> None:
    p = policy(waivers=[waiver("x", TODAY, ticket="T-1")])
    d = decide(p, "s/x", "web1", severity, observed, False)
    assert (d.status, d.blocking) == ("waived", False)
    assert d.message == "waived until 2026-06-15 by ops: accepted (T-1)"
    assert d.waiver is not None and d.waiver["expires"] == "2026-06-15"


def test_expired_waiver_no_longer_counts_and_is_shown() -> None:
    p = policy(waivers=[waiver("x", TODAY - dt.timedelta(days=1))])
    d = decide(p, "s/x", None, "blocker", "failed", False)
    assert (d.status, d.blocking) == ("failed", True)
    assert d.message == "waiver expired on 2026-06-14 (ops: accepted)"
    assert d.waiver is not None and d.waiver["expired"] is True


def test_a_valid_waiver_wins_over_an_expired_one_whatever_the_order() -> None:
    old = waiver("x", dt.date(2026, 1, 1), reason="old")
    new = waiver("x", dt.date(2026, 9, 1), reason="renewed")
    for order in ([old, new], [new, old]):
        d = decide(policy(waivers=order), "s/x", None, "blocker", "failed", False)
        assert d.status == "waived" and "renewed" in d.message
    older = waiver("x", dt.date(2025, 1, 1), reason="older")
    d = decide(policy(waivers=[older, old]), "s/x", None, "blocker", "failed", False)
    assert d.message == "waiver expired on 2026-01-01 (ops: old)"


def test_waiver_matching_by_id_glob_target_and_environment() -> None:
    p = policy(waivers=[waiver("security/tls-*", TODAY, target="web*")])
    assert decide(p, "security/tls-expiry", "web2", "blocker", "failed", False).status == "waived"
    assert decide(p, "security/tls-expiry", "db1", "blocker", "failed", False).status == "failed"
    assert decide(p, "security/api-keys", "web2", "blocker", "failed", False).status == "failed"
    # the last part of an id is enough; a part of a word is not
    p = policy(waivers=[waiver("api-keys", TODAY)])
    assert decide(p, "security/api-keys", None, "blocker", "failed", False).status == "waived"
    assert decide(p, "security/old-api-keys", None, "blocker", "failed", False).status == "failed"
    p = policy(waivers=[waiver("api-keys", TODAY, environment="staging")])
    assert decide(p, "security/api-keys", None, "blocker", "failed", False).status == "failed"


def test_severity_override_by_id_or_glob() -> None:
    p = policy(severity_overrides={"performance/*": "warning", "signoff/cab": "blocker"})
    assert decide(p, "performance/latency", None, "blocker", "failed", False).blocking is False
    assert decide(p, "signoff/cab", None, "warning", None, True).blocking is True


def test_unknown_severity_blocks_rather_than_lets_through() -> None:
    assert decide(policy(), "s/x", None, "warn", "failed", False).blocking is True
    with pytest.raises(ConfigError, match="severity must be blocker or warning, not 'warn'"):
        check_severity("warn", "here")


# --- manual items ---------------------------------------------------------------------


def attestation(item: str, at: dt.date, **kwargs: object) -> Attestation:
    return Attestation(item=item, by="Ada", at=dt.datetime.combine(at, dt.time(9), tzinfo=dt.UTC),
                       **kwargs)  # type: ignore[arg-type]


def test_manual_pending_blocks_unless_warn_or_warning() -> None:
    assert (decide(policy(), "signoff/x", None, "blocker", None, True).blocking) is True
    assert (
        decide(policy(manual="warn"), "signoff/x", None, "blocker", None, True).blocking
    ) is False
    assert (decide(policy(), "signoff/x", None, "warning", None, True).blocking) is False
    assert (decide(policy(strict=True), "signoff/x", None, "warning", None, True).blocking) is True
    d = decide(policy(manual="warn", strict=True), "signoff/x", None, "blocker", None, True)
    assert (d.status, d.blocking) == ("manual-pending", False)


def test_attestation_counts_until_it_expires() -> None:
    att = attestation("x", dt.date(2026, 5, 16), ticket="CHG-1")
    d = decide(
        policy(attestations=[att], attestation_valid_days=30),
        "signoff/x",
        None,
        "blocker",
        None,
        True,
    )
    assert (d.status, d.blocking) == ("manual-attested", False)
    assert d.message == "attested by Ada on 2026-05-16 (CHG-1), valid until 2026-06-15"
    d = decide(
        policy(attestations=[att], attestation_valid_days=29),
        "signoff/x",
        None,
        "blocker",
        None,
        True,
    )
    assert (d.status, d.blocking) == ("manual-pending", True)
    assert d.attestation is not None and d.attestation["expired"] is True


def test_the_earlier_of_own_expiry_and_validity_period_wins() -> None:
    at = dt.date(2026, 6, 1)
    assert attestation("x", at, expires=dt.date(2027, 1, 1)).expiry(10) == dt.date(2026, 6, 11)
    assert attestation("x", at, expires=dt.date(2026, 6, 5)).expiry(10) == dt.date(2026, 6, 5)
    assert attestation("x", at).expiry(None) is None


def test_latest_attestation_of_the_environment_counts() -> None:
    atts = [
        attestation("x", dt.date(2026, 6, 10), environment="staging"),
        attestation("x", dt.date(2026, 1, 1)),
        attestation("x", dt.date(2026, 6, 1)),
    ]
    d = decide(
        policy(attestations=atts, attestation_valid_days=30),
        "signoff/x",
        None,
        "blocker",
        None,
        True,
    )
    assert d.status == "manual-attested" and d.message.startswith("attested by Ada on 2026-06-01")


def test_a_pending_manual_item_can_be_waived() -> None:
    d = decide(policy(waivers=[waiver("x", TODAY)]), "signoff/x", None, "blocker", None, True)
    assert (d.status, d.blocking) == ("waived", False)


# --- loading --------------------------------------------------------------------------


def test_load_waivers_toml_and_yaml(tmp_path: Path) -> None:
    toml = tmp_path / "w.toml"
    toml.write_text(
        '[[waiver]]\nitem = "a"\nreason = "r"\nowner = "o"\nticket = "T"\nexpires = 2026-07-01\n'
    )
    yml = tmp_path / "w.yaml"
    yml.write_text("waivers:\n  - {item: a, reason: r, owner: o, ticket: T, expires: 2026-07-01}\n")
    a, b = load_waivers(toml)[0], load_waivers(yml)[0]
    assert (a.item, a.reason, a.owner, a.ticket, a.expires) == (
        "a",
        "r",
        "o",
        "T",
        dt.date(2026, 7, 1),
    )
    assert (b.item, b.expires) == (a.item, a.expires)
    assert a.source == f"{toml}: waiver[0]"


def test_waiver_without_expiry(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text('[[waiver]]\nitem = "a"\nreason = "r"\nowner = "o"\n')
    with pytest.raises(ConfigError, match="has no 'expires' date"):
        load_waivers(path)
    assert load_waivers(path, allow_without_expiry=True)[0].expires is None


def test_missing_waiver_file_is_an_error_but_missing_attestations_are_none(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_waivers(tmp_path / "nope.toml")
    assert load_attestations(tmp_path / "nope.toml") == []


def test_load_attestations_with_offsets_and_naive_times(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('[[attestation]]\nitem = "x"\nby = "Ada"\nat = 2026-06-01T23:30:00-05:00\n'
                    '[[attestation]]\nitem = "y"\nby = "Bo"\nat = "2026-06-02T10:00:00"\n')
    x, y = load_attestations(path)
    assert x.at == dt.datetime(2026, 6, 2, 4, 30, tzinfo=dt.UTC)
    assert y.at == dt.datetime(2026, 6, 2, 10, 0, tzinfo=dt.UTC)


# --- stale waivers and the overall verdict --------------------------------------------


def test_stale_waivers_judged_against_collected_items() -> None:
    used, other_target, unknown, staging = (
        waiver("a", TODAY), waiver("b", TODAY, target="db*"), waiver("zzz", TODAY),
        waiver("nothing", TODAY, environment="staging"),
    )
    p = policy(waivers=[used, other_target, unknown, staging])
    assert stale_waivers(p, [("s/a", "web1"), ("s/b", "web1")]) == [other_target, unknown]
    assert stale_waivers(p, None) == []


def record(nodeid: str, status: str, blocking: bool, line: int) -> dict[str, object]:
    return {
        "nodeid": nodeid,
        "status": status,
        "blocking": blocking,
        "source": "c.md",
        "line": line,
    }


def test_overall() -> None:
    assert overall([record("a", "passed", False, 1)]) == {
        "verdict": "GO",
        "blocking": [],
        "reasons": [],
    }
    assert (
        overall([record("a", "waived", False, 1), record("b", "manual-attested", False, 2)])[
            "verdict"
        ]
        == "GO"
    )
    results = [
        record("p", "manual-pending", True, 9),
        record("e", "error", True, 5),
        record("f", "failed", True, 2),
    ]
    assert overall(results) == {
        "verdict": "NO-GO",
        "blocking": ["f", "e", "p"],
        "reasons": ["2 blocker(s) failing", "1 manual item(s) pending"],
    }
    assert overall([])["reasons"] == ["nothing was checked"]
    assert overall([record("s", "skipped", False, 1)])["reasons"] == [
        "nothing was checked: all 1 item(s) skipped"
    ]
    assert overall([record("a", "passed", False, 1)], collection_errors=1)["verdict"] == "NO-GO"
    assert overall([record("a", "passed", False, 1)], incomplete="interrupted")["reasons"] == [
        "run incomplete: interrupted"
    ]
