"""``golive attest``: sign one line, several, a glob or a whole section in one command.

The lines are looked up in the checklists the configuration names, so a
misspelt id is refused ("did you mean ...", exit 2) instead of being written
as an attestation that matches nothing. The command shows what it will sign
and asks first; ``--yes`` signs without asking (a pipeline has no one to
ask, so several lines there need ``--yes``). Each record carries a digest of
the line's text as signed: a reworded line voids its sign-off.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import fnmatch
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pytest

from pytest_golive.checklist import ChecklistError, Item, read_checklist
from pytest_golive.core.verdict import facts_digest, line_digest, load_attestations


@dataclass(frozen=True)
class Signable:
    """A line a person can sign: a manual line, or a line whose binding says ``attest``."""

    id: str
    title: str
    section: str
    location: str
    #: The line has checks too: what they observed is part of what is signed.
    checked: bool = False


def _config(explicit: str | None) -> tuple[Path, dict[str, Any]] | None:
    from pytest_golive.core.config import ConfigError, find_config

    try:
        return find_config(Path.cwd(), explicit)
    except ConfigError:
        if explicit:
            raise
        return None


def _checklists(source: Path, data: dict[str, Any], env: str) -> list[Path]:
    def paths(value: Any) -> list[str]:
        return [value] if isinstance(value, str) else [str(v) for v in value or []]

    names = paths(data.get("checklists"))
    envs = data.get("environments") or {}
    for name, table in envs.items():
        if isinstance(table, dict) and (not env or name == env):
            names += paths(table.get("checklists"))
    return [p if p.is_absolute() else source.parent / p
            for p in (Path(n) for n in dict.fromkeys(names))]


def signable_lines(paths: list[Path]) -> list[Signable]:
    out: list[Signable] = []
    for path in paths:
        try:
            items: list[Item] = read_checklist(path)
        except ChecklistError as exc:
            raise pytest.UsageError(str(exc)) from None
        for item in items:
            if item.group and item.manual:
                continue
            if item.manual or getattr(item, "attest", False):
                out.append(Signable(item.id, item.title, item.section, item.location,
                                    checked=not item.manual))
    return out


def select(patterns: list[str], lines: list[Signable], all_ids: set[str]) -> list[Signable]:
    """The lines the patterns name: an id, its explicit last part, a glob, or a section.

    Raises :class:`pytest.UsageError` for a pattern that names nothing a person can sign.
    """
    chosen: list[Signable] = []
    for pattern in patterns:
        hits = [
            line for line in lines
            if line.id == pattern or line.id.endswith("/" + pattern)
            or fnmatch.fnmatchcase(line.id, pattern) or line.section == pattern
        ]
        if not hits:
            if pattern in all_ids:
                raise pytest.UsageError(
                    f"'{pattern}' is a line with checks and no attestation: the checks decide "
                    "it (bind it with '; attest' for a person to sign it as well)")
            known = [line.id for line in lines]
            close = _nearest(pattern, known)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise pytest.UsageError(f"no line to sign matches '{pattern}'{hint} "
                                    f"({len(known)} lines can be signed: golive attest --list)")
        chosen += [h for h in hits if h not in chosen]
    return chosen


def _nearest(pattern: str, known: list[str]) -> list[str]:
    """Ids close to a misspelt one: compared whole and cut to its length, so
    'sign-of/runbook' finds 'sign-off/runbook-reviewed-by-the-on-call-engineer'."""
    def score(candidate: str) -> float:
        whole = difflib.SequenceMatcher(None, pattern, candidate).ratio()
        head = difflib.SequenceMatcher(None, pattern, candidate[: len(pattern) + 1]).ratio()
        return max(whole, head)

    scored = sorted(((score(k), k) for k in known), key=lambda sk: -sk[0])
    return [k for s, k in scored if s >= 0.75][:3]


def _observed_facts(report: str | None, lines: list[Signable]) -> dict[str, str]:
    """Line id -> ``target=digest ...`` of what its checks observed in ``report``.

    A line with checks and an attestation is signed for what its checks saw:
    with ``--report`` the sign-off lapses when they see something else.
    """
    if not report or not lines:
        return {}
    from pytest_golive.report.json_report import read_json

    wanted = {line.id for line in lines}
    out: dict[str, list[str]] = {}
    for r in read_json(Path(report)).get("results", []):
        if r.get("id") not in wanted:
            continue
        observed, expected = str(r.get("observed") or ""), str(r.get("expected") or "")
        summary = f"observed {observed}" + (f"\nexpected {expected}" if expected else "")
        out.setdefault(str(r["id"]), []).append(f"{r.get('target') or ''}={facts_digest(summary)}")
    return {k: " ".join(v) for k, v in out.items()}


def _ask(question: str, stdin: TextIO, out: TextIO) -> bool:
    print(question, end=" ", file=out, flush=True)
    answer = stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def run_attest(args: argparse.Namespace, stdin: TextIO | None = None,
               out: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    if args.expires:
        try:
            dt.date.fromisoformat(args.expires)
        except ValueError:
            print(f"golive attest: --expires '{args.expires}' is not a date (YYYY-MM-DD)",
                  file=sys.stderr)
            return 2
    found = _config(getattr(args, "config", None))
    lines: list[Signable] | None = None
    if found is not None:
        source, data = found
        all_items: set[str] = set()
        paths = [p for p in _checklists(source, data, args.env) if p.is_file()]
        lines = signable_lines(paths)
        for path in paths:
            all_items |= {i.id for i in read_checklist(path)}
    if getattr(args, "list", False):
        for line in lines or []:
            print(f"{line.id}  {line.title}  ({line.location})", file=out)
        return 0
    if not args.items:
        print("golive attest: name the lines to sign (ids, globs such as 'sign-off/*', or a "
              "section); golive attest --list shows them", file=sys.stderr)
        return 2
    if not args.by:
        print("golive attest: --by NAME is required (who signs)", file=sys.stderr)
        return 2
    facts: dict[str, str] = {}
    if lines is not None:
        chosen = select(list(args.items), lines, all_items)
        records = [(line.id, line.title) for line in chosen]
        checked = [c for c in chosen if c.checked]
        report = getattr(args, "report", None)
        facts = _observed_facts(report, checked)
        unseen = [c.id for c in checked if c.id not in facts]
        if report and unseen:
            # signing "for what the checks saw" in a report that never ran them signs nothing
            print(f"golive attest: {report} holds no result of {', '.join(unseen)}: run the "
                  "checklist with --golive-json first, then sign with that report", file=sys.stderr)
            return 2
        if checked and not report:
            print(f"golive attest: note: {', '.join(c.id for c in checked)} "
                  f"{'has' if len(checked) == 1 else 'have'} checks too; signed without "
                  "--report RESULTS.json, the sign-off does not lapse when what they observe "
                  "changes", file=out)
    else:  # no configuration here: the ids as given, into the --file named
        records = [(item, "") for item in args.items]
    path = Path(args.file) if args.file else _configured_attestations(args.env, found)
    load_attestations(path)  # refuse to append to a file the run could not read
    # one line named by its id (not a glob, not a section) is signed as asked, as before
    explicit_one = len(records) == 1 and len(args.items) == 1 and (
        records[0][0] == args.items[0] or records[0][0].endswith("/" + args.items[0])) and not any(
        ch in args.items[0] for ch in "*?[")
    print(f"golive attest: {len(records)} line{'s' if len(records) != 1 else ''} to sign as "
          f"{args.by}" + (f" ({args.ticket})" if args.ticket else "") + f", into {path}:", file=out)
    for item, title in records:
        print(f"  {item}" + (f"  {title}" if title else ""), file=out)
    if not args.yes:
        if stdin.isatty():
            if not _ask(f"Sign {'these' if len(records) != 1 else 'this'}? [y/N]", stdin, out):
                print("golive attest: nothing signed", file=out)
                return 1
        elif not explicit_one:
            print(f"golive attest: {len(records)} lines chosen by a pattern and nobody to ask: "
                  "pass --yes to sign them", file=sys.stderr)
            return 2
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for item, title in records:
        record: dict[str, Any] = {"item": item, "by": args.by, "at": when}
        for key, value in (("ticket", args.ticket), ("evidence", args.evidence),
                           ("environment", args.env), ("expires", args.expires)):
            if value:
                record[key] = dt.date.fromisoformat(value) if key == "expires" else value
        if title:
            # what was signed: the run compares it with the line as it reads then
            record["line"] = title
            record["line_digest"] = line_digest(title)
        if item in facts:
            record["facts_digest"] = facts[item]
        if path.suffix.lower() in (".yml", ".yaml"):
            _append_yaml(path, record)
        else:
            _append_toml(path, record)
    print(f"attested {len(records)} line{'s' if len(records) != 1 else ''} by {args.by} in {path}"
          if len(records) != 1 else f"attested {records[0][0]} by {args.by} in {path}", file=out)
    return 0


def _configured_attestations(env: str, found: tuple[Path, dict[str, Any]] | None) -> Path:
    """The attestation file named by the configuration in the current directory."""
    if found is None:
        raise pytest.UsageError(f"no golive.toml in {Path.cwd()}: pass --file PATH")
    source, data = found
    table = (data.get("environments") or {}).get(env, {}) if env else {}
    name = table.get("attestations") or data.get("attestations")
    if not name:
        raise pytest.UsageError(
            f"{source} names no attestation file (set attestations = \"attestations.toml\" "
            "or pass --file PATH)"
        )
    return source.parent / str(name)


def _append_toml(path: Path, record: dict[str, Any]) -> None:
    lines = ["", "[[attestation]]"]
    for key, value in record.items():
        if isinstance(value, dt.date):
            lines.append(f"{key} = {value.isoformat()}")
        else:
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    with path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def _append_yaml(path: Path, record: dict[str, Any]) -> None:
    import yaml

    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    if data is None:
        data = {"attestation": []}
    key = "attestation" if "attestation" in data or "attestations" not in data else "attestations"
    records = data if isinstance(data, list) else data.setdefault(key, [])
    records.append({k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in record.items()})
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
