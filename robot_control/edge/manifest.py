"""Skill manifests: the declared contract of one learned skill, validated on load.

A manifest is a YAML file in `config/skills/` next to its ONNX model (`config/skills/models/`).
It says everything a planner, an operator and the edge runtime need to know about a skill
without opening the model:

    schema: robot_control/skill-manifest/1
    name: reach                      # skill name, the planner's action name
    version: 1.0.0
    description: ...
    embodiments: [g1, panda]         # robots this model runs on (same file for all of them)
    parameters: [arm:arm, object:object]
    preconditions: ["hand_empty(arm)"]           # symbolic, for the planner
    add_effects: ["near(arm, object)"]
    delete_effects: []
    goal: pregrasp                   # task-space goal point the observation refers to
    control_rate_hz: 50
    max_duration_s: 10
    gripper_max_rate: 2.5            # optional: the runtime ramps the gripper command (1/s)
    observation:                     # model input, in this order
      dtype: float32
      signals:
        - {name: object_minus_ee, size: 3, frame: world, unit: m}
      normalisation: {mean: [...], std: [...], in_model: true}
    action:                          # model output, in this order
      space: task_space              # task_space | joint_space
      signals:
        - {name: ee_delta, size: 3, frame: world, unit: m, low: -0.008, high: 0.008}
    success: [{check: ee_near_goal, tolerance: 0.015}]     # evaluated by the edge runtime
    failure: [{check: object_dropped, height: 0.03}]
    model: {file: models/reach.onnx, sha256: <hex>, input: observation, output: action}
    provenance:                      # how it was made and how well it did
      dataset: {...}
      seed: 0
      training: {...}
      evaluation: {g1: {episodes: 50, success_rate: 0.96}, panda: {...}}

The ONNX file carries the same manifest (minus `model.sha256`, which cannot be inside the
file it hashes) as JSON in its metadata under `METADATA_KEY`; the edge refuses a model whose
interface fields (INTERFACE_KEYS) disagree with the YAML, whose sha256 differs, or whose
input/output shapes differ from the declared signal sizes.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from robot_control.common.config import ConfigError, Section, read_yaml

SCHEMA = "robot_control/skill-manifest/1"
METADATA_KEY = "robot_control.skill_manifest"
# Fields that define how the model is called; YAML and ONNX metadata must agree on them.
INTERFACE_KEYS = ("name", "version", "embodiments", "goal", "control_rate_hz", "observation", "action")
ACTION_SPACES = ("task_space", "joint_space")
_COND = re.compile(r"^\s*(not\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*([A-Za-z0-9_,\s]*)\)\s*$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class Condition:
    """A symbolic condition over the skill's parameters, e.g. `not hand_empty(arm)`."""

    predicate: str
    arguments: tuple[str, ...]
    negated: bool = False

    def __str__(self) -> str:
        text = f"{self.predicate}({', '.join(self.arguments)})"
        return f"not {text}" if self.negated else text


@dataclass(frozen=True)
class Signal:
    name: str
    size: int
    frame: str = ""
    unit: str = ""
    low: tuple[float, ...] | None = None  # per-element bounds (actions)
    high: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Check:
    """A success or failure condition evaluated by the edge runtime from its observations."""

    check: str
    params: dict[str, float | str]


@dataclass(frozen=True)
class SkillManifest:
    name: str
    version: str
    description: str
    embodiments: tuple[str, ...]
    parameters: tuple[str, ...]  # "name:type"
    preconditions: tuple[Condition, ...]
    add_effects: tuple[Condition, ...]
    delete_effects: tuple[Condition, ...]
    goal: str
    control_rate_hz: float
    max_duration_s: float
    observation: tuple[Signal, ...]
    obs_mean: tuple[float, ...]
    obs_std: tuple[float, ...]
    normalisation_in_model: bool
    action_space: str
    action: tuple[Signal, ...]
    success: tuple[Check, ...]
    failure: tuple[Check, ...]
    model_file: str
    model_sha256: str
    model_input: str
    model_output: str
    # The runtime ramps the gripper command at most this fast (1/s; None: no limit). Policies
    # trained on ramp targets (training LABEL_TRANSFORMS) output the ramp's end at once; executed
    # at the demonstrations' ramp rate, the hand moves as it did when their data was recorded.
    gripper_max_rate: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None  # the YAML file it was loaded from
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # the validated mapping

    @property
    def obs_dim(self) -> int:
        return sum(s.size for s in self.observation)

    @property
    def act_dim(self) -> int:
        return sum(s.size for s in self.action)

    @property
    def action_low(self) -> tuple[float, ...]:
        return tuple(v for s in self.action for v in (s.low or (float("-inf"),) * s.size))

    @property
    def action_high(self) -> tuple[float, ...]:
        return tuple(v for s in self.action for v in (s.high or (float("inf"),) * s.size))

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.split(":", 1)[0] for p in self.parameters)

    def model_path(self) -> Path:
        base = self.source.parent if self.source is not None else Path.cwd()
        return (base / self.model_file).resolve()

    def evaluation(self) -> dict[str, float]:
        """Flat success rates per embodiment, e.g. {"g1": 0.96}, for ListSkills."""
        out: dict[str, float] = {}
        for robot, result in (self.provenance.get("evaluation") or {}).items():
            if isinstance(result, dict) and isinstance(result.get("success_rate"), (int, float)):
                out[str(robot)] = float(result["success_rate"])
        return out

    def interface(self) -> dict[str, Any]:
        return {k: self.raw.get(k) for k in INTERFACE_KEYS}

    def metadata_json(self) -> str:
        """The manifest as embedded in the ONNX file (without the model's own hash)."""
        data = copy.deepcopy(self.raw)
        data.get("model", {}).pop("sha256", None)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))


