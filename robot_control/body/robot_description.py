"""Robot descriptions: joints, limits, gains, groups and named postures (config/robots/*.yaml).

    robot: g1
    description: Unitree G1 with Dex3 hands
    base_frame: pelvis
    imu_frame: imu_in_pelvis        # omit for robots without an IMU
    control_rate_hz: 1000
    default_gains: {kp: 100.0, kd: 5.0}
    joints:
      - {name: left_hip_pitch_joint, lower: -2.53, upper: 2.88, velocity: 32.0,
         acceleration: 200.0, effort: 88.0, kp: 150.0, kd: 4.0}
    groups:
      left_leg: [left_hip_pitch_joint, ...]
    postures:
      stand: {left_hip_pitch_joint: -0.1}   # joints not named keep 0.0

Units: rad, rad/s, rad/s², N·m (REP-103).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robot_control import paths
from robot_control.common.config import ConfigError, Section, read_yaml


@dataclass(frozen=True)
class JointSpec:
    name: str
    lower: float
    upper: float
    velocity: float
    acceleration: float
    effort: float
    kp: float
    kd: float


@dataclass(frozen=True)
class RobotDescription:
    name: str
    joints: tuple[JointSpec, ...]
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    postures: dict[str, dict[str, float]] = field(default_factory=dict)
    base_frame: str = "base_link"
    imu_frame: str | None = None
    control_rate_hz: float = 1000.0
    description: str = ""
    source: Path | None = None

    @property
    def joint_names(self) -> tuple[str, ...]:
        return tuple(j.name for j in self.joints)

    def index(self, joint: str) -> int:
        for i, j in enumerate(self.joints):
            if j.name == joint:
                return i
        raise KeyError(f"{self.name}: unknown joint {joint!r}")

    def array(self, attr: str) -> np.ndarray:
        return np.array([getattr(j, attr) for j in self.joints], dtype=float)

    def posture(self, name: str) -> np.ndarray:
        """Full joint vector for a named posture (joints it does not name stay 0, clipped to limits)."""
        if name not in self.postures:
            raise KeyError(f"{self.name}: no posture named {name!r} (have: {', '.join(self.postures) or 'none'})")
        q = np.zeros(len(self.joints))
        for joint, value in self.postures[name].items():
            q[self.index(joint)] = value
        return np.clip(q, self.array("lower"), self.array("upper"))

    def group(self, name: str) -> tuple[str, ...]:
        if name not in self.groups:
            raise KeyError(f"{self.name}: no joint group named {name!r} (have: {', '.join(self.groups)})")
        return self.groups[name]


def parse_robot(data: dict, *, source: Path | None = None) -> RobotDescription:
    where = f"{source}:" if source else "robot:"
    top = Section(data, where)
    name = top.str("robot")
    gains = top.section("default_gains", {})
    default_kp = gains.number("kp", 100.0, minimum=0.0)
    default_kd = gains.number("kd", 5.0, minimum=0.0)
    gains.done()
    joints: list[JointSpec] = []
    names: set[str] = set()
    raw_joints = top.list("joints")
    if not raw_joints:
        raise ConfigError(f"{where} joints: a robot needs at least one joint")
    for i, raw in enumerate(raw_joints):
        s = Section(raw, top.item("joints", i))
        joint = JointSpec(
            name=s.str("name"),
            lower=s.number("lower"),
            upper=s.number("upper"),
            velocity=s.number("velocity", positive=True),
            acceleration=s.number("acceleration", 100.0, positive=True),
            effort=s.number("effort", positive=True),
            kp=s.number("kp", default_kp, minimum=0.0),
            kd=s.number("kd", default_kd, minimum=0.0),
        )
        s.done()
        if joint.lower >= joint.upper:
            raise ConfigError(f"{s.where}: lower ({joint.lower}) must be below upper ({joint.upper})")
        if joint.name in names:
            raise ConfigError(f"{s.where}.name: duplicate joint {joint.name!r}")
        names.add(joint.name)
        joints.append(joint)

    groups: dict[str, tuple[str, ...]] = {}
    for group, members in top.mapping("groups", {}).items():
        if not isinstance(members, list) or not members:
            raise ConfigError(f"{where} groups.{group}: expected a non-empty list of joint names")
        unknown = [m for m in members if m not in names]
        if unknown:
            raise ConfigError(f"{where} groups.{group}: unknown joint(s): {', '.join(map(str, unknown))}")
        groups[str(group)] = tuple(members)

    by_name = {j.name: j for j in joints}
    postures: dict[str, dict[str, float]] = {}
    for posture, values in top.mapping("postures", {}).items():
        if not isinstance(values, dict):
            raise ConfigError(f"{where} postures.{posture}: expected a mapping joint -> position")
        clean: dict[str, float] = {}
        for joint, value in values.items():
            key = f"{where} postures.{posture}.{joint}"
            if joint not in by_name:
                raise ConfigError(f"{key}: unknown joint")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ConfigError(f"{key}: expected a finite number, got {value!r}")
            spec = by_name[joint]
            if not spec.lower <= value <= spec.upper:
                raise ConfigError(f"{key}: {value} outside the joint's limits [{spec.lower}, {spec.upper}]")
            clean[str(joint)] = float(value)
        postures[str(posture)] = clean

    robot = RobotDescription(
        name=name,
        joints=tuple(joints),
        groups=groups,
        postures=postures,
        base_frame=top.str("base_frame", "base_link"),
        imu_frame=top.str("imu_frame", None),
        control_rate_hz=top.number("control_rate_hz", 1000.0, positive=True),
        description=top.raw("description", "") or "",
        source=source,
    )
    top.done()
    return robot


def load_robot(name_or_path: str | Path) -> RobotDescription:
    """Load `config/robots/<name>.yaml`, or a description file by path."""
    candidate = Path(name_or_path)
    if candidate.suffix not in (".yaml", ".yml"):
        candidate = paths.config_path("robots", f"{name_or_path}.yaml")
        if not candidate.is_file():
            known = sorted(p.stem for p in paths.config_path("robots").glob("*.yaml"))
            raise ConfigError(f"unknown robot {str(name_or_path)!r}; known robots: {', '.join(known) or 'none'}")
    candidate = paths.resolve(candidate)
    return parse_robot(read_yaml(candidate), source=candidate)
