"""Whatever ``golive import`` writes collects: every checklist we know, imported, then collected.

The environment has one target of each kind (a host, an endpoint, a
database, a file) so every check a binding names has somewhere to run;
collection validates each binding as a real run would. A binding that
cannot collect would stop a team's whole run with exit 2.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest

from pytest_golive.checklist import read_checklist
from pytest_golive.tools.importer import run_import
from support import require

HERE = Path(__file__).parent
REPO = HERE.parent
SHARED = Path(__file__).parents[1].parent / "shared" / "checklists"


def checklists() -> list[Path]:
    shared = sorted(p for p in SHARED.glob("*.md") if p.name != "README.md")
    return [*shared, *sorted(REPO.glob("conftest_examples/*/checklist.md")),
            *sorted((HERE / "data" / "checklists").glob("*.md"))]


def test_every_imported_checklist_collects_without_an_error(pytester: pytest.Pytester) -> None:
    require(SHARED.is_dir(), f"the shared checklists beside the repository ({SHARED})")
    sources = checklists()
    assert len(sources) >= 8
    names: list[str] = []
    groups: set[str] = set()
    for i, source in enumerate(sources):
        name = f"c{i}-{source.parent.name if source.name == 'checklist.md' else source.stem}.md"
        target = pytester.path / name
        shutil.copyfile(source, target)
        out = io.StringIO()
        config = pytester.path / "none.toml"
        assert run_import(target, write=True, out=out, config=config) == 0, out.getvalue()
        # A checklist written for its own configuration names its targets with on=:
        # here every target answers to all of those names.
        written = target.read_text(encoding="utf-8")
        selectors = re.findall(r"(?<![\w])on=([\w,.-]+)", written)
        groups.update(g for sel in selectors for g in sel.split(","))
        names.append(name)
    group_list = ", ".join(f'"{g}"' for g in sorted(groups))
    (pytester.path / "secret.env").write_text("API_KEY=x\n", encoding="utf-8")
    pytester.makefile(".toml", golive=f"""
        checklists = [{", ".join(f'"{n}"' for n in names)}]
        [environments.all]
        [environments.all.hosts]
        app = [{{ url = "local://", name = "app" }}]
        [environments.all.endpoints.api]
        url = "http://127.0.0.1:9"
        groups = [{group_list}]
        [environments.all.databases.db]
        dsn = "mysql://golive@127.0.0.1:3306/golive"
        groups = [{group_list}]
        [environments.all.files.env]
        path = "secret.env"
        format = "dotenv"
        groups = [{group_list}]
    """.replace("\n        ", "\n"))
    # Host groups are the keys of [hosts]: the one host is in every group the checklists name.
    config = pytester.path / "golive.toml"
    text = config.read_text(encoding="utf-8").replace(
        'app = [{ url = "local://", name = "app" }]',
        "\n".join(f'"{g}" = [{{ url = "local://", name = "app" }}]'
                  for g in sorted({"app", *groups})),
    )
    config.write_text(text, encoding="utf-8")
    result = pytester.runpytest("--golive=all", "--collect-only", "-q")
    output = result.stdout.str()
    assert result.ret == 0, output[-4000:]
    assert "error" not in output.lower().split("tests collected")[-1], output[-4000:]
    bound = sum(1 for n in names for item in read_checklist(pytester.path / n) if item.check)
    collected = re.search(r"(\d+) tests? collected", output)
    assert collected and int(collected.group(1)) > bound, output[-2000:]
    print(f"{len(names)} checklists imported: {bound} bound lines, "
          f"{collected.group(1)} items collected")