def parse_condition(text: Any, where: str, params: tuple[str, ...]) -> Condition:
    if not isinstance(text, str):
        raise ConfigError(f"{where}: expected a condition like 'near(arm, object)', got {text!r}")
    m = _COND.match(text)
    if not m:
        raise ConfigError(f"{where}: cannot parse condition {text!r} (expected 'pred(a, b)' or 'not pred(a)')")
    args = tuple(a.strip() for a in m.group(3).split(",") if a.strip())
    unknown = [a for a in args if a not in params]
    if unknown:
        raise ConfigError(f"{where}: {text!r} uses {', '.join(unknown)}, not among the skill's parameters "
                          f"({', '.join(params) or 'none'})")
    return Condition(m.group(2), args, bool(m.group(1)))


def _signals(sec: Section, key: str, with_bounds: bool) -> tuple[Signal, ...]:
    items = sec.list(key)
    if not items:
        raise ConfigError(f"{sec._path(key)}: at least one signal is required")
    out: list[Signal] = []
    for i, item in enumerate(items):
        s = Section(item, sec.item(key, i))
        name = s.str("name")
        size = s.integer("size", minimum=1)
        low = high = None
        if with_bounds:
            low = _bounds(s, "low", size)
            high = _bounds(s, "high", size)
            if low is not None and high is not None and any(lo > hi for lo, hi in zip(low, high, strict=True)):
                raise ConfigError(f"{s.where}: low must be <= high")
        out.append(Signal(name, size, s.str("frame", ""), s.str("unit", ""), low, high))
        s.done()
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise ConfigError(f"{sec._path(key)}: duplicate signal names in {names}")
    return tuple(out)


def _bounds(s: Section, key: str, size: int) -> tuple[float, ...] | None:
    if not s.has(key):
        return None
    value = s.raw(key)
    values = value if isinstance(value, list) else [value] * size
    if len(values) != size:
        raise ConfigError(f"{s._path(key)}: expected {size} values, got {len(values)}")
    try:
        return tuple(float(Section({"v": v}, s._path(key)).number("v")) for v in values)
    except ConfigError:
        raise ConfigError(f"{s._path(key)}: expected finite numbers, got {value!r}") from None


def _checks(sec: Section, key: str) -> tuple[Check, ...]:
    out = []
    for i, item in enumerate(sec.list(key, [])):
        if not isinstance(item, dict) or not isinstance(item.get("check"), str):
            raise ConfigError(f"{sec.item(key, i)}: expected a mapping with a 'check' name, got {item!r}")
        params = {k: v for k, v in item.items() if k != "check"}
        for k, v in params.items():
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise ConfigError(f"{sec.item(key, i)}.{k}: expected a number or a name, got {v!r}")
        out.append(Check(item["check"], {k: (float(v) if not isinstance(v, str) else v) for k, v in params.items()}))
    return tuple(out)


