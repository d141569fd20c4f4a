"""The skills shipped in config/skills: every one loads in the edge runtime for both robots
(checksums, shapes, metadata, observation signals) and carries its evaluation."""

from __future__ import annotations

import pytest

from robot_control.edge.embodiment import SPECS
from robot_control.edge.experts import CHAIN
from robot_control.edge.runtime import load_skills

pytestmark = pytest.mark.unit
TARGET = {"g1": 0.90, "panda": 0.95}  # issue #5: success over >= 50 unseen episodes


@pytest.mark.parametrize(("robot", "spec"), [("g1", "g1_right"), ("panda", "panda")])
def test_shipped_skills_load_and_meet_their_evaluation_targets(robot: str, spec: str) -> None:
    skills = load_skills(None, robot, [SPECS[spec]], 100.0)
    assert not skills.rejected, skills.rejected_lines()
    assert set(CHAIN) <= set(skills.skills), f"missing: {set(CHAIN) - set(skills.skills)}"
    for name in CHAIN:
        evaluation = skills.skills[name].manifest.raw["provenance"]["evaluation"][robot]
        assert evaluation["episodes"] >= 50, (name, evaluation)
        assert evaluation["successes"] / evaluation["episodes"] >= TARGET[robot], (name, evaluation)
    # reach: one file for both robots (embodiment transfer); transport too for the Panda. The G1
    # runs its own grasp, lift, transport, place and release, trained on runs that move the red
    # cube, then the green can over it into the bin
    assert skills.skills["reach"].manifest.model_file == "models/reach.onnx"
    transport = {"g1": "models/transport_g1.onnx", "panda": "models/transport.onnx"}[robot]
    assert skills.skills["transport"].manifest.model_file == transport
    if robot == "g1":
        for name in CHAIN[1:]:
            dataset = skills.skills[name].manifest.raw["provenance"]["dataset"]
            assert dataset.get("objects") == ["red_cube", "green_can"], (name, dataset.get("objects"))
