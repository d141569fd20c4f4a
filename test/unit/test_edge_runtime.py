"""Edge runtime without ROS: checks, skill loading, executor success / timeout / cancel -> hold,
failure, preemption and request validation, on a kinematic Panda with a fake clock."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from edge_fakes import BIN, BIN_SIZE, CUBE, KinematicPanda, chain_index, goal_tracking_skill, panda_runtime

from robot_control.edge.checks import CheckError, CheckInputs, Region, bind_check, compile_checks
from robot_control.edge.embodiment import PANDA
from robot_control.edge.manifest import Check, manifest_from_dict
from robot_control.edge.runtime import (
    CANCELED,
    FAILED,
    PREEMPTED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    BusyError,
    NotReadyError,
    RequestError,
    SkillRequest,
    TrajectoryCommand,
    merge_commands,
)

pytestmark = pytest.mark.unit


def inputs(**kw) -> CheckInputs:
    base = dict(ee=np.zeros(3), goal=np.zeros(3), obj=np.array([0.0, 0.0, 0.1]), gripper=0.0,
                ee0=np.zeros(3), obj0=np.array([0.0, 0.0, 0.1]),
                regions={"to": Region(np.array([1.0, 0.0, 0.0]), np.array([0.2, 0.2, 0.04]))})
    base.update(kw)
    return CheckInputs(**base)


def holds(kind: str, name: str, params: dict, **kw) -> bool:
    return bind_check(Check(name, params), kind, "t").evaluate(inputs(**kw))[0]


# -- checks ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "params", "true_case", "false_case"), [
    ("ee_near_goal", {"tolerance": 0.01}, {"goal": np.array([0.005, 0, 0])}, {"goal": np.array([0.02, 0, 0])}),
    ("gripper_closed", {"min": 0.3}, {"gripper": 0.4}, {"gripper": 0.2}),
    ("gripper_open", {"max": 0.05}, {"gripper": 0.01}, {"gripper": 0.5}),
    ("object_near_ee", {"tolerance": 0.03}, {"obj": np.array([0, 0, 0.02])}, {"obj": np.array([0, 0, 0.05])}),
    ("object_raised", {"height": 0.08}, {"obj": np.array([0, 0, 0.19])}, {"obj": np.array([0, 0, 0.15])}),
    ("object_in_region", {"region": "to", "margin": 0.02}, {"obj": np.array([1.07, 0.0, 0.02])},
     {"obj": np.array([1.09, 0.0, 0.02])}),
    ("object_in_region", {"region": "to", "max_height": 0.05}, {"obj": np.array([1.0, 0.0, 0.03])},
     {"obj": np.array([1.0, 0.0, 0.2])}),
    ("object_in_region", {"region": "to", "min_height": 0.08}, {"obj": np.array([1.0, 0.0, 0.1])},
     {"obj": np.array([1.0, 0.0, 0.03])}),
])
def test_success_checks(name, params, true_case, false_case) -> None:
    assert holds("success", name, params, **true_case)
    assert not holds("success", name, params, **false_case)


def test_failure_checks() -> None:
    # held object: it moved with the ee (no drop); then it stayed behind while the ee rose
    moved_with_hand = dict(ee=np.array([0, 0, 0.1]), obj=np.array([0, 0, 0.2]))
    assert not holds("failure", "object_dropped", {"tolerance": 0.03}, **moved_with_hand)
    assert holds("failure", "object_dropped", {"tolerance": 0.03}, ee=np.array([0, 0, 0.1]))
    assert holds("failure", "object_dropped", {"height": 0.03}, obj=np.array([0, 0, 0.05]))
    assert not holds("failure", "object_dropped", {"height": 0.03}, obj=np.array([0.05, 0, 0.1]))  # sideways
    assert holds("failure", "object_moved", {"tolerance": 0.01}, obj=np.array([0.02, 0, 0.1]))
    assert not holds("failure", "object_moved", {"tolerance": 0.01}, obj=np.array([0.005, 0, 0.1]))
    # an unknown region never counts as reached
    assert not holds("success", "object_in_region", {"region": "shelf"}, obj=np.array([1.0, 0, 0.02]))


@pytest.mark.parametrize(("kind", "check", "message"), [
    ("success", Check("ee_teleported", {}), "unknown check 'ee_teleported'"),
    ("success", Check("object_dropped", {"tolerance": 0.1}), "failure check; it cannot be a success"),
    ("failure", Check("ee_near_goal", {"tolerance": 0.1}), "success check; it cannot be a failure"),
    ("success", Check("ee_near_goal", {}), "needs parameter"),
    ("success", Check("ee_near_goal", {"tolerance": 0.1, "tol": 1.0}), "unknown parameter"),
    ("success", Check("gripper_closed", {"min": "closed"}), "finite number"),
    ("failure", Check("object_dropped", {"tolerance": 0.1, "height": 0.1}), "exactly one of"),
])
def test_bad_checks_say_why(kind, check, message) -> None:
    with pytest.raises(CheckError, match=message):
        bind_check(check, kind, "lift.yaml success[0]")


def test_compile_checks_lists_regions(tmp_path: Path) -> None:
    from edge_fakes import skill_manifest

    m = manifest_from_dict(skill_manifest("place", "place", [{"check": "object_in_region", "region": "to"}],
                                          [{"check": "object_dropped", "height": 0.03}],
                                          parameters=("arm:arm", "object:object", "to:location")), "x")
    checks = compile_checks(m)
    assert checks.regions == ("to",) and [c.name for c in checks.failure] == ["object_dropped"]


# -- loading --------------------------------------------------------------------------------------
def test_skills_the_runtime_cannot_run_are_rejected_with_reasons(tmp_path: Path) -> None:
    from robot_control.edge.runtime import load_skills

    goal_tracking_skill(tmp_path, "reach")
    goal_tracking_skill(tmp_path, "hover", goal="reach", success=[{"check": "ee_teleported", "tolerance": 0.1}])
    goal_tracking_skill(tmp_path, "wave", goal="pregrasp")
    goal_tracking_skill(tmp_path, "place", goal="place",
                        success=[{"check": "object_in_region", "region": "object"}])  # region is an object
    goal_tracking_skill(tmp_path, "lift", goal="lift", embodiments=("g1",))
    skills = load_skills(tmp_path, "panda", [PANDA], max_rate_hz=50.0)
    assert sorted(skills.skills) == ["reach"]
    assert "unknown check 'ee_teleported'" in skills.rejected["hover.yaml"]
    assert "unknown goal 'pregrasp'" in skills.rejected["wave.yaml"]
    assert "expected location" in skills.rejected["place.yaml"]
    assert skills.elsewhere == {"lift": ("g1",)}
    fast = load_skills(tmp_path, "panda", [PANDA], max_rate_hz=25.0)
    assert "exceeds the edge loop rate" in fast.rejected["reach.yaml"]
    missing = load_skills(tmp_path / "nowhere", "panda", [PANDA])
    assert not missing.skills and "does not exist" in missing.rejected_lines()[0]


# -- executor -------------------------------------------------------------------------------------
def run_until_done(body: KinematicPanda, runtime, run, max_ticks: int = 400) -> list[TrajectoryCommand]:
    sent = []
    for _ in range(max_ticks):
        sent += body.step(runtime)
        if run.done.is_set():
            return sent
    raise AssertionError(f"{run.label} did not finish: {run.phase}")


def events(run) -> list:
    out = []
    while (e := run.next_event(0)) is not None:
        out.append(e)
    return out


def test_reach_succeeds_and_holds_its_last_command(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach")
    body = KinematicPanda(follow=0.6)
    rt = panda_runtime(tmp_path, body)
    run = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}, request_id="r1"))
    sent = run_until_done(body, rt, run)
    evs = events(run)
    assert evs[0].phase == RUNNING and evs[-1].phase == SUCCEEDED and evs[-1].progress == 1.0
    assert [e.progress for e in evs] == sorted(e.progress for e in evs)  # monotone
    assert any(e.sub_phase == "approach" for e in evs)
    # the goal: above the cube (Panda pre-grasp), reached by the measured ee point
    ex = rt.executors["arm"]
    ee = ex.ee(body.world.snapshot())
    np.testing.assert_allclose(ee, CUBE + [0, 0, 0.08], atol=0.01)
    steps = [c for c in sent if c.kind == "step"]
    hold = sent[-1]
    assert hold.kind == "hold" and np.all(hold.velocities == 0)
    np.testing.assert_array_equal(hold.positions, steps[-1].positions)  # holds the last command
    assert all(c.duration_s == pytest.approx(1.5 * 0.02) for c in sent)
    final = evs[-1]
    assert final.world is not None and "red_cube" in final.world.snapshot.objects
    assert final.timing["steps"] == len(steps) and final.timing["step_p50_s"] > 0
    status = rt.status()["arm"]
    assert status["active_skill"] == "" and status["last_outcome"] == "reach: SUCCEEDED"
    assert status["steps"] == len(steps) and status["step_p99_ms"] > 0


def test_goal_uses_the_same_context_as_training(tmp_path: Path) -> None:
    """Goal = experts' target of a SkillContext built like SimEpisodeRunner._ctx (incl. the others)."""
    from robot_control.edge.experts import SkillContext, make_skills

    goal_tracking_skill(tmp_path, "transport", goal="transport", parameters=("arm:arm", "object:object", "to:location"))
    body = KinematicPanda()
    body.extra["green_cube"] = (BIN + [0.0, -0.05, 0.025], np.full(3, 0.04))  # already in the bin: one slot taken
    body.publish()
    rt = panda_runtime(tmp_path, body)
    run = rt.submit(SkillRequest("transport", "arm", {"object": "red_cube", "to": "bin"}))
    body.step(rt)
    ee0 = run.ctx.ee0
    others = ((body.extra["green_cube"][0], body.extra["green_cube"][1]),)
    ctx = SkillContext(PANDA, CUBE, ee0, np.full(3, 0.045), BIN, BIN_SIZE, 0.72, others)
    np.testing.assert_allclose(run.goal, make_skills(PANDA)["transport"].target(ctx), atol=1e-12)
    lonely = SkillContext(PANDA, CUBE, ee0, np.full(3, 0.045), BIN, BIN_SIZE, 0.72)
    assert np.linalg.norm(run.goal - make_skills(PANDA)["transport"].target(lonely)) > 0.05  # the other slot


