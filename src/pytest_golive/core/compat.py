"""Every place pytest-golive relies on a library's private internals, in one module.

Each patch below says what it touches, why no public interface does the job,
and which versions it was verified against (:data:`PATCHES`). Before touching
anything, a patch checks that what it relies on is still there (the guard):
when it is not, a patch the run cannot do without raises :class:`CompatError`
(one line naming the library and what changed), and a cosmetic one does
nothing. An installed version outside the verified range still runs, with one
:class:`UntestedVersionWarning` per patch. ``tests/test_compat.py`` holds a
canary per patch that fails when the installed library no longer behaves as
the patch expects, and when its version leaves the verified range, so an
upgrade is re-verified before it ships.

Third-party modules are imported inside the functions: this module sits in
the lowest layer and is imported by every other one, and loading the plugin
must stay cheap for pytest runs that never use ``--golive``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.metadata
import inspect
import logging
import re
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


class CompatError(RuntimeError):
    """A library changed underneath a patch the run cannot do without."""


class UntestedVersionWarning(UserWarning):
    """A patched library's installed version is outside the range it was verified with."""


@dataclass(frozen=True)
class Patch:
    """One reach into a library's internals, and the versions it was verified with."""

    name: str
    #: The distribution (as pip names it) whose internals are used.
    distribution: str
    #: Verified range: ``low <= installed < high`` (release numbers, compared as tuples).
    low: tuple[int, ...]
    high: tuple[int, ...]
    what: str

    @property
    def tested(self) -> str:
        return f">={_dotted(self.low)},<{_dotted(self.high)}"


PATCHES: dict[str, Patch] = {
    p.name: p
    for p in (
        Patch("testinfra-backend-run", "pytest-testinfra", (10,), (11,),
              "a host's testinfra backend ``run`` is replaced on the instance, so the "
              "commands testinfra's own modules send are bounded in time and go into rounds"),
        Patch("testinfra-cached-property", "pytest-testinfra", (10,), (11,),
              "testinfra's ``functools.cached_property`` attributes are replaced by an "
              "unlocked one on Python < 3.12 (one lock for all hosts serialises them)"),
        Patch("testinfra-paramiko-backend", "pytest-testinfra", (10,), (11,),
              "the paramiko backend's ``_exec_command`` and ``_load_ssh_config`` are "
              "overridden in a subclass: time limits on channels, known_hosts honoured"),
        Patch("testinfra-ssh-command", "pytest-testinfra", (10,), (11,),
              "the ssh backend's ``_build_ssh_command`` gives the command line whose "
              "control master ``ssh -O exit`` ends"),
        Patch("testinfra-run-local", "pytest-testinfra", (10,), (11,),
              "a backend's ``run_local`` (``sh -c`` of a command, or of ``ssh``) is "
              "replaced on the instance by the same steps started with ``posix_spawn``"),
        Patch("subprocess-vfork", "python", (3, 11), (3, 15),
              "``subprocess._USE_VFORK`` is set false while checks start processes from "
              "threads (documented as safe to set; it has no public spelling)"),
        Patch("requests-content", "requests", (2, 31), (3,),
              "a body read in bounded chunks is stored as the response's ``_content``, "
              "so ``.content``, ``.text`` and ``.json()`` work on it"),
        Patch("pytest-junitxml", "pytest", (8,), (9, 2),
              "``_pytest.junitxml.xml_key`` finds pytest's JUnit writer to add the "
              "suite's properties at the end of the session"),
        Patch("pytest-main-color", "pytest", (8,), (9, 2),
              "the terminal reporter's ``_set_main_color`` recomputes the colour of the "
              "summary line after an empty 'failed' entry is added for a NO-GO"),
        Patch("pytest-html-outcomes", "pytest-html", (4, 1), (5,),
              "pytest-html's ReportData gets golive's outcomes (waived, attested, pending, "
              "warning) and its add_test is wrapped to count each row under golive's word"),
        Patch("pymysql-timeouts", "PyMySQL", (1, 1), (3,),
              "a connection's ``_read_timeout`` and ``_write_timeout`` are raised after "
              "the handshake: the server's greeting is awaited for connect_timeout, "
              "queries for the query timeout"),
        Patch("cryptography-oid-name", "cryptography", (42,), (51,),
              "an object identifier's ``_name`` gives the readable name of a signature "
              "algorithm that has no hash (Ed25519)"),
    )
}


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


@functools.cache
def installed_version(distribution: str) -> tuple[int, ...]:
    """The release numbers of an installed distribution (``python``: the interpreter)."""
    if distribution == "python":
        return tuple(sys.version_info[:3])
    return release_numbers(importlib.metadata.version(distribution))


