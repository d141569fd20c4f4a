"""Skill success through the product's edge + cerebellum + body cores in LOCKSTEP on simulated time; prints JSON.

    .venv/bin/python bench/skills_lockstep.py --robot panda [--episodes 50] [--first-seed 500000]
        [--skills config/skills] [--chain reach,grasp,...] [--out result.json]

The live stack (config/stacks/skills_<robot>.yaml: three processes over DDS, bench/skills_live.py)
runs the G1 simulation at ~0.3x real time on a 2-core machine. This harness runs the SAME cores in
one process, each called the way its node calls it, on the body's simulated clock:

  body        MujocoSimDriver built from driver / driver_options (body_node.on_configure); each
              1 kHz cycle: write(the latest /joint_commands, else an empty command), read(), then
              "publish" joint states every cycle, IMU every round(rate / imu_rate_hz) cycles, object
              and base poses every round(rate / objects_rate_hz) cycles (body_node._cycle_once /
              _publish_state), stamps = simulated time (the stack's use_sim_time).
  cerebellum  Controller built as cerebellum_node does (controller.* params, robot kp/kd/rate
              defaults, JointLimits from the description); per tick: the newest merged joint state
              (JointStateMerger) -> update_state, newest IMU quaternion (x, y, z, w) -> update_imu,
              step(), command -> the body's check_joint_command (cerebellum_node._tick, body_node.
              _on_command). Status (mode, rejections) at status_rate_hz, as /cerebellum/status.
  edge        SkillRuntime + WorldModel built as edge_node does (RuntimeConfig from its params,
              load_skills, arm_groups); per tick at tick_rate_hz (10 Hz while idle): the newest
              joint state / objects (ObjectInfo from the markers: name, position, orientation,
              size) / base pose / cerebellum status -> WorldModel, runtime.tick(), merge_commands ->
              the JointTrajectory cerebellum_node._on_trajectory builds (time_from_start rounded to
              ns as the Duration message carries it) -> controller.set_trajectory(streaming).
              Skills are SkillRequests passed to runtime.submit (what edge.service does for
              Execute), arguments as the bridge / chain_client send them (object; from=table,
              to=bin); the terminal SkillEvent is taken from SkillRun.next_event.

Params: config/stacks/skills_<robot>.yaml -> each node's params files + its `parameters:` overrides
(cerebellum controller.kp/kd 0, body objects_rate_hz 100). Clocks: every core's clock is the
simulated time (no wall clock anywhere), so DDS latency, scheduling jitter and the sim running
slower than real time are NOT modelled -- that is the point (and the limit) of this harness.

Per seed (default 500000.., the in-process evaluation's unseen seeds): /sim/reset with that seed
(body.node.reset_world: objects jittered for the seed, sim time keeps running), a fresh cerebellum
Controller (as if the arm had been streamed back to its start posture and the controller re-armed
there; the live bench streams it back), 0.5 s of simulated time holding, then reach -> grasp ->
lift -> transport -> place -> release on red_cube; a skill is attempted only if the one before it
succeeded (the judge decides). Judge: edge.experts.check_success on the live simulation (SimView /
SkillContext as edge.sim_episode builds them), right when the edge reports the terminal phase; the
edge's phase is recorded too. A G1 whose pelvis drops > 15 cm or tilts > 30 deg has fallen: the
skill fails and the episode ends.

Output (stdout, and --out rewritten after every episode): per skill attempts / successes / rate /
edge phases, chain successes, failures (seed, skill, edge phase + message), sim and wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable as `python bench/skills_lockstep.py` from a checkout
    sys.path.insert(0, str(REPO))

HARNESS = ("lockstep: edge SkillRuntime + cerebellum Controller + MujocoSimDriver in one process on "
           "simulated time; no DDS/processes")
CHAIN = ("reach", "grasp", "lift", "transport", "place", "release")
ARM = {"g1": "right_arm", "panda": "arm"}
OBJECT = "red_cube"
BIN = "bin"
SETTLE_S = 0.5
SKILL_MARGIN_S = 3.0  # sim s past the skill's timeout before the harness gives up on a terminal event
FALL_DROP = 0.15  # = edge.sim_episode.FALL_DROP
FALL_TILT_DEG = 30.0  # = edge.sim_episode.FALL_TILT_DEG


# -- configuration (the stack's params files + per-node overrides) ---------------------------------
def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _prefixed(flat: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """get_parameters_by_prefix: {'driver_options.seed': 0} -> {'seed': 0}."""
    p = prefix + "."
    return {k[len(p):]: v for k, v in flat.items() if k.startswith(p)}


def stack_params(robot: str) -> dict[str, dict[str, Any]]:
    """Flat ROS parameters per node of config/stacks/skills_<robot>.yaml (files, then overrides)."""
    import yaml

    from robot_control.supervisor.stack import load_stack

    spec = load_stack(f"skills_{robot}")
    out: dict[str, dict[str, Any]] = {}
    for node in spec.nodes:
        flat: dict[str, Any] = {}
        for path in node.params:
            data = yaml.safe_load(Path(path).read_text()) or {}
            for section in data.values():  # "/**" (or the node's name)
                flat.update(_flatten((section or {}).get("ros__parameters", {})))
        flat.update(_flatten(node.parameters))
        out[node.name] = flat
    return out


# -- the three cores, wired as the nodes wire them ---------------------------------------------------
class Lockstep:
    def __init__(self, robot: str, skills_folder: Path | None = None,
                 body_overrides: Mapping[str, Any] | None = None) -> None:
        from robot_control.body.command_check import check_joint_command
        from robot_control.body.registry import load_driver_class
        from robot_control.body.robot_description import load_robot
        from robot_control.body.types import JointCommand
        from robot_control.cerebellum import ControllerConfig, JointLimits
        from robot_control.cerebellum.node import _nest
        from robot_control.common.periodic import every_n_cycles
        from robot_control.edge.embodiment import SPECS, EmbodimentAdapter
        from robot_control.edge.experts import SimView
        from robot_control.edge.node import DEFAULT_GROUPS
        from robot_control.edge.runtime import RuntimeConfig, SkillRuntime, WorldModel, load_skills

        self.params = params = stack_params(robot)
        params["body"].update(body_overrides or {})
        body, cb, edge = params["body"], params["cerebellum"], params["edge"]
        self.t = 0.0
        clock = lambda: self.t  # noqa: E731 - every core's clock is simulated time

        # body (body_node.on_configure / on_activate)
        self.robot = load_robot(body.get("robot", "g1"))
        self.driver = load_driver_class(body.get("driver", "mujoco_sim"))(self.robot, _prefixed(body, "driver_options"))
        self.driver.configure()
        self.driver.activate()
        self.body_names = list(self.driver.joint_names)
        self.body_index = {n: i for i, n in enumerate(self.body_names)}
        self.rate = float(self.driver.rate_hz)
        self.imu_every = max(1, round(self.rate / max(float(body.get("imu_rate_hz", 500.0)), 1e-3)))
        self.obj_every = max(1, round(self.rate / max(float(body.get("objects_rate_hz", 30.0)), 1e-3)))
        self._check_command = check_joint_command
        self._empty = JointCommand((), np.zeros(0))
        self.cycle = 0

        # "topics": the newest message of each, with a sequence number (depth-1 subscriptions)
        self._js: tuple[int, float, np.ndarray, np.ndarray] | None = None
        self._imu: tuple[int, np.ndarray] | None = None
        self._objects: tuple[int, list] | None = None
        self._base: tuple[int, tuple, tuple] | None = None
        self._status: tuple[int, dict] | None = None
        self._seq = 0
        self._cb_used = {"js": -1, "imu": -1}
        self._edge_used = {"js": -1, "objects": -1, "base": -1, "status": -1}
        self._command = None  # the newest accepted /joint_commands

        # cerebellum (CerebellumNode.__init__)
        cb_robot = load_robot(cb.get("robot", "g1"))
        config_dict = _nest(_prefixed(cb, "controller"))
        config_dict.setdefault("kp", {j.name: j.kp for j in cb_robot.joints})
        config_dict.setdefault("kd", {j.name: j.kd for j in cb_robot.joints})
        config_dict.setdefault("rate_hz", cb_robot.control_rate_hz)
        self.cb_config = ControllerConfig.from_dict(config_dict, where="cerebellum.controller")
        self.cb_names = list(cb_robot.joint_names)
        self.cb_limits = JointLimits.from_lists(
            self.cb_names, cb_robot.array("lower"), cb_robot.array("upper"), cb_robot.array("velocity"),
            cb_robot.array("acceleration"), cb_robot.array("effort"))
        self.cb_robot = cb_robot
        self.streaming = bool(cb.get("streaming_setpoints", True))
        self.cb_every = every_n_cycles(self.rate, self.cb_config.rate_hz)
        self.status_every = every_n_cycles(self.rate, float(cb.get("status_rate_hz", 50.0)))
        self.new_controller()

        # edge (EdgeNode.__init__)
        groups = _prefixed(edge, "arm_groups") or DEFAULT_GROUPS.get(edge.get("robot", "g1"), {})
        specs = {g: SPECS[s] for g, s in groups.items()}
        tick_hz = float(edge.get("tick_rate_hz", 100.0))
        size = [float(v) for v in edge.get("table_size_xy", [0.0, 0.0])]
        center = [float(v) for v in edge.get("table_center_xy", [0.0, 0.0])]
        has_table = len(size) == 2 and min(size) > 0 and len(center) == 2
        top = float(edge.get("table_top", -1.0))
        self.edge_config = RuntimeConfig(
            success_hold_s=float(edge.get("success_hold_s", 0.1)),
            horizon_periods=float(edge.get("trajectory_horizon_periods", 1.5)),
            max_point_s=float(edge.get("max_point_s", 0.09)),
            state_timeout_s=float(edge.get("state_timeout_s", 1.0)),
            objects_timeout_s=float(edge.get("objects_timeout_s", 1.0)),
            progress_rate_hz=float(edge.get("progress_rate_hz", 10.0)), max_rate_hz=tick_hz,
            bin_name=str(edge.get("bin_name", BIN)), table_top=top if top >= 0 else None,
            table_center_xy=(center[0], center[1]) if has_table else None,
            table_size_xy=(size[0], size[1]) if has_table else None,
            holding_distance=float(edge.get("holding_distance", 0.05)),
            holding_min_closure=float(edge.get("holding_min_closure", 0.15)),
            holding_min_lift=float(edge.get("holding_min_lift", 0.02)),
            skill_clock=str(edge.get("skill_clock", "stamps")))
        edge_robot = load_robot(edge.get("robot", "g1"))
        folder = skills_folder or (Path(edge["skill_folder"]) if edge.get("skill_folder") else None)
        self.skills = load_skills(folder, edge_robot.name, list(specs.values()), max_rate_hz=tick_hz)
        self.world = WorldModel(edge_robot, clock=clock)
        self.runtime = SkillRuntime(edge_robot, specs, self.skills, self.world, self.edge_config, clock=clock)
        self.edge_every = every_n_cycles(self.rate, tick_hz)
        self.idle_every = max(1, round(tick_hz / 10.0))
        self.edge_ticks = 0
        self.trajectories_sent = 0
        self.trajectories_rejected = 0


        # the judge: the simulation itself (edge.sim_episode)
        self.group = ARM[self.robot.name]
        self.spec = specs[self.group]
        self.judge_adapter = EmbodimentAdapter(self.robot, self.spec, 1.0 / 50.0)
        self.view = SimView(self.driver.model, self.driver.data, self.spec.hand_bodies, self.driver.scene.table.top)

    def new_controller(self) -> None:
        """A cerebellum as it starts: holds the first measured state."""
        from robot_control.cerebellum import Controller
        from robot_control.cerebellum.state_merge import JointStateMerger

        self.controller = Controller(self.cb_names, self.cb_limits, self.cb_config, self.cb_robot.postures)
        self.merger = JointStateMerger(self.cb_names)
        self._command = None
        self._cb_used = {"js": self._js[0] if self._js else -1, "imu": self._imu[0] if self._imu else -1}

    # -- one body cycle --------------------------------------------------------------------------
    def cycle_once(self) -> None:
        driver = self.driver
        command, self._command = self._command, None
        driver.write(command if command is not None else self._empty)  # body_node._cycle_once
        state = driver.read()
        self.t = t = float(driver.sim_time())
        self._seq += 1
        seq = self._seq
        self.cycle += 1  # body_node._publish_state counts the cycle before its decimation checks
        self._js = (seq, t, state.joints.position, state.joints.velocity)
        if state.imu is not None and self.cycle % self.imu_every == 0:
            self._imu = (seq, np.asarray(state.imu.orientation, dtype=float))  # x, y, z, w
        if self.cycle % self.obj_every == 0:
            if state.objects:
                self._objects = (seq, state.objects)
            if state.base_pose is not None:
                self._base = (seq, tuple(state.base_pose.position), tuple(state.base_pose.orientation))
        if self.cb_every and self.cycle % self.cb_every == 0:
            self._cerebellum_tick(t)
        if self.status_every and self.cycle % self.status_every == 0:
            st = self.controller.status()
            self._status = (seq, {"mode": st["mode"], "rejected": int(st["trajectories_rejected"]),
                                  "last_rejection": st["last_rejection"]})
        if self.edge_every and self.cycle % self.edge_every == 0:
            self._edge_tick(t)

    def _cerebellum_tick(self, now: float) -> None:  # CerebellumNode._on_state / _on_imu / _tick
        c = self.controller
        js = self._js
        if js is not None and js[0] != self._cb_used["js"]:
            self._cb_used["js"] = js[0]
            arrival = int(round(js[1] * 1e9))
            problem = self.merger.update(arrival, self.body_names, js[2], js[3])
            snapshot = self.merger.snapshot() if problem is None else None
            if snapshot is None:
                c.note_state_problem(problem or "incomplete joint state")
            else:
                oldest, q, qd = snapshot
                c.update_state(oldest / 1e9, q, qd)
        imu = self._imu
        if imu is not None and imu[0] != self._cb_used["imu"]:
            self._cb_used["imu"] = imu[0]
            c.update_imu(now, imu[1])
        out = c.step(now)
        if out.valid:  # /joint_commands -> BodyNode._on_command
            command, _reason = self._check_command(self.cb_names, out.position, out.velocity, out.effort,
                                                   self.body_index)
            if command is not None:
                self._command = command

    def _edge_tick(self, now: float) -> None:  # EdgeNode._tick / _take_state / _on_*
        from robot_control.cerebellum import JointTrajectory
        from robot_control.edge.runtime import ObjectInfo, merge_commands

        self.edge_ticks += 1
        idle = not any(ex.busy for ex in self.runtime.executors.values())
        if idle and self.edge_ticks % self.idle_every:
            return
        used, w = self._edge_used, self.world
        js = self._js
        if js is not None and js[0] != used["js"]:
            used["js"] = js[0]
            w.update_joints(self.body_names, js[2], js[3], js[1])
        objs = self._objects
        if objs is not None and objs[0] != used["objects"]:
            used["objects"] = objs[0]
            w.update_objects([ObjectInfo(o.name, np.asarray(o.position, dtype=float),
                                         np.asarray(o.orientation, dtype=float),
                                         np.asarray(o.size if o.size is not None else (0.05, 0.05, 0.05), dtype=float))
                              for o in objs[1] if o.name])
        base = self._base
        if base is not None and base[0] != used["base"]:
            used["base"] = base[0]
            w.update_base_pose(base[1], base[2])
        st = self._status
        if st is not None and st[0] != used["status"]:
            used["status"] = st[0]
            w.update_controller_mode(st[1]["mode"], st[1]["rejected"], st[1]["last_rejection"])
        for cmd in merge_commands(self.runtime.tick(now=now)):
            # edge: Duration(sec, nanosec=round(frac * 1e9)); cerebellum_node._on_trajectory: from_lists
            sec = int(cmd.duration_s)
            tfs = sec + int(round((cmd.duration_s - sec) * 1e9)) * 1e-9
            vel = cmd.velocities.tolist()
            traj = JointTrajectory.from_lists(list(cmd.joint_names), [tfs], [cmd.positions.tolist()],
                                              [vel] if vel else None, None)
            ok, _reason = self.controller.set_trajectory(now, traj, streaming=self.streaming)
            self.trajectories_sent += 1
            self.trajectories_rejected += int(not ok)

    def run_for(self, seconds: float) -> None:
        for _ in range(int(round(seconds * self.rate))):
            self.cycle_once()

    # -- simulation ground truth (edge.sim_episode) -------------------------------------------------
    def base_state(self) -> tuple[float, float]:
        base = self.driver.data.body(self.spec.base_body)
        _, x, y, _ = base.xquat
        zz = 1.0 - 2.0 * (x * x + y * y)
        return float(base.xpos[2]), float(np.degrees(np.arccos(np.clip(zz, -1.0, 1.0))))

    def measured_ee(self) -> np.ndarray:
        if self.spec.sync_base:
            base = self.driver.data.body(self.spec.base_body)
            self.judge_adapter.set_base_pose(base.xpos, base.xquat)
        return self.judge_adapter.ee_position(self.driver.read().joints)

    def context(self, obj: str):
        from robot_control.edge.experts import SkillContext

        objects = self.driver.read().objects
        bin_obj = next(o for o in objects if o.name == BIN)
        size = next(o.size for o in self.driver.built.objects if o.name == obj)
        others = tuple((o.position.copy(), o.size.copy()) for o in objects
                       if o.name not in (BIN, obj) and o.size is not None)
        return SkillContext(self.spec, self.view.obj_pos(obj), self.measured_ee(), np.asarray(size),
                            bin_obj.position.copy(), bin_obj.size.copy(), self.view.table_top, others)


# -- episodes ------------------------------------------------------------------------------------------
@dataclass
class SkillOutcome:
    skill: str
    success: bool  # the simulation judge
    edge_phase: str
    message: str
    sim_s: float
    fell: bool = False


@dataclass
class Episode:
    seed: int
    skills: list[SkillOutcome] = field(default_factory=list)
    sim_s: float = 0.0
    wall_s: float = 0.0


def skill_arguments(skill, obj: str) -> dict[str, str]:
    """Execute arguments as bench/skills_live (edge.chain_client.arguments) sends them."""
    args = {}
    for name, kind in skill.param_types().items():
        if kind == "object":
            args[name] = obj
        elif kind == "location":
            args[name] = "table" if name == "from" else BIN
    return args


def run_skill(ls: Lockstep, name: str, seed: int, obj: str = OBJECT, z0: float | None = None) -> SkillOutcome:
    from robot_control.edge.experts import check_success
    from robot_control.edge.runtime import BusyError, NotReadyError, RequestError, SkillRequest

    ctx = ls.context(obj)
    obj_start = ctx.obj0.copy()
    t0 = ls.t
    served = ls.skills.skills.get(name)
    if served is None:
        return SkillOutcome(name, False, "NOT_SERVED", f"{name} is not served for {ls.robot.name}", 0.0)
    request = SkillRequest(skill=name, arm_group=ls.group, arguments=skill_arguments(served, obj),
                           request_id=f"{seed}:{name}")
    try:
        run = ls.runtime.submit(request)
    except (RequestError, NotReadyError, BusyError) as exc:
        return SkillOutcome(name, False, "REJECTED", f"{type(exc).__name__}: {exc}", 0.0)
    limit = t0 + run.timeout_s + SKILL_MARGIN_S
    event = None
    fell = False
    while ls.t < limit:
        for _ in range(ls.edge_every or 1):
            ls.cycle_once()
        while (ev := run.next_event(timeout=0)) is not None:
            if ev.terminal:
                event = ev
        if event is not None:
            break
        if z0 is not None:
            z, tilt = ls.base_state()
            if z < z0 - FALL_DROP or tilt > FALL_TILT_DEG:
                fell = True
                run.cancel("the robot fell")
                break
    ee = ls.measured_ee()
    ok = not fell and check_success(name, ls.view, obj, ctx, ee, obj_start)
    phase = event.phase if event is not None else ("FELL" if fell else "NO_TERMINAL_EVENT")
    message = event.message if event is not None else ("robot fell" if fell else
                                                       f"no terminal event {run.timeout_s + SKILL_MARGIN_S:.1f} s")
    if fell:  # let the cancel's hold reach the cerebellum
        ls.run_for(0.05)
    return SkillOutcome(name, bool(ok), phase, message, ls.t - t0, fell)


def run_episode(ls: Lockstep, seed: int, chain: Sequence[str], objects: Sequence[str] = (OBJECT,)) -> Episode:
    from robot_control.body.node import reset_world

    w0, s0 = time.perf_counter(), ls.t
    ls.runtime.cancel_all("episode reset")
    ls.run_for(0.05)
    reset_world(ls.driver, seed)  # /sim/reset with sim_seed = seed
    ls.new_controller()
    ls.run_for(SETTLE_S)
    z0 = ls.base_state()[0] if ls.driver.scene.base_qpos is not None else None  # floating base: can fall
    ep = Episode(seed)
    for name, obj in ((n, o) for o in objects for n in chain):  # each object in turn, the whole chain
        out = run_skill(ls, name, seed, obj, z0=z0)
        ep.skills.append(out)
        if not out.success or out.fell:
            break
    ep.sim_s, ep.wall_s = ls.t - s0, time.perf_counter() - w0
    return ep


def summarize(robot: str, seeds: Sequence[int], chain: Sequence[str], episodes: Sequence[Episode],
              extra: Mapping[str, Any], objects: Sequence[str] = (OBJECT,)) -> dict[str, Any]:
    per: dict[str, dict[str, Any]] = {}
    for name in chain:
        outs = [o for ep in episodes for o in ep.skills if o.skill == name]
        wins = sum(o.success for o in outs)
        entry: dict[str, Any] = {"attempts": len(outs), "successes": wins,
                                 "rate": round(wins / len(outs), 4) if outs else None,
                                 "edge_phases": dict(sorted(Counter(o.edge_phase for o in outs).items()))}
        disagree_a = sum(1 for o in outs if o.edge_phase == "SUCCEEDED" and not o.success)
        disagree_b = sum(1 for o in outs if o.edge_phase != "SUCCEEDED" and o.success)
        if disagree_a:
            entry["edge_succeeded_but_judged_failed"] = disagree_a
        if disagree_b:
            entry["edge_not_succeeded_but_judged_success"] = disagree_b
        if outs:
            entry["sim_s_mean"] = round(float(np.mean([o.sim_s for o in outs])), 3)
        per[name] = entry
    steps = len(chain) * len(objects)
    chain_ok = sum(1 for ep in episodes if len(ep.skills) == steps and all(o.success for o in ep.skills))
    failures = [{"seed": ep.seed, "skill": o.skill, "edge_phase": o.edge_phase, "message": o.message,
                 **({"fell": True} if o.fell else {})}
                for ep in episodes for o in ep.skills if not o.success]
    sim = float(sum(ep.sim_s for ep in episodes))
    wall = float(sum(ep.wall_s for ep in episodes))
    return {"robot": robot, "harness": HARNESS,
            "seeds": f"{seeds[0]}-{seeds[-1]}" if seeds else "", "episodes_planned": len(seeds),
            "episodes_done": len(episodes), "chain": list(chain), "skills": per,
            "chain_successes": chain_ok, "failures": failures,
            "falls": sum(1 for ep in episodes for o in ep.skills if o.fell),
            "sim_s": round(sim, 2), "wall_s": round(wall, 2),
            "real_time_factor": round(sim / wall, 3) if wall > 0 else None, **extra}


def evaluate(robot: str, seeds: Sequence[int], skills_folder: Path | None = None,
             chain: Sequence[str] = CHAIN, out: Path | None = None, log=None,
             body_overrides: Mapping[str, Any] | None = None,
             objects: Sequence[str] = (OBJECT,)) -> dict[str, Any]:
    t0 = time.perf_counter()
    ls = Lockstep(robot, skills_folder, body_overrides)
    extra = {"setup_wall_s": round(time.perf_counter() - t0, 2),
             "skills_folder": str(ls.skills.folder), "served": sorted(ls.skills.skills),
             "rejected_skills": ls.skills.rejected_lines(),
             "config": {"body_rate_hz": ls.rate, "imu_every_cycles": ls.imu_every,
                        "objects_every_cycles": ls.obj_every, "edge_every_cycles": ls.edge_every,
                        "cerebellum_kp_kd_zero": bool(np.all(ls.controller._kp == 0) and np.all(ls.controller._kd == 0)),
                        "skill_clock": ls.edge_config.skill_clock, "streaming_setpoints": ls.streaming,
                        "body_overrides": dict(body_overrides or {}), "objects": list(objects)},
             "load_avg": list(os.getloadavg())}
    episodes: list[Episode] = []
    result = summarize(robot, seeds, chain, episodes, extra, objects)
    for seed in seeds:
        ep = run_episode(ls, seed, chain, objects)
        episodes.append(ep)
        extra["trajectories_sent"], extra["trajectories_rejected"] = ls.trajectories_sent, ls.trajectories_rejected
        extra["load_avg"] = list(os.getloadavg())
        result = summarize(robot, seeds, chain, episodes, extra, objects)
        if log is not None:
            log(f"{robot} seed {seed}: " + " ".join(f"{o.skill}={'ok' if o.success else 'FAIL'}({o.edge_phase})"
                                                      for o in ep.skills)
                + f"  sim {ep.sim_s:.1f} s wall {ep.wall_s:.1f} s")
        if out is not None:
            out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--robot", default="panda", choices=sorted(ARM))
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--first-seed", type=int, default=500_000)
    p.add_argument("--skills", type=Path, default=REPO / "config" / "skills", help="skill folder")
    p.add_argument("--chain", default=",".join(CHAIN), help="comma-separated prefix of the chain to run")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--objects", default=OBJECT,
                   help="comma-separated scene objects the chain moves, one after another per episode")
    p.add_argument("--body-param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a body parameter (YAML value), e.g. driver_options.noslip=robot_contact")
    a = p.parse_args(argv)
    import yaml

    overrides = {}
    for item in a.body_param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            p.error(f"--body-param {item!r}: expected NAME=VALUE")
        overrides[name] = yaml.safe_load(value)
    chain = [s.strip() for s in a.chain.split(",") if s.strip()]
    unknown = [s for s in chain if s not in CHAIN]
    if unknown:
        p.error(f"unknown skill(s) {unknown}; chain is {', '.join(CHAIN)}")
    seeds = list(range(a.first_seed, a.first_seed + a.episodes))

    def log(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    objects = [o.strip() for o in a.objects.split(",") if o.strip()]
    result = evaluate(a.robot, seeds, a.skills, chain, a.out, log, overrides, objects)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
