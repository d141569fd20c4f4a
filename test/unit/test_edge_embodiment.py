"""EmbodimentAdapter kinematics: FK/IK round trip, hand mapping, observation/action layout."""

from __future__ import annotations

import numpy as np
import pytest

from robot_control.body.robot_description import load_robot
from robot_control.edge.embodiment import ACT_DIM, G1_RIGHT, OBS_DIM, PANDA, EmbodimentAdapter, EmbodimentSpec

pytestmark = pytest.mark.unit


# The grasp orientation is a soft IK task: the 7-DoF Panda meets position and orientation, the
# G1 chain trades a few mm of position for orientation near the edge of its workspace.
@pytest.mark.parametrize(("spec", "posture", "target", "tol"),
                         [(PANDA, "home", (0.45, -0.10, 0.80), 2e-3), (G1_RIGHT, "stand", (0.30, -0.25, 0.90), 1e-2)])
def test_fk_ik_round_trip(spec: EmbodimentSpec, posture: str, target: tuple[float, float, float],
                          tol: float) -> None:
    robot = load_robot(spec.robot)
    adapter = EmbodimentAdapter(robot, spec)
    adapter.reset(robot.posture(posture))
    q = adapter.solve(np.array(target), steps=400)
    np.testing.assert_allclose(adapter.ee_position(q), target, atol=tol)  # IK then FK
    adapter.reset(q + 0.05)  # from a perturbed start, IK returns to FK(q)
    q2 = adapter.solve(adapter.ee_position(q), steps=400)
    np.testing.assert_allclose(adapter.ee_position(q2), adapter.ee_position(q), atol=tol)


def test_hand_mapping_and_layout() -> None:
    robot = load_robot("panda")
    adapter = EmbodimentAdapter(robot, PANDA)
    adapter.reset(adapter.solve(np.array([0.45, 0.0, 0.85]), q0=robot.posture("home")[:7], steps=400))
    start = adapter.ee_position()
    np.testing.assert_allclose(adapter.hand_targets(0.0), [0.04])
    np.testing.assert_allclose(adapter.hand_targets(1.0), [0.0])
    cmd = adapter.apply_action(np.array([0.1, 0.0, 0.0, 1.0]))  # delta clipped to max_step
    assert cmd.names == PANDA.chain + PANDA.hand and cmd.position.shape == (8,)
    moved = adapter.ee_position() - start
    assert np.linalg.norm(moved) <= PANDA.max_step + 1e-3
    ee = adapter.ee_position()
    obs = adapter.observation(ee, np.zeros(3), ee + 0.1, ee, 0.5, 0.2)
    assert obs.shape == (OBS_DIM,) and ACT_DIM == 4
