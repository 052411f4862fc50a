"""Environments, targets and variables, read from ``golive.toml``.

This is the only module that reads configuration files. Everything it hands
on is validated: a mistake (unknown environment, unknown key, wrong type,
missing variable, malformed URL) becomes one :class:`ConfigError` line that
names the file and the key, never a traceback.

Validation is a JSON Schema (:data:`SCHEMA`, also printed by
``golive schema config`` for editor support), checked with ``jsonschema``;
this module only turns its errors into sentences and adds the checks a
schema cannot express (URLs, DSNs, variables).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

import pytest

from pytest_golive.core import variables
from pytest_golive.core.hints import did_you_mean as _did_you_mean
from pytest_golive.core.secrets import Secret, looks_secret, reveal

if TYPE_CHECKING:
    import jsonschema

CONFIG_NAMES = ("golive.toml",)


# pytest marks UsageError final, but a subclass is what makes pytest print a
# configuration mistake as one usage line instead of a traceback.
class ConfigError(pytest.UsageError):  # type: ignore[misc]
    """A configuration mistake, as one line: ``FILE: KEY: what is wrong``."""


# --- schema ---------------------------------------------------------------------------

_STR_OR_LIST = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
_GROUPS = {**_STR_OR_LIST, "description": "Group names this target belongs to."}
_TIMEOUT = {"type": "number", "exclusiveMinimum": 0}

_HOST_ENTRY = {
    "oneOf": [
        {"type": "string", "description": "A testinfra connection string."},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["url"],
            "properties": {
                "url": {"type": "string"},
                "name": {"type": "string"},
                "sudo": {"type": "boolean"},
                "ssh_config": {"type": "string"},
                "ssh_identity_file": {"type": "string"},
                "vars": {"type": "object"},
            },
        },
    ]
}

_SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "connect_timeout": {**_TIMEOUT, "description": "Seconds to reach a target."},
        "command_timeout": {**_TIMEOUT, "description": "Seconds one host command may run."},
        "check_timeout": {
            **_TIMEOUT,
            "description": "Seconds one check may take in all (in rounds, "
            "its own time between commands; each command has command_timeout).",
        },
        "concurrency": {"type": "integer", "minimum": 1, "description": "Hosts checked at once."},
        "ssh_multiplex": {"type": "boolean", "description": "Reuse one SSH connection per host."},
        "batch_commands": {
            "type": "boolean",
            "description": "Send the commands of a host's checks as one script per round.",
        },
        "ssh_config": {"type": "string"},
        "ssh_identity_file": {"type": "string"},
        "manual": {"enum": ["block", "warn"]},
        "attestation_valid_days": {"type": "integer", "minimum": 1},
        "allow_waivers_without_expiry": {"type": "boolean"},
        "secret_env": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            "description": "Environment variables whose values are secrets: masked in every "
            "output, also when a check or test reads them itself.",
        },
    },
}

_ENVIRONMENT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "extends": {
            "type": "string",
            "description": "Inherit targets and settings from another environment.",
        },
        "checklists": _STR_OR_LIST,
        "vars": {
            "type": "object",
            "description": "Free variables usable in checklists as ${name}.",
        },
        "hosts": {
            "type": "object",
            "description": "Host groups: group name -> list of testinfra connection strings.",
            "additionalProperties": {"type": "array", "items": _HOST_ENTRY},
        },
        "inventory": {"type": "string", "description": "An Ansible inventory (INI or YAML)."},
        "endpoints": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["url"],
                "properties": {
                    "url": {"type": "string"},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "secret_headers": {"type": "array", "items": {"type": "string"}},
                    "ca_bundle": {"type": "string"},
                    "verify": {"type": "boolean"},
                    "timeout": _TIMEOUT,
                    "read_timeout": _TIMEOUT,
                    "max_bytes": {"type": "integer", "minimum": 1},
                    "groups": _GROUPS,
                },
            },
        },
        "databases": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["dsn"],
                "properties": {
                    "dsn": {"type": "string"},
                    "connect_timeout": _TIMEOUT,
                    "query_timeout": _TIMEOUT,
                    "ssl_ca": {"type": "string"},
                    "ssl_verify": {"type": "boolean"},
                    "groups": _GROUPS,
                },
            },
        },
        "files": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["path"],
                "properties": {
                    "path": {"type": "string"},
                    "host": {"type": "string", "description": "Read through this host target."},
                    "format": {"enum": ["dotenv", "ini", "toml", "yaml", "json", "text"]},
                    "groups": _GROUPS,
                },
            },
        },
        "severity": {
            "type": "object",
            "description": "Item id (or glob) -> blocker | warning, for this environment.",
            "additionalProperties": {"enum": ["blocker", "warning"]},
        },
        "waivers": {"type": "string"},
        "attestations": {"type": "string"},
        "settings": _SETTINGS,
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "pytest-golive configuration (golive.toml or [tool.golive])",
    "type": "object",
    "additionalProperties": False,
    "required": ["environments"],
    "properties": {
        "checklists": {**_STR_OR_LIST, "description": "Checklist files (Markdown or YAML)."},
        "waivers": {"type": "string", "description": "Waiver file (TOML or YAML)."},
        "attestations": {"type": "string", "description": "Attestation file (TOML or YAML)."},
        "plugins": {
            **_STR_OR_LIST,
            "description": "Python modules to import at start, found next to this file first: "
                           "checks of your own (see docs/check-packs.md).",
        },
        "settings": _SETTINGS,
        "environments": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _ENVIRONMENT,
        },
    },
}

_URL_SCHEMES = {"http", "https"}
_HOST_SCHEMES = {
    "local", "ssh", "paramiko", "ansible", "docker", "podman", "kubectl",
    "openshift", "winrm", "lxc", "salt", "chroot",
}
_DB_SCHEMES = {"mysql", "mariadb", "postgresql", "postgres", "redis", "rediss"}


# --- model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    connect_timeout: float = 10.0
    command_timeout: float = 60.0
    check_timeout: float = 120.0
    concurrency: int = 8
    ssh_multiplex: bool = True
    batch_commands: bool = True
    ssh_config: str | None = None
    ssh_identity_file: str | None = None
    manual: str = "block"
    attestation_valid_days: int | None = None
    allow_waivers_without_expiry: bool = False
    #: Environment variables whose values are secrets (masked wherever they are shown).
    secret_env: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetSpec:
    """One thing checks run against. ``options`` may hold :class:`Secret` values."""

    kind: str
    name: str
    groups: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """A printable description: never contains a secret."""
        url = self.options.get("url") or self.options.get("dsn") or self.options.get("path")
        if isinstance(url, Secret) or url is None:
            return self.name
        return f"{self.name} ({url})"

    def to_dict(self) -> dict[str, Any]:
        url = self.options.get("url") or self.options.get("dsn") or self.options.get("path")
        return {
            "kind": self.kind,
            "name": self.name,
            "groups": list(self.groups),
            "address": None
            if url is None
            else str(url)
            if not isinstance(url, Secret)
            else _safe_dsn(url),
        }


class OtherEnvironment(KeyError):
    """A selector names only targets of other environments: the line does not apply here."""


@dataclass
class Environment:
    name: str
    source: Path
    root: Path
    targets: list[TargetSpec]
    vars: dict[str, Any]
    checklists: list[Path]
    waivers: Path | None
    attestations: Path | None
    settings: Settings
    severity: dict[str, str]
    description: str = ""
    #: Target and group names of the configuration's other environments, so a
    #: checklist shared by environments can name ``on=mysql`` where it exists.
    elsewhere: dict[str, frozenset[str]] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[TargetSpec]:
        return [t for t in self.targets if t.kind == kind]

    def target(self, name: str) -> TargetSpec | None:
        return next((t for t in self.targets if t.name == name), None)

    def group_names(self, kind: str | None = None) -> set[str]:
        return {g for t in self.targets if kind in (None, t.kind) for g in t.groups}

    def select(self, kind: str, selector: str | list[str] | None) -> list[TargetSpec]:
        """Targets of ``kind`` matched by a selector (names or groups, comma separated).

        Raises ``KeyError`` naming the unknown selector and the nearest names.
        """
        candidates = self.of_kind(kind)
        if not selector or selector in ("*", "all"):
            return candidates
        parts = selector if isinstance(selector, list) else [s.strip() for s in selector.split(",")]
        chosen: list[TargetSpec] = []
        elsewhere: list[tuple[str, list[str]]] = []
        for part in filter(None, parts):
            hits = [t for t in candidates if t.name == part or part in t.groups]
            if not hits:
                if any(t.name == part or part in t.groups for t in self.targets):
                    continue  # a target of another kind: this line does not apply to it
                where = sorted(env for env, names in self.elsewhere.items() if part in names)
                if where:
                    elsewhere.append((part, where))
                    continue
                known = sorted({t.name for t in self.targets} | self.group_names())
                raise KeyError(
                    f"no target or group '{part}' in environment '{self.name}'"
                    + _did_you_mean(part, known)
                    + (f" (known: {', '.join(known)})" if known else "")
                )
            chosen.extend(t for t in hits if t not in chosen)
        if not chosen and elsewhere:
            part, where = elsewhere[0]
            raise OtherEnvironment(
                f"no target '{part}' in environment '{self.name}' "
                f"(it is a target of {', '.join(repr(w) for w in where)})"
            )
        return chosen


# --- loading --------------------------------------------------------------------------


def find_config(
    rootdir: Path, explicit: str | os.PathLike[str] | None = None
) -> tuple[Path, dict[str, Any]]:
    """The configuration table and the file it came from.

    Order: ``--golive-config=PATH``, ``golive.toml`` in the rootdir, then
    ``[tool.golive]`` in ``pyproject.toml``.
    """
    if explicit:
        path = Path(explicit)
        if not path.is_absolute():
            path = (Path.cwd() / path).resolve()
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found (given by --golive-config)")
        data = _read_toml(path)
        if path.name == "pyproject.toml":
            return path, _tool_table(path, data)
        return path, data
    for name in CONFIG_NAMES:
        path = rootdir / name
        if path.is_file():
            return path, _read_toml(path)
    pyproject = rootdir / "pyproject.toml"
    if pyproject.is_file():
        data = _read_toml(pyproject)
        if "golive" in data.get("tool", {}):
            return pyproject, _tool_table(pyproject, data)
    raise ConfigError(
        f"{rootdir}: no golive.toml and no [tool.golive] in pyproject.toml "
        "(run 'golive init' to create one, or pass --golive-config=PATH)"
    )


def _tool_table(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    table = data.get("tool", {}).get("golive")
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: no [tool.golive] table")
    return table


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def validate(path: Path, data: dict[str, Any]) -> None:
    """Check the whole table against :data:`SCHEMA`; raise the first error as one line."""
    import jsonschema  # here, not at import: every pytest run in the environment loads the plugin

    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(
        validator.iter_errors(data),
        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))),
    )
    if errors:
        raise ConfigError(_describe(path, errors[0]))


def _describe(path: Path, error: jsonschema.ValidationError) -> str:
    key = _dotted(error.absolute_path)
    where = f"{path}: {key}" if key else str(path)
    if error.validator == "additionalProperties":
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = list(schema.get("properties", {}))
        extra = [k for k in _as_mapping(error.instance) if k not in allowed]
        if extra and allowed:
            bad = extra[0]
            loc = f"{where}.{bad}" if key else f"{path}: {bad}"
            return (
                f"{loc}: unknown key{_did_you_mean(bad, allowed)} (allowed: {', '.join(allowed)})"
            )
    if error.validator == "required":
        return f"{where}: {error.message.replace(' is a required property', '')} is required"
    if error.validator == "oneOf":
        return f"{where}: must be a string or a list of strings, not {_type_word(error.instance)}"
    if error.validator == "type":
        wanted, got = _article(error.validator_value), _type_word(error.instance)
        return f"{where}: must be {wanted}, not {got} ({error.instance!r})"
    if error.validator == "enum":
        choices = ", ".join(map(str, _as_list(error.validator_value)))
        return f"{where}: must be one of {choices}, not {error.instance!r}"
    if error.validator == "minProperties":
        return f"{where}: defines no environment (add [environments.NAME])"
    return f"{where}: {error.message}"


def _as_mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _dotted(parts: Any) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in parts).replace(
        ".[", "["
    )


def _type_word(value: Any) -> str:
    return {
        bool: "a boolean", int: "a number", float: "a number", str: "a string",
        list: "a list", dict: "a table",
    }.get(type(value), type(value).__name__)


def _article(kind: Any) -> str:
    words = {"string": "a string", "number": "a number", "integer": "a whole number",
             "boolean": "true or false", "object": "a table", "array": "a list"}
    if isinstance(kind, list):
        return " or ".join(words.get(str(k), str(k)) for k in kind)
    return words.get(kind, str(kind))


def load_environment(
    rootdir: Path, name: str, explicit: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Environment:
    """Read, validate and resolve the environment ``name``."""
    path, data = find_config(rootdir, explicit)
    validate(path, data)
    envs = data["environments"]
    if name not in envs:
        known = ", ".join(sorted(envs))
        raise ConfigError(
            f"{path}: unknown environment '{name}'{_did_you_mean(name, list(envs))} (known: "
            f"{known})"
        )
    for env_name in envs:  # a broken 'extends' anywhere is a mistake in the file
        _merged_env(path, envs, env_name)
    return _build(path, data, name, os.environ if environ is None else environ)


def _merged_env(
    path: Path, envs: dict[str, Any], name: str, seen: tuple[str, ...] = ()
) -> dict[str, Any]:
    env = envs[name]
    base_name = env.get("extends")
    if not base_name:
        return dict(env)
    if base_name not in envs:
        raise ConfigError(
            f"{path}: environments.{name}.extends: unknown environment '{base_name}'"
            f"{_did_you_mean(base_name, list(envs))}"
        )
    if base_name in seen or base_name == name:
        raise ConfigError(
            f"{path}: environments.{name}.extends: circular "
            f"({' -> '.join((*seen, name, base_name))})"
        )
    base = _merged_env(path, envs, base_name, (*seen, name))
    merged = dict(base)
    for key, value in env.items():
        if key == "extends":
            continue
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


def _build(path: Path, data: dict[str, Any], name: str, environ: Mapping[str, str]) -> Environment:
    root = path.parent
    raw = _merged_env(path, data["environments"], name)
    resolver = _Resolver(path, f"environments.{name}", environ)
    settings_raw = {**data.get("settings", {}), **raw.get("settings", {})}
    if "secret_env" in settings_raw:
        settings_raw["secret_env"] = tuple(settings_raw["secret_env"])
    settings = Settings(**settings_raw)
    for secret_name in settings.secret_env:
        if environ.get(secret_name):
            Secret(environ[secret_name], f"${{{secret_name}}}")  # registers it with the masker
    variables = {k: resolver.value(v, f"vars.{k}") for k, v in raw.get("vars", {}).items()}

    targets: list[TargetSpec] = []
    targets += _hosts(raw, resolver, settings)
    if raw.get("inventory"):
        targets += _inventory_hosts(path, root, name, raw["inventory"], settings)
    for ep_name, ep in raw.get("endpoints", {}).items():
        targets.append(_endpoint(ep_name, ep, resolver, root))
    for db_name, db in raw.get("databases", {}).items():
        targets.append(_database(db_name, db, resolver, root))
    for f_name, f in raw.get("files", {}).items():
        opts = {k: resolver.value(v, f"files.{f_name}.{k}") for k, v in f.items() if k != "groups"}
        if not Path(str(opts["path"])).is_absolute() and not opts.get("host"):
            opts["path"] = str(root / str(opts["path"]))
        targets.append(TargetSpec("file", f_name, _groups(f.get("groups")), opts))
    _check_unique(path, name, targets)
    for f in (t for t in targets if t.kind == "file" and t.options.get("host")):
        host = str(f.options["host"])
        if not any(t.kind == "host" and (t.name == host or host in t.groups) for t in targets):
            raise ConfigError(
                f"{path}: environments.{name}.files.{f.name}.host: no host or host group '{host}'"
                f"{_did_you_mean(host, [t.name for t in targets if t.kind == 'host'])}"
            )

    checklists = _paths(root, data.get("checklists")) + _paths(root, raw.get("checklists"))
    waivers = raw.get("waivers", data.get("waivers"))
    attestations = raw.get("attestations", data.get("attestations"))
    return Environment(
        name=name,
        source=path,
        root=root,
        targets=targets,
        vars=variables,
        checklists=list(dict.fromkeys(checklists)),
        waivers=(root / waivers) if waivers else None,
        attestations=(root / attestations) if attestations else None,
        settings=settings,
        severity=dict(raw.get("severity", {})),
        description=raw.get("description", ""),
        elsewhere={other: _target_names(path, data["environments"], other)
                   for other in data["environments"] if other != name},
    )


def _target_names(path: Path, envs: dict[str, Any], name: str) -> frozenset[str]:
    """Target and group names an environment declares, read without resolving its values."""
    try:
        raw = _merged_env(path, envs, name)
    except ConfigError:
        return frozenset()
    names: set[str] = set()
    for group, entries in (raw.get("hosts") or {}).items():
        names.add(group)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get("name"):
                names.add(str(entry["name"]))
            url = entry.get("url") if isinstance(entry, dict) else entry
            if isinstance(url, str) and "${" not in url:
                names.add(_host_name(url))
    for table in ("endpoints", "databases", "files"):
        for target, spec in (raw.get(table) or {}).items():
            names.add(target)
            if isinstance(spec, dict):
                names.update(_groups(spec.get("groups")))
    return frozenset(names)


def _paths(root: Path, value: str | list[str] | None) -> list[Path]:
    if not value:
        return []
    values = [value] if isinstance(value, str) else value
    return [(root / v).resolve() for v in values]


def _groups(value: str | list[str] | None) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _hosts(raw: dict[str, Any], resolver: _Resolver, settings: Settings) -> list[TargetSpec]:
    by_name: dict[str, TargetSpec] = {}
    for group, entries in raw.get("hosts", {}).items():
        for i, entry in enumerate(entries):
            key = f"hosts.{group}[{i}]"
            opts = {"url": entry} if isinstance(entry, str) else dict(entry)
            opts = {k: resolver.value(v, f"{key}.{k}") for k, v in opts.items()}
            url = opts["url"]
            host_name = opts.pop("name", None) or _host_name(reveal(url))
            _check_host_url(resolver, f"{key}.url", reveal(url))
            existing = by_name.get(host_name)
            if existing and existing.options.get("url") != url:
                resolver.fail(
                    f"{key}.name",
                    f"target name '{host_name}' is used by two hosts; give one a name",
                )
            groups = (existing.groups if existing else ()) + (
                (group,) if group not in (existing.groups if existing else ()) else ()
            )
            by_name[host_name] = TargetSpec("host", host_name, groups, opts)
    return list(by_name.values())


def _inventory_hosts(
    path: Path, root: Path, env: str, inventory: str, settings: Settings
) -> list[TargetSpec]:
    from pytest_golive.core import inventory as inv

    inv_path = (root / inventory).resolve()
    try:
        return inv.read_inventory(inv_path)
    except inv.InventoryError as exc:
        raise ConfigError(f"{path}: environments.{env}.inventory: {exc}") from None


def _host_name(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "local" or url in ("local://", "local"):
        return "local"
    host = parts.hostname or parts.path.strip("/") or url
    return host


def _check_host_url(resolver: _Resolver, key: str, url: str) -> None:
    scheme = urlsplit(url).scheme
    if "://" not in url or scheme not in _HOST_SCHEMES:
        resolver.fail(
            key,
            f"'{url}' is not a testinfra connection string "
            f"(use one of {', '.join(s + '://' for s in sorted(_HOST_SCHEMES))})",
        )
    if scheme in ("ssh", "paramiko") and not urlsplit(url).hostname:
        resolver.fail(key, f"'{url}' names no host (ssh://user@host)")


def _endpoint(name: str, ep: dict[str, Any], resolver: _Resolver, root: Path) -> TargetSpec:
    key = f"endpoints.{name}"
    secret_headers = {h.lower() for h in ep.get("secret_headers", [])}
    opts: dict[str, Any] = {}
    for k, v in ep.items():
        if k in ("groups",):
            continue
        if k == "headers":
            headers = {}
            for h, hv in v.items():
                value = resolver.value(hv, f"{key}.headers.{h}")
                if (
                    h.lower() in secret_headers or looks_secret(h) or h.lower() == "authorization"
                ) and not isinstance(value, Secret):
                    value = Secret(value, f"header {h}")
                headers[h] = value
            opts["headers"] = headers
        else:
            opts[k] = resolver.value(v, f"{key}.{k}")
    url = reveal(opts["url"])
    parts = urlsplit(url)
    if parts.scheme not in _URL_SCHEMES or not parts.hostname:
        resolver.fail(
            f"{key}.url",
            f"'{_safe(opts['url'])}' is not an http(s) URL with a host (https://example.com)",
        )
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        resolver.fail(f"{key}.url", f"'{_safe(opts['url'])}' has a malformed port")
    if "ca_bundle" in opts:
        bundle = Path(str(opts["ca_bundle"]))
        bundle = bundle if bundle.is_absolute() else root / bundle
        if not bundle.is_file():
            resolver.fail(f"{key}.ca_bundle", f"file {bundle} not found")
        opts["ca_bundle"] = str(bundle)
    return TargetSpec("endpoint", name, _groups(ep.get("groups")), opts)


def _database(name: str, db: dict[str, Any], resolver: _Resolver, root: Path) -> TargetSpec:
    key = f"databases.{name}"
    opts = {
        k: resolver.string(v, f"{key}.{k}", url=True)
        if k == "dsn"
        else resolver.value(v, f"{key}.{k}")
        for k, v in db.items()
        if k != "groups"
    }
    dsn = reveal(opts["dsn"])
    parts = urlsplit(dsn)
    if parts.scheme not in _DB_SCHEMES:
        resolver.fail(
            f"{key}.dsn",
            f"'{_safe_dsn(opts['dsn'])}' is not a database URL "
            f"(use {', '.join(s + '://' for s in sorted(_DB_SCHEMES))})",
        )
    try:
        parts.port  # noqa: B018
    except ValueError:
        resolver.fail(f"{key}.dsn", f"'{_safe_dsn(opts['dsn'])}' has a malformed port")
    if parts.password:
        # A password written into the DSN is a secret, whether it came from ${VAR} or not.
        Secret(unquote(parts.password), f"{key}.dsn password")
        if not isinstance(opts["dsn"], Secret):
            opts["dsn"] = Secret(dsn, f"{key}.dsn")
    if "ssl_ca" in opts:
        ca = Path(str(opts["ssl_ca"]))
        opts["ssl_ca"] = str(ca if ca.is_absolute() else root / ca)
    return TargetSpec("database", name, _groups(db.get("groups")), opts)


def _check_unique(path: Path, env: str, targets: list[TargetSpec]) -> None:
    seen: dict[str, str] = {}
    for t in targets:
        if t.name in seen and not (t.kind == "host" and seen[t.name] == "host"):
            raise ConfigError(
                f"{path}: environments.{env}: target name '{t.name}' is used by a {seen[t.name]} "
                f"and a {t.kind}; target names must be unique"
            )
        seen[t.name] = t.kind


def _safe(value: Any) -> str:
    return str(value) if not isinstance(value, Secret) else f"<{value.source or 'secret'}>"


def _safe_dsn(value: Any) -> str:
    """A DSN with its password replaced, for messages and reports."""
    text = reveal(value)
    parts = urlsplit(text)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":*****@", 1)
        text = parts._replace(netloc=netloc).geturl()
    elif parts.password == "" and ":@" in parts.netloc:
        # An empty password (an unset ${DB_PASSWORD}) hides nothing: dropping the colon keeps
        # the DSN from matching the whole secret value, so user@host:port/db stays readable.
        text = parts._replace(netloc=parts.netloc.replace(":@", "@", 1)).geturl()
    from pytest_golive.core.secrets import mask

    return mask(text)


safe_address = _safe_dsn

# --- variables ------------------------------------------------------------------------


class _Resolver:
    """Resolves ``${VAR}`` (and ``${VAR:-default}``) from the process environment.

    A string that used any variable becomes a :class:`Secret`, because a
    value kept out of the file is a value someone did not want written down.
    ``$$`` is a literal ``$``.
    """

    def __init__(self, path: Path, prefix: str, environ: Mapping[str, str]) -> None:
        self.path = path
        self.prefix = prefix
        self.environ = environ

    def fail(self, key: str, message: str) -> None:
        raise ConfigError(f"{self.path}: {self.prefix}.{key}: {message}")

    def value(self, value: Any, key: str) -> Any:
        if isinstance(value, str):
            return self.string(value, key)
        if isinstance(value, list):
            return [self.value(v, f"{key}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.value(v, f"{key}.{k}") for k, v in value.items()}
        return value

    def string(self, text: str, key: str, url: bool = False) -> str | Secret:
        """Resolve variables in ``text``; with ``url``, values are percent-encoded
        so a password with ``#``, ``@`` or ``/`` cannot break the DSN around it."""
        used: list[str] = []

        def sub(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            var, default = match.group(1), match.group(2)
            if "." in var:
                return match.group(0)  # an environment's variable (${db.host}), not the process's
            if var in self.environ:
                used.append(var)
                Secret(self.environ[var], f"${{{var}}}")
                return quote(self.environ[var], safe="") if url else self.environ[var]
            if default is not None:
                return default
            self.fail(
                key,
                f"variable {var} is not set (export {var}=... before running, or write "
                f"${{{var}:-default}})",
            )
            return ""

        result = variables.REFERENCE.sub(sub, text)
        if used:
            return Secret(result, "${" + "}, ${".join(used) + "}")
        return result
