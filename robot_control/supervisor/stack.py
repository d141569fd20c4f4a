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

Stack arguments make one file serve several setups; `robot-control up STACK --set k=v` and
the launch file's arguments (`ros2 launch ... k:=v`) set them:

    arguments:
      use_cloud: {default: true, description: plan with the cloud brain}
      cloud_endpoint: {default: "127.0.0.1:50051"}
    nodes:
      - name: brain
        when: use_cloud              # include the node only if the argument is true
        ...
      - name: bridge
        when: not record             # or false
        parameters: {use_cloud: "${use_cloud}", brain_endpoint: "${cloud_endpoint}"}

A value that is exactly "${name}" takes the argument's typed value; "${name}" inside a longer
string is replaced by its text. Substitution applies to parameters, args, command and env.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from robot_control import paths
from robot_control.common.config import ConfigError, Section, read_yaml

RESTART_POLICIES = ("never", "on-failure", "always")
_SUBST = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
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
    nice: int = 0  # CPU niceness 0-19: >0 for work that must never starve the control nodes

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
class StackArgument:
    name: str
    default: str | int | float | bool
    description: str = ""


@dataclass(frozen=True)
class StackSpec:
    name: str
    nodes: tuple[NodeSpec, ...]
    env: dict[str, str] = field(default_factory=dict)
    shutdown_timeout_s: float = 5.0
    description: str = ""
    source: Path | None = None
    arguments: dict[str, StackArgument] = field(default_factory=dict)
    values: dict[str, object] = field(default_factory=dict)  # the arguments' values used

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


def _coerce(text: str, like: object, where: str) -> str | int | float | bool:
    """An override given as text, converted to the type of the argument's default."""
    if isinstance(like, bool):
        low = text.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected true or false, got {text!r}")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got {text!r}") from None
    if isinstance(like, float):
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {text!r}") from None
    return text


def _arguments(top: Section, where: str) -> dict[str, StackArgument]:
    out = {}
    for key, raw in top.mapping("arguments", {}).items():
        a = Section(raw, f"{where}: arguments.{key}")
        if not _NAME.match(str(key)):
            raise ConfigError(f"{a.where}: argument names are letters, digits and _")
        default = a.raw("default")
        if not isinstance(default, (str, int, float, bool)):
            raise ConfigError(f"{a.where}.default: expected a string, number or true/false")
        out[str(key)] = StackArgument(str(key), default, a.str("description", ""))
        a.done()
    return out


def _substitute(value: object, values: dict[str, object], where: str) -> object:
    if isinstance(value, str):
        whole = _SUBST.fullmatch(value)
        names = _SUBST.findall(value)
        unknown = [n for n in names if n not in values]
        if unknown:
            raise ConfigError(f"{where}: unknown stack argument(s) {', '.join(unknown)} "
                              f"(declared: {', '.join(values) or 'none'})")
        if whole:
            return values[whole.group(1)]
        return _SUBST.sub(lambda m: _param_literal(values[m.group(1)]), value)
    if isinstance(value, list):
        return [_substitute(v, values, where) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, values, f"{where}.{k}") for k, v in value.items()}
    return value


def _included(s: Section, values: dict[str, object]) -> bool:
    cond = s.raw("when", None)
    if cond is None or isinstance(cond, bool):
        return cond is not False
    if not isinstance(cond, str):
        raise ConfigError(f"{s.where}.when: expected an argument name, 'not NAME' or true/false")
    negate = cond.startswith("not ")
    name = cond[4:].strip() if negate else cond.strip()
    if name not in values:
        raise ConfigError(f"{s.where}.when: unknown stack argument {name!r} (declared: {', '.join(values) or 'none'})")
    value = values[name]
    if not isinstance(value, bool):
        raise ConfigError(f"{s.where}.when: argument {name!r} is not true/false")
    return value != negate


def parse_stack(data: dict, *, source: Path | None = None,
                overrides: dict[str, str] | None = None) -> StackSpec:
    """Parse a stack mapping; `overrides` (argument -> text) set the stack's arguments."""
    where = str(source) if source else "stack"
    top = Section(data, f"{where}:")
    base = source.parent if source else None
    name = top.str("stack")
    arguments = _arguments(top, where)
    values: dict[str, object] = {k: a.default for k, a in arguments.items()}
    for key, text in (overrides or {}).items():
        if key not in arguments:
            raise ConfigError(f"{where}: no stack argument {key!r} to set (declared: {', '.join(arguments) or 'none'})")
        values[key] = _coerce(str(text), arguments[key].default, f"{where}: argument {key}")
    nodes_raw = top.list("nodes")
    if not nodes_raw:
        raise ConfigError(f"{where}: nodes: a stack needs at least one node")
    nodes = []
    seen: set[str] = set()
    for i, raw in enumerate(nodes_raw):
        s = Section(_substitute(raw, values, f"{where}: nodes[{i}]") if isinstance(raw, dict) else raw,
                    f"{where}: nodes[{i}]")
        if not _included(s, values):
            continue
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
                nice=s.integer("nice", 0, minimum=0, maximum=19),
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
        arguments=arguments,
        values=values,
    )
    if not spec.nodes:
        raise ConfigError(f"{where}: no node left after applying the stack arguments {values}")
    top.done()
    return spec


def parse_overrides(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["use_cloud=false", "record=true"]` -> {"use_cloud": "false", "record": "true"}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"expected NAME=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def load_stack(path: str | Path, overrides: dict[str, str] | None = None) -> StackSpec:
    """Load a stack file; a bare name like `sim_g1` means config/stacks/sim_g1.yaml."""
    candidate = Path(path)
    if not candidate.suffix and not candidate.exists():
        candidate = paths.config_path("stacks", f"{path}.yaml")
    candidate = paths.resolve(candidate)
    return parse_stack(read_yaml(candidate), source=candidate, overrides=overrides)
