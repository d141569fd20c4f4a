"""Symbolic planning with Fast Downward (`lama-first`) over contract-derived domains.

Two engines, both Fast Downward `lama-first` shipped by `up-fast-downward`:

* ``fd-inproc`` (default): the task is written as PDDL straight from the `GroundTask`
  (opaque ids, so world names never clash with PDDL syntax or case folding), translated
  to SAS+ *in this process* with FD's translator (`fast_downward.translate`, imported
  once), and searched by FD's `downward` binary fed on stdin, killed at the budget.
  Measured on a 20-object / 6-goal task this takes ~85 ms against ~520-720 ms for the
  `unified_planning` OneshotPlanner route, whose cost is UP's PDDLWriter (~40 ms), the FD
  driver start-up and the translator in a fresh Python interpreter (~400 ms).
* ``up-oneshot``: `unified_planning.shortcuts.OneshotPlanner(name="fast-downward")` on the
  UP problem built by `domain.to_up_problem`, with the budget as its timeout. Used as a
  fallback when the in-process route fails and for cross-checks in tests.

Every plan is validated by replaying the contracts' add/delete effects from the initial
state (`GroundTask.simulate`) before it is returned; an invalid plan is an internal error,
never an answer.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import io
import logging
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from robot_control.brain import domain
from robot_control.brain.domain import Atom, GroundTask

log = logging.getLogger(__name__)

LAMA_FIRST = (
    "let(hlm, eval_modify_costs(landmark_sum(lm_factory=lm_reasonable_orders_hps(lm_rhw()),"
    "pref=false),cost_type=one),let(hff, eval_modify_costs(ff(),cost_type=one),"
    "lazy_greedy([hff,hlm],preferred=[hff,hlm],cost_type=one,reopen_closed=false)))"
)
ENGINE_NAMES = {"fd-inproc": "fast-downward/lama-first (in-process translate)",
                "up-oneshot": "fast-downward/lama-first (unified-planning oneshot)"}
_FD_TIME = re.compile(r"\] (Search time|Total time): ([0-9.]+)s")
_TRANSLATE_LOCK = threading.Lock()  # FD's translator keeps module-level state
_translator_ready = False


class Status(Enum):
    PLANNED = "planned"
    ALREADY_SATISFIED = "already_satisfied"
    UNSOLVABLE = "unsolvable"
    TIMEOUT = "timeout"


class PlannerError(RuntimeError):
    """The planner failed internally (not: the task is unsolvable)."""


@dataclass
class PlanResult:
    status: Status
    steps: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    planner: str = ""
    message: str = ""


def downward_binary() -> str:
    res = importlib.resources.files("up_fast_downward").joinpath("downward/builds/release/bin/downward")
    path = str(res)
    if not os.access(path, os.X_OK):
        raise PlannerError(f"Fast Downward search binary not found at {path}")
    return path


def _ensure_translator() -> None:
    global _translator_ready
    if not _translator_ready:
        from fast_downward.translate import options

        options.set_options(["domain.pddl", "problem.pddl"])
        _translator_ready = True


def warm_up() -> float:
    """Import the translator and run one tiny task so first calls are not slower; seconds."""
    from robot_control.brain import fixtures

    t0 = time.perf_counter()
    world = fixtures.demo_world(1)
    task = domain.build_task(fixtures.standard_contracts(), world,
                             fixtures.goals(("at", world.objects[0].name, "bin")).goals)
    Planner().solve(task, budget_s=5.0)
    return time.perf_counter() - t0


def to_pddl(task: GroundTask) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """(domain, problem, action id -> skill, entity id -> world name)."""
    pred_ids = {p: f"q{i}" for i, p in enumerate(sorted(task.predicates))}
    act_ids = {s: f"a{i}" for i, s in enumerate(sorted(task.schemas))}
    ent_ids: dict[str, str] = {}
    for typ in domain.WORLD_TYPES:
        for n in task.entities.get(typ, ()):
            ent_ids[n] = f"e{len(ent_ids)}"

    def lit(c: domain.Condition, neg: bool) -> str:
        s = "({} {})".format(pred_ids[c.predicate], " ".join(f"?v_{a}" for a in c.params))
        return f"(not {s})" if neg else s

    preds = " ".join("({} {})".format(pred_ids[p], " ".join(f"?x{i} - {t}" for i, t in enumerate(sig)))
                     for p, sig in sorted(task.predicates.items()))
    actions = []
    for name, s in sorted(task.schemas.items()):
        params = " ".join(f"?v_{n} - {t}" for n, t in s.params)
        pre = " ".join(lit(c, c.negated) for c in s.pre)
        eff = " ".join([lit(c, True) for c in s.delete] + [lit(c, False) for c in s.add])
        actions.append(f"(:action {act_ids[name]} :parameters ({params})\n"
                       f"  :precondition (and {pre})\n  :effect (and {eff}))")
    dom = ("(define (domain robot)\n(:requirements :strips :typing :negative-preconditions)\n"
           f"(:types {' '.join(domain.WORLD_TYPES)})\n(:predicates {preds})\n" + "\n".join(actions) + ")\n")

    def atom(a: Atom) -> str:
        return "({} {})".format(pred_ids[a[0]], " ".join(ent_ids[x] for x in a[1:]))

    objs = " ".join(f"{ent_ids[n]} - {t}" for t in domain.WORLD_TYPES for n in task.entities.get(t, ()))
    init = " ".join(atom(a) for a in sorted(task.init))
    goal = " ".join([atom(a) for a in task.goals] + [f"(not {atom(a)})" for a in task.neg_goals])
    prob = (f"(define (problem task) (:domain robot)\n(:objects {objs})\n(:init {init})\n"
            f"(:goal (and {goal})))\n")
    return dom, prob, {v: k for k, v in act_ids.items()}, {v: k for k, v in ent_ids.items()}


def translate(dom: str, prob: str) -> str:
    """FD translator in-process: PDDL text -> SAS+ text."""
    from fast_downward.translate import main as fd_main
    from fast_downward.translate import normalize
    from fast_downward.translate.pddl_parser import lisp_parser, parsing_functions

    with _TRANSLATE_LOCK:
        _ensure_translator()
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink):
            task = parsing_functions.parse_task(lisp_parser.parse_nested_list(io.StringIO(dom)),
                                                lisp_parser.parse_nested_list(io.StringIO(prob)))
            normalize.normalize(task)
            sas = fd_main.pddl_to_sas(task)
        out = io.StringIO()
        sas.output(out)
    return out.getvalue()


class Planner:
    """Fast Downward lama-first with a per-call time budget; thread-safe."""

    def __init__(self, engine: str = "fd-inproc", fallback: bool = True) -> None:
        if engine not in ENGINE_NAMES:
            raise ValueError(f"unknown engine {engine!r}; expected one of {sorted(ENGINE_NAMES)}")
        self.engine = engine
        self.fallback = fallback
        self._binary = downward_binary() if engine == "fd-inproc" else ""

    def solve(self, task: GroundTask, budget_s: float) -> PlanResult:
        t0 = time.perf_counter()
        if task.goal_reached(task.init):
            return PlanResult(Status.ALREADY_SATISFIED, timing={"total": time.perf_counter() - t0},
                              planner=ENGINE_NAMES[self.engine], message="goals already hold")
        if budget_s <= 0:
            return PlanResult(Status.TIMEOUT, timing={"total": 0.0}, planner=ENGINE_NAMES[self.engine],
                              message="no time left for planning")
        engine = self.engine
        try:
            result = self._solve_inproc(task, budget_s) if engine == "fd-inproc" else self._solve_up(task, budget_s)
        except PlannerError:
            if not (self.fallback and engine == "fd-inproc"):
                raise
            log.exception("in-process Fast Downward failed; falling back to unified-planning oneshot")
            engine = "up-oneshot"
            result = self._solve_up(task, budget_s - (time.perf_counter() - t0))
        if result.status is Status.PLANNED:
            tv = time.perf_counter()
            result.steps = task.in_goal_order(result.steps)
            ok, why = task.simulate(result.steps)
            result.timing["validate"] = time.perf_counter() - tv
            if not ok:
                raise PlannerError(f"{ENGINE_NAMES[engine]} returned an invalid plan: {why}")
        result.timing["total"] = time.perf_counter() - t0
        result.planner = ENGINE_NAMES[engine]
        return result

    # -- engines -------------------------------------------------------------------------------

    def _solve_inproc(self, task: GroundTask, budget_s: float) -> PlanResult:
        t0 = time.perf_counter()
        dom, prob, act_ids, ent_ids = to_pddl(task)
        try:
            sas = translate(dom, prob)
        except Exception as exc:  # the translator raises SystemExit/asserts on bad input
            raise PlannerError(f"translator failed: {exc!r}") from exc
        t1 = time.perf_counter()
        left = budget_s - (t1 - t0)
        timing = {"translate": t1 - t0}
        if left <= 0:
            return PlanResult(Status.TIMEOUT, timing=timing, message="budget spent in translation")
        with tempfile.TemporaryDirectory(prefix="brain-fd-") as tmp:
            plan_file = os.path.join(tmp, "plan")
            try:
                proc = subprocess.run([self._binary, "--search", LAMA_FIRST, "--internal-plan-file", plan_file],
                                      input=sas, capture_output=True, text=True, timeout=left, cwd=tmp)
            except subprocess.TimeoutExpired:
                timing["search"] = time.perf_counter() - t1
                return PlanResult(Status.TIMEOUT, timing=timing,
                                  message=f"search exceeded the {budget_s:.3f}s planner budget")
            except OSError as exc:
                raise PlannerError(f"cannot run {self._binary}: {exc}") from exc
            timing["search"] = time.perf_counter() - t1
            for m in _FD_TIME.finditer(proc.stdout):
                key = "search_fd" if m.group(1) == "Search time" else "search_fd_total"
                timing[key] = float(m.group(2))
            if proc.returncode in (10, 11, 12):
                return PlanResult(Status.UNSOLVABLE, timing=timing, message="no plan reaches the goals")
            if proc.returncode != 0 or not os.path.exists(plan_file):
                raise PlannerError(f"downward exited {proc.returncode}: {proc.stderr[-500:]}")
            with open(plan_file, encoding="ascii") as fh:
                text = fh.read()
        steps = []
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith(";"):
                continue
            parts = line.strip("()").split()
            steps.append((act_ids[parts[0]], tuple(ent_ids[p] for p in parts[1:])))
        return PlanResult(Status.PLANNED, steps=steps, timing=timing)

    def _solve_up(self, task: GroundTask, budget_s: float) -> PlanResult:
        from unified_planning.engines import PlanGenerationResultStatus as S
        from unified_planning.shortcuts import OneshotPlanner, get_environment

        get_environment().credits_stream = None
        t0 = time.perf_counter()
        problem, _objects = domain.to_up_problem(task)
        t1 = time.perf_counter()
        with OneshotPlanner(name="fast-downward", params={"fast_downward_alias": "lama-first"}) as planner:
            res = planner.solve(problem, timeout=max(budget_s - (t1 - t0), 0.001))
        t2 = time.perf_counter()
        timing = {"translate": t1 - t0, "search": t2 - t1}  # UP: translate+search in one process
        if res.status in (S.SOLVED_SATISFICING, S.SOLVED_OPTIMALLY) and res.plan is not None:
            steps = [(a.action.name, tuple(str(p.object()) for p in a.actual_parameters))
                     for a in res.plan.actions]
            return PlanResult(Status.PLANNED, steps=steps, timing=timing)
        if res.status == S.TIMEOUT:
            return PlanResult(Status.TIMEOUT, timing=timing, message="planner timed out")
        if res.status in (S.UNSOLVABLE_PROVEN, S.UNSOLVABLE_INCOMPLETELY):
            return PlanResult(Status.UNSOLVABLE, timing=timing, message="no plan reaches the goals")
        raise PlannerError(f"unified-planning returned {res.status.name}")


def validate_with_up(task: GroundTask, steps: Sequence[tuple[str, Sequence[str]]]) -> bool:
    """Cross-check a plan with unified_planning's SequentialPlanValidator."""
    from unified_planning.engines import SequentialPlanValidator, ValidationResultStatus
    from unified_planning.plans import ActionInstance, SequentialPlan

    problem, objects = domain.to_up_problem(task)
    plan = SequentialPlan([ActionInstance(problem.action(n), [objects[a] for a in args]) for n, args in steps])
    with SequentialPlanValidator() as validator:
        return validator.validate(problem, plan).status == ValidationResultStatus.VALID
