"""The leak-search helper finds secrets in every encoding, and only there."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from support.leaks import assert_no_leak, find_leaks

SECRET = 'pa55/w+rd "&<Zq9>"'


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (f"password={SECRET}", "plain"),
        (f"mysql://app:{quote(SECRET, safe='')}@db/app", "url-quoted"),
        (f"form: p={quote_plus(SECRET)}&x=1", "url-quoted (+)"),
        (f"bytes {SECRET.encode().hex()}", "hex"),
        (f"BYTES {SECRET.encode().hex().upper()}", "HEX"),
        (json.dumps({"password": SECRET}), "json-escaped"),
        (
            "<td>" + SECRET.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace(chr(34), "&quot;") + "</td>",
            "html-escaped",
        ),
        (f"Authorization: Basic {base64.b64encode(SECRET.encode()).decode()}", "base64"),
    ],
)
def test_each_encoding_is_found(text: str, encoding: str) -> None:
    leaks = find_leaks([SECRET], text)
    assert [leak.encoding for leak in leaks] == [encoding]


@pytest.mark.parametrize("prefix", ["", "u:", "us:", "usr:"])
def test_base64_inside_a_longer_payload_is_found(prefix: str) -> None:
    header = base64.b64encode(f"{prefix}{SECRET}:tail".encode()).decode()
    assert find_leaks([SECRET], f"Authorization: Basic {header}")


def test_files_and_directories_are_searched_with_line_numbers(tmp_path: Path) -> None:
    (tmp_path / "reports" / "deep").mkdir(parents=True)
    (tmp_path / "reports" / "deep" / "junit.xml").write_text(f"<a/>\n<b>\n{SECRET}</b>\n")
    (tmp_path / "reports" / "clean.html").write_text("nothing here\n")
    leaks = find_leaks([SECRET, "another-secret-value"], tmp_path / "reports")
    assert [(leak.where, leak.secret_index) for leak in leaks] == [
        (f"{tmp_path / 'reports' / 'deep' / 'junit.xml'}:3", 0)
    ]


def test_clean_output_passes_and_a_leak_fails_without_echoing_the_secret(assert_no_leak) -> None:
    assert_no_leak([SECRET], "observed a value of 18 characters", b"\x00\xff binary", {"k": "v"})
    with pytest.raises(AssertionError) as info:
        assert_no_leak([SECRET], "ok", f"before {SECRET} after")
    message = str(info.value)
    assert "secret #0 (plain) in text #1:1" in message
    assert "before [SECRET] after" in message
    assert SECRET not in message


def test_short_planted_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 8 characters"):
        assert_no_leak(["abc"], "abc")


def test_a_missing_path_is_an_error_not_a_pass(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        assert_no_leak([SECRET], tmp_path / "never-written.json")
