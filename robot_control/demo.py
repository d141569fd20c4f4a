"""`robot-control demo` / `make demo`: the whole stack does one task from one instruction.

1. Brings up config/stacks/demo.yaml under the supervisor as separate processes: body (MuJoCo
   G1 with Dex3 hands, or the Panda), cerebellum (1 kHz), edge (ONNX skills), cloud brain
   (TLS + bearer token; a fresh token per run, dev certificates via `robot-control certs`),
   bridge, and an MCAP recorder. Node logs go to runs/<run>/stack.log.
2. Waits until the bridge listens, the edge serves skills and (with the cloud) the brain link
   is up, then sends the instruction on /task.
3. Shows live progress from /task/status and /diagnostics: plan, step, skill phase, planner
   mode, per-hop latency.
4. At the end prints and writes runs/<run>/summary.json (outcome, success per sub-goal from
   the final object poses, wall time, real-time factor, control-loop stats), stops the stack
   (the recorder closes the MCAP), renders runs/<run>/video.mp4 from the recording and
   plots runs/<run>/plot.png.

Exit code: 0 when the task SUCCEEDED and every sub-goal holds in the final world; 1 when
the task failed; 2 on bad arguments; 3 when the stack did not come up or no outcome arrived
in time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STACK = 0, 1, 2, 3


class Monitor:
    """ROS side of the demo: task status, diagnostics, world and loop stats (no control).

    Without `node` it opens its own rclpy context (on ROS_DOMAIN_ID) and is spun by
    `spin_until`; given a node that something else spins (a test's `RosSession`), it only adds
    its subscriptions and publisher to it and `spin_until` just polls.
    """

    def __init__(self, node: Any = None) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy
        from std_msgs.msg import String
        from visualization_msgs.msg import MarkerArray

        from robot_control.common.ros import command_qos

        self.context: Any = None
        self.executor: Any = None
        if node is None:
            self.context = rclpy.Context()
            rclpy.init(context=self.context)
            node = rclpy.create_node(f"demo_{os.getpid()}", context=self.context)
            self.executor = SingleThreadedExecutor(context=self.context)
            self.executor.add_node(node)
        self.node = node
        self.lock = threading.Lock()
        self.status: list[tuple[float, DiagnosticStatus]] = []
        self.diag: dict[str, dict[str, str]] = {}
        self.cerebellum: dict[str, str] = {}
        self.objects: dict[str, tuple[float, float, float]] = {}
        self.sizes: dict[str, tuple[float, float, float]] = {}
        latched = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE,
                             durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
        self.node.create_subscription(DiagnosticStatus, "/task/status",
                                      lambda m: self.status.append((time.monotonic(), m)), latched)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)
        self.node.create_subscription(DiagnosticStatus, "/cerebellum/status", self._on_cerebellum, 10)
        self.node.create_subscription(MarkerArray, "/objects", self._on_objects, 10)
        self.task_pub = self.node.create_publisher(String, "/task", command_qos())

    def _on_diag(self, msg: Any) -> None:
        for s in msg.status:
            self.diag[s.name] = {"level": str(int.from_bytes(bytes(s.level), "little") if isinstance(s.level, bytes)
                                          else s.level), "message": s.message,
                                 **{kv.key: kv.value for kv in s.values}}

    def _on_cerebellum(self, msg: Any) -> None:
        self.cerebellum = {kv.key: kv.value for kv in msg.values}

    def _on_objects(self, msg: Any) -> None:
        self.objects = {m.text: (m.pose.position.x, m.pose.position.y, m.pose.position.z) for m in msg.markers
                        if m.text}
        self.sizes = {m.text: (m.scale.x, m.scale.y, m.scale.z) for m in msg.markers if m.text}

    def spin_until(self, done: Any, timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() >= end:
                return False
            if self.executor is not None:
                self.executor.spin_once(timeout_sec=0.05)
            else:
                time.sleep(0.02)
        return True

    def find(self, prefix: str) -> dict[str, str] | None:
        return next((v for k, v in list(self.diag.items()) if k.startswith(prefix)), None)

    def ready(self, use_cloud: bool) -> bool:
        """The stack can take a task: the bridge listens on /task, the edge reports on
        /diagnostics and (with the cloud) the bridge's brain link is up."""
        brain = self.find("bridge: brain link")
        cloud_ok = not use_cloud or (brain is not None and brain.get("link_mode") == "cloud")
        return self.task_pub.get_subscription_count() > 0 and self.find("edge") is not None and cloud_ok

    def close(self) -> None:
        if self.context is None:  # someone else's node: leave it to them
            return
        self.node.destroy_node()
        self.context.try_shutdown()


def demo_stack(robot: str, run_dir: Path, certs_dir: Path, *, use_cloud: bool = True, record: bool = True,
               cloud_endpoint: str | None = None) -> Any:
    """config/stacks/demo.yaml with its arguments set (a StackSpec); with the cloud, creates
    development certificates in `certs_dir` unless a CA is already there. Raises ConfigError."""
    from robot_control.brain import certs
    from robot_control.supervisor.stack import load_stack

    if use_cloud and not (certs_dir / "ca.pem").is_file():
        certs.create_dev_certs(certs_dir)
    arguments = {"robot": robot, "run_dir": str(run_dir), "use_cloud": str(use_cloud).lower(),
                 "certs_dir": str(certs_dir), "record": str(record).lower()}
    if cloud_endpoint:
        arguments["cloud_endpoint"] = cloud_endpoint
    return load_stack("demo", arguments)


def stack_env(domain_id: int) -> dict[str, str]:
    """Environment of the demo stack's processes: its ROS domain and a fresh brain token."""
    return {"ROS_DOMAIN_ID": str(domain_id), "BRAIN_TOKEN": secrets.token_urlsafe(24)}


def _hops(mon: Monitor) -> str:
    parts = []
    brain = mon.find("bridge: brain link")
    if brain:
        parts.append(f"link {brain.get('link_mode', '?')}")
        if brain.get("brain_rtt_ms") not in (None, "", "nan"):
            parts.append(f"brain {float(brain['brain_rtt_ms']):.0f} ms")
    edge = mon.find("bridge: edge link")
    if edge and edge.get("edge_first_progress_ms") not in (None, "", "nan"):
        parts.append(f"edge {float(edge['edge_first_progress_ms']):.1f} ms")
    loop = mon.find("cerebellum: controller") or {}
    if loop.get("rate_hz"):
        parts.append(f"loop {float(loop['rate_hz']):.0f} Hz")
    return ", ".join(parts)


def _describe(values: dict[str, str], message: str) -> str:
    from robot_control.tools.render_video import status_line

    return status_line(values, message)


def sub_goals(goals_text: str, objects: dict[str, tuple[float, float, float]],
               sizes: dict[str, tuple[float, float, float]]) -> dict[str, bool]:
    """at(object, location) goals checked against the final object poses: the object's centre
    inside the location's footprint (its marker size) and no higher than its rim + 0.15 m."""
    from robot_control.bridge.tasks import parse_atoms

    results: dict[str, bool] = {}
    try:
        atoms = parse_atoms(goals_text) if goals_text else ()
    except ValueError:
        return results
    for atom in atoms:
        label = f"{atom[0]}({', '.join(atom[1:])})"
        if atom[0] == "at" and len(atom) == 3 and atom[1] in objects and atom[2] in objects:
            o, loc = objects[atom[1]], objects[atom[2]]
            sx, sy, sz = sizes.get(atom[2], (0.0, 0.0, 0.0))
            results[label] = (abs(o[0] - loc[0]) <= sx / 2 and abs(o[1] - loc[1]) <= sy / 2
                              and o[2] < loc[2] + sz + 0.15)
        else:
            results[label] = False
    return results


def run_demo(args: argparse.Namespace) -> int:
    from robot_control.common.config import ConfigError
    from robot_control.supervisor.process import Supervisor

    if args.no_cloud and not args.goals:
        print("demo: --no-cloud plans on the robot, which reads structured goals only: give --goals", file=sys.stderr)
        return EXIT_USAGE
    if not args.instruction:
        args.instruction = DEFAULT_INSTRUCTIONS[args.robot]
    t_start = time.monotonic()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.runs_dir).resolve() / f"{stamp}-{args.robot}"
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        stack = demo_stack(args.robot, run_dir, Path(args.certs_dir).expanduser(), use_cloud=not args.no_cloud)
    except ConfigError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    domain = args.domain_id if args.domain_id is not None else random.randint(20, 99)
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    env = stack_env(domain)
    log_file = open(run_dir / "stack.log", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    supervisor = Supervisor(stack, out=log_file, extra_env=env, colour=False)
    exit_holder: dict[str, int] = {}
    runner = threading.Thread(target=lambda: exit_holder.setdefault("code", supervisor.run()), daemon=True)
    print(f"demo: {args.robot}: bringing up {', '.join(n.name for n in stack.nodes)} "
          f"(ROS_DOMAIN_ID={domain}; logs: {run_dir / 'stack.log'})", flush=True)
    runner.start()
    mon = Monitor()
    summary: dict[str, Any] = {"robot": args.robot, "instruction": args.instruction, "run_dir": str(run_dir)}
    code = EXIT_STACK
    try:
        code = _run_task(args, mon, runner, summary, t_start)
    except KeyboardInterrupt:
        print("demo: interrupted", file=sys.stderr)
        code = 130
    finally:
        collect_stats(mon, summary)
        mon.close()
        supervisor.request_stop()
        runner.join(60)
        log_file.close()
    summary["wall_time_s"] = round(time.monotonic() - t_start, 1)
    recording = run_dir / "recording.mcap"
    if recording.is_file():
        summary["recording"] = str(recording)
        try:
            from robot_control.tools.plot_run import plot

            summary["plot"] = plot(recording, run_dir / "plot.png")
        except Exception as exc:  # noqa: BLE001 - report, the run itself is over
            summary["plot_error"] = str(exc)
        if not args.no_video:
            print("demo: rendering the video from the recording ...", flush=True)
            try:
                from robot_control.tools.render_video import render

                summary["video"] = render(recording, args.robot, run_dir / "video.mp4", fps=args.fps)
            except Exception as exc:  # noqa: BLE001
                summary["video_error"] = str(exc)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"demo: {'SUCCEEDED' if code == EXIT_OK else 'did not succeed'}; artefacts in {run_dir}", flush=True)
    return code


