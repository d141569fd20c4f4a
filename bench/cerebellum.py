"""Benchmark of the 1 kHz cerebellum against the MuJoCo G1 body, with a C loop as baseline.

    .venv/bin/python bench/cerebellum.py [--duration 30] [--out result.json]

One run does:

1. compiles bench/c/loop_baseline.c with the system gcc (-O2) into a temp dir; the C loop
   (absolute-deadline clock_nanosleep, same timer slack as PeriodicLoop) runs *concurrently*
   with the measurement window, so it sees the same machine load as the stack;
2. runs the sim_g1 stack (body + cerebellum as separate processes, under the Supervisor)
   with a `stats_file` parameter added to the cerebellum, warms up, then measures for
   `--duration` seconds: the cerebellum's own loop/latency statistics (its stats file and
   /diagnostics), a bench-side rclpy node's receive-side view of /joint_commands and
   /joint_states, CPU % per process from /proc/<pid>/stat, a 1 Hz sinusoid tracked on one
   arm joint (streamed JointTrajectory setpoints) and stand-and-hold (IMU tilt, leg drift, pelvis height from /base_pose);
3. prints one JSON object (and writes it to --out if given).

`--realtime-priority N` runs the cerebellum's loop and the C loop under SCHED_FIFO at N (the
body's loop at N-1; needs root or CAP_SYS_NICE; "realtime" in the JSON says whether it was
granted). `--executor-inputs` is the A/B switch for how the cerebellum gets joint states:
executor callbacks instead of its control thread taking them (and the body's /joint_commands
likewise). With the control thread taking them the cerebellum also ticks 30 us before states
usually arrive and waits for the state (phase_offset_us -30, state_wait_us 250; override with
--phase-offset-us / --state-wait-us); with executor inputs the params file's phase applies.

This is a benchmark, not a test: nothing here asserts on timing. The exit code is 0 when
something was measured, 1 otherwise. The machine may be shared: the JSON records nproc and
the load average so the numbers can be read in context.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable as `python bench/cerebellum.py` from a checkout
    sys.path.insert(0, str(REPO))

from robot_control.common.ros_env import apply_ros_env_defaults  # noqa: E402

BASELINE_SRC = Path(__file__).resolve().parent / "c" / "loop_baseline.c"

#: What "good" means for this benchmark; each is reported as a met/not-met boolean.
TARGETS = {
    "rate_hz_min": 995.0,             # commands published per second during the window
    "missed_pct_max": 0.1,            # cerebellum loop periods skipped
    "p99_jitter_ratio_vs_c_max": 3.0,  # cerebellum p99 wake lateness / C loop p99
    "latency_p50_us_max": 300.0,      # answered-state stamp -> command publish
    "latency_p99_us_max": 1000.0,     # the same, one period
    "tracking_rms_rad_max": 0.02,
    "stand_tilt_max_rad": 0.1,
    "stand_leg_drift_max_rad": 0.05,
    "stand_pelvis_drift_max_m": 0.02,  # /base_pose z within 2 cm of its value at the window start
}


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _pct(values: np.ndarray, scale: float = 1.0) -> dict[str, float]:
    if values.size == 0:
        return {"n": 0}
    p50, p99 = np.percentile(values, [50, 99])
    return {"n": int(values.size), "p50": float(p50 * scale), "p99": float(p99 * scale),
            "max": float(values.max() * scale), "mean": float(values.mean() * scale)}


def _round(obj: Any, digits: int = 3) -> Any:
    if isinstance(obj, float):
        return round(obj, digits) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _round(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_round(v, digits) for v in obj]
    return obj


def _proc_cpu_ticks(pid: int) -> int | None:
    """utime + stime of a process (all its threads), in clock ticks; None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # fields from #3 (state) on
    return int(fields[11]) + int(fields[12])       # #14 utime, #15 stime


def _machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    total = sum(parts[:8])
    return total - idle, total


