"""Cerebellum + body as real processes over real DDS, against the mock and the G1 sim.

Each guard of the controller is exercised end to end: stand and hold, trajectory
tracking, stale setpoint hold, latched e-stop, tilt stop and rejection of bad input.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time

import numpy as np
import pytest

from robot_control.supervisor.stack import load_stack
from robot_control.testing import wait_for, wait_for_publishers, wait_for_subscribers

pytestmark = pytest.mark.integration

ARM_JOINT = "right_elbow_joint"


#: The shipped 50 ms joint-state timeout trips whenever the shared 2-core CI machine starves
#: a process for that long (it does, under load), which drops the trajectory a test is
#: checking. None of these tests is about the state watchdog (the controller's unit tests
#: are), so they run with a generous one unless they pass their own.
TEST_STATE_TIMEOUT_S = 0.5


def g1_stack(body: str, body_params: dict | None = None, **cerebellum_params):
    """mock_g1 or sim_g1 with extra cerebellum (and body) parameters (and a test-driven IMU on the mock)."""
    spec = load_stack("mock_g1" if body == "mock" else "sim_g1")
    nodes = []
    for node in spec.nodes:
        params = dict(node.parameters)
        if node.name == "cerebellum":
            params["controller.state_timeout_s"] = TEST_STATE_TIMEOUT_S
            params.update(cerebellum_params)
        if node.name == "body":
            params.update(body_params or {})
        if node.name == "body" and body == "mock":
            params["driver_options.imu"] = False  # the test publishes /imu/data itself
        nodes.append(dataclasses.replace(node, parameters=params))
    return dataclasses.replace(spec, nodes=tuple(nodes))


class Harness:
    """Test-side view of the stack: latest joint states, commands, controller status."""

    def __init__(self, ros) -> None:
        from diagnostic_msgs.msg import DiagnosticStatus
        from geometry_msgs.msg import PoseStamped
        from sensor_msgs.msg import Imu, JointState
        from std_srvs.srv import SetBool, Trigger
        from trajectory_msgs.msg import JointTrajectory

        from robot_control.common.ros import command_qos, sensor_qos

        self.ros = ros
        self.lock = threading.Lock()
        self.q: dict[str, float] = {}
        self.commands: list[tuple[float, dict[str, float], dict[str, float]]] = []
        self.status: dict[str, str] = {}
        self.base_z: list[float] = []
        node = ros.node
        node.create_subscription(JointState, "/joint_states", self._on_state, sensor_qos())
        node.create_subscription(JointState, "/joint_commands", self._on_command, sensor_qos(depth=100))
        node.create_subscription(DiagnosticStatus, "/cerebellum/status", self._on_status, 10)
        node.create_subscription(PoseStamped, "/base_pose", lambda m: self.base_z.append(m.pose.position.z),
                                 sensor_qos())
        self.traj_pub = node.create_publisher(JointTrajectory, "/cerebellum/trajectory", command_qos())
        self.imu_pub = node.create_publisher(Imu, "/imu/data", 10)
        self.estop = node.create_client(SetBool, "/cerebellum/estop")
        self.reset = node.create_client(Trigger, "/cerebellum/reset")
        self.SetBool, self.Trigger, self.Imu, self.JointTrajectory = SetBool, Trigger, Imu, JointTrajectory

    def _on_state(self, msg) -> None:
        with self.lock:
            self.q = dict(zip(msg.name, msg.position, strict=True))

    def _on_command(self, msg) -> None:
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        with self.lock:
            self.commands.append((stamp, dict(zip(msg.name, msg.position, strict=True)),
                                  dict(zip(msg.name, msg.velocity, strict=True))))

    def _on_status(self, msg) -> None:
        with self.lock:
            self.status = {kv.key: kv.value for kv in msg.values}

    def ready(self) -> None:
        wait_for_subscribers(self.traj_pub, timeout_s=30.0)
        wait_for(lambda: self.status.get("mode") == "hold" and self.q, 30.0, what="cerebellum holding")
        assert self.estop.wait_for_service(timeout_sec=10.0)

    def mode(self) -> str:
        return self.status.get("mode", "")

    def call(self, client, request, timeout_s: float = 5.0):
        future = client.call_async(request)
        wait_for(future.done, timeout_s, what="service response")
        return future.result()

    def send(self, joints: list[str], times: list[float], positions: list[list[float]]) -> None:
        from builtin_interfaces.msg import Duration
        from trajectory_msgs.msg import JointTrajectoryPoint

        msg = self.JointTrajectory()
        msg.joint_names = joints
        for t, pos in zip(times, positions, strict=True):
            sec = int(t)
            msg.points.append(JointTrajectoryPoint(
                positions=[float(p) for p in pos],
                time_from_start=Duration(sec=sec, nanosec=int((t - sec) * 1e9))))
        self.traj_pub.publish(msg)

    def stream_sine(self, joint: str, center: float, amplitude: float, freq: float, duration: float,
                    rate: float = 50.0, points: int = 3) -> list[tuple[float, float, float]]:
        """Stream short trajectories (like a skill policy) and log (t, reference, measured).

        Each message holds `points` points 20 ms apart, so with points > 5 the last
        trajectory is still executing when the stream stops (the stale-setpoint case)."""
        log = []
        t0 = time.monotonic()
        offsets = [0.02 * k for k in range(1, points + 1)]
        while (now := time.monotonic() - t0) < duration:
            self.send([joint], offsets,
                      [[center + amplitude * math.sin(2 * math.pi * freq * (now + dt))] for dt in offsets])
            with self.lock:
                measured = self.q.get(joint, math.nan)
            log.append((now, center + amplitude * math.sin(2 * math.pi * freq * now), measured))
            time.sleep(1.0 / rate)
        return log


@pytest.fixture(params=["mock", pytest.param("sim", marks=pytest.mark.sim)])
def body(request):
    return request.param


def test_stand_and_hold(ros, stack, body):
    h = Harness(ros)
    stack(g1_stack(body))
    h.ready()
    if body == "sim":
        wait_for(lambda: h.base_z, 5.0, what="/base_pose from the sim body")
    start = dict(h.q)
    z0 = h.base_z[-1] if h.base_z else None
    time.sleep(5.0)
    assert h.mode() == "hold"
    drift = max(abs(h.q[j] - start[j]) for j in start if "hand" not in j)
    assert drift < 0.05, f"joints drifted {drift:.3f} rad while holding"
    if body == "sim":
        assert z0 is not None and abs(h.base_z[-1] - z0) < 0.02, "pelvis height moved > 2 cm"
    assert len(h.commands) > 1000, "cerebellum must stream commands at ~1 kHz"


@pytest.mark.parametrize("inputs", ["executor", "control_thread"])
def test_tracks_a_streamed_sinusoid(ros, stack, body, inputs):
    """Also with the loops taking their inputs (cerebellum inputs_on_control_thread, body
    commands_on_control_thread), the setting for real-time use."""
    h = Harness(ros)
    on_loop = inputs == "control_thread"
    stack(g1_stack(body, body_params={"commands_on_control_thread": on_loop}, inputs_on_control_thread=on_loop))
    h.ready()
    center = h.q[ARM_JOINT]
    log = h.stream_sine(ARM_JOINT, center, 0.2, 0.5, 4.0)
    # Skip the first second (start-up transient); compare the measured position with the
    # reference 30 ms earlier (one streamed chunk plus the servo's lag).
    arr = np.array([row for row in log if row[0] > 1.0])
    t, meas = arr[:, 0], arr[:, 2]
    ref_lagged = center + 0.2 * np.sin(2 * np.pi * 0.5 * (t - 0.03))
    rms = float(np.sqrt(np.mean((meas - ref_lagged) ** 2)))
    print(f"{body}: RMS tracking error {rms:.4f} rad (amplitude 0.2 rad, 0.5 Hz)")
    assert rms < (0.03 if body == "mock" else 0.06)
    assert h.mode() == "tracking"


def test_stale_setpoint_holds(ros, stack, body):
    h = Harness(ros)
    stack(g1_stack(body))
    h.ready()
    center = h.q[ARM_JOINT]
    def handled() -> int:  # trajectories the cerebellum accepted or refused so far
        return int(h.status.get("trajectories_accepted", "0")) + int(h.status.get("trajectories_rejected", "0"))

    handled0 = handled()
    sent = len(h.stream_sine(ARM_JOINT, center, 0.2, 0.5, 1.0, points=25))  # each reaches 0.5 s ahead
    # The hold that counts follows the LAST trajectory: on a loaded machine a delivery gap of
    # > 100 ms mid-stream trips the watchdog too, and the queued (reliable) messages that
    # arrive after it resume tracking.
    wait_for(lambda: h.mode() == "stale_setpoint_hold" and handled() - handled0 >= sent,
             10.0, what=f"stale setpoint hold after all {sent} streamed trajectories reached the cerebellum")
    # Cut by the setpoint watchdog, not finished: the last trajectory still had ~0.5 s to run.
    # (When exactly, within one control period of the 100 ms deadline, is checked with
    # explicit clocks in test/unit/test_cerebellum_controller.py: no wall-clock bounds here.)
    assert "no setpoint for" in h.status.get("hold_reason", ""), h.status
    time.sleep(0.1)  # the limiter brings the moving command to rest first
    with h.lock:
        start = len(h.commands)
    time.sleep(0.3)
    with h.lock:
        positions = [c[ARM_JOINT] for _, c, _ in h.commands[start:]]
    assert len(positions) > 10, "the cerebellum must keep commanding while it holds"
    assert max(positions) - min(positions) < 1e-6, "commands must hold a fixed position after the deadline"
    assert h.mode() == "stale_setpoint_hold"


def test_estop_latches_until_reset(ros, stack, body):
    h = Harness(ros)
    stack(g1_stack(body, streaming_setpoints=False))  # one-shot planned moves run to completion
    h.ready()
    q0 = h.q[ARM_JOINT]
    assert h.call(h.estop, h.SetBool.Request(data=True)).success
    wait_for(lambda: h.mode() == "estop", 2.0, what="estop mode")
    h.send([ARM_JOINT], [0.5], [[q0 + 0.3]])
    time.sleep(0.7)
    assert abs(h.q[ARM_JOINT] - q0) < 0.02, "a trajectory moved the robot during e-stop"
    assert "e-stop" in h.status.get("last_rejection", "")
    refused = h.call(h.estop, h.SetBool.Request(data=False))
    assert not refused.success and "reset" in refused.message
    assert h.mode() == "estop"
    assert h.call(h.reset, h.Trigger.Request()).success
    wait_for(lambda: h.mode() == "hold", 2.0, what="hold after reset")
    accepted = int(h.status.get("trajectories_accepted", "0"))
    deadline = time.monotonic() + 5.0
    while int(h.status.get("trajectories_accepted", "0")) == accepted and time.monotonic() < deadline:
        h.send([ARM_JOINT], [0.5], [[q0 + 0.3]])
        time.sleep(0.5)
    wait_for(lambda: abs(h.q[ARM_JOINT] - (q0 + 0.3)) < 0.05, 5.0, what=f"motion after reset ({h.status})")


@pytest.mark.parametrize("body", ["mock"])  # a physical lean of the G1 sim is not yet a reliable test
def test_tilt_beyond_bound_stops(ros, stack, body):
    h = Harness(ros)
    stack(g1_stack(body, **{"controller.max_pitch_rad": 0.15, "streaming_setpoints": False}))
    h.ready()
    if body == "mock":
        wait_for_publishers(ros.node.create_subscription(h.Imu, "/imu/data", lambda m: None, 10), 1, 10.0)
        tilt = h.Imu()
        tilt.orientation.y, tilt.orientation.w = math.sin(0.2 / 2), math.cos(0.2 / 2)  # 0.2 rad pitch
        for _ in range(20):
            h.imu_pub.publish(tilt)
            time.sleep(0.01)
    else:
        # Lean the real (simulated) robot: pitch both hips forward with the feet planted.
        joints = ["left_hip_pitch_joint", "right_hip_pitch_joint"]
        h.send(joints, [1.0], [[h.q[j] - 0.6 for j in joints]])
    wait_for(lambda: h.mode() == "tilt_stop", 5.0, what="tilt stop")
    time.sleep(0.2)
    with h.lock:
        tail = [c for _, c, _ in h.commands[-100:]]
    spread = max(abs(a[j] - tail[-1][j]) for a in tail for j in tail[-1])
    assert spread < 1e-6, "after a tilt stop the commands must hold one position"
    assert "pitch" in h.status.get("tilt_reason", "") or "tilt" in h.status.get("active_guard", "")


@pytest.mark.parametrize("kind", ["nan", "out_of_limits", "unknown_joint"])
def test_bad_trajectory_rejected_and_robot_holds(ros, stack, body, kind):
    h = Harness(ros)
    stack(g1_stack(body))
    h.ready()
    q0 = h.q[ARM_JOINT]
    joint, value, expect = {
        "nan": (ARM_JOINT, math.nan, "nan"),
        "out_of_limits": (ARM_JOINT, 10.0, "outside"),
        "unknown_joint": ("tail_joint", 0.0, "unknown"),
    }[kind]
    h.send([joint], [0.5], [[value]])
    wait_for(lambda: expect in h.status.get("last_rejection", "").lower(), 3.0, what=f"{kind} rejection")
    time.sleep(0.3)
    assert h.mode() == "hold"
    assert abs(h.q[ARM_JOINT] - q0) < 0.02


@pytest.mark.sim
@pytest.mark.parametrize("use_sim_time", [False, True], ids=["wall_stamps", "sim_stamps"])
def test_sim_body_clock_stamps_and_real_time_factor(ros, stack, use_sim_time):
    """/clock is decimated (250 Hz of sim time by default); stamps are sim time with
    use_sim_time, wall time otherwise; /diagnostics reports the real-time factor and overruns."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import JointState

    from robot_control.common.ros import sensor_qos, stamp_to_seconds

    lock = threading.Lock()
    clocks: list[float] = []
    stamps: list[float] = []
    body_diag: dict[str, str] = {}

    def on_diag(msg) -> None:
        for s in msg.status:
            if s.name == "body: body":
                with lock:
                    body_diag.update({kv.key: kv.value for kv in s.values})

    node = ros.node
    node.create_subscription(Clock, "/clock", lambda m: clocks.append(stamp_to_seconds(m.clock)), sensor_qos(200))
    node.create_subscription(JointState, "/joint_states", lambda m: stamps.append(stamp_to_seconds(m.header.stamp)),
                             sensor_qos(200))
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
    spec = load_stack("sim_g1")
    body_node = spec.node("body")
    body_node = dataclasses.replace(body_node, parameters={**body_node.parameters, "use_sim_time": use_sim_time})
    stack(dataclasses.replace(spec, nodes=(body_node,)))  # the body alone
    wait_for(lambda: "real_time_factor" in body_diag and len(clocks) > 200, 30.0,
             what="/clock and the real-time factor on /diagnostics")
    with lock:
        diag = dict(body_diag)
    assert diag["stamps"] == ("sim_time" if use_sim_time else "wall_time")
    assert float(diag["real_time_factor"]) > 0.0 and int(diag["overruns"]) >= 0
    print(f"body: real-time factor {diag['real_time_factor']}, {diag['overruns']} overruns, "
          f"loop {diag['rate_hz']} Hz")

    ticks = np.round(np.diff(np.array(clocks[-200:])) / 0.001).astype(int)  # in 1 ms physics steps
    assert np.all(ticks > 0) and np.all(ticks % 4 == 0), f"/clock must advance in 4 ms steps: {ticks}"
    assert np.bincount(ticks).argmax() == 4

    recent = np.array(stamps[-200:])
    if use_sim_time:
        latest_clock = clocks[-1]
        assert np.all(recent < 1e6), "stamps must be simulated time"
        assert np.all(np.abs(recent / 0.001 - np.round(recent / 0.001)) < 1e-3), "sim stamps sit on physics steps"
        assert abs(recent[-1] - latest_clock) < 1.0, "/joint_states and /clock must share the time base"
    else:
        assert np.all(np.abs(recent - time.time()) < 60.0), "stamps must be wall time"
