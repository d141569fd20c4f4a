"""Checks applied to every incoming trajectory and measured joint state.

Nothing reaches the interpolator unless :func:`validate_trajectory` returned no reasons.
Reasons are short, human-readable sentences that name the point, joint, value and bound,
e.g. ``point 2: joint right_elbow_joint position 3.10 rad outside [-1.04, 2.09]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from robot_control.cerebellum.interpolation import JointTrajectory
from robot_control.cerebellum.limits import JointLimits

#: Positions may exceed a limit by this much (rad) before a trajectory is rejected.
POSITION_TOLERANCE = 1e-6
#: Velocities may exceed max_velocity by this much (rad/s) before a trajectory is rejected.
VELOCITY_TOLERANCE = 1e-6
#: At most this many reasons are listed; the rest are summarised as "... and N more".
MAX_REASONS = 10


class TrajectoryRejected(ValueError):
    """A trajectory failed validation; ``reasons`` lists every problem found."""

    def __init__(self, reason: str, reasons: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reasons = list(reasons) or [reason]


def _fmt(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else str(value)


def _matrix(label: str, value: object, n_points: int, n_joints: int,
            reasons: list[str]) -> np.ndarray | None:
    """``value`` as an (N, J) float array, or None after appending the reason it is not one."""
    if isinstance(value, np.ndarray) and value.dtype != object:
        array = value
    else:
        rows = list(value) if isinstance(value, Iterable) else None  # type: ignore[arg-type]
        if rows is None:
            reasons.append(f"{label}: expected a list of points, got {type(value).__name__}")
            return None
        if len(rows) != n_points:
            reasons.append(f"{label}: {len(rows)} point(s) but {n_points} time(s) from start")
            return None
        for i, row in enumerate(rows):
            size = len(row) if isinstance(row, (Sequence, np.ndarray)) else -1
            if size != n_joints:
                got = f"{size} value(s)" if size >= 0 else type(row).__name__
                reasons.append(f"point {i}: {got} in {label} for {n_joints} joint(s)")
                return None
        try:
            array = np.asarray(rows, dtype=float)
        except (TypeError, ValueError):
            reasons.append(f"{label}: values are not all numbers")
            return None
    try:
        array = np.asarray(array, dtype=float)
    except (TypeError, ValueError):
        reasons.append(f"{label}: values are not all numbers")
        return None
    if array.shape != (n_points, n_joints):
        reasons.append(
            f"{label}: expected shape ({n_points} points, {n_joints} joints), got {tuple(array.shape)}"
        )
        return None
    return array


def _non_finite(label: str, unit_label: str, array: np.ndarray, names: Sequence[str],
                reasons: list[str]) -> bool:
    bad = np.argwhere(~np.isfinite(array))
    for i, j in bad[:MAX_REASONS]:
        reasons.append(f"point {i}: joint {names[j]} {unit_label} is {array[i, j]}")
    if len(bad) > MAX_REASONS:
        reasons.append(f"{label}: ... and {len(bad) - MAX_REASONS} more non-finite value(s)")
    return len(bad) > 0


def validate_trajectory(
    trajectory: JointTrajectory,
    known_joints: Iterable[str],
    limits: JointLimits | None = None,
) -> list[str]:
    """Return every reason ``trajectory`` must be rejected (an empty list means it is fine).

    Checks: non-empty joints and points; joint names known and unique; array shapes; no
    NaN/inf; ``time_from_start`` >= 0 and strictly increasing; positions inside
    ``[lower, upper]`` (± :data:`POSITION_TOLERANCE`); ``|velocity| <= max_velocity``
    (+ :data:`VELOCITY_TOLERANCE`). ``limits`` may list more joints or another order; joints
    are matched by name. Accelerations are only checked for being finite.
    """
    reasons: list[str] = []
    names = tuple(trajectory.joint_names)
    known = set(known_joints)
    if not names:
        reasons.append("trajectory names no joints")
    unknown = [n for n in names if n not in known]
    if unknown:
        reasons.append(f"unknown joint(s): {', '.join(map(str, unknown))}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        reasons.append(f"duplicate joint name(s): {', '.join(dupes)}")

    try:
        times = np.asarray(trajectory.times_from_start, dtype=float)
    except (TypeError, ValueError):
        return reasons + ["time_from_start: values are not all numbers"]
    if times.ndim != 1:
        return reasons + [f"time_from_start: expected a list of times, got shape {times.shape}"]
    n_points = times.size
    if n_points == 0:
        return reasons + ["trajectory has no points"]
    if not names:
        return reasons

    # times: finite, first >= 0, strictly increasing
    for i in np.flatnonzero(~np.isfinite(times))[:MAX_REASONS]:
        reasons.append(f"point {i}: time_from_start is {times[i]}")
    if math.isfinite(times[0]) and times[0] < 0.0:
        reasons.append(f"point 0: time_from_start {times[0]:.3f} s is negative")
    steps = np.flatnonzero(~(np.diff(times) > 0.0))
    for k in steps[:MAX_REASONS]:
        if math.isfinite(times[k]) and math.isfinite(times[k + 1]):
            reasons.append(
                f"point {k + 1}: time_from_start {times[k + 1]:.3f} s is not after "
                f"point {k} ({times[k]:.3f} s)"
            )

    n_joints = len(names)
    positions = _matrix("positions", trajectory.positions, n_points, n_joints, reasons)
    velocities = None
    if trajectory.velocities is not None:
        velocities = _matrix("velocities", trajectory.velocities, n_points, n_joints, reasons)
    accelerations = None
    if trajectory.accelerations is not None:
        accelerations = _matrix("accelerations", trajectory.accelerations, n_points, n_joints, reasons)

    finite_p = positions is not None and not _non_finite("positions", "position", positions, names, reasons)
    finite_v = velocities is not None and not _non_finite("velocities", "velocity", velocities, names,
                                                          reasons)
    if accelerations is not None:
        _non_finite("accelerations", "acceleration", accelerations, names, reasons)

    if limits is not None and not unknown and not dupes:
        index = {n: i for i, n in enumerate(limits.names)}
        if all(n in index for n in names):
            idx = np.array([index[n] for n in names], dtype=np.intp)
            if finite_p:
                assert positions is not None
                lower = limits.lower[idx]
                upper = limits.upper[idx]
                bad = np.argwhere((positions < lower - POSITION_TOLERANCE)
                                  | (positions > upper + POSITION_TOLERANCE))
                for i, j in bad[:MAX_REASONS]:
                    reasons.append(
                        f"point {i}: joint {names[j]} position {_fmt(positions[i, j])} rad outside "
                        f"[{_fmt(lower[j])}, {_fmt(upper[j])}]"
                    )
                if len(bad) > MAX_REASONS:
                    reasons.append(f"positions: ... and {len(bad) - MAX_REASONS} more outside limits")
            if finite_v:
                assert velocities is not None
                vmax = limits.max_velocity[idx]
                bad = np.argwhere(np.abs(velocities) > vmax + VELOCITY_TOLERANCE)
                for i, j in bad[:MAX_REASONS]:
                    reasons.append(
                        f"point {i}: joint {names[j]} velocity {_fmt(velocities[i, j])} rad/s exceeds "
                        f"max {_fmt(vmax[j])}"
                    )
                if len(bad) > MAX_REASONS:
                    reasons.append(f"velocities: ... and {len(bad) - MAX_REASONS} more above max")
        else:
            missing = [n for n in names if n not in index]
            reasons.append(f"no limits for joint(s): {', '.join(missing)}")
    return reasons


def check_trajectory(
    trajectory: JointTrajectory,
    known_joints: Iterable[str],
    limits: JointLimits | None = None,
) -> None:
    """Like :func:`validate_trajectory` but raise :class:`TrajectoryRejected` when invalid."""
    reasons = validate_trajectory(trajectory, known_joints, limits)
    if reasons:
        raise TrajectoryRejected(summarize(reasons), reasons)


def summarize(reasons: Sequence[str], keep: int = 3) -> str:
    """Join reasons into one line: the first ``keep`` and a count of the rest."""
    text = "; ".join(reasons[:keep])
    if len(reasons) > keep:
        text += f"; ... and {len(reasons) - keep} more problem(s)"
    return text


def validate_state(
    positions: np.ndarray,
    joint_names: Sequence[str] | None = None,
    velocities: np.ndarray | None = None,
) -> str | None:
    """Reason a measured joint state is unusable (NaN/inf or wrong length), or None if fine.

    Cheap on the good path (one reduction per array); it only builds a message on failure.
    """
    for label, values in (("position", positions), ("velocity", velocities)):
        if values is None:
            continue
        if type(values) is not np.ndarray:
            try:
                values = np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                return f"joint state: {label}s are not all numbers"
        if joint_names is not None and values.shape != (len(joint_names),):
            return f"joint state: {values.size} {label}(s) for {len(joint_names)} joint(s)"
        finite = np.isfinite(values)
        if np.count_nonzero(finite) != finite.size:
            bad = np.flatnonzero(~finite)
            j = int(bad[0])
            who = f"joint {joint_names[j]}" if joint_names is not None else f"joint #{j}"
            more = f" (and {bad.size - 1} more)" if bad.size > 1 else ""
            return f"joint state: {who} {label} is {values[j]}{more}"
    return None
