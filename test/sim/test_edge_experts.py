"""Edge-skill experts in real contact physics: full reach→release chains on the Panda and the G1."""

from __future__ import annotations

import numpy as np
import pytest

from robot_control.edge.embodiment import ACT_DIM, OBS_DIM
from robot_control.edge.experts import CHAIN
from robot_control.edge.sim_episode import SimEpisodeRunner

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def panda() -> SimEpisodeRunner:
    return SimEpisodeRunner("panda")


@pytest.mark.parametrize("seed", [0, 7, 23])
def test_panda_full_chain(panda: SimEpisodeRunner, seed: int) -> None:
    res = panda.run(seed)
    assert res.success == dict.fromkeys(CHAIN, True), res.success
    for rec in res.skills:
        assert rec.obs.shape[1:] == (OBS_DIM,) and rec.act.shape[1:] == (ACT_DIM,)
        assert len(rec.obs) == len(rec.act) > 0
        assert np.all(np.isfinite(rec.obs))


def test_panda_chain_with_demo_noise(panda: SimEpisodeRunner) -> None:
    res = panda.run(3, noise=0.0005)
    assert res.chain_success, res.success
    grasp = next(r for r in res.skills if r.skill == "grasp")
    assert not np.allclose(grasp.act[:, :3], grasp.executed[:, :3])  # labels stay clean


@pytest.mark.xfail(reason="G1 tips over while reaching: the scene's objects/bin lie beyond the arm's "
                          "reach with an upright torso, and leaning the waist on the PD-held stand "
                          "falls backwards (see the edge report)", strict=False)
def test_g1_full_chain() -> None:
    runner = SimEpisodeRunner("g1")
    res = runner.run(0)
    assert res.chain_success, res.success
