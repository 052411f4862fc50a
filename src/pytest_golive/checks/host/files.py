"""Files, directories and mounts on the host."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pytest_golive.checks.host.shell import ParseError, octal, output, parsing, q
from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import (
    ABS_PATH,
    Line,
    Proposal,
    db_context,
    has,
    nearest_context,
    paths,
    proposes,
)
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget

# --- one file ----------------------------------------------------------------------------

FILE_TYPES = ("file", "directory", "symlink", "socket", "pipe")


@dataclass(frozen=True)
class FileFacts:
    """What testinfra saw of one path; only what the check asked for is filled in."""

    exists: bool
    #: Which of :data:`FILE_TYPES` the path is (several for a symlink to a file).
    kinds: dict[str, bool] = field(default_factory=dict)
    mode: int | None = None
    owner: str | None = None
    group: str | None = None
    contains: bool | None = None


def judge_file(
    path: str, facts: FileFacts, *, exists: bool, type: str | None, mode: str | None,
    owner: str | None, group: str | None, contains: str | None,
) -> Outcome:
    ev = Evidence()
    present = facts.exists
    ev.add("exists", present == exists, "yes" if present else "no", "yes" if exists else "no")
    if present and exists:
        if type:
            if type not in FILE_TYPES:
                raise CheckError(
                    f"file check: type must be one of {', '.join(FILE_TYPES)}, not {type!r}"
                )
            actual = next((k for k in FILE_TYPES if facts.kinds.get(k)), "other")
            ev.add("type", actual == type, actual, type)
        if mode and facts.mode is not None:
            expected = octal(mode, "mode")
            ev.add("mode", facts.mode == expected, f"{facts.mode:04o}", f"{expected:04o}")
        if owner:
            ev.add("owner", facts.owner == owner, facts.owner, owner)
        if group:
            ev.add("group", facts.group == group, facts.group, group)
        if contains:
            found = bool(facts.contains)
            ev.add("contains", found, "matches" if found else "no match", f"/{contains}/")
    return ev.outcome(path=path)


@check(target="host")
def file(
    host: HostTarget,
    *,
    path: str,
    exists: bool = True,
    type: str | None = None,
    mode: str | None = None,
    owner: str | None = None,
    group: str | None = None,
    contains: str | None = None,
) -> Outcome:
    """A file exists (or not) with the given type, mode, owner, group and content.

    Args:
        path: the absolute path on the host.
        exists: false to require that nothing exists at ``path``.
        type: file, directory, symlink, socket or pipe.
        mode: the exact octal mode, such as 0600.
        owner: the owning user name.
        group: the owning group name.
        contains: a regular expression the content must match (files only).
    """
    f = host.testinfra.file(path)
    present = bool(f.exists)
    facts = FileFacts(present)
    if present and exists:
        if mode:
            octal(mode, "mode")  # a mode that is not one is one line, before the host is asked
        # Each property is a command on the host: ask only what the line checks.
        facts = FileFacts(
            present,
            kinds={"file": f.is_file, "directory": f.is_directory, "symlink": f.is_symlink,
                   "socket": f.is_socket, "pipe": f.is_pipe} if type else {},
            mode=f.mode if mode else None,
            owner=f.user if owner else None,
            group=f.group if group else None,
            contains=bool(f.contains(contains)) if contains else None,
        )
    return judge_file(path, facts, exists=exists, type=type, mode=mode, owner=owner, group=group,
                      contains=contains)


# --- directories -------------------------------------------------------------------------

#: type|octal mode|owner|group of one path.
STAT = "stat -c '%%F|%%a|%%U|%%G' %s"
#: uid, then group names, of one user.
USER_IDS = "id -u %s && id -Gn %s"


@dataclass(frozen=True)
class Stat:
    kind: str
    mode: int
    owner: str
    group: str


def parse_stat(stdout: str) -> Stat:
    """:data:`STAT`'s one line ("directory|755|root|root")."""
    parts = stdout.strip().split("|")
    if len(parts) != 4:
        raise ParseError(f"unexpected stat output {stdout.strip()[:80]!r}")
    kind, perm, owner, group = parts
    try:
        return Stat(kind, int(perm, 8), owner, group)
    except ValueError:
        raise ParseError(f"unexpected stat output {stdout.strip()[:80]!r}") from None


def parse_user_ids(stdout: str) -> tuple[str, list[str]]:
    """(uid, group names) from :data:`USER_IDS`."""
    found = stdout.split()
    if not found:
        raise ParseError("id printed nothing")
    return found[0], found[1:]


