"""Configuration and secrets checks: dotenv, INI, TOML, YAML and JSON files.

Files are read through :class:`~pytest_golive.targets.files.FileTarget`
(locally or from a host) and parsed by :mod:`pytest_golive.targets.configfiles`, which
wraps every value under a secret-looking key in a
:class:`~pytest_golive.core.secrets.Secret` as it is read. Evidence names keys and
shows lengths, counts and kinds; it shows a value only when the key does not
look secret, and even then through the masker.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, env_keys, has, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.secrets import mask, reveal
from pytest_golive.targets.configfiles import (
    MISSING,
    ConfigFile,
    as_text,
    is_empty,
    is_secret,
    load,
    sibling,
)
from pytest_golive.targets.files import FileTarget

# Booleans the way the common frameworks read them (Django-environ, pydantic,
# Rails, Go's strconv): anything else is not a boolean at all.
TRUE_WORDS = frozenset({"true", "1", "yes", "on", "t", "y"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", "f", "n", ""})
#: ``equals=`` values that switch env_value to boolean comparison.
_BOOL_EXPECTED = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def _keys(value: Iterable[str] | str | None) -> list[str]:
    """``keys=`` as a list, whether given as a list or one comma-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [k.strip() for k in value.split(",") if k.strip()]
    return [str(k).strip() for k in value if str(k).strip()]


def _shown(key: str, value: Any) -> str:
    """A value as evidence may show it: secrets only by their length."""
    text = as_text(value)
    if text is None:
        return "null"
    if is_secret(key, value) and text.strip().lower() not in TRUE_WORDS | FALSE_WORDS:
        return f"a value of {len(text)} characters"
    return repr(mask(text))


def _as_bool(value: Any) -> bool | None:
    """The boolean an application would read, or None if it is not one."""
    value = reveal(value)
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int):
        return value != 0 if value in (0, 1) else None
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


# --- env_required -----------------------------------------------------------------------


@check(target="file")
def env_required(
    file: FileTarget,
    *,
    keys: list[str] | None = None,
    template: str | None = None,
    process_env: bool = False,
) -> Outcome:
    """Required configuration keys are present and not empty.

    A release fails late and confusingly when a variable is missing; this
    catches it before. With ``template``, every key of the template (such as
    ``.env.template`` or ``.env.example``) must also be present in the file:
    the usual "environment file created from the template" line.

    Args:
        keys: keys (dotted paths for nested formats) that must be set to a non-empty value.
        template: path of a template file whose every key must be present in the file; relative to
            the file's directory.
        process_env: also read the environment of the process running pytest (local files only);
            variables set there take precedence over the file, as frameworks do.
    """
    wanted = _keys(keys)
    if not wanted and not template:
        raise CheckError("env_required needs keys= or template=")
    cfg = load(file, process_env=process_env)
    ev = Evidence()
    details: dict[str, Any] = {"file": cfg.where}
    if wanted:
        missing = [k for k in wanted if cfg.get(k) is MISSING]
        empty = [k for k in wanted if k not in missing and is_empty(cfg.get(k))]
        ev.add(
            "keys",
            not missing and not empty,
            _key_problems(len(wanted), missing, empty),
            f"all {len(wanted)} set and non-empty",
        )
        details.update(missing=missing, empty=empty)
    if template:
        tpl = load(sibling(file, template, f"{file.name}-template", cfg.format))
        tpl_keys = [k for k, _ in tpl.leaves()]
        absent = [k for k in tpl_keys if cfg.get(k) is MISSING]
        observed = f"{len(tpl_keys) - len(absent)} of {len(tpl_keys)} template keys present" + (
            f", missing {', '.join(absent)}" if absent else ""
        )
        ev.add("template", not absent, observed, f"every key of {tpl.where} present")
        details.update(
            template=tpl.where, template_keys=len(tpl_keys), missing_from_template=absent
        )
    if not cfg.exists:
        details["file_exists"] = False
    return ev.outcome(**details)


def _key_problems(total: int, missing: list[str], empty: list[str]) -> str:
    if not missing and not empty:
        return f"all {total} set"
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if empty:
        parts.append(f"empty {', '.join(empty)}")
    return "; ".join(parts)


