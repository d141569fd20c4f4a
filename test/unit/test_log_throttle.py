"""R.Throttle: at most one log line per period, with the count of what it suppressed."""

from __future__ import annotations

import time

import pytest

from robot_control.common.ros import Throttle

pytestmark = pytest.mark.unit


def test_one_line_per_period_then_the_suppressed_count() -> None:
    lines: list[str] = []
    warn = Throttle(lines.append, 0.05)
    assert warn("rejected: NaN") is True
    assert not any(warn("rejected: NaN") for _ in range(999))
    assert lines == ["rejected: NaN"] and warn.suppressed == 999
    time.sleep(0.06)
    assert warn("rejected: late") is True
    assert lines[-1] == "rejected: late (999 similar suppressed)" and warn.suppressed == 0
