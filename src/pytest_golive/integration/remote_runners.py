"""Remote runners (``--tx``) checked before any worker starts: one line per problem.

pytest-xdist starts ``--tx`` workers through execnet. A working directory that
cannot be written, or an SSH key file that is not there, surfaces from execnet
as a traceback (or a bare "Permission denied") in the middle of worker start-up,
after part of the run may already have begun. A readiness run checks what it can
first and stops with one line naming the runner and the path:

* ``popen//chdir=DIR`` and ``ssh=...//chdir=DIR``: DIR is (or can be created as)
  a writable directory (on the runner itself, for ssh, with one read-only
  ``test`` command);
* ``ssh=-i KEY ...`` and ``ssh=-F CONFIG ...``: the files exist and can be read;
* ``popen//python=PATH``: the interpreter exists and can be run.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

#: Seconds the runner's directory test may take over SSH.
_SSH_TEST_TIMEOUT = 20


def _spec_text(raw: str) -> str:
    """A ``--tx`` value without xdist's ``N*`` multiplier."""
    count, star, rest = raw.partition("*")
    return rest if star and count.isdigit() else raw


def _parts(spec: str) -> dict[str, str]:
    """execnet's ``key=value//key=value`` spec as a mapping (``popen`` has no value)."""
    out: dict[str, str] = {}
    for part in spec.split("//"):
        key, _, value = part.partition("=")
        out[key] = value
    return out


def _local_dir_problem(path: Path) -> str | None:
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe != path and not probe.is_dir():
        return f"{probe} is not a directory"
    if probe.exists() and not probe.is_dir():
        return f"{path} is not a directory"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable" + ("" if probe == path else f" (to create {path})")
    return None


def _ssh_files(ssh: str) -> list[tuple[str, str]]:
    """(option, path) for the files named by ``-i`` and ``-F`` in an ``ssh=`` value."""
    words = shlex.split(ssh)
    files = []
    for i, word in enumerate(words[:-1]):
        if word in ("-i", "-F"):
            files.append((word, words[i + 1]))
    return files


def _remote_dir_problem(ssh: str, directory: str, timeout: float) -> str | None:
    quoted = shlex.quote(directory)
    test = (f"if [ -e {quoted} ]; then [ -d {quoted} ] && [ -w {quoted} ] && [ -x {quoted} ]; "
            f"else d=$(dirname {quoted}); [ -d \"$d\" ] && [ -w \"$d\" ]; fi")
    args = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, int(timeout))}",
            *shlex.split(ssh), test]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=_SSH_TEST_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot reach the runner to test {directory}: {type(exc).__name__}"
    if done.returncode == 0:
        return None
    if done.returncode == 255:
        said = [ln.strip() for ln in done.stderr.splitlines() if ln.strip()]
        return f"cannot reach the runner: {said[-1] if said else 'ssh exited 255'}"
    return f"{directory} is not a writable directory on the runner"


def problems(tx: list[str], connect_timeout: float = 10) -> list[str]:
    """One line per ``--tx`` runner that cannot work, naming the runner and the path."""
    out: list[str] = []
    for raw in tx:
        spec = _spec_text(raw)
        parts = _parts(spec)
        where = f"--tx {raw}"
        if "ssh" in parts:
            for option, path in _ssh_files(parts["ssh"]):
                file = Path(os.path.expanduser(path))
                what = "SSH key file" if option == "-i" else "SSH config file"
                if not file.is_file():
                    out.append(f"{where}: the {what} {path} does not exist")
                elif not os.access(file, os.R_OK):
                    out.append(f"{where}: the {what} {path} cannot be read")
            if "chdir" in parts and not out:
                problem = _remote_dir_problem(parts["ssh"], parts["chdir"], connect_timeout)
                if problem:
                    out.append(f"{where}: {problem}")
        elif "popen" in parts:
            if "chdir" in parts:
                problem = _local_dir_problem(Path(parts["chdir"]).expanduser())
                if problem:
                    out.append(f"{where}: the working directory {problem}")
            python = parts.get("python")
            if python and os.sep in python and not os.access(python, os.X_OK):
                out.append(f"{where}: the interpreter {python} does not exist or cannot be run")
    return out


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    tx: Any = getattr(config.option, "tx", None)
    if not tx or not getattr(config.option, "golive", None) or hasattr(config, "workerinput"):
        return
    found = problems(list(tx))
    if found:
        raise pytest.UsageError("\n".join(found))