# --- env_value --------------------------------------------------------------------------


@check(target="file")
def env_value(
    file: FileTarget,
    *,
    key: str,
    equals: str | None = None,
    one_of: list[str] | None = None,
    matches: str | None = None,
    ignore_case: bool = False,
    process_env: bool = False,
) -> Outcome:
    """A configuration value equals, is one of, or matches what production needs.

    For lines such as "DEBUG=false" and "log level INFO". When ``equals`` is a
    boolean word (true/false, yes/no, on/off) the value is read the way the
    common frameworks read booleans: true, 1, yes, on (t, y) are true;
    false, 0, no, off (f, n) and an empty value are false; anything else
    fails as "not a boolean". Values of secret-looking keys are never shown.

    Args:
        key: the key, a dotted path for nested formats (``logging.level``).
        equals: the exact value expected.
        one_of: the acceptable values.
        matches: a regular expression the whole value must match.
        ignore_case: compare ``equals``, ``one_of`` and ``matches`` without regard to case.
        process_env: also read the environment of the process running pytest (local files only); it
            takes precedence over the file.
    """
    choices = _keys(one_of)
    if equals is None and not choices and matches is None:
        raise CheckError("env_value needs equals=, one_of= or matches=")
    pattern = None
    if matches is not None:
        try:
            pattern = re.compile(matches, re.IGNORECASE if ignore_case else 0)
        except re.error as exc:
            raise CheckError(
                f"env_value: matches= is not a valid regular expression: {exc}"
            ) from None
    cfg = load(file, process_env=process_env)
    value = cfg.get(key)
    details: dict[str, Any] = {"file": cfg.where, "key": key, "source": cfg.source(key)}
    if value is MISSING:
        wanted = _describe_expected(key, equals, choices, matches)
        return Outcome.failed(f"{key} is not set", f"{key} {wanted}", **details)
    text = as_text(value)
    ev = Evidence()
    fold: Callable[[str], str] = str.casefold if ignore_case else str
    if equals is not None:
        expected_bool = _BOOL_EXPECTED.get(equals.strip().lower())
        if expected_bool is not None:
            actual = _as_bool(value)
            observed = "not a boolean" if actual is None else str(actual).lower()
            ev.add(
                f"{key} (boolean)",
                actual is expected_bool,
                f"{_shown(key, value)} reads as {observed}",
                str(expected_bool).lower(),
            )
        else:
            ok = text is not None and fold(text) == fold(equals)
            ev.add(key, ok, _shown(key, value), f"= {_shown(key, equals)}")
    if choices:
        ok = text is not None and fold(text) in {fold(c) for c in choices}
        shown_choices = ", ".join(_shown(key, c) for c in choices)
        ev.add(key, ok, _shown(key, value), f"one of {shown_choices}")
    if pattern is not None:
        ok = text is not None and pattern.fullmatch(text) is not None
        ev.add(key, ok, _shown(key, value), f"matches /{mask(matches or '')}/")
    return ev.outcome(**details)


def _describe_expected(
    key: str, equals: str | None, choices: list[str], matches: str | None
) -> str:
    parts = []
    if equals is not None:
        parts.append(f"= {_shown(key, equals)}")
    if choices:
        parts.append("one of " + ", ".join(_shown(key, c) for c in choices))
    if matches is not None:
        parts.append(f"matching /{mask(matches)}/")
    return " and ".join(parts)


# --- env_no_placeholders ----------------------------------------------------------------

