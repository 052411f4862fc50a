"""Test-suite configuration.

Fixtures that start real components live in ``tests/support/*.py``, one
module per kind of component; each is loaded here as a plugin so any test
can use them.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

pytest_plugins = sorted(
    f"support.{p.stem}" for p in (HERE / "support").glob("*.py") if not p.name.startswith("_")
)
