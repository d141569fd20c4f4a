"""Reference skill contracts and demo worlds for tests, benchmarks and local demos.

`standard_contracts()` builds the shipped manipulation skill library exactly as the edge
SkillService declares it (reach, grasp, lift, transport, place, release). `demo_world()`
builds tabletop worlds with coloured objects, a table, a bin and a shelf.
"""

from __future__ import annotations

from robot_control.v1 import common_pb2, planner_pb2, skill_pb2


def _cond(pred: str, *args: str, negated: bool = False) -> skill_pb2.SymbolicCondition:
    return skill_pb2.SymbolicCondition(predicate=pred, arguments=list(args), negated=negated)


def contract(name: str, params: list[str], pre: list[skill_pb2.SymbolicCondition],
             add: list[skill_pb2.SymbolicCondition],
             delete: list[skill_pb2.SymbolicCondition] | None = None) -> skill_pb2.SkillContract:
    return skill_pb2.SkillContract(
        name=name, version="1.0.0", embodiments=["g1"], action_space="task_space",
        control_rate_hz=50.0, max_duration_s=20.0, parameters=params,
        preconditions=pre, add_effects=add, delete_effects=delete or [])


def standard_contracts() -> list[skill_pb2.SkillContract]:
    """The six manipulation skills, with their symbolic contracts."""
    c = _cond
    return [
        contract("reach", ["arm:arm", "object:object"],
                 [c("hand_empty", "arm")], [c("near", "arm", "object")]),
        contract("grasp", ["arm:arm", "object:object"],
                 [c("near", "arm", "object"), c("hand_empty", "arm")],
                 [c("grasped", "arm", "object")], [c("hand_empty", "arm")]),
        contract("lift", ["arm:arm", "object:object", "from:location"],
                 [c("grasped", "arm", "object"), c("at", "object", "from"), c("resting", "object")],
                 [c("holding", "arm", "object")],
                 [c("at", "object", "from"), c("resting", "object")]),
        contract("transport", ["arm:arm", "object:object", "to:location"],
                 [c("holding", "arm", "object")], [c("above", "arm", "to")]),
        contract("place", ["arm:arm", "object:object", "to:location"],
                 [c("holding", "arm", "object"), c("above", "arm", "to")],
                 [c("at", "object", "to"), c("resting", "object")],
                 [c("holding", "arm", "object"), c("above", "arm", "to")]),
        contract("release", ["arm:arm", "object:object"],
                 [c("grasped", "arm", "object"), c("resting", "object")],
                 [c("hand_empty", "arm")],
                 [c("grasped", "arm", "object"), c("near", "arm", "object")]),
    ]


# (color, kind) pairs used to populate demo worlds, in order.
DEMO_OBJECTS: list[tuple[str, str]] = [
    ("red", "mug"), ("blue", "cube"), ("green", "can"), ("yellow", "banana"), ("white", "bottle"),
    ("black", "box"), ("orange", "ball"), ("purple", "cup"), ("pink", "sponge"), ("gray", "block"),
    ("brown", "bowl"), ("silver", "spoon"), ("red", "apple"), ("blue", "plate"), ("green", "pear"),
    ("yellow", "lemon"), ("white", "egg"), ("black", "marker"), ("orange", "carrot"), ("purple", "grape"),
]


def obj(name: str, kind: str, color: str, location: str = "table", **attrs: str) -> common_pb2.ObjectState:
    return common_pb2.ObjectState(name=name, kind=kind, color=color, location=location,
                                  attributes=attrs, size=common_pb2.Vector3(x=0.06, y=0.06, z=0.08))


def demo_world(n_objects: int = 5, arms: tuple[str, ...] = ("right_arm", "left_arm"),
               locations: tuple[str, ...] = ("table", "bin", "shelf")) -> common_pb2.WorldState:
    """A world with the first `n_objects` of DEMO_OBJECTS on the table."""
    if n_objects > len(DEMO_OBJECTS):
        raise ValueError(f"at most {len(DEMO_OBJECTS)} demo objects")
    world = common_pb2.WorldState(robot="g1", arm_groups=list(arms))
    for name in locations:
        world.locations.add(name=name)
    for color, kind in DEMO_OBJECTS[:n_objects]:
        world.objects.append(obj(f"{color}_{kind}", kind, color))
    return world


def goals(*atoms: tuple[str, ...]) -> planner_pb2.GoalList:
    return planner_pb2.GoalList(goals=[planner_pb2.Goal(predicate=a[0], arguments=list(a[1:]))
                                       for a in atoms])