#: (kind, pattern, secret keys only). The kind is what evidence shows.
PLACEHOLDERS: tuple[tuple[str, re.Pattern[str], bool], ...] = tuple(
    (kind, re.compile(rx, re.IGNORECASE), secret_only)
    for kind, rx, secret_only in (
        ("changeme", r"change[-_ .]?(me|it|this)|replace[-_ .]?(me|this)|fill[-_ .]?me", False),
        ("example value", r"(?<![a-z])example(?![a-z])", False),
        (
            "your-...-here",
            r"(?<![a-z])your[-_ .]?[a-z0-9_.-]*[-_ .]?here(?![a-z])|^your[-_ ]",
            False,
        ),
        ("<...> placeholder", r"<[a-z0-9 _.:/-]+>", False),
        ("xxx placeholder", r"^[x*.#_-]{3,}$|x{4,}", False),
        ("TODO marker", r"(?<![a-z])(todo|tbd|fixme|tba)(?![a-z])", False),
        ("template variable", r"^\{\{.*\}\}$|^%[a-z_]+%$", False),
        (
            "test/dummy value",
            r"^(test|testing|tests|dummy|fake|sample|placeholder|foo|bar|foobar|baz|"
            r"none|null|undefined|nil|empty|blank|string|value|todo)$",
            False,
        ),
        (
            "well-known weak password",
            r"^(password|passw0rd|p@ssw0rd|pass|secret|secrets|admin|administrator|root|"
            r"default|letmein|qwerty|abc123|1234|12345|123456|12345678|123456789|"
            r"changeit|welcome|guest|user|demo)$",
            False,
        ),
        ("test-mode API key", r"^(sk|pk|rk)_test_", False),
        ("Django insecure default key", r"^django-insecure-", False),
        ("express-session example secret", r"^keyboard cat$", False),
        ("Laravel example key", r"^somerandomstring$", False),
        ("Flask documentation example key", r"^_5#y2L\"F4Q8z\\n\\xec\]/$", False),
        (
            "Flask documentation example key",
            r"^192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf$",
            False,
        ),
        ("Google P12 default password", r"^notasecret$", False),
        (
            "development secret",
            r"^(dev|development|devel|local|localdev|insecure|unsafe|not[-_ ]?secret|"
            r"supersecret|super[-_ ]secret|mysecret|my[-_ ]secret|s3cr3t|secretkey|secret[-_]key|"
            r"mypassword|my[-_]password)$",
            True,
        ),
    )
)


def placeholder_kind(key: str, value: str) -> str | None:
    """The kind of placeholder ``value`` is, or None for a real-looking value."""
    text = value.strip().strip("'\"")
    if not text:
        return None
    secret_key = is_secret(key, value)
    for kind, pattern, secret_only in PLACEHOLDERS:
        if secret_only and not secret_key:
            continue
        if pattern.search(text):
            return kind
    return None


@check(target="file", aliases=("no_default_values",))
def env_no_placeholders(
    file: FileTarget,
    *,
    keys: list[str] | None = None,
    process_env: bool = False,
) -> Outcome:
    """No configuration value is a placeholder, example or well-known default.

    Catches values copied from a template and never filled in: changeme,
    example, your-...-here, <...>, xxx, TODO, test, password, secret, Stripe
    test-mode keys, and the default secrets of popular frameworks (Django's
    ``django-insecure-`` keys, the Flask documentation's example keys, the
    express-session and Laravel examples). Evidence names each key and the
    kind of placeholder, never the value. A file with no value to check (empty, or none
    of ``keys`` set) is not applicable: it shows nothing filled in.

    Args:
        keys: only these keys (dotted paths); all string values of the file when omitted.
        process_env: also read the environment of the process running pytest (local files only); it
            takes precedence over the file for the keys it sets.
    """
    wanted = _keys(keys)
    cfg = load(file, process_env=process_env)
    items = [(k, cfg.get(k)) for k in wanted] if wanted else _overlaid(cfg)
    found: list[dict[str, str]] = []
    checked = 0
    for key, value in items:
        for text in _strings(value):
            checked += 1
            kind = placeholder_kind(key, text)
            if kind:
                found.append({"key": key, "kind": kind})
                break
    unset = [k for k, v in items if v is MISSING]
    if not checked:
        # No value read (an empty file, or none of keys= set): nothing was shown to be filled in.
        asked = f"none of {', '.join(wanted)} is set" if wanted else "it has no values"
        return Outcome.not_applicable(f"{cfg.where}: {asked}: no value to check",
                                      file=cfg.where, checked=0, unset=unset)
    observed = (
        "; ".join(f"{f['key']} is a {f['kind']}" for f in found)
        if found
        else f"no placeholder in {checked} values"
    )
    return Outcome.of(
        not found,
        observed,
        "no placeholder, example or default values",
        file=cfg.where,
        checked=checked,
        placeholders=found,
        unset=unset,
    )


