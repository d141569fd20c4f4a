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


def test_executor_kind_defaults_to_events_and_rejects_unknown(monkeypatch) -> None:
    from robot_control.common.ros import EXECUTOR_ENV, executor_kind

    monkeypatch.delenv(EXECUTOR_ENV, raising=False)
    assert executor_kind() == "events"
    monkeypatch.setenv(EXECUTOR_ENV, "single_threaded")
    assert executor_kind() == "single_threaded"
    assert executor_kind("events") == "events"  # an explicit choice wins
    monkeypatch.setenv(EXECUTOR_ENV, "multi_threaded")
    with pytest.raises(ValueError, match="ROBOT_CONTROL_EXECUTOR='multi_threaded'"):
        executor_kind()
