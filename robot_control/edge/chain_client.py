"""Client-side helpers for running and judging edge skills on a live simulated stack.

The stacks `skills_g1` / `skills_panda` run body (MuJoCo) + cerebellum + edge as processes;
these helpers drive them the way an operator's tools would, over DDS and gRPC only. They are
shared by test/integration/test_edge_stack.py and bench/skills_live.py.

    skills_stack(robot, port, folder)   the stack spec with the edge on `port` serving `folder`
    trained_chain(folder, robot)        which of reach..release `folder` has a model for
    connect(port) / run_skill(...)      SkillService over the bridge's SkillClient (deadlines, errors)
    Observer                            /joint_states, /objects, /base_pose, cerebellum mode and
                                        /diagnostics; `snapshot()` = one simulation cycle's state
    SimControl                          seeded /sim/reset (the body's `sim_seed` parameter),
                                        /cerebellum/reset
    SceneJudge                          the skills' success conditions (edge.experts.check_success)
                                        evaluated on a copy of the scene posed from a snapshot
    Streamer                            task-space experts and joint moves streamed to the cerebellum
                                        like the edge streams a policy (one point per 20 ms step)

SceneJudge: contacts and hand-to-object distances are not published, so the judge keeps its own
MuJoCo model of the same scene (robot_control.body.sim.scene.build) and poses it from a snapshot
(every joint, the floating base, every object's pose: the simulation's own published values,
all from the same physics step), then runs mj_forward and the training-time checks on it. The
one approximation: a tendon-coupled joint pair (the Panda fingers) is posed symmetric from the
one joint that is published; therefore a hand body within 1 mm of the object counts as touching
it (check_success's own contact distance; see reconstructed_view).

Nothing here needs rclpy at import time; ROS classes import it when constructed.
"""

from __future__ import annotations

import dataclasses
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

CHAIN = ("reach", "grasp", "lift", "transport", "place", "release")
ARM = {"g1": "right_arm", "panda": "arm"}  # the edge's arm group per robot (config/params/edge_*.yaml)
SPEC_NAME = {"g1": "g1_right", "panda": "panda"}  # ... and its embodiment spec
OBJECT = "red_cube"
BIN = "bin"
FALL_DROP = 0.15  # m below the base height at episode start (= edge.sim_episode.FALL_DROP)
FALL_TILT_DEG = 30.0  # (= edge.sim_episode.FALL_TILT_DEG)
CONTACT_TOL = 0.001  # m: a hand body this close to the object touches it (experts.SimView's contact distance)


# -- stack and SkillService ---------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def skills_stack(robot: str, port: int, folder: Path | None = None):
    """config/stacks/skills_<robot>.yaml with the edge on 127.0.0.1:`port` serving `folder`."""
    from robot_control.supervisor.stack import load_stack

    spec = load_stack(f"skills_{robot}")
    nodes = []
    for node in spec.nodes:
        if node.name == "edge":
            params = {**node.parameters, "grpc_address": f"127.0.0.1:{port}"}
            if folder is not None:
                params["skill_folder"] = str(folder)
            node = dataclasses.replace(node, parameters=params)
        nodes.append(node)
    return dataclasses.replace(spec, nodes=tuple(nodes))


def trained_chain(folder: Path, robot: str) -> list[str]:
    """The skills of reach..release that `folder` has a loadable manifest + model for on `robot`."""
    from robot_control.edge.manifest import load_manifest

    names = set()
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
        try:
            m = load_manifest(path)
        except Exception:  # noqa: BLE001 - a broken manifest is the edge's to report
            continue
        if robot in m.embodiments and m.model_path().is_file():
            names.add(m.name)
    return [s for s in CHAIN if s in names]


def connect(port: int, timeout_s: float = 90.0):
    """(SkillClient, ListSkillsResponse) once the edge on `port` answers ListSkills. Execute calls
    get the bridge's deadlines (skill timeout on the robot's clock times a slowdown allowance, a
    silent stream given up after stall_timeout_s)."""
    import grpc

    from robot_control.bridge.edge_client import EdgeConfig, SkillClient

    client = SkillClient(EdgeConfig(target=f"127.0.0.1:{port}", call_timeout_s=5.0))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return client, client.list_skills()
        except grpc.RpcError:
            if time.monotonic() > deadline:
                client.close()
                raise
            time.sleep(0.5)


