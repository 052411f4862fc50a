"""From observations to a decision: severities, waivers, attestations, go/no-go.

Checks say what they saw; this module alone decides what it means for the
release. One rule keeps pytest's exit code and the verdict in agreement: an
item *blocks* exactly when its pytest outcome is ``failed``. Everything that
happened but does not block (a failing warning, a waived failure, a pending
manual line under ``--golive-manual=warn``) is reported as ``skipped`` to
pytest, with its own status word for people.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_golive.core.config import ConfigError

SEVERITIES = ("blocker", "warning")


def check_severity(value: object, where: str) -> str:
    """``value`` if it is a severity, else one :class:`ConfigError` line naming ``where``.

    A misspelt severity must not quietly become "does not block".
    """
    if value not in SEVERITIES:
        raise ConfigError(f"{where}: severity must be blocker or warning, not {value!r}")
    return str(value)


# --- clock ----------------------------------------------------------------------------


class Clock:
    """Today's date, settable so expiry tests never depend on the real date.

    ``--golive-today=YYYY-MM-DD`` or ``GOLIVE_TODAY`` fixes it.
    """

    def __init__(self, today: str | dt.date | None = None) -> None:
        value = today or os.environ.get("GOLIVE_TODAY")
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                raise ConfigError(f"--golive-today: '{value}' is not a date (YYYY-MM-DD)") from None
        self._today: dt.date | None = value

    def today(self) -> dt.date:
        return self._today or dt.date.today()

    def now(self) -> dt.datetime:
        if self._today:
            return dt.datetime.combine(self._today, dt.time(12, 0), tzinfo=dt.UTC)
        return dt.datetime.now(dt.UTC)


# --- waivers and attestations ---------------------------------------------------------


@dataclass(frozen=True)
class Waiver:
    item: str
    reason: str
    owner: str
    ticket: str = ""
    expires: dt.date | None = None
    target: str | None = None
    environment: str | None = None
    source: str = ""

    def matches(self, item_id: str, target: str | None, environment: str,
                groups: Iterable[str] = ()) -> bool:
        """``target`` is a target's name or glob, or a group of the target (as ``on=`` is)."""
        if self.environment and self.environment != environment:
            return False
        if self.target and not any(fnmatch.fnmatchcase(name, self.target)
                                   for name in (target or "", *groups)):
            return False
        return _id_matches(item_id, self.item)

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["expires"] = self.expires.isoformat() if self.expires else None
        return d


@dataclass(frozen=True)
class Attestation:
    item: str
    by: str
    at: dt.datetime
    ticket: str = ""
    evidence: str = ""
    expires: dt.date | None = None
    environment: str | None = None
    source: str = ""
    #: The line's text as it read when signed, and its digest (``golive attest`` writes both).
    line: str = ""
    line_digest: str = ""
    #: For a line with checks: ``target=sha256:...`` per target, what its checks observed when
    #: it was signed (``golive attest --report``); other observations void the sign-off.
    facts_digest: str = ""

    def matches(self, item_id: str, environment: str) -> bool:
        if self.environment and self.environment != environment:
            return False
        return _id_matches(item_id, self.item)

    def expiry(self, valid_days: int | None) -> dt.date | None:
        """The last day this attestation counts: its own expiry or the
        environment's validity period, whichever ends first."""
        limits = [self.expires] if self.expires else []
        if valid_days:
            limits.append((self.at + dt.timedelta(days=valid_days)).date())
        return min(limits) if limits else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        d["expires"] = self.expires.isoformat() if self.expires else None
        for key in ("line", "line_digest", "facts_digest"):
            if not d[key]:
                del d[key]
        return d


def line_digest(text: str) -> str:
    """``sha256:<hex>`` of a line's text, spacing aside: what a sign-off was given for."""
    import hashlib

    return "sha256:" + hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def _same_line(att: Attestation, now: str) -> bool:
    """Whether the line still reads as it did when signed.

    Emphasis and code delimiters are markup, not words: a title read before lone ``*``
    and ``_`` were kept as text ("not [""]" for "not ["*"]") signed the same line.
    """
    if line_digest(now) == att.line_digest:
        return True
    if not att.line or line_digest(att.line) != att.line_digest:
        return False  # the recorded text is not what was signed: only the digest counts

    def words(text: str) -> str:
        return " ".join(re.sub(r"[*_`]+", "", text).split())

    return words(att.line) == words(now)


