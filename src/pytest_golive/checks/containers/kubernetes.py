"""``k8s_workload``: workloads in Kubernetes manifests are fit for production.

Reads a manifest file (one or many YAML documents, a ``kind: List``, the
output of ``kustomize build`` or ``helm template``) through a host, and judges
every Deployment, StatefulSet, DaemonSet, ReplicaSet, Job and CronJob in it
with :func:`judge_workloads`, a pure function of the documents.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from pytest_golive.checks.containers._common import ImageRef, directory_files, read_on_host
from pytest_golive.checks.registry import check
from pytest_golive.core.outcome import CheckError, Evidence, Outcome
from pytest_golive.targets.host import HostTarget

K8sProperty = Literal["replicas", "resources", "probes", "non_root", "pinned_image", "pdb", "hpa"]
DEFAULT_PROPERTIES: list[str] = ["replicas", "resources", "probes", "non_root", "pinned_image"]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
#: Kinds whose pods run to completion: no replicas, no probes to answer traffic.
_BATCH = ("Job", "CronJob")


def documents(text: str, where: str) -> list[dict[str, Any]]:
    """Every object of a multi-document file, ``kind: List`` items unpacked."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise CheckError(f"manifest {where}: not valid YAML{at}") from None
    out: list[dict[str, Any]] = []
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        if str(doc.get("kind", "")).endswith("List") and isinstance(doc.get("items"), list):
            out.extend(d for d in doc["items"] if isinstance(d, dict))
        else:
            out.append(doc)
    return out


