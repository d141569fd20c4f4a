"""Render a run's video from its MCAP recording (headless: MUJOCO_GL=egl).

    python -m robot_control.tools.render_video runs/<run>/recording.mcap --robot g1 --out runs/<run>/video.mp4

The control loop never renders: the video is rebuilt afterwards from what the robot really
did — /joint_states, /base_pose and /objects replayed kinematically into the same MuJoCo
scene — with the active task step and skill phase from /task/status written on each frame.
MP4 (H.264) through the static ffmpeg of `imageio-ffmpeg`.

Without a GPU, EGL is Mesa's llvmpipe (software): a 640x480 G1 frame with shadows costs
~2.5 s of CPU, without shadows and reflections ~0.45 s, at 480x360 ~0.27 s (measured on the
2-core CI machine under load). Hence the defaults: 480x360, 10 fps, no shadows/reflections.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TOPICS = ["/joint_states", "/base_pose", "/objects", "/task/status"]


@dataclass
class Timeline:
    """Time-ordered states from a recording (times in seconds from the first message)."""

    t0_ns: int = 0
    joints: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    base: list[tuple[float, np.ndarray, np.ndarray]] = field(default_factory=list)  # pos, quat wxyz
    objects: list[tuple[float, dict[str, tuple[np.ndarray, np.ndarray]]]] = field(default_factory=list)
    status: list[tuple[float, str]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        ends = [s[-1][0] for s in (self.joints, self.base, self.objects) if s]
        return max(ends) if ends else 0.0


def _quat_wxyz(q: object) -> np.ndarray:
    return np.array([q.w, q.x, q.y, q.z], dtype=float)  # type: ignore[attr-defined]


def status_line(values: dict[str, str], message: str) -> str:
    state = values.get("state", "")
    parts = [state]
    if values.get("current_step"):
        parts.append(f"step {values.get('step', '?')}/{values.get('steps', '?')}: {values['current_step']}")
    if values.get("skill_phase"):
        parts.append(values["skill_phase"] + (f" ({values['sub_phase']})" if values.get("sub_phase") else ""))
    if values.get("planner_mode"):
        parts.append(f"[{values['planner_mode']}]")
    if state in ("SUCCEEDED", "FAILED", "ABORTED", "CANCELED") and message:
        parts.append(message)
    return "  ".join(p for p in parts if p)


def load_timeline(path: str | Path, joint_stride: int = 10) -> Timeline:
    """Read the recording; keeps every `joint_stride`-th joint state (1 kHz is far above video rate)."""
    from robot_control.tools.recorder import read_messages

    tl = Timeline()
    n_joint = 0
    for topic, t_ns, msg in read_messages(path, topics=TOPICS):
        if not tl.t0_ns:
            tl.t0_ns = t_ns
        t = (t_ns - tl.t0_ns) / 1e9
        if topic == "/joint_states":
            n_joint += 1
            if n_joint % joint_stride == 0:
                tl.joints.append((t, dict(zip(msg.name, msg.position, strict=False))))
        elif topic == "/base_pose":
            p = msg.pose.position
            tl.base.append((t, np.array([p.x, p.y, p.z]), _quat_wxyz(msg.pose.orientation)))
        elif topic == "/objects":
            objs = {m.text: (np.array([m.pose.position.x, m.pose.position.y, m.pose.position.z]),
                             _quat_wxyz(m.pose.orientation)) for m in msg.markers if m.text}
            tl.objects.append((t, objs))
        elif topic == "/task/status":
            values = {kv.key: kv.value for kv in msg.values}
            tl.status.append((t, status_line(values, msg.message)))
    return tl


class _Cursor:
    def __init__(self, series: list) -> None:
        self.series, self.times, self.i = series, [s[0] for s in series], -1

    def at(self, t: float) -> object | None:
        while self.i + 1 < len(self.times) and self.times[self.i + 1] <= t:
            self.i += 1
        return self.series[self.i] if self.i >= 0 else None


def render(path: str | Path, robot: str, out: str | Path, *, fps: float = 10.0, width: int = 480,
           height: int = 360, camera: str | None = None, max_seconds: float | None = None,
           overlay: bool = True, shadows: bool = False) -> dict[str, object]:
    """Write the video; returns {frames, seconds, path}."""
    import imageio_ffmpeg
    import mujoco
    from PIL import Image, ImageDraw

    from robot_control.body.mujoco_driver import MujocoSimDriver
    from robot_control.body.robot_description import load_robot

    tl = load_timeline(path)
    if not tl.joints:
        raise ValueError(f"{path}: no /joint_states in the recording")
    driver = MujocoSimDriver(load_robot(robot), {"pacing": "free", "robot": robot})
    driver.configure()
    m, d = driver.model, driver.data
    base_adr = None
    if driver.scene.base_qpos is not None:
        jnt = int(m.body_jntadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, driver.scene.base_body)])
        base_adr = int(m.jnt_qposadr[jnt])
    renderer = mujoco.Renderer(m, height, width)
    cam = camera or driver.scene.default_camera
    joint_qpos = {j.name: list(j.qpos) for j in driver._joints}  # noqa: SLF001 - same scene, kinematic replay
    objects = set(driver.object_names)
    duration = tl.duration if max_seconds is None else min(tl.duration, max_seconds)
    n_frames = max(1, int(duration * fps))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = imageio_ffmpeg.write_frames(str(out), (width, height), fps=fps, codec="libx264",
                                         pix_fmt_out="yuv420p", macro_block_size=8,
                                         output_params=["-crf", "23", "-preset", "veryfast"])
    writer.send(None)
    cur_j, cur_b, cur_o, cur_s = (_Cursor(s) for s in (tl.joints, tl.base, tl.objects, tl.status))
    try:
        for k in range(n_frames):
            t = k / fps
            js = cur_j.at(t)
            if js is not None:
                for name, q in js[1].items():  # type: ignore[index]
                    if name in joint_qpos and np.isfinite(q):
                        d.qpos[joint_qpos[name]] = q
            bs = cur_b.at(t)
            if bs is not None and base_adr is not None:
                d.qpos[base_adr:base_adr + 3] = bs[1]  # type: ignore[index]
                d.qpos[base_adr + 3:base_adr + 7] = bs[2]  # type: ignore[index]
            os_ = cur_o.at(t)
            if os_ is not None:
                for name, (pos, quat) in os_[1].items():  # type: ignore[index]
                    if name in objects:
                        xyzw = (quat[1], quat[2], quat[3], quat[0])
                        driver.set_object_pose(name, pos, xyzw)
            mujoco.mj_forward(m, d)
            renderer.update_scene(d, camera=cam)
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = shadows
            renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = shadows
            frame = renderer.render()
            if overlay:
                img = Image.fromarray(frame)
                draw = ImageDraw.Draw(img)
                ss = cur_s.at(t)
                text = f"t = {t:5.1f} s   " + (ss[1] if ss is not None else "")  # type: ignore[index]
                draw.rectangle((0, 0, width, 22), fill=(0, 0, 0))
                draw.text((6, 5), text, fill=(255, 255, 255))
                frame = np.asarray(img)
            writer.send(np.ascontiguousarray(frame))
    finally:
        writer.close()
        renderer.close()
        driver.shutdown()
    return {"frames": n_frames, "seconds": round(duration, 2), "path": str(out)}


def save_frame(video: str | Path, at_s: float, out: str | Path) -> Path:
    """Extract one frame of an MP4 as PNG (for reports)."""
    import imageio_ffmpeg
    from PIL import Image

    reader = imageio_ffmpeg.read_frames(str(video), input_params=["-ss", f"{at_s:.2f}"])
    meta = next(reader)
    raw = next(reader)
    w, h = meta["size"]
    Image.fromarray(np.frombuffer(raw, np.uint8).reshape(h, w, 3)).save(out)
    reader.close()
    return Path(out)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recording", type=Path)
    p.add_argument("--robot", default="g1")
    p.add_argument("--out", type=Path, default=None, help="default: video.mp4 next to the recording")
    p.add_argument("--fps", type=float, default=10.0)
    p.add_argument("--size", default="480x360")
    p.add_argument("--shadows", action="store_true", help="shadows and reflections (slow without a GPU)")
    p.add_argument("--camera", default=None)
    a = p.parse_args(argv)
    w, h = (int(v) for v in a.size.split("x"))
    info = render(a.recording, a.robot, a.out or a.recording.with_name("video.mp4"), fps=a.fps, width=w,
                  height=h, camera=a.camera, shadows=a.shadows)
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
