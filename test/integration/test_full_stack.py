"""The whole cloud-edge-end stack as real processes: config/stacks/demo.yaml under the supervisor
(MuJoCo body, 1 kHz cerebellum, edge with the trained skills in config/skills, cloud brain with
TLS + token, bridge) over real DDS and gRPC, brought up with the demo's own pieces
(`robot_control.demo.demo_stack` / `stack_env` / `Monitor`). One stack per robot is shared by
the tests of this module; each test starts from the initial scene (arm streamed home, then
/sim/reset) and asserts only its own scenario:

1. `test_default_task_succeeds`: the demo's default instruction (G1: "put the red cube and the
   green can in the bin"; Panda: "put the red cube and the green cube in the bin") brain (cloud) -> bridge ->
   edge -> cerebellum -> body: SUCCEEDED, the objects inside the bin on /objects (simulation
   ground truth).
2. `test_cloud_killed_mid_task` (#6): the brain process SIGKILLed while the first skill runs:
   /diagnostics says degraded-local, the task still SUCCEEDS with its objects in the bin; the
   supervisor restarts the brain (restart: on-failure) and the link returns to cloud.
3. `test_edge_killed_mid_skill` (#7): the edge SIGKILLed while reach streams: the cerebellum
   stops tracking within its setpoint watchdog and the commands settle, the G1 stays up, the
   task ends ABORTED naming the broken step; the supervisor restarts the edge and a new task
   succeeds from wherever the arm stopped.
4. `test_estop_during_task` (#7): /cerebellum/estop while reach runs: the commands freeze
   at rest, the task ends ABORTED (e-stop named), a new task is aborted and trajectories are
   refused while the latch holds; /cerebellum/reset re-arms.

Measured numbers are printed (see them with -s). EDGE_TEST_SKILLS points the edge at another
skill folder (a candidate set) instead of config/skills; robots whose skill chain is not
complete there are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import socket
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
import yaml

from robot_control.bridge.tasks import new_task_id, task_message
from robot_control.cerebellum.controller import parse_mode_history
from robot_control.demo import DEFAULT_INSTRUCTIONS, Monitor, collect_stats, demo_stack, stack_env, sub_goals
from robot_control.paths import config_path
from robot_control.testing import RosSession, RunningStack, next_domain_id, wait_for
from robot_control.v1 import skill_pb2, skill_pb2_grpc

pytestmark = [pytest.mark.integration, pytest.mark.sim, pytest.mark.slow]

ROBOTS = {
    # The demo's default task per robot (robot_control.demo.DEFAULT_INSTRUCTIONS: the G1 moves the
    # red cube and the green can, the Panda two cubes); home joints: streamed back to the initial
    # posture before /sim/reset (what the edge moves).
    "g1": {"instruction": DEFAULT_INSTRUCTIONS["g1"], "objects": ("red_cube", "green_can"),
           "home_groups": ("right_arm", "right_hand")},
    "panda": {"instruction": DEFAULT_INSTRUCTIONS["panda"], "objects": ("red_cube", "green_cube"),
              "home_groups": ("arm", "hand")},
}
CHAIN = ("reach", "grasp", "lift", "transport", "place", "release")
TERMINAL = ("SUCCEEDED", "FAILED", "ABORTED", "CANCELED")
STARTUP_S = 360.0
TASK_S = 900.0  # two objects on the G1, simulated below real time on 2 loaded cores
G1_STANDING_Z = 0.6
EDGE_RESTART_DELAY_S = 1.0  # the supervisor restarts a failed node after restart_delay_s (default 1 s)


def skills_folder() -> Path:
    """config/skills, or EDGE_TEST_SKILLS (a candidate model folder to try before it is shipped)."""
    override = os.environ.get("EDGE_TEST_SKILLS")
    return Path(override) if override else config_path("skills")


def missing_skills(robot: str) -> list[str]:
    """Skills of the chain without a manifest + model for `robot` in the skills folder."""
    found = set()
    for path in skills_folder().glob("*.yaml"):
        try:
            manifest = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError:
            continue
        robots = manifest.get("embodiments") or {}
        model = (manifest.get("model") or {}).get("file", "")
        if robot in robots and model and (path.parent / model).is_file():
            found.add(manifest.get("name"))
    return [s for s in CHAIN if s not in found]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def list_skills(port: int, timeout_s: float) -> skill_pb2.ListSkillsResponse:
    """ListSkills on the edge, retried until it answers (the edge may be starting)."""
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = skill_pb2_grpc.SkillServiceStub(channel)
        while True:
            try:
                return stub.ListSkills(skill_pb2.ListSkillsRequest(), timeout=5.0)
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


class FullStack:
    """The running demo stack plus the test's view of it (a Monitor on the test's node)."""

    def __init__(self, robot: str, runner: RunningStack, ros: RosSession, edge_port: int) -> None:
        from diagnostic_msgs.msg import DiagnosticStatus
        from geometry_msgs.msg import PoseStamped
        from std_srvs.srv import SetBool, Trigger
        from trajectory_msgs.msg import JointTrajectory

        from robot_control.body.robot_description import load_robot
        from robot_control.common.ros import command_qos, sensor_qos

        self.robot = robot
        self.cfg = ROBOTS[robot]
        self.runner = runner
        self.ros = ros
        self.edge_port = edge_port
        self.mon = Monitor(ros.node)
        self.description = load_robot(robot)
        self.lock = threading.Lock()
        self.modes: list[tuple[float, str, dict[str, str]]] = []  # /cerebellum/status changes
        self.cerebellum: dict[str, str] = {}
        self.base_z: list[tuple[float, float]] = []
        node = ros.node
        node.create_subscription(DiagnosticStatus, "/cerebellum/status", self._on_cerebellum, 10)
        node.create_subscription(PoseStamped, "/base_pose", self._on_base, sensor_qos())
        self.traj_pub = node.create_publisher(JointTrajectory, "/cerebellum/trajectory", command_qos())
        self.estop = node.create_client(SetBool, "/cerebellum/estop")
        self.reset = node.create_client(Trigger, "/cerebellum/reset")
        self.sim_reset = node.create_client(Trigger, "/sim/reset")
        self.SetBool, self.Trigger, self.JointTrajectory = SetBool, Trigger, JointTrajectory

    # -- observations -------------------------------------------------------------------------
    def _on_cerebellum(self, msg) -> None:
        values = {kv.key: kv.value for kv in msg.values}
        with self.lock:
            self.cerebellum = values
            # Mode changes as the controller timed them (its CLOCK_MONOTONIC, shared by the
            # processes of this machine), from the history each status carries: a starved
            # observer that got statuses late, or lost some (depth 10), still sees every change.
            last = self.modes[-1][0] if self.modes else -math.inf
            history = parse_mode_history(values.get("mode_history", ""))
            for when, mode in history:
                if when > last and (not self.modes or self.modes[-1][1] != mode):
                    self.modes.append((when, mode, values))
                    last = when
            if not history and (not self.modes or self.modes[-1][1] != msg.message):
                since = values.get("mode_since_s", "")
                self.modes.append((float(since) if since else time.monotonic(), msg.message, values))

    def _on_base(self, msg) -> None:
        with self.lock:
            self.base_z.append((time.monotonic(), msg.pose.position.z))
            del self.base_z[:-2000]

    def mode(self) -> str:
        with self.lock:
            return self.modes[-1][1] if self.modes else ""

    def mode_change_after(self, t: float, accept) -> tuple[float, str] | None:
        with self.lock:
            return next(((tm, m) for tm, m, _ in self.modes if tm >= t and accept(m)), None)

    def stopped_tracking(self, t: float, until: float = math.inf) -> tuple[float, str] | None:
        """(when, mode) the cerebellum last stopped tracking for good after `t` (`t` itself if it
        was not tracking then and never tracked again), looking at mode changes up to `until`;
        None while it still tracks."""
        with self.lock:
            modes = [(tm, m) for tm, m, _ in self.modes if tm <= until]
        current = next((m for tm, m in reversed(modes) if tm < t), "")
        since = t if current != "tracking" else None
        for tm, m in modes:
            if tm < t:
                continue
            if m == "tracking":
                since = None
            elif since is None:
                since = tm
        return None if since is None else (since, modes[-1][1] if modes else "")

    def min_base_z(self, since: float) -> float:
        with self.lock:
            zs = [z for t, z in self.base_z if t >= since]
        return min(zs) if zs else math.nan

    def link_mode(self) -> str:
        return (self.mon.find("bridge: brain link") or {}).get("link_mode", "")

    def output(self, tail: int = 8000) -> str:
        return self.runner.output()[-tail:]

    @contextlib.contextmanager
    def dump_on_failure(self):
        try:
            yield
        except BaseException:
            print("---- stack output (tail) ----\n" + self.output())
            raise

    # -- tasks --------------------------------------------------------------------------------
    def send(self, text: str, prefix: str) -> str:
        from std_msgs.msg import String

        task_id = new_task_id(prefix)
        self.mon.task_pub.publish(String(data=task_message(task_id, instruction=text)))
        return task_id

    def statuses(self, task_id: str) -> list[tuple[float, dict[str, str], str]]:
        return [(t, {kv.key: kv.value for kv in m.values}, m.message)
                for t, m in list(self.mon.status) if m.hardware_id == task_id]

    def final(self, task_id: str) -> tuple[dict[str, str], str] | None:
        return next(((v, msg) for _t, v, msg in self.statuses(task_id) if v.get("state") in TERMINAL), None)

    def wait_final(self, task_id: str, timeout_s: float = TASK_S) -> tuple[dict[str, str], str]:
        wait_for(lambda: self.final(task_id) is not None, timeout_s, interval_s=0.1,
                 what=f"task {task_id} to end (last: {self._last(task_id)})")
        return self.final(task_id)  # type: ignore[return-value]

    def _last(self, task_id: str) -> str:
        found = self.statuses(task_id)
        return f"{found[-1][1].get('state')} {found[-1][2]!r}" if found else "no status"

    def wait_running(self, task_id: str, step: int = 1, progress: float = 0.2, timeout_s: float = 300.0) -> dict:
        """The task's `step` is RUNNING on the edge with at least `progress` done."""
        def running() -> bool:
            for _t, v, _m in self.statuses(task_id):
                if (v.get("state") == "EXECUTING" and v.get("step") == str(step) and v.get("skill_phase") == "RUNNING"
                        and float(v.get("progress") or 0.0) >= progress):
                    return True
                if v.get("state") in TERMINAL:
                    raise AssertionError(f"task {task_id} ended before step {step} ran: {v.get('state')}")
            return False

        wait_for(running, timeout_s, interval_s=0.02, what=f"step {step} of {task_id} running")
        return self.statuses(task_id)[-1][1]

    def goals_in_world(self, goals: str) -> dict[str, bool]:
        time.sleep(1.0)  # the last /objects after the final step
        return sub_goals(goals, dict(self.mon.objects), dict(self.mon.sizes))

    def object_report(self) -> str:
        objs = dict(self.mon.objects)
        return ", ".join(f"{n} at {tuple(round(c, 3) for c in p)}" for n, p in sorted(objs.items()))

    # -- services -----------------------------------------------------------------------------
    def call(self, client, request, timeout_s: float = 10.0):
        assert client.wait_for_service(timeout_sec=timeout_s), f"service {client.srv_name} not available"
        future = client.call_async(request)
        wait_for(future.done, timeout_s, what=f"{client.srv_name} response")
        return future.result()

    # -- joint commands, recorded while needed (1 kHz: not subscribed otherwise) ---------------
    @contextlib.contextmanager
    def recording_commands(self):
        from sensor_msgs.msg import JointState

        from robot_control.common.ros import sensor_qos

        # Times on this process's CLOCK_MONOTONIC from each message's DDS source timestamp (when
        # the cerebellum published it, wall clock): the observer, starved on 2 loaded cores, runs
        # its callbacks up to ~0.1 s late, and that lag is not the controller's.
        rec: list[tuple[float, np.ndarray, np.ndarray]] = []
        wall_minus_mono = time.time() - time.monotonic()

        def on_command(msg, info) -> None:
            source_ns = int(info.get("source_timestamp") or 0) if isinstance(info, dict) else 0
            t = source_ns / 1e9 - wall_minus_mono if source_ns > 0 else time.monotonic()
            rec.append((t, np.array(msg.position), np.array(msg.velocity)))

        sub = self.ros.node.create_subscription(JointState, "/joint_commands", on_command, sensor_qos())
        try:
            wait_for(lambda: len(rec) > 10, 10.0, what="/joint_commands")
            yield rec
        finally:
            self.ros.node.destroy_subscription(sub)

    def send_trajectory(self, joints: list[str], positions: list[float], velocities: list[float] | None = None,
                        after_s: float = 0.05) -> None:
        from builtin_interfaces.msg import Duration
        from trajectory_msgs.msg import JointTrajectoryPoint

        msg = self.JointTrajectory()
        msg.joint_names = list(joints)
        point = JointTrajectoryPoint()
        point.positions = [float(x) for x in positions]
        point.velocities = [float(v) for v in (velocities if velocities is not None else [0.0] * len(joints))]
        point.time_from_start = Duration(sec=int(after_s), nanosec=int((after_s % 1.0) * 1e9))
        msg.points = [point]
        self.traj_pub.publish(msg)

    def measured(self, joints: list[str]) -> np.ndarray:
        from sensor_msgs.msg import JointState

        from robot_control.common.ros import sensor_qos

        got: dict[str, float] = {}
        sub = self.ros.node.create_subscription(
            JointState, "/joint_states", lambda m: got.update(zip(m.name, m.position, strict=False)), sensor_qos())
        try:
            wait_for(lambda: all(j in got for j in joints), 10.0, what="/joint_states")
        finally:
            self.ros.node.destroy_subscription(sub)
        return np.array([got[j] for j in joints])

    # -- scene --------------------------------------------------------------------------------
    def fresh_scene(self) -> None:
        """The initial scene: cerebellum armed, the edge's joints streamed back to the body's
        initial posture (so the reset makes no jump), then /sim/reset puts the objects back."""
        list_skills(self.edge_port, 120.0)  # the edge serves (a test may have left it restarting)
        if self.mode() in ("estop", "tilt_stop"):  # a test left it latched (or the G1 fell): stand up, re-arm
            answer = self.call(self.sim_reset, self.Trigger.Request())
            assert answer.success, answer.message
            wait_for(lambda: self.call(self.reset, self.Trigger.Request()).success, 20.0, interval_s=0.5,
                     what="/cerebellum/reset to re-arm")
            wait_for(lambda: self.mode() == "hold", 5.0, what="hold after /cerebellum/reset")
        params = yaml.safe_load(config_path("params", f"body_sim_{self.robot}.yaml").read_text())
        posture = params["/**"]["ros__parameters"]["driver_options"]["initial_posture"]
        joints = [j for g in self.cfg["home_groups"] for j in self.description.group(g)]
        names = list(self.description.joint_names)
        goal = self.description.posture(posture)[[names.index(j) for j in joints]]
        start = self.measured(joints)
        duration = max(1.0, float(np.max(np.abs(goal - start))) / 0.6)
        t0 = time.monotonic()
        while (t := time.monotonic() - t0) < duration + 0.3:
            s = min((t + 0.05) / duration, 1.0)
            shape, rate = 3 * s * s - 2 * s ** 3, (6 * s - 6 * s * s) / duration
            self.send_trajectory(joints, start + (goal - start) * shape, (goal - start) * rate)
            time.sleep(0.02)
        wait_for(lambda: self.mode() == "hold", 10.0, what=f"cerebellum hold after homing ({self.mode()})")
        answer = self.call(self.sim_reset, self.Trigger.Request())
        assert answer.success, answer.message
        time.sleep(1.5)  # objects settle on the table, the robot on its feet
        assert self.mode() == "hold", self.mode()
        if self.robot == "g1":
            assert self.min_base_z(time.monotonic() - 0.5) > G1_STANDING_Z, "the G1 is not standing after the reset"