def release_numbers(version: str) -> tuple[int, ...]:
    """The release part of a version: ``2.0rc1`` -> (2, 0), ``10.2.2.post1`` -> (10, 2, 2)."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(n) for n in match.group(0).split(".")) if match else ()


def in_tested_range(patch: Patch) -> bool:
    """Whether the installed version of the patched library is one the patch was verified with."""
    try:
        installed = installed_version(patch.distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return patch.low <= installed < patch.high


_warned: set[str] = set()
_warn_lock = threading.Lock()


def _guard(name: str, present: bool, *, needed: bool, missing: str) -> bool:
    """The version and presence guard of one patch; whether to apply it.

    ``present`` says whether what the patch relies on is still there. Missing,
    a needed patch raises :class:`CompatError`; an optional one is skipped.
    """
    patch = PATCHES[name]
    if not present:
        if needed:
            raise CompatError(
                f"pytest-golive cannot work with the installed {patch.distribution} "
                f"{_installed_text(patch)}: {missing} (verified with {patch.distribution} "
                f"{patch.tested}; install a version in that range)"
            )
        return False
    if not in_tested_range(patch):
        with _warn_lock:
            first = name not in _warned
            _warned.add(name)
        if first:
            warnings.warn(
                UntestedVersionWarning(
                    f"pytest-golive: {patch.distribution} {_installed_text(patch)} is outside "
                    f"the versions {patch.name} was verified with ({patch.tested}): {patch.what}"
                ),
                stacklevel=3,
            )
    return True


def _installed_text(patch: Patch) -> str:
    try:
        return _dotted(installed_version(patch.distribution))
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


# --- testinfra -------------------------------------------------------------------------


def replace_backend_run(backend: Any, replacement: Callable[..., Any]) -> Callable[..., Any]:
    """Make ``backend.run`` call ``replacement``; return the backend's own ``run``.

    testinfra's ``Host.run`` and every module call ``host.backend.run``, and
    so do backends for themselves (``get_encoding``); a subclass of ``Host``
    would miss those last ones, and one subclass per backend kind (local, ssh,
    paramiko, docker, ansible...) would have to track testinfra's list. The
    instance attribute shadows the method for this one backend only.
    """
    own = getattr(backend, "run", None)
    _guard("testinfra-backend-run", callable(own), needed=True,
           missing="its backends have no run() method")
    assert own is not None
    backend.run = replacement
    return own  # type: ignore[no-any-return]


def spawn_local_commands(backend: Any) -> None:
    """Make ``backend.run_local`` start its process with ``posix_spawn``, nothing else changed.

    While checks are evaluated ahead, processes are started with ``fork``, not
    ``vfork`` (:func:`no_vfork` says why). A ``fork`` of a runner holding
    thousands of items copies its page tables, and the runner then takes a
    page fault on every page it writes next: about 12 ms of system time per
    ``ssh`` or ``sh`` started, 2.4 s in a run of 50 hosts x 200 checks.
    ``subprocess`` uses ``posix_spawn`` (a ``vfork`` inside glibc, whatever
    ``_USE_VFORK`` says) when it need not close other descriptors, and hands it
    an environment built in the parent: the child never reads the one pytest
    is changing meanwhile. The child's standard streams are its pipes, and
    every descriptor Python opens is non-inheritable (PEP 446); what the runner
    itself inherited (a CI job's pipe, a jobserver) reaches short-lived
    commands only: the first command of a multiplexed ``ssh`` host, which
    starts the background master that outlives it, is started as testinfra
    starts it (``close_fds``). Only testinfra's own ``run_local`` is replaced;
    a backend class with one of its own keeps it.
    """
    from testinfra.backend.base import BaseBackend

    own = getattr(type(backend), "run_local", None)
    if not _guard("testinfra-run-local", callable(own), needed=False,
                  missing="its backends have no run_local() method"):
        return
    if own is not BaseBackend.run_local:
        return
    starts_master = [bool(getattr(backend, "controlpath", None))]

    def run_local(command: str, *args: str) -> Any:
        if starts_master[0]:
            starts_master[0] = False
            return BaseBackend.run_local(backend, command, *args)
        # testinfra's BaseBackend.run_local, step for step, with close_fds=False.
        cmd = backend.encode(backend.quote(command, *args))
        proc = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, close_fds=False)
        stdout, stderr = proc.communicate()
        return backend.result(proc.returncode, cmd, stdout, stderr)

    backend.run_local = run_local


class UnlockedCachedProperty(functools.cached_property):  # type: ignore[type-arg]
    """``functools.cached_property`` as Python 3.12 has it: without a lock.

    Up to Python 3.11 the lock is one per property *for all instances*, so a
    host computing testinfra's ``system_info`` (three commands) made every
    other host wait for it: hosts evaluated at once were checked one after
    another (python/cpython#87634). Two callers racing compute the value twice;
    for observations that is harmless, and in rounds the identical commands
    are run once anyway.
    """

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        cache = instance.__dict__
        value = cache.get(self.attrname, _UNSET)
        if value is _UNSET:
            value = self.func(instance)
            cache[self.attrname] = value
        return value


_UNSET = object()


def testinfra_classes() -> list[type]:
    """testinfra's ``Host`` and the classes of every module it lists."""
    import testinfra.host
    import testinfra.modules

    classes: list[type] = [testinfra.host.Host]
    for name in testinfra.modules.modules.values():
        module = importlib.import_module(f"testinfra.modules.{name.split(':')[0]}")
        classes += [c for c in vars(module).values()
                    if isinstance(c, type) and c.__module__ == module.__name__]
    return classes


def unlock_testinfra_caches() -> int:
    """Replace testinfra's locking cached properties (Python < 3.12); how many were replaced."""
    if sys.version_info >= (3, 12):
        return 0
    import testinfra.modules

    listed = isinstance(getattr(testinfra.modules, "modules", None), dict)
    if not _guard("testinfra-cached-property", listed, needed=False,
                  missing="testinfra.modules.modules no longer lists its modules"):
        return 0
    replaced = 0
    for cls in testinfra_classes():
        for attr, value in list(vars(cls).items()):
            if type(value) is functools.cached_property:
                unlocked = UnlockedCachedProperty(value.func)
                unlocked.__set_name__(cls, attr)
                setattr(cls, attr, unlocked)
                replaced += 1
    return replaced


#: The private methods of testinfra's paramiko backend that a subclass overrides,
#: with the parameters they are called with.
PARAMIKO_OVERRIDES = {
    "_exec_command": ["self", "command"],
    "_load_ssh_config": ["self", "client", "cfg", "ssh_config", "ssh_config_dir"],
}


def paramiko_backend_base() -> type:
    """testinfra's paramiko backend, checked to have the methods a subclass overrides."""
    from testinfra.backend.paramiko import ParamikoBackend

    def params(name: str) -> list[str] | None:
        method = getattr(ParamikoBackend, name, None)
        return list(inspect.signature(method).parameters) if callable(method) else None

    changed = [name for name, expected in PARAMIKO_OVERRIDES.items() if params(name) != expected]
    _guard("testinfra-paramiko-backend", not changed, needed=True,
           missing=f"ParamikoBackend.{', '.join(changed)} changed")
    base: type = ParamikoBackend
    return base


def paramiko_client_if_open(backend: Any) -> Any:
    """The paramiko backend's SSH client if it was ever connected, else None (never connects).

    testinfra's ``client`` is a cached property that connects on first read;
    a connected one is in the instance's ``__dict__``, where closing looks.
    """
    from testinfra.backend.paramiko import ParamikoBackend

    cached = isinstance(vars(ParamikoBackend).get("client"), functools.cached_property)
    if not _guard("testinfra-paramiko-backend", cached, needed=False,
                  missing="ParamikoBackend.client is no longer a cached property"):
        return None
    return getattr(backend, "__dict__", {}).get("client")


def ssh_command(backend: Any, command: str) -> tuple[list[str], list[str]]:
    """The ssh command line (format and arguments) testinfra's ssh backend builds for ``command``.

    Reused, rather than rebuilt, so ``ssh -O exit`` names the very control path,
    user, port and options the connection was opened with.
    """
    build = getattr(backend, "_build_ssh_command", None)
    if not _guard("testinfra-ssh-command", callable(build), needed=False,
                  missing="SshBackend._build_ssh_command is gone"):
        return [], []
    assert build is not None
    cmd, args = build(command)
    return list(cmd), list(args)


# --- the standard library --------------------------------------------------------------


@contextlib.contextmanager
def no_vfork() -> Iterator[None]:
    """New processes are started with ``fork``, not ``vfork``, inside the block.

    The subprocess documentation says setting ``subprocess._USE_VFORK`` false
    is safe on any version and not to assume it is there to read. Not
    re-entrant across threads: only the run loop's thread uses it.
    """
    before = getattr(subprocess, "_USE_VFORK", None)
    if not _guard("subprocess-vfork", isinstance(before, bool), needed=False,
                  missing="subprocess._USE_VFORK is gone"):
        yield
        return
    assert isinstance(before, bool)
    subprocess._USE_VFORK = False  # type: ignore[misc]  # typeshed calls it Final
    try:
        yield
    finally:
        subprocess._USE_VFORK = before  # type: ignore[misc]


LogRecordFactory = Callable[..., logging.LogRecord]


def wrap_log_records(wrap: Callable[[LogRecordFactory], LogRecordFactory]) -> Callable[[], None]:
    """Install ``wrap(current factory)`` as logging's record factory; return its undo.

    The record factory is global to the process (public API, but one slot):
    the undo puts the previous factory back only if ours is still the one
    installed, so a factory someone installed after us is not thrown away.
    """
    previous = logging.getLogRecordFactory()
    ours = wrap(previous)
    logging.setLogRecordFactory(ours)

    def undo() -> None:
        if logging.getLogRecordFactory() is ours:
            logging.setLogRecordFactory(previous)

    return undo


# --- requests --------------------------------------------------------------------------


def set_response_body(response: Any, body: bytes) -> None:
    """Give a streamed ``requests.Response`` the body read from it in bounded chunks.

    requests has no public way to hand a response its body: ``.content`` reads
    the rest of the stream into ``_content`` once. Reading it ourselves lets a
    check stop at ``max_bytes`` or at its deadline.
    """
    present = hasattr(response, "_content") and hasattr(response, "_content_consumed")
    _guard("requests-content", present, needed=True,
           missing="Response has no _content/_content_consumed")
    response._content = body
    response._content_consumed = True


def set_pymysql_timeouts(conn: Any, *, read: float, write: float) -> None:
    """Change an open PyMySQL connection's socket timeouts.

    PyMySQL reads the server's greeting under ``read_timeout``, so a server that
    accepts TCP and never greets held a check for the whole query timeout
    (62 s by default) instead of ``connect_timeout``. It has no public way to
    change a connection's timeouts once open; 1.1 to 2.x read ``_read_timeout``
    and ``_write_timeout`` before each socket operation, so the connection is
    opened with the short ones and given the long ones here.
    """
    present = hasattr(conn, "_read_timeout") and hasattr(conn, "_write_timeout")
    _guard("pymysql-timeouts", present, needed=True,
           missing="Connection has no _read_timeout/_write_timeout")
    conn._read_timeout = read
    conn._write_timeout = write


# --- pytest ----------------------------------------------------------------------------


def junit_writer(config: Any) -> Any:
    """pytest's JUnit XML writer of this run (``LogXML``), or None.

    pytest's public way to add a suite property is the
    ``record_testsuite_property`` fixture, which only a test can use; the
    verdict is known after the last test, so the writer is reached directly.
    """
    try:
        from _pytest import junitxml
    except ImportError:
        junitxml = None  # type: ignore[assignment]
    key = getattr(junitxml, "xml_key", None)
    present = key is not None and hasattr(getattr(junitxml, "LogXML", None), "add_global_property")
    if not _guard("pytest-junitxml", present, needed=False,
                  missing="_pytest.junitxml.xml_key or LogXML.add_global_property is gone"):
        return None
    return config.stash.get(key, None)


def recolor_summary(terminalreporter: Any) -> None:
    """Make pytest recompute the colour of its summary line from ``stats``.

    pytest computes the colour once per new stats category and keeps it;
    there is no public way to ask again after the terminal summary hook adds one.
    """
    reset = getattr(terminalreporter, "_set_main_color", None)
    if _guard("pytest-main-color", callable(reset), needed=False,
              missing="TerminalReporter._set_main_color is gone"):
        assert reset is not None
        reset()


# --- pytest-html -----------------------------------------------------------------------


def pytest_html_report_data(config: Any) -> Any:
    """pytest-html's ``ReportData`` of this run (its outcome counts and rows), or None.

    pytest-html's hooks let a plugin change a row's cells but not the outcome
    it is counted under, and its outcomes are a fixed set: golive's statuses
    (an error, a waived or pending item) would be counted as pytest's.
    """
    try:
        from pytest_html.basereport import BaseReport  # type: ignore[import-untyped]
    except ImportError:
        return None
    plugin = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, BaseReport)),
                  None)
    data = getattr(plugin, "_report", None)
    present = isinstance(getattr(data, "_outcomes", None), dict) and callable(
        getattr(data, "add_test", None))
    if not _guard("pytest-html-outcomes", present, needed=False,
                  missing="ReportData._outcomes or ReportData.add_test is gone"):
        return None
    return data


def pytest_html_add_outcome(data: Any, key: str, label: str) -> None:
    """Give pytest-html's report an outcome of golive's (counted, and a filter checkbox)."""
    outcomes = getattr(data, "_outcomes", None)
    if isinstance(outcomes, dict):
        outcomes.setdefault(key, {"label": label, "value": 0})


# --- cryptography ----------------------------------------------------------------------


def oid_name(oid: Any) -> str:
    """The readable name of an ``ObjectIdentifier`` (``ed25519``), else its dotted string."""
    name = getattr(oid, "_name", None)
    if _guard("cryptography-oid-name", isinstance(name, str), needed=False,
              missing="ObjectIdentifier._name is gone"):
        return str(name)
    return str(oid.dotted_string)
