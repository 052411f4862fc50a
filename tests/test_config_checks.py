"""Configuration and secrets checks against real files and a real git repository.

Every check runs through the registry's parameter coercion (as a checklist
binding would) on files written to tmp_path, once through a local:// host
target too. Every test that reads a secret also asserts that the secret
appears nowhere in the outcome, its details or the error message.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets as pysecrets
import shutil
import string
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.checks import REGISTRY
from pytest_golive.checks.config import entropy_bits, parse_origins, placeholder_kind
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.core.secrets import Secret, mask
from pytest_golive.targets.configfiles import MISSING, detect_format, load, lookup
from pytest_golive.targets.files import FileTarget
from pytest_golive.targets.host import HostTarget
from support import require
from support.leaks import assert_no_leak


def token(n: int = 40) -> str:
    """A strong random secret, distinct in every test."""
    return pysecrets.token_urlsafe(n)[:n]


def target(path: Path, fmt: str | None = None, host: Any = None) -> FileTarget:
    options: dict[str, Any] = {"path": str(path)}
    if fmt:
        options["format"] = fmt
    return FileTarget(TargetSpec("file", "app-config", (), options), host)


def run(name: str, handle: Any = None, **raw: Any) -> Outcome:
    """Run a check the way a checklist binding does: raw string params, coerced."""
    chk = REGISTRY.get(name)
    params = chk.validate({k: str(v) if not isinstance(v, str) else v for k, v in raw.items()})
    return chk.func(**params) if chk.target == "none" else chk.func(handle, **params)


def error_of(name: str, handle: Any = None, **raw: Any) -> str:
    with pytest.raises(CheckError) as info:
        run(name, handle, **raw)
    message = str(info.value)
    assert "\n" not in message
    return message


def everything(out: Outcome) -> list[Any]:
    """All the text an outcome can put in front of anybody."""
    return [str(out), repr(out), out.summary(), json.dumps(out.to_dict()), json.dumps(out.details)]


@pytest.fixture
def local_host() -> HostTarget:
    return HostTarget(TargetSpec("host", "local", (), {"url": "local://"}), Settings())


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        (".env", "dotenv"),
        (".env.production", "dotenv"),
        ("app.env", "dotenv"),
        (".env.template", "dotenv"),
        ("settings.ini", "ini"),
        ("my.cnf", "ini"),
        ("pyproject.toml", "toml"),
        ("app.yml", "yaml"),
        ("config.yaml.example", "yaml"),
        ("appsettings.json", "json"),
    ],
)
def test_format_from_name(name: str, fmt: str) -> None:
    assert detect_format(f"/etc/app/{name}") == fmt


def test_format_unknown_is_one_clear_line() -> None:
    with pytest.raises(CheckError, match="set format= on the target"):
        detect_format("/etc/app/settings.conf.d")
    with pytest.raises(CheckError, match="unknown format 'xml'"):
        detect_format("/etc/app/x", "xml")
    assert detect_format("/etc/app/x", "yml") == "yaml"


def test_every_format_parses_to_dotted_paths(tmp_path: Path) -> None:
    files = {
        "a.env": "DATABASE_URL=postgres://db/app\nexport LOG_LEVEL='INFO'\n# c\nEMPTY=\n",
        "a.ini": "[database]\nurl = postgres://db/app\n[logging]\nLevel = INFO\n",
        "a.toml": '[database]\nurl = "postgres://db/app"\n[logging]\nLevel = "INFO"\n',
        "a.yaml": "database:\n  url: postgres://db/app\nlogging: {Level: INFO}\n",
        "a.json": '{"database": {"url": "postgres://db/app"}, "logging": {"Level": "INFO"}}',
    }
    for name, text in files.items():
        cfg = load(target(write(tmp_path / name, text)))
        if name.endswith(".env"):
            assert cfg.get("DATABASE_URL") == "postgres://db/app"
            assert cfg.get("LOG_LEVEL") == "INFO"
            assert cfg.get("EMPTY") == ""
        else:
            assert cfg.get("database.url") == "postgres://db/app", name
            assert cfg.get("logging.Level") == "INFO", name  # key case kept (INI too)
        assert cfg.get("nope.nothing") is MISSING


def test_byte_order_mark_and_crlf_are_read_like_editors_write_them(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"\xef\xbb\xbfDEBUG=false\r\nLOG_LEVEL=INFO\r\n")
    (tmp_path / "a.json").write_bytes(b'\xef\xbb\xbf{"debug": false}')
    assert (
        run("env_value", target(tmp_path / ".env"), key="DEBUG", equals="false").status == "passed"
    )
    assert (
        run("env_value", target(tmp_path / ".env"), key="LOG_LEVEL", equals="INFO").status
        == "passed"
    )
    assert (
        run("env_value", target(tmp_path / "a.json"), key="debug", equals="false").status
        == "passed"
    )


def test_process_env_is_refused_for_a_file_on_a_host(
    tmp_path: Path, local_host: HostTarget
) -> None:
    handle = target(write(tmp_path / ".env", "A=1\n"), host=local_host)
    assert "only makes sense for a local file" in error_of(
        "env_required", handle, keys="A", process_env="true"
    )
    assert "does not exist" in error_of("file_mode", target(tmp_path / "nope", host=local_host))


def test_dotted_keys_and_list_indexes() -> None:
    data = {"app.name": "shop", "servers": [{"host": "a"}, {"host": "b"}], "a": {"b.c": 1}}
    assert lookup(data, "app.name") == "shop"
    assert lookup(data, "servers.1.host") == "b"
    assert lookup(data, "a.b.c") == 1
    assert lookup(data, "servers.2.host") is MISSING


def test_ini_without_section_header_reads_top_level_keys(tmp_path: Path) -> None:
    cfg = load(target(write(tmp_path / "app.cfg", "debug = false\n[db]\nhost = x\n")))
    assert cfg.get("debug") == "false"
    assert cfg.get("db.host") == "x"


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        (".env", "A=1\nAPI_TOKEN {s} oops\n", "line 2"),
        ("a.ini", "[s]\nok = 1\n=API_TOKEN {s}\n", "line 3"),
        ("a.toml", 'ok = 1\napi_token = {s}"\n', "line 2"),
        ("a.yaml", "ok: 1\napi_token: [{s}\n", "line"),
        ("a.json", '{{"api_token": "{s}" "x"}}', "line 1"),
    ],
)
def test_parse_errors_name_the_line_never_the_content(
    tmp_path: Path, name: str, text: str, line: str
) -> None:
    secret = token()
    message = error_of(
        "env_required", target(write(tmp_path / name, text.format(s=secret))), keys="x"
    )
    assert str(tmp_path / name) in message and line in message
    assert_no_leak([secret], message)


def test_unexpected_parser_failures_are_one_line_too(tmp_path: Path) -> None:
    secret = token()
    path = write(tmp_path / "a.json", '{"api_token": "' + secret + '", "x": ' + "[" * 100_000)
    message = error_of("env_required", target(path), keys="x")
    assert message.endswith("cannot parse as json (RecursionError)")
    assert_no_leak([secret], message)


def test_values_of_secret_keys_are_wrapped_and_url_passwords_masked(tmp_path: Path) -> None:
    secret, pw = token(), token(20)
    path = write(
        tmp_path / ".env", f"API_KEY={secret}\nDATABASE_URL=mysql://app:{pw}@db/app\nDEBUG=false\n"
    )
    cfg = load(target(path))
    assert isinstance(cfg.get("API_KEY"), Secret) and str(cfg.get("API_KEY")) == "*****"
    assert cfg.get("DEBUG") == "false"
    assert (
        mask(f"driver said: access denied for app:{pw}@db")
        == "driver said: access denied for app:*****@db"
    )


def test_booleans_and_public_words_under_secret_keys_stay_readable(tmp_path: Path) -> None:
    cfg = load(target(write(tmp_path / ".env", "AUTH_ENABLED=true\nDB_PASSWORD=password\n")))
    assert cfg.get("AUTH_ENABLED") == "true"
    assert cfg.get("DB_PASSWORD") == "password"
    assert not isinstance(cfg.get("DB_PASSWORD"), Secret)
    secret = token()
    cfg = load(target(write(tmp_path / ".env", f"DB_PASSWORD=password-{secret}\n")))
    assert isinstance(cfg.get("DB_PASSWORD"), Secret)


# --- env_required -----------------------------------------------------------------------


def test_env_required_passes_when_all_keys_are_set(tmp_path: Path) -> None:
    secret = token()
    path = write(tmp_path / ".env", f"SECRET_KEY={secret}\nDATABASE_URL=postgres://db/app\n")
    out = run("env_required", target(path), keys="SECRET_KEY,DATABASE_URL")
    assert out.status == "passed", out.summary()
    assert "all 2 set" in out.observed
    assert_no_leak([secret], *everything(out))


def test_env_required_names_missing_and_empty_keys(tmp_path: Path) -> None:
    secret = token()
    path = write(tmp_path / ".env", f"SECRET_KEY={secret}\nSENTRY_DSN=\nREDIS_URL\n")
    out = run("env_required", target(path), keys="SECRET_KEY,SENTRY_DSN,REDIS_URL,SMTP_HOST")
    assert out.status == "failed"
    assert "missing SMTP_HOST" in out.observed
    assert "empty SENTRY_DSN, REDIS_URL" in out.observed
    assert out.details["missing"] == ["SMTP_HOST"]
    assert_no_leak([secret], *everything(out))


def test_env_required_template_keys_must_all_be_present(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    write(tmp_path / "app" / ".env.template", "SECRET_KEY=\nDATABASE_URL=\nSTRIPE_KEY=\n")
    secret = token()
    path = write(tmp_path / "app" / ".env", f"SECRET_KEY={secret}\nDATABASE_URL=postgres://db\n")
    out = run("env_required", target(path), template=".env.template")
    assert out.status == "failed"
    assert "2 of 3 template keys present, missing STRIPE_KEY" in out.observed
    assert out.details["missing_from_template"] == ["STRIPE_KEY"]
    assert_no_leak([secret], *everything(out))

    path.write_text(path.read_text() + f"STRIPE_KEY={token()}\n")
    out = run("env_required", target(path), template=".env.template")
    assert out.status == "passed", out.summary()


def test_env_required_through_a_local_host_target(tmp_path: Path, local_host: HostTarget) -> None:
    write(tmp_path / "config.yaml.example", "database:\n  url: ''\n  password: ''\nlog: ''\n")
    secret = token()
    path = write(
        tmp_path / "config.yaml", f"database:\n  url: postgres://db\n  password: {secret}\n"
    )
    handle = target(path, host=local_host)
    out = run("env_required", handle, keys="database.password", template="config.yaml.example")
    assert out.status == "failed"
    assert "missing log" in out.observed
    assert_no_leak([secret], *everything(out))
    out = run("env_required", handle, keys="database.password,database.url")
    assert out.status == "passed", out.summary()


def test_reading_through_a_host_logs_no_file_content(
    tmp_path: Path, local_host: HostTarget, caplog: pytest.LogCaptureFixture
) -> None:
    """testinfra logs command output at DEBUG; a config file's content must not be."""
    caplog.set_level(logging.DEBUG)
    secret, plain = token(), "plain-" + token(12)
    path = write(tmp_path / ".env", f"API_KEY={secret}\nAPP_NAME={plain}\n")
    out = run("env_required", target(path, host=local_host), keys="API_KEY,APP_NAME")
    assert out.status == "passed", out.summary()
    assert any("cat" in r.getMessage() for r in caplog.records)
    assert_no_leak([secret, plain], caplog.text, *[r.getMessage() for r in caplog.records])
    # Other commands on the host still log their output.
    local_host.testinfra.run("echo golive-visible")
    assert "golive-visible" in caplog.text


