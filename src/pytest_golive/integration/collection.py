"""Checklist lines as pytest items: one item per (line x target it applies to).

Every line is validated when it is collected (check name, parameters,
target selector, variables), so a typo in a checklist fails before any
target is touched, with the file, the line and the nearest valid names.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.checklist import ChecklistError, Item, read_checklist
from pytest_golive.checklist.model import CANONICAL_SECTIONS
from pytest_golive.checks.registry import REGISTRY, Check, CheckDefinitionError
from pytest_golive.checks.rules import validate_params
from pytest_golive.core import variables as references
from pytest_golive.core.config import OtherEnvironment, TargetSpec
from pytest_golive.core.item_result import ItemResult
from pytest_golive.core.outcome import Outcome, combine
from pytest_golive.core.secrets import Secret, mask
from pytest_golive.engine.evaluate import Job
from pytest_golive.engine.record import item_result
from pytest_golive.integration import session as gsession


class GoliveCheckFailed(Exception):
    """Raised by a checklist item whose check failed or could not run."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class ChecklistFile(pytest.File):
    """A checklist document named by the environment (Markdown or YAML)."""

    def collect(self) -> Iterator[pytest.Item]:
        gs = gsession.get(self.config)
        assert gs is not None
        try:
            items = read_checklist(self.path)
        except ChecklistError as exc:
            raise self.CollectError(str(exc)) from None
        errors: list[str] = []
        nodes: list[pytest.Item] = []
        for item in items:
            if item.group:
                gs.results.groups.append(
                    {
                        "id": item.id,
                        "title": item.title,
                        "section": item.section,
                        "source": item.source,
                        "line": item.line,
                    }
                )
                if item.manual:
                    continue  # a heading line for its children, not a test of its own
            try:
                nodes.extend(self._items_for(gs, item))
            except CheckDefinitionError as exc:
                errors.append(f"{item.location}: {exc}")
        if errors:
            raise self.CollectError("\n".join(errors))
        yield from nodes

    def _items_for(self, gs: gsession.GoliveSession, item: Item) -> list[GoliveItem]:
        """One item per target a line applies to; its checks are grouped by target kind.

        Every check of the line is validated here. A selector that names only
        targets of another environment makes the line skipped in this one; a
        parameter whose ``${variable}`` is set nowhere makes it "not configured"
        (reported when it runs, blocking), never a stop of the whole run.
        """
        for marker in item.markers:
            _register_marker(self.config, marker, item.section_title)
        if item.manual:
            return [
                GoliveItem.from_parent(
                    self, name=item.id, item=item, chk=None, params={}, spec=None
                )
            ]
        by_kind: dict[str, list[tuple[Check, dict[str, Any]]]] = {}
        unset: list[str] = []
        for binding in item.bindings:
            try:
                chk = REGISTRY.get(binding.check)
            except KeyError as exc:
                raise CheckDefinitionError(str(exc.args[0])) from None
            raw, missing = _substitute(binding.params, gs.env.vars)
            unset += [m for m in missing if m not in unset]
            params = validate_params(chk, raw)
            if chk.target == "none":
                # Checks of the project itself (a git tree, a local file) read paths
                # relative to the configuration, not to wherever pytest was started.
                path = params.get("path")
                if isinstance(path, str) and not Path(path).is_absolute() and "${" not in path:
                    params["path"] = str((gs.env.root / path).resolve())
            by_kind.setdefault(chk.target, []).append((chk, params))
        preset = _not_configured(gs, unset) if unset else None
        nodes: list[GoliveItem] = []
        for kind, checks in by_kind.items():
            (chk, params), extra = checks[0], checks[1:]

            def node(name: str, spec: TargetSpec | None, ready: Outcome | None = preset,
                     chk: Check = chk, params: dict[str, Any] = params,
                     extra: list[tuple[Check, dict[str, Any]]] = extra) -> GoliveItem:
                return GoliveItem.from_parent(self, name=name, item=item, chk=chk, params=params,
                                              spec=spec, extra=extra, preset=ready)

            if kind == "none":
                nodes.append(node(item.id, None))
                continue
            try:
                specs = gs.env.select(kind, item.targets)
            except OtherEnvironment as exc:
                nodes.append(
                    node(f"{item.id}[no-{kind}]", None, Outcome.not_applicable(str(exc.args[0])))
                )
                continue
            except KeyError as exc:
                raise CheckDefinitionError(str(exc.args[0])) from None
            if not specs:
                nodes.append(node(f"{item.id}[no-{kind}]", None))
                continue
            nodes += [node(f"{item.id}[{spec.name}]", spec) for spec in specs]
        return nodes


def _not_configured(gs: gsession.GoliveSession, names: list[str]) -> Outcome:
    listed = ", ".join(names)
    where = f"[environments.{gs.env.name}.vars] in {gs.env.source.name}"
    example = f"{names[0]} = \"...\""
    return Outcome.error(
        f"not configured: variable{'s' if len(names) > 1 else ''} {listed} "
        f"{'are' if len(names) > 1 else 'is'} not set (add {example} to {where}, "
        f"or export {names[0]}=...)",
        not_configured=names,
    )


def _register_marker(config: pytest.Config, name: str, title: str) -> None:
    known = {line.split(":", 1)[0].split("(", 1)[0].strip() for line in config.getini("markers")}
    if name not in known:
        doc = CANONICAL_SECTIONS.get(name, f"checklist section: {title}")
        config.addinivalue_line("markers", f"{name}: {doc}")


