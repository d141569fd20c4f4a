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


def g1_stack(body: str, **cerebellum_params):
    """mock_g1 or sim_g1 with extra cerebellum parameters (and a test-driven IMU on the mock)."""
    spec = load_stack("mock_g1" if body == "mock" else "sim_g1")
    nodes = []
    for node in spec.nodes:
        params = dict(node.parameters)
        if node.name == "cerebellum":
            params.update(cerebellum_params)
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


def test_tracks_a_streamed_sinusoid(ros, stack, body):
    h = Harness(ros)
    stack(g1_stack(body))
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
    h.stream_sine(ARM_JOINT, center, 0.2, 0.5, 1.0, points=25)  # each message reaches 0.5 s ahead
    last_sent = time.time()
    wait_for(lambda: h.mode() == "stale_setpoint_hold", 2.0, what="stale setpoint hold")
    time.sleep(0.3)
    with h.lock:
        after = [(t, c[ARM_JOINT]) for t, c, _ in h.commands if t > last_sent + 0.25]
    assert after, "no commands after the deadline"
    positions = [p for _, p in after]
    assert max(positions) - min(positions) < 1e-6, "commands must hold a fixed position after the deadline"
    # The hold began within a few control periods of the 100 ms deadline (the exact "within one
    # period" bound is checked with explicit clocks in test/unit/test_cerebellum_controller.py).
    with h.lock:
        window = [(t, c[ARM_JOINT]) for t, c, _ in h.commands if last_sent < t < last_sent + 0.25]
    frozen_at = next(t for t, p in window if abs(p - positions[-1]) < 1e-9)
    print(f"{body}: hold reached {1e3 * (frozen_at - last_sent):.1f} ms after the last setpoint")
    assert frozen_at - last_sent < 0.1 + 0.05


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
