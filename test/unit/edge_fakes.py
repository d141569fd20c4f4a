"""Test helpers for the edge runtime/service: goal-tracking ONNX skills and a kinematic Panda.

Importable from tests in this folder (pytest puts the test file's folder on sys.path).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robot_control.body.robot_description import load_robot
from robot_control.edge.embodiment import PANDA
from robot_control.edge.manifest import SCHEMA, manifest_from_dict, write_manifest
from robot_control.edge.policy import export_mlp
from robot_control.edge.runtime import (
    ObjectInfo,
    RuntimeConfig,
    SkillRuntime,
    TrajectoryCommand,
    WorldModel,
    load_skills,
)

OBS_SIGNALS = [("object_minus_ee", 3), ("goal_minus_ee", 3), ("command_minus_ee", 3), ("ee_velocity", 3),
               ("gripper_state", 1), ("skill_time", 1)]
CUBE = np.array([0.50, -0.15, 0.72 + 0.0225])
BIN = np.array([0.40, 0.30, 0.72])
BIN_SIZE = np.array([0.16, 0.20, 0.04])


def skill_manifest(name: str, goal: str, success: Sequence[dict[str, Any]], failure: Sequence[dict[str, Any]] = (),
                   parameters: Sequence[str] = ("arm:arm", "object:object"), max_duration_s: float = 5.0,
                   embodiments: Sequence[str] = ("panda",), rate_hz: float = 50.0) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "name": name, "version": "1.0.0", "description": f"test {name}",
        "embodiments": list(embodiments), "parameters": list(parameters), "goal": goal,
        "control_rate_hz": rate_hz, "max_duration_s": max_duration_s,
        "observation": {"dtype": "float32", "signals": [{"name": n, "size": s} for n, s in OBS_SIGNALS]},
        "action": {"space": "task_space",
                   "signals": [{"name": "ee_delta", "size": 3, "unit": "m", "low": -0.008, "high": 0.008},
                               {"name": "gripper", "size": 1, "low": 0.0, "high": 1.0}]},
        "success": list(success), "failure": list(failure),
        "model": {"file": f"models/{name}.onnx", "sha256": ""},
        "provenance": {"evaluation": {"panda": {"episodes": 10, "success_rate": 1.0}}},
    }


def goal_tracking_skill(folder: Path, name: str = "reach", goal: str = "reach", gain: float = 0.5,
                        gripper: float = 0.0, **manifest: Any) -> Path:
    """A linear policy: ee delta = gain * (goal - ee) (clipped in the graph), gripper = constant."""
    success = manifest.pop("success", [{"check": "ee_near_goal", "tolerance": 0.01}])
    data = skill_manifest(name, goal, success, **manifest)
    path = folder / f"{name}.yaml"
    draft = manifest_from_dict(data, "draft", source=path)
    w = np.zeros((14, 4), np.float32)
    w[3:6, 0:3] = np.eye(3) * gain
    b = np.array([0.0, 0.0, 0.0, gripper], np.float32)
    data["model"]["sha256"] = export_mlp(draft.model_path(), [(w, b)], draft)
    write_manifest(data, path)
    return path


class KinematicPanda:
    """Joints move a fraction `follow` of the way to their targets per step; a cube and a bin."""

    def __init__(self, follow: float = 1.0, real_time_factor: float = 1.0) -> None:
        self.robot = load_robot("panda")
        self.q = self.robot.posture("home")
        self.follow = follow
        self.t = 100.0
        self.rtf = real_time_factor  # joint-state stamps (sim time) advance this much per second of t
        self.cube = CUBE.copy()
        self.extra: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # more objects: name -> (centre, size)
        self.lock = threading.Lock()
        self.world = WorldModel(self.robot, clock=self.clock)
        self.commands: list[TrajectoryCommand] = []
        self.publish()

    def clock(self) -> float:
        return self.t

    def publish(self, joints: bool = True) -> None:
        with self.lock:
            if joints:
                self.world.update_joints(self.robot.joint_names, self.q.copy(), stamp=100.0 + (self.t - 100.0) * self.rtf,
                                         now=self.t)
            self.world.update_objects([
                ObjectInfo("red_cube", self.cube.copy(), np.array([0.0, 0.0, 0.0, 1.0]), np.full(3, 0.045)),
                ObjectInfo("bin", BIN.copy(), np.array([0.0, 0.0, 0.0, 1.0]), BIN_SIZE.copy()),
                *(ObjectInfo(n, p.copy(), np.array([0.0, 0.0, 0.0, 1.0]), z.copy()) for n, (p, z) in self.extra.items())],
                now=self.t)
            self.world.update_base_pose((0.0, 0.0, 0.72), (0.0, 0.0, 0.0, 1.0))

    def apply(self, commands: Sequence[TrajectoryCommand]) -> None:
        with self.lock:
            for c in commands:
                self.commands.append(c)
                idx = [self.robot.index(n) for n in c.joint_names]
                self.q[idx] += self.follow * (c.positions - self.q[idx])

    def step(self, runtime: SkillRuntime, dt: float = 0.02, joints: bool = True) -> list[TrajectoryCommand]:
        """One control period: tick the runtime, move the joints, advance time, publish."""
        out = runtime.tick()
        self.apply(out)
        self.t += dt
        self.publish(joints)
        return out


def panda_runtime(folder: Path, body: KinematicPanda, **config: Any) -> SkillRuntime:
    skills = load_skills(folder, "panda", [PANDA], max_rate_hz=50.0)
    config = {"table_center_xy": (0.30, 0.0), "table_size_xy": (1.10, 1.20), **config}  # the Panda scene's table
    return SkillRuntime(body.robot, {"arm": PANDA}, skills, body.world, RuntimeConfig(**config), clock=body.clock)


def chain_index(body: KinematicPanda) -> list[int]:
    return [body.robot.index(n) for n in PANDA.chain]
