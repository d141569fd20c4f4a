"""bench/skills_lockstep.py: one Panda episode of `reach` through the lockstep harness (edge SkillRuntime +
cerebellum Controller + MujocoSimDriver on simulated time) reports the skill with the edge's terminal
phase and the simulation judge's verdict, and needs no ROS."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sim

BENCH = Path(__file__).resolve().parents[2] / "bench" / "skills_lockstep.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("skills_lockstep_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_one_panda_reach_episode_is_judged_and_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from robot_control.edge import experts

    bench = _load_bench()
    had_rclpy = "rclpy" in sys.modules
    judged: list[tuple[str, bool]] = []
    real_check = experts.check_success

    def spy(skill, *args, **kwargs):
        ok = real_check(skill, *args, **kwargs)
        judged.append((skill, ok))
        return ok

    monkeypatch.setattr(experts, "check_success", spy)
    out = tmp_path / "lockstep.json"
    result = bench.evaluate("panda", [500_000], chain=["reach"], out=out)

    assert judged and judged[0][0] == "reach"  # the simulation ground truth judged the skill
    assert result["robot"] == "panda" and result["harness"].startswith("lockstep:")
    assert result["episodes_done"] == 1 and result["chain"] == ["reach"]
    reach = result["skills"]["reach"]
    assert reach["attempts"] == 1
    assert reach["successes"] == int(judged[0][1])
    assert sum(reach["edge_phases"].values()) == 1  # the edge's terminal phase was recorded
    assert result["sim_s"] > 0.5 and result["wall_s"] > 0
    assert result["config"]["cerebellum_kp_kd_zero"]  # the stack's controller.kp/kd overrides applied
    assert result["config"]["objects_every_cycles"] == 10  # objects_rate_hz 100 at 1 kHz
    assert json.loads(out.read_text())["skills"]["reach"]["attempts"] == 1  # --out written per episode
    if not had_rclpy:
        assert "rclpy" not in sys.modules  # no ROS in the loop