def test_env_required_process_environment_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = token()
    monkeypatch.setenv("GOLIVE_TEST_TOKEN", secret)
    path = write(tmp_path / ".env", "A=1\n")
    handle = target(path)
    assert run("env_required", handle, keys="A,GOLIVE_TEST_TOKEN").status == "failed"
    out = run("env_required", handle, keys="A,GOLIVE_TEST_TOKEN", process_env="true")
    assert out.status == "passed", out.summary()
    assert_no_leak([secret], *everything(out))
    cfg = load(handle, process_env=True)
    assert_no_leak([secret], repr(cfg), repr(cfg.environ))
    # Only the environment: a file that does not exist reads as empty.
    out = run(
        "env_required",
        target(tmp_path / "missing.env"),
        keys="GOLIVE_TEST_TOKEN",
        process_env="yes",
    )
    assert out.status == "passed" and out.details["file_exists"] is False


def test_env_required_errors(tmp_path: Path) -> None:
    assert "needs keys= or template=" in error_of("env_required", target(tmp_path / ".env"))
    assert "does not exist" in error_of("env_required", target(tmp_path / ".env"), keys="A")
    write(tmp_path / ".env", "A=1\n")
    assert "does not exist" in error_of(
        "env_required", target(tmp_path / ".env"), template="nope.template"
    )


