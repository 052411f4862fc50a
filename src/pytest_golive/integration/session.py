"""The state of one readiness run, shared by collection, fixtures and reporting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_golive.core.config import Environment, load_environment
from pytest_golive.core.results import RunResults, checklist_provenance, now_iso, provenance
from pytest_golive.core.verdict import Clock, Policy, load_attestations, load_waivers
from pytest_golive.engine.evaluate import Engine
from pytest_golive.targets import TargetPool

SESSION_KEY = pytest.StashKey["GoliveSession"]()


@dataclass
class GoliveSession:
    env: Environment
    policy: Policy
    pool: TargetPool
    results: RunResults
    checklists: list[Path] = field(default_factory=list)
    traceback: bool = False
    order: dict[str, int] = field(default_factory=dict)
    #: Python tests deselected because they are not checklist lines (integration/custom.py).
    plain_tests: int = 0
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = Engine(self.pool, check_timeout=self.env.settings.check_timeout,
                             traceback=self.traceback)

    @classmethod
    def start(cls, config: pytest.Config) -> GoliveSession:
        opt = config.option
        env = load_environment(config.rootpath, opt.golive, opt.golive_config)
        checklists = list(env.checklists)
        for extra in opt.golive_checklist or []:
            path = Path(extra).resolve()
            if not path.is_file():
                raise pytest.UsageError(f"--golive-checklist: {extra}: file not found")
            checklists.append(path)
        for path in checklists:
            if not path.is_file():
                raise pytest.UsageError(f"{env.source}: checklists: {path}: file not found")
        settings = env.settings
        manual = opt.golive_manual or settings.manual
        policy = Policy(
            environment=env.name,
            clock=Clock(opt.golive_today),
            waivers=load_waivers(env.waivers, settings.allow_waivers_without_expiry),
            attestations=load_attestations(env.attestations),
            severity_overrides=env.severity,
            manual=manual,
            strict=bool(opt.golive_strict),
            attestation_valid_days=settings.attestation_valid_days,
            target_groups={t.name: t.groups for t in env.targets},
        )
        results = RunResults(
            environment=env.name,
            started=now_iso(),
            targets=[t.to_dict() for t in env.targets],
            checklists=checklist_provenance(list(dict.fromkeys(checklists))),
            provenance=provenance(),
            options={"manual": manual, "strict": bool(opt.golive_strict),
                     "today": policy.clock.today().isoformat()},
        )
        return cls(env=env, policy=policy, pool=TargetPool(env), results=results,
                   checklists=list(dict.fromkeys(checklists)),
                   traceback=bool(opt.golive_traceback))

    def close(self) -> None:
        self.pool.close()


def get(config: pytest.Config) -> GoliveSession | None:
    return config.stash.get(SESSION_KEY, None)


#: The exit status of the last pytest session in this process (the outermost one ends last).
_EXIT_STATUS: dict[str, int] = {}


def guard_exit() -> None:
    """Once per process: end it with the run's status if abandoned work still runs at exit.

    See :func:`pytest_golive.engine.bounded.hard_exit_if_stuck`: threads are
    daemons already, this only covers one holding a lock the interpreter needs.
    """
    if _EXIT_STATUS.get("guarded"):
        return
    import atexit

    from pytest_golive.engine.bounded import hard_exit_if_stuck

    _EXIT_STATUS["guarded"] = 1
    atexit.register(hard_exit_if_stuck, lambda: _EXIT_STATUS.get("status"))


class ExitStatusNote:
    """Remembers every session's final exit status, golive run or not (see :func:`guard_exit`).

    Every session notes it, so when pytest runs pytest in-process (pytester),
    the outer session, which ends last, decides the status the process ends with.
    """

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        _EXIT_STATUS["status"] = int(session.exitstatus)


def mask_streams() -> Callable[[], None]:
    """Mask secrets in what reaches the terminal by any path; returns how to undo it.

    pytest masks nothing it does not capture: with ``-s`` a test's ``print``
    goes straight to the terminal, and ``--capture=tee-sys`` copies it there.
    Wrapping ``sys.stdout``/``sys.stderr`` before pytest starts capturing puts
    the mask under both (the tee writes to the stream it found at the start).
    """
    import sys

    from pytest_golive.core.secrets import MaskingStream

    before = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, MaskingStream):
        sys.stdout = MaskingStream(sys.stdout)
    if not isinstance(sys.stderr, MaskingStream):
        sys.stderr = MaskingStream(sys.stderr)

    def undo() -> None:
        if isinstance(sys.stdout, MaskingStream):
            sys.stdout = before[0]
        if isinstance(sys.stderr, MaskingStream):
            sys.stderr = before[1]

    return undo


def add_checklist_args(config: pytest.Config, checklists: list[Path]) -> None:
    """Make pytest collect the environment's checklists wherever they live.

    Skipped when the command line selects node ids, so
    ``pytest --golive=prod tests/test_x.py::test_a`` runs just that.
    """
    given = config.invocation_params.args
    if any("::" in str(a) for a in given):
        return
    present = {Path(a).resolve() for a in config.args if "::" not in a}
    for path in checklists:
        if path not in present:
            config.args.append(str(path))


def incomplete(session: pytest.Session, exitstatus: int) -> str:
    """Why the run stopped before every selected item ran, or ''."""
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        return "interrupted"
    stopped = session.shouldfail or session.shouldstop
    return str(stopped) if stopped else ""
