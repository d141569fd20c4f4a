"""The edge skill runtime: runs learned task-space skills on arm groups (no ROS, no gRPC).

    WorldModel     latest joint state (description order), base pose, objects and the
                   cerebellum's mode; written by the node's callbacks, read as snapshots
    load_skills    the SkillLibrary plus runtime validation (checks, goal, interface);
                   a skill that cannot run here is rejected with a reason, the rest serve
    SkillRuntime   one ArmExecutor per arm group; `submit()` (any thread) validates a
                   request against the world, `tick()` (the control thread) steps the skills
                   and returns the joint targets to stream to the cerebellum

Per control step of an active skill (identical to the training runtime in
`edge/sim_episode.py`):

    ee      = FK(measured joints) with the measured base pose (G1 pelvis; Panda base)
    ee_vel  = (ee - ee at the previous step) / dt      (dt from the joint-state stamps)
              (no new joint state since the previous step: the tick is skipped, nothing is sent)
    obs     = adapter.observation(ee, ee_vel, object, goal, measured closure, elapsed / max_duration_s)
              (elapsed: skill time on the joint-state stamps, see RuntimeConfig.skill_clock)
    checks  = failure -> FAILED;  all success checks for `success_hold_s` -> SUCCEEDED;
              elapsed >= timeout (request timeout_s, else max_duration_s) -> TIMED_OUT
    action  = SkillPolicy.act(obs);  targets = adapter.apply_action(action, ee)

The goal point is `make_skills(spec)[manifest.goal].target(ctx)`, with a `SkillContext`
built from the world at skill start exactly like `SimEpisodeRunner._ctx` (object, ee, object
size, bin, table top, every other object as (centre, extents)).

Holding: a skill that ends in SUCCEEDED holds its last command (so a closed hand keeps
squeezing). CANCELED / FAILED / TIMED_OUT hold the arm chain at the MEASURED positions (it
stops where it is, no jump to where the policy was heading) and keep the last commanded hand
posture (so an object in the hand is not let go); the hold is streamed as one point with zero
velocity. PREEMPTED hands the arm to the next skill without a hold. The arm is never limp: the
cerebellum holds the last target whatever happens here.

One active skill per arm group; groups that share joints (G1 right/left arm share the waist)
exclude each other. Every step's latency (observation -> joint targets) is recorded.
"""

from __future__ import annotations

import itertools
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robot_control.body.robot_description import RobotDescription
from robot_control.body.types import JointStateSample
from robot_control.common.config import ConfigError
from robot_control.common.periodic import RingStats
from robot_control.edge.checks import CheckError, CheckInputs, Region, SkillChecks, compile_checks, describe
from robot_control.edge.embodiment import ACT_DIM, EmbodimentAdapter, EmbodimentSpec
from robot_control.edge.experts import SkillContext, make_skills
from robot_control.edge.library import SkillLibrary, default_skill_dir
from robot_control.edge.manifest import SkillManifest, load_manifest
from robot_control.edge.observation import signal_problem
from robot_control.edge.policy import SkillPolicy

log = logging.getLogger(__name__)

# Phases of a skill call (names match robot_control.v1.SkillProgress.Phase).
ACCEPTED, RUNNING = "ACCEPTED", "RUNNING"
SUCCEEDED, FAILED, TIMED_OUT, CANCELED, PREEMPTED = "SUCCEEDED", "FAILED", "TIMED_OUT", "CANCELED", "PREEMPTED"
TERMINAL = frozenset({SUCCEEDED, FAILED, TIMED_OUT, CANCELED, PREEMPTED})
CONTROLLER_STOPS = ("estop", "tilt_stop")
TRANSIENT_REJECTIONS = ("joint state is stale", "no joint state received yet")


