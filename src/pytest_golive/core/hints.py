"""The "did you mean" hint every one-line error about a misspelt name ends with."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'a' or 'b'?)`` for the closest candidates, or ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)" if close else ""
