"""Hosts from an Ansible inventory (INI or YAML): the fleet list teams already keep.

An environment's ``inventory = "hosts.ini"`` turns every inventory host into a
``host`` target named by its inventory name, member of every group that
contains it (directly or through ``:children``), so a checklist line can say
``on: webservers``. The connection comes from the usual host variables:

=============================== ==========================================
``ansible_host``                the address to connect to (else the name)
``ansible_user``                the login user
``ansible_port``                the SSH port (also ``name:port`` in INI)
``ansible_ssh_private_key_file`` the identity file
``ansible_connection``          ``local`` -> ``local://``, ``paramiko`` ->
                                ``paramiko://``, else ``ssh://``
``ansible_become``              run commands with sudo
=============================== ==========================================

(and the older ``ansible_ssh_host/_user/_port`` spellings). Variables are
merged the way Ansible merges them: ``all``, then groups from the outermost to
the innermost, then the host itself; ``group_vars/`` and ``host_vars/`` beside
the inventory file count too (after the inventory's own values).

Why a small parser of our own instead of a library: the only complete reader
is ``ansible-core``'s ``InventoryManager``, which is a large dependency (GPL,
with a loader, vault and plugin machinery) for what is, for the static files
teams keep, a simple format. PyYAML (already a dependency) reads the YAML
form; the INI form is not ``configparser`` syntax (host lines carry
``key=value`` pairs, names may hold ``[01:20]`` ranges), so it is read here
line by line. Dynamic inventories (scripts, plugins), vault-encrypted values
and Jinja templates in connection variables are refused with a clear line
rather than guessed at.

Every mistake is an :class:`InventoryError` of one line, ``FILE:LINE: what``.
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_golive.core.config import TargetSpec
from pytest_golive.core.secrets import looks_secret

YAML_SUFFIXES = (".yml", ".yaml", ".json")
#: Host variables that become the connection; the rest is kept as plain ``vars``.
_ALIASES = {
    "ansible_ssh_host": "ansible_host",
    "ansible_ssh_user": "ansible_user",
    "ansible_ssh_port": "ansible_port",
}
_CONNECTION_VARS = ("ansible_host", "ansible_user", "ansible_port", "ansible_ssh_private_key_file",
                    "ansible_connection", "ansible_become")
_RANGE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\]")


class InventoryError(ValueError):
    """A mistake in an inventory file, as one line naming the file and line."""


@dataclass
class _Group:
    name: str
    line: int = 0
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Inventory:
    path: Path
    groups: dict[str, _Group] = field(default_factory=dict)
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)
    host_lines: dict[str, int] = field(default_factory=dict)

    def group(self, name: str, line: int = 0) -> _Group:
        if name not in self.groups:
            self.groups[name] = _Group(name, line)
        return self.groups[name]

    def add_host(self, group: str, host: str, variables: dict[str, Any], line: int) -> None:
        members = self.group(group, line).hosts
        if host not in members:
            members.append(host)
        self.host_vars.setdefault(host, {}).update(variables)
        self.host_lines.setdefault(host, line)

    def fail(self, line: int, message: str) -> InventoryError:
        return InventoryError(
            f"{self.path}:{line}: {message}" if line else f"{self.path}: {message}"
        )


# --- entry point --------------------------------------------------------------------------


def read_inventory(path: str | Path) -> list[TargetSpec]:
    """The hosts of an Ansible inventory file as ``host`` targets, in file order."""
    path = Path(path)
    if path.is_dir():
        raise InventoryError(f"{path}: is a directory; name the inventory file inside it")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{path}: inventory file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path}: cannot read: {exc}") from None
    if text.startswith("#!") or path.suffix == ".py":
        raise InventoryError(
            f"{path}: dynamic inventory scripts are not supported; "
            "export it once with 'ansible-inventory -i ... --list --yaml'"
        )
    inv = _Inventory(path)
    if path.suffix.lower() in YAML_SUFFIXES or (
        path.suffix.lower() not in (".ini", ".cfg") and _looks_yaml(text)
    ):
        _parse_yaml(inv, text)
    else:
        _parse_ini(inv, text)
    _add_vars_dirs(inv)
    return _targets(inv)


def _looks_yaml(text: str) -> bool:
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "---")):
            continue
        return not line.startswith("[") and bool(re.match(r"^[^\s=\[]+:(\s|$)", line))
    return False


# --- INI ------------------------------------------------------------------------------------


def _parse_ini(inv: _Inventory, text: str) -> None:
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section, kind = _ini_header(inv, line, number)
            continue
        if kind == "children":
            child = line.split("#", 1)[0].strip()
            if not child or " " in child:
                raise inv.fail(
                    number, f"[{section}:children] lines name one group each, not '{line}'"
                )
            inv.group(child, number)
            if child not in inv.groups[section].children:
                inv.groups[section].children.append(child)
        elif kind == "vars":
            key, value = _ini_assignment(inv, line, number, f"[{section}:vars]")
            inv.groups[section].vars[key] = value
        else:
            _ini_host_line(inv, section, line, number)


def _ini_header(inv: _Inventory, line: str, number: int) -> tuple[str, str]:
    text = line.split("#", 1)[0].strip()
    if not text.endswith("]") or len(text) < 3:
        raise inv.fail(number, f"malformed section header '{line}' (expected [group], [group:vars] "
                               "or [group:children])")
    name, _, kind = text[1:-1].strip().partition(":")
    kind = kind.strip() or "hosts"
    if kind not in ("hosts", "vars", "children"):
        raise inv.fail(
            number, f"unknown section kind ':{kind}' in '{line}' (expected :vars or :children)"
        )
    if not name or re.search(r"\s", name):
        raise inv.fail(number, f"malformed group name in '{line}'")
    inv.group(name, number)
    return name, kind


def _ini_assignment(inv: _Inventory, line: str, number: int, where: str) -> tuple[str, Any]:
    key, eq, value = line.partition("=")
    if not eq or not key.strip():
        raise inv.fail(number, f"{where} lines are key=value, not '{line}'")
    return key.strip(), _ini_value(_strip_comment(value.strip()))


def _strip_comment(value: str) -> str:
    """Drop a trailing `` #comment`` outside quotes."""
    try:
        parts = shlex.split(value, comments=True)
    except ValueError:
        return value
    if len(parts) == 1:
        return parts[0]
    return value if not parts else " ".join(parts)


