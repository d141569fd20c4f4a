"""Plain data exchanged between a driver and the rest of the stack (SI units, REP-103)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class JointStateSample:
    """Measured joint state; arrays are ordered like `names`. rad, rad/s, N·m."""

    names: tuple[str, ...]
    position: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray
    stamp: float  # seconds on the driver's clock (sim time for a simulator)


@dataclass
class ImuSample:
    """Orientation as a unit quaternion (x, y, z, w) of the IMU frame in the world."""

    frame_id: str
    orientation: np.ndarray  # (4,) x, y, z, w
    angular_velocity: np.ndarray  # (3,) rad/s in the IMU frame
    linear_acceleration: np.ndarray  # (3,) m/s^2 in the IMU frame, gravity included
    stamp: float


@dataclass
class ObjectPose:
    """Ground-truth (simulation) or perceived pose of a named object, world frame."""

    name: str
    position: np.ndarray  # (3,) m
    orientation: np.ndarray  # (4,) x, y, z, w
    frame_id: str = "world"
    size: np.ndarray | None = None  # (3,) full extents in m, when known


@dataclass
class RobotState:
    joints: JointStateSample
    imu: ImuSample | None = None
    objects: list[ObjectPose] = field(default_factory=list)
    #: Pose of the robot's base frame in the world, where the body knows it (simulation ground
    #: truth, or a localisation estimate); published on /base_pose.
    base_pose: ObjectPose | None = None


@dataclass
class JointCommand:
    """Position targets for a subset of joints, with optional feed-forward terms."""

    names: tuple[str, ...]
    position: np.ndarray
    velocity: np.ndarray | None = None
    effort: np.ndarray | None = None
