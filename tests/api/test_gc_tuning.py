"""REFUNDS_GC_THRESHOLD: parsed strictly, and applied by a serving process."""

from __future__ import annotations

import gc

import pytest

from api.gc_tuning import DEFAULT_GC_THRESHOLD, parse_threshold
from tests.api.serve_process import running


def test_three_positive_integers_or_python() -> None:
    assert parse_threshold("100000,50,1000") == (100_000, 50, 1_000)
    assert parse_threshold(" 700, 10 ,10 ") == (700, 10, 10)
    assert parse_threshold("Python") is None


@pytest.mark.parametrize("value", ["", "100000,50", "1,2,3,4", "0,10,10", "-1,10,10", "a,b,c"])
def test_anything_else_is_refused_with_what_is_expected(value: str) -> None:
    with pytest.raises(ValueError, match="three positive integers like 100000,50,1000"):
        parse_threshold(value)


def test_refunds_serve_applies_the_default_thresholds(database_url: str) -> None:
    with running(database_url, log_level="info") as served:
        assert f"garbage collector thresholds set to {parse_threshold(DEFAULT_GC_THRESHOLD)}" in (
            served.log()
        )


def test_apps_inside_the_test_process_leave_its_thresholds_alone(server: str) -> None:
    # the session's app has started in this process (tests/conftest.py asks for Python's own)
    assert gc.get_threshold() == (700, 10, 10)
