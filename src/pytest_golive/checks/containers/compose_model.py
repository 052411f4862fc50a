"""A Compose project as ``docker compose config`` would see it: files merged, extends applied.

No maintained Python library loads Compose files the way Compose does.
docker-compose 1.x (which had a loader) is retired; compose-spec and
compose-pydantic parse one document or deep-merge dictionaries without
Compose's exceptions (``command`` replaced, ``volumes`` and ``ports`` unique
by target, ``!reset``/``!override``), without ``extends`` and without
interpolation; podman-compose's loader is internal to its command line tool and
reads only local files, while these checks also read files through a host.
So the rules are implemented here from the Compose Specification itself:
``12-interpolation.md`` (``$VAR``, ``${VAR}``, ``:-``, ``-``, ``:?``, ``?``,
``:+``, ``+``, nesting, ``$$``; per file, before merging), ``13-merge.md``
(mappings merged, sequences appended, shell commands replaced, unique
resources, ``!reset``, ``!override``) and ``05-services.md#extends``
(the base service merged under the extending one, from the same or another
file, relative to the file that names it) and ``14-include.md`` (another project
loaded with its own directory and env file, its resources copied, not merged).

The loader is pure over a ``read(path) -> text | None`` function, so the same
code reads local files and files on a host, and is unit-tested on real files.
"""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from dotenv import dotenv_values

from pytest_golive.core.outcome import CheckError
from pytest_golive.core.secrets import Secret, looks_secret

Reader = Callable[[str], "str | None"]

#: The names Compose looks for, in its order, and the override it reads with each.
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def default_override(path: str) -> list[str]:
    """The override files Compose reads with ``path`` when no ``-f`` is given."""
    directory, name = posixpath.split(path)
    stem, ext = posixpath.splitext(name)
    if name not in DEFAULT_FILES:
        return []
    return [
        posixpath.join(directory, f"{stem}.override{e}")
        for e in (ext, ".yaml" if ext == ".yml" else ".yml")
    ]


class Interpolated(str):
    """A string that held a ``$VAR`` reference: its value came from the environment."""

    __slots__ = ()


class Defaulted(str):
    """A string with a ``${VAR:-default}`` whose default is written in the file."""

    __slots__ = ()


class _Reset:
    def __repr__(self) -> str:
        return "!reset"


RESET: Any = _Reset()


@dataclass(frozen=True)
class _Override:
    value: Any


class _Loader(yaml.SafeLoader):
    """YAML with Compose's two merge tags."""


