"""``golive import``: propose a check binding for every checklist line a machine can check.

A team's checklist is written for people, in their own words, so lines are
matched by meaning (:mod:`pytest_golive.tools.import_rules`), never by the wording
of any particular checklist. This module handles the document and the
command: finding the lines, deciding, writing, reporting coverage.

The document is edited surgically: a binding comment is appended to the
end of an item's text, and nothing else changes (byte for byte, line endings
and code blocks included). A line that already has a ``golive`` comment is
never touched, so re-running is idempotent and keeps bindings a person wrote
or edited. A proposal is written only when the catalog *at run time* accepts
its check and parameters (``REGISTRY.get(name).validate(params)``) and its
confidence is high enough; everything else is reported as unsure, with the
proposal, for a person to decide.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from markdown_it.token import Token

from pytest_golive.checklist.markdown import (
    _ANY_BINDING,
    _TASK,
    ChecklistError,
    _clean,
    parser,
    read_markdown,
)
from pytest_golive.checklist.model import BindingError, parse_binding
from pytest_golive.checks.registry import REGISTRY, CheckDefinitionError, Registry
from pytest_golive.tools.import_rules import Line, Proposal, propose

#: A proposal at least this sure is written; below it, it is reported as unsure.
BIND_THRESHOLD = 0.6
#: Below this, a proposal is not even worth showing: the line is manual.
SHOW_THRESHOLD = 0.3

EXIT_OK = 0
EXIT_INTERNAL = 3
EXIT_USAGE = 4


# --- the document -------------------------------------------------------------------


def scan(text: str) -> list[Line]:
    """The task-list lines of a Markdown document, with their context.

    Uses the same CommonMark parser as the checklist reader, so a line in a
    code block is never a checklist line here either.
    """
    tokens = parser().parse(text)
    lines: list[Line] = []
    headings: dict[int, str] = {}
    stack: list[int | None] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            level = int(tok.tag[1])
            headings = {lv: t for lv, t in headings.items() if lv < level}
            headings[level] = _clean(tokens[i + 1].content) if i + 1 < len(tokens) else ""
        elif tok.type == "list_item_open":
            entry = _task_line(tokens, i, headings, stack, lines)
            if entry is not None:
                parent = next((p for p in reversed(stack) if p is not None), None)
                entry.parent = parent
                if parent is not None:
                    lines[parent].children.append(len(lines))
                lines.append(entry)
                stack.append(len(lines) - 1)
            else:
                stack.append(None)
        elif tok.type == "list_item_close":
            stack.pop()
        i += 1
    return lines


def _task_line(
    tokens: list[Token], start: int, headings: dict[int, str], stack: list[int | None], lines: list[Line]
) -> Line | None:
    depth = 0
    inline: Token | None = None
    para_line: int | None = None
    para_last: int | None = None
    code: list[str] = []
    html: list[str] = []
    for j in range(start + 1, len(tokens)):
        tok = tokens[j]
        if tok.type == "list_item_open":
            depth += 1
        elif tok.type == "list_item_close":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and tok.type == "paragraph_open" and inline is None and tok.map:
            para_line, para_last = tok.map[0], tok.map[1] - 1
        elif depth == 0 and tok.type == "inline" and inline is None:
            inline = tok
        elif depth == 0 and tok.type in ("fence", "code_block"):
            code.append(tok.content)
        elif depth == 0 and tok.type == "html_block":
            html.append(tok.content)
    if inline is None or para_line is None:
        return None
    match = _TASK.match(inline.content)
    if not match:
        return None
    raw = inline.content[match.end():]
    existing = re.search(r"<!--\s*golive\s*:(.*?)-->", raw + "".join(html), re.DOTALL | re.IGNORECASE)
    has_binding = bool(_ANY_BINDING.search(raw) or any(_ANY_BINDING.search(h) for h in html))
    spans = re.findall(r"`([^`]+)`", raw)
    parents = [lines[p].title for p in stack if p is not None]
    context = " / ".join([*(headings[k] for k in sorted(headings)), *parents])
    return Line(
        number=(tokens[start].map[0] + 1) if tokens[start].map else para_line + 1,
        # The end of the item's paragraph: never inside a hard line break, which
        # a comment after a trailing backslash would turn into visible text.
        index=para_last if para_last is not None else para_line,
        title=_clean(raw),
        marked=" ".join(re.sub(r"<!--.*?-->|\*\*|__", "", raw, flags=re.DOTALL).split()),
        context=context,
        code="\n".join([*spans, *code]),
        has_binding=has_binding,
        existing=" ".join(existing.group(1).split()) if existing else None,
    )


def annotate(text: str, bindings: dict[int, str]) -> str:
    """``text`` with ``<!-- golive: BINDING -->`` appended to the given 0-based lines.

    Trailing whitespace and the line ending stay where they were, so
    removing the comments gives back the original bytes.
    """
    parts = text.splitlines(keepends=True)
    for index, binding in bindings.items():
        line = parts[index]
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        content = body.rstrip()
        trailing = body[len(content):]
        parts[index] = f"{content} {comment(binding)}{trailing}{ending}"
    return "".join(parts)


def comment(binding: str) -> str:
    return f"<!-- golive: {binding} -->"


def strip_bindings(text: str) -> str:
    """The inverse of :func:`annotate` for comments it wrote (used to prove nothing else changed)."""
    return re.sub(r" <!-- golive: [^\n]*? -->", "", text)


def format_binding(check: str, params: dict[str, str]) -> str:
    words = [check]
    for key, value in params.items():
        words.append(f"{key}={_quote(str(value))}")
    return " ".join(words)


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[\w./:,+*@%=<>-]+", value) else shlex.quote(value)


@dataclass
class Decision:
    line: Line
    status: str  # "kept", "bound", "unsure", "manual"
    binding: str | None = None
    proposal: Proposal | None = None
    note: str = ""



# --- deciding -----------------------------------------------------------------------


def resolve(proposal: Proposal, registry: Registry = REGISTRY) -> tuple[str | None, str]:
    """The first candidate the catalog accepts, as binding text, or (None, why not)."""
    why = ""
    for name, params in proposal.candidates:
        if name not in registry:
            why = why or f"check '{name}' is not in the catalog"
            continue
        if any("--" in str(v) for v in params.values()):
            continue
        try:
            registry.get(name).validate(params)
        except CheckDefinitionError as exc:
            why = str(exc)
            continue
        text = format_binding(registry.get(name).name, params)
        try:
            parse_binding(text)
        except BindingError as exc:
            why = str(exc)
            continue
        return text, ""
    return None, why or "no candidate fits the catalog"


def decide(lines: list[Line], registry: Registry = REGISTRY) -> list[Decision]:
    """A decision for every line: kept, bound, unsure or manual."""
    for entry in lines:
        entry.children_text = [lines[c].lower for c in entry.children]
    decisions: list[Decision] = []
    for entry in lines:
        if entry.has_binding:
            if entry.existing is None:
                decisions.append(Decision(entry, "manual", None, None, "its binding cannot be read; left as it is"))
                continue
            kept = "manual" if entry.existing.split()[:1] == ["manual"] else "kept"
            decisions.append(Decision(entry, kept, entry.existing))
            continue
        proposal = propose(entry)
        if proposal is None or proposal.confidence < SHOW_THRESHOLD:
            decisions.append(Decision(entry, "manual"))
            continue
        binding, why = resolve(proposal, registry)
        if binding and proposal.confidence >= BIND_THRESHOLD:
            decisions.append(Decision(entry, "bound", binding, proposal))
        else:
            suggestion = binding or format_binding(*proposal.candidates[0])
            note = why if not binding else "low confidence"
            decisions.append(Decision(entry, "unsure", suggestion, proposal, note))
    _demote_redundant_groups(lines, decisions)
    return decisions


def _demote_redundant_groups(lines: list[Line], decisions: list[Decision]) -> None:
    """A group line whose sub-items already carry its check is left to them."""
    for i, entry in enumerate(lines):
        d = decisions[i]
        if d.status != "bound" or not entry.children:
            continue
        check = (d.binding or "").split()[0]
        if any((decisions[c].binding or "").split()[:1] == [check] for c in entry.children):
            decisions[i] = Decision(entry, "unsure", d.binding, d.proposal, "its sub-items carry this check")


@dataclass
class Coverage:
    lines: int
    bound: int
    new: int
    kept: int
    manual: int
    unsure: list[Decision]


def coverage(decisions: Iterable[Decision]) -> Coverage:
    decisions = list(decisions)
    new = sum(d.status == "bound" for d in decisions)
    kept = sum(d.status == "kept" for d in decisions)
    unsure = [d for d in decisions if d.status == "unsure"]
    return Coverage(len(decisions), new + kept, new, kept, len(decisions) - new - kept, unsure)


def import_text(text: str, registry: Registry = REGISTRY) -> tuple[str, list[Decision]]:
    """The annotated text and the decision for every line (a pure function: no I/O)."""
    lines = scan(text)
    decisions = decide(lines, registry)
    bindings = {d.line.index: d.binding for d in decisions if d.status == "bound" and d.binding}
    return annotate(text, bindings), decisions


# --- the command --------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the codec that gives back the same bytes when writing."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # latin-1 maps every byte to one character and back: the file round-trips exactly.
        return data.decode("latin-1"), "latin-1"


def run_import(path: Path, write: bool, out: TextIO = sys.stdout) -> int:
    """Annotate the checklist at ``path`` (or only report, when ``write`` is false).

    Returns an exit code: 0 done, 3 internal error (nothing written), 4 usage
    error (a file that cannot be read).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"golive import: {path}: cannot read: {exc.strerror or exc}", file=_errors(out))
        return EXIT_USAGE
    if not path.is_file():
        print(f"golive import: {path}: not a file", file=_errors(out))
        return EXIT_USAGE
    if path.suffix.lower() in (".yml", ".yaml"):
        print(f"golive import: {path}: a YAML checklist names its checks already; import reads Markdown", file=_errors(out))
        return EXIT_USAGE
    text, codec = _decode(data)
    try:
        read_markdown(path, text)
        broken_before = ""
    except ChecklistError as exc:
        broken_before = str(exc)
    new_text, decisions = import_text(text)
    if not broken_before:
        try:
            read_markdown(path, new_text)
        except ChecklistError as exc:  # a proposal the reader cannot read: write nothing
            print(f"golive import: internal error, {path} left unchanged:\n{exc}", file=_errors(out))
            return EXIT_INTERNAL
    report(path, decisions, out)
    if broken_before:
        print(f"\nlines with a binding the reader rejects (left as they are):\n{broken_before}", file=out)
    cov = coverage(decisions)
    if write and cov.new:
        path.write_bytes(new_text.encode(codec))
        print(f"\nwrote {cov.new} new binding(s) to {path}", file=out)
    elif write:
        print(f"\nnothing new to bind; {path} unchanged", file=out)
    else:
        print(f"\ndry run: {path} unchanged (run without --dry-run to write the {cov.new} binding(s))", file=out)
    return EXIT_OK


