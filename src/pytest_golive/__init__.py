"""pytest-golive: production-readiness checklists as pytest tests.

The public API for writing checks lives here; everything else is internal.
"""

from pytest_golive.checks.registry import REGISTRY, check
from pytest_golive.core.outcome import CheckError, Evidence, NotApplicable, Outcome
from pytest_golive.core.secrets import Secret
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
]
