"""Timing helpers of the control loops: PeriodicLoop deadlines/overruns, the cerebellum's
phase lock (driven by deadlines, not wake times), /clock decimation and the real-time factor
the body reports (robot_control.common.periodic, robot_control.cerebellum.node.PhaseLock).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from robot_control.cerebellum.node import PhaseLock
from robot_control.common.periodic import PeriodicLoop, RealTimeFactor, every_n_cycles, poll_until
from robot_control.common.ros import topic_remap_args

pytestmark = pytest.mark.unit

PERIOD_NS = 1_000_000


class FakeLoop:
    """Just what PhaseLock.update touches: the current cycle's deadline and shift_phase."""

    def __init__(self) -> None:
        self.deadline_ns = 0
        self.pending_ns = 0

    def shift_phase(self, delta_s: float) -> None:
        self.pending_ns += int(delta_s * 1e9)


def run_phase_lock(wake_jitter_ns: np.ndarray, use_wake_time: bool) -> float:
    """Close the loop for len(jitter) cycles; returns the final phase (deadline - arrival) in µs.

    States arrive at a fixed phase (every k ms + 300 µs); the loop wakes `jitter` after its
    deadline. The lock should settle with deadlines 150 µs after arrivals whatever the jitter.
    """
    lock = PhaseLock(PERIOD_NS / 1e9, 150e-6)
    loop = FakeLoop()
    deadline = 0
    phases = []
    for jitter in wake_jitter_ns:
        loop.deadline_ns = deadline
        arrival = (deadline // PERIOD_NS) * PERIOD_NS + 300_000
        if arrival > deadline:  # the latest state that arrived before this tick
            arrival -= PERIOD_NS
        if use_wake_time:  # what the node used to do: phase error from the actual wake time
            loop.shift_phase(lock.correction_s(deadline + int(jitter), arrival))
        else:
            lock.update(loop, arrival)
        phases.append(((deadline - arrival) % PERIOD_NS) / 1e3)
        deadline += PERIOD_NS + loop.pending_ns
        loop.pending_ns = 0
    return float(np.mean(phases[-200:]))


def test_phase_lock_settles_on_target_from_deadlines_whatever_the_wake_jitter() -> None:
    rng = np.random.default_rng(0)
    jitter = rng.exponential(200_000, 4000)  # late wakes, mean 200 µs (a loaded 2-core machine)
    assert run_phase_lock(jitter, use_wake_time=False) == pytest.approx(150.0, abs=5.0)
    assert run_phase_lock(np.zeros(4000), use_wake_time=False) == pytest.approx(150.0, abs=5.0)
    # Feeding back the wake time instead (what the node used to do) biases the schedule by
    # the lateness; the wake-up noise is never zero-mean, so the lock settles off target.
    biased = run_phase_lock(jitter, use_wake_time=True)
    off_by = (biased - 150.0 + 500.0) % 1000.0 - 500.0  # circular distance on the 1 ms period
    assert abs(off_by) > 50.0


def test_phase_lock_update_uses_the_loop_deadline() -> None:
    lock = PhaseLock(PERIOD_NS / 1e9, 150e-6)
    loop = FakeLoop()
    loop.deadline_ns = 10 * PERIOD_NS + 500_000  # 500 µs after an arrival at 10 ms: 350 µs late
    shift = lock.update(loop, 10 * PERIOD_NS)
    assert shift < 0 and loop.pending_ns == int(shift * 1e9)
    assert shift == lock.correction_s(loop.deadline_ns, 10 * PERIOD_NS)


def test_phase_lock_with_a_negative_offset_ticks_before_the_state_it_waits_for() -> None:
    """state_wait_us: the tick comes 30 µs before the usual arrival and the cycle uses the state
    that arrives next (after the tick); the lock must settle there, not a period away."""
    lock = PhaseLock(PERIOD_NS / 1e9, -30e-6)
    loop = FakeLoop()
    deadline = 123_456
    phases = []
    for _ in range(3000):
        loop.deadline_ns = deadline
        arrival = (deadline // PERIOD_NS) * PERIOD_NS + 300_000
        if arrival < deadline:  # the next state to arrive
            arrival += PERIOD_NS
        if arrival - deadline <= 250_000:  # within the wait: this cycle answers it
            lock.update(loop, arrival)
        phases.append(deadline - arrival)
        deadline += PERIOD_NS + loop.pending_ns
        loop.pending_ns = 0
    assert np.mean(phases[-200:]) == pytest.approx(-30_000, abs=2_000)


def test_poll_until_returns_as_soon_as_ready_and_gives_up_at_the_deadline() -> None:
    now = [0]
    sleeps: list[float] = []

    def clock() -> int:
        return now[0]

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += int(s * 1e9) + 5_000  # a sleep overshoots a little

    calls = []
    assert poll_until(lambda: len(calls) >= 3 or calls.append(1) is not None, 1_000_000, 20_000, clock, sleep)
    assert len(calls) == 3 and sleeps == [20e-6, 20e-6, 20e-6]
    now[0], sleeps[:] = 0, []
    assert not poll_until(lambda: False, 50_000, 20_000, clock, sleep)
    assert sleeps == [20e-6, 20e-6] and now[0] == 50_000
    now[0], sleeps[:] = 0, []
    assert not poll_until(lambda: False, 30_000, 20_000, clock, sleep)
    assert sleeps == [20e-6, 5e-6], "the last sleep ends at the deadline, not an interval later"
    now[0], sleeps[:] = 10**9, []
    assert not poll_until(lambda: False, 0, 20_000, clock, sleep) and sleeps == [], "checked once when late"
    assert poll_until(lambda: True, 0, 20_000, clock, sleep)


def test_periodic_loop_exposes_deadlines_and_counts_overruns() -> None:
    period_s = 0.01
    seen: list[int] = []
    loop: PeriodicLoop

    def body() -> None:
        seen.append(loop.deadline_ns)
        if len(seen) == 5:
            time.sleep(2.5 * period_s)  # overrun: the next two deadlines are skipped

    loop = PeriodicLoop(period_s, body, name="test")
    loop.start()
    deadline = time.monotonic() + 10.0
    while len(seen) < 12 and time.monotonic() < deadline:
        time.sleep(0.005)
    loop.stop()
    assert len(seen) >= 12 and loop.error is None
    steps = np.diff(seen)
    assert np.all(steps > 0)
    assert np.all(steps % loop.period_ns == 0), "deadlines are the schedule, not wake times"
    summary = loop.summary()
    assert summary["overruns"] >= 1 and summary["missed"] >= 2
    assert steps[4] >= 3 * loop.period_ns  # the two deadlines after the long cycle were skipped


@pytest.mark.parametrize(("rate", "wanted", "every"),
                         [(1000, 250, 4), (1000, 300, 3), (500, 250, 2), (1000, 1000, 1), (1000, 5000, 1),
                          (1000, 0, 0), (1000, -1, 0)])
def test_every_n_cycles(rate: float, wanted: float, every: int) -> None:
    assert every_n_cycles(rate, wanted) == every


def test_real_time_factor() -> None:
    rtf = RealTimeFactor()
    assert rtf.update(100.0, 0.0) is None
    assert rtf.update(101.0, 0.5) == pytest.approx(0.5)  # the sim fell behind
    assert rtf.update(101.0, 0.7) == pytest.approx(0.5)  # no wall time elapsed: unchanged
    assert rtf.update(103.0, 2.5) == pytest.approx(1.0)


def test_topic_remap_args_for_the_control_threads_io_node() -> None:
    """The io node takes the process's topic remaps, not its node-name ones (or it would be
    named like the cerebellum), and node-specific rules only when they name the cerebellum."""
    argv = ["cerebellum", "--ros-args", "-r", "__node:=cerebellum", "-r", "__ns:=/robot",
            "-r", "/joint_states:=/g1/joint_states", "--remap", "cerebellum:/imu/data:=/g1/imu",
            "-r", "body:/joint_commands:=/x", "--params-file", "p.yaml"]
    assert topic_remap_args(argv, "cerebellum") == [
        "--ros-args", "-r", "/joint_states:=/g1/joint_states", "-r", "/imu/data:=/g1/imu"]
    assert topic_remap_args(["cerebellum", "--ros-args", "-r", "__node:=cerebellum"], "cerebellum") == []
    assert topic_remap_args(["x", "-r", "/a:=/b"], "cerebellum") == []  # not a ROS argument
