"""Version comparison that understands what commands and packages print."""

from __future__ import annotations

import re

_NUM = re.compile(r"\d+(?:\.\d+)*")


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """The first dotted number in ``text`` ("Python 3.11.7" -> (3, 11, 7))."""
    if not text:
        return None
    match = _NUM.search(text.split(":", 1)[-1] if re.match(r"^\d+:", text) else text)
    return tuple(int(p) for p in match.group(0).split(".")) if match else None


def version_at_least(observed: str | None, minimum: str) -> bool:
    have, want = parse_version(observed), parse_version(minimum)
    if have is None or want is None:
        return False
    width = max(len(have), len(want))
    return have + (0,) * (width - len(have)) >= want + (0,) * (width - len(want))
