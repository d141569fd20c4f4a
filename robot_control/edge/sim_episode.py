"""Run scripted edge-skill experts in MujocoSimDriver directly (no ROS) and record demonstrations.

Physics runs at 1 kHz (one driver.write() per 1 ms step, the driver's rate_hz=1000); the
expert and the EmbodimentAdapter update at `control_hz` (default 50 Hz) and their joint
command is held in between. For demonstrations, Gaussian noise is added to the EXECUTED
ee delta while the recorded action is the expert's clean label (DART-style).

The G1 stands free on its position servos the whole time; every control tick the runner
checks its pelvis (SimEpisodeRunner.fallen: dropped > 15 cm or tilted > 30 deg) and a fall
ends the episode as a failure. EpisodeResult also keeps the lowest pelvis height and the
largest tilt seen.

    python -m robot_control.edge.sim_episode --robot g1 --episodes 50
    python -m robot_control.edge.sim_episode --robot g1 --objects red_cube,green_can   # both, in turn
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from robot_control.body.mujoco_driver import MujocoSimDriver
from robot_control.body.robot_description import load_robot
from robot_control.edge.embodiment import ACT_DIM, G1_RIGHT, OBS_DIM, PANDA, EmbodimentAdapter, EmbodimentSpec
from robot_control.edge.experts import CHAIN, SimView, Skill, SkillContext, check_success, make_skills

DEFAULT_SPEC = {"g1": G1_RIGHT, "panda": PANDA}


# A floating-base robot has fallen when its base drops this far below its start height or tilts
# this far: the run stops there and the episode fails. (Over the 50-seed G1 chain the pelvis
# never dropped and tilted at most 2.5 degrees.)
FALL_DROP = 0.15  # m
FALL_TILT_DEG = 30.0


@dataclass
class SkillRecord:
    skill: str
    success: bool
    duration: float  # s of sim time
    obs: np.ndarray  # (T, OBS_DIM) float32
    act: np.ndarray  # (T, ACT_DIM) float32, clean expert labels
    executed: np.ndarray  # (T, ACT_DIM) float32, what was applied (label + noise)
    obj: str = ""  # the object the skill acted on
    fell: bool = False  # the robot fell during this skill (the skill then fails)


@dataclass
class EpisodeResult:
    robot: str
    seed: int | None
    skills: list[SkillRecord] = field(default_factory=list)
    wall_time: float = 0.0
    expected: int = len(CHAIN)  # skills the episode should run (a chain per object)
    min_base_height: float = float("nan")  # lowest base (pelvis) height seen, m
    max_tilt_deg: float = 0.0  # largest base tilt from upright seen

    @property
    def success(self) -> dict[str, bool]:
        """Per skill; with several objects, the last object's run of a skill wins (see skills)."""
        return {s.skill: s.success for s in self.skills}

    @property
    def fell(self) -> bool:
        return any(s.fell for s in self.skills)

    @property
    def chain_success(self) -> bool:
        return len(self.skills) == self.expected and all(s.success for s in self.skills) and not self.fell


