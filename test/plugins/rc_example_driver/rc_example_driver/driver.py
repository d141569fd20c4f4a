"""`example_servo`: a robot_control body driver for a bus of position servos.

Options (body node parameters `driver_options.*`):

    port: virtual:arm          # the bus to open (this example only knows virtual buses)
    servo_ids: [1, 2, 3]       # bus id of each joint, in the description's joint order
    initial_posture: home      # where the (virtual) servos start
"""

from __future__ import annotations

import numpy as np

from rc_example_driver.bus import VirtualServoBus
from robot_control.body.driver import Driver, DriverError
from robot_control.body.types import JointCommand, JointStateSample, RobotState


class ExampleServoDriver(Driver):
    name = "example_servo"

    def configure(self) -> None:  # open the connection; fail with a clear message
        self.names = self.joint_names
        port = str(self.options.get("port", "virtual:example"))
        self.ids = [int(i) for i in self.options.get("servo_ids", range(1, len(self.names) + 1))]
        if len(self.ids) != len(self.names):
            raise DriverError(f"example_servo: servo_ids has {len(self.ids)} ids for {len(self.names)} joints")
        posture = self.options.get("initial_posture")
        try:
            initial = self.robot.posture(posture) if posture else np.zeros(len(self.names))
        except KeyError as exc:
            raise DriverError(f"example_servo: option initial_posture: {exc.args[0]}") from exc
        try:
            self.bus = VirtualServoBus(port, self.ids, self.robot.array("velocity"), initial)
        except OSError as exc:
            raise DriverError(f"example_servo: cannot open {port}: {exc}") from exc
        self.index = {n: i for i, n in enumerate(self.names)}
        self.lower, self.upper = self.robot.array("lower"), self.robot.array("upper")
        self.commands_written = 0

    def activate(self) -> None:  # torque on, holding the current pose
        self.bus.set_goal(self.ids, self.bus.read_positions(self.ids))
        self.bus.torque(self.ids, on=True)

    def read(self) -> RobotState:  # latest measurement, never blocks long
        q, qd, tau, stamp = self.bus.read_state(self.ids)
        return RobotState(JointStateSample(self.names, q, qd, tau, stamp))

    def write(self, command: JointCommand) -> None:  # position targets for the named joints
        idx = [self.index[n] for n in command.names]  # the body node already rejected unknown joints
        goal = np.clip(command.position, self.lower[idx], self.upper[idx])
        self.bus.set_goal([self.ids[i] for i in idx], goal)
        self.commands_written += 1

    def deactivate(self) -> None:  # hold where it is, do not go limp
        self.bus.set_goal(self.ids, self.bus.read_positions(self.ids))

    def shutdown(self) -> None:
        self.bus.close()

    def diagnostics(self) -> dict[str, str]:
        return {"port": self.bus.port, "commands_written": str(self.commands_written)}
