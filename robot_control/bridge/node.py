"""Bridge node: tasks in, plans from the brain (or the local planner), skills on the edge.

Topics and services (standard messages only):

* ``/task`` (std_msgs/String, reliable): a task - plain natural-language text, or the
  structured YAML/JSON form with an optional ``id`` and exactly one of ``instruction`` or
  ``goals``, e.g. ``{"id": "t1", "goals": [["at", "red_cube", "bin"], ["at", "green_can", "bin"]]}``
  or ``goals: at(red_cube, bin), at(green_can, bin)`` (see `robot_control.bridge.tasks`).
  One task runs at a time; a task sent while another runs is answered FAILED ("busy").
* ``/task/status`` (diagnostic_msgs/DiagnosticStatus, reliable + transient-local, depth 10):
  one message per change; ``hardware_id`` = task id, ``values`` = state (ACCEPTED, PLANNING,
  EXECUTING, SUCCEEDED, FAILED, ABORTED, CANCELED), plan, step/steps, current_step,
  skill_phase, sub_phase, progress, planner_mode (cloud | local), replans, ... (the keys are
  documented in `robot_control.bridge.tasks`).
* ``/task/cancel`` (std_srvs/Trigger): cancel the running (or waiting) task; the in-flight
  Execute call is cancelled and the edge holds the robot.
* ``/diagnostics`` (diagnostic_msgs/DiagnosticArray, every ``diagnostics_period_s``):
  ``bridge: brain link`` (link_mode cloud | degraded-local | local-only, round trip /
  server / transport ms of the last cloud answer, planner stages, local planning and fallback
  ms, last error), ``bridge: edge link`` (Execute first-progress ms, step ms, last edge
  error) and ``bridge: tasks`` (active task, counts, world age).
* ``/objects`` (visualization_msgs/MarkerArray from the body) is the world: see
  `robot_control.bridge.world` for how poses become symbolic locations.
* ``/cerebellum/status`` (diagnostic_msgs/DiagnosticStatus from the cerebellum): while its
  mode is ``estop`` or ``tilt_stop`` the running task is ABORTED (its in-flight skill call
  cancelled) instead of being replanned against a controller that refuses every trajectory;
  a task sent while the latch holds is aborted the same way. ``/cerebellum/reset`` clears it.

Parameters: config/params/bridge.yaml. The cloud link needs the bearer token in the
environment variable named by ``token_env`` (or a ``token_file``) and the CA in
``certs_dir`` (``robot-control certs`` creates a development set). A background monitor
health-checks the brain every ``link_check_period_s``; plans go to the cloud whenever it
answers and to the local planner (structured goals) when it does not.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
import traceback
from pathlib import Path

from robot_control.common.ros import prepare_process

log = logging.getLogger("robot_control.bridge.node")

DEFAULTS: dict[str, object] = {
    "robot": "g1",
    "arm_groups": "",  # empty: groups named arm / *_arm in the robot description
    "locations": ["table", "bin"],
    "support_location": "table",
    "support_min_z": 0.5,
    "location_margin_m": 0.01,
    "use_cloud": True,
    "brain_endpoint": "127.0.0.1:50051",
    "brain_server_name": "",
    "certs_dir": "~/.robot_control/certs",
    "mtls": False,
    "token_env": "BRAIN_TOKEN",
    "token_file": "",
    "plan_deadline_s": 5.0,
    "replan_deadline_s": 3.0,
    "local_reserve_s": 0.5,
    "make_plan_attempts": 4,
    "local_planner_budget_s": 1.0,
    "max_replans": 3,
    "link_check_period_s": 1.0,
    "link_check_timeout_s": 0.5,
    "edge_endpoint": "127.0.0.1:50061",
    "edge_tls": False,
    "edge_certs_dir": "",
    "edge_mtls": False,
    "edge_server_name": "",
    "edge_token_env": "",
    "edge_call_timeout_s": 2.0,
    "step_timeout_margin_s": 5.0,
    "default_step_timeout_s": 30.0,
    "world_wait_s": 5.0,
    "settle_timeout_s": 3.0,
    "settle_tolerance_m": 0.005,
    "recovery_attempts": 2,
    "verify_goals": True,
    "diagnostics_period_s": 1.0,
}


CONTROLLER_STOPS = ("estop", "tilt_stop")  # cerebellum modes that refuse trajectories until reset


def _names(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return tuple(str(v) for v in (value or ()))


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value * 1e3:.2f}"


def main(args: list[str] | None = None) -> int:  # noqa: C901 - one node, read top to bottom
    prepare_process()
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from rclpy.node import Node
    from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy
    from std_msgs.msg import String
    from std_srvs.srv import Trigger
    from visualization_msgs.msg import Marker, MarkerArray

    from robot_control.body.robot_description import load_robot
    from robot_control.brain import security
    from robot_control.bridge.edge_client import EdgeConfig, SkillClient
    from robot_control.bridge.executor import ExecutorConfig, TaskExecutor
    from robot_control.bridge.local_planner import LocalPlanner
    from robot_control.bridge.planner_client import ClientConfig, LocalOnlyPlanner, PlannerClient
    from robot_control.bridge.tasks import (
        TaskFormatError,
        TaskSpec,
        TaskState,
        TaskStatus,
        format_atoms,
        parse_task_message,
    )
    from robot_control.bridge.world import (
        HoldingTracker,
        ObjectObservation,
        WorldConfig,
        WorldModel,
        arm_groups_from_description,
    )
    from robot_control.common import ros as R

    status_qos = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE,
                            durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)

    class ConfigurationError(RuntimeError):
        pass

    class BridgeNode(Node):
        def __init__(self) -> None:
            super().__init__("bridge", automatically_declare_parameters_from_overrides=True)
            for name, default in DEFAULTS.items():
                if not self.has_parameter(name):
                    self.declare_parameter(name, default)
            p = self.p
            robot = load_robot(str(p("robot")))
            arms = _names(p("arm_groups")) or arm_groups_from_description(robot)
            self.world = WorldModel(WorldConfig(
                robot=robot.name, arm_groups=arms, locations=_names(p("locations")),
                support_location=str(p("support_location")), support_min_z=float(p("support_min_z")),
                margin_m=float(p("location_margin_m"))))
            self.holding = HoldingTracker()
            self.use_cloud = bool(p("use_cloud"))
            local = LocalPlanner(max_budget_s=float(p("local_planner_budget_s")))
            if self.use_cloud:
                try:
                    token = security.load_token(str(p("token_file")) or None, str(p("token_env")))
                except security.SecurityError as exc:
                    raise ConfigurationError(f"{exc} (or set use_cloud:=false for local planning only)") from exc
                certs = Path(str(p("certs_dir"))).expanduser()
                if not (certs / "ca.pem").is_file():
                    raise ConfigurationError(f"no CA bundle {certs / 'ca.pem'}: run `robot-control certs "
                                             f"--dir {certs}` or point certs_dir at your certificates")
                cfg = ClientConfig.from_certs_dir(
                    str(p("brain_endpoint")), certs, token, mtls=bool(p("mtls")),
                    deadline_s=float(p("plan_deadline_s")), local_reserve_s=float(p("local_reserve_s")),
                    max_attempts=int(p("make_plan_attempts")), server_name=str(p("brain_server_name")) or None)
                self.planner = PlannerClient(cfg, local)
            else:
                self.planner = LocalOnlyPlanner(local)
            try:
                self.skills = SkillClient(self._edge_config())
            except security.SecurityError as exc:
                raise ConfigurationError(str(exc)) from exc
            try:
                executor_config = ExecutorConfig(
                    plan_deadline_s=float(p("plan_deadline_s")), replan_deadline_s=float(p("replan_deadline_s")),
                    max_replans=int(p("max_replans")), world_wait_s=float(p("world_wait_s")),
                    verify_goals=bool(p("verify_goals")), settle_timeout_s=float(p("settle_timeout_s")),
                    settle_tolerance_m=float(p("settle_tolerance_m")),
                    recovery_attempts=int(p("recovery_attempts")))
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from exc
            self.tasks = TaskExecutor(self.planner, self.skills, self.world, self.holding, executor_config,
                                      robot=robot.name, on_status=self._publish_status)

            self.status_pub = self.create_publisher(DiagnosticStatus, "/task/status", status_qos)
            self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
            self.create_subscription(String, "/task", self._on_task, R.command_qos())
            self.create_subscription(MarkerArray, "/objects", self._on_objects, R.sensor_qos(depth=1))
            self.create_subscription(DiagnosticStatus, "/cerebellum/status", self._on_controller, 10)
            self.create_service(Trigger, "/task/cancel", self._on_cancel)
            self.create_timer(float(p("diagnostics_period_s")), self._publish_diagnostics)

            self._last_logged: tuple = ()
            self._queue: queue.Queue[TaskSpec] = queue.Queue()
            self._state_lock = threading.Lock()
            self._pending: TaskSpec | None = None  # accepted, waiting for the worker
            self._busy = False
            self._stop = threading.Event()
            self._worker = threading.Thread(target=self._work, name="bridge-tasks", daemon=True)
            self._monitor = threading.Thread(target=self._watch_link, name="bridge-link", daemon=True)
            # /diagnostics says "cloud" only once a health check (or a plan) has reached the brain:
            # the client's optimistic initial link state is not a brain that serves.
            self._link_checked = threading.Event()
            self._worker.start()
            if self.use_cloud and float(p("link_check_period_s")) > 0:
                self._monitor.start()
            else:
                self._link_checked.set()
            self.get_logger().info(
                f"bridge for {robot.name!r} (arms {', '.join(arms)}): brain "
                f"{p('brain_endpoint') if self.use_cloud else 'disabled (local planner only)'}, "
                f"edge {p('edge_endpoint')}")

        def p(self, name: str):
            return self.get_parameter(name).value

        def _edge_config(self) -> EdgeConfig:
            p = self.p
            kw = dict(call_timeout_s=float(p("edge_call_timeout_s")),
                      step_timeout_margin_s=float(p("step_timeout_margin_s")),
                      default_step_timeout_s=float(p("default_step_timeout_s")),
                      server_name=str(p("edge_server_name")) or None)
            token_env = str(p("edge_token_env"))
            token = None
            if token_env:
                try:
                    token = security.load_token(None, token_env)
                except security.SecurityError as exc:
                    raise ConfigurationError(f"edge token: {exc}") from exc
            target = str(p("edge_endpoint"))
            if bool(p("edge_tls")):
                certs = str(p("edge_certs_dir")) or str(p("certs_dir"))
                return EdgeConfig.from_certs_dir(target, certs, mtls=bool(p("edge_mtls")), token=token, **kw)
            return EdgeConfig(target=target, token=token, **kw)

        # -- inputs ------------------------------------------------------------------------
        def _on_task(self, msg: String) -> None:
            try:
                spec = parse_task_message(msg.data)
            except TaskFormatError as exc:
                self.get_logger().warning(f"rejected /task: {exc}")
                self._publish_status(TaskStatus(task_id=exc.task_id or "invalid", state=TaskState.FAILED,
                                                message=f"invalid task: {exc}", instruction=msg.data[:200]))
                return
            with self._state_lock:
                busy = self._busy
                if not busy:
                    self._busy = True
                    self._pending = spec
            if busy:
                active = self.tasks.active
                what = f"task {active.task_id}" if active else "another task"
                self._publish_status(TaskStatus(task_id=spec.task_id, state=TaskState.FAILED,
                                                instruction=spec.instruction,
                                                message=f"busy with {what}; cancel it first (/task/cancel)"))
                return
            self.get_logger().info(f"task {spec.task_id}: {spec.instruction or format_atoms(spec.goals)}")
            self._queue.put(spec)

        def _on_objects(self, msg: MarkerArray) -> None:
            observations = []
            for m in msg.markers:
                if m.action == Marker.DELETEALL:
                    observations = []
                    continue
                if m.action != Marker.ADD:
                    continue
                name = m.text or m.ns
                pos, q, s = m.pose.position, m.pose.orientation, m.scale
                observations.append(ObjectObservation(name, (pos.x, pos.y, pos.z), (q.x, q.y, q.z, q.w),
                                                      (s.x, s.y, s.z), m.header.frame_id or "world"))
            self.world.update(observations)

        def _on_controller(self, msg: DiagnosticStatus) -> None:
            mode = msg.message
            if mode not in CONTROLLER_STOPS:
                return
            values = {kv.key: kv.value for kv in msg.values}
            why = values.get("estop_reason" if mode == "estop" else "tilt_reason", "")
            what = "e-stop" if mode == "estop" else "tilt stop"
            reason = (f"the cerebellum is in {what}{f' ({why})' if why else ''}: it holds the robot and "
                      "refuses trajectories until /cerebellum/reset")
            if self.tasks.abort(reason):
                self.get_logger().warning(f"aborting the running task: {reason}", throttle_duration_sec=5.0)

        def _on_cancel(self, request, response):
            with self._state_lock:
                pending, self._pending = self._pending, None
            if pending is not None:
                response.success, response.message = True, f"canceled task {pending.task_id} before it started"
                self._publish_status(TaskStatus(task_id=pending.task_id, state=TaskState.CANCELED,
                                                instruction=pending.instruction, message="canceled before start"))
                return response
            active = self.tasks.active
            if active is not None and self.tasks.cancel():
                response.success, response.message = True, f"canceling task {active.task_id}"
            else:
                response.success, response.message = False, "no task is running"
            return response

        # -- work --------------------------------------------------------------------------
        def _work(self) -> None:
            from robot_control.brain.planner import warm_up

            try:
                self.get_logger().info(f"local planner warm-up {warm_up():.2f} s")
            except Exception as exc:  # noqa: BLE001 - the cloud may still plan
                self.get_logger().error(f"local planner warm-up failed: {exc}")
            while not self._stop.is_set():
                try:
                    spec = self._queue.get(timeout=0.2)
                except queue.Empty:
                    continue
                with self._state_lock:  # from pending to the executor's current task, atomically for cancel
                    canceled = self._pending is None or self._pending.task_id != spec.task_id
                    self._pending = None
                    if not canceled:
                        self.tasks.accept(spec)
                try:
                    if not canceled:
                        self.tasks.run(spec)
                finally:
                    with self._state_lock:
                        self._busy = False

        def _watch_link(self) -> None:
            period = float(self.p("link_check_period_s"))
            timeout = float(self.p("link_check_timeout_s"))
            while not self._stop.is_set():
                self.planner.check_link(timeout)
                self._link_checked.set()
                self._stop.wait(period)

        def shutdown(self) -> None:
            self._stop.set()
            with self._state_lock:
                self._pending = None
            if self.tasks.cancel():
                self.get_logger().warning("shutting down: canceled the running task")
            self._worker.join(10.0)
            if self._monitor.is_alive():
                self._monitor.join(2.0)
            self.skills.close()
            self.planner.close()

        # -- outputs -----------------------------------------------------------------------
        def _publish_status(self, status: TaskStatus) -> None:
            msg = R.diagnostic_status("task", status.task_id, status.level, status.message, status.to_values())
            if self.context.ok():
                self.status_pub.publish(msg)
            key = (status.task_id, status.state, status.message)
            if key != self._last_logged and (status.state is not TaskState.EXECUTING or not status.skill_phase):
                self._last_logged = key  # one log line per state / step, not per progress message
                line = f"task {status.task_id} {status.state.value}: {status.message}"
                if status.level == "OK":  # rclpy wants one severity per call site
                    self.get_logger().info(line)
                else:
                    self.get_logger().warning(line)

        def link_mode(self) -> str:
            if not self.use_cloud:
                return "local-only"
            up = self.planner.link_up and (self._link_checked.is_set() or self.tasks.metrics.planner_mode == "cloud")
            return "cloud" if up else "degraded-local"

        def _publish_diagnostics(self) -> None:
            m = self.tasks.metrics
            mode = self.link_mode()
            brain = {"link_mode": mode, "brain_endpoint": self.p("brain_endpoint") if self.use_cloud else "",
                     "last_plan_mode": m.planner_mode, "brain_rtt_ms": _ms(m.brain_round_trip_s),
                     "brain_server_ms": _ms(m.brain_server_s), "brain_transport_ms": _ms(m.brain_transport_s),
                     **{f"brain_{k}_ms": _ms(v) for k, v in sorted(m.brain_stages_s.items())},
                     "local_plan_ms": _ms(m.local_plan_s), "fallback_ms": _ms(m.fallback_s),
                     "plans": m.plans, "local_plans": m.local_plans, "replans": m.replans,
                     "fallbacks": getattr(self.planner, "fallbacks", 0),
                     "last_error": getattr(self.planner, "last_error", "") or m.last_error}
            level = {"cloud": "OK", "degraded-local": "WARN", "local-only": "OK"}[mode]
            text = {"cloud": "cloud planner reachable", "degraded-local": "cloud unreachable: local planner",
                    "local-only": "cloud disabled: local planner"}[mode]
            edge = {"edge_endpoint": self.p("edge_endpoint"),
                    "edge_first_progress_ms": _ms(m.edge_first_progress_s), "edge_step_ms": _ms(m.edge_step_s),
                    "edge_server_ms": _ms(m.edge_server_s), "steps_executed": m.steps_executed,
                    "last_error": m.edge_last_error}
            active = self.tasks.active
            age = time.monotonic() - self.world.last_update if self.world.has_data else float("inf")
            tasks = {"active_task": active.task_id if active else "",
                     "state": active.state.value if active else "",
                     "world_age_s": f"{age:.2f}", "world_updates": self.world.updates,
                     "last_error": m.last_error, **{k.lower(): v for k, v in sorted(m.tasks.items())}}
            name = self.get_name()
            statuses = [
                R.diagnostic_status(f"{name}: brain link", self.p("robot"), level, text, brain),
                R.diagnostic_status(f"{name}: edge link", self.p("robot"), "ERROR" if m.edge_error else "OK",
                                    m.edge_error or "ok", edge),
                R.diagnostic_status(f"{name}: tasks", self.p("robot"), "OK",
                                    f"running {active.task_id}" if active else "idle", tasks),
            ]
            self.diag_pub.publish(R.diagnostic_array(self.get_clock().now().to_msg(), statuses))

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rclpy.init(args=sys.argv if args is None else args)
    code = 0
    node = None
    try:
        node = BridgeNode()
        R.spin(node)
    except ConfigurationError as exc:
        logging.getLogger("bridge").error("%s", exc)
        code = 2
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        code = 1
    finally:
        if node is not None:
            node.shutdown()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
