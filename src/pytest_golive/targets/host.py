"""Host targets, through pytest-testinfra.

testinfra knows package managers, init systems and distributions; this
handle adds what a readiness run needs on top:

* every command is bounded in time (``command_timeout``), including the
  commands testinfra's own modules run, by a ``timeout`` wrapper on the host;
* ``ssh://`` reuses one connection per host (OpenSSH multiplexing, a private
  control directory per run, removed at exit), so a checklist does not pay a
  handshake per check;
* a connection failure becomes one line naming the host and the cause, and is
  remembered: the host is not contacted again for each of its other items;
* checks evaluated together in rounds (:mod:`pytest_golive.targets.rounds`) send the
  commands of a round as one script (:mod:`pytest_golive.targets.batch`):
  one round trip for many checks.
"""

from __future__ import annotations

import atexit
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import greenlet
import testinfra.backend
import testinfra.host

from pytest_golive.core import compat
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError
from pytest_golive.core.secrets import mask, reveal
from pytest_golive.targets import batch, rounds

if TYPE_CHECKING:
    from pytest_golive.targets import TargetPool

#: Exit status of coreutils ``timeout`` when the command ran out of time.
_TIMED_OUT = 124
_KILL_AFTER = batch.KILL_AFTER
#: How long an idle multiplexing master stays up after its last command.
_CONTROL_PERSIST = 120


