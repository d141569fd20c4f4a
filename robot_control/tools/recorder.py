"""Record ROS 2 topics to MCAP (opens in Foxglove; read back with `mcap` / `mcap-ros2-support`).

    python -m robot_control.tools.recorder --out runs/demo/recording.mcap \
        /joint_states /imu/data /joint_commands /cerebellum/trajectory /diagnostics

Messages are stored exactly as they travelled: the subscription is `raw=True`, so the
serialized CDR bytes go to the file without a decode/encode round trip (cheap enough to record
1 kHz topics from Python). Schemas are the full `ros2msg` definitions (the .msg text of the
type and of every type it uses, in the concatenated format Foxglove and rosbag2 use), read
from the installed message packages (`<prefix>/share/<pkg>/msg/<Type>.msg` for each prefix of
AMENT_PREFIX_PATH and the Python environment), so no ROS distro is needed.

Topics given without a type are resolved from the graph (waits up to --discovery-timeout).
All subscriptions are best effort with a deep queue: they match reliable and best-effort
publishers alike and never back-pressure the robot.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import re
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

PRIMITIVES = {"bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32",
              "uint32", "int64", "uint64", "string", "wstring", "time", "duration"}
SEPARATOR = "=" * 80


def _prefixes() -> list[Path]:
    roots = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    roots += [Path(sys.prefix), Path(sys.base_prefix)]
    seen: list[Path] = []
    for r in roots:
        if r not in seen:
            seen.append(r)
    return seen


@functools.cache
def msg_text(type_name: str) -> str:
    """The .msg text of 'pkg/msg/Type' (or 'pkg/Type')."""
    pkg, _, name = type_name.replace("/msg/", "/").partition("/")
    for root in _prefixes():
        path = root / "share" / pkg / "msg" / f"{name}.msg"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise FileNotFoundError(f"message definition {pkg}/msg/{name}.msg not found under "
                            f"{', '.join(str(p) for p in _prefixes())}")


def _field_types(text: str, pkg: str) -> list[str]:
    """Complex (non-primitive) field types used by a .msg text, as 'pkg/Type'."""
    out = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) < 2 or "=" in parts[1]:
            continue  # constants are primitives
        base = re.sub(r"\[.*?\]$", "", parts[0])
        base = re.sub(r"<=\d+$", "", base)
        if base in PRIMITIVES:
            continue
        out.append(base.replace("/msg/", "/") if "/" in base else f"{pkg}/{base}")
    return out


@functools.cache
def full_definition(type_name: str) -> str:
    """The concatenated ros2msg definition (type + all dependencies, depth first, once each)."""
    pkg = type_name.split("/", 1)[0]
    main = msg_text(type_name)
    parts = [main.rstrip("\n")]
    seen: set[str] = set()
    stack = list(reversed(_field_types(main, pkg)))
    while stack:
        dep = stack.pop()
        if dep in seen:
            continue
        seen.add(dep)
        text = msg_text(dep)
        parts.append(f"{SEPARATOR}\nMSG: {dep}\n{text.rstrip(chr(10))}")
        stack.extend(reversed(_field_types(text, dep.split("/", 1)[0])))
    return "\n".join(parts) + "\n"


def _import_type(type_name: str) -> Any:
    pkg, _, name = type_name.replace("/msg/", "/").partition("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), name)


class McapRecorder:
    """Writes raw CDR messages of registered topics into one MCAP file (thread-safe)."""

    def __init__(self, path: str | Path) -> None:
        from mcap.writer import CompressionType, Writer

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._writer = Writer(self._file, compression=CompressionType.ZSTD)
        self._writer.start(profile="ros2", library="robot_control recorder")
        self._schemas: dict[str, int] = {}
        self.channels: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._seq = 0

    def add_topic(self, topic: str, type_name: str) -> int:
        type_name = type_name if "/msg/" in type_name else type_name.replace("/", "/msg/", 1)
        with self._lock:
            if type_name not in self._schemas:
                self._schemas[type_name] = self._writer.register_schema(
                    name=type_name, encoding="ros2msg", data=full_definition(type_name).encode())
            cid = self._writer.register_channel(topic=topic, message_encoding="cdr",
                                                schema_id=self._schemas[type_name])
            self.channels[topic] = cid
            self.counts[topic] = 0
            return cid

    def write(self, topic: str, data: bytes, log_time_ns: int | None = None) -> None:
        t = time.time_ns() if log_time_ns is None else log_time_ns
        with self._lock:
            self._seq += 1
            self._writer.add_message(channel_id=self.channels[topic], log_time=t, data=data,
                                     publish_time=t, sequence=self._seq)
            self.counts[topic] += 1

    def add_metadata(self, name: str, data: dict[str, str]) -> None:
        with self._lock:
            self._writer.add_metadata(name, {k: str(v) for k, v in data.items()})

    def close(self) -> None:
        with self._lock:
            self._writer.finish()
            self._file.close()


def read_messages(path: str | Path, topics: Sequence[str] | None = None) -> Iterator[tuple[str, int, Any]]:
    """(topic, log_time_ns, decoded ROS message) from an MCAP file written by this recorder."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _schema, channel, message, decoded in reader.iter_decoded_messages(topics=topics):
            yield channel.topic, message.log_time, decoded


def run(out: Path, topics: Sequence[str], duration: float | None, discovery_timeout: float) -> int:
    from robot_control.common.ros import prepare_process

    prepare_process()
    import rclpy
    from rclpy.experimental import EventsExecutor
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    rclpy.init()
    node = rclpy.create_node("recorder")
    executor = EventsExecutor()
    executor.add_node(node)
    wanted: dict[str, str | None] = {}
    for t in topics:
        name, _, type_name = t.partition(":")
        wanted[name] = type_name or None
    deadline = time.monotonic() + discovery_timeout
    while any(v is None for v in wanted.values()) and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
        for name, types in node.get_topic_names_and_types():
            if name in wanted and wanted[name] is None and types:
                wanted[name] = types[0]
    missing = [n for n, v in wanted.items() if v is None]
    if missing:
        node.get_logger().warning(f"not recording {', '.join(missing)}: no publisher seen within "
                                  f"{discovery_timeout:.1f} s (give TOPIC:pkg/msg/Type to record anyway)")
    recorder = McapRecorder(out)
    qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.BEST_EFFORT, history=HistoryPolicy.KEEP_LAST)
    subs = []
    for name, type_name in wanted.items():
        if type_name is None:
            continue
        recorder.add_topic(name, type_name)
        subs.append(node.create_subscription(_import_type(type_name), name,
                                             functools.partial(lambda topic, data: recorder.write(topic, data), name),
                                             qos, raw=True))
    node.get_logger().info(f"recording {len(subs)} topics to {out}")
    end = None if duration is None else time.monotonic() + duration
    try:
        while rclpy.ok() and (end is None or time.monotonic() < end):
            executor.spin_once(timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        recorder.close()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    print(f"recorded {sum(recorder.counts.values())} messages to {out}: "
          + ", ".join(f"{t} {n}" for t, n in recorder.counts.items()), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Also the `recorder_node` console script: a trailing `--ros-args ...` (as stacks and
    launch files pass it) is accepted and ignored apart from the node name."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--ros-args" in argv:
        argv = argv[:argv.index("--ros-args")]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("topics", nargs="+", help="TOPIC or TOPIC:pkg/msg/Type")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--discovery-timeout", type=float, default=5.0)
    a = p.parse_args(argv)
    return run(a.out, a.topics, a.duration, a.discovery_timeout)


if __name__ == "__main__":
    sys.exit(main())