# --- env_value --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["false", "False", "FALSE", "0", "off", "no", "", "n"])
def test_env_value_reads_false_like_the_frameworks(tmp_path: Path, value: str) -> None:
    out = run(
        "env_value",
        target(write(tmp_path / ".env", f"DEBUG={value}\n")),
        key="DEBUG",
        equals="false",
    )
    assert out.status == "passed", out.summary()


@pytest.mark.parametrize("value", ["true", "True", "1", "yes", "on", "maybe"])
def test_env_value_debug_true_fails(tmp_path: Path, value: str) -> None:
    out = run(
        "env_value",
        target(write(tmp_path / ".env", f"DEBUG={value}\n")),
        key="DEBUG",
        equals="false",
    )
    assert out.status == "failed"
    assert ("not a boolean" if value == "maybe" else "reads as true") in out.observed


def test_env_value_native_booleans_in_yaml_and_toml(tmp_path: Path) -> None:
    yml = target(write(tmp_path / "a.yaml", "app:\n  debug: false\n"))
    assert run("env_value", yml, key="app.debug", equals="off").status == "passed"
    tml = target(write(tmp_path / "a.toml", "[app]\ndebug = true\n"))
    out = run("env_value", tml, key="app.debug", equals="false")
    assert out.status == "failed" and "true" in out.observed


