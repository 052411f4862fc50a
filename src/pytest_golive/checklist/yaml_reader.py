"""The YAML checklist reader: the same model as Markdown, written as data.

Two shapes are accepted::

    sections:                       items:
      security:                       - section: security
        - title: API keys 32+ chars     title: API keys 32+ chars
          id: API-KEYS                  check: secret_strength
          check: secret_strength        params: {min_length: 32}
          params: {min_length: 32}
          targets: api
          severity: blocker
          items: [...]              # children make the line a group

A line with several checks lists them under ``checks`` (each a mapping
``{check: NAME, params: {...}}`` or the comment form ``"memory min_gib=2"``);
``attest: true`` beside checks makes a person sign the rest of the line.

Line numbers are kept for every item so errors point into the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pytest_golive.checklist.markdown import ChecklistError, read_text
from pytest_golive.checklist.model import (
    SEVERITIES,
    Binding,
    BindingError,
    Item,
    canonical_sections,
    marker_name,
    parse_line_binding,
    slugify,
)

_ITEM_KEYS = {
    "id",
    "title",
    "check",
    "params",
    "checks",
    "attest",
    "targets",
    "on",
    "severity",
    "items",
    "section",
    "manual",
}


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records each mapping's line as ``__line__``."""


def _construct_mapping(
    loader: _LineLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[str, Any]:
    mapping: dict[str, Any] = {
        str(k): v for k, v in loader.construct_mapping(node, deep=deep).items()
    }
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path, text: str | None = None) -> list[Item]:
    path = Path(path)
    if text is None:
        text = read_text(path)
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ChecklistError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ChecklistError(f"{path}: a YAML checklist is a mapping with 'sections' or 'items'")
    reader = _Reader(str(path))
    if "sections" in data:
        sections = data["sections"]
        if isinstance(sections, dict):
            for name, entries in sections.items():
                if name == "__line__":
                    continue
                reader.section(str(name), str(name), entries, data.get("__line__", 0))
        elif isinstance(sections, list):
            for sec in sections:
                if not isinstance(sec, dict) or "name" not in sec:
                    reader.error(_line(sec), "each section needs a 'name' and 'items'")
                    continue
                reader.section(
                    str(sec["name"]),
                    str(sec.get("title", sec["name"])),
                    sec.get("items", []),
                    _line(sec),
                )
        else:
            reader.error(data["__line__"], "'sections' must be a mapping or a list")
    elif "items" in data:
        for entry in data["items"] or []:
            if not isinstance(entry, dict):
                reader.error(data["__line__"], "each item is a mapping with at least a 'title'")
                continue
            name = str(entry.get("section", "general"))
            reader.entry(entry, name, name, None)
    else:
        reader.error(data.get("__line__", 1), "a YAML checklist needs 'sections' or 'items'")
    if reader.errors:
        raise ChecklistError("\n".join(reader.errors))
    return reader.items


def _line(node: Any) -> int:
    return node.get("__line__", 0) if isinstance(node, dict) else 0


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[Item] = []
        self.errors: list[str] = []
        self.seen: set[str] = set()

    def error(self, line: int, message: str) -> None:
        self.errors.append(f"{self.source}:{line}: {message}")

    def section(self, name: str, title: str, entries: Any, line: int) -> None:
        if not isinstance(entries, list):
            self.error(line, f"section '{name}' must hold a list of items")
            return
        for entry in entries:
            if not isinstance(entry, dict):
                self.error(
                    line, f"section '{name}': each item is a mapping with at least a 'title'"
                )
                continue
            self.entry(entry, name, title, None)

    def entry(
        self, entry: dict[str, Any], section_name: str, section_title: str, parent: Item | None
    ) -> None:
        line = _line(entry)
        unknown = sorted(set(entry) - _ITEM_KEYS - {"__line__"})
        if unknown:
            self.error(
                line, f"unknown key '{unknown[0]}' (allowed: {', '.join(sorted(_ITEM_KEYS))})"
            )
            return
        title = str(entry.get("title", "")).strip()
        if not title:
            self.error(line, "item has no 'title'")
            return
        severity = entry.get("severity", "blocker")
        if severity not in SEVERITIES:
            self.error(line, f"severity must be blocker or warning, not '{severity}'")
            return
        params = entry.get("params") or {}
        if not isinstance(params, dict):
            self.error(line, "'params' must be a mapping")
            return
        params = {k: v for k, v in params.items() if k != "__line__"}
        try:
            bindings = self.bindings(entry, params)
        except BindingError as exc:
            self.error(line, str(exc))
            return
        attest = entry.get("attest", False)
        if not isinstance(attest, bool):
            self.error(line, "'attest' is true or false")
            return
        section = slugify(section_name)
        explicit = entry.get("id")
        if explicit:
            item_id = f"{section}/{explicit}"
        elif parent is not None:
            item_id = f"{parent.id}/{slugify(title)}"
        else:
            item_id = f"{section}/{slugify(title)}"
        if item_id in self.seen:
            self.error(line, f"id '{item_id}' is used twice; give one an explicit 'id'")
            return
        self.seen.add(item_id)
        targets = entry.get("targets", entry.get("on"))
        if isinstance(targets, list):
            targets = ",".join(map(str, targets))
        canon = canonical_sections(section_title)
        item = Item(
            id=item_id,
            section=section,
            section_title=section_title,
            title=title,
            bindings=() if entry.get("manual") else bindings,
            attest=attest and bool(bindings) and not entry.get("manual"),
            targets=str(targets) if targets else None,
            severity=severity,
            source=self.source,
            line=line,
            parent=parent.id if parent else None,
            markers=tuple(dict.fromkeys((marker_name(section), *canon))),
            explicit_id=bool(explicit),
        )
        self.items.append(item)
        children = entry.get("items") or []
        if children:
            item.group = True
            for child in children:
                if isinstance(child, dict):
                    self.entry(child, section_name, section_title, item)
                else:
                    self.error(line, "each child item is a mapping with at least a 'title'")

    def bindings(self, entry: dict[str, Any], params: dict[str, Any]) -> tuple[Binding, ...]:
        """The checks of an entry: ``check``/``params`` first, then each of ``checks``."""
        found: list[Binding] = []
        if entry.get("check"):
            found.append(Binding(str(entry["check"]), params))
        elif params:
            raise BindingError("'params' without a 'check'")
        extra = entry.get("checks") or []
        if not isinstance(extra, list):
            raise BindingError(
                "'checks' is a list of {check: NAME, params: {...}} or 'NAME key=value'"
            )
        for one in extra:
            if isinstance(one, str):
                found.extend(parse_line_binding(one).bindings)
            elif isinstance(one, dict) and one.get("check"):
                extra_params = one.get("params") or {}
                if not isinstance(extra_params, dict):
                    raise BindingError(f"check '{one['check']}': 'params' must be a mapping")
                found.append(
                    Binding(
                        str(one["check"]),
                        {k: v for k, v in extra_params.items() if k != "__line__"},
                    )
                )
            else:
                raise BindingError(
                    "each entry of 'checks' is {check: NAME, params: {...}} or 'NAME key=value'"
                )
        return tuple(found)
