"""Safety guards of the cerebellum: tilt, e-stop and the two freshness watchdogs.

Guards only *decide*; the controller turns every guard into holding a position (the robot
is never commanded to go limp). All times are monotonic seconds passed in explicitly, so the
guards are deterministic and testable without sleeping.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: A quaternion whose norm is further than this from 1 is treated as a sensor fault.
QUATERNION_NORM_TOLERANCE = 0.05


def roll_pitch_from_quaternion(quat: Sequence[float]) -> tuple[float, float]:
    """Roll and pitch (rad) of a body orientation quaternion ``(x, y, z, w)`` (REP-103).

    Computed from the direction of "up" (world +z) expressed in the body frame, so they do
    not depend on yaw: ``roll = atan2(g_y, g_z)``, ``pitch = atan2(-g_x, hypot(g_y, g_z))``.
    The quaternion is normalised first.
    """
    x, y, z, w = (float(v) for v in quat)
    n = math.sqrt(x * x + y * y + z * z + w * w)
    x, y, z, w = x / n, y / n, z / n, w / n
    gx = 2.0 * (x * z - w * y)
    gy = 2.0 * (y * z + w * x)
    gz = 1.0 - 2.0 * (x * x + y * y)
    return math.atan2(gy, gz), math.atan2(-gx, math.hypot(gy, gz))


class TiltGuard:
    """Trips when |roll| > ``max_roll_rad`` or |pitch| > ``max_pitch_rad``, or on a bad quaternion.

    Latched: once tripped, :meth:`check` keeps returning the original reason until
    :meth:`reset` succeeds, which it only does when the last orientation seen is within bounds.
    """

    def __init__(self, max_roll_rad: float, max_pitch_rad: float) -> None:
        for name, value in (("max_roll_rad", max_roll_rad), ("max_pitch_rad", max_pitch_rad)):
            if not (math.isfinite(value) and 0.0 < value <= math.pi):
                raise ValueError(f"tilt guard: {name} must be in (0, pi], got {value}")
        self.max_roll_rad = float(max_roll_rad)
        self.max_pitch_rad = float(max_pitch_rad)
        self.reason: str | None = None
        self.roll = math.nan
        self.pitch = math.nan
        self._last_problem: str | None = "no orientation received"

    @property
    def tripped(self) -> bool:
        return self.reason is not None

    def evaluate(self, quat: Sequence[float]) -> str | None:
        """Reason ``quat`` is out of bounds (or invalid), or None; does not latch."""
        try:
            values = [float(v) for v in quat]
        except (TypeError, ValueError):
            return "IMU orientation is not a list of numbers"
        if len(values) != 4:
            return f"IMU orientation has {len(values)} components, expected 4 (x, y, z, w)"
        x, y, z, w = values
        norm = math.sqrt(x * x + y * y + z * z + w * w)
        if not math.isfinite(norm):  # NaN / inf in any component (or a norm beyond a float)
            return f"IMU orientation is not finite: {values}"
        if abs(norm - 1.0) > QUATERNION_NORM_TOLERANCE:
            return f"IMU orientation is not a unit quaternion (norm {norm:.3f})"
        self.roll, self.pitch = roll_pitch_from_quaternion(values)
        if abs(self.roll) > self.max_roll_rad:
            return f"roll {self.roll:.2f} rad beyond ±{self.max_roll_rad:.2f}"
        if abs(self.pitch) > self.max_pitch_rad:
            return f"pitch {self.pitch:.2f} rad beyond ±{self.max_pitch_rad:.2f}"
        return None

    def check(self, quat: Sequence[float]) -> str | None:
        """Feed one orientation; returns the (latched) trip reason, or None while fine."""
        problem = self.evaluate(quat)
        self._last_problem = problem
        if problem is not None and self.reason is None:
            self.reason = f"tilt: {problem}"
        return self.reason

    def level_problem(self) -> str | None:
        """Why a reset would be refused now (last orientation bad or none seen since the trip)."""
        return self._last_problem

    def reset(self) -> bool:
        """Clear the latch if the last orientation seen is within bounds; returns success.

        A guard that never tripped resets trivially (True).
        """
        if self.reason is None:
            return True
        if self._last_problem is not None:
            return False
        self.reason = None
        return True


class _Deadline:
    """Shared logic: remembers the last feed time and compares its age with a deadline."""

    def __init__(self, deadline_s: float, name: str) -> None:
        if not (math.isfinite(deadline_s) and deadline_s > 0.0):
            raise ValueError(f"{name}: deadline_s must be a finite number > 0, got {deadline_s}")
        self.deadline_s = float(deadline_s)
        self.last: float | None = None

    def feed(self, now: float) -> None:
        self.last = now

    def age(self, now: float) -> float | None:
        """Seconds since the last feed, or None if never fed."""
        return None if self.last is None else now - self.last

    def _expired(self, now: float) -> bool:
        # 1 ns of slack so "exactly at the deadline" is not decided by float rounding
        return self.last is not None and now - self.last > self.deadline_s + 1e-9


class StaleSetpointWatchdog(_Deadline):
    """Deadline on the stream of setpoints (trajectory messages) feeding an active motion.

    :meth:`feed` on every accepted streaming setpoint; :meth:`expired` is True when the last
    one is older than ``deadline_s``. Before the first setpoint, or after :meth:`disarm`
    (the controller holds, or runs a non-streaming trajectory to completion), it never expires:
    waiting for a first setpoint is not an error.
    """

    def __init__(self, deadline_s: float) -> None:
        super().__init__(deadline_s, "stale setpoint watchdog")

    @property
    def armed(self) -> bool:
        return self.last is not None

    def disarm(self) -> None:
        self.last = None

    def expired(self, now: float) -> bool:
        return self._expired(now)


class StateWatchdog(_Deadline):
    """Deadline on measured joint state: without fresh feedback the controller holds.

    ``stale(now)`` is False before the first state (the controller is then idle and does not
    command at all) and True once the last valid state is older than ``deadline_s``.
    """

    def __init__(self, deadline_s: float) -> None:
        super().__init__(deadline_s, "state watchdog")

    @property
    def has_state(self) -> bool:
        return self.last is not None

    def stale(self, now: float) -> bool:
        return self._expired(now)


class EStop:
    """Latched emergency stop: only an explicit :meth:`reset` clears it.

    While engaged the controller holds position (it does not cut power). The first reason is
    kept; later :meth:`engage` calls while engaged do not overwrite it.
    """

    def __init__(self) -> None:
        self.reason: str | None = None

    @property
    def engaged(self) -> bool:
        return self.reason is not None

    def engage(self, reason: str) -> bool:
        """Engage; returns True if this call engaged it (False if it already was)."""
        if self.reason is not None:
            return False
        self.reason = reason or "e-stop"
        return True

    def reset(self) -> bool:
        """Clear; returns True if it was engaged."""
        was = self.reason is not None
        self.reason = None
        return was
