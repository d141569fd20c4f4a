"""The body node's `sim_seed` parameter over real DDS: set it, call /sim/reset, the scene is that seed's.

The Panda MuJoCo body runs alone as a process; the test sets `sim_seed` with a SetParameters
request (what `ros2 param set /body sim_seed N` sends) and checks /objects against the scene's
placements for that seed (robot_control.body.sim.scene), and that a bad value is refused.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robot_control.body.sim import scene as scenes
from robot_control.edge.chain_client import Observer, SimControl
from robot_control.supervisor.stack import load_stack
from robot_control.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.sim]


def body_only(stack_name: str):
    spec = load_stack(stack_name)
    return dataclasses.replace(spec, nodes=tuple(n for n in spec.nodes if n.name == "body"))


def test_sim_seed_parameter_selects_the_scene_of_the_next_reset(ros, stack) -> None:
    obs = Observer(ros.node)
    sim = SimControl(ros.node)
    stack(body_only("sim_panda"))
    wait_for(obs.ready, 30.0, what="/joint_states and /objects from the body")
    built = scenes.build("panda")

    def at_seed(seed: int) -> bool:
        snap = obs.settled_snapshot()
        return all(np.linalg.norm(snap.objects[p.name].position[:2] - p.pos[:2]) < 1e-3
                   for p in built.placements(seed))

    assert at_seed(0)  # config/params/body_sim_panda.yaml: driver_options.seed 0
    for seed in (500_000, 500_001):
        assert sim.reset(seed) == f"simulation reset to its initial state (seed {seed})"
        obs.wait_sim_time(0.05, 10.0)
        assert at_seed(seed), f"/objects after /sim/reset with sim_seed {seed}: {obs.objects}"
    # -1 keeps the last seed; a reset without setting anything resets to it again
    assert sim.reset(-1) == "simulation reset to its initial state (seed 500001)"
    assert sim.reset() == "simulation reset to its initial state (seed 500001)"
    obs.wait_sim_time(0.05, 10.0)
    assert at_seed(500_001)
    with pytest.raises(RuntimeError, match="sim_seed must be >= -1"):
        sim.set_seed(-7)