class RequestError(ValueError):
    """The request cannot be run as given; `violations` are (field, description) pairs."""

    def __init__(self, message: str, violations: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.violations = list(violations)


class BusyError(RuntimeError):
    """The arm group already runs a skill and the request does not preempt it."""


class NotReadyError(RuntimeError):
    """The edge has no (fresh) robot state yet."""


# -- world -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ObjectInfo:
    name: str
    position: np.ndarray  # (3,) world, m (box centre)
    orientation: np.ndarray  # (4,) x, y, z, w
    size: np.ndarray  # (3,) full extents, m


@dataclass(frozen=True)
class WorldSnapshot:
    joints: JointStateSample | None  # description order; NaN for joints never received
    joints_time: float  # monotonic time of the latest joint-state message (-inf: never)
    base_pose: tuple[np.ndarray, np.ndarray] | None  # position, quaternion (w, x, y, z)
    objects: Mapping[str, ObjectInfo]
    objects_time: float
    controller_mode: str = ""
    stamp: float = 0.0  # joint-state stamp (s), for the WorldState message
    joint_times: np.ndarray | None = None  # per joint (description order): when it was last received
    rejections: int = 0  # trajectories the cerebellum rejected so far (from /cerebellum/status)
    last_rejection: str = ""

    def joints_age(self, now: float, index: np.ndarray) -> float:
        """Age of the least recently received of the joints `index` (inf: some never received)."""
        if self.joint_times is None:
            return now - self.joints_time
        return float(now - np.min(self.joint_times[index]))


class WorldModel:
    """Latest robot and world state, thread-safe (callbacks write, the runtime reads snapshots).

    /joint_states messages may name a subset of the joints (several publishers may share the
    topic, as the cerebellum allows): each message updates the joints it names.
    """

    def __init__(self, robot: RobotDescription, clock: Callable[[], float] = time.monotonic) -> None:
        self.robot = robot
        self.clock = clock
        self._lock = threading.Lock()
        self._names: tuple[str, ...] = ()
        self._order: np.ndarray | None = None
        n = len(robot.joints)
        self._pos = np.full(n, np.nan)
        self._vel = np.zeros(n)
        self._times = np.full(n, -math.inf)
        self._stamp = 0.0
        self._received = False
        self._joints_time = -math.inf
        self._base: tuple[np.ndarray, np.ndarray] | None = None
        self._objects: dict[str, ObjectInfo] = {}
        self._objects_time = -math.inf
        self._mode = ""
        self._rejections = 0
        self._last_rejection = ""
        self.unknown_joints: tuple[str, ...] = ()

    def update_joints(self, names: Sequence[str], position: Sequence[float], velocity: Sequence[float] = (),
                      stamp: float = 0.0, now: float | None = None) -> None:
        names = tuple(names)
        if names != self._names:
            index = {n: i for i, n in enumerate(self.robot.joint_names)}
            self.unknown_joints = tuple(n for n in names if n not in index)
            self._order = np.array([index.get(n, -1) for n in names], dtype=np.intp)
            self._names = names
        order = self._order
        assert order is not None
        p = np.asarray(position, dtype=float)
        if p.shape[0] != order.shape[0]:
            return
        keep = order >= 0
        v = np.asarray(velocity, dtype=float)
        t = self.clock() if now is None else now
        with self._lock:
            self._pos[order[keep]] = p[keep]
            if v.shape[0] == order.shape[0]:
                self._vel[order[keep]] = v[keep]
            self._times[order[keep]] = t
            self._stamp, self._joints_time, self._received = float(stamp), t, True

    def update_base_pose(self, position: Sequence[float], quat_xyzw: Sequence[float]) -> None:
        x, y, z, w = (float(v) for v in quat_xyzw)
        with self._lock:
            self._base = (np.asarray(position, dtype=float).copy(), np.array([w, x, y, z]))

    def update_objects(self, objects: Sequence[ObjectInfo], now: float | None = None) -> None:
        t = self.clock() if now is None else now
        with self._lock:
            self._objects = {o.name: o for o in objects}
            self._objects_time = t

    def update_controller_mode(self, mode: str, rejections: int | None = None, last_rejection: str = "") -> None:
        with self._lock:
            self._mode = mode
            if rejections is not None:
                self._rejections, self._last_rejection = rejections, last_rejection

    def snapshot(self) -> WorldSnapshot:
        with self._lock:
            joints = None
            if self._received:
                n = len(self._pos)
                joints = JointStateSample(self.robot.joint_names, self._pos.copy(), self._vel.copy(), np.zeros(n),
                                          self._stamp)
            return WorldSnapshot(joints, self._joints_time, self._base, dict(self._objects), self._objects_time,
                                 self._mode, self._stamp, self._times.copy(), self._rejections, self._last_rejection)


# -- skills ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServedSkill:
    manifest: SkillManifest
    policy: SkillPolicy
    checks: SkillChecks

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def period(self) -> float:
        return 1.0 / self.manifest.control_rate_hz

    def param_types(self) -> dict[str, str]:
        return dict(p.split(":", 1) for p in self.manifest.parameters)  # type: ignore[misc]


@dataclass
class SkillSet:
    robot: str
    folder: Path
    skills: dict[str, ServedSkill] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)  # file -> reason
    elsewhere: dict[str, tuple[str, ...]] = field(default_factory=dict)  # other robots' skills -> robots

    def rejected_lines(self) -> list[str]:
        return [f"{f}: {r}" for f, r in sorted(self.rejected.items())]


def runtime_problem(manifest: SkillManifest, specs: Sequence[EmbodimentSpec], max_rate_hz: float) -> str | None:
    """Why this runtime cannot serve a (verified) skill, or None."""
    if manifest.action_space != "task_space":
        return f"action space {manifest.action_space!r} is not served (this runtime runs task_space skills)"
    if manifest.act_dim != ACT_DIM:
        return (f"task-space skills output {ACT_DIM} action values (ee delta + gripper, EmbodimentAdapter "
                f"layout); the manifest declares {manifest.act_dim}")
    problem = signal_problem(manifest.observation)  # the runtime assembles the declared signals
    if problem is not None:
        return problem
    if manifest.control_rate_hz > max_rate_hz + 1e-9:
        return f"control_rate_hz {manifest.control_rate_hz:g} exceeds the edge loop rate {max_rate_hz:g} Hz"
    types = dict(p.split(":", 1) for p in manifest.parameters)
    if "object" not in types.values():
        return "the skill has no parameter of type object (its observation refers to one object)"
    for spec in specs:
        goals = make_skills(spec)
        if manifest.goal not in goals:
            return f"unknown goal {manifest.goal!r} for {spec.name} (known: {', '.join(goals)})"
    try:
        checks = compile_checks(manifest)
    except CheckError as exc:
        return str(exc)
    for name in checks.regions:
        if name in types and types[name] != "location":
            return f"check region {name!r} is a parameter of type {types[name]}, expected location"
    return None


def load_skills(folder: str | Path | None, robot: str, specs: Sequence[EmbodimentSpec],
                max_rate_hz: float = 1000.0) -> SkillSet:
    """Verified skills of `robot` that this runtime can run; every refusal has a reason."""
    try:
        lib = SkillLibrary.load(folder, robot)
    except FileNotFoundError as exc:  # serve nothing, say why (ListSkills shows it)
        path = Path(folder) if folder is not None else default_skill_dir()
        log.error("%s", exc)
        return SkillSet(robot, path, rejected={str(path): str(exc)})
    out = SkillSet(robot, lib.folder, rejected=dict(lib.rejected))
    for (name, embodiment), policy in sorted(lib.policies.items()):
        if embodiment != robot:
            continue
        m = policy.manifest
        problem = runtime_problem(m, specs, max_rate_hz)
        file = m.source.name if m.source is not None else name
        if problem is not None:
            out.rejected[file] = problem
            log.error("skill rejected: %s: %s", file, problem)
            continue
        out.skills[name] = ServedSkill(m, policy, compile_checks(m))
    for path in sorted(lib.folder.glob("*.yaml")):  # names other robots have, for clear errors
        try:
            m = load_manifest(path)
        except ConfigError:
            continue
        if robot not in m.embodiments:
            out.elsewhere.setdefault(m.name, tuple(m.embodiments))
    return out


