"""Thin helpers shared by the ROS nodes (imports rclpy; the cores never import this)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping

from robot_control.common.ros_env import apply_ros_env_defaults


def prepare_process() -> None:
    """Environment defaults and interpreter settings for a node process (before rclpy.init)."""
    apply_ros_env_defaults()
    # A 1 kHz control thread must get the GIL back quickly from the executor thread.
    sys.setswitchinterval(0.0005)


def sensor_qos(depth: int = 5):
    from rclpy.qos import QoSDurabilityPolicy, QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy

    return QoSProfile(depth=depth, reliability=QoSReliabilityPolicy.BEST_EFFORT,
                      history=QoSHistoryPolicy.KEEP_LAST, durability=QoSDurabilityPolicy.VOLATILE)


def command_qos(depth: int = 10):
    """Reliable, volatile: commands and trajectories must not be silently dropped."""
    from rclpy.qos import QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy

    return QoSProfile(depth=depth, reliability=QoSReliabilityPolicy.RELIABLE,
                      history=QoSHistoryPolicy.KEEP_LAST)


def latched_qos():
    from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy

    return QoSProfile(depth=1, reliability=QoSReliabilityPolicy.RELIABLE,
                      durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)


def to_time_msg(seconds: float):
    from builtin_interfaces.msg import Time

    sec = int(seconds // 1)
    return Time(sec=sec, nanosec=int(round((seconds - sec) * 1e9)) % 1_000_000_000)


def stamp_to_seconds(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class JointStateReader:
    """Serialized sensor_msgs/JointState (a raw subscription's bytes) -> JointStateData.

    Decoded in numpy (robot_control.common.cdr: ~4 us for the G1's 43 joints, against ~25 us
    for rclpy's deserializer and ~77 us measured for a typed take in the 1 kHz loop); bytes it
    does not recognise go through rclpy's deserializer (`fallbacks` counts them)."""

    def __init__(self) -> None:
        from robot_control.common.cdr import JointStateDecoder

        self.decoder = JointStateDecoder()
        self.fallbacks = 0

    def __call__(self, data: bytes):
        from robot_control.common.cdr import CdrError, JointStateData

        try:
            return self.decoder.decode(data)
        except CdrError:
            import numpy as np
            from rclpy.serialization import deserialize_message
            from sensor_msgs.msg import JointState

            msg = deserialize_message(data, JointState)
            self.fallbacks += 1
            return JointStateData(msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id,
                                  tuple(msg.name), np.asarray(msg.position, dtype=float),
                                  np.asarray(msg.velocity, dtype=float), np.asarray(msg.effort, dtype=float))


def read_imu_orientation(data: bytes) -> tuple[float, float, float, float]:
    """Orientation (x, y, z, w) of a serialized sensor_msgs/Imu: decoded directly
    (robot_control.common.cdr), or through rclpy's deserializer for bytes it does not recognise."""
    from robot_control.common.cdr import CdrError, decode_imu_orientation

    try:
        return decode_imu_orientation(data)[2]
    except CdrError:
        from rclpy.serialization import deserialize_message
        from sensor_msgs.msg import Imu

        o = deserialize_message(data, Imu).orientation
        return (o.x, o.y, o.z, o.w)


def diagnostic_status(name: str, hardware_id: str, level: str, message: str,
                      values: Mapping[str, object]):
    """Build a diagnostic_msgs/DiagnosticStatus; level is OK, WARN, ERROR or STALE."""
    from diagnostic_msgs.msg import DiagnosticStatus, KeyValue

    status = DiagnosticStatus()
    status.level = getattr(DiagnosticStatus, level)
    status.name = name
    status.hardware_id = hardware_id
    status.message = message
    status.values = [KeyValue(key=str(k), value=_fmt(v)) for k, v in values.items()]
    return status


def diagnostic_array(stamp, statuses: Iterable):
    from diagnostic_msgs.msg import DiagnosticArray

    msg = DiagnosticArray()
    msg.header.stamp = stamp
    msg.status = list(statuses)
    return msg


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class Throttle:
    """A log call that runs at most once per `period_s` and costs ~1 µs when suppressed.

    rclpy's `throttle_duration_sec` identifies the caller with `inspect` (source file lookups)
    on EVERY call before deciding to suppress: measured 0.1-4 ms per suppressed call here. A
    stream of bad input at 500 Hz then starves a node's executor. Check the clock first:

        self.warn_rejected = R.Throttle(self.get_logger().warning, 1.0)
        self.warn_rejected(f"rejected trajectory: {reason}")
    """

    def __init__(self, log: Callable[[str], object], period_s: float) -> None:
        self.log = log
        self.period_s = period_s
        self.suppressed = 0
        self._next = 0.0

    def __call__(self, message: str) -> bool:
        now = time.monotonic()
        if now < self._next:
            self.suppressed += 1
            return False
        if self.suppressed:
            message = f"{message} ({self.suppressed} similar suppressed)"
        self.suppressed = 0
        self._next = now + self.period_s
        self.log(message)
        return True


EXECUTOR_ENV = "ROBOT_CONTROL_EXECUTOR"
EXECUTORS = ("events", "single_threaded")


def executor_kind(value: str | None = None) -> str:
    """The executor kind the nodes use: `value`, else $ROBOT_CONTROL_EXECUTOR, else "events"."""
    kind = (value if value is not None else os.environ.get(EXECUTOR_ENV, "")).strip() or "events"
    if kind not in EXECUTORS:
        raise ValueError(f"{EXECUTOR_ENV}={kind!r}: expected one of {', '.join(EXECUTORS)}")
    return kind


def make_executor(context, kind: str | None = None):
    """An executor for a node process: rclpy's EventsExecutor by default, SingleThreadedExecutor
    with ROBOT_CONTROL_EXECUTOR=single_threaded. The events executor dispatches each message
    without rebuilding a wait set of every entity (and its QoS event handlers) in Python: on the
    G1 body + cerebellum pair at 1 kHz (2 cores) it took the body from ~321 to ~608 cycles/s and
    the cerebellum from 656 Hz / 34 % missed periods to 873 Hz / 12.7 %, and the live G1 skill
    chain (bench/skills_live.py) from 14/23 (2 falls; the sim at 0.38x real time) to 48/50.
    Spin it only with finite timeouts (spin() below does): its untimed spin ignores signals in
    this build."""
    if executor_kind(kind) == "events":
        from rclpy.experimental import EventsExecutor

        return EventsExecutor(context=context)
    from rclpy.executors import SingleThreadedExecutor

    return SingleThreadedExecutor(context=context)


def spin(node, *, executor=None, until: Callable[[], bool] | None = None, timeout_s: float = 0.1,
         loop_priority: int = 0) -> None:
    """Spin with finite timeouts (never a bare spin(): it can ignore signals) until shutdown.

    `loop_priority` > 1: the node runs a SCHED_FIFO loop thread at that priority, so this
    (executor) thread asks for one below: holding the GIL in callbacks, a normal-priority
    executor thread preempted by other processes would keep the real-time loop waiting."""
    from rclpy.executors import ExternalShutdownException

    from robot_control.common.periodic import try_realtime_priority

    if loop_priority > 1:
        try_realtime_priority(loop_priority - 1)

    context = node.context
    own = executor is None
    if own:
        executor = make_executor(context)
        executor.add_node(node)
    try:
        while context.ok() and (until is None or not until()):
            executor.spin_once(timeout_sec=timeout_s)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if own:
            executor.remove_node(node)
            executor.shutdown(timeout_sec=1.0)


def topic_remap_args(argv: Iterable[str], node_name: str) -> list[str]:
    """The topic remappings among a process's ROS arguments, for a helper node of `node_name`:
    `-r from:=to` rules and `node_name:from:=to` ones (prefix dropped); node name / namespace
    rules (`__node:=`, `__ns:=`) and rules for other nodes are left out."""
    rules: list[str] = []
    in_ros = False
    it = iter(argv)
    for arg in it:
        if arg == "--ros-args":
            in_ros = True
        elif arg == "--":
            in_ros = False
        elif in_ros and arg in ("-r", "--remap"):
            rule = next(it, "")
            src = rule.split(":=", 1)[0]
            if ":" in src and not src.startswith("/"):  # node-specific "node:from:=to"
                target, rule = rule.split(":", 1)
                if target != node_name:
                    continue
            if ":=" in rule and not rule.startswith("__"):
                rules.append(rule)
    return ["--ros-args", *(x for rule in rules for x in ("-r", rule))] if rules else []


class ControlThreadInputs:
    """Subscriptions a control thread takes itself, at the start of each cycle.

    They live on a second node of the process ("<owner>_io") that no executor spins, so the
    executor thread never runs Python for them: at 1 kHz it would otherwise hold the GIL for
    every message just when the control thread wakes. The node takes the process's topic
    remaps (not its `__node:=`, which would give it the owner's name). Handlers get the
    message and its arrival time on CLOCK_MONOTONIC (ns), from the middleware's receive
    timestamp when it has one.
    """

    def __init__(self, owner, argv: Iterable[str]) -> None:
        from rclpy.node import Node

        self.node = Node(f"{owner.get_name()}_io", namespace=owner.get_namespace(), context=owner.context,
                         use_global_arguments=False, cli_args=topic_remap_args(argv, owner.get_name()),
                         start_parameter_services=False, enable_rosout=False)
        self._subs: dict[str, list[tuple[object, Callable[[object, int], None]]]] = {}

    def add(self, msg_type, topic: str, qos, handler: Callable[[object, int], None], *, raw: bool = False,
            group: str = "inputs"):
        """`raw`: the handler gets the serialized message (bytes). `group`: which take() call
        hands it over (e.g. states before the command is computed, trajectories after it)."""
        sub = self.node.create_subscription(msg_type, topic, lambda _msg: None, qos, raw=raw)
        self._subs.setdefault(group, []).append((sub, handler))
        return sub

    def take(self, group: str = "inputs") -> int:
        """Hand every waiting message of `group` to its handler; returns how many (0 once the
        node is gone)."""
        wall_minus_mono = time.time_ns() - time.monotonic_ns()
        count = 0
        for sub, handler in self._subs.get(group, ()):
            while True:
                try:
                    with sub.handle:
                        taken = sub.handle.take_message(sub.msg_type, sub.raw)
                except Exception:  # noqa: BLE001 - InvalidHandle / context gone during shutdown
                    return count
                if taken is None:
                    break
                msg, info = taken
                received = int(info.get("received_timestamp") or 0)
                handler(msg, received - wall_minus_mono if received > 0 else time.monotonic_ns())
                count += 1
        return count

    def destroy(self) -> None:
        self._subs = {}
        self.node.destroy_node()
