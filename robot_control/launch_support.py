"""Turn a stack description into ROS 2 launch actions (used by launch/bringup.launch.py).

Kept free of `launch` imports so it is unit-testable where launch is not installed: the
launch action classes are passed in.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from robot_control.supervisor.stack import NodeSpec, StackSpec, load_stack

# Launch arguments of bringup.launch.py that map onto stack arguments of the same name
# (an empty value keeps the stack's default; a stack that does not declare one ignores it).
STACK_LAUNCH_ARGUMENTS = {
    "use_cloud": "plan with the cloud brain (false: the bridge's local planner only)",
    "cloud_endpoint": "HOST:PORT of the cloud brain",
    "record": "record the stack's topics to MCAP under runs/",
}


def stack_for_launch(stack: str | Path, given: dict[str, str]) -> StackSpec:
    """The stack with the launch arguments it declares applied (the same overrides as
    `robot-control up STACK --set name=value`)."""
    declared = load_stack(stack).arguments
    return load_stack(stack, {k: v for k, v in given.items() if v != "" and k in declared})


def node_kwargs(spec: NodeSpec, stack: StackSpec) -> dict[str, Any]:
    """Keyword arguments for launch_ros.actions.Node equivalent to the supervisor's process."""
    env = {**stack.env, **spec.env}
    return {
        "package": "robot_control",
        "executable": spec.executable,
        "name": spec.name,
        "parameters": [str(p) for p in spec.params] + ([dict(spec.parameters)] if spec.parameters else []),
        "remappings": list(spec.remaps.items()),
        "arguments": list(spec.args),
        "additional_env": env,
        "output": "screen",
        "emulate_tty": True,
        "respawn": spec.restart != "never",
        "respawn_delay": spec.restart_delay_s,
        **({"prefix": f"nice -n {spec.nice}"} if spec.nice else {}),
    }


def launch_entities_for_stack(stack: str | Path | StackSpec, node_cls: Any, process_cls: Any) -> list[Any]:
    spec = stack if isinstance(stack, StackSpec) else load_stack(stack)
    entities = []
    for node in spec.nodes:
        if node.command:
            cmd = [sys.executable if part == "{python}" else part for part in node.command]
            nice = ["nice", "-n", str(node.nice)] if node.nice else []
            entities.append(process_cls(cmd=[*nice, *cmd, *node.args], name=node.name, output="screen",
                                        additional_env={**spec.env, **node.env}))
        else:
            entities.append(node_cls(**node_kwargs(node, spec)))
    return entities
