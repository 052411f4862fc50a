"""Import rules: checklist lines about containers, Compose, Dockerfiles and Kubernetes.

A line is about a kind of artefact when it, or the headings above it, name
that artefact (docker-compose, Dockerfile, Kubernetes/pods, containers); the
property comes from the line's own words. The file a line speaks of is
rarely written on the line, so the path is a variable of the environment
(``${compose_file}``, ``${dockerfile}``, ``${k8s_manifests}``) unless the
line names a file itself.
"""

from __future__ import annotations

import re

from pytest_golive.checks.rules import Line, Proposal, proposes

_COMPOSE = re.compile(
    r"docker[- ]?compose|\bcompose (file|stack|service|project|deployment)s?\b|compose\.ya?ml"
)
_DOCKERFILE = re.compile(
    r"dockerfiles?|\bimages? build|multi-?stage|base images?|container images?|\bimages?\b"
)
_K8S = re.compile(
    r"kubernetes|\bk8s\b|\bpods?\b|\bdeployments? (manifest|spec|yaml)|\bhelm\b|kustomiz|"
    r"manifests?\b|"
    r"\bstatefulsets?\b|poddisruptionbudget|\bpdbs?\b|\bhpa\b|horizontal ?pod ?autoscal"
)
_CONTAINER = re.compile(r"\bcontainer(s|ized)?\b|\bdocker\b|\bpodman\b")

_COMPOSE_FILE = re.compile(r"[\w./-]*(?:docker-)?compose[\w.-]*\.ya?ml")
#: A Dockerfile named as a file: in a code span, or with a directory or a suffix.
_DOCKERFILE_PATH = re.compile(r"(?:[\w.-]+/)+Dockerfile[\w.-]*|Dockerfile\.[\w.-]+")
_MANIFEST_FILE = re.compile(r"[\w./-]+\.ya?ml")

#: Property words shared by Compose, Dockerfile, Kubernetes and live containers.
_HEALTH = re.compile(r"health ?checks?|healthcheck")
_RESTART = re.compile(
    r"restart(ing)? polic(y|ies)|unless-stopped|restart: ?always|restart=always|auto-?restart"
)
_LIMITS = re.compile(
    r"(resource|memory|cpu|mem) (limits?|constraints?|quotas?)|limits? (set|configured|defined)|"
    r"requests? and limits?|mem_limit"
)
_VOLUMES = re.compile(r"named volumes?|volume mounts?|bind mounts?|persistent volumes?")
_NON_ROOT = re.compile(
    r"non-?root|not (as |run as )?root|runasnonroot|unprivileged user|as a (dedicated|regular) user"
)
_PINNED = re.compile(
    r"pinned|\blatest\b|image tags?|tagged|specific versions?|immutable tags?|digests?"
)
_PRIVILEGED = re.compile(r"privileged")
_HOST_NET = re.compile(r"host network|network_mode: ?host|--net(work)?=host")
_SECRETS = re.compile(r"secrets?|credentials?|passwords?")
_MULTI_STAGE = re.compile(r"multi-?stage")
_BASE = re.compile(
    r"base images?|minimal images?|production images?|distroless|slim images?|alpine"
)
_REPLICAS = re.compile(
    r"(\d+)\s*\+?\s*(?:replicas|pods|instances)|"
    r"replicas?\s*(?:>=|≥|of at least|at least|:)?\s*(\d+)"
)
_PROBES = re.compile(r"liveness|readiness|probes?")
_PDB = re.compile(r"poddisruptionbudget|disruption budget|\bpdbs?\b")
_HPA = re.compile(r"\bhpa\b|autoscal")
#: A line saying a file is there and fit, without naming a property.
_READY = re.compile(r"\b(configured|created|set up|in place|ready|production|exists?|defined)\b")
#: Words about what a running system does: a file cannot show them.
_RUNTIME = re.compile(
    r"\b(passing|passes|successful(ly)?|responding|working|green|tested|monitored|"
    r"documented|reviewed|planned|approved|communicated|scanned|scanning)\b"
)
#: Containers that keep restarting: a count the engine keeps.
_LOOPS = re.compile(
    r"restart(ing)? loops?|crash ?loop|restart counts?|not (keep )?restarting|"
    r"no (unexpected )?restarts"
)
_RUNNING = re.compile(
    r"(containers?|services?) (are |is )?(all )?(running|up|healthy)|docker ps|podman ps"
)


