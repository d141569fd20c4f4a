"""The bridge's /task payloads and /task/status key-values (no ROS)."""

from __future__ import annotations

import json

import pytest

from robot_control.bridge.tasks import (
    STATUS_KEYS,
    TaskFormatError,
    TaskState,
    TaskStatus,
    format_atoms,
    parse_atoms,
    parse_task_message,
    task_message,
)

pytestmark = pytest.mark.unit


def test_plain_text_is_an_instruction() -> None:
    for text in ("put the red cube in the bin", "  put the cube: in the bin  ", "note: do it", "[x] put it"):
        spec = parse_task_message(text)
        assert spec.instruction == text.strip() and not spec.goals and spec.task_id.startswith("task-")


@pytest.mark.parametrize("text", [
    '{"id": "t1", "goals": [["at", "red_cube", "bin"], ["at", "green_can", "bin"]]}',
    '{"id": "t1", "goals": ["at(red_cube, bin)", "at(green_can,bin)"]}',
    "id: t1\ngoals: at(red_cube, bin), at(green_can, bin)",
    '{"id": "t1", "goals": "at(red_cube,bin) at(green_can,bin)"}',
])
def test_structured_goals(text: str) -> None:
    spec = parse_task_message(text)
    assert spec.task_id == "t1" and spec.structured and not spec.instruction
    assert spec.goals == (("at", "red_cube", "bin"), ("at", "green_can", "bin"))


def test_structured_instruction_and_roundtrip() -> None:
    msg = task_message("cli-1", instruction="put the red cube in the bin")
    spec = parse_task_message(msg)
    assert (spec.task_id, spec.instruction) == ("cli-1", "put the red cube in the bin")
    goals = parse_atoms("at(red_cube,bin) at(green_can,bin)")
    assert parse_task_message(task_message("cli-2", goals=goals)).goals == goals
    assert json.loads(task_message("cli-2", goals=goals))["goals"][0] == ["at", "red_cube", "bin"]
    assert format_atoms(goals) == "at(red_cube,bin) at(green_can,bin)"


@pytest.mark.parametrize("text,match,task_id", [
    ("", "empty", ""),
    ('{"id": "t9", "goals": []}', "no goals", "t9"),
    ('{"id": "t9", "goals": [["at", 3]]}', "goals\\[0\\]", "t9"),
    ('{"id": "t9", "goals": "at red_cube bin"}', "cannot read a goal", "t9"),
    ('{"id": "t9", "instruction": "x", "goals": "at(a,b)"}', "exactly one", "t9"),
    ('{"id": "bad id!", "instruction": "x"}', "id:", ""),
    ('{"id": "t9", "instructions": "x"}', "unknown task keys", "t9"),
    ('{"id": "t9", "goals": [', "not valid YAML", ""),
])
def test_bad_tasks_are_rejected_with_reason(text: str, match: str, task_id: str) -> None:
    with pytest.raises(TaskFormatError, match=match) as err:
        parse_task_message(text)
    assert err.value.task_id == task_id


def test_status_values_roundtrip_and_levels() -> None:
    status = TaskStatus(task_id="t1", state=TaskState.EXECUTING, message="step 2/12", plan="reach(a,b); grasp(a,b)",
                        step=2, steps=12, current_step="grasp(a,b)", skill_phase="RUNNING", sub_phase="close",
                        progress=0.5, planner_mode="cloud", replans=1, seq=7)
    values = status.to_values()
    assert set(values) == set(STATUS_KEYS) and all(isinstance(v, str) for v in values.values())
    back = TaskStatus.from_values(values)
    assert back.state is TaskState.EXECUTING and back.step == 2 and back.progress == 0.5
    assert back.current_step == "grasp(a,b)" and back.planner_mode == "cloud"
    assert status.level == "OK"
    status.planner_mode = "local"
    assert status.level == "WARN"
    status.state = TaskState.ABORTED
    assert status.level == "ERROR" and status.state.terminal
    assert TaskStatus("t", state=TaskState.CANCELED).level == "WARN"


def _cli(argv: list[str]):
    import argparse

    from robot_control.bridge import task_cli

    parser = argparse.ArgumentParser()
    task_cli.add_parsers(parser.add_subparsers(dest="command", required=True))
    return task_cli, parser.parse_args(argv)


def test_cli_task_payloads() -> None:
    task_cli, args = _cli(["task", "put the red cube in the bin", "--id", "cli-1"])
    assert task_cli.build_task(args) == ("cli-1", task_message("cli-1", instruction="put the red cube in the bin"))
    for goals in ("at(red_cube,bin) at(green_can,bin)", '[["at","red_cube","bin"],["at","green_can","bin"]]'):
        _, args = _cli(["task", "--goals", goals, "--id", "cli-2"])
        task_id, payload = task_cli.build_task(args)
        assert parse_task_message(payload).goals == (("at", "red_cube", "bin"), ("at", "green_can", "bin"))
    for bad in (["task"], ["task", "words", "--goals", "at(a,b)"], ["task", "--goals", "at red_cube"]):
        _, args = _cli(bad)
        with pytest.raises(ValueError):
            task_cli.build_task(args)
    running = TaskStatus("t", state=TaskState.EXECUTING, step=3, steps=12, current_step="lift(right_arm,red_cube,table)",
                         skill_phase="RUNNING", sub_phase="raise", progress=0.4, planner_mode="local")
    assert task_cli.describe(running) == "EXECUTING step 3/12 lift(right_arm,red_cube,table) RUNNING raise 40% [local]"


def test_cli_certs_idempotent(tmp_path, capsys) -> None:
    task_cli, args = _cli(["certs", "--dir", str(tmp_path / "c")])
    assert task_cli.cmd_certs(args) == 0
    first = (tmp_path / "c" / "ca.pem").read_bytes()
    assert "created" in capsys.readouterr().out
    assert task_cli.cmd_certs(args) == 0 and (tmp_path / "c" / "ca.pem").read_bytes() == first
    assert "kept the existing" in capsys.readouterr().out
    _, forced = _cli(["certs", "--dir", str(tmp_path / "c"), "--force", "--host", "brain.local"])
    assert task_cli.cmd_certs(forced) == 0 and (tmp_path / "c" / "ca.pem").read_bytes() != first
    out = capsys.readouterr().out
    assert "created" in out and str(tmp_path / "c" / "client.key") in out