class CpuMeter:
    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start: dict[str, int | None] = {}
        self.t0 = 0.0
        self.machine0 = (0, 0)

    def begin(self) -> None:
        self.t0 = time.monotonic()
        self.start = {name: _proc_cpu_ticks(pid) for name, pid in self.pids.items()}
        self.machine0 = _machine_busy()

    def end(self) -> dict[str, Any]:
        wall = max(time.monotonic() - self.t0, 1e-9)
        hz = os.sysconf("SC_CLK_TCK")
        out: dict[str, Any] = {}
        for name, pid in self.pids.items():
            a, b = self.start.get(name), _proc_cpu_ticks(pid)
            out[name] = None if a is None or b is None else 100.0 * (b - a) / hz / wall
        busy1, total1 = _machine_busy()
        dt = total1 - self.machine0[1]
        out["machine_busy_pct"] = 100.0 * (busy1 - self.machine0[0]) / dt if dt > 0 else None
        out["window_s"] = wall
        return out


def compile_baseline(tmp: Path) -> Path:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        raise RuntimeError("no gcc/cc on PATH")
    exe = tmp / "loop_baseline"
    subprocess.run([gcc, "-O2", "-o", str(exe), str(BASELINE_SRC)], check=True, timeout=120,
                   capture_output=True, text=True)
    return exe


def tilt_rad(x: float, y: float, z: float, w: float) -> float:
    """Angle between the body z axis and world z for a unit quaternion (x, y, z, w)."""
    n = x * x + y * y + z * z + w * w
    if n <= 0:
        return float("nan")
    cos_tilt = 1.0 - 2.0 * (x * x + y * y) / n
    return math.acos(max(-1.0, min(1.0, cos_tilt)))


# --------------------------------------------------------------------------------------
# bench-side ROS node: receive-side view of the stack
# --------------------------------------------------------------------------------------
class Recorder:
    """Subscriptions that only copy a few numbers into preallocated arrays (cheap callbacks)."""

    def __init__(self, node, capacity: int, track_joint: str, leg_joints: list[str]) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import PoseStamped
        from sensor_msgs.msg import Imu, JointState

        from robot_control.common import ros as R

        self.node = node
        self.cap = capacity
        self.track_joint = track_joint
        self.leg_joints = leg_joints
        self.recording = False
        # /joint_states: receive time, stamp (ns, system clock), tracked joint, legs
        self.js_rx = np.zeros(capacity, dtype=np.int64)
        self.js_stamp = np.zeros(capacity, dtype=np.int64)
        self.js_track = np.zeros(capacity)
        self.js_legs = np.zeros((capacity, len(leg_joints)))
        self.js_n = 0
        self.js_total = 0
        # /joint_commands
        self.cmd_rx = np.zeros(capacity, dtype=np.int64)
        self.cmd_stamp = np.zeros(capacity, dtype=np.int64)
        self.cmd_track = np.zeros(capacity)
        self.cmd_n = 0
        self.cmd_total = 0
        # /imu/data tilt
        self.imu_tilt = np.zeros(capacity)
        self.imu_n = 0
        self.imu_total = 0
        self.imu_tilt_max_run = 0.0
        self.imu_first_tilt: float | None = None
        # /base_pose (the sim body's pelvis) height during the window
        self.base_z: list[float] = []
        self._names_js: list[str] = []
        self._idx_js: tuple[int, list[int]] = (-1, [])
        self._names_cmd: list[str] = []
        self._idx_cmd = -1
        # latest /diagnostics values per status name
        self.diag: dict[str, tuple[float, dict[str, str]]] = {}
        self.last_js_position: dict[str, float] = {}

        qos = R.sensor_qos(depth=100)
        node.create_subscription(JointState, "/joint_states", self._on_js, qos)
        node.create_subscription(JointState, "/joint_commands", self._on_cmd, qos)
        node.create_subscription(Imu, "/imu/data", self._on_imu, qos)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)
        node.create_subscription(PoseStamped, "/base_pose", self._on_base, R.sensor_qos(depth=10))

    def _on_js(self, msg) -> None:
        rx = time.time_ns()
        self.js_total += 1
        names = msg.name
        if names != self._names_js:
            self._names_js = list(names)
            lookup = {n: i for i, n in enumerate(names)}
            self._idx_js = (lookup.get(self.track_joint, -1), [lookup.get(n, -1) for n in self.leg_joints])
        track_i, leg_i = self._idx_js
        pos = msg.position
        if self.js_total == 1 or not self.recording:
            self.last_js_position = dict(zip(names, pos, strict=False))
        if not self.recording or self.js_n >= self.cap:
            return
        k = self.js_n
        self.js_rx[k] = rx
        self.js_stamp[k] = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        if track_i >= 0 and track_i < len(pos):
            self.js_track[k] = pos[track_i]
        self.js_legs[k] = [pos[i] if 0 <= i < len(pos) else math.nan for i in leg_i]
        self.js_n = k + 1

    def _on_cmd(self, msg) -> None:
        rx = time.time_ns()
        self.cmd_total += 1
        if not self.recording or self.cmd_n >= self.cap:
            return
        if msg.name != self._names_cmd:
            self._names_cmd = list(msg.name)
            self._idx_cmd = self._names_cmd.index(self.track_joint) if self.track_joint in self._names_cmd else -1
        k = self.cmd_n
        self.cmd_rx[k] = rx
        self.cmd_stamp[k] = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        if 0 <= self._idx_cmd < len(msg.position):
            self.cmd_track[k] = msg.position[self._idx_cmd]
        self.cmd_n = k + 1

    def _on_imu(self, msg) -> None:
        self.imu_total += 1
        o = msg.orientation
        t = tilt_rad(o.x, o.y, o.z, o.w)
        if self.imu_first_tilt is None:
            self.imu_first_tilt = t
        if t > self.imu_tilt_max_run:
            self.imu_tilt_max_run = t
        if self.recording and self.imu_n < self.cap:
            self.imu_tilt[self.imu_n] = t
            self.imu_n += 1

    def _on_base(self, msg) -> None:
        if self.recording and len(self.base_z) < self.cap:
            self.base_z.append(msg.pose.position.z)

    def _on_diag(self, msg) -> None:
        now = time.monotonic()
        for status in msg.status:
            self.diag[status.name] = (now, {kv.key: kv.value for kv in status.values})

    def diag_snapshot(self, suffix: str) -> tuple[float, dict[str, str]] | None:
        for name, value in self.diag.items():
            if name.endswith(suffix):
                return value
        return None


