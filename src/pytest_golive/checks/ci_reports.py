"""CI evidence checks: the pipeline's own test, coverage, lint and vulnerability reports.

A readiness run inside a release pipeline has the pipeline's reports at hand;
these checks read them as file targets (local, or through a host) and judge
what they say: JUnit XML test reports from any producer, coverage reports
(Cobertura XML as coverage.py and most tools write it, JaCoCo XML, coverage.py
JSON), SARIF 2.1.0 from any static analyser, and vulnerability reports
(SARIF, pip-audit, npm audit, Trivy and Grype JSON).

Report files are untrusted input: XML is parsed with ``defusedxml``, which
refuses entity declarations and external references (billion laughs, XXE),
and any unreadable or malformed report is one line naming the file.

An allow-list of vulnerability IDs follows the waiver rules: every entry
carries an expiry date (``CVE-2024-1234:2026-09-30``), an entry without one is
refused, and an expired entry no longer counts (it is shown as expired).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from junitparser import Error, Failure, JUnitXml, Skipped

from pytest_golive.checks.registry import check
from pytest_golive.checks.rules import Line, Proposal, proposes
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.core.verdict import Clock
from pytest_golive.targets.files import FileTarget

# --- reading report files --------------------------------------------------------------------


def parse_xml(text: str, where: str) -> Element:
    """The root element of ``text``, refusing entity declarations and external references."""
    try:
        root: Element = safe_xml.fromstring(text.encode("utf-8"))
    except DefusedXmlException as exc:
        raise CheckError(
            f"{where}: refused as unsafe XML ({type(exc).__name__}: entity declarations and "
            "external references are not read); regenerate the report with its tool"
        ) from None
    except ParseError as exc:
        raise CheckError(f"{where}: not well-formed XML ({exc})") from None
    return root


def parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", "?")
        raise CheckError(f"{where}: not valid JSON (line {line})") from None


def modified(file: FileTarget) -> dt.datetime | None:
    """The report file's modification time (UTC), if it can be read."""
    try:
        if file.host is not None:
            # testinfra turns the host's epoch into this machine's local time, naive.
            stamp: dt.datetime = file.host.testinfra.file(file.path).mtime
            return stamp.astimezone(dt.UTC)
        return dt.datetime.fromtimestamp(Path(file.path).stat().st_mtime, dt.UTC)
    except Exception:  # noqa: BLE001 - an unknown age is reported as such
        return None


def _now() -> dt.datetime:
    # Ages are real: a report written a minute ago is fresh whatever date --golive-today
    # fixes for expiry (which the allow-list follows, as waivers do).
    return dt.datetime.now(dt.UTC)


def judge_age(
    ev: Evidence, produced: dt.datetime | None, source: str, max_age_hours: float, now: dt.datetime
) -> None:
    if produced is None:
        ev.add(
            "age", False, "when the report was produced is unknown", f"<= {max_age_hours:g} h old"
        )
        return
    hours = (now - produced).total_seconds() / 3600
    # A few minutes in the future is clock skew between the CI runner and this machine.
    ev.add(
        "age",
        -0.1 <= hours <= max_age_hours,
        f"produced {produced:%Y-%m-%d %H:%M} UTC ({hours:.1f} h ago, from {source})",
        f"<= {max_age_hours:g} h old",
    )


# --- JUnit test reports ----------------------------------------------------------------------


@dataclass(frozen=True)
class TestTotals:
    tests: int
    failures: int
    errors: int
    skipped: int
    suites: int
    timestamp: dt.datetime | None
    properties: Mapping[str, str]
    failed: tuple[str, ...]


COMMIT_PROPERTIES = (
    "commit",
    "git_commit",
    "git.commit",
    "git_sha",
    "sha",
    "revision",
    "vcs.revision",
    "vcs_revision",
    "ci_commit_sha",
    "github_sha",
    "build.vcs.number",
    "source_version",
)


