"""Run plot from a recording: the numbers behind the panels are computed from the messages."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit


def test_tracking_error_loop_and_hops_from_a_recording(tmp_path: Path) -> None:
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import JointState

    from robot_control.tools.plot_run import plot
    from robot_control.tools.recorder import McapRecorder

    rec = McapRecorder(tmp_path / "rec.mcap")
    for topic, kind in (("/joint_states", "sensor_msgs/msg/JointState"),
                        ("/joint_commands", "sensor_msgs/msg/JointState"),
                        ("/cerebellum/status", "diagnostic_msgs/msg/DiagnosticStatus"),
                        ("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray")):
        rec.add_topic(topic, kind)

    def put(topic: str, msg: object, t_ms: int) -> None:
        rec.write(topic, bytes(serialize_message(msg)), 10**9 + t_ms * 10**6)

    put("/joint_commands", JointState(name=["a", "b"], position=[0.1, -0.2]), 0)
    for k in range(1, 101):  # measured lags the command by exactly 0.01 and 0.02 rad
        put("/joint_states", JointState(name=["a", "b", "c"], position=[0.09, -0.18, 5.0]), k)
    status = DiagnosticStatus(name="cerebellum: controller",
                              values=[KeyValue(key="jitter_p99_us", value="80.0"), KeyValue(key="rate_hz", value="1000")])
    put("/cerebellum/status", status, 50)
    link = DiagnosticStatus(name="bridge: brain link", values=[KeyValue(key="brain_rtt_ms", value="63.5"),
                                                                KeyValue(key="brain_server_ms", value="nan")])
    put("/diagnostics", DiagnosticArray(status=[link]), 60)
    rec.close()

    info = plot(tmp_path / "rec.mcap", tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 10_000
    rms = (0.5 * (0.01 ** 2 + 0.02 ** 2)) ** 0.5  # joint c is not commanded: not counted
    assert info["tracking_rms_rad"]["mean"] == pytest.approx(rms, abs=1e-4)
    assert info["tracking_rms_rad"]["max_joint_rad"] == pytest.approx(0.02, abs=1e-6)
    assert info["jitter_p99_us"]["median"] == 80.0
    assert info["brain_rtt_ms"]["median"] == 63.5 and "brain_server_ms" not in info
