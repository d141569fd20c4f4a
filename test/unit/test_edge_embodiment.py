"""EmbodimentAdapter kinematics: FK/IK round trip, hand mapping, observation/action layout."""

from __future__ import annotations

import numpy as np
import pytest

from robot_control.body.robot_description import load_robot
from robot_control.body.sim import mujoco
from robot_control.edge.embodiment import (
    ACT_DIM,
    G1_RIGHT,
    OBS_DIM,
    PANDA,
    EmbodimentAdapter,
    EmbodimentSpec,
)

pytestmark = pytest.mark.unit


# The grasp orientation is a soft IK task; both arms meet position and orientation inside the
# workspace their scenes use (the G1 one: see robot_control.body.sim.scene).
@pytest.mark.parametrize(("spec", "posture", "target", "tol"),
                         [(PANDA, "home", (0.45, -0.10, 0.80), 2e-3), (G1_RIGHT, "stand", (0.30, -0.25, 0.92), 3e-3)])
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


def test_g1_arm_only_upright_torso() -> None:
    """The G1 IK drives the right arm only: the waist keeps its stand targets (no lean)."""
    assert G1_RIGHT.chain == tuple(f"right_{j}_joint" for j in ("shoulder_pitch", "shoulder_roll",
                                                                "shoulder_yaw", "elbow", "wrist_roll",
                                                                "wrist_pitch", "wrist_yaw"))
    adapter = EmbodimentAdapter(load_robot("g1"), G1_RIGHT)
    cmd = adapter.command(np.array([0.28, -0.15, 0.95]), 0.0)
    assert not any("waist" in n or "hip" in n or "knee" in n or "ankle" in n for n in cmd.names)


def test_g1_ik_keeps_the_arm_off_the_torso() -> None:
    """Reaching across the body, the collision-avoidance limit keeps the arm >= ~1 cm off the torso."""
    robot = load_robot("g1")
    adapter = EmbodimentAdapter(robot, G1_RIGHT)
    adapter.reset(robot.posture("stand"))
    target = np.array([0.26, 0.10, 0.92])
    q = adapter.solve(target, steps=300)
    assert np.linalg.norm(adapter.ee_position(q) - target) < 0.015
    m = adapter.model
    data = mujoco.MjData(m)
    data.qpos[:] = q
    mujoco.mj_forward(m, data)
    torso = {m.body("torso_link").id, m.body("pelvis").id}
    arm = {m.body(f"right_{b}").id for b in ("shoulder_yaw_link", "elbow_link", "wrist_roll_link")}
    solid = [g for g in range(m.ngeom) if m.geom_contype[g] or m.geom_conaffinity[g]]
    fromto = np.zeros(6)
    gap = min(mujoco.mj_geomDistance(m, data, a, b, 0.1, fromto)
              for a in solid if m.geom_bodyid[a] in arm for b in solid if m.geom_bodyid[b] in torso)
    assert gap > 0.005, gap


def test_g1_turns_the_hand_gradually() -> None:
    """From the hanging arm (fingers down) the IK target turns toward the grasp orientation at
    max_rot_speed, so the hand does not swing its fingers forward at once."""
    robot = load_robot("g1")
    adapter = EmbodimentAdapter(robot, G1_RIGHT, control_dt=0.02)
    adapter.reset(robot.posture("stand"))
    start = adapter.ee_position()
    grasp = np.asarray(adapter.grasp_rot.as_matrix())

    def angle() -> float:
        rel = adapter.ee_rotation().T @ grasp
        return float(np.degrees(np.arccos(np.clip((np.trace(rel) - 1) / 2, -1.0, 1.0))))

    before = angle()
    assert before > 45.0
    for _ in range(5):  # 0.1 s: at 1 rad/s the hand turns <= ~6 degrees
        adapter.command(start, 0.0)
    assert before - angle() < 8.0
    assert np.linalg.norm(adapter.ee_position() - start) < 0.01  # and the ee point stays put


