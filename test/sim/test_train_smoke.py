"""`robot-control train reach --robot panda --quick` end to end: demos -> MCAP -> BC -> ONNX -> eval."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robot_control.edge.library import SkillLibrary
from robot_control.edge.manifest import METADATA_KEY, load_manifest
from robot_control.edge.policy import sha256_file
from robot_control.edge.training.episodes import read_episodes

pytestmark = pytest.mark.sim


def test_quick_train_reach_panda(tmp_path: Path) -> None:
    out, data = tmp_path / "skills", tmp_path / "data"
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    proc = subprocess.run(
        [sys.executable, "-m", "robot_control.cli", "train", "reach", "--robot", "panda", "--quick",
         "--out", str(out), "--data-dir", str(data), "--no-progress"],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reach (panda)" in proc.stdout

    manifest = load_manifest(out / "reach_panda.yaml")
    assert manifest.model_sha256 == sha256_file(out / "models" / "reach_panda.onnx")
    prov = manifest.provenance
    dataset = data / "demos_panda_s0_4ep_to-reach.mcap"
    files = prov["dataset"]["files"]
    assert files == [{"robot": "panda", "path": str(dataset.resolve()), "sha256": sha256_file(dataset)}]
    assert prov["dataset"]["episodes"] == 4 and prov["seed"] == 0
    ev = prov["evaluation"]["panda"]
    assert ev["episodes"] + ev.get("skipped_expert_prefix_failed", 0) == 3
    assert ev["seeds"] == "500000-500002" and 0.0 <= ev["success_rate"] <= 1.0

    episodes = read_episodes(dataset)
    assert len(episodes) == 4 and {e.seed for e in episodes} == {0, 1, 2, 3}  # disjoint from evaluation
    assert all(e.skill == "reach" and len(e) > 10 and e.joint_position.shape[1] > 7 for e in episodes)

    lib = SkillLibrary.load(out)
    assert not lib.rejected and lib.names("panda") == ["reach"]
    policy = lib.get("reach", "panda")
    assert policy is not None
    assert '"evaluation"' in policy.session.get_modelmeta().custom_metadata_map[METADATA_KEY]
    action = policy.act(episodes[0].obs[0])
    assert action.shape == (4,) and abs(action[:3]).max() <= 0.008 + 1e-7


def test_quick_train_with_two_objects_uses_both_bin_slots(tmp_path: Path) -> None:
    """--objects: every demonstration run moves both objects (the second to the bin's other slot),
    and the evaluation judges the skill on each object in turn."""
    out, data = tmp_path / "skills", tmp_path / "data"
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    proc = subprocess.run(
        [sys.executable, "-m", "robot_control.cli", "train", "transport", "--robot", "panda", "--quick",
         "--episodes", "2", "--eval-episodes", "1", "--objects", "red_cube,green_cube",
         "--out", str(out), "--data-dir", str(data), "--no-progress"],
        capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    prov = load_manifest(out / "transport_panda.yaml").provenance
    dataset = data / "demos_panda_s0_2ep_red_cube+green_cube.mcap"
    assert prov["dataset"]["files"][0]["path"] == str(dataset.resolve())
    assert prov["dataset"]["objects"] == ["red_cube", "green_cube"]
    episodes = read_episodes(dataset, joints=False)
    # whole chains, per seed and object: 2 runs x 2 objects x 6 skills when the expert succeeds
    transports = [e for e in episodes if e.skill == "transport"]
    assert len(transports) == 4 and [e.seed for e in transports] == [0, 0, 1, 1], [e.seed for e in transports]
    ev = prov["evaluation"]["panda"]
    assert set(ev["per_object"]) == {"red_cube", "green_cube"}, ev
    assert ev["episodes"] + ev.get("skipped_expert_prefix_failed", 0) == 2

    bad = subprocess.run(
        [sys.executable, "-m", "robot_control.cli", "train", "transport", "--robot", "panda", "--quick",
         "--objects", "red_cube,green_can", "--out", str(out), "--data-dir", str(data), "--no-progress"],
        capture_output=True, text=True, timeout=300, env=env)
    assert bad.returncode != 0 and "green_can" in bad.stderr and "not in the panda scene" in bad.stderr


def test_parallel_demo_collection_writes_the_same_episodes(tmp_path: Path) -> None:
    """ensure_demos(jobs=2): two spawned processes, then one file with the same episodes (seeds,
    noise levels, arrays) in the same order as one process writes."""
    from robot_control.edge.sim_episode import SimEpisodeRunner
    from robot_control.edge.training.pipeline import ensure_demos

    runner = SimEpisodeRunner("panda")
    kw = {"seed": 0, "episodes": 3, "noise": (0.0, 0.001, 0.002), "chain": ("reach",), "reuse": False,
          "progress": False, "log": lambda _: None}
    one = read_episodes(ensure_demos(runner, data_dir=tmp_path / "one", **kw))
    two_path = ensure_demos(runner, data_dir=tmp_path / "two", jobs=2, **kw)
    two = read_episodes(two_path)
    assert [(e.seed, e.noise, e.skill) for e in two] == [(e.seed, e.noise, e.skill) for e in one]
    assert [e.noise for e in one] == [0.0, 0.001, 0.002]
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a.obs, b.obs)
        np.testing.assert_array_equal(a.executed, b.executed)
        np.testing.assert_array_equal(a.joint_position, b.joint_position)
    assert not list(two_path.parent.glob("*.chunk*"))  # the workers' files are gone


class _StuckPolicy:
    """A policy that never moves the arm and keeps the hand half closed (what DAgger must correct)."""

    gripper_max_rate = None

    def __init__(self) -> None:
        self.calls = 0

    def act(self, obs: np.ndarray) -> np.ndarray:
        assert obs.shape == (14,)
        self.calls += 1
        return np.array([0.0, 0.0, 0.0, 0.3])


def test_dagger_rollout_executes_the_policy_and_records_the_expert_labels() -> None:
    """run_skill(actor=...): the actor's action is what moves the robot, the recorded labels are the
    expert's for the states the actor led to, and an expert phase the actor never completes ends
    the rollout at its timeout (no labels from a phase the expert would have left unreached)."""
    from robot_control.edge.sim_episode import SimEpisodeRunner

    runner = SimEpisodeRunner("panda")
    res = runner.run(0, chain=("reach",), record=False)
    assert res.chain_success
    ee0 = runner._measured_ee()
    stuck = _StuckPolicy()
    grasp = runner.skills["grasp"]
    rec = runner.run_skill(grasp, 0.0, np.random.default_rng(0), record=True, actor=stuck)
    approach = grasp.phases[0]
    ticks = len(rec.obs)
    assert stuck.calls == ticks and ticks == pytest.approx(approach.timeout / runner.control_dt, abs=1)
    assert not rec.success and not rec.fell
    np.testing.assert_allclose(rec.executed, np.tile([0.0, 0.0, 0.0, 0.3], (ticks, 1)))
    assert np.linalg.norm(runner._measured_ee() - ee0) < 0.005  # the arm stayed where the actor kept it
    # labels: the expert's approach, toward the goal at its speed, hand open, from every visited state
    goal_minus_ee = rec.obs[:, 3:6]
    step = approach.speed * runner.control_dt
    np.testing.assert_allclose(np.linalg.norm(rec.act[:, :3], axis=1), step, rtol=1e-3)
    cos = np.sum(rec.act[:, :3] * goal_minus_ee, axis=1) / (step * np.linalg.norm(goal_minus_ee, axis=1))
    assert cos.min() > 0.999
    assert np.all(rec.act[:, 3] == 0.0)


def test_quick_train_with_a_dagger_round(tmp_path: Path) -> None:
    """--dagger-rounds 1 (--jobs 2: the round's seeds in two processes): the cloned policy acts on
    fresh seeds, the expert's labels of those rollouts go into a file of their own, the model is
    cloned again and the manifest says so."""
    out, data = tmp_path / "skills", tmp_path / "data"
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    proc = subprocess.run(
        [sys.executable, "-m", "robot_control.cli", "train", "grasp", "--robot", "panda", "--quick",
         "--dagger-rounds", "1", "--jobs", "2", "--out", str(out), "--data-dir", str(data), "--no-progress"],
        capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "DAgger round 1/1" in proc.stdout
    prov = load_manifest(out / "grasp_panda.yaml").provenance
    (round1,) = prov["dataset"]["dagger"]["rounds"]
    path = data / "dagger_grasp_panda_s0_r1_4ep.mcap"
    assert round1["path"] == str(path.resolve()) and round1["sha256"] == sha256_file(path)
    assert round1["seeds"] == "700000-700003"  # disjoint from the demonstrations and the evaluation
    rollouts = read_episodes(path)
    assert len(rollouts) == round1["rollouts"] >= 1 and round1["samples"] == sum(len(e) for e in rollouts)
    assert all(e.skill == "grasp" and e.seed >= 700000 for e in rollouts)
    assert [e.seed for e in rollouts] == sorted(e.seed for e in rollouts)  # chunks merged in seed order
    assert not list(data.glob("*.chunk*"))
    # the policy acted (its actions are not the expert's labels), the labels are the expert's
    assert any(np.abs(e.executed - e.act).max() > 1e-4 for e in rollouts)
    demos = [e for e in read_episodes(data / "demos_panda_s0_4ep_to-grasp.mcap", joints=False)
             if e.skill == "grasp" and e.success]
    assert prov["dataset"]["samples"] == sum(len(e) for e in demos) + round1["samples"]
