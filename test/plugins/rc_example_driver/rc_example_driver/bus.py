"""A virtual position-servo bus: what the example driver talks to instead of real hardware.

It behaves like a chain of hobby/industrial position servos on a serial bus: each servo has
an id, a goal position and a torque switch; with torque on it moves toward its goal at a
limited speed, with torque off it stays where it is. Ports look like "virtual:<name>";
anything else fails to open like a missing serial device would.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np


class VirtualServoBus:
    def __init__(self, port: str, ids: Sequence[int], speed: Sequence[float], initial: Sequence[float]) -> None:
        if not port.startswith("virtual:"):
            raise FileNotFoundError(f"no such device: {port!r} (the virtual bus opens ports named 'virtual:<name>')")
        self.port = port
        self.ids = [int(i) for i in ids]
        self._slot = {servo: k for k, servo in enumerate(self.ids)}
        self.speed = np.asarray(speed, dtype=float)
        self.position = np.asarray(initial, dtype=float).copy()
        self.velocity = np.zeros_like(self.position)
        self.goal = self.position.copy()
        self.torque_on = False
        self.last = time.monotonic()
        self.closed = False

    def _advance(self) -> None:
        now = time.monotonic()
        dt = min(now - self.last, 0.1)
        self.last = now
        if dt <= 0:
            return
        if not self.torque_on:
            self.velocity[:] = 0.0
            return
        step = np.clip(self.goal - self.position, -self.speed * dt, self.speed * dt)
        self.position += step
        self.velocity = step / dt

    def _slots(self, ids: Sequence[int]) -> list[int]:
        try:
            return [self._slot[int(i)] for i in ids]
        except KeyError as exc:
            raise OSError(f"{self.port}: no servo with id {exc.args[0]} on the bus") from exc

    def read_positions(self, ids: Sequence[int]) -> np.ndarray:
        self._advance()
        return self.position[self._slots(ids)].copy()

    def read_state(self, ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Positions (rad), velocities (rad/s), load (N·m, proportional to the goal error) and a stamp."""
        self._advance()
        slots = self._slots(ids)
        load = 5.0 * (self.goal[slots] - self.position[slots]) if self.torque_on else np.zeros(len(slots))
        return self.position[slots].copy(), self.velocity[slots].copy(), load, self.last

    def set_goal(self, ids: Sequence[int], positions: Sequence[float]) -> None:
        self._advance()
        self.goal[self._slots(ids)] = positions

    def torque(self, ids: Sequence[int], on: bool) -> None:
        self._advance()
        self._slots(ids)
        self.torque_on = bool(on)

    def close(self) -> None:
        self.torque_on = False
        self.closed = True