def _overlaid(cfg: ConfigFile) -> list[tuple[str, Any]]:
    return [(k, cfg.get(k)) for k, _ in cfg.leaves()]


def _strings(value: Any) -> list[str]:
    value = reveal(value)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# --- secret_strength --------------------------------------------------------------------

_CLASSES = (
    ("lower", re.compile(r"[a-z]")),
    ("upper", re.compile(r"[A-Z]")),
    ("digit", re.compile(r"[0-9]")),
    ("symbol", re.compile(r"[^A-Za-z0-9]")),
)
_POOL = {"lower": 26, "upper": 26, "digit": 10, "symbol": 33}


#: Secret-looking keys that configure a secret rather than hold one.
_SETTING_KEY = re.compile(
    r"[_.-](ttl|lifetime|length|min[_-]?length|timeout|age|max[_-]?age|expiry|expires|expire|"
    r"enabled|enable|disabled|required|secure|httponly|samesite|name|file|path|dir|host|port|"
    r"user|username|url|uri|endpoint|algorithm|algorithms|backend|provider|type|mode|domain|"
    r"header|issuer|audience|scheme|method|rounds|iterations|version|prefix)$",
    re.IGNORECASE,
)


def _holds_secret(key: str, value: Any) -> bool:
    """Whether ``key`` holds a secret worth measuring (for ``keys`` omitted)."""
    if not is_secret(key, value) or _SETTING_KEY.search(key):
        return False
    value = reveal(value)
    if not isinstance(value, str) or not value.strip():
        return False
    text = value.strip().lower()
    return text not in TRUE_WORDS | FALSE_WORDS and not text.isdigit()


def entropy_bits(value: str) -> float:
    """A conservative estimate of the entropy of ``value``, in bits.

    The smaller of two estimates: length x log2(size of the character classes
    used), which overrates repetitive strings, and length x the Shannon
    entropy of the characters actually used, which catches "aaaa..." and
    short alphabets such as hex.
    """
    if not value:
        return 0.0
    classes = [name for name, rx in _CLASSES if rx.search(value)]
    pool = sum(_POOL[c] for c in classes)
    by_pool = len(value) * math.log2(pool) if pool > 1 else 0.0
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    shannon = -sum((n / len(value)) * math.log2(n / len(value)) for n in counts.values())
    return min(by_pool, len(value) * shannon)


def character_classes(value: str) -> list[str]:
    return [name for name, rx in _CLASSES if rx.search(value)]


@check(target="file", aliases=("api_key_strength",))
def secret_strength(
    file: FileTarget,
    *,
    keys: list[str] | None = None,
    min_length: int = 32,
    min_classes: int = 1,
    min_entropy_bits: float = 64.0,
    process_env: bool = False,
) -> Outcome:
    """Secrets are long and random enough ("API keys 32+ characters").

    Each secret is measured for length, character classes (lower, upper,
    digit, symbol) and an entropy estimate: the lower of a character-pool
    estimate and a Shannon estimate, so "aaaa…", repeated patterns and short
    alphabets score low. Evidence shows those numbers, never the value.

    Args:
        keys: the keys holding secrets; when omitted, every key that looks secret (password, token,
            api_key, secret, ...) and holds a non-empty string that is not a boolean, a number or a
            setting about a secret (``TOKEN_TTL``, ``SESSION_COOKIE_NAME``, ``AUTH_URL``).
        min_length: the shortest acceptable secret, in characters.
        min_classes: how many of the four character classes each secret must use.
        min_entropy_bits: the smallest acceptable entropy estimate, in bits (0 to not check).
        process_env: also read the environment of the process running pytest (local files only); it
            takes precedence over the file.
    """
    cfg = load(file, process_env=process_env)
    wanted = _keys(keys) or [k for k, v in _overlaid(cfg) if _holds_secret(k, v)]
    if not wanted:
        return Outcome.not_applicable(f"{cfg.where} has no key that looks secret; name keys=")
    ev = Evidence()
    measured: list[dict[str, Any]] = []
    for key in wanted:
        value = cfg.get(key)
        if value is MISSING or is_empty(value):
            ev.add(key, False, "not set", "a secret")
            measured.append({"key": key, "set": False})
            continue
        text = as_text(value) or ""
        classes = character_classes(text)
        bits = entropy_bits(text)
        problems = []
        if len(text) < min_length:
            problems.append("too short")
        if len(classes) < min_classes:
            problems.append("too few character classes")
        if min_entropy_bits and bits < min_entropy_bits:
            problems.append("too little entropy")
        observed = (f"{len(text)} characters, {len(classes)} classes ({', '.join(classes)}), "
                    f"~{bits:.0f} bits")
        if problems:
            observed += f" ({', '.join(problems)})"
        expected = f">= {min_length} characters, >= {min_classes} character classes"
        if min_entropy_bits:
            expected += f", >= {min_entropy_bits:g} bits"
        ev.add(key, not problems, observed, expected)
        measured.append(
            {
                "key": key,
                "set": True,
                "length": len(text),
                "classes": classes,
                "entropy_bits": round(bits, 1),
            }
        )
    return ev.outcome(file=cfg.where, secrets=measured)


