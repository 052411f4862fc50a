"""Reading configuration files for the config checks: dotenv, INI, TOML, YAML, JSON.

Each format is parsed by its maintained library (python-dotenv, configparser,
tomllib, PyYAML, json) into one nested mapping, addressed by dotted paths
(``database.url``, ``servers.0.host``). A key that itself contains dots
(``"app.name"`` in YAML) is found too: the longest matching key wins at each
level.

Secrets are wrapped the moment they are read. A value under a key that
:func:`~pytest_golive.core.secrets.looks_secret` becomes a
:class:`~pytest_golive.core.secrets.Secret`, and a password inside a URL value
(``postgres://app:pw@db/app``) is registered with the masker, so neither can
reach any output even if a check or a driver message mentions it by mistake.

Parse errors name the file and line only: parser messages often quote the
offending line, and that line may hold a secret.
"""

from __future__ import annotations

import configparser
import io
import json
import logging
import os
import posixpath
import re
import threading
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml
from dotenv import dotenv_values
from dotenv.parser import parse_stream

from pytest_golive.core.config import TargetSpec
from pytest_golive.core.outcome import CheckError
from pytest_golive.core.secrets import Secret, looks_secret, reveal
from pytest_golive.targets.files import FileTarget

FORMATS = ("dotenv", "ini", "toml", "yaml", "json")

_ALIASES = {"env": "dotenv", ".env": "dotenv", "yml": "yaml", "cfg": "ini", "conf": "ini"}
_SUFFIXES = {
    ".env": "dotenv",
    ".ini": "ini",
    ".cfg": "ini",
    ".cnf": "ini",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
}
#: Suffixes of templates and examples: ``.env.template`` is a dotenv file.
_TEMPLATE_SUFFIXES = (".template", ".example", ".sample", ".dist", ".tpl", ".tmpl", ".in")

#: Values that are booleans or "nothing" whatever the key: never worth masking,
#: and masking "true" everywhere would make every report unreadable.
_TRIVIAL = {"true", "false", "yes", "no", "on", "off", "none", "null", "0", "1", ""}

#: Whole values that are public knowledge (placeholders, the weakest
#: passwords, documented example secrets). Masking them protects nothing and
#: would blank out ordinary words ("password", "example") in every report.
_PUBLIC = re.compile(
    r"^(change[-_ .]?me|changeit|example|test|testing|dummy|fake|sample|placeholder|todo|"
    r"password|passw0rd|secret|admin|default|letmein|qwerty|abc123|12345678?9?|"
    r"keyboard cat|somerandomstring|notasecret|supersecret|insecure|development)$",
    re.IGNORECASE,
)

_ROOT_SECTION = "\x00root"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: Returned by :meth:`ConfigFile.get` for a key that is not set.
MISSING: Any = _Missing()


def detect_format(path: str, declared: str | None = None) -> str:
    """The format of ``path``: the declared one, else from its name.

    ``.env``, ``.env.production``, ``app.env`` and ``.env.template`` are
    dotenv files; a template suffix is looked through (``config.yaml.example``
    is YAML).
    """
    if declared:
        fmt = _ALIASES.get(declared.lower(), declared.lower())
        if fmt == "text":
            raise CheckError(
                f"file {path}: declared format=text; configuration checks read "
                f"{', '.join(FORMATS)}"
            )
        if fmt not in FORMATS:
            raise CheckError(
                f"file {path}: unknown format {declared!r} (use one of {', '.join(FORMATS)})"
            )
        return fmt
    name = posixpath.basename(path.replace("\\", "/")).lower()
    while True:
        stem, suffix = posixpath.splitext(name)
        if suffix in _TEMPLATE_SUFFIXES and stem:
            name = stem
            continue
        break
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return "dotenv"
    suffix = posixpath.splitext(name)[1]
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise CheckError(
        f"file {path}: cannot tell its format from the name; "
        f"set format= on the target ({', '.join(FORMATS)})"
    )


def parse(text: str, fmt: str, where: str) -> dict[str, Any]:
    """Parse ``text`` as ``fmt`` into a nested mapping (values not yet wrapped).

    Any parser failure becomes one :class:`CheckError` line: a traceback here
    would show the file's text among its locals (``--showlocals``) before any
    secret in it is known to the masker.
    """
    parser = {
        "dotenv": _parse_dotenv,
        "ini": _parse_ini,
        "toml": _parse_toml,
        "yaml": _parse_yaml,
        "json": _parse_json,
    }[fmt]
    try:
        return parser(text, where)
    except CheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - see above; the message may quote the text
        raise CheckError(f"file {where}: cannot parse as {fmt} ({type(exc).__name__})") from None


