"""config/robots/{g1,panda}.yaml agree with the MuJoCo models they were generated from."""

from __future__ import annotations

import numpy as np
import pytest

from robot_control import paths
from robot_control.body.robot_description import RobotDescription, load_robot
from robot_control.body.sim import describe, mujoco, scene
from robot_control.body.sim.assets import model_path

pytestmark = pytest.mark.unit

ROBOTS = ("g1", "panda")


def _model_joints(robot: str) -> list[describe.ModelJoint]:
    model = mujoco.MjModel.from_xml_path(str(model_path(robot)))
    return [j for j, _, _ in describe.actuated_joints(model, scene.scene_for(robot).joint_prefix)]


@pytest.mark.parametrize("robot", ROBOTS)
def test_description_matches_model_joint_set(robot: str) -> None:
    desc = load_robot(robot)
    joints = _model_joints(robot)
    assert desc.joint_names == tuple(j.name for j in joints)
    for spec, mj in zip(desc.joints, joints, strict=True):
        assert spec.lower == pytest.approx(mj.lower) and spec.upper == pytest.approx(mj.upper)
        assert spec.effort == pytest.approx(mj.effort)
        assert spec.kp == pytest.approx(mj.kp, rel=1e-3) and spec.kd == pytest.approx(mj.kd, rel=1e-3)
        assert spec.velocity > 0 and spec.acceleration > 0


@pytest.mark.parametrize("robot", ROBOTS)
def test_generated_yaml_is_up_to_date(robot: str) -> None:
    text = paths.config_path("robots", f"{robot}.yaml").read_text(encoding="utf-8")
    assert text == describe.describe(robot), f"regenerate: python -m robot_control.body.sim.describe {robot}"


def test_g1_description_layout() -> None:
    g1: RobotDescription = load_robot("g1")
    assert len(g1.joints) == 43  # 12 legs + 3 waist + 2 x 7 arm + 2 x 7 Dex3
    assert g1.imu_frame == "imu_in_pelvis" and g1.control_rate_hz == 1000
    sizes = {name: len(g1.group(name)) for name in ("left_leg", "right_leg", "waist", "left_arm", "right_arm",
                                                      "left_hand", "right_hand", "legs", "arms", "hands")}
    assert sizes == {"left_leg": 6, "right_leg": 6, "waist": 3, "left_arm": 7, "right_arm": 7, "left_hand": 7,
                     "right_hand": 7, "legs": 12, "arms": 14, "hands": 14}
    parts = ("legs", "waist", "arms", "hands")
    assert sorted(j for p in parts for j in g1.group(p)) == sorted(g1.joint_names)
    stand = g1.posture("stand")
    assert stand[g1.index("left_elbow_joint")] == pytest.approx(1.28)
    assert np.all(stand[[g1.index(j) for j in g1.group("legs")]] == 0.0)
    assert "home" in g1.postures


def test_panda_description_layout() -> None:
    panda = load_robot("panda")
    assert panda.joint_names[:7] == tuple(f"panda_joint{i}" for i in range(1, 8))
    assert panda.group("hand") == ("panda_finger_joint1",)
    assert panda.imu_frame is None
    assert set(panda.postures) >= {"home", "ready"}
    assert panda.posture("home")[panda.index("panda_joint4")] == pytest.approx(-1.57079)
