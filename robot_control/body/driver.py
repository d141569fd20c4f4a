"""The driver contract every body implements, real hardware or simulation.

A driver owns one robot. The body node calls it from a single thread:

    driver = DriverClass(robot, options)   # cheap: no I/O yet
    driver.configure()                     # open connections / load models; may fail
    driver.activate()                      # start streaming; robot holds its current pose
    loop at driver.rate_hz:
        state = driver.read()              # latest measured state (never blocks long)
        driver.write(command)              # position targets (+ optional feed-forward)
    driver.deactivate()                    # stop accepting commands; robot holds
    driver.shutdown()                      # release everything

Drivers are discovered through the `robot_control.drivers` entry-point group, so a
separate package can add one without changing robot_control (see README, "Adding a driver").

Simulated drivers may also implement the optional test hooks `apply_wrench` (push the
robot, /sim/push on the body node) and `reset_simulation` (/sim/reset); the defaults raise
DriverError, which the body node reports as a rejection.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from robot_control.body.robot_description import RobotDescription
from robot_control.body.types import JointCommand, RobotState


class DriverError(RuntimeError):
    """A driver could not do what was asked; the message says what to fix."""


class Driver(abc.ABC):
    """Base class for body drivers. Subclasses set `name` and implement the abstract methods."""

    name: ClassVar[str] = ""
    #: True for drivers whose time is simulated: the body node then publishes /clock.
    simulated: ClassVar[bool] = False

    def __init__(self, robot: RobotDescription, options: Mapping[str, Any] | None = None) -> None:
        self.robot = robot
        self.options = dict(options or {})

    # -- declared properties ---------------------------------------------------------
    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.robot.joint_names

    @property
    def rate_hz(self) -> float:
        """Rate at which the body node should call read()/write()."""
        return float(self.options.get("rate_hz", self.robot.control_rate_hz))

    # -- lifecycle ---------------------------------------------------------------------
    @abc.abstractmethod
    def configure(self) -> None:
        """Acquire resources (connections, models). Raise DriverError with a clear message."""

    @abc.abstractmethod
    def activate(self) -> None:
        """Start motion control; the robot must hold its current pose until commanded."""

    @abc.abstractmethod
    def read(self) -> RobotState:
        """Return the latest measured state."""

    @abc.abstractmethod
    def write(self, command: JointCommand) -> None:
        """Apply position targets (and optional feed-forward) for the named joints."""

    def deactivate(self) -> None:
        """Stop following commands; hold position. Default: nothing to do."""
        return None

    def shutdown(self) -> None:
        """Release resources. Default: nothing to do."""
        return None

    # -- optional ----------------------------------------------------------------------
    def sim_time(self) -> float | None:
        """Simulated time in seconds for /clock, or None for real hardware."""
        return None

    def diagnostics(self) -> dict[str, str]:
        """Driver-specific key/values for /diagnostics."""
        return {}

    # -- optional, simulation only (disturbances for tests) ---------------------------
    def apply_wrench(self, force: Sequence[float], torque: Sequence[float], duration_s: float,
                     body: str | None = None) -> None:
        """Apply an external force (N) and torque (N·m), world frame, at the centre of mass of
        `body` (default: the robot's base frame) for `duration_s` of the driver's time,
        replacing any push still running. Raise DriverError if it cannot (the default)."""
        raise DriverError(f"driver {self.name or type(self).__name__!r} cannot apply external wrenches: "
                          "pushing the robot is a simulation-only feature")

    def reset_simulation(self) -> None:
        """Put the simulated world back in its initial state (time keeps running forward).
        Raise DriverError if it cannot (the default)."""
        raise DriverError(f"driver {self.name or type(self).__name__!r} cannot reset the world: "
                          "reset is a simulation-only feature")
