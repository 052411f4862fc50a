"""The check catalog: one decorated, documented, typed function is one check.

Modelled on pytest-testinfra's module registry: a check's name, its target
kind, its parameter schema and its documentation all come from the function
itself, so the catalog, the collection-time validation and the generated
check reference (``docs/checks.md``) can never disagree.

Adding a check::

    @check(target="host")
    def cpu(host: HostTarget, *, min: int = 1) -> Outcome:
        \"\"\"At least ``min`` CPUs are online.\"\"\"
        ...

Parameters are keyword-only, typed, and validated when the checklist is
collected: an unknown parameter, a missing one or a value of the wrong type
fails collection with the checklist file and line, never at run time.
"""

from __future__ import annotations

import inspect
import os
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from pytest_golive.core.hints import did_you_mean as _did_you_mean
from pytest_golive.core.secrets import Secret

#: Target kinds a check may run against. ``none`` checks run once per item,
#: on the machine running pytest, from their parameters alone.
TARGET_KINDS = ("host", "endpoint", "database", "file", "none")

_MISSING = inspect.Parameter.empty


class CheckDefinitionError(Exception):
    """A check's parameters do not fit its schema (shown with file and line)."""


class CheckNameClash(CheckDefinitionError):
    """One check name defined in two places (two conftests of a monorepo, two packs)."""


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any
    default: Any
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _MISSING

    def type_name(self) -> str:
        return _type_name(self.annotation)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type_name(),
            "required": self.required,
        }
        if not self.required:
            out["default"] = self.default if _jsonable(self.default) else repr(self.default)
        if self.doc:
            out["doc"] = self.doc
        return out


