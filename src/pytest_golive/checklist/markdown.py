"""The Markdown checklist reader.

A team's checklist document stays the source of truth: every ``- [ ]`` /
``- [x]`` line (bulleted or numbered, nested or not) is an item, the nearest
heading is its section, and an HTML comment ``<!-- golive: CHECK k=v -->``
binds it to a check without changing how the document renders. A comment
may name several checks and an attestation, separated by ``;``
(``<!-- golive: memory min_gib=2; cpu min=1; attest -->``); several comments
on one line are read as one binding. Everything else (prose, tables, code
blocks) is ignored.

Parsing is done by markdown-it-py, a CommonMark parser, so code fences,
indentation and HTML blocks mean what they mean to every renderer, and a
line inside a code block never becomes an item.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_golive.checklist.model import (
    BindingError,
    Item,
    LineBinding,
    canonical_sections,
    marker_name,
    parse_duration,
    parse_line_binding,
    repair_mojibake,
    slugify,
)

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_TASK = re.compile(r"^\[([ xX])\][ \t]+", re.DOTALL)
_BINDING = re.compile(r"<!--\s*golive\s*:(.*?)-->", re.DOTALL | re.IGNORECASE)
_ANY_BINDING = re.compile(r"<!--\s*golive\b", re.IGNORECASE)
#: Code spans, then emphasis as *pairs* of delimiters around text: a lone ``*`` or ``_`` is
#: text ("CORS origins restricted (not ["*"])", "Signed: ______ Date: ______").
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_STRONG = re.compile(r"(\*\*|__)(?=[^\s*_])(.+?)(?<=[^\s*_])\1")
_EM = re.compile(r"(?<![\w*])(\*|_)(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?![\w*])")

# Only block structure is needed: inline tokens keep their raw content, so the
# (slow) inline rules are switched off. A 5 MB checklist parses in seconds.
@functools.cache
def parser() -> MarkdownIt:
    """The CommonMark parser, made on first use (not when pytest loads the plugin)."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).disable(
        ["inline", "text_join"], ignoreInvalid=True
    )


class ChecklistError(Exception):
    """One or more checklist lines cannot be read; each line of the message is FILE:LINE: what."""


