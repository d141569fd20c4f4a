"""Tilt stop on the simulated G1: push the robot over and check the cerebellum's safe stop.

Body (mujoco_sim) and cerebellum run as separate processes over real DDS with their shipped
parameters (tilt bound 0.5 rad from config/params/cerebellum_g1.yaml). The test pushes the
pelvis sideways through /sim/push until the robot falls, then checks the whole latch cycle:
the tilt guard trips, the commands hold the position commanded at the trip with zero
velocity, trajectories are refused, /cerebellum/reset is refused while the robot lies on
the floor, and after /sim/reset stands it up again, /cerebellum/reset re-arms and a
trajectory moves the arm.
"""

from __future__ import annotations

import math
import threading
import time

import pytest
from test_cerebellum_stack import ARM_JOINT, Harness, g1_stack

from robot_control.testing import wait_for, wait_for_subscribers

pytestmark = pytest.mark.integration

PUSH_N = 400.0  # sideways, for the body's push_duration_s (0.2 s): ~80 N·s on a 34 kg robot


class Pusher:
    """/sim/push and /sim/reset, plus the latest /diagnostics status per name."""

    def __init__(self, ros) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import WrenchStamped
        from std_srvs.srv import Trigger

        from robot_control.common.ros import command_qos

        self.lock = threading.Lock()
        self.diagnostics: dict[str, tuple[int, str, dict[str, str]]] = {}
        self.WrenchStamped = WrenchStamped
        self.pub = ros.node.create_publisher(WrenchStamped, "/sim/push", command_qos())
        self.sim_reset = ros.node.create_client(Trigger, "/sim/reset")
        ros.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_diagnostics(self, msg) -> None:
        with self.lock:
            for s in msg.status:
                level = s.level if isinstance(s.level, int) else int.from_bytes(s.level, "little")
                self.diagnostics[s.name] = (level, s.message, {kv.key: kv.value for kv in s.values})

    def diag(self, name: str) -> tuple[int, str, dict[str, str]]:
        with self.lock:
            return self.diagnostics.get(name, (-1, "", {}))

    def push(self, fx: float = 0.0, fy: float = 0.0, fz: float = 0.0, frame_id: str = "") -> None:
        wait_for_subscribers(self.pub, timeout_s=20.0)
        msg = self.WrenchStamped()
        msg.header.frame_id = frame_id
        msg.wrench.force.x, msg.wrench.force.y, msg.wrench.force.z = fx, fy, fz
        self.pub.publish(msg)


def tilt(h: Harness) -> float:
    """Largest of |roll|, |pitch| the cerebellum last saw (inf before any IMU sample)."""
    with h.lock:
        roll, pitch = float(h.status.get("roll_rad", "nan")), float(h.status.get("pitch_rad", "nan"))
    if math.isnan(roll) or math.isnan(pitch):
        return math.inf
    return max(abs(roll), abs(pitch))


