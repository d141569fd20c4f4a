"""Skill execution in simulation for training: expert demonstrations and learned-policy rollouts.

Both reuse `SimEpisodeRunner` (driver, adapter, view, expert skills) by composition:

* `collect_demos` runs the expert chain once per seed (DART: Gaussian noise on the EXECUTED
  ee delta of every skill, clean labels recorded) and streams every skill's ticks --
  observation, clean action, executed action and the measured joint states -- into an
  `EpisodeWriter`, one episode per skill execution.
* `run_policy_skill` executes one skill with an ONNX `SkillPolicy` (loaded with `load_policy`,
  i.e. the exact exported file) at the manifest's control rate, the way the edge runtime
  does (`edge/runtime.py`): each tick builds the 14-d observation, evaluates the manifest's
  checks with `edge/checks.py` from observed quantities only (ee, object, goal, gripper
  closure, the `to` location = the bin's footprint): a failure check ends the skill (failed),
  all success checks holding for `hold_s` (the runtime's success_hold_s) end it (succeeded),
  else `policy.act(obs)` is applied; at `max_duration_s` it times out. Whatever the checks
  said, the episode's success is judged when the skill ends by `experts.check_success` from
  the simulation's ground truth (`judge_after_s` > 0 judges it that long into the hold of the
  last command that follows SUCCEEDED in the runtime instead).
* `evaluate_skill` = expert chain up to (excluding) the skill, then the policy; seeds whose
  expert prefix fails are skipped (the skill's preconditions were not met) and counted.
* `evaluate_chain` = every skill of reach -> release run by its learned policy.

    python -m robot_control.edge.training.rollout --robot panda --skills config/skills --chain --episodes 20
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robot_control.edge.checks import CheckInputs, Region, compile_checks
from robot_control.edge.embodiment import EmbodimentSpec
from robot_control.edge.experts import CHAIN, check_success
from robot_control.edge.manifest import SkillManifest
from robot_control.edge.policy import SkillPolicy
from robot_control.edge.sim_episode import SimEpisodeRunner, SkillRecord
from robot_control.edge.training.episodes import Episode, EpisodeWriter

SUCCESS_HOLD_S = 0.1  # = edge.runtime.RuntimeConfig.success_hold_s
JUDGE_AFTER_S = 0.0  # > 0: judge the ground truth this long into the hold that follows SUCCEEDED


def _progress(iterable: Any, enabled: bool, **kwargs: Any) -> Any:
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, dynamic_ncols=True, leave=False, **kwargs)


# -- demonstrations -------------------------------------------------------------------------
@contextlib.contextmanager
def _joint_tap(runner: SimEpisodeRunner) -> Iterator[list[tuple[float, np.ndarray, np.ndarray]]]:
    """Record (sim time, joint position, joint velocity) at every recorded expert tick.

    SimEpisodeRunner.run_skill builds exactly one observation per recorded tick, so wrapping
    the adapter's `observation` on this instance aligns the joint states with the obs rows.
    """
    tape: list[tuple[float, np.ndarray, np.ndarray]] = []
    adapter = runner.adapter
    original = adapter.observation

    def observation(*args: Any, **kwargs: Any) -> np.ndarray:
        joints = runner.driver.read().joints
        tape.append((float(runner.driver.data.time), joints.position.copy(), joints.velocity.copy()))
        return original(*args, **kwargs)

    adapter.observation = observation  # type: ignore[method-assign]
    try:
        yield tape
    finally:
        del adapter.observation  # back to the class's method


def _episode(runner: SimEpisodeRunner, rec: SkillRecord, rows: Sequence[tuple[float, np.ndarray, np.ndarray]],
             seed: int, noise: float, names: tuple[str, ...]) -> Episode:
    """One recorded skill execution with its joint tape (_joint_tap rows, one per tick)."""
    return Episode(
        robot=runner.description.name, skill=rec.skill, seed=int(seed), noise=noise, success=rec.success,
        obs=rec.obs, act=rec.act, executed=rec.executed, t=np.array([r[0] for r in rows]) - rows[0][0],
        joint_names=names, joint_position=np.array([r[1] for r in rows]),
        joint_velocity=np.array([r[2] for r in rows]), embodiment=runner.spec.name)


def _expert_prefix(runner: SimEpisodeRunner, skill: str, seed: int, obj: str, before: Sequence[str]) -> bool:
    """Reset to `seed`, the experts move `before` into the bin and run the skills before `skill` on
    `obj` (no noise); True when all succeeded (the skill's preconditions hold), `obj` then current."""
    res = runner.run(seed, chain=CHAIN[:CHAIN.index(skill)], noise=0.0, record=False, objs=[obj], before=before)
    if len(res.skills) != res.expected or not all(rec.success for rec in res.skills):
        return False
    runner.set_object(obj)
    return True


@dataclass
class DemoStats:
    runs: int = 0  # expert chain runs (one per seed)
    written: dict[str, int] = field(default_factory=dict)  # skill -> episodes written
    successful: dict[str, int] = field(default_factory=dict)  # skill -> of which the expert succeeded
    ticks: int = 0


def collect_demos(runner: SimEpisodeRunner, seeds: Sequence[int], noises: Sequence[float], writer: EpisodeWriter,
                  chain: Sequence[str] = CHAIN, progress: bool = True,
                  objects: Sequence[str] | None = None, first_index: int = 0) -> DemoStats:
    """Expert demonstrations: one chain run per seed (episode i uses noise level
    noises[(first_index + i) % len(noises)]: a chunk of a longer seed list, collected in another
    process, keeps the noise levels the whole list would give);
    every skill the run reached is written as one episode (the chain stops at a failed skill).
    `objects`: the chain moves each in turn in the same run (the second one to the bin's other
    slot); each object's skills are episodes of their own."""
    if objects is not None and len(objects) > 1 and tuple(chain) != CHAIN:
        raise ValueError("several objects per run need the whole chain (each object ends in the bin)")
    stats = DemoStats(written=dict.fromkeys(chain, 0), successful=dict.fromkeys(chain, 0))
    names = tuple(runner.driver.read().joints.names)
    robot = runner.description.name
    bar = _progress(list(enumerate(seeds)), progress, desc=f"demos {robot} ({'-'.join(chain)})", unit="ep")
    for i, seed in bar:
        noise = float(noises[(first_index + i) % len(noises)])
        with _joint_tap(runner) as tape:
            res = runner.run(seed, chain=chain, noise=noise, record=True, objs=objects)
        stats.runs += 1
        if len(tape) != sum(len(rec.obs) for rec in res.skills):
            raise RuntimeError(f"{robot} seed {seed}: {len(tape)} joint samples for "
                               f"{sum(len(rec.obs) for rec in res.skills)} recorded ticks; SimEpisodeRunner no "
                               "longer builds exactly one observation per recorded tick")
        offset = 0
        for rec in res.skills:
            n = len(rec.obs)
            rows = tape[offset:offset + n]
            offset += n
            if n == 0:
                continue
            writer.add(_episode(runner, rec, rows, seed, noise, names))
            stats.written[rec.skill] += 1
            stats.successful[rec.skill] += int(rec.success)
            stats.ticks += n
    return stats


# -- DAgger: the policy acts, the expert labels ------------------------------------------------
class PolicyActor:
    """A learned policy acting in `SimEpisodeRunner.run_skill` (sim_episode.Actor): the base
    observation -> the model's input (embodiment signals added) -> clipped action; the gripper
    rate limit is the one the edge runtime applies (manifest `gripper_max_rate`)."""

    def __init__(self, policy: SkillPolicy, spec: EmbodimentSpec) -> None:
        self.policy = policy
        self.spec = spec
        self.gripper_max_rate = policy.manifest.gripper_max_rate

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.policy.act(self.policy.layout.assemble(obs, self.spec))


def collect_dagger(runner: SimEpisodeRunner, policy: SkillPolicy, skill: str, seeds: Sequence[int],
                   writer: EpisodeWriter, objects: Sequence[str] | None = None, progress: bool = True) -> DemoStats:
    """DAgger data (Ross et al. 2011): per seed (and object, in turn, as `evaluate_skill`), the experts
    run the skills before `skill` (no noise), then `policy` executes `skill` while the expert
    labels every state it visits (SimEpisodeRunner.run_skill with an actor): the states are the
    policy's own, mistakes included, and the labels say how the expert goes on from there. Every
    rollout is written (`success` = ground truth), failed ones too: those states are why."""
    targets = list(objects) if objects else [runner.obj]
    actor = PolicyActor(policy, runner.spec)
    stats = DemoStats(written={skill: 0}, successful={skill: 0})
    names = tuple(runner.driver.read().joints.names)
    robot = runner.description.name
    saved = runner.obj
    try:
        for seed in _progress(seeds, progress, desc=f"dagger {skill} {robot}", unit="ep"):
            stats.runs += 1
            for k, obj in enumerate(targets):
                if not _expert_prefix(runner, skill, seed, obj, targets[:k]):
                    continue  # the skill's preconditions were not met
                with _joint_tap(runner) as tape:
                    rec = runner.run_skill(runner.skills[skill], 0.0, np.random.default_rng(seed), record=True,
                                           actor=actor)
                if len(rec.obs) == 0:
                    continue
                if len(tape) != len(rec.obs):
                    raise RuntimeError(f"{robot} seed {seed}: {len(tape)} joint samples for {len(rec.obs)} ticks")
                writer.add(_episode(runner, rec, tape, seed, 0.0, names))
                stats.written[skill] += 1
                stats.successful[skill] += int(rec.success)
                stats.ticks += len(rec.obs)
    finally:
        runner.set_object(saved)
    return stats


# -- policy rollouts ------------------------------------------------------------------------
@dataclass
class PolicyOutcome:
    skill: str
    success: bool  # simulation ground truth (experts.check_success) at the end
    status: str  # what the runtime checks said: succeeded | failed | timeout (| fell)
    ticks: int
    obs: np.ndarray | None = None


def run_policy_skill(runner: SimEpisodeRunner, policy: SkillPolicy, skill: str, hold_s: float = SUCCESS_HOLD_S,
                     record: bool = False, judge_after_s: float = JUDGE_AFTER_S) -> PolicyOutcome:
    """Execute `skill` with `policy` from the current simulation state (see module docstring)."""
    m: SkillManifest = policy.manifest
    if m.goal not in runner.skills:
        raise ValueError(f"{m.name}: goal {m.goal!r} is not an expert skill ({', '.join(runner.skills)})")
    if abs(m.control_rate_hz * runner.control_dt - 1.0) > 1e-6:
        raise ValueError(f"{m.name}: trained for {m.control_rate_hz} Hz, the runner controls at "
                         f"{1 / runner.control_dt:g} Hz")
    checks = compile_checks(m)
    expert = runner.skills[m.goal]
    drv, adapter = runner.driver, runner.adapter
    ee = runner._measured_ee()
    ctx = runner._ctx(ee)
    obj_start = ctx.obj0.copy()
    goal = expert.target(ctx)
    regions = {name: Region(ctx.bin_pos.copy(), ctx.bin_size.copy()) for name in checks.regions}
    dt, duration = runner.control_dt, m.max_duration_s
    adapter.frozen = False
    t_start = drv.data.time
    prev_ee = ee.copy()
    since: float | None = None
    fallen = getattr(runner, "fallen", None)  # floating-base robots: a fall ends the skill
    status, ticks = "timeout", 0
    log: list[np.ndarray] = []
    cmd = None
    while True:
        ee = runner._measured_ee()
        gripper = adapter.gripper_state(drv.read().joints)
        obj = runner.view.obj_pos(runner.obj)
        elapsed = ticks * dt
        obs = policy.layout.assemble(
            adapter.observation(ee, (ee - prev_ee) / dt, obj, goal, gripper, (drv.data.time - t_start) / duration),
            adapter.spec)
        result = checks.evaluate(CheckInputs(ee, goal, obj, gripper, ctx.ee0, ctx.obj0, regions))
        if result.failed is not None:
            status = "failed"
            break
        if result.success:
            since = elapsed if since is None else since
            if elapsed - since >= hold_s - 1e-9:
                status = "succeeded"
                break
        else:
            since = None
        if elapsed >= duration - 1e-9:
            break
        if record:
            log.append(obs)
        action = policy.act(obs)
        prev_ee = ee
        cmd = adapter.apply_action(action, ee, m.gripper_max_rate)
        for _ in range(runner.substeps):
            drv.write(cmd)
        ticks += 1
        if fallen is not None and fallen():
            status = "fell"
            break
    if status == "succeeded" and cmd is not None and judge_after_s > 0:
        # the runtime holds a SUCCEEDED skill's last command (a closing hand keeps closing)
        for _ in range(int(round(judge_after_s / 0.001))):
            drv.write(cmd)
        if fallen is not None and fallen():
            status = "fell"
    ok = status != "fell" and check_success(skill, runner.view, runner.obj, ctx, runner._measured_ee(), obj_start)
    return PolicyOutcome(skill, ok, status, ticks, np.array(log, np.float32) if record else None)


@dataclass
class EvalResult:
    robot: str
    skill: str
    seeds: list[int]
    episodes: int = 0  # evaluated (expert prefix succeeded)
    successes: int = 0
    skipped: int = 0  # expert prefix failed: the skill's preconditions were not met
    status: dict[str, int] = field(default_factory=dict)
    failures: list[int | str] = field(default_factory=list)  # seeds ("seed/object" with several objects)
    hold_s: float = SUCCESS_HOLD_S
    objects: list[str] = field(default_factory=list)  # each in turn per seed (several: per_object counts)
    per_object: dict[str, list[int]] = field(default_factory=dict)  # object -> [episodes, successes]

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes if self.episodes else 0.0

    def to_manifest(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "episodes": self.episodes, "successes": self.successes, "success_rate": round(self.success_rate, 4),
            "seeds": f"{self.seeds[0]}-{self.seeds[-1]}" if self.seeds else "",
            "protocol": "experts run the skills before it (no noise), then the policy until the runtime "
                        f"checks end it (success held {self.hold_s:g} s / failure / max_duration_s)",
            "judged_by": "simulation ground truth (robot_control.edge.experts.check_success)",
            "runtime_checks": dict(sorted(self.status.items()))}
        if self.skipped:
            out["skipped_expert_prefix_failed"] = self.skipped
        if len(self.objects) > 1:
            out["protocol"] += "; each object in turn, the ones before it moved to the bin by the experts"
            out["per_object"] = {o: dict(zip(("episodes", "successes"), self.per_object.get(o, [0, 0]), strict=True))
                                 for o in self.objects}
        return out


def evaluate_skill(runner: SimEpisodeRunner, policy: SkillPolicy, skill: str, seeds: Sequence[int],
                   progress: bool = True, hold_s: float = SUCCESS_HOLD_S,
                   judge_after_s: float = JUDGE_AFTER_S, objects: Sequence[str] | None = None) -> EvalResult:
    """Expert skills before `skill` (no noise), then the policy; ground-truth success. With
    `objects`, one episode per seed and object: the experts first move the objects listed before
    it into the bin (a later object goes to the bin's other slot)."""
    targets = list(objects) if objects else [runner.obj]
    result = EvalResult(runner.description.name, skill, list(seeds), hold_s=hold_s, objects=targets)
    bar = _progress(seeds, progress, desc=f"eval {skill} {runner.description.name}", unit="ep")
    saved = runner.obj
    try:
        for seed in bar:
            for k, obj in enumerate(targets):
                if not _expert_prefix(runner, skill, seed, obj, targets[:k]):
                    result.skipped += 1
                    continue
                out = run_policy_skill(runner, policy, skill, hold_s=hold_s, judge_after_s=judge_after_s)
                result.episodes += 1
                result.successes += int(out.success)
                result.status[out.status] = result.status.get(out.status, 0) + 1
                tally = result.per_object.setdefault(obj, [0, 0])
                tally[0] += 1
                tally[1] += int(out.success)
                if not out.success:
                    result.failures.append(int(seed) if len(targets) == 1 else f"{seed}/{obj}")
            if progress:
                bar.set_postfix(success=f"{result.successes}/{result.episodes}")
    finally:
        runner.set_object(saved)
    return result


@dataclass
class ChainResult:
    robot: str
    episodes: int = 0
    chains: int = 0  # all six skills succeeded
    attempts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHAIN, 0))
    wins: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CHAIN, 0))
    failures: list[tuple[int, str]] = field(default_factory=list)