class Actor(Protocol):
    """What acts instead of the expert in SimEpisodeRunner.run_skill (a learned policy, for DAgger):
    the 14-d adapter observation -> action (ee delta, gripper), and the gripper rate limit the edge
    runtime applies to it (None: none)."""

    gripper_max_rate: float | None

    def act(self, obs: np.ndarray) -> np.ndarray: ...


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
        self._result: EpisodeResult | None = None  # the episode being run (base tracking)
        self._base_z0 = self._base_state()[0]

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
        objects = self.driver.read().objects
        bin_obj = next(o for o in objects if o.name == "bin")
        assert bin_obj.size is not None
        others = tuple((o.position.copy(), o.size.copy()) for o in objects
                       if o.name not in ("bin", self.obj) and o.size is not None)
        return SkillContext(self.spec, self.view.obj_pos(self.obj), ee.copy(), np.asarray(self.obj_size),
                            bin_obj.position.copy(), bin_obj.size.copy(), self.view.table_top, others)

    def set_object(self, obj: str) -> None:
        """The object the next skills act on."""
        self.obj = obj
        self.obj_size = next(o.size for o in self.driver.built.objects if o.name == obj)

    def _base_state(self) -> tuple[float, float]:
        """Base height (m) and tilt from upright (deg) of the robot's base body."""
        base = self.driver.data.body(self.spec.base_body)
        _, x, y, _ = base.xquat
        zz = 1.0 - 2.0 * (x * x + y * y)  # world z of the base's z axis
        return float(base.xpos[2]), float(np.degrees(np.arccos(np.clip(zz, -1.0, 1.0))))

    def fallen(self) -> bool:
        """Has the robot fallen (base dropped > FALL_DROP below its start or tilted > FALL_TILT_DEG)?"""
        z, tilt = self._base_state()
        return z < self._base_z0 - FALL_DROP or tilt > FALL_TILT_DEG

    def _track_base(self, result: EpisodeResult) -> None:
        z, tilt = self._base_state()
        result.min_base_height = z if np.isnan(result.min_base_height) else min(result.min_base_height, z)
        result.max_tilt_deg = max(result.max_tilt_deg, tilt)

    # -- running ---------------------------------------------------------------------------
    def run(self, seed: int | None, chain: Sequence[str] = CHAIN, noise: float = 0.0,
            rng: np.random.Generator | None = None, settle: float = 0.3, stop_on_failure: bool = True,
            record: bool = True, objs: Sequence[str] | None = None, before: Sequence[str] = ()) -> EpisodeResult:
        """Reset (seeded) and run `chain` on the runner's object, or on each of `objs` in turn
        (one chain per object, in the same episode). `before`: objects the whole CHAIN moves
        first (into the bin: a later object goes to the bin's other slot). A fall ends the
        episode as a failure."""
        t0 = time.perf_counter()
        self.driver.reset(seed)
        rng = rng or np.random.default_rng(seed)
        self.driver.step(int(settle / 0.001))  # let the G1 settle on its feet
        self._base_z0 = self._base_state()[0]
        self._sync_base()
        self.adapter.reset(self.driver.read().joints)
        targets = [(o, tuple(CHAIN)) for o in before] + \
            [(o, tuple(chain)) for o in (list(objs) if objs is not None else [self.obj])]
        result = EpisodeResult(self.description.name, seed, expected=sum(len(c) for _, c in targets))
        self._result = result
        self._track_base(result)
        saved = self.obj
        stop = False
        try:
            for obj, skills in targets:
                self.set_object(obj)
                for name in skills:
                    rec = self.run_skill(self.skills[name], noise, rng, record)
                    result.skills.append(rec)
                    stop = rec.fell or (stop_on_failure and not rec.success)
                    if stop:
                        break
                if stop:
                    break
        finally:
            self.set_object(saved)
            self._result = None
        result.wall_time = time.perf_counter() - t0
        return result

    def run_skill(self, skill: Skill, noise: float, rng: np.random.Generator, record: bool,
                  actor: Actor | None = None) -> SkillRecord:
        """Run the expert's phases. With `actor` (DAgger), the actor's action is executed instead
        and the expert only labels: its phases advance on the measured ee exactly as when it acts.
        A phase the actor keeps from being reached ends the rollout at the phase's timeout: acting,
        the expert would move on unreached there (its fallback, e.g. close the hand where it is),
        which is not a label to teach from wherever a policy got stuck."""
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
        fell = timed_out = False
        for phase in skill.phases:
            if fell or timed_out:
                break
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
                if actor is not None and t_reached is None and t_phase + dt >= phase.timeout:
                    timed_out = True  # no labels for the expert's timeout fallback (see the docstring)
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
                obs = None
                if record or actor is not None:
                    state = self.driver.read()
                    t_norm = (self.driver.data.time - t_start) / skill.max_duration
                    obs = self.adapter.observation(
                        ee, (ee - prev_ee) / dt, self.view.obj_pos(self.obj), goal,
                        self.adapter.gripper_state(state.joints), t_norm)
                if actor is not None:
                    assert obs is not None
                    executed = np.asarray(actor.act(obs), dtype=float).reshape(ACT_DIM)
                if record:
                    obs_log.append(obs)
                    act_log.append(action.astype(np.float32))
                    exe_log.append(executed.astype(np.float32))
                prev_ee = ee
                cmd = self.adapter.apply_action(executed, ee, None if actor is None else actor.gripper_max_rate)
                for _ in range(self.substeps):
                    self.driver.write(cmd)
                t_phase += dt
                if self._result is not None:
                    self._track_base(self._result)
                if self.fallen():
                    fell = True
                    break
        self.adapter.frozen = False
        ee = self._measured_ee()
        ok = not fell and not timed_out and check_success(skill.name, self.view, self.obj, ctx, ee, obj_start)
        return SkillRecord(skill.name, ok, float(self.driver.data.time - t_start),
                           np.array(obs_log, dtype=np.float32).reshape(-1, OBS_DIM),
                           np.array(act_log, dtype=np.float32).reshape(-1, ACT_DIM),
                           np.array(exe_log, dtype=np.float32).reshape(-1, ACT_DIM), self.obj, fell)


