"""A periodic loop on a dedicated thread with absolute-deadline sleeps, and its statistics.

`time.sleep` on Python 3.11 sleeps with clock_nanosleep(TIMER_ABSTIME) internally, so the
loop computes absolute deadlines on CLOCK_MONOTONIC (time.monotonic_ns) and sleeps until
each one; lateness never accumulates. When a period is overrun the loop skips to the next
future deadline, counts the cycle as an overrun and the skipped periods as missed.

The body sees the deadline of the cycle it runs in as `deadline_ns` (the *scheduled* tick,
free of wake-up jitter): phase computations must use it rather than the actual wake time.

The schedule's phase can be shifted (`shift_phase`) without changing its period: the
cerebellum uses this to tick just after joint states usually arrive, keeping its
state→command latency low while still running on its own clock.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_PR_SET_TIMERSLACK = 29


def tighten_timer_slack(ns: int = 1000) -> bool:
    """Lower this thread's timer slack (Linux default 50 µs) so sleeps wake on time."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_TIMERSLACK, ctypes.c_ulong(ns), 0, 0, 0) == 0
    except OSError:
        return False


def try_realtime_priority(priority: int) -> bool:
    """Ask for SCHED_FIFO at `priority` for the calling thread; False if not permitted."""
    if priority <= 0:
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return True
    except (OSError, AttributeError):
        return False


def poll_until(ready: Callable[[], bool], until_ns: int, interval_ns: int = 20_000,
               clock: Callable[[], int] = time.monotonic_ns,
               sleep: Callable[[float], None] = time.sleep) -> bool:
    """Call `ready()` every `interval_ns` until it returns True (-> True) or `clock()` passes
    `until_ns` (-> False). `ready` is called at least once; `interval_ns` 0 spins.

    For waits of a few hundred microseconds: rclpy's WaitSet.wait measured ~72 us here even
    with a zero timeout. The sleeps between polls matter under SCHED_FIFO: a spinning
    real-time thread would keep the middleware's (normal-priority) receive thread, the one
    that delivers what it waits for, off its core.
    """
    while True:
        if ready():
            return True
        now = clock()
        if now >= until_ns:
            return False
        if interval_ns:
            sleep(min(interval_ns, until_ns - now) / 1e9)


class RingStats:
    """Fixed-size ring of float samples (no allocation on the hot path) with percentiles."""

    def __init__(self, size: int = 60_000) -> None:
        self.buf = np.zeros(size)
        self.count = 0

    def add(self, value: float) -> None:
        self.buf[self.count % len(self.buf)] = value
        self.count += 1

    def values(self) -> np.ndarray:
        return self.buf[: min(self.count, len(self.buf))]

    def summary(self, scale: float = 1.0) -> dict[str, float]:
        v = self.values()
        if v.size == 0:
            return {"n": 0}
        p50, p99 = np.percentile(v, [50, 99])
        return {"n": int(self.count), "p50": float(p50 * scale), "p99": float(p99 * scale),
                "max": float(v.max() * scale), "mean": float(v.mean() * scale)}


@dataclass
class LoopStats:
    periods: int = 0
    missed: int = 0  # deadlines skipped because a cycle overran
    overruns: int = 0  # cycles that ran past the next deadline
    started_ns: int = 0


def every_n_cycles(rate_hz: float, wanted_hz: float) -> int:
    """Publish every N-th cycle of a loop at `rate_hz` to get about `wanted_hz`.

    1 = every cycle (also when `wanted_hz` >= `rate_hz`), 0 = never (`wanted_hz` <= 0).
    """
    if not wanted_hz > 0:
        return 0
    return max(1, round(rate_hz / wanted_hz))


class RealTimeFactor:
    """Simulated seconds per wall-clock second between successive samples.

    1.0: the simulation keeps up with wall time; below 1 it falls behind (e.g. its loop
    overruns). The value holds until a sample with later wall time arrives.
    """

    def __init__(self) -> None:
        self._last: tuple[float, float] | None = None
        self.value: float | None = None

    def update(self, wall_s: float, sim_s: float) -> float | None:
        last = self._last
        if last is not None and wall_s > last[0]:
            self.value = (sim_s - last[1]) / (wall_s - last[0])
        if last is None or wall_s > last[0]:
            self._last = (wall_s, sim_s)
        return self.value


class PeriodicLoop:
    """Call `body()` every `period_s` on its own thread until stop() is called.

    `jitter` records wake-up lateness (actual wake - deadline) in seconds, the quantity
    cyclictest reports; `missed` counts deadlines skipped because a cycle overran.
    """

    def __init__(self, period_s: float, body: Callable[[], None], *, name: str = "control",
                 realtime_priority: int = 0, timer_slack_ns: int = 1000) -> None:
        if period_s <= 0:
            raise ValueError("period_s must be > 0")
        self.period_ns = int(round(period_s * 1e9))
        self.body = body
        self.name = name
        self.realtime_priority = realtime_priority
        self.timer_slack_ns = timer_slack_ns
        self.jitter = RingStats()
        self.stats = LoopStats()
        self.realtime = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._phase_shift_ns = 0
        self._lock = threading.Lock()
        self.error: BaseException | None = None
        #: CLOCK_MONOTONIC deadline (ns) of the cycle being run; 0 before the first one.
        self.deadline_ns = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def shift_phase(self, delta_s: float) -> None:
        """Move future deadlines by delta_s (applied once, at the next cycle)."""
        with self._lock:
            self._phase_shift_ns += int(delta_s * 1e9)

    def _run(self) -> None:
        tighten_timer_slack(self.timer_slack_ns)
        self.realtime = try_realtime_priority(self.realtime_priority)
        period = self.period_ns
        deadline = time.monotonic_ns() + period
        self.stats.started_ns = time.monotonic_ns()
        try:
            while not self._stop.is_set():
                now = time.monotonic_ns()
                if deadline > now:
                    time.sleep((deadline - now) / 1e9)
                    now = time.monotonic_ns()
                self.jitter.add((now - deadline) / 1e9)
                self.deadline_ns = deadline
                self.body()
                self.stats.periods += 1
                with self._lock:
                    shift, self._phase_shift_ns = self._phase_shift_ns, 0
                deadline += period + shift
                now = time.monotonic_ns()
                if now >= deadline:  # overran: skip to the next future deadline
                    skipped = (now - deadline) // period + 1
                    self.stats.overruns += 1
                    self.stats.missed += int(skipped)
                    deadline += skipped * period
        except BaseException as exc:  # surfaced to the owner via .error
            self.error = exc
            raise

    def summary(self) -> dict[str, float]:
        elapsed = max((time.monotonic_ns() - self.stats.started_ns) / 1e9, 1e-9)
        total = self.stats.periods + self.stats.missed
        return {
            "rate_hz": self.stats.periods / elapsed,
            "periods": self.stats.periods,
            "missed": self.stats.missed,
            "overruns": self.stats.overruns,
            "missed_pct": 100.0 * self.stats.missed / total if total else 0.0,
            "jitter_us": self.jitter.summary(1e6),
            "realtime": self.realtime,
        }
