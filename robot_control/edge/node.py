"""Edge node: serves learned ONNX skills over gRPC and streams their joint targets to the cerebellum.

Subscribes (depth 1, polled by the control loop, see below) /joint_states
(sensor_msgs/JointState, sensor-data QoS), /objects (visualization_msgs/MarkerArray from the body: `text` =
object name, pose, `scale` = full extents; the "bin" marker is the bin, standing on the table
top), /base_pose (geometry_msgs/PoseStamped: the G1 pelvis / Panda base, for the IK base)
and /cerebellum/status (its mode and rejection count: a skill fails at once on e-stop / tilt
stop, or when the cerebellum rejects one of its trajectories). Several publishers may share
/joint_states (each message updates the joints it names).

Publishes /cerebellum/trajectory (trajectory_msgs/JointTrajectory) and /diagnostics
(active skill per arm group, step latency p50/p99, loop rate, rejected skills).

Streaming to the cerebellum: each step of a skill (one period of its control_rate_hz, 50 Hz,
measured on the robot's clock = the /joint_states stamps, see `skill_clock`) sends ONE point
per arm group: positions = the adapter's joint targets, velocities = their change since the
previous step per second of the cerebellum's clock, time_from_start = `trajectory_horizon_periods`
(1.5) periods. The cerebellum (`streaming_setpoints: true`) starts each message from its current
commanded position and velocity and fits a cubic Hermite segment to the point, so the motion is
C1-continuous across messages: with a 1.5-period horizon every message is replaced before it
ends (no stop-and-go; a step up to half a period late is absorbed) and the arm lags its target
by a constant half period of motion. (Measured offline against the real Controller: a 1.0-period
horizon, or points without velocities, make the command velocity oscillate at the acceleration
limits.) When the robot's clock runs slower than the edge's (a simulation behind real time,
`use_sim_time` stamps), steps come less often in wall time and time_from_start / velocities are
scaled by the measured clock rate (time_from_start capped at `max_point_s`, 0.09 s, below the
cerebellum's 0.1 s setpoint watchdog). If the edge stops publishing, the cerebellum's setpoint
watchdog (setpoint_timeout_s, 0.1 s) cuts the unfinished segment and holds. A finished,
cancelled, failed or timed-out skill ends with a zero-velocity hold point (see
robot_control.edge.runtime for which position it holds). Arm groups that step together share
one message (a message naming only one arm would stop the other in the cerebellum).

Robot state arrives fast (/joint_states at 1 kHz, /objects and /base_pose at 100 Hz); the node
runs no executor callback per message: a private, parameter-less node holds depth-1
subscriptions and the control thread takes the newest sample of each at every tick
(spin_once with zero timeout), at 10 Hz while no skill runs. Measured with the Panda sim
stack on the 2-core machine: a bare rclpy subscriber of /joint_states alone used ~17% of a
core; with executor callbacks for /objects + /base_pose + /cerebellum/status the idle edge
used ~14%; polled, ~6% idle and ~20% while a skill runs.

Parameters (config/params/edge_g1.yaml, edge_panda.yaml):
    robot                        g1 | panda (robot description name)
    arm_groups.<group>           embodiment spec name, e.g. arm_groups.right_arm: g1_right
    skill_folder                 manifests + models ("" = config/skills)
    grpc_address                 host:port of the SkillService (127.0.0.1:50061)
    tls_certs_dir                "" = plaintext; else TLS with server.pem/key from this folder
    tls_require_client_cert      mTLS (client certs signed by ca.pem)
    token_file                   "" = no token; else every call needs `authorization: Bearer <token>`
    grpc_workers                 concurrent calls (each Execute stream holds one)
    tick_rate_hz                 control loop rate (skills may not run faster)
    trajectory_horizon_periods   time_from_start of each streamed point, in skill periods
    max_point_s                  ... capped (edge clock) below the cerebellum's setpoint_timeout_s
    success_hold_s               success checks must hold this long
    state_timeout_s              joint states older than this fail the active skill (a shorter
                                 gap pauses it: no step without a new joint state)
    objects_timeout_s            object poses older than this fail the active skill
    progress_rate_hz             RUNNING messages per second on an Execute stream
    skill_clock                  stamps: skill time (t_norm, timeouts) = /joint_states stamps (sim
                                 time if the body stamps with it, as in training); wall: edge clock
    bin_name                     the /objects marker that is the bin ("bin")
    table_top                    table height (m); < 0: the bin marker's z
    table_center_xy, table_size_xy   the "table" location footprint ([] = no table location)
    holding_distance, holding_min_closure, holding_min_lift   "holding" estimate in the reported world
    diagnostics_period_s
"""

