"""Success and failure checks of edge skills, evaluated from the runtime's observations only.

A manifest lists its conditions by name with parameters (see `edge/manifest.py`):

    success: [{check: ee_near_goal, tolerance: 0.015}, {check: gripper_closed, min: 0.3}]
    failure: [{check: object_dropped, tolerance: 0.04}]

Every check reads a `CheckInputs`: the measured ee point (FK of /joint_states), the goal point,
the object's pose from /objects, the measured gripper closure, and the values of those at
skill start. Nothing reads simulator internals (contacts, forces), so the same checks run on
hardware with perceived object poses.

Success checks (all must hold, for the runtime's hold time):
    ee_near_goal      {tolerance}                   |goal - ee| <= tolerance
    gripper_closed    {min}                         measured closure (0 open .. 1 closed) >= min
    gripper_open      {max}                         measured closure <= max
    object_near_ee    {tolerance}                   |object - ee| <= tolerance
    object_raised     {height}                      object z - object z at skill start >= height
    object_in_region  {region, margin=0,            object centre inside the region's xy footprint
                       min_height=-inf,             shrunk by margin; optionally its height above the
                       max_height=+inf}             region's base (e.g. the bin floor) within bounds.
                                                    region: a skill parameter naming a location
                                                    (e.g. `to`), or a literal location name (`bin`)
Failure checks (any one ends the skill as FAILED):
    object_dropped    {tolerance} or {height}       the object left the hand: its offset from the ee
                                                    changed by > tolerance (3-D) / fell > height (z)
                                                    relative to the offset at skill start
    object_moved      {tolerance}                   |object - object at skill start| > tolerance

An unknown check name, a missing/unknown parameter or a check in the wrong list is a
`CheckError`; the edge then rejects the skill at load with that reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from robot_control.edge.manifest import Check, SkillManifest


class CheckError(ValueError):
    """A manifest's check list cannot be evaluated; the message says which check and why."""


@dataclass(frozen=True)
class Region:
    """A location's footprint: centre of its base (e.g. the bin floor) and full extents."""

    center: np.ndarray  # (3,) world
    size: np.ndarray  # (3,) x, y extents and height

    def contains_xy(self, p: np.ndarray, margin: float = 0.0) -> bool:
        half = np.asarray(self.size[:2], dtype=float) / 2.0 - margin
        return bool(np.all(np.abs(np.asarray(p[:2]) - self.center[:2]) <= half))


@dataclass
class CheckInputs:
    """What a check may look at (world frame, metres)."""

    ee: np.ndarray  # measured ee point
    goal: np.ndarray  # the skill's goal point (fixed at skill start)
    obj: np.ndarray  # object centre now
    gripper: float  # measured closure 0..1
    ee0: np.ndarray  # ee at skill start
    obj0: np.ndarray  # object centre at skill start
    regions: Mapping[str, Region] = field(default_factory=dict)  # region name -> footprint


@dataclass(frozen=True)
class CheckDef:
    kind: str  # "success" | "failure"
    required: tuple[str, ...]  # parameter names (at least one of `one_of` if given)
    optional: Mapping[str, float | str]  # parameter -> default
    fn: Callable[[CheckInputs, Mapping[str, float | str]], tuple[bool, float]]
    one_of: tuple[str, ...] = ()  # exactly one of these parameters is required
    strings: tuple[str, ...] = ()  # parameters that are names, not numbers


def _norm(v: np.ndarray) -> float:
    return float(np.linalg.norm(v))


def _ee_near_goal(x: CheckInputs, p: Mapping[str, float | str]) -> tuple[bool, float]:
    d = _norm(x.goal - x.ee)
    return d <= float(p["tolerance"]), d


def _gripper_closed(x: CheckInputs, p: Mapping[str, float | str]) -> tuple[bool, float]:
    return x.gripper >= float(p["min"]), x.gripper


def _gripper_open(x: CheckInputs, p: Mapping[str, float | str]) -> tuple[bool, float]:
    return x.gripper <= float(p["max"]), x.gripper


def _object_near_ee(x: CheckInputs, p: Mapping[str, float | str]) -> tuple[bool, float]:
    d = _norm(x.obj - x.ee)
    return d <= float(p["tolerance"]), d


def _object_raised(x: CheckInputs, p: Mapping[str, float | str]) -> tuple[bool, float]:
    dz = float(x.obj[2] - x.obj0[2])
    return dz >= float(p["height"]), dz


def _object_in_region(x: CheckInputs, p: Mapping[str, float | str]) -> tuple[bool, float]:
    region = x.regions.get(str(p["region"]))
    if region is None:
        return False, math.inf
    inside = region.contains_xy(x.obj, float(p["margin"]))
    h = float(x.obj[2] - region.center[2])
    ok = inside and float(p["min_height"]) <= h <= float(p["max_height"])
    return ok, _norm(x.obj[:2] - region.center[:2])


def _object_dropped(x: CheckInputs, p: Mapping[str, float | str]) -> tuple[bool, float]:
    shift = (x.obj - x.ee) - (x.obj0 - x.ee0)
    if "height" in p:
        fall = float(-shift[2])
        return fall > float(p["height"]), fall
    d = _norm(shift)
    return d > float(p["tolerance"]), d


