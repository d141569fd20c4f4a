"""Contract-derived domain + Fast Downward planner + plan validation (no network)."""

from __future__ import annotations

import pytest

from robot_control.brain import domain, fixtures
from robot_control.brain.domain import RequestError
from robot_control.brain.planner import Planner, Status, validate_with_up
from robot_control.brain.service import PlanningCore
from robot_control.bridge.local_planner import LocalPlanner
from robot_control.v1 import planner_pb2

pytestmark = pytest.mark.unit
Outcome = planner_pb2.PlanResponse.Outcome


def task_for(n: int, goal_atoms: list[tuple[str, ...]], **kw) -> domain.GroundTask:
    world = fixtures.demo_world(n, **kw)
    return domain.build_task(fixtures.standard_contracts(), world, fixtures.goals(*goal_atoms).goals)


def test_actions_come_from_contracts() -> None:
    contracts = fixtures.standard_contracts()
    schemas, preds = domain.parse_contracts(contracts)
    assert sorted(schemas) == sorted(c.name for c in contracts)
    assert preds["at"] == ("object", "location")
    assert preds["holding"] == ("arm", "object")
    # Drop `release`: a task that needs an empty hand again becomes unsolvable.
    world = fixtures.demo_world(2, arms=("right_arm",))
    goals = fixtures.goals(("at", "red_mug", "bin"), ("at", "blue_cube", "bin")).goals
    task = domain.build_task([c for c in contracts if c.name != "release"], world, goals, hands_free_at_end=False)
    assert Planner().solve(task, 5.0).status is Status.UNSOLVABLE


def test_initial_state_from_world() -> None:
    world = fixtures.demo_world(2)
    world.holding["left_arm"] = "blue_cube"
    world.objects[1].location = "left_hand"
    task = domain.build_task(fixtures.standard_contracts(), world, fixtures.goals(("at", "red_mug", "bin")).goals)
    assert ("at", "red_mug", "table") in task.init and ("resting", "red_mug") in task.init
    assert ("hand_empty", "right_arm") in task.init
    assert ("hand_empty", "left_arm") not in task.init
    assert {("grasped", "left_arm", "blue_cube"), ("holding", "left_arm", "blue_cube")} <= task.init
    assert not any(a[0] == "at" and a[1] == "blue_cube" for a in task.init)


@pytest.mark.parametrize("n,k", [(2, 2), (5, 2), (20, 6)])
def test_plans_are_valid_and_reach_goals(n: int, k: int) -> None:
    world = fixtures.demo_world(n)
    atoms = [("at", o.name, "bin" if i % 2 == 0 else "shelf") for i, o in enumerate(world.objects[:k])]
    task = task_for(n, atoms)
    result = Planner().solve(task, 10.0)
    assert result.status is Status.PLANNED
    ok, why = task.simulate(result.steps)
    assert ok, why
    assert validate_with_up(task, result.steps)
    # Each moved object: reach, grasp, lift, transport, place, release.
    assert len(result.steps) == 6 * k
    assert {"translate", "search", "validate", "total"} <= set(result.timing)


def test_simulation_rejects_broken_plans() -> None:
    task = task_for(2, [("at", "red_mug", "bin")])
    steps = Planner().solve(task, 5.0).steps
    assert not task.simulate(steps[1:])[0]  # grasp before reach
    assert not task.simulate(steps[:-2])[0]  # goals not reached
    assert not validate_with_up(task, steps[1:])


def test_up_oneshot_engine_agrees() -> None:
    task = task_for(3, [("at", "red_mug", "shelf")])
    result = Planner(engine="up-oneshot").solve(task, 20.0)
    assert result.status is Status.PLANNED and task.simulate(result.steps)[0]


def test_already_satisfied_and_held_object() -> None:
    task = task_for(2, [("at", "red_mug", "table")])
    assert Planner().solve(task, 5.0).status is Status.ALREADY_SATISFIED
    world = fixtures.demo_world(2)
    world.holding["right_arm"] = "red_mug"
    world.objects[0].location = "right_hand"
    task = domain.build_task(fixtures.standard_contracts(), world, fixtures.goals(("at", "red_mug", "bin")).goals)
    result = Planner().solve(task, 5.0)
    assert [s[0] for s in result.steps][:2] == ["transport", "place"]


