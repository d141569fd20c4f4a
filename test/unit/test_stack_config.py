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