def test_env_value_one_of_and_matches(tmp_path: Path) -> None:
    handle = target(write(tmp_path / "a.ini", "[logging]\nlevel = info\n"))
    assert run("env_value", handle, key="logging.level", one_of="INFO,WARNING").status == "failed"
    out = run("env_value", handle, key="logging.level", one_of="INFO,WARNING", ignore_case="true")
    assert out.status == "passed", out.summary()
    assert (
        run("env_value", handle, key="logging.level", matches="info|warn(ing)?").status == "passed"
    )
    # The whole value must match, not a part of it.
    assert run("env_value", handle, key="logging.level", matches="inf").status == "failed"
    out = run("env_value", handle, key="logging.level", equals="DEBUG")
    assert out.status == "failed" and "'info'" in out.observed and "DEBUG" in out.expected


def test_env_value_missing_key_fails_and_bad_regex_errors(tmp_path: Path) -> None:
    handle = target(write(tmp_path / ".env", "A=1\n"))
    out = run("env_value", handle, key="LOG_LEVEL", equals="INFO")
    assert out.status == "failed" and "LOG_LEVEL is not set" in out.observed
    assert "not a valid regular expression" in error_of("env_value", handle, key="A", matches="(")
    assert "needs equals=" in error_of("env_value", handle, key="A")


def test_env_value_never_shows_a_secret_value(tmp_path: Path) -> None:
    secret, other = token(), token()
    handle = target(write(tmp_path / ".env", f"API_TOKEN={secret}\n"))
    out = run("env_value", handle, key="API_TOKEN", equals=other)
    assert out.status == "failed"
    assert "a value of 40 characters" in out.observed
    assert_no_leak([secret, other], *everything(out))
    out = run("env_value", handle, key="OTHER_TOKEN", equals=other)
    assert out.status == "failed" and "OTHER_TOKEN is not set" in out.observed
    assert_no_leak([secret, other], *everything(out))
    out = run("env_value", handle, key="API_TOKEN", matches="[A-Za-z0-9_-]{40}")
    assert out.status == "passed", out.summary()
    assert_no_leak([secret], *everything(out))


# --- env_no_placeholders ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("API_KEY=changeme", "changeme"),
        ("ADMIN_EMAIL=admin@example.com", "example value"),
        ("STRIPE_KEY=your-stripe-key-here", "your-...-here"),
        ("DATABASE_URL=postgres://<user>:<password>@db/app", "<...> placeholder"),
        ("SENTRY_DSN=xxxx", "xxx placeholder"),
        ("SMTP_HOST=TODO", "TODO marker"),
        ("DB_USER=test", "test/dummy value"),
        ("DB_PASSWORD=password", "well-known weak password"),
        ("JWT_SECRET=secret", "well-known weak password"),
        ("STRIPE_SECRET=sk_test_4eC39HqLyjWDarjtT1zdp7dc", "test-mode API key"),
        (
            "SECRET_KEY=django-insecure-k8#2n!x9vq$w@z&3m5p7r1t0y4u6i8o",
            "Django insecure default key",
        ),
        ("SESSION_SECRET=keyboard cat", "express-session example secret"),
        ("APP_KEY=SomeRandomString", "Laravel example key"),
        (
            "SECRET_KEY=192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf",
            "Flask documentation example key",
        ),
        ("SECRET_KEY=dev", "development secret"),
    ],
)
def test_env_no_placeholders_finds_each_kind(tmp_path: Path, line: str, kind: str) -> None:
    path = write(tmp_path / ".env", f"GOOD={token()}\n{line}\n")
    out = run("env_no_placeholders", target(path))
    assert out.status == "failed", out.summary()
    key = line.split("=", 1)[0]
    assert out.details["placeholders"] == [{"key": key, "kind": kind}]
    assert f"{key} is a {kind}" in out.observed