# --- cors_origins -----------------------------------------------------------------------

_ORIGIN = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>[^/?#\s]+)(?P<rest>.*)$", re.IGNORECASE
)


def parse_origins(value: Any) -> list[str]:
    """The origins in a value: a list, a JSON-ish list string, or comma/space separated."""
    value = reveal(value)
    if value is None:
        return []
    if isinstance(value, list):
        return [str(reveal(v)).strip() for v in value if str(reveal(v)).strip()]
    text = str(value).strip()
    if text.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, list):
            return [str(v).strip() for v in data if str(v).strip()]
        text = text.strip("[]")
    return [p.strip().strip("'\"") for p in re.split(r"[,\s]+", text) if p.strip().strip("'\"")]


def origin_problem(origin: str) -> str | None:
    """Why ``origin`` is not acceptable in production, or None."""
    if "*" in origin:
        return "wildcard"
    if origin.lower() == "null":
        return "the 'null' origin"
    m = _ORIGIN.match(origin)
    if not m:
        return "not an origin (scheme://host[:port])"
    if m["scheme"].lower() != "https":
        return f"{m['scheme'].lower()}, not https"
    if m["rest"]:
        return "has a path (an origin is scheme://host[:port] only)"
    return None


@check(target="file")
def cors_origins(
    file: FileTarget, *, key: str, required: bool = True, process_env: bool = False
) -> Outcome:
    """CORS allowed origins are explicit https origins, never ``*``.

    The value may be a list (YAML/JSON/TOML), a JSON list in a string, or
    comma- or space-separated origins as most frameworks read them from an
    environment variable.

    Args:
        key: the key holding the allowed origins (``CORS_ALLOWED_ORIGINS``, ``cors.origins``).
        required: false to pass when the key is not set (no cross-origin access at all).
        process_env: also read the environment of the process running pytest (local files only); it
            takes precedence over the file.
    """
    cfg = load(file, process_env=process_env)
    value = cfg.get(key)
    details: dict[str, Any] = {"file": cfg.where, "key": key}
    if value is MISSING:
        return Outcome.of(not required, f"{key} is not set", "explicit https origins", **details)
    origins = parse_origins(value)
    bad = {o: p for o in origins if (p := origin_problem(o))}
    observed = (
        "; ".join(f"{mask(o)}: {p}" for o, p in bad.items())
        if bad
        else f"{len(origins)} https origins" + (f": {mask(', '.join(origins))}" if origins else "")
    )
    return Outcome.of(
        not bad,
        observed,
        "only https origins, no *",
        origins=[mask(o) for o in origins],
        rejected={mask(o): p for o, p in bad.items()},
        **details,
    )


# --- file_mode --------------------------------------------------------------------------


def parse_mode(text: str) -> int:
    raw = str(text).strip().lower().removeprefix("0o")
    if not raw or not re.fullmatch(r"[0-7]{1,4}", raw):
        raise CheckError(f"file_mode: {text!r} is not an octal mode such as 600 or 0640")
    return int(raw, 8)