def test_velocities_are_the_finite_difference_of_the_targets(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach")
    body = KinematicPanda()
    rt = panda_runtime(tmp_path, body)
    rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    sent = [c for _ in range(5) for c in body.step(rt)]
    for a, b in zip(sent, sent[1:], strict=False):
        np.testing.assert_allclose(b.velocities, (b.positions - a.positions) / 0.02, atol=1e-9)


def test_feed_forward_velocities_stay_within_the_joint_limits(tmp_path: Path) -> None:
    """The hand snaps shut in one tick (0.04 m / 20 ms = 2 m/s): the velocity sent is the finger's
    limit, so the cerebellum still accepts the point (its limiter paces the motion)."""
    goal_tracking_skill(tmp_path, "reach", gripper=1.0)
    body = KinematicPanda()
    rt = panda_runtime(tmp_path, body)
    rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    (first,) = body.step(rt)
    finger = first.joint_names.index("panda_finger_joint1")
    assert first.positions[finger] == 0.0  # closed at once
    assert first.velocities[finger] == pytest.approx(-body.robot.array("velocity")[body.robot.index("panda_finger_joint1")])


def test_timeout_holds_measured_chain_and_keeps_the_grip(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach", gain=0.0, gripper=1.0)  # never moves, closes the hand
    body = KinematicPanda(follow=0.5)
    rt = panda_runtime(tmp_path, body)
    run = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}, timeout_s=0.3))
    sent = run_until_done(body, rt, run)
    assert run.phase == TIMED_OUT and "unmet: ee_near_goal" in run.message
    hold = sent[-1]
    assert hold.kind == "hold" and np.all(hold.velocities == 0)
    chain = len(PANDA.chain)
    before = body.commands[-2].positions
    np.testing.assert_allclose(hold.positions[:chain], body.q[chain_index(body)], atol=1e-6)  # measured
    assert hold.positions[chain:] == pytest.approx(before[chain:])  # the commanded hand (closed)
    assert events(run)[-1].elapsed_s == pytest.approx(0.3, abs=0.021)


