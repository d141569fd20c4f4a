"""`mock` driver: a kinematic first-order joint model, no physics.

Each joint moves toward its position target with time constant `tau_s`, never faster than
its velocity limit; effort reports the feed-forward it was given. Time is the wall clock,
like real hardware, so the stack runs against it exactly as against a robot. Options:

    tau_s: 0.02            # first-order time constant
    initial_posture: stand # a posture from the robot description (default: zeros)
    imu: true              # report a level, still IMU when the robot declares imu_frame
"""

from __future__ import annotations

import time

import numpy as np

from robot_control.body.driver import Driver, DriverError
from robot_control.body.types import ImuSample, JointCommand, JointStateSample, RobotState


class MockDriver(Driver):
    name = "mock"

    def configure(self) -> None:
        self.tau = float(self.options.get("tau_s", 0.02))
        if not self.tau > 0:
            raise DriverError(f"mock driver: tau_s must be > 0, got {self.tau}")
        posture = self.options.get("initial_posture")
        self.q = self.robot.posture(posture) if posture else np.zeros(len(self.robot.joints))
        self.qd = np.zeros_like(self.q)
        self.effort = np.zeros_like(self.q)
        self.target = self.q.copy()
        self.vmax = self.robot.array("velocity")
        self.lower, self.upper = self.robot.array("lower"), self.robot.array("upper")
        self.index = {name: i for i, name in enumerate(self.robot.joint_names)}
        self.with_imu = bool(self.options.get("imu", True)) and self.robot.imu_frame is not None
        self.last = time.monotonic()
        self.active = False

    def activate(self) -> None:
        self.target = self.q.copy()
        self.last = time.monotonic()
        self.active = True

    def deactivate(self) -> None:
        self.active = False
        self.target = self.q.copy()

    def _advance(self) -> None:
        now = time.monotonic()
        dt = min(now - self.last, 0.1)
        self.last = now
        if dt <= 0:
            return
        step = (self.target - self.q) * (1.0 - np.exp(-dt / self.tau))
        step = np.clip(step, -self.vmax * dt, self.vmax * dt)
        self.q = self.q + step
        self.qd = step / dt

    def read(self) -> RobotState:
        self._advance()
        stamp = time.monotonic()
        joints = JointStateSample(self.robot.joint_names, self.q.copy(), self.qd.copy(),
                                  self.effort.copy(), stamp)
        imu = None
        if self.with_imu:
            imu = ImuSample(self.robot.imu_frame or "imu", np.array([0.0, 0.0, 0.0, 1.0]),
                            np.zeros(3), np.array([0.0, 0.0, 9.81]), stamp)
        return RobotState(joints=joints, imu=imu)

    def write(self, command: JointCommand) -> None:
        if not self.active:
            return
        idx = [self.index[n] for n in command.names if n in self.index]
        if len(idx) != len(command.names):
            unknown = [n for n in command.names if n not in self.index]
            raise DriverError(f"mock driver: unknown joint(s) in command: {', '.join(unknown)}")
        self.target[idx] = np.clip(command.position, self.lower[idx], self.upper[idx])
        if command.effort is not None:
            self.effort[idx] = command.effort