@check(target="file", aliases=("file_permissions",))
def file_mode(file: FileTarget, *, max: str = "600", owner: str | None = None) -> Outcome:
    """A secret file is not readable beyond ``max`` (600: the owner only).

    Passes when the file's mode has no permission bit that ``max`` lacks:
    0400 and 0600 pass ``max=600``; 0640 and 0644 fail.

    Args:
        max: the most permissive acceptable octal mode (600, 0640, ...); quote it in YAML checklists
            ("0640"), where a bare 0640 is a decimal number.
        owner: the user that must own the file.
    """
    limit = parse_mode(max)
    if not file.exists():
        raise CheckError(f"file {file.where} does not exist")
    try:
        mode = file.mode()
    except CheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - local stat or remote stat failure
        raise CheckError(f"file {file.where}: cannot read its mode: {mask(str(exc))}") from None
    ev = Evidence()
    extra = mode & ~limit & 0o7777
    observed = f"{mode:04o}" + (f" (extra bits {extra:04o})" if extra else "")
    ev.add("mode", not extra, observed, f"no bits beyond {limit:04o}")
    actual_owner = None
    if owner:
        actual_owner = _owner(file)
        ev.add("owner", actual_owner == owner, actual_owner, owner)
    return ev.outcome(file=file.where, mode=f"{mode:04o}", max=f"{limit:04o}", owner=actual_owner)


def _owner(file: FileTarget) -> str:
    try:
        if file.host is not None:
            return str(file.host.testinfra.file(file.path).user)
        import os
        import pwd

        uid = os.stat(file.path).st_uid
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            return str(uid)
    except CheckError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CheckError(f"file {file.where}: cannot read its owner: {mask(str(exc))}") from None


# --- collection-time validation --------------------------------------------------------
# The collector calls ``func.golive_validate(params)`` so a binding that can
# never run fails collection with its checklist file and line, not at run time.


def _validate_env_required(params: dict[str, Any]) -> None:
    if not _keys(params.get("keys")) and not params.get("template"):
        raise ValueError("needs keys= or template=")


def _validate_env_value(params: dict[str, Any]) -> None:
    if (
        params.get("equals") is None
        and not _keys(params.get("one_of"))
        and params.get("matches") is None
    ):
        raise ValueError("needs equals=, one_of= or matches=")
    if params.get("matches") is not None:
        try:
            re.compile(str(params["matches"]))
        except re.error as exc:
            raise ValueError(f"matches= is not a valid regular expression: {exc}") from None


def _validate_secret_strength(params: dict[str, Any]) -> None:
    if not 0 <= int(params.get("min_classes", 1)) <= len(_CLASSES):
        raise ValueError(f"min_classes must be between 0 and {len(_CLASSES)}")
    if int(params.get("min_length", 32)) < 0:
        raise ValueError("min_length must not be negative")


def _validate_file_mode(params: dict[str, Any]) -> None:
    try:
        parse_mode(str(params.get("max", "600")))
    except CheckError as exc:
        raise ValueError(str(exc).removeprefix("file_mode: ")) from None


env_required.golive_validate = _validate_env_required  # type: ignore[attr-defined]
env_value.golive_validate = _validate_env_value  # type: ignore[attr-defined]
secret_strength.golive_validate = _validate_secret_strength  # type: ignore[attr-defined]
file_mode.golive_validate = _validate_file_mode  # type: ignore[attr-defined]


# --- import rules: how checklist lines become configuration checks --------------------


@proposes("env_value")
def _env_value_rule(line: Line) -> Proposal | None:
    pairs = re.findall(r"\b([A-Z][A-Z0-9_]{1,})\s*=\s*[\"']?([\w.:/-]+)[\"']?", line.title)
    pairs = [(k, v) for k, v in pairs if not k.isdigit()]
    if len(pairs) == 1:
        key, value = pairs[0]
        return Proposal([("env_value", {"key": key, "equals": value})], 0.9, f"{key}={value}")
    if pairs:
        key, value = pairs[0]
        return Proposal(
            [("env_value", {"key": key, "equals": value})],
            0.45,
            f"{len(pairs)} settings on one line: split the line, one binding each",
        )
    t = line.lower
    if has(
        r"\bdebug\b( mode)?\s*(is\s+)?(disabled|off|false|turned off)|\bno debug\b|disable debug", t
    ):
        return Proposal(
            [("env_value", {"key": "DEBUG", "equals": "false"})], 0.75, "debug off", ("key=DEBUG",)
        )
    return None


