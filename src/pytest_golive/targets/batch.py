"""Many observation commands in one remote shell script, and their results apart again.

A host check costs a round trip per command: an ``ssh`` client process, a
session on the host's connection, a shell. When the commands of many checks
are known at once (see :mod:`pytest_golive.targets.rounds`), they are sent as one
script instead, which runs them one after another and frames each one's
stdout, stderr and exit status with markers, so that each command's
:class:`~testinfra.backend.base.CommandResult` is exactly what running it
alone would have given.

What the script keeps from running commands one by one:

* each command runs in a shell of its own (a subshell of ``sh``), so an
  ``exit`` or a ``cd`` in one cannot touch the next;
* stdin is ``/dev/null``, so no command can swallow what follows it;
* nothing is written on the host: output is framed on the two streams the
  connection already has, with a random marker per script that no command's
  output can forge;
* every command is bounded by its time limit. A script of commands with the
  same limit is first sent under one coreutils ``timeout`` of that limit
  (:func:`script` with ``each_bounded=False``): if the whole script ends in
  time, so did each command, and the host was spared two processes per
  command. If it does not, the commands it did not finish are sent again,
  each under its own ``timeout`` (``each_bounded=True``), so a hanging
  command fails alone, after its own limit, as it would have run alone.

A script is one argument of the remote command, so its size is bounded
(Linux refuses a single argument over 128 KiB); :func:`chunks` splits a
long list of commands into scripts below that.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

#: Seconds ``timeout`` waits after TERM before it sends KILL.
KILL_AFTER = 5
#: Largest script sent as one remote command (the kernel's limit for one argument is 128 KiB,
#: and the script is quoted once more on its way through ssh and sh).
MAX_SCRIPT = 48 * 1024

#: A command that only uses shell built-ins on literal words, and so cannot hang on a pipe,
#: a child process or input: run in a subshell, without ``timeout``.
_BUILTIN_ONLY = re.compile(
    r"""\A(?:test\ -[a-zA-Z]|command\ -v|\[\ -[a-zA-Z]|true|false)"""
    r"""(?:\ +(?:'[^']*'|[A-Za-z0-9_./:@%+=,-]+))*(?:\ +\])?\Z"""
)


@dataclass(frozen=True)
class Command:
    """One command of a batch: the shell text and its time limit in seconds."""

    text: str
    limit: int


@dataclass(frozen=True)
class Answer:
    """What one command gave: exit status, stdout and stderr as bytes."""

    rc: int
    stdout: bytes
    stderr: bytes


def builtin_only(command: str) -> bool:
    """True for a command made only of non-blocking built-ins on literal words."""
    return bool(_BUILTIN_ONLY.match(command.strip()))


def _line(cmd: Command, index: int, each_bounded: bool) -> str:
    """The script line that runs one command and marks its end."""
    if each_bounded and not builtin_only(cmd.text):
        return f"gl_t {int(cmd.limit)} {shlex.quote(cmd.text)} </dev/null; gl_e {index} $?"
    return f"( {cmd.text}\n) </dev/null; gl_e {index} $?"


def script(commands: list[Command], nonce: str, *, each_bounded: bool = True) -> str:
    """The shell script that runs ``commands`` in order, framing what each prints.

    ``each_bounded``: every command that is not :func:`builtin_only` under its
    own ``timeout``; otherwise none is, and the caller bounds the whole script
    (:func:`bounded`).
    """
    lines = [
        # One test for coreutils timeout per script, not per command.
        "if command -v timeout >/dev/null 2>&1; then gl_to=1; else gl_to=; fi",
        (
            'gl_t() { if [ -n "$gl_to" ]; then timeout -k KILL "$1" sh -c "$2"; '
            'else sh -c "$2"; fi; }'
        ).replace("KILL", str(KILL_AFTER)),
        # gl_e INDEX STATUS: the end of a command's output on both streams.
        (
            'gl_e() { printf \'\\n\\001GLE NONCE %s %s\\n\' "$1" "$2"; '
            'printf \'\\n\\001GLE NONCE %s\\n\' "$1" >&2; }'
        ).replace("NONCE", nonce),
    ]
    lines += [_line(cmd, i, each_bounded) for i, cmd in enumerate(commands)]
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


def bounded(text: str, limit: int) -> str:
    """``text`` as a remote command: run by ``sh`` with stdin from ``/dev/null``, within
    ``limit`` seconds where ``timeout`` exists (a command alone, or a whole script)."""
    quoted = shlex.quote(text)
    return (f"if command -v timeout >/dev/null 2>&1; then "
            f"timeout -k {KILL_AFTER} {int(limit)} sh -c {quoted} </dev/null; "
            f"else sh -c {quoted} </dev/null; fi")


def new_nonce() -> str:
    return secrets.token_hex(8)


def parse(stdout: bytes, stderr: bytes, nonce: str, count: int) -> list[Answer | None]:
    """Each command's :class:`Answer`, ``None`` for a command the script never finished."""
    out_mark = re.compile(rb"\n\x01GLE " + nonce.encode() + rb" (\d+) (\d+)\n")
    err_mark = re.compile(rb"\n\x01GLE " + nonce.encode() + rb" (\d+)\n")
    outs: dict[int, tuple[int, bytes]] = {}
    start = 0
    for match in out_mark.finditer(stdout):
        outs[int(match.group(1))] = (int(match.group(2)), stdout[start:match.start()])
        start = match.end()
    errs: dict[int, bytes] = {}
    start = 0
    for match in err_mark.finditer(stderr):
        errs[int(match.group(1))] = stderr[start:match.start()]
        start = match.end()
    answers: list[Answer | None] = []
    for i in range(count):
        if i in outs:
            rc, out = outs[i]
            answers.append(Answer(rc, out, errs.get(i, b"")))
        else:
            answers.append(None)
    return answers


def chunks(commands: Iterable[Command], limit: int = MAX_SCRIPT) -> Iterator[list[Command]]:
    """``commands`` in consecutive groups whose scripts stay below ``limit`` bytes (quoted)."""
    group: list[Command] = []
    size = 0
    for cmd in commands:
        cost = max(
            len(shlex.quote(_line(cmd, 99999, bounded_each))) for bounded_each in (False, True)
        )
        if group and size + cost > limit:
            yield group
            group, size = [], 0
        group.append(cmd)
        size += cost
    if group:
        yield group
