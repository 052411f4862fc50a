"""Small shell helpers shared by the host-side observation of several check families.

Kept apart from the families themselves (a module whose name starts with ``_``
holds no checks) so each family stays one module of facts and judgements.
"""

from __future__ import annotations

import re
import shlex

from pytest_golive.core.secrets import mask
from pytest_golive.targets.host import HostTarget


def q(value: object) -> str:
    """``value`` quoted as one shell word."""
    return shlex.quote(str(value))


def glob_word(path: str) -> str:
    """``path`` quoted for the shell except its glob characters, which stay live."""
    parts = re.split(r"([*?])", path)
    return "".join(p if p in ("*", "?") else shlex.quote(p) for p in parts if p)


def first_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of ``text``, shortened and masked: for one-line errors."""
    for line in text.splitlines():
        if line.strip():
            return mask(" ".join(line.split())[:limit])
    return ""


def host_address(host: HostTarget) -> str | None:
    """The address or name a host target's URL connects to (None for ``local://``)."""
    url = host.url
    if "://" not in url:
        rest = url
    else:
        scheme, rest = url.split("://", 1)
        if scheme in ("local", "docker", "podman", "kubectl", "lxc"):
            return None
    rest = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if rest.startswith("["):
        return rest[1:].split("]", 1)[0]
    if rest.count(":") == 1:
        rest = rest.split(":", 1)[0]
    return rest or None