def _run_task(args: argparse.Namespace, mon: Monitor, runner: threading.Thread, summary: dict[str, Any],
              t_start: float) -> int:
    from std_msgs.msg import String

    from robot_control.bridge.tasks import new_task_id, parse_atoms, task_message

    if not mon.spin_until(lambda: mon.ready(not args.no_cloud) or not runner.is_alive(), args.startup_timeout):
        print(f"demo: the stack did not come up within {args.startup_timeout:g} s "
              f"(bridge listening: {mon.task_pub.get_subscription_count() > 0}, edge: {mon.find('edge') is not None}, "
              f"brain link: {(mon.find('bridge: brain link') or {}).get('link_mode')})", file=sys.stderr)
        return EXIT_STACK
    if not runner.is_alive():
        print("demo: the stack stopped during start-up; see stack.log", file=sys.stderr)
        return EXIT_STACK
    summary["startup_s"] = round(time.monotonic() - t_start, 1)
    task_id = new_task_id("demo")
    t_task = time.monotonic()
    if args.goals:
        payload = task_message(task_id, goals=parse_atoms(args.goals))
    else:
        payload = task_message(task_id, instruction=args.instruction)
    mon.task_pub.publish(String(data=payload))
    print(f"demo: task {task_id}: {args.goals or args.instruction!r}", flush=True)
    shown, last, plan_shown = 0, "", ""
    final = None
    first_motion = None
    while final is None:
        if not mon.spin_until(lambda n=shown: len(mon.status) > n or not runner.is_alive(),
                              max(0.0, args.timeout - (time.monotonic() - t_task))):
            break
        for t, msg in mon.status[shown:]:
            if msg.hardware_id != task_id:
                continue
            values = {kv.key: kv.value for kv in msg.values}
            if values.get("plan") and values["plan"] != plan_shown:
                plan_shown = values["plan"]
                print(f"  plan: {plan_shown}", flush=True)
            if first_motion is None and values.get("skill_phase") == "RUNNING":
                first_motion = t - t_task
            line = _describe(values, msg.message)
            if line != last:
                print(f"[{t - t_task:7.2f} s] {line}   ({_hops(mon)})", flush=True)
                last = line
            if values.get("state") in ("SUCCEEDED", "FAILED", "ABORTED", "CANCELED"):
                final = (values, msg.message)
        shown = len(mon.status)
        if not runner.is_alive():
            break
    if final is None:
        print(f"demo: no outcome within {args.timeout:g} s", file=sys.stderr)
        summary["outcome"] = "TIMEOUT"
        return EXIT_STACK
    values, message = final
    mon.spin_until(lambda: False, 1.0)  # a last /objects update after the final step
    summary.update({"task_id": task_id, "outcome": values.get("state"), "message": message,
                    "plan": values.get("plan", ""), "planner_mode": values.get("planner_mode", ""),
                    "replans": values.get("replans", "0"), "task_time_s": round(time.monotonic() - t_task, 1),
                    "instruction_to_first_motion_s": None if first_motion is None else round(first_motion, 2)})
    summary["sub_goals"] = sub_goals(values.get("goals", ""), mon.objects, mon.sizes)
    ok = values.get("state") == "SUCCEEDED" and bool(summary["sub_goals"]) and all(summary["sub_goals"].values())
    return EXIT_OK if ok else EXIT_FAILED


