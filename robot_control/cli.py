"""`robot-control`: the operator's command line.

    robot-control up config/stacks/sim_g1.yaml   # run a stack's nodes under the supervisor
    robot-control demo                           # the main job (see README)
    robot-control drivers                        # list installed body drivers
    robot-control bench [--quick | --soak 600]   # benchmarks into runs/bench-<timestamp>.json
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from robot_control.bridge.task_cli import add_parsers as add_task_parsers
from robot_control.common.ros_env import apply_ros_env_defaults
from robot_control.edge.training.cli import add_parsers as add_train_parsers


def cmd_up(args: argparse.Namespace) -> int:
    from robot_control.common.config import ConfigError
    from robot_control.supervisor.process import Supervisor
    from robot_control.supervisor.stack import load_stack, parse_overrides

    try:
        stack = load_stack(args.stack, parse_overrides(args.set))
    except ConfigError as exc:
        print(f"robot-control up: {exc}", file=sys.stderr)
        return 2
    extra = {"ROS_DOMAIN_ID": str(args.domain_id)} if args.domain_id is not None else {}
    sup = Supervisor(stack, extra_env=extra)
    sup.log("supervisor", f"stack {stack.name!r} from {stack.source}: "
                          f"{', '.join(n.name for n in stack.nodes)}")
    return sup.run()


def cmd_drivers(args: argparse.Namespace) -> int:
    from robot_control.body.registry import available_drivers

    for name, ep in sorted(available_drivers().items()):
        print(f"{name:16s} {ep.value}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from robot_control.demo import run_demo

    return run_demo(args)


def cmd_bench(args: argparse.Namespace) -> int:
    from robot_control.tools.bench import run as run_bench

    return run_bench(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="robot-control", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start a stack's nodes as supervised processes")
    up.add_argument("stack", help="stack file, or a name from config/stacks (e.g. sim_g1)")
    up.add_argument("--domain-id", type=int, default=None, help="ROS_DOMAIN_ID for all nodes")
    up.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="set a stack argument (repeatable), e.g. --set use_cloud=false")
    up.set_defaults(func=cmd_up)

    drivers = sub.add_parser("drivers", help="list body drivers found through entry points")
    drivers.set_defaults(func=cmd_drivers)

    demo = sub.add_parser("demo", help="run the end-to-end demo (see robot_control/demo.py)")
    from robot_control.demo import add_arguments as add_demo_arguments

    add_demo_arguments(demo)
    demo.set_defaults(func=cmd_demo)
    from robot_control.tools import bench as bench_tool

    bench = sub.add_parser("bench", help="run the benchmarks (or --soak SECONDS) into one JSON file",
                           description=bench_tool.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench_tool.add_arguments(bench)
    bench.set_defaults(func=cmd_bench)
    add_train_parsers(sub)  # robot-control train SKILL --robot ...
    add_task_parsers(sub)  # robot-control task "..." | robot-control certs
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    apply_ros_env_defaults()
    # Headless rendering (demo video, render tools) unless the user picked a GL backend; must be
    # set before anything imports mujoco. The stacks' processes get it from their stack env.
    os.environ.setdefault("MUJOCO_GL", "egl")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
