"""Custom checks written as plain pytest tests: which count, their time limit, their evidence.

A test is a checklist line when it is marked with a section marker
(``@pytest.mark.security``) or ``@pytest.mark.golive``, or uses one of the
golive fixtures. Under ``--golive`` every other test is *deselected* (pytest
counts it as "deselected" and the summary says how many): a readiness run's
exit code is the release gate, so it must mean GO or NO-GO and nothing else,
and a unit test has no target and no evidence an approver could judge. Unit
tests run as ever without ``--golive``.

A test that counts runs under the run's one time limit
(``settings.check_timeout``, :mod:`pytest_golive.engine.bounded`): past it,
the test ends as an *error* ("did not finish within 5s") and the run goes on.
Its evidence comes from :class:`TestEvidence` (the ``golive_evidence``
fixture), from an :class:`Outcome` it returns, from
:func:`pytest_golive.run_check`, or from its assertion message.
"""

from __future__ import annotations

import inspect
import threading
import warnings
from typing import Any

import pytest

from pytest_golive.checklist.model import CANONICAL_SECTIONS, Item, marker_name
from pytest_golive.core.outcome import CheckError, Outcome
from pytest_golive.core.text import section_title_of
from pytest_golive.engine.bounded import Overdue, call_bounded
from pytest_golive.integration import session as gsession

#: Fixtures that make a test a checklist line by themselves.
GOLIVE_FIXTURES = ("golive_host", "golive_endpoint", "golive_db", "golive_env", "golive_target",
                   "golive_evidence")

EVIDENCE_KEY = pytest.StashKey["TestEvidence"]()


class TestTimedOut(Exception):
    """A test that did not finish within ``settings.check_timeout``; the message says so."""

    __test__ = False


class OutcomeFailed(AssertionError):
    """A test's evidence says it failed (a failed fact, a failed :class:`Outcome`)."""


class OutcomeError(Exception):
    """A test's :class:`Outcome` says it could not check."""


class TestEvidence:
    """What a custom test observed and expected, for the reports (``golive_evidence``).

    ::

        def test_no_null_emails(golive_db, golive_evidence):
            nulls = count_nulls(golive_db)
            golive_evidence.observed(f"{nulls} users without an email")
            golive_evidence.expected("none")
            assert nulls == 0

    ``fact(label, ok, observed, expected)`` records one property of several;
    a fact that is not ok fails the test when it ends, with every fact as evidence.
    """

    __test__ = False

    def __init__(self) -> None:
        self._observed: str = ""
        self._expected: str = ""
        self.facts: list[dict[str, Any]] = []
        self.details: dict[str, Any] = {}
        #: Catalog checks this test ran (:func:`run_check`), with their outcomes.
        self.checks: list[tuple[str, Outcome]] = []
        self._outcome_words: tuple[str, str] | None = None

    def __repr__(self) -> str:
        observed, expected = self.words()
        return f"golive_evidence(observed={observed!r}, expected={expected!r})"

    def observed(self, text: object) -> None:
        self._observed = str(text)

    def expected(self, text: object) -> None:
        self._expected = str(text)

    def fact(self, label: str, ok: bool, observed: object, expected: object) -> bool:
        self.facts.append({"fact": label, "ok": bool(ok), "observed": str(observed),
                           "expected": str(expected)})
        return bool(ok)

    def detail(self, key: str, value: Any) -> None:
        self.details[key] = value

    def record(self, outcome: Outcome, check: str = "") -> None:
        """Take a check's outcome as (part of) this test's evidence.

        One outcome is the test's evidence as it is; several (a test that
        runs several catalog checks) are shown one fact per check.
        """
        if check:
            self.checks.append((check, outcome))
            if len(self.checks) > 1:
                self.details["checks"] = [{"check": name, **o.to_dict()} for name, o in self.checks]
                return
        self._outcome_words = (outcome.observed, outcome.expected)
        self.details.update(outcome.details)

    def failing(self) -> list[dict[str, Any]]:
        return [f for f in self.facts if not f["ok"]]

    def words(self) -> tuple[str, str]:
        """(observed, expected) in words: the facts that fail first, else all of them."""
        if len(self.checks) > 1 and not self.facts:
            bad = [(n, o) for n, o in self.checks if not o.ok] or self.checks
            return (self._observed or "; ".join(f"{n}: {o.observed}" for n, o in bad),
                    self._expected or "; ".join(f"{n}: {o.expected}" for n, o in bad))
        if self._outcome_words is not None and not self.facts:
            return (self._observed or self._outcome_words[0],
                    self._expected or self._outcome_words[1])
        if self.facts:
            shown = self.failing() or self.facts
            observed = "; ".join(f"{f['fact']}: {f['observed']}" for f in shown)
            expected = "; ".join(f"{f['fact']}: {f['expected']}" for f in shown)
            return (self._observed or observed, self._expected or expected)
        return self._observed, self._expected


