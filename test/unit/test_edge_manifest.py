"""Skill manifests and verified ONNX loading: export -> load -> act, and every refusal path."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from skill_models import make_skill, manifest_dict

from robot_control.common.config import ConfigError
from robot_control.edge.library import SkillLibrary
from robot_control.edge.manifest import load_manifest, manifest_from_dict, to_contract, write_manifest
from robot_control.edge.policy import SkillLoadError, load_policy, mlp_forward

pytestmark = pytest.mark.unit


def test_export_load_act_matches_numpy(tmp_path: Path) -> None:
    path, layers = make_skill(tmp_path)
    policy = load_policy(load_manifest(path))
    obs = np.array([0.1, -0.2, 0.05, 0.3, 0.0, -0.1], np.float32)
    expected = mlp_forward(layers, (obs - 0.0) / 0.5)
    expected = np.clip(expected, [-0.008] * 3 + [0.0], [0.008] * 3 + [1.0])
    np.testing.assert_allclose(policy.act(obs), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="6"):
        policy.act(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        policy.act(np.full(6, np.nan))


def test_contract_carries_symbolics_and_evaluation(tmp_path: Path) -> None:
    path, _ = make_skill(tmp_path)
    c = to_contract(load_manifest(path))
    assert c.name == "reach" and list(c.embodiments) == ["g1", "panda"]
    assert c.preconditions[0].predicate == "hand_empty" and list(c.preconditions[0].arguments) == ["arm"]
    assert c.delete_effects[0].negated
    assert c.evaluation["g1"] == pytest.approx(0.96)
    assert len(c.model_sha256) == 64 and "schema:" in c.manifest_yaml


def test_gripper_max_rate_is_optional() -> None:
    data = copy.deepcopy(manifest_dict())
    assert manifest_from_dict(data, "reach.yaml:").gripper_max_rate is None
    data["gripper_max_rate"] = 2.5
    assert manifest_from_dict(data, "reach.yaml:").gripper_max_rate == 2.5


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("goal"), "goal: required key is missing"),
    (lambda d: d.update(version="1.0"), "MAJOR.MINOR.PATCH"),
    (lambda d: d.update(preconditions=["near(arm, thing)"]), "not among the skill's parameters"),
    (lambda d: d.update(extra=1), "unknown key"),
    (lambda d: d["observation"]["normalisation"].update(std=[1.0]), "mean/std must have 6 values"),
    (lambda d: d["action"].update(space="cartesian"), "expected one of task_space, joint_space"),
    (lambda d: d.update(success=[]), "at least one success check"),
    (lambda d: d.update(gripper_max_rate=0.0), "gripper_max_rate"),
    (lambda d: d.update(gripper_max_rate="fast"), "gripper_max_rate"),
])
def test_invalid_manifests_say_where(mutate: Any, message: str) -> None:
    data = copy.deepcopy(manifest_dict())
    mutate(data)
    with pytest.raises(ConfigError, match=message):
        manifest_from_dict(data, "reach.yaml:")


def test_checksum_mismatch_rejected(tmp_path: Path) -> None:
    path, _ = make_skill(tmp_path)
    model = tmp_path / "models" / "reach.onnx"
    blob = bytearray(model.read_bytes())
    blob[-1] ^= 0xFF
    model.write_bytes(bytes(blob))
    with pytest.raises(SkillLoadError, match="checksum mismatch"):
        load_policy(load_manifest(path))


def test_corrupt_model_rejected(tmp_path: Path) -> None:
    from robot_control.edge.policy import sha256_file

    path, _ = make_skill(tmp_path)
    model = tmp_path / "models" / "reach.onnx"
    model.write_bytes(model.read_bytes()[:200])  # truncated file, checksum updated to match
    text = path.read_text().replace(load_manifest(path).model_sha256, sha256_file(model))
    path.write_text(text)
    with pytest.raises(SkillLoadError, match="not a loadable ONNX model"):
        load_policy(load_manifest(path))


def test_wrong_shape_rejected(tmp_path: Path) -> None:
    path, _ = make_skill(tmp_path)
    data = load_manifest(path).raw
    data["observation"]["signals"][1]["size"] = 4  # manifest now says 7 inputs, model takes 6
    data["observation"]["normalisation"] = {"mean": [0.0] * 7, "std": [1.0] * 7}
    write_manifest(data, path)
    with pytest.raises(SkillLoadError, match=r"observation shape .* disagrees"):
        load_policy(load_manifest(path))


def test_metadata_disagreement_rejected(tmp_path: Path) -> None:
    path, _ = make_skill(tmp_path)
    data = load_manifest(path).raw
    data["control_rate_hz"] = 25  # YAML edited after export: the model was trained for 50 Hz
    write_manifest(data, path)
    with pytest.raises(SkillLoadError, match="disagrees with the YAML on: control_rate_hz"):
        load_policy(load_manifest(path))


def test_library_keeps_serving_good_skills(tmp_path: Path) -> None:
    make_skill(tmp_path, "reach")
    make_skill(tmp_path, "lift", seed=1)
    (tmp_path / "models" / "lift.onnx").write_bytes(b"not onnx")
    shutil.copy(tmp_path / "reach.yaml", tmp_path / "reach_copy.yaml")  # duplicate provider
    lib = SkillLibrary.load(tmp_path)
    assert lib.names("g1") == ["reach"] and lib.names("panda") == ["reach"]
    assert "checksum mismatch" in lib.rejected["lift.yaml"]
    assert "already provided" in lib.rejected["reach_copy.yaml"]
    assert [m.name for m in lib.manifests("g1")] == ["reach"]


def test_robot_specific_manifest_takes_precedence_over_a_shared_one(tmp_path: Path) -> None:
    make_skill(tmp_path, "reach")  # shared: g1 and panda
    make_skill(tmp_path, "reach", seed=1, stem="reach_g1", embodiments=["g1"])
    lib = SkillLibrary.load(tmp_path)
    assert lib.rejected == {}
    assert lib.get("reach", "g1").manifest.source.name == "reach_g1.yaml"
    assert lib.get("reach", "panda").manifest.source.name == "reach.yaml"  # the shared one keeps the Panda
    assert lib.superseded == {("reach", "g1"): ("reach.yaml", "reach_g1.yaml")}
    only_g1 = SkillLibrary.load(tmp_path, embodiment="g1")
    assert only_g1.get("reach", "g1").manifest.source.name == "reach_g1.yaml" and only_g1.rejected == {}

    # Two manifests for the G1 alone conflict: the later file is refused, the first serves.
    make_skill(tmp_path, "reach", seed=2, stem="reach_g1_v2", embodiments=["g1"])
    lib = SkillLibrary.load(tmp_path)
    assert "already provided for g1 by reach_g1.yaml" in lib.rejected["reach_g1_v2.yaml"]
    assert lib.get("reach", "g1").manifest.source.name == "reach_g1.yaml"


def test_broken_robot_specific_manifest_leaves_the_shared_one_serving(tmp_path: Path) -> None:
    make_skill(tmp_path, "reach")
    make_skill(tmp_path, "reach", seed=1, stem="reach_g1", embodiments=["g1"])
    (tmp_path / "models" / "reach_g1.onnx").write_bytes(b"not onnx")
    lib = SkillLibrary.load(tmp_path)
    assert "checksum mismatch" in lib.rejected["reach_g1.yaml"]
    assert lib.get("reach", "g1").manifest.source.name == "reach.yaml"
    assert lib.superseded == {}
