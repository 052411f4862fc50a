"""The approver's reading of a run: one row per checklist line, what blocks first.

pytest items stay one per (line x target), so ``-k``, JUnit and xdist keep
working; people reason about lines. This module regroups the plain result
records of a report document (``RunResults.to_dict()``) into lines, says in
one sentence what each line found on its targets, and orders what needs
attention: failing blockers by section, then expired waivers, then pending
sign-offs (counted, with one command to sign them), then warnings. Every
renderer (terminal, HTML, Markdown) reads this, so they agree.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from pytest_golive.core.status import Status, display_status
from pytest_golive.core.text import is_marker_title, section_title_of

#: From worst to best: a line shows the worst status among its targets.
SEVERITY_ORDER: tuple[str, ...] = tuple(s.value for s in (
    Status.ERROR, Status.NOT_CONFIGURED, Status.FAILED, Status.MANUAL_PENDING, Status.WARNING,
    Status.WAIVED, Status.MANUAL_ATTESTED, Status.PASSED, Status.SKIPPED))

#: Target kind -> the plural a sentence uses.
KIND_NOUNS = {"host": ("host", "hosts"), "endpoint": ("endpoint", "endpoints"),
              "database": ("database", "databases"), "file": ("file", "files")}

#: Words in sentences: what happened on a target.
VERBS = {"failed": "failed", "error": "could not be checked", "warning": "failed (warning)",
         "not-configured": "not configured",
         "waived": "waived", "manual-pending": "waiting for sign-off",
         "manual-attested": "attested", "passed": "passed", "skipped": "not applicable"}


class Attention(Enum):
    """Why a line needs an approver's attention, in the order reports list them."""

    FAILING = "failing"
    NOT_CONFIGURED = "not-configured"
    EXPIRED_WAIVER = "expired-waiver"
    PENDING = "pending"
    WARNING = "warning"


@dataclass
class EvidenceGroup:
    """Targets of one line that saw the same thing: shown once, with their names."""

    status: str
    observed: str
    expected: str
    note: str
    targets: list[str] = field(default_factory=list)


@dataclass
class Line:
    """One checklist line with its per-target results."""

    key: tuple[str, str]
    id: str
    title: str
    section: str
    section_title: str
    severity: str
    environment: str | None
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def statuses(self) -> Counter[str]:
        return Counter(display_status(r) for r in self.results)

    @property
    def status(self) -> str:
        present = self.statuses
        return next((s for s in SEVERITY_ORDER if present.get(s)), "skipped")

    @property
    def blocking(self) -> bool:
        return any(r.get("blocking") for r in self.results)

    @property
    def expired_waiver(self) -> bool:
        return any(r.get("blocking") and (r.get("waiver") or {}).get("expired")
                   for r in self.results)

    @property
    def attention(self) -> Attention | None:
        if self.blocking:
            bad = [r for r in self.results if r.get("blocking")]
            live = [r for r in bad if r["status"] != "manual-pending"
                    and not (r.get("waiver") or {}).get("expired")]
            if any(r["status"] != "not-configured" for r in live):
                return Attention.FAILING
            if live:
                return Attention.NOT_CONFIGURED
            if self.expired_waiver:
                return Attention.EXPIRED_WAIVER
            return Attention.PENDING
        status = self.status
        if status == "manual-pending":
            return Attention.PENDING  # a sign-off all the same, though it does not block
        if status == "warning":
            return Attention.WARNING
        return None

    @property
    def targets(self) -> list[str]:
        return [str(r["target"]) for r in self.results if r.get("target")]

    @property
    def target_kind(self) -> str | None:
        return next((str(r["target_kind"]) for r in self.results if r.get("target_kind")), None)

    @property
    def manual(self) -> bool:
        return all(r.get("manual") for r in self.results)

    def evidence(self) -> list[EvidenceGroup]:
        """Targets grouped by what they saw, the worst first: distinct evidence stays distinct."""
        groups: dict[tuple[str, str, str, str], EvidenceGroup] = {}
        for r in self.results:
            status = display_status(r)
            key = (status, r.get("observed") or "", r.get("expected") or "",
                   _first(r.get("message")))
            group = groups.setdefault(key, EvidenceGroup(*key))
            group.targets.append(str(r.get("target") or ""))
        return sorted(groups.values(), key=lambda g: SEVERITY_ORDER.index(g.status)
                      if g.status in SEVERITY_ORDER else len(SEVERITY_ORDER))

    def sentence(self) -> str:
        """"failed on 5 of 5 hosts (h1-h5): observed 2" -- what the line found, in words."""
        status = self.status
        verb = VERBS.get(status, status)
        bad = [r for r in self.results if display_status(r) == status]
        named = [str(r["target"]) for r in bad if r.get("target")]
        if self.targets:
            singular, plural = KIND_NOUNS.get(self.target_kind or "", ("target", "targets"))
            total = len(self.results)
            noun = singular if total == 1 else plural
            where = f" on {len(named)} of {total} {noun} ({compress(named)})"
        else:
            where = ""
        groups = [g for g in self.evidence() if g.status == status]
        what = ""
        if len(groups) == 1:
            what = _evidence_text(groups[0])
        elif len(groups) > 1:
            what = f"{len(groups)} different observations"
        return f"{verb}{where}" + (f": {what}" if what else "")

    def duration(self) -> float:
        return sum(float(r.get("duration") or 0) for r in self.results)


