"""Body node: a lifecycle node hosting one driver.

Publishes /joint_states (sensor_msgs/JointState, sensor-data QoS) every driver cycle,
/imu/data (sensor_msgs/Imu), /objects (visualization_msgs/MarkerArray: one marker per
object, `text` = object name, pose and size), /base_pose (geometry_msgs/PoseStamped, where
the driver knows it), /clock for simulated drivers (at `clock_rate_hz`, default 250 Hz;
0 turns it off) and /diagnostics; subscribes /joint_commands (sensor_msgs/JointState:
position targets with optional velocity/effort feed-forward). Bad commands are rejected
with a reason and the driver keeps its last good targets. With `commands_on_control_thread`
(default false; use it with `realtime_priority`) the driver loop takes /joint_commands itself
at the start of each cycle (robot_control.common.ros.ControlThreadInputs: no executor callback
competes with the loop for the GIL at 1 kHz); false: an executor callback stores the latest
command, outside the loop's cycle.

Stamps: with `use_sim_time` true, a simulated body stamps every message with its simulated
time (the time /clock carries), so stamps stay consistent when the simulation runs slower
than real time. Otherwise stamps are wall time, and /diagnostics reports the simulation's
real-time factor and the loop's overruns (WARN below `min_real_time_factor`): when a cycle
overruns its period, simulated time falls behind wall time.

Simulation-only test hooks (the driver implements Driver.apply_wrench / reset_simulation;
other drivers reject them with a reason, logged and shown on /diagnostics):

    /sim/push  geometry_msgs/WrenchStamped: force (N) and torque (N·m) in the world frame
               (header.frame_id "" or "world") applied at the centre of mass of `push_body`
               (default: the robot's base frame, the G1 pelvis) for `push_duration_s` of
               simulated time; a new message replaces a push still running.
    /sim/reset std_srvs/Trigger: put the simulated world back in its initial state. With the
               parameter `sim_seed` >= 0 the scene is re-seeded first (mujoco_sim: object xy
               jitter and yaw of that seed); -1 (default) keeps the driver's current seed.
               To reset to a given scene: set the parameter, then call the service, e.g.
                   ros2 param set /body sim_seed 500000
                   ros2 service call /sim/reset std_srvs/srv/Trigger
               `sim_seed` only acts on /sim/reset (the start-up scene is driver_options.seed).

The driver runs on a dedicated thread with absolute-deadline sleeps at its rate; the
executor thread only moves messages in and out (and hands push/reset requests to the
driver thread, which runs them between cycles).
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable

from robot_control.common.ros import prepare_process

NO_SEED = -1  # `sim_seed` value: /sim/reset keeps the driver's current seed


def check_sim_seed(value: object) -> str | None:
    """Why `value` is not a valid `sim_seed` parameter (an integer >= -1), or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"sim_seed must be an integer (>= 0: seed of the next /sim/reset, {NO_SEED}: keep), got {value!r}"
    if value < NO_SEED:
        return f"sim_seed must be >= {NO_SEED} ({NO_SEED} keeps the driver's seed), got {value}"
    return None


def reset_world(driver, sim_seed: int = NO_SEED) -> str:
    """What /sim/reset does on the driver thread; returns the service's success message.

    sim_seed >= 0 re-seeds the scene first. That is a simulation-only extra outside the Driver
    contract: the driver must be simulated and keep its scene seed in a `seed` attribute that
    reset_simulation() uses (mujoco_sim does); others are refused with a reason. On failure the
    driver's previous seed is kept. Raises DriverError (or ValueError for a bad sim_seed).
    """
    from robot_control.body.driver import DriverError

    problem = check_sim_seed(sim_seed)
    if problem is not None:
        raise ValueError(problem)
    if sim_seed == NO_SEED:
        driver.reset_simulation()
    else:
        name = getattr(driver, "name", "") or type(driver).__name__
        if not getattr(driver, "simulated", False) or not hasattr(driver, "seed"):
            raise DriverError(f"driver {name!r} has no seeded scene: sim_seed {sim_seed} needs a simulated driver "
                              f"that keeps a scene seed (e.g. mujoco_sim); set sim_seed to {NO_SEED}")
        previous = driver.seed
        driver.seed = sim_seed
        try:
            driver.reset_simulation()
        except BaseException:
            driver.seed = previous
            raise
    seed = getattr(driver, "seed", None)
    return "simulation reset to its initial state" + (f" (seed {seed})" if hasattr(driver, "seed") else "")


