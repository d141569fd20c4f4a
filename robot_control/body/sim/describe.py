"""Generate config/robots/<robot>.yaml from the robot's MuJoCo model.

    python -m robot_control.body.sim.describe g1 > config/robots/g1.yaml
    python -m robot_control.body.sim.describe panda > config/robots/panda.yaml

Taken from the MJCF: the actuated joints (actuator order), lower/upper (joint range),
effort (joint `actuatorfrcrange`, else the actuator `forcerange`), kp/kd (the position
servo gains; kd is the damping MuJoCo derives from dampratio) and the keyframe postures.
Not in the MJCF, so tabulated below with their sources: velocity and acceleration limits.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass

import mujoco
import numpy as np

from robot_control.body.sim.assets import model_path
from robot_control.body.sim.scene import scene_for


@dataclass(frozen=True)
class Extra:
    """Hand-written parts of a description: limits the MJCF lacks, groups, postures."""

    header: str
    description: str
    base_frame: str
    imu_frame: str | None
    velocity: Callable[[str], float]
    acceleration: Callable[[str], float]
    groups: Callable[[list[str]], dict[str, list[str]]]
    postures: Callable[[dict[str, float]], dict[str, dict[str, float]]]  # keyframe -> postures


# -- Unitree G1 -------------------------------------------------------------------------
# Velocity limits (rad/s): the joint <limit velocity> values of Unitree's g1_29dof URDF
# (unitree_ros / unitree_rl_gym): hip pitch/yaw and waist yaw 32, hip roll and knee 20,
# ankles, waist roll/pitch, shoulders, elbows and wrist roll 37, wrist pitch/yaw 22.
# Dex3-1 finger joints: 10 rad/s, a conservative value (no URDF limit published).
G1_VELOCITY = {
    "hip_pitch": 32.0, "hip_roll": 20.0, "hip_yaw": 32.0, "knee": 20.0, "ankle_pitch": 37.0,
    "ankle_roll": 37.0, "waist_yaw": 32.0, "waist_roll": 37.0, "waist_pitch": 37.0,
    "shoulder_pitch": 37.0, "shoulder_roll": 37.0, "shoulder_yaw": 37.0, "elbow": 37.0,
    "wrist_roll": 37.0, "wrist_pitch": 22.0, "wrist_yaw": 22.0,
}
G1_HAND_VELOCITY = 10.0
# Acceleration limits (rad/s²): engineering choices for trajectory shaping (Unitree
# publishes none): legs 200, waist/arms 100, fingers 100.
G1_LEG_ACCEL, G1_UPPER_ACCEL, G1_HAND_ACCEL = 200.0, 100.0, 100.0

# "home": both arms forward, lowest finger ~23 cm above the table top (z 0.72), ~11 cm above
# the tallest default object; fingers as in "stand".
G1_HOME_ARMS = {"shoulder_pitch": -0.5, "shoulder_roll": 0.15, "shoulder_yaw": 0.0, "elbow": 0.3,
                "wrist_roll": 0.0, "wrist_pitch": 0.0, "wrist_yaw": 0.0}


def _g1_kind(joint: str) -> str:
    """'left_hip_pitch_joint' -> 'hip_pitch'."""
    core = joint.removesuffix("_joint")
    for side in ("left_", "right_"):
        core = core.removeprefix(side)
    return core


def _g1_velocity(joint: str) -> float:
    return G1_HAND_VELOCITY if "_hand_" in joint else G1_VELOCITY[_g1_kind(joint)]


def _g1_acceleration(joint: str) -> float:
    if "_hand_" in joint:
        return G1_HAND_ACCEL
    kind = _g1_kind(joint)
    return G1_LEG_ACCEL if kind.startswith(("hip", "knee", "ankle")) else G1_UPPER_ACCEL


def _g1_groups(joints: list[str]) -> dict[str, list[str]]:
    def pick(pred: Callable[[str], bool]) -> list[str]:
        return [j for j in joints if pred(j)]

    leg = ("hip", "knee", "ankle")
    arm = ("shoulder", "elbow", "wrist")
    groups = {}
    for side in ("left", "right"):
        groups[f"{side}_leg"] = pick(lambda j, s=side: j.startswith(s) and _g1_kind(j).startswith(leg))
    groups["waist"] = pick(lambda j: j.startswith("waist_"))
    for side in ("left", "right"):
        groups[f"{side}_arm"] = pick(lambda j, s=side: j.startswith(s) and _g1_kind(j).startswith(arm))
    for side in ("left", "right"):
        groups[f"{side}_hand"] = pick(lambda j, s=side: j.startswith(f"{s}_hand_"))
    groups["legs"] = groups["left_leg"] + groups["right_leg"]
    groups["arms"] = groups["left_arm"] + groups["right_arm"]
    groups["hands"] = groups["left_hand"] + groups["right_hand"]
    return groups


def _g1_postures(keyframe: dict[str, float]) -> dict[str, dict[str, float]]:
    stand = {j: v for j, v in keyframe.items() if v != 0.0}
    home = {j: v for j, v in stand.items() if "_hand_" in j}
    for side, sign in (("left", 1.0), ("right", -1.0)):
        for kind, value in G1_HOME_ARMS.items():
            if kind in ("shoulder_roll", "shoulder_yaw", "wrist_roll", "wrist_yaw"):
                value = sign * value  # mirrored joints
            if value != 0.0:
                home[f"{side}_{kind}_joint"] = value
    return {"stand": stand, "home": home}


G1 = Extra(
    header="Unitree G1 (29 DoF) with Dex3-1 hands, MuJoCo Menagerie unitree_g1/g1_with_hands.xml",
    description="Unitree G1 with Dex3 hands",
    base_frame="pelvis",
    imu_frame="imu_in_pelvis",
    velocity=_g1_velocity,
    acceleration=_g1_acceleration,
    groups=_g1_groups,
    postures=_g1_postures,
)

# -- Franka Panda -----------------------------------------------------------------------
# Velocity/acceleration limits: Franka Emika datasheet ("Robot and interface
# specifications"): qdot_max 2.175 (joints 1-4), 2.61 (5-7) rad/s; qddot_max 15, 7.5, 10,
# 12.5, 15, 20, 20 rad/s². Finger: 0.2 m/s as in franka_description; 1 m/s² (choice).
PANDA_VELOCITY = [2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61]
PANDA_ACCEL = [15.0, 7.5, 10.0, 12.5, 15.0, 20.0, 20.0]


def _panda_index(joint: str) -> int:
    return int(joint.removeprefix("panda_joint")) - 1


def _panda_velocity(joint: str) -> float:
    return 0.2 if "finger" in joint else PANDA_VELOCITY[_panda_index(joint)]


def _panda_acceleration(joint: str) -> float:
    return 1.0 if "finger" in joint else PANDA_ACCEL[_panda_index(joint)]


def _panda_groups(joints: list[str]) -> dict[str, list[str]]:
    return {"arm": [j for j in joints if "finger" not in j], "hand": [j for j in joints if "finger" in j]}


def _panda_postures(keyframe: dict[str, float]) -> dict[str, dict[str, float]]:
    ready = {"panda_joint2": -0.785, "panda_joint4": -2.356, "panda_joint6": 1.571, "panda_joint7": 0.785,
             "panda_finger_joint1": 0.04}
    return {"home": {j: v for j, v in keyframe.items() if v != 0.0}, "ready": ready}


PANDA = Extra(
    header="Franka Emika Panda + Franka hand, MuJoCo Menagerie franka_emika_panda/panda.xml",
    description="Franka Emika Panda with Franka hand (finger_joint2 mirrors finger_joint1)",
    base_frame="link0",
    imu_frame=None,
    velocity=_panda_velocity,
    acceleration=_panda_acceleration,
    groups=_panda_groups,
    postures=_panda_postures,
)

EXTRAS = {"g1": G1, "panda": PANDA}


# -- model reading --------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelJoint:
    name: str  # description name (scene joint_prefix + MJCF name)
    lower: float
    upper: float
    effort: float
    kp: float
    kd: float


def actuated_joints(model: mujoco.MjModel, prefix: str = "") -> list[tuple[ModelJoint, int, int]]:
    """(joint, MJCF joint id, actuator id) for each actuator, in actuator order.

    A fixed-tendon actuator (Panda gripper) is attributed to the tendon's first joint.
    """
    out = []
    for a in range(model.nu):
        trn = model.actuator_trntype[a]
        target = model.actuator_trnid[a, 0]
        if trn == mujoco.mjtTrn.mjTRN_JOINT:
            jid = int(target)
        elif trn == mujoco.mjtTrn.mjTRN_TENDON:
            adr = model.tendon_adr[target]
            jid = int(model.wrap_objid[adr])
        else:
            continue
        gain = float(model.actuator_gainprm[a, 0])
        scale = -float(model.actuator_biasprm[a, 1]) / gain if gain else 1.0  # ctrl per unit length
        kp = gain * scale
        kd = -float(model.actuator_biasprm[a, 2])
        if model.jnt_actfrclimited[jid]:
            effort = float(np.max(np.abs(model.jnt_actfrcrange[jid])))
        else:
            effort = float(np.max(np.abs(model.actuator_forcerange[a])))
        lower, upper = (float(v) for v in model.jnt_range[jid])
        out.append((ModelJoint(prefix + model.joint(jid).name, lower, upper, effort, kp, kd), jid, a))
    return out


def keyframe_posture(model: mujoco.MjModel, joints: list[tuple[ModelJoint, int, int]]) -> dict[str, float]:
    if model.nkey == 0:
        return {}
    qpos = model.key_qpos[0]
    # clipped: the G1 "stand" key has thumb_1 at ±1.05, just outside its ±1.0472 range
    return {j.name: float(round(np.clip(qpos[model.jnt_qposadr[jid]], j.lower, j.upper), 5))
            for j, jid, _ in joints}


def _num(value: float) -> str:
    text = f"{value:.6g}"
    return text if any(c in text for c in ".e") else text + ".0"


def describe(robot: str) -> str:
    extra = EXTRAS[robot]
    scene = scene_for(robot)
    model = mujoco.MjModel.from_xml_path(str(model_path(robot)))
    joints = actuated_joints(model, scene.joint_prefix)
    names = [j.name for j, _, _ in joints]
    lines = [
        "# GENERATED by `python -m robot_control.body.sim.describe "
        f"{robot}` from the MuJoCo model; edit describe.py, not this file.",
        f"# {extra.header}.",
        "# lower/upper: MJCF joint range; effort: joint actuatorfrcrange / actuator forcerange;",
        "# kp/kd: the model's position-servo gains; velocity/acceleration: see describe.py.",
        f"robot: {robot}",
        f"description: {extra.description}",
        f"base_frame: {extra.base_frame}",
    ]
    if extra.imu_frame:
        lines.append(f"imu_frame: {extra.imu_frame}")
    lines += ["control_rate_hz: 1000", "joints:"]
    for j, _, _ in joints:
        lines.append(
            f"  - {{name: {j.name}, lower: {_num(j.lower)}, upper: {_num(j.upper)}, "
            f"velocity: {_num(extra.velocity(j.name))}, acceleration: {_num(extra.acceleration(j.name))}, "
            f"effort: {_num(j.effort)}, kp: {_num(round(j.kp, 3))}, kd: {_num(round(j.kd, 3))}}}"
        )
    lines.append("groups:")
    for group, members in extra.groups(names).items():
        lines.append(f"  {group}: [{', '.join(members)}]")
    lines.append("postures:")
    for posture, values in extra.postures(keyframe_posture(model, joints)).items():
        body = ", ".join(f"{k}: {_num(v)}" for k, v in values.items())
        lines.append(f"  {posture}: {{{body}}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("robot", choices=sorted(EXTRAS))
    args = parser.parse_args(argv)
    sys.stdout.write(describe(args.robot))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
