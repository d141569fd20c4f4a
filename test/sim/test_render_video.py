"""Video from a recording: a synthetic MCAP (real CDR messages) replayed into the G1 scene."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.sim


def write_recording(path: Path, seconds: float = 1.0) -> None:
    from geometry_msgs.msg import PoseStamped
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import JointState

    from robot_control.body.robot_description import load_robot
    from robot_control.tools.recorder import McapRecorder

    names = list(load_robot("g1").joint_names)
    rec = McapRecorder(path)
    rec.add_topic("/joint_states", "sensor_msgs/msg/JointState")
    rec.add_topic("/base_pose", "geometry_msgs/msg/PoseStamped")
    t0 = 1_000_000_000
    for k in range(int(seconds * 100)):
        q = np.zeros(len(names))
        q[names.index("right_shoulder_pitch_joint")] = -1.5 * k / (seconds * 100)  # raise the arm
        rec.write("/joint_states", bytes(serialize_message(JointState(name=names, position=q.tolist()))),
                  t0 + k * 10_000_000)
        pose = PoseStamped()
        pose.pose.position.z = 0.79
        pose.pose.orientation.w = 1.0
        rec.write("/base_pose", bytes(serialize_message(pose)), t0 + k * 10_000_000)
    rec.close()


def test_video_replays_the_recorded_motion(tmp_path: Path) -> None:
    import imageio_ffmpeg

    from robot_control.tools.render_video import render

    rec = tmp_path / "rec.mcap"
    write_recording(rec)
    info = render(rec, "g1", tmp_path / "video.mp4", fps=10, width=160, height=120)
    assert info["frames"] == 9
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "video.mp4"))
    meta = next(reader)
    frames = [np.frombuffer(f, np.uint8).reshape(120, 160, 3) for f in reader]
    assert meta["size"] == (160, 120) and len(frames) == 9
    # The arm moves, so the picture changes between first and last frame (below the overlay bar).
    assert np.abs(frames[0][30:].astype(int) - frames[-1][30:].astype(int)).mean() > 0.5


def test_recording_without_joint_states_is_refused(tmp_path: Path) -> None:
    from robot_control.tools.recorder import McapRecorder
    from robot_control.tools.render_video import render

    rec = McapRecorder(tmp_path / "empty.mcap")
    rec.add_topic("/joint_states", "sensor_msgs/msg/JointState")
    rec.close()
    with pytest.raises(ValueError, match="no /joint_states"):
        render(tmp_path / "empty.mcap", "g1", tmp_path / "v.mp4")
