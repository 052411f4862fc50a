"""Python's cyclic garbage collector during a readiness run.

A run of 10,000 item-targets allocates millions of small objects (reports,
records, command answers) and keeps most of them until its reports are written.
With the default thresholds (700, 10, 10) the collector runs about 1,500 times
per 10,000 items and walks the whole heap in each full pass: about a tenth of
the runner's own CPU (``docs/performance.md``). A larger first threshold makes
young collections rarer and full ones rarer still; cyclic garbage is still
collected, in larger batches. The thresholds are the interpreter's public
interface (``gc.set_threshold``) and are put back when the run ends, so a
pytest session run inside another one (pytester) leaves the outer one as it was.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

#: Objects allocated (net) between young collections during a run (CPython's default: 700).
RUN_THRESHOLD = 10_000


def during_run() -> Callable[[], None]:
    """Raise the collector's first threshold for the run; return what puts it back."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], RUN_THRESHOLD), *before[1:])

    def restore() -> None:
        gc.set_threshold(*before)

    return restore
