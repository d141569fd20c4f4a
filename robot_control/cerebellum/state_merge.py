"""Full joint state from /joint_states messages that may each name only some joints.

ROS lets several publishers share /joint_states (an arm driver and a hand driver, say), each
naming its own joints, and a body may publish a subset. The cerebellum needs every joint, so
each message updates the joints it names and the rest keep their last received values. No
value is ever invented: until every joint has been received once the state is incomplete and
nothing is handed to the controller (it stays idle), and a message with a non-finite value is
rejected whole.

Freshness is per joint: :meth:`JointStateMerger.snapshot` returns the arrival time of the
*least recently updated* joint, which the node feeds to the controller's state watchdog. If
one of the publishers stops, the whole state goes stale (the controller holds) instead of
those joints silently freezing at their last value.

Pure numpy, no ROS; times are integers (ns) passed in explicitly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class JointStateMerger:
    """Merges partial joint-state messages into arrays in ``joint_names`` order."""

    def __init__(self, joint_names: Sequence[str]) -> None:
        self.joint_names = tuple(joint_names)
        self._index = {name: i for i, name in enumerate(self.joint_names)}
        n = len(self.joint_names)
        self.position = np.zeros(n)
        self.velocity = np.zeros(n)
        self.updated_ns = np.zeros(n, dtype=np.int64)  # 0: never received
        self._order_names: tuple[str, ...] | None = None
        self._order: np.ndarray | None = None
        self.rejected = 0
        self.last_problem = ""

    def _order_for(self, names: Sequence[str]) -> np.ndarray | str:
        key = tuple(names)
        if key == self._order_names and self._order is not None:
            return self._order
        if not key:
            return "/joint_states names no joints"
        unknown = [n for n in key if n not in self._index]
        if unknown:
            more = f" (and {len(unknown) - 3} more)" if len(unknown) > 3 else ""
            return f"/joint_states names unknown joint(s) {', '.join(unknown[:3])}{more}"
        if len(set(key)) != len(key):
            return "/joint_states names a joint twice"
        self._order_names = key
        self._order = np.array([self._index[n] for n in key], dtype=np.intp)
        return self._order

    def update(self, arrival_ns: int, names: Sequence[str], position: Sequence[float],
               velocity: Sequence[float] = ()) -> str | None:
        """Merge one message received at ``arrival_ns`` (> 0). Returns why it was rejected
        (then nothing of it is merged), or None.

        ``velocity`` may be empty (those joints then read 0 rad/s) or one value per name.
        """
        order = self._order_for(names)
        if isinstance(order, str):
            return self._reject(order)
        pos = np.asarray(position, dtype=float)
        if pos.shape != order.shape:
            return self._reject(f"/joint_states has {pos.size} position(s) for {order.size} joint(s)")
        vel = np.asarray(velocity, dtype=float)
        if vel.size and vel.shape != order.shape:
            return self._reject(f"/joint_states has {vel.size} velocities for {order.size} joint(s)")
        # a finite sum means every value is finite (NaN and inf propagate); else find the culprit
        if not math.isfinite(float(pos.sum()) + float(vel.sum())):
            for label, values in (("position", pos), ("velocity", vel)):
                finite = np.isfinite(values)
                if not finite.all():
                    j = int(np.flatnonzero(~finite)[0])
                    return self._reject(f"/joint_states: joint {self.joint_names[order[j]]} {label} is {values[j]}")
        self.position[order] = pos
        self.velocity[order] = vel if vel.size else 0.0
        self.updated_ns[order] = arrival_ns
        return None

    def _reject(self, reason: str) -> str:
        self.rejected += 1
        self.last_problem = reason
        return reason

    @property
    def complete(self) -> bool:
        """True once every joint has been received at least once."""
        return bool(self.updated_ns.min() > 0) if self.updated_ns.size else False

    def missing(self) -> list[str]:
        """Joints never received."""
        return [self.joint_names[i] for i in np.flatnonzero(self.updated_ns == 0)]

    def snapshot(self) -> tuple[int, np.ndarray, np.ndarray] | None:
        """``(oldest_update_ns, position, velocity)`` (copies), or None while incomplete."""
        oldest = int(self.updated_ns.min()) if self.updated_ns.size else 0
        if oldest <= 0:
            return None
        return oldest, self.position.copy(), self.velocity.copy()
