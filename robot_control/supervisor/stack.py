"""A stack file lists the node processes of one robot setup.

Both `robot-control up` (the supervisor) and `launch/bringup.launch.py` (ROS 2 launch)
build their process list from this same description, so the two paths cannot drift.

    stack: sim_g1
    env: {MUJOCO_GL: egl}
    shutdown_timeout_s: 5
    nodes:
      - name: body                   # ROS node name and log prefix
        executable: body_node        # a robot_control console script, or instead:
        # command: [python3, -m, some.tool]   # any program (gets no --ros-args)
        params: [config/params/body_sim_g1.yaml]
        remaps: {/joint_states: /robot/joint_states}
        restart: on-failure          # never | on-failure | always
        max_restarts: 3
        on_exit: stop-stack          # what to do once it exits for good: stop-stack | ignore
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from robot_control import paths
from robot_control.common.config import ConfigError, Section, read_yaml

RESTART_POLICIES = ("never", "on-failure", "always")
EXIT_ACTIONS = ("stop-stack", "ignore")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class NodeSpec:
    name: str
    executable: str = ""
    command: tuple[str, ...] = ()
    params: tuple[Path, ...] = ()
    parameters: dict[str, object] = field(default_factory=dict)
    remaps: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    restart: str = "never"
    max_restarts: int = 3
    restart_delay_s: float = 1.0
    on_exit: str = "stop-stack"

    def ros_args(self) -> list[str]:
        """The `--ros-args ...` tail shared by the supervisor and the launch file."""
        out = ["--ros-args", "-r", f"__node:={self.name}"]
        for params_file in self.params:
            out += ["--params-file", str(params_file)]
        for key, value in self.parameters.items():
            out += ["-p", f"{key}:={_param_literal(value)}"]
        for src, dst in self.remaps.items():
            out += ["-r", f"{src}:={dst}"]
        return out


@dataclass(frozen=True)
class StackSpec:
    name: str
    nodes: tuple[NodeSpec, ...]
    env: dict[str, str] = field(default_factory=dict)
    shutdown_timeout_s: float = 5.0
    description: str = ""
    source: Path | None = None

    def node(self, name: str) -> NodeSpec:
        for spec in self.nodes:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _param_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _str_map(section: Section, key: str) -> dict[str, str]:
    raw = section.mapping(key, {})
    out = {}
    for k, v in raw.items():
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise ConfigError(f"{section.where} {key}.{k}: expected a string, got {type(v).__name__}")
        out[str(k)] = str(v)
    return out


def parse_stack(data: dict, *, source: Path | None = None) -> StackSpec:
    where = str(source) if source else "stack"
    top = Section(data, f"{where}:")
    base = source.parent if source else None
    name = top.str("stack")
    nodes_raw = top.list("nodes")
    if not nodes_raw:
        raise ConfigError(f"{where}: nodes: a stack needs at least one node")
    nodes = []
    seen: set[str] = set()
    for i, raw in enumerate(nodes_raw):
        s = Section(raw, f"{where}: nodes[{i}]")
        node_name = s.str("name")
        if not _NAME.match(node_name):
            raise ConfigError(f"{s.where}.name: {node_name!r} is not a valid ROS node name")
        if node_name in seen:
            raise ConfigError(f"{s.where}.name: duplicate node name {node_name!r}")
        seen.add(node_name)
        params = []
        for j, p in enumerate(s.str_list("params", [])):
            resolved = paths.resolve(p, base=base)
            if not resolved.is_file():
                raise ConfigError(f"{s.where}.params[{j}]: no such file: {p}")
            params.append(resolved)
        args = s.list("args", [])
        command = tuple(s.str_list("command", []))
        executable = s.str("executable", "")
        if bool(command) == bool(executable):
            raise ConfigError(f"{s.where}: give exactly one of `executable` (a robot_control node) "
                              "or `command` (any program)")
        nodes.append(
            NodeSpec(
                name=node_name,
                executable=executable,
                command=command,
                params=tuple(params),
                parameters=s.mapping("parameters", {}),
                remaps=_str_map(s, "remaps"),
                args=tuple(str(a) for a in args),
                env=_str_map(s, "env"),
                restart=s.choice("restart", RESTART_POLICIES, "never"),
                max_restarts=s.integer("max_restarts", 3, minimum=0),
                restart_delay_s=s.number("restart_delay_s", 1.0, minimum=0.0),
                on_exit=s.choice("on_exit", EXIT_ACTIONS, "stop-stack"),
            )
        )
        s.done()
    spec = StackSpec(
        name=name,
        nodes=tuple(nodes),
        env=_str_map(top, "env"),
        shutdown_timeout_s=top.number("shutdown_timeout_s", 5.0, positive=True),
        description=top.raw("description", "") or "",
        source=source,
    )
    top.done()
    return spec


def load_stack(path: str | Path) -> StackSpec:
    """Load a stack file; a bare name like `sim_g1` means config/stacks/sim_g1.yaml."""
    candidate = Path(path)
    if not candidate.suffix and not candidate.exists():
        candidate = paths.config_path("stacks", f"{path}.yaml")
    candidate = paths.resolve(candidate)
    return parse_stack(read_yaml(candidate), source=candidate)
