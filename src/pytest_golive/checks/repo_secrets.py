"""secrets_in_repo: no secret committed to a git working tree or its history.

Only high-confidence findings: files that are secrets by their name (a
``.env``, an SSH private key, ``credentials.json``, a key store) and token
formats a provider made recognisable on purpose (AWS key ids, GitHub, Slack,
Google, Stripe live keys, private key blocks, JWTs). A checklist line that
cries wolf gets waived and then ignored, so no generic "long random string"
guessing.

Evidence names the file, the line (and the commit, for history) and the kind
of finding; the matched value is registered with the masker and never shown.
git runs read-only, with fsmonitor and hooks out of the way.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, has, proposes
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.core.secrets import Secret, mask

#: A line with this marker is not reported (a documented test fixture, say).
ALLOW_MARKER = "golive:allow"

#: Files larger than this are not read (build artefacts, data sets).
MAX_FILE_BYTES = 2 * 1024 * 1024

GIT_TIMEOUT = 120

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    (
        "AWS access key id",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
    ),
    ("GitHub token", re.compile(r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9_])")),
    ("GitHub fine-grained token", re.compile(r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}")),
    ("Slack token", re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}")),
    (
        "Slack webhook",
        re.compile(r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]{16,}"),
    ),
    ("Google API key", re.compile(r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])")),
    ("Stripe live key", re.compile(r"(?<![A-Za-z0-9])(?:sk|rk)_live_[0-9A-Za-z]{24,}")),
    (
        "JSON Web Token",
        re.compile(
            r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}"
        ),
    ),
)

#: Documented example values that every tutorial contains: not findings.
_EXAMPLES = re.compile(r"EXAMPLE|AKIAIOSFODNN7")

_TEMPLATE_NAMES = re.compile(
    r"\.(example|sample|template|dist|tpl|tmpl)$|\.example\.|\.sample\.", re.I
)

SECRET_FILES: tuple[tuple[str, str], ...] = (
    (".env", "environment file"),
    (".env.*", "environment file"),
    ("*.env", "environment file"),
    ("id_rsa", "SSH private key"),
    ("id_dsa", "SSH private key"),
    ("id_ecdsa", "SSH private key"),
    ("id_ed25519", "SSH private key"),
    ("credentials.json", "credentials file"),
    ("*.p12", "key store"),
    ("*.pfx", "key store"),
    ("*.jks", "key store"),
    ("*.keystore", "key store"),
    (".pgpass", "password file"),
    (".netrc", "password file"),
    (".htpasswd", "password file"),
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int | None
    kind: str
    commit: str | None = None

    def where(self) -> str:
        at = f"{self.path}:{self.line}" if self.line else self.path
        return f"{self.commit[:10]} {at}" if self.commit else at

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "line": self.line, "kind": self.kind}
        if self.commit:
            out["commit"] = self.commit
        return out


def secret_file_kind(path: str) -> str | None:
    """The kind of secret file ``path`` is by its name, or None."""
    name = posixpath.basename(path)
    if _TEMPLATE_NAMES.search(name):
        return None
    for pattern, kind in SECRET_FILES:
        if fnmatch.fnmatchcase(name, pattern):
            return kind
    return None


def scan_line(text: str) -> Iterator[str]:
    """The kinds of secret on one line; each matched value is registered as a secret."""
    if ALLOW_MARKER in text:
        return
    for kind, pattern in PATTERNS:
        for m in pattern.finditer(text):
            if _EXAMPLES.search(m.group(0)):
                continue
            if kind != "private key":
                Secret(m.group(0))
            yield kind
            break


#: One search over a whole file before the line-by-line scan: most files hold nothing.
_ANY = re.compile("|".join(f"(?:{p.pattern})" for _, p in PATTERNS))


def scan_text(path: str, text: str) -> list[Finding]:
    if not _ANY.search(text):
        return []
    return [
        Finding(path, number, kind)
        for number, line in enumerate(text.splitlines(), 1)
        for kind in scan_line(line)
    ]


def _git(repo: Path, *args: str) -> list[str]:
    return [
        "git", "-C", str(repo),
        "-c", "core.fsmonitor=false", "-c", "core.quotepath=off", "-c", "diff.external=",
        *args,
    ]


def _run_git(repo: Path, *args: str) -> bytes:
    try:
        proc = subprocess.run(
            _git(repo, *args), capture_output=True, timeout=GIT_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise CheckError(f"git in {repo}: {args[0]} took longer than {GIT_TIMEOUT}s") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise CheckError(f"git in {repo}: {args[0]} failed: {mask(message[-1] if message else '')}")
    return proc.stdout


def _ignored(path: str, ignore: Iterable[str]) -> bool:
    return any(
        fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(posixpath.basename(path), pat)
        for pat in ignore
    )


def scan_tree(repo: Path, ignore: list[str]) -> list[Finding]:
    """Findings in the files git tracks, as they are in the working tree."""
    findings: list[Finding] = []
    for raw in _run_git(repo, "ls-files", "-z").split(b"\0"):
        if not raw:
            continue
        path = raw.decode("utf-8", "surrogateescape")
        if _ignored(path, ignore):
            continue
        kind = secret_file_kind(path)
        if kind:
            findings.append(Finding(path, None, f"committed {kind}"))
        file = repo / path
        try:
            if not file.is_file() or file.is_symlink() or file.stat().st_size > MAX_FILE_BYTES:
                continue
            data = file.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue
        findings.extend(scan_text(path, data.decode("utf-8", "replace")))
    return findings


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


_COMMIT = re.compile(r"^commit ([0-9a-f]{40}|[0-9a-f]{64})$")


def scan_history(repo: Path, ignore: list[str], max_commits: int) -> list[Finding]:
    """Findings in lines added by the last ``max_commits`` commits of every branch."""
    findings: list[Finding] = []
    commit = path = None
    in_header = False
    line_no = 0
    for raw in _stream_git(
        repo, "log", "--all", "-p", "--no-color", "--no-ext-diff", "--no-textconv",
        "--diff-filter=AM", "-U0", "--format=commit %H", f"--max-count={max_commits}",
    ):
        if m := _COMMIT.match(raw):
            commit, path = m.group(1), None
        elif raw.startswith("diff --git "):
            in_header, path = True, None
            _record_secret_file(raw, commit, ignore, findings)
        elif in_header and raw.startswith("+++ "):
            target = raw[4:]
            path = target[2:] if target.startswith("b/") else None
            if path and _ignored(path, ignore):
                path = None
        elif m := _HUNK.match(raw):
            in_header = False
            line_no = int(m.group(1))
        elif raw.startswith("+") and not in_header and path and commit:
            for kind in scan_line(raw[1:]):
                findings.append(Finding(path, line_no, kind, commit))
            line_no += 1
    return findings


def _stream_git(repo: Path, *args: str) -> Iterator[str]:
    """The lines of a git command's output, read as they come.

    History can be far larger than memory would like; it is never held
    whole. The command is ended after ``GIT_TIMEOUT`` seconds.
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(_git(repo, *args), stdout=subprocess.PIPE, stderr=err)
        timer = threading.Timer(GIT_TIMEOUT, proc.kill)
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                yield line.decode("utf-8", "replace").rstrip("\r\n")
            rc = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
        if rc < 0:
            raise CheckError(f"git in {repo}: {args[0]} took longer than {GIT_TIMEOUT}s")
        if rc != 0:
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip().splitlines()
            raise CheckError(
                f"git in {repo}: {args[0]} failed: {mask(message[-1] if message else '')}"
            )


