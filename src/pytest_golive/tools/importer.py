"""``golive import``: propose check bindings for every checklist line a machine can check.

A team's checklist is written for people, in their own words, so lines are
matched by meaning (every rule of :data:`pytest_golive.checks.rules.RULES`,
declared next to the checks they propose), never by the wording of any
particular checklist. This module handles the document and the command:
finding the lines, reading their structure, deciding, writing, reporting.

What a written binding promises:

- it collects: every check and parameter is validated exactly as collection
  validates it (:func:`pytest_golive.checks.rules.validate_params`);
- it cannot pass without checking its line: a host path or a number the line
  does not name becomes a ``${variable}`` of the environment (an unset one
  makes the item "not configured"), never a default that an unrelated system
  satisfies (``/var/backups``);
- a line naming several requirements gets several checks
  (``memory min_gib=2; cpu min=1``); a line a machine proves only in part
  gets ``; attest`` as well;
- structure counts: a group line is the sum of its sub-items and is never
  bound from their words; lines under recurring-operations headings
  ("Weekly Maintenance", "Post-deployment review") stay manual; a line that
  says it is optional or has a default does not block.

The document is edited surgically: a binding comment is appended to the
end of an item's text, and nothing else changes (byte for byte, line endings
and code blocks included). A line that already has a ``golive`` comment is
never touched, so re-running is idempotent and keeps bindings a person wrote.
"""

from __future__ import annotations

import enum
import os
import re
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
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
from pytest_golive.checklist.model import (
    Binding,
    BindingError,
    LineBinding,
    parse_line_binding,
)
from pytest_golive.checks.registry import REGISTRY, CheckDefinitionError, Registry
from pytest_golive.checks.rules import Line, Proposal, validate_params, variables_of
from pytest_golive.tools.import_rules import adjust, names_one_test, propose_all

#: Checks that judge a whole test report: they cannot prove that one named test ran.
_WHOLE_REPORT = ("junit_report",)

#: A proposal at least this sure is written; below it, it is reported as unsure.
BIND_THRESHOLD = 0.6
#: Below this, a proposal is not even worth showing: the line is manual.
SHOW_THRESHOLD = 0.3

EXIT_OK = 0
EXIT_INTERNAL = 3
EXIT_USAGE = 4


class Status(enum.StrEnum):
    """What the importer decided for one line."""

    KEPT = "kept"  # a binding a person wrote (or an earlier import): never touched
    BOUND = "bound"  # a new binding is written
    UNSURE = "unsure"  # a proposal, not written: a person decides
    MANUAL = "manual"  # only a person can sign it
    GROUP = "group"  # the sum of its sub-items


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
    by_heading: dict[tuple[str, ...], list[Line]] = {}
    for entry in lines:
        by_heading.setdefault(entry.headings, []).append(entry)
    for group in by_heading.values():
        for entry in group:
            entry.section_text = "\n".join(o.title for o in group if o is not entry)
    return lines