@pytest.mark.sim
def test_push_over_trips_tilt_stop_until_reset(ros, stack):
    h = Harness(ros)
    p = Pusher(ros)
    stack(g1_stack("sim", streaming_setpoints=False))  # one-shot planned moves run to completion
    h.ready()
    wait_for(lambda: h.base_z, 10.0, what="/base_pose from the sim body")
    wait_for(lambda: tilt(h) < 0.1, 10.0, what=f"the robot standing level ({h.status})")
    time.sleep(0.5)
    assert h.mode() == "hold"
    z_standing = h.base_z[-1]
    with h.lock:
        standing_cmd = dict(h.commands[-1][1])

    p.push(fy=PUSH_N)
    wait_for(lambda: h.mode() == "tilt_stop", 30.0, what=f"tilt stop after the push ({h.status})")

    # The guard that tripped, on /cerebellum/status and on /diagnostics.
    with h.lock:
        status = dict(h.status)
    assert status["active_guard"] == "tilt"
    assert "beyond ±0.50" in status["tilt_reason"], status["tilt_reason"]
    wait_for(lambda: p.diag("cerebellum: controller")[2].get("mode") == "tilt_stop", 5.0,
             what="tilt stop on /diagnostics")
    level, message, values = p.diag("cerebellum: controller")
    assert level == 2 and "tilt" in message and values["active_guard"] == "tilt"  # ERROR
    assert int(p.diag("body: body")[2].get("pushes_applied", "0")) == 1

    # The robot really fell (the push was physical, not a faked IMU reading) ...
    wait_for(lambda: h.base_z[-1] < z_standing - 0.2, 20.0, what="the pelvis dropping")
    # ... while the cerebellum held the position commanded when the guard tripped, at rest.
    time.sleep(0.5)
    with h.lock:
        tail = h.commands[-200:]
    assert len(tail) == 200
    for _, position, velocity in tail:
        assert max(abs(position[j] - standing_cmd[j]) for j in standing_cmd) < 1e-6, \
            "tilt stop must hold the command of the moment it tripped, not follow the falling robot"
        assert max(abs(v) for v in velocity.values()) < 1e-9, "the held command must be at rest"

    # New trajectories are refused while latched, and a reset is refused while the robot lies down.
    def refused(what: str) -> None:
        before = int(h.status.get("trajectories_rejected", "0"))
        h.send([ARM_JOINT], [0.5], [[standing_cmd[ARM_JOINT] + 0.3]])
        wait_for(lambda: int(h.status.get("trajectories_rejected", "0")) > before, 5.0, what=what)
        assert "tilt stop engaged" in h.status["last_rejection"]
        assert h.mode() == "tilt_stop"

    refused("a trajectory refused during the tilt stop")
    answer = h.call(h.reset, h.Trigger.Request())
    assert not answer.success and "tilt still beyond bound" in answer.message, answer.message
    refused("a trajectory refused after the refused reset")
    accepted = int(h.status.get("trajectories_accepted", "0"))

    # Stand the robot up again (simulation reset); only /cerebellum/reset re-arms.
    assert p.sim_reset.wait_for_service(timeout_sec=10.0)
    answer = h.call(p.sim_reset, h.Trigger.Request())
    assert answer.success, answer.message
    wait_for(lambda: tilt(h) < 0.1, 10.0, what="the robot level again after /sim/reset")
    time.sleep(0.5)
    assert h.mode() == "tilt_stop", "the tilt stop is latched: levelling the robot must not clear it"
    assert int(h.status.get("trajectories_accepted", "0")) == accepted
    answer = h.call(h.reset, h.Trigger.Request())
    assert answer.success, answer.message
    wait_for(lambda: h.mode() == "hold", 5.0, what="hold after /cerebellum/reset")
    target = h.q[ARM_JOINT] + 0.3
    h.send([ARM_JOINT], [1.0], [[target]])
    wait_for(lambda: int(h.status.get("trajectories_accepted", "0")) > accepted, 5.0,
             what=f"trajectory accepted after the reset ({h.status.get('last_rejection')})")
    wait_for(lambda: abs(h.q[ARM_JOINT] - target) < 0.05, 20.0, what="the arm moving after the reset")


def test_push_rejected_with_a_reason_by_a_body_that_cannot_be_pushed(ros, stack):
    """The mock driver has no physics: /sim/push and /sim/reset are refused, and say why."""
    h = Harness(ros)
    p = Pusher(ros)
    stack(g1_stack("mock"))
    h.ready()
    p.push(fx=100.0)
    wait_for(lambda: int(p.diag("body: body")[2].get("pushes_rejected", "0")) == 1, 10.0,
             what="the push rejection on /diagnostics")
    reason = p.diag("body: body")[2]["last_push_rejection"]
    assert "'mock' cannot apply external wrenches" in reason and "simulation-only" in reason
    p.push(fx=100.0, frame_id="pelvis")  # a wrench in a body frame is refused before the driver sees it
    wait_for(lambda: int(p.diag("body: body")[2].get("pushes_rejected", "0")) == 2, 10.0,
             what="the frame rejection on /diagnostics")
    assert "world frame" in p.diag("body: body")[2]["last_push_rejection"]
    assert p.sim_reset.wait_for_service(timeout_sec=10.0)
    answer = h.call(p.sim_reset, h.Trigger.Request())
    assert not answer.success and "cannot reset the world" in answer.message
    assert h.mode() == "hold" and not math.isnan(h.q[ARM_JOINT])