def _record_secret_file(
    header: str, commit: str | None, ignore: list[str], out: list[Finding]
) -> None:
    parts = header.split(" b/", 1)
    if len(parts) != 2 or not commit:
        return
    path = parts[1]
    kind = secret_file_kind(path)
    if kind and not _ignored(path, ignore):
        finding = Finding(path, None, f"committed {kind}", commit)
        if finding not in out:
            out.append(finding)


@check(target="none", aliases=("no_secrets_in_vcs",))
def secrets_in_repo(
    *,
    path: str = ".",
    history: bool = False,
    max_commits: int = 1000,
    ignore: list[str] | None = None,
) -> Outcome:
    """No secret is committed to the git working tree (and, optionally, its history).

    Looks for secret files by name (``.env``, ``id_rsa``, ``credentials.json``,
    key stores; templates such as ``.env.example`` are fine) and for
    high-confidence token formats: private key blocks, AWS access key ids,
    GitHub, Slack and Google API tokens, Stripe live keys, JSON Web Tokens.
    AWS's documented example keys are not findings; a line containing
    ``golive:allow`` is skipped. Evidence gives file:line and the kind, never
    the value.

    Args:
        path: the git working tree to scan, relative to the directory pytest runs in.
        history: also scan the lines added by recent commits of every branch: a secret removed later
            is still leaked.
        max_commits: how many recent commits ``history`` reads.
        ignore: glob patterns of paths not to scan (``tests/fixtures/*``).
    """
    if shutil.which("git") is None:
        raise CheckError("secrets_in_repo: git is not installed on the machine running pytest")
    repo = Path(path)
    if not repo.is_dir():
        raise CheckError(f"secrets_in_repo: {path} is not a directory")
    try:
        inside = _run_git(repo, "rev-parse", "--is-inside-work-tree").strip()
    except CheckError as exc:
        raise CheckError(f"secrets_in_repo: {path} is not a git working tree ({exc})") from None
    if inside != b"true":
        raise CheckError(f"secrets_in_repo: {path} is not a git working tree")
    patterns = list(ignore or [])
    tracked = scan_tree(repo, patterns)
    past = scan_history(repo, patterns, max_commits) if history else []
    findings = tracked + past
    scope = "tracked files" + (f" and the last {max_commits} commits" if history else "")
    observed = (
        f"{len(findings)} findings: " + "; ".join(f"{f.where()} ({f.kind})" for f in findings[:20])
        + (f"; and {len(findings) - 20} more" if len(findings) > 20 else "")
        if findings
        else f"no secrets in {scope}"
    )
    return Outcome.of(
        not findings,
        observed,
        f"no committed secret files or keys in {scope}",
        repo=str(repo),
        tracked=[f.to_dict() for f in tracked],
        history=[f.to_dict() for f in past],
    )


def _validate(params: dict[str, object]) -> None:
    if int(params.get("max_commits", 1000)) < 1:  # type: ignore[call-overload]
        raise ValueError("max_commits must be at least 1")


secrets_in_repo.golive_validate = _validate  # type: ignore[attr-defined]


# --- import rule ------------------------------------------------------------------------


@proposes("secrets_in_repo")
def _secrets_in_repo_rule(line: Line) -> Proposal | None:
    """"API keys not in code", "no sensitive data in version control"."""
    t = line.lower
    if not has(
        r"\b(secrets?|credentials?|keys?|passwords?|tokens?|sensitive (data|values|information))\b",
        t,
    ):
        return None
    if has(r"\b(logs?|logging)\b", t):
        return None
    if has(
        r"not (in|committed to) (the )?(code|repo\w*|source|git|version control)|hard-?coded|"
        r"committed|in (the )?repo|"
        r"\b(no|none|never)\b.*\bin (the )?(version control|vcs|git|source control|repo\w*|"
        r"code ?base)\b",
        t,
    ):
        return Proposal([("secrets_in_repo", {})], 0.75, "no secrets in the repository")
    return None
