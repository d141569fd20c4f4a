"""`mujoco_sim` driver: a MuJoCo physics simulation of the G1 or Panda tabletop scene.

The scene (robot, floor, table, graspable objects, bin) is built by
robot_control.body.sim.scene; physics runs at 1 kHz (timestep 0.001 s). Each write()
applies the position targets and advances physics by exactly one control period
(1 / rate_hz, i.e. 1 step at 1 kHz, 2 at 500 Hz); read() never steps. Time is simulated:
stamps and sim_time() are data.time. Options (all optional):

    robot: g1                # scene to build: g1 | panda (default: the description's name)
    pacing: realtime         # realtime | free. The caller paces: realtime = the body node
                             # calls read/write at rate_hz of wall time, free = as fast as it can
    objects: [red_cube, green_can]   # names from the scene catalogue and/or mappings
                             # {name, shape: box|cylinder, size, mass, position: [x, y], rgba}
    seed: null               # int: jitter object xy (±3 cm) and box yaw; null: nominal poses
    initial_posture: stand   # a posture of the description (default: stand, else home, else 0)
    rate_hz: 1000            # control rate; 1000 / rate_hz must be a whole number of steps
    noslip_iterations: 10    # the scene's noslip solver iterations (0: off, ~3x faster G1 steps)
    noslip: always           # always | robot_contact: run the noslip solver only while a robot
                             # geom touches a graspable object (and NOSLIP_HOLD_STEPS after).
                             # Grasps need it; a G1 standing or carrying nothing does not, and it is
                             # ~2/3 of a G1 step (330 -> 120 us measured). The live sim stacks use
                             # robot_contact; training and evaluation keep always.

Joints map to MJCF joints by name (the Panda description adds a `panda_` prefix); each is
driven by its position actuator, ctrl clipped to ctrlrange. read() reports effort as the
joint-space actuator force (qfrc_actuator; for the tendon-driven Panda gripper, the
tendon actuator force), the IMU from framequat/gyro/accelerometer sensors on the
description's imu_frame site, and the ground-truth pose + size of every object and the bin.
Feed-forward effort is added as a generalized force; velocity feed-forward is ignored.

Optional simulation hooks of the Driver contract: apply_wrench (an external push on a body,
e.g. the pelvis, for a duration of simulated time; /sim/push on the body node) and
reset_simulation (reset(seed) with the current seed, sim time keeps running; /sim/reset).

Sim-only extras, NOT part of the Driver contract (training / tests): reset(seed),
set_object_pose(name, pos, quat_xyzw), step(n), render(width, height, camera),
object_names, model, data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_control.body.driver import Driver, DriverError
from robot_control.body.sim import mujoco  # via sim/: picks a headless GL backend before loading mujoco
from robot_control.body.sim import scene as scenes
from robot_control.body.types import ImuSample, JointCommand, JointStateSample, ObjectPose, RobotState

PACINGS = ("realtime", "free")
OPTIONS = ("robot", "pacing", "objects", "seed", "initial_posture", "rate_hz", "noslip_iterations", "noslip")
NOSLIP_MODES = ("always", "robot_contact")
# robot_contact: after the last step with a robot-object contact, noslip stays on this many steps
NOSLIP_HOLD_STEPS = 50


@dataclass(frozen=True)
class _JointMap:
    """How one description joint maps onto the MuJoCo model."""

    name: str
    qpos: tuple[int, ...]  # qpos addresses set together at reset (a tendon's joints)
    qpos_adr: int  # the joint's own qpos / qvel address
    dof_adr: int
    actuator: int
    ctrl_scale: float  # ctrl = ctrl_scale * q + ctrl_offset (position-servo equilibrium)
    ctrl_offset: float
    tendon: bool  # effort from actuator_force instead of qfrc_actuator


@dataclass(frozen=True)
class _ObjectMap:
    name: str
    body: int
    qpos_adr: int  # -1 for the static bin
    dof_adr: int
    size: np.ndarray


def _xyzw(wxyz: np.ndarray) -> np.ndarray:
    return np.array([wxyz[1], wxyz[2], wxyz[3], wxyz[0]], dtype=float)


def _wxyz(xyzw: Sequence[float]) -> np.ndarray:
    return np.array([xyzw[3], xyzw[0], xyzw[1], xyzw[2]], dtype=float)


class MujocoSimDriver(Driver):
    name = "mujoco_sim"
    simulated = True

    model: mujoco.MjModel
    data: mujoco.MjData

    # -- lifecycle -----------------------------------------------------------------------
    def configure(self) -> None:
        opts = self.options
        unknown = sorted(set(map(str, opts)) - set(OPTIONS))
        if unknown:
            raise DriverError(f"mujoco_sim: unknown option(s) {', '.join(unknown)}; "
                              f"known: {', '.join(OPTIONS)}")
        robot = opts.get("robot", self.robot.name)
        if robot not in scenes.SCENES:
            raise DriverError(f"mujoco_sim: option robot={robot!r}: no scene for it; "
                              f"available: {', '.join(sorted(scenes.SCENES))}")
        self.pacing = opts.get("pacing", "realtime")
        if self.pacing not in PACINGS:
            raise DriverError(f"mujoco_sim: option pacing={self.pacing!r}: "
                              f"expected one of {', '.join(PACINGS)}")
        seed = opts.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise DriverError(f"mujoco_sim: option seed={seed!r}: expected an integer or null")
        self.seed: int | None = seed
        rate = opts.get("rate_hz", self.robot.control_rate_hz)
        numeric = isinstance(rate, (int, float)) and not isinstance(rate, bool)
        if not (numeric and math.isfinite(rate) and rate > 0):
            raise DriverError(f"mujoco_sim: option rate_hz={rate!r}: expected a positive number")
        steps = 1.0 / (float(rate) * scenes.TIMESTEP)
        if steps < 1.0 - 1e-9 or abs(steps - round(steps)) > 1e-6:
            raise DriverError(f"mujoco_sim: rate_hz={rate} is not 1000/N Hz; physics runs at 1 kHz, so the "
                              "control period must be a whole number of 1 ms steps (1000, 500, 250, ... Hz)")
        self.substeps = int(round(steps))
        posture = opts.get("initial_posture")
        if posture is None:
            posture = next((p for p in ("stand", "home") if p in self.robot.postures), None)
        elif posture not in self.robot.postures:
            raise DriverError(f"mujoco_sim: option initial_posture={posture!r}: the {self.robot.name} "
                              "description has no such posture "
                              f"(have: {', '.join(self.robot.postures) or 'none'})")
        self.initial_posture: str | None = posture

        try:
            self.built = scenes.build(robot, opts.get("objects"))
        except (scenes.SceneError, FileNotFoundError) as exc:
            raise DriverError(f"mujoco_sim: {exc}") from exc
        self.scene = self.built.scene
        self.model = self.built.model
        noslip = opts.get("noslip_iterations")
        if noslip is not None:
            if isinstance(noslip, bool) or not isinstance(noslip, int) or noslip < 0:
                raise DriverError(f"mujoco_sim: option noslip_iterations={noslip!r}: expected an integer >= 0")
            # Trades grasp robustness (slip-free contacts) for speed: ~3x faster G1 steps at 0.
            self.model.opt.noslip_iterations = noslip
        self.noslip_mode = opts.get("noslip", "always")
        if self.noslip_mode not in NOSLIP_MODES:
            raise DriverError(f"mujoco_sim: option noslip={self.noslip_mode!r}: expected one of "
                              f"{', '.join(NOSLIP_MODES)}")
        self._noslip_iterations = int(self.model.opt.noslip_iterations)
        self._noslip_hold = 0
        self.noslip_steps = 0  # physics steps run with the noslip solver (robot_contact mode)
        self.physics_steps = 0
        self.data = mujoco.MjData(self.model)
        self._map_joints()
        self._map_imu()
        self._map_objects()
        self._base_body = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, self.robot.base_frame)
        self._renderers: dict[tuple[int, int], Any] = {}
        self._push_body = -1  # body an external wrench acts on, for _push_steps more physics steps
        self._push_steps = 0
        self.pushes = 0
        self.active = False
        self.reset(self.seed)

    def activate(self) -> None:
        self._require()
        self.active = True  # hold targets stay as they are: the robot keeps its pose

    def deactivate(self) -> None:
        self.active = False  # keep the last targets: the robot holds

    def shutdown(self) -> None:
        for renderer in self._renderers.values() if hasattr(self, "_renderers") else ():
            renderer.close()
        self._renderers = {}
        self.active = False

    # -- mapping ---------------------------------------------------------------------------
    def _mj_joint(self, name: str) -> int:
        m = self.model
        prefix = self.scene.joint_prefix
        for candidate in (name, name.removeprefix(prefix) if prefix else None):
            if candidate:
                jid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, candidate)
                if jid >= 0:
                    return jid
        raise DriverError(f"mujoco_sim: joint {name!r} of the {self.robot.name} description is not in the "
                          f"{self.scene.robot} MuJoCo model")

    def _map_joints(self) -> None:
        m = self.model
        by_joint: dict[int, tuple[int, bool]] = {}
        tendon_joints: dict[int, list[int]] = {}
        tendon_coef: dict[int, float] = {}
        for a in range(m.nu):
            trn, target = m.actuator_trntype[a], int(m.actuator_trnid[a, 0])
            if trn == mujoco.mjtTrn.mjTRN_JOINT:
                by_joint.setdefault(target, (a, False))
            elif trn == mujoco.mjtTrn.mjTRN_TENDON:
                adr, num = m.tendon_adr[target], m.tendon_num[target]
                joints = [int(m.wrap_objid[adr + k]) for k in range(num)]
                tendon_joints[a] = joints
                tendon_coef[a] = float(sum(m.wrap_prm[adr + k] for k in range(num)))
                for jid in joints:
                    by_joint.setdefault(jid, (a, True))
        self._joints: list[_JointMap] = []
        for name in self.robot.joint_names:
            jid = self._mj_joint(name)
            if jid not in by_joint:
                raise DriverError(f"mujoco_sim: joint {name!r} has no actuator in the "
                                  f"{self.scene.robot} model")
            a, tendon = by_joint[jid]
            gain = float(m.actuator_gainprm[a, 0])
            b0, b1 = float(m.actuator_biasprm[a, 0]), float(m.actuator_biasprm[a, 1])
            if m.actuator_biastype[a] != mujoco.mjtBias.mjBIAS_AFFINE or gain == 0 or b1 >= 0:
                raise DriverError(f"mujoco_sim: actuator {m.actuator(a).name!r} of joint {name!r} is not a "
                                  "position servo")
            coef = tendon_coef[a] if tendon else 1.0  # actuator length per unit joint position
            coupled = tendon_joints[a] if tendon else [jid]
            qpos = tuple(int(m.jnt_qposadr[j]) for j in coupled)
            self._joints.append(_JointMap(name, qpos, int(m.jnt_qposadr[jid]), int(m.jnt_dofadr[jid]), a,
                                          -b1 * coef / gain, -b0 / gain, tendon))
        self._index = {j.name: i for i, j in enumerate(self._joints)}
        self._names = self.robot.joint_names  # a property that builds a tuple: cache it for read()
        self._qadr = np.array([j.qpos_adr for j in self._joints])
        self._dadr = np.array([j.dof_adr for j in self._joints])
        self._act = np.array([j.actuator for j in self._joints])
        self._scale = np.array([j.ctrl_scale for j in self._joints])
        self._offset = np.array([j.ctrl_offset for j in self._joints])
        self._tendon = np.array([j.tendon for j in self._joints])
        limited = m.actuator_ctrllimited[self._act].astype(bool)
        rng = m.actuator_ctrlrange[self._act]
        self._ctrl_lo = np.where(limited, rng[:, 0], -np.inf)
        self._ctrl_hi = np.where(limited, rng[:, 1], np.inf)
        self.lower, self.upper = self.robot.array("lower"), self.robot.array("upper")

    def _map_imu(self) -> None:
        self._imu: dict[int, int] | None = None
        frame = self.robot.imu_frame
        if frame is None:
            return
        m = self.model
        site = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, frame)
        if site < 0:
            raise DriverError(f"mujoco_sim: imu_frame {frame!r} is not a site of the "
                              f"{self.scene.robot} model")
        found: dict[int, int] = {}
        for s in range(m.nsensor):
            if m.sensor_objtype[s] == mujoco.mjtObj.mjOBJ_SITE and m.sensor_objid[s] == site:
                found.setdefault(int(m.sensor_type[s]), int(m.sensor_adr[s]))
        needed = (mujoco.mjtSensor.mjSENS_FRAMEQUAT, mujoco.mjtSensor.mjSENS_GYRO,
                  mujoco.mjtSensor.mjSENS_ACCELEROMETER)
        missing = [t.name for t in needed if int(t) not in found]
        if missing:
            raise DriverError(f"mujoco_sim: IMU site {frame!r} lacks sensor(s) {', '.join(missing)}")
        self._imu = {int(t): found[int(t)] for t in needed}

    def _map_objects(self) -> None:
        m = self.model
        self._objects: list[_ObjectMap] = []
        for obj in self.built.objects:
            body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, obj.name)
            jnt = int(m.body_jntadr[body])
            self._objects.append(_ObjectMap(obj.name, body, int(m.jnt_qposadr[jnt]), int(m.jnt_dofadr[jnt]),
                                            np.array(obj.size, dtype=float)))
        body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, scenes.BIN_NAME)
        bin_size = np.array(self.scene.bin.size, dtype=float)
        self._objects.append(_ObjectMap(scenes.BIN_NAME, body, -1, -1, bin_size))
        self._object_index = {o.name: o for o in self._objects}
        # noslip gating (option noslip: robot_contact): geoms of the robot and of the graspable objects
        robot_roots = {int(m.body_rootid[m.jnt_bodyid[self._mj_joint(j.name)]]) for j in self._joints}
        roots = m.body_rootid[m.geom_bodyid]
        self._robot_geom = np.isin(roots, sorted(robot_roots))
        self._object_geom = np.isin(roots, [m.body_rootid[o.body] for o in self._objects if o.qpos_adr >= 0])

    # -- Driver contract -----------------------------------------------------------------
    def _require(self) -> None:
        if not hasattr(self, "data"):
            raise DriverError("mujoco_sim: configure() has not been called")

    def read(self) -> RobotState:
        self._require()
        d = self.data
        stamp = float(d.time)
        effort = np.where(self._tendon, d.actuator_force[self._act], d.qfrc_actuator[self._dadr])
        joints = JointStateSample(self._names, d.qpos[self._qadr].copy(),
                                  d.qvel[self._dadr].copy(), effort.astype(float), stamp)
        imu = None
        if self._imu is not None:
            q = d.sensordata[self._imu[mujoco.mjtSensor.mjSENS_FRAMEQUAT]:][:4]
            gyro = d.sensordata[self._imu[mujoco.mjtSensor.mjSENS_GYRO]:][:3]
            acc = d.sensordata[self._imu[mujoco.mjtSensor.mjSENS_ACCELEROMETER]:][:3]
            quat = _xyzw(q)
            quat /= np.linalg.norm(quat)
            imu = ImuSample(self.robot.imu_frame or "imu", quat, gyro.copy(), acc.copy(), stamp)
        objects = [ObjectPose(o.name, d.xpos[o.body].copy(), _xyzw(d.xquat[o.body]), "world", o.size.copy())
                   for o in self._objects]
        base = None
        if self._base_body >= 0:
            b = self._base_body
            base = ObjectPose(self.robot.base_frame, d.xpos[b].copy(), _xyzw(d.xquat[b]), "world")
        return RobotState(joints=joints, imu=imu, objects=objects, base_pose=base)

    def write(self, command: JointCommand) -> None:
        self._require()
        names = tuple(command.names)
        unknown = [n for n in names if n not in self._index]
        if unknown:
            raise DriverError(f"mujoco_sim: unknown joint(s) in command: {', '.join(unknown)} "
                              f"(the {self.robot.name} description has {len(self._joints)} joints)")
        if len(set(names)) != len(names):
            raise DriverError("mujoco_sim: command names a joint twice")
        position = np.asarray(command.position, dtype=float).reshape(-1)
        if position.shape != (len(names),):
            raise DriverError(f"mujoco_sim: command has {len(names)} names but {position.size} positions")
        if not np.all(np.isfinite(position)):
            raise DriverError("mujoco_sim: command positions must be finite")
        effort = None
        if command.effort is not None:
            effort = np.asarray(command.effort, dtype=float).reshape(-1)
            if effort.shape != (len(names),) or not np.all(np.isfinite(effort)):
                raise DriverError(f"mujoco_sim: command effort must be {len(names)} finite numbers")
        if self.active and names:
            idx = np.array([self._index[n] for n in names])
            self._set_targets(idx, position)
            dofs = self._dadr[idx]
            self.data.qfrc_applied[dofs] = 0.0 if effort is None else effort
        self.step(1)

    def sim_time(self) -> float | None:
        return float(self.data.time) if hasattr(self, "data") else None

    def diagnostics(self) -> dict[str, str]:
        if not hasattr(self, "data"):
            return {"configured": "false"}
        return {
            "scene": self.scene.robot,
            "pacing": self.pacing,
            "physics_hz": f"{1.0 / self.model.opt.timestep:g}",
            "substeps_per_write": str(self.substeps),
            "sim_time": f"{self.data.time:.3f}",
            "objects": ", ".join(self.object_names),
            "seed": str(self.seed),
            "pushes": str(self.pushes),
            "push_active": str(self._push_steps > 0).lower(),
        }

    # -- optional simulation hooks of the Driver contract ---------------------------------
    def apply_wrench(self, force: Sequence[float], torque: Sequence[float], duration_s: float,
                     body: str | None = None) -> None:
        """Push: force (N) and torque (N·m) in the world frame at `body`'s centre of mass
        (default: the base frame, the G1 pelvis) for `duration_s` of simulated time, rounded to
        whole physics steps. Replaces a push still running."""
        self._require()
        name = body or self.robot.base_frame
        bid = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, name)
        if bid <= 0:  # -1: unknown; 0: the world body cannot be pushed
            raise DriverError(f"mujoco_sim: cannot push {name!r}: not a movable body of the "
                              f"{self.scene.robot} scene")
        try:
            wrench = np.concatenate([np.asarray(force, dtype=float).reshape(-1),
                                     np.asarray(torque, dtype=float).reshape(-1)])
            duration = float(duration_s)
        except (TypeError, ValueError) as exc:
            raise DriverError(f"mujoco_sim: push: {exc}") from exc
        if wrench.shape != (6,) or not np.all(np.isfinite(wrench)):
            raise DriverError("mujoco_sim: a push needs a finite force (3 numbers, N) and torque (3 numbers, N·m)")
        steps = round(duration / self.model.opt.timestep) if math.isfinite(duration) else 0
        if steps < 1:
            raise DriverError(f"mujoco_sim: push duration {duration_s!r} s: expected at least one physics "
                              f"step ({self.model.opt.timestep:g} s)")
        self._end_push()
        self.data.xfrc_applied[bid] = wrench  # MuJoCo: world frame, at the body's centre of mass
        self._push_body, self._push_steps = bid, int(steps)
        self.pushes += 1

    def reset_simulation(self) -> None:
        """reset(seed) with the current seed; simulated time continues (no jump back to 0)."""
        self._require()
        now = float(self.data.time)
        self._end_push()
        self.reset(self.seed)
        self.data.time = now

    def _end_push(self) -> None:
        if self._push_body > 0:
            self.data.xfrc_applied[self._push_body] = 0.0
        self._push_body, self._push_steps = -1, 0

    # -- sim-only extras (not part of the Driver contract) -------------------------------
    @property
    def object_names(self) -> tuple[str, ...]:
        """Graspable objects, then "bin"."""
        return tuple(o.name for o in self._objects)

    def _set_targets(self, idx: np.ndarray, q: np.ndarray) -> None:
        q = np.clip(q, self.lower[idx], self.upper[idx])
        ctrl = self._scale[idx] * q + self._offset[idx]
        self.data.ctrl[self._act[idx]] = np.clip(ctrl, self._ctrl_lo[idx], self._ctrl_hi[idx])

    def step(self, periods: int = 1) -> None:
        """Advance physics by `periods` control periods, holding the current targets."""
        self._require()
        steps = self.substeps * int(periods)
        if self._push_steps > 0:  # a push ends on its exact physics step
            pushed = min(steps, self._push_steps)
            mujoco.mj_step(self.model, self.data, nstep=pushed)
            self._push_steps -= pushed
            steps -= pushed
            if self._push_steps == 0:
                self._end_push()
        if steps > 0:
            if self.noslip_mode == "always":
                mujoco.mj_step(self.model, self.data, nstep=steps)
                self.physics_steps += steps
            else:
                for _ in range(steps):
                    self._gated_step()

    def _gated_step(self) -> None:
        """One physics step, with the noslip solver only while the robot touches an object (and
        NOSLIP_HOLD_STEPS after): it makes grasps hold, and costs ~2/3 of a G1 step."""
        m, d = self.model, self.data
        m.opt.noslip_iterations = self._noslip_iterations if self._noslip_hold > 0 else 0
        if self._noslip_hold > 0:
            self.noslip_steps += 1
        mujoco.mj_step(m, d)
        self.physics_steps += 1
        g = d.contact.geom
        touching = bool(np.any((self._robot_geom[g[:, 0]] & self._object_geom[g[:, 1]])
                               | (self._object_geom[g[:, 0]] & self._robot_geom[g[:, 1]]))) if len(g) else False
        self._noslip_hold = NOSLIP_HOLD_STEPS if touching else max(0, self._noslip_hold - 1)

    def reset(self, seed: int | None = None) -> None:
        """Episode reset: robot in the initial posture, holding it; objects placed (jittered with a seed)."""
        self._require()
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        if self.scene.base_qpos is not None:
            jnt = int(m.body_jntadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, self.scene.base_body)])
            adr = int(m.jnt_qposadr[jnt])
            d.qpos[adr:adr + 7] = self.scene.base_qpos
        q = (self.robot.posture(self.initial_posture) if self.initial_posture
             else np.clip(np.zeros(len(self._joints)), self.lower, self.upper))
        for joint, value in zip(self._joints, q, strict=True):
            d.qpos[list(joint.qpos)] = value
        self._set_targets(np.arange(len(self._joints)), q)
        for placement in self.built.placements(seed):
            obj = self._object_index[placement.name]
            d.qpos[obj.qpos_adr:obj.qpos_adr + 3] = placement.pos
            d.qpos[obj.qpos_adr + 3:obj.qpos_adr + 7] = placement.quat
        self.seed = seed
        mujoco.mj_forward(m, d)

    def set_object_pose(self, name: str, pos: Sequence[float], quat: Sequence[float] | None = None) -> None:
        """Teleport an object (or the bin) to a world pose; quat is x, y, z, w. Velocity is zeroed."""
        self._require()
        if name not in self._object_index:
            raise DriverError(f"mujoco_sim: unknown object {name!r} (have: {', '.join(self.object_names)})")
        p = np.asarray(pos, dtype=float).reshape(-1)
        qw = _wxyz(quat if quat is not None else (0.0, 0.0, 0.0, 1.0))
        if p.shape != (3,) or qw.shape != (4,) or not np.all(np.isfinite(p)) or not np.all(np.isfinite(qw)):
            raise DriverError("mujoco_sim: set_object_pose needs pos (3 numbers) and quat x, y, z, w")
        norm = np.linalg.norm(qw)
        if norm < 1e-9:
            raise DriverError("mujoco_sim: set_object_pose quaternion has zero norm")
        qw /= norm
        obj = self._object_index[name]
        if obj.qpos_adr < 0:  # the static bin: move the body itself
            self.model.body_pos[obj.body] = p
            self.model.body_quat[obj.body] = qw
        else:
            self.data.qpos[obj.qpos_adr:obj.qpos_adr + 3] = p
            self.data.qpos[obj.qpos_adr + 3:obj.qpos_adr + 7] = qw
            self.data.qvel[obj.dof_adr:obj.dof_adr + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def render(self, width: int = 640, height: int = 480, camera: str | int | None = None) -> np.ndarray:
        """RGB image (height, width, 3) uint8 from a scene camera (default: "overview"; -1: free camera).

        Headless Linux needs MUJOCO_GL=egl (set automatically when EGL is present, see
        robot_control.body.sim); cameras: overview, front (+ head on the G1).
        """
        self._require()
        m = self.model
        if width > m.vis.global_.offwidth or height > m.vis.global_.offheight or width < 1 or height < 1:
            raise DriverError(f"mujoco_sim: render size {width}x{height} outside 1..{m.vis.global_.offwidth}"
                              f"x1..{m.vis.global_.offheight}")
        cam = self.scene.default_camera if camera is None else camera
        if isinstance(cam, str) and mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, cam) < 0:
            names = [m.camera(i).name for i in range(m.ncam)]
            raise DriverError(f"mujoco_sim: unknown camera {cam!r} (have: {', '.join(names)})")
        key = (width, height)
        renderer = self._renderers.get(key)
        if renderer is None:
            try:
                renderer = mujoco.Renderer(m, height, width)
            except Exception as exc:  # no usable OpenGL backend
                raise DriverError(f"mujoco_sim: cannot create an offscreen renderer ({exc}); "
                                  "on a headless machine set MUJOCO_GL=egl (or osmesa)") from exc
            self._renderers[key] = renderer
        renderer.update_scene(self.data, camera=cam)
        return renderer.render().copy()
