"""Planning domain built from the robot's skill contracts (no hand-written action tables).

`build_task(contracts, world, goals)` turns `SkillContract` protos (typed parameters,
symbolic preconditions / add / delete effects) and a `WorldState` into:

* a `unified_planning` `Problem` (user types, fluents, one `InstantaneousAction` per skill),
* a plain STRIPS view of the same task (`GroundTask`) used for validation by simulation
  and by the planners in `robot_control.brain.planner`,
* the mapping back from planner action names/arguments to `SkillCall` protos.

Every inconsistency in the request (unknown skill in a goal, wrong arity, unknown object,
type clash between contracts) raises `RequestError` carrying the offending proto field
path, so the server can answer INVALID_ARGUMENT with per-field details.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from robot_control.v1 import common_pb2, planner_pb2, skill_pb2

Atom = tuple[str, ...]  # (predicate, arg1, arg2, ...) over world names

# Names accepted for skills, parameters, predicates, types and world entities.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
# Arm type name: the parameter type whose values are the world's arm groups.
ARM_TYPE = "arm"
OBJECT_TYPE = "object"
LOCATION_TYPE = "location"
WORLD_TYPES = (ARM_TYPE, OBJECT_TYPE, LOCATION_TYPE)


class RequestError(ValueError):
    """A request is malformed; `violations` lists (field path, description) pairs."""

    def __init__(self, violations: Sequence[tuple[str, str]]) -> None:
        self.violations = list(violations)
        super().__init__("; ".join(f"{f}: {d}" for f, d in self.violations))


@dataclass(frozen=True)
class Condition:
    predicate: str
    params: tuple[str, ...]  # parameter names of the skill
    negated: bool = False


@dataclass(frozen=True)
class SkillSchema:
    """A skill contract reduced to its symbolic (STRIPS) meaning."""

    name: str
    params: tuple[tuple[str, str], ...]  # (name, type)
    pre: tuple[Condition, ...]
    add: tuple[Condition, ...]
    delete: tuple[Condition, ...]

    @property
    def arm_param(self) -> str | None:
        return next((n for n, t in self.params if t == ARM_TYPE), None)


@dataclass(frozen=True)
class GroundAction:
    name: str  # skill name
    args: tuple[str, ...]  # world names, in parameter order
    pre_pos: frozenset[Atom]
    pre_neg: frozenset[Atom]
    add: frozenset[Atom]
    delete: frozenset[Atom]

    def applicable(self, state: frozenset[Atom] | set[Atom]) -> bool:
        return self.pre_pos <= state and not (self.pre_neg & state)

    def apply(self, state: frozenset[Atom]) -> frozenset[Atom]:
        return (state - self.delete) | self.add


@dataclass
class GroundTask:
    """The task in world names: typed entities, initial atoms, goal atoms, skills."""

    schemas: dict[str, SkillSchema]
    predicates: dict[str, tuple[str, ...]]  # predicate -> argument types
    entities: dict[str, tuple[str, ...]]  # type -> names (sorted)
    init: frozenset[Atom]
    goals: tuple[Atom, ...]  # positive goal atoms
    neg_goals: tuple[Atom, ...] = ()
    user_goals: tuple[Atom, ...] = ()  # goals as requested (without implicit hand_empty)
    _ground: list[GroundAction] | None = field(default=None, repr=False)

    def signature(self) -> tuple:
        """Key of the grounded domain: skills + typed entities (not init/goals)."""
        return (
            tuple(sorted(self.schemas.items())),
            tuple(sorted(self.entities.items())),
        )

    def ground_action(self, name: str, args: Sequence[str]) -> GroundAction:
        schema = self.schemas[name]
        if len(args) != len(schema.params):
            raise ValueError(f"{name}: expected {len(schema.params)} arguments, got {len(args)}")
        binding = {p: a for (p, _t), a in zip(schema.params, args, strict=True)}
        for (p, t), a in zip(schema.params, args, strict=True):
            if a not in self.entities.get(t, ()):
                raise ValueError(f"{name}: argument {p}={a!r} is not a {t}")

        def atoms(conds: Iterable[Condition]) -> frozenset[Atom]:
            return frozenset((c.predicate, *(binding[x] for x in c.params)) for c in conds)

        return GroundAction(
            name=name,
            args=tuple(args),
            pre_pos=atoms(c for c in schema.pre if not c.negated),
            pre_neg=atoms(c for c in schema.pre if c.negated),
            add=atoms(schema.add),
            delete=atoms(schema.delete),
        )

    def ground_all(self) -> list[GroundAction]:
        """All type-correct groundings (cached)."""
        if self._ground is None:
            out = []
            for schema in self.schemas.values():
                domains = [self.entities.get(t, ()) for _n, t in schema.params]
                for combo in itertools.product(*domains):
                    out.append(self.ground_action(schema.name, combo))
            self._ground = out
        return self._ground

    def goal_reached(self, state: frozenset[Atom] | set[Atom]) -> bool:
        return all(g in state for g in self.goals) and not any(g in state for g in self.neg_goals)

    def in_goal_order(self, steps: Sequence[tuple[str, Sequence[str]]]) -> list[tuple[str, tuple[str, ...]]]:
        """The plan with its steps grouped by the goal they serve, in the order the goals were
        requested ("the red cube and the green can": every red-cube step first), when that
        reordering is still a valid plan; otherwise the plan unchanged.

        A planner is free to interleave independent goals (reach the can, reach the cube, grasp
        the can, ...) or serve them in any order, but on a robot the order matters: the G1's
        side approach to the far object sweeps through the near one, and operators state the
        order they want. Steps are keyed by the first requested goal whose objects they touch
        (stable sort); steps touching none keep their place relative to each other, last."""
        objects = set(self.entities.get("object", ()))
        order: list[str] = []
        for goal in self.user_goals or self.goals:
            for arg in goal[1:]:
                if arg in objects and arg not in order:
                    order.append(arg)
        if len(order) < 2:
            return [(n, tuple(a)) for n, a in steps]
        rank = {o: i for i, o in enumerate(order)}

        def key(step: tuple[str, Sequence[str]]) -> int:
            return min((rank[a] for a in step[1] if a in rank), default=len(order))

        reordered = [(n, tuple(a)) for n, a in sorted(steps, key=key)]
        return reordered if self.simulate(reordered)[0] else [(n, tuple(a)) for n, a in steps]

    def simulate(self, steps: Sequence[tuple[str, Sequence[str]]]) -> tuple[bool, str]:
        """Replay add/delete effects from the initial state: (valid, reason)."""
        state = self.init
        for i, (name, args) in enumerate(steps):
            if name not in self.schemas:
                return False, f"step {i}: unknown skill {name!r}"
            try:
                action = self.ground_action(name, args)
            except ValueError as exc:
                return False, f"step {i}: {exc}"
            if not action.applicable(state):
                missing = sorted(action.pre_pos - state)
                return False, f"step {i} {name}{tuple(args)}: preconditions not met: {missing}"
            state = action.apply(state)
        if not self.goal_reached(state):
            missing = sorted(g for g in self.goals if g not in state)
            return False, f"goals not reached: {missing}"
        return True, "ok"


def parse_contracts(contracts: Sequence[skill_pb2.SkillContract],
                    field_name: str = "capabilities") -> tuple[dict[str, SkillSchema], dict[str, tuple[str, ...]]]:
    """Contracts -> skill schemas + predicate signatures, checking consistency."""
    errors: list[tuple[str, str]] = []
    schemas: dict[str, SkillSchema] = {}
    predicates: dict[str, tuple[str, ...]] = {}
    if not contracts:
        errors.append((field_name, "no skill contracts: the robot must declare what it can do"))
    for i, c in enumerate(contracts):
        where = f"{field_name}[{i}]"
        if not _NAME.match(c.name):
            errors.append((f"{where}.name", f"invalid skill name {c.name!r}"))
            continue
        if c.name in schemas:
            errors.append((f"{where}.name", f"duplicate skill {c.name!r}"))
            continue
        params: list[tuple[str, str]] = []
        for j, spec in enumerate(c.parameters):
            name, sep, typ = spec.partition(":")
            name, typ = name.strip(), typ.strip()
            if not sep or not _NAME.match(name) or typ not in WORLD_TYPES:
                errors.append((f"{where}.parameters[{j}]",
                               f"expected 'name:type' with type in {WORLD_TYPES}, got {spec!r}"))
                continue
            if any(n == name for n, _ in params):
                errors.append((f"{where}.parameters[{j}]", f"duplicate parameter {name!r}"))
                continue
            params.append((name, typ))
        ptypes = dict(params)
        lists: dict[str, list[Condition]] = {"preconditions": [], "add_effects": [], "delete_effects": []}
        for kind, conds in lists.items():
            for j, cond in enumerate(getattr(c, kind)):
                cw = f"{where}.{kind}[{j}]"
                if not _NAME.match(cond.predicate):
                    errors.append((f"{cw}.predicate", f"invalid predicate {cond.predicate!r}"))
                    continue
                unknown = [a for a in cond.arguments if a not in ptypes]
                if unknown:
                    errors.append((f"{cw}.arguments", f"not parameters of {c.name}: {unknown}"))
                    continue
                if cond.negated and kind != "preconditions":
                    errors.append((f"{cw}.negated", "effects cannot be negated; use delete_effects"))
                    continue
                sig = tuple(ptypes[a] for a in cond.arguments)
                known = predicates.setdefault(cond.predicate, sig)
                if known != sig:
                    errors.append((f"{cw}.arguments",
                                   f"{cond.predicate} used with types {sig}, elsewhere with {known}"))
                    continue
                conds.append(Condition(cond.predicate, tuple(cond.arguments), cond.negated))
        schemas[c.name] = SkillSchema(
            name=c.name,
            params=tuple(params),
            pre=tuple(lists["preconditions"]),
            add=tuple(lists["add_effects"]),
            delete=tuple(lists["delete_effects"]),
        )
    if errors:
        raise RequestError(errors)
    return schemas, predicates


def world_entities(world: common_pb2.WorldState, field_name: str = "world") -> dict[str, tuple[str, ...]]:
    """Typed entity names of a world; raises RequestError on missing/duplicate names."""
    errors: list[tuple[str, str]] = []
    seen: dict[str, str] = {}

    def add(name: str, typ: str, where: str) -> None:
        if not _NAME.match(name):
            errors.append((where, f"invalid name {name!r}"))
        elif name in seen:
            errors.append((where, f"name {name!r} already used by a {seen[name]}"))
        else:
            seen[name] = typ

    for i, arm in enumerate(world.arm_groups):
        add(arm, ARM_TYPE, f"{field_name}.arm_groups[{i}]")
    for i, loc in enumerate(world.locations):
        add(loc.name, LOCATION_TYPE, f"{field_name}.locations[{i}].name")
    for i, obj in enumerate(world.objects):
        add(obj.name, OBJECT_TYPE, f"{field_name}.objects[{i}].name")
    if not world.arm_groups:
        errors.append((f"{field_name}.arm_groups", "the world has no arm groups"))
    for arm, obj in world.holding.items():
        if seen.get(arm) != ARM_TYPE:
            errors.append((f"{field_name}.holding[{arm}]", f"unknown arm group {arm!r}"))
        if seen.get(obj) != OBJECT_TYPE:
            errors.append((f"{field_name}.holding[{arm}]", f"unknown object {obj!r}"))
    if errors:
        raise RequestError(errors)
    return {t: tuple(sorted(n for n, tt in seen.items() if tt == t)) for t in WORLD_TYPES}


def initial_atoms(world: common_pb2.WorldState, predicates: dict[str, tuple[str, ...]]) -> frozenset[Atom]:
    """at/resting for objects on a known location; hand_empty or grasped+holding+near per arm."""
    locations = {loc.name for loc in world.locations}
    held = set(world.holding.values())
    atoms: set[Atom] = set()
    for obj in world.objects:
        if obj.name in held or obj.location not in locations:
            continue
        atoms.add(("at", obj.name, obj.location))
        atoms.add(("resting", obj.name))
    for arm in world.arm_groups:
        obj = world.holding.get(arm)
        if obj:
            atoms.update({("grasped", arm, obj), ("holding", arm, obj), ("near", arm, obj)})
        else:
            atoms.add(("hand_empty", arm))
    # Only predicates the contracts talk about matter to the planner.
    return frozenset(a for a in atoms if a[0] in predicates)


def check_goals(goals: Sequence[planner_pb2.Goal], predicates: dict[str, tuple[str, ...]],
                entities: dict[str, tuple[str, ...]], field_name: str = "goals.goals") -> list[Atom]:
    errors: list[tuple[str, str]] = []
    out: list[Atom] = []
    if not goals:
        errors.append((field_name, "no goals"))
    for i, g in enumerate(goals):
        where = f"{field_name}[{i}]"
        sig = predicates.get(g.predicate)
        if sig is None:
            errors.append((f"{where}.predicate",
                           f"unknown predicate {g.predicate!r}; the skills know {sorted(predicates)}"))
            continue
        if len(sig) != len(g.arguments):
            errors.append((f"{where}.arguments", f"{g.predicate} takes {len(sig)} arguments {sig}"))
            continue
        bad = False
        for j, (arg, typ) in enumerate(zip(g.arguments, sig, strict=True)):
            if arg not in entities.get(typ, ()):
                errors.append((f"{where}.arguments[{j}]", f"unknown {typ} {arg!r} in the world"))
                bad = True
        if not bad:
            out.append((g.predicate, *g.arguments))
    if errors:
        raise RequestError(errors)
    return out


def build_task(contracts: Sequence[skill_pb2.SkillContract], world: common_pb2.WorldState,
               goals: Sequence[planner_pb2.Goal], *, hands_free_at_end: bool = True) -> GroundTask:
    """Validate the request parts and build the ground task.

    With `hands_free_at_end`, arms that start empty must end empty (so objects are released
    after being placed), unless a goal explicitly mentions that arm.
    """
    schemas, predicates = parse_contracts(contracts)
    entities = world_entities(world)
    user_goals = check_goals(goals, predicates, entities)
    init = initial_atoms(world, predicates)
    goal_atoms = list(dict.fromkeys(user_goals))
    if hands_free_at_end and "hand_empty" in predicates:
        mentioned = {a for g in user_goals for a in g[1:]}
        for arm in entities[ARM_TYPE]:
            if ("hand_empty", arm) in init and arm not in mentioned:
                goal_atoms.append(("hand_empty", arm))
    return GroundTask(schemas=schemas, predicates=predicates, entities=entities, init=init,
                      goals=tuple(goal_atoms), user_goals=tuple(user_goals))


def to_up_problem(task: GroundTask, name: str = "robot_task"):
    """The same task as a `unified_planning` Problem; returns (problem, object map)."""
    from unified_planning.model import Fluent, InstantaneousAction, Object, Problem
    from unified_planning.shortcuts import BoolType, UserType

    types = {t: UserType(t) for t in WORLD_TYPES}
    problem = Problem(name)
    fluents = {}
    for pred, sig in sorted(task.predicates.items()):
        params = {f"p{i}": types[t] for i, t in enumerate(sig)}
        fluents[pred] = Fluent(pred, BoolType(), **params)
        problem.add_fluent(fluents[pred], default_initial_value=False)
    objects: dict[str, Object] = {}
    for typ, names in task.entities.items():
        for n in names:
            objects[n] = Object(n, types[typ])
            problem.add_object(objects[n])
    for schema in task.schemas.values():
        action = InstantaneousAction(schema.name, **{n: types[t] for n, t in schema.params})
        ps = {n: action.parameter(n) for n, _ in schema.params}
        for c in schema.pre:
            expr = fluents[c.predicate](*(ps[a] for a in c.params))
            action.add_precondition(~expr if c.negated else expr)
        for c in schema.delete:
            action.add_effect(fluents[c.predicate](*(ps[a] for a in c.params)), False)
        for c in schema.add:
            action.add_effect(fluents[c.predicate](*(ps[a] for a in c.params)), True)
        problem.add_action(action)
    for atom in task.init:
        problem.set_initial_value(fluents[atom[0]](*(objects[a] for a in atom[1:])), True)
    for atom in task.goals:
        problem.add_goal(fluents[atom[0]](*(objects[a] for a in atom[1:])))
    for atom in task.neg_goals:
        problem.add_goal(~fluents[atom[0]](*(objects[a] for a in atom[1:])))
    return problem, objects


def skill_call(task: GroundTask, name: str, args: Sequence[str]) -> planner_pb2.SkillCall:
    """A planner step -> SkillCall with symbol arguments named by the contract parameters."""
    schema = task.schemas[name]
    call = planner_pb2.SkillCall(skill=name)
    for (pname, ptype), value in zip(schema.params, args, strict=True):
        if ptype == ARM_TYPE and not call.arm_group:
            call.arm_group = value
        call.arguments.add(name=pname, symbol=value)
    return call


def call_to_step(call: planner_pb2.SkillCall) -> tuple[str, tuple[str, ...]]:
    """Inverse of `skill_call` (arguments taken in contract order by name)."""
    return call.skill, tuple(a.symbol for a in call.arguments)


def goals_to_proto(atoms: Iterable[Atom]) -> list[planner_pb2.Goal]:
    return [planner_pb2.Goal(predicate=a[0], arguments=list(a[1:])) for a in atoms]
