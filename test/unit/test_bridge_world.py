"""World state from object observations: symbolic locations, arms, what the hands hold."""

from __future__ import annotations

import math

import pytest

from robot_control.body.robot_description import load_robot
from robot_control.brain import fixtures
from robot_control.bridge.executor import ungrasp_call
from robot_control.bridge.world import (
    HoldingTracker,
    ObjectObservation,
    WorldConfig,
    WorldModel,
    arm_groups_from_description,
    kind_and_colour,
)
from robot_control.v1 import planner_pb2

pytestmark = pytest.mark.unit
BIN = ObjectObservation("bin", (0.42, 0.0, 0.72), size=(0.16, 0.20, 0.04))


def model(**kw) -> WorldModel:
    return WorldModel(WorldConfig(robot="g1", arm_groups=("left_arm", "right_arm"), support_min_z=0.5, **kw))


def test_locations_from_poses() -> None:
    m = model()
    m.update([
        BIN,
        ObjectObservation("red_cube", (0.34, -0.20, 0.745), size=(0.05, 0.05, 0.05)),  # on the table
        ObjectObservation("green_can", (0.42, 0.04, 0.785), size=(0.052, 0.052, 0.12)),  # in the bin
        ObjectObservation("blue_box", (0.42, 0.0, 0.90), size=(0.04, 0.06, 0.10)),  # above the bin: not in it
        ObjectObservation("yellow_can", (0.5, 0.3, 0.05), size=(0.05, 0.05, 0.10)),  # fell to the floor
    ])
    assert m.observed_locations() == {"red_cube": "table", "green_can": "bin", "blue_box": "table",
                                      "yellow_can": "floor"}
    world = m.snapshot()
    assert [loc.name for loc in world.locations] == ["table", "bin"]
    assert world.locations[1].size.x == pytest.approx(0.16) and world.locations[1].pose.position.z == 0.72
    assert not world.locations[0].HasField("pose")
    cube = next(o for o in world.objects if o.name == "red_cube")
    assert (cube.kind, cube.color, cube.location) == ("cube", "red", "table") and cube.size.z == 0.05
    assert list(world.arm_groups) == ["left_arm", "right_arm"] and world.robot == "g1"


def test_rotated_container_and_margin() -> None:
    q = (0.0, 0.0, math.sin(math.pi / 4), math.cos(math.pi / 4))  # bin turned 90 degrees
    m = model()
    m.update([ObjectObservation("bin", (0.4, 0.0, 0.72), q, (0.30, 0.10, 0.04)),
              ObjectObservation("a", (0.4, 0.12, 0.75), size=(0.03, 0.03, 0.03)),  # inside along world y
              ObjectObservation("b", (0.52, 0.0, 0.75), size=(0.03, 0.03, 0.03))])  # outside along world x
    assert m.observed_locations() == {"a": "bin", "b": "table"}


def test_held_objects_get_the_arm_as_location() -> None:
    m = model()
    m.update([BIN, ObjectObservation("red_cube", (0.4, -0.1, 0.9))])
    world = m.snapshot({"right_arm": "red_cube", "left_arm": "ghost_mug", "tail": "x"})
    assert dict(world.holding) == {"right_arm": "red_cube", "left_arm": "ghost_mug"}
    where = {o.name: o.location for o in world.objects}
    assert where == {"red_cube": "right_arm", "ghost_mug": "left_arm"}  # held but unseen: still listed
    one_arm = m.snapshot({}, arm_groups=("right_arm",))
    assert list(one_arm.arm_groups) == ["right_arm"]
    assert list(m.snapshot({"left_arm": "red_cube"}, arm_groups=("right_arm",)).arm_groups) == ["right_arm", "left_arm"]


def test_wait_for_update() -> None:
    m = model()
    assert not m.has_data and not m.wait_for_updates(0, 1, 0.01)
    m.update([BIN])
    assert m.has_data and m.wait_for_updates(0, 1, 0.0) and not m.wait_for_updates(0, 2, 0.01)
    m.update([BIN])
    assert m.wait_for_updates(0, 2, 0.0) and m.updates == 2


