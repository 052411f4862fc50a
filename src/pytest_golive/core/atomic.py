"""Reports written atomically: a reader sees the old file or the new one, never half a file.

A report is attached to a change ticket or read by the next pipeline step, possibly
while a second run is writing it, on a disk that may fill up. Each file is written
to a temporary file beside it, flushed to disk, then renamed over the old one; a
failed write removes its temporary file and leaves the old report (or none) in place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; an :class:`OSError` leaves no partial file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file 0600; a report is as readable as any file the user writes.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
