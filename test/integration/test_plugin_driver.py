"""A body driver from a separate package, found through the `robot_control.drivers` entry point.

test/plugins/rc_example_driver is a package of its own (pyproject.toml, entry point
`example_servo`). It is installed with pip into a temporary directory — never into the
project's venv — and that directory goes on PYTHONPATH of the processes under test only:
`robot-control drivers` must list it, and a body node must load it, stream /joint_states
that a joint_state_probe receives, and pass /joint_commands on to it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from robot_control.supervisor.stack import NodeSpec, StackSpec
from robot_control.testing import wait_for, wait_for_subscribers

pytestmark = pytest.mark.integration

PLUGIN_SRC = Path(__file__).resolve().parents[1] / "plugins" / "rc_example_driver"
JOINTS = ["shoulder_joint", "elbow_joint", "wrist_joint"]


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rc_example_driver installed (with its entry-point metadata) into a temporary directory."""
    tmp = tmp_path_factory.mktemp("plugin")
    src = tmp / "src"
    # Build from a copy: an in-tree build would leave build/ and *.egg-info in the repository.
    shutil.copytree(PLUGIN_SRC, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index",
         "--no-deps", "--no-build-isolation", "--target", str(site), str(src)],
        check=True, timeout=300, cwd=tmp)
    assert list(site.glob("rc_example_driver-*.dist-info")), "pip installed no entry-point metadata"
    return site


def env_with(site: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return env


def robot_control_cli() -> list[str]:
    script = Path(sys.executable).with_name("robot-control")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "robot_control.cli"]


def test_cli_lists_the_plugin_only_where_it_is_installed(plugin_site: Path) -> None:
    listed = subprocess.run([*robot_control_cli(), "drivers"], env=env_with(plugin_site),
                            capture_output=True, text=True, timeout=60, check=True).stdout
    lines = {line.split()[0]: line.split()[1] for line in listed.splitlines() if line.strip()}
    assert lines.get("example_servo") == "rc_example_driver.driver:ExampleServoDriver", listed
    assert {"mock", "mujoco_sim"} <= set(lines)
    without = subprocess.run([*robot_control_cli(), "drivers"], env=env_with(None),
                             capture_output=True, text=True, timeout=60, check=True).stdout
    assert "example_servo" not in without, "the example plugin must not be installed in the venv"


def body_params(site: Path, **options: object) -> dict[str, object]:
    params: dict[str, object] = {"robot": str(site / "rc_example_driver" / "example_arm.yaml"),
                                 "driver": "example_servo", "autostart": True, "diagnostics_period_s": 0.5,
                                 "driver_options.port": "virtual:test", "driver_options.initial_posture": "home"}
    params.update({f"driver_options.{k}": v for k, v in options.items()})
    return params


def test_body_node_runs_the_plugin_driver(ros, stack, plugin_site: Path, tmp_path: Path) -> None:
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import JointState

    from robot_control.common.ros import sensor_qos

    report = tmp_path / "probe.json"
    probe = NodeSpec(name="joint_state_probe", executable="joint_state_probe", on_exit="ignore",
                     parameters={"count": 200, "timeout_s": 60.0, "output": str(report),
                                 "expect_joints": "[" + ",".join(JOINTS) + "]"})
    body = NodeSpec(name="body", executable="body_node", parameters=body_params(plugin_site))
    runner = stack(StackSpec(name="plugin", nodes=(body, probe)), extra_env={"PYTHONPATH": str(plugin_site)})

    wait_for(report.is_file, 90.0, what=f"the probe's report\n{runner.output()[-3000:]}")
    result = json.loads(report.read_text())
    assert result["healthy"], result
    assert result["joint_names"] == JOINTS and result["last_position"]["elbow_joint"] == pytest.approx(0.5)

    # Commands reach the driver: the joint moves to the commanded position.
    lock = threading.Lock()
    latest: dict[str, float] = {}
    written: list[int] = []

    def on_state(msg) -> None:
        with lock:
            latest.update(zip(msg.name, msg.position, strict=True))

    def on_diag(msg) -> None:
        for s in msg.status:
            values = {kv.key: kv.value for kv in s.values}
            if values.get("driver") == "example_servo" and "commands_written" in values:
                written.append(int(values["commands_written"]))

    ros.node.create_subscription(JointState, "/joint_states", on_state, sensor_qos())
    ros.node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)
    pub = ros.node.create_publisher(JointState, "/joint_commands", sensor_qos(depth=1))
    wait_for_subscribers(pub, timeout_s=20.0)
    command = JointState(name=["wrist_joint", "shoulder_joint"], position=[1.2, -0.4])

    def arrived() -> bool:
        pub.publish(command)  # best-effort, like the cerebellum: keep streaming the target
        with lock:
            return (abs(latest.get("wrist_joint", 0.0) - 1.2) < 1e-3
                    and abs(latest.get("shoulder_joint", 0.0) + 0.4) < 1e-3)

    wait_for(arrived, 30.0, interval_s=0.02, what=f"the commanded position on /joint_states ({latest})")
    with lock:
        assert latest["elbow_joint"] == pytest.approx(0.5), "a joint not commanded must hold"
    wait_for(lambda: written and written[-1] > 0, 10.0, what="commands_written on /diagnostics")


def test_body_reports_a_plugin_configuration_error(stack, plugin_site: Path) -> None:
    """A driver's DriverError reaches the operator, and the body exits non-zero."""
    params = body_params(plugin_site)
    params["driver_options.port"] = "/dev/ttyUSB9"
    body = NodeSpec(name="body", executable="body_node", parameters=params)
    runner = stack(StackSpec(name="plugin_bad_port", nodes=(body,)), extra_env={"PYTHONPATH": str(plugin_site)})
    wait_for(lambda: not runner.alive, 60.0, what="the stack to stop after the body failed")
    assert "example_servo: cannot open /dev/ttyUSB9" in runner.output()
    assert runner.exit_code != 0


def test_unknown_driver_names_the_installed_ones(stack) -> None:
    body = NodeSpec(name="body", executable="body_node",
                    parameters={"robot": "g1", "driver": "example_servo", "autostart": True})
    runner = stack(StackSpec(name="plugin_missing", nodes=(body,)))
    wait_for(lambda: not runner.alive, 60.0, what="the stack to stop after the body failed")
    out = runner.output()
    assert "no driver named 'example_servo'" in out and "mock" in out and "mujoco_sim" in out