@pytest.fixture(scope="module", params=sorted(ROBOTS))
def full(request, tmp_path_factory):
    robot = request.param
    missing = missing_skills(robot)
    if missing:
        pytest.skip(f"{skills_folder()} has no trained {robot} model for {', '.join(missing)}")
    tmp = tmp_path_factory.mktemp(f"full_{robot}")
    domain = next_domain_id()
    brain_port, edge_port = free_port(), free_port()
    spec = demo_stack(robot, tmp / "run", tmp / "certs", use_cloud=True, record=False,
                      cloud_endpoint=f"127.0.0.1:{brain_port}")
    overrides = {"edge": {"skill_folder": str(skills_folder()), "grpc_address": f"127.0.0.1:{edge_port}"},
                 "bridge": {"edge_endpoint": f"127.0.0.1:{edge_port}"}}
    spec = dataclasses.replace(spec, nodes=tuple(
        dataclasses.replace(n, parameters={**n.parameters, **overrides.get(n.name, {})}) for n in spec.nodes))
    t0 = time.monotonic()
    runner = RunningStack(spec, domain, stack_env(domain)).start()
    ros = RosSession(domain, f"full_stack_{robot}")
    stack = FullStack(robot, runner, ros, edge_port)
    try:
        with stack.dump_on_failure():
            wait_for(lambda: stack.mon.ready(use_cloud=True) or not runner.alive, STARTUP_S, interval_s=0.2,
                     what=f"the {robot} demo stack to come up (bridge listening, edge, brain link cloud)")
            assert runner.alive, "the stack stopped during start-up"
            wait_for(lambda: stack.mode() == "hold" and set(ROBOTS[robot]["objects"]) <= set(stack.mon.objects),
                     60.0, what="cerebellum holding and the objects on /objects")
            listed = list_skills(edge_port, 60.0)
            served = {c.name for c in listed.skills}
            if not set(CHAIN) <= served:
                pytest.fail(f"the edge serves {sorted(served)} from {skills_folder()}, not the whole chain "
                            f"{CHAIN}; rejected: {list(listed.rejected)}")
            print(f"\n[{robot}] stack up in {time.monotonic() - t0:.1f} s (domain {domain})")
        yield stack
    finally:
        runner.stop()
        ros.close()
        from robot_control.tools import shm_clean

        shm_clean.main([])


