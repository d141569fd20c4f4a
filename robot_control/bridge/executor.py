"""Task execution on the robot (no ROS): plan, run the steps on the edge, replan, fall back.

`TaskExecutor.run(spec)` takes one task (natural-language instruction or structured goals)
to a terminal `TaskState`, reporting every change through `on_status`:

1. **Capabilities and world.** The skill contracts come from the edge (`ListSkills` for the
   robot); the arms planned with are the robot description's arm groups the edge serves
   (`ListSkills` per arm group; all of them if the edge does not select by arm group). The
   world comes from `WorldModel` (the body's /objects) plus what the arms hold
   (`HoldingTracker`), always from an observation made after planning was asked for: no
   fresh /objects message within ``world_wait_s`` -> ABORTED (never plan on a stale world).
2. **Plan.** `PlannerClient.plan` asks the cloud brain (deadline ``plan_deadline_s``, MakePlan
   retried on UNAVAILABLE) and falls back to the local planner for structured goals. The
   goals the answer resolved (for an instruction: what the brain's language model made of
   it) are kept for the rest of the task, so every later replan - cloud or local - plans
   exactly those goals and never needs the language model again.
3. **Execute** each `SkillCall` with `SkillService.Execute` (deadline: the skill's timeout +
   margin), streaming SkillProgress into the status (step, phase, sub-phase, progress).
   Succeeded steps update `HoldingTracker` from the contracts' `grasped` / `holding` effects
   (the planner's meaning of "holding"). Observations overrule the belief: after a step that
   did not succeed, the edge's estimate in its final message (object lifted, near the ee, hand
   closed) says what the arm still holds (an object dropped in transport is held no more), and
   an object seen resting in the bin or on the table is held by no one (the scene was reset,
   or someone took it) before any planning.
   Before a replan, objects grasped but not lifted - a state a WorldState cannot express -
   are let go with the contracts' un-grasp skill (release); so is the object of a grasp that
   failed or timed out (the hand may have closed partway on it: a reach would drag it along).
4. **Replan** when a skill ends FAILED or TIMED_OUT, or when the plan ran out but the goals
   are not observed in the world, once the scene has come to rest (bounded wait): `Replan` on the cloud (once, deadline
   ``replan_deadline_s``) with the executed steps, the resolved goals, the failed step and the
   world as it is now; when the cloud is unreachable or misses the deadline, the local planner
   plans the resolved goals from the same world. At most ``max_replans`` times, then FAILED.
5. **Cancel** (`cancel()`, from any thread) cancels the in-flight Execute call - the edge
   stops the skill and holds the robot - and ends the task CANCELED.
6. **Abort** (`abort(reason)`, from any thread; the bridge node calls it while the cerebellum
   is in e-stop or tilt stop) does the same and ends the task ABORTED with the reason: a
   skill failing because the controller refuses trajectories is not replanned.

A broken edge call (unreachable, deadline, stream without terminal phase, skill canceled or
preempted by someone else) ends the task ABORTED: the bridge does not keep commanding a
robot whose skill server it cannot follow. Hop latencies land in `metrics` for /diagnostics.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from robot_control.brain.domain import RequestError
from robot_control.bridge.edge_client import Phase, SkillClient, StepResult
from robot_control.bridge.planner_client import CloudUnavailable, PlannerClientError, PlanOutcome
from robot_control.bridge.tasks import TaskSpec, TaskState, TaskStatus, format_atom, format_atoms
from robot_control.bridge.world import GRASPED, HAND_EMPTY, HOLDING, HoldingTracker, WorldModel
from robot_control.v1 import common_pb2, planner_pb2, skill_pb2

log = logging.getLogger(__name__)
Outcome = planner_pb2.PlanResponse.Outcome


@dataclass
class ExecutorConfig:
    plan_deadline_s: float = 5.0  # first plan (cloud incl. language model, or local)
    replan_deadline_s: float = 3.0
    max_replans: int = 3
    world_wait_s: float = 5.0  # wait this long for a fresh /objects message before (re)planning
    # Before a replan, wait (at most settle_timeout_s) until no object moved more than
    # settle_tolerance_m within settle_window_s: a cube knocked by a failed grasp still slides,
    # and a plan from where it was a moment ago fails at once (object_moved).
    settle_timeout_s: float = 3.0
    settle_tolerance_m: float = 0.005
    settle_window_s: float = 0.25
    # A recovery release that fails by itself (the opening hand nudged the object: object_moved)
    # is tried again from where things came to rest, up to this many attempts; then the task
    # replans from what is observed (a broken edge call ABORTs at once).
    recovery_attempts: int = 2
    verify_goals: bool = True  # check the goals in a fresh observation when the plan is done
    progress_period_s: float = 0.2  # at most this often a status per progress message (phase changes always)

    def __post_init__(self) -> None:
        positive = ("plan_deadline_s", "replan_deadline_s", "world_wait_s", "settle_window_s")
        problems = []
        for name in positive + ("settle_timeout_s", "settle_tolerance_m", "progress_period_s"):
            value, strict = getattr(self, name), name in positive
            if not (isinstance(value, (int, float)) and math.isfinite(value) and (value > 0 if strict else value >= 0)):
                problems.append(f"{name} must be a finite number {'>' if strict else '>='} 0 (got {value!r})")
        if not (isinstance(self.max_replans, int) and self.max_replans >= 0):
            problems.append(f"max_replans must be an integer >= 0 (got {self.max_replans!r})")
        if not (isinstance(self.recovery_attempts, int) and self.recovery_attempts >= 1):
            problems.append(f"recovery_attempts must be an integer >= 1 (got {self.recovery_attempts!r})")
        if problems:
            raise ValueError("invalid task executor config: " + "; ".join(problems))


@dataclass
class HopMetrics:
    """Last measured latencies per hop (seconds), for /diagnostics."""

    planner_mode: str = ""  # mode of the last plan: cloud | local
    brain_round_trip_s: float | None = None  # bridge -> brain -> bridge, last cloud answer
    brain_server_s: float | None = None  # server_timing.total_s of that answer
    brain_transport_s: float | None = None  # round trip - server time
    brain_stages_s: dict[str, float] = field(default_factory=dict)
    local_plan_s: float | None = None  # last local planning time
    fallback_s: float | None = None  # last local answer: cloud attempt + local planning
    edge_first_progress_s: float | None = None  # Execute call -> first SkillProgress
    edge_step_s: float | None = None  # Execute call -> end of stream
    edge_server_s: float | None = None  # final SkillProgress server_timing.total_s
    edge_error: str = ""  # why the last edge call broke ('' once a call succeeds again)
    edge_last_error: str = ""  # the last edge error ever seen
    last_error: str = ""
    plans: int = 0
    replans: int = 0
    local_plans: int = 0
    steps_executed: int = 0
    tasks: dict[str, int] = field(default_factory=dict)  # terminal state -> count


class _Finished(Exception):  # noqa: N818 - control flow: the task reached a terminal state
    def __init__(self, state: TaskState, message: str) -> None:
        super().__init__(message)
        self.state = state
        self.message = message


class TaskExecutor:
    """Runs one task at a time (`run` blocks); `cancel` may be called from any thread."""

    def __init__(self, planner, skills: SkillClient, world: WorldModel, holding: HoldingTracker,
                 config: ExecutorConfig | None = None, *, robot: str = "",
                 on_status: Callable[[TaskStatus], None] | None = None) -> None:
        self.planner = planner  # PlannerClient or LocalOnlyPlanner
        self.skills = skills
        self.world = world
        self.holding = holding
        self.config = config or ExecutorConfig()
        self.robot = robot or world.config.robot
        self.on_status = on_status
        self.metrics = HopMetrics()
        self._cancel = threading.Event()
        self._abort_reason = ""  # set by abort(): the task ends ABORTED with it
        self._lock = threading.Lock()
        self._status: TaskStatus | None = None
        self._t0 = 0.0
        self._last_progress_emit = 0.0
        self._arms: tuple[str, ...] | None = None  # arm groups the edge serves (set per task)

    # -- public ------------------------------------------------------------------------------

    @property
    def active(self) -> TaskStatus | None:
        with self._lock:
            s = self._status
            return s.copy() if s is not None and not s.state.terminal else None

    def cancel(self) -> bool:
        """Cancel the running task (and its in-flight skill call); False if none runs."""
        with self._lock:
            running = self._status is not None and not self._status.state.terminal
        if not running:
            return False
        self._cancel.set()
        self.skills.cancel_active()
        return True

    def abort(self, reason: str) -> bool:
        """Abort the running task for a safety reason: its in-flight skill call is cancelled (the
        edge holds the robot) and it ends ABORTED with `reason`; False if no task runs."""
        with self._lock:
            running = self._status is not None and not self._status.state.terminal
            if not running:
                return False
            first = not self._abort_reason
            if first:
                self._abort_reason = reason
        if first:
            self._cancel.set()
            self.skills.cancel_active()
        return True

    def accept(self, spec: TaskSpec) -> None:
        """Make `spec` the current task (ACCEPTED, cancellable) before `run` starts it."""
        with self._lock:
            if self._status is not None and not self._status.state.terminal:
                raise RuntimeError(f"task {self._status.task_id} is still running")
            self._cancel.clear()
            self._abort_reason = ""
            self._t0 = time.monotonic()
            self._status = TaskStatus(task_id=spec.task_id, instruction=spec.instruction,
                                      goals=format_atoms(spec.goals))
        self._emit(message="task accepted")

    def run(self, spec: TaskSpec) -> TaskStatus:
        """Take the task to a terminal state (accepting it first unless `accept` was called)."""
        with self._lock:
            accepted = self._status is not None and self._status.task_id == spec.task_id \
                and self._status.state is TaskState.ACCEPTED
        if not accepted:
            self.accept(spec)
        try:
            self._run(spec)
            raise _Finished(TaskState.FAILED, "task ended without an outcome")  # unreachable by design
        except _Finished as end:
            return self._finish(end.state, end.message)
        except Exception as exc:  # noqa: BLE001 - never leave a task without a terminal state
            log.exception("task %s crashed", spec.task_id)
            return self._finish(TaskState.ABORTED, f"internal error: {type(exc).__name__}: {exc}")

    # -- the task ----------------------------------------------------------------------------

    def _run(self, spec: TaskSpec) -> None:
        contracts = self._capabilities()
        self._check_cancel()
        world = self._world(self.config.world_wait_s)
        # Planner request ids are idempotency keys: unique per run, even if a task id is reused.
        nonce = uuid.uuid4().hex[:8]
        request = planner_pb2.PlanRequest(request_id=f"{spec.task_id}/plan-{nonce}", world=world,
                                          capabilities=list(contracts.values()))
        if spec.structured:
            request.goals.goals.extend(planner_pb2.Goal(predicate=g[0], arguments=list(g[1:]))
                                       for g in spec.goals)
        else:
            request.instruction = spec.instruction
        self._emit(state=TaskState.PLANNING, message="planning")
        outcome = self._plan(functools.partial(self.planner.plan, request, self.config.plan_deadline_s),
                             initial=True)
        resp = outcome.response
        goals = list(resp.plan.goals) or list(request.goals.goals)
        self._emit(goals=format_atoms((g.predicate, *g.arguments) for g in goals))
        self._settle_outcome(resp)

        steps = list(resp.plan.steps)
        executed: list[planner_pb2.SkillCall] = []
        replans = 0
        while True:
            self._emit(state=TaskState.EXECUTING, plan=_plan_text(steps), steps=len(steps), step=0,
                       current_step="", skill_phase="", sub_phase="", progress=0.0,
                       message=f"executing {len(steps)} steps ({outcome.mode} plan)")
            failed_step: planner_pb2.SkillCall | None = None
            failure = ""
            for i, call in enumerate(steps):
                self._check_cancel()
                result = self._execute(call, f"{spec.task_id}/{replans}/{i}", contracts.get(call.skill),
                                       step=i + 1, count=len(steps))
                if result.ok:
                    executed.append(call)
                    continue
                where = f"step {i + 1}/{len(steps)} {_call_text(call)}"
                self._check_abort(f" during {where}")
                if result.canceled or self._cancel.is_set():
                    raise _Finished(TaskState.CANCELED, f"canceled during {where}; the edge holds the robot")
                if not result.skill_failure:
                    self.metrics.edge_error = self.metrics.edge_last_error = \
                        f"{where}: {result.phase_name}: {result.message}"
                    raise _Finished(TaskState.ABORTED, f"{where}: {result.phase_name}: {result.message}")
                failed_step, failure = call, f"{call.skill} {result.phase_name}: {result.message}"
                break
            else:
                unmet = self._unmet_goals(goals)
                if not unmet:
                    raise _Finished(TaskState.SUCCEEDED,
                                    f"done: {len(executed)} steps, {replans} replans ({outcome.mode} plan)")
                failure = f"plan finished but goals not observed: {unmet}"
            self.metrics.last_error = failure
            if replans >= self.config.max_replans:
                raise _Finished(TaskState.FAILED, f"{failure}; gave up after {replans} replans")
            replans += 1
            self.metrics.replans += 1
            self._settle()  # a knocked object still sliding fails the recovery and the next plan at once
            self._recover(spec, contracts, replans)
            self._emit(state=TaskState.PLANNING, replans=replans, current_step="", skill_phase="",
                       sub_phase="", progress=0.0, message=f"replanning ({replans}/{self.config.max_replans}) "
                                                           f"after {failure}")
            world = self._world(self.config.world_wait_s)
            rq = planner_pb2.ReplanRequest(request_id=f"{spec.task_id}/replan-{replans}-{nonce}", original=request,
                                           world=world, failure=failure)
            rq.executed.steps.extend(executed)
            rq.executed.goals.extend(goals)
            if failed_step is not None:
                rq.failed_step.CopyFrom(failed_step)
            outcome = self._plan(functools.partial(self.planner.replan_with_fallback, rq,
                                                   self.config.replan_deadline_s), initial=False)
            self._settle_outcome(outcome.response)
            steps = list(outcome.response.plan.steps)

    # -- planning ----------------------------------------------------------------------------

    def _plan(self, call: Callable[[], PlanOutcome], initial: bool) -> PlanOutcome:
        # Before the first step nothing moved: a task that cannot be planned FAILED. Mid-task the
        # robot stops partway: ABORTED.
        stuck = TaskState.FAILED if initial else TaskState.ABORTED
        try:
            outcome = call()
        except CloudUnavailable as exc:
            self.metrics.last_error = str(exc)
            raise _Finished(TaskState.FAILED, f"{exc}: natural-language tasks need the cloud brain") from exc
        except PlannerClientError as exc:
            self.metrics.last_error = str(exc)
            raise _Finished(TaskState.FAILED, f"planner rejected the request: {exc}") from exc
        except RequestError as exc:
            self.metrics.last_error = f"local planner: {exc}"
            raise _Finished(TaskState.FAILED, f"local planner rejected the request: {exc}") from exc
        except TimeoutError as exc:
            self.metrics.last_error = f"local planner: {exc}"
            raise _Finished(stuck, f"no plan within the deadline (local planner: {exc})") from exc
        m = self.metrics
        m.plans += 1
        m.planner_mode = outcome.mode
        if outcome.mode == "cloud":
            m.brain_round_trip_s, m.brain_server_s = outcome.round_trip_s, outcome.server_s
            m.brain_transport_s = outcome.transport_s
            m.brain_stages_s = dict(outcome.response.server_timing.stages_s)
        else:
            m.local_plans += 1
            m.local_plan_s = outcome.hops.get("local", outcome.latency_s)
            m.fallback_s = outcome.latency_s
            if outcome.cloud_error:
                m.last_error = f"cloud: {outcome.cloud_error}"
        self._emit(planner_mode=outcome.mode, planner=outcome.response.planner,
                   message=f"planned ({outcome.mode}, {outcome.latency_s * 1e3:.0f} ms)"
                           + (f" after cloud error: {outcome.cloud_error}" if outcome.cloud_error else ""))
        self._check_cancel()
        return outcome

    @staticmethod
    def _settle_outcome(resp: planner_pb2.PlanResponse) -> None:
        """Return when there are steps to run; otherwise end the task by the planner's outcome."""
        if resp.outcome == Outcome.PLANNED and resp.plan.steps:
            return
        if resp.outcome in (Outcome.ALREADY_SATISFIED, Outcome.PLANNED):
            raise _Finished(TaskState.SUCCEEDED, resp.message or "the goals already hold")
        if resp.outcome == Outcome.NEEDS_CLARIFICATION:
            raise _Finished(TaskState.FAILED, f"needs clarification: {resp.clarification or resp.message}")
        name = Outcome.Name(resp.outcome)
        raise _Finished(TaskState.FAILED, f"{name.lower()}: {resp.message}" if resp.message else name.lower())

    # -- execution ---------------------------------------------------------------------------

    def _execute(self, call: planner_pb2.SkillCall, request_id: str, contract: skill_pb2.SkillContract | None,
                 step: int, count: int, label: str = "") -> StepResult:
        timeout = self.skills.step_timeout(contract)
        request = skill_pb2.ExecuteSkillRequest(
            request_id=request_id, skill=call.skill, arm_group=call.arm_group,
            arguments=list(call.arguments), timeout_s=timeout)
        label = label or f"step {step}/{count}"
        self._emit(step=step, current_step=_call_text(call), skill_phase="", sub_phase="", progress=0.0,
                   message=f"{label}: {_call_text(call)}")
        result = self.skills.execute(request, on_progress=self._on_progress, is_canceled=self._cancel.is_set)
        m = self.metrics
        if result.first_progress_s is not None:
            m.edge_first_progress_s = result.first_progress_s
        m.edge_step_s = result.duration_s
        if result.final is not None and result.final.server_timing.total_s > 0:
            m.edge_server_s = result.final.server_timing.total_s
        if result.ok:
            m.steps_executed += 1
            m.edge_error = ""
            self.holding.apply(contract, call)
        elif result.code is not None and result.code != grpc.StatusCode.CANCELLED:
            m.edge_error = m.edge_last_error = result.message
        if not result.ok and result.final is not None and result.final.HasField("world"):
            # The step stopped partway (dropped, stopped, timed out): the edge saw what the hand holds.
            puts_down = contract is not None and any(c.predicate == HOLDING for c in contract.delete_effects)
            changed = self.holding.reconcile(call.arm_group, result.final.world.holding.get(call.arm_group, ""),
                                             puts_down=puts_down)
            if changed:
                log.info("task %s: after %s %s the edge reports %s", self._task_id(), _call_text(call),
                         result.phase_name, changed)
        if not result.ok and result.skill_failure and self.holding.assume_grasped(contract, call):
            log.info("task %s: %s %s: opening the hand before anything else", self._task_id(), _call_text(call),
                     result.phase_name)
        self._emit(skill_phase=result.phase_name, message=f"{label} {_call_text(call)}: {result.phase_name}"
                                                          + (f": {result.message}" if result.message else ""))
        return result

    def _recover(self, spec: TaskSpec, contracts: dict[str, skill_pb2.SkillContract], replans: int) -> None:
        """Let go of objects grasped but not lifted: a WorldState cannot express that state."""
        for arm, obj in sorted(self.holding.grasped_only().items()):
            found = ungrasp_call(contracts.values(), arm, obj)
            if found is None:
                raise _Finished(TaskState.ABORTED, f"{arm} grasps {obj} (not lifted) and no skill releases it; "
                                                   "cannot replan from this state")
            call, contract = found
            for attempt in range(1, self.config.recovery_attempts + 1):
                self._check_cancel()
                self._emit(state=TaskState.EXECUTING)
                suffix = "" if attempt == 1 else f"-{attempt}"
                result = self._execute(call, f"{spec.task_id}/{replans}/recover-{arm}{suffix}", contract, step=0,
                                       count=0, label="recovering before replanning")
                self._check_abort(f" during recovery {_call_text(call)}")
                if result.canceled or self._cancel.is_set():
                    raise _Finished(TaskState.CANCELED, f"canceled during recovery {_call_text(call)}; "
                                                        "the edge holds the robot")
                if result.ok:
                    break
                why = f"recovery {_call_text(call)} {result.phase_name}: {result.message}"
                if not result.skill_failure:  # the call broke (edge gone): the hand's state is unknown
                    raise _Finished(TaskState.ABORTED, why if attempt == 1 else f"{why} (attempt {attempt})")
                if attempt >= self.config.recovery_attempts:
                    # Each attempt ran the skill (open, back off) until one of its checks ended it:
                    # the hand has let go as far as it could. The replan starts from what is seen
                    # now (its reach opens the hand first). Live G1: a can the grasp had pushed
                    # tipped as the hand opened (object_moved) and the task used to abort here.
                    self.holding.forget(arm, obj)
                    log.warning("task %s: %s (attempt %d); replanning from what is observed", self._task_id(),
                                why, attempt)
                    self._emit(message=f"{why} (attempt {attempt}); replanning from what is observed")
                    break
                log.warning("task %s: %s; trying again once the scene is at rest", self._task_id(), why)
                self._settle()

    def _on_progress(self, msg: skill_pb2.SkillProgress) -> None:
        with self._lock:
            s = self._status
            changed = s is not None and (Phase.Name(msg.phase) != s.skill_phase or msg.sub_phase != s.sub_phase)
        now = time.monotonic()
        if not changed and now - self._last_progress_emit < self.config.progress_period_s:
            return
        self._last_progress_emit = now
        self._emit(skill_phase=Phase.Name(msg.phase), sub_phase=msg.sub_phase, progress=msg.progress,
                   **({"message": msg.message} if msg.message else {}))

    # -- world -------------------------------------------------------------------------------

    def _world(self, wait_s: float) -> common_pb2.WorldState:
        """The world from an observation made after this call (never a stale one).

        The second message received after the call: the first may have been published before
        the last step's effect and only delivered now.
        """
        since = self.world.updates
        end = time.monotonic() + wait_s
        while not self.world.wait_for_updates(since, 2, min(0.1, max(end - time.monotonic(), 0.0))):
            self._check_cancel()
            if time.monotonic() >= end:
                raise _Finished(TaskState.ABORTED, f"no fresh world state: nothing new on /objects within "
                                                   f"{wait_s:g} s")
        return self.world.snapshot(self._held(), self._arms)

    def _settle(self) -> None:
        """Wait for the scene to come to rest before replanning (bounded; cancellable)."""
        cfg = self.config
        end = time.monotonic() + cfg.settle_timeout_s
        moved, name = 0.0, ""
        while time.monotonic() < end:
            self._check_cancel()
            moved, name = self.world.movement(cfg.settle_window_s)
            if moved <= cfg.settle_tolerance_m:
                return
        log.warning("task %s: replanning while %s still moves (%.3f m in %.2f s after %.1f s)", self._task_id(),
                    name, moved, cfg.settle_window_s, cfg.settle_timeout_s)

    def _task_id(self) -> str:
        with self._lock:
            return self._status.task_id if self._status is not None else "-"

    def _held(self) -> dict[str, str]:
        """Arm -> object lifted in it, without beliefs the observations contradict (an object
        seen resting in the bin or on the table: the scene was reset, or it was taken away)."""
        for arm, obj in sorted(self.holding.snapshot().items()):
            why = self.world.resting(obj)
            if why and self.holding.forget(arm, obj):
                log.warning("task %s: %s no longer holds %s: %s", self._task_id(), arm, obj, why)
        return self.holding.snapshot()

    def _unmet_goals(self, goals: list[planner_pb2.Goal]) -> str:
        """Goals `at(object, location)` contradicted by the observed world ('' if none)."""
        if not self.config.verify_goals:
            return ""
        world = self._world(self.config.world_wait_s)
        where = {o.name: o.location for o in world.objects}
        unmet = [f"{format_atom((g.predicate, *g.arguments))} ({g.arguments[0]} is at {where[g.arguments[0]]})"
                 for g in goals
                 if g.predicate == "at" and len(g.arguments) == 2 and g.arguments[0] in where
                 and where[g.arguments[0]] != g.arguments[1]]
        return ", ".join(unmet)

    def _capabilities(self) -> dict[str, skill_pb2.SkillContract]:
        """Skill contracts for the robot, and (in `_arms`) the arm groups the edge serves."""
        try:
            resp = self.skills.list_skills(self.robot)
            served = tuple(arm for arm in self.world.config.arm_groups if self.skills.list_skills(arm).skills)
        except grpc.RpcError as exc:
            error = f"ListSkills: {exc.code().name}: {exc.details()}"
            self.metrics.edge_error = self.metrics.edge_last_error = error
            raise _Finished(TaskState.ABORTED, f"edge skill server unreachable ({error})") from exc
        if not resp.skills:
            raise _Finished(TaskState.ABORTED, f"the edge offers no skills for {self.robot!r}")
        # An edge that does not select skills by arm group answers none for each: use them all.
        self._arms = served or self.world.config.arm_groups
        return {c.name: c for c in resp.skills}

    # -- status ------------------------------------------------------------------------------

    def _check_cancel(self) -> None:
        self._check_abort()
        if self._cancel.is_set():
            raise _Finished(TaskState.CANCELED, "canceled")

    def _check_abort(self, where: str = "") -> None:
        with self._lock:
            reason = self._abort_reason
        if reason:
            raise _Finished(TaskState.ABORTED, f"aborted{where}: {reason}")

    def _emit(self, **changes) -> None:
        with self._lock:
            s = self._status
            if s is None:
                return
            for k, v in changes.items():
                setattr(s, k, v)
            s.seq += 1
            s.elapsed_s = time.monotonic() - self._t0
            out = s.copy()
        if self.on_status is not None:
            try:
                self.on_status(out)
            except Exception:  # noqa: BLE001 - a reporting problem must not stop the robot's task
                log.exception("status callback failed")

    def _finish(self, state: TaskState, message: str) -> TaskStatus:
        tasks = dict(self.metrics.tasks)  # copy on write: /diagnostics reads it from another thread
        tasks[state.value] = tasks.get(state.value, 0) + 1
        self.metrics.tasks = tasks
        if state in (TaskState.FAILED, TaskState.ABORTED):
            self.metrics.last_error = message
        log.info("task %s %s: %s", self._status.task_id if self._status else "?", state.value, message)
        self._emit(state=state, message=message)
        with self._lock:
            return self._status.copy()  # type: ignore[union-attr]