def _substitute(
    params: dict[str, Any], variables: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """Replace ``${name}`` in binding values by environment variables (``vars``)
    or, failing that, the process environment (as a secret).

    Returns the parameters and the names of variables set nowhere (their
    values are left as written).
    """
    import os

    out: dict[str, Any] = {}
    missing: list[str] = []
    for key, value in params.items():
        if not isinstance(value, str) or "$" not in value:
            out[key] = value
            continue
        unset: list[str] = []

        def lookup(name: str, default: str | None, unset: list[str] = unset) -> str | None:
            if name in variables:
                v = variables[name]
                if isinstance(v, Secret):
                    return v.reveal()
                return str(v)
            if name in os.environ:
                Secret(os.environ[name], f"${{{name}}}")
                return os.environ[name]
            if default is not None:
                return default
            unset.append(name)
            return None

        text = references.substitute(value, lookup)
        missing += [m for m in unset if m not in missing]
        # A value built from the process environment is registered with the
        # masker (above), so it is masked wherever it is shown.
        out[key] = text
    return out, missing


class GoliveItem(pytest.Item):
    """One checklist line on one target."""

    def __init__(self, *, item: Item, chk: Check | None, params: dict[str, Any],
                 spec: TargetSpec | None, extra: list[tuple[Check, dict[str, Any]]] | None = None,
                 preset: Outcome | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.item = item
        #: The line's other checks on the same target (a line passes when all of them pass).
        self.extra = list(extra or [])
        #: An outcome known at collection (not configured, another environment's target):
        #: the check is never run, so it is not handed to the engine either.
        self.preset = preset
        self.line_check = chk
        self.chk = None if preset is not None else chk
        self.params = params
        self.spec = spec
        self.golive_result: ItemResult | None = None
        for marker in item.markers:
            self.add_marker(marker)
        if spec is not None:
            self.add_marker(pytest.mark.xdist_group(spec.name))
        self.user_properties.append(("golive.item", item.id))

    @property
    def target_name(self) -> str | None:
        return self.spec.name if self.spec else None

    def runtest(self) -> None:
        gs = gsession.get(self.config)
        assert gs is not None
        started = time.perf_counter()
        if self.preset is not None:
            outcome: Outcome | None = self.preset
        else:
            outcome = None if self.chk is None else self._observe(gs)
        if outcome is not None and self.extra and self.preset is None:
            outcome = self._with_extra(gs, outcome)
        from pytest_golive.core import verdict

        detail = outcome.summary() if outcome else ""
        observed: str | None = outcome.status if outcome else None
        if outcome is not None and outcome.details.get("not_configured"):
            observed = "not-configured"
        decision = verdict.decide(
            gs.policy, self.item.id, self.target_name, self.item.severity,
            observed, self.line_check is None, detail, attest=self.item.attest,
        )
        self.golive_result = item_result(
            nodeid=self.nodeid, item=self.item, target=self.spec, check=self.line_check,
            params=self.params, outcome=outcome, decision=decision,
            duration=(outcome.duration if outcome is not None and outcome.duration is not None
                      else time.perf_counter() - started),
            order=gs.order.setdefault(self.nodeid, len(gs.order)),
        )
        if decision.status in ("failed", "error", "not-configured", "manual-pending"):
            raise GoliveCheckFailed(self._failure_text(outcome, decision))

    def _observe(self, gs: gsession.GoliveSession) -> Outcome:
        assert self.chk is not None
        if self.chk.target != "none" and self.spec is None:
            return Outcome.not_applicable(
                f"environment '{gs.env.name}' has no {self.chk.target} targets"
                + (f" matching '{self.item.targets}'" if self.item.targets else "")
            )
        # Evaluated ahead, concurrently across targets (prefetch.py), or here and now.
        from pytest_golive.integration import prefetch

        ahead = prefetch.take(self)
        job = prefetch.job_of(self)
        assert ahead is not None or job is not None
        first = ahead if ahead is not None else gs.engine.run(job)  # type: ignore[arg-type]
        return self._converged(gs, job, first)

    def _converged(self, gs: gsession.GoliveSession, job: Job | None, first: Outcome) -> Outcome:
        """``first``, or the outcome of retrying ``job`` (``retry=``, ``--golive-wait``)."""
        from pytest_golive.integration import converging

        until = converging.deadline(self.config, self.item.retry)
        if until is None or job is None:
            return first
        from pytest_golive.engine.converge import converge

        return converge(first, lambda: gs.engine.run(job), until)

    def _with_extra(self, gs: gsession.GoliveSession, first: Outcome) -> Outcome:
        """The line's other checks on this target, run now, and one outcome for all of them."""
        assert self.line_check is not None
        parts = [(self.line_check.name, first)]
        for i, (chk, params) in enumerate(self.extra, 1):
            if chk.target != "none" and self.spec is None:
                parts.append((chk.name, first))  # no target of this kind: the same reason
                continue
            job = Job(key=f"{self.nodeid}#{i}", check=chk, spec=self.spec, params=params)
            # Every check of the line converges, not only the first.
            parts.append((chk.name, self._converged(gs, job, gs.engine.run(job))))
        return combine(parts)

    def _failure_text(self, outcome: Outcome | None, decision: Any) -> str:
        head = f"{self.item.title}  ({self.item.location})"
        if self.spec is not None:
            head += f"\ntarget: {self.spec.name}"
        body = outcome.summary() if outcome is not None else decision.message
        extra = decision.message if outcome is not None and decision.message else ""
        # --golive-traceback: where a check raised, shown under its error, never instead of it.
        trace = str(outcome.details.get("traceback", "")) if outcome is not None else ""
        return mask("\n".join(p for p in (head, body, extra, trace) if p))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, GoliveCheckFailed):
            return excinfo.value.text
        return mask(str(super().repr_failure(excinfo, style=style)))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(self.item.line - 1, 0), self.name
