"""ament_python package definition for robot_control.

Works both with colcon in a ROS 2 workspace (data files land in share/robot_control)
and with `pip install -e .` in the project's .venv (`make setup`).
"""

import os

from setuptools import find_packages, setup

PACKAGE = "robot_control"


def tree(folder: str) -> list[tuple[str, list[str]]]:
    """data_files entries that install `folder` recursively under share/<package>."""
    entries = []
    for root, _dirs, files in os.walk(folder):
        paths = [os.path.join(root, f) for f in files if not f.endswith((".pyc", "~"))]
        if paths:
            entries.append((os.path.join("share", PACKAGE, root), sorted(paths)))
    return sorted(entries)


# Every ROS node is a console script so `ros2 run robot_control <node>` works.
NODES = [
    "body_node = robot_control.body.node:main",
    "cerebellum_node = robot_control.cerebellum.node:main",
    "joint_state_probe = robot_control.tools.joint_state_probe:main",
    "recorder_node = robot_control.tools.recorder:main",
    "brain_server = robot_control.brain.server:main",
    "edge_node = robot_control.edge.node:main",
    "bridge_node = robot_control.bridge.node:main",
]

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    include_package_data=True,
    package_data={PACKAGE: ["py.typed", "common/*.xml", "v1/*.pyi"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        *tree("launch"),
        *tree("config"),
        *tree("proto"),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="robot_control maintainers",
    maintainer_email="maintainers@robot-control.dev",
    description="Brain-Cerebellum-Body ROS 2 control stack for embodied-AI robots",
    license="Apache-2.0",
    python_requires=">=3.10",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [*NODES, "robot-control = robot_control.cli:main"],
        "robot_control.drivers": [
            "mock = robot_control.body.mock_driver:MockDriver",
            "mujoco_sim = robot_control.body.mujoco_driver:MujocoSimDriver",
        ],
    },
)