def _parse_dotenv(text: str, where: str) -> dict[str, Any]:
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise CheckError(
                f"file {where}: line {binding.original.line} is not a KEY=value line (dotenv)"
            )
    # Interpolation is off: the check sees what the file says, not what the
    # environment of the machine running pytest would expand it to.
    return dict(dotenv_values(stream=io.StringIO(text), interpolate=False))


def _parse_ini(text: str, where: str) -> dict[str, Any]:
    offset = 0
    parser = _ini_parser()
    try:
        parser.read_string(text, source=where)
    except configparser.MissingSectionHeaderError:
        # Many files are INI without a first section header: keys at the top.
        offset = 1
        parser = _ini_parser()
        try:
            parser.read_string(f"[{_ROOT_SECTION}]\n{text}", source=where)
        except configparser.Error as exc:
            raise CheckError(f"file {where}: not valid INI{_ini_line(exc, offset)}") from None
    except configparser.Error as exc:
        raise CheckError(f"file {where}: not valid INI{_ini_line(exc, offset)}") from None
    out: dict[str, Any] = {}
    defaults = dict(parser.defaults())
    if defaults:
        out[parser.default_section] = defaults
    for section in parser.sections():
        values = dict(parser.items(section, raw=True))
        if section == _ROOT_SECTION:
            out.update(values)
        else:
            out[section] = values
    return out


def _ini_parser() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False, allow_no_value=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep key case
    return parser


def _ini_line(exc: configparser.Error, offset: int) -> str:
    lineno = getattr(exc, "lineno", None)
    if lineno is None and getattr(exc, "errors", None):
        lineno = exc.errors[0][0]  # type: ignore[attr-defined]
    return f" at line {int(lineno) - offset}" if lineno else ""


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib messages carry a position, never the offending text.
        raise CheckError(f"file {where}: not valid TOML: {exc}") from None


