"""``${name}`` references: one grammar for golive.toml values and checklist parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_golive.core import variables
from pytest_golive.core.config import load_environment
from pytest_golive.core.secrets import Secret


def test_names_in_order_once_escapes_excluded() -> None:
    text = "a ${x} ${db.host} $${not_a_name} ${x} ${port:-5432}"
    assert variables.names(text) == ["x", "db.host", "port"]


def test_substitute_defaults_escapes_and_unset() -> None:
    values = {"x": "1"}

    def lookup(name: str, default: str | None) -> str | None:
        return values.get(name, default)

    assert variables.substitute("${x}-${y:-two}-$$-${z}", lookup) == "1-two-$-${z}"
    assert variables.substitute("cost $${x}", lookup) == "cost ${x}"


def test_golive_toml_uses_the_grammar(tmp_path: Path) -> None:
    (tmp_path / "golive.toml").write_text(
        '[environments.prod.endpoints.api]\n'
        'url = "https://${GOLIVE_T_HOST:-api.example.test}/${GOLIVE_T_PATH}"\n'
        'headers = { X-Price = "$$5", X-Later = "${checklist.var}" }\n'
    )
    env = load_environment(tmp_path, "prod", environ={"GOLIVE_T_PATH": "v1"})
    api = env.targets[0]
    url = api.options["url"]
    assert isinstance(url, Secret)  # built from the process environment
    assert url.reveal() == "https://api.example.test/v1"
    # A dotted name is an environment's variable, left for the checklist.
    assert api.options["headers"] == {"X-Price": "$5", "X-Later": "${checklist.var}"}


def test_checklist_parameters_use_the_same_grammar(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", golive=(
        'checklists = ["checklist.md"]\n'
        '[environments.prod]\nvars = { etc = "/etc" }\n'
        '[environments.prod.hosts]\nlocal = ["local://"]\n'
    ))
    pytester.makefile(".md", checklist=(
        "# R\n## S\n"
        "- [ ] Default <!-- golive: file path=${GOLIVE_T_UNSET:-/etc/hostname} type=file -->\n"
        "- [ ] Dotted var <!-- golive: file path=${etc}/hostname type=file -->\n"
    ))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--golive=prod",
                                           "--golive-json=r.json")
    data = json.loads((pytester.path / "r.json").read_text())
    assert [r["status"] for r in data["results"]] == ["passed", "passed"], result.stdout.str()
