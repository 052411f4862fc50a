"""The documentation: the check reference matches the catalog; the site builds without warnings."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from pytest_golive.checklist.model import parse_binding, parse_line_binding
from pytest_golive.checks.registry import REGISTRY, Registry, check
from pytest_golive.checks.rules import validate_params
from pytest_golive.core.outcome import Outcome
from pytest_golive.tools.docgen import render_check_reference
from pytest_golive.tools.importer import import_text
from support import require

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "checks.md"


def test_check_reference_is_current() -> None:
    stale = (
        "docs/checks.md is stale: the check catalog changed. "
        "Run `golive docs` to regenerate it, then commit it."
    )
    assert REFERENCE.is_file(), "docs/checks.md is missing. Run `golive docs` to generate it."
    assert REFERENCE.read_text(encoding="utf-8") == render_check_reference(), stale


def test_every_check_and_parameter_is_in_the_reference() -> None:
    text = render_check_reference()
    for chk in REGISTRY.all():
        assert f"\n### {chk.name}\n" in text
        assert chk.summary in text
        for param in chk.params:
            assert f"| `{param.name}` |" in text, f"{chk.name}.{param.name}"


def test_reference_shows_type_default_required_doc_and_aliases() -> None:
    registry = Registry()

    @check(target="host", aliases=("pipes",), registry=registry)
    def sample(host: object, *, path: str, limit: int = 3, mode: str | None = None) -> Outcome:
        """Summary line of a sample check.

        A paragraph that explains why, with a | pipe.

        Args:
            path: where to look | carefully.
            limit: how many.
        """
        return Outcome.passed("ok")

    text = render_check_reference(registry)
    assert "### sample" in text and "**Target:** host" in text and "`pipes`" in text
    assert "| `path` | str |  | yes | where to look \\| carefully. |" in text
    assert "| `limit` | int | `3` | no | how many. |" in text
    assert "| `mode` | str \\| none | none | no |  |" in text
    assert "A paragraph that explains why" in text and "Args:" not in text
    assert "`<!-- golive: sample path=… -->`" in text
    assert render_check_reference(registry) == text  # stable output, no dates or ordering noise


def test_docs_build_with_warnings_as_errors(tmp_path: Path) -> None:
    require(
        importlib.util.find_spec("mkdocs") is not None,
        "mkdocs (pip install mkdocs; it is in the test extra)",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for page in (
        "index.html",
        "checks/index.html",
        "ci/index.html",
        "exit-codes/index.html",
        "security/index.html",
    ):
        assert (tmp_path / "site" / page).is_file(), page


def test_import_examples_in_the_docs_are_what_import_does() -> None:
    rows = [
        line.split("|")[1:3]
        for line in (ROOT / "docs" / "import.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and "`" in line
    ]
    assert len(rows) >= 10
    for title, binding in rows:
        title, binding = title.strip(), binding.strip().strip("`")
        _, decisions = import_text(f"# Examples\n\n- [ ] {title.replace('`', '')}\n")
        check, params, _ = parse_binding(binding)
        if check in REGISTRY:
            for one in parse_line_binding(binding).bindings:  # the documented binding collects
                validate_params(REGISTRY.get(one.check), one.params)
            got = (decisions[0].status, decisions[0].binding)
            assert got == ("bound", binding), f"docs/import.md: {title!r} -> {got}"
