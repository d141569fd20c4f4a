"""Shared fixtures: an isolated ROS domain per test, rclpy sessions, supervised stacks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

# Every test process keeps DDS discovery on this machine.
os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "test"))

from robot_control.common.ros_env import apply_ros_env_defaults  # noqa: E402
from robot_control.testing import RosSession, next_domain_id, running_stack  # noqa: E402

apply_ros_env_defaults()


@pytest.fixture
def domain_id(monkeypatch: pytest.MonkeyPatch) -> int:
    """A ROS_DOMAIN_ID no other test in this run uses at the same time."""
    value = next_domain_id()
    monkeypatch.setenv("ROS_DOMAIN_ID", str(value))
    return value


@pytest.fixture
def ros(domain_id: int):
    """An rclpy context + node on the test's own domain, spun in the background."""
    session = RosSession(domain_id)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def stack(domain_id: int):
    """Start a stack (StackSpec, stack file or name) under the supervisor: `stack(spec)`."""
    opened = []

    def start(spec, extra_env=None):
        cm = running_stack(spec, domain_id, extra_env)
        runner = cm.__enter__()
        opened.append(cm)
        return runner

    yield start
    for cm in reversed(opened):
        cm.__exit__(None, None, None)
