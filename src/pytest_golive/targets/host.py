"""Host targets, through pytest-testinfra.

testinfra knows package managers, init systems and distributions; this
handle adds what a readiness run needs on top:

* every command is bounded in time (``command_timeout``), including the
  commands testinfra's own modules run, by a ``timeout`` wrapper on the host;
* ``ssh://`` reuses one connection per host (OpenSSH multiplexing, a private
  control directory per run, removed at exit), so a checklist does not pay a
  handshake per check;
* a connection failure becomes one line naming the host and the cause, and is
  remembered: the host is not contacted again for each of its other items.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
from typing import TYPE_CHECKING, Any

import testinfra.backend
import testinfra.host

from pytest_golive.config import Settings, TargetSpec
from pytest_golive.outcome import CheckError
from pytest_golive.secrets import mask, reveal

if TYPE_CHECKING:
    from pytest_golive.targets import TargetPool

#: Exit status of coreutils ``timeout`` when the command ran out of time.
_TIMED_OUT = 124
#: Seconds ``timeout`` waits after TERM before it sends KILL.
_KILL_AFTER = 5
#: How long an idle multiplexing master stays up after its last command.
_CONTROL_PERSIST = 120


class HostTarget:
    kind = "host"

    def __init__(self, spec: TargetSpec, settings: Settings, pool: TargetPool | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.settings = settings
        self.pool = pool
        self._host: Any = None
        self._lock = threading.Lock()
        #: The bound for the command being run (``run(timeout=)``), else the setting.
        self._limit: float = 0
        #: The first connection failure, repeated for every later command.
        self.failure: str | None = None
        #: Connections tried that failed: stays at 1 however many items the host has.
        self.failed_attempts = 0

    @property
    def url(self) -> str:
        return str(reveal(self.spec.options["url"]))

    @property
    def scheme(self) -> str:
        # testinfra's default for a bare host name is paramiko.
        return self.url.split("://", 1)[0] if "://" in self.url else "paramiko"

    @property
    def testinfra(self) -> Any:
        """The testinfra ``Host`` (modules: ``.package()``, ``.file()``, ...).

        Its backend is wrapped so module commands get the same time bound and
        error handling as :meth:`run`.
        """
        with self._lock:
            if self._host is None:
                self._host = self._connect()
            return self._host

    def _connect(self) -> Any:
        kwargs = self._backend_kwargs()
        try:
            # Not testinfra.get_host(): its cache would share (and wrap twice)
            # one backend between handles; each handle owns its connection.
            host = testinfra.host.Host(_backend(self.url, **kwargs))
        except Exception as exc:  # noqa: BLE001 - a bad URL or missing backend library
            raise CheckError(f"host {self.name}: cannot use {mask(self.url)}: {_reason(exc)}") from None
        backend = host.backend
        raw_run = backend.run

        def bounded_run(command: str, *args: str, **kw: Any) -> Any:
            return self._bounded(raw_run, backend, command, *args)

        backend.run = bounded_run
        return host

    def _backend_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        opts = self.spec.options
        ssh_config = opts.get("ssh_config") or self.settings.ssh_config
        identity = opts.get("ssh_identity_file") or self.settings.ssh_identity_file
        if ssh_config:
            kwargs["ssh_config"] = os.path.expanduser(str(reveal(ssh_config)))
        if identity:
            kwargs["ssh_identity_file"] = os.path.expanduser(str(reveal(identity)))
        if opts.get("sudo"):
            kwargs["sudo"] = True
        if self.scheme in ("ssh", "safe-ssh", "paramiko"):
            kwargs["timeout"] = max(1, int(self.settings.connect_timeout))
        if self.scheme in ("ssh", "safe-ssh"):
            alive = max(1, int(self.settings.connect_timeout))
            # BatchMode: never wait at a password prompt; keep-alives: a host
            # that vanishes mid-command is noticed instead of waited on.
            kwargs["ssh_extra_args"] = (
                f"-o BatchMode=yes -o ServerAliveInterval={alive} -o ServerAliveCountMax=3"
            )
            if self.settings.ssh_multiplex:
                # %C: a hash of the connection; doubled because testinfra formats with %.
                kwargs["controlpath"] = f"{control_dir()}/%%C"
                kwargs["controlpersist"] = _CONTROL_PERSIST
                _MASTERS.add(self)
            else:
                kwargs["controlpersist"] = 0
        return kwargs

    def _bounded(self, raw_run: Any, backend: Any, command: str, *args: str) -> Any:
        """Run ``command`` on the host within ``command_timeout`` seconds."""
        if self.failure:
            raise CheckError(self.failure)
        limit = max(1, int(self._limit or self.settings.command_timeout))
        cmd = command % tuple(shlex.quote(str(a)) for a in args) if args else command
        wrapped = (
            f"if command -v timeout >/dev/null 2>&1; then "
            f"timeout -k {_KILL_AFTER} {limit} sh -c {shlex.quote(cmd)}; "
            f"else sh -c {shlex.quote(cmd)}; fi"
        )
        if self.scheme in ("ssh", "safe-ssh"):
            # ssh itself exits 255 on connection errors; a command's own 255
            # must not make the host look unreachable.
            wrapped += "; r=$?; [ $r -ne 255 ] || r=254; exit $r"
        if hasattr(backend, "answer_timeout"):
            backend.answer_timeout = limit + _KILL_AFTER + self.settings.connect_timeout
        try:
            result = raw_run(wrapped)
        except TimeoutError:
            self._fail(f"host {self.name}: cannot connect: no answer from the host for "
                       f"{limit + _KILL_AFTER + self.settings.connect_timeout:g}s")
        except Exception as exc:  # noqa: BLE001 - any backend failure is a connection error
            reason = _reason(exc)
            refused = "Authentication" in type(exc).__name__ or "Permission denied" in reason
            self._fail(f"host {self.name}: {'login refused' if refused else 'cannot connect'}: {reason}")
        if result.rc == _TIMED_OUT:
            raise CheckError(f"host {self.name}: command timed out after {limit}s: {mask(cmd)[:120]}")
        return result

    def _fail(self, message: str) -> None:
        self.failure = message
        self.failed_attempts += 1
        if self.pool is not None:
            self.pool.mark_unreachable(self.spec, message)
        raise CheckError(message)

    def run(self, command: str, *args: str, timeout: float | None = None) -> Any:
        """Run an observation command; its time is bounded by ``command_timeout``.

        ``args`` are shell-quoted into the ``%s`` placeholders of ``command``.
        The bound is enforced on the host with coreutils ``timeout`` where it
        exists, so a hanging command is ended where it runs.
        """
        if self.failure:
            raise CheckError(self.failure)
        previous = self._limit
        self._limit = timeout or self.settings.command_timeout
        try:
            return self.testinfra.run(command, *args)
        finally:
            self._limit = previous

    def close(self) -> None:
        """End the host's multiplexing master, if any, and forget the connection."""
        host, self._host = self._host, None
        _MASTERS.discard(self)
        if host is None:
            return
        backend = host.backend
        if getattr(backend, "NAME", "") in ("ssh", "safe-ssh") and getattr(backend, "controlpath", None):
            _exit_master(backend)
        client = getattr(backend, "__dict__", {}).get("client")
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing must never fail a run
                pass


