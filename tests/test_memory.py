"""The collector's threshold is raised for a readiness run and put back after it."""

from __future__ import annotations

import gc

import pytest

from pytest_golive.integration.memory import RUN_THRESHOLD, during_run


def test_during_run_raises_the_first_threshold_and_restores_all() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 11, 12)
        restore = during_run()
        assert gc.get_threshold() == (RUN_THRESHOLD, 11, 12)
        restore()
        assert gc.get_threshold() == (700, 11, 12)
    finally:
        gc.set_threshold(*before)


def test_a_readiness_run_leaves_the_threshold_as_it_found_it(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", golive="""\
        checklists = []
        [environments.prod.hosts]
        local = ["local://"]
        """)
    pytester.makepyfile(test_gc="""
        import gc
        import pytest

        @pytest.mark.infrastructure
        def test_threshold_in_the_run():
            assert gc.get_threshold()[0] >= 10_000
        """)
    before = gc.get_threshold()
    result = pytester.runpytest("-p", "no:cacheprovider", "--golive=prod")
    result.assert_outcomes(passed=1)
    assert gc.get_threshold() == before
    plain = pytester.runpytest("-p", "no:cacheprovider", "test_gc.py")  # no readiness run
    plain.assert_outcomes(failed=1)