def _task_line(
    tokens: list[Token],
    start: int,
    headings: dict[int, str],
    stack: list[int | None],
    lines: list[Line],
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
    raw = inline.content[match.end() :]
    found = [
        " ".join(m.group(1).split())
        for m in re.finditer(
            r"<!--\s*golive\s*:(.*?)-->", raw + "".join(html), re.DOTALL | re.IGNORECASE
        )
    ]
    has_binding = bool(_ANY_BINDING.search(raw) or any(_ANY_BINDING.search(h) for h in html))
    spans = re.findall(r"`([^`]+)`", raw)
    parents = [lines[p].title for p in stack if p is not None]
    ordered = tuple(headings[k] for k in sorted(headings))
    context = " / ".join([*ordered, *parents])
    where = tokens[start].map
    return Line(
        number=(where[0] + 1) if where else para_line + 1,
        # The end of the item's paragraph: never inside a hard line break, which
        # a comment after a trailing backslash would turn into visible text.
        index=para_last if para_last is not None else para_line,
        title=_clean(raw),
        marked=" ".join(re.sub(r"<!--.*?-->|\*\*|__", "", raw, flags=re.DOTALL).split()),
        context=context,
        code="\n".join([*spans, *code]),
        has_binding=has_binding,
        existing="; ".join(found) if found else None,
        headings=ordered,
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
    """The inverse of :func:`annotate` for the comments it wrote (proves nothing else changed)."""
    return re.sub(r" <!-- golive: [^\n]*? -->", "", text)


def format_binding(check: str, params: dict[str, str]) -> str:
    return Binding(check, dict(params)).text()


@dataclass
class Decision:
    line: Line
    status: Status
    binding: str | None = None
    proposal: Proposal | None = None
    note: str = ""
    #: ``${variables}`` the binding needs from the environment.
    variables: tuple[str, ...] = ()
    #: Why, per check (or why the line stays manual).
    reasons: tuple[str, ...] = field(default_factory=tuple)


# --- structure ----------------------------------------------------------------------

#: Headings under which lines are recurring operations, not release gates.
_OPERATIONS = re.compile(
    r"\b(daily|weekly|monthly|quarterly|yearly|annual|nightly|recurring|ongoing|routine|periodic)\b"
    r"[^/]*\b(tasks?|maintenance|checks?|operations|duties|routines?|reviews?|jobs?)\b"
    r"|\bmaintenance\b|\bpost[- ]?(deployment|launch|release) review\b|\bretrospective\b"
    r"|\bpost[- ]?launch\b|\brollback procedure\b|\bfirst \d+ (hours|days)\b|\b\d+[- ]hours? "
    r"health\b",
    re.IGNORECASE,
)
_CONTAINER_SECTION = re.compile(
    r"\b(docker|containers?|compose|kubernetes|k8s|pods?|helm|images?)\b", re.I
)
#: A default or an optional clause on the line: the line does not block.
_DEFAULT = re.compile(r"\(?\s*\bdefaults?(?:\s+is|\s+to|:)?\s+[`'\"]?[\w./:-]+[`'\"]?\s*\)?", re.I)
_OPTIONAL = re.compile(
    r"\boptional(ly)?\b|\bif "
    r"(implemented|applicable|needed|used|using|required|any|enabled|available)\b"
    r"|\(if\b|\bnice to have\b|\bwhere applicable\b|\bwhen (used|applicable|enabled)\b",
    re.IGNORECASE,
)
#: Words that leave a part of a machine-checked line to a person.
_PARTLY = re.compile(
    r"\b(strategy|obtained and tested|and tested|tested successfully|properly|correctly)\b", re.I
)


def operations_heading(line: Line) -> str | None:
    """The nearest heading that makes the line a recurring task, if any."""
    for heading in reversed(line.headings[-2:]):
        if _OPERATIONS.search(heading):
            return heading
    return None


def container_section(line: Line) -> bool:
    return any(_CONTAINER_SECTION.search(h) for h in line.headings[-2:]) or bool(
        line.parent is not None and _CONTAINER_SECTION.search(line.context.rsplit(" / ", 1)[-1])
    )


# --- variables ----------------------------------------------------------------------

#: Names of the variables a binding needs, by (check, parameter).
_NAMES: dict[tuple[str, str], str] = {
    ("cpu", "min"): "min_cpus",
    ("memory", "min_gib"): "min_memory_gib",
    ("disk_free", "min_gib"): "min_free_gib",
    ("disk_size", "min_gib"): "min_disk_gib",
    ("cpu_usage", "max_percent"): "max_cpu_percent",
    ("memory_usage", "max_percent"): "max_memory_percent",
    ("user", "name"): "app_user",
    ("service", "name"): "app_service",
    ("process", "name"): "app_process",
    ("packages", "names"): "system_packages",
    ("package", "name"): "package",
    ("port_listening", "port"): "app_port",
    ("db_exists", "name"): "database_name",
    ("db_tables", "tables"): "required_tables",
    ("db_least_privilege", "privileges"): "app_privileges",
    ("db_least_privilege", "schemas"): "app_schemas",
    ("db_query", "sql"): "sample_data_query",
    ("db_replication_lag", "max_seconds"): "max_replication_lag_s",
    ("http_latency", "p95_ms"): "max_latency_ms",
    ("logrotate", "path"): "log_file",
    ("cron_or_timer", "command"): "scheduled_command",
    ("tcp_reachable_from", "to"): "destination",
    ("env_required", "keys"): "required_keys",
}
_PATH_PARAMS = ("path", "directory")
_TOPICS = (
    ("backup", r"backups?|dumps?|snapshots?"),
    ("log", r"\blogs?\b|logging"),
    ("venv", r"virtual ?env\w*|\bvenv\b"),
    ("data", r"\bdata\b|sqlite|uploads?|storage"),
    ("config", r"config\w*"),
    ("cert", r"certificates?|\bcerts?\b"),
)


def variable_name(check: str, param: str, line: Line) -> str:
    if (check, param) in _NAMES:
        return _NAMES[(check, param)]
    if param in _PATH_PARAMS:
        text = f"{line.title} {line.context}".lower()
        topic = next((t for t, words in _TOPICS if re.search(words, line.title.lower())), None)
        topic = topic or next((t for t, words in _TOPICS if re.search(words, text)), "app")
        kind = "file" if param == "path" and check in ("file", "certificate_file") else "dir"
        return f"{topic}_{kind}"
    return f"{check}_{param}"


def with_variables(check: str, params: dict[str, str], proposal: Proposal, line: Line,
                   registry: Registry) -> dict[str, str]:
    """Parameters with guessed host paths and unknown required values as ``${variables}``.

    A host path the line does not name is a guess that an unrelated system
    may satisfy (``/var/backups`` is fresh on every Debian host); a number
    the line does not give cannot be made up. Both are left to the team.
    """
    chk = registry.get(check)
    out = dict(params)
    said = f"{line.title} {line.marked} {line.code}"
    if chk.target == "host":
        for key in _PATH_PARAMS:
            value = out.get(key)
            if (
                not value
                or "${" in value
                or value in said
                or value.rstrip("/") in said
                and value != "/"
            ):
                continue
            if value == "/" and check in ("disk_free", "disk_size") and not _purpose(line):
                continue  # "the host's storage": its root file system
            out[key] = f"${{{variable_name(check, key, line)}}}"
    for p in chk.params:
        if p.required and p.name not in out:
            out[p.name] = f"${{{variable_name(check, p.name, line)}}}"
    return out


def _purpose(line: Line) -> bool:
    """The line names what the space is for (logs, backups, data), not just "storage"."""
    return bool(
        re.search(
            r"\b(logs?|backups?|dumps?|uploads?|database|data|media|cache)\b", line.title, re.I
        )
    )


# --- deciding -----------------------------------------------------------------------


def resolve(proposal: Proposal, registry: Registry = REGISTRY,
            line: Line | None = None) -> tuple[list[Binding], str]:
    """The bindings a proposal stands for, validated as collection validates them.

    The first candidate the catalog accepts, then every ``also`` check; an
    empty list and why not when none fits.
    """
    why = ""
    chosen: Binding | None = None
    for name, params in proposal.candidates:
        binding, why_not = _valid(name, params, proposal, registry, line)
        if binding is not None:
            chosen = binding
            break
        why = why or why_not
    if chosen is None:
        return [], why or "no candidate fits the catalog"
    found = [chosen]
    for name, params in proposal.also:
        binding, why_not = _valid(name, params, proposal, registry, line)
        if binding is None:
            return [], why_not
        found.append(binding)
    return found, ""


def _valid(name: str, params: dict[str, str], proposal: Proposal, registry: Registry,
           line: Line | None) -> tuple[Binding | None, str]:
    if name not in registry:
        return None, f"check '{name}' is not in the catalog"
    if any("--" in str(v) for v in params.values()):
        return None, "a parameter value holds '--', which would end the comment"
    chk = registry.get(name)
    if line is not None:
        params = with_variables(chk.name, params, proposal, line, registry)
    try:
        validate_params(chk, params)
        text = Binding(chk.name, dict(params)).text()
        parse_line_binding(text)
    except (CheckDefinitionError, BindingError) as exc:
        return None, str(exc)
    return Binding(chk.name, dict(params)), ""


def decide(lines: list[Line], registry: Registry = REGISTRY) -> list[Decision]:
    """A decision for every line: kept, bound, unsure, manual or group."""
    registry.names()  # load the catalog: its modules declare the rules
    for entry in lines:
        entry.children_text = [lines[c].lower for c in entry.children]
    return [_decide(entry, registry) for entry in lines]


def _decide(entry: Line, registry: Registry) -> Decision:
    if entry.has_binding:
        if entry.existing is None:
            return Decision(
                entry, Status.MANUAL, None, None, "its binding cannot be read; left as it is"
            )
        try:
            parsed = parse_line_binding(entry.existing)
        except BindingError as exc:
            return Decision(entry, Status.KEPT, entry.existing,
                            note=f"kept as written, but it cannot be read: {exc}")
        if parsed.manual:
            return Decision(entry, Status.MANUAL, entry.existing)
        return Decision(entry, Status.KEPT, entry.existing, note=_collects(parsed, registry))
    if entry.children:
        return Decision(
            entry,
            Status.GROUP,
            None,
            None,
            f"a group line: the sum of its {len(entry.children)} sub-item(s)",
        )
    ops = operations_heading(entry)
    if ops:
        return Decision(
            entry,
            Status.MANUAL,
            None,
            None,
            f"a recurring operations task (under '{ops}'), not a release gate",
        )
    if (
        container_section(entry)
        and re.search(r"\bhealth ?checks?\b|\bhealthy\b", entry.lower)
        and not re.search(r"endpoint|url|/\w", entry.lower)
    ):
        return _container_health(entry, registry)
    return _plan(entry, registry)


def _container_health(entry: Line, registry: Registry) -> Decision:
    """Under a Docker/container heading, a health check is the container's, not an HTTP probe.

    "configured" is a property of the image or the Compose file (a
    HEALTHCHECK); "passing"/"healthy" is the running container's state.
    """
    configured = re.search(r"\b(configured|defined|set up|added|in place|present)\b", entry.lower)
    if configured:
        options = [("compose_service", {"path": "${compose_file}", "require": "healthcheck"}),
                   ("dockerfile", {"path": "${dockerfile}", "require": "healthcheck"})]
        reason = "a container health check is declared (Compose file or Dockerfile, a variable)"
    else:
        options = [("container", {"name": "${container}", "require": "running,healthy"})]
        reason = (
            "the container runs and its health check passes (the container's name is a variable)"
        )
    proposal = Proposal(options, 0.75, reason)
    bindings, why = resolve(proposal, registry, entry)
    if not bindings:
        return Decision(
            entry,
            Status.MANUAL,
            None,
            None,
            f"a container's health check (under a container heading): {why}",
        )
    variables = tuple(v for b in bindings for v in variables_of(b.params))
    return Decision(
        entry, Status.BOUND, LineBinding(tuple(bindings)).text(), proposal, "", variables, (reason,)
    )


def _collects(parsed: LineBinding, registry: Registry) -> str:
    """Why a binding already in the file would not collect ('' when it does)."""
    for one in parsed.bindings:
        if one.check not in registry:
            return f"kept as written, but it cannot collect: unknown check '{one.check}'"
        try:
            validate_params(registry.get(one.check), one.params)
        except CheckDefinitionError as exc:
            return f"kept as written, but it cannot collect: {exc}"
    return ""


def _plan(entry: Line, registry: Registry) -> Decision:
    optional = bool(_OPTIONAL.search(entry.title) or _DEFAULT.search(entry.title))
    line = _without_defaults(entry)
    whole = _best(line, registry)
    several = _per_clause(line, registry)
    distinct = {b.check for _, found in several for b in found}
    # The whole line read as one check explains only one of its clauses: the
    # others are requirements of their own. A richer whole-line reading wins.
    partial = whole is None or any(whole[1] == found for _, found in several)
    if several and partial and (whole is None or len(distinct) > 1):
        # Several requirements ("2 GB RAM, 1 CPU"); a list of names for one check
        # ("tables (A, B)") stays one binding when the whole line reads as one.
        plans = several
    elif whole is not None:
        plans = [whole]
    else:
        plans = []
    if not plans:
        delta = adjust(line)
        candidates = [
            replace(p, confidence=round(p.confidence + delta, 2)) for p in propose_all(line)
        ]
        candidates = [p for p in candidates if p.confidence > SHOW_THRESHOLD]
        if not candidates:
            why = (
                "its words are about a person's work"
                if delta < 0
                else "no catalog check fits its words"
            )
            return Decision(entry, Status.MANUAL, note=why)
        best = max(candidates, key=lambda p: p.confidence)
        bindings, why = resolve(best, registry, line)
        suggestion = (
            LineBinding(tuple(bindings)).text() if bindings else format_binding(*best.candidates[0])
        )
        return Decision(
            entry,
            Status.UNSURE,
            suggestion,
            best,
            why or f"low confidence ({best.confidence:.0%})",
            reasons=(best.reason,),
        )
    bindings = [b for _, found in plans for b in found]
    proposals = [p for p, _ in plans]
    attest = any(p.attest for p in proposals) or bool(_PARTLY.search(_words_only(entry)))
    options = {"severity": "warning"} if optional else {}
    text = LineBinding(tuple(_unique(bindings)), attest, options).text()
    variables = tuple(dict.fromkeys(v for b in bindings for v in variables_of(b.params)))
    reasons = tuple(p.reason for p in proposals)
    note = "; ".join(filter(None, (
        "optional or with a default: does not block" if optional else "",
        "a person attests the rest" if attest else "",
    )))
    return Decision(entry, Status.BOUND, text, proposals[0], note, variables, reasons)


def _unique(bindings: list[Binding]) -> list[Binding]:
    seen: list[Binding] = []
    for b in bindings:
        if b not in seen:
            seen.append(b)
    return seen


def _best(line: Line, registry: Registry) -> tuple[Proposal, list[Binding]] | None:
    """The most confident proposal that the catalog accepts and is sure enough to write."""
    found = sorted(propose_all(line), key=lambda p: -p.confidence)
    if names_one_test(line):
        found = [p for p in found if p.check not in _WHOLE_REPORT]
    delta = adjust(line)
    for proposal in found:
        confidence = proposal.confidence + delta
        if confidence < BIND_THRESHOLD:
            # Words about a person's work lower a sure machine reading: the machine
            # proves its part and a person attests the rest.
            if (
                delta < 0
                and proposal.confidence >= BIND_THRESHOLD
                and _PARTLY.search(_words_only(line))
            ):
                proposal = replace(proposal, attest=True)
            else:
                break
        bindings, _ = resolve(proposal, registry, line)
        if bindings:
            return proposal, bindings
    return None


def _words_only(line: Line) -> str:
    return re.sub(r"`[^`]*`", " ", line.marked)


def _without_defaults(line: Line) -> Line:
    """The line with a stated default removed: "(default: INFO)" is not a requirement."""
    title = _DEFAULT.sub(" ", line.title)
    marked = _DEFAULT.sub(" ", line.marked)
    if title == line.title:
        return line
    return replace(line, title=" ".join(title.split()), marked=" ".join(marked.split()))


_CLAUSE_SPLIT = re.compile(r"\s*(?:,|;|&|\+)\s*", re.IGNORECASE)
#: "and" joins two requirements when a number stands on each side ("4 cores and 16 GiB");
#: elsewhere it joins words of one ("enabled and running").
_AND_SPLIT = re.compile(r"(?<=\d)([^,;]*?)\s+\band\b\s+(?=[^,;]*\d)", re.IGNORECASE)


def clauses(line: Line) -> list[Line]:
    """The requirements a line names, each as a line of its own ("2 GB RAM, 1 CPU").

    A parenthesised list ("resources (CPU, RAM, storage)") keeps the words
    outside it in every clause.
    """
    paren = re.search(r"\(([^()]*(?:,|\band\b)[^()]*)\)", line.title)
    if paren:
        outside = (line.title[: paren.start()] + line.title[paren.end():]).strip()
        parts = [p for p in _CLAUSE_SPLIT.split(paren.group(1)) if p.strip()]
        texts = [f"{outside} {p}".strip() for p in parts]
    else:
        texts = [p for p in _CLAUSE_SPLIT.split(line.title) if p.strip()]
        texts = [
            part
            for t in texts
            for part in _AND_SPLIT.sub(r"\1 ;; ", t).split(" ;; ")
            if part.strip()
        ]
    if len(texts) < 2:
        return []
    return [replace(line, title=t, marked=t, code="") for t in texts]


def _per_clause(line: Line, registry: Registry) -> list[tuple[Proposal, list[Binding]]]:
    """One plan per clause, when at least two clauses each name a different check."""
    plans: list[tuple[Proposal, list[Binding]]] = []
    for clause in clauses(line):
        best = _best(clause, registry)
        if best is not None and all(best[1] != other for _, other in plans):
            plans.append(best)
    return plans if len(plans) > 1 else []


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
    new = sum(d.status == Status.BOUND for d in decisions)
    kept = sum(d.status == Status.KEPT for d in decisions)
    unsure = [d for d in decisions if d.status == Status.UNSURE]
    return Coverage(len(decisions), new + kept, new, kept, len(decisions) - new - kept, unsure)


def import_text(text: str, registry: Registry = REGISTRY) -> tuple[str, list[Decision]]:
    """The annotated text and the decision for every line (a pure function: no I/O)."""
    lines = scan(text)
    decisions = decide(lines, registry)
    bindings = {
        d.line.index: d.binding for d in decisions if d.status == Status.BOUND and d.binding
    }
    return annotate(text, bindings), decisions


# --- the command --------------------------------------------------------------------


#: The "codec" of a UTF-16 LE file with its byte-order mark, which is written back first.
UTF16_WITH_BOM = "utf-16-le+bom"


def _encode(text: str, codec: str) -> bytes:
    if codec == UTF16_WITH_BOM:
        return b"\xff\xfe" + text.encode("utf-16-le")
    return text.encode(codec)


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the codec that gives back the same bytes when writing."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig"), "utf-8-sig"
    if data.startswith(b"\xff\xfe"):
        # UTF-16 little-endian with its byte-order mark, as Windows editors save "Unicode"
        try:
            return data[2:].decode("utf-16-le"), UTF16_WITH_BOM
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # latin-1 maps every byte to one character and back: the file round-trips exactly.
        return data.decode("latin-1"), "latin-1"


def run_import(
    path: Path, write: bool, out: TextIO = sys.stdout, config: Path | None = None
) -> int:
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
        print(
            f"golive import: {path}: a YAML checklist names its checks already; import reads "
            "Markdown",
            file=_errors(out),
        )
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
            print(
                f"golive import: internal error, {path} left unchanged:\n{exc}", file=_errors(out)
            )
            return EXIT_INTERNAL
    report(path, decisions, out, verbose=not write)
    if broken_before:
        print(
            f"\nlines with a binding the reader rejects (left as they are):\n{broken_before}",
            file=out,
        )
    cov = coverage(decisions)
    if write and cov.new:
        path.write_bytes(_encode(new_text, codec))
        print(f"\nwrote {cov.new} new binding(s) to {path}", file=out)
    elif write:
        print(f"\nnothing new to bind; {path} unchanged", file=out)
    else:
        print(
            f"\ndry run: {path} unchanged (run without --dry-run to write the {cov.new} "
            "binding(s))",
            file=out,
        )
    variables = sorted({v for d in decisions if d.status == Status.BOUND for v in d.variables})
    if variables:
        print(
            "\nvariables the new bindings need (until set, their lines are 'not configured'):",
            file=out,
        )
        print("  [environments.ENV.vars]", file=out)
        for v in variables:
            print(f'  {v} = "..."', file=out)
    print("", file=out)
    print(add_to_config(path, write, config), file=out)
    return EXIT_OK


def _errors(out: TextIO) -> TextIO:
    """Where mistakes go: stderr when the report goes to stdout, else the same stream."""
    return sys.stderr if out is sys.stdout else out


def report(path: Path, decisions: list[Decision], out: TextIO, verbose: bool = False) -> None:
    """Coverage, then per line: the binding, the variables it needs, and why.

    ``verbose`` (``--dry-run``) lists every line, manual and group lines with
    their reason too.
    """
    cov = coverage(decisions)
    pct = (100 * cov.bound / cov.lines) if cov.lines else 0.0
    print(f"{path}: {cov.lines} checklist lines", file=out)
    print(f"  bound   {cov.bound:4d}  ({pct:.0f}%: {cov.new} new, {cov.kept} kept)", file=out)
    print(
        f"  manual  {cov.manual:4d}  (a person signs these; groups are the sum of their sub-items)",
        file=out,
    )
    print(f"  unsure  {len(cov.unsure):4d}  (not written: review below)", file=out)
    bound = [d for d in decisions if d.status == Status.BOUND]
    if bound:
        print("\nnew bindings:", file=out)
        for d in bound:
            print(f"  L{d.line.number:<5d} {d.binding:<48s} {_short(d.line.title)}", file=out)
            extra = [f"needs {', '.join(d.variables)}"] if d.variables else []
            extra += [d.note] if d.note else []
            # A guess the binding no longer holds (it became a variable) is not shown.
            guessed = [g for g in (d.proposal.guessed if d.proposal else ())
                       if "=" not in g or g.split(" ")[0] in (d.binding or "")]
            extra += [f"guessed: {', '.join(guessed)}"] if guessed else []
            why = "; ".join([*d.reasons, *extra])
            print(f"  {'':6s} why: {why}", file=out)
    if cov.unsure:
        print("\nunsure (confidence, suggestion, why):", file=out)
        for d in cov.unsure:
            conf = d.proposal.confidence if d.proposal else 0.0
            why = d.note or (d.proposal.reason if d.proposal else "")
            print(
                f"  L{d.line.number:<5d} {conf:.0%}  {d.binding or '?':<40s} "
                f"{_short(d.line.title)}  ({why})",
                file=out,
            )
    broken = [d for d in decisions if d.status == Status.KEPT and d.note]
    if broken:
        print("\nbindings already in the file that a run would reject (fix them by hand):",
              file=out)
        for d in broken:
            print(f"  L{d.line.number:<5d} {d.binding}  ({d.note})", file=out)
    if verbose:
        others = [d for d in decisions if d.status in (Status.MANUAL, Status.GROUP, Status.KEPT)]
        if others:
            print("\nother lines:", file=out)
            for d in others:
                what = d.binding if d.status == Status.KEPT else d.status.value
                why = d.note or ("kept as written" if d.status == Status.KEPT else "")
                print(
                    f"  L{d.line.number:<5d} {what:<10s} {_short(d.line.title)}"
                    + (f"  ({why})" if why else ""),
                    file=out,
                )


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --- the configuration --------------------------------------------------------------


def find_config_for(path: Path, explicit: Path | None = None) -> Path | None:
    """The ``golive.toml`` a checklist belongs to: given, in the working directory, or above the
    file."""
    if explicit is not None:
        return explicit
    for directory in (Path.cwd(), *path.resolve().parents):
        candidate = directory / "golive.toml"
        if candidate.is_file():
            return candidate
    return None


def add_to_config(path: Path, write: bool, explicit: Path | None = None) -> str:
    """Make sure the configuration runs the checklist; say what was done or what to add.

    A top-level ``checklists = [...]`` written on one line gets the file
    appended (and a configuration without one gets it), so the next run
    checks it; anything else is left to the user with the exact line to add.
    """
    config = find_config_for(path, explicit)
    if config is None or not config.is_file():
        rel = os.path.relpath(path.resolve(), Path.cwd())
        return (f"no golive.toml found: run 'golive init', then list the checklist in it:\n"
                f'  checklists = ["{rel}"]')
    rel = Path(os.path.relpath(path.resolve(), config.parent.resolve())).as_posix()
    try:
        text = config.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return (f'{config}: cannot read it ({exc}); add the checklist yourself:\n'
                f'  checklists = ["{rel}"]')
    listed = list(data.get("checklists") or [])
    for env in (data.get("environments") or {}).values():
        if isinstance(env, dict):
            listed += list(env.get("checklists") or [])
    if any((config.parent / str(p)).resolve() == path.resolve() for p in listed):
        return f"{config.name} already runs {rel}"
    line = re.search(r'(?m)^checklists\s*=\s*\[([^\]\n]*)\]\s*$', text)
    first_table = re.search(r"(?m)^\[", text)
    if line and (first_table is None or line.start() < first_table.start()):
        inside = line.group(1).strip().rstrip(",")
        new_line = f"checklists = [{inside + ', ' if inside else ''}\"{rel}\"]"
        new_text = text[: line.start()] + new_line + text[line.end():]
    elif "checklists" not in data:
        new_line = f'checklists = ["{rel}"]'
        at = first_table.start() if first_table else len(text)
        new_text = text[:at] + new_line + "\n" + ("\n" if first_table else "") + text[at:]
    else:
        return (f'{config.name} does not run {rel} yet: add it to its checklists, e.g.\n'
                f'  checklists = ["{rel}"]')
    if not write:
        return f"{config.name} does not run {rel} yet; without --dry-run import sets:\n  {new_line}"
    config.write_text(new_text, encoding="utf-8")
    return f"added {rel} to {config.name}: {new_line}"


def scaffold_init(directory: Path, out: TextIO = sys.stdout) -> int:
    """``golive init``: write the starter files into ``directory`` (see
    :mod:`pytest_golive.tools.scaffold`)."""
    from pytest_golive.tools.scaffold import scaffold_init as scaffold

    return scaffold(Path(directory), out)
