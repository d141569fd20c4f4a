"""Cerebellum node: the 1 kHz joint controller between planners/skills and the body.

Subscribes /joint_states (sensor_msgs/JointState), /imu/data (sensor_msgs/Imu) and
/cerebellum/trajectory (trajectory_msgs/JointTrajectory); publishes /joint_commands
(sensor_msgs/JointState: position targets + velocity and effort feed-forward),
/cerebellum/status (diagnostic_msgs/DiagnosticStatus at `status_rate_hz`: mode, guard,
last rejection) and /diagnostics (rates, missed deadlines, latency, active guard).
Services: /cerebellum/estop (std_srvs/SetBool; true engages a latched e-stop, false is
refused: only /cerebellum/reset (std_srvs/Trigger) clears it).

The control loop runs on a dedicated thread with absolute-deadline sleeps
(robot_control.common.periodic.PeriodicLoop), never on the executor. `realtime_priority` > 0
asks for SCHED_FIFO for that thread (and one below for the executor thread). With
`inputs_on_control_thread` (default false; bench/cerebellum.py's real-time setting turns it on)
the loop takes /joint_states and /imu/data itself at the start of each cycle, from
subscriptions of a second node ("<name>_io") that no executor spins
(robot_control.common.ros.ControlThreadInputs), so the executor thread does not hold the GIL
for every 1 kHz state just as the loop wakes; arrival times then come from the middleware's
receive timestamps. The loop then also takes /cerebellum/trajectory and publishes
/cerebellum/status after each command is out, leaving the executor the services and the 1 Hz
/diagnostics (which must report a dead loop). With false, executor
callbacks store the latest sample (measured: without the state wait, no worse than taking them
on the loop; with it, p99 latency and missed periods worse). Joint
states are taken serialized and decoded in numpy, and commands are published serialized
(robot_control.common.cdr): rclpy's field-by-field conversion measured ~77 us per taken state
and ~55 us per command here, against ~4-5 us each. The loop's phase is locked
to the arrival of joint states (`phase_lock`), so each command is computed right after the
state it answers arrives, while the period stays on the cerebellum's own clock and the guards
keep running when states stop arriving. The lock compares arrivals with the loop's scheduled
deadlines, not its actual wake times (those carry scheduling jitter). `phase_offset_us` is
where the tick sits relative to the usual arrival: positive waits that long after it (a margin
for late states), negative wakes that much before it and then waits for the state itself, for
at most `state_wait_us` (polling the control thread's own subscription: the wait needs
`inputs_on_control_thread`; an executor-callback variant measured worse p99 latency and missed
periods and was dropped), while states keep arriving. Waiting for the state measured
state->command p50 289 vs 442 us with a +150 us offset (G1, SCHED_FIFO, bench/cerebellum.py); the
wait is bounded, so a late or missing state costs at most `state_wait_us` of the period and
the cycle then runs with the previous state (the state watchdog judges its age as always).

/joint_states messages may name a subset of the joints (several publishers may share the
topic): they are merged (robot_control.cerebellum.state_merge); the controller gets a state
once every joint has been received, and its state watchdog sees the age of the least
recently updated joint.

Latency on /diagnostics (`latency_from`): without `use_sim_time`, body stamp -> command publish
(wall clock, across processes); with it, the state's arrival here -> command publish, because
simulated-time stamps (and a decimated /clock) say nothing about the path.

Trajectory semantics (`streaming_setpoints`, default true): every trajectory message is a
setpoint that must be refreshed within `controller.setpoint_timeout_s` while it is still
executing; otherwise the controller holds where it is. With false, trajectories run to
completion (planned moves).
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from typing import Any

import numpy as np

from robot_control.common.ros import prepare_process


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{'kp.joint_a': 1} -> {'kp': {'joint_a': 1}} (ROS params are flat, config is nested)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


class PhaseLock:
    """Nudges a periodic loop so it ticks `target_s` after joint states usually arrive.

    The phase error is measured from the loop's *deadline* for the current cycle: wake-up
    lateness is scheduling noise (skewed: never early, sometimes very late), and feeding it
    back would pull the schedule earlier by the average lateness.
    """

    def __init__(self, period_s: float, target_s: float, gain: float = 0.05, max_step_s: float = 20e-6) -> None:
        self.period_ns = int(period_s * 1e9)
        self.target_ns = int(target_s * 1e9)
        self.gain = gain
        self.max_step_ns = int(max_step_s * 1e9)

    def correction_s(self, tick_ns: int, arrival_ns: int) -> float:
        """Phase shift to apply to the loop's future deadlines (negative: tick earlier)."""
        error = (tick_ns - arrival_ns) % self.period_ns - self.target_ns
        half = self.period_ns // 2
        if error > half:
            error -= self.period_ns
        step = int(np.clip(-self.gain * error, -self.max_step_ns, self.max_step_ns))
        return step / 1e9

    def update(self, loop: Any, arrival_ns: int) -> float:
        """Shift `loop` (a PeriodicLoop, from inside its body) by the correction for the cycle
        it is running, scheduled at ``loop.deadline_ns``; returns the shift in seconds."""
        shift = self.correction_s(loop.deadline_ns, arrival_ns)
        if shift:
            loop.shift_phase(shift)
        return shift


