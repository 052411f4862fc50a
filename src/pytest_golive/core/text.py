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


#: Marker names whose title is not just the name capitalized.
_SECTION_TITLES = {"signoff": "Sign-off"}


def section_title_of(name: str) -> str:
    """The title of a section known only by its marker name: ``security`` -> "Security".

    A test marked ``@pytest.mark.security`` has no heading of its own; a checklist
    heading of the same section, once seen, replaces this title (see
    :func:`is_marker_title`).
    """
    return _SECTION_TITLES.get(name) or name.replace("_", " ").capitalize()


def is_marker_title(name: str, title: str | None) -> bool:
    """Whether ``title`` is only a section's marker name, not a heading as written."""
    return not title or title in (name, section_title_of(name))
