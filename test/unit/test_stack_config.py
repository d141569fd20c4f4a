import textwrap
from pathlib import Path

import pytest

from robot_control.common.config import ConfigError
from robot_control.supervisor.stack import load_stack, parse_stack

pytestmark = pytest.mark.unit


def test_shipped_stacks_load():
    stacks = sorted(Path("config/stacks").glob("*.yaml"))
    assert stacks, "no stack files shipped"
    for path in stacks:
        spec = load_stack(path)
        assert spec.nodes
        for node in spec.nodes:
            assert all(p.is_file() for p in node.params)


def test_stack_by_name():
    assert load_stack("mock_g1").name == "mock_g1"


def test_ros_args_carry_params_and_remaps(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("/**:\n  ros__parameters: {a: 1}\n")
    spec = parse_stack({
        "stack": "t",
        "nodes": [{"name": "body", "executable": "body_node", "params": [str(params)],
                   "parameters": {"robot": "g1", "autostart": True},
                   "remaps": {"/joint_states": "/robot/joint_states"}}],
    })
    args = spec.nodes[0].ros_args()
    assert args[:3] == ["--ros-args", "-r", "__node:=body"]
    assert ["--params-file", str(params)] == args[3:5]
    assert "robot:=g1" in args and "autostart:=true" in args
    assert "/joint_states:=/robot/joint_states" in args


@pytest.mark.parametrize("nodes, message", [
    ([], "at least one node"),
    ([{"name": "a", "executable": "x"}, {"name": "a", "executable": "y"}], "duplicate node name"),
    ([{"name": "1bad", "executable": "x"}], "not a valid ROS node name"),
    ([{"name": "a", "executable": "x", "restart": "sometimes"}], "expected one of never"),
    ([{"name": "a", "executable": "x", "params": ["nope.yaml"]}], "no such file"),
    ([{"name": "a", "executable": "x", "typo_key": 1}], "unknown key(s): typo_key"),
    ([{"name": "a"}], "give exactly one of `executable`"),
    ([{"name": "a", "executable": "x", "nice": 20}], "must be <= 19"),
    ([{"name": "a", "executable": "x", "nice": -5}], "must be >= 0"),
    ([{"name": "a", "executable": "x", "command": ["y"]}], "give exactly one of `executable`"),
])
def test_bad_stacks_are_rejected_with_a_reason(nodes, message):
    with pytest.raises(ConfigError) as err:
        parse_stack({"stack": "t", "nodes": nodes})
    assert message in str(err.value)


def test_error_names_the_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent("""
        stack: s
        nodes:
          - {name: a, executable: x, max_restarts: -1}
    """))
    with pytest.raises(ConfigError, match=r"s\.yaml: nodes\[0\]\.max_restarts: must be >= 0"):
        load_stack(path)


ARGS_STACK = {
    "stack": "args",
    "arguments": {"use_cloud": {"default": True}, "endpoint": {"default": "127.0.0.1:50051"},
                  "rate": {"default": 50}, "record": {"default": False}},
    "nodes": [
        {"name": "brain", "executable": "brain_server", "when": "use_cloud",
         "args": ["--listen", "${endpoint}"]},
        {"name": "bridge", "executable": "bridge_node",
         "parameters": {"use_cloud": "${use_cloud}", "rate_hz": "${rate}", "url": "grpc://${endpoint}/x"}},
        {"name": "local_only", "executable": "probe", "when": "not use_cloud"},
        {"name": "recorder", "command": ["python3", "-m", "rec"], "when": "record"},
    ],
}


def test_stack_arguments_defaults_substitution_and_conditions():
    spec = parse_stack(ARGS_STACK)
    assert [n.name for n in spec.nodes] == ["brain", "bridge"]
    assert spec.node("brain").args == ("--listen", "127.0.0.1:50051")
    assert spec.node("bridge").parameters == {"use_cloud": True, "rate_hz": 50, "url": "grpc://127.0.0.1:50051/x"}
    assert "use_cloud:=true" in spec.node("bridge").ros_args()


def test_stack_argument_overrides_are_typed():
    spec = parse_stack(ARGS_STACK, overrides={"use_cloud": "false", "record": "yes", "rate": "25"})
    assert [n.name for n in spec.nodes] == ["bridge", "local_only", "recorder"]
    assert spec.node("bridge").parameters["use_cloud"] is False
    assert spec.node("bridge").parameters["rate_hz"] == 25
    assert spec.values["record"] is True


@pytest.mark.parametrize("overrides, message", [
    ({"use_clod": "false"}, "no stack argument 'use_clod'"),
    ({"use_cloud": "maybe"}, "expected true or false"),
    ({"rate": "fast"}, "expected an integer"),
])
def test_bad_overrides_say_why(overrides, message):
    with pytest.raises(ConfigError, match=message):
        parse_stack(ARGS_STACK, overrides=overrides)


def test_unknown_argument_reference_rejected():
    bad = {"stack": "x", "nodes": [{"name": "a", "executable": "a", "args": ["${nope}"]}]}
    with pytest.raises(ConfigError, match="unknown stack argument"):
        parse_stack(bad)
    bad = {"stack": "x", "nodes": [{"name": "a", "executable": "a", "when": "nope"}]}
    with pytest.raises(ConfigError, match="unknown stack argument 'nope'"):
        parse_stack(bad)


def test_cli_parses_set_overrides():
    from robot_control.cli import build_parser
    from robot_control.supervisor.stack import parse_overrides

    args = build_parser().parse_args(["up", "sim_g1", "--set", "use_cloud=false", "--set", "a=b=c"])
    assert parse_overrides(args.set) == {"use_cloud": "false", "a": "b=c"}
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_overrides(["nothing"])