@pytest.mark.parametrize(("clock", "wall_s"), [("stamps", 0.6), ("wall", 0.3)])
def test_skill_time_runs_on_the_robot_clock(tmp_path: Path, clock: str, wall_s: float) -> None:
    """A simulation at half real time (stamps = sim time): a 0.3 s skill timeout is 0.3 s of
    simulated time, as in training, i.e. 0.6 s on the edge's clock (skill_clock "wall": 0.3 s)."""
    goal_tracking_skill(tmp_path, "reach", gain=0.0)
    body = KinematicPanda(real_time_factor=0.5)
    rt = panda_runtime(tmp_path, body, skill_clock=clock)
    run = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}, timeout_s=0.3))
    start = body.t
    run_until_done(body, rt, run)
    assert run.phase == TIMED_OUT
    assert run.ended_at - start == pytest.approx(wall_s, abs=0.021)
    assert events(run)[-1].elapsed_s == pytest.approx(0.3 if clock == "stamps" else wall_s, abs=0.021)


def test_slow_robot_clock_steps_per_robot_period_with_stretched_points(tmp_path: Path) -> None:
    """At half real time a step comes every other 20 ms edge tick (one 20 ms period of robot
    time), and each streamed point lasts 1.5 robot periods = 60 ms of the cerebellum's clock."""
    goal_tracking_skill(tmp_path, "reach", gain=0.05)
    body = KinematicPanda(real_time_factor=0.5)
    rt = panda_runtime(tmp_path, body)
    rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    sent = [body.step(rt) for _ in range(60)]
    assert rt.robot_clock_rate == pytest.approx(0.5, abs=0.01)
    late = sent[40:]
    assert sum(1 for out in late if out) == len(late) // 2
    assert all(c.duration_s == pytest.approx(0.06) for out in late for c in out)


