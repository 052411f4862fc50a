"""One time limit for everything a readiness run evaluates: catalog checks and custom tests.

``settings.check_timeout`` bounds a check (or a test marked as a checklist
line) in all. Python cannot stop a thread that is stuck in ``time.sleep``,
a blocking read or a C call, so the work runs on a thread of its own and the
caller stops waiting when the limit is reached: the item ends as an *error*
("did not finish within 5s (settings.check_timeout)") and the run goes on.

Why daemon threads (and not ``concurrent.futures`` or a subprocess per check):

- ``ThreadPoolExecutor`` threads are joined when the interpreter exits, so
  one check stuck for ten minutes kept pytest alive after the reports were
  written and the pipeline lost the exit code it gates on. Daemon threads are
  not joined.
- A subprocess per check would cost a fork and the pickling of every target
  handle (SSH connections, database sessions are shared across a host's
  checks) per item, and custom tests use pytest's fixtures, which live in
  this process. Threads keep both.

A daemon thread still alive at exit can, rarely, hold a lock the interpreter
needs while it shuts down (the stdout buffer's, when it was printing), which
aborts the process with a fatal error instead of the run's exit code. So when
anything abandoned here is still running at exit, :func:`hard_exit_if_stuck`
(registered with :mod:`atexit` by the pytest integration) flushes the streams
and ends the process with the run's own exit status: by then every report has
been written.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

#: Threads whose work outlived its limit; still alive, no longer waited for.
_ABANDONED: list[threading.Thread] = []
_LOCK = threading.Lock()


class Overdue(Exception):
    """The work did not finish within its time limit; the message says so in full."""


@dataclass(frozen=True)
class TimeLimit:
    """How long one check or test may take, and the setting that says so."""

    seconds: float | None
    setting: str = "settings.check_timeout"

    def message(self, what: str) -> str:
        return f"{what} did not finish within {self.seconds or 0:g}s ({self.setting})"


class _Box(Generic[T]):
    """The result or the exception of work done on another thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None


def call_bounded(func: Callable[[], T], limit: TimeLimit, what: str, *,
                 name: str = "golive-check") -> T:
    """``func()`` on a daemon thread; its result, its exception, or :class:`Overdue`.

    An exception raised by ``func`` is raised here with its own traceback, so
    pytest and ``--golive-traceback`` show where it came from.
    """
    if limit.seconds is None or limit.seconds <= 0:
        return func()
    box: _Box[T] = _Box()

    def work() -> None:
        try:
            box.value = func()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            box.error = exc
        finally:
            box.done.set()

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    if not box.done.wait(limit.seconds):
        with _LOCK:
            _ABANDONED.append(thread)
        raise Overdue(limit.message(what))
    if box.error is not None:
        raise box.error
    return box.value  # type: ignore[return-value]


def start_daemon(func: Callable[[], None], name: str) -> threading.Thread:
    """A worker thread that never keeps the process alive (see the module docstring)."""
    thread = threading.Thread(target=func, name=name, daemon=True)
    thread.start()
    return thread


def abandon(thread: threading.Thread) -> None:
    """Record a thread that is stuck in work no longer waited for."""
    with _LOCK:
        _ABANDONED.append(thread)


def still_running() -> list[threading.Thread]:
    """Abandoned threads that are still alive."""
    with _LOCK:
        _ABANDONED[:] = [t for t in _ABANDONED if t.is_alive()]
        return list(_ABANDONED)


def hard_exit_if_stuck(status: Callable[[], int | None]) -> None:
    """At interpreter exit: end the process now if abandoned work is still running.

    ``status()`` is the exit status of the run (``None``: leave the normal
    exit alone). Streams are flushed first, so nothing written is lost.
    """
    code = status()
    if code is None or not still_running():
        return
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
