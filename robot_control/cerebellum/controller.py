"""The cerebellum joint controller: trajectories in, limited joint commands out, at 1 kHz.

Pure numpy, no ROS: the node feeds measured state, IMU orientation and trajectories with
explicit monotonic timestamps and calls :meth:`Controller.step` once per control period.

Modes (``ControlOutput.mode``), highest priority first:

``idle``
    No valid joint state received yet. ``valid`` is False and the arrays are empty: nothing
    is ever commanded before a measured state exists.
``estop``
    Latched e-stop (:meth:`Controller.estop`). Holds the position commanded at the moment of
    the e-stop (the measured one if nothing was commanded yet) with zero velocity.
``tilt_stop``
    Latched tilt trip (|roll| or |pitch| beyond bound, or a bad IMU quaternion). Same hold.
``stale_state_hold``
    The last valid joint state is older than ``state_timeout_s``: hold the last command
    (velocity 0, effort feed-forward 0: a PD estimate from stale feedback would be wrong).
    The active trajectory is dropped; when fresh state returns the mode becomes ``hold``.
``stale_setpoint_hold``
    A *streaming* trajectory is still unfinished but no new setpoint arrived for more than
    ``setpoint_timeout_s``: the trajectory is dropped at the first step past the deadline and
    the controller holds the current commanded position until a new trajectory is accepted.
``tracking``
    Following the active trajectory.
``hold``
    Holding a target (after start-up, a finished trajectory, :meth:`Controller.hold`, or a reset).

Stale-setpoint semantics: trajectories passed with ``streaming=True`` (the default; e.g. a
skill policy publishing short trajectories at 20-50 Hz) arm the setpoint watchdog, and each
one feeds it. A trajectory that *finishes* simply holds its last point, whatever the feed
does (mode ``hold``). One that is still running when the feed stops is cut after
``setpoint_timeout_s``, so a dead policy never keeps executing a stale prediction.
Planned motions (an action goal, :meth:`Controller.move_to_posture`) should be passed with
``streaming=False``: they disarm the watchdog and run to completion.

Every output, holds included, passes through :class:`CommandLimiter`, so commands stay
within position limits and change at most at max velocity / acceleration.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from robot_control.cerebellum.guards import EStop, StaleSetpointWatchdog, StateWatchdog, TiltGuard
from robot_control.cerebellum.interpolation import JointTrajectory, TrajectorySampler
from robot_control.cerebellum.limits import CommandLimiter, JointLimits
from robot_control.cerebellum.validation import summarize, validate_state, validate_trajectory
from robot_control.common.config import ConfigError, Section

FloatArray = np.ndarray
Gains = float | tuple[float, ...] | Mapping[str, float]

MODE_HISTORY = 16
MODES = ("idle", "hold", "tracking", "estop", "tilt_stop", "stale_setpoint_hold", "stale_state_hold")
_EMPTY = np.zeros(0)
_EMPTY.setflags(write=False)


def parse_mode_history(text: str) -> list[tuple[float, str]]:
    """The status's ``mode_history`` ("t:mode ...") as [(step time, mode)], oldest first;
    malformed entries are skipped."""
    out: list[tuple[float, str]] = []
    for item in text.split():
        when, _, mode = item.partition(":")
        try:
            out.append((float(when), mode))
        except ValueError:
            continue
    return out


def _gains_from(section: Section, key: str, default: float) -> Gains:
    """A gain: a number >= 0, a list of them (joint order) or a mapping joint -> number."""
    value = section.raw(key, default)
    if isinstance(value, list):
        if not value:
            where = section.item(key, 0).rsplit("[", 1)[0]
            raise ConfigError(f"{where}: empty list (expected one gain per joint)")
        for i, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (int, float)) or not (
                    math.isfinite(item) and item >= 0):
                raise ConfigError(f"{section.item(key, i)}: expected a finite number >= 0, got {item!r}")
        return tuple(float(item) for item in value)
    if isinstance(value, Mapping):
        sub = section.section(key)
        return {str(name): sub.number(name, minimum=0.0) for name in value}
    # anything else must be a plain number (Section produces the error message otherwise)
    return section.number(key, default, minimum=0.0)


def resolve_gains(gains: Gains, joint_names: Sequence[str], label: str) -> FloatArray:
    """One gain per joint from a scalar, a list (joint order) or ``{joint: gain, '*': default}``."""
    n = len(joint_names)
    if isinstance(gains, (int, float)):
        return np.full(n, float(gains))
    if isinstance(gains, Mapping):
        unknown = sorted(set(gains) - set(joint_names) - {"*"})
        if unknown:
            raise ConfigError(f"{label}: unknown joint(s): {', '.join(unknown)}")
        missing = [j for j in joint_names if j not in gains]
        if missing and "*" not in gains:
            raise ConfigError(f"{label}: no gain for joint(s) {', '.join(missing)} "
                              "(add them or a '*' default)")
        return np.array([float(gains.get(j, gains.get("*", 0.0))) for j in joint_names])
    values = np.asarray(gains, dtype=float).reshape(-1)
    if values.size != n:
        raise ConfigError(f"{label}: {values.size} value(s) for {n} joint(s)")
    return values


@dataclass(frozen=True)
class ControllerConfig:
    """Cerebellum controller settings (``from_dict`` validates a YAML mapping).

    ``kp`` / ``kd`` (for the published PD effort estimate) are a scalar for every joint, a
    list in joint order, or a mapping ``{joint: gain}`` with an optional ``'*'`` default.
    ``posture_velocity_fraction`` / ``posture_min_duration_s`` shape
    :meth:`Controller.move_to_posture` motions; ``startup_posture`` (optional) names a
    posture the node may move to once armed (the controller itself never moves on its own:
    at start-up it holds the measured position).
    """

    rate_hz: float = 1000.0
    kp: Gains = 100.0
    kd: Gains = 2.0
    setpoint_timeout_s: float = 0.1
    state_timeout_s: float = 0.02
    max_roll_rad: float = 0.6
    max_pitch_rad: float = 0.6
    posture_velocity_fraction: float = 0.25
    posture_min_duration_s: float = 1.0
    startup_posture: str | None = None

    @property
    def dt(self) -> float:
        return 1.0 / self.rate_hz

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "cerebellum") -> ControllerConfig:
        s = Section({} if data is None else data, where)
        d = cls()
        rate_hz = s.number("rate_hz", d.rate_hz, positive=True, maximum=20000.0)
        period = 1.0 / rate_hz  # timeouts shorter than one control period cannot be honoured
        config = cls(
            rate_hz=rate_hz,
            kp=_gains_from(s, "kp", float(d.kp)),  # type: ignore[arg-type]
            kd=_gains_from(s, "kd", float(d.kd)),  # type: ignore[arg-type]
            setpoint_timeout_s=s.number("setpoint_timeout_s", d.setpoint_timeout_s, minimum=period),
            state_timeout_s=s.number("state_timeout_s", d.state_timeout_s, minimum=period),
            max_roll_rad=s.number("max_roll_rad", d.max_roll_rad, positive=True, maximum=math.pi),
            max_pitch_rad=s.number("max_pitch_rad", d.max_pitch_rad, positive=True, maximum=math.pi),
            posture_velocity_fraction=s.number("posture_velocity_fraction", d.posture_velocity_fraction,
                                               positive=True, maximum=1.0),
            posture_min_duration_s=s.number("posture_min_duration_s", d.posture_min_duration_s, minimum=0.0),
            startup_posture=s.str("startup_posture", None),
        )
        s.done()
        return config


@dataclass(slots=True)
class ControlOutput:
    """One control period's command, arrays in controller joint order.

    When ``valid`` is False (mode ``idle``) the arrays are empty and nothing must be sent.
    ``effort`` is the PD estimate ``kp*(q_cmd - q) + kd*(qd_cmd - qd)`` clipped to max_effort
    (zero while the joint state is stale: an estimate from old feedback would be wrong).
    ``limited`` counts joints on which a limit (position, velocity, acceleration, effort) acted.
    """

    valid: bool
    mode: str
    position: FloatArray
    velocity: FloatArray
    effort: FloatArray
    active_guard: str = ""
    limited: int = 0
    stamp: float = 0.0


class Controller:
    """Joint controller core; see the module docstring for modes and guard semantics.

    ``joint_names`` fixes the order of every array in and out. ``limits`` must cover those
    joints (any order, extra joints ignored). ``postures`` maps a name to ``{joint: position}``
    (a subset of joints is fine); they are checked against the limits here.
    Not thread-safe: call it from one thread (the node's control loop).
    """

    def __init__(
        self,
        joint_names: Sequence[str],
        limits: JointLimits,
        config: ControllerConfig | None = None,
        postures: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        self.config = config or ControllerConfig()
        self.joint_names = tuple(joint_names)
        if not self.joint_names or len(set(self.joint_names)) != len(self.joint_names):
            raise ValueError("controller: joint names must be non-empty and unique")
        self._n = len(self.joint_names)
        self._index = {name: i for i, name in enumerate(self.joint_names)}
        self.limits = limits.select(self.joint_names)
        self._dt = self.config.dt
        self._limiter = CommandLimiter(self.limits, self._dt)
        self._kp = resolve_gains(self.config.kp, self.joint_names, "kp")
        self._kd = resolve_gains(self.config.kd, self.joint_names, "kd")
        self.postures = self._check_postures(postures or {})
        if self.config.startup_posture is not None and self.config.startup_posture not in self.postures:
            raise ConfigError(f"startup_posture: unknown posture {self.config.startup_posture!r} "
                              f"(known: {', '.join(sorted(self.postures)) or 'none'})")

        self._estop = EStop()
        self._tilt = TiltGuard(self.config.max_roll_rad, self.config.max_pitch_rad)
        self._setpoint_wd = StaleSetpointWatchdog(self.config.setpoint_timeout_s)
        self._state_wd = StateWatchdog(self.config.state_timeout_s)

        self._meas_pos = np.zeros(self._n)
        self._meas_vel = np.zeros(self._n)
        self._zeros = np.zeros(self._n)
        self._zeros.setflags(write=False)
        self._cmd_pos: FloatArray | None = None
        self._cmd_vel: FloatArray | None = None
        self._target: FloatArray | None = None
        self._sampler: TrajectorySampler | None = None
        self._traj_idx: np.ndarray | None = None  # None: trajectory covers all joints in order
        self._streaming = False
        self._des_pos = np.zeros(self._n)
        self._des_vel = np.zeros(self._n)

        self._mode = "hold"  # resting mode when no latched guard applies
        self._hold_reason = "start-up: holding measured position"
        self._last_step: float | None = None
        self._last_mode = "idle"
        self._mode_since: float | None = None  # step time (the caller's clock) the mode began
        # the last MODE_HISTORY mode changes (step time, mode), oldest first: a status that
        # arrives late or after dropped ones still tells what the controller did and when
        self._mode_history: deque[tuple[float, str]] = deque(maxlen=MODE_HISTORY)
        self._last_guard = ""
        self._last_limited = 0
        self._last_rejection = ""
        self._last_state_problem = ""
        self._accepted = 0
        self._rejected = 0
        self._states_rejected = 0
        self._last_imu: float | None = None

    # ------------------------------------------------------------------ inputs

    def _check_postures(self, postures: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
        checked: dict[str, dict[str, float]] = {}
        for name, joints in postures.items():
            out: dict[str, float] = {}
            for joint, value in joints.items():
                if joint not in self._index:
                    raise ValueError(f"posture {name}: unknown joint {joint}")
                j = self._index[joint]
                value = float(value)
                lo, hi = float(self.limits.lower[j]), float(self.limits.upper[j])
                if not (math.isfinite(value) and lo <= value <= hi):
                    raise ValueError(f"posture {name}: joint {joint} position {value:.3f} outside "
                                     f"[{lo:.3f}, {hi:.3f}]")
                out[joint] = value
            checked[str(name)] = out
        return checked

    def update_state(self, now: float, position: Sequence[float] | FloatArray,
                     velocity: Sequence[float] | FloatArray | None = None) -> str | None:
        """Measured joint state (arrays in joint order). Returns a reason if it was rejected.

        A rejected sample (NaN/inf, wrong length) does not feed the state watchdog, so a
        persistently bad feed ends in ``stale_state_hold``.
        """
        reason = validate_state(position, self.joint_names, velocity)  # type: ignore[arg-type]
        if reason is not None:
            self._states_rejected += 1
            self._last_state_problem = reason
            return reason
        self._meas_pos[:] = position
        if velocity is None:
            self._meas_vel[:] = 0.0
        else:
            self._meas_vel[:] = velocity
        self._state_wd.feed(now)
        return None

    def note_state_problem(self, reason: str) -> None:
        """Count a joint-state sample rejected before :meth:`update_state` (by the node's
        message merging); like a rejected sample it does not feed the state watchdog."""
        self._states_rejected += 1
        self._last_state_problem = reason

    def update_imu(self, now: float, quat: Sequence[float]) -> str | None:
        """IMU orientation ``(x, y, z, w)``; returns the tilt trip reason if the tilt guard is tripped.

        Only call it with a real orientation (not when the IMU reports orientation unknown).
        """
        self._last_imu = now
        was = self._tilt.tripped
        reason = self._tilt.check(quat)
        if reason is not None and not was and not self._estop.engaged:
            self._freeze_target()
        return reason

    def set_trajectory(
        self,
        now: float,
        trajectory: JointTrajectory,
        *,
        streaming: bool = True,
        start_time: float | None = None,
    ) -> tuple[bool, str]:
        """Validate and start ``trajectory`` at ``start_time`` (default ``now``).

        Returns ``(accepted, reason)``. Rejected while e-stopped / tilt-stopped, before the
        first joint state, while the state is stale, or if validation fails; a rejection
        leaves the current motion or hold untouched. An accepted trajectory replaces the active
        one, starting from the current commanded position and velocity; joints it does not
        name keep their current target (if the replaced trajectory was moving them, they
        stop where they are commanded now). ``streaming`` selects the stale-setpoint
        semantics described in the module docstring.
        """
        reason = self._trajectory_blocker(now)
        if reason is None:
            reasons = validate_trajectory(trajectory, self._index, self.limits)
            if reasons:
                reason = summarize(reasons)
        if reason is not None:
            self._rejected += 1
            self._last_rejection = reason
            return False, reason

        names = tuple(trajectory.joint_names)
        idx = np.array([self._index[n] for n in names], dtype=np.intp)
        full = names == self.joint_names
        ref_pos, ref_vel = self._reference(now)
        target = self._current_target(ref_pos)
        if self._sampler is not None and self._traj_idx is not None:
            target[self._traj_idx] = ref_pos[self._traj_idx]
        elif self._sampler is not None:
            target[:] = ref_pos
        self._target = target
        self._sampler = TrajectorySampler(trajectory, now if start_time is None else start_time,
                                          ref_pos[idx], ref_vel[idx])
        self._traj_idx = None if full else idx
        self._streaming = streaming
        if streaming:
            self._setpoint_wd.feed(now)
        else:
            self._setpoint_wd.disarm()
        self._mode = "tracking"
        self._hold_reason = ""
        self._accepted += 1
        return True, "accepted"

    def move_to_posture(self, now: float, name: str, duration_s: float | None = None) -> tuple[bool, str]:
        """Start a planned (non-streaming) move to the named posture; joints it omits keep their target.

        Default duration: long enough that the cubic profile's peak speed stays under
        ``posture_velocity_fraction * max_velocity`` on every joint, and at least
        ``posture_min_duration_s``.
        """
        if name not in self.postures:
            reason = f"unknown posture {name!r} (known: {', '.join(sorted(self.postures)) or 'none'})"
            self._rejected += 1
            self._last_rejection = reason
            return False, reason
        posture = self.postures[name]
        if not posture:
            return True, f"posture {name} names no joints"
        blocker = self._trajectory_blocker(now)
        if blocker is not None:
            self._rejected += 1
            self._last_rejection = blocker
            return False, blocker
        joints = tuple(posture)
        idx = np.array([self._index[j] for j in joints], dtype=np.intp)
        goal = np.array([posture[j] for j in joints])
        ref_pos, _ = self._reference(now)
        if duration_s is None:
            speed = self.config.posture_velocity_fraction * self.limits.max_velocity[idx]
            # a rest-to-rest cubic peaks at 1.5 * distance / duration
            duration_s = max(self.config.posture_min_duration_s,
                             float(np.max(1.5 * np.abs(goal - ref_pos[idx]) / speed)), self._dt)
        trajectory = JointTrajectory(joints, np.array([duration_s]), goal[None, :])
        return self.set_trajectory(now, trajectory, streaming=False)

    def hold(self, now: float, reason: str = "hold requested") -> None:
        """Stop any trajectory and hold the current commanded position (measured if none yet).

        Has no effect on a latched e-stop / tilt stop (they already hold).
        """
        if self._estop.engaged or self._tilt.tripped:
            return
        self._freeze_target()
        self._mode = "hold"
        self._hold_reason = reason

    def estop(self, reason: str = "e-stop requested") -> None:
        """Engage the latched e-stop: hold the current commanded position until :meth:`reset`."""
        if self._estop.engage(reason) and not self._tilt.tripped:
            self._freeze_target()

    def reset(self, now: float | None = None) -> tuple[bool, str]:
        """Clear the e-stop and the tilt latch, re-arming at the measured position.

        Refused while the last IMU orientation is still beyond the tilt bounds (or invalid),
        and while the joint state is stale (``now`` defaults to the last step time).
        Without any latch it does nothing and reports so.
        """
        if not self._estop.engaged and not self._tilt.tripped:
            return True, "nothing to reset: no e-stop or tilt stop engaged"
        if self._tilt.tripped:
            problem = self._tilt.level_problem()
            if problem is not None:
                return False, f"refusing reset: tilt still beyond bound ({problem}); level the robot first"
        when = self._last_step if now is None else now
        if self._state_wd.has_state and when is not None and self._state_wd.stale(when):
            age = self._state_wd.age(when)
            return False, f"refusing reset: joint state is stale ({age:.3f} s old); cannot re-arm"
        self._estop.reset()
        self._tilt.reset()
        self._sampler = None
        self._traj_idx = None
        self._setpoint_wd.disarm()
        self._mode = "hold"
        if not self._state_wd.has_state:
            self._target = None
            self._hold_reason = "reset before any joint state"
            return True, "reset; waiting for joint state"
        self._target = self._meas_pos.copy()
        self._hold_reason = "re-armed after reset"
        return True, "reset; holding measured position"

    # ------------------------------------------------------------------ helpers

    def _trajectory_blocker(self, now: float) -> str | None:
        if self._estop.engaged:
            return f"e-stop engaged: {self._estop.reason}; call reset"
        if self._tilt.tripped:
            return f"tilt stop engaged: {self._tilt.reason}; call reset"
        if not self._state_wd.has_state:
            return "no joint state received yet"
        if self._state_wd.stale(now):
            return f"joint state is stale ({self._state_wd.age(now):.3f} s old)"
        return None

    def _reference(self, now: float) -> tuple[FloatArray, FloatArray]:
        """Commanded position/velocity carried forward to ``now`` (measured position, zero
        velocity if nothing was commanded yet).

        The last command is valid at the last step time; extrapolating it to ``now`` (by at
        most two periods) makes a trajectory started at ``now`` continue it seamlessly.
        """
        if self._cmd_pos is None or self._cmd_vel is None:
            return self._meas_pos.copy(), np.zeros(self._n)
        elapsed = 0.0 if self._last_step is None else min(max(now - self._last_step, 0.0), 2.0 * self._dt)
        return self._cmd_pos + self._cmd_vel * elapsed, self._cmd_vel.copy()

    def _current_target(self, fallback: FloatArray) -> FloatArray:
        return fallback.copy() if self._target is None else self._target.copy()

    def _freeze_target(self) -> None:
        """Drop the trajectory and hold where we are commanded now (measured if never commanded)."""
        self._sampler = None
        self._traj_idx = None
        self._setpoint_wd.disarm()
        if self._cmd_pos is not None:
            self._target = self._cmd_pos.copy()
        elif self._state_wd.has_state:
            self._target = self._meas_pos.copy()
        else:
            self._target = None  # set from the first measured state in step()

    # ------------------------------------------------------------------ the loop

    def step(self, now: float) -> ControlOutput:
        """Compute the command for this control period (call once per period)."""
        if not self._state_wd.has_state:
            self._set_mode("idle", now)
            self._last_guard, self._last_limited = "", 0
            return ControlOutput(False, "idle", _EMPTY, _EMPTY, _EMPTY, self._guard_name(), 0, now)
        if self._target is None:
            self._target = self._meas_pos.copy()

        stale_state = self._state_wd.stale(now)
        des_pos = self._target
        des_vel: FloatArray | None = None
        if self._estop.engaged:
            mode, guard = "estop", "estop"
        elif self._tilt.tripped:
            mode, guard = "tilt_stop", "tilt"
        elif stale_state:
            if self._mode != "stale_state_hold":
                self._freeze_target()
                des_pos = self._target
                self._mode = "stale_state_hold"
                self._hold_reason = f"joint state older than {self.config.state_timeout_s} s"
            mode, guard = "stale_state_hold", "stale_state"
        else:
            if self._mode == "stale_state_hold":
                self._mode = "hold"
                self._hold_reason = "joint state recovered; holding the last command"
            sampler = self._sampler
            if sampler is not None:
                if sampler.done(now):
                    self._finish_trajectory(sampler)
                    des_pos = self._target
                elif self._streaming and self._setpoint_wd.expired(now):
                    age = self._setpoint_wd.age(now)
                    self._freeze_target()
                    des_pos = self._target
                    self._mode = "stale_setpoint_hold"
                    self._hold_reason = (f"no setpoint for {age:.3f} s "
                                         f"(timeout {self.config.setpoint_timeout_s} s)")
                else:
                    pos, vel, _ = sampler.sample(now)
                    if self._traj_idx is None:
                        des_pos, des_vel = pos, vel
                    else:
                        des_pos = self._des_pos
                        des_vel = self._des_vel
                        des_pos[:] = self._target
                        des_pos[self._traj_idx] = pos
                        des_vel[:] = 0.0
                        des_vel[self._traj_idx] = vel
            mode = self._mode
            guard = "stale_setpoint" if mode == "stale_setpoint_hold" else ""

        if self._cmd_pos is None or self._cmd_vel is None:
            prev_pos, prev_vel = self._meas_pos, self._zeros
            dt = self._dt
        else:
            prev_pos, prev_vel = self._cmd_pos, self._cmd_vel
            dt = self._dt if self._last_step is None else now - self._last_step
            if dt < 0.1 * self._dt:
                dt = 0.1 * self._dt
            elif dt > 2.0 * self._dt:
                dt = 2.0 * self._dt
        limited = self._limiter.limit(prev_pos, prev_vel, des_pos, des_vel, dt=dt)
        position, velocity = limited.position, limited.velocity
        check = position + velocity  # NaN/inf in either propagates
        if not math.isfinite(check @ check):
            # cannot happen with validated inputs; never publish NaN, stop instead
            self._estop.engage("internal error: non-finite command")
            position = prev_pos.copy()
            velocity = np.zeros(self._n)
            self._target = position.copy()
            mode, guard = "estop", "estop"

        if stale_state:
            effort = np.zeros(self._n)
            n_limited = int(np.count_nonzero(limited.limited))
        else:
            effort = self._kp * (position - self._meas_pos)
            effort += self._kd * (velocity - self._meas_vel)
            effort, eff_limited = self._limiter.clamp_effort(effort)
            n_limited = int(np.count_nonzero(limited.limited | eff_limited))

        self._cmd_pos = position.copy()
        self._cmd_vel = velocity.copy()
        self._last_step = now
        self._set_mode(mode, now)
        self._last_guard, self._last_limited = guard, n_limited
        return ControlOutput(True, mode, position, velocity, effort, guard, n_limited, now)

    def _set_mode(self, mode: str, now: float) -> None:
        if mode != self._last_mode or self._mode_since is None:
            self._mode_since = now
            self._mode_history.append((now, mode))
        self._last_mode = mode

    def _finish_trajectory(self, sampler: TrajectorySampler) -> None:
        final, _, _ = sampler.sample(sampler.end_time)
        assert self._target is not None
        if self._traj_idx is None:
            self._target = final
        else:
            self._target[self._traj_idx] = final
        self._sampler = None
        self._traj_idx = None
        self._setpoint_wd.disarm()
        self._mode = "hold"
        self._hold_reason = "trajectory finished"

    def _guard_name(self) -> str:
        if self._estop.engaged:
            return "estop"
        if self._tilt.tripped:
            return "tilt"
        return ""

    # ------------------------------------------------------------------ diagnostics

    @property
    def mode(self) -> str:
        """Mode of the last :meth:`step` ("idle" before the first one)."""
        return self._last_mode

    def status(self) -> dict[str, Any]:
        """Plain values for diagnostics (ages are relative to the last step time)."""
        when = self._last_step
        state_age = None if when is None else self._state_wd.age(when)
        setpoint_age = None if when is None else self._setpoint_wd.age(when)
        imu_age = None if when is None or self._last_imu is None else when - self._last_imu
        return {
            "mode": self._last_mode,
            # when the mode began, on the step clock (the node: CLOCK_MONOTONIC, which other
            # processes on the machine share): a late status still tells when the guard acted
            "mode_since_s": "" if self._mode_since is None else f"{self._mode_since:.6f}",  # full precision
            # "t1:mode1 t2:mode2 ..." (step clock, oldest first): the last MODE_HISTORY changes
            "mode_history": " ".join(f"{t:.6f}:{m}" for t, m in self._mode_history),
            "active_guard": self._last_guard,
            "estop_reason": self._estop.reason or "",
            "tilt_reason": self._tilt.reason or "",
            "hold_reason": self._hold_reason,
            "last_rejection": self._last_rejection,
            "last_state_problem": self._last_state_problem,
            "trajectories_accepted": self._accepted,
            "trajectories_rejected": self._rejected,
            "states_rejected": self._states_rejected,
            "limited_joints": self._last_limited,
            "streaming": self._sampler is not None and self._streaming,
            "state_age_s": state_age,
            "setpoint_age_s": setpoint_age,
            "imu_age_s": imu_age,
            "roll_rad": self._tilt.roll,
            "pitch_rad": self._tilt.pitch,
        }
