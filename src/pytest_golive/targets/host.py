"""Host targets, through pytest-testinfra.

testinfra knows package managers, init systems and distributions; this
handle adds what a readiness run needs on top: bounded command time, and
connection errors turned into one line naming the host.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

import testinfra

from pytest_golive.config import Settings, TargetSpec
from pytest_golive.outcome import CheckError
from pytest_golive.secrets import mask, reveal

if TYPE_CHECKING:
    from pytest_golive.targets import TargetPool


class HostTarget:
    kind = "host"

    def __init__(self, spec: TargetSpec, settings: Settings, pool: TargetPool | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.settings = settings
        self.pool = pool
        self._host: Any = None

    @property
    def url(self) -> str:
        return str(reveal(self.spec.options["url"]))

    @property
    def testinfra(self) -> Any:
        """The testinfra ``Host`` (modules: ``.package()``, ``.file()``, ...)."""
        if self._host is None:
            kwargs: dict[str, Any] = {}
            opts = self.spec.options
            ssh_config = opts.get("ssh_config") or self.settings.ssh_config
            identity = opts.get("ssh_identity_file") or self.settings.ssh_identity_file
            if ssh_config:
                kwargs["ssh_config"] = str(ssh_config)
            if identity:
                kwargs["ssh_identity_file"] = str(identity)
            if opts.get("sudo"):
                kwargs["sudo"] = True
            scheme = self.url.split("://", 1)[0]
            if scheme in ("ssh", "paramiko"):
                kwargs["timeout"] = int(self.settings.connect_timeout)
            self._host = testinfra.get_host(self.url, **kwargs)
        return self._host

    def run(self, command: str, *args: str, timeout: float | None = None) -> Any:
        """Run an observation command; its time is bounded by ``command_timeout``.

        The bound is enforced on the host with coreutils ``timeout`` where it
        exists, so a hanging command is ended where it runs.
        """
        limit = int(timeout or self.settings.command_timeout)
        cmd = self.testinfra.backend.get_command(command, *args) if args else command
        wrapped = (
            f"if command -v timeout >/dev/null 2>&1; then timeout {limit} sh -c {shlex.quote(cmd)}; "
            f"else sh -c {shlex.quote(cmd)}; fi"
        )
        try:
            result = self.testinfra.run(wrapped)
        except Exception as exc:  # noqa: BLE001 - any backend failure is a connection error
            message = f"host {self.name}: cannot connect: {_reason(exc)}"
            if self.pool is not None:
                self.pool.mark_unreachable(self.spec, message)
            raise CheckError(message) from None
        if result.rc == 124:
            raise CheckError(f"host {self.name}: command timed out after {limit}s: {mask(command)}")
        return result

    def close(self) -> None:
        self._host = None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    # testinfra raises RuntimeError(CommandResult) for ssh's exit 255.
    stderr = getattr(exc.args[0], "stderr", None) if exc.args else None
    if stderr:
        text = stderr.strip()
    text = " ".join(text.split())
    return mask(text[:300] or type(exc).__name__)