@dataclass(frozen=True)
class Check:
    name: str
    target: str
    func: Callable[..., Any]
    params: tuple[Param, ...]
    doc: str
    aliases: tuple[str, ...] = ()
    #: A check that sends load or has side effects an operator must ask for.
    opt_in: bool = False

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def validate(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Coerce raw binding values to the parameter types.

        Raises :class:`CheckDefinitionError` with a message that names the
        parameter and, for a typo, the nearest valid names.
        """
        names = [p.name for p in self.params]
        out: dict[str, Any] = {}
        for key, value in raw.items():
            param = self.param(key)
            if param is None:
                hint = _did_you_mean(key, names)
                valid = ", ".join(names) or "none"
                raise CheckDefinitionError(
                    f"check '{self.name}' has no parameter '{key}'{hint} (parameters: {valid})"
                )
            try:
                out[key] = coerce(value, param.annotation)
            except (TypeError, ValueError) as exc:
                raise CheckDefinitionError(
                    f"check '{self.name}' parameter '{key}': {exc} "
                    f"(expected {param.type_name()})"
                ) from None
        missing = [p.name for p in self.params if p.required and p.name not in out]
        if missing:
            raise CheckDefinitionError(
                f"check '{self.name}' needs parameter(s) {', '.join(missing)}"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "params": [p.to_dict() for p in self.params],
            "doc": inspect.cleandoc(self.doc),
            "aliases": list(self.aliases),
            "opt_in": self.opt_in,
        }


class Registry:
    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self._aliases: dict[str, str] = {}
        #: Where each check was defined (``path:line``), and by which pack if any.
        self._origins: dict[str, str] = {}
        #: Names defined in two places, each with one line naming both (the first one stays).
        self.clashes: dict[str, str] = {}
        #: The check pack being loaded (set by :mod:`pytest_golive.checks.packs`).
        self.loading_pack: str | None = None

    def add(self, chk: Check) -> Check:
        """Add a check; a name already defined elsewhere is recorded in :attr:`clashes`.

        Recorded, not raised: the clash is found while pytest imports a conftest,
        where an exception would become a traceback; it is reported as one line
        when the catalog is used (:meth:`check_clashes`). The same function
        imported again (pytest run in-process twice) replaces its old self.
        """
        where = definition_site(chk.func)
        if self.loading_pack:
            where += f" ({self.loading_pack})"
        for name in (chk.name, *chk.aliases):
            owner = self._checks.get(self._aliases.get(name, name))
            if owner is None:
                continue
            if _same_definition(owner.func, chk.func):
                self._forget(owner)
                continue
            self.clashes.setdefault(name, (
                f"check '{name}' is defined twice: in {self._origins.get(owner.name, '?')} "
                f"and in {where} (check names are global: rename one of them)"
            ))
            return chk
        self._checks[chk.name] = chk
        self._origins[chk.name] = where
        for alias in chk.aliases:
            self._aliases[alias] = chk.name
        return chk

    def _forget(self, chk: Check) -> None:
        self._checks.pop(chk.name, None)
        for alias in chk.aliases:
            self._aliases.pop(alias, None)

    def origin(self, name: str) -> str:
        """Where the check ``name`` was defined: ``path:line``, with its pack if it has one."""
        return self._origins.get(self._aliases.get(name, name), "")

    def check_clashes(self) -> None:
        """Raise :class:`CheckNameClash` for the first name defined in two places, if any."""
        if self.clashes:
            raise CheckNameClash(next(iter(self.clashes.values())))

    def get(self, name: str) -> Check:
        """The check named ``name`` (or an alias), or a KeyError with a hint."""
        _load_catalog()
        if name in self.clashes:
            raise CheckNameClash(self.clashes[name])
        key = self._aliases.get(name, name)
        if key not in self._checks:
            raise KeyError(f"unknown check '{name}'{_did_you_mean(name, self.names())}")
        return self._checks[key]

    def names(self) -> list[str]:
        _load_catalog()
        return sorted([*self._checks, *self._aliases])

    def all(self) -> list[Check]:
        _load_catalog()
        return [self._checks[n] for n in sorted(self._checks)]

    def __contains__(self, name: object) -> bool:
        _load_catalog()
        return name in self._checks or name in self._aliases


REGISTRY = Registry()


def check(
    target: str,
    *,
    name: str | None = None,
    aliases: tuple[str, ...] | list[str] = (),
    opt_in: bool = False,
    registry: Registry | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as a check against targets of kind ``target``.

    The function takes the target handle as its only positional argument
    (nothing for ``target="none"``) and keyword-only, typed parameters; its
    docstring is the check's documentation. ``Args:`` lines in the docstring
    (``name: text``) document the parameters.
    """
    if target not in TARGET_KINDS:
        raise ValueError(f"target must be one of {TARGET_KINDS}, not {target!r}")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        doc = inspect.getdoc(func) or ""
        if not doc:
            raise ValueError(f"check {func.__name__} needs a docstring: it is its documentation")
        hints = typing.get_type_hints(func)
        param_docs = _param_docs(doc)
        params = []
        for p in inspect.signature(func).parameters.values():
            if p.kind is not inspect.Parameter.KEYWORD_ONLY:
                continue
            if p.name not in hints:
                raise ValueError(f"check {func.__name__}: parameter {p.name} needs a type hint")
            params.append(Param(p.name, hints[p.name], p.default, param_docs.get(p.name, "")))
        chk = Check(
            name=name or func.__name__,
            target=target,
            func=func,
            params=tuple(params),
            doc=doc,
            aliases=tuple(aliases),
            opt_in=opt_in,
        )
        (registry or REGISTRY).add(chk)
        func.golive_check = chk  # type: ignore[attr-defined]
        return func

    return decorate


def definition_site(func: Callable[..., Any]) -> str:
    """``path:line`` of a check function's definition, relative to the working directory."""
    code = getattr(inspect.unwrap(func), "__code__", None)
    if code is None:
        return getattr(func, "__module__", "?")
    path = code.co_filename
    try:
        rel = os.path.relpath(path)
        path = rel if not rel.startswith("..") else path
    except ValueError:  # another drive
        pass
    return f"{path}:{code.co_firstlineno}"


def _same_definition(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    """The same function of the same file, imported twice (not two checks of one name)."""
    a, b = inspect.unwrap(a), inspect.unwrap(b)
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    return (
        code_a is not None and code_b is not None
        and os.path.realpath(code_a.co_filename) == os.path.realpath(code_b.co_filename)
        and a.__qualname__ == b.__qualname__
    )


def _param_docs(doc: str) -> dict[str, str]:
    """Parameter descriptions from an ``Args:`` block (Google style)."""
    out: dict[str, str] = {}
    in_args = False
    current = None
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped in ("Args:", "Parameters:"):
            in_args = True
            continue
        if not in_args:
            continue
        if not stripped:
            current = None
            continue
        if line.startswith("    ") and ":" in stripped and not line.startswith("        "):
            key, _, text = stripped.partition(":")
            current = key.strip().split(" ")[0]
            out[current] = text.strip()
        elif current and line.startswith("        "):
            out[current] += " " + stripped
        elif not line.startswith(" "):
            in_args = False
    return out


_loaded = False
_load_error: CheckDefinitionError | None = None


def _load_catalog() -> None:
    """Import the built-in check modules, then the installed check packs, once.

    A pack that cannot be loaded fails every use of the catalog with the same
    one line: a readiness run must not go on without checks it was given.
    """
    global _loaded, _load_error
    if _load_error is not None:
        raise _load_error
    if _loaded:
        return
    _loaded = True
    from pytest_golive import checks
    from pytest_golive.checks import packs

    checks.load_builtin()
    try:
        packs.load_entry_points(REGISTRY)
    except CheckDefinitionError as exc:
        _load_error = exc
        raise


# --- value coercion ------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


def coerce(value: Any, annotation: Any) -> Any:
    """Coerce a binding value (often a string from Markdown) to ``annotation``."""
    if annotation is Any:
        return value
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        # Prefer an exact type match before trying conversions.
        for arg in args:
            if arg is not type(None) and isinstance(arg, type) and isinstance(value, arg):
                if not (arg is int and isinstance(value, bool)):
                    return value
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if errors else f"cannot use {value!r}")
    if origin is Literal:
        for choice in args:
            if value == choice or str(value) == str(choice):
                return choice
        raise ValueError(f"{value!r} is not one of {', '.join(map(str, args))}")
    if origin in (list, tuple, set, frozenset):
        items = _as_list(value)
        inner = args[0] if args else Any
        coerced = [coerce(v, inner) for v in items]
        return coerced if origin is list else origin(coerced)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ValueError(f"{value!r} is not a table of key=value pairs")
        vt = args[1] if len(args) == 2 else Any
        return {str(k): coerce(v, vt) for k, v in value.items()}
    if annotation is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{value!r} is not a boolean (true/false)")
    if annotation is int:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"{value!r} is not a whole number") from None
    if annotation is float:
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        try:
            return float(str(value).strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if annotation is str:
        if isinstance(value, (dict, list)):
            raise ValueError(f"{value!r} is not a single value")
        if isinstance(value, Secret):
            return value
        return str(value)
    if annotation is Secret:
        return value if isinstance(value, Secret) else Secret(str(value))
    if isinstance(annotation, type) and isinstance(value, annotation):
        return value
    raise TypeError(f"cannot convert {value!r} to {_type_name(annotation)}")


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [value]


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (list, tuple, set, frozenset):
        return f"list[{_type_name(args[0]) if args else 'any'}]"
    if origin is dict:
        return "table"
    if annotation is type(None):
        return "none"
    return getattr(annotation, "__name__", str(annotation))


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict, tuple))
