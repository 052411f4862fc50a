"""Container checks: Compose files, Dockerfiles, Kubernetes manifests and live containers.

Files are read through a host target (``local://`` for the machine running
pytest), so the same check judges the file in the repository before a release
and the file deployed on a server after it. Each module gathers facts and
judges them with a pure function of those facts and the parameters.
"""

from __future__ import annotations

# Importing the modules registers their checks and import rules.
from pytest_golive.checks.containers import compose, dockerfile, kubernetes, live, rules  # noqa: F401