def test_env_no_placeholders_passes_on_real_values(tmp_path: Path) -> None:
    secret = token()
    text = (
        f"SECRET_KEY={secret}\nDATABASE_URL=postgres://app@db.internal/app\nDEBUG=false\n"
        "LOG_LEVEL=INFO\nALLOWED_HOSTS=shop.acme.io\nAPP_ENV=production\nWORKERS=4\n"
    )
    out = run("env_no_placeholders", target(write(tmp_path / ".env", text)))
    assert out.status == "passed", out.summary()
    assert out.details["checked"] == 7
    assert_no_leak([secret], *everything(out))


def test_env_no_placeholders_nested_and_keys_subset(tmp_path: Path) -> None:
    text = json.dumps(
        {"db": {"password": "changeme", "user": "app"}, "docs": {"url": "https://example.com"}}
    )
    handle = target(write(tmp_path / "appsettings.json", text))
    out = run("env_no_placeholders", handle)
    assert out.status == "failed"
    assert {p["key"] for p in out.details["placeholders"]} == {"db.password", "docs.url"}
    out = run("env_no_placeholders", handle, keys="db.user")
    assert out.status == "passed", out.summary()
    assert placeholder_kind("APP_ENV", "dev") is None  # only under secret-looking keys
    assert placeholder_kind("SECRET_KEY", "dev") == "development secret"


def test_env_no_placeholders_never_shows_values(tmp_path: Path) -> None:
    value = "your-" + token(16) + "-here"
    out = run("env_no_placeholders", target(write(tmp_path / ".env", f"API_TOKEN={value}\n")))
    assert out.status == "failed"
    assert_no_leak([value], *everything(out))


# --- secret_strength --------------------------------------------------------------------


def test_entropy_estimate_is_conservative() -> None:
    assert entropy_bits("a" * 64) == 0
    assert entropy_bits("") == 0
    hex64 = pysecrets.token_hex(32)
    assert 200 < entropy_bits(hex64) <= 64 * 4.2
    assert entropy_bits("abcabcabcabcabcabcabcabcabcabcab") < 64


def test_secret_strength_passes_a_strong_secret(tmp_path: Path) -> None:
    secret = token(48)
    out = run(
        "secret_strength", target(write(tmp_path / ".env", f"API_KEY={secret}\nDEBUG=false\n"))
    )
    assert out.status == "passed", out.summary()
    assert out.details["secrets"][0]["key"] == "API_KEY"
    assert out.details["secrets"][0]["length"] == 48
    assert "48 characters" in out.observed
    assert_no_leak([secret], *everything(out))


def test_secret_strength_fails_short_repetitive_and_simple_secrets(tmp_path: Path) -> None:
    short, repeated, lower = (
        token(20),
        "ab" * 20,
        "".join(pysecrets.choice(string.ascii_lowercase) for _ in range(40)),
    )
    text = f"API_KEY={short}\nSESSION_SECRET={repeated}\nJWT_SECRET={lower}\nOTHER=x\n"
    handle = target(write(tmp_path / ".env", text))
    out = run(
        "secret_strength",
        handle,
        keys="API_KEY,SESSION_SECRET,JWT_SECRET,SMTP_PASSWORD",
        min_classes="2",
    )
    assert out.status == "failed"
    facts = {f["fact"]: f for f in out.details["facts"]}
    assert "too short" in facts["API_KEY"]["observed"]
    assert "too little entropy" in facts["SESSION_SECRET"]["observed"]
    assert "too few character classes" in facts["JWT_SECRET"]["observed"]
    assert facts["SMTP_PASSWORD"]["observed"] == "not set"
    assert_no_leak([short, repeated, lower], *everything(out))


def test_secret_strength_without_secret_keys_is_not_applicable(tmp_path: Path) -> None:
    out = run("secret_strength", target(write(tmp_path / ".env", "DEBUG=false\n")))
    assert out.status == "skipped"


def test_secret_strength_finds_secrets_but_not_settings_about_them(tmp_path: Path) -> None:
    strong, weak = token(48), "password"
    text = (
        f"API_KEY={strong}\nDB_PASSWORD={weak}\nAUTH_ENABLED=true\nTOKEN_TTL=3600\n"
        "SESSION_COOKIE_NAME=sessionid\nAUTH_URL=https://sso.acme.io\nJWT_ALGORITHM=HS256\n"
        "PASSWORD_MIN_LENGTH=12\nSENTRY_AUTH_TOKEN=\nAPP_NAME=shop\n"
    )
    out = run("secret_strength", target(write(tmp_path / ".env", text)))
    assert [m["key"] for m in out.details["secrets"]] == ["API_KEY", "DB_PASSWORD"]
    assert out.status == "failed" and "DB_PASSWORD: 8 characters" in out.observed
    assert_no_leak([strong], *everything(out))