def test_budget_is_respected() -> None:
    task = task_for(20, [("at", o, "bin") for o in ("red_mug", "blue_cube", "green_can")])
    result = Planner().solve(task, 0.0)
    assert result.status is Status.TIMEOUT


def test_bad_requests_name_fields() -> None:
    world = fixtures.demo_world(2)
    contracts = fixtures.standard_contracts()
    with pytest.raises(RequestError) as err:
        domain.build_task(contracts, world, fixtures.goals(("at", "ghost", "bin")).goals)
    assert err.value.violations[0][0] == "goals.goals[0].arguments[0]"
    with pytest.raises(RequestError) as err:
        domain.build_task(contracts, world, fixtures.goals(("levitating", "red_mug")).goals)
    assert "predicate" in err.value.violations[0][0]
    bad = fixtures.contract("spin", ["arm:robot"], [], [])
    with pytest.raises(RequestError) as err:
        domain.parse_contracts([*contracts, bad])
    assert err.value.violations[0][0] == "capabilities[6].parameters[0]"


def test_skill_calls_name_contract_parameters() -> None:
    core = PlanningCore()
    world = fixtures.demo_world(2)
    req = planner_pb2.PlanRequest(request_id="r1", world=world, capabilities=fixtures.standard_contracts(),
                                  goals=fixtures.goals(("at", "blue_cube", "shelf")))
    resp = core.make_plan(req, 5.0)
    assert resp.outcome == Outcome.PLANNED
    lift = next(s for s in resp.plan.steps if s.skill == "lift")
    assert [a.name for a in lift.arguments] == ["arm", "object", "from"]
    assert lift.arguments[2].symbol == "table" and lift.arm_group == lift.arguments[0].symbol
    assert resp.plan.steps[-1].skill == "release"
    for stage in ("build", "translate", "search", "plan"):
        assert stage in resp.server_timing.stages_s


def test_local_planner_structured_only() -> None:
    local = LocalPlanner(max_budget_s=1.0)
    world = fixtures.demo_world(3)
    req = planner_pb2.PlanRequest(request_id="l1", world=world, capabilities=fixtures.standard_contracts(),
                                  goals=fixtures.goals(("at", "green_can", "bin")))
    resp = local.plan(req, 2.0)
    assert resp.outcome == Outcome.PLANNED and resp.planner.startswith("local")
    nl = planner_pb2.PlanRequest(request_id="l2", world=world, capabilities=fixtures.standard_contracts(),
                                 instruction="put the can in the bin")
    assert not local.can_plan(nl)
    assert local.plan(nl).outcome == Outcome.REFUSED


@pytest.mark.parametrize("first", ["red_mug", "blue_cube"])
def test_plan_serves_goals_in_the_requested_order(first: str) -> None:
    """One arm, two objects: every step of the first-named object's goal comes before any step
    of the second's (the planner itself may interleave or pick either order)."""
    second = "blue_cube" if first == "red_mug" else "red_mug"
    task = task_for(2, [("at", first, "bin"), ("at", second, "bin")], arms=("right_arm",))
    result = Planner().solve(task, 5.0)
    assert result.status is Status.PLANNED
    touched = [next(a for a in args if a in (first, second)) for _, args in result.steps]
    assert touched == [first] * touched.count(first) + [second] * touched.count(second), result.steps
    assert task.simulate(result.steps)[0]


def test_goal_order_is_kept_only_when_the_reordered_plan_is_valid() -> None:
    task = task_for(2, [("at", "red_mug", "bin"), ("at", "blue_cube", "bin")], arms=("right_arm",))
    # a plan where the second object's steps must come first: reordering would break it
    bogus = [("reach", ("right_arm", "blue_cube")), ("reach", ("right_arm", "red_mug"))]
    assert task.in_goal_order(bogus) == bogus  # invalid either way: returned unchanged
