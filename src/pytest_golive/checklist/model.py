"""The checklist model every reader produces: sections of items.

An item is one checklist line. A line carries what proves it:

- one or several checks (``<!-- golive: memory min_gib=2; cpu min=1 -->``):
  the item passes only when every one of them passes;
- a person's attestation (``attest``), alone (a manual line) or beside
  checks (``<!-- golive: newest_file_age directory=${backup_dir}; attest -->``):
  the machine proves a necessary part, a person signs the rest;
- nothing but its children (a group line: the sum of its sub-items).

Its ``id``
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
RESERVED_KEYS = ("id", "on", "targets", "severity", "retry")

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
    "infrastructure": (
        "infrastructure",
        "hardware",
        "software",
        "server",
        "system",
        "provision",
        "resources",
        "storage",
    ),
    "network": ("network", "connectivity", "firewall", "dns", "load balancer", "proxy", "ingress"),
    "security": (
        "security",
        "credential",
        "secret",
        "ssl",
        "tls",
        "certificate",
        "permission",
        "auth",
        "firewall",
        "api keys",
    ),
    "configuration": ("configuration", "config", "environment", "settings", "variables"),
    "database": ("database", "mysql", "postgres", "redis", "cache", "sql", "snowflake", "db "),
    "application": (
        "application",
        "health",
        "functional",
        "testing",
        "verification",
        "smoke",
        "component",
        "integration",
    ),
    "performance": ("performance", "load", "latency", "scaling", "optimization", "capacity"),
    "monitoring": (
        "monitoring",
        "logging",
        "logs",
        "alert",
        "metric",
        "observability",
        "dashboard",
    ),
    "backup": ("backup", "recovery", "restore", "disaster"),
    "deployment": (
        "deployment",
        "deploy",
        "docker",
        "kubernetes",
        "container",
        "image",
        "release",
        "rollout",
        "launch",
        "go live",
        "go-live",
        "rollback",
    ),
    "documentation": ("documentation", "runbook", "diagram", "contact", "docs"),
    "signoff": ("sign-off", "signoff", "sign off", "approval", "approve"),
}


#: Words of a binding that stand for "a person signs this line".
ATTEST_WORDS = ("attest", "manual")


class BindingError(ValueError):
    """A ``golive:`` binding that cannot be parsed."""


@dataclass(frozen=True)
class Binding:
    """One check of a line, with the parameters written for it."""

    check: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        words = [self.check]
        words += [f"{k}={_quote(str(v))}" for k, v in self.params.items()]
        return " ".join(words)


@dataclass(frozen=True)
class LineBinding:
    """Everything a ``golive:`` comment says about its line."""

    bindings: tuple[Binding, ...] = ()
    attest: bool = False
    options: dict[str, str] = field(default_factory=dict)

    @property
    def manual(self) -> bool:
        """Only a person can sign the line (no check at all)."""
        return not self.bindings

    def text(self) -> str:
        """The binding as it is written in a comment (``golive:`` not included)."""
        parts = [b.text() for b in self.bindings]
        if self.attest or not parts:
            parts.append("attest" if parts else "manual")
        options = " ".join(
            f"{'on' if k == 'targets' else k}={_quote(v)}" for k, v in self.options.items()
        )
        if options:
            parts[0] = f"{parts[0]} {options}"
        return "; ".join(parts)


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[\w./:,+*@%=<>${}-]+", value) else shlex.quote(value)


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
    #: Every check of the line; ``check``/``params`` are the first one's.
    bindings: tuple[Binding, ...] = ()
    #: A person must attest the line as well (beside its checks, if any).
    attest: bool = False
    #: Seconds to keep retrying the line's checks until they pass (``retry=60s``).
    retry: float | None = None

    def __post_init__(self) -> None:
        # Code that builds an Item from ``check``/``params`` alone keeps working.
        if not self.bindings and self.check is not None:
            self.bindings = (Binding(self.check, dict(self.params)),)
        elif self.bindings and self.check is None:
            self.check = self.bindings[0].check
            self.params = dict(self.bindings[0].params)

    @property
    def manual(self) -> bool:
        """No check at all: only a person can sign the line."""
        return self.check is None

    @property
    def partly_manual(self) -> bool:
        """Checks prove a necessary part, a person's attestation the rest."""
        return self.attest and not self.manual

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["manual"] = self.manual
        d["markers"] = list(self.markers)
        d["bindings"] = [{"check": b.check, "params": dict(b.params)} for b in self.bindings]
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
    return tuple(
        name for name, words in _SECTION_WORDS.items() if any(w in haystack for w in words)
    )