def _check_in_bin(full: FullStack, values: dict[str, str], objects: tuple[str, ...]) -> None:
    goals = full.goals_in_world(values.get("goals", ""))
    wanted = {f"at({o}, bin)" for o in objects}
    assert wanted <= set(goals), f"goals {values.get('goals')!r} do not cover {sorted(wanted)}"
    assert all(goals[g] for g in wanted), f"not in the bin: {goals}; {full.object_report()}"


@pytest.mark.timeout(2400)
def test_default_task_succeeds(full: FullStack) -> None:
    with full.dump_on_failure():
        full.fresh_scene()
        t0 = time.monotonic()
        task = full.send(full.cfg["instruction"], "full")
        values, message = full.wait_final(task)
        wall = time.monotonic() - t0
        print(f"[{full.robot}] {full.cfg['instruction']!r}: {values['state']} in {wall:.1f} s wall "
              f"({values.get('planner_mode')} plan, {values.get('replans')} replans): {message}\n"
              f"  plan: {values.get('plan')}\n  body: {full.mon.find('body')}")
        assert values["state"] == "SUCCEEDED", message
        assert values.get("planner_mode") == "cloud"
        _check_in_bin(full, values, full.cfg["objects"])
        if full.robot == "g1":
            assert full.min_base_z(t0) > G1_STANDING_Z, "the G1 fell during the task"
        stats: dict = {}
        collect_stats(full.mon, stats)  # what the demo's summary reports
        assert float(stats["control_loop"].get("rate_hz", 0.0)) > 100.0, stats
        assert float(stats["body"].get("real_time_factor", 0.0)) > 0.0, stats