def _errors(out: TextIO) -> TextIO:
    """Where mistakes go: stderr when the report goes to stdout, else the same stream."""
    return sys.stderr if out is sys.stdout else out


def report(path: Path, decisions: list[Decision], out: TextIO) -> None:
    cov = coverage(decisions)
    pct = (100 * cov.bound / cov.lines) if cov.lines else 0.0
    print(f"{path}: {cov.lines} checklist lines", file=out)
    print(f"  bound   {cov.bound:4d}  ({pct:.0f}%: {cov.new} new, {cov.kept} kept)", file=out)
    print(f"  manual  {cov.manual:4d}  (a person signs these)", file=out)
    print(f"  unsure  {len(cov.unsure):4d}  (not written: review below)", file=out)
    bound = [d for d in decisions if d.status == "bound"]
    if bound:
        print("\nnew bindings:", file=out)
        for d in bound:
            guess = f"  [guessed: {', '.join(d.proposal.guessed)}]" if d.proposal and d.proposal.guessed else ""
            print(f"  L{d.line.number:<5d} {d.binding:<48s} {_short(d.line.title)}{guess}", file=out)
    if cov.unsure:
        print("\nunsure (confidence, suggestion, why):", file=out)
        for d in cov.unsure:
            conf = d.proposal.confidence if d.proposal else 0.0
            why = d.note if d.note and d.note != "low confidence" else (d.proposal.reason if d.proposal else "")
            print(f"  L{d.line.number:<5d} {conf:.0%}  {d.binding or '?':<40s} {_short(d.line.title)}  ({why})", file=out)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def scaffold_init(directory: Path, out: TextIO = sys.stdout) -> int:
    """``golive init``: write the starter files into ``directory`` (see :mod:`pytest_golive.tools.scaffold`)."""
    from pytest_golive.tools.scaffold import scaffold_init as scaffold

    return scaffold(Path(directory), out)