_LEVELS = ("debug", "info", "warning", "warn", "error", "critical")


@proposes("env_value")
def _log_level_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\blog(ging)?[ _-]?levels?\b", t):
        return None
    cleaned = re.sub(r"\bnot\s+\w+", "", t)
    levels = [lv.upper() for lv in _LEVELS if re.search(rf"\b{lv}\b", cleaned)]
    if not levels:
        if _KEY_LISTING.match(line.marked.strip()):
            # The setting itself, listed with its default: any valid level (the importer
            # makes a line with a default non-blocking).
            return Proposal(
                [
                    (
                        "env_value",
                        {
                            "key": "LOG_LEVEL",
                            "one_of": "DEBUG,INFO,WARNING,ERROR,CRITICAL",
                            "ignore_case": "true",
                        },
                    )
                ],
                0.7,
                "LOG_LEVEL is a valid level",
            )
        if has(r"appropriate|correct\w*|production|set", t):
            return Proposal(
                [("env_value", {"key": "LOG_LEVEL", "one_of": "${log_levels}"})],
                0.65,
                "log level one of the production levels (a variable)",
                ("key=LOG_LEVEL",),
            )
        return Proposal(
            [("env_value", {"key": "LOG_LEVEL"})], 0.4, "which log level? add equals=LEVEL"
        )
    if len(levels) == 1:
        return Proposal(
            [("env_value", {"key": "LOG_LEVEL", "equals": levels[0]})],
            0.75,
            f"log level {levels[0]}",
            ("key=LOG_LEVEL",),
        )
    allowed = ",".join(levels)
    return Proposal(
        [
            ("env_value", {"key": "LOG_LEVEL", "one_of": allowed}),
            ("env_value", {"key": "LOG_LEVEL", "allowed": allowed}),
            ("env_value", {"key": "LOG_LEVEL", "in": allowed}),
            ("env_value", {"key": "LOG_LEVEL", "matches": "|".join(levels)}),
            ("env_value", {"key": "LOG_LEVEL", "pattern": "^(" + "|".join(levels) + ")$"}),
        ],
        0.7,
        f"log level one of {allowed}",
        ("key=LOG_LEVEL",),
    )


@proposes("env_required")
def _env_required_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(
        r"(required|all|mandatory) (environment |env )?variables|"
        r"environment variables (are )?(set|configured|defined|present)|\.env\b.*(created|"
        r"present)|\.env[\w.]* created from",
        t,
    ):
        return None
    template = re.search(
        r"\bfrom\s+`?([\w./-]*(?:template|example|sample|dist)[\w./-]*)`?", line.marked, re.I
    )
    if template and re.search(r"[./]", template.group(1)):
        return Proposal(
            [("env_required", {"template": template.group(1)})],
            0.75,
            f"every key of {template.group(1)} set",
        )
    if has(r"\btemplate\b", t):
        return Proposal(
            [("env_required", {"template": "${env_template}"})],
            0.7,
            "every key of the template is set (the template's path is a variable)",
        )
    return Proposal(
        [("env_required", {"keys": "${required_keys}"})],
        0.7,
        "required variables set (their names are a variable)",
    )


@proposes("env_no_placeholders")
def _placeholders_rule(line: Line) -> Proposal | None:
    t = line.lower
    if has(
        r"placeholders?|changeme|default/test|(default|test|dummy|example|sample) values|"
        r"todo values",
        t,
    ):
        if has(r"replaced|remaining|removed|no |none|not", t):
            return Proposal([("env_no_placeholders", {})], 0.8, "no placeholder values")
    return None


