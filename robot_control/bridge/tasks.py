"""Task messages of the bridge: what `/task` accepts and what `/task/status` carries (no ROS).

`/task` (std_msgs/String) takes either

* plain natural-language text: ``put the red cube in the bin`` (the bridge assigns an id), or
* a structured task: a YAML/JSON mapping with the keys ``id`` (optional), and exactly one of
  ``instruction`` (text) or ``goals``. Goals are a list of ``[predicate, arg, ...]`` lists, or
  of ``"predicate(arg, ...)"`` strings, or one such string::

      {"id": "t1", "goals": [["at", "red_cube", "bin"], ["at", "green_can", "bin"]]}
      {"id": "t2", "instruction": "put the red cube in the bin"}
      goals: at(red_cube, bin), at(green_can, bin)

  Text that parses as a mapping with other keys is taken as an instruction, unchanged.

`/task/status` (diagnostic_msgs/DiagnosticStatus, reliable + transient-local, depth 10) is
one message per change of a task: ``name`` = "task", ``hardware_id`` = task id, ``level``
OK while running or succeeded, WARN when canceled or when running on the local planner,
ERROR when failed or aborted; ``message`` = human-readable. ``values`` (all strings) are
`STATUS_KEYS`: task_id, state, instruction, goals (``at(red_cube,bin) at(green_can,bin)``),
plan (``reach(right_arm,red_cube); grasp(right_arm,red_cube); ...``), step (1-based index of
the current step, 0 before the first), steps, current_step, skill_phase (the edge's
SkillProgress phase: ACCEPTED, RUNNING, SUCCEEDED, FAILED, TIMED_OUT, CANCELED, PREEMPTED),
sub_phase, progress (0..1), planner_mode (cloud | local), planner (engine), replans, seq
(per-task update counter) and elapsed_s.

States: ACCEPTED -> PLANNING -> EXECUTING (-> PLANNING on a replan -> EXECUTING ...) and one
terminal state: SUCCEEDED; FAILED (the task cannot be done as asked: refused, unclear,
unsolvable, invalid, replans used up, natural language while the cloud is down); ABORTED
(stopped for a safety or infrastructure reason: edge unreachable or broken stream, skill
canceled or preempted by someone else, no world state, no planner answer mid-task); CANCELED
(on request, via /task/cancel; the in-flight skill call is cancelled and the edge holds).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields

Atom = tuple[str, ...]


class TaskState(enum.Enum):
    ACCEPTED = "ACCEPTED"
    PLANNING = "PLANNING"
    EXECUTING = "EXECUTING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    CANCELED = "CANCELED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({TaskState.SUCCEEDED, TaskState.FAILED, TaskState.ABORTED, TaskState.CANCELED})
TASK_KEYS = frozenset({"id", "instruction", "goals"})
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
_ATOM = re.compile(r"\s*([A-Za-z][A-Za-z0-9_\-]*)\s*\(([^()]*)\)\s*")
MAX_TASK_CHARS = 4000


class TaskFormatError(ValueError):
    """A /task message that cannot be accepted; `task_id` is set when the message named one."""

    def __init__(self, message: str, task_id: str = "") -> None:
        super().__init__(message)
        self.task_id = task_id


@dataclass(frozen=True)
class TaskSpec:
    task_id: str
    instruction: str = ""
    goals: tuple[Atom, ...] = ()

    @property
    def structured(self) -> bool:
        return bool(self.goals)


def new_task_id(prefix: str = "task") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def format_atom(atom: Iterable[str]) -> str:
    pred, *args = tuple(atom)
    return f"{pred}({','.join(args)})"


def format_atoms(atoms: Iterable[Iterable[str]]) -> str:
    return " ".join(format_atom(a) for a in atoms)


def parse_atoms(value: object) -> tuple[Atom, ...]:
    """Goals from ``"at(a,b) at(c,d)"`` / ``"at(a, b), at(c, d)"`` or ``[["at","a","b"], "at(c,d)"]``."""
    if isinstance(value, str):
        text = value.strip()
        out: list[Atom] = []
        pos = 0
        while pos < len(text):
            m = _ATOM.match(text, pos)
            if not m:
                raise ValueError(f"cannot read a goal at {text[pos:pos + 30]!r}: expected predicate(arg, ...)")
            args = tuple(a.strip() for a in m.group(2).split(",") if a.strip())
            out.append((m.group(1), *args))
            pos = m.end()
            while pos < len(text) and text[pos] in ", ;":
                pos += 1
        if not out:
            raise ValueError("no goals given")
        return tuple(out)
    if isinstance(value, (list, tuple)):
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.extend(parse_atoms(item))
            elif isinstance(item, (list, tuple)) and item and all(isinstance(x, str) for x in item):
                out.append(tuple(item))
            else:
                raise ValueError(f"goals[{i}]: expected [predicate, arg, ...] or \"predicate(arg, ...)\"")
        if not out:
            raise ValueError("no goals given")
        return tuple(out)
    raise ValueError("goals: expected a list or a string")


def parse_task_message(text: str) -> TaskSpec:
    """A /task payload -> TaskSpec; raises TaskFormatError."""
    if len(text) > MAX_TASK_CHARS:
        raise TaskFormatError(f"task message longer than {MAX_TASK_CHARS} characters")
    stripped = text.strip()
    if not stripped:
        raise TaskFormatError("empty task")
    data = _mapping(stripped)
    if data is None:
        return TaskSpec(new_task_id(), instruction=stripped)
    task_id = data.get("id")
    if task_id is None:
        task_id = new_task_id()
    elif not isinstance(task_id, str) or not _ID.match(task_id):
        raise TaskFormatError(f"id: expected 1-64 characters of [A-Za-z0-9_.:-], got {task_id!r}")
    has_instruction, has_goals = "instruction" in data, "goals" in data
    if has_instruction == has_goals:
        raise TaskFormatError("give exactly one of `instruction` or `goals`", task_id)
    if has_instruction:
        instruction = data["instruction"]
        if not isinstance(instruction, str) or not instruction.strip():
            raise TaskFormatError("instruction: expected non-empty text", task_id)
        return TaskSpec(task_id, instruction=instruction.strip())
    try:
        goals = parse_atoms(data["goals"])
    except ValueError as exc:
        raise TaskFormatError(f"goals: {exc}", task_id) from exc
    return TaskSpec(task_id, goals=goals)


def _mapping(text: str) -> dict | None:
    """The structured form, or None when the text is an instruction."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        if text.startswith("{"):
            raise TaskFormatError("task looks like a mapping but is not valid YAML/JSON") from None
        return None
    if not isinstance(data, dict) or not data or not set(map(str, data)) <= TASK_KEYS:
        if isinstance(data, dict) and text.startswith("{"):
            unknown = sorted(set(map(str, data)) - TASK_KEYS)
            raise TaskFormatError(f"unknown task keys {unknown}; expected {sorted(TASK_KEYS)}",
                                  str(data.get("id", "")))
        return None
    if "instruction" not in data and "goals" not in data:
        return None
    return data


def task_message(task_id: str, instruction: str = "", goals: Iterable[Atom] = ()) -> str:
    """The structured /task payload (JSON, which is also YAML) for a task."""
    import json

    goals = [list(g) for g in goals]
    if bool(instruction) == bool(goals):
        raise ValueError("give exactly one of instruction or goals")
    body: dict[str, object] = {"id": task_id}
    if instruction:
        body["instruction"] = instruction
    else:
        body["goals"] = goals
    return json.dumps(body)


@dataclass
class TaskStatus:
    """What /task/status publishes about one task (see the module docstring)."""

    task_id: str
    state: TaskState = TaskState.ACCEPTED
    message: str = ""
    instruction: str = ""
    goals: str = ""
    plan: str = ""
    step: int = 0
    steps: int = 0
    current_step: str = ""
    skill_phase: str = ""
    sub_phase: str = ""
    progress: float = 0.0
    planner_mode: str = ""
    planner: str = ""
    replans: int = 0
    seq: int = 0
    elapsed_s: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def level(self) -> str:
        if self.state in (TaskState.FAILED, TaskState.ABORTED):
            return "ERROR"
        if self.state is TaskState.CANCELED or (self.planner_mode == "local" and not self.state.terminal):
            return "WARN"
        return "OK"

    def to_values(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if isinstance(value, TaskState):
                value = value.value
            elif isinstance(value, float):
                value = f"{value:.3f}"
            out[f.name] = str(value)
        out.update(self.extra)
        return out

    @classmethod
    def from_values(cls, values: Mapping[str, str], message: str = "") -> TaskStatus:
        kw: dict[str, object] = {}
        extra = dict(values)
        for f in fields(cls):
            if f.name == "extra" or f.name not in values:
                continue
            raw = extra.pop(f.name)
            if f.name == "state":
                kw[f.name] = TaskState(raw)
            elif f.type in ("int", int):
                kw[f.name] = int(raw or 0)
            elif f.type in ("float", float):
                kw[f.name] = float(raw or 0.0)
            else:
                kw[f.name] = raw
        if message and "message" not in values:
            kw["message"] = message
        status = cls(**kw)  # type: ignore[arg-type]
        status.extra = extra
        return status

    def copy(self) -> TaskStatus:
        data = asdict(self)
        data["state"] = self.state
        return TaskStatus(**data)


STATUS_KEYS = tuple(f.name for f in fields(TaskStatus) if f.name != "extra")