def facts_digest(detail: str) -> str:
    """``sha256:<hex>`` of what a line's checks observed on one target (their summary)."""
    return line_digest(detail)


def _id_matches(item_id: str, pattern: str) -> bool:
    """An item id matches its full form, a glob, or its last part (an explicit id)."""
    return (
        item_id == pattern
        or fnmatch.fnmatchcase(item_id, pattern)
        or item_id.endswith("/" + pattern)
    )


def _load_records(path: Path, key: str) -> list[tuple[dict[str, Any], str]]:
    """Records under ``key`` (TOML array of tables or YAML list) with their location."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        if path.suffix.lower() in (".yml", ".yaml"):
            data = yaml.safe_load(text) or {}
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot parse: {' '.join(str(exc).split())}") from None
    records = data.get(key, data.get(key + "s", [])) if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise ConfigError(f"{path}: '{key}' must be a list of records ([[{key}]] in TOML)")
    return [(r, f"{path}: {key}[{i}]") for i, r in enumerate(records)]


def _date(value: Any, where: str, field_name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}.{field_name}: '{value}' is not a date (YYYY-MM-DD)") from None


def _datetime(value: Any, where: str, field_name: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(
            f"{where}.{field_name}: '{value}' is not a date and time (ISO 8601)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


_WAIVER_FIELDS = {"item", "reason", "owner", "ticket", "expires", "target", "environment"}
_ATTEST_FIELDS = {"item", "by", "at", "ticket", "evidence", "expires", "environment", "line",
                  "line_digest", "facts_digest"}
_DATE_FIELDS = {"expires", "at"}


def _require(
    record: Any, where: str, allowed: set[str], required: tuple[str, ...]
) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ConfigError(f"{where}: must be a table with {', '.join(required)}")
    unknown = sorted(set(record) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key (allowed: {', '.join(sorted(allowed))})"
        )
    for name in required:
        if not str(record.get(name, "")).strip():
            raise ConfigError(f"{where}: '{name}' is required")
    for name, value in record.items():
        if name not in _DATE_FIELDS and not isinstance(value, str):
            raise ConfigError(
                f"{where}.{name}: must be a string, not {type(value).__name__} ({value!r})"
            )
    return record


def load_waivers(path: Path | None, allow_without_expiry: bool = False) -> list[Waiver]:
    if path is None:
        return []
    out = []
    for record, where in _load_records(path, "waiver"):
        r = _require(record, where, _WAIVER_FIELDS, ("item", "reason", "owner"))
        expires = _date(r.get("expires"), where, "expires")
        if expires is None and not allow_without_expiry:
            raise ConfigError(
                f"{where}: waiver for '{r['item']}' has no 'expires' date "
                "(every waiver must end; set settings.allow_waivers_without_expiry = true to allow "
                "it)"
            )
        out.append(Waiver(
            item=str(r["item"]), reason=str(r["reason"]), owner=str(r["owner"]),
            ticket=str(r.get("ticket", "")), expires=expires,
            target=r.get("target"), environment=r.get("environment"), source=where,
        ))
    return out


def load_attestations(path: Path | None) -> list[Attestation]:
    if path is None or not path.exists():
        return []
    out = []
    for record, where in _load_records(path, "attestation"):
        r = _require(record, where, _ATTEST_FIELDS, ("item", "by", "at"))
        out.append(Attestation(
            item=str(r["item"]), by=str(r["by"]), at=_datetime(r["at"], where, "at"),
            ticket=str(r.get("ticket", "")), evidence=str(r.get("evidence", "")),
            expires=_date(r.get("expires"), where, "expires"),
            environment=r.get("environment"), source=where,
            line=str(r.get("line", "")), line_digest=str(r.get("line_digest", "")),
            facts_digest=str(r.get("facts_digest", "")),
        ))
    return out


# --- the decision ---------------------------------------------------------------------


@dataclass
class Policy:
    """How this run decides: the environment, its waivers and attestations, options."""

    environment: str
    clock: Clock = field(default_factory=Clock)
    waivers: list[Waiver] = field(default_factory=list)
    attestations: list[Attestation] = field(default_factory=list)
    severity_overrides: dict[str, str] = field(default_factory=dict)
    manual: str = "block"
    strict: bool = False
    attestation_valid_days: int | None = None
    #: Item id -> the line's text in this run's checklists: a sign-off given for other
    #: words no longer counts.
    line_texts: dict[str, str] = field(default_factory=dict)
    #: Target name -> its groups: a waiver's ``target`` may name a group.
    target_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def severity(self, item_id: str, declared: str) -> str:
        for pattern, severity in self.severity_overrides.items():
            if _id_matches(item_id, pattern):
                return severity
        return declared

    def waiver_for(self, item_id: str, target: str | None) -> Waiver | None:
        """The waiver that decides this item: a valid one if any, else the latest expired one.

        A renewed waiver is often a new record beside the old, expired one;
        the order of records in the file must not decide which counts.
        """
        groups = self.target_groups.get(target or "", ())
        matching = [w for w in self.waivers
                    if w.matches(item_id, target, self.environment, groups)]
        if not matching:
            return None
        today = self.clock.today()
        valid = [w for w in matching if not w.expired(today)]
        pool = valid or matching
        return max(pool, key=lambda w: w.expires or dt.date.max)

    def attestation_for(self, item_id: str) -> Attestation | None:
        matching = [(a.at, i, a) for i, a in enumerate(self.attestations)
                    if a.matches(item_id, self.environment)]
        # the latest; of two signed in the same second, the one written last
        return max(matching, key=lambda m: (m[0], m[1]))[2] if matching else None


@dataclass
class Decision:
    status: str
    blocking: bool
    severity: str
    message: str = ""
    waiver: dict[str, Any] | None = None
    attestation: dict[str, Any] | None = None


def decide(policy: Policy, item_id: str, target: str | None, declared_severity: str,
           observed_status: str | None, manual: bool, detail: str = "",
           attest: bool = False) -> Decision:
    """The status and blocking flag of one item result.

    ``observed_status`` is the check's outcome (passed, failed, error,
    skipped), or ``not-configured`` for a line whose variables are unset
    (it blocks like a pending line and is never a pass); ``None`` for a
    manual line. Anything that would block (a
    failure, an error, a pending manual line) can be waived; a severity
    that is not ``warning`` blocks, so a mistake never turns into "go".

    ``attest`` marks a line that a machine checks in part: it passes only
    when its checks pass *and* a valid attestation signs the rest; until
    then it is pending, and its message says both halves.
    """
    severity = policy.severity(item_id, declared_severity)
    blocks_if_bad = severity != "warning" or policy.strict
    if attest and not manual:
        return _partly(policy, item_id, target, severity, blocks_if_bad, observed_status, detail)
    if manual:
        decision = _manual(policy, item_id, severity, blocks_if_bad)
        if decision.status == "manual-attested":
            return decision
        return _waive(policy, item_id, target, decision)
    if observed_status in ("passed", "skipped"):
        return Decision(observed_status, False, severity)
    status = observed_status or "error"
    message = ""
    if not blocks_if_bad:
        first = detail.strip().splitlines()[0] if detail.strip() else status
        message = f"severity warning, does not block the release: {first}"
    return _waive(policy, item_id, target, Decision(status, blocks_if_bad, severity, message))


def _partly(policy: Policy, item_id: str, target: str | None, severity: str, blocks_if_bad: bool,
            observed_status: str | None, detail: str) -> Decision:
    """A line with checks and an attestation: both halves must hold."""
    signed = _manual(policy, item_id, severity, blocks_if_bad)
    half = ("attestation: " + signed.message) if signed.message else "attestation: none yet"
    if observed_status == "skipped":
        # The checks do not apply here: the person's half decides alone.
        return (
            signed
            if signed.status == "manual-attested"
            else _waive(policy, item_id, target, signed)
        )
    if observed_status != "passed":
        status = observed_status or "error"
        first = detail.strip().splitlines()[0] if detail.strip() else status
        message = f"checks {status}: {first}; {half}"
        if not blocks_if_bad:
            message = f"severity warning, does not block the release: {message}"
        return _waive(
            policy,
            item_id,
            target,
            Decision(status, blocks_if_bad, severity, message, attestation=signed.attestation),
        )
    signed_facts = str((signed.attestation or {}).get("facts_digest") or "")
    if signed.status == "manual-attested" and signed_facts:
        seen = dict(part.partition("=")[::2] for part in signed_facts.split() if "=" in part)
        now = seen.get(target or "")
        if now != facts_digest(detail):
            att = signed.attestation or {}
            why = ("its checks saw something else" if now is not None
                   else f"target {target} was not part of it")
            message = (f"the facts changed since {att.get('by')} signed it on "
                       f"{str(att.get('at', ''))[:10]}: {why} (now: {' '.join(detail.split())}); "
                       f"sign it again (golive attest {item_id} --report REPORT.json --by NAME)")
            blocks = blocks_if_bad and policy.manual == "block"
            return Decision("manual-pending", blocks, severity, message,
                            attestation={**att, "lapsed": "the facts changed since it was signed"})
    if signed.status == "manual-attested":
        return Decision(
            "passed", False, severity, f"checks passed; {half}", attestation=signed.attestation
        )
    pending = Decision(
        "manual-pending",
        signed.blocking,
        severity,
        f"checks passed; {half}",
        attestation=signed.attestation,
    )
    return _waive(policy, item_id, target, pending)


def _waive(policy: Policy, item_id: str, target: str | None, decision: Decision) -> Decision:
    """Apply the item's waiver to a bad result: waived if valid, shown if expired."""
    waiver = policy.waiver_for(item_id, target)
    if waiver is None:
        return decision
    if not waiver.expired(policy.clock.today()):
        return Decision(
            "waived", False, decision.severity,
            f"waived until {waiver.expires or 'further notice'} by {waiver.owner}: {waiver.reason}"
            + (f" ({waiver.ticket})" if waiver.ticket else ""),
            waiver=waiver.to_dict(), attestation=decision.attestation,
        )
    note = f"waiver expired on {waiver.expires} ({waiver.owner}: {waiver.reason}"
    note += f", {waiver.ticket})" if waiver.ticket else ")"
    message = "\n".join(m for m in (decision.message, note) if m)
    return Decision(decision.status, decision.blocking, decision.severity, message,
                    waiver={**waiver.to_dict(), "expired": True}, attestation=decision.attestation)


