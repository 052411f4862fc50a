"""pytest-golive: production-readiness checklists as pytest tests.

The public API for writing checks lives here; everything else is internal.
"""

from pytest_golive.checks.registry import REGISTRY, check
from pytest_golive.outcome import CheckError, Evidence, NotApplicable, Outcome
from pytest_golive.secrets import Secret

__version__ = "0.1.0"

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