@proposes("secret_strength")
def _secret_strength_rule(line: Line) -> Proposal | None:
    t = line.lower
    m = re.search(
        r"(\d+)\s*\+?\s*(?:or more\s+)?(?:characters|chars?|symbols|bytes)\b", t
    ) or re.search(r"(?:at least|min(?:imum)?(?: length)?:?)\s*(\d+)\s*(?:characters|chars?)?", t)
    if not m or not has(
        r"(\b|_)(keys?|secrets?|passwords?|passphrases?|tokens?|credentials?)(\b|_)", t
    ):
        return None
    params = {"min_length": m.group(1)}
    keys = env_keys(line)
    if keys:
        params = {"keys": ",".join(keys), **params}
    return Proposal([("secret_strength", params)], 0.85, f"secrets of {m.group(1)}+ characters")


#: A line that lists one setting and says what it is for ("`GROQ_API_KEY` - Valid Groq API key").
_KEY_LISTING = re.compile(r"^`?([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`?\s*(?:[-:\u2013\u2014]|\(|$)")


@proposes("cors_origins", "env_required")
def _env_key_listed_rule(line: Line) -> Proposal | None:
    """A setting listed by name under an environment-variables heading or group: it is set.

    The description that follows is the team's ("Production domain(s)"): the
    key's own name says what a check can add (``*_ORIGINS`` are CORS origins).
    A stated default or "optional" makes the line non-blocking (the importer's
    job), never an exact value.
    """
    m = _KEY_LISTING.match(line.marked.strip())
    if not m:
        return None
    key = m.group(1)
    around = f"{line.context} {line.title}".lower()
    if not has(r"environment|variables|\.env\b|settings|config\w*|secrets?|keys?", around):
        return None
    if re.search(r"(ORIGINS?|CORS)", key):
        return Proposal(
            [("cors_origins", {"key": key})], 0.85, f"{key} holds explicit https origins"
        )
    if key in ("LOG_LEVEL", "LOGLEVEL"):
        return None  # the log-level rule reads it
    return Proposal([("env_required", {"keys": key})], 0.8, f"{key} is set")


@proposes("env_required")
def _env_key_set_rule(line: Line) -> Proposal | None:
    keys = env_keys(line)
    if not keys or "=" in line.title:
        return None
    if has(
        r"\b(set|defined|present|configured|exists?|provided|not empty|non-empty)\b", line.lower
    ):
        return Proposal([("env_required", {"keys": ",".join(keys)})], 0.8, f"{', '.join(keys)} set")
    return None


@proposes("env_value")
def _log_format_rule(line: Line) -> Proposal | None:
    t = line.lower
    m = re.search(
        r"\b(json|structured|logfmt|plain[- ]text)\s+logging\b|\blog(?:ging)? format\b.*\b(json|"
        r"logfmt|text)\b",
        t,
    )
    if m and has(r"enabled|configured|set|on\b|used", t):
        fmt = (m.group(1) or m.group(2) or "json").replace("structured", "json")
        return Proposal(
            [("env_value", {"key": "LOG_FORMAT", "equals": fmt})],
            0.45,
            "which setting turns it on? LOG_FORMAT is a guess",
            ("key=LOG_FORMAT",),
        )
    return None


@proposes("env_required")
def _setting_configured_rule(line: Line) -> Proposal | None:
    """A setting the application reads is set.

    ("Redis connection string configured", "API key generated").
    """
    t = line.lower
    m = re.search(
        r"\b((?:[a-z][\w-]*\s+){0,3}?(?:connection string|url|urls|dsn|username|api key|secret key|"
        r"secrets|secret|token|password))\s+(?:is\s+|are\s+)?(configured|set|generated|obtained|"
        r"provided|"
        r"defined|created|in place)\b",
        t,
    )
    if (
        not m
        or env_keys(line)
        or has(r"\b(manager|vault|rotation|policy|policies|encrypt\w*)\b", t)
    ):
        return None
    words = [
        w
        for w in re.findall(r"[a-z0-9]+", m.group(1))
        if w not in ("the", "all", "production", "prod")
    ]
    name = "_".join(words[-4:])
    return Proposal(
        [("env_required", {"keys": f"${{{name}_key}}"})],
        0.65,
        f"the setting holding the {m.group(1)} is set (its key name is a variable)",
    )