def _ini_value(value: str) -> Any:
    """INI values are Python literals where they parse as one (as in Ansible), else strings."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def _ini_host_line(inv: _Inventory, group: str, line: str, number: int) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise inv.fail(number, f"cannot read host line '{line}': {exc}") from None
    if not tokens:
        return
    pattern, assignments = tokens[0], tokens[1:]
    variables: dict[str, Any] = {}
    for token in assignments:
        key, eq, value = token.partition("=")
        if not eq or not key:
            raise inv.fail(number, f"host '{pattern}': expected key=value, got '{token}'")
        variables[key] = _ini_value(value)
    name, port = _split_port(pattern)
    if port is not None:
        variables.setdefault("ansible_port", port)
    for host in _expand(inv, name, number):
        inv.add_host(group, host, dict(variables), number)


def _split_port(pattern: str) -> tuple[str, int | None]:
    """``name:2222`` -> (name, 2222); IPv6 addresses and ranges are left alone."""
    if pattern.count(":") == 1 and "]" not in pattern.rsplit(":", 1)[1]:
        name, port = pattern.split(":")
        if port.isdigit():
            return name, int(port)
    return pattern, None


def _expand(inv: _Inventory, pattern: str, number: int) -> list[str]:
    """Expand ``web[01:03].example.com`` and ``db-[a:c]`` host ranges."""
    match = _RANGE.search(pattern)
    if not match:
        if "[" in pattern or "]" in pattern:
            raise inv.fail(
                number, f"malformed host range in '{pattern}' (expected name[01:20] or name[a:f])"
            )
        return [pattern]
    start, end, step = match.group(1), match.group(2), int(match.group(3) or 1)
    head, tail = pattern[: match.start()], pattern[match.end() :]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        values = [str(i).zfill(width) for i in range(int(start), int(end) + 1, step)]
    elif len(start) == 1 and len(end) == 1 and start.isalpha() and end.isalpha():
        values = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    else:
        raise inv.fail(number, f"malformed host range [{start}:{end}] in '{pattern}'")
    if not values:
        raise inv.fail(number, f"host range [{start}:{end}] in '{pattern}' is empty")
    return [host for value in values for host in _expand(inv, head + value + tail, number)]


# --- YAML -----------------------------------------------------------------------------------


class _Vault:
    """An ``!vault`` value: kept opaque, refused if it is needed to connect."""


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!vault", lambda loader, node: _Vault())
def _unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """``!unsafe``: Ansible's mark for a string not to template; here the plain string."""
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, "!unsafe needs a string", node.start_mark)
    return loader.construct_scalar(node)


_Loader.add_constructor("!unsafe", _unsafe)