def main(args: list[str] | None = None) -> int:
    prepare_process()
    argv = list(sys.argv if args is None else args)
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseStamped, WrenchStamped
    from rcl_interfaces.msg import SetParametersResult
    from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Imu, JointState
    from std_srvs.srv import Trigger
    from visualization_msgs.msg import Marker, MarkerArray

    from robot_control.body.command_check import check_joint_command
    from robot_control.body.registry import load_driver_class
    from robot_control.body.robot_description import load_robot
    from robot_control.common import ros as R
    from robot_control.common.cdr import JointStateEncoder
    from robot_control.common.periodic import PeriodicLoop, RealTimeFactor, every_n_cycles

    class BodyNode(LifecycleNode):
        def __init__(self) -> None:
            super().__init__("body", automatically_declare_parameters_from_overrides=True)
            self._param("robot", "g1")
            self._param("driver", "mujoco_sim")
            self._param("autostart", True)
            self._param("pacing", "realtime")
            self._param("objects_rate_hz", 30.0)
            self._param("imu_rate_hz", 500.0)
            self._param("diagnostics_period_s", 1.0)
            self._param("realtime_priority", 0)
            self._param("commands_on_control_thread", False)
            self._param("clock_rate_hz", 250.0)
            self._param("min_real_time_factor", 0.9)
            self._param("push_duration_s", 0.2)
            self._param("push_body", "")
            self._param("sim_seed", NO_SEED)
            self.add_on_set_parameters_callback(self._check_parameters)
            self.driver = None
            self.inputs: R.ControlThreadInputs | None = None
            self.loop: PeriodicLoop | None = None
            self._free_thread: threading.Thread | None = None
            self._free_stop = threading.Event()
            self._command = None
            self._command_lock = threading.Lock()
            self.rejected = 0
            log = self.get_logger()
            self._warn_command = R.Throttle(log.warning, 1.0)
            self._warn_push = R.Throttle(log.warning, 1.0)
            self._err_cycle = R.Throttle(log.error, 1.0)
            self._err_publish = R.Throttle(log.error, 1.0)
            self.accepted = 0
            self.last_reject = ""
            # Work the executor thread hands to the driver thread (pushes, resets).
            self._driver_calls: list[Callable[[], None]] = []
            self.pushes_applied = 0
            self.pushes_rejected = 0
            self.last_push_rejection = ""
            # (monotonic wall s, sim s) after the latest cycle; the factor between diagnostics
            self._sim_sample: tuple[float, float] | None = None
            self._rtf = RealTimeFactor()

        def _param(self, name: str, default):
            if not self.has_parameter(name):
                self.declare_parameter(name, default)

        def p(self, name: str):
            return self.get_parameter(name).value

        def _check_parameters(self, params) -> SetParametersResult:
            for param in params:
                if param.name == "sim_seed":
                    problem = check_sim_seed(param.value)
                    if problem is not None:
                        return SetParametersResult(successful=False, reason=problem)
            return SetParametersResult(successful=True)

        # -- lifecycle -------------------------------------------------------------
        def on_configure(self, state: State) -> TransitionCallbackReturn:
            try:
                self.robot = load_robot(self.p("robot"))
                options = {k: v.value for k, v in self.get_parameters_by_prefix("driver_options").items()}
                cls = load_driver_class(self.p("driver"))
                self.driver = cls(self.robot, options)
                self.driver.configure()
            except Exception as exc:  # noqa: BLE001 - reported to the operator, node stays up
                self.get_logger().error(f"configure failed: {exc}")
                self.driver = None
                return TransitionCallbackReturn.FAILURE
            self.names = list(self.driver.joint_names)
            self.index = {n: i for i, n in enumerate(self.names)}
            self.js_pub = self.create_publisher(JointState, "/joint_states", R.sensor_qos())
            self.imu_pub = self.create_publisher(Imu, "/imu/data", R.sensor_qos())
            self.obj_pub = self.create_publisher(MarkerArray, "/objects", 10)
            self.base_pub = self.create_publisher(PoseStamped, "/base_pose", R.sensor_qos())
            self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
            self.clock_pub = self.create_publisher(Clock, "/clock", R.sensor_qos()) if self.driver.simulated else None
            if self.p("commands_on_control_thread"):
                self.inputs = R.ControlThreadInputs(self, argv)
                self.inputs.add(JointState, "/joint_commands", R.sensor_qos(depth=1),
                                lambda data, _arrival: self._on_command(data), raw=True)
            else:
                self.cmd_sub = self.create_subscription(JointState, "/joint_commands", self._on_command,
                                                        R.sensor_qos(depth=1), raw=True)
            self.push_sub = self.create_subscription(WrenchStamped, "/sim/push", self._on_push, R.command_qos())
            self.reset_srv = self.create_service(Trigger, "/sim/reset", self._on_sim_reset)
            # Messages published every cycle are built once and refilled (constructors are slow).
            # /joint_states leave and /joint_commands arrive serialized, encoded and decoded in
            # numpy (robot_control.common.cdr): rclpy's field-by-field conversion of 43 joints
            # cost ~55 us per state published and ~77 us per command taken.
            self._state_encoder = JointStateEncoder(self.names)
            self._read_command = R.JointStateReader()
            self._imu_out = Imu()
            self._clock_out = Clock()
            self._sim_stamps = bool(self.p("use_sim_time")) and self.driver.simulated
            self.diag_timer = self.create_timer(self.p("diagnostics_period_s"), self._publish_diagnostics)
            self.get_logger().info(
                f"configured driver {self.p('driver')!r} for robot {self.robot.name!r} "
                f"({len(self.names)} joints, {self.driver.rate_hz:g} Hz)")
            return TransitionCallbackReturn.SUCCESS

        def on_activate(self, state: State) -> TransitionCallbackReturn:
            try:
                self.driver.activate()
            except Exception as exc:  # noqa: BLE001
                self.get_logger().error(f"activate failed: {exc}")
                return TransitionCallbackReturn.FAILURE
            self._cycle = 0
            rate = self.driver.rate_hz
            self._imu_every = max(1, round(rate / max(self.p("imu_rate_hz"), 1e-3)))
            self._obj_every = max(1, round(rate / max(self.p("objects_rate_hz"), 1e-3)))
            self._clock_every = every_n_cycles(rate, float(self.p("clock_rate_hz")))
            self._sim_sample = None
            self._rtf = RealTimeFactor()
            if self.p("pacing") == "free":
                self._free_stop.clear()
                self._free_thread = threading.Thread(target=self._free_run, daemon=True)
                self._free_thread.start()
            else:
                self.loop = PeriodicLoop(1.0 / rate, self._cycle_once, name="body",
                                         realtime_priority=int(self.p("realtime_priority")))
                self.loop.start()
            self.get_logger().info("active: streaming /joint_states")
            return super().on_activate(state)

        def on_deactivate(self, state: State) -> TransitionCallbackReturn:
            self._stop_loop()
            if self.driver is not None:
                self.driver.deactivate()
            return super().on_deactivate(state)

        def on_cleanup(self, state: State) -> TransitionCallbackReturn:
            self._stop_loop()
            self._destroy_inputs()
            if self.driver is not None:
                self.driver.shutdown()
                self.driver = None
            return TransitionCallbackReturn.SUCCESS

        def on_shutdown(self, state: State) -> TransitionCallbackReturn:
            return self.on_cleanup(state)

        def _destroy_inputs(self) -> None:
            if self.inputs is not None:
                self.inputs.destroy()
                self.inputs = None

        def _stop_loop(self) -> None:
            if self.loop is not None:
                self.loop.stop()
                self.loop = None
            if self._free_thread is not None:
                self._free_stop.set()
                self._free_thread.join(2.0)
                self._free_thread = None

        # -- data path ---------------------------------------------------------------
        def _on_command(self, data: bytes) -> None:
            msg = self._read_command(data)
            command, reason = check_joint_command(msg.name, msg.position.copy(), msg.velocity.copy(),
                                                  msg.effort.copy(), self.index)
            if command is None:
                self.rejected += 1
                self.last_reject = reason
                self._warn_command(f"rejected /joint_commands: {reason}")
                return
            with self._command_lock:
                self._command = command
            self.accepted += 1

        def _on_push(self, msg: WrenchStamped) -> None:
            if msg.header.frame_id not in ("", "world"):
                self._push_rejected(f"wrench frame {msg.header.frame_id!r}: pushes are expressed in the "
                                    "world frame (frame_id '' or 'world')")
                return
            f, t = msg.wrench.force, msg.wrench.torque
            force, torque = (f.x, f.y, f.z), (t.x, t.y, t.z)
            duration = float(self.p("push_duration_s"))
            body = self.p("push_body") or None

            def push() -> None:
                try:
                    self.driver.apply_wrench(force, torque, duration, body)
                except Exception as exc:  # noqa: BLE001 - DriverError or a plugin bug: reported
                    self._push_rejected(str(exc) or type(exc).__name__)
                    return
                self.pushes_applied += 1
                self.get_logger().info(f"push: force {force} N, torque {torque} N·m on "
                                       f"{body or self.robot.base_frame} for {duration:g} s")

            if not self._run_on_driver_thread(push):
                self._push_rejected("the body is not active")

        def _push_rejected(self, reason: str) -> None:
            self.pushes_rejected += 1
            self.last_push_rejection = reason
            self._warn_push(f"rejected /sim/push: {reason}")

        def _on_sim_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
            outcome: list[tuple[bool, str]] = []
            done = threading.Event()
            sim_seed = self.p("sim_seed")

            def reset() -> None:
                try:
                    outcome.append((True, reset_world(self.driver, sim_seed)))
                except Exception as exc:  # noqa: BLE001 - DriverError or a plugin bug: reported
                    outcome.append((False, str(exc) or type(exc).__name__))
                finally:
                    done.set()

            if not self._run_on_driver_thread(reset):
                response.success, response.message = False, "the body is not active"
            elif not done.wait(2.0):
                response.success, response.message = False, "the driver thread did not run the reset within 2 s"
            else:
                response.success, response.message = outcome[0]
            self.get_logger().info(f"/sim/reset: {response.message}")
            return response

        def _run_on_driver_thread(self, call: Callable[[], None]) -> bool:
            """Queue `call` for the driver thread (run before its next cycle); False if none runs."""
            running = (self.loop is not None and self.loop.running) or (
                self._free_thread is not None and self._free_thread.is_alive())
            if self.driver is None or not running:
                return False
            with self._command_lock:
                self._driver_calls.append(call)
            return True

        def _free_run(self) -> None:
            while not self._free_stop.is_set():
                self._cycle_once()

        def _cycle_once(self) -> None:
            if self.inputs is not None:
                self.inputs.take()
            driver = self.driver
            with self._command_lock:
                command, self._command = self._command, None
                calls, self._driver_calls = self._driver_calls, []
            for call in calls:
                try:
                    call()
                except Exception as exc:  # noqa: BLE001 - a hook must never stop the loop
                    self.get_logger().error(f"driver request failed: {exc}")
            try:
                if command is not None:
                    driver.write(command)
                elif driver.simulated:
                    driver.write(_EMPTY)  # advance physics; targets unchanged
                state = driver.read()
            except Exception as exc:  # noqa: BLE001
                self._err_cycle(f"driver cycle failed: {exc}")
                return
            if not self.context.ok():  # shutting down: the executor thread will clean up
                return
            try:
                self._publish_state(driver, state)
            except Exception as exc:  # noqa: BLE001 - e.g. context invalidated during shutdown
                if self.context.ok():
                    self._err_publish(f"publishing state failed: {exc}")

        def _publish_state(self, driver, state) -> None:
            sim_t = driver.sim_time()
            cycle = self._cycle
            self._cycle += 1
            if sim_t is not None:
                self._sim_sample = (time.monotonic(), sim_t)
                sim_stamp = R.to_time_msg(sim_t)
                if self.clock_pub is not None and self._clock_every and cycle % self._clock_every == 0:
                    self._clock_out.clock = sim_stamp
                    self.clock_pub.publish(self._clock_out)
            now = sim_stamp if self._sim_stamps and sim_t is not None else self.get_clock().now().to_msg()
            joints = state.joints
            self.js_pub.publish(self._state_encoder.encode(now.sec, now.nanosec, joints.position, joints.velocity,
                                                   joints.effort))
            if state.imu is not None and self._cycle % self._imu_every == 0:
                self.imu_pub.publish(self._imu_msg(state.imu, now))
            if self._cycle % self._obj_every == 0:
                if state.objects:
                    self.obj_pub.publish(self._objects_msg(state.objects, now))
                if state.base_pose is not None:
                    self.base_pub.publish(self._pose_msg(state.base_pose, now))

        def _imu_msg(self, imu, stamp) -> Imu:
            msg = self._imu_out
            msg.header.stamp = stamp
            msg.header.frame_id = imu.frame_id
            x, y, z, w = (float(v) for v in imu.orientation)
            msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = x, y, z, w
            msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = map(float, imu.angular_velocity)
            (msg.linear_acceleration.x, msg.linear_acceleration.y,
             msg.linear_acceleration.z) = map(float, imu.linear_acceleration)
            return msg

        def _pose_msg(self, pose, stamp) -> PoseStamped:
            msg = PoseStamped()
            msg.header.stamp = stamp
            msg.header.frame_id = pose.frame_id
            msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = map(float, pose.position)
            (msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z,
             msg.pose.orientation.w) = map(float, pose.orientation)
            return msg

        def _objects_msg(self, objects, stamp) -> MarkerArray:
            out = MarkerArray()
            for i, obj in enumerate(objects):
                m = Marker()
                m.header.stamp = stamp
                m.header.frame_id = obj.frame_id
                m.ns = "objects"
                m.id = i
                m.type = Marker.CUBE
                m.action = Marker.ADD
                m.text = obj.name
                m.pose.position.x, m.pose.position.y, m.pose.position.z = map(float, obj.position)
                (m.pose.orientation.x, m.pose.orientation.y, m.pose.orientation.z,
                 m.pose.orientation.w) = map(float, obj.orientation)
                size = obj.size if obj.size is not None else (0.05, 0.05, 0.05)
                m.scale.x, m.scale.y, m.scale.z = map(float, size)
                m.color.a = 1.0
                out.markers.append(m)
            return out

        def _publish_diagnostics(self) -> None:
            if self.driver is None:
                return
            values: dict[str, object] = {"driver": self.p("driver"), "robot": self.robot.name,
                                         "commands_accepted": self.accepted, "commands_rejected": self.rejected,
                                         "last_rejection": self.last_reject,
                                         "pushes_applied": self.pushes_applied,
                                         "pushes_rejected": self.pushes_rejected,
                                         "last_push_rejection": self.last_push_rejection,
                                         "stamps": "sim_time" if self._sim_stamps else "wall_time"}
            level, message = "OK", "streaming"
            overruns = 0
            if self.loop is not None:
                s = self.loop.summary()
                overruns = s["overruns"]
                values.update({"rate_hz": s["rate_hz"], "missed_periods": s["missed"], "overruns": overruns,
                               "jitter_p99_us": s["jitter_us"].get("p99", 0.0)})
            sample = self._sim_sample
            rtf = None if sample is None else self._rtf.update(*sample)
            if rtf is not None:
                values["real_time_factor"] = rtf
                if rtf < self.p("min_real_time_factor") and self.p("pacing") == "realtime":
                    stamps = ("stamps are sim time" if self._sim_stamps
                              else "stamps are wall time; set use_sim_time for sim-time stamps")
                    level, message = "WARN", (f"simulation runs at {rtf:.2f}x real time ({overruns} loop "
                                              f"overruns): {stamps}")
            if self.loop is not None and self.loop.error is not None:
                level, message = "ERROR", f"loop stopped: {self.loop.error}"
            values.update(self.driver.diagnostics())
            status = R.diagnostic_status(f"{self.get_name()}: body", self.robot.name, level, message, values)
            self.diag_pub.publish(R.diagnostic_array(self.get_clock().now().to_msg(), [status]))

    import numpy as np

    from robot_control.body.types import JointCommand

    _EMPTY = JointCommand((), np.zeros(0))

    rclpy.init(args=sys.argv if args is None else args)
    node = BodyNode()
    code = 0
    try:
        if node.p("autostart"):
            if node.trigger_configure() == TransitionCallbackReturn.SUCCESS:
                node.trigger_activate()
            else:
                node.get_logger().fatal("could not configure the driver; exiting")
                code = 1
        if code == 0:
            R.spin(node, loop_priority=int(node.p("realtime_priority")))
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        code = 1
    finally:
        node._stop_loop()
        node._destroy_inputs()
        if node.driver is not None:
            try:
                node.driver.shutdown()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
