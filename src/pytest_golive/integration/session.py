"""The state of one readiness run, shared by collection, fixtures and reporting."""

from __future__ import annotations

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