def _object_moved(x: CheckInputs, p: Mapping[str, float | str]) -> tuple[bool, float]:
    d = _norm(x.obj - x.obj0)
    return d > float(p["tolerance"]), d


CHECKS: dict[str, CheckDef] = {
    "ee_near_goal": CheckDef("success", ("tolerance",), {}, _ee_near_goal),
    "gripper_closed": CheckDef("success", ("min",), {}, _gripper_closed),
    "gripper_open": CheckDef("success", ("max",), {}, _gripper_open),
    "object_near_ee": CheckDef("success", ("tolerance",), {}, _object_near_ee),
    "object_raised": CheckDef("success", ("height",), {}, _object_raised),
    "object_in_region": CheckDef("success", ("region",),
                                 {"margin": 0.0, "min_height": -math.inf, "max_height": math.inf},
                                 _object_in_region, strings=("region",)),
    "object_dropped": CheckDef("failure", (), {}, _object_dropped, one_of=("tolerance", "height")),
    "object_moved": CheckDef("failure", ("tolerance",), {}, _object_moved),
}


@dataclass(frozen=True)
class BoundCheck:
    """One validated check with its parameters (defaults filled in)."""

    name: str
    kind: str
    params: Mapping[str, float | str]
    fn: Callable[[CheckInputs, Mapping[str, float | str]], tuple[bool, float]]

    @property
    def region(self) -> str | None:
        """The region name this check refers to (a parameter name or a location), if any."""
        value = self.params.get("region")
        return str(value) if value is not None else None

    def evaluate(self, inputs: CheckInputs) -> tuple[bool, float]:
        """(condition holds, the measured value it compared)."""
        return self.fn(inputs, self.params)

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params.items() if not _is_default(self.name, k, v))
        return f"{self.name}({args})"


def _is_default(name: str, key: str, value: float | str) -> bool:
    default = CHECKS[name].optional.get(key)
    return default is not None and default == value


def bind_check(check: Check, kind: str, where: str) -> BoundCheck:
    """Validate one manifest check for the `kind` list ("success" or "failure")."""
    known = ", ".join(sorted(CHECKS))
    spec = CHECKS.get(check.check)
    if spec is None:
        raise CheckError(f"{where}: unknown check {check.check!r} (known: {known})")
    if spec.kind != kind:
        raise CheckError(f"{where}: {check.check} is a {spec.kind} check; it cannot be a {kind} condition")
    allowed = set(spec.required) | set(spec.optional) | set(spec.one_of)
    unknown = sorted(set(check.params) - allowed)
    if unknown:
        raise CheckError(f"{where}: {check.check} has unknown parameter(s) {', '.join(unknown)} "
                         f"(takes {', '.join(sorted(allowed))})")
    missing = [k for k in spec.required if k not in check.params]
    if missing:
        raise CheckError(f"{where}: {check.check} needs parameter(s) {', '.join(missing)}")
    if spec.one_of and sum(k in check.params for k in spec.one_of) != 1:
        raise CheckError(f"{where}: {check.check} needs exactly one of {', '.join(spec.one_of)}")
    params: dict[str, float | str] = dict(spec.optional)
    for key, value in check.params.items():
        if key in spec.strings:
            if not isinstance(value, str) or not value:
                raise CheckError(f"{where}: {check.check}.{key} must be a name, got {value!r}")
        elif isinstance(value, str) or not math.isfinite(float(value)):
            raise CheckError(f"{where}: {check.check}.{key} must be a finite number, got {value!r}")
        params[key] = value
    return BoundCheck(check.check, kind, params, spec.fn)


@dataclass(frozen=True)
class SkillChecks:
    success: tuple[BoundCheck, ...]
    failure: tuple[BoundCheck, ...]

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.region for c in self.success + self.failure if c.region))

    def evaluate(self, inputs: CheckInputs) -> CheckResult:
        met = [c.evaluate(inputs)[0] for c in self.success]
        failed = next((c for c in self.failure if c.evaluate(inputs)[0]), None)
        return CheckResult(all(met), tuple(c for c, ok in zip(self.success, met, strict=True) if not ok), failed)


@dataclass(frozen=True)
class CheckResult:
    success: bool  # every success check holds now
    unmet: tuple[BoundCheck, ...]  # success checks not (yet) holding
    failed: BoundCheck | None  # the first failure check that fired


def compile_checks(manifest: SkillManifest) -> SkillChecks:
    """Bind a manifest's success/failure lists; raises CheckError with the manifest's file."""
    where = str(manifest.source.name) if manifest.source is not None else manifest.name
    success = tuple(bind_check(c, "success", f"{where} success[{i}]") for i, c in enumerate(manifest.success))
    failure = tuple(bind_check(c, "failure", f"{where} failure[{i}]") for i, c in enumerate(manifest.failure))
    if not success:
        raise CheckError(f"{where}: at least one success check is required")
    return SkillChecks(success, failure)


def describe(checks: Sequence[BoundCheck]) -> str:
    return ", ".join(str(c) for c in checks)