# --- cors_origins -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "https://shop.acme.io,https://admin.acme.io",
        '["https://shop.acme.io", "https://admin.acme.io:8443"]',
        "https://shop.acme.io https://admin.acme.io",
    ],
)
def test_cors_origins_https_lists_pass(tmp_path: Path, value: str) -> None:
    out = run(
        "cors_origins",
        target(write(tmp_path / ".env", f"CORS_ALLOWED_ORIGINS={value}\n")),
        key="CORS_ALLOWED_ORIGINS",
    )
    assert out.status == "passed", out.summary()
    assert len(out.details["origins"]) == 2


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("*", "wildcard"),
        ("https://shop.acme.io,https://*.acme.io", "wildcard"),
        ("http://shop.acme.io", "http, not https"),
        ("https://shop.acme.io/app", "has a path"),
        ("null", "'null' origin"),
        ("shop.acme.io", "not an origin"),
    ],
)
def test_cors_origins_rejects_wildcards_and_plain_http(
    tmp_path: Path, value: str, problem: str
) -> None:
    out = run(
        "cors_origins",
        target(write(tmp_path / ".env", f"CORS_ORIGINS={value}\n")),
        key="CORS_ORIGINS",
    )
    assert out.status == "failed"
    assert problem in out.observed


def test_cors_origins_yaml_list_and_missing_key(tmp_path: Path) -> None:
    handle = target(
        write(tmp_path / "a.yaml", "cors:\n  origins:\n    - https://shop.acme.io\n    - '*'\n")
    )
    out = run("cors_origins", handle, key="cors.origins")
    assert out.status == "failed" and out.details["rejected"] == {"*": "wildcard"}
    assert run("cors_origins", handle, key="cors.allowed").status == "failed"
    assert run("cors_origins", handle, key="cors.allowed", required="false").status == "passed"
    assert parse_origins("['https://a.io', 'https://b.io']") == ["https://a.io", "https://b.io"]


# --- file_mode --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "status"), [(0o600, "passed"), (0o400, "passed"), (0o640, "failed"), (0o644, "failed")]
)
def test_file_mode_against_600(tmp_path: Path, mode: int, status: str) -> None:
    handle = target(write(tmp_path / ".env", "A=1\n", mode))
    out = run("file_mode", handle, max="600")
    assert out.status == status, out.summary()
    assert out.details["mode"] == f"{mode:04o}"
    if status == "failed":
        assert "extra bits" in out.observed


def test_file_mode_through_a_local_host_and_owner(tmp_path: Path, local_host: HostTarget) -> None:
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    path = write(tmp_path / ".env", "A=1\n", 0o640)
    handle = target(path, host=local_host)
    assert run("file_mode", handle, max="0640", owner=me).status == "passed"
    out = run("file_mode", handle, max="0640", owner="nobody-golive")
    assert out.status == "failed" and me in out.observed
    assert run("file_mode", handle).status == "failed"


def test_file_mode_errors(tmp_path: Path) -> None:
    assert "does not exist" in error_of("file_mode", target(tmp_path / ".env"))
    write(tmp_path / ".env", "A=1\n")
    assert "not an octal mode" in error_of("file_mode", target(tmp_path / ".env"), max="rw-------")


