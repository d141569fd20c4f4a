"""Demonstration datasets: one MCAP file (ROS 2 profile, CDR messages) per dataset.

Why MCAP with ROS 2 messages: it is the standard log format of ROS 2 (rosbag2's default
storage), Foxglove and `ros2 bag` open it directly, and the schemas travel inside the file
(the .msg definitions below are embedded), so reading needs no ROS distro -- only the `mcap`
and `mcap-ros2-support` Python packages.

Layout of a dataset file (format `robot_control/skill-dataset/1`):

    topics, one message each per control tick (50 Hz) of every episode
      /joint_states           sensor_msgs/msg/JointState      measured joints (all robot joints)
      /edge/observation       std_msgs/msg/Float32MultiArray  the 14-d policy observation
      /edge/action            std_msgs/msg/Float32MultiArray  the expert's CLEAN action label (4-d)
      /edge/action_executed   std_msgs/msg/Float32MultiArray  what was executed (label + DART noise)
    metadata records
      "dataset"   one: format, control_rate_hz, observation/action signal names and sizes, ...
      "episode"   one per episode: index, robot, embodiment, skill, seed, noise, success,
                  ticks, start_ns, end_ns (the episode's log-time window, inclusive)

`Float32MultiArray.layout.dim` names the signals: one dimension per signal IN ORDER, label =
signal name, size = its number of elements, stride = its size (so the dims are consecutive
segments of `data`, not nested dimensions). E.g. the observation's dims are object_minus_ee(3),
goal_minus_ee(3), command_minus_ee(3), ee_velocity(3), gripper_state(1), skill_time(1).

Time: log/publish times and `header.stamp` are a synthetic dataset clock, not wall time
(files are byte-identical when regenerated with the same seeds): episode k starts 1 s after
episode k-1 ended, and within an episode time is the simulated time since the skill started.

Reading (see docs/skill-datasets.md for Foxglove and the mcap CLI):

    from robot_control.edge.training.episodes import read_episodes, load_arrays
    episodes = read_episodes("runs/skill_datasets/lift_panda_s0.mcap")   # list[Episode]
    obs, act = load_arrays(path)     # successful episodes concatenated: (N, 14), (N, 4) float32
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from mcap_ros2.writer import Writer

FORMAT = "robot_control/skill-dataset/1"
TOPIC_JOINTS = "/joint_states"
TOPIC_OBS = "/edge/observation"
TOPIC_ACT = "/edge/action"
TOPIC_EXEC = "/edge/action_executed"
EPISODE_GAP_NS = 1_000_000_000

# Signal names and sizes, in order (see EmbodimentAdapter.observation / apply_action).
OBS_SIGNALS: tuple[tuple[str, int], ...] = (
    ("object_minus_ee", 3), ("goal_minus_ee", 3), ("command_minus_ee", 3), ("ee_velocity", 3),
    ("gripper_state", 1), ("skill_time", 1))
ACT_SIGNALS: tuple[tuple[str, int], ...] = (("ee_delta", 3), ("gripper", 1))

# ROS 2 message definitions in the concatenated form MCAP's ros2msg encoding expects.
_SEP = "=" * 80 + "\n"
TIME_MSG = "int32 sec\nuint32 nanosec\n"
HEADER_MSG = "builtin_interfaces/Time stamp\nstring frame_id\n"
JOINT_STATE_MSGDEF = (
    "std_msgs/Header header\nstring[] name\nfloat64[] position\nfloat64[] velocity\nfloat64[] effort\n"
    + _SEP + "MSG: std_msgs/Header\n" + HEADER_MSG
    + _SEP + "MSG: builtin_interfaces/Time\n" + TIME_MSG)
FLOAT32_MULTI_ARRAY_MSGDEF = (
    "std_msgs/MultiArrayLayout layout\nfloat32[] data\n"
    + _SEP + "MSG: std_msgs/MultiArrayLayout\nstd_msgs/MultiArrayDimension[] dim\nuint32 data_offset\n"
    + _SEP + "MSG: std_msgs/MultiArrayDimension\nstring label\nuint32 size\nuint32 stride\n")


@dataclass
class Episode:
    """One skill execution: per-tick arrays plus what the dataset says about it."""

    robot: str
    skill: str
    seed: int
    noise: float
    success: bool
    obs: np.ndarray  # (T, 14) float32
    act: np.ndarray  # (T, 4) float32, clean expert labels
    executed: np.ndarray  # (T, 4) float32, label + noise as applied
    t: np.ndarray  # (T,) s since the skill started
    joint_names: tuple[str, ...] = ()
    joint_position: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (T, J)
    joint_velocity: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (T, J)
    embodiment: str = ""

    def __len__(self) -> int:
        return int(self.obs.shape[0])


def _layout(signals: Sequence[tuple[str, int]]) -> dict[str, Any]:
    return {"dim": [{"label": n, "size": s, "stride": s} for n, s in signals], "data_offset": 0}


def _stamp(ns: int) -> dict[str, int]:
    return {"sec": ns // 1_000_000_000, "nanosec": ns % 1_000_000_000}


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class EpisodeWriter:
    """Stream episodes into one MCAP file: `with EpisodeWriter(path, meta) as w: w.add(ep)`."""

    def __init__(self, path: str | Path, meta: dict[str, Any] | None = None, control_rate_hz: float = 50.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(self.path.name + ".partial")
        self._file = open(self._tmp, "wb")  # closed in close() / abort()
        self._writer = Writer(self._file)
        self._js = self._writer.register_msgdef("sensor_msgs/msg/JointState", JOINT_STATE_MSGDEF)
        self._arr = self._writer.register_msgdef("std_msgs/msg/Float32MultiArray", FLOAT32_MULTI_ARRAY_MSGDEF)
        info = {"format": FORMAT, "control_rate_hz": f"{control_rate_hz:g}",
                "observation": ",".join(f"{n}:{s}" for n, s in OBS_SIGNALS),
                "action": ",".join(f"{n}:{s}" for n, s in ACT_SIGNALS)}
        info.update({k: str(v) for k, v in (meta or {}).items()})
        self._writer.add_metadata("dataset", info)
        self._obs_layout, self._act_layout = _layout(OBS_SIGNALS), _layout(ACT_SIGNALS)
        self._next_ns = 0
        self._seq = 0
        self.count = 0
        self.closed = False

    def add(self, ep: Episode) -> None:
        if ep.obs.shape[1:] != (sum(s for _, s in OBS_SIGNALS),) or ep.act.shape[1:] != (4,):
            raise ValueError(f"episode arrays have shapes {ep.obs.shape} / {ep.act.shape}, expected (T, 14) / (T, 4)")
        start = self._next_ns
        times = [start + int(round(float(t) * 1e9)) for t in ep.t]
        if any(b <= a for a, b in zip(times, times[1:], strict=False)):
            raise ValueError("episode tick times must be strictly increasing")
        for i, ns in enumerate(times):
            self._seq += 1
            if ep.joint_names:
                self._writer.write_message(TOPIC_JOINTS, self._js, {
                    "header": {"stamp": _stamp(ns), "frame_id": ""}, "name": list(ep.joint_names),
                    "position": ep.joint_position[i].astype(float).tolist(),
                    "velocity": ep.joint_velocity[i].astype(float).tolist(), "effort": []},
                    log_time=ns, publish_time=ns, sequence=self._seq)
            for topic, layout, row in ((TOPIC_OBS, self._obs_layout, ep.obs[i]),
                                       (TOPIC_ACT, self._act_layout, ep.act[i]),
                                       (TOPIC_EXEC, self._act_layout, ep.executed[i])):
                self._writer.write_message(topic, self._arr, {"layout": layout, "data": row.astype(float).tolist()},
                                           log_time=ns, publish_time=ns, sequence=self._seq)
        end = times[-1] if times else start
        self._writer.add_metadata("episode", {
            "index": str(self.count), "robot": ep.robot, "embodiment": ep.embodiment, "skill": ep.skill,
            "seed": str(ep.seed), "noise": repr(float(ep.noise)), "success": str(bool(ep.success)).lower(),
            "ticks": str(len(times)), "start_ns": str(start), "end_ns": str(end)})
        self._next_ns = end + EPISODE_GAP_NS
        self.count += 1

    def close(self) -> None:
        if self.closed:
            return
        self._writer.finish()
        self._file.close()
        self._tmp.replace(self.path)
        self.closed = True

    def abort(self) -> None:
        if not self.closed:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
            self.closed = True

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_episodes(path: str | Path, episodes: Iterable[Episode], meta: dict[str, Any] | None = None) -> int:
    with EpisodeWriter(path, meta) as w:
        for ep in episodes:
            w.add(ep)
        return w.count


def read_metadata(path: str | Path) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(dataset record, episode records in index order)."""
    with open(path, "rb") as f:
        reader = make_reader(f)
        dataset: dict[str, str] = {}
        episodes: list[dict[str, str]] = []
        for m in reader.iter_metadata():
            if m.name == "dataset":
                dataset = dict(m.metadata)
            elif m.name == "episode":
                episodes.append(dict(m.metadata))
    if dataset.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file (dataset metadata: {dataset or 'missing'})")
    return dataset, sorted(episodes, key=lambda e: int(e["index"]))


