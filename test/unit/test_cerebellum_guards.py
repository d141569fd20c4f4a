"""Tilt guard, e-stop and watchdogs, driven with explicit times (no sleeping)."""

from __future__ import annotations

import math

import pytest

from robot_control.cerebellum import (
    EStop,
    StaleSetpointWatchdog,
    StateWatchdog,
    TiltGuard,
    roll_pitch_from_quaternion,
)

pytestmark = pytest.mark.unit


def quat_rpy(roll: float, pitch: float, yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) for R = Rz(yaw) Ry(pitch) Rx(roll) (REP-103 fixed-axis roll, pitch, yaw)."""
    cr, sr = math.cos(roll / 2), math.sin(roll / 2)
    cp, sp = math.cos(pitch / 2), math.sin(pitch / 2)
    cy, sy = math.cos(yaw / 2), math.sin(yaw / 2)
    return (sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
            cr * cp * sy - sr * sp * cy, cr * cp * cy + sr * sp * sy)


LEVEL = (0.0, 0.0, 0.0, 1.0)


@pytest.mark.parametrize("roll,pitch,yaw", [(0.3, 0.0, 0.0), (0.0, -0.4, 0.0), (0.2, 0.1, 2.5),
                                            (-0.1, 0.3, -3.0)])
def test_roll_pitch_independent_of_yaw(roll: float, pitch: float, yaw: float) -> None:
    r, p = roll_pitch_from_quaternion(quat_rpy(roll, pitch, yaw))
    assert r == pytest.approx(roll, abs=1e-9) and p == pytest.approx(pitch, abs=1e-9)


def test_tilt_trips_on_roll_and_on_pitch_but_not_on_yaw() -> None:
    guard = TiltGuard(0.5, 0.4)
    assert guard.check(quat_rpy(0.0, 0.0, 3.0)) is None  # any yaw is fine
    assert guard.check(quat_rpy(0.49, 0.39, -2.0)) is None
    assert not guard.tripped
    reason = guard.check(quat_rpy(0.6, 0.0, 1.0))
    assert reason is not None and "roll 0.60" in reason
    pitch_guard = TiltGuard(0.5, 0.4)
    reason = pitch_guard.check(quat_rpy(0.0, -0.45, 0.0))
    assert reason is not None and "pitch -0.45" in reason


def test_upside_down_trips() -> None:
    assert TiltGuard(0.5, 0.5).check(quat_rpy(math.pi, 0.0, 0.0)) is not None


def test_tilt_latches_and_resets_only_when_level() -> None:
    guard = TiltGuard(0.5, 0.5)
    first = guard.check(quat_rpy(0.7, 0.0, 0.0))
    assert first is not None
    assert guard.check(LEVEL) == first  # still latched, original reason kept
    assert guard.check(quat_rpy(0.0, 0.9, 0.0)) == first  # a new problem does not replace the cause
    assert not guard.reset() and guard.tripped  # still tilted
    guard.check(quat_rpy(0.1, 0.0, 0.5))
    assert guard.reset() and not guard.tripped
    assert guard.check(LEVEL) is None


@pytest.mark.parametrize("quat", [(math.nan, 0.0, 0.0, 1.0), (0.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.2),
                                  (0.0, 0.0, 1.0), (0.0, math.inf, 0.0, 1.0)])
def test_bad_quaternion_trips_and_blocks_reset_until_a_good_one(quat: tuple[float, ...]) -> None:
    guard = TiltGuard(0.5, 0.5)
    assert guard.check(quat) is not None
    assert not guard.reset()
    guard.check(LEVEL)
    assert guard.reset()


def test_tilt_bounds_checked() -> None:
    with pytest.raises(ValueError):
        TiltGuard(0.0, 0.5)
    with pytest.raises(ValueError):
        TiltGuard(0.5, math.nan)


def test_stale_setpoint_watchdog() -> None:
    wd = StaleSetpointWatchdog(0.1)
    assert not wd.expired(1000.0)  # no setpoint yet: waiting is not an error
    wd.feed(10.0)
    assert wd.armed
    assert not wd.expired(10.1)  # exactly at the deadline: still fine
    assert wd.expired(10.101)
    wd.feed(10.1)
    assert not wd.expired(10.15)
    wd.disarm()
    assert not wd.expired(20.0) and not wd.armed
    assert wd.age(20.0) is None


def test_state_watchdog() -> None:
    wd = StateWatchdog(0.02)
    assert not wd.has_state and not wd.stale(5.0)
    wd.feed(1.0)
    assert not wd.stale(1.02)
    assert wd.stale(1.021)
    assert wd.age(1.5) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        StateWatchdog(0.0)


def test_estop_latches_first_reason_until_reset() -> None:
    stop = EStop()
    assert not stop.engaged and not stop.reset()
    assert stop.engage("operator button")
    assert not stop.engage("later")
    assert stop.engaged and stop.reason == "operator button"
    assert stop.reset()
    assert not stop.engaged and stop.reason is None