def _text(line: Line) -> str:
    return line.lower + " " + line.code.lower()


def _near(line: Line) -> str:
    """The headings and parent titles closest to the line (the last two levels)."""
    return " / ".join(line.context.lower().split(" / ")[-2:])


def _named(pattern: re.Pattern[str], line: Line) -> str | None:
    for word in line.code.split() + line.title.split():
        m = pattern.search(word.strip("`'\"(),;:"))
        if m:
            return m.group(0)
    return None


def _kind(line: Line) -> str | None:
    """compose, dockerfile, k8s or container: what the line (else its headings) is about."""
    for text in (_text(line), _near(line)):
        if _COMPOSE.search(text):
            return "compose"
        if _K8S.search(text) and not _COMPOSE.search(text):
            return "k8s"
        if re.search(r"dockerfiles?|multi-?stage|base images?", text):
            return "dockerfile"
        if _CONTAINER.search(text) or _DOCKERFILE.search(text):
            return "container"
    return None


@proposes("compose_service")
def _compose(line: Line) -> Proposal | None:
    t = _text(line)
    kind = _kind(line)
    if kind not in ("compose", "container") or _RUNTIME.search(t):
        return None
    wanted = _compose_properties(t)
    confidence = 0.85
    if kind == "container":
        # Only what a container's run configuration holds, not its image: limits,
        # restarts, volumes, privileges. Compose is the usual place to say it.
        wanted = [p for p in wanted if p in _RUN_CONFIG]
        confidence = 0.6
    if not wanted and kind == "compose" and _COMPOSE.search(line.lower) and _READY.search(t):
        # "Docker Compose configured": every property, the whole production standard.
        path = _named(_COMPOSE_FILE, line) or "${compose_file}"
        return Proposal(
            [("compose_service", {"path": path})], 0.6, "the Compose project is production-ready"
        )
    if not wanted:
        return None
    path = _named(_COMPOSE_FILE, line) or "${compose_file}"
    params = {"path": path, "require": ",".join(wanted)}
    if "restart" in wanted and "unless-stopped" in t and "always" not in t:
        params["restart_policies"] = "unless-stopped"
    return Proposal(
        [("compose_service", params)], confidence, f"Compose services: {', '.join(wanted)}"
    )


_RUN_CONFIG = ("restart", "limits", "named_volumes", "no_privileged", "no_host_network")


#: (the words that name it, a property): every property whose words a line uses, in this order.
_Properties = tuple[tuple[tuple[re.Pattern[str], ...], str], ...]

_COMPOSE_PROPERTIES: _Properties = (
    ((_HEALTH,), "healthcheck"),
    ((_RESTART,), "restart"),
    ((_LIMITS,), "limits"),
    ((_VOLUMES,), "named_volumes"),
    ((_NON_ROOT,), "non_root"),
    ((_PINNED,), "pinned_image"),
    ((_PRIVILEGED,), "no_privileged"),
    ((_HOST_NET,), "no_host_network"),
)
_K8S_PROPERTIES: _Properties = (
    ((_LIMITS, re.compile(r"resource requests?")), "resources"),
    ((_PROBES, _HEALTH), "probes"),
    ((_NON_ROOT,), "non_root"),
    ((_PINNED,), "pinned_image"),
    ((_PDB,), "pdb"),
    ((_HPA,), "hpa"),
)


def _named_properties(t: str, properties: _Properties) -> list[str]:
    return [name for words, name in properties if any(w.search(t) for w in words)]


def _compose_properties(t: str) -> list[str]:
    wanted = _named_properties(t, _COMPOSE_PROPERTIES)
    if _SECRETS.search(t) and re.search(
        r"environment|hard-?coded|inline|plain ?text|not in|no ", t
    ):
        wanted.append("no_inline_secrets")
    return wanted


