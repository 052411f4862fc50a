"""``${name}`` references: one grammar for golive.toml values and checklist parameters.

* ``${name}``: a variable; a name is letters, digits, ``_`` and ``.`` (dots
  name an environment's variables, ``${db.host}``; process environment
  variables have none);
* ``${name:-default}``: the default when the variable is unset;
* ``$$``: a literal ``$``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: Group 1 is the name, group 2 the default (None without ``:-``); ``$$`` matches with neither.
REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::-([^}]*))?\}")


def names(text: str) -> list[str]:
    """The variables ``text`` refers to, in order, each once."""
    found: list[str] = []
    for match in REFERENCE.finditer(text):
        name = match.group(1)
        if name is not None and name not in found:
            found.append(name)
    return found


def substitute(text: str, lookup: Callable[[str, str | None], str | None]) -> str:
    """``text`` with each reference replaced by ``lookup(name, default)``.

    ``lookup`` returning None leaves the reference as written (an unset
    variable, reported by the caller); ``$$`` always becomes ``$``.
    """

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "$"
        value = lookup(name, match.group(2))
        return match.group(0) if value is None else value

    return REFERENCE.sub(one, text)
