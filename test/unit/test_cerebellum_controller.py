"""Controller: modes, guard semantics and output invariants, simulated with explicit times."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_control.cerebellum import (
    Controller,
    ControllerConfig,
    ControlOutput,
    JointLimits,
    JointTrajectory,
)
from robot_control.cerebellum.controller import MODE_HISTORY, parse_mode_history

pytestmark = pytest.mark.unit

NAMES = ("hip", "knee", "elbow")
LOWER = np.array([-1.0, -1.0, -1.0])
UPPER = np.array([1.0, 1.0, 2.0])
VMAX = np.array([2.0, 2.0, 2.0])
AMAX = np.array([20.0, 20.0, 20.0])
EMAX = np.array([10.0, 10.0, 10.0])
LIMITS = JointLimits.from_lists(NAMES, LOWER, UPPER, VMAX, AMAX, EMAX)
DT = 0.001
LEVEL = (0.0, 0.0, 0.0, 1.0)


def make(postures: dict[str, dict[str, float]] | None = None, **config: object) -> Controller:
    # tests of other features send one long trajectory: keep the stale-setpoint watchdog out of the way
    config.setdefault("setpoint_timeout_s", 10.0)
    return Controller(NAMES, LIMITS, ControllerConfig(**config), postures)  # type: ignore[arg-type]


class Sim:
    """A perfect position servo: the measured state is the previous command."""

    def __init__(self, controller: Controller, start: tuple[float, ...] = (0.0, 0.0, 0.0)) -> None:
        self.c = controller
        self.k = 0
        self.q = np.array(start, dtype=float)
        self.qd = np.zeros(len(start))
        self.state = True
        self.outputs: list[ControlOutput] = []

    @property
    def now(self) -> float:
        return self.k * DT

    def tick(self) -> ControlOutput:
        if self.state:
            self.c.update_state(self.now, self.q, self.qd)
        out = self.c.step(self.now)
        if out.valid:
            self.q, self.qd = out.position.copy(), out.velocity.copy()
        self.outputs.append(out)
        self.k += 1
        return out

    def run(self, seconds: float) -> ControlOutput:
        out = self.outputs[-1] if self.outputs else None
        for _ in range(int(round(seconds / DT))):
            out = self.tick()
        assert out is not None
        return out


def traj(times: list[float], positions: list[list[float]], names: tuple[str, ...] = NAMES,
         velocities: list[list[float]] | None = None) -> JointTrajectory:
    return JointTrajectory(names, np.array(times), np.array(positions),
                           None if velocities is None else np.array(velocities))


def assert_within_limits(outputs: list[ControlOutput]) -> None:
    valid = [o for o in outputs if o.valid]
    pos = np.array([o.position for o in valid])
    vel = np.array([o.velocity for o in valid])
    eff = np.array([o.effort for o in valid])
    assert (pos >= LOWER - 1e-12).all() and (pos <= UPPER + 1e-12).all()
    assert (np.abs(vel) <= VMAX + 1e-9).all()
    assert (np.abs(np.diff(vel, axis=0)) <= AMAX * DT + 1e-9).all()
    assert (np.abs(eff) <= EMAX + 1e-12).all()


def test_no_output_before_state() -> None:
    c = make()
    out = c.step(0.0)
    assert not out.valid and out.mode == "idle"
    assert out.position.size == 0 and out.velocity.size == 0 and out.effort.size == 0
    ok, reason = c.set_trajectory(0.0, traj([1.0], [[0.1, 0.1, 0.1]]))
    assert not ok and reason == "no joint state received yet"
    assert c.status()["mode"] == "idle"
    c.update_state(0.01, [0.1, 0.2, 0.3])
    out = c.step(0.01)
    assert out.valid and out.mode == "hold"
    np.testing.assert_allclose(out.position, [0.1, 0.2, 0.3])
    np.testing.assert_allclose(out.velocity, 0.0)
    np.testing.assert_allclose(out.effort, 0.0)


def test_tracks_trajectory_then_holds_last_point() -> None:
    sim = Sim(make())
    sim.tick()
    ok, reason = sim.c.set_trajectory(sim.now, traj([0.5, 1.0], [[0.3, -0.2, 0.5], [0.5, 0.1, 1.0]]))
    assert ok, reason
    out = sim.run(0.5)
    assert out.mode == "tracking" and out.active_guard == ""
    np.testing.assert_allclose(out.position, [0.3, -0.2, 0.5], atol=2e-3)  # one period of motion
    out = sim.run(0.7)
    assert out.mode == "hold"
    np.testing.assert_allclose(out.position, [0.5, 0.1, 1.0], atol=1e-9)
    np.testing.assert_allclose(out.velocity, 0.0, atol=1e-9)
    assert all(o.limited == 0 for o in sim.outputs)  # a feasible trajectory is never clamped
    assert_within_limits(sim.outputs)
    assert sim.c.status()["trajectories_accepted"] == 1


def test_partial_trajectory_keeps_other_joints_target() -> None:
    sim = Sim(make(), start=(0.2, 0.0, 0.4))
    sim.tick()
    assert sim.c.set_trajectory(sim.now, traj([0.3], [[0.5]], names=("knee",)))[0]
    out = sim.run(0.5)
    np.testing.assert_allclose(out.position, [0.2, 0.5, 0.4], atol=1e-9)


def test_new_trajectory_replaces_active_one_continuously() -> None:
    sim = Sim(make())
    sim.tick()
    sim.c.set_trajectory(sim.now, traj([1.0], [[0.8, 0.8, 0.8]]))
    sim.run(0.4)
    moving = sim.outputs[-1].velocity.copy()
    assert (np.abs(moving) > 0.5).all()
    switch = len(sim.outputs)
    assert sim.c.set_trajectory(sim.now, traj([1.0], [[-0.2, 0.0, 0.9]]))[0]
    out = sim.tick()
    # starts from the current commanded position and velocity: no jump, no clamp
    np.testing.assert_allclose(out.velocity, moving, atol=0.05)
    out = sim.run(1.1)
    np.testing.assert_allclose(out.position, [-0.2, 0.0, 0.9], atol=1e-9)
    assert all(o.limited == 0 for o in sim.outputs[switch:])
    assert_within_limits(sim.outputs)


def test_estop_latches_holds_and_blocks_trajectories_until_reset() -> None:
    sim = Sim(make())
    sim.tick()
    sim.c.set_trajectory(sim.now, traj([1.0], [[0.8, 0.8, 0.8]]))
    sim.run(0.5)
    at_stop = sim.outputs[-1].position.copy()
    sim.c.estop("operator button")
    out = sim.tick()
    assert out.mode == "estop" and out.active_guard == "estop"
    ok, reason = sim.c.set_trajectory(sim.now, traj([0.5], [[0.0, 0.0, 0.0]]))
    assert not ok and reason == "e-stop engaged: operator button; call reset"
    sim.c.hold(sim.now, "ignored while stopped")
    out = sim.run(1.0)
    assert out.mode == "estop"  # latched: time alone does not clear it
    # holds the position commanded at the e-stop (decelerating within the limits), velocity 0
    np.testing.assert_allclose(out.position, at_stop, atol=1e-9)
    np.testing.assert_allclose(out.velocity, 0.0, atol=1e-9)
    assert sim.c.status()["estop_reason"] == "operator button"
    assert_within_limits(sim.outputs)

    ok, message = sim.c.reset()
    assert ok, message
    out = sim.tick()
    assert out.mode == "hold" and out.active_guard == ""
    assert sim.c.set_trajectory(sim.now, traj([0.5], [[0.0, 0.0, 0.0]]))[0]
    assert sim.run(0.6).position == pytest.approx([0.0, 0.0, 0.0])


def test_reset_rearms_at_measured_position() -> None:
    c = make()
    c.update_state(0.0, [0.1, 0.1, 0.1])
    c.step(0.0)
    c.estop("test")
    c.update_state(0.001, [0.15, 0.1, 0.1])  # e.g. pushed while stopped
    c.step(0.001)
    assert c.reset(0.001)[0]
    c.update_state(0.002, [0.15, 0.1, 0.1])
    positions = []
    for k in range(2, 500):
        c.update_state(k * DT, [0.15, 0.1, 0.1])
        positions.append(c.step(k * DT).position[0])
    assert positions[-1] == pytest.approx(0.15)


def test_reset_without_latch_and_before_state() -> None:
    c = make()
    assert c.reset() == (True, "nothing to reset: no e-stop or tilt stop engaged")
    c.estop("early")
    assert c.step(0.0).mode == "idle"  # never commands before a state, even when stopped
    assert c.reset() == (True, "reset; waiting for joint state")


def test_tilt_stop_latches_and_reset_requires_level() -> None:
    sim = Sim(make(max_roll_rad=0.5, max_pitch_rad=0.5))
    sim.tick()
    sim.c.set_trajectory(sim.now, traj([1.0], [[0.8, 0.8, 0.8]]))
    sim.run(0.3)
    roll = 0.8
    tilted = (math.sin(roll / 2), 0.0, 0.0, math.cos(roll / 2))
    reason = sim.c.update_imu(sim.now, tilted)
    assert reason is not None and "roll 0.80" in reason
    out = sim.tick()
    assert out.mode == "tilt_stop" and out.active_guard == "tilt"
    assert not sim.c.set_trajectory(sim.now, traj([0.5], [[0.0, 0.0, 0.0]]))[0]
    ok, message = sim.c.reset()
    assert not ok and "tilt still beyond bound" in message
    sim.c.update_imu(sim.now, LEVEL)
    assert sim.run(0.5).mode == "tilt_stop"  # level again, but latched
    ok, message = sim.c.reset()
    assert ok, message
    assert sim.tick().mode == "hold"
    assert_within_limits(sim.outputs)


def test_yaw_does_not_trip_tilt() -> None:
    sim = Sim(make(max_roll_rad=0.3, max_pitch_rad=0.3))
    yaw = 3.0
    assert sim.c.update_imu(0.0, (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))) is None
    assert sim.tick().mode == "hold"


def test_stale_setpoint_holds_within_one_period_after_deadline() -> None:
    sim = Sim(make(setpoint_timeout_s=0.1))
    sim.tick()
    fed_at = sim.now
    sim.c.set_trajectory(fed_at, traj([2.0], [[0.9, 0.9, 0.9]]))
    while sim.now <= fed_at + 0.1 + 1e-12:
        assert sim.tick().mode == "tracking"
    t_hold = sim.now
    out = sim.tick()  # first period past the deadline
    assert sim.now - DT - fed_at <= 0.1 + DT + 1e-9
    assert out.mode == "stale_setpoint_hold" and out.active_guard == "stale_setpoint"
    # the status says when the guard acted (step clock), however late it is read
    assert float(sim.c.status()["mode_since_s"]) == pytest.approx(t_hold, abs=1e-6)
    frozen = sim.outputs[-2].position.copy()
    out = sim.run(1.0)
    assert out.mode == "stale_setpoint_hold"  # stays until a new setpoint
    assert float(sim.c.status()["mode_since_s"]) == pytest.approx(t_hold, abs=1e-6)
    np.testing.assert_allclose(out.position, frozen, atol=1e-3)  # stopped, far from the 0.9 goal
    assert (out.position < 0.2).all()
    assert "no setpoint for" in sim.c.status()["hold_reason"]
    assert sim.c.set_trajectory(sim.now, traj([0.2], [[0.1, 0.1, 0.1]]))[0]
    assert sim.tick().mode == "tracking"
    assert_within_limits(sim.outputs)
    # every change is in the status's history, timed on the step clock, oldest first
    history = parse_mode_history(sim.c.status()["mode_history"])
    assert [m for _, m in history] == ["hold", "tracking", "stale_setpoint_hold", "tracking"]
    assert history[2][0] == pytest.approx(t_hold, abs=1e-6)
    assert history[2][0] < history[3][0] <= sim.now


def test_mode_history_keeps_the_last_changes_only() -> None:
    sim = Sim(make(setpoint_timeout_s=0.1))
    sim.tick()
    for _ in range(MODE_HISTORY):
        sim.c.set_trajectory(sim.now, traj([0.01], [[0.1, 0.1, 0.1]]))
        sim.run(0.05)  # tracking, then hold when it ends
    history = parse_mode_history(sim.c.status()["mode_history"])
    assert len(history) == MODE_HISTORY
    assert [m for _, m in history[-2:]] == ["tracking", "hold"]
    assert all(a[0] < b[0] for a, b in zip(history, history[1:], strict=False))
    assert parse_mode_history("1.5:hold junk 2.0:tracking") == [(1.5, "hold"), (2.0, "tracking")]


def test_streaming_setpoints_keep_tracking() -> None:
    sim = Sim(make(setpoint_timeout_s=0.1))
    sim.tick()
    for i in range(25):  # a 50 Hz policy sending 0.1 s chunks
        goal = 0.02 * (i + 1)
        sim.c.set_trajectory(sim.now, traj([0.1], [[goal, goal, goal]]))
        for _ in range(20):
            assert sim.tick().mode == "tracking"
    assert sim.c.status()["trajectories_accepted"] == 25


def test_finished_streaming_trajectory_just_holds() -> None:
    sim = Sim(make(setpoint_timeout_s=0.1))
    sim.tick()
    sim.c.set_trajectory(sim.now, traj([0.05], [[0.02, 0.0, 0.0]]))
    out = sim.run(0.5)
    assert out.mode == "hold" and out.active_guard == ""
    np.testing.assert_allclose(out.position, [0.02, 0.0, 0.0])


def test_planned_trajectory_is_not_cut_by_setpoint_timeout() -> None:
    sim = Sim(make(setpoint_timeout_s=0.1))
    sim.tick()
    sim.c.set_trajectory(sim.now, traj([1.0], [[0.5, 0.5, 0.5]]), streaming=False)
    assert sim.run(0.8).mode == "tracking"
    out = sim.run(0.5)
    assert out.mode == "hold"
    np.testing.assert_allclose(out.position, [0.5, 0.5, 0.5])


def test_stale_state_holds_last_command_and_recovers() -> None:
    sim = Sim(make(state_timeout_s=0.02))
    sim.tick()
    sim.c.set_trajectory(sim.now, traj([1.0], [[0.5, 0.5, 0.5]]))
    sim.run(0.3)
    sim.state = False  # feedback stops
    sim.run(0.02)
    out = sim.tick()
    assert out.mode == "stale_state_hold" and out.active_guard == "stale_state"
    np.testing.assert_allclose(out.effort, 0.0)
    ok, reason = sim.c.set_trajectory(sim.now, traj([0.5], [[0.0, 0.0, 0.0]]))
    assert not ok and "joint state is stale" in reason
    ok, message = sim.c.reset()
    assert ok and message.startswith("nothing to reset")
    held = sim.run(0.5).position.copy()
    sim.state = True
    out = sim.tick()
    assert out.mode == "hold"  # trajectory was dropped, no resumption
    out = sim.run(0.5)
    np.testing.assert_allclose(out.position, held, atol=1e-9)
    assert_within_limits(sim.outputs)


def test_reset_refused_while_state_stale() -> None:
    sim = Sim(make(state_timeout_s=0.02))
    sim.tick()
    sim.c.estop("test")
    sim.state = False
    sim.run(0.1)
    ok, message = sim.c.reset()
    assert not ok and "joint state is stale" in message
    sim.state = True
    sim.tick()
    assert sim.c.reset()[0]


def test_nan_trajectory_rejected_and_controller_keeps_holding() -> None:
    sim = Sim(make(), start=(0.1, 0.2, 0.3))
    sim.run(0.01)
    ok, reason = sim.c.set_trajectory(sim.now, traj([0.5], [[0.0, math.nan, 0.0]]))
    assert not ok and reason == "point 0: joint knee position is nan"
    out = sim.run(0.2)
    assert out.mode == "hold"
    np.testing.assert_allclose(out.position, [0.1, 0.2, 0.3])
    status = sim.c.status()
    assert status["trajectories_rejected"] == 1 and status["last_rejection"] == reason
    # while tracking, a bad trajectory leaves the running one alone
    sim.c.set_trajectory(sim.now, traj([0.5], [[0.0, 0.0, 0.0]]))
    sim.run(0.1)
    assert not sim.c.set_trajectory(sim.now, traj([0.5], [[0.0, 5.0, 0.0]]))[0]
    assert sim.tick().mode == "tracking"
    np.testing.assert_allclose(sim.run(0.5).position, 0.0, atol=1e-9)


def test_nan_state_rejected_and_eventually_stale() -> None:
    c = make(state_timeout_s=0.02)
    c.update_state(0.0, [0.0, 0.0, 0.0])
    c.step(0.0)
    reason = c.update_state(0.001, [0.0, math.nan, 0.0])
    assert reason == "joint state: joint knee position is nan"
    assert c.update_state(0.001, [0.0, 0.0]) == "joint state: 2 position(s) for 3 joint(s)"
    out = c.step(0.001)
    assert out.mode == "hold" and np.isfinite(out.position).all()
    for k in range(2, 40):
        c.update_state(k * DT, [0.0, math.nan, 0.0])
        out = c.step(k * DT)
    assert out.mode == "stale_state_hold" and np.isfinite(out.position).all()
    assert c.status()["states_rejected"] == 40


def test_effort_is_pd_estimate_clamped_to_max_effort() -> None:
    c = make(kp=100.0, kd=1.0)
    c.update_state(0.0, [0.0, 0.0, 0.0])
    c.step(0.0)
    c.update_state(0.001, [-0.05, 0.5, 0.0], [0.0, 0.0, 2.0])
    out = c.step(0.001)
    np.testing.assert_allclose(out.effort, [5.0, -10.0, -2.0])  # 100*0.05; clamp(-50); 1*(0-2)
    assert out.limited == 1


def test_gains_per_joint() -> None:
    c = make(kp={"hip": 10.0, "*": 0.0}, kd=[0.0, 0.0, 0.0])
    c.update_state(0.0, [0.0, 0.0, 0.0])
    c.step(0.0)
    c.update_state(0.001, [-0.1, -0.1, -0.1])
    np.testing.assert_allclose(c.step(0.001).effort, [1.0, 0.0, 0.0])


def test_hold_stops_tracking() -> None:
    sim = Sim(make())
    sim.tick()
    sim.c.set_trajectory(sim.now, traj([1.0], [[0.8, 0.8, 0.8]]))
    sim.run(0.3)
    sim.c.hold(sim.now, "operator hold")
    at_hold = sim.outputs[-1].position.copy()
    out = sim.run(0.5)
    assert out.mode == "hold" and sim.c.status()["hold_reason"] == "operator hold"
    np.testing.assert_allclose(out.position, at_hold, atol=1e-9)


def test_move_to_posture() -> None:
    sim = Sim(make(postures={"stand": {"knee": 0.3, "elbow": 0.5}}, posture_min_duration_s=0.2))
    sim.tick()
    assert sim.c.move_to_posture(sim.now, "stand")[0]
    out = sim.run(1.45)  # elbow: 1.5 * 0.5 rad / (0.25 * 2 rad/s) = 1.5 s
    assert out.mode == "tracking"
    out = sim.run(0.1)
    assert out.mode == "hold"
    np.testing.assert_allclose(out.position, [0.0, 0.3, 0.5], atol=1e-9)
    assert max(np.abs(o.velocity).max() for o in sim.outputs) <= 0.25 * 2.0 + 1e-9
    ok, reason = sim.c.move_to_posture(sim.now, "sit")
    assert not ok and "unknown posture 'sit'" in reason
    with pytest.raises(ValueError, match="posture bad: joint knee position 5.000 outside"):
        make(postures={"bad": {"knee": 5.0}})


def test_outputs_always_within_limits_under_random_commands() -> None:
    rng = np.random.default_rng(7)
    sim = Sim(make(setpoint_timeout_s=0.05))
    sim.tick()
    for _ in range(40):
        action = rng.integers(0, 6)
        if action <= 2:
            n = int(rng.integers(1, 4))
            times = np.cumsum(rng.uniform(0.05, 0.3, n))
            # some points sit on a bound; time_from_start may be 0 (a jump the limiter must smooth)
            positions = np.clip(rng.uniform(-1.5, 2.5, (n, 3)), LOWER, UPPER)
            if action == 2:
                times = times - times[0]
            sim.c.set_trajectory(sim.now, JointTrajectory(NAMES, times, positions), streaming=bool(action))
        elif action == 3:
            sim.c.hold(sim.now)
        elif action == 4:
            sim.c.estop("random")
        else:
            sim.c.reset()
        sim.run(float(rng.uniform(0.01, 0.2)))
    assert_within_limits(sim.outputs)
    assert {o.mode for o in sim.outputs} >= {"tracking", "hold", "estop"}


def test_status_has_plain_values() -> None:
    sim = Sim(make())
    sim.run(0.01)
    status = sim.c.status()
    for key in ("mode", "active_guard", "estop_reason", "last_rejection", "trajectories_accepted",
                "trajectories_rejected", "limited_joints"):
        assert key in status
    assert all(v is None or isinstance(v, (str, int, float, bool)) for v in status.values())
    assert status["mode"] == "hold" and status["state_age_s"] == pytest.approx(0.0)