@pytest.mark.timeout(2400)
def test_cloud_killed_mid_task(full: FullStack) -> None:
    with full.dump_on_failure():
        full.fresh_scene()
        assert full.link_mode() == "cloud"
        t0 = time.monotonic()
        task = full.send(full.cfg["instruction"], "cloudkill")
        full.wait_running(task, step=1, progress=0.2)
        pid = full.runner.supervisor.pids()["brain"]
        os.kill(pid, signal.SIGKILL)
        t_kill = time.monotonic()
        marks: dict[str, float] = {}  # seconds after the kill: degraded, respawned, serving, cloud
        stop = threading.Event()

        def watch() -> None:
            ticks = 0
            while not stop.wait(0.01) and "cloud" not in marks:
                ticks += 1
                now = time.monotonic() - t_kill
                mode = full.link_mode()
                if "degraded" not in marks and mode == "degraded-local":
                    marks["degraded"] = now
                if "respawned" not in marks and full.runner.supervisor.pids().get("brain", pid) != pid:
                    marks["respawned"] = now
                if "serving" not in marks and ticks % 20 == 0 and \
                        full.runner.output().count("brain PlannerService on port") >= 2:
                    marks["serving"] = now
                if "degraded" in marks and mode == "cloud":
                    marks["cloud"] = now

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            wait_for(lambda: "degraded" in marks, 30.0, what="degraded-local on /diagnostics after the brain was killed")
            print(f"[{full.robot}] brain (pid {pid}) SIGKILLed during step 1; /diagnostics degraded-local after "
                  f"{marks['degraded'] * 1e3:.0f} ms")
            assert not full.final(task), f"the task ended when the brain died: {full.final(task)}"
            values, message = full.wait_final(task)
            wall = time.monotonic() - t0
            ended = time.monotonic() - t_kill
            link = full.mon.find("bridge: brain link") or {}
            print(f"[{full.robot}] task {values['state']} in {wall:.1f} s wall ({values.get('replans')} replans, "
                  f"last plan {values.get('planner_mode')}): {message}\n  brain link: {link}")
            assert values["state"] == "SUCCEEDED", message
            _check_in_bin(full, values, full.cfg["objects"])
            # A replan while the brain is down is local; the restarted brain (serving again a few
            # seconds later) may plan a later one (its log line is polled every 0.2 s: 1 s slack).
            back = min(marks.get("serving", math.inf), marks.get("cloud", math.inf))
            if int(values.get("replans") or 0) > 0 and values.get("planner_mode") != "local" and back > ended + 1.0:
                pytest.fail(f"a replan after the brain died was not local, and the link was not back to cloud "
                            f"({marks}): {values}")
            # The supervisor's policy for the brain (restart: on-failure) brings it back; the link follows.
            assert f"brain exited with {-signal.SIGKILL}; restart 1/" in full.runner.output()
            wait_for(lambda: "cloud" in marks, 300.0, interval_s=0.1, what="the brain link back to cloud")
        finally:
            stop.set()
            watcher.join(2.0)
        print(f"[{full.robot}] brain restarted by the supervisor: new process {marks.get('respawned', math.nan):.1f} s, "
              f"serving {marks.get('serving', math.nan):.1f} s, link cloud again {marks['cloud']:.1f} s after the kill")