def collect_stats(mon: Monitor, summary: dict[str, Any]) -> None:
    body = mon.find("body") or {}
    summary["real_time_factor"] = body.get("real_time_factor")
    summary["body"] = {k: body[k] for k in ("rate_hz", "missed_periods", "overruns", "real_time_factor") if k in body}
    # the cerebellum's loop statistics are on /diagnostics (/cerebellum/status carries its mode)
    loop = mon.find("cerebellum: controller") or {}
    summary["control_loop"] = {k: loop[k] for k in ("rate_hz", "missed_periods", "missed_pct", "jitter_p50_us",
                                                    "jitter_p99_us", "latency_p50_us", "latency_p99_us",
                                                    "latency_from", "compute_p99_us") if k in loop}
    brain = mon.find("bridge: brain link") or {}
    summary["brain_link"] = {k: v for k, v in brain.items() if k.endswith("_ms") or k == "link_mode"}


# The default task per robot: two objects each. The G1 puts the red box and then the green can in
# the tray (the can goes to the tray's other slot); live, on 2 cores, 9 of 9 runs succeeded, 8
# without a replan (2026-12-05, after the G1 IK fix and the skills retrained on it; in one the
# box's lift overshot 3 cm, timed out, and the bridge replanned). The Panda scene has red, green
# and blue cubes.
DEFAULT_INSTRUCTIONS = {"g1": "put the red cube and the green can in the bin",
                        "panda": "put the red cube and the green cube in the bin"}