def offenders_command(
    path: str, mask_mode: int | None, owner: str | None, group: str | None
) -> str:
    """Up to 11 entries below ``path`` beyond ``mask_mode`` or not owned as asked (GNU find)."""
    tests = []
    if mask_mode is not None:
        tests.append(f"-perm /{~mask_mode & 0o7777:04o}")
    if owner:
        tests.append(f"! -user {q(owner)}")
    if group:
        tests.append(f"! -group {q(group)}")
    return (f"find {q(path)} -mindepth 1 \\( {' -o '.join(tests)} \\) "
            "-printf '%#m %u:%g %p\\n' | head -n 11")


def can_write(stat: Stat, user: str, uid: str, groups: list[str]) -> bool:
    """Whether ``user`` may create files in a directory, by its mode bits (root always may)."""
    mode = stat.mode
    return uid == "0" or (stat.owner == user and mode & 0o300 == 0o300) or (
        stat.group in groups and mode & 0o030 == 0o030) or mode & 0o003 == 0o003


@dataclass(frozen=True)
class DirectoryFacts:
    stat: Stat | None
    #: (uid, groups) of ``writable_by``, when asked.
    writer: tuple[str, list[str]] | None = None
    #: Entries below the directory that do not conform, when asked ("%#m %u:%g %p" lines).
    offenders: list[str] | None = None


def judge_directory(
    path: str, facts: DirectoryFacts, *, mode: str | None, max_mode: str | None,
    owner: str | None, group: str | None, writable_by: str | None,
) -> Outcome:
    want_mode = octal(mode, "mode") if mode else None
    mask_mode = octal(max_mode, "max_mode") if max_mode else None
    ev = Evidence()
    st = facts.stat
    if st is None:
        ev.add("exists", False, "no such directory", "a directory")
        return ev.outcome(path=path)
    if st.kind != "directory":
        ev.add("type", False, st.kind, "directory")
        return ev.outcome(path=path)
    if want_mode is not None:
        ev.add("mode", st.mode == want_mode, f"{st.mode:04o}", f"{want_mode:04o}")
    if mask_mode is not None:
        ev.add("max mode", not st.mode & ~mask_mode & 0o7777, f"{st.mode:04o}",
               f"no more than {mask_mode:04o}")
    if owner:
        ev.add("owner", st.owner == owner, st.owner, owner)
    if group:
        ev.add("group", st.group == group, st.group, group)
    if writable_by and facts.writer is not None:
        uid, groups = facts.writer
        ev.add("writable", can_write(st, writable_by, uid, groups),
               f"{st.mode:04o} {st.owner}:{st.group}", f"writable by {writable_by}")
    if facts.offenders is not None:
        shown = "; ".join(facts.offenders[:10]) + ("; ..." if len(facts.offenders) > 10 else "")
        ev.add("below", not facts.offenders, shown or "all conform", "everything conforms")
    return ev.outcome(path=path)


@check(target="host")
def directory_permissions(
    host: HostTarget,
    *,
    path: str,
    mode: str | None = None,
    max_mode: str | None = None,
    owner: str | None = None,
    group: str | None = None,
    recursive: bool = False,
    writable_by: str | None = None,
) -> Outcome:
    """A directory has the given mode, owner and group; optionally everything under it too.

    ``max_mode`` allows no permission beyond a mask: ``max_mode=0755`` fails a
    group- or world-writable directory. With ``recursive``, every file and
    directory below ``path`` is held to ``max_mode``, ``owner`` and ``group``
    (the first offenders are shown; this needs GNU find, ``findutils`` on Alpine).

    Args:
        path: the directory on the host.
        mode: the exact octal mode, such as 0750.
        max_mode: the most permissive acceptable mode, such as 0755.
        owner: the owning user name.
        group: the owning group name.
        recursive: also check everything below ``path``.
        writable_by: a user who must be able to create files in the directory (by owner, group or
            other bits).
    """
    if mode:
        octal(mode, "mode")
    mask_mode = octal(max_mode, "max_mode") if max_mode else None
    result = host.run(STAT, path)
    with parsing(host):
        st = parse_stat(result.stdout) if result.rc == 0 else None
        facts = DirectoryFacts(st)
        if st is not None and st.kind == "directory":
            writer = None
            if writable_by:
                writer = parse_user_ids(output(host, USER_IDS, writable_by, writable_by,
                                               what=f"looking up user {writable_by}"))
            offenders = None
            if recursive and (mask_mode is not None or owner or group):
                found = host.run(offenders_command(path, mask_mode, owner, group))
                if "Permission denied" in found.stderr:
                    raise CheckError(
                        f"host {host.name}: cannot read everything under {path}: permission denied"
                    )
                offenders = found.stdout.strip().splitlines()
            facts = DirectoryFacts(st, writer, offenders)
    return judge_directory(path, facts, mode=mode, max_mode=max_mode, owner=owner, group=group,
                           writable_by=writable_by)