def manifest_from_dict(data: dict[str, Any], where: str, source: Path | None = None) -> SkillManifest:
    top = Section(data, where)
    schema = top.str("schema")
    if schema != SCHEMA:
        raise ConfigError(f"{where} schema: expected {SCHEMA!r}, got {schema!r}")
    name = top.str("name")
    if not _NAME.match(name):
        raise ConfigError(f"{where} name: {name!r} must be lower_snake_case")
    version = top.str("version")
    if not _VERSION.match(version):
        raise ConfigError(f"{where} version: {version!r} is not MAJOR.MINOR.PATCH")
    embodiments = tuple(top.str_list("embodiments"))
    if not embodiments:
        raise ConfigError(f"{where} embodiments: at least one robot is required")
    parameters = tuple(top.str_list("parameters", []))
    for i, p in enumerate(parameters):
        if p.count(":") != 1 or not all(p.split(":")):
            raise ConfigError(f"{top.item('parameters', i)}: expected 'name:type', got {p!r}")
    pnames = tuple(p.split(":")[0] for p in parameters)

    def conds(key: str) -> tuple[Condition, ...]:
        return tuple(parse_condition(c, top.item(key, i), pnames) for i, c in enumerate(top.list(key, [])))

    pre, add, dele = conds("preconditions"), conds("add_effects"), conds("delete_effects")
    obs = top.section("observation")
    if obs.choice("dtype", ("float32",), "float32") != "float32":  # pragma: no cover - choice enforces
        raise ConfigError(f"{obs.where}: dtype must be float32")
    observation = _signals(obs, "signals", with_bounds=False)
    dim = sum(s.size for s in observation)
    norm = obs.section("normalisation", {})
    mean = tuple(float(v) for v in norm.list("mean", [0.0] * dim))
    std = tuple(float(v) for v in norm.list("std", [1.0] * dim))
    in_model = norm.boolean("in_model", True)
    norm.done()
    if len(mean) != dim or len(std) != dim:
        raise ConfigError(f"{obs.where}.normalisation: mean/std must have {dim} values "
                          f"(the observation size), got {len(mean)}/{len(std)}")
    if any(s <= 0 for s in std):
        raise ConfigError(f"{obs.where}.normalisation.std: all values must be > 0")
    obs.done()
    act = top.section("action")
    space = act.choice("space", ACTION_SPACES)
    action = _signals(act, "signals", with_bounds=True)
    act.done()
    model = top.section("model")
    model_file = model.str("file")
    sha = model.str("sha256", "")
    if sha and not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise ConfigError(f"{model.where}.sha256: expected 64 lowercase hex digits, got {sha!r}")
    model_input = model.str("input", "observation")
    model_output = model.str("output", "action")
    model.done()
    provenance = top.mapping("provenance", {})
    manifest = SkillManifest(
        name=name, version=version, description=top.str("description", ""), embodiments=embodiments,
        parameters=parameters, preconditions=pre, add_effects=add, delete_effects=dele,
        goal=top.str("goal"), control_rate_hz=top.number("control_rate_hz", positive=True, maximum=1000.0),
        max_duration_s=top.number("max_duration_s", positive=True),
        observation=observation, obs_mean=mean, obs_std=std, normalisation_in_model=in_model,
        action_space=space, action=action, success=_checks(top, "success"), failure=_checks(top, "failure"),
        model_file=model_file, model_sha256=sha, model_input=model_input, model_output=model_output,
        gripper_max_rate=top.number("gripper_max_rate", None, positive=True),
        provenance=provenance, source=source, raw=copy.deepcopy(dict(data)))
    if not manifest.success:
        raise ConfigError(f"{where} success: at least one success check is required")
    top.done()
    return manifest


def load_manifest(path: str | Path) -> SkillManifest:
    path = Path(path)
    return manifest_from_dict(read_yaml(path), f"{path}:", source=path.resolve())


def manifest_to_yaml(manifest: SkillManifest | dict[str, Any]) -> str:
    data = manifest.raw if isinstance(manifest, SkillManifest) else manifest
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110)


def write_manifest(data: dict[str, Any], path: str | Path) -> SkillManifest:
    """Validate `data` and write it as YAML; returns the loaded manifest."""
    path = Path(path)
    manifest_from_dict(data, f"{path}:", source=path.resolve())  # validate before writing
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# Skill manifest ({SCHEMA}); written by robot-control train.\n" + manifest_to_yaml(data),
                    encoding="utf-8")
    return load_manifest(path)


def to_contract(manifest: SkillManifest) -> Any:
    """The manifest as the gRPC `SkillContract` (proto/robot_control/v1/skill.proto)."""
    from robot_control.v1 import skill_pb2

    def conds(items: tuple[Condition, ...]) -> list[Any]:
        return [skill_pb2.SymbolicCondition(predicate=c.predicate, arguments=list(c.arguments),
                                            negated=c.negated) for c in items]

    return skill_pb2.SkillContract(
        name=manifest.name, version=manifest.version, embodiments=list(manifest.embodiments),
        action_space=manifest.action_space, control_rate_hz=manifest.control_rate_hz,
        max_duration_s=manifest.max_duration_s, parameters=list(manifest.parameters),
        preconditions=conds(manifest.preconditions), add_effects=conds(manifest.add_effects),
        delete_effects=conds(manifest.delete_effects), model_sha256=manifest.model_sha256,
        manifest_yaml=manifest_to_yaml(manifest), evaluation=manifest.evaluation())
