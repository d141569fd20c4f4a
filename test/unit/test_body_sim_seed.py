"""/sim/reset to a given scene seed: the body node's `sim_seed` parameter (reset_world / check_sim_seed)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from robot_control.body.driver import DriverError
from robot_control.body.mujoco_driver import MujocoSimDriver
from robot_control.body.node import NO_SEED, check_sim_seed, reset_world
from robot_control.body.robot_description import load_robot
from robot_control.body.types import JointCommand

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def panda() -> Iterator[MujocoSimDriver]:
    driver = MujocoSimDriver(load_robot("panda"), {"seed": 0})
    driver.configure()
    driver.activate()
    yield driver
    driver.shutdown()


def object_xy(driver: MujocoSimDriver) -> dict[str, np.ndarray]:
    return {o.name: o.position[:2].copy() for o in driver.read().objects if o.name != "bin"}


def expected_xy(driver: MujocoSimDriver, seed: int) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(p.pos[:2]) for p in driver.built.placements(seed)}


def assert_scene(driver: MujocoSimDriver, seed: int) -> None:
    got, want = object_xy(driver), expected_xy(driver, seed)
    assert got.keys() == want.keys()
    for name in want:
        np.testing.assert_allclose(got[name], want[name], atol=1e-9, err_msg=f"{name} after a reset to seed {seed}")


def test_sim_seed_resets_to_that_seeds_scene_and_keeps_time_running(panda: MujocoSimDriver) -> None:
    panda.write(JointCommand(("panda_joint1",), np.array([0.4])))
    panda.step(50)
    t = panda.sim_time()
    message = reset_world(panda, 500_001)
    assert message == "simulation reset to its initial state (seed 500001)"
    assert panda.seed == 500_001 and panda.diagnostics()["seed"] == "500001"
    assert panda.sim_time() == pytest.approx(t)  # /clock never goes back
    assert_scene(panda, 500_001)
    np.testing.assert_allclose(panda.read().joints.position, panda.robot.posture("home"), atol=1e-9)
    # the seeds really differ: each one lands its own scene
    seeds = (500_000, 500_001, 500_002)
    scenes = [expected_xy(panda, s)["red_cube"] for s in seeds]
    assert min(np.linalg.norm(a - b) for i, a in enumerate(scenes) for b in scenes[i + 1:]) > 1e-3
    for seed in seeds:
        reset_world(panda, seed)
        assert_scene(panda, seed)


def test_no_seed_keeps_the_drivers_current_seed(panda: MujocoSimDriver) -> None:
    reset_world(panda, 42)
    panda.step(20)
    assert reset_world(panda, NO_SEED) == "simulation reset to its initial state (seed 42)"
    assert panda.seed == 42
    assert_scene(panda, 42)


@pytest.mark.parametrize("value", [-2, True, 1.5, "7", None])
def test_bad_sim_seed_is_refused_before_touching_the_world(panda: MujocoSimDriver, value: object) -> None:
    reset_world(panda, 5)
    assert check_sim_seed(value) is not None and "sim_seed" in check_sim_seed(value)
    with pytest.raises(ValueError, match="sim_seed"):
        reset_world(panda, value)  # type: ignore[arg-type]
    assert panda.seed == 5


def test_valid_sim_seeds() -> None:
    assert check_sim_seed(NO_SEED) is None and check_sim_seed(0) is None and check_sim_seed(2**40) is None


def test_drivers_without_a_seeded_scene_refuse_a_seed() -> None:
    from robot_control.body.mock_driver import MockDriver

    mock = MockDriver(load_robot("g1"), {})
    mock.configure()
    with pytest.raises(DriverError, match="'mock' has no seeded scene: sim_seed 3"):
        reset_world(mock, 3)
    with pytest.raises(DriverError, match="'mock' cannot reset the world"):
        reset_world(mock, NO_SEED)  # the Driver contract's own refusal


def test_a_failed_reset_keeps_the_previous_seed() -> None:
    class Flaky:
        name, simulated, seed = "flaky", True, 9

        def reset_simulation(self) -> None:
            raise DriverError("flaky: boom")

    driver = Flaky()
    with pytest.raises(DriverError, match="boom"):
        reset_world(driver, 11)
    assert driver.seed == 9