@dataclass(frozen=True)
class Workload:
    kind: str
    name: str
    namespace: str
    doc: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def pod_spec(self) -> dict[str, Any]:
        spec = self.doc.get("spec") or {}
        if self.kind == "CronJob":
            spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
        template = spec.get("template") or {}
        return dict(template.get("spec") or {})

    @property
    def pod_labels(self) -> dict[str, str]:
        spec = self.doc.get("spec") or {}
        if self.kind == "CronJob":
            spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
        meta = (spec.get("template") or {}).get("metadata") or {}
        return {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}

    def containers(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for c in self.pod_spec.get("containers") or []:
            if isinstance(c, dict):
                yield str(c.get("name", "?")), c


def find_workloads(docs: list[dict[str, Any]], names: list[str] | None = None) -> list[Workload]:
    found = []
    for doc in docs:
        kind = str(doc.get("kind", ""))
        if kind not in WORKLOAD_KINDS:
            continue
        meta = doc.get("metadata") or {}
        found.append(
            Workload(kind, str(meta.get("name", "?")), str(meta.get("namespace") or "default"), doc)
        )
    if names:
        unknown = [n for n in names if not any(n in (w.name, w.label) for w in found)]
        if unknown:
            known = ", ".join(w.label for w in found) or "none"
            raise CheckError(
                f"no workload {', '.join(unknown)} in the manifests (workloads: {known})"
            )
        found = [w for w in found if w.name in names or w.label in names]
    return found


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (matchLabels and matchExpressions) selects these labels."""
    match = selector.get("matchLabels") or {}
    if any(labels.get(str(k)) != str(v) for k, v in match.items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = (
            str(expr.get("key")),
            str(expr.get("operator")),
            [str(v) for v in expr.get("values") or []],
        )
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return bool(match or selector.get("matchExpressions"))


def _resources(w: Workload) -> tuple[bool, str]:
    missing = []
    for name, c in w.containers():
        res = c.get("resources") or {}
        for section in ("requests", "limits"):
            values = res.get(section) or {}
            lacks = [r for r in ("cpu", "memory") if r not in values]
            if lacks:
                missing.append(f"{name}: no {section} {'/'.join(lacks)}")
    return not missing, "; ".join(
        missing
    ) or "requests and limits for cpu and memory on every container"


def _probes(w: Workload) -> tuple[bool, str]:
    missing = []
    for name, c in w.containers():
        lacks = [p for p in ("livenessProbe", "readinessProbe") if not c.get(p)]
        if lacks:
            missing.append(f"{name}: no {' or '.join(lacks)}")
    return not missing, "; ".join(missing) or "liveness and readiness probes on every container"


def _non_root(w: Workload) -> tuple[bool, str]:
    pod = w.pod_spec.get("securityContext") or {}
    problems = []
    for name, c in w.containers():
        ctx = c.get("securityContext") or {}
        non_root = ctx.get("runAsNonRoot", pod.get("runAsNonRoot"))
        uid = ctx.get("runAsUser", pod.get("runAsUser"))
        if uid is not None and str(uid) == "0":
            problems.append(f"{name}: runAsUser 0")
        elif non_root is not True:
            problems.append(f"{name}: runAsNonRoot not true")
        if ctx.get("privileged") is True:
            problems.append(f"{name}: privileged")
    return not problems, "; ".join(problems) or "runAsNonRoot: true for every container"


def _pinned(w: Workload, require_digest: bool) -> tuple[bool, str]:
    problems, images = [], []
    spec = w.pod_spec
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if not isinstance(c, dict):
            continue
        ref = ImageRef.parse(str(c.get("image") or ""))
        problem = ref.pin_problem(require_digest=require_digest)
        if problem:
            problems.append(f"{c.get('name', '?')}: {ref.text or 'no image'}: {problem}")
        else:
            images.append(ref.text)
    return not problems, "; ".join(problems) or ", ".join(dict.fromkeys(images))


def judge_workloads(
    docs: list[dict[str, Any]],
    *,
    require: list[str],
    names: list[str] | None = None,
    min_replicas: int = 2,
    require_digest: bool = False,
) -> Evidence:
    """One fact per (workload, required property)."""
    found = find_workloads(docs, names)
    if not found:
        kinds = sorted({str(d.get("kind")) for d in docs})
        raise CheckError(
            f"no workload ({', '.join(WORKLOAD_KINDS)}) in the manifests"
            f" (kinds: {', '.join(kinds) or 'none'})"
        )
    pdbs = [d for d in docs if d.get("kind") == "PodDisruptionBudget"]
    hpas = [d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"]
    ev = Evidence()
    for w in found:
        batch = w.kind in _BATCH
        for prop in require:
            label = f"{w.label}: {prop}"
            if prop == "replicas":
                if w.kind == "DaemonSet" or batch:
                    ev.add(
                        label,
                        True,
                        f"{w.kind}: one pod per {'node' if w.kind == 'DaemonSet' else 'run'}",
                        f">= {min_replicas} replicas",
                    )
                    continue
                hpa = _hpa_for(w, hpas)
                replicas = (w.doc.get("spec") or {}).get("replicas", 1)
                if hpa is not None:
                    low = (hpa.get("spec") or {}).get("minReplicas", 1)
                    ev.add(
                        label,
                        int(low) >= min_replicas,
                        f"HPA minReplicas {low}",
                        f">= {min_replicas} replicas",
                    )
                else:
                    shown = f"replicas {replicas}" + (
                        " (not set: 1)" if "replicas" not in (w.doc.get("spec") or {}) else ""
                    )
                    ev.add(
                        label, int(replicas) >= min_replicas, shown, f">= {min_replicas} replicas"
                    )
            elif prop == "resources":
                ok, seen = _resources(w)
                ev.add(label, ok, seen, "cpu and memory requests and limits")
            elif prop == "probes":
                if batch:
                    ev.add(
                        label,
                        True,
                        f"{w.kind}: runs to completion, no probes needed",
                        "liveness and readiness probes",
                    )
                    continue
                ok, seen = _probes(w)
                ev.add(label, ok, seen, "liveness and readiness probes")
            elif prop == "non_root":
                ok, seen = _non_root(w)
                ev.add(label, ok, seen, "runAsNonRoot: true, not uid 0, not privileged")
            elif prop == "pinned_image":
                ok, seen = _pinned(w, require_digest)
                ev.add(
                    label,
                    ok,
                    seen,
                    "images by digest"
                    if require_digest
                    else "images by tag (not latest) or digest",
                )
            elif prop == "pdb":
                if w.kind == "DaemonSet" or batch:
                    continue
                hit = next(
                    (
                        p
                        for p in pdbs
                        if _same_ns(p, w)
                        and _selects((p.get("spec") or {}).get("selector") or {}, w.pod_labels)
                    ),
                    None,
                )
                ev.add(
                    label,
                    hit is not None,
                    f"PodDisruptionBudget {(hit.get('metadata') or {}).get('name')}"
                    if hit
                    else "no PodDisruptionBudget selects its pods",
                    "a PodDisruptionBudget selecting its pods",
                )
            elif prop == "hpa":
                if w.kind == "DaemonSet" or batch:
                    continue
                hpa = _hpa_for(w, hpas)
                seen = "no HorizontalPodAutoscaler targets it"
                if hpa is not None:
                    spec = hpa.get("spec") or {}
                    seen = (
                        f"HorizontalPodAutoscaler {(hpa.get('metadata') or {}).get('name')} "
                        f"({spec.get('minReplicas', 1)}-{spec.get('maxReplicas')})"
                    )
                ev.add(label, hpa is not None, seen, "a HorizontalPodAutoscaler")
    return ev


def _same_ns(doc: dict[str, Any], w: Workload) -> bool:
    return str((doc.get("metadata") or {}).get("namespace") or "default") == w.namespace


def _hpa_for(w: Workload, hpas: list[dict[str, Any]]) -> dict[str, Any] | None:
    for hpa in hpas:
        ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        if _same_ns(hpa, w) and ref.get("kind") == w.kind and ref.get("name") == w.name:
            return hpa
    return None


@check(target="host", aliases=("kubernetes_workload", "k8s_manifest"))
def k8s_workload(
    host: HostTarget,
    *,
    path: str,
    require: list[K8sProperty] | None = None,
    workloads: list[str] | None = None,
    min_replicas: int = 2,
    require_digest: bool = False,
) -> Outcome:
    """Kubernetes workloads have replicas, resources, probes, non-root pods and pinned images.

    The manifest file (multi-document YAML, ``kind: List``, ``kustomize build`` or
    ``helm template`` output saved to a file) is read through the host. Every
    Deployment, StatefulSet, DaemonSet, ReplicaSet, Job and CronJob is judged:

    * ``replicas``: ``spec.replicas`` (or its HPA's ``minReplicas``) >= ``min_replicas``;
    * ``resources``: every container requests and limits cpu and memory;
    * ``probes``: every container has a liveness and a readiness probe (not for Jobs);
    * ``non_root``: ``runAsNonRoot: true`` (pod or container), no ``runAsUser: 0``, not privileged;
    * ``pinned_image``: every image (init containers too) has a tag that is not latest or a digest;
    * ``pdb``: a PodDisruptionBudget in its namespace selects its pods (ask for it);
    * ``hpa``: a HorizontalPodAutoscaler targets it (ask for it).

    Args:
        path: the manifest file on the host, or a directory whose ``.yaml``/``.yml``/``.json``
            files are read together; use a variable such as ``${k8s_manifests}``.
        require: the properties to check (default: replicas, resources, probes, non_root,
            pinned_image; add pdb and hpa when the checklist asks for them).
        workloads: only these workloads (``name`` or ``Kind/name``).
        min_replicas: the fewest replicas a Deployment or StatefulSet may run.
        require_digest: images need ``@sha256:`` digests, tags are not enough.
    """
    wanted = [str(p) for p in (require or DEFAULT_PROPERTIES)]
    files = directory_files(host, path, (".yaml", ".yml", ".json")) or [path]
    docs = [
        doc
        for file in files
        for doc in documents(read_on_host(host, file, "manifest"), f"{host.name}:{file}")
    ]
    ev = judge_workloads(
        docs,
        require=wanted,
        names=workloads,
        min_replicas=min_replicas,
        require_digest=require_digest,
    )
    found = [w.label for w in find_workloads(docs, workloads)]
    return ev.outcome(files=files, workloads=found, required=wanted)


def _validate(params: dict[str, Any]) -> None:
    if int(params.get("min_replicas", 2)) < 1:
        raise ValueError("min_replicas must be at least 1")


# Collection calls this, so a binding that can never run fails with its checklist line.
k8s_workload.golive_validate = _validate  # type: ignore[attr-defined]
