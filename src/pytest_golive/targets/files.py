"""File targets: configuration files read locally or through a host target."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from pytest_golive.core.config import TargetSpec
from pytest_golive.core.outcome import CheckError

#: The largest configuration file a check reads. Configuration files are
#: kilobytes; a file of hundreds of megabytes is a mistake (a log, a dump) and
#: reading it whole would hold the run for minutes and fill its memory.
MAX_CONFIG_BYTES = 16 * 1024 * 1024


def _kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _checked_text(data: bytes, where: str) -> str:
    """The text of a configuration file, refusing binary content in one line."""
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise CheckError(f"file {where}: line {line} holds a NUL byte: binary content, "
                         "not a configuration file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CheckError(f"file {where}: line {line} is not UTF-8 text") from None


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
        """The file's text; a missing, unreadable or unfit file is a :class:`CheckError`.

        Only a regular file of at most :data:`MAX_CONFIG_BYTES` of UTF-8 text
        is read: a FIFO would block the read forever, a directory or a huge
        file is not a configuration file, and a NUL byte means binary content
        that parsers would misread.
        """
        try:
            if self.host is not None:
                return self._read_remote()
            return self._read_local()
        except CheckError:
            raise
        except FileNotFoundError:
            raise CheckError(f"file {self.where} does not exist") from None
        except OSError as exc:
            raise CheckError(f"file {self.where}: cannot read: {exc.strerror or exc}") from None

    def _unfit(self, mode: int, size: int) -> None:
        if not stat.S_ISREG(mode):
            raise CheckError(f"file {self.where} is {_kind_of(mode)}, not a configuration file")
        if size > MAX_CONFIG_BYTES:
            raise CheckError(
                f"file {self.where} has {size / 1048576:.0f} MiB: larger than the "
                f"{MAX_CONFIG_BYTES // 1048576} MiB a configuration file may have; not read"
            )

    def _read_local(self) -> str:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            self._unfit(info.st_mode, info.st_size)
            data = fh.read(MAX_CONFIG_BYTES + 1)
        return _checked_text(data, self.where)

    def _read_remote(self) -> str:
        f = self.host.testinfra.file(self.path)
        if not f.exists:
            raise CheckError(f"file {self.where} does not exist")
        self._unfit(int(f.mode) | _type_bits(f), int(f.size) if f.is_file else 0)
        return _checked_text(bytes(f.content), self.where)

    def mode(self) -> int:
        if self.host is not None:
            return int(self.host.testinfra.file(self.path).mode)
        return Path(self.path).stat().st_mode & 0o7777


def _type_bits(f: Any) -> int:
    """The file-type bits of a testinfra File (its ``mode`` has the permission bits only)."""
    if f.is_file:
        return stat.S_IFREG
    if f.is_directory:
        return stat.S_IFDIR
    if f.is_pipe:
        return stat.S_IFIFO
    if f.is_socket:
        return stat.S_IFSOCK
    return 0
