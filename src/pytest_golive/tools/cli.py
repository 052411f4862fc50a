"""The ``golive`` command: items, checks, init, import, attest, demo, docs, report tools.

Each subcommand is a small function; mistakes are one line on stderr and
exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.core.version import __version__


def cmd_items(args: argparse.Namespace) -> int:
    from pytest_golive.checklist import ChecklistError, read_checklist

    out: list[dict[str, Any]] = []
    failed = False
    for path in args.paths:
        try:
            items = read_checklist(path)
        except ChecklistError as exc:
            print(str(exc), file=sys.stderr)
            failed = True
            continue
        out.extend(
            {
                "section": i.section,
                "section_title": i.section_title,
                "id": i.id,
                "title": i.title,
                "check": i.check,
                "params": i.params,
                # Every check of the line (check/params above are the first one's).
                "checks": [{"check": b.check, "params": b.params} for b in i.bindings],
                "attest": i.attest,
                "targets": i.targets,
                "severity": i.severity,
                "manual": i.manual,
                "group": i.group,
                "parent": i.parent,
                "source": i.source,
                "line": i.line,
            }
            for i in items
        )
    if args.format == "json":
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        for i in out:
            checks = "+".join(c["check"] for c in i["checks"]) + ("+attest" if i["attest"] else "")
            kind = "group " if i["group"] else ("manual" if i["manual"] else checks)
            print(f"{i['source']}:{i['line']}: {i['id']}  [{kind}]  {i['title']}")
    return 2 if failed else 0


def cmd_checks(args: argparse.Namespace) -> int:
    from pytest_golive.checks.registry import REGISTRY, CheckDefinitionError
    from pytest_golive.tools import catalog

    try:
        catalog.load_project(Path.cwd(), args.config, conftests=not args.no_conftest)
    except (CheckDefinitionError, pytest.UsageError) as exc:
        print(f"golive checks: {exc}", file=sys.stderr)
        return 2
    checks = REGISTRY.all()
    if args.target:
        checks = [c for c in checks if c.target == args.target]
    if args.format == "json":
        rows = [{**c.to_dict(), "origin": REGISTRY.origin(c.name)} for c in checks]
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for c in checks:
        params = ", ".join(
            f"{p.name}: {p.type_name()}" + ("" if p.required else f" = {p.default!r}")
            for p in c.params
        )
        print(f"{c.name} [{c.target}] ({params})")
        if c.summary:
            print(f"    {c.summary}")
        if not catalog.is_builtin(c.name):
            print(f"    from {REGISTRY.origin(c.name)}")
    return 0


def cmd_attest(args: argparse.Namespace) -> int:
    """Sign lines: ids, globs or sections, looked up in the configured checklists
    (see :mod:`pytest_golive.tools.attest_cli`)."""
    from pytest_golive.tools.attest_cli import run_attest

    return run_attest(args)


def cmd_schema(args: argparse.Namespace) -> int:
    if args.which == "config":
        from pytest_golive.core.config import SCHEMA

        print(json.dumps(SCHEMA, indent=2))
        return 0
    from importlib import resources

    text = resources.files("pytest_golive").joinpath("schemas/results.schema.json").read_text()
    print(text)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pytest_golive.tools.demo import run_demo

    return run_demo(Path(args.dir) if args.dir else None, list(args.pytest_args))


def cmd_import(args: argparse.Namespace) -> int:
    from pytest_golive.tools.importer import run_import

    return run_import(Path(args.path), write=not args.dry_run)


def cmd_init(args: argparse.Namespace) -> int:
    from pytest_golive.tools.scaffold import scaffold_init

    return scaffold_init(Path(args.dir))


def cmd_docs(args: argparse.Namespace) -> int:
    from pytest_golive.checks.registry import REGISTRY, CheckDefinitionError, Registry
    from pytest_golive.tools import catalog
    from pytest_golive.tools.docgen import render_check_reference

    try:
        catalog.load_project(Path.cwd(), args.config, conftests=not args.no_conftest)
    except (CheckDefinitionError, pytest.UsageError) as exc:
        print(f"golive docs: {exc}", file=sys.stderr)
        return 2
    registry = REGISTRY
    if args.pack:
        # The reference of one pack alone, for the pack's own documentation.
        registry = Registry()
        for chk in REGISTRY.all():
            if catalog.of_pack(chk.name, args.pack):
                registry.add(chk)
        if not registry.all():
            print(f"golive docs: no installed check pack '{args.pack}' has checks",
                  file=sys.stderr)
            return 2
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_check_reference(registry), encoding="utf-8")
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="golive", description="Production-readiness checklists as pytest tests."
    )
    parser.add_argument("--version", action="version", version=f"pytest-golive {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("items", help="list the items the readers parse from checklist files")
    p.add_argument("paths", nargs="+")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_items)

    p = sub.add_parser("checks", help="list the check catalog")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--target", choices=("host", "endpoint", "database", "file", "none"))
    p.add_argument("--config", metavar="PATH", default=None,
                   help="configuration whose plugins to load (default: golive.toml or "
                        "[tool.golive] in pyproject.toml here)")
    p.add_argument("--no-conftest", action="store_true",
                   help="leave out the checks this project's conftest.py files register")
    p.set_defaults(func=cmd_checks)

    p = sub.add_parser("attest", help="sign manual lines: ids, globs ('sign-off/*') or sections")
    p.add_argument("items", nargs="*", metavar="ITEM",
                   help="item ids, globs such as 'sign-off/*', or section names")
    p.add_argument("--by", default="", help="who signs (required to sign)")
    p.add_argument("--yes", action="store_true", help="sign without asking")
    p.add_argument("--list", action="store_true", help="list the lines a person can sign")
    p.add_argument("--report", default=None, metavar="RESULTS.json",
                   help="for lines with checks too: sign what their checks observed in this "
                        "run's JSON report (other observations void the sign-off)")
    p.add_argument("--config", default=None, metavar="PATH",
                   help="configuration (default: golive.toml or [tool.golive] here)")
    p.add_argument("--ticket", default="")
    p.add_argument("--evidence", default="")
    p.add_argument("--env", default="")
    p.add_argument("--expires", default="")
    p.add_argument("--file", default=None,
                   help="attestation file (default: the one golive.toml names)")
    p.set_defaults(func=cmd_attest)

    p = sub.add_parser("schema", help="print a JSON Schema (config or results)")
    p.add_argument("which", choices=("config", "results"))
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("demo", help="run a demo readiness check against this machine")
    p.add_argument("--dir", default=None, help="keep the demo project here (default: a temp dir)")
    p.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("import", help="propose check bindings for a Markdown checklist")
    p.add_argument("path")
    p.add_argument("--dry-run", action="store_true", help="print coverage, do not write")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("init", help="scaffold golive.toml, a checklist, waivers and a custom check")
    p.add_argument("dir", nargs="?", default=".")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("docs", help="regenerate the check reference from the registry")
    p.add_argument("--output", default="docs/checks.md")
    p.add_argument("--pack", metavar="NAME", default=None,
                   help="only the checks of this installed check pack (entry-point or "
                        "distribution name)")
    p.add_argument("--config", metavar="PATH", default=None,
                   help="configuration whose plugins to load (default: golive.toml or "
                        "[tool.golive] in pyproject.toml here)")
    p.add_argument("--no-conftest", action="store_true",
                   help="leave out the checks this project's conftest.py files register")
    p.set_defaults(func=cmd_docs)

    try:
        from pytest_golive.tools.report_cli import add_report_commands
    except ImportError:
        pass
    else:
        add_report_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
    except BrokenPipeError:
        # The reader stopped reading (`golive checks | head`): not an error to report.
        # Later writes (and the flush at exit) go nowhere instead of raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except (pytest.UsageError, OSError, ValueError) as exc:
        print(f"golive {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    # Subcommands share argparse's convention (docs/exit-codes.md): 2 is a usage error.
    # Some helpers answer with pytest's usage code, 4; the command line says 2.
    return USAGE if code == PYTEST_USAGE else code


#: The exit code of a usage error of a subcommand, and pytest's own for one.
USAGE, PYTEST_USAGE = 2, 4
#: A command whose reader went away, as the shell reports one killed by SIGPIPE.
BROKEN_PIPE = 128 + 13


if __name__ == "__main__":
    raise SystemExit(main())
