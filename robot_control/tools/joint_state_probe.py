"""joint_state_probe: watch a /joint_states stream and report what arrived.

Checks what an operator checks first on a new robot: rate, joint names, finite values
and the last sample. Prints a JSON summary (and writes it to `output` if set) after
`count` messages or `timeout_s`, then exits 0 if the stream was healthy, 1 if not.

    ros2 run robot_control joint_state_probe --ros-args -p count:=200 -p expect_joints:="[a, b]"
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

from robot_control.common.ros import prepare_process


def summarise(messages: list[tuple[float, list[str], list[float]]], expect: list[str],
              wanted: int = 1) -> dict:
    """Pure summary of (receive time, names, positions) samples."""
    report: dict = {"messages": len(messages), "expected_joints": expect}
    if not messages:
        report.update(healthy=False, problem="no /joint_states received")
        return report
    times = [m[0] for m in messages]
    names, positions = messages[-1][1], messages[-1][2]
    span = times[-1] - times[0]
    finite = all(math.isfinite(v) for _, _, pos in messages for v in pos)
    consistent = all(m[1] == names for m in messages)
    missing = [j for j in expect if j not in names]
    report.update(
        rate_hz=(len(messages) - 1) / span if span > 0 else 0.0,
        joint_names=names,
        last_position=dict(zip(names, positions, strict=False)),
        all_finite=finite,
        names_consistent=consistent,
        missing_joints=missing,
    )
    problems = []
    if not finite:
        problems.append("non-finite positions")
    if not consistent:
        problems.append("joint names changed between messages")
    if len(messages) < wanted:
        problems.append(f"only {len(messages)} of {wanted} messages before the timeout")
    if missing:
        problems.append(f"missing joints: {', '.join(missing)}")
    report["healthy"] = not problems
    report["problem"] = "; ".join(problems)
    return report


def main(args: list[str] | None = None) -> int:
    prepare_process()
    import rclpy
    from rcl_interfaces.msg import ParameterDescriptor
    from rclpy.node import Node
    from sensor_msgs.msg import JointState

    from robot_control.common import ros as R

    rclpy.init(args=sys.argv if args is None else args)
    node = Node("joint_state_probe")
    count = node.declare_parameter("count", 100).value
    timeout_s = float(node.declare_parameter("timeout_s", 20.0, ParameterDescriptor(dynamic_typing=True)).value)
    output = node.declare_parameter("output", "").value
    expect = list(node.declare_parameter("expect_joints", [""]).value)
    expect = [e for e in expect if e]
    topic = node.declare_parameter("topic", "/joint_states").value
    received: list[tuple[float, list[str], list[float]]] = []

    def on_msg(msg: JointState) -> None:
        received.append((time.monotonic(), list(msg.name), list(msg.position)))

    node.create_subscription(JointState, topic, on_msg, R.sensor_qos(depth=50))
    deadline = time.monotonic() + timeout_s
    try:
        R.spin(node, until=lambda: len(received) >= count or time.monotonic() > deadline)
    finally:
        report = summarise(received[:count], expect, count)
        text = json.dumps(report, indent=2, sort_keys=True)
        print(text, flush=True)
        if output:
            Path(output).write_text(text)
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0 if report["healthy"] else 1


if __name__ == "__main__":
    sys.exit(main())
