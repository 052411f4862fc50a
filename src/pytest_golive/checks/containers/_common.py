"""Facts shared by the container checks: image references, users, reading files on a host."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass

from pytest_golive.core.config import TargetSpec
from pytest_golive.core.outcome import CheckError
from pytest_golive.targets.configfiles import read_quietly
from pytest_golive.targets.files import FileTarget
from pytest_golive.targets.host import HostTarget

#: Tags that name whatever was pushed last, not one build: an image under such a
#: tag can change between two deployments of the same file.
MOVING_TAGS = frozenset(
    {
        "latest",
        "stable",
        "edge",
        "nightly",
        "main",
        "master",
        "lts",
        "current",
        "mainline",
        "dev",
        "develop",
        "rolling",
    }
)

#: Secret-looking names that configure a secret rather than hold one (AUTH_ENABLED,
#: TOKEN_TTL, SESSION_COOKIE_NAME), and values that are no secret whatever the name.
SETTING_KEY = re.compile(
    r"[_.-](ttl|lifetime|length|timeout|age|expiry|expires|enabled|enable|disabled|required|"
    r"secure|name|file|path|dir|host|port|user|username|url|uri|endpoint|algorithm|backend|"
    r"provider|type|mode|domain|header|issuer|audience|method|version|prefix)$",
    re.IGNORECASE,
)
TRIVIAL = frozenset({"true", "false", "yes", "no", "on", "off", "none", "null", "0", "1"})

_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


@dataclass(frozen=True)
class ImageRef:
    """An image reference split as registries read it: ``[registry/]repository[:tag][@digest]``."""

    text: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> ImageRef:
        ref = text.strip()
        name, _, digest = ref.partition("@")
        # A ':' after the last '/' starts the tag; one before it is a registry port.
        slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > slash:
            repository, tag = name[:colon], name[colon + 1 :]
        else:
            repository, tag = name, None
        return cls(ref, repository, tag, digest or None)

    @property
    def has_digest(self) -> bool:
        return self.digest is not None and bool(_DIGEST.match(self.digest))

    def pin_problem(self, *, require_digest: bool) -> str | None:
        """Why this reference does not name one fixed image, or None."""
        if not self.repository:
            return "no image name"
        if require_digest:
            return None if self.has_digest else "no @sha256: digest"
        if self.has_digest:
            return None
        if self.digest is not None:
            return f"malformed digest {self.digest!r}"
        if self.tag is None:
            return "no tag (means :latest)"
        if not self.tag:
            return "empty tag (an unset variable?)"
        if self.tag.lower() in MOVING_TAGS:
            return f"moving tag :{self.tag}"
        return None

    def matches(self, patterns: list[str]) -> str | None:
        """The first pattern (a glob over the whole reference or the repository) it matches."""
        for pattern in patterns:
            if fnmatch.fnmatchcase(self.text, pattern) or fnmatch.fnmatchcase(
                self.repository, pattern
            ):
                return pattern
        return None


def root_user(user: str | None) -> bool | None:
    """Whether a ``user`` setting runs as root: True, False, or None when it is not set.

    ``root``, ``0``, ``0:0`` and ``root:staff`` are root (the user decides, not the
    group); any other name or uid is not.
    """
    if user is None:
        return None
    text = str(user).strip()
    if not text:
        return None
    name = text.split(":", 1)[0].strip()
    return name in ("root", "0") or (name.isdigit() and int(name) == 0)


def read_on_host(host: HostTarget, path: str, what: str) -> str:
    """A file's text read through the host (``local://``: this machine), kept out of logs."""
    target = FileTarget(TargetSpec("file", f"{host.name}-{what}", (), {"path": path}), host)
    try:
        return read_quietly(target)
    except CheckError as exc:
        raise CheckError(f"{what} {exc}".replace(f"{what} file ", f"{what} ")) from None


def directory_files(host: HostTarget, path: str, suffixes: tuple[str, ...]) -> list[str] | None:
    """The files directly in ``path`` ending in one of ``suffixes``; None for no directory."""
    try:
        node = host.testinfra.file(path)
        if not node.is_directory:
            return None
        names = sorted(str(n) for n in node.listdir())
    except CheckError:
        raise
    except Exception as exc:  # noqa: BLE001 - any backend failure is one line
        raise CheckError(f"host {host.name}: cannot list {path}: {type(exc).__name__}") from None
    return [
        posixpath.join(path, n) for n in names if n.endswith(suffixes) and not n.startswith(".")
    ]


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
