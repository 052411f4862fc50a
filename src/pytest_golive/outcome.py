"""Kept so that ``from pytest_golive.outcome import ...`` in existing checks keeps working.

The public home of these names is the top-level package: ``from pytest_golive import Outcome``.
"""

from pytest_golive.core.outcome import CheckError, Evidence, NotApplicable, Outcome

__all__ = ["CheckError", "Evidence", "NotApplicable", "Outcome"]
