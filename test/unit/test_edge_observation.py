"""Observation layouts: a model's declared signals are gathered from the base observation and
the embodiment's constants; a model asking for a signal the runtime cannot feed is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from skill_models import manifest_dict

from robot_control.edge.embodiment import SPECS
from robot_control.edge.manifest import Signal, load_manifest, manifest_from_dict, write_manifest
from robot_control.edge.observation import BASE_SIGNALS, BASE_SIZE, ObservationLayout, signal_problem
from robot_control.edge.policy import SkillLoadError, export_mlp, load_policy

pytestmark = pytest.mark.unit
BASE = [Signal(n, k) for n, k in BASE_SIGNALS]


def test_base_layout_passes_the_observation_through() -> None:
    layout = ObservationLayout(BASE)
    base = np.arange(BASE_SIZE, dtype=np.float32)
    assert layout.is_base and layout.assemble(base) is base


def test_reordered_subset_and_embodiment_signal() -> None:
    layout = ObservationLayout([Signal("goal_minus_ee", 3), Signal("approach_dir", 3), Signal("gripper_state", 1)])
    base = np.arange(BASE_SIZE, dtype=np.float32)
    g1, panda = SPECS["g1_right"], SPECS["panda"]
    out = layout.assemble(base, g1)
    direction = np.asarray(g1.approach_dir) / np.linalg.norm(g1.approach_dir)
    np.testing.assert_allclose(out, [3, 4, 5, *direction, 12])
    np.testing.assert_allclose(layout.assemble(base, panda)[3:6], [0, 0, 1])  # re-bound per embodiment
    batch = layout.assemble_batch(np.stack([base, base + 1]), g1)
    np.testing.assert_allclose(batch[1], [4, 5, 6, *direction, 13])
    with pytest.raises(ValueError, match="bind the layout"):
        ObservationLayout([Signal("approach_dir", 3)]).assemble(base)


@pytest.mark.parametrize(("signals", "message"), [
    ([Signal("lidar_ranges", 3)], "not one the edge runtime provides"),
    ([Signal("goal_minus_ee", 2)], "has size 2"),
    ([Signal("gripper_state", 1), Signal("gripper_state", 1)], "listed twice"),
])
def test_unfeedable_signals_are_named(signals: list[Signal], message: str) -> None:
    assert message in (signal_problem(signals) or "")
    with pytest.raises(ValueError, match=message):
        ObservationLayout(signals)


def test_model_with_unknown_signal_is_refused_on_load(tmp_path: Path) -> None:
    data = manifest_dict("reach")
    data["observation"]["signals"][1]["name"] = "lidar_ranges"  # file and YAML agree; runtime can't feed it
    rng = np.random.default_rng(0)
    layers = [(rng.normal(0, 0.5, (6, 8)).astype(np.float32), np.zeros(8, np.float32)),
              (rng.normal(0, 0.1, (8, 4)).astype(np.float32), np.zeros(4, np.float32))]
    path = tmp_path / "reach.yaml"
    draft = manifest_from_dict(data, "draft", source=path)
    data["model"]["sha256"] = export_mlp(draft.model_path(), layers, draft)
    write_manifest(data, path)
    with pytest.raises(SkillLoadError, match="'lidar_ranges' is not one the edge runtime provides"):
        load_policy(load_manifest(path))
