"""Log hygiene: logs hold none of the run's secrets and nothing that looks like one.

:func:`logs_no_secrets` reads the newest part of each log file matching a
glob on a host (``local://`` for this machine) and looks for two things:

* the run's own secrets: every value the masker of
  :mod:`pytest_golive.core.secrets` knows (``${VAR}`` values, DSN passwords,
  secret headers) and the values of secret-looking keys in the configuration
  files named in ``secret_files`` (a ``.env``, an ``application.yml``);
* values that look like secrets whoever they belong to: private key blocks,
  provider tokens (AWS, GitHub, Slack, Stripe...), JWTs, ``Authorization:
  Bearer`` tokens, and ``password=``/``"token": "..."`` values that are not
  visibly masked.

The evidence names the file, the line number and the kind of finding, never
the value: a matched value is registered with the masker before anything is
reported. Reading is bounded: at most ``max_mib`` MiB from the end of each file
(the newest entries), newest files first, at most ``max_files`` files and
``max_total_mib`` MiB in all; the evidence says where it stopped.

Also here: the import rules that bind "application logs being written" and
"access logs captured" lines to ``newest_file_age`` (log rotation lines are
bound to ``logrotate`` by its own rule).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote, unquote_plus

from pytest_golive.checks._shell import first_line, glob_word, q
from pytest_golive.checks.registry import check
from pytest_golive.checks.repo_secrets import _EXAMPLES, PATTERNS
from pytest_golive.checks.rules import Line, Proposal, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.secrets import MASKER, MIN_SECRET_LENGTH, Secret, looks_secret
from pytest_golive.targets.host import HostTarget

MIB = 1024 * 1024

#: Values that show a secret was masked, not leaked.
_MASKED = re.compile(
    r"^(\*+|x{3,}|X{3,}|#+|\.{3,}|-+|<[^>]*>|\[[^\]]*\]|\{[^}]*\}|\$\{[^}]*\}|%s|%\([^)]*\)s|"
    r"redacted|masked|hidden|filtered|removed|secret|password|null|none|nil|undefined|true|false|"
    r"changeme|example|sample|placeholder)$",
    re.I,
)

LOG_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    *PATTERNS,
    ("bearer token", re.compile(r"\b[Bb]earer\s+([A-Za-z0-9\-._~+/]{16,}=*)")),
    (
        "basic auth credentials",
        re.compile(r"\bBasic\s+([A-Za-z0-9+/]{12,}={0,2})(?![A-Za-z0-9+/=])"),
    ),
    ("credentials in a URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s:/@]{3,})@[^\s/]+")),
    (
        "password value",
        re.compile(
            r"(?i)(?<![A-Za-z0-9_])[\"']?(?:[a-z0-9_.-]*[_.-])?(?:pass(?:word|wd)?|pwd|secret|"
            r"api[_-]?key|apikey|access[_-]?token|auth[_-]?token|refresh[_-]?token|token|"
            r"client[_-]?secret|private[_-]?key)[\"']?\s*(?:=|:|=>)\s*[\"']?([^\s\"'&,;)}]+)"
        ),
    ),
)


@dataclass(frozen=True)
class Finding:
    """One secret in one log line: where and what kind, never the value."""

    path: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}"


def _looks_masked(value: str) -> bool:
    """A placeholder, a template reference or a visibly masked value: not a leak."""
    stripped = value.strip("\"'")
    if stripped.startswith(("${", "{{", "%(", "<", "[", "{", "$")):
        return True
    return (
        bool(_MASKED.match(stripped))
        or len(stripped) < MIN_SECRET_LENGTH
        or set(stripped) <= {"*", "x", "X", "#", "."}
    )


#: Values this check found by their shape and registered with the masker: they are
#: findings of their own kind, not secrets of the run, when a later scan meets them.
_FOUND: set[str] = set()


#: Words every match of a pattern contains (lower case): only the lines holding one are
#: searched with the pattern itself, which keeps a many-MiB log fast to read.
_HINTS: dict[str, tuple[str, ...]] = {
    "private key": ("private key",),
    "AWS access key id": ("akia", "asia", "abia", "acca"),
    "GitHub token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "GitHub fine-grained token": ("github_pat_",),
    "Slack token": ("xox",),
    "Slack webhook": ("hooks.slack.com",),
    "Google API key": ("aiza",),
    "Stripe live key": ("_live_",),
    "JSON Web Token": ("eyj",),
    "bearer token": ("bearer",),
    "basic auth credentials": ("basic",),
    "credentials in a URL": ("@",),
    "password value": ("pass", "pwd", "secret", "key", "token"),
}


def _regions(
    text: str, lower: str, starts: list[int], hints: tuple[str, ...] | None
) -> list[tuple[int, int]]:
    """(start, end) of the lines holding a hint, or the whole text when there are no hints."""
    if hints is None:
        return [(0, len(text))]
    lines: set[int] = set()
    for hint in hints:
        position = lower.find(hint)
        while position != -1:
            line = bisect.bisect_right(starts, position) - 1
            lines.add(line)
            following = starts[line + 1] if line + 1 < len(starts) else len(text)
            position = lower.find(hint, following)
    return [(starts[n], starts[n + 1] if n + 1 < len(starts) else len(text)) for n in sorted(lines)]


def scan_line(text: str, known: dict[str, str], *, patterns: bool = True) -> list[str]:
    """The kinds of secret on one line of a log. Every matched value is masked from now on."""
    return [f.kind for f in scan_text("", text, 1, known, patterns=patterns)]


def scan_text(
    path: str, text: str, first_line_number: int, known: dict[str, str], *, patterns: bool = True
) -> list[Finding]:
    """Findings in ``text``, whose first line is line ``first_line_number`` of ``path``.

    Each value and pattern is searched over the whole text at once (the regular
    expression engine's speed, not a Python loop per line) and every hit is mapped
    back to its line; lines end at newlines only, as ``wc -l`` counts them.
    """
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    hits: dict[int, list[str]] = {}

    def at(position: int, kind: str) -> None:
        hits.setdefault(bisect.bisect_right(starts, position) - 1, []).append(kind)

    for value, label in known.items():
        position = text.find(value)
        while position != -1:
            at(position, label)
            position = text.find(value, position + len(value))
    if patterns:
        lower = text.lower()
        for kind, pattern in LOG_PATTERNS:
            for start, end in _regions(text, lower, starts, _HINTS.get(kind)):
                for m in pattern.finditer(text, start, end):
                    if "\n" in m.group(0):
                        continue  # a pattern's spaces must not join two lines
                    value = m.group(m.lastindex) if m.lastindex else m.group(0)
                    if _EXAMPLES.search(m.group(0)) or _looks_masked(value) or value in known:
                        continue  # an example, a masked value, or already the run's own
                    if kind != "private key":
                        Secret(value)
                        _FOUND.add(value)
                    at(m.start(), kind)
    return [
        Finding(path, first_line_number + line, kind)
        for line in sorted(hits)
        for kind in dict.fromkeys(hits[line])
    ]


def secret_values(config_text: str, source: str) -> dict[str, str]:
    """Values of secret-looking keys in a config file (``KEY=value``, ``key: value``, JSON)."""
    out: dict[str, str] = {}
    for raw in config_text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "//")):
            continue
        m = re.match(
            r"""^(?:export\s+)?["']?([A-Za-z0-9_.\-]+)["']?\s*(?:=|:)\s*(.*?)\s*,?$""", line
        )
        if not m or not looks_secret(m.group(1)):
            continue
        value = m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if not value or value.startswith(("${", "{", "[")) or _looks_masked(value):
            continue
        Secret(value, f"{source}:{m.group(1)}")
        out[value] = f"value of {m.group(1)} from {source}"
    return out


def known_secrets(extra: dict[str, str]) -> dict[str, str]:
    """Every secret value to look for, with a label that never contains it."""
    known = {
        value: "a secret of this run"
        for value in MASKER.values()
        if len(value) >= MIN_SECRET_LENGTH
        and not {value, unquote(value), unquote_plus(value)} & _FOUND
    }
    known.update(extra)
    return known


@dataclass
class LogFile:
    path: str
    mtime: int
    size: int


@dataclass
class ScanReport:
    """What was read, what was found, and where reading stopped."""

    matched: int = 0
    scanned: list[str] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    stopped: str = ""


def judge_logs(report: ScanReport, globs: Iterable[str]) -> Outcome:
    """Pass when log files were read and none holds a secret."""
    ev = Evidence()
    where = ", ".join(globs)
    details = {
        "matched": report.matched,
        "scanned": report.scanned[:50],
        "partial": report.partial[:50],
        "unreadable": report.unreadable[:50],
        "stopped": report.stopped,
        "findings": [
            {"path": f.path, "line": f.line, "kind": f.kind} for f in report.findings[:100]
        ],
    }
    if not report.matched:
        ev.add("files", False, f"no log file matches {where}", "log files to read")
        return ev.outcome(**details)
    if report.unreadable:
        ev.add(
            "readable",
            False,
            f"cannot read {', '.join(report.unreadable[:5])} (permission "
            "denied: run as root or with sudo = true)",
            "every matching file readable",
        )
    read = f"{len(report.scanned)} of {report.matched} files read"
    if report.partial:
        read += f", {len(report.partial)} only in part (their newest part)"
    if report.stopped:
        read += f"; stopped: {report.stopped}"
    shown = "; ".join(map(str, report.findings[:10]))
    if len(report.findings) > 10:
        shown += f"; and {len(report.findings) - 10} more"
    ev.add(
        "secrets",
        not report.findings,
        f"{shown} ({read})" if report.findings else f"none found ({read})",
        "no secret in any log line",
    )
    return ev.outcome(**details)


def _list_files(host: HostTarget, globs: list[str]) -> tuple[list[LogFile], list[str]]:
    words = " ".join(glob_word(g) for g in globs)
    script = (
        f'for f in {words}; do [ -f "$f" ] || continue; '
        f'if [ -r "$f" ]; then stat -c "%Y %s %n" -- "$f"; else echo "@@unreadable $f"; fi; '
        "done; true"
    )
    result = host.run(script)
    files, unreadable = [], []
    for line in str(result.stdout).splitlines():
        if line.startswith("@@unreadable "):
            unreadable.append(line[len("@@unreadable ") :])
            continue
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            files.append(LogFile(parts[2], int(parts[0]), int(parts[1])))
    files.sort(key=lambda f: (-f.mtime, f.path))
    return list({f.path: f for f in files}.values()), unreadable


def _read_tail(host: HostTarget, log: LogFile, limit: int) -> tuple[str, int, bool]:
    """The newest ``limit`` bytes of a log in whole lines (.gz decompressed) and their first number.

    The number comes from counting the file's lines first; for a log being
    written meanwhile it may be off by the lines added in between.
    """
    reader = f"gzip -dc -- {q(log.path)}" if log.path.endswith(".gz") else f"cat -- {q(log.path)}"
    script = f'n=$({reader} | wc -l); echo "@@lines $n"; {reader} | tail -c {limit + 1}'
    result = host.run(script, timeout=120)
    if result.rc != 0:
        cause = first_line(str(result.stderr)) or f"exit status {result.rc}"
        raise CheckError(f"host {host.name}: reading {log.path} failed: {cause}")
    raw: bytes = result.stdout_bytes
    head, _, body = raw.partition(b"\n")
    total = (
        int(head.split()[-1]) if head.startswith(b"@@lines ") and head.split()[-1].isdigit() else 0
    )
    partial = len(body) > limit
    if partial:
        body = body[body.index(b"\n") + 1 :] if b"\n" in body else b""  # drop the cut first line
    text = body.decode("utf-8", "replace")
    lines_read = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    return text, max(1, total - lines_read + 1), partial


@check(target="host", aliases=("no_secrets_in_logs", "log_secrets"))
def logs_no_secrets(
    host: HostTarget,
    *,
    paths: list[str],
    secret_files: list[str] | None = None,
    patterns: bool = True,
    max_mib: float = 8,
    max_files: int = 20,
    max_total_mib: float = 64,
) -> Outcome:
    """Log files hold none of the run's secrets and nothing that looks like a secret.

    Looks in every file matching ``paths`` (globs; ``.gz`` files are read
    decompressed) for the values of the run's own secrets (everything the
    masker knows: ``${VAR}`` values, DSN passwords, secret headers), the values
    of secret-looking keys in ``secret_files``, and, with ``patterns``, values
    shaped like secrets: private keys, AWS/GitHub/Slack/Stripe/Google tokens,
    JWTs, Bearer and Basic credentials, passwords in URLs and ``password=`` /
    ``"token": "..."`` values that are not visibly masked (``*****``,
    ``[REDACTED]``). Evidence: file, line number and kind, never the value.

    Bounded: the newest ``max_mib`` MiB of each file, newest files first, at
    most ``max_files`` files and ``max_total_mib`` MiB; the evidence says what
    was read in part and where it stopped. No file matching fails: nothing
    was proven.

    Args:
        paths: globs of the log files, such as /var/log/app/*.log.
        secret_files: configuration files whose secret keys' values must not appear (a .env).
        patterns: false to look only for the run's own secrets.
        max_mib: the most read from the end of each file, in MiB.
        max_files: the most files read, newest first.
        max_total_mib: the most read in all, in MiB.
    """
    if not paths:
        raise CheckError("logs_no_secrets: paths names no log files")
    extra: dict[str, str] = {}
    for name in secret_files or []:
        result = host.run(f"cat -- {q(name)}")
        if result.rc != 0:
            cause = first_line(str(result.stderr)) or f"exit status {result.rc}"
            raise CheckError(f"host {host.name}: cannot read secret file {name}: {cause}")
        extra.update(secret_values(str(result.stdout), name))
    known = known_secrets(extra)
    files, unreadable = _list_files(host, list(paths))
    report = ScanReport(matched=len(files) + len(unreadable), unreadable=unreadable)
    budget = int(max_total_mib * MIB)
    per_file = max(1, int(max_mib * MIB))
    for index, log in enumerate(files):
        if index >= max_files:
            report.stopped = (
                f"max_files={max_files} reached, {len(files) - index} older files not read"
            )
            break
        if budget <= 0:
            report.stopped = (
                f"max_total_mib={max_total_mib:g} reached, {len(files) - index} older "
                "files not read"
            )
            break
        text, first, partial = _read_tail(host, log, min(per_file, budget))
        budget -= len(text.encode("utf-8", "replace"))
        report.scanned.append(log.path)
        if partial:
            report.partial.append(log.path)
        report.findings += scan_text(log.path, text, first, known, patterns=patterns)
    return judge_logs(report, paths)


# --- import rules -------------------------------------------------------------------------------

_LOG = r"\blogs?\b|\blogging\b|\blogged\b"


@proposes("logs_no_secrets")
def _log_secrets_rule(line: Line) -> Proposal | None:
    """ "Sensitive data excluded from logs", "No passwords or tokens in logs", "PII not logged"."""
    t = line.lower
    if not re.search(_LOG, t):
        return None
    if not re.search(
        r"\b(sensitive|secrets?|passwords?|credentials?|tokens?|api keys?|pii|"
        r"personal data|card numbers?|keys?)\b",
        t,
    ):
        return None
    if not re.search(
        r"\b(no|not|never|excluded?|without|free of|scrubbed|redact\w*|mask\w*|"
        r"filter\w*|sanitiz\w*|sanitis\w*|removed?)\b",
        t,
    ):
        return None
    globs = [
        p
        for p in re.findall(r"(?<![\w.])(/[\w.@*/-]+)", line.title + " " + line.code)
        if re.search(r"log", p)
    ]
    path = globs[0] if globs else "${log_dir}/*.log"
    reason = "logs hold no secrets"
    confidence = 0.7
    if re.search(r"\b(pii|personal data|card numbers?)\b", t):
        reason += " (personal data itself needs a person's review)"
        confidence = 0.5
    return Proposal([("logs_no_secrets", {"paths": path})], confidence, reason)


@proposes("newest_file_age")
def _logs_written_rule(line: Line) -> Proposal | None:
    """ "Application logs being written", "Access logs captured", "Logs flowing"."""
    t = line.lower
    if not re.search(_LOG, t):
        return None
    if not re.search(
        r"\b(written|writing|being written|captured|flowing|recorded|produced|"
        r"generated|enabled|collected|present|recent)\b",
        t,
    ):
        return None
    if re.search(
        r"\b(aggregat\w*|shipp\w*|centrali[sz]\w*|elk|cloudwatch|splunk|datadog|loki|"
        r"retention|rotat\w*|levels?|format|json|structured|alert\w*|monitor\w*|review\w*|sensitive|"
        r"secrets?|audit)\b",
        t,
    ):
        return None
    access = bool(re.search(r"\baccess logs?\b", t))
    paths = [
        p
        for p in re.findall(r"(?<![\w.])(/[\w.@/-]+)", line.title + " " + line.code)
        if re.search(r"log", p)
    ]
    if paths and not re.search(r"\.\w+$", paths[0]):
        params = {"directory": paths[0], "pattern": "*access*" if access else "*.log"}
    elif paths:
        directory, _, name = paths[0].rpartition("/")
        params = {"directory": directory or "/", "pattern": name}
    else:
        params = {
            "directory": "${access_log_dir}" if access else "${log_dir}",
            "pattern": "*access*" if access else "*.log",
        }
    # "within 5 minutes", "in the last 2 hours": the line's own bound; else a day.
    window = re.search(r"\b(\d+(?:\.\d+)?)\s*(minutes?|mins?|m|hours?|hrs?|h)\b", t)
    hours = 24.0
    if window:
        hours = float(window.group(1)) / (60 if window.group(2).startswith("m") else 1)
    params["max_age_hours"] = f"{hours:g}"
    what = "access log" if access else "application log"
    # "access logs", "error logs", "application logs": the line is about the files themselves.
    named = re.search(r"\b(access|error|application|app|request|audit|server) logs?\b", t)
    return Proposal(
        [("newest_file_age", params)],
        0.75 if named else 0.7,
        f"{what} written in the last {hours:g} h",
        () if window else ("max_age_hours=24 (the line names no time)",),
    )