# --- which tests count --------------------------------------------------------------------


def section_marker(item: pytest.Item) -> pytest.Mark | None:
    for mark in item.iter_markers():
        if mark.name in CANONICAL_SECTIONS or mark.name == "golive":
            return mark
    return None


def marker_option(node: Any, key: str) -> Any:
    for mark in node.iter_markers():
        if (mark.name in CANONICAL_SECTIONS or mark.name == "golive") and key in mark.kwargs:
            return mark.kwargs[key]
    return None


def counts(item: pytest.Item) -> bool:
    """Whether a Python test is a checklist line (see the module docstring)."""
    if section_marker(item) is not None:
        return True
    names = getattr(item, "fixturenames", ())
    return any(name in names for name in GOLIVE_FIXTURES)


def item_model(item: pytest.Item) -> tuple[Item, str | None]:
    """The checklist line a Python test stands for, and its target name."""
    mark = section_marker(item)
    section = mark.kwargs.get("section", mark.name) if mark else "tests"
    if mark and mark.name == "golive" and "section" not in mark.kwargs:
        section = "tests"
    # a marker's name is not a heading: "security" is shown as "Security" (until a
    # checklist heading of the same section is seen); section="..." is shown as written
    title = section if mark and "section" in mark.kwargs else section_title_of(section)
    explicit = mark.kwargs.get("id") if mark else None
    params = getattr(getattr(item, "callspec", None), "params", {})
    target = next((p.name for p in params.values() if hasattr(p, "kind") and hasattr(p, "name")),
                  None)
    base_name = getattr(item, "originalname", item.name)
    model = Item(
        id=f"{marker_name(section)}/{explicit or base_name}",
        section=marker_name(section), section_title=title, title=_doc_title(item) or base_name,
        severity=(mark.kwargs.get("severity", "blocker") if mark else "blocker"),
        source=str(item.path), line=(item.reportinfo()[1] or 0) + 1,
    )
    return model, target


def _doc_title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


# --- running one test ---------------------------------------------------------------------

_CURRENT = threading.local()


def current_evidence() -> TestEvidence | None:
    """The evidence of the test running now (on its own thread or pytest's)."""
    return getattr(_CURRENT, "evidence", None) or _MAIN.get("evidence")


#: The evidence of the test pytest is running, for code on threads the test started.
_MAIN: dict[str, TestEvidence] = {}
#: The readiness run of the test running now (for :func:`run_check`).
_SESSION: dict[str, gsession.GoliveSession] = {}


