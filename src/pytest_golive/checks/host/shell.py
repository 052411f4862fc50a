"""Observation plumbing shared by the host checks: quoting, commands that must succeed, file reads.

Everything here runs through :meth:`HostTarget.run`, so a check's commands
go to the host alone or batched in rounds (:mod:`pytest_golive.targets.rounds`)
without the check knowing which. What comes back is handed, unchanged, to
the pure parsers of each concern module.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager

from pytest_golive.checks._shell import glob_word, q
from pytest_golive.core.outcome import CheckError
from pytest_golive.targets.host import HostTarget

__all__ = ["FILE_MARK", "GIB", "ParseError", "glob_word", "octal", "output", "parse_file_dump",
           "parsing", "q", "read_files", "read_files_script", "words"]

GIB = 1024**3

#: Marks the start of one file's content in a multi-file read.
FILE_MARK = "@@golive-file "


class ParseError(ValueError):
    """Command output a parser cannot read; the check turns it into one line naming the host."""


@contextmanager
def parsing(host: HostTarget) -> Iterator[None]:
    """Turn a :class:`ParseError` of a parser into the check's one-line error for ``host``."""
    try:
        yield
    except ParseError as exc:
        raise CheckError(f"host {host.name}: {exc}") from None


def words(text: str) -> list[str]:
    """Shell-like words of a configuration line; a stray quote does not stop the parse."""
    try:
        return shlex.split(text, comments=False)
    except ValueError:
        return text.split()


def octal(text: str, param: str) -> int:
    """A mode parameter ("0750") as a number; one line naming the parameter if it is not one."""
    try:
        return int(text, 8)
    except ValueError:
        raise CheckError(f"{param} must be an octal mode such as 0750, not {text!r}") from None


def output(host: HostTarget, command: str, *args: str, what: str) -> str:
    """stdout of an observation command that must succeed; else one CheckError line."""
    result = host.run(command, *args)
    if result.rc != 0:
        text = result.stderr.strip() or result.stdout.strip() or f"exit status {result.rc}"
        cause = text.splitlines()
        raise CheckError(f"host {host.name}: {what} failed: {cause[0][:200] if cause else ''}")
    return str(result.stdout)


def read_files_script(paths: list[str]) -> str:
    """The command that prints every existing regular file among ``paths`` (globs allowed).

    A file that exists but cannot be read ends the command with status 3: a
    check must not pass on the part of the configuration it could see.
    """
    globs = " ".join(glob_word(p) for p in paths)
    return (
        f'for f in {globs}; do [ -f "$f" ] || continue; '
        f"printf '\\n{FILE_MARK}%s\\n' \"$f\"; cat \"$f\" || exit 3; done; true"
    )


def parse_file_dump(out: str) -> dict[str, str]:
    """path -> content from :func:`read_files_script`'s output, in the order printed."""
    files: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if line.startswith(FILE_MARK):
            current = line[len(FILE_MARK):]
            files[current] = ""
        elif current is not None:
            files[current] += line + "\n"
    return files


def read_files(host: HostTarget, paths: list[str], what: str) -> dict[str, str]:
    """The content of every existing regular file among ``paths`` (globs allowed): one command."""
    return parse_file_dump(output(host, read_files_script(paths), what=what))
