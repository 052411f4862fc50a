"""pytest-golive: production-readiness checklists as pytest tests.

The public API for writing checks lives here; everything else is internal.
"""

from typing import Any

from pytest_golive.checks.registry import REGISTRY, check
from pytest_golive.core.outcome import CheckError, Evidence, NotApplicable, Outcome
from pytest_golive.core.secrets import Secret, secret
from pytest_golive.core.version import __version__

__all__ = [
    "REGISTRY",
    "CheckError",
    "Evidence",
    "NotApplicable",
    "Outcome",
    "Secret",
    "__version__",
    "check",
    "run_check",
    "secret",
]


def __getattr__(name: str) -> Any:
    # run_check needs pytest and the run's engine: imported when first asked for, so
    # importing this package (the golive command does) does not load pytest.
    if name == "run_check":
        from pytest_golive.integration.custom import run_check

        return run_check
    raise AttributeError(f"module 'pytest_golive' has no attribute {name!r}")