def _manual(policy: Policy, item_id: str, severity: str, blocks_if_bad: bool) -> Decision:
    att = policy.attestation_for(item_id)
    today = policy.clock.today()
    blocks = blocks_if_bad and policy.manual == "block"
    unless = "" if blocks else "; does not block the release" + (
        " (--golive-manual=warn)" if blocks_if_bad else " (severity warning)")
    if att:
        expiry = att.expiry(policy.attestation_valid_days)
        info = {**att.to_dict(), "valid_until": expiry.isoformat() if expiry else None}
        now = policy.line_texts.get(item_id)
        if att.line_digest and now is not None and not _same_line(att, now):
            was = f" (it read: {att.line})" if att.line else ""
            message = (f"the line changed since {att.by} signed it on {att.at.date()}{was}; "
                       f"sign it again (golive attest {item_id} --by NAME --ticket TICKET){unless}")
            return Decision("manual-pending", blocks, severity, message,
                            attestation={**info, "lapsed": "the line changed since it was signed"})
        if expiry is None or expiry >= today:
            return Decision(
                "manual-attested",
                False,
                severity,
                f"attested by {att.by} on {att.at.date()}"
                + (f" ({att.ticket})" if att.ticket else "")
                + (f", valid until {expiry}" if expiry else ""),
                attestation=info,
            )
        message = (
            f"attestation by {att.by} on {att.at.date()} expired on {expiry}; attest again "
            f"(golive attest {item_id} --by NAME --ticket TICKET){unless}"
        )
        return Decision(
            "manual-pending", blocks, severity, message, attestation={**info, "expired": True}
        )
    message = (
        f"manual item: no attestation yet "
        f"(golive attest {item_id} --by NAME --ticket TICKET){unless}"
    )
    return Decision("manual-pending", blocks, severity, message)


