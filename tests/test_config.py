"""Configuration errors are one line naming the file and key; secrets stay wrapped."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_golive.core.config import ConfigError, load_environment
from pytest_golive.core.secrets import Secret

GOOD = """\
checklists = ["checklist.md"]
[environments.prod]
vars = { min_cpus = 4 }
[environments.prod.hosts]
web = ["ssh://deploy@10.201.9.1", "ssh://deploy@10.201.9.2"]
db = ["ssh://deploy@10.201.9.1"]
[environments.prod.endpoints.api]
url = "https://api.example.test"
headers = { Authorization = "Bearer ${API_TOKEN}", Accept = "application/json" }
timeout = 3
[environments.prod.databases.main]
dsn = "mysql://app:${DB_PASSWORD}@127.0.0.1:3306/app"
[environments.prod.files.env]
path = ".env"
[environments.staging]
extends = "prod"
[environments.staging.endpoints.api]
url = "https://staging.example.test"
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "golive.toml").write_text(text, encoding="utf-8")
    return tmp_path


ENV = {"API_TOKEN": "tok-abcdef-123456", "DB_PASSWORD": "pw-zyx-987654"}


def test_environment_targets_and_groups(tmp_path: Path) -> None:
    env = load_environment(write(tmp_path, GOOD), "prod", environ=ENV)
    hosts = env.of_kind("host")
    assert [h.name for h in hosts] == ["10.201.9.1", "10.201.9.2"]
    assert hosts[0].groups == ("web", "db")
    assert [t.name for t in env.select("host", "db")] == ["10.201.9.1"]
    assert env.vars == {"min_cpus": 4}
    assert env.checklists == [(tmp_path / "checklist.md").resolve()]
    assert env.target("env").options["path"] == str(tmp_path / ".env")


def test_secrets_are_wrapped_and_never_printed(tmp_path: Path) -> None:
    env = load_environment(write(tmp_path, GOOD), "prod", environ=ENV)
    header = env.target("api").options["headers"]["Authorization"]
    dsn = env.target("main").options["dsn"]
    assert isinstance(header, Secret) and isinstance(dsn, Secret)
    assert header.reveal() == "Bearer tok-abcdef-123456"
    for text in (
        str(header),
        repr(header),
        f"{dsn}",
        repr(env.target("main")),
        str(env.target("main").to_dict()),
    ):
        assert "tok-abcdef" not in text and "pw-zyx" not in text
    assert env.target("main").to_dict()["address"] == "mysql://app:*****@127.0.0.1:3306/app"


def test_extends_inherits_and_overrides(tmp_path: Path) -> None:
    env = load_environment(write(tmp_path, GOOD), "staging", environ=ENV)
    assert str(env.target("api").options["url"]) == "https://staging.example.test"
    assert len(env.of_kind("host")) == 2


@pytest.mark.parametrize(
    "patch, fragment",
    [
        (
            lambda t: t.replace("timeout = 3", "timout = 3"),
            "endpoints.api.timout: unknown key (did you mean 'timeout'",
        ),
        (
            lambda t: t.replace("timeout = 3", 'timeout = "3"'),
            "endpoints.api.timeout: must be a number, not a string",
        ),
        (
            lambda t: t.replace("https://api.example.test", "api.example.test"),
            "endpoints.api.url: 'api.example.test' is not an http(s) URL",
        ),
        (
            lambda t: t.replace("ssh://deploy@10.201.9.2", "sssh://x"),
            "hosts.web[1].url: 'sssh://x' is not a testinfra connection string",
        ),
        (lambda t: t.replace("mysql://", "mysqll://"), "databases.main.dsn"),
        (
            lambda t: t.replace("checklists =", "checklist ="),
            "checklist: unknown key (did you mean 'checklists'",
        ),
        (
            lambda t: t.replace('extends = "prod"', 'extends = "prd"'),
            "extends: unknown environment 'prd'",
        ),
        (lambda t: t + "[environments.prod.bogus]\n", "environments.prod.bogus: unknown key"),
        (lambda t: t.replace("[environments.prod]", "[environments.prod\n"), "not valid TOML"),
    ],
)
def test_mistakes_are_one_line_naming_file_and_key(tmp_path: Path, patch, fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_environment(write(tmp_path, patch(GOOD)), "prod", environ=ENV)
    message = str(exc.value)
    assert str(tmp_path / "golive.toml") in message
    assert fragment in message
    assert "\n" not in message
    assert "pw-zyx" not in message and "tok-abcdef" not in message


def test_missing_variable_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_environment(write(tmp_path, GOOD), "prod", environ={"API_TOKEN": "x" * 10})
    assert "databases.main.dsn: variable DB_PASSWORD is not set" in str(exc.value)


def test_unknown_environment_lists_known(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_environment(write(tmp_path, GOOD), "prdo", environ=ENV)
    assert "unknown environment 'prdo' (did you mean 'prod'?) (known: prod, staging)" in str(
        exc.value
    )


def test_pyproject_tool_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n[tool.golive.environments.prod.hosts]\nlocal = ["local://"]\n',
        encoding="utf-8",
    )
    env = load_environment(tmp_path, "prod", environ={})
    assert env.source == tmp_path / "pyproject.toml"
    assert [t.name for t in env.targets] == ["local"]


def test_no_configuration_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_environment(tmp_path, "prod", environ={})
    assert "golive init" in str(exc.value)


def test_default_variable_syntax_is_not_secret(tmp_path: Path) -> None:
    text = GOOD.replace("https://api.example.test", "https://${API_HOST:-api.example.test}")
    env = load_environment(write(tmp_path, text), "prod", environ=ENV)
    assert env.target("api").options["url"] == "https://api.example.test"