def _parse_yaml(inv: _Inventory, text: str) -> None:
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise inv.fail(line, f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise inv.fail(0, f"not valid YAML: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()
    if root is None:
        return
    if not isinstance(root, yaml.MappingNode):
        raise inv.fail(
            _line(root),
            "an inventory is a mapping of group names (all: {hosts: ..., children: ...})",
        )
    for key, value in root.value:
        _yaml_group(inv, loader, _scalar(inv, key, "group name"), value, parents=())


def _yaml_group(
    inv: _Inventory, loader: _Loader, name: str, node: yaml.Node, parents: tuple[str, ...]
) -> None:
    if name in parents:
        raise inv.fail(
            _line(node), f"group '{name}' contains itself ({' -> '.join((*parents, name))})"
        )
    group = inv.group(name, _line(node))
    if _is_null(node):
        return
    if not isinstance(node, yaml.MappingNode):
        raise inv.fail(
            _line(node), f"group '{name}' must be a mapping with hosts, children or vars"
        )
    for key_node, value in node.value:
        key = _scalar(inv, key_node, "key")
        if key == "hosts":
            _yaml_hosts(inv, loader, name, value)
        elif key == "vars":
            group.vars.update(_yaml_mapping(inv, loader, value, f"vars of group '{name}'"))
        elif key == "children":
            if _is_null(value):
                continue
            if not isinstance(value, yaml.MappingNode):
                raise inv.fail(
                    _line(value), f"children of group '{name}' must be a mapping of group names"
                )
            for child_key, child in value.value:
                child_name = _scalar(inv, child_key, "group name")
                if child_name not in group.children:
                    group.children.append(child_name)
                _yaml_group(inv, loader, child_name, child, (*parents, name))
        else:
            raise inv.fail(
                _line(key_node),
                f"group '{name}': unknown key '{key}' (expected hosts, children or vars)",
            )


def _yaml_hosts(inv: _Inventory, loader: _Loader, group: str, node: yaml.Node) -> None:
    if _is_null(node):
        return
    if not isinstance(node, yaml.MappingNode):
        raise inv.fail(
            _line(node), f"hosts of group '{group}' must be a mapping (name: {{vars}} or name:)"
        )
    for key_node, value in node.value:
        pattern = _scalar(inv, key_node, "host name")
        variables = (
            {} if _is_null(value) else _yaml_mapping(inv, loader, value, f"host '{pattern}'")
        )
        name, port = _split_port(pattern)
        if port is not None:
            variables.setdefault("ansible_port", port)
        for host in _expand(inv, name, _line(key_node)):
            inv.add_host(group, host, dict(variables), _line(key_node))


def _yaml_mapping(inv: _Inventory, loader: _Loader, node: yaml.Node, what: str) -> dict[str, Any]:
    if _is_null(node):
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise inv.fail(_line(node), f"{what} must be a mapping of variables")
    try:
        data = loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise inv.fail(_line(node), f"{what}: {' '.join(str(exc).split())}") from None
    return {str(k): v for k, v in data.items()}


def _scalar(inv: _Inventory, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise inv.fail(_line(node), f"expected a {what}")
    return str(node.value)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1 if node.start_mark else 0


# --- group_vars/ and host_vars/ ---------------------------------------------------------------


def _add_vars_dirs(inv: _Inventory) -> None:
    """Read ``group_vars/NAME[.yml]`` and ``host_vars/NAME[.yml]`` beside the inventory."""
    base = inv.path.parent
    for group in inv.groups.values():
        group.vars = {**group.vars, **_vars_files(inv, base / "group_vars", group.name)}
    if "all" not in inv.groups:
        extra = _vars_files(inv, base / "group_vars", "all")
        if extra:
            inv.group("all").vars.update(extra)
    for host in inv.host_vars:
        inv.host_vars[host] = {**inv.host_vars[host], **_vars_files(inv, base / "host_vars", host)}


def _vars_files(inv: _Inventory, directory: Path, name: str) -> dict[str, Any]:
    if not directory.is_dir():
        return {}
    files: list[Path] = []
    for candidate in (directory / name, *(directory / f"{name}{s}" for s in YAML_SUFFIXES)):
        if candidate.is_file():
            files.append(candidate)
        elif candidate.is_dir():
            files.extend(
                sorted(p for p in candidate.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())
            )
    merged: dict[str, Any] = {}
    for file in files:
        try:
            # A SafeLoader subclass: nothing but plain data is constructed.
            data = yaml.load(file.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506
        except yaml.MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else 0
            raise InventoryError(f"{file}:{line}: not valid YAML: {exc.problem}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InventoryError(f"{file}: cannot read: {' '.join(str(exc).split())}") from None
        if data is None:
            continue
        if not isinstance(data, dict):
            raise InventoryError(f"{file}: must be a mapping of variables")
        merged.update({str(k): v for k, v in data.items()})
    return merged


# --- hosts to targets ---------------------------------------------------------------------------


def _targets(inv: _Inventory) -> list[TargetSpec]:
    depth = _depths(inv)
    all_group = inv.groups.get("all")
    order = sorted((g for g in inv.groups.values() if g.name != "all"), key=lambda g: depth[g.name])
    targets = []
    for host, own in inv.host_vars.items():
        memberships = _groups_of(inv, host)
        merged: dict[str, Any] = dict(all_group.vars) if all_group else {}
        for group in order:
            if group.name in memberships:
                merged.update(group.vars)
        merged.update(own)
        names = tuple(g.name for g in inv.groups.values()
                      if g.name in memberships and g.name not in ("all", "ungrouped"))
        targets.append(TargetSpec("host", host, names, _options(inv, host, merged)))
    return targets


def _groups_of(inv: _Inventory, host: str) -> set[str]:
    """Every group holding ``host``, directly or through children, plus ``all``."""
    direct = {g.name for g in inv.groups.values() if host in g.hosts}
    parents: dict[str, set[str]] = {}
    for group in inv.groups.values():
        for child in group.children:
            parents.setdefault(child, set()).add(group.name)
    seen = set(direct)
    todo = list(direct)
    while todo:
        for parent in parents.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen | {"all"}


def _depths(inv: _Inventory) -> dict[str, int]:
    """How deep each group sits under ``all`` (outer groups' vars are applied first)."""
    depth: dict[str, int] = {}

    def visit(name: str, level: int, path: tuple[str, ...]) -> None:
        if name in path:
            group = inv.groups[name]
            raise inv.fail(
                group.line, f"group '{name}' contains itself ({' -> '.join((*path, name))})"
            )
        if depth.get(name, -1) >= level:
            return
        depth[name] = level
        for child in inv.groups[name].children:
            visit(child, level + 1, (*path, name))

    children = {c for g in inv.groups.values() for c in g.children}
    roots = [g for g in inv.groups if g not in children] or list(inv.groups)
    for root in roots:
        visit(root, 0 if root == "all" else 1, ())
    for name in inv.groups:
        depth.setdefault(name, 1)
    return depth


def _options(inv: _Inventory, host: str, variables: dict[str, Any]) -> dict[str, Any]:
    line = inv.host_lines.get(host, 0)
    for old, new in _ALIASES.items():
        if old in variables:
            variables.setdefault(new, variables.pop(old))
    for key in _CONNECTION_VARS:
        value = variables.get(key)
        if isinstance(value, _Vault):
            raise inv.fail(
                line, f"host '{host}': {key} is vault-encrypted; golive cannot decrypt it"
            )
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            raise inv.fail(
                line,
                f"host '{host}': {key} is a template ('{value}'); "
                "give the value itself (templates are not evaluated)",
            )
    connection = str(variables.get("ansible_connection") or "ssh")
    options: dict[str, Any] = {}
    if connection == "local":
        options["url"] = "local://"
    else:
        scheme = "paramiko" if connection == "paramiko" else "ssh"
        options["url"] = _url(inv, host, line, scheme, variables)
    key_file = variables.get("ansible_ssh_private_key_file")
    if key_file:
        key_path = Path(str(key_file)).expanduser()
        if not key_path.is_absolute():
            key_path = inv.path.parent.absolute() / key_path
        options["ssh_identity_file"] = str(key_path)
    if _truthy(variables.get("ansible_become")):
        options["sudo"] = True
    plain = {k: v for k, v in variables.items()
             if k not in _CONNECTION_VARS and not looks_secret(k) and _plain(v)}
    if plain:
        options["vars"] = plain
    return options


def _url(inv: _Inventory, host: str, line: int, scheme: str, variables: dict[str, Any]) -> str:
    address = str(variables.get("ansible_host") or host).strip()
    if not address or re.search(r"[\s/@]", address):
        raise inv.fail(line, f"host '{host}': '{address}' is not a host name or address")
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"  # IPv6
    user = variables.get("ansible_user")
    port = variables.get("ansible_port")
    netloc = address
    if user:
        if re.search(r"[\s/@:]", str(user)):
            raise inv.fail(line, f"host '{host}': ansible_user '{user}' is not a user name")
        netloc = f"{user}@{netloc}"
    if port not in (None, ""):
        try:
            number = int(str(port))
        except ValueError:
            raise inv.fail(line, f"host '{host}': ansible_port '{port}' is not a number") from None
        if not 0 < number < 65536:
            raise inv.fail(line, f"host '{host}': ansible_port {number} is out of range")
        netloc = f"{netloc}:{number}"
    return f"{scheme}://{netloc}"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "yes", "true", "on", "y")
    return bool(value)


def _plain(value: Any) -> bool:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return True
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, Iterable):
        return all(_plain(v) for v in value)
    return False