def test_steps_keep_the_robot_period_on_average(tmp_path: Path) -> None:
    """100 Hz edge ticks, robot clock at 0.6x: steps land on a 20 ms grid of robot time."""
    goal_tracking_skill(tmp_path, "reach", gain=0.01, max_duration_s=100.0)
    body = KinematicPanda(real_time_factor=0.6)
    rt = panda_runtime(tmp_path, body, max_rate_hz=100.0)
    run = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    for _ in range(300):
        body.step(rt, dt=0.01)
    assert run.phase == RUNNING
    assert run.steps == pytest.approx(run.elapsed / 0.02, abs=2)


def test_cancel_mid_skill_holds_where_the_arm_is(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach")
    body = KinematicPanda(follow=0.3)  # a lagging arm: measured != commanded
    rt = panda_runtime(tmp_path, body)
    run = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    for _ in range(10):
        body.step(rt)
    last_step = body.commands[-1]
    measured = body.q[chain_index(body)].copy()
    assert np.max(np.abs(last_step.positions[:7] - measured)) > 1e-3
    run.cancel("operator")
    out = body.step(rt)
    assert run.phase == CANCELED and run.message == "operator"
    assert len(out) == 1 and out[0].kind == "hold"
    np.testing.assert_allclose(out[0].positions[:7], measured, atol=1e-9)
    assert np.all(out[0].velocities == 0)
    assert events(run)[-1].phase == CANCELED
    for _ in range(5):  # idle: nothing more is streamed, the cerebellum holds the point
        assert body.step(rt) == []
    # a new skill starts from the measured pose (no jump back to the old command)
    rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    first = body.step(rt)[0]
    assert np.max(np.abs(first.positions[:7] - body.q[chain_index(body)])) < 0.05


def test_failure_check_fails_the_skill_and_holds(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach", failure=[{"check": "object_moved", "tolerance": 0.01}])
    body = KinematicPanda()
    rt = panda_runtime(tmp_path, body)
    run = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    for _ in range(3):
        body.step(rt)
    body.cube += [0.03, 0.0, 0.0]  # someone knocked the cube
    sent = run_until_done(body, rt, run)
    assert run.phase == FAILED and "object_moved" in run.message
    assert sent[-1].kind == "hold"


def test_stale_joint_state_fails_the_skill(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach")
    body = KinematicPanda()
    rt = panda_runtime(tmp_path, body, state_timeout_s=0.25)
    run = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    body.step(rt)
    body.step(rt, joints=False)  # acts on the state published after the previous step
    assert body.step(rt, joints=False) == []  # no new state: the step waits, nothing is sent
    assert run.phase == RUNNING and run.skipped == 1
    for _ in range(20):
        body.step(rt, joints=False)
        if run.done.is_set():
            break
    assert run.phase == FAILED and "joint state is stale" in run.message


def test_cerebellum_estop_fails_the_skill(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach")
    body = KinematicPanda()
    rt = panda_runtime(tmp_path, body)
    run = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    body.step(rt)
    body.world.update_controller_mode("estop")
    body.step(rt)
    assert run.phase == FAILED and "estop" in run.message


def test_a_rejected_trajectory_fails_the_skill(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach")
    body = KinematicPanda()
    body.world.update_controller_mode("hold", 3, "old news")
    rt = panda_runtime(tmp_path, body)
    run = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    body.step(rt)
    body.step(rt)
    assert run.phase == RUNNING  # rejections before the skill do not count
    body.world.update_controller_mode("stale_state_hold", 4, "joint state is stale (0.054 s old)")
    body.step(rt)
    assert run.phase == RUNNING  # transient: the cerebellum holds until the feed returns
    body.world.update_controller_mode("tracking", 5, "point 0: joint panda_joint1 velocity 9 rad/s exceeds 2.175")
    body.step(rt)
    assert run.phase == FAILED and "rejected a trajectory: point 0" in run.message


def test_busy_arm_refuses_then_preempts_without_a_hold(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach")
    body = KinematicPanda(follow=0.5)
    rt = panda_runtime(tmp_path, body)
    first = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}, request_id="a"))
    for _ in range(5):
        body.step(rt)
    with pytest.raises(BusyError, match="busy"):
        rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}, request_id="b"))
    second = rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}, preempt=True, request_id="b"))
    prev = body.commands[-1].positions
    out = body.step(rt)
    assert first.phase == PREEMPTED and "preempted by reach[b]" in first.message
    assert second.phase == RUNNING and [c.kind for c in out] == ["step"]
    assert np.max(np.abs(out[0].positions - prev)) < 0.05  # continues from the command, no hold
    run_until_done(body, rt, second)
    assert second.phase == SUCCEEDED