def parse_binding(text: str) -> tuple[str | None, dict[str, Any], dict[str, str]]:
    """The first check of a binding: (check, params, item options).

    ``check`` is None for a manual line. See :func:`parse_line_binding` for
    the whole binding (several checks, an attestation).
    """
    line = parse_line_binding(text)
    first = line.bindings[0] if line.bindings else None
    return (
        (first.check if first else None),
        (dict(first.params) if first else {}),
        dict(line.options),
    )


def _words(text: str) -> list[list[str]]:
    """Shell-like words of a binding, split into ``;``-separated parts."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";")
    lexer.whitespace_split = True
    lexer.commenters = ""
    parts: list[list[str]] = [[]]
    for word in lexer:
        if word and set(word) == {";"}:
            parts.append([])
        else:
            parts[-1].append(word)
    return [p for p in parts if p]


def parse_line_binding(text: str) -> LineBinding:
    """Parse ``CHECK k=v ...; CHECK k=v ...; attest`` into a :class:`LineBinding`.

    Values keep their quoting rules from the shell (``path="/var/my app"``,
    ``pattern="a;b"``). ``manual`` or ``attest`` alone mark a line manual;
    ``attest`` beside checks makes a person sign the rest of the line.
    Item options (``id``, ``on``/``targets``, ``severity``) may stand in any
    part and apply to the whole line.
    """
    where = f"binding 'golive: {' '.join(text.split())}'"
    try:
        parts = _words(text)
    except ValueError as exc:
        raise BindingError(f"cannot parse {where}: {exc}") from None
    if not parts:
        raise BindingError("empty binding: write <!-- golive: CHECK key=value ... -->")
    bindings: list[Binding] = []
    options: dict[str, str] = {}
    attest = False
    for words in parts:
        head, rest = words[0], words[1:]
        if "=" in head:
            raise BindingError(f"{where} must start with a check name, not '{head}'")
        params: dict[str, Any] = {}
        for word in rest:
            key, sep, value = word.partition("=")
            if not sep or not key:
                raise BindingError(f"{where}: '{word}' is not key=value")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
                raise BindingError(f"{where}: '{key}' is not a parameter name")
            # severity= is the line's own (blocker, warning) unless its value is
            # another word: then it is a parameter of the check ("severity=critical").
            if key in RESERVED_KEYS and not (key == "severity" and value not in SEVERITIES):
                name = "targets" if key == "on" else key
                if name in options and options[name] != value:
                    raise BindingError(f"{where}: '{key}' is given twice with different values")
                options[name] = value
            else:
                if key in params:
                    raise BindingError(f"{where}: parameter '{key}' given twice")
                params[key] = value
        if head in ATTEST_WORDS:
            if params:
                raise BindingError(
                    f"{where}: '{head}' takes no parameters, only id=, on=, severity="
                )
            attest = True
            continue
        bindings.append(Binding(head, params))
    return LineBinding(tuple(bindings), attest and bool(bindings), options)


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?)?\s*")


def parse_duration(text: str, where: str) -> float:
    """Seconds from ``60``, ``60s``, ``2m``; a :class:`BindingError` naming ``where`` else."""
    match = _DURATION.fullmatch(text)
    if not match:
        raise BindingError(f"{where}: '{text}' is not a duration (write 60s or 2m)")
    seconds = float(match.group(1))
    return seconds * 60 if (match.group(2) or "s").startswith("m") else seconds