def evidence_of(item: pytest.Item) -> TestEvidence:
    evidence = item.stash.get(EVIDENCE_KEY, None)
    if evidence is None:
        evidence = item.stash[EVIDENCE_KEY] = TestEvidence()
    return evidence


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a test that counts under the time limit; take an :class:`Outcome` it returns."""
    gs = gsession.get(pyfuncitem.config)
    func = pyfuncitem.obj
    if gs is None or not counts(pyfuncitem) or inspect.iscoroutinefunction(func):
        return None
    parameters = inspect.signature(func).parameters
    funcargs = pyfuncitem.funcargs
    kwargs = {name: funcargs[name] for name in parameters if name in funcargs}
    evidence = evidence_of(pyfuncitem)

    def call() -> Any:
        _CURRENT.evidence = evidence
        try:
            return func(**kwargs)
        finally:
            _CURRENT.evidence = None

    _MAIN["evidence"] = evidence
    _SESSION["gs"] = gs
    try:
        result = call_bounded(call, gs.engine.limit, f"test {pyfuncitem.name}", name="golive-test")
    except Overdue as exc:
        raise TestTimedOut(str(exc)) from None
    finally:
        _MAIN.pop("evidence", None)
        _SESSION.pop("gs", None)
    if isinstance(result, Outcome):
        evidence.record(result)
        _raise_for(result)
    elif result is not None:
        warnings.warn(pytest.PytestReturnNotNoneWarning(
            f"{pyfuncitem.nodeid} returned {type(result).__name__}: a golive test says what it "
            "saw with golive_evidence or by returning an Outcome"), stacklevel=1)
    failing = evidence.failing()
    if failing:
        observed, expected = evidence.words()
        raise OutcomeFailed(f"observed {observed}\nexpected {expected}")
    return True


def _raise_for(outcome: Outcome) -> None:
    if outcome.status == "failed":
        text = f"observed {outcome.observed}"
        raise OutcomeFailed(text + (f"\nexpected {outcome.expected}" if outcome.expected else ""))
    if outcome.status == "error":
        raise OutcomeError(outcome.observed)
    if outcome.status == "skipped":
        # Reported at the test, not at the plugin frame that raised it (-rs names the line).
        raise pytest.skip.Exception(f"not applicable: {outcome.observed}",
                                    _use_item_location=True)


#: Exceptions whose message is the whole story: shown as one line, no traceback.
PLAIN_ERRORS: tuple[type[BaseException], ...] = (TestTimedOut, OutcomeFailed, OutcomeError,
                                                 CheckError)


def observed_status(call: pytest.CallInfo[None], report: pytest.TestReport) -> str:
    """passed, failed, error or skipped: a test *fails* only on an assertion.

    Anything else raised (a ``KeyError``, a timeout, a TLS error, a target
    that cannot be reached) means the test could not check: an error.
    """
    if report.skipped and not hasattr(report, "wasxfail"):
        return "skipped"
    if not report.failed:
        return "passed"
    if call.when != "call":
        return "error"
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance((AssertionError, pytest.fail.Exception)):
        return "failed"
    return "error"


def evidence_words(item: pytest.Item, call: pytest.CallInfo[None],
                   report: pytest.TestReport) -> tuple[str, str, dict[str, Any]]:
    """(observed, expected, details) of a test: its own evidence first.

    A failed assertion's message is what was observed; pytest's
    introspection ("assert 2 == 0", the values compared) goes to details.
    """
    evidence = item.stash.get(EVIDENCE_KEY, None)
    observed, expected = evidence.words() if evidence else ("", "")
    details: dict[str, Any] = dict(evidence.details) if evidence else {}
    if evidence and evidence.facts:
        details["facts"] = evidence.facts
    if report.failed:
        message, introspection = _failure_text(call, report)
        if introspection:
            details["assertion"] = introspection
        if isinstance(getattr(call.excinfo, "value", None), (OutcomeFailed, OutcomeError)):
            message = ""  # the evidence already says it
        if call.when != "call":
            observed = f"{call.when} failed: {message or observed}"
        elif message and (not observed or not _only_introspection(message)):
            observed = message
        elif not observed:
            observed = introspection or "test failed"
    elif report.skipped and isinstance(report.longrepr, tuple):
        observed = observed or str(report.longrepr[2])
    elif not observed:
        observed = "test passed (it recorded no evidence: use golive_evidence)"
    return observed, expected, details


def _only_introspection(message: str) -> bool:
    return message.startswith("assert ")


def _failure_text(call: pytest.CallInfo[None], report: pytest.TestReport) -> tuple[str, str]:
    """(the message, pytest's assertion introspection) of a failed test."""
    excinfo = call.excinfo
    if excinfo is not None and excinfo.errisinstance(AssertionError):
        text = str(excinfo.value)
        head, sep, rest = text.partition("\nassert ")
        if sep:
            return " ".join(head.split())[:500], ("assert " + rest).strip()[:2000]
        if text.startswith("assert "):
            return text.splitlines()[0][:500], text.strip()[:2000]
        return " ".join(text.split())[:500], ""
    if excinfo is not None and excinfo.errisinstance(pytest.fail.Exception):
        # pytest.fail's own words, without the "Failed: " pytest puts before them.
        return " ".join(str(excinfo.value).split())[:500], ""
    if excinfo is not None:
        value = excinfo.value
        if isinstance(value, PLAIN_ERRORS):
            return " ".join(str(value).split())[:500], ""
        return f"{type(value).__name__}: {' '.join(str(value).split())[:400]}", ""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return " ".join(str(crash.message).split())[:500], ""
    return " ".join(str(report.longrepr).strip().splitlines()[-1:])[:500], ""


def plain_longrepr(call: pytest.CallInfo[None]) -> str | None:
    """One line instead of a traceback, for errors whose message says everything."""
    excinfo = call.excinfo
    if excinfo is not None and isinstance(excinfo.value, PLAIN_ERRORS):
        return str(excinfo.value)
    return None


def without_plugin_frames(call: pytest.CallInfo[None]) -> None:
    """Drop this plugin's own frames from a test's traceback: the author's code is what matters."""
    excinfo = call.excinfo
    if excinfo is None:
        return
    import pytest_golive

    root = str(pytest_golive.__file__).rsplit("/", 1)[0]
    kept = excinfo.traceback.filter(lambda entry: not str(entry.path).startswith(root))
    if len(kept):
        excinfo.traceback = kept


@pytest.fixture
def golive_evidence(request: pytest.FixtureRequest) -> TestEvidence:
    """Say what a custom check observed and expected; it shows in every report."""
    return evidence_of(request.node)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    gs = gsession.get(config)
    if gs is not None and gs.plain_tests and not hasattr(config, "workerinput"):
        terminalreporter.write_line(
            f"golive: {gs.plain_tests} test(s) deselected: not checklist lines (no section "
            "marker, no golive fixture); run them without --golive", yellow=True)


# --- a catalog check from a test ----------------------------------------------------------


def run_check(name: str, target: Any = None, /, **params: Any) -> Outcome:
    """Run the catalog check ``name`` on ``target`` from a golive test; its outcome.

    ``target`` is a fixture value (``golive_host``, ``golive_endpoint``,
    ``golive_db``), a handle from ``golive_target(...)``, a target's name, or
    nothing for a check that needs no target. Parameters are validated as in a
    checklist; the check runs under ``settings.check_timeout``; its evidence
    becomes the test's. A failed outcome fails the test, an error makes it an
    error, a check that does not apply skips it::

        @pytest.mark.monitoring
        def test_health(golive_endpoint):
            pytest_golive.run_check("http_status", golive_endpoint, path="/health")
    """
    from pytest_golive.checks.registry import REGISTRY, CheckDefinitionError
    from pytest_golive.checks.rules import validate_params
    from pytest_golive.engine.evaluate import Job
    from pytest_golive.integration.fixtures import target_of

    gs = _SESSION.get("gs")
    if gs is None:
        raise CheckError(f"run_check('{name}'): only inside a test of a readiness run "
                         "(pytest --golive=ENV, a test marked with a section marker or golive)")
    try:
        chk = REGISTRY.get(name)
    except KeyError as exc:
        raise CheckError(f"run_check: {exc.args[0]}") from None
    try:
        validated = validate_params(chk, params)
    except CheckDefinitionError as exc:
        raise CheckError(f"run_check('{name}'): {exc}") from None
    spec = None
    if isinstance(target, str):
        spec = gs.env.target(target)
        members = [t.name for t in gs.env.targets if target in t.groups]
        if spec is None and members:
            # one outcome cannot stand for several targets: say how to run it on each
            raise CheckError(f"run_check('{name}'): '{target}' is a group of {len(members)} "
                             f"target(s) ({', '.join(members)}); run_check takes one target: "
                             f"pass the target's fixture and mark the test on='{target}' "
                             "to run it on each")
        if spec is None:
            known = ", ".join(t.name for t in gs.env.targets) or "none"
            raise CheckError(f"run_check('{name}'): no target '{target}' in environment "
                             f"'{gs.env.name}' (known: {known})")
    elif target is not None:
        spec = target_of(target)
        if spec is None:
            raise CheckError(f"run_check('{name}'): {type(target).__name__} is not a golive "
                             "target: pass a golive fixture, a golive_target(...) handle or a "
                             "target's name")
    if chk.target == "none":
        spec = None
    elif spec is None:
        raise CheckError(f"run_check('{name}'): check {name} needs a {chk.target} target")
    elif spec.kind != chk.target:
        raise CheckError(f"run_check('{name}'): check {name} runs on {chk.target} targets; "
                         f"'{spec.name}' is a {spec.kind}")
    outcome = gs.engine.run(Job(key=f"run_check:{name}", check=chk, spec=spec, params=validated))
    evidence = current_evidence()
    if evidence is not None:
        evidence.record(outcome, name)
    _raise_for(outcome)
    return outcome