def _backend(url: str, **kwargs: Any) -> Any:
    """testinfra's backend for ``url``; for paramiko, one that honours known_hosts."""
    hostname, kw = testinfra.backend.parse_hostspec(url)
    for key, value in kwargs.items():
        kw.setdefault(key, value)
    kw.setdefault("connection", "paramiko")
    if kw["connection"] == "paramiko":
        return _paramiko_backend_class()(hostname, **kw)
    return testinfra.backend.get_backend(url, **kwargs)


def _paramiko_backend_class() -> type:
    """testinfra's paramiko backend, verifying host keys as the SSH config asks.

    testinfra accepts any unknown host key (with a warning) and ignores
    ``UserKnownHostsFile``. Here the config's known-hosts files are loaded,
    so a changed host key is refused, and ``StrictHostKeyChecking yes``
    refuses an unknown one, as OpenSSH would.
    """
    import paramiko
    from testinfra.backend.paramiko import ParamikoBackend

    class VerifyingParamikoBackend(ParamikoBackend):  # type: ignore[misc]
        #: Seconds without an answer on a channel before the host counts as gone.
        answer_timeout: float = 60.0

        def _exec_command(self, command: bytes) -> tuple[int, bytes, bytes]:
            # testinfra's, with time limits: a host that stops answering
            # (frozen, unplugged) fails the command instead of hanging it.
            transport = self.client.get_transport()
            if transport is None:
                raise paramiko.SSHException("no SSH transport")
            chan = transport.open_session(timeout=self.answer_timeout)
            chan.settimeout(self.answer_timeout)
            if self.get_pty:
                chan.get_pty()
            chan.exec_command(command)
            stdout = b"".join(chan.makefile("rb"))
            stderr = b"".join(chan.makefile_stderr("rb"))
            return chan.recv_exit_status(), stdout, stderr

        def _load_ssh_config(self, client: Any, cfg: Any, ssh_config: Any, ssh_config_dir: str = "~/.ssh") -> None:
            super()._load_ssh_config(client, cfg, ssh_config, ssh_config_dir)
            found = ssh_config.lookup(self.host.name)
            for path in found.get("userknownhostsfile", "").split():
                path = os.path.expanduser(path)
                if os.path.exists(path):
                    client.load_host_keys(path)
            if found.get("stricthostkeychecking") == "yes":
                client.set_missing_host_key_policy(paramiko.RejectPolicy())

    return VerifyingParamikoBackend


