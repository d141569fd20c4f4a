"""SceneJudge (robot_control.edge.chain_client) agrees with the simulation's own success checks.

The live benchmark judges skills on a copy of the scene posed from published state (joints, base
pose, object poses). Here the scripted experts run in MujocoSimDriver directly and, after every
skill, the judge posed from `driver.read()` (what the body node publishes) must agree with
`experts.check_success` on the real simulation data, contacts included.
"""

from __future__ import annotations

import numpy as np
import pytest

from robot_control.edge.chain_client import CHAIN, ObjectState, SceneJudge, Snapshot
from robot_control.edge.experts import check_success
from robot_control.edge.sim_episode import SimEpisodeRunner

pytestmark = pytest.mark.sim


def published(runner: SimEpisodeRunner) -> Snapshot:
    """What the body node would publish for the driver's current step."""
    state = runner.driver.read()
    objects = {o.name: ObjectState(o.position.copy(), o.orientation.copy(), o.size.copy()) for o in state.objects}
    base = None if state.base_pose is None else (state.base_pose.position.copy(), state.base_pose.orientation.copy())
    return Snapshot(state.joints.stamp, tuple(state.joints.names), state.joints.position.copy(), objects, base)


@pytest.mark.parametrize(("robot", "chain"), [("panda", CHAIN), ("g1", CHAIN[:3])])
def test_judge_agrees_with_the_simulation_after_every_expert_skill(robot: str, chain: tuple[str, ...]) -> None:
    runner = SimEpisodeRunner(robot)
    judge = SceneJudge(robot)
    rng = np.random.default_rng(0)
    runner.driver.reset(500_003)
    runner.driver.step(300)
    runner.adapter.reset(runner.driver.read().joints)
    assert judge.placement_error(published(runner), 500_003) < 1e-3
    assert judge.placement_error(published(runner), 500_004) > 1e-3
    for i, skill in enumerate(chain):
        start = published(runner)
        ctx = judge.context(start)
        ctx_sim = runner._ctx(runner._measured_ee())
        np.testing.assert_allclose(ctx.ee0, ctx_sim.ee0, atol=1e-9)
        np.testing.assert_allclose(ctx.obj0, ctx_sim.obj0, atol=1e-9)
        if i + 1 < len(chain):  # before it runs, the next skill's condition does not hold yet
            assert not judge.judge(chain[i + 1], start, ctx).success, chain[i + 1]
        rec = runner.run_skill(runner.skills[skill], 0.0, rng, False)
        assert rec.success, f"{robot} expert {skill} failed on seed 500003"
        end = published(runner)
        verdict = judge.judge(skill, end, ctx)
        truth = check_success(skill, runner.view, runner.obj, ctx_sim, runner._measured_ee(), ctx_sim.obj0)
        assert verdict.success == truth, (skill, verdict.details)
        # touching within 1 mm on the reconstruction: at least the simulation's penetrating contacts
        assert set(verdict.details["hand_contacts"]) >= runner.view.hand_contacts(runner.obj), skill
        if skill == "release":
            assert verdict.details["hand_distance_m"] == pytest.approx(runner.view.hand_distance(runner.obj), abs=1e-4)
