"""Container checks: Compose files, Dockerfiles, Kubernetes manifests and live podman containers.

The judges run on realistic files under tests/data/containers/ (and on
``podman inspect`` output captured from a real podman run there); every check
runs once through a ``local://`` host as a checklist would, and through a
whole readiness run with pytester. The live-container tests start real podman
containers from an image the test builds itself (tests/support/podman.py).
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from pytest_golive.checks import REGISTRY
from pytest_golive.checks.containers._common import ImageRef, root_user
from pytest_golive.checks.containers.compose import ALL_PROPERTIES, judge_services
from pytest_golive.checks.containers.compose_model import Variables, interpolate, load_project
from pytest_golive.checks.containers.dockerfile import judge_dockerfile, stages
from pytest_golive.checks.containers.kubernetes import documents, judge_workloads
from pytest_golive.checks.containers.live import judge_container, parse_inspect
from pytest_golive.checks.rules import Line
from pytest_golive.core.config import Settings, TargetSpec
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.tools.import_rules import propose
from support.fleet import Fleet
from support.leaks import assert_no_leak
from support.podman import Podman

DATA = Path(__file__).parent / "data" / "containers"
COMPOSE = DATA / "compose"
GOOD = COMPOSE / "good" / "compose.yaml"
BAD = COMPOSE / "bad" / "docker-compose.yml"
#: The secret values written in the test files: none may reach any output.
SECRETS = [
    "Zq8vN2xL0pRt5wYc",
    "k3J9dF0sLq8mZ2xV7bN4cR6tY1uI5oP0",
    "s3cr3t-Passw0rd",
    "hardcoded-jwt-signing-key-0123456789",
    "example-but-real-pw-991",
    "4f9d2c7e1b8a6d3f0e5c9b2a7d4e1f80c3b6a9d2",
]


def read_local(path: str) -> str | None:
    p = Path(path)
    return p.read_text(encoding="utf-8") if p.is_file() else None


def facts(ev: Evidence) -> dict[str, tuple[bool, str]]:
    return {f["fact"]: (f["ok"], f["observed"]) for f in ev.facts}


def everything(out: Outcome) -> list[str]:
    return [str(out), repr(out), out.summary(), json.dumps(out.to_dict())]


@pytest.fixture
def local_host() -> Any:
    from pytest_golive.targets.host import HostTarget

    return HostTarget(TargetSpec("host", "local", (), {"url": "local://"}), Settings())


def run(check_name: str, host: Any, /, **raw: str) -> Outcome:
    chk = REGISTRY.get(check_name)
    result: Outcome = chk.func(host, **chk.validate(raw))
    return result


# --- image references and users -------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("nginx", "no tag (means :latest)"),
        ("nginx:latest", "moving tag :latest"),
        ("registry.example.com:5000/team/api", "no tag (means :latest)"),
        ("registry.example.com:5000/team/api:1.4.2", None),
        ("node:lts", "moving tag :lts"),
        ("api:", "empty tag (an unset variable?)"),
        ("redis@sha256:" + "a" * 64, None),
        ("redis:7@sha256:12", "malformed digest 'sha256:12'"),
    ],
)
def test_image_pinning(ref: str, problem: str | None) -> None:
    assert ImageRef.parse(ref).pin_problem(require_digest=False) == problem


def test_digest_required() -> None:
    assert ImageRef.parse("redis:7.2.5").pin_problem(require_digest=True) == "no @sha256: digest"
    assert ImageRef.parse("redis:7.2.5@sha256:" + "b" * 64).pin_problem(require_digest=True) is None


@pytest.mark.parametrize(
    ("user", "root"),
    [
        ("root", True),
        ("0", True),
        ("0:1000", True),
        ("root:staff", True),
        ("1000", False),
        ("app:app", False),
        ("", None),
        (None, None),
    ],
)
def test_root_user(user: str | None, root: bool | None) -> None:
    assert root_user(user) is root


# --- Compose: interpolation and merge rules ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}", "a"),
        ("$A-x", "a-x"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${A:+yes}", "yes"),
        ("${EMPTY:+yes}", ""),
        ("${EMPTY+yes}", "yes"),
        ("${UNSET:-${A}}", "a"),
        ("${UNSET:-${UNSET2:-deep}}", "deep"),
        ("$$A", "$A"),
        ("cost: 5$", "cost: 5$"),
    ],
)
def test_interpolation_follows_the_specification(text: str, expected: str) -> None:
    assert interpolate(text, Variables({"A": "a", "EMPTY": ""}), "f") == expected


def test_mandatory_variable_is_one_line_naming_it() -> None:
    with pytest.raises(
        CheckError, match=r"variable API_TAG is not set \(set API_TAG to the release tag\)"
    ):
        load_project(read_local, str(COMPOSE / "merge" / "required.yaml"))


def test_default_override_extends_and_env_file() -> None:
    project = load_project(read_local, str(GOOD))
    assert project.files == [str(GOOD), str(GOOD.with_name("compose.override.yaml"))]
    assert project.env_file == str(GOOD.with_name(".env"))
    api = project.services["api"]
    assert api["user"] == "10001:10001"  # from common.yml through extends
    assert api["image"] == "registry.example.com/content/api:1.9.0"  # API_TAG from .env
    assert api["environment"]["LOG_LEVEL"] == "WARNING"  # the override wins
    assert api["environment"]["PYTHONUNBUFFERED"] == "1"  # mappings merge
    assert api["deploy"]["replicas"] == 2 and api["deploy"]["resources"]["limits"]["memory"] == "1G"
    # Volumes are unique by target: the override's config replaced the base one.
    assert [v["source"] for v in project.services["proxy"]["volumes"]] == [
        "./nginx/prod.conf",
        "nginx-cache",
    ]


def test_explicit_files_reset_override_and_replaced_commands() -> None:
    base = str(COMPOSE / "merge" / "compose.yaml")
    alone = load_project(read_local, base, overrides=[])
    assert alone.files == [base] and alone.unset_variables == ["ROLE"]  # a default is no warning
    assert alone.services["web"]["image"] == "registry.example.com/web:2.0.0"
    assert alone.services["cron"]["labels"] == {"role": ""}
    merged = load_project(read_local, base, overrides=["compose.prod.yaml"])
    web = merged.services["web"]
    assert web["command"] == ["gunicorn", "--workers", "8"]  # replaced, not appended
    assert web["healthcheck"]["test"] == ["CMD", "wget", "-qO-", "http://localhost/health"]
    assert web["ports"] == ["8443:443"]  # !override
    assert web["environment"] == {"MODE": "production"}  # !reset removed FOO
    assert "privileged" not in web  # !reset
    assert [(v["type"], v["source"]) for v in web["volumes"]] == [
        ("volume", "webdata-prod"),
        ("volume", "config"),
    ]
    # extends is applied per file: cron took web as compose.yaml defines it.
    cron = merged.services["cron"]
    assert cron["command"] == ["cron", "-f"] and cron["privileged"] is True
    ev = facts(judge_services(merged, require=["named_volumes", "no_privileged"]))
    assert ev["web: named_volumes"][0] and ev["web: no_privileged"][0]
    assert not ev["cron: named_volumes"][0] and not ev["cron: no_privileged"][0]


def test_extends_loop_and_unknown_files_are_one_line() -> None:
    with pytest.raises(CheckError, match="extends loops: a .* -> b .* -> a"):
        load_project(read_local, str(COMPOSE / "merge" / "loop.yaml"))
    with pytest.raises(CheckError, match="does not exist"):
        load_project(read_local, str(COMPOSE / "merge" / "compose.yaml"), overrides=["nope.yaml"])
    with pytest.raises(CheckError, match="env file .* does not exist"):
        load_project(read_local, str(GOOD), env_file="missing.env")


# --- Compose: judgement -----------------------------------------------------------------------


def test_good_stack_passes_every_property_with_its_bind_mount_allowed() -> None:
    project = load_project(read_local, str(GOOD))
    ev = judge_services(project, require=ALL_PROPERTIES, allow_bind_mounts=["/etc/nginx/*"])
    assert ev.ok, [f for f in ev.facts if not f["ok"]]
    assert len(ev.facts) == 5 * len(ALL_PROPERTIES)
    strict = facts(
        judge_services(project, require=["named_volumes", "pinned_image"], require_digest=True)
    )
    assert strict["proxy: named_volumes"] == (
        False,
        "named nginx-cache; bind mount ./nginx/prod.conf -> /etc/nginx/nginx.conf",
    )
    assert strict["db: pinned_image"][0] and not strict["cache: pinned_image"][0]


def test_bad_stack_fails_each_property_for_the_right_reason() -> None:
    ev = facts(judge_services(load_project(read_local, str(BAD)), require=ALL_PROPERTIES))
    assert ev["api: healthcheck"] == (False, "no healthcheck")
    assert ev["db: healthcheck"] == (False, "healthcheck test NONE (disabled)")
    assert ev["api: restart"] == (False, "no restart policy (Compose's default is no)")
    assert ev["worker: restart"] == (False, "restart: on-failure")
    assert ev["db: limits"] == (False, "memory 1g (no CPU limit)")
    assert ev["worker: named_volumes"] == (
        False,
        "bind mount /var/run/docker.sock -> /var/run/docker.sock; anonymous volume at /srv/uploads",
    )
    assert ev["db: named_volumes"] == (
        False,
        "named dbdata; not declared under top-level volumes: dbdata",
    )
    assert ev["db: non_root"] == (False, "user: root")
    assert not ev["api: non_root"][0] and "no user" in ev["api: non_root"][1]
    assert ev["api: pinned_image"] == (False, "image content-api:latest: moving tag :latest")
    assert ev["db: pinned_image"] == (False, "image postgres: no tag (means :latest)")
    assert ev["worker: no_privileged"] == (False, "privileged: true")
    assert ev["worker: no_host_network"] == (False, "network_mode: host")
    assert ev["api: no_privileged"][0] and ev["api: no_host_network"][0]
    inline = ev["api: no_inline_secrets"]
    assert (
        not inline[0]
        and "DATABASE_URL (password in the URL)" in inline[1]
        and "JWT_SECRET_KEY" in inline[1]
    )
    assert ev["db: no_inline_secrets"] == (
        False,
        "secrets written in the file: POSTGRES_PASSWORD, a value of 23 characters",
    )
    assert ev["worker: no_inline_secrets"][0]


def test_restart_policies_and_service_selection() -> None:
    project = load_project(read_local, str(GOOD))
    ev = facts(judge_services(project, require=["restart"], restart_policies=["unless-stopped"]))
    assert not ev["db: restart"][0] and ev["api: restart"][0]
    assert set(facts(judge_services(project, require=["restart"], services=["db"]))) == {
        "db: restart"
    }
    with pytest.raises(
        CheckError, match="no service nope .*services: api, cache, db, proxy, worker"
    ):
        judge_services(project, require=["restart"], services=["nope"])


def test_compose_service_through_a_host_leaks_no_secret(local_host: Any) -> None:
    good = run("compose_service", local_host, path=str(GOOD), allow_bind_mounts="/etc/nginx/*")
    assert good.status == "passed", good.summary()
    assert good.details["files"][1].endswith("compose.override.yaml")
    bad = run("compose_service", local_host, path=str(BAD), require="no_inline_secrets,healthcheck")
    assert bad.status == "failed"
    assert bad.observed.startswith(
        "api: no_inline_secrets: secrets written in the file: "
        "DATABASE_URL (password in the URL), a value of 15 characters"
    )
    assert_no_leak(SECRETS, *everything(good), *everything(bad))
    missing = Outcome.error(
        str(
            pytest.raises(
                CheckError, run, "compose_service", local_host, path=str(COMPOSE / "nope.yaml")
            ).value
        )
    )
    assert "does not exist" in missing.observed and "\n" not in missing.observed


# --- Dockerfiles -------------------------------------------------------------------------------


def dockerfile_facts(name: str, **kw: Any) -> dict[str, tuple[bool, str]]:
    parsed = stages((DATA / "dockerfile" / name).read_text(), name)
    kw.setdefault(
        "require",
        ["multi_stage", "non_root", "healthcheck", "pinned_base", "allowed_base", "no_secrets"],
    )
    return facts(judge_dockerfile(parsed, **kw))


def test_production_dockerfile_passes() -> None:
    ev = dockerfile_facts("Dockerfile.prod")
    assert all(ok for ok, _ in ev.values()), ev
    assert ev["multi_stage"][1] == "2 stages (build, runtime)"
    assert ev["non_root"][1] == "USER app:app (line 22, runtime)"
    assert ev["healthcheck"][1] == "HEALTHCHECK CMD python (line 24)"
    assert (
        ev["allowed_base"][1] == "final image FROM python:3.12.6-slim-bookworm (matches *-slim-*)"
    )


def test_development_dockerfile_fails_every_property() -> None:
    ev = dockerfile_facts("Dockerfile.dev")
    assert not any(ok for ok, _ in ev.values()), ev
    assert ev["non_root"][1] == "no USER in the final stage (stage 0): runs as root"
    assert ev["healthcheck"][1] == "HEALTHCHECK NONE (disabled) (line 9)"
    assert ev["pinned_base"][1] == "FROM node:latest (line 2): moving tag :latest"
    assert ev["no_secrets"][1] == (
        "ENV API_KEY (line 4, a value of 40 characters); "
        "ARG NPM_TOKEN (line 3: build arguments stay in the image history)"
    )


def test_distroless_nonroot_digest_and_allowed_lists() -> None:
    ev = dockerfile_facts("Dockerfile.distroless", require_digest=True)
    assert all(ok for ok, _ in ev.values()), ev
    assert "nonroot tag runs as uid 65532" in ev["non_root"][1]
    prod = dockerfile_facts(
        "Dockerfile.prod",
        require=["pinned_base", "allowed_base"],
        require_digest=True,
        allowed_bases=["gcr.io/distroless/*"],
    )
    assert not prod["pinned_base"][0] and "no @sha256: digest" in prod["pinned_base"][1]
    assert prod["allowed_base"] == (False, "final image FROM python:3.12.6-slim-bookworm")


def test_single_stage_without_a_stage_copy_is_not_multi_stage(tmp_path: Path) -> None:
    text = "FROM golang:1.23 AS tools\nRUN go install x\nFROM alpine:3.20\nUSER 1000\n"
    ev = facts(judge_dockerfile(stages(text, "x"), require=["multi_stage", "non_root"]))
    assert ev["multi_stage"] == (
        False,
        "2 stages (tools, stage 1); the final stage takes nothing from the others "
        "(no COPY --from, not FROM a stage)",
    )
    assert ev["non_root"][0]
    with pytest.raises(CheckError, match="no FROM instruction"):
        stages("RUN true\n", "x")


def test_dockerfile_through_a_host_leaks_no_secret(local_host: Any) -> None:
    out = run(
        "dockerfile",
        local_host,
        path=str(DATA / "dockerfile" / "Dockerfile.dev"),
        require="no_secrets",
    )
    assert out.status == "failed" and "ENV API_KEY" in out.observed
    good = run("dockerfile", local_host, path=str(DATA / "dockerfile" / "Dockerfile.prod"))
    assert good.status == "passed", good.summary()
    assert_no_leak(SECRETS, *everything(out), *everything(good))


# --- Kubernetes manifests ---------------------------------------------------------------------


K8S_ALL = ["replicas", "resources", "probes", "non_root", "pinned_image", "pdb", "hpa"]


def test_production_manifests() -> None:
    docs = documents((DATA / "k8s" / "production.yaml").read_text(), "production.yaml")
    ev = facts(judge_workloads(docs, require=K8S_ALL, min_replicas=2))
    failing = {k for k, (ok, _) in ev.items() if not ok}
    assert failing == {"Deployment/content-generator: hpa"}
    assert ev["Deployment/celery-worker: replicas"] == (True, "HPA minReplicas 2")
    assert ev["Deployment/celery-worker: pdb"] == (True, "PodDisruptionBudget celery-worker")
    assert ev["CronJob/nightly-report: probes"][0]
    strict = facts(
        judge_workloads(docs, require=["replicas"], min_replicas=3, names=["celery-worker"])
    )
    assert strict == {"Deployment/celery-worker: replicas": (False, "HPA minReplicas 2")}


def test_draft_manifests_from_a_list_fail_each_property() -> None:
    docs = documents((DATA / "k8s" / "draft.yaml").read_text(), "draft.yaml")
    ev = facts(judge_workloads(docs, require=K8S_ALL))
    assert not any(ok for ok, _ in ev.values()), ev
    assert ev["Deployment/content-generator: replicas"] == (False, "replicas 1")
    assert (
        "api: no requests cpu/memory; api: no limits cpu"
        in ev["Deployment/content-generator: resources"][1]
    )
    assert ev["Deployment/content-generator: probes"][1].startswith("api: no readinessProbe")
    assert (
        "sidecar: runAsUser 0; sidecar: privileged"
        in ev["Deployment/content-generator: non_root"][1]
    )
    with pytest.raises(CheckError, match="no workload nope"):
        judge_workloads(docs, require=["replicas"], names=["nope"])
    with pytest.raises(CheckError, match=r"no workload .*\(kinds: Namespace\)"):
        judge_workloads(
            documents("kind: Namespace\nmetadata: {name: x}\n", "x"), require=["replicas"]
        )


def test_k8s_workload_through_a_host(local_host: Any) -> None:
    out = run(
        "k8s_workload",
        local_host,
        path=str(DATA / "k8s" / "production.yaml"),
        require="replicas,pdb",
        min_replicas="3",
    )
    assert out.status == "failed"
    assert out.observed == "Deployment/celery-worker: replicas: HPA minReplicas 2"


# --- live containers: judgement on captured podman output --------------------------------


PODMAN = DATA / "podman"
LIVE_ALL = ["running", "healthy", "restarts", "restart_policy", "non_root", "pinned_image"]


@pytest.mark.parametrize("form", ["format-{}.txt", "inspect-{}.json"])
def test_captured_podman_inspect(form: str) -> None:
    def judged(name: str, **kw: Any) -> dict[str, tuple[bool, str]]:
        engine, doc = parse_inspect((PODMAN / form.format(name)).read_text(), "captured")
        assert engine == ("podman" if form.startswith("format") else "?")
        return facts(judge_container(doc, require=LIVE_ALL, **kw))

    api = judged("api")
    assert all(ok for ok, _ in api.values()), api
    assert api["non_root"] == (True, "user 10001:10001")
    worker = judged("worker", restart_policies=["unless-stopped"])
    assert worker["healthy"] == (False, "unhealthy (failing streak 1)")
    assert worker["non_root"] == (False, "no user (root)")
    assert worker["restart_policy"] == (False, "restart policy on-failure")
    oneshot = judged("oneshot", image="registry.example.com/*")
    assert not oneshot["running"][0] and "exit code 1" in oneshot["running"][1]
    assert oneshot["healthy"] == (False, "no health check defined")
    assert oneshot["pinned_image"] == (
        False,
        "image localhost/golive-tiny:1.0 (not registry.example.com/*)",
    )


# --- import rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "context", "check", "params"),
    [
        (
            "Health checks configured in docker-compose",
            "Deployment",
            "compose_service",
            {"path": "${compose_file}", "require": "healthcheck"},
        ),
        (
            "Restart policies set to unless-stopped",
            "Docker Compose",
            "compose_service",
            {"path": "${compose_file}", "require": "restart", "restart_policies": "unless-stopped"},
        ),
        (
            "Resource limits configured",
            "Docker Compose setup",
            "compose_service",
            {"path": "${compose_file}", "require": "limits"},
        ),
        (
            "Volume mounts use named volumes",
            "Docker Compose",
            "compose_service",
            {"path": "${compose_file}", "require": "named_volumes"},
        ),
        (
            "Memory and CPU limits in `docker-compose.prod.yml`",
            "Deploy",
            "compose_service",
            {"path": "docker-compose.prod.yml", "require": "limits"},
        ),
        (
            "Non-root user in containers",
            "Security",
            "dockerfile",
            {"path": "${dockerfile}", "require": "non_root"},
        ),
        (
            "Multi-stage build",
            "Container images",
            "dockerfile",
            {"path": "${dockerfile}", "require": "multi_stage"},
        ),
        (
            "Minimal/production base images",
            "Container images",
            "dockerfile",
            {"path": "${dockerfile}", "require": "allowed_base,pinned_base"},
        ),
        (
            "Dockerfiles use production base images",
            "Build",
            "dockerfile",
            {"path": "${dockerfile}", "require": "allowed_base,pinned_base"},
        ),
        (
            "Resource limits configured",
            "Kubernetes",
            "k8s_workload",
            {"path": "${k8s_manifests}", "require": "resources"},
        ),
        (
            "At least 3 replicas per deployment",
            "Kubernetes",
            "k8s_workload",
            {"path": "${k8s_manifests}", "require": "replicas", "min_replicas": "3"},
        ),
        (
            "Liveness and readiness probes defined",
            "K8s",
            "k8s_workload",
            {"path": "${k8s_manifests}", "require": "probes"},
        ),
        (
            "Base images pinned by digest",
            "Docker",
            "dockerfile",
            {"path": "${dockerfile}", "require": "pinned_base", "require_digest": "true"},
        ),
        (
            "Use slim or distroless base images",
            "Docker",
            "dockerfile",
            {"path": "${dockerfile}", "require": "allowed_base"},
        ),
        (
            "Containers not running in privileged mode",
            "Security",
            "compose_service",
            {"path": "${compose_file}", "require": "no_privileged"},
        ),
        (
            "Data persisted in named volumes, not bind mounts",
            "Docker Compose",
            "compose_service",
            {"path": "${compose_file}", "require": "named_volumes"},
        ),
        (
            "PodDisruptionBudget and HPA for every deployment",
            "Kubernetes",
            "k8s_workload",
            {"path": "${k8s_manifests}", "require": "pdb,hpa"},
        ),
        (
            "All containers running and healthy",
            "Docker",
            "container",
            {"name": "${containers}", "require": "running,healthy"},
        ),
    ],
)
def test_rules_bind_the_wordings_teams_use(
    title: str, context: str, check: str, params: dict[str, str]
) -> None:
    code = " ".join(w.strip("`") for w in title.split() if w.startswith("`"))
    proposal = propose(Line(1, 0, title.replace("`", ""), title, context, code, False))
    assert proposal is not None and proposal.candidates[0] == (check, params), proposal
    chk = REGISTRY.get(check)
    chk.validate({k: "x" if "${" in v else v for k, v in params.items()})  # the catalog accepts it


@pytest.mark.parametrize(
    ("title", "context"),
    [
        ("Health checks passing", "Deploy to Docker Compose"),
        ("Images built successfully", "Docker Compose"),
        ("Image tags/versions documented", "Container images"),
    ],
)
def test_rules_leave_runtime_and_paperwork_lines_alone(title: str, context: str) -> None:
    proposal = propose(Line(1, 0, title, title, context, "", False))
    assert proposal is None or proposal.check not in (
        "compose_service",
        "dockerfile",
        "k8s_workload",
    )


# --- whole readiness runs ---------------------------------------------------------------------


def _project(pytester: pytest.Pytester, checklist: str, variables: dict[str, str]) -> None:
    vars_toml = "\n".join(f'{k} = "{v}"' for k, v in variables.items())
    pytester.path.joinpath("golive.toml").write_text(
        'checklists = ["checklist.md"]\n\n[settings]\nconnect_timeout = 5\n\n'
        '[environments.prod.hosts]\nops = ["local://"]\n\n'
        f"[environments.prod.vars]\n{vars_toml}\n",
        encoding="utf-8",
    )
    shutil.copy(DATA / checklist, pytester.path / "checklist.md")


def _statuses(pytester: pytest.Pytester) -> dict[str, str]:
    data = json.loads(pytester.path.joinpath("results.json").read_text(encoding="utf-8"))
    return {r["id"]: r["status"] for r in data["results"]}


def test_file_checks_in_a_readiness_run(pytester: pytest.Pytester) -> None:
    for name in ("good", "bad"):
        shutil.copytree(COMPOSE / name, pytester.path / name)
    shutil.copytree(DATA / "dockerfile", pytester.path / "docker")
    shutil.copytree(DATA / "k8s", pytester.path / "k8s")
    _project(
        pytester,
        "checklist-files.md",
        {
            "compose_file": "good/compose.yaml",
            "draft_compose": "bad/docker-compose.yml",
            "dockerfile": "docker/Dockerfile.prod",
            "k8s_manifests": "k8s/production.yaml",
        },
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--golive=prod",
        "-rA",
        f"--golive-json={pytester.path / 'results.json'}",
        timeout=300,
    )
    output = result.stdout.str() + result.stderr.str()
    statuses = _statuses(pytester)
    assert statuses == {
        "docker/health-checks-configured-in-docker-compose": "passed",
        "docker/draft-restart": "failed",
        "docker/draft-secrets": "failed",
        "docker/multi-stage-build": "passed",
        "docker/dev-base": "failed",
        "kubernetes/probes-and-resources": "passed",
    }, output
    assert "api: restart: no restart policy (Compose's default is no)" in output
    assert "NO-GO" in output
    assert_no_leak(SECRETS, output, pytester.path / "results.json")


# --- live containers: a real podman -----------------------------------------------------------


@pytest.mark.real_systems
def test_live_containers_with_podman(
    podman_env: Podman, pytester: pytest.Pytester, local_host: Any
) -> None:
    pm = podman_env
    # The container's environment holds its secrets; inspect must leave it on the host.
    token = "golive-" + uuid.uuid4().hex
    pm.run(
        "golive-api",
        "--env",
        f"DB_PASSWORD={token}",
        "--user",
        "10001:10001",
        "--restart",
        "unless-stopped",
        "--health-cmd",
        "/bin/true",
        "--health-retries",
        "1",
    )
    pm.run(
        "golive-worker",
        "--restart",
        "on-failure:3",
        "--health-cmd",
        "/bin/false",
        "--health-retries",
        "1",
    )
    pm.run("golive-oneshot", "--user", "app", command=("/bin/false",))
    pm("healthcheck", "run", "golive-api", check=False)
    pm("healthcheck", "run", "golive-worker", check=False)
    pm("wait", "golive-oneshot", check=False)

    api = run(
        "container",
        local_host,
        name="golive-api",
        engine="podman",
        require="running,healthy,restarts,restart_policy,non_root,pinned_image",
    )
    assert api.status == "passed", api.summary()
    assert api.details["engine"] == {"golive-api": "podman"}
    worker = run("container", local_host, name="golive-worker", engine="podman")
    assert (
        worker.status == "failed"
        and worker.observed == "healthy: unhealthy (failing streak 1); non_root: no user (root)"
    )
    absent = run("container", local_host, name="golive-nothing-here", engine="podman")
    assert (
        absent.status == "failed" and absent.observed == "exists: no container golive-nothing-here"
    )
    both = run("container", local_host, name="golive-api,golive-worker", require="running,healthy")
    assert both.status == "failed"
    assert both.observed == "golive-worker: healthy: unhealthy (failing streak 1)"
    assert [f["fact"] for f in both.details["facts"]] == [
        "golive-api: running",
        "golive-api: healthy",
        "golive-worker: running",
        "golive-worker: healthy",
    ]

    _project(
        pytester,
        "checklist-live.md",
        {"api_container": "golive-api"},
    )
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--golive=prod",
        "-rA",
        "--log-level=DEBUG",
        f"--golive-json={pytester.path / 'results.json'}",
        timeout=300,
    )
    output = result.stdout.str() + result.stderr.str()
    assert token in pm("container", "inspect", "golive-api").stdout  # it is there to leak
    assert_no_leak([token], output, pytester.path / "results.json", *everything(api))
    assert _statuses(pytester) == {
        "containers/api-container-running-and-healthy": "passed",
        "containers/worker-container-running-and-healthy": "failed",
        "containers/one-shot-job-is-not-left-running": "failed",
    }, output
    assert "healthy: unhealthy (failing streak 1)" in output


def test_include_copies_another_project_without_merging() -> None:
    project = load_project(read_local, str(COMPOSE / "include" / "compose.yaml"))
    assert sorted(project.services) == ["api", "prometheus"]
    assert project.services["prometheus"]["image"] == "prom/prometheus:v2.54.1"  # its own env file
    assert project.services["api"]["image"] == "registry.example.com/api:3.1.0"  # local wins
    assert "prometheus-data" in project.volumes
    assert project.files[-1].endswith("observability/compose.yaml")
    ev = facts(judge_services(project, require=["pinned_image", "named_volumes"]))
    assert ev["prometheus: pinned_image"] == (True, "image prom/prometheus:v2.54.1")
    assert ev["prometheus: named_volumes"] == (True, "named prometheus-data")


def test_services_of_inactive_profiles_are_not_judged(local_host: Any) -> None:
    path = str(COMPOSE / "profiles" / "compose.yaml")
    out = run("compose_service", local_host, path=path, require="pinned_image,restart")
    assert out.status == "passed", out.summary()
    assert out.details["services"] == ["api"] and out.details["not_started"] == ["adminer"]
    debug = run("compose_service", local_host, path=path, require="pinned_image", profiles="debug")
    assert debug.status == "failed"
    assert debug.observed == "adminer: pinned_image: image adminer:latest: moving tag :latest"
    with pytest.raises(CheckError, match="no service runs with profiles"):
        judge_services(
            load_project(read_local, str(COMPOSE / "profiles" / "only-debug.yaml")),
            require=["restart"],
        )


def test_k8s_workload_reads_a_directory_of_manifests(local_host: Any, tmp_path: Path) -> None:
    docs = (DATA / "k8s" / "production.yaml").read_text().split("\n---\n")
    for i, doc in enumerate(docs):
        (tmp_path / f"{i:02d}-part.yaml").write_text(doc)
    (tmp_path / "README.md").write_text("not a manifest: {")
    out = run(
        "k8s_workload", local_host, path=str(tmp_path), require="pdb,hpa", workloads="celery-worker"
    )
    assert out.status == "passed", out.summary()
    assert len(out.details["files"]) == len(docs)


@pytest.mark.parametrize(
    ("title", "context", "code", "binding"),
    [
        (
            "Docker Compose configured",
            "If Using Docker",
            "",
            ("compose_service", {"path": "${compose_file}"}),
        ),
        (
            "Production Dockerfile created (Dockerfile.prod)",
            "Container Images",
            "Dockerfile.prod",
            ("dockerfile", {"path": "Dockerfile.prod"}),
        ),
        (
            "Pods running (3/3 minimum)",
            "Deploy to Kubernetes",
            "",
            (
                "k8s_workload",
                {"path": "${k8s_manifests}", "require": "replicas", "min_replicas": "3"},
            ),
        ),
    ],
)
def test_rules_for_whole_files_and_replica_ratios(
    title: str, context: str, code: str, binding: tuple[str, dict[str, str]]
) -> None:
    proposal = propose(Line(1, 0, title, title, context, code, False))
    assert proposal is not None and proposal.candidates[0] == binding, proposal


def test_an_engine_that_cannot_answer_is_one_line(local_host: Any) -> None:
    """docker without a daemon, or no docker at all: either way one line, no traceback."""
    absent = "golive-no-such-container-" + uuid.uuid4().hex[:8]
    try:
        out = run("container", local_host, name=absent, engine="docker")
    except CheckError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith("host local: ")
        assert (
            "docker is not installed" in message or f"inspect {absent} failed: docker: " in message
        )
    else:  # a machine with a working docker daemon
        assert out.status == "failed" and out.observed == f"exists: no container {absent}"


def test_unreadable_files_are_one_line(local_host: Any, tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  api:\n    image: [unclosed\n    password: hunter2-not-shown\n")
    with pytest.raises(CheckError) as info:
        run("compose_service", local_host, path=str(broken))
    assert str(info.value) == f"Compose file {broken}: not valid YAML at line 4"
    (tmp_path / "Dockerfile").write_text("# only a comment\n")
    with pytest.raises(CheckError, match="no FROM instruction"):
        run("dockerfile", local_host, path=str(tmp_path / "Dockerfile"))
    with pytest.raises(CheckError, match="does not exist"):
        run("k8s_workload", local_host, path=str(tmp_path / "none.yaml"))


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        (
            "k8s_workload",
            {"path": "m.yaml", "min_replicas": "0"},
            "min_replicas must be at least 1",
        ),
        ("container", {"name": "api", "max_restarts": "-1"}, "max_restarts must not be negative"),
        ("compose_service", {"path": "c.yaml", "require": "healthchecks"}, "is not one of"),
    ],
)
def test_bindings_that_cannot_run_are_refused_at_collection(
    name: str, raw: dict[str, str], message: str
) -> None:
    from pytest_golive.checks.registry import CheckDefinitionError

    chk = REGISTRY.get(name)
    with pytest.raises((ValueError, CheckDefinitionError), match=message):
        params = chk.validate(raw)
        getattr(chk.func, "golive_validate", lambda p: None)(params)


def test_settings_are_no_secrets_but_a_written_default_is() -> None:
    project = load_project(read_local, str(COMPOSE / "settings.yaml"))
    ok, observed = facts(judge_services(project, require=["no_inline_secrets"]))[
        "api: no_inline_secrets"
    ]
    assert not ok
    assert observed == (
        "secrets written in the file: DB_PASSWORD (its default is written in the file), a value "
        "of 14 characters, DATABASE_URL (password in the URL), a value of 14 characters"
    )
    # Set in .env, the default is still in the file for anyone who reads it.
    env = {"DB_PASSWORD": "from-the-env-file-77"}
    again = load_project(
        lambda p: "DB_PASSWORD=from-the-env-file-77\n" if p.endswith(".env") else read_local(p),
        str(COMPOSE / "settings.yaml"),
    )
    assert again.services["api"]["environment"]["DB_PASSWORD"] == env["DB_PASSWORD"]
    ok, observed = facts(judge_services(again, require=["no_inline_secrets"]))[
        "api: no_inline_secrets"
    ]
    assert not ok and observed.startswith("secrets written in the file: DB_PASSWORD (its default")
    text = "FROM alpine:3.20\nENV AUTH_ENABLED=true SESSION_COOKIE_NAME=sid\nARG TOKEN_TTL=60\n"
    assert facts(judge_dockerfile(stages(text, "x"), require=["no_secrets"]))["no_secrets"][0]


@pytest.mark.real_systems
def test_files_are_read_through_an_ssh_host(fleet: Fleet, shared_dir: Path) -> None:
    """The deployed files on a server: the same checks over ssh, nothing secret in the evidence."""
    from pytest_golive.targets.host import HostTarget

    for name in ("good", "bad"):
        shutil.copytree(COMPOSE / name, shared_dir / name)
    shutil.copy(DATA / "dockerfile" / "Dockerfile.dev", shared_dir / "Dockerfile")
    shutil.copy(DATA / "k8s" / "draft.yaml", shared_dir / "draft.yaml")
    for p in shared_dir.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    spec = TargetSpec("host", "web1", (), fleet.options(fleet.hosts[0].ssh_url))
    host = HostTarget(spec, Settings(connect_timeout=5))
    try:
        good = run(
            "compose_service",
            host,
            path=str(shared_dir / "good" / "compose.yaml"),
            allow_bind_mounts="/etc/nginx/*",
        )
        assert good.status == "passed", good.summary()
        assert good.details["env_file"] == str(shared_dir / "good" / ".env")
        bad = run(
            "compose_service",
            host,
            path=str(shared_dir / "bad" / "docker-compose.yml"),
            require="no_inline_secrets",
        )
        assert bad.status == "failed" and "JWT_SECRET_KEY" in bad.observed
        dockerfile = run(
            "dockerfile", host, path=str(shared_dir / "Dockerfile"), require="non_root"
        )
        assert dockerfile.observed == "non_root: no USER in the final stage (stage 0): runs as root"
        manifests = run(
            "k8s_workload", host, path=str(shared_dir / "draft.yaml"), require="replicas"
        )
        assert manifests.observed == "Deployment/content-generator: replicas: replicas 1"
        missing = pytest.raises(CheckError, run, "dockerfile", host, path=str(shared_dir / "nope"))
        assert str(missing.value) == f"Dockerfile web1:{shared_dir / 'nope'} does not exist"
        assert_no_leak(SECRETS, *everything(good), *everything(bad), *everything(dockerfile))
    finally:
        host.close()


def test_restart_loop_lines_ask_the_engine() -> None:
    proposal = propose(Line(1, 0, "No container restart loops", "x", "Docker", "", False))
    assert proposal is not None
    assert proposal.candidates[0] == (
        "container",
        {"name": "${containers}", "require": "running,restarts"},
    )


def test_property_names_are_one_closed_set() -> None:
    from typing import get_args

    from pytest_golive.checks.containers.compose import ComposeProperty, ComposePropertyName

    assert (
        list(get_args(ComposePropertyName)) == [p.value for p in ComposeProperty] == ALL_PROPERTIES
    )


def test_built_services_take_user_and_healthcheck_from_their_dockerfile(local_host: Any) -> None:
    path = str(COMPOSE / "built" / "compose.yaml")
    out = run("compose_service", local_host, path=path, require="healthcheck,non_root")
    ev = {f["fact"]: (f["ok"], f["observed"]) for f in out.details["facts"]}
    dockerfile = str(COMPOSE / "built" / "app" / "Dockerfile.prod")
    assert ev["api: healthcheck"] == (
        True,
        f"no healthcheck in Compose; HEALTHCHECK CMD python in {dockerfile} (line 24)",
    )
    assert ev["api: non_root"] == (True, f"no user: set; USER app:app in {dockerfile} (line 22)")
    # build.target picks the build stage: root, no health check.
    assert ev["migrations: non_root"] == (
        False,
        f"no user: set, and {dockerfile} sets no USER (root)",
    )
    assert ev["migrations: healthcheck"] == (
        False,
        f"no healthcheck and no HEALTHCHECK in {dockerfile}",
    )
    assert ev["sidecar: non_root"] == (
        True,
        "no user: set; USER 65534 in sidecar's dockerfile_inline (line 2)",
    )
    tools = str(COMPOSE / "built" / "tools" / "Dockerfile")
    assert (
        ev["tools: non_root"][0] is False
        and f"its Dockerfile {tools} is not there" in ev["tools: non_root"][1]
    )
