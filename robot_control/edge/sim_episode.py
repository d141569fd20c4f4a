"""Run scripted edge-skill experts in MujocoSimDriver directly (no ROS) and record demonstrations.

Physics runs at 1 kHz (one driver.write() per 1 ms step, the driver's rate_hz=1000); the
expert and the EmbodimentAdapter update at `control_hz` (default 50 Hz) and their joint
command is held in between. For demonstrations, Gaussian noise is added to the EXECUTED
ee delta while the recorded action is the expert's clean label (DART-style).

    python -m robot_control.edge.sim_episode --robot g1 --episodes 50
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from robot_control.body.mujoco_driver import MujocoSimDriver
from robot_control.body.robot_description import load_robot
from robot_control.edge.embodiment import ACT_DIM, G1_RIGHT, OBS_DIM, PANDA, EmbodimentAdapter, EmbodimentSpec
from robot_control.edge.experts import CHAIN, SimView, Skill, SkillContext, check_success, make_skills

DEFAULT_SPEC = {"g1": G1_RIGHT, "panda": PANDA}


@dataclass
class SkillRecord:
    skill: str
    success: bool
    duration: float  # s of sim time
    obs: np.ndarray  # (T, OBS_DIM) float32
    act: np.ndarray  # (T, ACT_DIM) float32, clean expert labels
    executed: np.ndarray  # (T, ACT_DIM) float32, what was applied (label + noise)


@dataclass
class EpisodeResult:
    robot: str
    seed: int | None
    skills: list[SkillRecord] = field(default_factory=list)
    wall_time: float = 0.0

    @property
    def success(self) -> dict[str, bool]:
        return {s.skill: s.success for s in self.skills}

    @property
    def chain_success(self) -> bool:
        return len(self.skills) == len(CHAIN) and all(s.success for s in self.skills)


class SimEpisodeRunner:
    """Owns one configured driver + adapter; run() resets and executes a chain of skills."""

    def __init__(self, robot: str, spec: EmbodimentSpec | None = None, obj: str = "red_cube",
                 objects: Sequence[object] | None = None, control_hz: float = 50.0) -> None:
        self.description = load_robot(robot)
        self.spec = spec or DEFAULT_SPEC[robot]
        self.obj = obj
        opts: dict[str, object] = {"pacing": "free", "rate_hz": 1000, "robot": robot}
        if objects is not None:
            opts["objects"] = list(objects)
        self.driver = MujocoSimDriver(self.description, opts)
        self.driver.configure()
        self.driver.activate()
        self.control_dt = 1.0 / control_hz
        self.substeps = int(round(self.control_dt / 0.001))
        self.adapter = EmbodimentAdapter(self.description, self.spec, self.control_dt)
        self.skills = make_skills(self.spec)
        scene = self.driver.scene
        self.view = SimView(self.driver.model, self.driver.data, self.spec.hand_bodies, scene.table.top)
        self.obj_size = next(o.size for o in self.driver.built.objects if o.name == obj)

    # -- state ---------------------------------------------------------------------------
    def _sync_base(self) -> None:
        if not self.spec.sync_base:
            return
        base = self.driver.data.body(self.spec.base_body)
        self.adapter.set_base_pose(base.xpos, base.xquat)

    def _measured_ee(self) -> np.ndarray:
        self._sync_base()
        return self.adapter.ee_position(self.driver.read().joints)

    def _ctx(self, ee: np.ndarray) -> SkillContext:
        bin_obj = next(o for o in self.driver.read().objects if o.name == "bin")
        assert bin_obj.size is not None
        return SkillContext(self.spec, self.view.obj_pos(self.obj), ee.copy(), np.asarray(self.obj_size),
                            bin_obj.position.copy(), bin_obj.size.copy(), self.view.table_top)

    # -- running ---------------------------------------------------------------------------
    def run(self, seed: int | None, chain: Sequence[str] = CHAIN, noise: float = 0.0,
            rng: np.random.Generator | None = None, settle: float = 0.3, stop_on_failure: bool = True,
            record: bool = True) -> EpisodeResult:
        t0 = time.perf_counter()
        self.driver.reset(seed)
        rng = rng or np.random.default_rng(seed)
        self.driver.step(int(settle / 0.001))  # let the G1 settle on its feet
        self._sync_base()
        self.adapter.reset(self.driver.read().joints)
        result = EpisodeResult(self.description.name, seed)
        for name in chain:
            rec = self.run_skill(self.skills[name], noise, rng, record)
            result.skills.append(rec)
            if stop_on_failure and not rec.success:
                break
        result.wall_time = time.perf_counter() - t0
        return result

    def run_skill(self, skill: Skill, noise: float, rng: np.random.Generator, record: bool) -> SkillRecord:
        ee = self._measured_ee()
        ctx = self._ctx(ee)
        obj_start = ctx.obj0.copy()
        goal = skill.target(ctx)
        obs_log: list[np.ndarray] = []
        act_log: list[np.ndarray] = []
        exe_log: list[np.ndarray] = []
        dt = self.control_dt
        t_start = self.driver.data.time
        prev_ee = ee.copy()
        gripper = self.adapter.gripper
        for phase in skill.phases:
            wp = phase.waypoint(ctx)
            g_from = gripper
            self.adapter.frozen = phase.freeze_ik
            t_phase, t_reached = 0.0, None
            while t_phase < phase.timeout:
                ee = self._measured_ee()
                if np.linalg.norm(wp - ee) < phase.tol and t_reached is None:
                    t_reached = t_phase
                if t_reached is not None and t_phase - t_reached >= phase.settle:
                    break
                ramp = 1.0 if phase.gripper_ramp <= 0 else min(1.0, (t_phase + dt) / phase.gripper_ramp)
                gripper = g_from + ramp * (phase.gripper - g_from)
                delta = wp - ee
                n = float(np.linalg.norm(delta))
                step = phase.speed * dt
                if n > step:
                    delta *= step / n
                action = np.concatenate([delta, [gripper]])
                executed = action.copy()
                if noise > 0:
                    executed[:3] += rng.normal(0.0, noise, 3)
                if record:
                    state = self.driver.read()
                    t_norm = (self.driver.data.time - t_start) / skill.max_duration
                    obs_log.append(self.adapter.observation(
                        ee, (ee - prev_ee) / dt, self.view.obj_pos(self.obj), goal,
                        self.adapter.gripper_state(state.joints), t_norm))
                    act_log.append(action.astype(np.float32))
                    exe_log.append(executed.astype(np.float32))
                prev_ee = ee
                cmd = self.adapter.apply_action(executed, ee)
                for _ in range(self.substeps):
                    self.driver.write(cmd)
                t_phase += dt
        self.adapter.frozen = False
        ee = self._measured_ee()
        ok = check_success(skill.name, self.view, self.obj, ctx, ee, obj_start)
        return SkillRecord(skill.name, ok, float(self.driver.data.time - t_start),
                           np.array(obs_log, dtype=np.float32).reshape(-1, OBS_DIM),
                           np.array(act_log, dtype=np.float32).reshape(-1, ACT_DIM),
                           np.array(exe_log, dtype=np.float32).reshape(-1, ACT_DIM))


def evaluate(robot: str, seeds: Sequence[int], noise: float = 0.0, **kwargs: object) -> dict[str, object]:
    """Run the full chain over seeds; per-skill success counts (conditional on reaching the skill)."""
    runner = SimEpisodeRunner(robot, **kwargs)  # type: ignore[arg-type]
    attempts = dict.fromkeys(CHAIN, 0)
    wins = dict.fromkeys(CHAIN, 0)
    chain_ok, walls, failures = 0, [], []
    for seed in seeds:
        res = runner.run(seed, noise=noise, record=False)
        walls.append(res.wall_time)
        for rec in res.skills:
            attempts[rec.skill] += 1
            wins[rec.skill] += int(rec.success)
        chain_ok += int(res.chain_success)
        if not res.chain_success:
            failures.append((seed, res.skills[-1].skill))
    return {"robot": robot, "episodes": len(seeds), "chain": chain_ok, "attempts": attempts, "wins": wins,
            "wall_per_episode": float(np.mean(walls)), "failures": failures}


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--robot", default="g1", choices=sorted(DEFAULT_SPEC))
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=0.0)
    p.add_argument("--object", default="red_cube")
    a = p.parse_args(argv)
    seeds = list(range(a.first_seed, a.first_seed + a.episodes))
    r = evaluate(a.robot, seeds, noise=a.noise, obj=a.object)
    print(f"{r['robot']}: chain {r['chain']}/{r['episodes']}  ({r['wall_per_episode']:.2f} s wall/episode)")
    attempts, wins = r["attempts"], r["wins"]
    assert isinstance(attempts, dict) and isinstance(wins, dict)
    for s in CHAIN:
        print(f"  {s:10s} {wins[s]}/{attempts[s]}")
    print("  failures (seed, skill):", r["failures"])


if __name__ == "__main__":
    main()
