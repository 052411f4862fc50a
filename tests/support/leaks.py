"""Finding planted secrets in anything the plugin wrote.

A masking test plants distinct secret values in every input path, runs the
code under test, and then searches every byte it produced: files, whole
directories (reports, logs, JUnit XML, caches) and captured text. A secret
rarely leaks verbatim only: drivers percent-encode it in URLs, HTTP clients
base64 it into Basic auth headers, serialisers hex- or JSON-escape it. So
each secret is searched in all those encodings, and each finding says where
and in which encoding.

``Path`` arguments are files or directories (searched recursively); ``str``
and ``bytes`` arguments are text. Anything else (a dict, an outcome) is
searched as ``json.dumps`` of it when that works, and as ``repr`` always.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

#: Shorter planted secrets would match by chance, in hex or base64 above all.
MIN_PLANTED_LENGTH = 8


@dataclass(frozen=True)
class Leak:
    secret_index: int
    encoding: str
    where: str
    context: str

    def __str__(self) -> str:
        return (
            f"secret #{self.secret_index} ({self.encoding}) in {self.where}: ...{self.context}..."
        )


def encodings(secret: str) -> dict[str, bytes]:
    """Every form in which ``secret`` could appear in output, as bytes."""
    raw = secret.encode("utf-8")
    forms: dict[str, bytes] = {
        "plain": raw,
        "url-quoted": quote(secret, safe="").encode(),
        "url-quoted (+)": quote_plus(secret).encode(),
        "url-quoted (path)": quote(secret).encode(),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "json-escaped": json.dumps(secret)[1:-1].encode(),
        "json-escaped (ascii)": json.dumps(secret, ensure_ascii=True)[1:-1].encode(),
        "html-escaped": html.escape(secret).encode(),
        "repr": repr(secret)[1:-1].encode(),
    }
    # Base64 of the secret alone, and of the secret inside a longer payload
    # (``user:secret`` in Basic auth): for each of the three alignments keep
    # the characters that depend on the secret alone.
    for alphabet, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
        forms[alphabet] = encode(raw)
        forms[f"{alphabet} (unpadded)"] = encode(raw).rstrip(b"=")
        for shift in (0, 1, 2):
            enc = encode(b"\0" * shift + raw)
            # Characters whose six bits all come from the secret.
            middle = enc[(8 * shift + 5) // 6 : (8 * (shift + len(raw))) // 6]
            if len(middle) >= MIN_PLANTED_LENGTH:
                forms[f"{alphabet} (offset {shift})"] = middle
    # The same bytes under two names would be reported twice.
    unique: dict[bytes, str] = {}
    for name, form in forms.items():
        unique.setdefault(form, name)
    return {name: form for form, name in unique.items()}


def _sources(items: Iterable[Any]) -> Iterable[tuple[str, bytes]]:
    for n, item in enumerate(items):
        if isinstance(item, Path):
            if item.is_dir():
                for root, _dirs, files in os.walk(item):
                    for name in sorted(files):
                        path = Path(root, name)
                        if not path.is_symlink():
                            yield str(path), path.read_bytes()
            elif item.exists():
                yield str(item), item.read_bytes()
            else:
                raise FileNotFoundError(f"assert_no_leak: {item} does not exist")
        elif isinstance(item, bytes):
            yield f"text #{n}", item
        elif isinstance(item, str):
            yield f"text #{n}", item.encode("utf-8", "surrogateescape")
        else:
            try:
                yield f"argument #{n} (json)", json.dumps(item, default=str).encode()
            except (TypeError, ValueError):
                pass
            yield f"argument #{n} (repr)", repr(item).encode("utf-8", "replace")


def find_leaks(secrets: list[str], *paths_or_texts: Any) -> list[Leak]:
    """Every place where any of ``secrets`` appears, in any encoding."""
    for s in secrets:
        if len(s) < MIN_PLANTED_LENGTH:
            raise ValueError(
                f"planted secrets must be at least {MIN_PLANTED_LENGTH} characters to be "
                f"found without false alarms; got one of {len(s)}"
            )
    # Longest forms first, so "base64" is reported rather than its own middle part.
    forms = sorted(
        ((i, name, form) for i, s in enumerate(secrets) for name, form in encodings(s).items()),
        key=lambda f: -len(f[2]),
    )
    leaks: list[Leak] = []
    for where, data in _sources(paths_or_texts):
        seen: list[tuple[int, int, int]] = []
        for i, name, form in forms:
            start = data.find(form)
            while start != -1:
                end = start + len(form)
                if not any(j == i and a <= start and end <= b for j, a, b in seen):
                    seen.append((i, start, end))
                    line = data.count(b"\n", 0, start) + 1
                    before = data[max(0, start - 30) : start]
                    after = data[end : end + 30]
                    context = (before + b"[SECRET]" + after).decode("utf-8", "replace")
                    leaks.append(Leak(i, name, f"{where}:{line}", context.replace("\n", "\\n")))
                start = data.find(form, start + 1)
    return leaks


def assert_no_leak(secrets: list[str], *paths_or_texts: Any) -> None:
    """Fail, naming each place and encoding, if any secret appears anywhere.

    The failure message shows the surroundings of each finding with the
    secret itself replaced by ``[SECRET]``.
    """
    leaks = find_leaks(secrets, *paths_or_texts)
    if leaks:
        shown = "\n  ".join(str(leak) for leak in leaks[:50])
        more = f"\n  ... and {len(leaks) - 50} more" if len(leaks) > 50 else ""
        raise AssertionError(f"{len(leaks)} secret leak(s):\n  {shown}{more}")


@pytest.fixture(name="assert_no_leak")
def assert_no_leak_fixture() -> Any:
    """The :func:`assert_no_leak` helper, for tests that prefer a fixture."""
    return assert_no_leak
