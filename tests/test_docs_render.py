"""Every docs page renders as written: fences closed, internal links resolve, tables parse.

``mkdocs build --strict`` did not notice an unclosed code fence that turned the
whole configuration reference into one code block. Each page is parsed here
with a CommonMark parser (markdown-it-py, tables enabled as in mkdocs.yml) and
checked for what a reader would see broken.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def slug(text: str) -> str:
    """The anchor mkdocs' toc extension gives a heading."""
    value = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[-\s]+", "-", value)


def _inline_text(token: Token) -> str:
    return "".join(child.content for child in token.children or [] if child.type in (
        "text", "code_inline"))


def anchors(tokens: list[Token]) -> set[str]:
    out: set[str] = set()
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            base = slug(_inline_text(tokens[i + 1]))
            name, n = base, 0
            while name in out:  # a repeated heading gets _1, _2 as in Python-Markdown
                n += 1
                name = f"{base}_{n}"
            out.add(name)
    return out


def unclosed_fences(source: str, tokens: list[Token]) -> list[int]:
    """Line numbers (1-based) of fences that run to the end of the page."""
    lines = source.splitlines()
    bad = []
    for token in tokens:
        if token.type != "fence" or token.map is None:
            continue
        start, end = token.map
        marker = token.markup
        last = lines[end - 1].strip() if end - 1 > start and end - 1 < len(lines) else ""
        closed = last.startswith(marker[0] * len(marker)) and set(last) <= {marker[0]}
        if not closed:
            bad.append(start + 1)
    return bad


def stray_table_rows(source: str, tokens: list[Token]) -> list[int]:
    """Lines that look like table rows but are in no table the parser found."""
    covered: set[int] = set()
    for token in tokens:
        if token.map and token.type in ("table_open", "fence", "code_block", "html_block"):
            covered.update(range(token.map[0], token.map[1]))
    return [
        number + 1 for number, line in enumerate(source.splitlines())
        if line.lstrip().startswith("|") and line.rstrip().endswith("|") and number not in covered
    ]


def links(tokens: list[Token]) -> list[str]:
    out = []
    for token in tokens:
        for child in token.children or []:
            if child.type == "link_open":
                out.append(str(child.attrs.get("href", "")))
    return out


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_renders_as_written(page: Path) -> None:
    source = page.read_text(encoding="utf-8")
    tokens = _parser().parse(source)
    assert not unclosed_fences(source, tokens), (
        f"{page.name}: code fence opened on line(s) {unclosed_fences(source, tokens)} is never "
        "closed: everything after it renders as code")
    assert not stray_table_rows(source, tokens), (
        f"{page.name}: line(s) {stray_table_rows(source, tokens)} look like table rows but do "
        "not parse as a table (a missing |---| line, or a column count that differs)")
    own = anchors(tokens)
    broken = []
    for href in links(tokens):
        if re.match(r"^[a-z][a-z0-9+.-]*:", href) or not href:
            continue  # an external link or mailto: not checked here
        target, _, anchor = href.partition("#")
        if target:
            path = (page.parent / target).resolve()
            if not (path.is_file() or (target.endswith("/") and path.is_dir())):
                broken.append(f"{href} (no file {target})")
                continue
            if anchor and path.suffix == ".md":
                if anchor not in anchors(_parser().parse(path.read_text(encoding="utf-8"))):
                    broken.append(f"{href} (no heading #{anchor} in {target})")
        elif anchor not in own:
            broken.append(f"{href} (no heading #{anchor} on this page)")
    assert not broken, f"{page.name}: broken internal links: {', '.join(broken)}"


# --- the checks themselves catch what they promise -------------------------------------


def test_an_unclosed_fence_is_caught() -> None:
    source = "# T\n\n```toml\na = 1\n\n## Next\n\ntext\n"
    assert unclosed_fences(source, _parser().parse(source)) == [3]
    closed = "# T\n\n```toml\na = 1\n```\n\n## Next\n"
    assert unclosed_fences(closed, _parser().parse(closed)) == []
    longer = "````\n```\ninner\n```\n````\n"
    assert unclosed_fences(longer, _parser().parse(longer)) == []


def test_a_table_that_does_not_parse_is_caught() -> None:
    good = "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert stray_table_rows(good, _parser().parse(good)) == []
    no_delimiter = "| a | b |\n| 1 | 2 |\n"
    assert stray_table_rows(no_delimiter, _parser().parse(no_delimiter)) == [1, 2]
    wrong_count = "| a | b |\n|---|\n| 1 | 2 |\n"
    assert stray_table_rows(wrong_count, _parser().parse(wrong_count)) == [1, 2, 3]


def test_anchors_follow_mkdocs() -> None:
    source = "# The report\n## What needs attention, first\n## `golive bundle`\n## Exit codes\n"
    assert anchors(_parser().parse(source)) == {
        "the-report", "what-needs-attention-first", "golive-bundle", "exit-codes"}