@pytest.mark.timeout(2400)
def test_edge_killed_mid_skill(full: FullStack) -> None:
    with full.dump_on_failure():
        full.fresh_scene()
        params = yaml.safe_load(config_path("params", f"cerebellum_{full.robot}.yaml").read_text())
        timeout_s = float(params["/**"]["ros__parameters"]["controller"]["setpoint_timeout_s"])
        task = full.send(full.cfg["instruction"], "edgekill")
        with full.recording_commands() as rec:
            full.wait_running(task, step=1, progress=0.2)
            pid = full.runner.supervisor.pids()["edge"]
            os.kill(pid, signal.SIGKILL)
            t_kill = time.monotonic()
            time.sleep(2.0)
        # The cerebellum stops following within its setpoint watchdog: the last streamed segment
        # ends (hold) or the watchdog cuts it (stale_setpoint_hold).
        # An observer starved by the 1 kHz recording may get the status late (CI): wait for it.
        # Mode changes from 1 s after the kill on are left out: the supervisor restarts the edge
        # then (CI once saw the cerebellum track again ~3 s after the kill, its commands at rest).
        dead_edge = t_kill + EDGE_RESTART_DELAY_S

        def modes_around() -> list[tuple[float, str]]:
            with full.lock:
                return [(round(tm - t_kill, 3), m) for tm, m, _ in full.modes if tm >= t_kill - 0.1]

        try:
            wait_for(lambda: full.stopped_tracking(t_kill, dead_edge) is not None, 5.0, interval_s=0.05,
                     what="the cerebellum to stop tracking after the edge died")
        except TimeoutError as exc:
            last = rec[-1][0] - t_kill if rec else math.nan
            raise AssertionError(f"{exc} (modes after the kill: {modes_around()}, last recorded command "
                                 f"{last:.3f} s after it, {len(rec)} recorded, observer errors "
                                 f"{full.ros.spin_errors})") from None
        change = full.stopped_tracking(t_kill, dead_edge)
        print(f"[{full.robot}] cerebellum modes around the kill (s after it): {modes_around()}")
        assert change is not None
        hold_s = change[0] - t_kill
        ts = np.array([t for t, _, _ in rec])
        pos = np.array([p for _, p, _ in rec])
        after = ts >= t_kill
        final = pos[-1]
        moving = np.max(np.abs(pos - final), axis=1) > 1e-4
        settle_s = float(ts[after & moving][-1] - t_kill) if np.any(after & moving) else 0.0
        tail = ts >= ts[-1] - 1.0
        before = pos[(ts >= t_kill - 0.5) & (ts < t_kill)]
        moved = float(np.max(np.abs(before[-1] - before[0]))) if len(before) > 1 else 0.0
        print(f"[{full.robot}] edge (pid {pid}) SIGKILLed during reach (commands moved {moved * 1e3:.1f} mrad in "
              f"the 0.5 s before): cerebellum {change[1]} after "
              f"{hold_s * 1e3:.0f} ms (setpoint watchdog {timeout_s * 1e3:.0f} ms), commands settled after "
              f"{settle_s * 1e3:.0f} ms; {len(rec)} commands recorded")
        assert moved > 1e-3, "the arm was not moving when the edge was killed"
        assert change[1] in ("hold", "stale_setpoint_hold"), change
        assert hold_s <= timeout_s + 0.2, f"hold after {hold_s:.3f} s (watchdog {timeout_s} s)"
        # After the hold the arm decelerates to rest under the acceleration limits; the loop may
        # run late on a loaded machine (measured 0.09-0.76 s on 2 cores): bounded, not instant.
        assert settle_s <= 1.5, f"the commands still moved {settle_s:.3f} s after the edge died"
        assert np.max(np.abs(pos[tail] - final)) < 1e-4, "the commands drift while holding"
        if full.robot == "g1":
            assert full.min_base_z(t_kill) > G1_STANDING_Z, "the G1 fell after the edge died"

        values, message = full.wait_final(task, 120.0)
        print(f"[{full.robot}] task {values['state']}: {message}")
        assert values["state"] in ("ABORTED", "FAILED"), (values["state"], message)
        assert "step 1/" in message and "reach" in message, message
        wait_for(lambda: (full.mon.find("bridge: edge link") or {}).get("last_error"), 5.0,
                 what="the broken edge call on the bridge's /diagnostics (edge link last_error)")

        # The supervisor's policy for the edge (restart: on-failure): it comes back and serves skills.
        assert f"edge exited with {-signal.SIGKILL}; restart 1/" in full.runner.output()
        listed = list_skills(full.edge_port, 120.0)
        assert {c.name for c in listed.skills} >= set(CHAIN), listed
        assert full.runner.supervisor.pids()["edge"] != pid
        print(f"[{full.robot}] edge restarted and serving {len(listed.skills)} skills "
              f"{time.monotonic() - t_kill:.1f} s after the kill")

        # A new task from wherever the arm stopped.
        obj = full.cfg["objects"][0]
        t0 = time.monotonic()
        task2 = full.send(f"put the {obj.replace('_', ' ')} in the bin", "afteredge")
        values, message = full.wait_final(task2)
        print(f"[{full.robot}] new task after the edge restart: {values['state']} in "
              f"{time.monotonic() - t0:.1f} s: {message}")
        assert values["state"] == "SUCCEEDED", message
        _check_in_bin(full, values, (obj,))
        if full.robot == "g1":
            assert full.min_base_z(t_kill) > G1_STANDING_Z, "the G1 fell"


