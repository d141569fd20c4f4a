"""Edge-skill experts in real contact physics: full reach→release chains on the Panda and the G1.

The G1 stands free on its position servos (no fixed base, no welds, no teleporting): a fall
(pelvis drop or tilt, SimEpisodeRunner.fallen) fails the episode, and the tests also bound the
worst pelvis motion seen during the whole episode.
"""

from __future__ import annotations

import numpy as np
import pytest

from robot_control.body.sim import mujoco
from robot_control.edge.embodiment import ACT_DIM, OBS_DIM
from robot_control.edge.experts import CHAIN, in_bin
from robot_control.edge.sim_episode import EpisodeResult, SimEpisodeRunner

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def panda() -> SimEpisodeRunner:
    return SimEpisodeRunner("panda")


@pytest.fixture(scope="module")
def g1() -> SimEpisodeRunner:
    return SimEpisodeRunner("g1")


def check_records(res: EpisodeResult) -> None:
    for rec in res.skills:
        assert rec.obs.shape[1:] == (OBS_DIM,) and rec.act.shape[1:] == (ACT_DIM,)
        assert len(rec.obs) == len(rec.act) > 0
        assert np.all(np.isfinite(rec.obs))


@pytest.mark.parametrize("seed", [0, 7, 23])
def test_panda_full_chain(panda: SimEpisodeRunner, seed: int) -> None:
    res = panda.run(seed)
    assert res.success == dict.fromkeys(CHAIN, True), res.success
    assert res.chain_success and not res.fell
    check_records(res)


def test_panda_chain_with_demo_noise(panda: SimEpisodeRunner) -> None:
    res = panda.run(3, noise=0.0005)
    assert res.chain_success, res.success
    grasp = next(r for r in res.skills if r.skill == "grasp")
    assert not np.allclose(grasp.act[:, :3], grasp.executed[:, :3])  # labels stay clean


def assert_stood(g1: SimEpisodeRunner, res: EpisodeResult) -> None:
    """Never fell; the pelvis stayed within 2 cm of its height and 6 degrees of upright."""
    assert not res.fell
    assert res.min_base_height > g1._base_z0 - 0.02, res.min_base_height
    assert res.max_tilt_deg < 6.0, res.max_tilt_deg


@pytest.mark.parametrize("seed", [0, 7])
def test_g1_full_chain(g1: SimEpisodeRunner, seed: int) -> None:
    res = g1.run(seed)
    assert res.success == dict.fromkeys(CHAIN, True), res.success
    assert res.chain_success
    assert_stood(g1, res)
    check_records(res)
    assert [rec.obj for rec in res.skills] == ["red_cube"] * len(CHAIN)


def test_g1_moves_both_objects_into_the_bin(g1: SimEpisodeRunner) -> None:
    """Red cube, then green can, in one episode: the can goes to the bin's free slot."""
    res = g1.run(3, objs=("red_cube", "green_can"), record=False)
    assert res.chain_success, [(r.obj, r.skill, r.success) for r in res.skills]
    assert [r.obj for r in res.skills] == ["red_cube"] * len(CHAIN) + ["green_can"] * len(CHAIN)
    assert_stood(g1, res)
    objects = {o.name: o for o in g1.driver.read().objects}
    bin_ = objects["bin"]
    assert bin_.size is not None
    for name in ("red_cube", "green_can"):
        obj = objects[name]
        assert in_bin(obj.position, np.zeros(3), bin_.position, bin_.size), name
        assert obj.position[2] < bin_.position[2] + 0.08, name  # standing in the bin, not on the other
    assert np.linalg.norm(objects["red_cube"].position[:2] - objects["green_can"].position[:2]) > 0.06
    assert g1.obj == "red_cube"  # the runner's own object is restored


def test_g1_fall_is_detected(g1: SimEpisodeRunner) -> None:
    """A robot lying on the floor counts as fallen (the check the runner applies every tick)."""
    g1.driver.reset(0)
    assert not g1.fallen()
    d = g1.driver.data
    d.qpos[2] = 0.3  # pelvis down and tipped 90 degrees about y
    d.qpos[3:7] = [np.cos(np.pi / 4), 0.0, np.sin(np.pi / 4), 0.0]
    mujoco.mj_forward(g1.driver.model, d)
    assert g1.fallen()