# --------------------------------------------------------------------------------------
# sinusoid tracking: short streamed trajectories
# --------------------------------------------------------------------------------------
class SineStreamer:
    """Streams 3-point JointTrajectory setpoints for q(t) = c + A sin(2π f (t - t0)) at `rate_hz`."""

    def __init__(self, node, joint: str, center: float, amplitude: float, freq_hz: float,
                 duration_s: float, rate_hz: float = 50.0, points: int = 3) -> None:
        from trajectory_msgs.msg import JointTrajectory

        from robot_control.common import ros as R

        self.pub = node.create_publisher(JointTrajectory, "/cerebellum/trajectory", R.command_qos())
        self.joint, self.center, self.amplitude, self.freq = joint, center, amplitude, freq_hz
        self.duration = duration_s
        self.period = 1.0 / rate_hz
        self.points = points
        self.t0_mono = 0.0
        self.sent = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def ref(self, t_mono: np.ndarray | float) -> np.ndarray | float:
        s = np.clip(np.asarray(t_mono) - self.t0_mono, 0.0, self.duration)
        return self.center + self.amplitude * np.sin(2 * np.pi * self.freq * s)

    def ref_vel(self, t_mono: float) -> float:
        s = t_mono - self.t0_mono
        if s < 0 or s > self.duration:
            return 0.0
        return float(self.amplitude * 2 * np.pi * self.freq * np.cos(2 * np.pi * self.freq * s))

    def start(self) -> None:
        self.t0_mono = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sine")
        self._thread.start()

    def join(self, timeout_s: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def stop(self) -> None:
        self._stop.set()
        self.join(2.0)

    def _run(self) -> None:
        from builtin_interfaces.msg import Duration
        from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

        deadline = self.t0_mono
        end = self.t0_mono + self.duration
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= end:
                break
            msg = JointTrajectory()
            msg.joint_names = [self.joint]
            for k in range(1, self.points + 1):
                dt = k * self.period
                pt = JointTrajectoryPoint()
                pt.positions = [float(self.ref(now + dt))]
                pt.velocities = [self.ref_vel(now + dt)]
                pt.time_from_start = Duration(sec=int(dt), nanosec=int(round((dt % 1.0) * 1e9)))
                msg.points.append(pt)
            self.pub.publish(msg)
            self.sent += 1
            deadline += self.period
            delay = deadline - time.monotonic()
            if delay > 0:
                self._stop.wait(delay)


# --------------------------------------------------------------------------------------
# analysis
# --------------------------------------------------------------------------------------
def analyse_receive_side(rec: Recorder, window_s: float) -> dict[str, Any]:
    js_stamp, js_rx = rec.js_stamp[: rec.js_n], rec.js_rx[: rec.js_n]
    cmd_stamp, cmd_rx = rec.cmd_stamp[: rec.cmd_n], rec.cmd_rx[: rec.cmd_n]
    out: dict[str, Any] = {
        "window_s": window_s,
        "joint_states_received": int(js_stamp.size),
        "joint_commands_received": int(cmd_stamp.size),
        "joint_states_rx_rate_hz": js_stamp.size / window_s if window_s > 0 else None,
        "joint_commands_rx_rate_hz": cmd_stamp.size / window_s if window_s > 0 else None,
    }
    if cmd_stamp.size > 1:
        span = (cmd_stamp[-1] - cmd_stamp[0]) / 1e9
        out["joint_commands_stamp_span_rate_hz"] = (cmd_stamp.size - 1) / span if span > 0 else None
        out["joint_commands_interarrival_us"] = _pct(np.diff(cmd_rx) / 1e3)
        out["joint_commands_stamp_interval_us"] = _pct(np.diff(cmd_stamp) / 1e3)
        out["joint_commands_transport_us"] = _pct((cmd_rx - cmd_stamp) / 1e3)
        # gaps the bench saw (> 1.5 periods between consecutive command stamps)
        out["joint_commands_stamp_gaps_gt_1_5ms"] = int(np.sum(np.diff(cmd_stamp) > 1_500_000))
    if js_stamp.size > 1:
        out["joint_states_interarrival_us"] = _pct(np.diff(js_rx) / 1e3)
        out["joint_states_stamp_interval_us"] = _pct(np.diff(js_stamp) / 1e3)
        out["joint_states_transport_us"] = _pct((js_rx - js_stamp) / 1e3)
    if js_stamp.size and cmd_stamp.size:
        # Each command vs the newest state published before it (by stamps). An upper bound on
        # the node's own state->command latency when the bench dropped states, and it is not
        # necessarily the state the cerebellum actually answered.
        order = np.argsort(js_stamp)
        js_sorted = js_stamp[order]
        i = np.searchsorted(js_sorted, cmd_stamp, side="right") - 1
        ok = i >= 0
        lat = (cmd_stamp[ok] - js_sorted[i[ok]]) / 1e3
        out["state_to_command_by_stamps_us"] = _pct(lat)
    return out


def analyse_tracking(rec: Recorder, streamer: SineStreamer, wall_minus_mono_ns: int) -> dict[str, Any]:
    stamps = rec.js_stamp[: rec.js_n]
    pos = rec.js_track[: rec.js_n]
    t = (stamps - wall_minus_mono_ns) / 1e9  # state stamps on the monotonic clock
    sel = (t >= streamer.t0_mono) & (t <= streamer.t0_mono + streamer.duration)
    out: dict[str, Any] = {
        "joint": streamer.joint, "amplitude_rad": streamer.amplitude, "freq_hz": streamer.freq,
        "center_rad": streamer.center, "duration_s": streamer.duration, "trajectories_sent": streamer.sent,
        "samples": int(sel.sum()),
    }
    if sel.sum() < 10:
        out["rms_error_rad"] = None
        return out
    ts, ps = t[sel], pos[sel]
    err = ps - streamer.ref(ts)
    out["rms_error_rad"] = float(np.sqrt(np.mean(err ** 2)))
    out["max_abs_error_rad"] = float(np.max(np.abs(err)))
    late = ts >= streamer.t0_mono + 1.0
    if late.sum() > 10:
        out["rms_error_after_1s_rad"] = float(np.sqrt(np.mean(err[late] ** 2)))
    # How much of the error is pure delay: the lag (0..500 ms) that minimises the RMS.
    lags = np.arange(0, 501) * 1e-3
    rms = [float(np.sqrt(np.mean((ps - streamer.ref(ts - lag)) ** 2))) for lag in lags]
    best = int(np.argmin(rms))
    out["best_lag_ms"] = float(lags[best] * 1e3)
    out["rms_error_lag_compensated_rad"] = rms[best]
    # Commanded vs reference (what the cerebellum asked for), same window.
    cs = (rec.cmd_stamp[: rec.cmd_n] - wall_minus_mono_ns) / 1e9
    csel = (cs >= streamer.t0_mono) & (cs <= streamer.t0_mono + streamer.duration)
    if csel.sum() > 10:
        cerr = rec.cmd_track[: rec.cmd_n][csel] - streamer.ref(cs[csel])
        out["command_rms_error_rad"] = float(np.sqrt(np.mean(cerr ** 2)))
    return out


def analyse_stand(rec: Recorder, leg_joints: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "imu_messages": rec.imu_total,
        "imu_tilt_start_rad": rec.imu_first_tilt,
        "imu_tilt_max_run_rad": rec.imu_tilt_max_run,
    }
    tilt = rec.imu_tilt[: rec.imu_n]
    if tilt.size:
        out["imu_tilt_max_window_rad"] = float(tilt.max())
        out["imu_tilt_mean_window_rad"] = float(tilt.mean())
    legs = rec.js_legs[: rec.js_n]
    if legs.shape[0] >= 200:
        ref = np.nanmean(legs[:100], axis=0)
        dev = np.abs(legs - ref)
        final = np.abs(np.nanmean(legs[-100:], axis=0) - ref)
        worst = int(np.nanargmax(np.nanmax(dev, axis=0)))
        out["leg_drift_max_rad"] = float(np.nanmax(dev))
        out["leg_drift_max_joint"] = leg_joints[worst]
        out["leg_drift_final_rad"] = float(np.nanmax(final))
    if rec.base_z:
        z = np.asarray(rec.base_z)
        out["pelvis_z_start_m"] = float(z[0])
        out["pelvis_drift_max_m"] = float(np.max(np.abs(z - z[0])))
        out["base_pose_messages"] = int(z.size)
    else:
        out["note"] = "no /base_pose during the window: the pelvis height was not judged"
    return out


def cerebellum_window_from_diag(start, end) -> dict[str, Any]:
    """Publish rate and missed periods between two /diagnostics snapshots of the cerebellum."""
    if start is None or end is None or end[0] <= start[0]:
        return {}
    (t0, a), (t1, b) = start, end
    try:
        published = float(b["commands_published"]) - float(a["commands_published"])
        missed = float(b["missed_periods"]) - float(a["missed_periods"])
    except (KeyError, ValueError):
        return {}
    dt = t1 - t0
    return {"span_s": dt, "commands_published_rate_hz": published / dt,
            "missed_periods": missed,
            "missed_pct": 100.0 * missed / (published + missed) if published + missed > 0 else 0.0,
            "mode_at_end": b.get("mode"), "active_guard_at_end": b.get("active_guard")}


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    os.environ["ROS_DOMAIN_ID"] = str(args.domain_id)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    apply_ros_env_defaults()

    from robot_control.body.robot_description import load_robot
    from robot_control.supervisor.stack import load_stack
    from robot_control.testing import RosSession, RunningStack, wait_for

    result: dict[str, Any] = {
        "machine": {"nproc": os.cpu_count(), "load_avg_start": list(os.getloadavg())},
        "config": {"duration_s": args.duration, "warmup_s": args.warmup, "stack": args.stack,
                   "realtime_priority": args.realtime_priority,
                   "inputs": "executor callbacks" if args.executor_inputs else "taken by the control thread",
                   "domain_id": args.domain_id},
        "errors": [],
    }
    robot = load_robot("g1")
    leg_joints = list(robot.groups.get("legs", ()))
    stand = robot.postures.get("stand", {})

    tmp = Path(tempfile.mkdtemp(prefix="rc-bench-"))
    stats_path = tmp / "cerebellum_stats.json"
    measured = False
    baseline_proc: subprocess.Popen | None = None
    exe: Path | None = None
    try:
        exe = compile_baseline(tmp)
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        result["errors"].append(f"baseline compile failed: {exc}")

    stack = load_stack(args.stack)
    rt = int(args.realtime_priority)
    extra: dict[str, dict[str, Any]] = {"cerebellum": {"stats_file": str(stats_path)}}
    # inputs taken by the loops (the setting for real-time use), or the A/B baseline: executor
    # callbacks in both nodes (the nodes' default)
    extra["cerebellum"]["inputs_on_control_thread"] = not args.executor_inputs
    extra["body"] = {"commands_on_control_thread": not args.executor_inputs}
    # loop-taken inputs tick just before the state and wait for it (the real-time setting);
    # executor inputs keep the params file's phase (a margin after the usual arrival)
    if not args.executor_inputs:
        extra["cerebellum"].update(phase_offset_us=-30.0, state_wait_us=250.0)
    for flag in ("phase_offset_us", "state_wait_us"):
        if getattr(args, flag) is not None:
            extra["cerebellum"][flag] = float(getattr(args, flag))
        result["config"][flag] = extra["cerebellum"].get(flag, "params file")
    if rt > 0:  # SCHED_FIFO: the cerebellum's loop at rt, the body's (its state source) one below
        extra["cerebellum"]["realtime_priority"] = rt
        extra["body"]["realtime_priority"] = max(1, rt - 1)
    nodes = tuple(dataclasses.replace(n, parameters={**n.parameters, **extra.get(n.name, {})}) for n in stack.nodes)
    stack = dataclasses.replace(stack, nodes=nodes)

    window_s = float(args.duration)
    capacity = int((window_s + 5) * 1000 * 1.5)
    session = RosSession(args.domain_id, node_name="cerebellum_bench", executor="events")  # lighter observer
    rec = Recorder(session.node, capacity, args.joint, leg_joints)
    center = float(stand.get(args.joint, 0.0))
    track_s = min(args.track_duration, window_s)
    streamer = SineStreamer(session.node, args.joint, center, args.amplitude, args.freq, track_s)
    runner = RunningStack(stack, args.domain_id)
    wall_minus_mono_ns = time.time_ns() - time.monotonic_ns()
    cpu: CpuMeter | None = None
    try:
        runner.start()
        wait_for(lambda: (rec.js_total > 0 and rec.cmd_total > 0) or not runner.alive, 90.0,
                 what="/joint_states and /joint_commands from the stack")
        if not runner.alive:
            raise RuntimeError("the stack stopped during start-up")
        if rec.js_total and stand.get(args.joint) is None:
            streamer.center = float(rec.last_js_position.get(args.joint, 0.0))
        result["start_position"] = {"tracked_joint_rad": rec.last_js_position.get(args.joint)}
        time.sleep(args.warmup)

        pids = runner.supervisor.pids()
        pids["bench"] = os.getpid()
        cpu = CpuMeter(pids)
        diag_start = rec.diag_snapshot("cerebellum: controller")
        body_diag_start = rec.diag_snapshot(": body")
        cpu.begin()
        rec.recording = True
        t_window = time.monotonic()
        if exe is not None:
            baseline_proc = subprocess.Popen([str(exe), f"{window_s:g}", "1000", str(max(0, rt))],
                                             stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True)
        track_at = t_window + max(0.0, (window_s - track_s) / 2)
        while time.monotonic() < track_at and runner.alive:
            time.sleep(0.05)
        streamer.start()
        end = t_window + window_s
        while time.monotonic() < end and runner.alive:
            time.sleep(0.05)
        rec.recording = False
        window_actual = time.monotonic() - t_window
        cpu_res = cpu.end()
        streamer.stop()
        # /diagnostics is 1 Hz: wait for one more report so the window is covered.
        if runner.alive:
            try:
                wait_for(lambda: (s := rec.diag_snapshot("cerebellum: controller")) is not None
                         and s[0] > end, 3.0, what="cerebellum diagnostics")
            except TimeoutError:
                result["errors"].append("no cerebellum /diagnostics after the window")
        diag_end = rec.diag_snapshot("cerebellum: controller")
        body_diag_end = rec.diag_snapshot(": body")
        measured = rec.cmd_n > 0 or rec.js_n > 0
        result["stack_alive_at_end"] = runner.alive
        result["_receive"] = analyse_receive_side(rec, window_actual)
        result["_tracking"] = analyse_tracking(rec, streamer, wall_minus_mono_ns)
        result["_stand"] = analyse_stand(rec, leg_joints)
        result["_cpu"] = cpu_res
        result["_diag_window"] = cerebellum_window_from_diag(diag_start, diag_end)
        result["_body_diag"] = (body_diag_end[1] if body_diag_end else None,
                                body_diag_start[1] if body_diag_start else None)
    except (TimeoutError, RuntimeError) as exc:
        result["errors"].append(str(exc))
    finally:
        streamer.stop()
        if baseline_proc is not None:
            try:
                out, err = baseline_proc.communicate(timeout=window_s + 30)
                result["_baseline"] = json.loads(out) if out.strip() else {"error": err.strip()}
            except (subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
                baseline_proc.kill()
                baseline_proc.communicate()
                result["_baseline"] = {"error": str(exc)}
        runner.stop(timeout_s=60.0)
        session.close()
    stack_log = runner.output()
    reasons = [line.split("rejected trajectory:", 1)[1].strip()
               for line in stack_log.splitlines() if "rejected trajectory:" in line]
    result["_rejected_trajectory_logs"] = {"lines": len(reasons), "reasons": sorted(set(reasons))[:5],
                                           "note": "log lines are throttled to one per 0.5 s"}
    if stats_path.is_file():
        try:
            result["_stats"] = json.loads(stats_path.read_text())
            measured = True
        except json.JSONDecodeError as exc:
            result["errors"].append(f"bad stats file: {exc}")
    else:
        result["errors"].append("cerebellum wrote no stats file; stack log tail:\n" + stack_log[-3000:])
    result["machine"]["load_avg_end"] = list(os.getloadavg())
    shutil.rmtree(tmp, ignore_errors=True)
    return result, measured


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    stats = raw.get("_stats", {})
    loop = stats.get("loop", {})
    jit = loop.get("jitter_us", {})
    lat = stats.get("latency_us", {})
    cpu = raw.get("_cpu", {})
    rx = raw.get("_receive", {})
    diagw = raw.get("_diag_window", {})
    base = raw.get("_baseline", {})
    body_end, _ = raw.get("_body_diag", (None, None))
    rate = diagw.get("commands_published_rate_hz", rx.get("joint_commands_stamp_span_rate_hz"))

    cere = {
        "rate_hz": rate,
        "rate_hz_source": "commands_published delta over the window (/diagnostics)" if "commands_published_rate_hz"
        in diagw else "bench receive side (command stamps)",
        "loop_rate_hz_whole_run": loop.get("rate_hz"),
        "jitter_us": {k: jit.get(k) for k in ("p50", "p99", "max")},
        "missed_pct": loop.get("missed_pct"),
        "missed_periods": loop.get("missed"),
        "realtime": loop.get("realtime"),
        "missed_pct_window": diagw.get("missed_pct"),
        "latency_us": {k: lat.get(k) for k in ("p50", "p99", "max")},
        "compute_us": {k: stats.get("compute_us", {}).get(k) for k in ("p50", "p99", "max")},
        "state_period_us": {k: stats.get("state_period_us", {}).get(k) for k in ("p50", "p99", "max")},
        "state_wait_us": {k: stats.get("state_wait_us", {}).get(k) for k in ("n", "p50", "p99", "max")},
        "cpu_pct": cpu.get("cerebellum"),
        "stats_scope": "jitter/latency/missed_pct: the node's own stats file, whole run incl. warm-up "
                       "(RingStats keeps the last 60000 samples); rate_hz and missed_pct_window: the window",
        "mode_at_end": diagw.get("mode_at_end"),
    }
    body = {"cpu_pct": cpu.get("body"), "joint_states_rate_hz": rx.get("joint_states_rx_rate_hz")}
    if body_end:
        for key in ("rate_hz", "missed_periods", "jitter_p99_us", "commands_accepted", "commands_rejected"):
            if key in body_end:
                try:
                    body[f"node_{key}"] = float(body_end[key])
                except ValueError:
                    body[f"node_{key}"] = body_end[key]
    if "joint_states_stamp_interval_us" in rx:
        span_rate = None
        iv = rx["joint_states_stamp_interval_us"]
        if iv.get("mean"):
            span_rate = 1e6 / iv["mean"]
        body["joint_states_stamp_rate_hz"] = span_rate

    base_jit = base.get("jitter_us", {}) if isinstance(base, dict) else {}
    baseline = {
        "jitter_us": {k: base_jit.get(k) for k in ("p50", "p99", "p999", "max")},
        "missed_pct": base.get("missed_pct"), "rate_hz": base.get("rate_hz"), "realtime": base.get("realtime"),
        "periods": base.get("periods"), "timer_slack_ns": base.get("timer_slack_ns"),
        "run": "concurrently with the stack, over the same measurement window",
    }
    if "error" in base:
        baseline["error"] = base["error"]
    ratio = None
    if jit.get("p99") is not None and base_jit.get("p99"):
        ratio = jit["p99"] / base_jit["p99"]

    tracking = raw.get("_tracking", {})
    stand = raw.get("_stand", {})
    t = TARGETS

    def met(value, limit, lower_is_better=True):
        if value is None:
            return None
        return bool(value <= limit) if lower_is_better else bool(value >= limit)

    targets = {
        "limits": t,
        "rate_hz": met(rate, t["rate_hz_min"], lower_is_better=False),
        "missed_pct": met(cere["missed_pct"], t["missed_pct_max"]),
        "p99_jitter_ratio_vs_c": met(ratio, t["p99_jitter_ratio_vs_c_max"]),
        "latency_p50_us": met(lat.get("p50"), t["latency_p50_us_max"]),
        "latency_p99_us": met(lat.get("p99"), t["latency_p99_us_max"]),
        "tracking_rms_rad": met(tracking.get("rms_error_rad"), t["tracking_rms_rad_max"]),
        "stand_tilt_rad": met(stand.get("imu_tilt_max_window_rad"), t["stand_tilt_max_rad"]),
        "stand_leg_drift_rad": met(stand.get("leg_drift_max_rad"), t["stand_leg_drift_max_rad"]),
        "stand_pelvis_drift_m": met(stand.get("pelvis_drift_max_m"), t["stand_pelvis_drift_max_m"]),
    }
    return _round({
        "cerebellum": cere,
        "body": body,
        "baseline_c": baseline,
        "p99_jitter_ratio_vs_c": ratio,
        "tracking": tracking,
        "stand": stand,
        "bench_receive_side": rx,
        "cpu": cpu,
        "machine": raw.get("machine"),
        "targets": targets,
        "config": raw.get("config"),
        "stack_alive_at_end": raw.get("stack_alive_at_end"),
        "rejected_trajectory_logs": raw.get("_rejected_trajectory_logs"),
        "errors": raw.get("errors", []),
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="measurement window, s (default 30)")
    parser.add_argument("--warmup", type=float, default=5.0, help="warm-up before the window, s")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--stack", default="sim_g1")
    parser.add_argument("--domain-id", type=int, default=77)
    parser.add_argument("--executor-inputs", action="store_true",
                        help="cerebellum inputs_on_control_thread=false and body commands_on_control_thread=false "
                             "(inputs via executor callbacks, the nodes' default); without it both are true")
    parser.add_argument("--realtime-priority", type=int, default=0,
                        help="SCHED_FIFO priority for the cerebellum loop and the C baseline (the body's "
                             "loop one below); 0: normal scheduling (default). Needs CAP_SYS_NICE / root")
    parser.add_argument("--phase-offset-us", type=float,
                        help="cerebellum phase_offset_us (default -30 with loop-taken inputs, else the "
                             "params file's)")
    parser.add_argument("--state-wait-us", type=float,
                        help="cerebellum state_wait_us (default 250 with loop-taken inputs, else the "
                             "params file's)")
    parser.add_argument("--joint", default="right_elbow_joint", help="joint tracking the sinusoid")
    parser.add_argument("--amplitude", type=float, default=0.2, help="rad")
    parser.add_argument("--freq", type=float, default=1.0, help="Hz")
    parser.add_argument("--track-duration", type=float, default=10.0, help="s, inside the window")
    args = parser.parse_args(argv)
    if args.executor_inputs and args.state_wait_us:
        parser.error("--state-wait-us needs the inputs taken by the control thread (drop --executor-inputs)")
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be > 0 and --warmup >= 0")

    raw, measured = run(args)
    summary = summarise(raw)
    text = json.dumps(summary, indent=2)
    print(text, flush=True)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0 if measured else 1


if __name__ == "__main__":
    sys.exit(main())