def arguments(contract, obj: str) -> list:
    """Execute arguments for a contract's typed parameters: the object, table -> bin."""
    from robot_control.v1 import skill_pb2

    out = []
    for param in contract.parameters:
        name, kind = param.split(":", 1)
        if kind == "object":
            out.append(skill_pb2.SkillArgument(name=name, symbol=obj))
        elif kind == "location":
            out.append(skill_pb2.SkillArgument(name=name, symbol="table" if name == "from" else BIN))
    return out


def run_skill(client, contract, arm_group: str, obj: str = OBJECT, request_id: str = "",
              retry_unavailable_s: float = 30.0):
    """Execute one skill to its terminal phase (a bridge StepResult); retries while the edge
    answers UNAVAILABLE (no robot state yet)."""
    import grpc

    from robot_control.v1 import skill_pb2

    request = skill_pb2.ExecuteSkillRequest(request_id=request_id or contract.name, skill=contract.name,
                                            arm_group=arm_group, arguments=arguments(contract, obj))
    deadline = time.monotonic() + retry_unavailable_s
    while True:
        result = client.execute(request)
        if result.code != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


# -- what the simulation publishes ----------------------------------------------------------------
@dataclass(frozen=True)
class ObjectState:
    position: np.ndarray  # (3,) world, box centre
    orientation: np.ndarray  # (4,) x, y, z, w
    size: np.ndarray  # (3,) full extents


@dataclass(frozen=True)
class Snapshot:
    """The published state of one simulation step (joints, objects and base share its stamp)."""

    stamp: float  # simulated time, s
    joint_names: tuple[str, ...]
    position: np.ndarray  # joint positions, in joint_names order
    objects: dict[str, ObjectState]
    base: tuple[np.ndarray, np.ndarray] | None  # position, quaternion x, y, z, w
    skew_s: float = 0.0  # |joint-state stamp - objects stamp| when no joint state had the same stamp

    def joints(self):
        from robot_control.body.types import JointStateSample

        zero = np.zeros_like(self.position)
        return JointStateSample(self.joint_names, self.position, zero, zero, self.stamp)

    def base_height_tilt(self) -> tuple[float, float] | None:
        """Base height (m) and tilt from upright (deg), if a base pose is published."""
        if self.base is None:
            return None
        pos, (x, y, _, _) = self.base
        return float(pos[2]), _tilt_deg(x, y)


def _tilt_deg(x: float, y: float) -> float:
    """Angle (deg) between a body's z axis and world z, from its unit quaternion's x, y."""
    zz = 1.0 - 2.0 * (x * x + y * y)
    return float(np.degrees(np.arccos(np.clip(zz, -1.0, 1.0))))


def _ns(stamp) -> int:
    return int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec)