def stale_waivers(policy: Policy, keys: Iterable[tuple[str, str | None]] | None) -> list[Waiver]:
    """Waivers of this environment that match no collected item: noise to remove.

    ``keys`` are the (item id, target) pairs of every collected item, taken
    before ``-k``/``-m``/``--deselect`` narrow the run, so a waiver is not
    called stale just because its item was not selected this time. ``None``
    (collection never finished) reports nothing.
    """
    if keys is None:
        return []
    pairs = list(keys)
    return [
        w for w in policy.waivers
        if (not w.environment or w.environment == policy.environment)
        and not any(w.matches(item_id, target, policy.environment,
                              policy.target_groups.get(target or "", ()))
                    for item_id, target in pairs)
    ]


def stale_attestations(policy: Policy, keys: Iterable[tuple[str, str | None]] | None
                       ) -> list[Attestation]:
    """Attestations of this environment that match no collected item (a misspelt id, a
    removed line): reported like stale waivers. ``None`` (collection never finished): none."""
    if keys is None:
        return []
    ids = {item_id for item_id, _ in keys}
    return [
        a for a in policy.attestations
        if (not a.environment or a.environment == policy.environment)
        and not any(a.matches(item_id, policy.environment) for item_id in ids)
    ]


def overall(results: list[dict[str, Any]], collection_errors: int = 0,
            incomplete: str = "") -> dict[str, Any]:
    """GO or NO-GO from item results (plain dicts), collection errors and completeness.

    GO needs at least one item that was actually decided (not only skipped),
    no collection error, a run that was not cut short (``incomplete`` says
    why it was: interrupted, ``-x``) and no blocking item. Blocking items are
    listed in the order an approver reads them -- failing and erroring
    blockers by section, then expired waivers, then pending sign-offs -- and
    in checklist order within each, so serial and xdist runs say the same thing.
    """
    blocking = [r for r in results if r.get("blocking")]
    if blocking:  # the order's key reads every result: only worth building to sort something
        blocking.sort(key=_attention_order(results))
    pending = [r for r in blocking if r["status"] == "manual-pending"]
    unset = [r for r in blocking if r["status"] == "not-configured"]
    failing = [r for r in blocking if r["status"] not in ("manual-pending", "not-configured")]
    decided = [r for r in results if r["status"] != "skipped"]
    reasons = []
    if not results:
        reasons.append("nothing was checked")
    elif not decided:
        reasons.append(f"nothing was checked: all {len(results)} item(s) skipped")
    if collection_errors:
        reasons.append(f"{collection_errors} checklist error(s)")
    if incomplete:
        reasons.append(f"run incomplete: {incomplete}")
    if failing:
        reasons.append(f"{len(failing)} blocker(s) failing")
    if pending:
        reasons.append(f"{len(pending)} manual item(s) pending")
    if unset:
        reasons.append(f"{len(unset)} item(s) not configured (unset variables)")
    return {
        "verdict": "NO-GO" if reasons else "GO",
        "blocking": [r["nodeid"] for r in blocking],
        "reasons": reasons,
    }


def _document_order(result: dict[str, Any]) -> tuple[str, int, str]:
    return (str(result.get("source") or ""), int(result.get("line") or 0), result["nodeid"])


def _attention_order(results: list[dict[str, Any]]) -> Any:
    """Sort key of blocking items: failing (by section), not configured, expired waivers,
    pending."""
    sections: dict[str, tuple[str, int, str]] = {}
    for r in sorted(results, key=_document_order):
        sections.setdefault(str(r.get("section", "")), _document_order(r))
    rank = {name: i for i, name in enumerate(sections)}

    def key(result: dict[str, Any]) -> tuple[int, int, tuple[str, int, str]]:
        if result["status"] == "manual-pending":
            kind = 3
        elif (result.get("waiver") or {}).get("expired"):
            kind = 2
        elif result["status"] == "not-configured":
            kind = 1  # after what was checked and failed: a variable to set, not a finding
        else:
            kind = 0
        return (kind, rank.get(str(result.get("section", "")), 0), _document_order(result))

    return key
