from robot_control.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SkillArgument(_message.Message):
    __slots__ = ("name", "symbol", "number", "pose")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    POSE_FIELD_NUMBER: _ClassVar[int]
    name: str
    symbol: str
    number: float
    pose: _common_pb2.Pose
    def __init__(self, name: _Optional[str] = ..., symbol: _Optional[str] = ..., number: _Optional[float] = ..., pose: _Optional[_Union[_common_pb2.Pose, _Mapping]] = ...) -> None: ...

class SymbolicCondition(_message.Message):
    __slots__ = ("predicate", "arguments", "negated")
    PREDICATE_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    NEGATED_FIELD_NUMBER: _ClassVar[int]
    predicate: str
    arguments: _containers.RepeatedScalarFieldContainer[str]
    negated: bool
    def __init__(self, predicate: _Optional[str] = ..., arguments: _Optional[_Iterable[str]] = ..., negated: _Optional[bool] = ...) -> None: ...

class SkillContract(_message.Message):
    __slots__ = ("name", "version", "embodiments", "action_space", "control_rate_hz", "max_duration_s", "parameters", "preconditions", "add_effects", "delete_effects", "model_sha256", "manifest_yaml", "evaluation")
    class EvaluationEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EMBODIMENTS_FIELD_NUMBER: _ClassVar[int]
    ACTION_SPACE_FIELD_NUMBER: _ClassVar[int]
    CONTROL_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_S_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    PRECONDITIONS_FIELD_NUMBER: _ClassVar[int]
    ADD_EFFECTS_FIELD_NUMBER: _ClassVar[int]
    DELETE_EFFECTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_SHA256_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_YAML_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    embodiments: _containers.RepeatedScalarFieldContainer[str]
    action_space: str
    control_rate_hz: float
    max_duration_s: float
    parameters: _containers.RepeatedScalarFieldContainer[str]
    preconditions: _containers.RepeatedCompositeFieldContainer[SymbolicCondition]
    add_effects: _containers.RepeatedCompositeFieldContainer[SymbolicCondition]
    delete_effects: _containers.RepeatedCompositeFieldContainer[SymbolicCondition]
    model_sha256: str
    manifest_yaml: str
    evaluation: _containers.ScalarMap[str, float]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., embodiments: _Optional[_Iterable[str]] = ..., action_space: _Optional[str] = ..., control_rate_hz: _Optional[float] = ..., max_duration_s: _Optional[float] = ..., parameters: _Optional[_Iterable[str]] = ..., preconditions: _Optional[_Iterable[_Union[SymbolicCondition, _Mapping]]] = ..., add_effects: _Optional[_Iterable[_Union[SymbolicCondition, _Mapping]]] = ..., delete_effects: _Optional[_Iterable[_Union[SymbolicCondition, _Mapping]]] = ..., model_sha256: _Optional[str] = ..., manifest_yaml: _Optional[str] = ..., evaluation: _Optional[_Mapping[str, float]] = ...) -> None: ...

class ListSkillsRequest(_message.Message):
    __slots__ = ("embodiment",)
    EMBODIMENT_FIELD_NUMBER: _ClassVar[int]
    embodiment: str
    def __init__(self, embodiment: _Optional[str] = ...) -> None: ...

class ListSkillsResponse(_message.Message):
    __slots__ = ("skills", "rejected")
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    skills: _containers.RepeatedCompositeFieldContainer[SkillContract]
    rejected: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, skills: _Optional[_Iterable[_Union[SkillContract, _Mapping]]] = ..., rejected: _Optional[_Iterable[str]] = ...) -> None: ...

class ExecuteSkillRequest(_message.Message):
    __slots__ = ("request_id", "skill", "arm_group", "arguments", "timeout_s", "preempt")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    ARM_GROUP_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    PREEMPT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    skill: str
    arm_group: str
    arguments: _containers.RepeatedCompositeFieldContainer[SkillArgument]
    timeout_s: float
    preempt: bool
    def __init__(self, request_id: _Optional[str] = ..., skill: _Optional[str] = ..., arm_group: _Optional[str] = ..., arguments: _Optional[_Iterable[_Union[SkillArgument, _Mapping]]] = ..., timeout_s: _Optional[float] = ..., preempt: _Optional[bool] = ...) -> None: ...

class SkillProgress(_message.Message):
    __slots__ = ("request_id", "skill", "phase", "sub_phase", "progress", "elapsed_s", "message", "server_timing", "world")
    class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PHASE_UNSPECIFIED: _ClassVar[SkillProgress.Phase]
        ACCEPTED: _ClassVar[SkillProgress.Phase]
        RUNNING: _ClassVar[SkillProgress.Phase]
        SUCCEEDED: _ClassVar[SkillProgress.Phase]
        FAILED: _ClassVar[SkillProgress.Phase]
        TIMED_OUT: _ClassVar[SkillProgress.Phase]
        CANCELED: _ClassVar[SkillProgress.Phase]
        PREEMPTED: _ClassVar[SkillProgress.Phase]
    PHASE_UNSPECIFIED: SkillProgress.Phase
    ACCEPTED: SkillProgress.Phase
    RUNNING: SkillProgress.Phase
    SUCCEEDED: SkillProgress.Phase
    FAILED: SkillProgress.Phase
    TIMED_OUT: SkillProgress.Phase
    CANCELED: SkillProgress.Phase
    PREEMPTED: SkillProgress.Phase
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    SUB_PHASE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_S_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIMING_FIELD_NUMBER: _ClassVar[int]
    WORLD_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    skill: str
    phase: SkillProgress.Phase
    sub_phase: str
    progress: float
    elapsed_s: float
    message: str
    server_timing: _common_pb2.ServerTiming
    world: _common_pb2.WorldState
    def __init__(self, request_id: _Optional[str] = ..., skill: _Optional[str] = ..., phase: _Optional[_Union[SkillProgress.Phase, str]] = ..., sub_phase: _Optional[str] = ..., progress: _Optional[float] = ..., elapsed_s: _Optional[float] = ..., message: _Optional[str] = ..., server_timing: _Optional[_Union[_common_pb2.ServerTiming, _Mapping]] = ..., world: _Optional[_Union[_common_pb2.WorldState, _Mapping]] = ...) -> None: ...