# --- secrets_in_repo --------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost",
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull,
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def fake_aws_key() -> str:
    return "AKIA" + "".join(pysecrets.choice(string.ascii_uppercase + "234567") for _ in range(16))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    require(shutil.which("git") is not None, "git")
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# app\nSee the AWS docs key AKIAIOSFODNN7EXAMPLE.\n")
    (path / ".env.example").write_text("AWS_ACCESS_KEY_ID=\nAWS_SECRET_ACCESS_KEY=\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "init")
    return path


def test_secrets_in_repo_clean_tree_passes(repo: Path) -> None:
    out = run("secrets_in_repo", path=str(repo), history="true")
    assert out.status == "passed", out.summary()
    assert "no secrets in tracked files and the last 1000 commits" in out.observed


def test_secrets_in_repo_finds_a_committed_aws_key(repo: Path) -> None:
    key = fake_aws_key()
    (repo / "deploy").mkdir()
    (repo / "deploy" / "settings.py").write_text(f"REGION = 'eu'\nAWS_KEY = '{key}'\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "deploy settings")
    out = run("secrets_in_repo", path=str(repo))
    assert out.status == "failed"
    assert out.details["tracked"] == [
        {"path": "deploy/settings.py", "line": 2, "kind": "AWS access key id"}
    ]
    assert "deploy/settings.py:2 (AWS access key id)" in out.observed
    assert_no_leak([key], *everything(out))
    assert mask(f"x {key} y") == "x ***** y"


def test_secrets_in_repo_history_finds_a_key_removed_later(repo: Path) -> None:
    key, gh = fake_aws_key(), "ghp_" + token(36).replace("-", "a").replace("_", "b")
    (repo / ".env").write_text(f"AWS_ACCESS_KEY_ID={key}\nGITHUB_TOKEN={gh}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "oops")
    commit = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "rm", "-q", ".env")
    git(repo, "commit", "-q", "-m", "remove env")

    assert run("secrets_in_repo", path=str(repo)).status == "passed"
    out = run("secrets_in_repo", path=str(repo), history="true")
    assert out.status == "failed"
    assert out.details["tracked"] == []
    history = {(h["path"], h["line"], h["kind"], h["commit"]) for h in out.details["history"]}
    assert history == {
        (".env", None, "committed environment file", commit),
        (".env", 1, "AWS access key id", commit),
        (".env", 2, "GitHub token", commit),
    }
    assert f"{commit[:10]} .env:1 (AWS access key id)" in out.observed
    assert_no_leak([key, gh], *everything(out))


def test_secrets_in_repo_secret_files_private_keys_and_ignore(repo: Path) -> None:
    (repo / "keys").mkdir()
    body = token(64)
    marker = "OPENSSH PRIVATE" + " KEY"  # split, so this file is no finding itself
    (repo / "keys" / "deploy.pem").write_text(
        f"-----BEGIN {marker}-----\n{body}\n-----END {marker}-----\n"
    )
    (repo / "credentials.json").write_text('{"type": "service_account"}\n')
    (repo / "tests").mkdir()
    (repo / "tests" / "fixture.txt").write_text(
        f"sk_live_{token(30).replace('-', 'a').replace('_', 'b')}\n"
    )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "keys")
    out = run("secrets_in_repo", path=str(repo))
    found = {(f["path"], f["kind"]) for f in out.details["tracked"]}
    assert found == {
        ("keys/deploy.pem", "private key"),
        ("credentials.json", "committed credentials file"),
        ("tests/fixture.txt", "Stripe live key"),
    }
    out = run("secrets_in_repo", path=str(repo), ignore="tests/*,credentials.json,keys/*")
    assert out.status == "passed", out.summary()
    assert_no_leak([body], *everything(out))


def test_secrets_in_repo_errors(tmp_path: Path) -> None:
    require(shutil.which("git") is not None, "git")
    assert "not a directory" in error_of("secrets_in_repo", path=str(tmp_path / "nope"))
    plain = tmp_path / "plain"
    plain.mkdir()
    message = error_of("secrets_in_repo", path=str(plain))
    assert f"{plain} is not a git working tree" in message


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("env_required", {}, "needs keys= or template="),
        ("env_value", {"key": "A"}, "needs equals=, one_of= or matches="),
        ("env_value", {"key": "A", "matches": "(x"}, "not a valid regular expression"),
        ("secret_strength", {"min_classes": "5"}, "between 0 and 4"),
        ("file_mode", {"max": "0999"}, "not an octal mode"),
        ("secrets_in_repo", {"max_commits": "0"}, "at least 1"),
    ],
)
def test_bindings_that_cannot_run_are_refused_at_collection(
    name: str, raw: dict[str, str], message: str
) -> None:
    chk = REGISTRY.get(name)
    with pytest.raises(ValueError, match=re.escape(message)):
        chk.func.golive_validate(chk.validate(raw))


def test_good_bindings_pass_collection_validation() -> None:
    for name, raw in [
        ("env_required", {"template": ".env.example"}),
        ("env_value", {"key": "DEBUG", "equals": "false"}),
        ("secret_strength", {"min_classes": "3"}),
        ("file_mode", {"max": "0640"}),
        ("secrets_in_repo", {"history": "true"}),
    ]:
        chk = REGISTRY.get(name)
        chk.func.golive_validate(chk.validate(raw))


def test_text_format_is_refused_with_a_reason(tmp_path: Path) -> None:
    handle = target(write(tmp_path / "notes", "x\n"), fmt="text")
    assert "format=text" in error_of("env_required", handle, keys="A")


# --- no leak anywhere -------------------------------------------------------------------