# --- mounts ------------------------------------------------------------------------------

#: The path with symlinks resolved, then the mount table.
MOUNTS = "readlink -f %s || echo %s; echo @@mounts; cat /proc/self/mounts"


@dataclass(frozen=True)
class Mount:
    point: str
    fstype: str
    options: list[str]


def _unescape_mount(text: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), text)


def parse_mounts(out: str, path: str) -> tuple[str, list[Mount]]:
    """(the real path, every mount in the table) from :data:`MOUNTS`'s output."""
    real, _, table = out.partition("@@mounts\n")
    mounts = []
    for line in table.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            mounts.append(Mount(_unescape_mount(fields[1]), fields[2], fields[3].split(",")))
    return real.strip() or path, mounts


def holding_mount(real: str, mounts: list[Mount]) -> Mount | None:
    """The mount ``real`` lies on: the longest mount point above it, the last mounted if stacked."""
    best: Mount | None = None
    for mnt in mounts:
        inside = real == mnt.point or real.startswith(mnt.point.rstrip("/") + "/")
        if inside and (best is None or len(mnt.point) >= len(best.point)):
            best = mnt
    return best


def judge_mount(
    path: str, real: str, mnt: Mount, options: list[str] | None, fstype: str | None,
    dedicated: bool,
) -> Outcome:
    ev = Evidence()
    if dedicated:
        ev.add("mount point", mnt.point == real, mnt.point, real)
    if fstype:
        ev.add("type", mnt.fstype == fstype, mnt.fstype, fstype)
    if options:
        missing = [o for o in options if o not in mnt.options]
        ev.add("options", not missing, ",".join(mnt.options), "includes " + ",".join(options))
    if not ev.facts:
        ev.add("mounted", True, f"{mnt.point} ({mnt.fstype})", "a mount")
    return ev.outcome(path=path, mount_point=mnt.point, fstype=mnt.fstype, options=mnt.options)


@check(target="host")
def mount(
    host: HostTarget,
    *,
    path: str,
    options: list[str] | None = None,
    fstype: str | None = None,
    dedicated: bool = False,
) -> Outcome:
    """The file system holding ``path`` is mounted with the given options and type.

    Args:
        path: a path on the host; its mount is the closest mount point above it.
        options: mount options that must be set, such as nodev, nosuid, noexec.
        fstype: the expected file system type, such as ext4 or tmpfs.
        dedicated: true to require that ``path`` is itself a mount point (its own partition).
    """
    out = output(host, MOUNTS, path, path, what="reading mounts")
    real, mounts = parse_mounts(out, path)
    mnt = holding_mount(real, mounts)
    if mnt is None:
        raise CheckError(f"host {host.name}: no mount holds {path}")
    return judge_mount(path, real, mnt, options, fstype, dedicated)


# --- import rules: how checklist lines become file, directory and mount checks --------


@proposes("mount")
def _mount_rule(line: Line) -> Proposal | None:
    m = re.search(rf"{ABS_PATH}\s+(?:is\s+)?mounted\b", line.title) or re.search(
        rf"\bmount(?:ed)?\s+(?:at|on)\s+{ABS_PATH}", line.title, re.I
    )
    if m:
        return Proposal([("mount", {"path": m.group(1)})], 0.75, f"mount {m.group(1)}")
    return None


_MODE = r"\b(0?[0-7]{3,4})\b"


