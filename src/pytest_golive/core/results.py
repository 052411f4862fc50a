"""The results model: one plain-data record of a readiness run.

Everything a renderer needs lives here as JSON-serialisable data, built from
pytest reports (which carry a ``golive`` dict), so it is the same whether
the run was serial or spread over xdist workers: workers send reports, the
controller collects them into one model. Renderers (terminal, JSON, HTML,
JUnit, Markdown) read this model and never compute a verdict themselves.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import platform
import socket
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_golive.core import verdict
from pytest_golive.core.item_result import ItemResult
from pytest_golive.core.secrets import mask_data
from pytest_golive.core.status import display_status
from pytest_golive.core.text import is_marker_title, section_title_of
from pytest_golive.core.version import __version__

SCHEMA_VERSION = "1.0"


@dataclass
class RunResults:
    environment: str
    started: str = ""
    finished: str = ""
    targets: list[dict[str, Any]] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    collection_errors: list[dict[str, str]] = field(default_factory=list)
    stale_waivers: list[dict[str, Any]] = field(default_factory=list)
    checklists: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    baseline: dict[str, Any] | None = None
    #: What this run is evidence for: change ticket, release, pipeline, commit.
    change: dict[str, Any] = field(default_factory=dict)
    #: The environment's ``description`` from the configuration.
    description: str = ""
    #: Attestations of this environment that match no collected item.
    stale_attestations: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: ItemResult | dict[str, Any]) -> None:
        """Add one item's result; a later result of the same item (a failing
        teardown after its call) replaces the earlier one."""
        if isinstance(result, ItemResult):
            result = result.to_dict()
        result = self._titled(result)
        index: dict[str, int] = self.__dict__.setdefault("_positions", {})
        if len(index) != len(self.results):  # results were set or edited directly
            index.clear()
            index.update((r["nodeid"], i) for i, r in enumerate(self.results))
        position = index.get(result["nodeid"])
        if position is not None:
            self.results[position] = result
        else:
            index[result["nodeid"]] = len(self.results)
            self.results.append(result)

    def _titled(self, result: dict[str, Any]) -> dict[str, Any]:
        """``result`` with its section's heading as the title, known so far or from now on.

        A test's section is a marker's name ("infrastructure"); a checklist line's is its
        heading ("Infrastructure"). Every output groups by title, so one section is one title.
        """
        headings: dict[str, str] = self.__dict__.setdefault("_headings", {})
        name = str(result.get("section", ""))
        title = str(result.get("section_title") or "")
        if not is_marker_title(name, title):
            if name not in headings:
                headings[name] = title
                for r in self.results:
                    if r.get("section") == name and is_marker_title(name, r.get("section_title")):
                        r["section_title"] = title
            return result
        shown = headings.get(name) or section_title_of(name)
        return result if title == shown else {**result, "section_title": shown}

    @property
    def verdict(self) -> dict[str, Any]:
        # options['incomplete'] says why a run stopped early (interrupted, -x): a
        # partial run is never GO, and the reason survives a JSON round trip.
        return verdict.overall(self.results, len(self.collection_errors),
                               str(self.options.get("incomplete") or ""))

    def counts(self) -> Counter[str]:
        return Counter(_display_status(r) for r in self.results)

    def by_section(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for r in self.results:
            out.setdefault(r["section"], []).append(r)
        return out

    def to_dict(self) -> dict[str, Any]:
        sections = []
        # Checklist order, not arrival order: under xdist results arrive as workers finish.
        ordered: dict[str, list[dict[str, Any]]] = {}
        for r in sorted(self.results, key=lambda r: (r.get("order", 0), r["nodeid"])):
            ordered.setdefault(r["section"], []).append(r)
        for name, rows in ordered.items():
            counts = Counter(_display_status(r) for r in rows)
            sections.append({"name": name, "title": rows[0].get("section_title", name),
                             "counts": dict(counts), "total": len(rows)})
        data = {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "pytest-golive", "version": __version__},
            "environment": self.environment,
            "started": self.started,
            "finished": self.finished,
            "verdict": self.verdict,
            "counts": dict(self.counts()),
            "sections": sections,
            "targets": self.targets,
            "results": sorted(self.results, key=lambda r: (r.get("order", 0), r["nodeid"])),
            "groups": self.groups,
            "collection_errors": self.collection_errors,
            "stale_waivers": self.stale_waivers,
            "checklists": self.checklists,
            "provenance": self.provenance,
            "options": self.options,
        }
        if self.change:
            data["change"] = self.change
        if self.description:
            data["environment_description"] = self.description
        if self.stale_attestations:
            data["stale_attestations"] = self.stale_attestations
        if self.runs:
            data["runs"] = self.runs
        if self.baseline is not None:
            data["baseline"] = self.baseline
        masked: dict[str, Any] = mask_data(data)
        return masked

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResults:
        return cls(
            environment=data["environment"],
            started=data.get("started", ""),
            finished=data.get("finished", ""),
            targets=data.get("targets", []),
            results=list(data.get("results", [])),
            collection_errors=data.get("collection_errors", []),
            stale_waivers=data.get("stale_waivers", []),
            checklists=data.get("checklists", []),
            groups=data.get("groups", []),
            provenance=data.get("provenance", {}),
            options=data.get("options", {}),
            runs=list(data.get("runs", [])),
            baseline=data.get("baseline"),
            change=dict(data.get("change") or {}),
            description=str(data.get("environment_description") or ""),
            stale_attestations=list(data.get("stale_attestations") or []),
        )

    @classmethod
    def merge(cls, runs: list[RunResults], digests: list[str | None] | None = None) -> RunResults:
        """One model of several runs: shards of one run, or one run per environment.

        Shards of the same environment simply add up. Runs of different
        environments keep every result, each tagged with its ``environment``,
        and the merged verdict is GO only when every run is GO. ``runs``
        records what went in (environment, times, verdict, digest), so a
        merged report still says which evidence it was built from.
        """
        if not runs:
            raise ValueError("nothing to merge")
        if len(runs) == 1:
            return runs[0]
        envs = list(dict.fromkeys(r.environment for r in runs))
        merged = cls(environment=" + ".join(envs))
        merged.started = min((r.started for r in runs if r.started), default="")
        merged.finished = max((r.finished for r in runs if r.finished), default="")
        offset = 0
        for index, run in enumerate(runs):
            for result in run.results:
                record = dict(result)
                if len(envs) > 1:
                    record.setdefault("environment", run.environment)
                record["order"] = offset + int(record.get("order", 0))
                merged.results.append(record)
            offset += 1 + max((int(r.get("order", 0)) for r in run.results), default=0)
            merged.collection_errors += run.collection_errors
            merged.stale_waivers += [w for w in run.stale_waivers if w not in merged.stale_waivers]
            merged.targets += [t for t in run.targets if t not in merged.targets]
            merged.checklists += [c for c in run.checklists if c not in merged.checklists]
            merged.groups += [g for g in run.groups if g not in merged.groups]
            merged.runs += run.runs or [{
                "environment": run.environment, "started": run.started, "finished": run.finished,
                "verdict": run.verdict["verdict"], "items": len(run.results),
                "digest": (digests[index] if digests else None),
                "run_by": run.provenance.get("run_by"), "machine": run.provenance.get("machine"),
            }]
        merged.change = dict(runs[0].change)
        merged.provenance = dict(runs[0].provenance)
        merged.options = dict(runs[0].options)
        return merged


#: The status a person reads: a failing warning is 'warning', not 'failed' (core/status.py).
_display_status = display_status


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def checklist_provenance(paths: list[Path]) -> list[dict[str, Any]]:
    """Each checklist file with its SHA-256 and, where it lives in git, the commit."""
    out = []
    for path in paths:
        entry: dict[str, Any] = {"path": str(path)}
        try:
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            entry["sha256"] = None
        entry["git_commit"] = _git_commit(path.parent)
        out.append(entry)
    return out


def _git_commit(directory: Path) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def provenance() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = "unknown"
    out: dict[str, Any] = {
        "plugin_version": __version__,
        "python": platform.python_version(),
        "run_by": user,
        "machine": socket.gethostname(),
        "platform": platform.platform(),
    }
    ci = ci_context(os.environ)
    if ci:
        out["ci"] = ci
    return out


def ci_context(environ: Mapping[str, str]) -> dict[str, str] | None:
    """Which pipeline ran this and for whom, so "run by" on a ticket names a person.

    In CI the operating-system user is a service account; the pipeline
    knows who triggered the run and where its log is.
    """
    def get(*names: str) -> str:
        return next((environ[n] for n in names if environ.get(n)), "")

    if environ.get("GITHUB_ACTIONS") == "true":
        url = ""
        if environ.get("GITHUB_REPOSITORY") and environ.get("GITHUB_RUN_ID"):
            url = (
                f"{get('GITHUB_SERVER_URL') or 'https://github.com'}/{environ['GITHUB_REPOSITORY']}"
                f"/actions/runs/{environ['GITHUB_RUN_ID']}"
            )
        return {
            "system": "GitHub Actions",
            "actor": get("GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR"),
            "url": url,
            "ref": get("GITHUB_REF_NAME"),
            "commit": get("GITHUB_SHA"),
        }
    if environ.get("GITLAB_CI") == "true":
        return {
            "system": "GitLab CI",
            "actor": get("GITLAB_USER_LOGIN", "GITLAB_USER_NAME"),
            "url": get("CI_JOB_URL"),
            "ref": get("CI_COMMIT_REF_NAME"),
            "commit": get("CI_COMMIT_SHA"),
        }
    if environ.get("JENKINS_URL"):
        return {
            "system": "Jenkins",
            "actor": get("BUILD_USER_ID", "BUILD_USER"),
            "url": get("BUILD_URL"),
            "ref": get("GIT_BRANCH"),
            "commit": get("GIT_COMMIT"),
        }
    if environ.get("TF_BUILD", "").lower() == "true":
        from pytest_golive.core.change import azure_run_url

        return {
            "system": "Azure Pipelines",
            "actor": get("BUILD_REQUESTEDFOR", "BUILD_REQUESTEDFOREMAIL"),
            "url": azure_run_url(environ),
            "ref": get("BUILD_SOURCEBRANCHNAME"),
            "commit": get("BUILD_SOURCEVERSION"),
        }
    return None