def test_no_check_leaks_a_planted_secret(tmp_path: Path, local_host: HostTarget) -> None:
    """Every config check, passing or failing, on a file full of planted secrets."""
    planted = [token() for _ in range(5)]
    pw = token(24)
    text = (
        f"SECRET_KEY={planted[0]}\nAPI_TOKEN={planted[1]}\nDB_PASSWORD={planted[2]}\n"
        f"STRIPE_API_KEY={planted[3]}\nSESSION_COOKIE_SECRET=your-{planted[4]}-here\n"
        f"DATABASE_URL=mysql://app:{pw}@127.0.0.1/app\nCORS_ORIGINS=*\nDEBUG=true\n"
    )
    secrets = [*planted, pw]
    for handle in (
        target(write(tmp_path / ".env", text, 0o644)),
        target(tmp_path / ".env", host=local_host),
    ):
        outcomes = [
            run("env_required", handle, keys="SECRET_KEY,API_TOKEN,MISSING_ONE"),
            run("env_value", handle, key="SECRET_KEY", equals=token()),
            run("env_value", handle, key="DB_PASSWORD", one_of="a,b"),
            run("env_value", handle, key="API_TOKEN", matches="x+"),
            run("env_value", handle, key="DATABASE_URL", equals="mysql://app@db/app"),
            run("env_no_placeholders", handle),
            run("secret_strength", handle, min_length="64"),
            run("cors_origins", handle, key="CORS_ORIGINS"),
            run("file_mode", handle),
        ]
        assert {o.status for o in outcomes} == {"failed"}, [o.summary() for o in outcomes]
        assert_no_leak(secrets, *[t for o in outcomes for t in everything(o)])


# --- through the plugin -----------------------------------------------------------------


def test_config_checklist_end_to_end_leaks_nothing(pytester: pytest.Pytester) -> None:
    """A checklist of config lines run by the plugin, every output searched for secrets."""
    require(shutil.which("git") is not None, "git")
    key, pw, aws = token(), token(24), fake_aws_key()
    root = pytester.path
    pytester.makefile(".toml", golive='checklists = ["checklist.md"]\n\n'
                      '[environments.prod.files.appenv]\npath = ".env"\n')
    pytester.makefile(".md", checklist="""\
        # Go-live

        ## Configuration
        - [ ] All required variables set <!-- golive: env_required keys=SECRET_KEY,DATABASE_URL -->
        - [ ] No default values <!-- golive: env_no_placeholders -->
        - [ ] DEBUG=false <!-- golive: env_value key=DEBUG equals=false -->
        - [ ] Secret key matches policy <!-- golive: env_value key=SECRET_KEY matches=[a-z]{8} -->
        - [ ] API keys 32+ characters <!-- golive: secret_strength min_length=64 -->
        - [ ] Environment file 600 <!-- golive: file_mode max=600 -->

        ## Security
        - [ ] No secrets in version control <!-- golive: secrets_in_repo path=. history=true -->
        """,
    )
    write(
        root / ".env",
        f"SECRET_KEY={key}\nDATABASE_URL=mysql://app:{pw}@db/app\nDEBUG=true\n",
        0o644,
    )
    (root / "deploy.py").write_text(f"KEY = '{aws}'\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "deploy.py", "checklist.md")
    git(root, "commit", "-q", "-m", "deploy")
    result = pytester.runpytest_subprocess(
        "--golive=prod", "-p", "no:cacheprovider", "-vv", "-l", "-rA", "--log-level=DEBUG",
        f"--junitxml={root / 'junit.xml'}", f"--golive-json={root / 'report.json'}",
        f"--golive-report={root / 'report.html'}",
    )
    output = result.stdout.str() + result.stderr.str()
    assert "NO-GO" in output
    for line in (
        "debug-false[appenv]",
        "api-keys-32-characters[appenv]",
        "environment-file-600[appenv]",
        "no-secrets-in-version-control",
    ):
        assert re.search(rf"FAILED .*{re.escape(line)}", output), line
    assert "deploy.py:1 (AWS access key id)" in output
    assert "SECRET_KEY: a value of 40 characters" in output
    reports = [
        p for p in (root / "junit.xml", root / "report.json", root / "report.html") if p.exists()
    ]
    assert reports, "the run wrote no report"
    assert_no_leak([key, pw, aws], output, *reports)


def test_env_no_placeholders_with_no_value_to_check_is_not_a_pass(tmp_path: Path) -> None:
    """An empty file, or keys= that are all unset: 'no placeholder in 0 values' proves nothing."""
    empty = run("env_no_placeholders", target(write(tmp_path / "empty.env", "")))
    assert empty.status == "skipped" and "it has no values" in empty.observed, empty.summary()
    unset = run("env_no_placeholders", target(write(tmp_path / "app.env", "PORT=8000\n")),
                keys="SECRET_KEY,API_TOKEN")
    assert unset.status == "skipped", unset.summary()
    assert "none of SECRET_KEY, API_TOKEN is set" in unset.observed
