"""The edge node as a real process: MuJoCo body + cerebellum + edge over real DDS, skills over gRPC.

* `test_edge_node_streams_and_holds_on_cancel` (Panda sim, models exported by the test): a
  goal-tracking reach succeeds through the whole path (gRPC -> runtime -> /cerebellum/trajectory
  -> cerebellum -> body), and cancelling a running skill leaves the arm holding still.
* `test_skill_chain_puts_the_object_in_the_bin` (Panda and G1 sims): the trained skills in
  config/skills run reach -> grasp -> lift -> transport -> place (-> release) on one object via
  Execute; the object must end inside the bin (its pose from /objects, i.e. the simulation
  state). Skipped with the reason while config/skills lacks the chain's models.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from robot_control.edge.chain_client import (
    ARM,
    CHAIN,
    OBJECT,
    Observer,
    connect,
    free_port,
    run_skill,
    skills_stack,
    trained_chain,
)
from robot_control.paths import config_path
from robot_control.testing import wait_for
from robot_control.v1 import skill_pb2

pytestmark = [pytest.mark.integration, pytest.mark.sim]
Phase = skill_pb2.SkillProgress.Phase


def test_edge_node_streams_and_holds_on_cancel(ros, stack, tmp_path: Path) -> None:
    from unit.edge_fakes import goal_tracking_skill

    from robot_control.edge.embodiment import PANDA

    # generous durations: on a loaded machine the simulation may run slower than real time
    goal_tracking_skill(tmp_path, "reach", success=[{"check": "ee_near_goal", "tolerance": 0.015}],
                        max_duration_s=30.0)
    goal_tracking_skill(tmp_path, "slow_rise", goal="lift", gain=0.01, max_duration_s=30.0)  # 12 cm up, slowly
    port = free_port()
    obs = Observer(ros.node)
    stack(skills_stack("panda", port, tmp_path))
    client, listed = connect(port)
    assert [c.name for c in listed.skills] == ["reach", "slow_rise"] and not listed.rejected
    wait_for(lambda: obs.mode() == "hold" and obs.q, 30.0, what="cerebellum holding")

    result = run_skill(client, listed.skills[0], "arm", OBJECT, request_id="reach-1")
    final = result.final
    assert final is not None and final.phase == Phase.SUCCEEDED, result.message
    assert "tracking" in obs.modes  # the cerebellum followed the streamed points
    stages = dict(final.server_timing.stages_s)
    print(f"reach over the stack: {final.elapsed_s:.2f} s, step p50 {1e3 * stages['step_p50']:.2f} ms, "
          f"p99 {1e3 * stages['step_p99']:.2f} ms, policy p50 {1e3 * stages['policy_p50']:.3f} ms")

    call = client.stub.Execute(skill_pb2.ExecuteSkillRequest(
        request_id="slow-1", skill="slow_rise", arm_group="arm",
        arguments=[skill_pb2.SkillArgument(name="object", symbol=OBJECT)]), timeout=60)
    moving_from = None
    last = None
    for last in call:
        if last.phase == Phase.RUNNING and last.elapsed_s > 0.2 and moving_from is None:
            moving_from = obs.joints(PANDA.chain)
        if last.phase == Phase.RUNNING and last.elapsed_s > 1.0:
            call.cancel()
            break
    assert last is not None and last.phase == Phase.RUNNING, f"slow_rise ended early: {last}"
    assert moving_from is not None
    assert np.max(np.abs(obs.joints(PANDA.chain) - moving_from)) > 0.005, "the slow skill did not move the arm"
    at_cancel = obs.joints(PANDA.chain)
    series = []
    for _ in range(20):
        time.sleep(0.1)
        series.append(obs.joints(PANDA.chain))
    excursion = float(np.max(np.abs(np.array(series) - at_cancel)))
    settled = float(np.max(np.abs(series[-1] - series[-6])))
    # it stops where it is: a gravity sag of a few mrad onto the PD's hold, no further motion
    assert excursion < 0.03, f"the arm moved {excursion:.4f} rad after the cancel"
    assert settled < 0.003, f"the arm still moves {settled:.4f} rad per 0.5 s after the cancel"
    assert obs.mode() == "hold"
    wait_for(lambda: obs.diag.get("edge: arm", {}).get("last_outcome") == "slow_rise: CANCELED", 5.0,
             what=f"edge diagnostics saying slow_rise: CANCELED (have {obs.diag.get('edge: arm')})")
    diag = obs.diag["edge: arm"]
    assert float(diag["step_p99_ms"]) > 0 and diag["active_skill"] == ""
    client.close()


def skills_folder() -> Path:
    """config/skills, or EDGE_TEST_SKILLS (a candidate model folder to try before it is shipped)."""
    override = os.environ.get("EDGE_TEST_SKILLS")
    return Path(override) if override else config_path("skills")


@pytest.mark.slow
@pytest.mark.parametrize("robot", ["panda", "g1"])
def test_skill_chain_puts_the_object_in_the_bin(ros, stack, robot: str) -> None:
    chain = trained_chain(skills_folder(), robot)
    missing = [s for s in CHAIN[:5] if s not in chain]
    if missing:
        pytest.skip(f"{skills_folder()} has no trained {robot} model for {', '.join(missing)}")
    port = free_port()
    obs = Observer(ros.node)
    stack(skills_stack(robot, port, skills_folder()))
    client, listed = connect(port)
    contracts = {c.name: c for c in listed.skills}
    assert set(chain) <= set(contracts), f"edge serves {sorted(contracts)}; rejected: {list(listed.rejected)}"
    wait_for(lambda: obs.mode() == "hold" and OBJECT in obs.objects, 30.0, what="cerebellum holding, objects")
    time.sleep(1.0)  # let the robot settle on its feet
    report = []
    for skill in chain:
        result = run_skill(client, contracts[skill], ARM[robot], OBJECT, request_id=f"{robot}-{skill}")
        final = result.final
        assert final is not None, "\n".join(report) + f"\n{skill}: {result.phase_name} {result.message}"
        stages = dict(final.server_timing.stages_s)
        report.append(f"{skill}: {Phase.Name(final.phase)} in {final.elapsed_s:.2f} s "
                      f"(step p50 {1e3 * stages.get('step_p50', 0):.2f} ms, "
                      f"p99 {1e3 * stages.get('step_p99', 0):.2f} ms) {final.message}")
        print(report[-1])
        assert final.phase == Phase.SUCCEEDED, "\n".join(report) + f"\nworld: {final.world}"
    time.sleep(1.0)
    with obs.lock:
        pos, size = obs.objects[OBJECT]
        bin_pos, bin_size = obs.objects["bin"]
    inside = np.all(np.abs(pos[:2] - bin_pos[:2]) <= bin_size[:2] / 2 - 0.01)
    bottom = pos[2] - size[2] / 2
    assert inside and bottom < bin_pos[2] + bin_size[2], (
        f"{OBJECT} at {np.round(pos, 3)} is not in the bin at {np.round(bin_pos, 3)}\n" + "\n".join(report))
    if robot == "g1":
        assert obs.base_z and obs.base_z[-1] > 0.6, "the G1 fell"
    client.close()
