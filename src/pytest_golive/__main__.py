"""``python -m pytest_golive``: the golive command."""

from pytest_golive.tools.cli import main

raise SystemExit(main())
