"""TrajectorySampler: waypoints hit exactly, continuity at knots, cubic vs quintic, hold after end."""

from __future__ import annotations

import numpy as np
import pytest

from robot_control.cerebellum import JointTrajectory, TrajectorySampler, estimate_velocities

pytestmark = pytest.mark.unit

NAMES = ("a", "b")
TIMES = np.array([0.5, 1.0, 2.0, 2.5])
POS = np.array([[0.2, -0.1], [0.6, 0.3], [0.1, 0.5], [0.0, 0.0]])
VEL = np.array([[0.5, 0.0], [0.2, 0.4], [-0.3, 0.1], [0.0, 0.0]])
ACC = np.array([[0.0, 1.0], [-1.0, 0.5], [0.5, -0.5], [0.0, 0.0]])
START = 100.0
EPS = 1e-7


def sampler(velocities: np.ndarray | None = None, accelerations: np.ndarray | None = None,
            cur_p: tuple[float, float] = (0.0, 0.0), cur_v: tuple[float, float] = (0.1, -0.2)
            ) -> TrajectorySampler:
    traj = JointTrajectory(NAMES, TIMES, POS, velocities, accelerations)
    return TrajectorySampler(traj, START, np.array(cur_p), np.array(cur_v))


@pytest.mark.parametrize("kind", ["estimated", "cubic", "quintic"])
def test_hits_waypoints_exactly(kind: str) -> None:
    s = sampler(None if kind == "estimated" else VEL, ACC if kind == "quintic" else None)
    for t, p in zip(TIMES, POS, strict=True):
        pos, _, _ = s.sample(START + t)
        np.testing.assert_allclose(pos, p, atol=1e-12)
        pos, _, _ = s.sample(START + t - 1e-12)  # approaching from the left segment too
        np.testing.assert_allclose(pos, p, atol=1e-9)


@pytest.mark.parametrize("kind", ["estimated", "cubic", "quintic"])
def test_continuous_position_and_velocity_at_knots(kind: str) -> None:
    s = sampler(None if kind == "estimated" else VEL, ACC if kind == "quintic" else None)
    for t in TIMES[:-1]:
        before = s.sample(START + t - EPS)
        after = s.sample(START + t + EPS)
        np.testing.assert_allclose(before[0], after[0], atol=1e-5)
        np.testing.assert_allclose(before[1], after[1], atol=1e-4)


def test_given_velocities_and_accelerations_are_honoured() -> None:
    cubic = sampler(VEL)
    quintic = sampler(VEL, ACC)
    for k, t in enumerate(TIMES):
        np.testing.assert_allclose(cubic.sample(START + t - EPS)[1], VEL[k], atol=1e-4)
    for k, t in enumerate(TIMES[:-1]):
        _, vel, acc = quintic.sample(START + t)
        np.testing.assert_allclose(vel, VEL[k], atol=1e-9)
        np.testing.assert_allclose(acc, ACC[k], atol=1e-9)
        # quintic is continuous in acceleration at the knots
        np.testing.assert_allclose(quintic.sample(START + t - EPS)[2], quintic.sample(START + t + EPS)[2],
                                   atol=1e-3)
    # cubic is not: its acceleration jumps at interior knots, and differs from the quintic's
    jumps = [np.abs(cubic.sample(START + t - EPS)[2] - cubic.sample(START + t + EPS)[2]).max()
             for t in TIMES[1:-1]]
    assert max(jumps) > 0.1
    assert quintic.quintic and not cubic.quintic
    assert np.abs(cubic.sample(START + 1.5)[0] - quintic.sample(START + 1.5)[0]).max() > 1e-4


def test_implicit_first_point_is_current_state() -> None:
    s = sampler(cur_p=(0.05, -0.05), cur_v=(0.1, -0.2))
    pos, vel, _ = s.sample(START)
    np.testing.assert_allclose(pos, [0.05, -0.05])
    np.testing.assert_allclose(vel, [0.1, -0.2])
    # before the start it holds the first point
    np.testing.assert_allclose(s.sample(START - 1.0)[0], [0.05, -0.05])


def test_first_point_at_zero_is_used_as_is() -> None:
    traj = JointTrajectory(NAMES, np.array([0.0, 1.0]), np.array([[0.3, 0.3], [0.5, 0.5]]))
    s = TrajectorySampler(traj, 0.0, np.zeros(2), np.ones(2))
    np.testing.assert_allclose(s.sample(0.0)[0], [0.3, 0.3])
    np.testing.assert_allclose(s.sample(0.0)[1], [0.0, 0.0])


def test_holds_last_point_after_end_and_done_flag() -> None:
    s = sampler(VEL)
    assert not s.done(START + 2.4)
    assert s.done(START + 2.5)
    pos, vel, acc = s.sample(START + 10.0)
    np.testing.assert_allclose(pos, POS[-1])
    assert not vel.any() and not acc.any()
    assert s.end_time == pytest.approx(START + 2.5)


def test_sampling_backwards_in_time_still_correct() -> None:
    s = sampler()
    late = s.sample(START + 2.2)[0]
    early = s.sample(START + 0.7)[0]
    np.testing.assert_allclose(s.sample(START + 2.2)[0], late)
    fresh = sampler()
    np.testing.assert_allclose(fresh.sample(START + 0.7)[0], early)


def test_estimated_velocities_zero_at_ends_average_inside() -> None:
    times = np.array([0.0, 1.0, 3.0])
    pos = np.array([[0.0], [1.0], [2.0]])
    vel = estimate_velocities(times, pos)
    np.testing.assert_allclose(vel[:, 0], [0.0, 0.5 * (1.0 + 0.5), 0.0])


def test_single_point_holds_it() -> None:
    traj = JointTrajectory(("a",), np.array([0.0]), np.array([[0.4]]))
    s = TrajectorySampler(traj, 5.0, np.zeros(1))
    assert s.done(5.0)
    for t in (4.0, 5.0, 6.0):
        assert s.sample(t)[0][0] == pytest.approx(0.4)


def test_from_lists_keeps_ragged_input_for_validation() -> None:
    traj = JointTrajectory.from_lists(["a", "b"], [1.0, 2.0], [[0.0, 0.0], [1.0]], velocities=[])
    assert isinstance(traj.positions, list) and traj.velocities is None
    ok = JointTrajectory.from_lists(["a"], [1.0], [[0.5]])
    assert isinstance(ok.positions, np.ndarray) and ok.positions.shape == (1, 1)