def _first(text: Any) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else ""


def _evidence_text(group: EvidenceGroup) -> str:
    if group.status in ("error", "not-configured", "skipped"):
        # a message, not a measurement: said as is, without repeating the status
        text = group.observed or group.note
        return re.sub(r"^(not configured|could not check):\s*", "", text)
    if group.observed:
        expected = f", expected {group.expected}" if group.expected else ""
        return f"observed {group.observed}{expected}"
    return group.note or group.observed


def evidence_text(result: Mapping[str, Any]) -> str:
    """One result's evidence in one line: observed/expected, or its note."""
    observed, expected = result.get("observed") or "", result.get("expected") or ""
    if observed:
        return f"observed {observed}" + (f", expected {expected}" if expected else "")
    return _first(result.get("message"))


_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def compress(names: Iterable[str], limit: int = 6) -> str:
    """``h1, h2, h3, h4, h5`` -> ``h1-h5``; long lists end in "and N more"."""
    names = list(dict.fromkeys(names))
    parts: list[str] = []
    run: list[tuple[str, int, str]] = []

    def flush() -> None:
        if len(run) >= 3:
            parts.append(f"{run[0][2]}-{run[-1][2]}")
        else:
            parts.extend(n for _, _, n in run)
        run.clear()

    for name in names:
        match = _NUMBERED.match(name)
        if match and run and match.group(1) == run[-1][0] and int(match.group(2)) == run[-1][1] + 1:
            run.append((match.group(1), int(match.group(2)), name))
            continue
        flush()
        if match:
            run.append((match.group(1), int(match.group(2)), name))
        else:
            parts.append(name)
    flush()
    if len(parts) > limit:
        return ", ".join(parts[:limit]) + f" and {len(parts) - limit} more"
    return ", ".join(parts)


def _document_order(result: Mapping[str, Any]) -> tuple[int, str, int, str]:
    return (int(result.get("order") or 0), str(result.get("source") or ""),
            int(result.get("line") or 0), str(result.get("nodeid", "")))


def group_lines(results: Iterable[Mapping[str, Any]]) -> list[Line]:
    """Results regrouped into lines, in document order (a line where it first appears)."""
    lines: dict[tuple[str, str], Line] = {}
    for r in sorted(results, key=_document_order):
        key = (str(r.get("environment") or ""), str(r.get("id", r.get("nodeid", ""))))
        line = lines.get(key)
        if line is None:
            line = lines[key] = Line(
                key=key, id=str(r.get("id", "")), title=str(r.get("title") or r.get("id", "")),
                section=str(r.get("section", "")),
                section_title=str(r.get("section_title") or r.get("section", "")),
                severity=str(r.get("severity", "")), environment=r.get("environment"),
            )
        line.results.append(dict(r))
    return list(lines.values())