@proposes("dockerfile")
def _dockerfile(line: Line) -> Proposal | None:
    t = _text(line)
    kind = _kind(line)
    if _RUNTIME.search(t) or kind in ("compose", "k8s") and not _MULTI_STAGE.search(t):
        return None
    wanted: list[str] = []
    params: dict[str, str] = {}
    confidence = 0.85
    if _MULTI_STAGE.search(t):
        wanted.append("multi_stage")
    if _BASE.search(t):
        kind_words = re.search(
            r"minimal|production|slim|distroless|alpine|approved|allowed|official", t
        )
        if kind_words:
            wanted.append("allowed_base")
        if _PINNED.search(t) or "production" in t or not kind_words:
            wanted.append("pinned_base")
    if kind in ("dockerfile", "container"):
        if _NON_ROOT.search(t):
            wanted.append("non_root")
        if _HEALTH.search(t):
            # A HEALTHCHECK in the image holds wherever the container runs.
            wanted.append("healthcheck")
            if not re.search(r"dockerfile|image|instruction", t + " " + _near(line)):
                confidence = 0.6
        if _PINNED.search(t) and "pinned_base" not in wanted:
            wanted.append("pinned_base")
            if not re.search(r"base|from", t):
                confidence = 0.55  # deployed images are also named in Compose files and manifests
        if _SECRETS.search(t) and re.search(r"dockerfile|image|env|arg|build", t):
            wanted.append("no_secrets")
    code_path = next((w.strip("`'\"") for w in line.code.split() if "Dockerfile" in w), None)
    if not wanted and re.search(r"dockerfile", line.lower) and _READY.search(t):
        # "Production Dockerfile created": it exists and holds to every property.
        path = code_path or _named(_DOCKERFILE_PATH, line) or "${dockerfile}"
        return Proposal([("dockerfile", {"path": path})], 0.7, "a production Dockerfile")
    if not wanted:
        return None
    if "pinned_base" in wanted and "digest" in t:
        params["require_digest"] = "true"
    path = code_path or _named(_DOCKERFILE_PATH, line) or "${dockerfile}"
    wanted = list(dict.fromkeys(wanted))
    return Proposal(
        [("dockerfile", {"path": path, "require": ",".join(wanted), **params})],
        confidence,
        f"Dockerfile: {', '.join(wanted)}",
    )


@proposes("k8s_workload")
def _k8s(line: Line) -> Proposal | None:
    t = _text(line)
    if _kind(line) != "k8s" or _RUNTIME.search(t):
        return None
    wanted: list[str] = []
    params: dict[str, str] = {}
    m = _REPLICAS.search(t)
    ratio = re.search(r"\b(\d+)\s*/\s*\d+\b", t)
    if ratio and re.search(r"replica|pods|instances", t):
        # "Pods running (3/3 minimum)": the manifests ask for 3; running, a person sees.
        wanted.append("replicas")
        params["min_replicas"] = ratio.group(1)
    elif m and re.search(r"replica|pods|instances", t):
        wanted.append("replicas")
        params["min_replicas"] = m.group(1) or m.group(2)
    elif re.search(r"replicas|high availability|multiple (pods|replicas)", t):
        wanted.append("replicas")
    wanted += _named_properties(t, _K8S_PROPERTIES)
    if not wanted:
        return None
    path = _named(_MANIFEST_FILE, line) or "${k8s_manifests}"
    return Proposal(
        [("k8s_workload", {"path": path, "require": ",".join(wanted), **params})],
        0.8,
        f"Kubernetes workloads: {', '.join(wanted)}",
    )


@proposes("container")
def _live(line: Line) -> Proposal | None:
    t = _text(line)
    loops = _LOOPS.search(t)
    if (
        _kind(line) not in ("container", "compose")
        or not (_RUNNING.search(t) or loops)
        or _PRIVILEGED.search(t)
    ):
        return None
    wanted = ["running"]
    if loops:
        wanted.append("restarts")
    if "healthy" in t or _HEALTH.search(t):
        wanted.append("healthy")
    if re.search(r"restart", t) and "restarts" not in wanted:
        wanted.append("restarts")
    return Proposal(
        [("container", {"name": "${containers}", "require": ",".join(wanted)})],
        0.7,
        f"a live container: {', '.join(wanted)}",
    )
