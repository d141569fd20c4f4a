"""Transport-free core of the planner service: PlanRequest/ReplanRequest -> PlanResponse.

Shared by the cloud gRPC server (`robot_control.brain.server`) and the robot's local
planner (`robot_control.bridge.local_planner`). Natural language is optional: pass an
`interpret(instruction, world) -> Interpretation` callable (the cloud passes
`robot_control.brain.nl.InstructionParser.parse`); without it, instruction requests are
refused with a message asking for structured goals.

Request problems raise `domain.RequestError` (field path + description per violation).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from robot_control.brain import domain
from robot_control.brain.domain import Atom, RequestError
from robot_control.brain.planner import Planner, PlannerError, Status
from robot_control.v1 import common_pb2, planner_pb2

MAX_INSTRUCTION_CHARS = 1000
MAX_OBJECTS = 500
MAX_CAPABILITIES = 200
Outcome = planner_pb2.PlanResponse.Outcome


@dataclass
class Interpretation:
    """What an instruction asks for: goals, or a clarification question, or a refusal."""

    outcome: str  # "goals" | "clarify" | "refuse"
    goals: list[Atom] = field(default_factory=list)
    question: str = ""
    message: str = ""


Interpreter = Callable[[str, common_pb2.WorldState], Interpretation]


def check_request(req: planner_pb2.PlanRequest, prefix: str = "") -> None:
    """Shape checks that do not need the domain; raises RequestError."""
    errors: list[tuple[str, str]] = []
    task = req.WhichOneof("task")
    if task is None:
        errors.append((f"{prefix}task", "set either instruction or goals"))
    elif task == "instruction":
        if not req.instruction.strip():
            errors.append((f"{prefix}instruction", "empty instruction"))
        elif len(req.instruction) > MAX_INSTRUCTION_CHARS:
            errors.append((f"{prefix}instruction", f"longer than {MAX_INSTRUCTION_CHARS} characters"))
    if not req.HasField("world"):
        errors.append((f"{prefix}world", "missing world state"))
    elif len(req.world.objects) > MAX_OBJECTS:
        errors.append((f"{prefix}world.objects", f"more than {MAX_OBJECTS} objects"))
    if len(req.capabilities) > MAX_CAPABILITIES:
        errors.append((f"{prefix}capabilities", f"more than {MAX_CAPABILITIES} skills"))
    if req.planner_budget_s < 0 or req.planner_budget_s != req.planner_budget_s:
        errors.append((f"{prefix}planner_budget_s", "must be >= 0"))
    if errors:
        raise RequestError(errors)


class PlanningCore:
    """Answer plan requests with a `Planner` and an optional instruction interpreter."""

    def __init__(self, planner: Planner | None = None, interpret: Interpreter | None = None,
                 default_budget_s: float = 5.0) -> None:
        self.planner = planner or Planner()
        self.interpret = interpret
        self.default_budget_s = default_budget_s

    def budget(self, req: planner_pb2.PlanRequest, time_left_s: float | None, margin_s: float = 0.03) -> float:
        """Planner budget: the request's, capped by the call deadline minus a reply margin."""
        budget = req.planner_budget_s or self.default_budget_s
        if time_left_s is not None:
            budget = min(budget, time_left_s - margin_s)
        return budget

    def make_plan(self, req: planner_pb2.PlanRequest, time_left_s: float | None = None,
                  world: common_pb2.WorldState | None = None, prefix: str = "") -> planner_pb2.PlanResponse:
        t0 = time.perf_counter()
        check_request(req, prefix)
        world = world if world is not None else req.world
        stages: dict[str, float] = {}
        resp = planner_pb2.PlanResponse(request_id=req.request_id)
        if req.WhichOneof("task") == "instruction":
            if self.interpret is None:
                resp.outcome = Outcome.REFUSED
                resp.message = "natural-language instructions need the cloud planner; send structured goals"
                return self._finish(resp, stages, t0)
            tn = time.perf_counter()
            meaning = self.interpret(req.instruction, world)
            stages["nl"] = time.perf_counter() - tn
            if meaning.outcome == "clarify":
                resp.outcome = Outcome.NEEDS_CLARIFICATION
                resp.clarification = meaning.question
                resp.message = meaning.message or meaning.question
                return self._finish(resp, stages, t0)
            if meaning.outcome != "goals":
                resp.outcome = Outcome.REFUSED
                resp.message = meaning.message or "unsupported instruction"
                return self._finish(resp, stages, t0)
            goals = domain.goals_to_proto(meaning.goals)
            goals_field = f"{prefix}instruction"
        else:
            goals = list(req.goals.goals)
            goals_field = f"{prefix}goals.goals"
        tb = time.perf_counter()
        # Validate with the request's field paths, then build (cheap: sub-millisecond).
        _schemas, predicates = domain.parse_contracts(req.capabilities, f"{prefix}capabilities")
        entities = domain.world_entities(world, f"{prefix}world")
        user_goals = domain.check_goals(goals, predicates, entities, goals_field)
        task = domain.build_task(req.capabilities, world, goals)
        stages["build"] = time.perf_counter() - tb
        resp.plan.goals.extend(domain.goals_to_proto(user_goals))
        budget = self.budget(req, None if time_left_s is None else time_left_s - (time.perf_counter() - t0))
        try:
            result = self.planner.solve(task, budget)
        except PlannerError as exc:
            raise RuntimeError(str(exc)) from exc
        for k, v in result.timing.items():
            if k != "total":
                stages[k] = v
        stages["plan"] = result.timing.get("total", 0.0)
        resp.planner = result.planner
        if result.status is Status.PLANNED:
            resp.outcome = Outcome.PLANNED
            resp.plan.steps.extend(domain.skill_call(task, n, a) for n, a in result.steps)
        elif result.status is Status.ALREADY_SATISFIED:
            resp.outcome = Outcome.ALREADY_SATISFIED
            resp.message = result.message
        elif result.status is Status.UNSOLVABLE:
            resp.outcome = Outcome.UNSOLVABLE
            resp.message = result.message
        else:
            raise TimeoutError(result.message or "planner budget exceeded")
        return self._finish(resp, stages, t0)

    def replan(self, req: planner_pb2.ReplanRequest, time_left_s: float | None = None) -> planner_pb2.PlanResponse:
        errors: list[tuple[str, str]] = []
        if not req.HasField("original"):
            errors.append(("original", "missing original plan request"))
        if not req.HasField("world"):
            errors.append(("world", "missing current world state"))
        if errors:
            raise RequestError(errors)
        skills = {c.name for c in req.original.capabilities}
        for i, step in enumerate(req.executed.steps):
            if step.skill not in skills:
                errors.append((f"executed.steps[{i}].skill", f"unknown skill {step.skill!r}"))
        if req.HasField("failed_step") and req.failed_step.skill not in skills:
            errors.append(("failed_step.skill", f"unknown skill {req.failed_step.skill!r}"))
        if errors:
            raise RequestError(errors)
        original = planner_pb2.PlanRequest()
        original.CopyFrom(req.original)
        original.request_id = req.request_id
        if req.original.WhichOneof("task") == "instruction" and len(req.executed.goals):
            # Keep the goals the instruction was resolved to, so the meaning cannot drift.
            original.goals.goals.extend(req.executed.goals)
        resp = self.make_plan(original, time_left_s, world=req.world, prefix="original.")
        if req.failure and resp.outcome == Outcome.PLANNED:
            resp.message = f"replanned after failure: {req.failure}"
        return resp

    @staticmethod
    def _finish(resp: planner_pb2.PlanResponse, stages: dict[str, float], t0: float) -> planner_pb2.PlanResponse:
        resp.server_timing.stages_s.update(stages)
        resp.server_timing.total_s = time.perf_counter() - t0
        return resp
