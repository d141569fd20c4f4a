"""Cerebellum: the pure (numpy-only, ROS-free) core of the 1 kHz joint controller.

Plain types in, plain types out, explicit monotonic timestamps everywhere:

* :mod:`.limits` - :class:`JointLimits` and the :class:`CommandLimiter` every output passes through;
* :mod:`.interpolation` - :class:`JointTrajectory` and the spline :class:`TrajectorySampler`;
* :mod:`.validation` - :func:`validate_trajectory` / :func:`validate_state` with readable reasons;
* :mod:`.guards` - :class:`TiltGuard`, :class:`EStop`, :class:`StaleSetpointWatchdog`,
  :class:`StateWatchdog`;
* :mod:`.controller` - :class:`Controller` (modes, guard semantics) and :class:`ControllerConfig`.

The ROS node (``node.py``) only converts messages to these types and calls
:meth:`Controller.step` once per control period.
"""

from robot_control.cerebellum.controller import (
    MODES,
    Controller,
    ControllerConfig,
    ControlOutput,
    resolve_gains,
)
from robot_control.cerebellum.guards import (
    EStop,
    StaleSetpointWatchdog,
    StateWatchdog,
    TiltGuard,
    roll_pitch_from_quaternion,
)
from robot_control.cerebellum.interpolation import JointTrajectory, TrajectorySampler, estimate_velocities
from robot_control.cerebellum.limits import CommandLimiter, JointLimits, LimitedCommand
from robot_control.cerebellum.validation import (
    TrajectoryRejected,
    check_trajectory,
    summarize,
    validate_state,
    validate_trajectory,
)

__all__ = [
    "MODES",
    "CommandLimiter",
    "ControlOutput",
    "Controller",
    "ControllerConfig",
    "EStop",
    "JointLimits",
    "JointTrajectory",
    "LimitedCommand",
    "StaleSetpointWatchdog",
    "StateWatchdog",
    "TiltGuard",
    "TrajectoryRejected",
    "TrajectorySampler",
    "check_trajectory",
    "estimate_velocities",
    "resolve_gains",
    "roll_pitch_from_quaternion",
    "summarize",
    "validate_state",
    "validate_trajectory",
]