class Observer:
    """Subscriptions on a (spun) rclpy node: joint states (a short history by stamp, so a snapshot
    pairs the objects with the joints of the same step), objects, base pose, cerebellum mode,
    /diagnostics. `wait_stamp` blocks until the simulation reaches a time."""

    def __init__(self, node, history: int = 400) -> None:
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
        from geometry_msgs.msg import PoseStamped
        from sensor_msgs.msg import JointState
        from visualization_msgs.msg import MarkerArray

        from robot_control.common.ros import sensor_qos

        self.lock = threading.RLock()  # re-entrant: callers may hold it while reading the properties
        self.cond = threading.Condition(self.lock)
        self.joint_names: tuple[str, ...] = ()
        self._joints: deque[tuple[int, np.ndarray]] = deque(maxlen=history)
        self._bases: deque[tuple[int, np.ndarray, np.ndarray]] = deque(maxlen=16)
        self._objects: tuple[int, dict[str, ObjectState]] | None = None
        self.modes: list[str] = []
        self.status: dict[str, str] = {}
        self.diag: dict[str, dict[str, str]] = {}
        self.base_z: list[float] = []
        self._base_low, self._base_tilt = math.inf, 0.0  # since reset_base_extremes()
        self.stamp = -math.inf  # latest joint-state stamp (simulated time, s)
        self._clock: deque[tuple[float, float]] = deque(maxlen=64)  # (monotonic, stamp) samples
        node.create_subscription(JointState, "/joint_states", self._on_joints, sensor_qos(depth=200))
        node.create_subscription(MarkerArray, "/objects", self._on_objects, 10)
        node.create_subscription(DiagnosticStatus, "/cerebellum/status", self._on_status, 10)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        node.create_subscription(PoseStamped, "/base_pose", self._on_base, sensor_qos(depth=16))

    # -- callbacks ---------------------------------------------------------------------------
    def _on_joints(self, msg) -> None:
        ns = _ns(msg.header.stamp)
        pos = np.array(msg.position, dtype=float)
        now = time.monotonic()
        with self.cond:
            if len(msg.name) != len(self.joint_names):
                if len(msg.name) < len(self.joint_names):
                    return  # another publisher's subset of the joints: keep the body's full states
                self.joint_names = tuple(msg.name)
                self._joints.clear()
            self._joints.append((ns, pos))
            self.stamp = ns * 1e-9
            if not self._clock or now - self._clock[-1][0] >= 0.05:
                self._clock.append((now, self.stamp))
            self.cond.notify_all()

    def _on_objects(self, msg) -> None:
        objects = {}
        for m in msg.markers:
            p, o, s = m.pose.position, m.pose.orientation, m.scale
            objects[m.text] = ObjectState(np.array([p.x, p.y, p.z]), np.array([o.x, o.y, o.z, o.w]),
                                          np.array([s.x, s.y, s.z]))
        stamp = _ns(msg.markers[0].header.stamp) if msg.markers else 0
        with self.lock:
            self._objects = (stamp, objects)

    def _on_base(self, msg) -> None:
        p, o = msg.pose.position, msg.pose.orientation
        tilt = _tilt_deg(o.x, o.y)
        with self.lock:
            self._bases.append((_ns(msg.header.stamp), np.array([p.x, p.y, p.z]), np.array([o.x, o.y, o.z, o.w])))
            self.base_z.append(p.z)
            del self.base_z[:-1000]
            self._base_low = min(self._base_low, p.z)
            self._base_tilt = max(self._base_tilt, tilt)

    def _on_status(self, msg) -> None:
        with self.lock:
            self.status = {kv.key: kv.value for kv in msg.values}
            if not self.modes or self.modes[-1] != msg.message:
                self.modes.append(msg.message)
                del self.modes[:-100]

    def _on_diag(self, msg) -> None:
        with self.lock:
            for s in msg.status:
                self.diag[s.name] = {kv.key: kv.value for kv in s.values}

    # -- queries -----------------------------------------------------------------------------
    def reset_base_extremes(self) -> None:
        with self.lock:
            self._base_low, self._base_tilt = math.inf, 0.0

    def base_extremes(self) -> tuple[float, float]:
        """Lowest base height (m) and largest tilt (deg) since reset_base_extremes()."""
        with self.lock:
            return self._base_low, self._base_tilt

    def mode(self) -> str:
        with self.lock:
            return self.modes[-1] if self.modes else ""

    @property
    def q(self) -> dict[str, float]:
        with self.lock:
            if not self._joints:
                return {}
            return dict(zip(self.joint_names, self._joints[-1][1].tolist(), strict=True))

    def joints(self, names: Sequence[str]) -> np.ndarray:
        q = self.q
        return np.array([q[n] for n in names])

    @property
    def objects(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """name -> (position, size) of the latest /objects."""
        with self.lock:
            objs = self._objects[1] if self._objects else {}
        return {n: (o.position, o.size) for n, o in objs.items()}

    def ready(self) -> bool:
        with self.lock:
            return bool(self._joints) and self._objects is not None

    def clock_rate(self) -> float:
        """Simulated seconds per wall second over the last ~3 s (1.0 before enough samples)."""
        with self.lock:
            samples = list(self._clock)
        if len(samples) < 2 or samples[-1][0] - samples[0][0] < 0.2:
            return 1.0
        (t0, s0), (t1, s1) = samples[0], samples[-1]
        return max((s1 - s0) / (t1 - t0), 1e-3)

    def wait_stamp(self, stamp: float, timeout_s: float) -> bool:
        """Block until a joint state stamped >= `stamp` arrived (False on timeout)."""
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while self.stamp < stamp:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.1))
        return True

    def wait_sim_time(self, seconds: float, timeout_s: float) -> bool:
        """Block until the simulation advanced `seconds` from now."""
        return self.wait_stamp(self.stamp + seconds, timeout_s)

    def latest_joints(self) -> tuple[float, np.ndarray] | None:
        with self.lock:
            if not self._joints:
                return None
            ns, pos = self._joints[-1]
        return ns * 1e-9, pos

    def objects_stamp(self) -> float:
        with self.lock:
            return self._objects[0] * 1e-9 if self._objects else -math.inf

    def settled_snapshot(self, timeout_s: float = 5.0, max_skew_s: float = 0.0015) -> Snapshot:
        """A consistent, current snapshot: its /objects is not older than the newest joint state at
        the call, and the joints are those of the objects' own step (within `max_skew_s`). The
        executor may hand /objects and the 1 kHz /joint_states over with different delays, and a
        best-effort joint state can be lost: then the next /objects is tried."""
        target = self.stamp
        deadline = time.monotonic() + timeout_s
        snap = None
        while True:
            objects_stamp = self.objects_stamp()
            if objects_stamp >= target - 1e-6 and self.stamp >= objects_stamp - 1e-6:
                snap = self.snapshot()
                if snap.skew_s <= max_skew_s:
                    return snap
                target = objects_stamp + 1e-4  # that step's joint state is missing: the next /objects
            if time.monotonic() > deadline:
                if snap is not None:
                    return snap  # the best there is (its skew_s says how far apart)
                raise TimeoutError(f"no /objects stamped >= {target:.3f} s within {timeout_s:g} s")
            time.sleep(0.002)

    def snapshot(self, fresh: bool = False) -> Snapshot:
        """Objects of the latest /objects with the joints and base pose of the same step; `fresh`:
        the newest joint state and base pose instead (for control: up to one /objects period newer)."""
        with self.lock:
            if self._objects is None or not self._joints:
                raise RuntimeError("no /objects or /joint_states received yet")
            stamp, objects = self._objects
            if fresh:
                best = self._joints[-1]
                base = self._bases[-1] if self._bases else None
                stamp = best[0]
            else:
                best = min(self._joints, key=lambda j: abs(j[0] - stamp))
                base = min(self._bases, key=lambda b: abs(b[0] - stamp)) if self._bases else None
            names = self.joint_names
        return Snapshot(stamp * 1e-9, names, best[1], objects,
                        None if base is None else (base[1], base[2]), abs(best[0] - stamp) * 1e-9)


