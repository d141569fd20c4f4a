"""launch_testing test of launch/bringup.launch.py: the launched nodes stream /joint_states and
stop cleanly.

Runs where ROS 2 `launch`, `launch_ros` and `launch_testing` are installed (a ROS 2 distro with
this package built by colcon: `colcon test --packages-select robot_control`, or
`launch_test test/launch/test_bringup_launch.py`, or pytest with the launch_testing plugin that
the distro registers). Here, with rclpy from PyPI wheels only, the module is skipped with the
reason. test/unit/test_launch.py covers what needs no launch (the node set built from the stack
file) and that the launch file's description builds; this one actually launches it:

* generate_test_description: bringup.launch.py with stack:=mock_g1 (G1 on the kinematic mock
  body + the 1 kHz cerebellum, no physics) on a ROS domain of its own, then ReadyToTest;
* active test: /joint_states from the launched body arrives with the G1's joints, and every
  launched process is still running;
* post-shutdown test: every process exited with code 0 on launch's SIGINT.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.launch

_REASON = ("ROS 2 `launch`, `launch_ros` and `launch_testing` are not importable here (they ship with a "
           "ROS 2 distro, not as PyPI wheels); this launch_testing test runs where they are installed")
# launch_testing first: the repository's own launch/ folder makes `import launch` succeed as an
# empty namespace package where the real one is missing.
pytest.importorskip("launch_testing", reason=_REASON)
pytest.importorskip("launch_ros", reason=_REASON)
pytest.importorskip("launch.launch_description_sources", reason=_REASON)

import os  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402
from pathlib import Path  # noqa: E402

import launch_testing.actions  # noqa: E402
import launch_testing.asserts  # noqa: E402
from launch import LaunchDescription  # noqa: E402
from launch.actions import IncludeLaunchDescription, SetEnvironmentVariable  # noqa: E402
from launch.events.process import ProcessExited  # noqa: E402
from launch.launch_description_sources import PythonLaunchDescriptionSource  # noqa: E402

from robot_control.testing import next_domain_id  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
STACK = "mock_g1"
EXPECTED_JOINTS = ("left_hip_pitch_joint", "right_elbow_joint")  # G1 joints the mock body publishes
JOINT_STATES_TIMEOUT_S = 60.0


def _launch_file() -> Path:
    """The installed launch file (colcon: share/robot_control/launch), else the source tree's."""
    try:
        from ament_index_python.packages import get_package_share_directory

        installed = Path(get_package_share_directory("robot_control")) / "launch" / "bringup.launch.py"
        if installed.is_file():
            return installed
    except Exception:  # noqa: BLE001 - not installed with colcon: use the checkout
        pass
    return ROOT / "launch" / "bringup.launch.py"


@pytest.mark.launch_test
def generate_test_description():
    domain_id = next_domain_id()
    # The launched processes: the test's own domain, discovery on this host only.
    os.environ["ROS_DOMAIN_ID"] = str(domain_id)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    bringup = IncludeLaunchDescription(PythonLaunchDescriptionSource(str(_launch_file())),
                                       launch_arguments={"stack": STACK}.items())
    return LaunchDescription([
        SetEnvironmentVariable("ROS_DOMAIN_ID", str(domain_id)),
        SetEnvironmentVariable("ROS_AUTOMATIC_DISCOVERY_RANGE", os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"]),
        bringup,
        launch_testing.actions.ReadyToTest(),
    ]), {"domain_id": domain_id}


class TestJointStatesFromLaunchedNodes(unittest.TestCase):
    """Active test: runs while the launched nodes are up."""

    def test_joint_states_arrive(self, proc_info, domain_id):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import JointState

        from robot_control.common.ros import sensor_qos

        context = rclpy.Context()
        rclpy.init(context=context, domain_id=domain_id)
        node = rclpy.create_node("bringup_launch_test", context=context)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        received: list[JointState] = []
        node.create_subscription(JointState, "/joint_states", received.append, sensor_qos())
        try:
            deadline = time.monotonic() + JOINT_STATES_TIMEOUT_S
            while len(received) < 10 and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.1)  # finite timeouts only
        finally:
            executor.shutdown(timeout_sec=1.0)
            node.destroy_node()
            context.try_shutdown()
        self.assertGreaterEqual(len(received), 10, f"no /joint_states from the launched {STACK} stack "
                                                   f"within {JOINT_STATES_TIMEOUT_S:g} s (domain {domain_id})")
        names = set(received[-1].name)
        for joint in EXPECTED_JOINTS:
            self.assertIn(joint, names)
        self.assertEqual(len(received[-1].position), len(received[-1].name))
        # Nothing launched has died meanwhile (proc_info holds each process's latest event).
        names = proc_info.process_names()
        self.assertTrue(names, "the launch file started no process")
        for name in names:
            event = proc_info[name]
            self.assertNotIsInstance(event, ProcessExited,
                                     f"{name} exited during the test (code {getattr(event, 'returncode', '?')})")


@launch_testing.post_shutdown_test()
class TestShutdown(unittest.TestCase):
    """After launch stopped the nodes (SIGINT): every process exited cleanly."""

    def test_exit_codes(self, proc_info):
        self.assertTrue(proc_info.process_names(), "the launch file started no process")
        launch_testing.asserts.assertExitCodes(proc_info, allowable_exit_codes=[launch_testing.asserts.EXIT_OK])
