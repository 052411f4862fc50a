"""Custom check: the Kubernetes deployment runs at least N ready replicas ("Pods running (3/3 minimum)").

The check runs ``<kubectl> get deployment NAME -n NAMESPACE -o json`` on the
host (``golive_host``, where kubectl is configured) and reads the document:
``spec.replicas`` and ``status.readyReplicas`` must both be >= ``k8s_min_replicas``.
``get`` only reads the cluster.

STAND-IN in the example environment and CI: no cluster runs here. ``vars.kubectl``
names a small script (standin/kubectl) that prints a recorded JSON document
(standin/deployment.json) instead of asking a cluster. In production set
``kubectl = "kubectl"`` (or a path, or ``kubectl --context prod``).
"""

from __future__ import annotations

import json
import shlex

import pytest


def deployment(host, kubectl: str, name: str, namespace: str) -> dict:
    """The deployment's JSON document, or a one-line failure naming the command."""
    command = f"{kubectl} get deployment {shlex.quote(name)} -n {shlex.quote(namespace)} -o json"
    result = host.run(command)
    if result.rc != 0:
        pytest.fail(f"`{command}` exited {result.rc}: {result.stderr.strip()[:300]}", pytrace=False)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"`{command}` did not print JSON: {exc}", pytrace=False)


@pytest.mark.deployment(id="k8s-content-generator-replicas", on="ops")
def test_deployment_runs_enough_ready_replicas(golive_host, golive_env):
    """The deployment asks for and has at least the minimum number of ready replicas."""
    v = golive_env.vars
    name, namespace, minimum = v["k8s_deployment"], v["k8s_namespace"], int(v.get("k8s_min_replicas", "3"))
    doc = deployment(golive_host, v.get("kubectl", "kubectl"), name, namespace)
    desired = int(doc.get("spec", {}).get("replicas") or 0)
    ready = int(doc.get("status", {}).get("readyReplicas") or 0)
    assert desired >= minimum and ready >= minimum, (
        f"deployment {namespace}/{name}: observed {ready}/{desired} ready/desired replicas, "
        f"expected >= {minimum} of each"
    )
