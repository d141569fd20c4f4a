"""Demonstration datasets: MCAP (ROS 2 profile) round trip, metadata, message layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mcap.reader import make_reader

from robot_control.edge.training.episodes import (
    FORMAT,
    OBS_SIGNALS,
    TOPIC_ACT,
    TOPIC_JOINTS,
    TOPIC_OBS,
    Episode,
    EpisodeWriter,
    load_arrays,
    read_episodes,
    read_metadata,
    sha256_file,
    write_episodes,
)

pytestmark = pytest.mark.unit


def episode(rng: np.random.Generator, ticks: int, seed: int, success: bool = True) -> Episode:
    names = ("joint_a", "joint_b", "joint_c")
    return Episode(robot="panda", skill="lift", seed=seed, noise=0.001, success=success,
                   obs=rng.normal(size=(ticks, 14)).astype(np.float32),
                   act=rng.normal(size=(ticks, 4)).astype(np.float32),
                   executed=rng.normal(size=(ticks, 4)).astype(np.float32),
                   t=np.arange(ticks) * 0.02, joint_names=names,
                   joint_position=rng.normal(size=(ticks, 3)), joint_velocity=rng.normal(size=(ticks, 3)),
                   embodiment="panda")


def test_round_trip_keeps_every_array_and_field(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    eps = [episode(rng, 5, 10), episode(rng, 7, 11, success=False), episode(rng, 3, 12)]
    path = tmp_path / "d.mcap"
    assert write_episodes(path, eps, {"skill": "lift", "robots": "panda"}) == 3
    back = read_episodes(path)
    assert len(back) == 3
    for a, b in zip(eps, back, strict=True):
        assert (b.robot, b.skill, b.seed, b.noise, b.success, b.embodiment) == \
               (a.robot, a.skill, a.seed, a.noise, a.success, a.embodiment)
        np.testing.assert_array_equal(b.obs, a.obs)  # float32 survives exactly
        np.testing.assert_array_equal(b.act, a.act)
        np.testing.assert_array_equal(b.executed, a.executed)
        np.testing.assert_allclose(b.t, a.t, atol=1e-9)
        assert b.joint_names == a.joint_names
        np.testing.assert_array_equal(b.joint_position, a.joint_position)
        np.testing.assert_array_equal(b.joint_velocity, a.joint_velocity)
    dataset, metas = read_metadata(path)
    assert dataset["format"] == FORMAT and dataset["skill"] == "lift"
    assert [m["success"] for m in metas] == ["true", "false", "true"]

    obs, act = load_arrays(path)  # successful episodes only
    assert obs.shape == (8, 14) and act.shape == (8, 4)
    np.testing.assert_array_equal(obs, np.concatenate([eps[0].obs, eps[2].obs]))
    obs_all, _ = load_arrays(path, only_success=False)
    assert obs_all.shape == (15, 14)


def test_same_episodes_give_identical_files(tmp_path: Path) -> None:
    eps = [episode(np.random.default_rng(1), 4, 1)]
    write_episodes(tmp_path / "a.mcap", eps)
    write_episodes(tmp_path / "b.mcap", eps)
    assert sha256_file(tmp_path / "a.mcap") == sha256_file(tmp_path / "b.mcap")  # no wall-clock time inside


def test_standard_ros2_messages_with_named_signals(tmp_path: Path) -> None:
    path = tmp_path / "d.mcap"
    write_episodes(path, [episode(np.random.default_rng(2), 4, 3)])
    with open(path, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        assert summary is not None
        assert reader.get_header().profile == "ros2"
        schemas = {c.topic: summary.schemas[c.schema_id].name for c in summary.channels.values()}
        assert schemas[TOPIC_JOINTS] == "sensor_msgs/msg/JointState"
        assert schemas[TOPIC_OBS] == schemas[TOPIC_ACT] == "std_msgs/msg/Float32MultiArray"
        raw = {c.topic: m.data for _, c, m in reader.iter_messages(topics=[TOPIC_OBS, TOPIC_JOINTS])}
    # the CDR bytes decode with the real ROS 2 message classes where they are installed
    serialization = pytest.importorskip("rclpy.serialization")
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Float32MultiArray

    obs = serialization.deserialize_message(raw[TOPIC_OBS], Float32MultiArray)
    assert [(d.label, d.size) for d in obs.layout.dim] == list(OBS_SIGNALS)
    assert len(obs.data) == 14
    js = serialization.deserialize_message(raw[TOPIC_JOINTS], JointState)
    assert list(js.name) == ["joint_a", "joint_b", "joint_c"] and len(js.position) == 3


def test_bad_input_is_refused_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "d.mcap"
    ep = episode(np.random.default_rng(3), 4, 1)
    ep.t = np.zeros(4)  # not increasing
    with pytest.raises(ValueError, match="strictly increasing"):
        with EpisodeWriter(path) as w:
            w.add(ep)
    assert not path.exists() and not list(tmp_path.glob("*.partial"))
    (tmp_path / "other.mcap").write_bytes(b"")
    with pytest.raises(Exception):  # noqa: B017 - mcap raises its own error types for a non-MCAP file
        read_metadata(tmp_path / "other.mcap")
