"""Text from targets, made safe to show: no control character reaches a terminal raw.

A target's answer (an HTTP reason phrase, a header, a command's output, a file's
content) is not ours: it can carry terminal escape sequences that recolour,
retitle or rewrite the operator's terminal, or bidirectional overrides that make
a line read differently from what it says. Every such character is shown as a
visible escape (``\\x1b``) instead, so the evidence still says what was there.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the Unicode
# bidirectional embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as a visible escape."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_escape, text)