from __future__ import annotations

import sys
import time
import traceback

from robot_control.common.ros import prepare_process

DEFAULT_GROUPS = {"g1": {"right_arm": "g1_right"}, "panda": {"arm": "panda"}}


def main(args: list[str] | None = None) -> int:  # noqa: C901 - one node, read top to bottom
    prepare_process()
    import logging
    from pathlib import Path

    import numpy as np
    import rclpy
    from builtin_interfaces.msg import Duration
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from geometry_msgs.msg import PoseStamped
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from sensor_msgs.msg import JointState
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint
    from visualization_msgs.msg import MarkerArray

    from robot_control.body.robot_description import load_robot
    from robot_control.common import ros as R
    from robot_control.common.periodic import PeriodicLoop
    from robot_control.edge.embodiment import SPECS
    from robot_control.edge.runtime import (
        ObjectInfo,
        RuntimeConfig,
        SkillRuntime,
        WorldModel,
        load_skills,
        merge_commands,
    )
    from robot_control.edge.service import EdgeServer, EdgeServerConfig

    logging.basicConfig(level=logging.INFO, format="[edge] %(levelname)s %(name)s: %(message)s")

    class EdgeNode(Node):
        def __init__(self) -> None:
            super().__init__("edge", automatically_declare_parameters_from_overrides=True)
            for name, default in (
                    ("robot", "g1"), ("skill_folder", ""), ("grpc_address", "127.0.0.1:50061"),
                    ("tls_certs_dir", ""), ("tls_require_client_cert", False), ("token_file", ""), ("grpc_workers", 8),
                    ("tick_rate_hz", 100.0), ("trajectory_horizon_periods", 1.5), ("max_point_s", 0.09),
                    ("success_hold_s", 0.1),
                    ("state_timeout_s", 1.0), ("objects_timeout_s", 1.0), ("progress_rate_hz", 10.0),
                    ("bin_name", "bin"), ("table_top", -1.0), ("table_center_xy", [0.0, 0.0]),
                    ("table_size_xy", [0.0, 0.0]), ("holding_distance", 0.05), ("holding_min_closure", 0.15),
                    ("holding_min_lift", 0.02), ("skill_clock", "stamps"),
                    ("diagnostics_period_s", 1.0)):
                if not self.has_parameter(name):
                    self.declare_parameter(name, default)
            p = lambda n: self.get_parameter(n).value  # noqa: E731
            self.robot = load_robot(p("robot"))
            groups = {k: v.value for k, v in self.get_parameters_by_prefix("arm_groups").items()}
            groups = groups or DEFAULT_GROUPS.get(self.robot.name, {})
            unknown = {g: s for g, s in groups.items() if s not in SPECS}
            if unknown:
                raise ValueError(f"arm_groups: unknown embodiment spec(s) {unknown} (known: {', '.join(SPECS)})")
            specs = {g: SPECS[s] for g, s in groups.items()}
            tick_hz = float(p("tick_rate_hz"))
            size = [float(v) for v in p("table_size_xy")]
            center = [float(v) for v in p("table_center_xy")]
            has_table = len(size) == 2 and min(size) > 0 and len(center) == 2
            self.config = RuntimeConfig(
                success_hold_s=float(p("success_hold_s")), horizon_periods=float(p("trajectory_horizon_periods")),
                max_point_s=float(p("max_point_s")),
                state_timeout_s=float(p("state_timeout_s")), objects_timeout_s=float(p("objects_timeout_s")),
                progress_rate_hz=float(p("progress_rate_hz")), max_rate_hz=tick_hz, bin_name=str(p("bin_name")),
                table_top=float(p("table_top")) if float(p("table_top")) >= 0 else None,
                table_center_xy=(center[0], center[1]) if has_table else None,
                table_size_xy=(size[0], size[1]) if has_table else None,
                holding_distance=float(p("holding_distance")), holding_min_closure=float(p("holding_min_closure")),
                holding_min_lift=float(p("holding_min_lift")), skill_clock=str(p("skill_clock")))
            if self.config.skill_clock not in ("stamps", "wall"):
                raise ValueError(f"skill_clock: expected stamps or wall, got {self.config.skill_clock!r}")
            folder = p("skill_folder") or None
            t0 = time.perf_counter()
            self.skills = load_skills(Path(folder) if folder else None, self.robot.name, list(specs.values()),
                                      max_rate_hz=tick_hz)
            for line in self.skills.rejected_lines():
                self.get_logger().error(f"rejected skill {line}")
            self.world = WorldModel(self.robot)
            self.runtime = SkillRuntime(self.robot, specs, self.skills, self.world, self.config)
            self.get_logger().info(
                f"serving {', '.join(sorted(self.skills.skills)) or 'no skills'} for {self.robot.name} "
                f"from {self.skills.folder} on arm group(s) "
                f"{', '.join(f'{g}={s.name}' for g, s in specs.items())} "
                f"({len(self.skills.rejected)} rejected; loaded in {time.perf_counter() - t0:.2f} s)")

            # Robot state: a private node whose depth-1 subscriptions the control thread polls
            # (no executor callback per message; topic names resolved with this node's remaps).
            self.state_node = Node(f"{self.get_name()}_state", context=self.context, namespace=self.get_namespace(),
                                   use_global_arguments=False, start_parameter_services=False, enable_rosout=False)
            latest = R.sensor_qos(depth=1)
            reliable_latest = R.command_qos(depth=1)
            for msg_type, topic, callback, qos in (
                    (JointState, "/joint_states", self._on_joint_state, latest),
                    (MarkerArray, "/objects", self._on_objects, reliable_latest),
                    (PoseStamped, "/base_pose", self._on_base_pose, latest),
                    (DiagnosticStatus, "/cerebellum/status", self._on_status, reliable_latest)):
                self.state_node.create_subscription(msg_type, self.resolve_topic_name(topic), callback, qos)
            self.state_executor = SingleThreadedExecutor(context=self.context)
            self.state_executor.add_node(self.state_node)
            self.traj_pub = self.create_publisher(JointTrajectory, "/cerebellum/trajectory", R.command_qos())
            self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
            self.create_timer(float(p("diagnostics_period_s")), self._publish_diagnostics)
            self.published = 0
            self.taken = 0  # state messages taken (all topics)
            self.ticks = 0
            self.idle_every = max(1, round(tick_hz / 10.0))  # idle: look at the robot at 10 Hz
            self.publish_errors = 0
            self.tick_errors = 0
            self.last_error = ""
            self._err_tick = R.Throttle(self.get_logger().error, 1.0)

            certs = p("tls_certs_dir")
            token = None
            if p("token_file"):
                from robot_control.brain.security import load_token

                token = load_token(p("token_file"))
            self.server = EdgeServer(self.runtime, EdgeServerConfig(
                address=p("grpc_address"), certs_dir=Path(certs) if certs else None,
                require_client_cert=bool(p("tls_require_client_cert")), workers=int(p("grpc_workers")),
                token=token)).start()
            self.get_logger().info(f"SkillService on {p('grpc_address')} (port {self.server.port}, "
                                   f"{'TLS' if self.server.tls else 'plaintext'}"
                                   f"{', bearer token' if token else ''})")
            self.loop = PeriodicLoop(1.0 / tick_hz, self._tick, name="edge")
            self.loop.start()

        # -- inputs ----------------------------------------------------------------------------------
        def _on_joint_state(self, msg: JointState) -> None:
            self.taken += 1
            self.world.update_joints(msg.name, msg.position, msg.velocity, R.stamp_to_seconds(msg.header.stamp))

        def _take_state(self) -> None:
            """Run the state subscriptions' callbacks for the newest samples that arrived (at most
            one per topic: depth 1). spin_once can return without work once per wait cycle, so
            stop after two empty calls in a row."""
            empty = 0
            for _ in range(12):
                seen = self.taken
                self.state_executor.spin_once(timeout_sec=0.0)
                empty = empty + 1 if self.taken == seen else 0
                if empty >= 2:
                    return

        def _on_objects(self, msg: MarkerArray) -> None:
            self.taken += 1
            objects = []
            for m in msg.markers:
                if not m.text:
                    continue
                pos, o, s = m.pose.position, m.pose.orientation, m.scale
                objects.append(ObjectInfo(m.text, np.array([pos.x, pos.y, pos.z]), np.array([o.x, o.y, o.z, o.w]),
                                          np.array([s.x, s.y, s.z])))
            self.world.update_objects(objects)

        def _on_base_pose(self, msg: PoseStamped) -> None:
            self.taken += 1
            p, o = msg.pose.position, msg.pose.orientation
            self.world.update_base_pose((p.x, p.y, p.z), (o.x, o.y, o.z, o.w))

        def _on_status(self, msg: DiagnosticStatus) -> None:
            self.taken += 1
            if msg.name != "cerebellum":
                return
            values = {kv.key: kv.value for kv in msg.values}
            try:
                rejected = int(values["trajectories_rejected"])
            except (KeyError, ValueError):
                rejected = None
            self.world.update_controller_mode(msg.message, rejected, values.get("last_rejection", ""))

        # -- control thread ----------------------------------------------------------------------------
        def _tick(self) -> None:
            if not self.context.ok():
                return
            self.ticks += 1
            idle = not any(ex.busy for ex in self.runtime.executors.values())
            if idle and self.ticks % self.idle_every:
                return  # no skill: the state is only needed fresh enough to accept a request
            try:
                self._take_state()
                commands = self.runtime.tick()
            except Exception as exc:  # noqa: BLE001 - keep ticking; reported on /diagnostics
                self.tick_errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._err_tick(f"skill tick failed: {self.last_error}")
                return
            for cmd in merge_commands(commands):
                msg = JointTrajectory()
                msg.joint_names = list(cmd.joint_names)
                sec = int(cmd.duration_s)
                msg.points = [JointTrajectoryPoint(
                    positions=cmd.positions.tolist(), velocities=cmd.velocities.tolist(),
                    time_from_start=Duration(sec=sec, nanosec=int(round((cmd.duration_s - sec) * 1e9))))]
                try:
                    self.traj_pub.publish(msg)
                    self.published += 1
                except Exception as exc:  # noqa: BLE001 - context going away at shutdown
                    if self.context.ok():
                        self.publish_errors += 1
                        self.last_error = str(exc)

        def _publish_diagnostics(self) -> None:
            loop = self.loop.summary()
            statuses = []
            rejected = self.skills.rejected_lines()
            for group, st in self.runtime.status().items():
                level = "OK"
                message = f"running {st['active_skill']}" if st["active_skill"] else "idle"
                values = dict(st)
                values.update(tick_rate_hz=loop["rate_hz"], missed_ticks=loop["missed"],
                              tick_jitter_p99_us=loop["jitter_us"].get("p99", 0.0),
                              trajectories_published=self.published, tick_errors=self.tick_errors,
                              last_error=self.last_error, skills=", ".join(sorted(self.skills.skills)),
                              rejected_skills=len(rejected), server_calls=self.server.servicer.calls)
                for i, line in enumerate(rejected):
                    values[f"rejected_{i}"] = line
                if rejected:
                    level, message = "WARN", f"{message}; {len(rejected)} skill(s) rejected"
                if self.loop.error is not None or self.tick_errors:
                    level, message = "ERROR", f"control loop: {self.loop.error or self.last_error}"
                statuses.append(R.diagnostic_status(f"{self.get_name()}: {group}", self.robot.name, level,
                                                    message, values))
            self.diag_pub.publish(R.diagnostic_array(self.get_clock().now().to_msg(), statuses))

        def shutdown(self) -> None:
            self.runtime.cancel_all("edge node shutting down")
            deadline = time.monotonic() + 0.2  # let one tick publish the holds
            while time.monotonic() < deadline and any(e.busy for e in self.runtime.executors.values()):
                time.sleep(0.02)
            self.loop.stop()
            self.server.stop(0.5)
            self.state_executor.shutdown(timeout_sec=1.0)
            self.state_node.destroy_node()

    rclpy.init(args=sys.argv if args is None else args)
    code = 0
    node = None
    try:
        node = EdgeNode()
        R.spin(node)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        code = 1
    finally:
        if node is not None:
            try:
                node.shutdown()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
