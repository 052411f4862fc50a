"""Target handles: the live connection behind each configured target.

A handle is created once per run and per target (:class:`TargetPool`) and
shared by every item that checks that target, so a host is connected to once,
an HTTP session keeps its connections alive, and a target that failed to
connect is not retried for each of its items: the first failure is remembered
and every later item on that target reports the same one error line at once.
"""

from __future__ import annotations

import threading
from typing import Any

from pytest_golive.core.config import Environment, TargetSpec
from pytest_golive.core.outcome import CheckError


class TargetPool:
    def __init__(self, env: Environment) -> None:
        self.env = env
        self._handles: dict[str, Any] = {}
        self._failures: dict[str, str] = {}
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def handle(self, spec: TargetSpec) -> Any:
        """The handle for ``spec``; raises :class:`CheckError` if it cannot connect."""
        with self._lock:
            lock = self._locks.setdefault(spec.name, threading.Lock())
        with lock:
            if spec.name in self._failures:
                raise CheckError(self._failures[spec.name])
            if spec.name not in self._handles:
                self._handles[spec.name] = self._open(spec)
            return self._handles[spec.name]

    def mark_unreachable(self, spec: TargetSpec, message: str) -> None:
        """Remember a connection failure so the target's other items fail fast."""
        with self._lock:
            self._failures.setdefault(spec.name, message)

    def failure(self, spec: TargetSpec) -> str | None:
        return self._failures.get(spec.name)

    def _open(self, spec: TargetSpec) -> Any:
        settings = self.env.settings
        if spec.kind == "host":
            from pytest_golive.targets.host import HostTarget

            return HostTarget(spec, settings, pool=self)
        if spec.kind == "endpoint":
            from pytest_golive.targets.endpoint import EndpointTarget

            return EndpointTarget(spec, settings)
        if spec.kind == "database":
            from pytest_golive.targets.database import DatabaseTarget

            return DatabaseTarget(spec, settings)
        if spec.kind == "file":
            from pytest_golive.targets.files import FileTarget

            host = None
            if spec.options.get("host"):
                host_specs = self.env.select("host", str(spec.options["host"]))
                host = self.handle(host_specs[0]) if host_specs else None
            return FileTarget(spec, host)
        raise CheckError(f"{spec.name}: unknown target kind {spec.kind}")

    def round_trips(self) -> dict[str, int]:
        """Remote commands sent to each host contacted so far (batched checks share one)."""
        return {name: handle.round_trips for name, handle in self._handles.items()
                if getattr(handle, "kind", "") == "host" and handle.round_trips}

    def close(self) -> None:
        for handle in self._handles.values():
            close = getattr(handle, "close", None)
            if close:
                try:
                    close()
                except Exception:  # noqa: BLE001 - closing must never fail a run
                    pass
        self._handles.clear()
