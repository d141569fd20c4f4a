"""Per-joint limits and the command limiter every cerebellum output passes through.

The limiter turns a *desired* joint command (position, optional velocity feed-forward,
optional effort feed-forward) into a command that the previous command can reach within
one control period: position inside ``[lower, upper]``, velocity inside
``±max_velocity``, change of velocity inside ``±max_acceleration * dt``, effort inside
``±max_effort``. It is fully vectorised (no per-joint Python loop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

FloatArray = np.ndarray


def _frozen(values: Sequence[float] | FloatArray, name: str, size: int) -> FloatArray:
    array = np.array(values, dtype=float).reshape(-1)
    if array.shape != (size,):
        raise ValueError(f"{name}: expected {size} values (one per joint), got {array.size}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class JointLimits:
    """Limits of a set of joints; every array has one entry per name, in ``names`` order.

    Units: rad (or m for prismatic joints), rad/s, rad/s², N·m (or N).
    All arrays are read-only.
    """

    names: tuple[str, ...]
    lower: FloatArray
    upper: FloatArray
    max_velocity: FloatArray
    max_acceleration: FloatArray
    max_effort: FloatArray

    @classmethod
    def from_lists(
        cls,
        names: Sequence[str],
        lower: Sequence[float] | FloatArray,
        upper: Sequence[float] | FloatArray,
        max_velocity: Sequence[float] | FloatArray,
        max_acceleration: Sequence[float] | FloatArray,
        max_effort: Sequence[float] | FloatArray,
    ) -> JointLimits:
        """Build and check limits; raises ``ValueError`` naming the offending joint."""
        names = tuple(names)
        if not names:
            raise ValueError("joint limits: no joints")
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"joint limits: duplicate joint name(s): {', '.join(dupes)}")
        size = len(names)
        lo = _frozen(lower, "lower", size)
        hi = _frozen(upper, "upper", size)
        vel = _frozen(max_velocity, "max_velocity", size)
        acc = _frozen(max_acceleration, "max_acceleration", size)
        eff = _frozen(max_effort, "max_effort", size)
        for i, name in enumerate(names):
            if not (np.isfinite(lo[i]) and np.isfinite(hi[i]) and lo[i] <= hi[i]):
                raise ValueError(f"joint {name}: need finite lower <= upper, got [{lo[i]}, {hi[i]}]")
            for label, arr in (("max_velocity", vel), ("max_acceleration", acc), ("max_effort", eff)):
                if not (np.isfinite(arr[i]) and arr[i] > 0):
                    raise ValueError(f"joint {name}: {label} must be a finite number > 0, got {arr[i]}")
        return cls(names, lo, hi, vel, acc, eff)

    @classmethod
    def from_mapping(cls, joints: Mapping[str, Mapping[str, float]]) -> JointLimits:
        """Build from ``{joint: {lower, upper, max_velocity, max_acceleration, max_effort}}``."""
        names = list(joints)
        keys = ("lower", "upper", "max_velocity", "max_acceleration", "max_effort")
        columns: dict[str, list[float]] = {key: [] for key in keys}
        for name in names:
            for key in keys:
                if key not in joints[name]:
                    raise ValueError(f"joint {name}: missing limit {key}")
                columns[key].append(float(joints[name][key]))
        return cls.from_lists(names, *(columns[key] for key in keys))

    def __len__(self) -> int:
        return len(self.names)

    def select(self, names: Sequence[str]) -> JointLimits:
        """Limits of ``names`` in that order (a subset or re-ordering of ``self.names``)."""
        index = {name: i for i, name in enumerate(self.names)}
        missing = [name for name in names if name not in index]
        if missing:
            raise ValueError(f"joint limits: no limits for joint(s): {', '.join(missing)}")
        idx = np.array([index[name] for name in names], dtype=np.intp)
        return JointLimits.from_lists(
            names, self.lower[idx], self.upper[idx], self.max_velocity[idx],
            self.max_acceleration[idx], self.max_effort[idx],
        )


@dataclass(frozen=True)
class LimitedCommand:
    """Output of :meth:`CommandLimiter.limit`; ``limited[j]`` is True when any clamp acted on joint j."""

    position: FloatArray
    velocity: FloatArray
    effort: FloatArray
    limited: np.ndarray


class CommandLimiter:
    """Clamp a desired command so that it is reachable from the previous command.

    Algorithm (all per joint, vectorised), for a period ``dt``:

    1. ``p = clip(desired_position, lower, upper)``.
    2. Velocity request: the desired velocity feed-forward plus a correction that closes the
       remaining error ``e = p - (prev_position + desired_velocity * dt)`` as fast as possible
       while still being able to stop on ``p`` at ``max_acceleration`` (discrete stopping-distance
       profile; equals ``e / dt`` for small errors, so exact tracking stays exact to O(dt²)).
       This makes step changes (e.g. a hold while moving) converge without oscillating.
    3. Clamp the velocity to ``prev_velocity ± max_acceleration * dt``, then to ``±max_velocity``.
    4. ``position = prev_position + velocity * dt``; if the acceleration clamp would carry it past
       a position limit, it is clipped at that limit (position limits win; a joint already
       outside its limits is never pushed further out, and is brought back at the rate limits).
    5. Effort feed-forward is clipped to ``±max_effort``.

    The returned velocity is the rate of change of the commanded position (consistent with it).
    """

    def __init__(self, limits: JointLimits, dt: float) -> None:
        if not (dt > 0 and np.isfinite(dt)):
            raise ValueError(f"command limiter: dt must be a finite number > 0, got {dt}")
        self.limits = limits
        self.dt = float(dt)
        self._lower = np.array(limits.lower)
        self._upper = np.array(limits.upper)
        self._vmax = np.array(limits.max_velocity)
        self._neg_vmax = -self._vmax
        self._amax = np.array(limits.max_acceleration)
        self._two_a = 2.0 * self._amax
        self._emax = np.array(limits.max_effort)
        self._neg_emax = -self._emax
        self._zeros = np.zeros(len(limits))
        self._zeros.setflags(write=False)
        self._set_dt(self.dt)

    def _set_dt(self, dt: float) -> None:
        self._dt_now = dt
        self._dv = self._amax * dt
        self._dv2 = self._dv * self._dv

    def limit(
        self,
        prev_position: FloatArray,
        prev_velocity: FloatArray,
        desired_position: FloatArray,
        desired_velocity: FloatArray | None = None,
        effort: FloatArray | None = None,
        dt: float | None = None,
    ) -> LimitedCommand:
        """Limit one command. ``dt`` overrides the nominal period for this call only.

        Inputs are arrays of shape (J,) in ``limits.names`` order; they are not modified.
        """
        if dt is None:
            dt = self.dt
        if dt != self._dt_now:
            if not dt > 0:
                raise ValueError(f"command limiter: dt must be > 0, got {dt}")
            self._set_dt(dt)
        dv = self._dv

        p = np.minimum(np.maximum(desired_position, self._lower), self._upper)
        limited = p != desired_position
        # residual error after the feed-forward motion of this period
        err = p - prev_position
        if desired_velocity is not None:
            err -= desired_velocity * dt
        # discrete stopping-distance profile: the largest v with v*dt + v^2/(2a) <= |err|,
        # v = sqrt((a dt)^2 + 2 a |err|) - a dt
        v_req = np.abs(err)
        v_req *= self._two_a
        v_req += self._dv2
        np.sqrt(v_req, out=v_req)
        v_req -= dv
        np.copysign(v_req, err, out=v_req)
        if desired_velocity is not None:
            v_req += desired_velocity
        # acceleration bound, then velocity bound (max_velocity wins if they conflict)
        v = np.maximum(v_req, prev_velocity - dv)
        np.minimum(v, prev_velocity + dv, out=v)
        np.maximum(v, self._neg_vmax, out=v)
        np.minimum(v, self._vmax, out=v)
        limited |= v != v_req
        position = v * dt
        position += prev_position
        # position limits win over the acceleration limit; never push further outside
        lo = np.minimum(self._lower, prev_position)
        hi = np.maximum(self._upper, prev_position)
        clipped = np.minimum(np.maximum(position, lo), hi)
        if np.count_nonzero(clipped != position):
            limited |= clipped != position
            v = (clipped - prev_position) / dt
        position = clipped

        if effort is None:
            eff = self._zeros
        else:
            eff, eff_limited = self.clamp_effort(effort)
            limited |= eff_limited
        return LimitedCommand(position, v, eff, limited)

    def clamp_effort(self, effort: FloatArray) -> tuple[FloatArray, np.ndarray]:
        """``effort`` clipped to ``±max_effort``, and the mask of joints that were clipped."""
        eff = np.minimum(np.maximum(effort, self._neg_emax), self._emax)
        return eff, eff != effort
