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


def test_observer_keeps_spinning_after_an_executor_error(ros) -> None:
    """CI: a subscription destroyed by the test thread while the observer's spin thread built its
    wait set raised InvalidHandle there, the thread died, and every later wait timed out. The
    observer survives such an error (here injected once, and also provoked for real by churning a
    subscription) and keeps delivering messages."""
    import threading
    import time

    from std_msgs.msg import String

    from robot_control.common.ros import sensor_qos
    from robot_control.testing import wait_for

    real = ros.executor.spin_once
    injected = threading.Event()

    def flaky(timeout_sec=None):
        if not injected.is_set():
            injected.set()
            raise RuntimeError("injected: cannot use Destroyable because destruction was requested")
        return real(timeout_sec=timeout_sec)

    ros.executor.spin_once = flaky
    wait_for(injected.is_set, 5.0, what="the injected executor error")
    got: list[str] = []
    pub = ros.node.create_publisher(String, "/observer_check", 10)
    ros.node.create_subscription(String, "/observer_check", lambda m: got.append(m.data), 10)
    churn = ros.node.create_publisher(String, "/churn", sensor_qos())
    for i in range(50):  # the real race: destroy subscriptions while the spin thread waits on them
        sub = ros.node.create_subscription(String, "/churn", lambda m: None, sensor_qos())
        churn.publish(String(data=str(i)))
        time.sleep(0.002)
        ros.node.destroy_subscription(sub)
    deadline = time.monotonic() + 10.0
    while not got and time.monotonic() < deadline:
        pub.publish(String(data="still here"))
        time.sleep(0.1)
    assert got and got[0] == "still here", f"the observer stopped delivering (errors: {ros.spin_errors})"
    assert ros._thread.is_alive()
    assert ros.spin_errors and "injected" in ros.spin_errors[0]


def test_control_thread_inputs_take_what_no_executor_sees(ros):
    """ControlThreadInputs: messages wait for take() (the owner's spun executor never runs them),
    arrive with a CLOCK_MONOTONIC arrival time, keep the process's topic remaps and not its
    node-name rule."""
    import time

    from sensor_msgs.msg import JointState

    from robot_control.common.ros import ControlThreadInputs, sensor_qos
    from robot_control.testing import wait_for, wait_for_subscribers

    argv = ["x", "--ros-args", "-r", "__node:=renamed", "-r", "/remapped_in:=/ct_inputs"]
    inputs = ControlThreadInputs(ros.node, argv)
    got: list[tuple[list[float], int]] = []
    try:
        assert inputs.node.get_name() == f"{ros.node.get_name()}_io"
        inputs.add(JointState, "/remapped_in", sensor_qos(depth=10),
                   lambda msg, arrival: got.append((list(msg.position), arrival)))
        pub = ros.node.create_publisher(JointState, "/ct_inputs", sensor_qos(depth=10))
        wait_for_subscribers(pub, timeout_s=15.0)
        before = time.monotonic_ns()
        for i in range(3):
            pub.publish(JointState(name=["a"], position=[float(i)]))
        time.sleep(0.5)  # the session's executor spins all along: it must not take them
        assert got == []
        wait_for(lambda: inputs.take() >= 0 and len(got) == 3, 5.0, what="3 taken messages")
        assert [p for p, _ in got] == [[0.0], [1.0], [2.0]]
        assert all(before - 5_000_000 <= t <= time.monotonic_ns() - 400_000_000 for _, t in got), (before, got)

        # groups: a take() hands over its own group's messages only
        later: list[bytes] = []
        inputs.add(JointState, "/ct_later", sensor_qos(depth=10), lambda data, _t: later.append(data),
                   raw=True, group="after_command")
        pub2 = ros.node.create_publisher(JointState, "/ct_later", sensor_qos(depth=10))
        wait_for_subscribers(pub2, timeout_s=15.0)
        pub2.publish(JointState(name=["b"], position=[7.0]))
        time.sleep(0.3)
        assert inputs.take() == 0 and later == []
        wait_for(lambda: inputs.take("after_command") >= 0 and len(later) == 1, 5.0, what="the later group")
        assert isinstance(later[0], bytes)
    finally:
        inputs.destroy()
    assert inputs.take() == 0  # after destroy: nothing, no error