def test_g1_hand_closes_fingers_before_thumb() -> None:
    adapter = EmbodimentAdapter(load_robot("g1"), G1_RIGHT)
    hand = G1_RIGHT.hand
    thumb = np.array(["thumb_1" in n or "thumb_2" in n for n in hand])
    fingers = np.array(["index" in n or "middle" in n for n in hand])
    np.testing.assert_allclose(adapter.hand_targets(0.0), adapter.hand_open)
    np.testing.assert_allclose(adapter.hand_targets(1.0), adapter.hand_closed)
    mid = adapter.hand_targets(0.6)
    np.testing.assert_allclose(mid[fingers], adapter.hand_closed[fingers])  # fingers done at g = 0.6
    frac = (mid[thumb] - adapter.hand_open[thumb]) / (adapter.hand_closed[thumb] - adapter.hand_open[thumb])
    np.testing.assert_allclose(frac, 1 / 3)  # thumb from g = 0.4 to 1.0


def test_gripper_command_ramps_at_the_manifest_rate() -> None:
    """A policy that outputs the ramp's end (open: 0) is executed at gripper_max_rate per second."""
    adapter = EmbodimentAdapter(load_robot("g1"), G1_RIGHT, control_dt=0.02)
    adapter.reset(load_robot("g1").posture("stand"))
    adapter.command(adapter.ee_position(), 1.0)  # closed, as place leaves it
    hold = np.array([0.0, 0.0, 0.0, 0.0])
    seen = []
    for _ in range(25):
        adapter.apply_action(hold, gripper_max_rate=2.5)
        seen.append(adapter.gripper)
    np.testing.assert_allclose(seen[:3], [0.95, 0.90, 0.85])
    assert seen[19] == pytest.approx(0.0) and seen[-1] == 0.0  # open after 0.4 s, never below 0
    adapter.command(adapter.ee_position(), 1.0)
    adapter.apply_action(hold)  # no rate: the command jumps
    assert adapter.gripper == 0.0


def test_hand_mapping_and_layout() -> None:
    robot = load_robot("panda")
    adapter = EmbodimentAdapter(robot, PANDA)
    adapter.reset(adapter.solve(np.array([0.45, 0.0, 0.85]), q0=robot.posture("home")[:7], steps=400))
    start = adapter.ee_position()
    np.testing.assert_allclose(adapter.hand_targets(0.0), [0.04])
    np.testing.assert_allclose(adapter.hand_targets(1.0), [0.0])
    np.testing.assert_allclose(adapter.hand_targets(0.25), [0.03])  # no schedule: linear
    cmd = adapter.apply_action(np.array([0.1, 0.0, 0.0, 1.0]))  # delta clipped to max_step
    assert cmd.names == PANDA.chain + PANDA.hand and cmd.position.shape == (8,)
    moved = adapter.ee_position() - start
    assert np.linalg.norm(moved) <= PANDA.max_step + 1e-3
    ee = adapter.ee_position()
    obs = adapter.observation(ee, np.zeros(3), ee + 0.1, ee, 0.5, 0.2)
    assert obs.shape == (OBS_DIM,) and obs.dtype == np.float32 and ACT_DIM == 4


def _side_approach_error(spec: EmbodimentSpec) -> tuple[float, float]:
    """From the pre-grasp point beside the demo scene's can, 45 policy ticks of +2 mm y (the side
    approach): (distance of the commanded ee point from the grasp point, largest off-axis drift)."""
    from robot_control.body.sim.scene import G1_TABLE_TOP

    robot = load_robot("g1")
    adapter = EmbodimentAdapter(robot, spec)
    adapter.reset(robot.posture("stand"))
    grasp = np.array([0.28, 0.05, G1_TABLE_TOP + 0.06 + spec.grasp_z_offset])
    start = grasp - np.array([0.0, 0.09, 0.0])
    adapter.q = adapter.solve(start, steps=400)
    start = adapter.ee_position()
    drift = 0.0
    for _ in range(45):
        adapter.apply_action(np.array([0.0, 0.002, 0.0, 0.0]))
        off = adapter.ee_position() - start
        drift = max(drift, float(np.hypot(off[0], off[2])))
    return float(np.linalg.norm(adapter.ee_position() - (start + [0.0, 0.09, 0.0]))), drift


def test_g1_ik_step_goes_where_the_action_says() -> None:
    """Each tick asks the IK for a few mm from the commanded ee point: the position task must
    outweigh the orientation and posture tasks there, or the command drifts (with position cost 1
    the G1 hand went +0.9 mm x / -0.9 mm z per +2 mm y asked and stopped short of the can)."""
    err, drift = _side_approach_error(G1_RIGHT)
    assert err < 0.005 and drift < 0.003, (err, drift)  # position cost 1: 42 mm and 32 mm