def call_service(client, request, timeout_s: float = 10.0):
    """Call a service from a node spun elsewhere; raises TimeoutError."""
    if not client.wait_for_service(timeout_sec=min(timeout_s, 10.0)):
        raise TimeoutError(f"service {client.srv_name} is not available")
    future = client.call_async(request)
    done = threading.Event()
    future.add_done_callback(lambda _: done.set())
    if not done.wait(timeout_s):
        client.remove_pending_request(future)
        raise TimeoutError(f"no answer from {client.srv_name} within {timeout_s:g} s")
    return future.result()


class SimControl:
    """Seeded /sim/reset (sets the body's `sim_seed` parameter first) and /cerebellum/reset."""

    def __init__(self, node, body_node: str = "body") -> None:
        from rcl_interfaces.srv import SetParameters
        from std_srvs.srv import Trigger

        self.Trigger, self.SetParameters = Trigger, SetParameters
        self.sim_reset = node.create_client(Trigger, "/sim/reset")
        self.cerebellum_reset = node.create_client(Trigger, "/cerebellum/reset")
        self.set_params = node.create_client(SetParameters, f"/{body_node}/set_parameters")

    def set_seed(self, seed: int, timeout_s: float = 10.0) -> None:
        from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue

        value = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=int(seed))
        answer = call_service(self.set_params, self.SetParameters.Request(
            parameters=[Parameter(name="sim_seed", value=value)]), timeout_s)
        result = answer.results[0]
        if not result.successful:
            raise RuntimeError(f"the body refused sim_seed={seed}: {result.reason}")

    def reset(self, seed: int | None = None, timeout_s: float = 10.0) -> str:
        """/sim/reset, to `seed`'s scene if given; returns the body's message, raises on refusal."""
        if seed is not None:
            self.set_seed(seed, timeout_s)
        answer = call_service(self.sim_reset, self.Trigger.Request(), timeout_s)
        if not answer.success:
            raise RuntimeError(f"/sim/reset refused: {answer.message}")
        return answer.message

    def rearm(self, timeout_s: float = 10.0) -> tuple[bool, str]:
        answer = call_service(self.cerebellum_reset, self.Trigger.Request(), timeout_s)
        return answer.success, answer.message


# -- judging from simulation state ------------------------------------------------------------------
@dataclass
class Judgement:
    success: bool
    details: dict[str, Any] = field(default_factory=dict)


