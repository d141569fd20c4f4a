"""Two node processes exchange sensor_msgs/JointState over Fast DDS on loopback."""

from pathlib import Path

import pytest

from robot_control.supervisor.stack import parse_stack
from robot_control.testing import probe_stack

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def mock_body_stack(robot: str = str(FIXTURES / "arm2.yaml"), posture: str = "ready"):
    return parse_stack({
        "stack": "dds_exchange",
        "nodes": [{
            "name": "body", "executable": "body_node",
            "parameters": {"robot": robot, "driver": "mock",
                           "driver_options.initial_posture": posture},
        }],
    })


def test_probe_receives_mock_body_joint_states(domain_id):
    report = probe_stack(mock_body_stack(), count=100, timeout_s=20.0,
                         expect_joints=["shoulder", "elbow"], domain_id=domain_id)
    assert report["healthy"], report.get("problem") or report.get("stack_output")
    assert report["messages"] == 100
    assert report["joint_names"] == ["shoulder", "elbow"]
    # The mock body starts in the `ready` posture of test/fixtures/arm2.yaml and was not commanded.
    assert report["last_position"]["shoulder"] == pytest.approx(0.5, abs=1e-9)
    assert report["last_position"]["elbow"] == pytest.approx(-0.25, abs=1e-9)
    assert report["rate_hz"] > 100.0, "arm2 streams at 500 Hz; far below means a broken loop"


def test_probe_reports_missing_joint(domain_id):
    report = probe_stack(mock_body_stack(), count=20, timeout_s=20.0,
                         expect_joints=["shoulder", "wrist"], domain_id=domain_id)
    assert not report["healthy"]
    assert "missing joints: wrist" in report["problem"]


def test_body_command_moves_mock_joint(ros, stack):
    """A JointState command on /joint_commands reaches the body process and moves the joint."""
    from sensor_msgs.msg import JointState

    from robot_control.common.ros import sensor_qos
    from robot_control.testing import wait_for, wait_for_subscribers

    latest = {}
    ros.node.create_subscription(JointState, "/joint_states",
                                 lambda m: latest.update(zip(m.name, m.position, strict=True)), sensor_qos())
    pub = ros.node.create_publisher(JointState, "/joint_commands", sensor_qos(depth=1))
    stack(mock_body_stack())
    wait_for_subscribers(pub, timeout_s=15.0)
    wait_for(lambda: "shoulder" in latest, 15.0, what="/joint_states from the body")

    bad = JointState(name=["shoulder", "nope"], position=[1.0, 0.0])
    nan = JointState(name=["shoulder"], position=[float("nan")])
    good = JointState(name=["shoulder"], position=[1.0])
    for msg in (bad, nan):
        pub.publish(msg)
    # Rejected commands leave the joint where it was.
    import time

    time.sleep(0.3)
    assert latest["shoulder"] == pytest.approx(0.5, abs=1e-6)
    pub.publish(good)
    wait_for(lambda: abs(latest["shoulder"] - 1.0) < 1e-3, 5.0, what="shoulder to reach 1.0")
    assert latest["elbow"] == pytest.approx(-0.25, abs=1e-6)
