"""Checks on incoming joint commands: bad input never reaches a driver."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from robot_control.body.types import JointCommand


def check_joint_command(names: Sequence[str], position: Sequence[float], velocity: Sequence[float],
                        effort: Sequence[float], index: Mapping[str, int]) -> tuple[JointCommand | None, str]:
    """Return (command, "") or (None, reason). Velocity/effort may be empty (no feed-forward)."""
    if not names:
        return None, "command names no joints"
    if len(set(names)) != len(names):
        return None, "command names a joint twice"
    unknown = [n for n in names if n not in index]
    if unknown:
        return None, f"unknown joint(s): {', '.join(unknown[:5])}"
    n = len(names)
    if len(position) != n:
        return None, f"{len(position)} positions for {n} joints"
    for label, values in (("velocities", velocity), ("efforts", effort)):
        if len(values) not in (0, n):
            return None, f"{len(values)} {label} for {n} joints"
    pos = np.asarray(position, dtype=float)
    vel = np.asarray(velocity, dtype=float) if len(velocity) else None
    eff = np.asarray(effort, dtype=float) if len(effort) else None
    for label, arr in (("position", pos), ("velocity", vel), ("effort", eff)):
        if arr is not None and not np.all(np.isfinite(arr)):
            bad = names[int(np.flatnonzero(~np.isfinite(arr))[0])]
            return None, f"non-finite {label} for joint {bad}"
    return JointCommand(tuple(names), pos, vel, eff), ""