def reconstructed_view(model, data, hand_bodies, table_top):
    """experts.SimView whose hand_contacts also counts hand bodies within CONTACT_TOL of the object.

    check_success counts contacts up to 1 mm apart, but MuJoCo only reports penetrating ones; on
    the real simulation that is the same, on a reconstruction it is not: the Panda's second finger
    is not published (it is posed as a mirror of the first, which the soft coupling holds only to
    a fraction of a mm under a squeeze), so a finger that touches can come out 0.1 mm short.
    Measured on the live stack (Panda, seed 500003): expert grasps judged on penetration alone
    failed 3 of 5 times with one finger 0.1-0.3 mm off, and every one of them then lifted the
    object 11 cm."""
    from robot_control.body.sim import mujoco
    from robot_control.edge.experts import SimView

    class View(SimView):
        def hand_contacts(self, obj: str) -> set[str]:
            touching = super().hand_contacts(obj)
            m, d = self.model, self.data
            fromto = np.zeros(6)
            object_geoms = self.object_geoms(obj)
            for g in range(m.ngeom):
                body = int(m.geom_bodyid[g])
                if body not in self._hand_ids or not (m.geom_contype[g] or m.geom_conaffinity[g]):
                    continue
                name = m.body(body).name
                if name in touching:
                    continue
                # mj_geomDistance answers distmax (here 2 * tol) for anything farther than that
                if any(mujoco.mj_geomDistance(m, d, g, og, 2 * CONTACT_TOL, fromto) <= CONTACT_TOL
                       for og in object_geoms):
                    touching.add(name)
            return touching

    return View(model, data, hand_bodies, table_top)