def _iter_decoded(path: str | Path, topics: Sequence[str]) -> Iterator[tuple[str, int, Any]]:
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _schema, channel, message, decoded in reader.iter_decoded_messages(topics=list(topics)):
            yield channel.topic, message.log_time, decoded


def read_episodes(path: str | Path, joints: bool = True) -> list[Episode]:
    """All episodes of a dataset file with their per-tick arrays (numpy)."""
    _, metas = read_metadata(path)
    topics = [TOPIC_OBS, TOPIC_ACT, TOPIC_EXEC] + ([TOPIC_JOINTS] if joints else [])
    starts = np.array([int(m["start_ns"]) for m in metas], dtype=np.int64)
    rows: list[dict[str, list[Any]]] = [{t: [] for t in topics} | {"ns": []} for _ in metas]
    names: list[tuple[str, ...]] = [() for _ in metas]
    for topic, ns, msg in _iter_decoded(path, topics):
        k = int(np.searchsorted(starts, ns, side="right")) - 1
        if k < 0 or ns > int(metas[k]["end_ns"]):
            raise ValueError(f"{path}: message on {topic} at {ns} ns lies outside every episode")
        if topic == TOPIC_JOINTS:
            names[k] = tuple(msg.name)
            rows[k][topic].append((np.asarray(msg.position, float), np.asarray(msg.velocity, float)))
        else:
            rows[k][topic].append(np.asarray(msg.data, dtype=np.float32))
            if topic == TOPIC_OBS:
                rows[k]["ns"].append(ns)
    out = []
    for m, r, jn in zip(metas, rows, names, strict=True):
        n = int(m["ticks"])
        if not (len(r[TOPIC_OBS]) == len(r[TOPIC_ACT]) == len(r[TOPIC_EXEC]) == n):
            raise ValueError(f"{path}: episode {m['index']} declares {n} ticks, found "
                             f"{len(r[TOPIC_OBS])}/{len(r[TOPIC_ACT])}/{len(r[TOPIC_EXEC])} obs/act/executed")
        js = r.get(TOPIC_JOINTS, [])
        out.append(Episode(
            robot=m["robot"], skill=m["skill"], seed=int(m["seed"]), noise=float(m["noise"]),
            success=m["success"] == "true", embodiment=m.get("embodiment", ""),
            obs=np.array(r[TOPIC_OBS], np.float32).reshape(n, -1), act=np.array(r[TOPIC_ACT], np.float32).reshape(n, -1),
            executed=np.array(r[TOPIC_EXEC], np.float32).reshape(n, -1),
            t=(np.array(r["ns"], np.int64) - int(m["start_ns"])) / 1e9,
            joint_names=jn, joint_position=np.array([p for p, _ in js]).reshape(len(js), len(jn)),
            joint_velocity=np.array([v for _, v in js]).reshape(len(js), len(jn))))
    return out


def load_arrays(paths: str | Path | Sequence[str | Path], only_success: bool = True,
                ) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated (obs, clean action) arrays of the (successful) episodes of one or more files."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    obs, act = [], []
    for p in paths:
        for ep in read_episodes(p, joints=False):
            if ep.success or not only_success:
                obs.append(ep.obs)
                act.append(ep.act)
    if not obs:
        return np.zeros((0, 14), np.float32), np.zeros((0, 4), np.float32)
    return np.concatenate(obs), np.concatenate(act)
