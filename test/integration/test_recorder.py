"""MCAP recorder: full ros2msg schemas, and a real recording of a running body read back decoded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_dds_exchange import mock_body_stack

from robot_control.tools.recorder import SEPARATOR, full_definition, read_messages

pytestmark = pytest.mark.integration


def test_full_definition_includes_every_dependency_once() -> None:
    text = full_definition("visualization_msgs/msg/MarkerArray")
    headers = [line for line in text.splitlines() if line.startswith("MSG: ")]
    assert "MSG: visualization_msgs/Marker" in headers
    assert "MSG: std_msgs/Header" in headers and "MSG: builtin_interfaces/Time" in headers
    assert len(headers) == len(set(headers))
    assert text.count(SEPARATOR) == len(headers)
    with pytest.raises(FileNotFoundError, match="no_such_msgs"):
        full_definition("no_such_msgs/msg/Thing")


def test_records_running_body_and_reads_back(stack, domain_id: int, tmp_path: Path) -> None:
    stack(mock_body_stack())
    out = tmp_path / "rec.mcap"
    env = {**os.environ, "ROS_DOMAIN_ID": str(domain_id)}
    proc = subprocess.run([sys.executable, "-m", "robot_control.tools.recorder", "--out", str(out),
                           "--duration", "3", "--discovery-timeout", "15", "/joint_states",
                           "/diagnostics", "/joint_commands:sensor_msgs/msg/JointState"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    msgs = list(read_messages(out, topics=["/joint_states"]))
    assert len(msgs) > 100, proc.stdout  # the arm2 mock body streams at 500 Hz
    _topic, t_ns, first = msgs[0]
    assert list(first.name) == ["shoulder", "elbow"]
    assert first.position[0] == pytest.approx(0.5)
    assert all(b[1] >= a[1] for a, b in zip(msgs, msgs[1:], strict=False))