def main(args: list[str] | None = None) -> int:  # noqa: C901 - one node, read top to bottom
    prepare_process()
    argv = list(sys.argv if args is None else args)
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from rclpy.node import Node
    from sensor_msgs.msg import Imu, JointState
    from std_srvs.srv import SetBool, Trigger
    from trajectory_msgs.msg import JointTrajectory as JointTrajectoryMsg

    from robot_control.body.robot_description import load_robot
    from robot_control.cerebellum import Controller, ControllerConfig, JointLimits, JointTrajectory
    from robot_control.cerebellum.state_merge import JointStateMerger
    from robot_control.common import ros as R
    from robot_control.common.cdr import JointStateEncoder
    from robot_control.common.periodic import PeriodicLoop, RingStats, poll_until

    class CerebellumNode(Node):
        def __init__(self) -> None:
            super().__init__("cerebellum", automatically_declare_parameters_from_overrides=True)
            for name, default in (("robot", "g1"), ("streaming_setpoints", True), ("phase_lock", True),
                                  ("phase_offset_us", 150.0), ("state_wait_us", 0.0),
                                  ("status_rate_hz", 50.0),
                                  ("diagnostics_period_s", 1.0), ("realtime_priority", 0),
                                  ("inputs_on_control_thread", False), ("stats_file", "")):
                if not self.has_parameter(name):
                    self.declare_parameter(name, default)
            p = lambda n: self.get_parameter(n).value  # noqa: E731
            self.robot = load_robot(p("robot"))
            names = self.robot.joint_names
            config_dict = _nest({k: v.value for k, v in self.get_parameters_by_prefix("controller").items()})
            config_dict.setdefault("kp", {j.name: j.kp for j in self.robot.joints})
            config_dict.setdefault("kd", {j.name: j.kd for j in self.robot.joints})
            config_dict.setdefault("rate_hz", self.robot.control_rate_hz)
            self.config = ControllerConfig.from_dict(config_dict, where="cerebellum.controller")
            limits = JointLimits.from_lists(
                names, self.robot.array("lower"), self.robot.array("upper"), self.robot.array("velocity"),
                self.robot.array("acceleration"), self.robot.array("effort"))
            self.controller = Controller(names, limits, self.config, self.robot.postures)
            self.names = list(names)
            self.index = {n: i for i, n in enumerate(names)}
            self.streaming = bool(p("streaming_setpoints"))
            self.lock = threading.Lock()

            # Latest inputs, written by callbacks, read by the control thread.
            # (arrival ns, oldest joint update ns, stamp s, q, qd)
            self._state: tuple[int, int, float, np.ndarray, np.ndarray] | None = None
            self._state_seq = 0
            self._used_seq = 0
            self.merger = JointStateMerger(names)
            self._imu: np.ndarray | None = None
            self._imu_seq = 0
            self._used_imu_seq = 0

            self.latency = RingStats()  # body stamp -> command publish, s
            # With use_sim_time the stamps are simulated time (and this clock follows a decimated
            # /clock), so stamp differences say nothing about the path: measure from the state's
            # arrival in this process instead (a lower bound that leaves out DDS transport).
            self.sim_time = bool(self.get_parameter("use_sim_time").value)
            self.latency_source = "arrival" if self.sim_time else "stamps"
            self.compute = RingStats()  # control step duration, s
            self.state_period = RingStats()
            self._last_arrival = 0
            self.commands_published = 0
            self._last_output = None

            self.cmd_pub = self.create_publisher(JointState, "/joint_commands", R.sensor_qos(depth=1))
            self.status_pub = self.create_publisher(DiagnosticStatus, "/cerebellum/status", 10)
            self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
            self.inputs: R.ControlThreadInputs | None = None
            if p("inputs_on_control_thread"):
                self.inputs = R.ControlThreadInputs(self, argv)
                self.inputs.add(JointState, "/joint_states", R.sensor_qos(depth=1), self._on_state, raw=True)
                self.inputs.add(Imu, "/imu/data", R.sensor_qos(depth=1), self._on_imu, raw=True)
            else:
                self.create_subscription(JointState, "/joint_states", self._on_state, R.sensor_qos(depth=1),
                                         raw=True)
                self.create_subscription(Imu, "/imu/data", self._on_imu, R.sensor_qos(depth=1), raw=True)
            period = 1.0 / self.config.rate_hz
            status_period = 1.0 / max(p("status_rate_hz"), 1e-3)
            if self.inputs is not None:
                # The loop does the node's periodic work too, right after each command is out,
                # so the executor (left with the services) never holds the GIL when the loop wakes.
                self.inputs.add(JointTrajectoryMsg, "/cerebellum/trajectory", R.command_qos(),
                                lambda msg, _arrival: self._on_trajectory(msg), group="after_command")
                self._status_every = max(1, round(status_period / period))
            else:
                self.create_subscription(JointTrajectoryMsg, "/cerebellum/trajectory", self._on_trajectory,
                                         R.command_qos())
                self.create_timer(status_period, self._publish_status)
            # /diagnostics stays on the executor (1 Hz): it must still say so if the loop dies
            self.create_timer(p("diagnostics_period_s"), self._publish_diagnostics)
            self.create_service(SetBool, "/cerebellum/estop", self._on_estop)
            self.create_service(Trigger, "/cerebellum/reset", self._on_reset)

            self.phase = PhaseLock(period, p("phase_offset_us") * 1e-6) if p("phase_lock") else None
            self.state_wait_ns = int(max(float(p("state_wait_us")), 0.0) * 1e3)
            if self.state_wait_ns and self.inputs is None:
                raise ValueError("state_wait_us > 0 needs inputs_on_control_thread: true (the loop polls "
                                 "its own /joint_states subscription)")
            if self.state_wait_ns >= int(period * 1e9) // 2:
                raise ValueError(f"state_wait_us={p('state_wait_us')} must be under half the control "
                                 f"period ({period * 5e5:g} us)")
            self.state_wait = RingStats()  # tick -> fresh state, s (cycles that waited)
            self._warn_state = R.Throttle(self.get_logger().warning, 1.0)
            self._warn_trajectory = R.Throttle(self.get_logger().warning, 0.5)
            # /joint_states arrive and /joint_commands leave serialized: decoded and encoded in
            # numpy (robot_control.common.cdr), not converted field by field by rclpy.
            self.read_state = R.JointStateReader()
            self.command_encoder = JointStateEncoder(self.names)
            self.loop = PeriodicLoop(period, self._tick, name="cerebellum",
                                     realtime_priority=int(p("realtime_priority")))
            self.loop.start()
            self.get_logger().info(f"controlling {len(names)} joints of {self.robot.name} at "
                                   f"{self.config.rate_hz:g} Hz (phase lock {'on' if self.phase else 'off'})")

        # -- inputs (the control thread via self.inputs, or executor callbacks) -------------------
        def _on_state(self, data: bytes, arrival: int | None = None) -> None:
            arrival = time.monotonic_ns() if arrival is None else arrival
            msg = self.read_state(data)
            problem = self.merger.update(arrival, msg.name, msg.position, msg.velocity)
            snapshot = self.merger.snapshot() if problem is None else None
            if snapshot is None:
                if problem is None:
                    missing = self.merger.missing()
                    problem = (f"/joint_states incomplete: no value yet for {', '.join(missing[:3])}"
                               + (f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""))
                with self.lock:
                    self.controller.note_state_problem(problem)
                self._warn_state(problem)
                return
            oldest, q, qd = snapshot
            stamp = msg.stamp
            with self.lock:
                if self._last_arrival:
                    self.state_period.add((arrival - self._last_arrival) / 1e9)
                self._last_arrival = arrival
                self._state = (arrival, oldest, stamp, q, qd)
                self._state_seq += 1

        def _on_imu(self, data: bytes, arrival: int | None = None) -> None:
            quat = R.read_imu_orientation(data)
            with self.lock:
                self._imu = quat
                self._imu_seq += 1

        def _on_trajectory(self, msg: JointTrajectoryMsg) -> None:
            points = msg.points
            traj = JointTrajectory.from_lists(
                list(msg.joint_names),
                [pt.time_from_start.sec + pt.time_from_start.nanosec * 1e-9 for pt in points],
                [list(pt.positions) for pt in points],
                [list(pt.velocities) for pt in points] if points and all(pt.velocities for pt in points) else None,
                [list(pt.accelerations) for pt in points]
                if points and all(pt.accelerations for pt in points) else None,
            )
            with self.lock:
                ok, reason = self.controller.set_trajectory(time.monotonic(), traj, streaming=self.streaming)
            if not ok:
                self._warn_trajectory(f"rejected trajectory: {reason}")

        def _on_estop(self, request: SetBool.Request, response: SetBool.Response) -> SetBool.Response:
            if request.data:
                with self.lock:
                    self.controller.estop("e-stop service")
                response.success, response.message = True, "e-stop engaged: holding position; call /cerebellum/reset"
                self.get_logger().warning("e-stop engaged")
            else:
                response.success = False
                response.message = "the e-stop is latched: only /cerebellum/reset clears it"
            return response

        def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
            with self.lock:
                ok, message = self.controller.reset(time.monotonic())
            response.success, response.message = ok, message
            self.get_logger().info(f"reset: {message}")
            return response

        # -- control loop (dedicated thread) ---------------------------------------------------
        def _tick(self) -> None:
            tick_ns = time.monotonic_ns()
            if self.inputs is not None:
                self.inputs.take()
            if self.state_wait_ns and self._state_seq == self._used_seq and self._states_flowing(tick_ns):
                self._await_state(tick_ns + self.state_wait_ns)
                ready_ns = time.monotonic_ns()
                self.state_wait.add((ready_ns - tick_ns) / 1e9)
                tick_ns = ready_ns
            now = tick_ns / 1e9
            with self.lock:
                state = self._state if self._state_seq != self._used_seq else None
                self._used_seq = self._state_seq
                imu = self._imu if self._imu_seq != self._used_imu_seq else None
                self._used_imu_seq = self._imu_seq
                if state is not None:
                    self.controller.update_state(state[1] / 1e9, state[3], state[4])
                if imu is not None:
                    self.controller.update_imu(now, imu)
                out = self.controller.step(now)
            self._last_output = out
            if out.valid and self.context.ok():
                # the ROS clock is the system clock unless use_sim_time (get_clock().now() ~12 us)
                now_ns = self.get_clock().now().nanoseconds if self.sim_time else time.time_ns()
                sec, nanosec = divmod(now_ns, 1_000_000_000)
                cmd = self.command_encoder.encode(sec, nanosec, out.position, out.velocity, out.effort)
                try:
                    self.cmd_pub.publish(cmd)
                except Exception:  # noqa: BLE001 - context went away during shutdown
                    if self.context.ok():
                        raise
                    return
                self.commands_published += 1
                if state is not None:
                    if self.latency_source == "stamps":
                        self.latency.add(now_ns / 1e9 - state[2])
                    else:
                        self.latency.add((time.monotonic_ns() - state[0]) / 1e9)
            self.compute.add((time.monotonic_ns() - tick_ns) / 1e9)
            if self.phase is not None and state is not None:
                self.phase.update(self.loop, state[0])
            if self.inputs is not None:
                self._after_command()

        def _after_command(self) -> None:
            """The loop's share of the node's work, after the command went out: new trajectories
            (they apply from the next cycle) and /cerebellum/status at its rate."""
            try:
                self.inputs.take("after_command")
            except Exception as exc:  # noqa: BLE001 - a bad message must not stop the loop
                self._warn_trajectory(f"trajectory not handled: {exc!r}")
            if self.loop.stats.periods % self._status_every == 0:
                self._publish_status()

        def _states_flowing(self, now_ns: int) -> bool:
            """A state arrived within the last two periods: worth waiting a little for the next."""
            return self._last_arrival > 0 and now_ns - self._last_arrival < 2 * self.loop.period_ns

        def _await_state(self, until_ns: int) -> None:
            inputs, seen = self.inputs, self._used_seq
            poll_until(lambda: inputs.take() > 0 and self._state_seq != seen, until_ns)

        # -- reporting (executor thread) ---------------------------------------------------------
        def _publish_status(self) -> None:
            with self.lock:
                status = self.controller.status()
            level = "OK" if not status["active_guard"] else "WARN"
            if status["mode"] in ("estop", "tilt_stop"):
                level = "ERROR"
            self.status_pub.publish(R.diagnostic_status(
                "cerebellum", self.robot.name, level, status["mode"], status))

        def _publish_diagnostics(self) -> None:
            loop = self.loop.summary()
            with self.lock:
                status = self.controller.status()
            lat = self.latency.summary(1e6)
            values = {
                "rate_hz": loop["rate_hz"], "missed_periods": loop["missed"],
                "missed_pct": loop["missed_pct"],
                "jitter_p50_us": loop["jitter_us"].get("p50", 0.0),
                "jitter_p99_us": loop["jitter_us"].get("p99", 0.0),
                "jitter_max_us": loop["jitter_us"].get("max", 0.0),
                "latency_p50_us": lat.get("p50", 0.0), "latency_p99_us": lat.get("p99", 0.0),
                "latency_from": self.latency_source,
                "compute_p99_us": self.compute.summary(1e6).get("p99", 0.0),
                "commands_published": self.commands_published,
                "state_decode_fallbacks": self.read_state.fallbacks,
                "mode": status["mode"], "active_guard": status["active_guard"],
                "estop_reason": status["estop_reason"], "last_rejection": status["last_rejection"],
            }
            level, message = "OK", status["mode"]
            if status["active_guard"]:
                level, message = "WARN", f"{status['mode']}: {status['active_guard']}"
            if status["mode"] in ("estop", "tilt_stop"):
                level = "ERROR"
            if self.loop.error is not None:
                level, message = "ERROR", f"control loop stopped: {self.loop.error}"
            msg = R.diagnostic_array(self.get_clock().now().to_msg(), [
                R.diagnostic_status("cerebellum: controller", self.robot.name, level, message, values)])
            self.diag_pub.publish(msg)

        def stats(self) -> dict[str, Any]:
            return {"loop": self.loop.summary(), "latency_us": self.latency.summary(1e6),
                    "compute_us": self.compute.summary(1e6),
                    "state_period_us": self.state_period.summary(1e6),
                    "state_wait_us": self.state_wait.summary(1e6)}

    rclpy.init(args=argv)
    code = 0
    node = None
    try:
        node = CerebellumNode()
        R.spin(node, loop_priority=int(node.get_parameter("realtime_priority").value))
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        code = 1
    finally:
        if node is not None:
            node.loop.stop()
            stats_file = node.get_parameter("stats_file").value
            if stats_file:
                import json
                from pathlib import Path

                Path(stats_file).write_text(json.dumps(node.stats(), indent=2))
            if node.inputs is not None:
                node.inputs.destroy()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