@proposes("file", "file_mode", "directory_permissions")
def _file_mode_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"permissions?|\bmode\b|chmod|readable", t + " " + line.code):
        return None
    if db_context(line, own_only=True) or has(
        r"\b(iam|roles?|service|grants?|users?|accounts?)\b", t
    ):
        return None
    if not has(
        r"\bfiles?\b|chmod|\bdirector(y|ies)\b|\bfolders?\b|\bdirs?\b|" + _MODE, t + " " + line.code
    ):
        return None
    if has(r"\bdirector(y|ies)\b|\bdirs?\b|\bfolders?\b", t):
        return _directory_permissions(line)
    chmod = re.search(rf"chmod\s+(?:-\w+\s+)?{_MODE[2:-2]}\s+(\S+)", line.code)
    mode = re.search(_MODE, t)
    named_paths = paths(line.title) or re.findall(
        r"[`'\"]?(\.env[\w.]*|[\w./-]+\.(?:pem|key|env|conf|cfg|ini|toml|yaml|yml))[`'\"]?",
        line.title,
    )
    if chmod:
        return Proposal(
            [("file", {"path": chmod.group(2), "mode": chmod.group(1).zfill(4)})],
            0.8,
            "file mode from chmod",
        )
    if mode:
        digits = mode.group(1).lstrip("0").zfill(3)
        candidates: list[tuple[str, dict[str, str]]] = []
        if named_paths and named_paths[0].startswith("/"):
            # A named absolute path on a host: its exact mode.
            candidates.append(("file", {"path": named_paths[0], "mode": digits.zfill(4)}))
        # Otherwise the configured file targets (.env and friends): no wider than this mode.
        candidates.append(("file_mode", {"max": digits}))
        return Proposal(candidates, 0.75, f"file mode {digits}")
    if has(r"\b(set|correct\w*|configured|in place|restricted)\b", t):
        return Proposal(
            [("file_mode", {})], 0.65, "file permissions: the configured files are owner-only"
        )
    return Proposal([("file_mode", {})], 0.35, "file permissions: which file and which mode?")


def _directory_permissions(line: Line) -> Proposal:
    chmod = re.search(r"chmod\s+(?:-\w+\s+)?(0?[0-7]{3,4})\s+(\S+)", line.code)
    chown = re.search(r"chown\s+(?:-\w+\s+)?([\w.-]+)(?::([\w.-]+))?\s+(\S+)", line.code)
    path = (
        (chmod and chmod.group(2))
        or (chown and chown.group(3))
        or next(iter(paths(line.title)), None)
    )
    if not path:
        writable = has(r"writ\w*", line.lower)
        params = {"path": "${data_dir}"}
        if writable:
            params["writable_by"] = "${app_user}"
        return Proposal(
            [("directory_permissions", params), ("directory_permissions", {"path": "${data_dir}"})],
            0.65,
            "directory permissions: the directory is a variable",
        )
    params = {"path": path}
    if chmod:
        params["mode"] = chmod.group(1).zfill(4)
    if chown:
        params["owner"] = chown.group(1)
    full = dict(params)
    if chown and chown.group(2):
        full["group"] = chown.group(2)
    return Proposal(
        [
            ("directory_permissions", full),
            ("directory_permissions", params),
            ("directory_permissions", {"path": path}),
            ("file", {**full, "type": "directory"}),
        ],
        0.75,
        f"directory {path}",
    )


@proposes("file")
def _file_present_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"\b(present|exists?|in place|deployed|installed)\b", t) or not has(
        r"\bfiles?\b|\bconfig", t
    ):
        return None
    named_paths = paths(line.title)
    if named_paths:
        return Proposal([("file", {"path": named_paths[0]})], 0.7, f"file {named_paths[0]}")
    return None


_RELATIVE_FILE = re.compile(
    r"`?((?:[\w.-]+/)*[\w-]+\.(?:config|conf|cfg|ini|toml|ya?ml|json|env|xml|properties|pem|crt))`?"
)


@proposes("file")
def _relative_file_rule(line: Line) -> Proposal | None:
    """A file named relative to the application.

    ("IMS_Configs/ONE.config" under "Config files present").
    """
    t = line.lower
    said = t + " " + nearest_context(line)
    if not has(r"\b(present|exists?|in place|deployed|installed|created|available)\b", said):
        return None
    m = _RELATIVE_FILE.fullmatch(line.title.strip()) or _RELATIVE_FILE.search(line.marked)
    if not m or m.group(1).startswith("/") or has(r"\.env\b", m.group(1)):
        return None
    return Proposal([("file", {"path": "${app_dir}/" + m.group(1)})], 0.7,
                    f"{m.group(1)} under the application's directory (a variable)")


@proposes("file")
def _virtualenv_rule(line: Line) -> Proposal | None:
    t = line.lower
    if not has(r"virtual ?env\w*|\bvenv\b", t) or not has(
        r"created|exists?|present|in place|set up", t
    ):
        return None
    if has(r"tested|dependencies", t):
        return None
    m = re.search(r"-m\s+venv\s+(\S+)", line.code)
    where = (
        "${app_dir}/" + m.group(1)
        if m and not m.group(1).startswith("/")
        else (m.group(1) if m else "${venv_dir}")
    )
    return Proposal(
        [("file", {"path": f"{where}/bin/python"})],
        0.7,
        "the virtual environment's interpreter exists",
    )
