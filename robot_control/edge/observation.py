"""Policy inputs: the observation signals a skill model declares, assembled by name.

Every embodiment adapter measures the same base signals each control tick
(`EmbodimentAdapter.observation`, the order the demonstration datasets store):

    object_minus_ee(3) goal_minus_ee(3) command_minus_ee(3) ee_velocity(3) gripper_state(1) skill_time(1)

A manifest's `observation.signals` list says which signals its model takes and in what
order. Besides the measured ones, a model may take EMBODIMENT signals: constants of the arm +
hand it runs on, taken from its `EmbodimentSpec`. A model shared by several robots needs them
wherever the experts it imitates differ by embodiment (e.g. the G1's side approach vs the
Panda's top-down one):

    approach_dir(3)  unit vector from the object to the hand's pre-grasp point (world frame)

`ObservationLayout` is built once per model and turns one base observation into the model's
input with a single gather (no per-tick lookups). A manifest naming any other signal is
refused on load: the runtime could not feed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

# (name, size) of the measured signals, in the order of EmbodimentAdapter.observation.
BASE_SIGNALS: tuple[tuple[str, int], ...] = (
    ("object_minus_ee", 3), ("goal_minus_ee", 3), ("command_minus_ee", 3), ("ee_velocity", 3),
    ("gripper_state", 1), ("skill_time", 1))
BASE_SIZE = sum(n for _, n in BASE_SIGNALS)
EMBODIMENT_SIGNALS: dict[str, int] = {"approach_dir": 3}
KNOWN_SIGNALS: dict[str, int] = {**dict(BASE_SIGNALS), **EMBODIMENT_SIGNALS}


class _Named(Protocol):
    name: str
    size: int


class _Embodiment(Protocol):
    approach_dir: tuple[float, float, float]


def signal_problem(signals: Sequence[_Named]) -> str | None:
    """Why the runtime cannot feed these signals, or None when it can."""
    seen: set[str] = set()
    for s in signals:
        if s.name not in KNOWN_SIGNALS:
            return (f"observation signal {s.name!r} is not one the edge runtime provides "
                    f"(known: {', '.join(KNOWN_SIGNALS)})")
        if s.size != KNOWN_SIGNALS[s.name]:
            return f"observation signal {s.name!r} has size {s.size}; the runtime provides {KNOWN_SIGNALS[s.name]}"
        if s.name in seen:
            return f"observation signal {s.name!r} is listed twice"
        seen.add(s.name)
    return None


def embodiment_values(name: str, spec: _Embodiment) -> np.ndarray:
    if name == "approach_dir":
        v = np.asarray(spec.approach_dir, dtype=float)
        n = float(np.linalg.norm(v))
        if not n > 0:
            raise ValueError("approach_dir of the embodiment is zero")
        return v / n
    raise KeyError(name)


class ObservationLayout:
    """Maps a base observation (+ the embodiment's constants) to one model's input vector."""

    def __init__(self, signals: Sequence[_Named]) -> None:
        problem = signal_problem(signals)
        if problem is not None:
            raise ValueError(problem)
        self.names = tuple(s.name for s in signals)
        offsets, start = {}, 0
        for name, size in BASE_SIGNALS:
            offsets[name] = start
            start += size
        index: list[int] = []
        extra_at = BASE_SIZE  # embodiment values are appended after the base in the gather source
        self._extra: list[str] = []
        for s in signals:
            if s.name in offsets:
                index.extend(range(offsets[s.name], offsets[s.name] + s.size))
            else:
                index.extend(range(extra_at, extra_at + s.size))
                extra_at += s.size
                self._extra.append(s.name)
        self.size = len(index)
        self._index = np.asarray(index, dtype=np.intp)
        self.is_base = not self._extra and index == list(range(BASE_SIZE))
        self._source = np.zeros(extra_at, dtype=np.float32)
        self._bound_to: object | None = None

    def bind(self, spec: _Embodiment) -> ObservationLayout:
        """Fill in the embodiment constants (once per embodiment, not per tick)."""
        at = BASE_SIZE
        for name in self._extra:
            v = embodiment_values(name, spec)
            self._source[at:at + v.size] = v
            at += v.size
        self._bound_to = spec
        return self

    def assemble(self, base: np.ndarray, spec: _Embodiment | None = None) -> np.ndarray:
        """The model input for one base observation (float32, length `size`)."""
        if self.is_base:
            return base
        if spec is not None and spec is not self._bound_to:
            self.bind(spec)
        elif self._extra and self._bound_to is None:
            raise ValueError(f"{', '.join(self._extra)}: bind the layout to an embodiment first")
        self._source[:BASE_SIZE] = base
        return self._source[self._index]

    def assemble_batch(self, base: np.ndarray, spec: _Embodiment) -> np.ndarray:
        """Training side: (N, 14) base observations of one embodiment -> (N, size) inputs."""
        base = np.asarray(base, dtype=np.float32)
        extra = [embodiment_values(n, spec).astype(np.float32) for n in self._extra]
        full = np.concatenate([base, np.broadcast_to(np.concatenate(extra), (len(base), sum(e.size for e in extra)))],
                              axis=1) if extra else base
        return full[:, self._index]
