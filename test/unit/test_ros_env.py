import pytest

from robot_control.common.ros_env import apply_ros_env_defaults

pytestmark = pytest.mark.unit


def test_defaults_keep_discovery_local():
    env = apply_ros_env_defaults({})
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert env["FASTDDS_DEFAULT_PROFILES_FILE"].endswith("fastdds_profile.xml")


def test_user_choice_wins():
    env = apply_ros_env_defaults({"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"})
    assert env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "SUBNET"


def test_cli_sets_default(monkeypatch):
    from robot_control import cli

    monkeypatch.delenv("ROS_AUTOMATIC_DISCOVERY_RANGE", raising=False)
    assert cli.main(["drivers"]) == 0
    import os

    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