def _parse_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise CheckError(f"file {where}: not valid YAML{at}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CheckError(f"file {where}: YAML top level is a {type(data).__name__}, not a mapping")
    return data


def _parse_json(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CheckError(f"file {where}: not valid JSON at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise CheckError(f"file {where}: JSON top level is a {type(data).__name__}, not an object")
    return data


# --- secrets ----------------------------------------------------------------------------


def protect(data: Any, key: str = "") -> Any:
    """Wrap every value under a secret-looking key in :class:`Secret`.

    Also registers the password of any URL value with the masker. Booleans,
    empty values and public placeholder words are left alone: they protect
    nothing, and masking "true" or "password" everywhere would ruin every
    report (evidence never shows them under a secret key anyway).
    """
    if isinstance(data, dict):
        return {k: protect(v, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [protect(v, key) for v in data]
    if isinstance(data, str):
        _register_url_password(data)
        plain = data.strip()
        if looks_secret(key) and plain.lower() not in _TRIVIAL and not _PUBLIC.match(plain):
            return Secret(data, source=key)
    return data


def _register_url_password(value: str) -> None:
    if "://" not in value or "@" not in value:
        return
    try:
        password = urlsplit(value.strip()).password
    except ValueError:
        return
    if password:
        Secret(password)


# --- the file model ---------------------------------------------------------------------


class ProcessEnviron(Mapping[str, str]):
    """The environment of the process running pytest, read on demand.

    Its ``repr`` names no variable and no value, so a traceback shown with
    ``--showlocals`` cannot print the CI's tokens.
    """

    def __getitem__(self, key: str) -> str:
        return os.environ[key]

    def __iter__(self) -> Iterator[str]:
        return iter(os.environ)

    def __len__(self) -> int:
        return len(os.environ)

    def __repr__(self) -> str:
        return f"ProcessEnviron(<{len(os.environ)} variables>)"


@dataclass
class ConfigFile:
    """One parsed configuration file, secrets already wrapped.

    With ``environ`` set, a key set there takes precedence over the file, as
    python-dotenv and most frameworks do (a .env file never overrides the
    real environment).
    """

    where: str
    format: str
    data: dict[str, Any]
    environ: Mapping[str, Any] | None = field(default=None, repr=False)
    exists: bool = True
    _env_cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def get(self, key: str) -> Any:
        """The value at dotted path ``key``, or :data:`MISSING`."""
        if self.environ is not None and key in self.environ:
            if key not in self._env_cache:
                self._env_cache[key] = protect(self.environ[key], key)
            return self._env_cache[key]
        return lookup(self.data, key)

    def source(self, key: str) -> str:
        """Where ``key`` is read from: ``environment``, ``file`` or ``unset``."""
        if self.environ is not None and key in self.environ:
            return "environment"
        return "file" if lookup(self.data, key) is not MISSING else "unset"

    def leaves(self) -> Iterator[tuple[str, Any]]:
        """Every scalar value of the file with its dotted path."""
        yield from _leaves(self.data, "")


def lookup(data: Any, key: str) -> Any:
    """The value at dotted path ``key`` in nested data, or :data:`MISSING`."""
    return _walk(data, key.split(".")) if key else MISSING


def _walk(node: Any, parts: list[str]) -> Any:
    if not parts:
        return node
    if isinstance(node, dict):
        for i in range(len(parts), 0, -1):
            name = ".".join(parts[:i])
            if name in node:
                found = _walk(node[name], parts[i:])
                if found is not MISSING:
                    return found
        return MISSING
    if isinstance(node, list) and parts[0].isdigit() and int(parts[0]) < len(node):
        return _walk(node[int(parts[0])], parts[1:])
    return MISSING


def _leaves(node: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
        for i, v in enumerate(node):
            yield from _leaves(v, f"{prefix}.{i}")
    else:
        yield prefix, node


def load(target: FileTarget, *, process_env: bool = False) -> ConfigFile:
    """Read and parse a file target.

    ``process_env`` overlays the environment of the process running pytest
    (local files only); then a missing file is allowed and reads as empty,
    because the variables may come from the environment alone.
    """
    fmt = detect_format(target.path, target.format)
    environ = None
    if process_env:
        if target.host is not None:
            raise CheckError(
                f"file {target.where}: process_env reads the environment of the process running "
                "pytest, which only makes sense for a local file"
            )
        environ = ProcessEnviron()
    if process_env and not target.exists():
        return ConfigFile(target.where, fmt, {}, environ, exists=False)
    # Editors on Windows write a byte-order mark; it is not part of the first key.
    data = parse(read_quietly(target).removeprefix("\ufeff"), fmt, target.where)
    return ConfigFile(target.where, fmt, protect(data), environ)


class _QuietRead(logging.Filter):
    """Keeps a file's content out of testinfra's debug log while it is read.

    testinfra logs every command result at DEBUG with its full output, so
    reading ``.env`` through a host would write every secret in it to the
    captured logs before any of them is known to the masker. Only records of
    the reading thread are rewritten; other hosts' checks log as usual.
    """

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread == self.thread and isinstance(record.args, tuple) and record.args:
            result = record.args[0]
            command = getattr(result, "command", None)
            if command is not None:
                record.msg = "RUN %r rc=%s (output not logged: configuration file content)"
                record.args = (command, getattr(result, "exit_status", "?"))
        return True


def read_quietly(target: FileTarget) -> str:
    """``target.read_text()`` without its content reaching any log."""
    if target.host is None:
        return target.read_text()
    quiet = _QuietRead()
    logger = logging.getLogger("testinfra")
    logger.addFilter(quiet)
    try:
        return target.read_text()
    finally:
        logger.removeFilter(quiet)


def sibling(
    target: FileTarget, path: str, name: str, fallback_format: str | None = None
) -> FileTarget:
    """A file target for ``path`` relative to ``target``'s directory, on the same host.

    Its format comes from its name, else ``fallback_format`` (a template
    called ``env.tpl`` next to a dotenv file is a dotenv file).
    """
    if not posixpath.isabs(path) and not os.path.isabs(path):
        base = posixpath.dirname(target.path) if target.host is not None else os.path.dirname(
            target.path
        )
        path = posixpath.join(base, path) if target.host is not None else os.path.join(base, path)
    options: dict[str, Any] = {"path": path}
    try:
        detect_format(path)
    except CheckError:
        if fallback_format:
            options["format"] = fallback_format
    return FileTarget(TargetSpec("file", name, (), options), target.host)


def as_text(value: Any) -> str | None:
    """A scalar value as the text an application would read, revealed.

    Booleans read as ``true``/``false`` (the TOML/YAML/JSON spelling);
    ``None`` (a dotenv key without ``=``, a YAML null) as ``None``.
    """
    value = reveal(value)
    if value is None or value is MISSING:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def is_empty(value: Any) -> bool:
    """Whether a value counts as "not set": missing, null, blank, empty list."""
    value = reveal(value)
    if value is MISSING or value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, dict)):
        return not value
    return False


def is_secret(key: str, value: Any) -> bool:
    """Whether ``value`` must never be shown: a wrapped secret or a secret-looking key."""
    return isinstance(value, Secret) or looks_secret(key)
