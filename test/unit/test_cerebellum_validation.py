"""validate_trajectory / validate_state: each bad input is rejected with a reason that says where."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_control.cerebellum import (
    JointLimits,
    JointTrajectory,
    TrajectoryRejected,
    check_trajectory,
    validate_state,
    validate_trajectory,
)

pytestmark = pytest.mark.unit

NAMES = ("right_shoulder_joint", "right_elbow_joint")
LIMITS = JointLimits.from_lists(
    # limits in another order and with an extra joint: matched by name
    ["left_knee_joint", "right_elbow_joint", "right_shoulder_joint"],
    [0.0, -1.04, -3.0], [2.5, 2.09, 3.0], [5.0, 4.0, 3.0], [20.0] * 3, [30.0] * 3,
)
KNOWN = LIMITS.names


def traj(times: object = (0.5, 1.0, 1.5), positions: object = None, velocities: object = None,
         names: tuple[str, ...] = NAMES, accelerations: object = None) -> JointTrajectory:
    if positions is None:
        positions = [[0.0, 0.5], [0.5, 1.0], [1.0, 1.5]]
    return JointTrajectory(names, np.asarray(times, dtype=float), positions, velocities,  # type: ignore[arg-type]
                           accelerations)  # type: ignore[arg-type]


def reasons(t: JointTrajectory) -> list[str]:
    return validate_trajectory(t, KNOWN, LIMITS)


def test_valid_trajectory_has_no_reasons() -> None:
    assert reasons(traj()) == []
    assert reasons(traj(velocities=np.array([[0.0, 0.0], [3.0, -4.0], [0.0, 0.0]]))) == []
    check_trajectory(traj(), KNOWN, LIMITS)  # does not raise


def test_position_outside_limits_names_point_joint_value_and_bound() -> None:
    r = reasons(traj(positions=[[0.0, 0.5], [0.5, 1.0], [1.0, 3.1]]))
    assert r == ["point 2: joint right_elbow_joint position 3.10 rad outside [-1.04, 2.09]"]


def test_position_tolerance() -> None:
    assert reasons(traj(positions=[[0.0, 0.5], [0.5, 1.0], [1.0, 2.09 + 1e-7]])) == []
    assert reasons(traj(positions=[[0.0, 0.5], [0.5, 1.0], [1.0, 2.09 + 1e-5]]))


def test_velocity_above_max() -> None:
    r = reasons(traj(velocities=[[0.0, 0.0], [3.5, 0.0], [0.0, 0.0]]))
    assert r == ["point 1: joint right_shoulder_joint velocity 3.50 rad/s exceeds max 3.00"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_position_names_joint(bad: float) -> None:
    r = reasons(traj(positions=[[0.0, 0.5], [bad, 1.0], [1.0, 1.5]]))
    assert r == [f"point 1: joint right_shoulder_joint position is {bad}"]


def test_non_finite_velocity_acceleration_and_time() -> None:
    r = reasons(traj(velocities=[[0.0, 0.0], [0.0, math.nan], [0.0, 0.0]]))
    assert r == ["point 1: joint right_elbow_joint velocity is nan"]
    r = reasons(traj(velocities=np.zeros((3, 2)), accelerations=[[0.0, 0.0], [0.0, 0.0], [math.inf, 0.0]]))
    assert r == ["point 2: joint right_shoulder_joint acceleration is inf"]
    r = reasons(traj(times=(0.5, math.nan, 1.5)))
    assert any(x.startswith("point 1: time_from_start is nan") for x in r)


def test_unknown_and_duplicate_joints() -> None:
    r = validate_trajectory(traj(names=("right_shoulder_joint", "tail_joint")), KNOWN, LIMITS)
    assert "unknown joint(s): tail_joint" in r
    r = validate_trajectory(traj(names=("right_elbow_joint", "right_elbow_joint")), KNOWN, LIMITS)
    assert "duplicate joint name(s): right_elbow_joint" in r


def test_empty_trajectories() -> None:
    assert "trajectory has no points" in reasons(traj(times=(), positions=np.zeros((0, 2))))
    assert "trajectory names no joints" in reasons(traj(names=(), positions=np.zeros((3, 0))))


def test_shape_mismatches() -> None:
    r = reasons(traj(positions=[[0.0, 0.5], [0.5], [1.0, 1.5]]))  # ragged list
    assert r == ["point 1: 1 value(s) in positions for 2 joint(s)"]
    r = reasons(traj(positions=np.zeros((3, 3))))
    assert r == ["positions: expected shape (3 points, 2 joints), got (3, 3)"]
    r = reasons(traj(positions=[[0.0, 0.5], [0.5, 1.0]]))
    assert r == ["positions: 2 point(s) but 3 time(s) from start"]
    r = reasons(traj(velocities=np.zeros((2, 2))))
    assert r == ["velocities: expected shape (3 points, 2 joints), got (2, 2)"]


def test_times_must_be_non_negative_and_strictly_increasing() -> None:
    assert reasons(traj(times=(-0.1, 1.0, 1.5))) == ["point 0: time_from_start -0.100 s is negative"]
    assert reasons(traj(times=(0.5, 0.5, 1.5))) == [
        "point 1: time_from_start 0.500 s is not after point 0 (0.500 s)"]
    assert reasons(traj(times=(0.5, 1.0, 0.9))) == [
        "point 2: time_from_start 0.900 s is not after point 1 (1.000 s)"]
    assert reasons(traj(times=(0.0, 1.0, 1.5))) == []  # first point at 0 is allowed


def test_many_problems_are_summarised() -> None:
    positions = np.full((50, 2), 9.0)
    r = reasons(traj(times=np.arange(1, 51) * 0.1, positions=positions))
    assert len(r) == 11 and r[-1] == "positions: ... and 90 more outside limits"


def test_check_trajectory_raises_with_reasons() -> None:
    with pytest.raises(TrajectoryRejected, match="right_elbow_joint position 3.10") as info:
        check_trajectory(traj(positions=[[0.0, 0.5], [0.5, 1.0], [1.0, 3.1]]), KNOWN, LIMITS)
    assert len(info.value.reasons) == 1


def test_validate_state() -> None:
    assert validate_state(np.zeros(2), NAMES, np.zeros(2)) is None
    assert validate_state([0.0, 1.0], NAMES) is None
    assert validate_state(np.array([0.0, math.nan]), NAMES) == (
        "joint state: joint right_elbow_joint position is nan")
    assert validate_state(np.zeros(2), NAMES, np.array([math.inf, 0.0])) == (
        "joint state: joint right_shoulder_joint velocity is inf")
    assert validate_state(np.zeros(3), NAMES) == "joint state: 3 position(s) for 2 joint(s)"
    assert validate_state(np.array([1e308, 1e308]), NAMES) is None  # huge but finite