class SceneJudge:
    """The skills' success conditions (experts.check_success) on a model posed from a Snapshot."""

    def __init__(self, robot: str, objects: Any = None, spec_name: str | None = None) -> None:
        from robot_control.body.robot_description import load_robot
        from robot_control.body.sim import mujoco
        from robot_control.body.sim import scene as scenes
        from robot_control.edge.embodiment import SPECS, EmbodimentAdapter
        from robot_control.edge.experts import make_skills

        self.mujoco = mujoco
        self.robot = robot
        self.description = load_robot(robot)
        self.spec = SPECS[spec_name or SPEC_NAME[robot]]
        self.built = scenes.build(robot, objects)
        self.scene = self.built.scene
        m = self.model = self.built.model
        self.data = mujoco.MjData(m)
        self.table_top = float(self.scene.table.top)
        self.view = reconstructed_view(m, self.data, self.spec.hand_bodies, self.table_top)
        self.adapter = EmbodimentAdapter(self.description, self.spec, 0.02)
        self.skills = make_skills(self.spec)
        self._map_joints()
        self._objects = {}
        for o in self.built.objects:
            body = m.body(o.name).id
            self._objects[o.name] = int(m.jnt_qposadr[m.body_jntadr[body]])
        self._base_adr = None
        if self.scene.base_qpos is not None:
            body = m.body(self.scene.base_body).id
            self._base_adr = int(m.jnt_qposadr[m.body_jntadr[body]])

    def _map_joints(self) -> None:
        """description joint -> qpos addresses (both joints of a tendon-coupled pair)."""
        mj, m = self.mujoco, self.model
        coupled: dict[int, list[int]] = {}
        for t in range(m.ntendon):
            adr, num = m.tendon_adr[t], m.tendon_num[t]
            joints = [int(m.wrap_objid[adr + k]) for k in range(num)]
            for j in joints:
                coupled[j] = joints
        prefix = self.scene.joint_prefix
        self._qpos: dict[str, list[int]] = {}
        for name in self.description.joint_names:
            jid = mj.mj_name2id(m, mj.mjtObj.mjOBJ_JOINT, name)
            if jid < 0 and prefix:
                jid = mj.mj_name2id(m, mj.mjtObj.mjOBJ_JOINT, name.removeprefix(prefix))
            if jid < 0:
                raise ValueError(f"joint {name!r} is not in the {self.robot} scene")
            self._qpos[name] = [int(m.jnt_qposadr[j]) for j in coupled.get(jid, [jid])]

    # -- posing ------------------------------------------------------------------------------
    def pose(self, snap: Snapshot) -> None:
        d = self.data
        for name, value in zip(snap.joint_names, snap.position, strict=True):
            for adr in self._qpos.get(name, ()):
                d.qpos[adr] = value
        if self._base_adr is not None and snap.base is not None:
            pos, (x, y, z, w) = snap.base
            d.qpos[self._base_adr:self._base_adr + 7] = [*pos, w, x, y, z]
        for name, adr in self._objects.items():
            obj = snap.objects.get(name)
            if obj is not None:
                x, y, z, w = obj.orientation
                d.qpos[adr:adr + 7] = [*obj.position, w, x, y, z]
        d.qvel[:] = 0.0
        self.mujoco.mj_forward(self.model, d)

    def ee(self, snap: Snapshot) -> np.ndarray:
        """Measured ee point (FK of the published joints on the published base, as the edge does)."""
        if self.spec.sync_base and snap.base is not None:
            pos, (x, y, z, w) = snap.base
            self.adapter.set_base_pose(pos, (w, x, y, z))
        return self.adapter.ee_position(snap.joints())

    def context(self, snap: Snapshot, obj: str = OBJECT):
        """The SkillContext a skill starting at `snap` gets (as edge.runtime / SimEpisodeRunner)."""
        from robot_control.edge.experts import SkillContext

        o, b = snap.objects[obj], snap.objects[BIN]
        others = tuple((s.position.copy(), s.size.copy()) for n, s in snap.objects.items() if n not in (BIN, obj))
        return SkillContext(self.spec, o.position.copy(), self.ee(snap), o.size.copy(), b.position.copy(),
                            b.size.copy(), self.table_top, others)

    def judge(self, skill: str, snap: Snapshot, ctx, obj: str = OBJECT) -> Judgement:
        """experts.check_success(skill) at `snap`, for a skill that started with context `ctx`."""
        from robot_control.edge.experts import check_success, in_bin

        self.pose(snap)
        ee = self.ee(snap)
        ok = check_success(skill, self.view, obj, ctx, ee, ctx.obj0)
        pos = self.view.obj_pos(obj)
        bottom = float(pos[2] - ctx.obj_size[2] / 2)
        goal = self.skills[skill].target(ctx)
        details = {
            "object": np.round(pos, 4).tolist(),
            "object_moved_m": round(float(np.linalg.norm(pos - ctx.obj0)), 4),
            "bottom_above_table_m": round(bottom - self.table_top, 4),
            "bottom_below_rim_m": round(float(ctx.bin_pos[2] + ctx.bin_size[2] - bottom), 4),
            "in_bin_footprint": in_bin(pos, ctx.obj_size, ctx.bin_pos, ctx.bin_size),
            "hand_contacts": sorted(self.view.hand_contacts(obj)),
            "ee_to_goal_m": round(float(np.linalg.norm(goal - ee)), 4),
            "gripper_closure": round(self.adapter.gripper_state(snap.joints()), 3),
        }
        if skill == "release":
            details["hand_distance_m"] = round(self.view.hand_distance(obj), 4)
        if snap.skew_s > 0.0015:
            details["snapshot_skew_s"] = round(snap.skew_s, 4)
        return Judgement(bool(ok), details)

    def placement_error(self, snap: Snapshot, seed: int) -> float:
        """Largest xy distance (m) between the published objects and `seed`'s placements."""
        errors = [float(np.linalg.norm(snap.objects[p.name].position[:2] - p.pos[:2]))
                  for p in self.built.placements(seed) if p.name in snap.objects]
        return max(errors, default=math.inf)

    def robot_contacts(self, snap: Snapshot) -> list[tuple[str, str]]:
        """(robot body, other body) pairs in contact at `snap`, other = not the robot, e.g. the table."""
        self.pose(snap)
        m, d = self.model, self.data
        robot_root = m.body(self.scene.base_body).id
        out = set()
        for i in range(d.ncon):
            c = d.contact[i]
            if c.dist > 0.001:
                continue
            b1, b2 = int(m.geom_bodyid[c.geom1]), int(m.geom_bodyid[c.geom2])
            r1 = self._in_robot(b1, robot_root)
            r2 = self._in_robot(b2, robot_root)
            if r1 != r2:
                rb, ob = (b1, b2) if r1 else (b2, b1)
                out.add((m.body(rb).name, m.body(ob).name or "world"))
        return sorted(out)

    def _in_robot(self, body: int, root: int) -> bool:
        m = self.model
        while body > 0:
            if body == root:
                return True
            body = int(m.body_parentid[body])
        return False


