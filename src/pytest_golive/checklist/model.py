"""The checklist model every reader produces: sections of items.

An item is one checklist line. It is bound to a check (with parameters and a
target selector) or it is manual: a line only a person can sign. Its ``id``
is stable: explicit (``id=``) or derived from its section, its parent and its
own title, never from its position, so reordering a file keeps every id,
and with it every waiver and attestation that refers to it.
"""

from __future__ import annotations

import functools
import re
import shlex
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

SEVERITIES = ("blocker", "warning")

#: Keys of a binding that configure the item rather than the check.
RESERVED_KEYS = ("id", "on", "targets", "severity")

CANONICAL_SECTIONS: dict[str, str] = {
    "infrastructure": "hosts, hardware, operating system and system software",
    "network": "connectivity, firewalls, DNS, load balancers",
    "security": "credentials, TLS, permissions, hardening",
    "configuration": "environment variables and configuration files",
    "database": "databases, caches and their accounts",
    "application": "the application's own health and behaviour",
    "performance": "latency, load and resource budgets",
    "monitoring": "logging, metrics, alerts, health checks",
    "backup": "backups, retention and recovery",
    "deployment": "build, release and rollout",
    "documentation": "runbooks, diagrams and contacts",
    "signoff": "people who approve the release",
}

#: Words in a heading that place its items in a canonical section too, so
#: ``-m security`` selects "Security Configuration" and "Credentials" alike.
_SECTION_WORDS: dict[str, tuple[str, ...]] = {
    "infrastructure": ("infrastructure", "hardware", "software", "server", "system", "provision", "resources", "storage"),
    "network": ("network", "connectivity", "firewall", "dns", "load balancer", "proxy", "ingress"),
    "security": ("security", "credential", "secret", "ssl", "tls", "certificate", "permission", "auth", "firewall", "api keys"),
    "configuration": ("configuration", "config", "environment", "settings", "variables"),
    "database": ("database", "mysql", "postgres", "redis", "cache", "sql", "snowflake", "db "),
    "application": ("application", "health", "functional", "testing", "verification", "smoke", "component", "integration"),
    "performance": ("performance", "load", "latency", "scaling", "optimization", "capacity"),
    "monitoring": ("monitoring", "logging", "logs", "alert", "metric", "observability", "dashboard"),
    "backup": ("backup", "recovery", "restore", "disaster"),
    "deployment": ("deployment", "deploy", "docker", "kubernetes", "container", "image", "release", "rollout", "launch", "go live", "go-live", "rollback"),
    "documentation": ("documentation", "runbook", "diagram", "contact", "docs"),
    "signoff": ("sign-off", "signoff", "sign off", "approval", "approve"),
}


class BindingError(ValueError):
    """A ``golive:`` binding that cannot be parsed."""


@dataclass
class Item:
    """One checklist line."""

    id: str
    section: str
    section_title: str
    title: str
    check: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    targets: str | None = None
    severity: str = "blocker"
    source: str = ""
    line: int = 0
    parent: str | None = None
    group: bool = False
    checked: bool = False
    markers: tuple[str, ...] = ()
    explicit_id: bool = False
    binding: str | None = None

    @property
    def manual(self) -> bool:
        return self.check is None

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["manual"] = self.manual
        d["markers"] = list(self.markers)
        return d


def slugify(text: str, max_length: int = 48) -> str:
    """A readable ASCII slug that survives emoji, punctuation and mojibake.

    Leading numbering ("1.", "2)") is dropped so renumbering a document keeps
    its ids. Mis-encoded text is repaired first where it is recognisably
    UTF-8 read as Latin-1 ("âœ…").
    """
    text = repair_mojibake(text)
    text = re.sub(r"<!--.*?-->", " ", text)
    text = re.sub(r"[`*_~\[\]()]", " ", text)
    text = unicodedata.normalize("NFKD", text)
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"^\s*\d+[.)]?\s+", "", text)
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    if len(text) > max_length:
        cut = text[:max_length]
        text = cut.rsplit("-", 1)[0] if "-" in cut[max_length // 2 :] else cut
    return text or "item"


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 bytes that were decoded as Latin-1/cp1252, when that is what happened."""
    if not re.search("[\u00c2-\u00f4][\u0080-\u00bf\u0152-\u2122]", text):
        return text
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


def marker_name(section_slug: str) -> str:
    """A pytest marker name for a section slug (markers cannot hold '-')."""
    name = re.sub(r"[^a-z0-9_]", "_", section_slug.lower()).strip("_") or "section"
    return name if not name[0].isdigit() else f"s_{name}"


@functools.lru_cache(maxsize=4096)
def canonical_sections(*texts: str) -> tuple[str, ...]:
    """The canonical sections whose words appear in a heading (or item title)."""
    haystack = " " + " ".join(repair_mojibake(t).lower() for t in texts if t) + " "
    return tuple(name for name, words in _SECTION_WORDS.items() if any(w in haystack for w in words))


def parse_binding(text: str) -> tuple[str | None, dict[str, Any], dict[str, str]]:
    """Parse ``CHECK key=value ...`` into (check, params, item options).

    Values keep their quoting rules from the shell (``path="/var/my app"``).
    ``manual`` as the check name marks a line manual explicitly.
    Returns the check name (None for manual), its parameters, and the
    reserved item options (id, on/targets, severity).
    """
    try:
        words = shlex.split(text, comments=False, posix=True)
    except ValueError as exc:
        raise BindingError(f"cannot parse binding 'golive: {text.strip()}': {exc}") from None
    if not words:
        raise BindingError("empty binding: write <!-- golive: CHECK key=value ... -->")
    head, rest = words[0], words[1:]
    if "=" in head:
        raise BindingError(f"binding 'golive: {text.strip()}' must start with a check name, not '{head}'")
    check = None if head == "manual" else head
    params: dict[str, Any] = {}
    options: dict[str, str] = {}
    for word in rest:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise BindingError(f"binding 'golive: {text.strip()}': '{word}' is not key=value")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
            raise BindingError(f"binding 'golive: {text.strip()}': '{key}' is not a parameter name")
        if key in RESERVED_KEYS:
            options["targets" if key == "on" else key] = value
        else:
            if key in params:
                raise BindingError(f"binding 'golive: {text.strip()}': parameter '{key}' given twice")
            params[key] = value
    severity = options.get("severity")
    if severity is not None and severity not in SEVERITIES:
        raise BindingError(f"binding 'golive: {text.strip()}': severity must be blocker or warning, not '{severity}'")
    return check, params, options


def assign_ids(items: list[Item]) -> None:
    """Make derived ids unique within a file without depending on order where possible.

    A derived id is ``section/parent-slug/title-slug`` already; two lines
    with the same title under the same parent (a true duplicate) get ``-2``,
    ``-3`` in document order, the only case where position matters.
    """
    seen: dict[str, int] = {}
    for item in items:
        base = item.id
        if base in seen:
            if item.explicit_id:
                raise BindingError(f"{item.location}: id '{base}' is used twice in this checklist")
            seen[base] += 1
            item.id = f"{base}-{seen[base]}"
        else:
            seen[base] = 1
