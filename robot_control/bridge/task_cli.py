"""`robot-control task` and `robot-control certs`: the operator's side of the bridge.

    robot-control task "put the red cube in the bin"            # natural language (needs the cloud)
    robot-control task --goals "at(red_cube,bin) at(green_can,bin)" --timeout 120
    robot-control certs [--dir DIR] [--force] [--host NAME]

`task` publishes the task on /task (the structured form with its own id), follows
/task/status for that id, prints each change, and exits 0 when the task SUCCEEDED, 1 when
it FAILED, ABORTED or was CANCELED, 2 on bad arguments, 3 when --timeout passed first (the
task is then cancelled through /task/cancel unless --no-cancel), 4 when no bridge listens on
/task, 130 on Ctrl-C (after cancelling the task).

`certs` creates the development CA + server + client certificates the brain and the bridge
use (`robot_control.brain.certs`) and prints their paths; an existing complete set is kept
unless --force.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

DEFAULT_CERTS = Path.home() / ".robot_control" / "certs"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_NO_BRIDGE, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


def add_parsers(sub: argparse._SubParsersAction) -> None:
    task = sub.add_parser("task", help="send a task to the bridge (/task) and follow /task/status",
                          description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    task.add_argument("instruction", nargs="?", default="", help="what to do, in words")
    task.add_argument("--goals", default="",
                      help='structured goals instead of words, e.g. "at(red_cube,bin) at(green_can,bin)" '
                           'or \'[["at","red_cube","bin"]]\'')
    task.add_argument("--id", default="", help="task id (default: cli-<random>)")
    task.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the outcome (%(default)s)")
    task.add_argument("--wait-bridge", type=float, default=15.0,
                      help="seconds to wait for a bridge on /task (%(default)s)")
    task.add_argument("--no-cancel", action="store_true", help="leave the task running on timeout / Ctrl-C")
    task.add_argument("--domain-id", type=int, default=None, help="ROS_DOMAIN_ID (default: environment)")
    task.add_argument("--quiet", action="store_true", help="print only the outcome")
    task.set_defaults(func=cmd_task)

    certs = sub.add_parser("certs", help="create the development CA and server/client certificates")
    certs.add_argument("--dir", type=Path, default=DEFAULT_CERTS, help="folder (default %(default)s)")
    certs.add_argument("--force", action="store_true", help="replace an existing set")
    certs.add_argument("--host", action="append", default=[],
                       help="extra server name or IP for the server certificate (repeatable)")
    certs.set_defaults(func=cmd_certs)


def cmd_certs(args: argparse.Namespace) -> int:
    from robot_control.brain import certs

    folder = args.dir.expanduser()
    complete = all((folder / f).is_file() for f in certs.FILES)
    if complete and not args.force:
        paths, what = certs.CertPaths(folder), "kept the existing"
    else:
        paths, what = certs.create_dev_certs(folder, tuple(args.host)), "created"
    print(f"{what} development certificates in {folder}")
    for label, path in (("ca", paths.ca), ("server_cert", paths.server_cert), ("server_key", paths.server_key),
                        ("client_cert", paths.client_cert), ("client_key", paths.client_key)):
        print(f"  {label:12s} {path}")
    return 0


def build_task(args: argparse.Namespace) -> tuple[str, str]:
    """(task id, /task payload) from the arguments; raises ValueError."""
    from robot_control.bridge.tasks import new_task_id, parse_atoms, task_message

    if bool(args.instruction.strip()) == bool(args.goals.strip()):
        raise ValueError("give either an instruction or --goals")
    task_id = args.id or new_task_id("cli")
    if args.goals.strip():
        text = args.goals.strip()
        if text.startswith("["):
            import yaml

            goals = parse_atoms(yaml.safe_load(text))
        else:
            goals = parse_atoms(text)
        return task_id, task_message(task_id, goals=goals)
    return task_id, task_message(task_id, instruction=args.instruction.strip())


def describe(status) -> str:
    from robot_control.bridge.tasks import TaskState

    parts = [f"{status.state.value:9s}"]
    if status.state is TaskState.EXECUTING and status.step:
        parts.append(f"step {status.step}/{status.steps} {status.current_step}")
        if status.skill_phase:
            parts.append(status.skill_phase + (f" {status.sub_phase}" if status.sub_phase else "")
                         + (f" {status.progress * 100:.0f}%" if 0 < status.progress < 1 else ""))
    else:
        parts.append(status.message)
    if status.planner_mode:
        parts.append(f"[{status.planner_mode}]")
    return " ".join(p for p in parts if p)


def cmd_task(args: argparse.Namespace) -> int:
    try:
        task_id, payload = build_task(args)
    except ValueError as exc:
        print(f"robot-control task: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.domain_id is not None:
        os.environ["ROS_DOMAIN_ID"] = str(args.domain_id)
    from robot_control.common.ros_env import apply_ros_env_defaults

    apply_ros_env_defaults()
    import rclpy
    from diagnostic_msgs.msg import DiagnosticStatus
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions
    from std_msgs.msg import String
    from std_srvs.srv import Trigger

    from robot_control.bridge.tasks import TaskState, TaskStatus
    from robot_control.common.ros import command_qos

    context = rclpy.Context()
    # Ctrl-C raises KeyboardInterrupt here (instead of shutting the context down) so the task
    # can still be cancelled through /task/cancel before exiting.
    rclpy.init(context=context, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node(f"task_cli_{os.getpid()}", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    updates: list[TaskStatus] = []

    def on_status(msg: DiagnosticStatus) -> None:
        if msg.hardware_id == task_id:
            updates.append(TaskStatus.from_values({kv.key: kv.value for kv in msg.values}, msg.message))

    status_qos = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE,
                            durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
    node.create_subscription(DiagnosticStatus, "/task/status", on_status, status_qos)
    pub = node.create_publisher(String, "/task", command_qos())
    cancel = node.create_client(Trigger, "/task/cancel")
    t0 = time.monotonic()

    def spin_until(done, timeout_s: float) -> bool:
        end = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() >= end or not context.ok():
                return False
            executor.spin_once(timeout_sec=0.05)
        return True

    def cancel_task(why: str) -> None:
        if args.no_cancel:
            print(f"{why}; task {task_id} left running (--no-cancel)", file=sys.stderr)
            return
        if not cancel.wait_for_service(timeout_sec=2.0):
            print(f"{why}; /task/cancel not available", file=sys.stderr)
            return
        future = cancel.call_async(Trigger.Request())
        spin_until(future.done, 5.0)
        answer = future.result() if future.done() else None
        print(f"{why}; cancel: {answer.message if answer else 'no answer'}", file=sys.stderr)
        spin_until(lambda: bool(updates) and updates[-1].state.terminal, 10.0)

    code = EXIT_TIMEOUT
    try:
        if not spin_until(lambda: pub.get_subscription_count() > 0, args.wait_bridge):
            print(f"robot-control task: no bridge is listening on /task (ROS_DOMAIN_ID="
                  f"{os.environ.get('ROS_DOMAIN_ID', '0')}); start bridge_node", file=sys.stderr)
            return EXIT_NO_BRIDGE
        pub.publish(String(data=payload))
        if not args.quiet:
            print(f"task {task_id}: {args.instruction or args.goals}", flush=True)
        shown = 0
        last_line = ""
        final: TaskStatus | None = None
        while final is None:
            left = max(args.timeout - (time.monotonic() - t0), 0.0)
            if not spin_until(lambda n=shown: len(updates) > n, left):
                break
            for status in updates[shown:]:
                line = describe(status)
                if line != last_line and not args.quiet:
                    print(f"[{time.monotonic() - t0:7.2f}s] {line}", flush=True)
                last_line = line
                if status.state.terminal:
                    final = status
                    break
            shown = len(updates)
        if final is None:
            if context.ok():
                cancel_task(f"robot-control task: no outcome within {args.timeout:g} s")
            return EXIT_TIMEOUT
        print(f"{final.state.value}: {final.message}", flush=True)
        code = EXIT_OK if final.state is TaskState.SUCCEEDED else EXIT_FAILED
    except KeyboardInterrupt:
        if context.ok():
            cancel_task("interrupted")
        code = EXIT_INTERRUPTED
    finally:
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        context.try_shutdown()
    return code
