"""mujoco_sim physics: the G1 stands, arms track, objects rest on the table (seconds of sim time)."""

from __future__ import annotations

import numpy as np
import pytest

from robot_control.body.mujoco_driver import MujocoSimDriver
from robot_control.body.robot_description import load_robot
from robot_control.body.types import JointCommand

pytestmark = pytest.mark.sim


def make(robot: str, **options: object) -> MujocoSimDriver:
    driver = MujocoSimDriver(load_robot(robot), {"pacing": "free", **options})
    driver.configure()
    driver.activate()
    return driver


def tilt_deg(quat_xyzw: np.ndarray) -> float:
    """Angle between the frame's z axis and world up."""
    x, y, _, _ = quat_xyzw
    zz = 1.0 - 2.0 * (x * x + y * y)
    return float(np.degrees(np.arccos(np.clip(zz, -1.0, 1.0))))


def test_g1_holds_stand_for_3s() -> None:
    g1 = make("g1", initial_posture="stand")
    z0 = g1.data.body("pelvis").xpos[2]
    cmd = JointCommand(g1.robot.joint_names, g1.robot.posture("stand"))
    worst_tilt, worst_dz = 0.0, 0.0
    for i in range(3000):
        if i % 10 == 0:
            state = g1.read()
            assert state.imu is not None
            assert np.linalg.norm(state.imu.orientation) == pytest.approx(1.0, abs=1e-6)
            worst_tilt = max(worst_tilt, tilt_deg(state.imu.orientation))
            worst_dz = max(worst_dz, abs(g1.data.body("pelvis").xpos[2] - z0))
        g1.write(cmd)
    assert g1.sim_time() == pytest.approx(3.0)
    assert worst_dz < 0.02
    assert worst_tilt < 3.0
    imu = g1.read().imu
    assert imu is not None
    assert np.linalg.norm(imu.angular_velocity) < 0.05
    np.testing.assert_allclose(imu.linear_acceleration, [0, 0, 9.81], atol=0.3)  # gravity included


def test_g1_arm_moves_toward_target_while_standing() -> None:
    g1 = make("g1")
    robot = g1.robot
    i = robot.index("right_shoulder_roll_joint")
    start = g1.read().joints.position[i]
    target = start - 0.4  # abduct the right arm sideways (clear of the table)
    for k in range(1500):  # 0.5 s ramp, then hold
        q = start + min(1.0, k / 500) * (target - start)
        g1.write(JointCommand(("right_shoulder_roll_joint",), np.array([q])))
    q = g1.read().joints.position[i]
    assert abs(q - target) < 0.03
    assert g1.data.body("pelvis").xpos[2] > 0.77  # still standing


def test_g1_stands_in_home_posture() -> None:
    g1 = make("g1", initial_posture="home")
    g1.step(2000)
    assert g1.data.body("pelvis").xpos[2] == pytest.approx(0.79, abs=0.02)
    np.testing.assert_allclose(g1.read().joints.position, g1.robot.posture("home"), atol=0.05)  # gravity sag


@pytest.mark.parametrize("robot", ["g1", "panda"])
def test_objects_rest_on_table(robot: str) -> None:
    driver = make(robot, seed=7)
    before = {o.name: o.position.copy() for o in driver.read().objects}
    driver.step(1000)
    for obj in driver.read().objects:
        assert obj.position[2] == pytest.approx(before[obj.name][2], abs=0.005), obj.name
        assert obj.position[2] >= 0.72 - 1e-6  # on (the bin) or above the table top
        np.testing.assert_allclose(obj.position[:2], before[obj.name][:2], atol=0.005)


def test_g1_seeded_object_poses() -> None:
    """reset(seed) jitters the objects: the same seed gives the same poses, another seed others,
    all within the scene's jitter of the nominal pose and resting upright on the table."""
    g1 = make("g1")
    scene = g1.scene
    nominal = {o.name: np.array(o.xy) for o in g1.built.objects}

    def poses(seed: int | None) -> dict[str, np.ndarray]:
        g1.reset(seed)
        return {o.name: o.position.copy() for o in g1.read().objects if o.name in nominal}

    first, again, other = poses(11), poses(11), poses(12)
    for name, xy in nominal.items():
        np.testing.assert_allclose(first[name], again[name])
        assert not np.allclose(first[name][:2], other[name][:2])
        assert np.all(np.abs(first[name][:2] - xy) <= scene.jitter_xy + 1e-9)
        size = next(o.size for o in g1.built.objects if o.name == name)
        assert first[name][2] == pytest.approx(scene.table.top + size[2] / 2)
    np.testing.assert_allclose(poses(None)["red_cube"][:2], nominal["red_cube"])