# --- connection multiplexing ----------------------------------------------------------

_CONTROL_DIR: str | None = None
_CONTROL_LOCK = threading.Lock()
_MASTERS: set[HostTarget] = set()


def control_dir() -> str:
    """This process's private directory for SSH control sockets (mode 0700).

    One per run so runs never share (or hijack) each other's connections;
    removed at exit after the masters in it are told to exit.
    """
    global _CONTROL_DIR
    with _CONTROL_LOCK:
        if _CONTROL_DIR is None:
            _CONTROL_DIR = tempfile.mkdtemp(prefix="golive-ssh-")
            atexit.register(close_all_masters)
        return _CONTROL_DIR


def close_all_masters() -> None:
    """Tell every multiplexing master of this run to exit and remove the control dir."""
    global _CONTROL_DIR
    for target in list(_MASTERS):
        try:
            target.close()
        except Exception:  # noqa: BLE001 - the directory must go whatever happens
            pass
    with _CONTROL_LOCK:
        if _CONTROL_DIR is not None:
            shutil.rmtree(_CONTROL_DIR, ignore_errors=True)
            _CONTROL_DIR = None


def _exit_master(backend: Any) -> None:
    """``ssh -O exit`` for one host; a missing master is fine."""
    cmd, cmd_args = backend._build_ssh_command("true")
    # The built command ends with "HOST COMMAND"; ask the master to exit instead.
    full = backend.quote(" ".join([*cmd[:-1], "-O exit %s"]), *[str(a) for a in cmd_args[:-1]])
    try:
        subprocess.run(full, shell=True, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        pass


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    # testinfra raises RuntimeError(CommandResult) for ssh's exit 255.
    stderr = getattr(exc.args[0], "stderr", None) if exc.args else None
    if stderr:
        text = stderr.strip()
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith(("Warning: Permanently added", "@"))]
    if len(lines) > 1:
        # ssh's last line is its verdict; the lines above explain it at length.
        changed = "REMOTE HOST IDENTIFICATION HAS CHANGED" in text
        lines = (["host key has changed (REMOTE HOST IDENTIFICATION HAS CHANGED):"] if changed else []) + lines[-1:]
    text = " ".join(" ".join(lines).split())
    if not text:
        text = type(exc).__name__
    return mask(text[:300])
