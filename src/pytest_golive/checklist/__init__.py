"""Checklist readers: Markdown and YAML, one :class:`Item` model."""

from __future__ import annotations

from pathlib import Path

from pytest_golive.checklist.markdown import ChecklistError, count_task_lines, read_markdown
from pytest_golive.checklist.model import CANONICAL_SECTIONS, BindingError, Item, slugify
from pytest_golive.checklist.yaml_reader import read_yaml

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown")
YAML_SUFFIXES = (".yml", ".yaml")


def read_checklist(path: str | Path) -> list[Item]:
    """Items of one checklist file, by its suffix."""
    path = Path(path)
    if not path.exists():
        raise ChecklistError(f"{path}: checklist file not found")
    if path.suffix.lower() in YAML_SUFFIXES:
        return read_yaml(path)
    return read_markdown(path)


def is_checklist(path: Path) -> bool:
    return path.suffix.lower() in (*MARKDOWN_SUFFIXES, *YAML_SUFFIXES)


__all__ = [
    "CANONICAL_SECTIONS",
    "BindingError",
    "ChecklistError",
    "Item",
    "count_task_lines",
    "is_checklist",
    "read_checklist",
    "read_markdown",
    "read_yaml",
    "slugify",
]
