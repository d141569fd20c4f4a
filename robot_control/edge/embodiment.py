"""Embodiment adapters: one task-space interface for the G1 (Dex3 hand) and the Panda.

A task-space command is an end-effector point target in the world frame plus a gripper
command g in [0 = open, 1 = closed]. The adapter turns it into joint position targets:

* arm chain: velocity-limited differential IK with `mink` on a private, kinematics-only
  MjModel of the robot (only the chain joints are free; the base is bolted at the measured
  base pose). Orientation is fixed per embodiment (the grasp orientation): G1 palm facing
  sideways (+y world for the right hand, fingers forward: a SIDE power grasp), Panda top-down.
* hand: g interpolates between an open and a closed joint posture.

The "ee point" is where the object centre should be when grasped: the palm centre of the
Dex3 hand (between palm, thumb and fingers), the fingertip centre of the Panda hand. So the
same task-space policy ("bring the ee onto the object, close") drives both robots.

The G1 chain is the 7-DoF right (or left) arm only: the waist stays on its "stand" servo
targets, so the torso never leans (leaning the waist of the servo-held, free-standing G1
shifts its centre of mass and tipped it over). The G1 scene is laid out for that upright
reach (see robot_control.body.sim.scene): once raised from its hanging start, the hand stays
0.84-1.06 m high, at most 0.36 m in front of the pelvis and -0.40..+0.07 m to its side
(measured over full two-object episodes), where this IK meets position and grasp orientation
to a few mm. A mink collision-avoidance limit keeps the arm off the torso when reaching across.

Policy-facing layout (embodiment-agnostic), see `observation()` / `apply_action()`:
    obs  (14,) = object - ee (3) | target - ee (3) | commanded ee - ee (3) | ee velocity (3)
                 | gripper state (1, measured closure 0..1) | t / T (1, normalised skill time)
    act  (4,)  = ee position delta (3, m per control tick, clipped to max_step) added to the
                 COMMANDED ee point (so holding = zero action, no drift under load) | gripper cmd (1)
All vectors are world-frame differences, so nothing in them names joints or links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import mink
import numpy as np

from robot_control.body.robot_description import RobotDescription
from robot_control.body.sim import mujoco
from robot_control.body.sim.assets import model_path
from robot_control.body.types import JointCommand, JointStateSample

OBS_DIM = 14
ACT_DIM = 4
EE_SITE = "edge_ee"


@dataclass(frozen=True)
class EmbodimentSpec:
    """Static description of one arm + hand as used by the edge skills."""

    name: str  # e.g. "g1_right"
    robot: str  # description / scene name: g1 | panda
    chain: tuple[str, ...]  # description joint names driven by IK (base -> ee)
    hand: tuple[str, ...]  # description joint names of the hand
    ee_body: str  # MJCF body the ee point is attached to
    ee_offset: tuple[float, float, float]  # ee point in ee_body's frame
    grasp_quat: tuple[float, float, float, float]  # world orientation of ee_body (w, x, y, z)
    hand_open: Mapping[str, float]
    hand_closed: Mapping[str, float]
    base_body: str  # root body of the kinematic chain in the MJCF
    base_pos: tuple[float, float, float]  # nominal world pose of base_body
    base_quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    joint_prefix: str = ""  # description name = prefix + MJCF name
    max_joint_vel: float = 1.5  # rad/s, IK velocity limit
    joint_vel: Mapping[str, float] = field(default_factory=dict)  # per-joint overrides (rad/s)
    ik_range: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # narrower IK ranges
    sync_base: bool = True  # use the measured base pose for IK/FK (False: nominal base_pos)
    posture: Mapping[str, float] = field(default_factory=dict)  # IK regularisation target
    posture_cost: Mapping[str, float] = field(default_factory=dict)  # per joint; default 1e-2
    orientation_cost: float = 0.5
    # IK position cost (per m, against orientation_cost per rad and posture_cost per joint rad).
    # Each control tick asks the IK for a step of a few mm from the commanded ee point, so with a
    # cost of 1 a few degrees of orientation or posture error outweigh it: the G1's commanded ee
    # point went +0.9 mm x / -0.9 mm z per tick when asked for +2 mm y, its hand stopped 6-10 mm
    # short of the can and the expert's approach timed out in 16 of 115 can grasps. The G1 uses 10.
    position_cost: float = 1.0
    max_step: float = 0.008  # m per control tick for policy actions
    max_lead: float = 0.03  # m: the commanded ee point stays within this of the measured one (anti-windup)
    hand_bodies: tuple[str, ...] = ()  # bodies whose geoms count as "hand" for contact checks
    # side offset (world) from the object where the ee waits before a side approach; zero = top-down
    approach_dir: tuple[float, float, float] = (0.0, 0.0, 1.0)
    grasp_z_offset: float = 0.0  # ee height above the object centre when grasping
    # rad/s: the IK orientation target turns from the commanded ee orientation toward grasp_quat at
    # most this fast (None: at once). The G1 arm starts hanging, fingers down: turning the hand at
    # once swings the fingers forward into the table edge.
    max_rot_speed: float | None = None
    # IK collision avoidance: (moving bodies, bodies they must keep clear of), MJCF names; the
    # collision geoms of the two groups stay >= 1 cm apart (e.g. the G1 arm and its torso)
    avoid: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    # per hand joint: the part (g_start, g_end) of the gripper command g over which it travels from
    # open to closed; default (0, 1), all together. The G1 closes its fingers before its thumb.
    hand_schedule: Mapping[str, tuple[float, float]] = field(default_factory=dict)


_G1_ARM = ("shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow", "wrist_roll", "wrist_pitch", "wrist_yaw")


_G1_ARM_LINKS = ("shoulder_yaw_link", "elbow_link", "wrist_roll_link", "wrist_pitch_link")


def _g1_spec(side: str) -> EmbodimentSpec:
    s = 1.0 if side == "right" else -1.0  # mirror: right joint signs as in the description
    chain = tuple(f"{side}_{j}_joint" for j in _G1_ARM)
    fingers = ("index_0", "index_1", "middle_0", "middle_1")
    hand = tuple(f"{side}_hand_{j}_joint" for j in ("thumb_0", "thumb_1", "thumb_2") + fingers)
    hand_open = {f"{side}_hand_thumb_0_joint": 0.0, f"{side}_hand_thumb_1_joint": 0.7 * s,
                 f"{side}_hand_thumb_2_joint": 0.0, **{f"{side}_hand_{f}_joint": 0.0 for f in fingers}}
    hand_closed = {f"{side}_hand_thumb_0_joint": 0.0, f"{side}_hand_thumb_1_joint": -0.9 * s,
                   f"{side}_hand_thumb_2_joint": -0.9 * s,
                   **{f"{side}_hand_{f}_joint": 1.0 * s for f in fingers}}
    links = ("wrist_yaw_link", "hand_thumb_0_link", "hand_thumb_1_link", "hand_thumb_2_link",
             "hand_index_0_link", "hand_index_1_link", "hand_middle_0_link", "hand_middle_1_link")
    posture = {f"{side}_elbow_joint": 1.0, f"{side}_shoulder_pitch_joint": -0.4,
               f"{side}_shoulder_roll_joint": -0.2 * s}
    return EmbodimentSpec(
        name=f"g1_{side}", robot="g1", chain=chain, hand=hand,
        ee_body=f"{side}_wrist_yaw_link",
        # grasp centre: 2.8 cm off the palm, 1 cm from the palm centre toward the fingers (clear of the
        # thumb base while the open hand slides in)
        ee_offset=(0.100, 0.045 * s, 0.0),
        grasp_quat=(1.0, 0.0, 0.0, 0.0),  # fingers +x, palm normal +y (right) / -y (left), index up
        hand_open=hand_open, hand_closed=hand_closed,
        # fingers first, then the thumb presses the object into them (closing all at once, the
        # thumb pushes a box along the table and tips it)
        hand_schedule={j: ((0.4, 1.0) if "thumb" in j else (0.0, 0.6)) for j in hand},
        base_body="pelvis", base_pos=(0.0, 0.0, 0.79),
        max_joint_vel=1.5, posture=posture,
        orientation_cost=0.3, position_cost=10.0, max_rot_speed=1.0, max_lead=0.06, hand_bodies=tuple(f"{side}_{link}" for link in links),
        approach_dir=(0.0, -s, 0.0), grasp_z_offset=0.015,
        # reaching across the body, the upper arm / elbow would otherwise run into the torso
        avoid=(tuple(f"{side}_{link}" for link in _G1_ARM_LINKS) + tuple(f"{side}_{link}" for link in links),
               ("torso_link", "pelvis")),
    )


G1_RIGHT = _g1_spec("right")
G1_LEFT = _g1_spec("left")

PANDA = EmbodimentSpec(
    name="panda", robot="panda",
    chain=tuple(f"panda_joint{i}" for i in range(1, 8)), hand=("panda_finger_joint1",),
    ee_body="hand", ee_offset=(0.0, 0.0, 0.1034),
    grasp_quat=(0.0, 1.0, 0.0, 0.0),  # rot_x(pi): hand z down, fingers close along world y
    hand_open={"panda_finger_joint1": 0.04}, hand_closed={"panda_finger_joint1": 0.0},
    base_body="link0", base_pos=(0.0, 0.0, 0.72), joint_prefix="panda_",
    max_joint_vel=1.2,
    posture={"panda_joint2": -0.3, "panda_joint4": -2.2, "panda_joint6": 1.9, "panda_joint7": 0.785},
    orientation_cost=1.0, hand_bodies=("hand", "left_finger", "right_finger"),
    approach_dir=(0.0, 0.0, 1.0), grasp_z_offset=0.0,
)

SPECS: dict[str, EmbodimentSpec] = {s.name: s for s in (G1_RIGHT, G1_LEFT, PANDA)}


def build_ik_model(spec: EmbodimentSpec) -> mujoco.MjModel:
    """Kinematics-only copy of the robot: only the chain joints, base bolted, an ee site."""
    ms = mujoco.MjSpec.from_file(str(model_path(spec.robot)))
    for key in list(ms.keys):
        ms.delete(key)
    for coll in (ms.actuators, ms.sensors, ms.tendons, ms.equalities):
        for item in list(coll):
            ms.delete(item)
    keep = {n.removeprefix(spec.joint_prefix) if spec.joint_prefix else n for n in spec.chain}
    for joint in list(ms.joints):
        if joint.name not in keep:
            ms.delete(joint)
    ik_ranges = {(n.removeprefix(spec.joint_prefix) if spec.joint_prefix else n): r
                 for n, r in spec.ik_range.items()}
    base = ms.body(spec.base_body)
    base.pos = list(spec.base_pos)
    base.quat = list(spec.base_quat)
    ms.body(spec.ee_body).add_site(name=EE_SITE, pos=list(spec.ee_offset), size=[0.005, 0.005, 0.005])
    for joint in ms.joints:
        if joint.name in ik_ranges:
            joint.range = list(ik_ranges[joint.name])
    model = ms.compile()
    names = [model.joint(i).name for i in range(model.njnt)]
    if names != [n.removeprefix(spec.joint_prefix) if spec.joint_prefix else n for n in spec.chain]:
        raise ValueError(f"{spec.name}: IK model joints {names} do not match the chain {spec.chain}")
    return model


class EmbodimentAdapter:
    """Task-space (ee point + gripper) to joint targets for one arm + hand of a robot."""

    def __init__(self, robot: RobotDescription, spec: EmbodimentSpec, control_dt: float = 0.02) -> None:
        if robot.name != spec.robot:
            raise ValueError(f"embodiment {spec.name} is for {spec.robot}, got a {robot.name} description")
        self.robot = robot
        self.spec = spec
        self.dt = float(control_dt)
        self.model = build_ik_model(spec)
        self.config = mink.Configuration(self.model)
        self._chain_idx = np.array([robot.index(n) for n in spec.chain])
        self._hand_idx = np.array([robot.index(n) for n in spec.hand])
        self.hand_open = np.array([spec.hand_open[n] for n in spec.hand])
        self.hand_closed = np.array([spec.hand_closed[n] for n in spec.hand])
        schedule = np.array([spec.hand_schedule.get(n, (0.0, 1.0)) for n in spec.hand], dtype=float).reshape(-1, 2)
        if np.any(schedule[:, 0] < 0) or np.any(schedule[:, 1] > 1) or np.any(schedule[:, 1] <= schedule[:, 0]):
            raise ValueError(f"{spec.name}: hand_schedule entries must be 0 <= start < end <= 1")
        self._g_start, self._g_end = schedule[:, 0], schedule[:, 1]
        self.grasp_rot = mink.SO3(np.asarray(spec.grasp_quat, dtype=float))
        self.task = mink.FrameTask(EE_SITE, "site", position_cost=spec.position_cost,
                                   orientation_cost=spec.orientation_cost, lm_damping=1e-3)
        cost = np.array([spec.posture_cost.get(n, 1e-2) for n in spec.chain])
        self.posture_task = mink.PostureTask(self.model, cost=cost)
        self.posture_task.set_target(np.array([spec.posture.get(n, 0.0) for n in spec.chain]))
        vel = {self.model.joint(i).name: np.array([spec.joint_vel.get(n, spec.max_joint_vel)])
               for i, n in enumerate(spec.chain)}
        self.limits = [mink.ConfigurationLimit(self.model), mink.VelocityLimit(self.model, vel)]
        if spec.avoid is not None:
            moving, static = (self._collision_geoms(group) for group in spec.avoid)
            self.limits.append(mink.CollisionAvoidanceLimit(
                self.model, [(moving, static)], minimum_distance_from_collisions=0.01,
                collision_detection_distance=0.05))
        self.q = self.config.q.copy()  # integrated chain command
        self.gripper = 0.0
        self.frozen = False  # True: hold the chain command (e.g. once lifted, against hand bounce)
        self.deadband = 2e-4  # m: no IK integration when the command is this close to the target

    def _collision_geoms(self, bodies: Sequence[str]) -> list[int]:
        ids = {self.model.body(b).id for b in bodies}
        m = self.model
        return [g for g in range(m.ngeom) if m.geom_bodyid[g] in ids and (m.geom_contype[g] or m.geom_conaffinity[g])]

    # -- joint bookkeeping ---------------------------------------------------------------
    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.spec.chain + self.spec.hand

    def chain_q(self, joints: JointStateSample | np.ndarray) -> np.ndarray:
        pos = joints.position if isinstance(joints, JointStateSample) else np.asarray(joints, dtype=float)
        if pos.shape[0] == len(self.spec.chain):
            return pos.astype(float).copy()
        return pos[self._chain_idx].astype(float).copy()

    def set_base_pose(self, pos: Sequence[float], quat_wxyz: Sequence[float]) -> None:
        """Measured pose of the chain's base body (the G1 pelvis floats; the Panda is bolted)."""
        bid = self.model.body(self.spec.base_body).id
        self.model.body_pos[bid] = np.asarray(pos, dtype=float)
        self.model.body_quat[bid] = np.asarray(quat_wxyz, dtype=float)
        self.config.update(self.config.q)

    def reset(self, joints: JointStateSample | np.ndarray) -> None:
        """Start a new episode from the measured joint state (the IK command jumps to it)."""
        self.q = np.clip(self.chain_q(joints), self.model.jnt_range[:, 0], self.model.jnt_range[:, 1])
        self.config.update(self.q)
        self.frozen = False
        self.gripper = 0.0

    # -- kinematics ------------------------------------------------------------------------
    def ee_position(self, joints: JointStateSample | np.ndarray | None = None) -> np.ndarray:
        """FK: world position of the ee point for a joint state (default: the IK command)."""
        q = self.q if joints is None else self.chain_q(joints)
        self.config.update(q)
        return self.config.get_transform_frame_to_world(EE_SITE, "site").translation().copy()

    def ee_rotation(self, joints: JointStateSample | np.ndarray | None = None) -> np.ndarray:
        q = self.q if joints is None else self.chain_q(joints)
        self.config.update(q)
        return self.config.get_transform_frame_to_world(EE_SITE, "site").rotation().as_matrix().copy()

    def ik_step(self, target: np.ndarray, iterations: int = 1) -> np.ndarray:
        """Advance the chain command by one control period toward the ee target (velocity-limited)."""
        target = np.asarray(target, dtype=float)
        self.config.update(self.q)
        if self.frozen:
            return self.q.copy()
        current = self.config.get_transform_frame_to_world(EE_SITE, "site").translation()
        if np.linalg.norm(current - target) < self.deadband:
            return self.q.copy()
        self.task.set_target(mink.SE3.from_rotation_and_translation(self._target_rotation(), target))
        for _ in range(iterations):
            v = mink.solve_ik(self.config, [self.task, self.posture_task], self.dt / iterations, "daqp",
                              damping=1e-3, limits=self.limits)
            self.config.integrate_inplace(v, self.dt / iterations)
        self.q = self.config.q.copy()
        return self.q.copy()

    def _target_rotation(self) -> mink.SO3:
        """grasp orientation, approached at max_rot_speed from the commanded one (config at self.q)."""
        if self.spec.max_rot_speed is None:
            return self.grasp_rot
        current = self.config.get_transform_frame_to_world(EE_SITE, "site").rotation()
        err = (current.inverse() @ self.grasp_rot).log()
        n = float(np.linalg.norm(err))
        limit = self.spec.max_rot_speed * self.dt
        if n <= limit:
            return self.grasp_rot
        return current @ mink.SO3.exp(err * (limit / n))

    def solve(self, target: np.ndarray, q0: np.ndarray | None = None, steps: int = 200) -> np.ndarray:
        """Offline IK: iterate ik_step from q0 (default: current command) toward a fixed target."""
        saved, frozen = self.q.copy(), self.frozen
        if q0 is not None:
            self.q = np.asarray(q0, dtype=float).copy()
        self.frozen = False
        for _ in range(steps):
            self.ik_step(target)
        q = self.q.copy()
        self.q, self.frozen = saved, frozen
        self.config.update(self.q)
        return q

    # -- hand ------------------------------------------------------------------------------------
    def hand_targets(self, gripper: float) -> np.ndarray:
        g = float(np.clip(gripper, 0.0, 1.0))
        frac = np.clip((g - self._g_start) / (self._g_end - self._g_start), 0.0, 1.0)
        return self.hand_open + frac * (self.hand_closed - self.hand_open)

    def gripper_state(self, joints: JointStateSample) -> float:
        """Measured closure in [0, 1] (mean over hand joints of the open->closed fraction)."""
        q = joints.position[self._hand_idx]
        span = self.hand_closed - self.hand_open
        frac = np.where(np.abs(span) > 1e-9, (q - self.hand_open) / np.where(span == 0, 1, span), 0.0)
        return float(np.clip(np.mean(frac), 0.0, 1.0))

    # -- commands ---------------------------------------------------------------------------------
    def command(self, target: np.ndarray, gripper: float) -> JointCommand:
        """Joint targets (chain + hand) for one control period toward an ee target."""
        self.gripper = float(np.clip(gripper, 0.0, 1.0))
        q = self.ik_step(target)
        return JointCommand(self.joint_names, np.concatenate([q, self.hand_targets(self.gripper)]))

    def apply_action(self, action: np.ndarray, ee_measured: np.ndarray | None = None,
                     gripper_max_rate: float | None = None) -> JointCommand:
        """Policy action (ee delta on the commanded ee point, gripper) -> joint command.

        With the measured ee point given, the new command is kept within max_lead of it, so
        a blocked or lagging arm does not wind the command up. With `gripper_max_rate` (1/s) the
        gripper command moves at most that much per second (per `dt`) from the previous one.
        """
        a = np.asarray(action, dtype=float).reshape(ACT_DIM)
        delta = a[:3]
        n = float(np.linalg.norm(delta))
        if n > self.spec.max_step:
            delta = delta * (self.spec.max_step / n)
        target = self.ee_position() + delta
        if ee_measured is not None:
            lead = target - np.asarray(ee_measured, dtype=float)
            n = float(np.linalg.norm(lead))
            if n > self.spec.max_lead:
                target = ee_measured + lead * (self.spec.max_lead / n)
        gripper = float(np.clip(a[3], 0.0, 1.0))
        if gripper_max_rate is not None:
            step = gripper_max_rate * self.dt
            gripper = min(max(gripper, self.gripper - step), self.gripper + step)
        return self.command(target, gripper)

    def observation(self, ee: np.ndarray, ee_vel: np.ndarray, obj: np.ndarray, target: np.ndarray,
                    gripper_state: float, t_norm: float) -> np.ndarray:
        """Embodiment-agnostic observation (see the module docstring); ee = measured ee point."""
        ee = np.asarray(ee, dtype=float)
        return np.concatenate([np.asarray(obj) - ee, np.asarray(target) - ee, self.ee_position() - ee,
                               ee_vel, [gripper_state, t_norm]]).astype(np.float32)
