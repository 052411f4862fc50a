"""Renderers: each turns the results model into one format and decides nothing.

``write_reports`` is called once, on the controller, at the end of a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_golive.session import GoliveSession


def write_reports(config: pytest.Config, gs: GoliveSession) -> None:
    opt = config.option
    data = gs.results.to_dict()
    if opt.golive_json:
        from pytest_golive.report.json_report import write_json

        write_json(Path(opt.golive_json), data, sign_key=opt.golive_sign_key)
