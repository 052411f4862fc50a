"""SIGTERM ends a readiness run the way Ctrl-C does.

CI systems cancel a job (a timeout, a newer push) with SIGTERM, and Python's
default for it is to die at once: no report, no verdict, and the results
already decided are lost. Raised as KeyboardInterrupt instead, pytest ends the
session as it does for Ctrl-C: the reports are written, marked incomplete and
NO-GO, and the exit code is pytest's "interrupted" (2).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

_previous: Any = None
_installed = False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def install() -> None:
    """Turn SIGTERM into KeyboardInterrupt, unless someone else already handles it."""
    global _previous, _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGTERM)
    if current not in (signal.SIG_DFL, None):
        return  # a wrapper (xdist worker, a CI shim) handles SIGTERM its own way
    _previous = current
    signal.signal(signal.SIGTERM, _interrupt)
    _installed = True


def uninstall() -> None:
    global _installed
    if _installed and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _previous if _previous is not None else signal.SIG_DFL)
        _installed = False