@dataclass
class SectionLines:
    name: str
    title: str
    lines: list[Line]


def by_section(lines: Iterable[Line]) -> list[SectionLines]:
    """Lines under their sections, sections in checklist order; "Infrastructure" and
    "infrastructure" are one section (the name, not its spelling, decides)."""
    out: dict[str, SectionLines] = {}
    for line in lines:
        section = out.get(line.section)
        if section is None:
            title = line.section_title
            if is_marker_title(line.section, title):
                title = section_title_of(line.section)
            section = out[line.section] = SectionLines(line.section, title, [])
        elif (is_marker_title(section.name, section.title)
              and not is_marker_title(line.section, line.section_title)):
            section.title = line.section_title  # the heading as written beats a marker name
        section.lines.append(line)
    return list(out.values())


@dataclass
class Attend:
    """What needs attention, in the order every report lists it."""

    failing: list[SectionLines]
    not_configured: list[Line]
    expired_waivers: list[Line]
    pending: list[Line]
    warnings: list[Line]

    @property
    def failing_lines(self) -> list[Line]:
        return [line for s in self.failing for line in s.lines]

    def sign_command(self, all_lines: list[Line]) -> str:
        return sign_command(self.pending, all_lines)


def attention(lines: list[Line]) -> Attend:
    # Line.attention walks the line's results: once per line, not once per kind.
    of: dict[Attention | None, list[Line]] = {}
    for line in lines:
        of.setdefault(line.attention, []).append(line)
    return Attend(
        failing=by_section(of.get(Attention.FAILING, [])),
        not_configured=of.get(Attention.NOT_CONFIGURED, []),
        expired_waivers=of.get(Attention.EXPIRED_WAIVER, []),
        pending=of.get(Attention.PENDING, []),
        warnings=of.get(Attention.WARNING, []),
    )


_UNSET = re.compile(r"variables? ([\w.]+(?:, [\w.]+)*) (?:is|are) not set")


def unset_variables(lines: Iterable[Line]) -> list[str]:
    """The variables not-configured lines wait for, in order, each once."""
    out: dict[str, None] = {}
    for line in lines:
        for r in line.results:
            for text in (r.get("observed"), r.get("message")):
                for match in _UNSET.finditer(str(text or "")):
                    out.update(dict.fromkeys(match.group(1).split(", ")))
    return list(out)


def signable(line: Line) -> bool:
    """Whether ``golive attest`` can sign the line: manual, or checks plus an attestation."""
    return line.manual or any(
        r.get("status") in ("manual-pending", "manual-attested")
        or "attestation: " in str(r.get("message") or "") for r in line.results)


def sign_command(pending: list[Line], all_lines: list[Line]) -> str:
    """ONE ``golive attest`` command that signs every pending line, and nothing else.

    ``golive attest`` matches a glob against the lines a person can sign, so
    a section (or a group in it) whose signable lines are all pending is
    named as ``'section/*'``, and ``'*'`` stands for all when every signable
    line is pending; other lines are named by id. The command lists what it will
    sign and asks first.
    """
    if not pending:
        return ""
    pending_ids = {line.id for line in pending}
    candidates = [line.id for line in all_lines if signable(line) or line.id in pending_ids]
    sections = {c.split("/", 1)[0] for c in candidates}
    if len(sections) > 1 and all(c in pending_ids for c in candidates):
        words = ["*"]
    else:
        words = []
        for line in pending:
            # the shortest prefix (section, then group) whose signable lines are all pending
            parts = line.id.split("/")
            glob = line.id
            for depth in range(1, len(parts)):
                prefix = "/".join(parts[:depth]) + "/"
                under = [c for c in candidates if c.startswith(prefix)]
                if len(under) > 1 and all(c in pending_ids for c in under):
                    glob = prefix + "*"
                    break
            if glob not in words:
                words.append(glob)
    env = next((line.environment for line in pending if line.environment), None)
    env_part = f" --env {shlex.quote(env)}" if env else ""
    return ("golive attest " + " ".join(shlex.quote(w) for w in words) + env_part
            + " --by NAME --ticket TICKET")