def _construct_reset(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return RESET


def _construct_override(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return _Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return _Override(loader.construct_sequence(node, deep=True))
    return _Override(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("!reset", _construct_reset)
_Loader.add_constructor("!override", _construct_override)


def parse_yaml(text: str, where: str) -> dict[str, Any]:
    """One Compose document; errors name the file and line, never its text."""
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise CheckError(f"Compose file {where}: not valid YAML{at}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CheckError(
            f"Compose file {where}: the top level is a {type(data).__name__}, not a mapping"
        )
    return data


# --- interpolation (12-interpolation.md) -------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?", re.DOTALL)


@dataclass
class Variables:
    """The values ``${VAR}`` reads, and the names that were asked for but not set."""

    values: Mapping[str, str]
    unset: set[str] = field(default_factory=set)
    #: How many ``${VAR:-default}`` with a literal default were read, so far.
    defaults_used: int = 0


def interpolate(text: str, env: Variables, where: str) -> str:
    """``text`` with every reference replaced as Compose does; ``$$`` is a literal ``$``."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    referenced = False
    defaults_before = env.defaults_used
    while i < len(text):
        ch = text[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            end = _closing(text, i + 2)
            if end < 0:
                raise CheckError(f"Compose file {where}: unterminated ${{ in a value")
            out.append(_expand(text[i + 2 : end], env, where))
            referenced = True
            i = end + 1
            continue
        m = _NAME.match(text, i + 1)
        if m:
            out.append(_lookup(m.group(0), env))
            referenced = True
            i = m.end()
            continue
        out.append("$")
        i += 1
    result = "".join(out)
    if env.defaults_used > defaults_before:
        return Defaulted(result)
    return Interpolated(result) if referenced else result


def _closing(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _lookup(name: str, env: Variables) -> str:
    if name in env.values:
        return env.values[name]
    env.unset.add(name)
    return ""


def _expand(expr: str, env: Variables, where: str) -> str:
    m = _BRACED.fullmatch(expr)
    if not m:
        raise CheckError(f"Compose file {where}: invalid interpolation ${{{expr[:40]}}}")
    name, op, rest = m.group(1), m.group(2), m.group(3) or ""
    present = name in env.values
    value = env.values.get(name, "")
    if op is None:
        return _lookup(name, env)
    empty_counts = op.startswith(":")
    missing = not present or (empty_counts and not value)
    kind = op[-1]
    if kind == "-":
        default = interpolate(rest, env, where)
        if default and not isinstance(default, Interpolated):
            # A literal default is text of the file, whether or not it is used.
            env.defaults_used += 1
        return default if missing else value
    if kind == "+":
        return "" if missing else interpolate(rest, env, where)
    if missing:  # "?": a mandatory variable
        message = interpolate(rest, env, where) or "required"
        raise CheckError(f"Compose file {where}: variable {name} is not set ({message[:80]})")
    return value


def _interpolate_all(data: Any, env: Variables, where: str) -> Any:
    if isinstance(data, str):
        return interpolate(data, env, where)
    if isinstance(data, _Override):
        return _Override(_interpolate_all(data.value, env, where))
    if isinstance(data, dict):
        return {k: _interpolate_all(v, env, where) for k, v in data.items()}
    if isinstance(data, list):
        return [_interpolate_all(v, env, where) for v in data]
    return data


def read_env_file(text: str) -> dict[str, str]:
    """A Compose ``.env`` file; values under secret-looking names go to the masker at once."""
    values = {
        k: v or "" for k, v in dotenv_values(stream=io.StringIO(text), interpolate=False).items()
    }
    for key, value in values.items():
        if looks_secret(key) and value:
            Secret(value, key)
    return values


# --- normalisation to the expanded form merges apply to ----------------------------------

#: Attributes written as a list of ``KEY=VALUE`` or as a mapping.
_KEYED_LISTS = ("environment", "labels", "annotations", "sysctls", "extra_hosts")
#: Attributes a later file replaces instead of appending to (13-merge.md "Shell commands").
_REPLACED = ("command", "entrypoint")


def _as_mapping(value: Any, attr: str) -> Any:
    if not isinstance(value, list):
        return value
    out: dict[str, Any] = {}
    sep = "=" if attr != "extra_hosts" else None
    for entry in value:
        text = str(entry)
        if sep is None:
            host, _, addr = text.partition("=") if "=" in text else text.partition(":")
            out[host] = addr
            continue
        key, eq, val = text.partition("=")
        out[key] = val if eq else None
    return out


def parse_volume(entry: Any) -> dict[str, Any]:
    """A service volume in its long form: ``type``, ``source``, ``target``, ``read_only``."""
    if isinstance(entry, dict):
        out = dict(entry)
        out.setdefault("type", "volume")
        return out
    text = str(entry)
    parts = text.split(":")
    if len(parts) == 1:
        return {"type": "volume", "source": None, "target": parts[0]}
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) > 2 else ""
    kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
    return {"type": kind, "source": source, "target": target, "read_only": "ro" in mode.split(",")}


def _secret_ref(entry: Any) -> dict[str, Any]:
    if isinstance(entry, dict):
        out = dict(entry)
        out.setdefault("target", out.get("source"))
        return out
    return {"source": str(entry), "target": str(entry)}


def _port_key(entry: Any) -> tuple[Any, ...]:
    if isinstance(entry, dict):
        return (
            entry.get("host_ip"),
            entry.get("target"),
            entry.get("published"),
            entry.get("protocol", "tcp"),
        )
    return (str(entry),)


def normalise_service(service: Any, where: str, name: str) -> dict[str, Any]:
    if service is None:
        return {}
    if not isinstance(service, dict):
        raise CheckError(
            f"Compose file {where}: service {name} is a {type(service).__name__}, not a mapping"
        )
    out = dict(service)
    for attr in _KEYED_LISTS:
        if attr in out:
            out[attr] = _as_mapping(out[attr], attr)
    if isinstance(out.get("volumes"), list):
        out["volumes"] = [parse_volume(v) for v in out["volumes"]]
    for attr in ("secrets", "configs"):
        if isinstance(out.get(attr), list):
            out[attr] = [_secret_ref(v) for v in out[attr]]
    if isinstance(out.get("env_file"), str):
        out["env_file"] = [out["env_file"]]
    return out


# --- merging (13-merge.md) ------------------------------------------------------------

_DELETE: Any = object()


def _strip(value: Any) -> Any:
    """A value of the first file: tags have nothing to act on there."""
    if isinstance(value, _Override):
        return _strip(value.value)
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if v is not RESET}
    if isinstance(value, list):
        return [_strip(v) for v in value if v is not RESET]
    return value


def _unique_key(attr: str) -> Callable[[Any], Any] | None:
    if attr in ("volumes", "secrets", "configs"):
        return lambda e: e.get("target") if isinstance(e, dict) else e
    if attr == "ports":
        return _port_key
    return None


def merge(base: Any, over: Any, path: tuple[str, ...] = ()) -> Any:
    """``over`` (a later file, or the extending service) merged onto ``base``."""
    if over is RESET:
        return _DELETE
    if isinstance(over, _Override):
        return _strip(over.value)
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if key in out:
                merged = merge(out[key], value, (*path, str(key)))
                if merged is _DELETE:
                    del out[key]
                else:
                    out[key] = merged
            elif value is not RESET:
                out[key] = _strip(value)
        return out
    if isinstance(base, list) and isinstance(over, list):
        attr = path[-1] if path else ""
        if attr in _REPLACED or path[-2:] == ("healthcheck", "test"):
            return _strip(over)
        keyed = _unique_key(attr) if len(path) == 1 else None
        if keyed is None:
            return base + [_strip(v) for v in over if v is not RESET]
        out_list = list(base)
        for entry in over:
            if entry is RESET:
                continue
            entry = _strip(entry)
            index = next((i for i, e in enumerate(out_list) if keyed(e) == keyed(entry)), None)
            if index is None:
                out_list.append(entry)
            else:
                out_list[index] = (
                    merge(out_list[index], entry) if isinstance(entry, dict) else entry
                )
        return out_list
    return _strip(over)


# --- the project --------------------------------------------------------------------------


@dataclass
class Project:
    """Every service of the merged model, and where it came from."""

    files: list[str]
    services: dict[str, dict[str, Any]]
    volumes: dict[str, Any]
    env_file: str | None
    unset_variables: list[str]


@dataclass
class _Loading:
    read: Reader
    env: Variables
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def document(self, path: str) -> dict[str, Any]:
        """One file, parsed, interpolated and normalised (read once)."""
        if path not in self.documents:
            text = self.read(path)
            if text is None:
                raise CheckError(f"Compose file {path} does not exist")
            data = parse_yaml(text.removeprefix("\ufeff"), path)
            services = data.get("services") or {}
            if not isinstance(services, dict):
                raise CheckError(f"Compose file {path}: services is not a mapping")
            # KEY=VALUE lists become mappings before interpolation, so a value keeps
            # the mark of having come from a variable (spec: such keys are interpolated too).
            for service in services.values():
                if isinstance(service, dict):
                    for attr in _KEYED_LISTS:
                        if isinstance(service.get(attr), list):
                            service[attr] = {
                                str(interpolate(k, self.env, path)): v
                                for k, v in _as_mapping(service[attr], attr).items()
                            }
            data = _interpolate_all(data, self.env, path)
            services = data["services"] or {}
            data["services"] = {
                str(n): normalise_service(s, path, str(n)) for n, s in services.items()
            }
            self.documents[path] = data
        return self.documents[path]

    def service(
        self, path: str, name: str, chain: tuple[tuple[str, str], ...] = ()
    ) -> dict[str, Any]:
        """A service of one file with its ``extends`` applied (05-services.md#extends)."""
        if (path, name) in chain:
            loop = " -> ".join(f"{n} ({p})" for p, n in (*chain, (path, name)))
            raise CheckError(f"Compose file {path}: extends loops: {loop}")
        services = self.document(path)["services"]
        if name not in services:
            raise CheckError(
                f"Compose file {path}: extends names service {name}, which it does not define"
            )
        service = dict(services[name])
        ext = service.pop("extends", None)
        if ext is None:
            return service
        if isinstance(ext, str):
            ext = {"service": ext}
        if not isinstance(ext, dict) or not ext.get("service"):
            raise CheckError(f"Compose file {path}: service {name}: extends needs a service name")
        base_path = path
        if ext.get("file"):
            base_path = posixpath.normpath(
                posixpath.join(posixpath.dirname(path), str(ext["file"]))
            )
        base = self.service(base_path, str(ext["service"]), (*chain, (path, name)))
        merged: dict[str, Any] = merge(base, service)
        return merged


def load_project(
    read: Reader,
    path: str,
    *,
    overrides: list[str] | None = None,
    env_file: str | list[str] | None = None,
    inherited: Mapping[str, str] | None = None,
    _including: tuple[str, ...] = (),
) -> Project:
    """The merged model of ``path`` and its overrides, as Compose builds it.

    Args:
        read: gives a file's text, or None when it does not exist.
        path: the first Compose file (``-f``); relative paths below are relative to its directory.
        overrides: further ``-f`` files in order; None reads Compose's default override
            (``compose.override.yaml`` next to ``compose.yaml``) when it exists.
        env_file: the file(s) ``${VAR}`` reads; None reads ``.env`` in the project directory
            when it exists.
        inherited: variables of an including project, which win over this one's env file
            (14-include.md).
    """
    base = posixpath.dirname(path)

    def rel(p: str) -> str:
        return posixpath.normpath(posixpath.join(base, p))

    if path in _including:
        raise CheckError(f"Compose file {path}: include loops: {' -> '.join((*_including, path))}")
    files = [path]
    if overrides is None:
        files += next(([p] for p in default_override(path) if read(p) is not None), [])
    else:
        files += [rel(p) for p in overrides]
    values: dict[str, str] = {}
    env_paths = [rel(e) for e in ([env_file] if isinstance(env_file, str) else env_file or [])]
    read_env: str | None = None
    for env_path in env_paths or [rel(".env")]:
        env_text = read(env_path)
        if env_text is None:
            if env_paths:
                raise CheckError(f"Compose env file {env_path} does not exist")
            continue
        values.update(read_env_file(env_text))
        read_env = read_env or env_path
    values.update(inherited or {})
    env = Variables(values)
    loading = _Loading(read, env)
    services: dict[str, dict[str, Any]] = {}
    volumes: dict[str, Any] = {}
    includes: list[tuple[str, Any]] = []
    for file in files:
        doc = loading.document(file)
        resolved = {name: loading.service(file, name) for name in doc["services"]}
        for name, service in resolved.items():
            if name in services:
                merged = merge(services[name], service)
                services[name] = {} if merged is _DELETE else merged
            else:
                services[name] = _strip(service)
        top = doc.get("volumes") or {}
        if isinstance(top, dict):
            volumes = merge(volumes, top) if volumes else _strip(top)
        includes += [(file, entry) for entry in doc.get("include") or []]
    project = Project(files, services, volumes, read_env, sorted(env.unset))
    # include is applied after the files are merged; what it brings is copied, never merged.
    for file, entry in includes:
        _include(project, read, file, entry, env, (*_including, path))
    return project


def _include(
    project: Project, read: Reader, file: str, entry: Any, env: Variables, stack: tuple[str, ...]
) -> None:
    spec = entry if isinstance(entry, dict) else {"path": entry}
    paths = spec.get("path")
    paths = [paths] if isinstance(paths, str) else list(paths or [])
    if not paths:
        raise CheckError(f"Compose file {file}: an include entry has no path")
    here = posixpath.dirname(file)
    first = posixpath.normpath(posixpath.join(here, str(paths[0])))
    rest = [
        posixpath.relpath(
            posixpath.normpath(posixpath.join(here, str(p))), posixpath.dirname(first)
        )
        for p in paths[1:]
    ]
    env_files = spec.get("env_file")
    if env_files is not None:
        env_files = [env_files] if isinstance(env_files, str) else list(env_files)
        env_files = [
            posixpath.relpath(
                posixpath.normpath(posixpath.join(here, str(e))), posixpath.dirname(first)
            )
            for e in env_files
        ]
    included = load_project(
        read,
        first,
        overrides=rest,
        env_file=env_files,
        inherited=dict(env.values),
        _including=stack,
    )
    project.files += [f for f in included.files if f not in project.files]
    for name, service in included.services.items():
        project.services.setdefault(name, service)
    for name, volume in included.volumes.items():
        project.volumes.setdefault(name, volume)
    project.unset_variables = sorted({*project.unset_variables, *included.unset_variables})
