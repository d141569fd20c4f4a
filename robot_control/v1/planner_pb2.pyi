from robot_control.v1 import common_pb2 as _common_pb2
from robot_control.v1 import skill_pb2 as _skill_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Goal(_message.Message):
    __slots__ = ("predicate", "arguments")
    PREDICATE_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    predicate: str
    arguments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, predicate: _Optional[str] = ..., arguments: _Optional[_Iterable[str]] = ...) -> None: ...

class PlanRequest(_message.Message):
    __slots__ = ("request_id", "instruction", "goals", "world", "capabilities", "planner_budget_s")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_FIELD_NUMBER: _ClassVar[int]
    GOALS_FIELD_NUMBER: _ClassVar[int]
    WORLD_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    PLANNER_BUDGET_S_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    instruction: str
    goals: GoalList
    world: _common_pb2.WorldState
    capabilities: _containers.RepeatedCompositeFieldContainer[_skill_pb2.SkillContract]
    planner_budget_s: float
    def __init__(self, request_id: _Optional[str] = ..., instruction: _Optional[str] = ..., goals: _Optional[_Union[GoalList, _Mapping]] = ..., world: _Optional[_Union[_common_pb2.WorldState, _Mapping]] = ..., capabilities: _Optional[_Iterable[_Union[_skill_pb2.SkillContract, _Mapping]]] = ..., planner_budget_s: _Optional[float] = ...) -> None: ...

class GoalList(_message.Message):
    __slots__ = ("goals",)
    GOALS_FIELD_NUMBER: _ClassVar[int]
    goals: _containers.RepeatedCompositeFieldContainer[Goal]
    def __init__(self, goals: _Optional[_Iterable[_Union[Goal, _Mapping]]] = ...) -> None: ...

class SkillCall(_message.Message):
    __slots__ = ("skill", "arm_group", "arguments")
    SKILL_FIELD_NUMBER: _ClassVar[int]
    ARM_GROUP_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    skill: str
    arm_group: str
    arguments: _containers.RepeatedCompositeFieldContainer[_skill_pb2.SkillArgument]
    def __init__(self, skill: _Optional[str] = ..., arm_group: _Optional[str] = ..., arguments: _Optional[_Iterable[_Union[_skill_pb2.SkillArgument, _Mapping]]] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("steps", "goals")
    STEPS_FIELD_NUMBER: _ClassVar[int]
    GOALS_FIELD_NUMBER: _ClassVar[int]
    steps: _containers.RepeatedCompositeFieldContainer[SkillCall]
    goals: _containers.RepeatedCompositeFieldContainer[Goal]
    def __init__(self, steps: _Optional[_Iterable[_Union[SkillCall, _Mapping]]] = ..., goals: _Optional[_Iterable[_Union[Goal, _Mapping]]] = ...) -> None: ...

class PlanResponse(_message.Message):
    __slots__ = ("request_id", "outcome", "plan", "message", "clarification", "server_timing", "planner")
    class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        OUTCOME_UNSPECIFIED: _ClassVar[PlanResponse.Outcome]
        PLANNED: _ClassVar[PlanResponse.Outcome]
        NEEDS_CLARIFICATION: _ClassVar[PlanResponse.Outcome]
        REFUSED: _ClassVar[PlanResponse.Outcome]
        UNSOLVABLE: _ClassVar[PlanResponse.Outcome]
        ALREADY_SATISFIED: _ClassVar[PlanResponse.Outcome]
    OUTCOME_UNSPECIFIED: PlanResponse.Outcome
    PLANNED: PlanResponse.Outcome
    NEEDS_CLARIFICATION: PlanResponse.Outcome
    REFUSED: PlanResponse.Outcome
    UNSOLVABLE: PlanResponse.Outcome
    ALREADY_SATISFIED: PlanResponse.Outcome
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CLARIFICATION_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIMING_FIELD_NUMBER: _ClassVar[int]
    PLANNER_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    outcome: PlanResponse.Outcome
    plan: Plan
    message: str
    clarification: str
    server_timing: _common_pb2.ServerTiming
    planner: str
    def __init__(self, request_id: _Optional[str] = ..., outcome: _Optional[_Union[PlanResponse.Outcome, str]] = ..., plan: _Optional[_Union[Plan, _Mapping]] = ..., message: _Optional[str] = ..., clarification: _Optional[str] = ..., server_timing: _Optional[_Union[_common_pb2.ServerTiming, _Mapping]] = ..., planner: _Optional[str] = ...) -> None: ...

class ReplanRequest(_message.Message):
    __slots__ = ("request_id", "original", "executed", "failed_step", "failure", "world")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_FIELD_NUMBER: _ClassVar[int]
    FAILED_STEP_FIELD_NUMBER: _ClassVar[int]
    FAILURE_FIELD_NUMBER: _ClassVar[int]
    WORLD_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    original: PlanRequest
    executed: Plan
    failed_step: SkillCall
    failure: str
    world: _common_pb2.WorldState
    def __init__(self, request_id: _Optional[str] = ..., original: _Optional[_Union[PlanRequest, _Mapping]] = ..., executed: _Optional[_Union[Plan, _Mapping]] = ..., failed_step: _Optional[_Union[SkillCall, _Mapping]] = ..., failure: _Optional[str] = ..., world: _Optional[_Union[_common_pb2.WorldState, _Mapping]] = ...) -> None: ...