# --- scope: targets with safe addresses ---------------------------------------------------


def safe_address(kind: str, address: str | None) -> str:
    """Where a target is, without a password but never hidden whole.

    ``ssh://deploy@app1`` -> ``deploy@app1``; ``https://u:pw@api/x`` ->
    ``https://u@api/x``; ``mysql://ro:pw@db:3306/app`` -> ``mysql ro@db:3306/app``.
    """
    if not address:
        return ""
    text = str(address)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if not parts.scheme or "://" not in text:
        return text
    user = parts.username or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    host = parts.hostname or ""
    if kind == "host":
        if parts.scheme == "local":
            return "this machine (local://)"
        where = (f"{user}@" if user else "") + host + port
        return where if parts.scheme == "ssh" else f"{parts.scheme}://{where}"
    if kind == "database":
        at = (f"{user}@" if user else "") + host + port + (parts.path or "")
        return f"{parts.scheme} {at}"
    netloc = (f"{user}@" if user else "") + host + port
    return parts._replace(netloc=netloc).geturl()


@dataclass
class ScopeKind:
    kind: str
    title: str
    targets: list[tuple[str, str]]


def scope(targets: Iterable[Mapping[str, Any]]) -> list[ScopeKind]:
    """Targets by kind, each as (name, safe address)."""
    out: dict[str, ScopeKind] = {}
    for t in targets:
        kind = str(t.get("kind", ""))
        entry = out.get(kind)
        if entry is None:
            title = KIND_NOUNS.get(kind, (kind, kind + "s"))[1].capitalize()
            entry = out[kind] = ScopeKind(kind, title, [])
        entry.targets.append((str(t.get("name", "")), safe_address(kind, t.get("address"))))
    return list(out.values())


# --- readable evidence ---------------------------------------------------------------------


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_value(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}:{_value(v)}" for k, v in value.items())
    text = str(value)
    return text if re.fullmatch(r"[\w./:,+*@%=<>${}\-]+", text) else shlex.quote(text)


def binding_text(result: Mapping[str, Any]) -> str:
    """The binding as a user writes it in a checklist (``cpu min=4``), never a Python repr."""
    written = result.get("binding")
    if isinstance(written, str) and written.strip():
        return " ".join(written.split())
    check = result.get("check")
    if not check:
        return ""
    params = result.get("params") or {}
    return " ".join([str(check), *(f"{k}={_value(v)}" for k, v in params.items())])


def facts(result: Mapping[str, Any]) -> list[dict[str, str]]:
    """The facts a check recorded, as rows (fact, observed, expected, ok)."""
    details = result.get("details") or {}
    rows = details.get("facts") if isinstance(details, dict) else None
    if not isinstance(rows, list):
        return []
    out = []
    for row in rows:
        if isinstance(row, dict) and "fact" in row:
            ok = row.get("ok")
            out.append({"fact": str(row.get("fact", "")), "observed": _plain(row.get("observed")),
                        "expected": _plain(row.get("expected")),
                        "ok": "yes" if ok is True else "no" if ok is False else ""})
    return out


def other_details(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Structured details other than facts, as (name, value in words)."""
    details = result.get("details") or {}
    if not isinstance(details, dict):
        return []
    return [(str(k), _plain(v)) for k, v in details.items() if k != "facts"]


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


def format_seconds(value: float | int | None) -> str:
    """A duration a person reads: 0.85 s is "850 ms", never "0 ms" for work that took time."""
    if value is None:
        return ""
    if value < 0.001:
        return "<1 ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"
