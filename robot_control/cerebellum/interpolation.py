"""Joint trajectories and their time sampling (cubic Hermite / quintic splines).

Segment type, like ros2_control's joint_trajectory_controller "spline" interpolation:

* positions + velocities + accelerations -> quintic segments (continuous up to acceleration);
* positions + velocities -> cubic Hermite segments (continuous in position and velocity);
* positions only -> cubic Hermite with estimated velocities: zero at the last point, the
  average of the two adjacent finite-difference slopes at interior points. (ros2_control
  interpolates linearly here; estimating velocities keeps the command C1-continuous.)

If the first point's ``time_from_start`` is > 0, an implicit point at t=0 is added from the
current state (position, velocity and, for quintic, acceleration), so a new trajectory
starts exactly where the previous command was. After the last point the sampler holds the
last position with zero velocity and acceleration; before the start it holds the first point.

Sampling is vectorised: every segment's polynomial coefficients are precomputed as a
(6, J) matrix, so ``sample`` is one small matrix product.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FloatArray = np.ndarray


@dataclass(frozen=True)
class JointTrajectory:
    """A joint-space trajectory (plain data, like trajectory_msgs/JointTrajectory).

    ``times_from_start`` has shape (N,), seconds relative to the trajectory start;
    ``positions`` (N, J); ``velocities`` and ``accelerations`` (N, J) or None.
    Columns are ordered like ``joint_names``. Not validated here: see
    :func:`robot_control.cerebellum.validation.validate_trajectory`.
    """

    joint_names: tuple[str, ...]
    times_from_start: FloatArray
    positions: FloatArray
    velocities: FloatArray | None = None
    accelerations: FloatArray | None = None

    @classmethod
    def from_lists(
        cls,
        joint_names: Sequence[str],
        times_from_start: Sequence[float],
        positions: Sequence[Sequence[float]],
        velocities: Sequence[Sequence[float]] | None = None,
        accelerations: Sequence[Sequence[float]] | None = None,
    ) -> JointTrajectory:
        """Convenience constructor from nested lists (arrays are converted when rectangular).

        Ragged input is kept as given so that validation can say which point is wrong.
        """
        return cls(
            tuple(joint_names),
            _maybe_array(times_from_start),
            _maybe_array(positions),
            None if velocities is None or len(velocities) == 0 else _maybe_array(velocities),
            None if accelerations is None or len(accelerations) == 0 else _maybe_array(accelerations),
        )


def _maybe_array(values: object) -> object:
    try:
        return np.asarray(values, dtype=float)
    except (ValueError, TypeError):
        return values


def _basis(tau: float) -> FloatArray:
    """Rows: [1, tau, ..., tau^5] and its first and second derivatives."""
    t2 = tau * tau
    t3 = t2 * tau
    return np.array(
        (
            (1.0, tau, t2, t3, t3 * tau, t3 * t2),
            (0.0, 1.0, 2.0 * tau, 3.0 * t2, 4.0 * t3, 5.0 * t3 * tau),
            (0.0, 0.0, 2.0, 6.0 * tau, 12.0 * t2, 20.0 * t3),
        )
    )


def estimate_velocities(times: FloatArray, positions: FloatArray) -> FloatArray:
    """Velocity estimate per point: zero at both ends, mean of adjacent slopes inside."""
    velocities = np.zeros_like(positions)
    if len(times) > 2:
        slopes = np.diff(positions, axis=0) / np.diff(times)[:, None]
        velocities[1:-1] = 0.5 * (slopes[:-1] + slopes[1:])
    return velocities


def _cubic_coefficients(p0: FloatArray, v0: FloatArray, p1: FloatArray, v1: FloatArray,
                        T: FloatArray) -> FloatArray:
    """Hermite cubic per segment; inputs (S, J), T (S, 1); returns (S, 6, J)."""
    dp = p1 - p0
    coeffs = np.zeros((p0.shape[0], 6, p0.shape[1]))
    coeffs[:, 0] = p0
    coeffs[:, 1] = v0
    coeffs[:, 2] = (3.0 * dp - (2.0 * v0 + v1) * T) / T**2
    coeffs[:, 3] = (-2.0 * dp + (v0 + v1) * T) / T**3
    return coeffs


def _quintic_coefficients(p0: FloatArray, v0: FloatArray, a0: FloatArray, p1: FloatArray,
                          v1: FloatArray, a1: FloatArray, T: FloatArray) -> FloatArray:
    """Quintic per segment matching position, velocity, acceleration at both ends."""
    dp = p1 - p0
    coeffs = np.empty((p0.shape[0], 6, p0.shape[1]))
    coeffs[:, 0] = p0
    coeffs[:, 1] = v0
    coeffs[:, 2] = 0.5 * a0
    coeffs[:, 3] = (20.0 * dp - (8.0 * v1 + 12.0 * v0) * T - (3.0 * a0 - a1) * T**2) / (2.0 * T**3)
    coeffs[:, 4] = (-30.0 * dp + (14.0 * v1 + 16.0 * v0) * T + (3.0 * a0 - 2.0 * a1) * T**2) / (2.0 * T**4)
    coeffs[:, 5] = (12.0 * dp - 6.0 * (v1 + v0) * T - (a0 - a1) * T**2) / (2.0 * T**5)
    return coeffs


class TrajectorySampler:
    """Samples a (validated) :class:`JointTrajectory` started at ``start_time``.

    ``current_position`` / ``current_velocity`` (/ ``current_acceleration``) are the state of
    the trajectory's joints, in trajectory column order, at ``start_time``; they are used for
    the implicit first point when the first ``time_from_start`` is > 0.
    All times are monotonic seconds (same clock as ``start_time``).
    """

    def __init__(
        self,
        trajectory: JointTrajectory,
        start_time: float,
        current_position: FloatArray,
        current_velocity: FloatArray | None = None,
        current_acceleration: FloatArray | None = None,
    ) -> None:
        self.joint_names = trajectory.joint_names
        self.start_time = float(start_time)
        times = np.asarray(trajectory.times_from_start, dtype=float).reshape(-1)
        positions = np.asarray(trajectory.positions, dtype=float)
        n_joints = len(self.joint_names)
        if positions.ndim != 2 or positions.shape != (times.size, n_joints) or times.size == 0:
            raise ValueError(
                f"trajectory: positions shape {positions.shape} does not match "
                f"{times.size} point(s) x {n_joints} joint(s)"
            )
        zeros = np.zeros(n_joints)
        cur_p = np.asarray(current_position, dtype=float).reshape(n_joints)
        cur_v = zeros if current_velocity is None else np.asarray(current_velocity, float).reshape(n_joints)
        cur_a = (zeros if current_acceleration is None
                 else np.asarray(current_acceleration, float).reshape(n_joints))

        given_v = trajectory.velocities is not None
        quintic = trajectory.accelerations is not None
        implicit = times[0] > 0.0
        if implicit:
            times = np.concatenate(([0.0], times))
            positions = np.vstack((cur_p, positions))
        if given_v:
            velocities = np.asarray(trajectory.velocities, dtype=float).reshape(-1, n_joints)
            if implicit:
                velocities = np.vstack((cur_v, velocities))
        else:
            velocities = estimate_velocities(times, positions)
            if implicit:
                velocities[0] = cur_v
        accelerations = None
        if quintic:
            accelerations = np.asarray(trajectory.accelerations, dtype=float).reshape(-1, n_joints)
            if implicit:
                accelerations = np.vstack((cur_a, accelerations))

        self.quintic = quintic
        self._times = times
        self._knots = [float(t) for t in times]
        self._last_position = positions[-1].copy()
        self._first_position = positions[0].copy()
        self._zeros = zeros
        self.duration = float(times[-1])
        self.end_time = self.start_time + self.duration
        if times.size > 1:
            T = np.diff(times)[:, None]
            if quintic:
                assert accelerations is not None
                self._coeffs = _quintic_coefficients(
                    positions[:-1], velocities[:-1], accelerations[:-1],
                    positions[1:], velocities[1:], accelerations[1:], T,
                )
            else:
                self._coeffs = _cubic_coefficients(positions[:-1], velocities[:-1], positions[1:],
                                                   velocities[1:], T)
        else:
            self._coeffs = np.zeros((0, 6, n_joints))
        self._segment = 0

    def done(self, t: float) -> bool:
        """True once ``t`` has reached the time of the last point."""
        return t - self.start_time >= self.duration

    def sample(self, t: float) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Desired (position, velocity, acceleration) at time ``t``, each of shape (J,).

        Returned arrays are fresh (the caller may keep or modify them).
        """
        rel = t - self.start_time
        knots = self._knots
        if rel >= self.duration:
            return self._last_position.copy(), self._zeros.copy(), self._zeros.copy()
        if rel <= 0.0:
            if len(knots) == 1:
                return self._last_position.copy(), self._zeros.copy(), self._zeros.copy()
            rel = 0.0
        seg = self._segment
        # Time normally moves forward: advance from the cached segment, else search.
        if knots[seg] <= rel:
            while knots[seg + 1] <= rel:
                seg += 1
        else:
            seg = int(np.searchsorted(self._times, rel, side="right")) - 1
        self._segment = seg
        out = _basis(rel - knots[seg]) @ self._coeffs[seg]
        return out[0], out[1], out[2]