def evaluate_chain(runner: SimEpisodeRunner, policies: Mapping[str, SkillPolicy], seeds: Sequence[int],
                   progress: bool = True, hold_s: float = SUCCESS_HOLD_S,
                   judge_after_s: float = JUDGE_AFTER_S, objects: Sequence[str] | None = None) -> ChainResult:
    """reach -> release, every skill run by its learned policy; stops at the first failure. With
    `objects`, the chain runs on each in turn in one episode (a chain = all of them in the bin)."""
    missing = [s for s in CHAIN if s not in policies]
    if missing:
        raise ValueError(f"no policy for {', '.join(missing)} on {runner.description.name}")
    targets = list(objects) if objects else [runner.obj]
    result = ChainResult(runner.description.name)
    saved = runner.obj
    try:
        for seed in _progress(seeds, progress, desc=f"chain {runner.description.name}", unit="ep"):
            runner.run(seed, chain=(), record=False)  # reset + settle, no skill
            result.episodes += 1
            ok = True
            for obj in targets:
                runner.set_object(obj)
                for skill in CHAIN:
                    out = run_policy_skill(runner, policies[skill], skill, hold_s=hold_s, judge_after_s=judge_after_s)
                    result.attempts[skill] += 1
                    result.wins[skill] += int(out.success)
                    if not out.success:
                        result.failures.append((int(seed), skill if len(targets) == 1 else f"{obj}:{skill}"))
                        ok = False
                        break
                if not ok:
                    break
            result.chains += int(ok)
    finally:
        runner.set_object(saved)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    from robot_control.edge.library import SkillLibrary

    p = argparse.ArgumentParser(description="Evaluate trained skills from a skill folder in simulation.")
    p.add_argument("--robot", default="panda", choices=("g1", "panda"))
    p.add_argument("--skills", default=None, help="skill folder (default: config/skills)")
    p.add_argument("--skill", action="append", choices=CHAIN, help="evaluate these skills (expert prefix)")
    p.add_argument("--chain", action="store_true", help="the whole chain with learned policies")
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--first-seed", type=int, default=900_000)
    p.add_argument("--objects", default=None,
                   help="comma-separated objects moved one after another per episode (default: the runner's one)")
    a = p.parse_args(argv)
    objects = [o.strip() for o in a.objects.split(",") if o.strip()] if a.objects else None
    lib = SkillLibrary.load(a.skills, embodiment=a.robot)
    for name, reason in lib.rejected.items():
        print(f"rejected {name}: {reason}")
    runner = SimEpisodeRunner(a.robot)
    seeds = list(range(a.first_seed, a.first_seed + a.episodes))
    for skill in a.skill or []:
        policy = lib.get(skill, a.robot)
        if policy is None:
            raise SystemExit(f"no {skill} skill for {a.robot}")
        r = evaluate_skill(runner, policy, skill, seeds, objects=objects)
        print(f"{skill:10s} {r.successes}/{r.episodes} (skipped {r.skipped}) status {r.status} failures {r.failures}")
    if a.chain:
        policies = {s: lib.get(s, a.robot) for s in CHAIN}
        c = evaluate_chain(runner, {k: v for k, v in policies.items() if v is not None}, seeds, objects=objects)
        print(f"{a.robot}: chain {c.chains}/{c.episodes}")
        for s in CHAIN:
            print(f"  {s:10s} {c.wins[s]}/{c.attempts[s]}")
        print("  failures (seed, skill):", c.failures)


if __name__ == "__main__":
    main()