@pytest.mark.parametrize(("request_", "field", "message"), [
    (SkillRequest("teleport", "arm", {"object": "red_cube"}), "skill", "unknown skill 'teleport'"),
    (SkillRequest("lift", "arm", {"object": "red_cube"}), "skill", "not available for panda"),
    (SkillRequest("reach", "left_arm", {"object": "red_cube"}), "arm_group", "unknown arm group"),
    (SkillRequest("reach", "arm", {}), "arguments[object]", "missing argument object:object"),
    (SkillRequest("reach", "arm", {"object": "blue_mug"}), "arguments[object]", "not in the world"),
    (SkillRequest("reach", "arm", {"object": "bin"}), "arguments[object]", "not in the world"),
    (SkillRequest("reach", "arm", {"object": "red_cube", "speed": 2.0}), "arguments[speed]", "unknown argument"),
    (SkillRequest("reach", "arm", {"object": "red_cube", "arm": "left"}), "arguments[arm]", "disagrees"),
    (SkillRequest("reach", "arm", {"object": "red_cube"}, timeout_s=math.nan), "timeout_s", "finite"),
])
def test_invalid_requests_name_the_field(tmp_path: Path, request_, field, message) -> None:
    goal_tracking_skill(tmp_path, "reach")
    goal_tracking_skill(tmp_path, "lift", goal="lift", embodiments=("g1",))
    body = KinematicPanda()
    rt = panda_runtime(tmp_path, body)
    with pytest.raises(RequestError, match=message) as err:
        rt.submit(request_)
    assert field in [f for f, _ in err.value.violations]


