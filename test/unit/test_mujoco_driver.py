"""mujoco_sim driver: configuration, read/write mapping, options, sim-only extras (short runs)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from robot_control.body.driver import DriverError
from robot_control.body.mujoco_driver import MujocoSimDriver
from robot_control.body.robot_description import load_robot
from robot_control.body.sim import mujoco
from robot_control.body.sim import scene as scenes
from robot_control.body.types import JointCommand

pytestmark = pytest.mark.unit


def make(description: str, **options: object) -> MujocoSimDriver:
    driver = MujocoSimDriver(load_robot(description), options)
    driver.configure()
    return driver


@pytest.fixture(scope="module")
def g1() -> Iterator[MujocoSimDriver]:
    driver = make("g1")
    yield driver
    driver.shutdown()


@pytest.fixture(scope="module")
def panda() -> Iterator[MujocoSimDriver]:
    driver = make("panda")
    yield driver
    driver.shutdown()


def test_declared_properties(g1: MujocoSimDriver) -> None:
    assert MujocoSimDriver.name == "mujoco_sim" and MujocoSimDriver.simulated
    assert g1.rate_hz == 1000 and g1.pacing == "realtime" and g1.substeps == 1
    assert g1.model.opt.timestep == pytest.approx(0.001)
    assert g1.diagnostics()["physics_hz"] == "1000"


def test_g1_read_after_configure(g1: MujocoSimDriver) -> None:
    g1.reset()
    state = g1.read()
    robot = g1.robot
    assert state.joints.names == robot.joint_names
    assert state.joints.position.shape == state.joints.velocity.shape == state.joints.effort.shape == (43,)
    np.testing.assert_allclose(state.joints.position, robot.posture("stand"), atol=1e-9)
    assert state.joints.stamp == 0.0 == g1.sim_time()
    assert state.imu is not None and state.imu.frame_id == "imu_in_pelvis"
    assert np.linalg.norm(state.imu.orientation) == pytest.approx(1.0)
    np.testing.assert_allclose(state.imu.orientation, [0, 0, 0, 1], atol=1e-6)  # x, y, z, w
    names = [o.name for o in state.objects]
    assert names == ["red_cube", "green_can", "bin"]
    # sizes and table height come from the scene (robot_control.body.sim.scene owns the layout)
    scene = scenes.SCENES["g1"]
    spec = next(o for o in scene.catalog if o.name == "red_cube")
    cube = state.objects[0]
    np.testing.assert_allclose(cube.size, spec.size)
    assert cube.position[2] == pytest.approx(scene.table.top + spec.size[2] / 2) and cube.frame_id == "world"


def test_write_steps_one_control_period(g1: MujocoSimDriver) -> None:
    g1.reset()
    g1.activate()
    cmd = JointCommand(("left_elbow_joint",), np.array([1.28]))
    for _ in range(5):
        g1.write(cmd)
    assert g1.sim_time() == pytest.approx(0.005)
    assert g1.read().joints.stamp == pytest.approx(0.005)
    slow = make("panda", rate_hz=500)
    slow.activate()
    slow.write(JointCommand((), np.zeros(0)))
    assert slow.sim_time() == pytest.approx(0.002)


def test_write_clips_targets_to_limits(panda: MujocoSimDriver) -> None:
    panda.reset()
    panda.activate()
    panda.write(JointCommand(("panda_joint4",), np.array([5.0])))
    act = panda.model.actuator("actuator4").id
    assert panda.data.ctrl[act] == pytest.approx(-0.0698)
    panda.write(JointCommand(("panda_finger_joint1",), np.array([0.02])))
    assert panda.data.ctrl[panda.model.actuator("actuator8").id] == pytest.approx(0.02 / 0.04 * 255, rel=1e-6)


def test_unknown_joint_rejected(g1: MujocoSimDriver) -> None:
    g1.activate()
    with pytest.raises(DriverError, match="unknown joint.*no_such_joint"):
        g1.write(JointCommand(("left_elbow_joint", "no_such_joint"), np.zeros(2)))
    with pytest.raises(DriverError, match="2 names but 1 positions"):
        g1.write(JointCommand(("left_elbow_joint", "right_elbow_joint"), np.zeros(1)))
    with pytest.raises(DriverError, match="finite"):
        g1.write(JointCommand(("left_elbow_joint",), np.array([np.nan])))


def test_inactive_driver_ignores_commands_but_steps(panda: MujocoSimDriver) -> None:
    panda.reset()
    panda.deactivate()
    before = panda.data.ctrl.copy()
    panda.write(JointCommand(("panda_joint1",), np.array([1.0])))
    np.testing.assert_array_equal(panda.data.ctrl, before)
    assert panda.sim_time() == pytest.approx(0.001)


def test_panda_arm_joint_moves_toward_target(panda: MujocoSimDriver) -> None:
    panda.reset()
    panda.activate()
    i = panda.robot.index("panda_joint1")
    cmd = JointCommand(("panda_joint1",), np.array([0.3]))
    for _ in range(500):
        panda.write(cmd)
    state = panda.read()
    assert state.joints.position[i] == pytest.approx(0.3, abs=0.02)
    assert state.imu is None
    assert [o.name for o in state.objects] == ["red_cube", "green_cube", "blue_cube", "bin"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pacing": "fast"}, "pacing='fast'.*realtime, free"),
        ({"robot": "atlas"}, "robot='atlas'.*g1, panda"),
        ({"seed": "x"}, "seed='x'"),
        ({"rate_hz": 300}, "rate_hz=300"),
        ({"rate_hz": 2000}, "rate_hz=2000"),
        ({"initial_posture": "dance"}, "initial_posture='dance'.*home, ready"),
        ({"bogus": 1}, "unknown option.*bogus"),
        ({"objects": ["unicorn"]}, "unknown object 'unicorn'"),
        ({"objects": "red_cube"}, "expected a list"),
        ({"objects": [{"name": "thing"}]}, "needs shape, size, mass, position"),
        ({"objects": [{"name": "red_cube", "mass": -1}]}, "mass"),
        ({"objects": ["red_cube", "red_cube"]}, "duplicate"),
        ({"noslip": "sometimes"}, "noslip='sometimes'.*always, robot_contact"),
    ],
)
def test_bad_options_rejected(options: dict, message: str) -> None:
    with pytest.raises(DriverError, match=message):
        make("panda", **options)


def test_g1_scene_on_wrong_description_rejected() -> None:
    with pytest.raises(DriverError, match="not in the g1 MuJoCo model"):
        make("panda", robot="g1")


def test_custom_objects_and_seeded_placement() -> None:
    tall = {"name": "tall_box", "shape": "box", "size": [0.05, 0.05, 0.15], "mass": 0.2,
            "position": [0.55, 0.2]}
    driver = make("panda", objects=["red_cube", tall, {"name": "green_can", "size": [0.06, 0.1]}], seed=3)
    state = {o.name: o for o in driver.read().objects}
    assert set(state) == {"red_cube", "tall_box", "green_can", "bin"}
    np.testing.assert_allclose(state["tall_box"].size, [0.05, 0.05, 0.15])
    np.testing.assert_allclose(state["green_can"].size, [0.06, 0.06, 0.1])
    seeded = state["red_cube"].position.copy()
    assert not np.allclose(seeded[:2], [0.5, -0.15])  # jittered
    assert np.all(np.abs(seeded[:2] - [0.5, -0.15]) <= 0.03 + 1e-9)
    driver.reset(3)
    np.testing.assert_allclose({o.name: o for o in driver.read().objects}["red_cube"].position, seeded)
    driver.reset(None)
    nominal = {o.name: o for o in driver.read().objects}["red_cube"].position[:2]
    np.testing.assert_allclose(nominal, [0.5, -0.15])
    assert driver.sim_time() == 0.0


def test_noslip_only_while_the_robot_touches_an_object() -> None:
    """noslip: robot_contact runs the noslip solver only on steps after a robot-object contact."""
    driver = make("panda", noslip="robot_contact")
    driver.activate()
    driver.step(100)  # objects resting on the table: no robot contact
    assert driver.noslip_steps == 0 and driver.physics_steps == 100
    finger = driver.data.xpos[mujoco.mj_name2id(driver.model, mujoco.mjtObj.mjOBJ_BODY,
                                                       "left_finger")]
    driver.set_object_pose("red_cube", finger)  # overlapping the finger: a contact next step
    driver.step(2)
    assert driver.noslip_steps == 1 and driver.model.opt.noslip_iterations == 10
    always = make("panda")
    always.activate()
    always.step(5)
    assert always.noslip_steps == 0 and always.model.opt.noslip_iterations == 10


def test_set_object_pose(panda: MujocoSimDriver) -> None:
    panda.reset()
    panda.set_object_pose("red_cube", [0.4, 0.0, 0.9], [0, 0, 0.7071068, 0.7071068])
    panda.set_object_pose("bin", [0.3, -0.3, 0.72])
    objects = {o.name: o for o in panda.read().objects}
    np.testing.assert_allclose(objects["red_cube"].position, [0.4, 0.0, 0.9])
    np.testing.assert_allclose(objects["red_cube"].orientation, [0, 0, 0.7071068, 0.7071068], atol=1e-6)
    np.testing.assert_allclose(objects["bin"].position, [0.3, -0.3, 0.72])
    with pytest.raises(DriverError, match="unknown object 'nope'"):
        panda.set_object_pose("nope", [0, 0, 0])
    panda.set_object_pose("bin", [0.4, 0.3, 0.72])


def test_render(panda: MujocoSimDriver) -> None:
    try:
        image = panda.render(160, 120)
    except DriverError as exc:  # no OpenGL backend on this machine
        pytest.skip(str(exc))
    assert image.shape == (120, 160, 3) and image.dtype == np.uint8 and image.std() > 1.0
    with pytest.raises(DriverError, match="unknown camera"):
        panda.render(32, 32, camera="nope")


# -- simulation hooks: pushes and world reset (/sim/push, /sim/reset on the body node) ------------

def test_push_acts_on_the_pelvis_for_its_duration(g1: MujocoSimDriver) -> None:
    g1.reset()
    g1.activate()
    g1.step(100)
    pelvis = g1.model.body("pelvis").id
    g1.apply_wrench((0.0, 200.0, 0.0), (0.0, 0.0, 0.0), 0.05)  # default body: the base frame
    np.testing.assert_array_equal(g1.data.xfrc_applied[pelvis], [0, 200, 0, 0, 0, 0])
    assert g1.diagnostics()["push_active"] == "true"
    g1.step(49)
    assert g1.data.xfrc_applied[pelvis, 1] == 200.0
    g1.step(1)  # the 50th physics step ends the push
    assert not g1.data.xfrc_applied.any()
    assert g1.diagnostics()["push_active"] == "false"
    vy = g1.data.qvel[1]  # the floating base's world y velocity
    assert vy > 0.1, f"a 10 N·s sideways push left the pelvis at {vy:.3f} m/s"


def test_push_ends_on_its_physics_step_within_a_control_period() -> None:
    panda = make("panda", rate_hz=500)  # 2 physics steps per write
    panda.activate()
    cube = panda.model.body("red_cube").id
    panda.apply_wrench((3.0, 0.0, 0.0), (0.0, 0.0, 0.1), 0.003, body="red_cube")  # 3 physics steps
    panda.step(1)
    np.testing.assert_array_equal(panda.data.xfrc_applied[cube], [3, 0, 0, 0, 0, 0.1])
    panda.step(1)
    assert not panda.data.xfrc_applied.any() and panda.sim_time() == pytest.approx(0.004)
    panda.apply_wrench((1.0, 0.0, 0.0), (0.0, 0.0, 0.0), 1.0, body="red_cube")
    panda.apply_wrench((0.0, 2.0, 0.0), (0.0, 0.0, 0.0), 1.0, body="green_cube")  # replaces the first
    assert panda.data.xfrc_applied[cube].tolist() == [0.0] * 6
    assert panda.data.xfrc_applied[panda.model.body("green_cube").id, 1] == 2.0
    assert panda.diagnostics()["pushes"] == "3"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (((0, 0, 0), (0, 0, 0), 0.1, "no_such_body"), "cannot push 'no_such_body'"),
        (((0, 0, 0), (0, 0, 0), 0.1, "world"), "cannot push 'world'"),
        (((np.nan, 0, 0), (0, 0, 0), 0.1, None), "finite force"),
        (((1, 0), (0, 0, 0), 0.1, None), "finite force"),
        (((1, 0, 0), (0, 0, 0), 0.0, None), "at least one physics step"),
        (((1, 0, 0), (0, 0, 0), float("inf"), None), "at least one physics step"),
        (((1, 0, 0), (0, 0, 0), "soon", None), "push"),
    ],
)
def test_bad_push_rejected(g1: MujocoSimDriver, args: tuple, message: str) -> None:
    before = g1.data.xfrc_applied.copy()
    with pytest.raises(DriverError, match=message):
        g1.apply_wrench(*args)
    np.testing.assert_array_equal(g1.data.xfrc_applied, before)


def test_reset_simulation_restores_the_world_and_keeps_time_running(g1: MujocoSimDriver) -> None:
    g1.reset()
    g1.activate()
    g1.apply_wrench((0.0, 400.0, 0.0), (0.0, 0.0, 0.0), 0.2)
    g1.step(100)
    g1.write(JointCommand(("left_elbow_joint",), np.array([0.3])))
    t = g1.sim_time()
    g1.reset_simulation()
    assert g1.sim_time() == pytest.approx(t)  # /clock never goes back
    assert not g1.data.xfrc_applied.any() and g1.diagnostics()["push_active"] == "false"
    state = g1.read()
    np.testing.assert_allclose(state.joints.position, g1.robot.posture("stand"), atol=1e-9)
    np.testing.assert_allclose(state.imu.orientation, [0, 0, 0, 1], atol=1e-6)
    g1.step(1)
    assert g1.sim_time() == pytest.approx(t + 0.001)


def test_drivers_without_simulation_hooks_refuse_them() -> None:
    from robot_control.body.mock_driver import MockDriver

    mock = MockDriver(load_robot("g1"), {})
    mock.configure()
    with pytest.raises(DriverError, match="'mock' cannot apply external wrenches.*simulation-only"):
        mock.apply_wrench((1.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.1)
    with pytest.raises(DriverError, match="'mock' cannot reset the world.*simulation-only"):
        mock.reset_simulation()