def read_markdown(path: str | Path, text: str | None = None) -> list[Item]:
    """Items of a Markdown checklist, in document order.

    Raises :class:`ChecklistError` listing every malformed binding at once.
    """
    path = Path(path)
    if text is None:
        text = read_text(path)
    source = str(path)
    tokens = parser().parse(text)
    items: list[Item] = []
    errors: list[str] = []
    heading = ""
    parent_heading = ""
    headings: dict[int, str] = {}
    # Stack of open list items: the Item each one produced (or None).
    stack: list[Item | None] = []
    seen: dict[str, int] = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            level = int(tok.tag[1])
            title = _clean(tokens[i + 1].content) if i + 1 < len(tokens) else ""
            headings = {lv: t for lv, t in headings.items() if lv < level}
            headings[level] = title
            heading = title
            parent_heading = (
                headings[max(lv for lv in headings if lv < level)]
                if any(lv < level for lv in headings)
                else ""
            )
        elif tok.type == "list_item_open":
            item = None
            inline, extra = _item_content(tokens, i)
            if inline is not None:
                match = _TASK.match(inline.content)
                if match:
                    line = (tok.map[0] + 1) if tok.map else 0
                    parent = next((p for p in reversed(stack) if p is not None), None)
                    try:
                        item = _make_item(
                            source,
                            line,
                            inline.content,
                            match,
                            extra,
                            heading,
                            parent_heading,
                            parent,
                            seen,
                        )
                    except BindingError as exc:
                        errors.append(f"{source}:{line}: {exc}")
                    if item is not None:
                        if parent is not None:
                            parent.group = True
                        items.append(item)
            stack.append(item)
        elif tok.type == "list_item_close":
            stack.pop()
        i += 1
    if errors:
        raise ChecklistError("\n".join(errors))
    return items


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ChecklistError(f"{path}: cannot read checklist: {exc.strerror or exc}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Saved as UTF-16 (Windows editors' "Unicode"): read as cp1252 it held no line
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ChecklistError(f"{path}: starts as UTF-16 but is not (byte {exc.start}): "
                                 "save it as UTF-8") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A checklist saved in a legacy encoding: read it rather than refuse it.
        return data.decode("cp1252", errors="replace")


def _item_content(tokens: list[Token], start: int) -> tuple[Token | None, list[str]]:
    """The first inline token of a list item, and HTML blocks before any nested list."""
    depth = 0
    inline = None
    extra: list[str] = []
    for index in range(start + 1, len(tokens)):
        tok = tokens[index]
        if tok.type == "list_item_open":
            depth += 1
        elif tok.type == "list_item_close":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and tok.type in ("bullet_list_open", "ordered_list_open"):
            break
        elif depth == 0 and tok.type == "inline" and inline is None:
            inline = tok
        elif depth == 0 and tok.type == "html_block" and _ANY_BINDING.search(tok.content):
            extra.append(tok.content)
    return inline, extra


def _make_item(
    source: str,
    line: int,
    content: str,
    match: re.Match[str],
    extra: list[str],
    heading: str,
    parent_heading: str,
    parent: Item | None,
    seen: dict[str, int],
) -> Item:
    raw = content[match.end() :]
    bindings = [m.group(1) for m in _BINDING.finditer(raw)] + [
        m.group(1) for blk in extra for m in _BINDING.finditer(blk)
    ]
    unclosed = _ANY_BINDING.search(_BINDING.sub("", raw)) or any(
        _ANY_BINDING.search(_BINDING.sub("", blk)) for blk in extra
    )
    if unclosed:
        raise BindingError("binding comment is not closed: write <!-- golive: CHECK key=value -->")
    title = _clean(_BINDING.sub("", raw))
    parsed = LineBinding()
    binding_text = None
    if bindings:
        # Several comments on one line are one binding: their parts add up.
        binding_text = "; ".join(" ".join(b.split()) for b in bindings)
        parsed = parse_line_binding(binding_text)
    options = parsed.options
    section_title = heading or "General"
    section = slugify(section_title)
    explicit = options.get("id")
    if explicit:
        item_id = f"{section}/{explicit}"
    elif parent is not None:
        item_id = f"{parent.id}/{slugify(title)}"
    else:
        item_id = f"{section}/{slugify(title)}"
    if item_id in seen:
        if explicit:
            raise BindingError(f"id '{explicit}' is used twice in section '{section}'")
        seen[item_id] += 1
        item_id = f"{item_id}-{seen[item_id]}"
    else:
        seen[item_id] = 1
    canon = canonical_sections(heading) or canonical_sections(parent_heading)
    markers = tuple(dict.fromkeys((marker_name(section), *canon)))
    return Item(
        id=item_id,
        section=section,
        section_title=section_title,
        title=title or "(untitled)",
        bindings=parsed.bindings,
        attest=parsed.attest,
        targets=options.get("targets"),
        severity=options.get("severity", "blocker"),
        retry=(parse_duration(options["retry"], f"{source}:{line}: retry=")
               if "retry" in options else None),
        source=source,
        line=line,
        parent=parent.id if parent else None,
        checked=match.group(1) in "xX",
        markers=markers,
        explicit_id=bool(explicit),
        binding=binding_text,
    )


def _clean(text: str) -> str:
    """Visible text of a line: no emphasis markers, no comments, one line."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    if "*" in text or "_" in text or "`" in text:
        text = _without_markup(text)
    text = repair_mojibake(text)
    return " ".join(text.split()).strip()


def _without_markup(text: str) -> str:
    """The text of emphasis and code spans without their delimiters; code kept as written."""
    parts = _CODE_SPAN.split(text)  # text, ticks, code, text, ticks, code, ..., text
    out = []
    for i, part in enumerate(parts):
        if i % 3 == 1:
            continue
        if i % 3 == 0:
            before = None
            while before != part:  # nested: ***both***, **a *b* c**
                before, part = part, _EM.sub(r"\2", _STRONG.sub(r"\2", part))
        out.append(part)
    return "".join(out)


def count_task_lines(text: str) -> int:
    """How many task-list lines a document has outside code blocks (for tests and coverage)."""
    count = 0
    fence = None
    for line in text.splitlines():
        stripped = line.lstrip()
        m = re.match(r"(`{3,}|~{3,})", stripped)
        if m:
            if fence is None:
                fence = m.group(1)[0]
            elif stripped.startswith(fence * 3):
                fence = None
            continue
        if fence is None and re.match(r"\s*(?:[-*+]|\d+[.)])\s+\[[ xX]\]\s", line):
            count += 1
    return count
