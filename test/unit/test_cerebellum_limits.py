"""CommandLimiter and JointLimits: every clamp acts, and only when needed."""

from __future__ import annotations

import numpy as np
import pytest

from robot_control.cerebellum import CommandLimiter, JointLimits

pytestmark = pytest.mark.unit

DT = 0.001


def make_limits(n: int = 3, lower: float = -1.0, upper: float = 1.0, vmax: float = 2.0,
                amax: float = 20.0, emax: float = 10.0) -> JointLimits:
    return JointLimits.from_lists([f"j{i}" for i in range(n)], [lower] * n, [upper] * n, [vmax] * n,
                                  [amax] * n, [emax] * n)


def test_reachable_command_passes_unchanged() -> None:
    lim = CommandLimiter(make_limits(), DT)
    prev = np.array([0.0, 0.2, -0.3])
    vel = np.array([0.5, -1.0, 0.0])
    out = lim.limit(prev, vel, prev + vel * DT, vel)
    np.testing.assert_allclose(out.position, prev + vel * DT, atol=1e-12)
    np.testing.assert_allclose(out.velocity, vel, atol=1e-9)
    assert not out.limited.any()


def test_position_clamped_to_bounds() -> None:
    lim = CommandLimiter(make_limits(), DT)
    prev = np.array([1.0, -1.0, 0.0])
    out = lim.limit(prev, np.zeros(3), np.array([5.0, -5.0, 0.0]))
    np.testing.assert_allclose(out.position, [1.0, -1.0, 0.0])
    assert out.limited.tolist() == [True, True, False]


def test_velocity_clamped() -> None:
    # huge acceleration limit, so only max_velocity acts
    lim = CommandLimiter(make_limits(vmax=2.0, amax=1e6), DT)
    out = lim.limit(np.zeros(3), np.full(3, 2.0), np.array([0.5, -0.5, 0.0]))
    np.testing.assert_allclose(out.position, [2.0 * DT, -2.0 * DT, 0.0], atol=1e-12)
    np.testing.assert_allclose(np.abs(out.velocity[:2]), 2.0)
    assert out.velocity[2] == 0.0  # this acceleration limit allows stopping within one period
    assert out.limited.tolist() == [True, True, False]


def test_acceleration_clamped() -> None:
    lim = CommandLimiter(make_limits(vmax=2.0, amax=20.0), DT)
    out = lim.limit(np.zeros(3), np.zeros(3), np.array([0.5, -0.5, 0.0]))
    np.testing.assert_allclose(out.velocity, [20.0 * DT, -20.0 * DT, 0.0], atol=1e-12)
    np.testing.assert_allclose(out.position, out.velocity * DT, atol=1e-15)
    assert out.limited.tolist() == [True, True, False]


def test_effort_clamped() -> None:
    lim = CommandLimiter(make_limits(emax=10.0), DT)
    out = lim.limit(np.zeros(3), np.zeros(3), np.zeros(3), effort=np.array([50.0, -50.0, 3.0]))
    np.testing.assert_allclose(out.effort, [10.0, -10.0, 3.0])
    assert out.limited.tolist() == [True, True, False]
    eff, mask = lim.clamp_effort(np.array([11.0, 0.0, -10.0]))
    assert eff.tolist() == [10.0, 0.0, -10.0] and mask.tolist() == [True, False, False]


def test_hold_while_moving_decelerates_within_limits_and_settles() -> None:
    limits = make_limits(n=1, vmax=2.0, amax=20.0)
    lim = CommandLimiter(limits, DT)
    pos, vel = np.array([0.0]), np.array([2.0])  # moving at max speed, told to hold at 0
    target = np.array([0.0])
    positions = []
    for _ in range(2000):
        out = lim.limit(pos, vel, target)
        assert abs(out.velocity[0]) <= 2.0 + 1e-12
        assert abs(out.velocity[0] - vel[0]) <= 20.0 * DT + 1e-9
        pos, vel = out.position, out.velocity
        positions.append(pos[0])
    # overshoot limited to the stopping distance v^2 / (2a) (+ one period), no oscillation
    assert max(positions) <= 2.0**2 / (2 * 20.0) + 2.0 * DT
    assert abs(pos[0]) < 1e-9 and abs(vel[0]) < 1e-9
    crossings = np.count_nonzero(np.diff(np.sign(np.round(positions, 9))) != 0)
    assert crossings <= 2


def test_position_limit_wins_over_acceleration_when_braking_too_late() -> None:
    lim = CommandLimiter(make_limits(n=1, upper=1.0, vmax=2.0, amax=1.0), DT)
    pos, vel = np.array([0.999]), np.array([2.0])
    for _ in range(50):
        out = lim.limit(pos, vel, np.array([1.0]))
        assert out.position[0] <= 1.0
        pos, vel = out.position, out.velocity
    assert pos[0] == pytest.approx(1.0)


def test_joint_outside_limits_is_not_pushed_further_out() -> None:
    lim = CommandLimiter(make_limits(n=1, upper=1.0), DT)
    pos, vel = np.array([1.2]), np.array([0.0])
    previous = pos[0]
    for _ in range(500):
        out = lim.limit(pos, vel, np.array([1.5]))
        assert out.position[0] <= previous + 1e-12
        previous = out.position[0]
        pos, vel = out.position, out.velocity
    assert pos[0] == pytest.approx(1.0)


def test_dt_override() -> None:
    lim = CommandLimiter(make_limits(n=1, vmax=2.0, amax=1e6), DT)
    out = lim.limit(np.zeros(1), np.full(1, 2.0), np.ones(1), dt=0.002)
    assert out.position[0] == pytest.approx(0.004)
    with pytest.raises(ValueError):
        lim.limit(np.zeros(1), np.zeros(1), np.ones(1), dt=0.0)


def test_joint_limits_checks_and_select() -> None:
    with pytest.raises(ValueError, match="joint b: need finite lower <= upper"):
        JointLimits.from_lists(["a", "b"], [0, 1], [1, 0], [1, 1], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="joint a: max_velocity must be"):
        JointLimits.from_lists(["a"], [0], [1], [0], [1], [1])
    with pytest.raises(ValueError, match="duplicate"):
        JointLimits.from_lists(["a", "a"], [0, 0], [1, 1], [1, 1], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="max_effort: expected 2 values"):
        JointLimits.from_lists(["a", "b"], [0, 0], [1, 1], [1, 1], [1, 1], [1])
    limits = JointLimits.from_lists(["a", "b", "c"], [0, 1, 2], [1, 2, 3], [1, 1, 1], [1, 1, 1], [1, 1, 1])
    sub = limits.select(["c", "a"])
    assert sub.names == ("c", "a") and sub.lower.tolist() == [2.0, 0.0]
    with pytest.raises(ValueError, match="no limits for joint"):
        limits.select(["z"])
    with pytest.raises(ValueError):
        limits.lower[0] = 5.0  # read-only
    mapped = JointLimits.from_mapping({"a": {"lower": -1, "upper": 1, "max_velocity": 1,
                                             "max_acceleration": 2, "max_effort": 3}})
    assert mapped.max_effort.tolist() == [3.0]


def test_max_velocity_wins_over_acceleration_when_previous_command_was_too_fast() -> None:
    lim = CommandLimiter(make_limits(n=2, vmax=2.0, amax=1.0), DT)
    out = lim.limit(np.zeros(2), np.array([5.0, -5.0]), np.zeros(2))
    np.testing.assert_allclose(out.velocity, [2.0, -2.0])
    assert out.limited.all()