def _timestamp(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def junit_totals(root: Element, where: str, suite_glob: str | None = None) -> TestTotals:
    """Counts of a JUnit XML document, from its test cases (``testsuites`` or one ``testsuite``).

    With ``suite_glob``, only suites whose name matches it (without regard to case) count.
    """
    if root.tag not in ("testsuites", "testsuite"):
        raise CheckError(f"{where}: not a JUnit XML report (root element <{root.tag}>)")
    # junitparser reads the element tree defusedxml built: the parsing stays the safe one.
    xml = JUnitXml.fromroot(root)  # type: ignore[arg-type]
    tests = failures = errors = skipped = suites = 0
    stamps: list[dt.datetime] = []
    props: dict[str, str] = {}
    failed: list[str] = []
    for elem in root.iter("properties"):
        for prop in elem.iter("property"):
            if prop.get("name"):
                props[str(prop.get("name"))] = str(prop.get("value", prop.text or ""))
    for suite in xml:
        if suite_glob and not fnmatch.fnmatchcase(
            str(suite.name or "").lower(), suite_glob.lower()
        ):
            continue
        suites += 1
        stamp = _timestamp(suite.timestamp)  # junitparser's own attribute, not its tree
        if stamp:
            stamps.append(stamp)
        cases = list(suite)
        if not cases:
            # Producers that write totals only (no <testcase>): trust the attributes.
            tests += int(suite.tests or 0)
            failures += int(suite.failures or 0)
            errors += int(suite.errors or 0)
            skipped += int(suite.skipped or 0)
            continue
        for case in cases:
            tests += 1
            results = case.result
            if any(isinstance(r, Error) for r in results):
                errors += 1
                failed.append(f"{case.classname}.{case.name}" if case.classname else str(case.name))
            elif any(isinstance(r, Failure) for r in results):
                failures += 1
                failed.append(f"{case.classname}.{case.name}" if case.classname else str(case.name))
            elif any(isinstance(r, Skipped) for r in results):
                skipped += 1
    top = _timestamp(root.get("timestamp"))
    if top:
        stamps.append(top)
    return TestTotals(
        tests,
        failures,
        errors,
        skipped,
        suites,
        max(stamps) if stamps else None,
        props,
        tuple(failed),
    )


def report_commit(totals: TestTotals, path: str) -> tuple[str | None, str]:
    """(commit, where it was found) from the report's properties, else from the file's path."""
    lowered = {k.lower(): v for k, v in totals.properties.items()}
    for name in COMMIT_PROPERTIES:
        if lowered.get(name):
            return lowered[name].strip(), f"property {name}"
    found = re.findall(r"(?<![0-9a-f])([0-9a-f]{7,40})(?![0-9a-f])", path.lower())
    return (found[-1], "the file's path") if found else (None, "")


def commit_matches(found: str, wanted: str) -> bool:
    a, b = found.lower(), wanted.lower()
    return len(a) >= 7 and len(b) >= 7 and (a.startswith(b) or b.startswith(a))


def judge_junit(
    totals: TestTotals,
    *,
    min_tests: int,
    max_skipped: int | None,
    path: str,
    commit: str | None,
    max_age_hours: float | None,
    produced_fallback: dt.datetime | None,
    now: dt.datetime,
) -> Outcome:
    ev = Evidence()
    bad = totals.failures + totals.errors
    names = ", ".join(totals.failed[:5]) + (", ..." if len(totals.failed) > 5 else "")
    ev.add(
        "results",
        bad == 0,
        f"{totals.tests} tests: {totals.failures} failed, {totals.errors} errors, "
        f"{totals.skipped} skipped" + (f" ({names})" if names else ""),
        "no failures or errors",
    )
    ev.add(
        "tests",
        totals.tests >= min_tests,
        f"{totals.tests} tests in {totals.suites} suite(s)",
        f">= {min_tests} tests",
    )
    if max_skipped is not None:
        ev.add(
            "skipped",
            totals.skipped <= max_skipped,
            f"{totals.skipped} skipped",
            f"<= {max_skipped}",
        )
    if commit:
        found, source = report_commit(totals, path)
        ev.add(
            "commit",
            found is not None and commit_matches(found, commit),
            f"commit {found} (from {source})"
            if found
            else "no commit property and none in the path",
            f"commit {commit}",
        )
    if max_age_hours is not None:
        if totals.timestamp:
            judge_age(ev, totals.timestamp, "the report's timestamp", max_age_hours, now)
        else:
            judge_age(ev, produced_fallback, "the file's modification time", max_age_hours, now)
    return ev.outcome(
        tests=totals.tests,
        failures=totals.failures,
        errors=totals.errors,
        skipped=totals.skipped,
        failed_tests=list(totals.failed[:50]),
    )


@check(target="file", aliases=("junit_passed",))
def junit_report(
    file: FileTarget,
    *,
    min_tests: int = 1,
    max_skipped: int | None = None,
    max_age_hours: float | None = None,
    commit: str | None = None,
    suite: str | None = None,
) -> Outcome:
    """A JUnit XML test report shows no failures or errors, enough tests, recent, for the commit.

    Any producer's JUnit XML (pytest ``--junitxml``, Maven Surefire, Jest,
    Go's gotestsum, ...): a ``<testsuites>`` or single ``<testsuite>`` root.
    Counts come from the test cases; a suite with totals but no cases counts
    by its attributes. The age is judged from the suites' ``timestamp`` (else
    the file's modification time); the commit from a property (``commit``,
    ``git_commit``, ``GITHUB_SHA``, ...) or a hash in the file's path.

    Args:
        min_tests: the fewest test cases the report must hold (a report of 0 tests proves nothing).
        max_skipped: the most skipped tests allowed; not judged when unset.
        max_age_hours: the oldest acceptable report, in hours; not judged when unset.
        commit: the commit the report must be for (7 to 40 hex digits, prefix matches).
        suite: only test suites whose name matches this glob count (``integration*``), for a
            report that holds several kinds of tests.
    """
    where = f"JUnit report {file.where}"
    totals = junit_totals(parse_xml(file.read_text(), where), where, suite)
    return judge_junit(
        totals,
        min_tests=min_tests,
        max_skipped=max_skipped,
        path=file.path,
        commit=commit,
        max_age_hours=max_age_hours,
        produced_fallback=modified(file) if max_age_hours is not None else None,
        now=_now(),
    )


# --- coverage reports ------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    format: str
    line_percent: float | None
    branch_percent: float | None  # None: branches were not measured
    lines: str
    branches: str


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def coverage_from_xml(root: Element, where: str) -> Coverage:
    if root.tag == "coverage":  # Cobertura: coverage.py, Istanbul, gcovr, pytest-cov, ...
        rate, brate = _float(root.get("line-rate")), _float(root.get("branch-rate"))
        if rate is None:
            raise CheckError(f"{where}: Cobertura report without a line-rate")
        valid = root.get("branches-valid")
        measured = brate is not None and valid not in ("0", None) or (valid is None and brate)
        return Coverage(
            "Cobertura XML",
            rate * 100,
            brate * 100 if measured and brate is not None else None,
            f"{root.get('lines-covered', '?')}/{root.get('lines-valid', '?')}",
            f"{root.get('branches-covered', '?')}/{valid or '?'}",
        )
    if root.tag == "report":  # JaCoCo: totals are the report's own <counter> children
        counters = {c.get("type"): c for c in root.findall("counter")}
        line = counters.get("LINE")
        if line is None:
            raise CheckError(f"{where}: JaCoCo report without a LINE counter")
        branch = counters.get("BRANCH")

        def pct(c: Element) -> tuple[float | None, str]:
            covered, missed = int(c.get("covered", 0)), int(c.get("missed", 0))
            total = covered + missed
            return (covered * 100 / total if total else None), f"{covered}/{total}"

        lp, ls = pct(line)
        bp, bs = pct(branch) if branch is not None else (None, "?")
        return Coverage("JaCoCo XML", lp, bp, ls, bs)
    raise CheckError(f"{where}: not a Cobertura or JaCoCo coverage report (root <{root.tag}>)")


def coverage_from_json(data: Any, where: str) -> Coverage:
    totals = data.get("totals") if isinstance(data, dict) else None
    if not isinstance(totals, dict) or "num_statements" not in totals:
        raise CheckError(f"{where}: not a coverage.py JSON report (no totals)")
    statements, covered = int(totals["num_statements"]), int(totals.get("covered_lines", 0))
    branches = int(totals.get("num_branches", 0))
    measured = bool(data.get("meta", {}).get("branch_coverage")) and branches > 0
    return Coverage(
        "coverage.py JSON",
        covered * 100 / statements if statements else None,
        int(totals.get("covered_branches", 0)) * 100 / branches if measured else None,
        f"{covered}/{statements}",
        f"{totals.get('covered_branches', 0)}/{branches}",
    )


def judge_coverage(cov: Coverage, min_line: float, min_branch: float | None) -> Outcome:
    ev = Evidence()
    line = cov.line_percent or 0.0
    if cov.line_percent is None:
        # A report that measured no line (wrong --source, an empty run) proves nothing.
        ev.add("lines", False, f"no lines measured ({cov.lines})", f">= {min_line:g}%")
    else:
        ev.add(
            "lines", line >= min_line, f"{line:.1f}% of lines ({cov.lines})", f">= {min_line:g}%"
        )
    if min_branch is not None:
        if cov.branch_percent is None:
            ev.add("branches", False, "branch coverage not measured", f">= {min_branch:g}%")
        else:
            ev.add(
                "branches",
                cov.branch_percent >= min_branch,
                f"{cov.branch_percent:.1f}% of branches ({cov.branches})",
                f">= {min_branch:g}%",
            )
    return ev.outcome(
        format=cov.format,
        line_percent=round(line, 2),
        branch_percent=None if cov.branch_percent is None else round(cov.branch_percent, 2),
    )


@check(target="file", aliases=("code_coverage",))
def coverage_report(
    file: FileTarget,
    *,
    min_line: float = 80,
    min_branch: float | None = None,
    max_age_hours: float | None = None,
) -> Outcome:
    """A coverage report's total line (and branch) coverage reaches a threshold.

    Reads Cobertura XML (coverage.py ``coverage xml``, pytest-cov, Istanbul,
    gcovr, ...), JaCoCo XML and coverage.py JSON (``coverage json``), told
    apart by their content. Thresholds are percentages.

    Args:
        min_line: the lowest acceptable line coverage, in percent.
        min_branch: the lowest acceptable branch coverage, in percent; a report
            that did not measure branches fails it.
        max_age_hours: the oldest acceptable report (file modification time), in hours.
    """
    where = f"coverage report {file.where}"
    text = file.read_text()
    if text.lstrip().startswith("{"):
        cov = coverage_from_json(parse_json(text, where), where)
    else:
        cov = coverage_from_xml(parse_xml(text, where), where)
    out = judge_coverage(cov, min_line, min_branch)
    return _with_age(out, file, max_age_hours)


def _with_age(out: Outcome, file: FileTarget, max_age_hours: float | None) -> Outcome:
    """Add a file-age fact to an outcome already judged."""
    if max_age_hours is None:
        return out
    ev = Evidence()
    ev.facts = list(out.details.get("facts", []))
    judge_age(ev, modified(file), "the file's modification time", max_age_hours, _now())
    details = {k: v for k, v in out.details.items() if k != "facts"}
    return ev.outcome(**details)


# --- SARIF -----------------------------------------------------------------------------------


class Level(IntEnum):
    """SARIF result levels, in rising order."""

    NONE = 0
    NOTE = 1
    WARNING = 2
    ERROR = 3


LevelName = Literal["note", "warning", "error"]


@dataclass(frozen=True)
class SarifResult:
    tool: str
    rule: str
    level: Level
    location: str
    security_severity: float | None
    suppressed: bool


def sarif_results(doc: Any, where: str) -> tuple[list[str], list[SarifResult]]:
    """(tools, results) of a SARIF 2.1.0 log; a result's level defaults as the spec says."""
    if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
        raise CheckError(f"{where}: not a SARIF log (no runs)")
    if str(doc.get("version")) != "2.1.0":
        raise CheckError(f"{where}: SARIF version {doc.get('version')!r}; only 2.1.0 is read")
    tools: list[str] = []
    results: list[SarifResult] = []
    for run in doc["runs"]:
        driver = run.get("tool", {}).get("driver", {})
        tool = str(driver.get("name", "?"))
        tools.append(tool)
        rules: dict[str, Mapping[str, Any]] = {}
        for r in driver.get("rules", []) or []:
            if r.get("id"):
                rules[str(r["id"])] = r
        rule_list = list(driver.get("rules", []) or [])
        for res in run.get("results", []) or []:
            rule_id = str(res.get("ruleId") or res.get("rule", {}).get("id") or "")
            rule = rules.get(rule_id)
            index = res.get("ruleIndex", res.get("rule", {}).get("index"))
            if rule is None and isinstance(index, int) and 0 <= index < len(rule_list):
                rule = rule_list[index]
            rule = rule or {}
            level_text = res.get("level") or rule.get("defaultConfiguration", {}).get("level")
            if not level_text:
                level_text = "warning" if res.get("kind", "fail") == "fail" else "none"
            level = (
                Level[level_text.upper()]
                if level_text.upper() in Level.__members__
                else Level.WARNING
            )
            props = {**(rule.get("properties") or {}), **(res.get("properties") or {})}
            sev = _float(props.get("security-severity"))
            loc = (
                res.get("locations", [{}])[0].get("physicalLocation", {})
                if res.get("locations")
                else {}
            )
            uri = str(loc.get("artifactLocation", {}).get("uri", ""))
            line = loc.get("region", {}).get("startLine")
            suppressed = any(
                s.get("status", "accepted") == "accepted" for s in res.get("suppressions") or []
            )
            results.append(
                SarifResult(
                    tool,
                    rule_id,
                    level,
                    f"{uri.rsplit('/', 1)[-1]}:{line}" if uri else "",
                    sev,
                    suppressed,
                )
            )
    return tools, results


def judge_sarif(
    tools: list[str], results: list[SarifResult], level: Level, required: list[str]
) -> Outcome:
    ev = Evidence()
    per_tool: dict[str, int] = {}
    for tool in tools:
        bad = [r for r in results if r.tool == tool and not r.suppressed and r.level >= level]
        per_tool[tool] = len(bad)
        sample = ", ".join(f"{r.rule} {r.location}".strip() for r in bad[:5])
        ev.add(
            tool,
            not bad,
            f"{len(bad)} result(s) at level {level.name.lower()} or above"
            + (f" ({sample}{', ...' if len(bad) > 5 else ''})" if bad else ""),
            f"none at level {level.name.lower()} or above",
        )
    for name in required:
        present = any(t.lower() == name.lower() for t in tools)
        if not present:
            ev.add(
                name,
                False,
                f"no run of {name} in the report (tools: {', '.join(tools) or 'none'})",
                f"a run of {name}",
            )
    if not tools:
        ev.add("runs", False, "the log holds no runs", "at least one tool's run")
    return ev.outcome(
        tools=tools, counted=per_tool, suppressed=sum(1 for r in results if r.suppressed)
    )


@check(target="file", aliases=("lint_report",))
def sarif_clean(
    file: FileTarget,
    *,
    level: LevelName = "error",
    tools: list[str] = [],  # noqa: B006 - never mutated
    max_age_hours: float | None = None,
) -> Outcome:
    """A SARIF 2.1.0 static-analysis log has no result at or above a level, for each tool.

    Any analyser's SARIF (ruff ``--output-format sarif``, ESLint, Semgrep,
    CodeQL, Bandit, ...). A result's level is its own, else its rule's
    default, else ``warning`` (as SARIF defines it). Suppressed results
    (an accepted suppression) do not count.

    Args:
        level: the lowest level that fails (note, warning, error).
        tools: tools that must have a run in the log (``ruff,semgrep``), comma separated.
        max_age_hours: the oldest acceptable log (file modification time), in hours.
    """
    where = f"SARIF log {file.where}"
    tools_seen, results = sarif_results(parse_json(file.read_text(), where), where)
    return _with_age(
        judge_sarif(tools_seen, results, Level[level.upper()], list(tools)), file, max_age_hours
    )


# --- vulnerability reports ----------------------------------------------------------------


class Severity(IntEnum):
    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


SeverityName = Literal["low", "medium", "high", "critical"]
_SEVERITY_WORDS = {
    "negligible": Severity.LOW,
    "info": Severity.LOW,
    "low": Severity.LOW,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}


def severity_of(text: Any) -> Severity:
    return _SEVERITY_WORDS.get(str(text or "").strip().lower(), Severity.UNKNOWN)


def cvss_severity(score: float) -> Severity:
    """CVSS v3 qualitative rating of a score (as GitHub reads SARIF security-severity)."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW if score > 0 else Severity.UNKNOWN


@dataclass(frozen=True)
class Finding:
    ids: tuple[str, ...]  # the advisory's id first, then aliases (CVE, GHSA, ...)
    package: str
    severity: Severity

    @property
    def id(self) -> str:
        return self.ids[0] if self.ids else "?"


def findings(doc: Any, where: str) -> tuple[str, list[Finding]]:
    """(format, findings) of a vulnerability report, told apart by its shape."""
    if isinstance(doc, dict) and "runs" in doc and "version" in doc:
        _, results = sarif_results(doc, where)
        out = []
        for r in results:
            if r.suppressed:
                continue
            if r.security_severity is not None:
                sev = cvss_severity(r.security_severity)
            else:
                sev = {Level.ERROR: Severity.HIGH, Level.WARNING: Severity.MEDIUM}.get(
                    r.level, Severity.LOW
                )
            out.append(Finding((r.rule,), r.location, sev))
        return "SARIF", out
    if (
        isinstance(doc, dict)
        and "Results" in doc
        and ("SchemaVersion" in doc or "ArtifactName" in doc)
    ):
        out = [
            Finding(
                tuple(x for x in (v.get("VulnerabilityID"),) if x),
                f"{v.get('PkgName', '?')} {v.get('InstalledVersion', '')}".strip(),
                severity_of(v.get("Severity")),
            )
            for res in doc.get("Results") or []
            for v in res.get("Vulnerabilities") or []
        ]
        return "Trivy JSON", out
    if isinstance(doc, dict) and isinstance(doc.get("matches"), list):
        out = []
        for m in doc["matches"]:
            vuln = m.get("vulnerability", {})
            related = [r.get("id") for r in m.get("relatedVulnerabilities") or [] if r.get("id")]
            art = m.get("artifact", {})
            out.append(
                Finding(
                    tuple(x for x in (vuln.get("id"), *related) if x),
                    f"{art.get('name', '?')} {art.get('version', '')}".strip(),
                    severity_of(vuln.get("severity")),
                )
            )
        return "Grype JSON", out
    if isinstance(doc, dict) and isinstance(
        doc.get("vulnerabilities"), dict
    ):  # npm audit v2 (npm >= 7)
        out = []
        for name, vuln in doc["vulnerabilities"].items():
            advisories = [v for v in vuln.get("via", []) if isinstance(v, dict)]
            if not advisories:
                continue  # vulnerable only through another package, which has its own entry
            for adv in advisories:
                ghsa = re.findall(r"GHSA(?:-[0-9a-z]{4}){3}", str(adv.get("url", "")))
                ids = tuple(x for x in (*ghsa, str(adv.get("source", "")) or None) if x)
                out.append(
                    Finding(ids, name, severity_of(adv.get("severity") or vuln.get("severity")))
                )
        return "npm audit JSON", out
    if isinstance(doc, dict) and isinstance(doc.get("advisories"), dict):  # npm audit v1 (npm 6)
        out = [
            Finding(
                tuple(
                    x
                    for x in (adv.get("github_advisory_id"), *(adv.get("cves") or []), str(key))
                    if x
                ),
                str(adv.get("module_name", "?")),
                severity_of(adv.get("severity")),
            )
            for key, adv in doc["advisories"].items()
        ]
        return "npm audit JSON (v1)", out
    deps = (
        doc.get("dependencies") if isinstance(doc, dict) else doc if isinstance(doc, list) else None
    )
    if isinstance(deps, list) and all(isinstance(d, dict) and "name" in d for d in deps):
        # pip-audit's JSON carries no severity: every finding is of unknown severity.
        out = [
            Finding(
                tuple(x for x in (v.get("id"), *(v.get("aliases") or [])) if x),
                f"{d['name']} {d.get('version', '')}".strip(),
                severity_of(v.get("severity")),
            )
            for d in deps
            for v in d.get("vulns") or []
        ]
        return "pip-audit JSON", out
    raise CheckError(
        f"{where}: not a vulnerability report this check reads "
        "(SARIF, pip-audit, npm audit, Trivy or Grype JSON)"
    )


def scanned_count(doc: Any) -> int | None:
    """How many packages or targets a report says it scanned; None when its format does not say."""
    if not isinstance(doc, (dict, list)):
        return None
    if isinstance(doc, list):  # pip-audit's older top-level list
        return len(doc)
    if "runs" in doc and "version" in doc:
        return len(doc.get("runs") or [])
    if "Results" in doc:
        return len(doc.get("Results") or [])
    if isinstance(doc.get("matches"), list):
        return 1 if doc.get("source") else None
    meta = doc.get("metadata")
    if isinstance(meta, dict):
        deps = meta.get("dependencies")
        if isinstance(deps, dict) and "total" in deps:
            return int(deps["total"])
        if "totalDependencies" in meta:
            return int(meta["totalDependencies"])
    if isinstance(doc.get("dependencies"), list):
        return len(doc["dependencies"])
    return None


@dataclass(frozen=True)
class Allowance:
    id: str
    expires: dt.date


def parse_allowances(entries: Iterable[str], where: str) -> list[Allowance]:
    """``ID:YYYY-MM-DD`` entries; as for waivers, an entry without an expiry is refused."""
    out = []
    for entry in entries:
        ident, sep, date = entry.strip().rpartition(":")
        if not sep or not ident:
            raise CheckError(
                f"{where}: allowed entry '{entry}' has no expiry; write ID:YYYY-MM-DD "
                "(every allowance must end, as every waiver does)"
            )
        try:
            out.append(Allowance(ident.strip(), dt.date.fromisoformat(date.strip())))
        except ValueError:
            raise CheckError(
                f"{where}: allowed entry '{entry}': '{date}' is not a date (YYYY-MM-DD)"
            ) from None
    return out


def judge_vulnerabilities(
    fmt: str,
    found: Sequence[Finding],
    severity: Severity,
    allow: Sequence[Allowance],
    today: dt.date,
    scanned: int | None = None,
) -> Outcome:
    """No finding at or above ``severity`` (unknown severity counts) unless allowed, unexpired.

    ``scanned`` is how many packages or targets the report says were scanned (None when
    the format does not say); a report that scanned nothing fails: it proves nothing.
    """
    counted, allowed, expired_used = [], [], []
    for f in found:
        if f.severity != Severity.UNKNOWN and f.severity < severity:
            continue
        match = next((a for a in allow if any(a.id.lower() == i.lower() for i in f.ids)), None)
        if match and match.expires >= today:
            allowed.append(f"{f.id} until {match.expires}")
            continue
        if match:
            expired_used.append(f"{match.id} (allowance expired {match.expires})")
        counted.append(f)
    sev_name = severity.name.lower()
    shown = "; ".join(f"{f.id} {f.severity.name.lower()} in {f.package}" for f in counted[:8])
    observed = (
        f"{len(counted)} finding(s) at {sev_name} or above: {shown}"
        if counted
        else f"{len(found)} finding(s), none at {sev_name} or above unallowed"
    )
    if allowed:
        observed += f"; allowed: {', '.join(allowed)}"
    if expired_used:
        observed += f"; expired: {', '.join(expired_used)}"
    unknown = sum(1 for f in counted if f.severity == Severity.UNKNOWN)
    if unknown:
        observed += f" ({unknown} of unknown severity count: the report does not rate them)"
    if scanned == 0:
        observed = f"the report scanned nothing (0 packages or targets); {observed}"
    return Outcome.of(
        not counted and scanned != 0,
        observed,
        f"no {sev_name} or higher finding in the {fmt} report",
        format=fmt,
        findings=len(found),
        counted=[f.id for f in counted],
        allowed=allowed,
        expired_allowances=expired_used,
        scanned=scanned,
    )


@check(target="file", aliases=("vulnerability_scan",))
def vulnerability_report(
    file: FileTarget,
    *,
    severity: SeverityName = "critical",
    allow: list[str] = [],  # noqa: B006 - never mutated
    max_age_hours: float | None = None,
) -> Outcome:
    """A vulnerability scan report has no finding at or above a severity, except allowed ones.

    Reads SARIF (any scanner; CVSS ``security-severity`` where given, else
    error = high, warning = medium), pip-audit JSON, npm audit JSON (npm 6
    and 7+), Trivy JSON and Grype JSON, told apart by their content. A
    finding of unknown severity (pip-audit rates none) counts, since it
    cannot be shown to be below the threshold. IDs match the advisory or any
    alias (CVE, GHSA, PYSEC).

    Args:
        severity: the lowest severity that fails (low, medium, high, critical).
        allow: accepted findings as ``ID:YYYY-MM-DD`` (the last day the acceptance holds),
            comma separated; an entry without a date is refused, an expired one no longer counts.
        max_age_hours: the oldest acceptable report (file modification time), in hours:
            a scan that stopped running is not a scan.
    """
    where = f"vulnerability report {file.where}"
    allowances = parse_allowances(allow, where)
    doc = parse_json(file.read_text(), where)
    fmt, found = findings(doc, where)
    out = judge_vulnerabilities(
        fmt, found, Severity[severity.upper()], allowances, Clock().today(), scanned_count(doc)
    )
    if max_age_hours is not None:
        ev = Evidence()
        ev.add("findings", out.ok, out.observed, out.expected)
        judge_age(ev, modified(file), "the file's modification time", max_age_hours, _now())
        return ev.outcome(**out.details)
    return out


# --- import rules ---------------------------------------------------------------------------


@proposes("junit_report")
def _tests_passing(line: Line) -> Proposal | None:
    t = line.lower
    # Test suites, not "a test transaction" or "tested manually".
    pipeline = re.search(r"\b(ci|pipeline)\b.{0,30}\b(green|pass(ing|ed|es)?|succe\w*)\b", t)
    if not pipeline and not re.search(
        r"\btests\b|\btest (suites?|runs?)\b|"
        r"\b(unit|integration|e2e|end-to-end|acceptance|regression|smoke|contract|performance|"
        r"load) tests?\b",
        t,
    ):
        return None
    if not re.search(r"\b(pass(ing|ed|es)?|green|no fail\w*|succe\w*)\b", t) or re.search(
        r"\b(stress|pen\w*|manual\w*)\b", t
    ):
        return None
    params = {"min_tests": "1"}
    guessed: tuple[str, ...] = ("on=<the file target of the JUnit XML report>",)
    if re.search(r"\b(release|this|the deployed|current) commit\b|\bon the commit\b", t):
        params["commit"] = "${git_commit}"  # the report must be of what is released
        guessed += ("commit=${git_commit}",)
    # A load or performance tool's JUnit output (k6, Locust, JMeter plugins) says pass or
    # fail per threshold; whether it was written as JUnit is the team's: less sure.
    perf = re.search(r"\b(load|performance)\b", t)
    return Proposal(
        [("junit_report", params)],
        0.6 if perf else 0.75,
        "the pipeline's test report shows no failures"
        + (" (a JUnit report of the load tests)" if perf else ""),
        guessed,
        # "passed at 2x peak": under which load is for a person to confirm
        attest=bool(perf and re.search(r"\d", t)),
    )


@proposes("coverage_report")
def _coverage(line: Line) -> Proposal | None:
    t = line.lower
    if not re.search(r"\bcoverage\b", t) or re.search(r"\b(insurance|dns|geo\w*)\b", t):
        return None
    m = re.search(r"(\d+(?:\.\d+)?)\s*%", t)
    value = m.group(1) if m else "80"
    guessed = () if m else ("min_line=80",)
    return Proposal(
        [("coverage_report", {"min_line": value})], 0.8, f"coverage >= {value}%", guessed
    )


@proposes("vulnerability_report")
def _vulnerabilities(line: Line) -> Proposal | None:
    t = line.lower
    if not re.search(
        r"\b(vulnerabilit\w*|cves?|security scan\w*|dependency (scan|audit)\w*|"
        r"(npm|pip|yarn)[- ]audit|trivy|grype|snyk|dependabot)\b",
        t,
    ):
        return None
    # The lowest severity named is the threshold: "no high or critical CVEs" means high.
    named = [s for s in ("low", "medium", "high", "critical") if re.search(rf"\b{s}\b", t)]
    # "No vulnerable dependencies" with no severity named means none at all.
    none_at_all = re.search(r"\b(no|zero|without)\s+(known\s+)?vulnerab", t)
    sev = named[0] if named else ("low" if none_at_all else "critical")
    params: dict[str, str] = {"severity": sev}
    if re.search(r"\b(enabled|running|in place|configured|set ?up|scheduled)\b", t):
        params["max_age_hours"] = "168"
    return Proposal(
        [("vulnerability_report", params)],
        0.75,
        f"no {sev} finding in the scan report",
        ("on=<the file target of the scanner's JSON or SARIF report>",),
    )


@proposes("sarif_clean")
def _lint(line: Line) -> Proposal | None:
    t = line.lower
    if not re.search(
        r"\b(lint\w*|static analysis|code quality|sast|formatt\w*|code style|style checks?|"
        r"pep ?8|coding (standards?|conventions?|style)|style guide)\b", t
    ):
        return None
    if re.search(r"\bsecurity scan", t):
        return None
    # "No linter errors or warnings": warnings fail too.
    level = "warning" if re.search(r"\bwarnings?\b", t) else "error"
    return Proposal(
        [("sarif_clean", {"level": level})],
        0.7,
        f"the linter's SARIF log has nothing at level {level}",
        ("on=<the file target of the linter's SARIF log>",),
    )