class HostTarget:
    kind = "host"

    def __init__(
        self, spec: TargetSpec, settings: Settings, pool: TargetPool | None = None
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.settings = settings
        self.pool = pool
        self._host: Any = None
        self._raw_run: Any = None
        self._lock = threading.Lock()
        #: The bound for the command being run (``run(timeout=)``) by each thread or
        #: greenlet (checks evaluated in rounds interleave on one thread), else the setting.
        self._limits: dict[Any, float] = {}
        #: The first connection failure, repeated for every later command.
        self.failure: str | None = None
        #: Connections tried that failed: stays at 1 however many items the host has.
        self.failed_attempts = 0
        #: Remote commands sent: one per command alone, one per script in rounds.
        self.round_trips = 0
        #: The host has answered a command: a later failure is a connection lost, not refused.
        self.answered = False
        self._packages: object = _UNREAD
        self._accounts: object = _UNREAD

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
            raise CheckError(
                f"host {self.name}: cannot use {mask(self.url)}: {_reason(exc)}"
            ) from None

        def bounded_run(command: str, *args: str, **kw: Any) -> Any:
            return self._bounded(command, *args)

        self._raw_run = compat.replace_backend_run(host.backend, bounded_run)
        compat.spawn_local_commands(host.backend)
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

    def _bounded(self, command: str, *args: str) -> Any:
        """Run ``command`` on the host within its time bound: alone, or in the current round."""
        if self.failure:
            raise CheckError(self.failure)
        limit = max(
            1, int(self._limits.get(greenlet.getcurrent()) or self.settings.command_timeout)
        )
        cmd = command % tuple(shlex.quote(str(a)) for a in args) if args else command
        current = rounds.current(self)
        if current is not None:
            return current.request(batch.Command(cmd, limit))
        # stdin is /dev/null: over paramiko a command reading it would wait for the limit.
        result = self._remote(batch.bounded(cmd, limit), limit)
        if result.rc == _TIMED_OUT:
            raise CheckError(
                f"host {self.name}: command timed out after {limit}s: {mask(cmd)[:120]}"
            )
        return result

    def _remote(self, text: str, limit: int) -> Any:
        """One remote command through testinfra's backend; a failure to reach the host is final."""
        backend = self.testinfra.backend
        if self.scheme in ("ssh", "safe-ssh"):
            # ssh itself exits 255 on connection errors; a command's own 255
            # must not make the host look unreachable.
            text += "; r=$?; [ $r -ne 255 ] || r=254; exit $r"
        if hasattr(backend, "answer_timeout"):
            backend.answer_timeout = limit + _KILL_AFTER + self.settings.connect_timeout
        self.round_trips += 1
        try:
            result = self._raw_run(text)
        except TimeoutError:
            waited = limit + _KILL_AFTER + self.settings.connect_timeout
            if self.answered:
                self._fail(f"host {self.name}: connection lost during the check: no answer "
                           f"from the host for {waited:g}s")
            self._fail(f"host {self.name}: cannot connect: no answer from the host for "
                       f"{waited:g}s")
        except Exception as exc:  # noqa: BLE001 - any backend failure is a connection error
            reason = _reason(exc)
            refused = "Authentication" in type(exc).__name__ or "Permission denied" in reason
            partial = _partial(exc)
            # Framing markers on stderr mean the script was running on the host.
            started = self.answered or (partial is not None and b"\x01GLE " in partial[1])
            # ssh says why it cannot connect; a session that ends in silence was cut.
            started = started or reason == _SILENT_END
            if started and not refused:
                self._fail(f"host {self.name}: connection lost during the check: {reason}",
                           partial)
            self._fail(
                f"host {self.name}: {'login refused' if refused else 'cannot connect'}: {reason}"
            )
        self.answered = True
        return _readable(self.testinfra.backend, result)

    def run_batch(self, commands: list[batch.Command]) -> list[Any]:
        """Run ``commands``, one remote command per script (:mod:`~pytest_golive.targets.batch`).

        Returns, for each command, its testinfra ``CommandResult`` or the
        :class:`CheckError` it would have raised alone (timed out, host gone).
        Commands are grouped by time limit, so one ``timeout`` can bound a
        whole script; the order among commands of one round does not matter.
        """
        results: list[Any] = [None] * len(commands)
        by_limit: dict[int, list[int]] = {}
        for i, cmd in enumerate(commands):
            by_limit.setdefault(cmd.limit, []).append(i)
        for indexes in by_limit.values():
            done = 0
            for group in batch.chunks(commands[i] for i in indexes):
                if self.failure:
                    answered: list[Any] = [CheckError(self.failure)] * len(group)
                else:
                    try:
                        answered = self._run_script(group)
                    except CheckError as exc:
                        answered = [exc] * len(group)
                for i, result in zip(indexes[done:done + len(group)], answered, strict=True):
                    results[i] = result
                done += len(group)
        return results

    def _run_script(self, group: list[batch.Command]) -> list[Any]:
        """One script under one ``timeout``; what it left unfinished, again with a timeout each."""
        answers, why = self._send(group, each_bounded=False)
        each_bounded = [False] * len(group)
        missing = next((k for k, answer in enumerate(answers) if answer is None), None)
        if missing is not None and not self.failure:
            answers[missing:], why = self._send(group[missing:], each_bounded=True)
            each_bounded[missing:] = [True] * (len(group) - missing)
        backend = self.testinfra.backend
        results: list[Any] = []
        for cmd, answer, alone in zip(group, answers, each_bounded, strict=True):
            if answer is None and self.failure:
                results.append(CheckError(self.failure))
            elif answer is None:
                results.append(CheckError(f"host {self.name}: command did not finish: {why}"))
            elif alone and answer.rc == _TIMED_OUT and not batch.builtin_only(cmd.text):
                results.append(
                    CheckError(
                        f"host {self.name}: command timed out after {cmd.limit}s: "
                        f"{mask(cmd.text)[:120]}"
                    )
                )
            else:
                results.append(
                    backend.result(
                        answer.rc, backend.encode(cmd.text), _utf8(answer.stdout),
                        _utf8(answer.stderr),
                    )
                )
        return results

    def _send(self, group: list[batch.Command], *, each_bounded: bool) -> tuple[list[Any], str]:
        """Send one script; the answers it framed, and what the host said if it stopped early."""
        nonce = batch.new_nonce()
        script = batch.script(group, nonce, each_bounded=each_bounded)
        limit = max(cmd.limit for cmd in group)
        text = f"sh -c {shlex.quote(script)}" if each_bounded else batch.bounded(script, limit)
        # Each command's end is marked on the streams as it ends, so the longest
        # silence to wait through is one command's limit.
        try:
            outcome = self._remote(text, limit)
        except CheckError as exc:
            partial = getattr(exc, "partial", None)
            if partial is None:
                raise
            return batch.parse(partial[0], partial[1], nonce, len(group)), str(exc)
        answers: list[Any] = batch.parse(
            outcome.stdout_bytes, outcome.stderr_bytes, nonce, len(group)
        )
        said = [ln for ln in outcome.stderr.splitlines() if not ln.startswith("\x01GLE ")]
        why = " ".join(" ".join(said).split())[-200:] or f"exit status {outcome.rc}"
        return answers, mask(why)

    def _fail(self, message: str, partial: tuple[bytes, bytes] | None = None) -> NoReturn:
        self.failure = message
        self.failed_attempts += 1
        if self.pool is not None:
            self.pool.mark_unreachable(self.spec, message)
        error = CheckError(message)
        #: What the host had printed before it was lost (stdout, stderr), so that the
        #: commands of a batch that had already finished keep their answers.
        error.partial = partial  # type: ignore[attr-defined]
        raise error

    def run(self, command: str, *args: str, timeout: float | None = None) -> Any:
        """Run an observation command; its time is bounded by ``command_timeout``.

        ``args`` are shell-quoted into the ``%s`` placeholders of ``command``.
        The bound is enforced on the host with coreutils ``timeout`` where it
        exists, so a hanging command is ended where it runs.
        """
        if self.failure:
            raise CheckError(self.failure)
        me = greenlet.getcurrent()
        previous = self._limits.get(me)
        self._limits[me] = timeout or self.settings.command_timeout
        try:
            return self.testinfra.run(command, *args)
        finally:
            if previous is None:
                self._limits.pop(me, None)
            else:
                self._limits[me] = previous

    def installed_packages(self) -> dict[str, str] | None:
        """Installed packages and their versions, read in one command once per run.

        Only on Debian-family hosts (``/etc/debian_version`` and ``dpkg-query``),
        where it gives what testinfra's per-package query gives: installed means
        status "install ok installed" or "hold ok installed", the version is
        dpkg's. ``None`` elsewhere: callers then ask testinfra package by package.
        """
        if self._packages is _UNREAD:
            result = self.run(_DPKG_LIST)
            if self._packages is _UNREAD:  # checks in one round share the answer: parse it once
                self._packages = _parse_dpkg_list(result.stdout) if result.rc == 0 else None
        return self._packages  # type: ignore[return-value]

    def local_accounts(self) -> Accounts | None:
        """Every account and group, read in one command once per run, where that is all of them.

        Only where the name service switch takes users and groups from local
        sources alone (``files``, ``compat`` without NIS lines, ``systemd``):
        then enumerating ``getent passwd`` and ``getent group`` sees every
        account ``getent passwd NAME`` would. ``None`` elsewhere (LDAP, SSSD,
        NIS...): callers then ask account by account.
        """
        if self._accounts is _UNREAD:
            result = self.run(_ACCOUNTS_LIST)
            if self._accounts is _UNREAD:  # checks in one round share the answer: parse it once
                self._accounts = Accounts.parse(result.stdout) if result.rc == 0 else None
        return self._accounts  # type: ignore[return-value]

    def close(self) -> None:
        """End the host's multiplexing master, if any, and forget the connection."""
        host, self._host = self._host, None
        _MASTERS.discard(self)
        if host is None:
            return
        backend = host.backend
        if getattr(backend, "NAME", "") in ("ssh", "safe-ssh") and getattr(
            backend, "controlpath", None
        ):
            _exit_master(backend)
        client = compat.paramiko_client_if_open(backend)
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing must never fail a run
                pass


_UNREAD = object()


# testinfra's host and modules compute facts in cached properties that lock all
# hosts at once on Python < 3.12 (see compat.UnlockedCachedProperty).
compat.unlock_testinfra_caches()

#: Every package dpkg knows, one per line: name (with :arch where it has one), status, version.
_DPKG_LIST = ("[ -r /etc/debian_version ] && command -v dpkg-query >/dev/null 2>&1 || exit 3; "
              "dpkg-query -W -f '${binary:Package}\\t${Status}\\t${Version}\\n'")


#: The name service sources of accounts and groups, then every account, then every group.
_ACCOUNTS_LIST = ("grep -E '^[[:space:]]*(passwd|group):' /etc/nsswitch.conf || exit 3; "
                  "echo @@golive; getent passwd || exit 3; echo @@golive; getent group || exit 3")
#: Sources whose entries enumerating sees in full.
_LOCAL_SOURCES = {"files", "compat", "systemd"}


@dataclass(frozen=True)
class Accounts:
    """A host's accounts (name -> passwd fields) and groups (name, gid, members), in order."""

    users: dict[str, list[str]]
    groups: list[tuple[str, str, list[str]]]

    @classmethod
    def parse(cls, text: str) -> Accounts | None:
        """From :data:`_ACCOUNTS_LIST`'s output; ``None`` when accounts may come from elsewhere."""
        parts = text.split("@@golive\n")
        if len(parts) != 3:
            return None
        nsswitch, passwd, group = parts
        databases = set()
        for line in nsswitch.splitlines():
            database, _, rest = line.partition(":")
            sources = re.sub(r"\[[^]]*\]", " ", rest).split()  # without [NOTFOUND=return] actions
            if not sources or not set(sources) <= _LOCAL_SOURCES:
                return None
            databases.add(database.strip())
        if databases != {"passwd", "group"}:
            return None  # a database left to glibc's default, which may include NIS
        users: dict[str, list[str]] = {}
        for line in passwd.splitlines():
            fields = line.split(":")
            if line.startswith(("+", "-")) or len(fields) != 7:
                return None  # NIS entries under compat, or something unexpected: ask per account
            users.setdefault(fields[0], fields)
        groups = []
        for line in group.splitlines():
            fields = line.split(":")
            if line.startswith(("+", "-")) or len(fields) != 4:
                return None
            groups.append((fields[0], fields[2], [m for m in fields[3].split(",") if m]))
        return cls(users, groups)

    def groups_of(self, name: str) -> list[str]:
        """The groups of an account as ``id -Gn`` names them.

        The primary group first, then every group listing the account, once per
        group id, each id named by the first group that has it (a number if none).
        """
        gids = [self.users[name][3], *(gid for _, gid, members in self.groups if name in members)]
        names: dict[str, str] = {}
        for group, gid, _ in self.groups:
            names.setdefault(gid, group)
        return [names.get(gid, gid) for gid in dict.fromkeys(gids)]


def _parse_dpkg_list(text: str) -> dict[str, str]:
    """name -> version of the installed packages, also under the name without ``:arch``."""
    installed: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 3:
            continue
        name, status, version = fields
        words = status.split()
        if words[:1] in (["install"], ["hold"]) and words[1:3] == ["ok", "installed"]:
            installed.setdefault(name, version)
            installed.setdefault(name.split(":", 1)[0], version)
    return installed


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

    # The two overridden methods are testinfra's private ones: the guard checks them.
    class VerifyingParamikoBackend(compat.paramiko_backend_base()):  # type: ignore[misc]
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

        def _load_ssh_config(
            self, client: Any, cfg: Any, ssh_config: Any, ssh_config_dir: str = "~/.ssh"
        ) -> None:
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
    cmd, cmd_args = compat.ssh_command(backend, "true")
    if not cmd:
        return
    # The built command ends with "HOST COMMAND"; ask the master to exit instead.
    full = backend.quote(" ".join([*cmd[:-1], "-O exit %s"]), *[str(a) for a in cmd_args[:-1]])
    try:
        subprocess.run(full, shell=True, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        pass


_SILENT_END = "the SSH session ended without a word from the host"


def _utf8(data: bytes) -> bytes:
    """``data``, with bytes that are not UTF-8 replaced by U+FFFD.

    testinfra decodes a command's output strictly, so a check reading binary
    or Latin-1 output would crash on ``.stdout``; the replacement character
    keeps the evidence readable and says that something was not text.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace").encode("utf-8")
    return data


def _readable(backend: Any, result: Any) -> Any:
    """``result`` whose stdout and stderr are valid UTF-8 (see :func:`_utf8`)."""
    out, err = _utf8(result.stdout_bytes), _utf8(result.stderr_bytes)
    if out is result.stdout_bytes and err is result.stderr_bytes:
        return result
    return backend.result(result.rc, result.command, out, err)


def _partial(exc: Exception) -> tuple[bytes, bytes] | None:
    """What an ssh command that failed had printed (testinfra raises RuntimeError(result))."""
    result = exc.args[0] if exc.args else None
    out, err = getattr(result, "stdout_bytes", None), getattr(result, "stderr_bytes", None)
    if isinstance(out, bytes) and isinstance(err, bytes):
        return out, err
    return None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    # testinfra raises RuntimeError(CommandResult) for ssh's exit 255: its repr is
    # no reason, its stderr (possibly empty) is.
    stderr = getattr(exc.args[0], "stderr", None) if exc.args else None
    if stderr is not None:
        text = stderr.strip()
    # A batch script frames each command's end on stderr (batch.py): those markers
    # are ours, not the host's words, and must never stand in for a reason.
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith(("Warning: Permanently added", "@", "\x01GLE "))]
    if len(lines) > 1:
        # ssh's last line is its verdict; the lines above explain it at length.
        changed = "REMOTE HOST IDENTIFICATION HAS CHANGED" in text
        lines = (
            ["host key has changed (REMOTE HOST IDENTIFICATION HAS CHANGED):"] if changed else []
        ) + lines[-1:]
    text = " ".join(" ".join(lines).split())
    if not text:
        status = getattr(exc.args[0], "rc", None) if exc.args else None
        text = _SILENT_END if status == 255 else type(exc).__name__
    return mask(text[:300])