def evaluate(robot: str, seeds: Sequence[int], noise: float = 0.0, objs: Sequence[str] | None = None,
             **kwargs: object) -> dict[str, object]:
    """Run the full chain over seeds (on each of `objs` in turn, if given); per-skill success counts
    (conditional on reaching the skill), falls, and the worst base drop / tilt seen."""
    runner = SimEpisodeRunner(robot, **kwargs)  # type: ignore[arg-type]
    attempts = dict.fromkeys(CHAIN, 0)
    wins = dict.fromkeys(CHAIN, 0)
    chain_ok, falls, walls, sims, failures = 0, 0, [], [], []
    worst_drop, worst_tilt = 0.0, 0.0
    for seed in seeds:
        res = runner.run(seed, noise=noise, record=False, objs=objs)
        walls.append(res.wall_time)
        sims.append(sum(rec.duration for rec in res.skills))
        for rec in res.skills:
            attempts[rec.skill] += 1
            wins[rec.skill] += int(rec.success)
        chain_ok += int(res.chain_success)
        falls += int(res.fell)
        worst_drop = max(worst_drop, runner._base_z0 - res.min_base_height)
        worst_tilt = max(worst_tilt, res.max_tilt_deg)
        if not res.chain_success:
            last = res.skills[-1] if res.skills else None
            what = "" if last is None else (f"{last.obj}:{last.skill}" if objs is not None else last.skill)
            failures.append((seed, what + (" (fell)" if res.fell else "")))
    return {"robot": robot, "episodes": len(seeds), "chain": chain_ok, "attempts": attempts, "wins": wins,
            "falls": falls, "max_base_drop": worst_drop, "max_tilt_deg": worst_tilt,
            "wall_per_episode": float(np.mean(walls)), "sim_per_episode": float(np.mean(sims)),
            "failures": failures}


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--robot", default="g1", choices=sorted(DEFAULT_SPEC))
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=0.0)
    p.add_argument("--object", default="red_cube")
    p.add_argument("--objects", default=None,
                   help="comma-separated objects to move one after another in each episode (overrides --object)")
    a = p.parse_args(argv)
    seeds = list(range(a.first_seed, a.first_seed + a.episodes))
    objs = [o.strip() for o in a.objects.split(",") if o.strip()] if a.objects else None
    r = evaluate(a.robot, seeds, noise=a.noise, objs=objs, obj=objs[0] if objs else a.object)
    print(f"{r['robot']}: chain {r['chain']}/{r['episodes']}  falls {r['falls']}  "
          f"({r['wall_per_episode']:.2f} s wall, {r['sim_per_episode']:.1f} s sim per episode)")
    print(f"  worst base drop {r['max_base_drop'] * 100:.1f} cm, worst base tilt {r['max_tilt_deg']:.1f} deg")
    attempts, wins = r["attempts"], r["wins"]
    assert isinstance(attempts, dict) and isinstance(wins, dict)
    for s in CHAIN:
        print(f"  {s:10s} {wins[s]}/{attempts[s]}")
    print("  failures (seed, skill):", r["failures"])


if __name__ == "__main__":
    main()