def test_arm_groups_and_names() -> None:
    assert arm_groups_from_description(load_robot("g1")) == ("left_arm", "right_arm")
    assert arm_groups_from_description(load_robot("panda")) == ("arm",)
    assert kind_and_colour("green_can") == ("can", "green")
    assert kind_and_colour("tall_box") == ("box", "")
    assert kind_and_colour("red_soup_can") == ("soup_can", "red")
    with pytest.raises(ValueError, match="no arm groups"):
        WorldConfig(robot="x", arm_groups=())


def _call(skill: str, **args: str) -> planner_pb2.SkillCall:
    call = planner_pb2.SkillCall(skill=skill, arm_group=args.get("arm", ""))
    for k, v in args.items():
        call.arguments.add(name=k, symbol=v)
    return call


def test_holding_tracker_follows_contract_effects() -> None:
    contracts = {c.name: c for c in fixtures.standard_contracts()}
    t = HoldingTracker()
    t.apply(contracts["grasp"], _call("grasp", arm="right_arm", object="red_cube"))
    assert t.snapshot() == {} and t.grasped_only() == {"right_arm": "red_cube"}
    t.apply(contracts["lift"], _call("lift", arm="right_arm", object="red_cube", **{"from": "table"}))
    assert t.snapshot() == {"right_arm": "red_cube"} and t.grasped_only() == {}
    t.apply(contracts["place"], _call("place", arm="right_arm", object="red_cube", to="bin"))
    assert t.snapshot() == {} and t.grasped_only() == {"right_arm": "red_cube"}
    t.apply(contracts["release"], _call("release", arm="right_arm", object="red_cube"))
    assert t.snapshot() == {} and t.grasped_only() == {}


def test_holding_tracker_adopts_what_the_edge_saw() -> None:
    contracts = {c.name: c for c in fixtures.standard_contracts()}
    t = HoldingTracker()
    for skill in ("grasp", "lift"):
        t.apply(contracts[skill], _call(skill, arm="right_arm", object="red_cube", **{"from": "table"}))
    assert t.reconcile("right_arm", "red_cube") == ""  # the belief matched
    # Dropped during transport: neither held nor grasped any more.
    assert "right_arm holds nothing" in t.reconcile("right_arm", "")
    assert t.snapshot() == {} and t.grasped_only() == {}
    # A place stopped with the cube on the surface: not lifted, still in the hand.
    for skill in ("grasp", "lift"):
        t.apply(contracts[skill], _call(skill, arm="right_arm", object="red_cube", **{"from": "table"}))
    assert "still grasped" in t.reconcile("right_arm", "", puts_down=True)
    assert t.snapshot() == {} and t.grasped_only() == {"right_arm": "red_cube"}
    # The edge sees a lifted object the belief missed (a lift reported failed that did lift).
    t.reconcile("left_arm", "green_can")
    assert t.snapshot() == {"left_arm": "green_can"} and t.grasped_only() == {"right_arm": "red_cube"}
    assert t.forget("right_arm", "red_cube") and not t.forget("right_arm", "red_cube")
    assert t.grasped_only() == {}


def test_resting_objects_are_in_no_hand() -> None:
    m = model()
    m.update([BIN,
              ObjectObservation("red_cube", (0.34, -0.20, 0.745), size=(0.05, 0.05, 0.05)),  # on the table
              ObjectObservation("green_can", (0.42, 0.04, 0.785), size=(0.052, 0.052, 0.12)),  # in the bin
              ObjectObservation("blue_box", (0.30, 0.10, 0.85), size=(0.04, 0.06, 0.10))])  # lifted
    assert "rests on the table" in m.resting("red_cube")
    assert m.resting("green_can") == "green_can is in the bin"
    assert m.resting("blue_box") == "" and m.resting("ghost") == "" and m.resting("bin") == ""


def test_ungrasp_skill_found_from_contracts() -> None:
    call, contract = ungrasp_call(fixtures.standard_contracts(), "left_arm", "green_can")
    assert contract.name == "release" and call.arm_group == "left_arm"
    assert [(a.name, a.symbol) for a in call.arguments] == [("arm", "left_arm"), ("object", "green_can")]
    no_release = [c for c in fixtures.standard_contracts() if c.name != "release"]
    assert ungrasp_call(no_release, "left_arm", "green_can") is None
