"""File targets: configuration files read locally or through a host target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_golive.core.config import TargetSpec
from pytest_golive.core.outcome import CheckError


class FileTarget:
    kind = "file"

    def __init__(self, spec: TargetSpec, host: Any = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.path = str(spec.options["path"])
        self.format = spec.options.get("format")
        self.host = host

    @property
    def where(self) -> str:
        return f"{self.host.name}:{self.path}" if self.host else self.path

    def exists(self) -> bool:
        if self.host is not None:
            return bool(self.host.testinfra.file(self.path).exists)
        return Path(self.path).exists()

    def read_text(self) -> str:
        """The file's text; a missing or unreadable file is a :class:`CheckError`."""
        try:
            if self.host is not None:
                f = self.host.testinfra.file(self.path)
                if not f.exists:
                    raise CheckError(f"file {self.where} does not exist")
                return f.content_string
            return Path(self.path).read_text(encoding="utf-8")
        except CheckError:
            raise
        except FileNotFoundError:
            raise CheckError(f"file {self.where} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckError(f"file {self.where}: cannot read: {exc}") from None

    def mode(self) -> int:
        if self.host is not None:
            return int(self.host.testinfra.file(self.path).mode)
        return Path(self.path).stat().st_mode & 0o7777