def ungrasp_call(contracts, arm: str, obj: str) -> tuple[planner_pb2.SkillCall, skill_pb2.SkillContract] | None:
    """A call of the skill whose contract turns grasped(arm, object) into hand_empty(arm)."""
    for c in contracts:
        params = [tuple(x.strip() for x in spec.partition(":")[::2]) for spec in c.parameters]
        types = dict(params)
        for d in c.delete_effects:
            if d.predicate != GRASPED or len(d.arguments) != 2:
                continue
            pa, po = d.arguments
            if types.get(pa) != "arm" or types.get(po) != "object" or len(params) != 2:
                continue
            if not any(a.predicate == HAND_EMPTY and list(a.arguments) == [pa] for a in c.add_effects):
                continue
            call = planner_pb2.SkillCall(skill=c.name, arm_group=arm)
            for name, _typ in params:
                call.arguments.add(name=name, symbol=arm if name == pa else obj)
            return call, c
    return None


def _call_text(call: planner_pb2.SkillCall) -> str:
    args = [a.symbol if a.WhichOneof("value") == "symbol" else
            (f"{a.number:g}" if a.WhichOneof("value") == "number" else a.name) for a in call.arguments]
    return f"{call.skill}({','.join(args)})"


def _plan_text(steps: list[planner_pb2.SkillCall]) -> str:
    return "; ".join(_call_text(s) for s in steps)
