"""Trained-skill manifests: contract fields, checks, export -> YAML -> library, and the CLI's options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_control.edge.checks import compile_checks
from robot_control.edge.experts import CHAIN
from robot_control.edge.library import SkillLibrary
from robot_control.edge.manifest import METADATA_KEY, load_manifest
from robot_control.edge.policy import load_policy
from robot_control.edge.training.bc import BCResult
from robot_control.edge.training.episodes import ACT_SIGNALS, OBS_SIGNALS
from robot_control.edge.training.pipeline import (
    build_manifest,
    contract_fields,
    export_and_write,
    model_stem,
    observation_specs,
    skill_checks,
)

pytestmark = pytest.mark.unit


def fake_bc(seed: int = 0, n_in: int = 14) -> BCResult:
    rng = np.random.default_rng(seed)
    layers = [(rng.normal(0, 0.3, (n_in, 8)).astype(np.float32), np.zeros(8, np.float32)),
              (rng.normal(0, 0.01, (8, 4)).astype(np.float32), np.full(4, 0.5, np.float32))]
    return BCResult(layers, np.zeros(n_in, np.float32), np.full(n_in, 0.1, np.float32), 0.01, 0.02, 90, 10)


def write_skill(folder: Path, skill: str, robots: list[str], evaluation: dict | None = None) -> Path:
    stem = model_stem(skill, robots)
    prov: dict = {"seed": 0, "dataset": {"path": "x.mcap", "sha256": "0" * 64, "episodes": 10}}
    if evaluation:
        prov["evaluation"] = evaluation
    bc = fake_bc(n_in=sum(s["size"] for s in observation_specs(robots)))  # shared models: + approach_dir
    data = build_manifest(skill, robots, bc, 0.008, 4.4, f"models/{stem}.onnx", prov)
    export_and_write(data, bc.layers, folder / f"{stem}.yaml")
    return folder / f"{stem}.yaml"


def test_signals_match_the_adapter_layout() -> None:
    from robot_control.edge.embodiment import ACT_DIM, OBS_DIM
    from robot_control.edge.training.cli import SKILLS

    assert SKILLS == CHAIN
    assert sum(s for _, s in OBS_SIGNALS) == OBS_DIM and sum(s for _, s in ACT_SIGNALS) == ACT_DIM


@pytest.mark.parametrize("skill", CHAIN)
def test_manifest_per_skill_loads_with_planner_contract_and_runtime_checks(tmp_path: Path, skill: str) -> None:
    from robot_control.brain.fixtures import standard_contracts

    path = write_skill(tmp_path, skill, ["panda"], {"panda": {"episodes": 50, "successes": 49,
                                                              "success_rate": 0.98, "seeds": "500000-500049"}})
    m = load_manifest(path)
    assert m.name == skill and m.goal == skill and m.embodiments == ("panda",)
    assert m.gripper_max_rate == (2.5 if skill == "release" else None)
    assert [s.name for s in m.observation] == [n for n, _ in OBS_SIGNALS]
    assert [s.name for s in m.action] == [n for n, _ in ACT_SIGNALS]
    assert m.action_low == (-0.008,) * 3 + (0.0,) and m.action_high == (0.008,) * 3 + (1.0,)
    contract = next(c for c in standard_contracts() if c.name == skill)
    assert list(m.parameters) == list(contract.parameters)
    assert [str(c) for c in m.preconditions] == [
        ("not " if c.negated else "") + f"{c.predicate}({', '.join(c.arguments)})" for c in contract.preconditions]
    assert contract_fields(skill)["add_effects"] == [str(c) for c in m.add_effects]
    checks = compile_checks(m)  # the edge runtime accepts the vocabulary and parameters
    assert len(checks.success) == len(skill_checks(skill)[0])
    assert set(checks.regions) <= set(m.parameter_names)  # regions name the skill's location argument
    assert m.evaluation() == {"panda": pytest.approx(0.98)}
    policy = load_policy(m)  # sha256, shapes and embedded metadata agree
    assert "evaluation" in policy.session.get_modelmeta().custom_metadata_map[METADATA_KEY]


def test_shared_and_per_robot_models_load_in_the_library(tmp_path: Path) -> None:
    write_skill(tmp_path, "reach", ["g1", "panda"])
    write_skill(tmp_path, "grasp", ["panda"])
    write_skill(tmp_path, "grasp", ["g1"])
    lib = SkillLibrary.load(tmp_path)
    assert not lib.rejected
    assert lib.names("g1") == ["grasp", "reach"] and lib.names("panda") == ["grasp", "reach"]
    assert lib.get("reach", "g1") is lib.get("reach", "panda")  # one file serves both robots
    shared = lib.get("reach", "g1")
    assert [s.name for s in shared.manifest.observation][-1] == "approach_dir"
    assert [s.name for s in lib.get("grasp", "g1").manifest.observation] == [n for n, _ in OBS_SIGNALS]
    assert lib.get("grasp", "g1").manifest.model_file == "models/grasp_g1.onnx"


def test_train_command_is_registered() -> None:
    from robot_control.cli import build_parser

    args = build_parser().parse_args(["train", "transport", "--robot", "g1,panda", "--quick", "--noise", "0,0.002"])
    assert args.skill == ("transport",) and args.robot == ("g1", "panda") and args.quick
    assert args.noise == (0.0, 0.002)
    assert build_parser().parse_args(["train", "all", "--robot", "g1"]).skill == CHAIN
    assert build_parser().parse_args(["train", "lift,grasp", "--robot", "g1"]).skill == ("lift", "grasp")
    for bad in (["train", "reach", "--robot", "ur5"], ["train", "jump", "--robot", "g1"], ["train", "reach"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(bad)


def test_ramped_gripper_labels_become_the_ramp_target() -> None:
    from robot_control.edge.training.pipeline import transform_labels

    ramp_up = np.array([[0, 0, 0, g] for g in (0.0, 0.0, 0.05, 0.5, 1.0, 1.0)], np.float32)
    ramp_down = ramp_up[::-1].copy()
    assert transform_labels("grasp", ramp_up)[:, 3].tolist() == [0, 0, 1, 1, 1, 1]
    assert transform_labels("release", ramp_down)[:, 3].tolist() == [1, 1, 0, 0, 0, 0]
    np.testing.assert_array_equal(transform_labels("lift", ramp_up), ramp_up)  # untouched
    assert ramp_up[2, 3] == np.float32(0.05)  # the input is not modified


@pytest.mark.parametrize("path", sorted(Path(__file__).resolve().parents[2].joinpath("config", "skills").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_shipped_manifests_use_the_pipelines_failure_checks(path: Path) -> None:
    """A check tuned in the pipeline (e.g. the release's object_moved bound) is what the shipped
    skills run with, and what the next `robot-control train` writes."""
    import yaml

    from robot_control.edge.training.pipeline import gripper_max_rate, skill_checks

    data = yaml.safe_load(path.read_text())
    assert data["failure"] == skill_checks(data["goal"])[1], path.name
    # the release ramps its opening as the expert did (2.5/s = 0.4 s); nothing else is ramped
    assert data.get("gripper_max_rate") == gripper_max_rate(data["goal"], data["embodiments"]), path.name
