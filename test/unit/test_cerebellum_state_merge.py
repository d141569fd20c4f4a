"""Merging /joint_states messages that name a subset of the joints (cerebellum.state_merge)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from robot_control.cerebellum import Controller, JointLimits
from robot_control.cerebellum.state_merge import JointStateMerger

pytestmark = pytest.mark.unit

NAMES = ("arm_1", "arm_2", "hand_1", "hand_2")


def test_full_message_in_any_order() -> None:
    m = JointStateMerger(NAMES)
    assert not m.complete and m.snapshot() is None and m.missing() == list(NAMES)
    assert m.update(10, ["hand_2", "arm_1", "hand_1", "arm_2"], [4.0, 1.0, 3.0, 2.0], [0.4, 0.1, 0.3, 0.2]) is None
    oldest, q, qd = m.snapshot()
    assert oldest == 10 and m.complete and m.missing() == []
    np.testing.assert_array_equal(q, [1, 2, 3, 4])
    np.testing.assert_array_equal(qd, [0.1, 0.2, 0.3, 0.4])
    assert m.update(11, list(NAMES), [5.0, 6.0, 7.0, 8.0]) is None  # order changes: mapping follows
    np.testing.assert_array_equal(m.snapshot()[1], [5, 6, 7, 8])
    np.testing.assert_array_equal(m.snapshot()[2], [0, 0, 0, 0])  # no velocities: 0 rad/s


def test_partial_messages_merge_without_inventing_values() -> None:
    m = JointStateMerger(NAMES)
    assert m.update(100, ["arm_1", "arm_2"], [0.1, 0.2], [1.0, 2.0]) is None
    assert m.snapshot() is None, "incomplete state must not reach the controller (it used to be NaN-filled)"
    assert m.missing() == ["hand_1", "hand_2"]
    assert m.update(200, ["hand_1", "hand_2"], [0.3, 0.4]) is None
    oldest, q, qd = m.snapshot()
    assert oldest == 100  # the arm joints are the least recently updated
    np.testing.assert_array_equal(q, [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_array_equal(qd, [1.0, 2.0, 0.0, 0.0])
    assert all(math.isfinite(v) for v in q)
    assert m.update(300, ["arm_2", "arm_1"], [0.25, 0.15]) is None
    oldest, q, qd = m.snapshot()
    assert oldest == 200  # now the hand joints are: a silent hand publisher makes the state stale
    np.testing.assert_array_equal(q, [0.15, 0.25, 0.3, 0.4])
    np.testing.assert_array_equal(qd, [0.0, 0.0, 0.0, 0.0])


def test_snapshot_is_a_copy() -> None:
    m = JointStateMerger(NAMES)
    m.update(1, list(NAMES), [1.0, 2.0, 3.0, 4.0])
    _, q, _ = m.snapshot()
    m.update(2, ["arm_1"], [9.0])
    assert q[0] == 1.0


@pytest.mark.parametrize(
    ("names", "position", "velocity", "reason"),
    [
        (["arm_1", "hand_1"], [0.1, math.nan], [], "joint hand_1 position is nan"),
        (["arm_1"], [0.1], [math.inf], "joint arm_1 velocity is inf"),
        (["arm_1", "tail"], [0.1, 0.2], [], "unknown joint.*tail"),
        (["arm_1", "arm_1"], [0.1, 0.2], [], "names a joint twice"),
        (["arm_1", "arm_2"], [0.1], [], "1 position.*for 2 joint"),
        (["arm_1", "arm_2"], [0.1, 0.2], [1.0], "1 velocities for 2 joint"),
        ([], [], [], "names no joints"),
    ],
)
def test_bad_messages_rejected_whole(names, position, velocity, reason) -> None:
    m = JointStateMerger(NAMES)
    m.update(1, list(NAMES), [1.0, 2.0, 3.0, 4.0], [0.0] * 4)
    before = m.snapshot()
    problem = m.update(2, names, position, velocity)
    assert problem is not None
    assert re.search(reason, problem), problem
    assert m.rejected == 1 and m.last_problem == problem
    after = m.snapshot()
    assert after[0] == before[0] == 1
    np.testing.assert_array_equal(after[1], before[1])
    np.testing.assert_array_equal(after[2], before[2])


def test_controller_counts_state_problems_reported_by_the_node() -> None:
    limits = JointLimits.from_lists(list(NAMES), [-1.0] * 4, [1.0] * 4, [1.0] * 4, [10.0] * 4, [5.0] * 4)
    c = Controller(NAMES, limits)
    c.note_state_problem("/joint_states incomplete: no value yet for hand_1")
    status = c.status()
    assert status["states_rejected"] == 1
    assert "hand_1" in status["last_state_problem"]
    assert not c.step(0.0).valid  # nothing valid received: still idle