# -- calls -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SkillRequest:
    skill: str
    arm_group: str = ""
    arguments: Mapping[str, object] = field(default_factory=dict)  # name -> symbol (str) / number
    timeout_s: float = 0.0
    preempt: bool = False
    request_id: str = ""


@dataclass(frozen=True)
class WorldView:
    """World at an event: snapshot plus derived facts (what each arm holds, locations)."""

    snapshot: WorldSnapshot
    holding: Mapping[str, str]
    locations: Mapping[str, Region]
    location_names: frozenset[str]


@dataclass(frozen=True)
class SkillEvent:
    phase: str
    sub_phase: str = ""
    progress: float = 0.0
    elapsed_s: float = 0.0
    message: str = ""
    world: WorldView | None = None
    timing: Mapping[str, float] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL


_ids = itertools.count(1)


class SkillRun:
    """One accepted skill call; its events arrive on `events` until a terminal one."""

    def __init__(self, request: SkillRequest, skill: ServedSkill, group: str, obj: str,
                 regions: Mapping[str, str], timeout_s: float, accepted_at: float) -> None:
        self.id = next(_ids)
        self.request = request
        self.skill = skill
        self.group = group
        self.object = obj
        self.region_names = dict(regions)  # check region -> location name
        self.timeout_s = timeout_s
        self.accepted_at = accepted_at
        self.events: queue.Queue[SkillEvent] = queue.Queue()
        self.phase = ACCEPTED
        self.message = ""
        self._cancel = threading.Event()
        self.cancel_reason = ""
        self.step_latency = RingStats(4096)
        self.policy_latency = RingStats(4096)
        self.steps = 0
        self.skipped = 0  # ticks without a new joint state (waited)
        # control-thread state
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.next_due = 0.0
        self.ctx: SkillContext | None = None
        self.goal = np.zeros(3)
        self.regions: dict[str, Region] = {}
        self.prev_ee = np.zeros(3)
        self.prev_stamp = 0.0
        self.success_since: float | None = None  # skill time the success checks started to hold
        self.stamp0 = 0.0  # joint-state stamp at skill start
        self.next_stamp = 0.0  # robot time of the next step
        self.elapsed = 0.0  # skill time (see RuntimeConfig.skill_clock)
        self.rejections0 = 0  # the cerebellum's rejection count at skill start
        self.last_progress_at = -math.inf
        self.start_dist = 0.0
        self.progress = 0.0
        self.done = threading.Event()

    @property
    def label(self) -> str:
        return f"{self.skill.name}[{self.request.request_id or self.id}]@{self.group}"

    def cancel(self, reason: str = "cancelled") -> None:
        if not self._cancel.is_set():
            self.cancel_reason = reason
            self._cancel.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def next_event(self, timeout: float | None = None) -> SkillEvent | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def timing(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.started_at is not None:
            out["queue_s"] = self.started_at - self.accepted_at
            end = self.ended_at if self.ended_at is not None else self.started_at
            out["execute_s"] = end - self.started_at
        s = self.step_latency.summary()
        if s.get("n"):
            out.update(step_p50_s=s["p50"], step_p99_s=s["p99"], step_max_s=s["max"])
        p = self.policy_latency.summary()
        if p.get("n"):
            out.update(policy_p50_s=p["p50"], policy_p99_s=p["p99"])
        out["steps"] = float(self.steps)
        out["skipped_ticks"] = float(self.skipped)
        return out


@dataclass(frozen=True)
class TrajectoryCommand:
    """Joint targets for one arm group, to be reached `duration_s` after publishing."""

    group: str
    joint_names: tuple[str, ...]
    positions: np.ndarray
    velocities: np.ndarray
    duration_s: float
    kind: str  # "step" | "hold"


@dataclass
class RuntimeConfig:
    success_hold_s: float = 0.1  # success checks must hold this long
    horizon_periods: float = 1.5  # time_from_start of a streamed point, in skill periods
    # ... but at most this (edge clock): a point must end before the cerebellum's setpoint
    # watchdog (setpoint_timeout_s, 0.1 s) would cut it, however slow the robot's clock runs
    max_point_s: float = 0.09
    state_timeout_s: float = 1.0  # joint state older than this fails the skill (shorter gaps: wait;
    # the cerebellum already holds after its own 50 ms state timeout)
    objects_timeout_s: float = 1.0  # object poses older than this fail the skill
    progress_rate_hz: float = 10.0  # RUNNING events per second
    max_rate_hz: float = 50.0  # the loop that calls tick(); skills may not be faster
    # skill time (t_norm, timeout, success hold): "stamps" = the /joint_states stamps (simulated
    # time when the body stamps with it, i.e. what training saw; wall time otherwise), "wall" =
    # the edge's monotonic clock. Stalls are always judged on the edge's clock (state_timeout_s).
    skill_clock: str = "stamps"
    bin_name: str = "bin"
    table_top: float | None = None  # None: the bin's z (the bin stands on the table)
    table_center_xy: tuple[float, float] | None = None
    table_size_xy: tuple[float, float] | None = None
    holding_distance: float = 0.05  # ee-object distance for "holding" in the reported world
    holding_min_closure: float = 0.15
    holding_min_lift: float = 0.02  # object bottom above the table top: lifted, not resting


# -- one arm group ---------------------------------------------------------------------------------
class ArmExecutor:
    def __init__(self, name: str, robot: RobotDescription, spec: EmbodimentSpec, config: RuntimeConfig) -> None:
        self.name = name
        self.spec = spec
        self.config = config
        self.adapter = EmbodimentAdapter(robot, spec, 1.0 / config.max_rate_hz)
        self.joint_names = self.adapter.joint_names
        idx = np.array([robot.index(n) for n in self.joint_names])
        self.index = idx
        self._lower = robot.array("lower")[idx]
        self._upper = robot.array("upper")[idx]
        self._vmax = robot.array("velocity")[idx]
        self._n_chain = len(spec.chain)
        self.goals = make_skills(spec)
        self.run: SkillRun | None = None
        self.pending: SkillRun | None = None
        self.last_cmd: np.ndarray | None = None
        self.continuation = False  # adapter.q is the command the cerebellum holds
        self.step_latency = RingStats(20_000)
        self.policy_latency = RingStats(20_000)
        self.last_outcome = ""
        self.clock_rate = 1.0  # robot-clock seconds per edge-clock second (set by the runtime)

    @property
    def busy(self) -> bool:
        return self.run is not None or self.pending is not None

    def horizon(self, period: float) -> float:
        """time_from_start of a streamed point (edge clock): `horizon_periods` skill periods of
        robot time, i.e. stretched when the robot's clock runs slow (a simulation behind real
        time), so each point still ends after the next step arrives."""
        rate = self.clock_rate if self.config.skill_clock == "stamps" else 1.0
        return round(min(self.config.horizon_periods * period / rate, self.config.max_point_s), 4)

    # -- helpers ---------------------------------------------------------------------------------
    def _sync_base(self, snap: WorldSnapshot) -> None:
        if self.spec.sync_base and snap.base_pose is not None:
            self.adapter.set_base_pose(*snap.base_pose)

    def measured(self, snap: WorldSnapshot) -> np.ndarray | None:
        if snap.joints is None:
            return None
        q = snap.joints.position[self.index]
        return None if not np.all(np.isfinite(q)) else q.copy()

    def ee(self, snap: WorldSnapshot) -> np.ndarray:
        assert snap.joints is not None
        self._sync_base(snap)
        return self.adapter.ee_position(snap.joints)

    def _clip(self, q: np.ndarray) -> np.ndarray:
        return np.clip(q, self._lower, self._upper)

    def _hold(self, snap: WorldSnapshot, where: str) -> TrajectoryCommand | None:
        """Hold command: `command` = last target; `measured` = measured chain + last hand target."""
        meas = self.measured(snap)
        if where == "measured" and meas is not None:
            q = meas.copy()
            if self.last_cmd is not None:
                q[self._n_chain:] = self.last_cmd[self._n_chain:]
            self.adapter.reset(meas[: self._n_chain])
            self.continuation = False
        elif self.last_cmd is not None:
            q = self.last_cmd.copy()
        elif meas is not None:
            q = meas
        else:
            return None
        q = self._clip(q)
        self.last_cmd = q
        period = self.run.skill.period if self.run is not None else 1.0 / self.config.max_rate_hz
        # same horizon as a step, so arm groups ticking together still share one message
        return TrajectoryCommand(self.name, self.joint_names, q, np.zeros_like(q), self.horizon(period), "hold")

    # -- lifecycle --------------------------------------------------------------------------------
    def tick(self, now: float, snap: WorldSnapshot, world: Callable[[WorldSnapshot], WorldView]) \
            -> TrajectoryCommand | None:
        cmd = None
        run = self.run
        if run is not None and run.cancel_requested:
            cmd = self._finish(run, CANCELED, now, snap, world, run.cancel_reason or "cancelled", hold="measured")
        if self.pending is not None:
            new, self.pending = self.pending, None
            if self.run is not None:
                self._finish(self.run, PREEMPTED, now, snap, world, f"preempted by {new.label}", hold=None)
            if new.cancel_requested:
                self._finish(new, CANCELED, now, snap, world, new.cancel_reason or "cancelled", hold=None)
            else:
                cmd = self._start(new, now, snap, world) or cmd
        run = self.run
        if run is not None:
            cmd = self._step(run, now, snap, world) or cmd
        return cmd

    def _start(self, run: SkillRun, now: float, snap: WorldSnapshot,
               world: Callable[[WorldSnapshot], WorldView]) -> TrajectoryCommand | None:
        self.run = run
        run.started_at = now
        problem = self._stale(now, snap)
        obj = snap.objects.get(run.object)
        bin_ = snap.objects.get(self.config.bin_name)
        if problem is None and obj is None:
            problem = f"object {run.object!r} is no longer in the world"
        if problem is None and bin_ is None:
            problem = f"no {self.config.bin_name!r} in the world (the skill context needs it)"
        if problem is not None:
            return self._finish(run, FAILED, now, snap, world, problem, hold="command")
        assert obj is not None and bin_ is not None and snap.joints is not None
        ee0 = self.ee(snap)
        table_top = self.config.table_top if self.config.table_top is not None else float(bin_.position[2])
        # as SimEpisodeRunner._ctx: every other object (not the bin) for the bin slot / carry height
        others = tuple((o.position.copy(), o.size.copy()) for n, o in snap.objects.items()
                       if n not in (self.config.bin_name, run.object))
        ctx = SkillContext(self.spec, obj.position.copy(), ee0.copy(), obj.size.copy(), bin_.position.copy(),
                           bin_.size.copy(), table_top, others)
        run.ctx = ctx
        run.goal = np.asarray(self.goals[run.skill.manifest.goal].target(ctx), dtype=float)
        view = world(snap)
        for region, location in run.region_names.items():
            if location in view.locations:
                run.regions[region] = view.locations[location]
        # Keep the IK command across skills (as in training) only while it is what the arm holds.
        lead = float(np.linalg.norm(self.adapter.ee_position() - ee0))
        if not (self.continuation and lead <= self.spec.max_lead):
            self.adapter.reset(snap.joints)
        self.adapter.dt = run.skill.period
        run.prev_ee, run.prev_stamp = ee0, snap.joints.stamp
        run.stamp0 = run.next_stamp = snap.joints.stamp
        run.rejections0 = snap.rejections
        run.next_due = now
        run.start_dist = float(np.linalg.norm(run.goal - ee0))
        run.phase = RUNNING
        log.info("%s started: goal %s, timeout %.2f s", run.label, np.round(run.goal, 3), run.timeout_s)
        self._emit(run, RUNNING, now, "start", 0.0, "started")
        run.last_progress_at = now
        return None

    def _robot_time(self, run: SkillRun, snap: WorldSnapshot) -> bool:
        return self.config.skill_clock == "stamps" and snap.joints is not None and run.stamp0 > 0

    def _due(self, run: SkillRun, now: float, snap: WorldSnapshot) -> bool:
        """Time for the next step: one skill period of robot time (joint-state stamps) since the
        previous one, or of the edge's clock with skill_clock "wall". Never without a new joint
        state: if the body stalls the skill waits (the cerebellum finishes the last point and
        holds) until state_timeout_s fails it."""
        period = run.skill.period
        assert snap.joints is not None
        wall_due = now >= run.next_due - 0.25 * period
        if self._robot_time(run, snap):
            # on a grid of robot time (stamp0 + k * period), within half an edge tick of it
            tolerance = 0.5 * self.clock_rate / self.config.max_rate_hz
            due = snap.joints.stamp >= run.next_stamp - tolerance and snap.joints.stamp != run.prev_stamp
        else:
            due = wall_due and snap.joints.stamp != run.prev_stamp
        if wall_due and not due:
            run.skipped += 1
            run.next_due = now + 0.5 * period  # count a slow robot clock once per half period
        return due

    def _elapsed(self, run: SkillRun, now: float, snap: WorldSnapshot) -> float:
        """Skill time: the robot's clock (joint-state stamps: simulated time when the body stamps
        with it, as in training) or, with skill_clock "wall" or unusable stamps, the edge's clock."""
        wall = now - (run.started_at if run.started_at is not None else now)
        if self._robot_time(run, snap):
            assert snap.joints is not None
            t = snap.joints.stamp - run.stamp0
            if t >= 0:
                run.elapsed = t
                return t
        run.elapsed = wall
        return wall

    def _stale(self, now: float, snap: WorldSnapshot) -> str | None:
        if snap.joints is None or self.measured(snap) is None:
            return "no joint state for this arm group"
        age = snap.joints_age(now, self.index)
        if age > self.config.state_timeout_s:
            return f"joint state is stale ({age:.3f} s old)"
        if snap.controller_mode in CONTROLLER_STOPS:
            return f"the cerebellum is in {snap.controller_mode}; it refuses trajectories until reset"
        return None

    def _step(self, run: SkillRun, now: float, snap: WorldSnapshot,
              world: Callable[[WorldSnapshot], WorldView]) -> TrajectoryCommand | None:
        t0 = time.perf_counter()
        skill = run.skill
        period = skill.period
        problem = self._stale(now, snap)
        obj = snap.objects.get(run.object)
        if snap.rejections > run.rejections0:
            # A stale-state refusal is transient (the cerebellum holds until the body's feed
            # returns; a lasting loss trips state_timeout_s here too); anything else means the
            # skill's points are unacceptable.
            if problem is None and not snap.last_rejection.startswith(TRANSIENT_REJECTIONS):
                problem = f"the cerebellum rejected a trajectory: {snap.last_rejection or 'no reason given'}"
            run.rejections0 = snap.rejections
        if problem is None:
            if obj is None:
                problem = f"object {run.object!r} disappeared from the world"
            elif now - snap.objects_time > self.config.objects_timeout_s:
                problem = f"object poses are stale ({now - snap.objects_time:.3f} s old)"
        if problem is not None:
            return self._finish(run, FAILED, now, snap, world, problem, hold="measured")
        assert snap.joints is not None and obj is not None and run.ctx is not None
        if run.steps > 0 and not self._due(run, now, snap):
            elapsed = self._elapsed(run, now, snap)
            if elapsed >= run.timeout_s - 1e-9:
                return self._finish(run, TIMED_OUT, now, snap, world, f"no success after {elapsed:.2f} s",
                                    hold="measured")
            return None
        ee = self.ee(snap)
        dt = snap.joints.stamp - run.prev_stamp
        if dt < 0.25 * period:
            dt = period
        elapsed = self._elapsed(run, now, snap)
        gripper = self.adapter.gripper_state(snap.joints)
        obs = skill.policy.layout.assemble(
            self.adapter.observation(ee, (ee - run.prev_ee) / dt, obj.position, run.goal, gripper,
                                     elapsed / skill.manifest.max_duration_s), self.adapter.spec)
        result = skill.checks.evaluate(CheckInputs(ee, run.goal, obj.position, gripper, run.ctx.ee0,
                                                   run.ctx.obj0, run.regions))
        if result.failed is not None:
            return self._finish(run, FAILED, now, snap, world, f"failure check {result.failed} fired; "
                                f"{self._where(ee, run.goal, obj.position)}", hold="measured")
        if result.success:
            if run.success_since is None:
                run.success_since = elapsed
            if elapsed - run.success_since >= self.config.success_hold_s - 1e-9:
                return self._finish(run, SUCCEEDED, now, snap, world, f"{describe(skill.checks.success)} held; "
                                    f"{self._where(ee, run.goal, obj.position)}", hold="command")
        else:
            run.success_since = None
        if elapsed >= run.timeout_s - 1e-9:
            return self._finish(run, TIMED_OUT, now, snap, world,
                                f"no success after {elapsed:.2f} s; unmet: {describe(result.unmet)}; "
                                f"{self._where(ee, run.goal, obj.position)}", hold="measured")
        ta = time.perf_counter()
        try:
            action = skill.policy.act(obs)
        except ValueError as exc:
            return self._finish(run, FAILED, now, snap, world, f"policy error: {exc}", hold="measured")
        tp = time.perf_counter() - ta
        jc = self.adapter.apply_action(action, ee, skill.manifest.gripper_max_rate)
        q = self._clip(np.asarray(jc.position, dtype=float))
        prev = self.last_cmd if self.last_cmd is not None else self.measured(snap)
        # per second of the cerebellum's (edge) clock: the next step comes one period of robot time later
        rate = self.clock_rate if self.config.skill_clock == "stamps" else 1.0
        vel = (q - prev) * (rate / period) if prev is not None else np.zeros_like(q)
        vel = np.clip(vel, -self._vmax, self._vmax)  # a feed-forward hint; the cerebellum rejects faster points
        self.last_cmd = q
        self.continuation = True
        run.prev_ee, run.prev_stamp = ee, snap.joints.stamp
        run.next_due = max(run.next_due + period, now + 0.5 * period)
        run.next_stamp = max(run.next_stamp + period, snap.joints.stamp + 0.5 * period)
        run.steps += 1
        latency = time.perf_counter() - t0
        run.step_latency.add(latency)
        run.policy_latency.add(tp)
        self.step_latency.add(latency)
        self.policy_latency.add(tp)
        if now - run.last_progress_at >= 1.0 / self.config.progress_rate_hz:
            run.last_progress_at = now
            dist = float(np.linalg.norm(run.goal - ee))
            progress = 1.0 - dist / run.start_dist if run.start_dist > 1e-3 else 1.0
            sub = "settle" if result.success else "approach"
            msg = "all success checks hold" if result.success else f"unmet: {describe(result.unmet)}"
            run.progress = max(run.progress, float(np.clip(progress, 0.0, 0.99)))  # reported monotone
            self._emit(run, RUNNING, now, sub, run.progress, msg)
        return TrajectoryCommand(self.name, self.joint_names, q, vel, self.horizon(period), "step")

    @staticmethod
    def _where(ee: np.ndarray, goal: np.ndarray, obj: np.ndarray) -> str:
        """Where things are, for a terminal message."""
        d = goal - ee
        return (f"ee {np.linalg.norm(d):.3f} m from the goal (goal - ee = {np.round(d, 3).tolist()}), "
                f"object at {np.round(obj, 3).tolist()}")

    def _finish(self, run: SkillRun, phase: str, now: float, snap: WorldSnapshot,
                world: Callable[[WorldSnapshot], WorldView], message: str,
                hold: str | None) -> TrajectoryCommand | None:
        """End `run` with a terminal phase; `hold` = "command" | "measured" | None (no hold)."""
        cmd = self._hold(snap, hold) if hold is not None else None
        if run.started_at is None:
            run.started_at = now
        run.phase, run.message, run.ended_at = phase, message, now
        self._emit(run, phase, now, "done", 1.0 if phase == SUCCEEDED else run.progress, message, world(snap))
        if self.run is run:
            self.run = None
        self.last_outcome = f"{run.skill.name}: {phase}"
        run.done.set()
        log.log(logging.INFO if phase == SUCCEEDED else logging.WARNING, "%s %s: %s", run.label, phase, message)
        return cmd

    def _emit(self, run: SkillRun, phase: str, now: float, sub_phase: str, progress: float, message: str,
              view: WorldView | None = None) -> None:
        elapsed = run.elapsed
        run.events.put(SkillEvent(phase, sub_phase, progress, elapsed, message, view,
                                  run.timing() if phase in TERMINAL else {}))


# -- the runtime -----------------------------------------------------------------------------------
class SkillRuntime:
    """Arm executors + request validation; `tick()` must be called from one control thread."""

    def __init__(self, robot: RobotDescription, groups: Mapping[str, EmbodimentSpec], skills: SkillSet,
                 world: WorldModel, config: RuntimeConfig | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not groups:
            raise ValueError("at least one arm group is required")
        for name, spec in groups.items():
            if spec.robot != robot.name:
                raise ValueError(f"arm group {name!r}: embodiment {spec.name} is for {spec.robot}, "
                                 f"this edge serves {robot.name}")
        self.robot = robot
        self.skills = skills
        self.world = world
        self.config = config or RuntimeConfig()
        self.clock = clock
        self.executors = {name: ArmExecutor(name, robot, spec, self.config) for name, spec in groups.items()}
        self._lock = threading.Lock()
        self._conflicts = {a: {b for b, eb in self.executors.items()
                               if b != a and set(ea.joint_names) & set(eb.joint_names)}
                           for a, ea in self.executors.items()}
        self.ticks = 0
        self.robot_clock_rate = 1.0
        self._rate_known = False
        self._rate_ref: tuple[float, float] | None = None

    @property
    def arm_groups(self) -> tuple[str, ...]:
        return tuple(self.executors)

    # -- world facts ---------------------------------------------------------------------------------
    def locations(self, snap: WorldSnapshot) -> dict[str, Region]:
        out: dict[str, Region] = {}
        c = self.config
        bin_ = snap.objects.get(c.bin_name)
        if bin_ is not None:
            out[c.bin_name] = Region(bin_.position.copy(), bin_.size.copy())
        top = c.table_top if c.table_top is not None else (float(bin_.position[2]) if bin_ is not None else None)
        if top is not None and c.table_center_xy is not None and c.table_size_xy is not None:
            out["table"] = Region(np.array([*c.table_center_xy, top]), np.array([*c.table_size_xy, 0.0]))
        return out

    def location_names(self) -> frozenset[str]:
        names = {self.config.bin_name}
        if self.config.table_center_xy is not None and self.config.table_size_xy is not None:
            names.add("table")
        return frozenset(names)

    def graspable(self, snap: WorldSnapshot) -> dict[str, ObjectInfo]:
        locs = self.location_names()
        return {n: o for n, o in snap.objects.items() if n not in locs}

    def holding(self, snap: WorldSnapshot) -> dict[str, str]:
        """Arm group -> object it holds, in the planner's sense (lifted in the hand, not merely
        grasped where it rests): hand closed at least `holding_min_closure`, object centre within
        `holding_distance` of the ee point, object bottom `holding_min_lift` above the table top.
        An estimate from observations (joint states and object poses)."""
        out: dict[str, str] = {}
        objects = self.graspable(snap)
        bin_ = snap.objects.get(self.config.bin_name)
        top = self.config.table_top if self.config.table_top is not None else (
            float(bin_.position[2]) if bin_ is not None else -math.inf)
        objects = {n: o for n, o in objects.items()
                   if o.position[2] - o.size[2] / 2 >= top + self.config.holding_min_lift}
        if snap.joints is None or not objects:
            return out
        for name, ex in self.executors.items():
            if ex.measured(snap) is None:
                continue
            if ex.adapter.gripper_state(snap.joints) < self.config.holding_min_closure:
                continue
            ee = ex.ee(snap)
            dist, obj = min((float(np.linalg.norm(o.position - ee)), n) for n, o in objects.items())
            if dist <= self.config.holding_distance:
                out[name] = obj
        return out

    def view(self, snap: WorldSnapshot) -> WorldView:
        return WorldView(snap, self.holding(snap), self.locations(snap), self.location_names())

    # -- requests (any thread) ---------------------------------------------------------------------
    def validate(self, request: SkillRequest, snap: WorldSnapshot | None = None) -> SkillRun:
        """Check a request against the skills and the world; raises RequestError / NotReadyError."""
        snap = snap or self.world.snapshot()
        violations: list[tuple[str, str]] = []
        skill = self.skills.skills.get(request.skill)
        if skill is None:
            if request.skill in self.skills.elsewhere:
                robots = ", ".join(self.skills.elsewhere[request.skill])
                raise RequestError(f"skill {request.skill!r} is not available for {self.robot.name} "
                                   f"(its model is for {robots})",
                                   [("skill", f"not available for embodiment {self.robot.name}; for {robots}")])
            rejected = [f"{f}: {r}" for f, r in self.skills.rejected.items() if Path(f).stem == request.skill]
            known = ", ".join(sorted(self.skills.skills)) or "none"
            detail = f"; rejected at load: {rejected[0]}" if rejected else ""
            raise RequestError(f"unknown skill {request.skill!r} (served: {known}){detail}",
                               [("skill", f"unknown skill {request.skill!r}; served: {known}")])
        group = request.arm_group
        if not group and len(self.executors) == 1:
            group = next(iter(self.executors))
        if group not in self.executors:
            raise RequestError(f"unknown arm group {group!r} (have: {', '.join(self.executors)})",
                               [("arm_group", f"must be one of {', '.join(self.executors)}")])
        if not (isinstance(request.timeout_s, (int, float)) and math.isfinite(request.timeout_s)
                and request.timeout_s >= 0):
            violations.append(("timeout_s", "must be a finite number >= 0 (0: the skill's max_duration_s)"))
        types = skill.param_types()
        if snap.objects_time == -math.inf and (skill.checks.regions
                                                or any(k in ("object", "location") for k in types.values())):
            # Just started: the world is not empty, it is unknown yet (UNAVAILABLE; callers retry).
            raise NotReadyError(f"no object poses received yet: {skill.name} needs the world's objects")
        objects = self.graspable(snap)
        locations = self.locations(snap)
        args = dict(request.arguments)
        for name in args:
            if name not in types:
                violations.append((f"arguments[{name}]", f"unknown argument; {skill.name} takes "
                                                         f"{', '.join(skill.manifest.parameters)}"))
        obj_name = ""
        for name, kind in types.items():
            value = args.get(name)
            if kind == "arm":
                if value not in (None, "", group):
                    violations.append((f"arguments[{name}]", f"{value!r} disagrees with arm_group {group!r}"))
                continue
            if value is None or value == "":
                violations.append((f"arguments[{name}]", f"missing argument {name}:{kind}"))
                continue
            if kind == "object":
                if not isinstance(value, str) or value not in objects:
                    have = ", ".join(sorted(objects)) or "none"
                    violations.append((f"arguments[{name}]", f"object {value!r} is not in the world (have: {have})"))
                elif not obj_name:
                    obj_name = value
            elif kind == "location" and (not isinstance(value, str) or value not in locations):
                have = ", ".join(sorted(locations)) or "none"
                violations.append((f"arguments[{name}]", f"location {value!r} is not in the world (have: {have})"))
        regions: dict[str, str] = {}
        for region in skill.checks.regions:
            location = args.get(region, region) if region in types else region
            if not isinstance(location, str) or location not in locations:
                violations.append((f"arguments[{region}]" if region in types else "skill",
                                   f"success check region {location!r} is not a location in the world"))
            else:
                regions[region] = location
        if violations:
            raise RequestError(f"invalid {skill.name} request: " + "; ".join(f"{f}: {d}" for f, d in violations),
                               violations)
        age = snap.joints_age(self.clock(), self.executors[group].index) if snap.joints is not None else math.inf
        if age > self.config.state_timeout_s:
            raise NotReadyError(f"no fresh joint state for arm group {group!r} yet")
        timeout = request.timeout_s if request.timeout_s > 0 else skill.manifest.max_duration_s
        return SkillRun(request, skill, group, obj_name, regions, timeout, self.clock())

    def submit(self, request: SkillRequest) -> SkillRun:
        """Validate and queue a skill; it starts on the next tick. Raises RequestError,
        NotReadyError, or BusyError (the group or one sharing joints is busy, no preempt)."""
        run = self.validate(request)
        with self._lock:
            ex = self.executors[run.group]
            busy = [g for g in (run.group, *sorted(self._conflicts[run.group])) if self.executors[g].busy]
            if busy and not request.preempt:
                active = [self.executors[g].run or self.executors[g].pending for g in busy]
                names = ", ".join(r.label for r in active if r is not None)
                raise BusyError(f"arm group {run.group!r} is busy ({names}); set preempt to replace it")
            for g in busy:
                other = self.executors[g]
                if other.pending is not None:  # a queued, never started request: superseded
                    old, other.pending = other.pending, None
                    old.phase, old.message = PREEMPTED, f"preempted by {run.label} before it started"
                    old.started_at = old.ended_at = self.clock()
                    old.events.put(SkillEvent(PREEMPTED, "done", 0.0, 0.0, old.message))
                    old.done.set()
                if g != run.group and other.run is not None:
                    other.run.cancel(f"preempted by {run.label} (shares joints with {g})")
            ex.pending = run
        return run

    # -- control thread ------------------------------------------------------------------------------
    def tick(self, now: float | None = None, snap: WorldSnapshot | None = None) -> list[TrajectoryCommand]:
        now = self.clock() if now is None else now
        snap = snap or self.world.snapshot()
        out: list[TrajectoryCommand] = []
        with self._lock:
            self.ticks += 1
            rate = self._clock_rate(now, snap)
            for ex in self.executors.values():
                ex.clock_rate = rate
                cmd = ex.tick(now, snap, self.view)
                if cmd is not None:
                    out.append(cmd)
        return out

    def _clock_rate(self, now: float, snap: WorldSnapshot) -> float:
        """Robot-clock (joint-state stamp) seconds per edge-clock second, over >= 0.5 s windows,
        smoothed; 1.0 until known. A simulation behind real time gives < 1."""
        if snap.joints is None or snap.stamp <= 0:
            return self.robot_clock_rate
        if self._rate_ref is None or snap.stamp < self._rate_ref[1]:
            self._rate_ref = (now, snap.stamp)
        elif now - self._rate_ref[0] >= 0.5:
            sample = (snap.stamp - self._rate_ref[1]) / (now - self._rate_ref[0])
            self._rate_ref = (now, snap.stamp)
            sample = float(np.clip(sample, 0.1, 2.0))
            if self._rate_known:
                self.robot_clock_rate += 0.5 * (sample - self.robot_clock_rate)
            else:
                self.robot_clock_rate, self._rate_known = sample, True
        return self.robot_clock_rate

    def cancel_all(self, reason: str) -> None:
        with self._lock:
            for ex in self.executors.values():
                for run in (ex.run, ex.pending):
                    if run is not None:
                        run.cancel(reason)

    def status(self) -> dict[str, dict[str, object]]:
        """Per arm group: active skill, last outcome, step latency (ms)."""
        out: dict[str, dict[str, object]] = {}
        with self._lock:
            for name, ex in self.executors.items():
                run = ex.run
                s = ex.step_latency.summary(1e3)
                p = ex.policy_latency.summary(1e3)
                out[name] = {
                    "embodiment": ex.spec.name,
                    "active_skill": run.skill.name if run is not None else "",
                    "request_id": run.request.request_id if run is not None else "",
                    "elapsed_s": run.elapsed if run is not None else 0.0,
                    "last_outcome": ex.last_outcome,
                    "steps": int(s.get("n", 0)),
                    "step_p50_ms": s.get("p50", 0.0), "step_p99_ms": s.get("p99", 0.0),
                    "step_max_ms": s.get("max", 0.0),
                    "policy_p50_ms": p.get("p50", 0.0), "policy_p99_ms": p.get("p99", 0.0),
                    "robot_clock_rate": self.robot_clock_rate,
                }
        return out


def merge_commands(commands: Sequence[TrajectoryCommand]) -> list[TrajectoryCommand]:
    """One command per distinct duration: groups ticking together share one message (so a
    trajectory for one arm never replaces the other arm's in the cerebellum)."""
    by_duration: dict[float, list[TrajectoryCommand]] = {}
    for c in commands:
        by_duration.setdefault(round(c.duration_s, 6), []).append(c)
    out = []
    for duration, items in by_duration.items():
        if len(items) == 1:
            out.append(items[0])
            continue
        out.append(TrajectoryCommand("+".join(c.group for c in items),
                                     tuple(n for c in items for n in c.joint_names),
                                     np.concatenate([c.positions for c in items]),
                                     np.concatenate([c.velocities for c in items]), duration,
                                     "hold" if all(c.kind == "hold" for c in items) else "step"))
    return out