@pytest.mark.timeout(2400)
def test_estop_during_task(full: FullStack) -> None:
    with full.dump_on_failure():
        full.fresh_scene()
        task = full.send(full.cfg["instruction"], "estop")
        with full.recording_commands() as rec:
            full.wait_running(task, step=1, progress=0.2)
            t_estop = time.monotonic()
            answer = full.call(full.estop, full.SetBool.Request(data=True))
            assert answer.success, answer.message
            wait_for(lambda: full.mode() == "estop", 2.0, interval_s=0.005, what="estop on /cerebellum/status")
            estop_s = full.mode_change_after(t_estop, lambda m: m == "estop")[0] - t_estop  # type: ignore[index]
            values, message = full.wait_final(task, 60.0)
            abort_s = time.monotonic() - t_estop
            time.sleep(max(0.0, t_estop + max(2.0, abort_s + 1.0) - time.monotonic()))  # >= 1 s at rest
        ts = np.array([t for t, _, _ in rec])
        pos = np.array([p for _, p, _ in rec])
        vel = np.array([v for _, _, v in rec])
        final = pos[-1]
        moving = (ts >= t_estop) & (np.max(np.abs(pos - final), axis=1) > 1e-6)
        settle_s = float(ts[moving][-1] - t_estop) if np.any(moving) else 0.0
        before = pos[(ts >= t_estop - 0.5) & (ts < t_estop)]
        moved = float(np.max(np.abs(before[-1] - before[0]))) if len(before) > 1 else 0.0
        print(f"[{full.robot}] e-stop during reach (commands moved {moved * 1e3:.1f} mrad in the 0.5 s before): estop on /cerebellum/status after {estop_s * 1e3:.0f} ms "
              f"(service round trip included), commands frozen after {settle_s * 1e3:.0f} ms, "
              f"task {values['state']} after {abort_s:.2f} s: {message}")
        assert moved > 1e-3, "the arm was not moving when the e-stop was pressed"
        assert values["state"] == "ABORTED", (values["state"], message)
        assert "e-stop" in message, message
        rest = ts >= t_estop + 1.0
        # The observer is a Python node taking best-effort 1 kHz commands next to 100 Hz poses
        # on 2 loaded cores: it may drop most of them (31/s seen in CI), which is still evidence.
        assert rest.sum() >= 20, f"too few /joint_commands after the e-stop ({rest.sum()})"
        assert np.max(np.abs(pos[rest] - final)) < 1e-6, "the held command moves during the e-stop"
        assert np.max(np.abs(vel[rest])) < 1e-9, "the held command is not at rest"
        # The e-stop holds the position commanded when it engaged: a moving joint brakes, overshoots
        # and comes back, (1 + sqrt 2) v / a at the acceleration limit. Allow that (from the commanded
        # velocities just before) plus 0.3 s for a loop running late on 2 loaded cores (CI: 0.50 s
        # against 0.27-0.41 s locally, with a fixed 0.5 s bound).
        v0 = np.abs(vel[ts < t_estop][-1])
        stop_s = float(np.max(v0 / full.description.array("acceleration"))) * (1.0 + math.sqrt(2.0))
        print(f"[{full.robot}] braking at the e-stop: {stop_s:.3f} s (commands frozen after {settle_s:.3f} s)")
        assert settle_s <= stop_s + 0.3, f"commands moved {settle_s:.3f} s after the e-stop (braking {stop_s:.3f} s)"
        if full.robot == "g1":
            assert full.min_base_z(t_estop) > G1_STANDING_Z, "the G1 fell after the e-stop"

        # While latched: a new task is aborted, trajectories are refused.
        task2 = full.send(f"put the {full.cfg['objects'][-1].replace('_', ' ')} in the bin", "estopped")
        values2, message2 = full.wait_final(task2, 60.0)
        print(f"[{full.robot}] task sent during the e-stop: {values2['state']}: {message2}")
        assert values2["state"] == "ABORTED" and "e-stop" in message2, (values2["state"], message2)
        names = list(full.description.joint_names)
        arm = list(full.description.group(full.cfg["home_groups"][0]))
        hold = final[[names.index(j) for j in arm]]
        rejected = int(full.cerebellum.get("trajectories_rejected", "0"))
        full.send_trajectory(arm, hold)
        wait_for(lambda: int(full.cerebellum.get("trajectories_rejected", "0")) > rejected, 5.0,
                 what="the trajectory refused during the e-stop")
        assert "e-stop engaged" in full.cerebellum.get("last_rejection", ""), full.cerebellum
        assert full.mode() == "estop"

        # /cerebellum/reset re-arms: trajectories are accepted again.
        answer = full.call(full.reset, full.Trigger.Request())
        assert answer.success, answer.message
        wait_for(lambda: full.mode() == "hold", 5.0, what="hold after /cerebellum/reset")
        accepted = int(full.cerebellum.get("trajectories_accepted", "0"))
        full.send_trajectory(arm, full.measured(arm))
        wait_for(lambda: int(full.cerebellum.get("trajectories_accepted", "0")) > accepted, 5.0,
                 what=f"a trajectory accepted after the reset ({full.cerebellum.get('last_rejection')})")
