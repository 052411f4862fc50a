"""``golive report``, ``golive diff``, ``golive verify``, ``golive keygen``.

Work on JSON reports after the run: re-render and merge them, compare two
runs, check a signature, make a signing key.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pytest_golive.report.json_report import ReportError


def cmd_report(args: argparse.Namespace) -> int:
    from pytest_golive.core.results import RunResults
    from pytest_golive.report.json_report import (
        body,
        digest,
        integrity_block,
        read_json,
        write_json,
    )

    if not (args.html or args.json or args.markdown):
        print(
            "golive report: say what to write: --html OUT, --json OUT and/or --markdown OUT",
            file=sys.stderr,
        )
        return 2
    documents = [read_json(Path(p)) for p in args.reports]
    for path, doc in zip(args.reports, documents, strict=True):
        recorded = (doc.get("integrity") or {}).get("digest")
        if recorded and recorded != digest(doc):
            print(f"golive report: warning: {path}: digest does not match its content "
                  "(the file was changed after it was written)", file=sys.stderr)
    runs = [RunResults.from_dict(body(d)) for d in documents]
    merged = RunResults.merge(runs, [digest(d) for d in documents]) if len(runs) > 1 else runs[0]
    if args.baseline:
        from pytest_golive.integration.reporting import baseline_block

        merged.baseline = baseline_block(Path(args.baseline), merged.to_dict())
    data = merged.to_dict()
    if len(runs) == 1:
        data = {**body(documents[0]), **({"baseline": merged.baseline} if merged.baseline else {})}
    integrity = integrity_block(data, args.sign_key)
    if args.json:
        write_json(Path(args.json), data, integrity=integrity)
        print(f"wrote {args.json}")
    if args.html:
        from pytest_golive.report.html_report import write_html

        write_html(Path(args.html), data, integrity["digest"], integrity.get("signature"))
        print(f"wrote {args.html}")
    if args.markdown:
        from pytest_golive.report.markdown_report import write_markdown

        write_markdown(Path(args.markdown), data, integrity["digest"])
        print(f"wrote {args.markdown}")
    print(f"{data['environment']}: {data['verdict']['verdict']}  digest {integrity['digest']}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from pytest_golive.report.diff import compare, format_text
    from pytest_golive.report.json_report import read_json

    diff = compare(read_json(Path(args.old)), read_json(Path(args.new)))
    if args.format == "json":
        print(json.dumps(diff.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_text(diff))
    return 1 if args.fail_on_new and diff.new_failures else 0


def cmd_verify(args: argparse.Namespace) -> int:
    from pytest_golive.report.json_report import load_public_key, read_json, verify
    from pytest_golive.tools.bundle import is_bundle, verify_bundle

    if is_bundle(Path(args.report)):
        key = load_public_key(Path(args.public_key)) if args.public_key else None
        check = verify_bundle(Path(args.report), key)
        for line in check.lines:
            print(f"  {line}")
        word = "intact" if check.intact else "NOT VERIFIED"
        how = " and signed" if key is not None and check.intact else ""
        print(f"{args.report}: {word}: " + (f"every member matches its manifest{how}"
                                            if check.intact else "see the lines above"))
        return 0 if check.intact else 1
    if not args.public_key:
        print(f"golive verify: {args.report}: a JSON report is checked against its signer's key: "
              "pass --public-key KEY", file=sys.stderr)
        return 2
    result = verify(read_json(Path(args.report)), load_public_key(Path(args.public_key)))
    word = "intact" if result.intact else "NOT VERIFIED"
    print(f"{args.report}: {word}: {result.reason}")
    return 0 if result.intact else 1


def cmd_bundle(args: argparse.Namespace) -> int:
    from pytest_golive.core.config import ConfigError, find_config
    from pytest_golive.report.json_report import read_json
    from pytest_golive.tools.bundle import BundleInputs, write_bundle

    report = read_json(Path(args.report))
    config = Path(args.config) if args.config else None
    if config is None:
        try:
            config, _ = find_config(Path.cwd())
        except ConfigError:
            config = None  # a report alone can be bundled; the manifest says what is in it
    if not config or not config.is_file():
        if args.config:
            print(f"golive bundle: --config {config}: file not found", file=sys.stderr)
            return 2
    finished = str(report.get("finished") or "")[:10] or "undated"
    out = Path(args.output) if args.output else Path(
        f"golive-bundle-{report.get('environment', 'run')}-{finished}.tar.gz")
    manifest = write_bundle(out, BundleInputs(
        report=report, junit=Path(args.junit) if args.junit else None, config=config,
        extra=[Path(a) for a in args.add]), Path(args.sign_key) if args.sign_key else None)
    for member in manifest["members"]:
        print(f"  {member['name']}  {member['sha256']}")
    signed = " (signed)" if "signature" in manifest else ""
    print(f"wrote {out}: {len(manifest['members'])} files{signed}, verdict {manifest['verdict']}; "
          f"check it with: golive verify {out}")
    return 0


def cmd_keygen(args: argparse.Namespace) -> int:
    from pytest_golive.report.json_report import generate_key_pair

    private = Path(args.private)
    public = Path(args.public) if args.public else private.with_name(private.stem + ".pub.pem")
    kid = generate_key_pair(private, public)
    print(f"private key: {private} (keep it secret; use with --golive-sign-key={private})")
    print(
        f"public key:  {public} (give it to approvers; golive verify REPORT.json --public-key "
        f"{public})"
    )
    print(f"key id:      {kid}")
    return 0


def _guard(func: Any) -> Any:
    """Report errors as one line and exit 2 (the CLI's convention)."""

    def run(args: argparse.Namespace) -> int:
        try:
            return int(func(args))
        except ReportError as exc:
            print(f"golive {args.command}: {exc}", file=sys.stderr)
            return 2

    return run


def add_report_commands(sub: Any) -> None:
    p = sub.add_parser(
        "report", help="re-render (and merge) JSON reports as HTML, JSON or Markdown"
    )
    p.add_argument("reports", nargs="+", metavar="RESULTS.json")
    p.add_argument("--html", metavar="OUT", help="write the HTML report here")
    p.add_argument("--json", metavar="OUT", help="write the (merged) JSON report here")
    p.add_argument("--markdown", metavar="OUT", help="write the Markdown summary here")
    p.add_argument("--baseline", metavar="OLD.json", help="show what changed since this report")
    p.add_argument("--sign-key", metavar="KEY", help="sign the written JSON with this Ed25519 key")
    p.set_defaults(func=_guard(cmd_report))

    p = sub.add_parser("diff", help="what changed between two JSON reports")
    p.add_argument("old", metavar="OLD.json")
    p.add_argument("new", metavar="NEW.json")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--fail-on-new", action="store_true", help="exit 1 when there are new failures")
    p.set_defaults(func=_guard(cmd_diff))

    p = sub.add_parser("verify", help="check that a signed JSON report or a bundle is intact")
    p.add_argument("report", metavar="REPORT.json|BUNDLE.tar.gz")
    p.add_argument("--public-key", metavar="KEY",
                   help="the signer's Ed25519 public key (PEM); required for a JSON report")
    p.set_defaults(func=_guard(cmd_verify))

    p = sub.add_parser("bundle", help="one archive of the evidence: reports, checklists as run, "
                                      "configuration (secrets masked), waivers, attestations")
    p.add_argument("report", metavar="RESULTS.json", help="the JSON report the run wrote")
    p.add_argument("-o", "--output", metavar="OUT.tar.gz", default=None,
                   help="default: golive-bundle-ENV-DATE.tar.gz here")
    p.add_argument("--junit", metavar="JUNIT.xml", help="the run's JUnit XML")
    p.add_argument("--config", metavar="PATH", default=None,
                   help="the configuration (default: golive.toml or [tool.golive] here)")
    p.add_argument("--add", metavar="FILE", action="append", default=[],
                   help="another file to include (repeatable)")
    p.add_argument("--sign-key", metavar="KEY", help="sign the JSON and the manifest (Ed25519)")
    p.set_defaults(func=_guard(cmd_bundle))

    p = sub.add_parser("keygen", help="make an Ed25519 key pair for signing reports")
    p.add_argument("private", nargs="?", default="golive-signing.pem", metavar="PRIVATE.pem")
    p.add_argument("--public", metavar="PUBLIC.pem", help="default: PRIVATE.pub.pem beside it")
    p.set_defaults(func=_guard(cmd_keygen))
