"""What a readiness run is evidence for: the change ticket, the release, the pipeline run.

An approver reads a report on a change ticket; the report must name that
ticket, the version being released and the pipeline run that produced it,
so it cannot be attached to the wrong change. The pipeline's identity is
read from the variables each CI system sets (GitHub Actions, GitLab CI,
Jenkins, Azure Pipelines); nothing here is a secret.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def _get(environ: Mapping[str, str], *names: str) -> str:
    return next((environ[n] for n in names if environ.get(n)), "")


def azure_run_url(environ: Mapping[str, str]) -> str:
    collection = _get(environ, "SYSTEM_COLLECTIONURI", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")
    project, build = _get(environ, "SYSTEM_TEAMPROJECT"), _get(environ, "BUILD_BUILDID")
    if not (collection and project and build):
        return ""
    return f"{collection.rstrip('/')}/{project}/_build/results?buildId={build}"


def pipeline_identity(environ: Mapping[str, str]) -> dict[str, str] | None:
    """The CI run: system, run id, job, URL, who triggered it, branch and commit; or None."""
    def get(*names: str) -> str:
        return _get(environ, *names)

    if environ.get("GITHUB_ACTIONS") == "true":
        url = ""
        if get("GITHUB_REPOSITORY") and get("GITHUB_RUN_ID"):
            url = (f"{get('GITHUB_SERVER_URL') or 'https://github.com'}/{get('GITHUB_REPOSITORY')}"
                   f"/actions/runs/{get('GITHUB_RUN_ID')}")
        attempt = get("GITHUB_RUN_ATTEMPT")
        run = get("GITHUB_RUN_ID") + (f" (attempt {attempt})" if attempt not in ("", "1") else "")
        out = {"system": "GitHub Actions", "run_id": run,
               "job": " / ".join(p for p in (get("GITHUB_WORKFLOW"), get("GITHUB_JOB")) if p),
               "url": url, "actor": get("GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR"),
               "ref": get("GITHUB_REF_NAME"), "commit": get("GITHUB_SHA")}
    elif environ.get("GITLAB_CI") == "true":
        out = {"system": "GitLab CI", "run_id": get("CI_PIPELINE_ID"), "job": get("CI_JOB_NAME"),
               "url": get("CI_JOB_URL", "CI_PIPELINE_URL"),
               "actor": get("GITLAB_USER_LOGIN", "GITLAB_USER_NAME"),
               "ref": get("CI_COMMIT_REF_NAME"), "commit": get("CI_COMMIT_SHA")}
    elif environ.get("JENKINS_URL"):
        out = {"system": "Jenkins", "run_id": get("BUILD_NUMBER"), "job": get("JOB_NAME"),
               "url": get("BUILD_URL"), "actor": get("BUILD_USER_ID", "BUILD_USER"),
               "ref": get("GIT_BRANCH"), "commit": get("GIT_COMMIT")}
    elif environ.get("TF_BUILD", "").lower() == "true":
        out = {"system": "Azure Pipelines", "run_id": get("BUILD_BUILDNUMBER", "BUILD_BUILDID"),
               "job": get("SYSTEM_JOBDISPLAYNAME", "BUILD_DEFINITIONNAME"),
               "url": azure_run_url(environ),
               "actor": get("BUILD_REQUESTEDFOR", "BUILD_REQUESTEDFOREMAIL"),
               "ref": get("BUILD_SOURCEBRANCHNAME"), "commit": get("BUILD_SOURCEVERSION")}
    else:
        return None
    return {k: v for k, v in out.items() if v or k == "system"}


def git_commit(directory: Path) -> str | None:
    """HEAD of the git work tree holding ``directory``, or None outside one."""
    try:
        proc = subprocess.run(["git", "-C", str(directory), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def change_record(*, ticket: str | None, release: str | None, environ: Mapping[str, str],
                  root: Path) -> dict[str, Any]:
    """The ``change`` block of a report.

    ``git_commit`` is the project's HEAD, else the commit the pipeline says it
    built (a CI checkout without ``.git``), else null.
    """
    pipeline = pipeline_identity(environ)
    commit = git_commit(root) or (pipeline or {}).get("commit") or None
    return {"ticket": ticket or None, "release": release or None, "pipeline": pipeline,
            "git_commit": commit}