# -- streaming to the cerebellum --------------------------------------------------------------------
class Streamer:
    """Joint targets streamed to /cerebellum/trajectory the way the edge streams a skill: one point
    per step of `period` robot time (the /joint_states stamps), time_from_start = 1.5 periods of
    robot time in wall time (capped at 0.09 s, under the cerebellum's 0.1 s setpoint watchdog),
    velocities = change since the previous step per wall second."""

    def __init__(self, node, obs: Observer, judge: SceneJudge, period: float = 0.02) -> None:
        from trajectory_msgs.msg import JointTrajectory

        from robot_control.common.ros import command_qos

        self.obs, self.judge = obs, judge
        self.adapter = judge.adapter
        self.names = list(self.adapter.joint_names)
        self.period = period
        self.pub = node.create_publisher(JointTrajectory, "/cerebellum/trajectory", command_qos())
        d = judge.description
        idx = [d.index(n) for n in self.names]
        self.lower, self.upper = d.array("lower")[idx], d.array("upper")[idx]
        self.vmax = d.array("velocity")[idx]
        self.last: np.ndarray | None = None

    def publish(self, q: np.ndarray) -> None:
        from builtin_interfaces.msg import Duration
        from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

        q = np.clip(np.asarray(q, dtype=float), self.lower, self.upper)
        rate = self.obs.clock_rate()
        vel = np.zeros_like(q) if self.last is None else np.clip((q - self.last) * rate / self.period,
                                                                 -self.vmax, self.vmax)
        self.last = q
        horizon = round(min(1.5 * self.period / rate, 0.09), 4)
        msg = JointTrajectory()
        msg.joint_names = self.names
        msg.points = [JointTrajectoryPoint(positions=q.tolist(), velocities=vel.tolist(),
                                           time_from_start=Duration(sec=0, nanosec=int(horizon * 1e9)))]
        self.pub.publish(msg)

    def hold(self, q: np.ndarray) -> None:
        """A zero-velocity point (the cerebellum reaches it and holds)."""
        self.last = None
        self.publish(q)

    def ticks(self, timeout_s: float = 5.0):
        """Yield a Snapshot once per `period` of robot time (raises TimeoutError when it stalls)."""
        next_stamp = self.obs.stamp
        while True:
            if not self.obs.wait_stamp(next_stamp - 0.25e-3, timeout_s):
                raise TimeoutError(f"no joint state for {timeout_s:g} s (the simulation stopped?)")
            snap = self.obs.snapshot(fresh=True)
            next_stamp = max(next_stamp + self.period, self.obs.stamp + 0.5 * self.period)
            yield snap

    def measured(self, snap: Snapshot) -> np.ndarray:
        index = {n: i for i, n in enumerate(snap.joint_names)}
        return np.array([snap.position[index[n]] for n in self.names])

    def move_joints(self, goal: Sequence[float], speed: float = 0.6, min_duration_s: float = 1.0,
                    settle_s: float = 0.3, on_tick: Callable[[Snapshot], None] | None = None) -> None:
        """Joint-space move of the arm group (chain + hand) to `goal`, a cubic rest-to-rest profile
        with peak speed `speed` rad/s, on robot time; then holds the goal for `settle_s`."""
        goal = np.clip(np.asarray(goal, dtype=float), self.lower, self.upper)
        start_snap = self.obs.snapshot()
        q0 = self.measured(start_snap)
        duration = max(min_duration_s, float(np.max(1.5 * np.abs(goal - q0) / speed)))
        t0 = self.obs.stamp
        self.last = None
        for snap in self.ticks():
            s = min(1.0, (self.obs.stamp - t0 + self.period) / duration)
            self.publish(q0 + (goal - q0) * (3 * s * s - 2 * s * s * s))
            if on_tick is not None:
                on_tick(snap)
            if s >= 1.0:
                break
        self.hold(goal)
        self.obs.wait_sim_time(settle_s, 10.0 + 10 * settle_s)

    def run_expert(self, skill: str, ctx=None, obj: str = OBJECT, fallen: Callable[[Snapshot], bool] | None = None,
                   reset_adapter: bool = False, converge_s: float = 0.4) -> tuple[Any, bool, list[dict[str, Any]]]:
        """One scripted expert skill (edge.experts, as SimEpisodeRunner.run_skill without noise)
        closed-loop over the stack, converging onto its last waypoint for up to `converge_s` (see
        run_phases). Returns (the skill's start context, fell, per-phase trace)."""
        start = self.obs.settled_snapshot()
        if reset_adapter:
            self.adapter.reset(start.joints())
        ctx = ctx or self.judge.context(start, obj)
        fell, trace = self.run_phases(self.judge.skills[skill].phases, ctx, fallen, converge_s=converge_s)
        return ctx, fell, trace

    def run_phases(self, phases: Sequence[Any], ctx: Any, fallen: Callable[[Snapshot], bool] | None = None,
                   on_tick: Callable[[Snapshot], None] | None = None, converge_s: float = 0.0,
                   converge_tol: float = 0.004) -> tuple[bool, list[dict[str, Any]]]:
        """Task-space phases (edge.experts.Phase: waypoint(ctx), gripper, speed, tol, settle, timeout,
        ramp) the way SimEpisodeRunner.run_skill runs them, one step per period of robot time;
        ends holding the last command. With `converge_s` > 0 the last phase then goes on (same
        control law) until the ee is within `converge_tol` of its waypoint or `converge_s` passed:
        streamed through the cerebellum the arm lags its command more than with the direct servo
        targets of training, and a phase's `settle` alone leaves it further from the waypoint.
        Returns (fell, per-phase trace)."""
        adapter = self.adapter
        gripper = adapter.gripper
        ticks = self.ticks()
        self.last = None
        fell = False
        trace: list[dict[str, Any]] = []
        for k, phase in enumerate(phases):
            wp = phase.waypoint(ctx)
            g_from = gripper
            adapter.frozen = phase.freeze_ik
            t_phase, t_reached = 0.0, None
            dist = math.inf
            last = k == len(phases) - 1 and converge_s > 0
            while True:
                converging = last and t_reached is not None and t_phase < t_reached + phase.settle + converge_s
                if t_phase >= phase.timeout and not converging:
                    break
                snap = next(ticks)
                if on_tick is not None:
                    on_tick(snap)
                ee = self.judge.ee(snap)
                dist = float(np.linalg.norm(wp - ee))
                if dist < phase.tol and t_reached is None:
                    t_reached = t_phase
                settled = t_reached is not None and t_phase - t_reached >= phase.settle
                if settled and not (last and dist > converge_tol and t_phase < t_reached + phase.settle + converge_s):
                    break
                ramp = 1.0 if phase.gripper_ramp <= 0 else min(1.0, (t_phase + self.period) / phase.gripper_ramp)
                gripper = g_from + ramp * (phase.gripper - g_from)
                delta = wp - ee
                n = float(np.linalg.norm(delta))
                step = phase.speed * self.period
                if n > step:
                    delta *= step / n
                cmd = adapter.apply_action(np.concatenate([delta, [gripper]]), ee)
                self.publish(np.asarray(cmd.position, dtype=float))
                t_phase += self.period
                if fallen is not None and fallen(snap):
                    fell = True
                    break
            trace.append({"phase": phase.name, "t": round(t_phase, 2), "reached": t_reached is not None,
                          "dist_m": round(dist, 4)})
            if fell:
                break
        adapter.frozen = False
        if self.last is not None:
            self.hold(self.last)  # the last command, at rest (as the edge after SUCCEEDED)
        return fell, trace

    def go_home(self, home: Sequence[float], clear_z: float, on_tick: Callable[[Snapshot], None] | None = None
                ) -> list[dict[str, Any]]:
        """Back to the arm group's start posture `home` without sweeping through the table: hand
        opened and straight up to `clear_z` (at least), over to above the start posture's ee point,
        then a joint-space move down into the posture. Returns the task-space phases' trace."""
        from robot_control.edge.experts import Phase

        snap = self.obs.snapshot(fresh=True)
        self.adapter.reset(snap.joints())
        ee = self.judge.ee(snap)
        q = snap.position.copy()
        index = {n: i for i, n in enumerate(snap.joint_names)}
        q[[index[n] for n in self.names]] = home
        home_ee = self.judge.ee(dataclasses.replace(snap, position=q))
        z = max(float(ee[2]), clear_z)
        up = np.array([ee[0], ee[1], z])
        over = np.array([home_ee[0], home_ee[1], max(z, float(home_ee[2]))])
        phases = [Phase("home_up", lambda _: up, 0.0, speed=0.25, tol=0.03, timeout=3.0, gripper_ramp=0.3),
                  Phase("home_over", lambda _: over, 0.0, speed=0.3, tol=0.03, timeout=4.0)]
        _, trace = self.run_phases(phases, None, on_tick=on_tick)
        self.move_joints(home, settle_s=0.2, on_tick=on_tick)
        return trace