def add_arguments(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--robot", default="g1", choices=("g1", "panda"))
    demo.add_argument("--instruction", default=None,
                      help="what to do (default per robot: " + "; ".join(
                          f"{r}: {t!r}" for r, t in DEFAULT_INSTRUCTIONS.items()) + ")")
    demo.add_argument("--headless", action="store_true", help="no viewer (the default: the demo never opens one)")
    demo.add_argument("--no-video", action="store_true", help="skip rendering runs/<run>/video.mp4")
    demo.add_argument("--goals", default="", help='structured goals instead of the instruction, e.g. '
                      '"at(red_cube,bin) at(green_can,bin)" (needed with --no-cloud)')
    demo.add_argument("--no-cloud", action="store_true",
                      help="no brain process: the bridge plans locally (structured goals only: give --goals)")
    demo.add_argument("--fps", type=float, default=10.0, help="video frame rate (%(default)s)")
    demo.add_argument("--runs-dir", default="runs")
    demo.add_argument("--certs-dir", default=str(Path.home() / ".robot_control" / "certs"))
    demo.add_argument("--domain-id", type=int, default=None)
    demo.add_argument("--startup-timeout", type=float, default=180.0)
    demo.add_argument("--timeout", type=float, default=600.0, help="seconds for the task (%(default)s)")