def test_no_robot_state_is_not_ready(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach")
    body = KinematicPanda()
    rt = panda_runtime(tmp_path, body)
    body.t += 2.0  # no joint state for two seconds (state_timeout_s 1 s)
    with pytest.raises(NotReadyError):
        rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))


def test_joint_states_from_several_publishers_merge() -> None:
    from robot_control.body.robot_description import load_robot
    from robot_control.edge.runtime import WorldModel

    robot = load_robot("panda")
    world = WorldModel(robot, clock=lambda: 0.0)
    arm = [f"panda_joint{i}" for i in range(1, 8)]
    world.update_joints(arm, np.arange(7) * 0.1, stamp=1.0, now=1.0)
    snap = world.snapshot()
    assert np.isnan(snap.joints.position[robot.index("panda_finger_joint1")])
    world.update_joints(["panda_finger_joint1"], [0.03], stamp=1.5, now=1.5)
    snap = world.snapshot()
    np.testing.assert_allclose(snap.joints.position[[robot.index(n) for n in arm]], np.arange(7) * 0.1)
    assert snap.joints.position[robot.index("panda_finger_joint1")] == 0.03
    assert snap.joints_age(2.0, np.array([robot.index(n) for n in arm])) == pytest.approx(1.0)  # oldest joint
    assert snap.joints_age(2.0, np.array([robot.index("panda_finger_joint1")])) == pytest.approx(0.5)


def test_holding_means_lifted_in_a_closed_hand(tmp_path: Path) -> None:
    goal_tracking_skill(tmp_path, "reach")
    body = KinematicPanda()
    rt = panda_runtime(tmp_path, body)
    ex = rt.executors["arm"]
    ee = ex.ee(body.world.snapshot())
    body.cube = ee.copy()  # the cube in the (open) hand, in the air
    body.publish()
    assert rt.holding(body.world.snapshot()) == {}
    body.q[body.robot.index("panda_finger_joint1")] = 0.02  # closed on it
    body.publish()
    assert rt.holding(body.world.snapshot()) == {"arm": "red_cube"}
    body.cube = np.array([ee[0], ee[1], 0.72 + 0.0225])  # grasped where it rests: not "holding"
    body.publish()
    assert rt.holding(body.world.snapshot()) == {}


def test_groups_ticking_together_share_one_message() -> None:
    a = TrajectoryCommand("left", ("a1", "a2"), np.array([1.0, 2.0]), np.zeros(2), 0.03, "step")
    b = TrajectoryCommand("right", ("b1",), np.array([3.0]), np.ones(1), 0.03, "hold")
    (merged,) = merge_commands([a, b])
    assert merged.joint_names == ("a1", "a2", "b1") and merged.kind == "step"
    np.testing.assert_array_equal(merged.positions, [1.0, 2.0, 3.0])


def test_no_object_poses_yet_is_not_ready(tmp_path: Path) -> None:
    """CI: a reach sent right after the edge started was rejected as INVALID_ARGUMENT ("object
    'red_cube' is not in the world (have: none)"); before the first object poses the edge is not
    ready (UNAVAILABLE, retried), and an object missing from a received world is still invalid."""
    from robot_control.edge.runtime import WorldModel

    goal_tracking_skill(tmp_path, "reach")
    body = KinematicPanda()
    body.world = WorldModel(body.robot, clock=body.clock)
    body.world.update_joints(body.robot.joint_names, body.q.copy(), stamp=100.0, now=body.t)
    rt = panda_runtime(tmp_path, body)
    with pytest.raises(NotReadyError, match="no object poses received yet"):
        rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
    body.world.update_objects([], now=body.t)
    with pytest.raises(RequestError, match="not in the world"):
        rt.submit(SkillRequest("reach", "arm", {"object": "red_cube"}))
