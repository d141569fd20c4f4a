"""Success of the edge skills measured through the REAL stack (body + cerebellum + edge); prints JSON.

    .venv/bin/python bench/skills_live.py --robot panda [--episodes 50] [--first-seed 500000]
        [--skills config/skills] [--prepared | --no-prepared] [--out result.json]

Brings up config/stacks/skills_<robot>.yaml under the supervisor (MuJoCo body, 1 kHz cerebellum,
edge SkillService serving --skills) on its own ROS domain and gRPC port. Per unseen seed (default
500000.., the in-process evaluation's seeds: robot_control.edge.training.pipeline.eval_seeds):

  reset    the arm is streamed back to the start posture, then /sim/reset with the body's
           `sim_seed` parameter set to the seed (objects jittered as the driver does for that
           seed, checked against the scene's placements), then 0.5 s of simulated time to settle;
  chain    reach -> grasp -> lift -> transport -> place -> release on red_cube, each through
           SkillService.Execute (the bridge's SkillClient). A skill is attempted only if the
           ones before it succeeded;
  prepared (--prepared, default on) for each of grasp..release: reset again, the skills before it
           run by the scripted experts (edge.experts, streamed closed-loop to the cerebellum the
           way the edge streams a policy), then the learned skill through Execute. Seeds whose
           expert prefix fails are skipped and counted (the skill's preconditions were not met),
           as in the in-process evaluation (edge.training.rollout.evaluate_skill). `reach`
           starts from the reset state in both modes, so its prepared numbers are the chain's.

Every skill is judged when Execute returns, from the SIMULATION STATE the body publishes: the
criteria of edge.experts.check_success (reach: ee within 2 cm of the pre-grasp point, object
moved < 1 cm; grasp: >= 2 hand bodies touch the object; lift: + object bottom >= table + 8 cm;
transport: held over the bin footprint above the rim; place: in the bin footprint below the rim;
release: in the bin, nothing of the hand touching it and every hand geom >= 5 cm away), evaluated
on a copy of the scene posed from /joint_states + /base_pose + /objects of one simulation step
(robot_control.edge.chain_client.SceneJudge). As in the in-process evaluation the judge decides
success, whatever phase the edge reported; the JSON counts the edge's phases too, and the cases
where the two disagree. A G1 whose pelvis drops > 15 cm or tilts > 30 deg during a skill has
fallen: the skill fails, the fall is counted, the next reset stands it up (and re-arms the
cerebellum's tilt stop).

Output (stdout, and --out, rewritten after every seed so a long run leaves partial results):
per skill attempts / successes / rate for the chain and for prepared starts, chain successes,
failures with seed, the edge's phase and message and the judge's view, falls, wall time,
simulated time, the machine's load. Exit code 0 when every seed was run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # runnable as `python bench/skills_live.py` from a checkout
    sys.path.insert(0, str(REPO))

from robot_control.common.ros_env import apply_ros_env_defaults  # noqa: E402
from robot_control.edge.chain_client import (  # noqa: E402
    ARM,
    CHAIN,
    FALL_DROP,
    FALL_TILT_DEG,
    OBJECT,
    Observer,
    SceneJudge,
    SimControl,
    Snapshot,
    Streamer,
    connect,
    free_port,
    run_skill,
    skills_stack,
    trained_chain,
)

SETTLE_S = 0.5  # simulated time after a reset before the first skill
PLACEMENT_TOL = 0.005  # m: published object xy vs the seed's placement after a reset
LATCHED = ("estop", "tilt_stop")
CLEAR_ABOVE_TABLE = 0.25  # m: the hand goes back to its start posture at this height above the table


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class SkillStats:
    def __init__(self) -> None:
        self.attempts = 0
        self.successes = 0
        self.skipped = 0  # prepared mode: expert prefix failed
        self.edge_phases: Counter[str] = Counter()
        self.edge_succeeded_judge_failed = 0
        self.edge_failed_judge_succeeded = 0
        self.falls = 0

    def add(self, ok: bool, phase: str, fell: bool) -> None:
        self.attempts += 1
        self.successes += int(ok)
        self.edge_phases[phase] += 1
        self.falls += int(fell)
        if phase == "SUCCEEDED" and not ok:
            self.edge_succeeded_judge_failed += 1
        if phase != "SUCCEEDED" and ok:
            self.edge_failed_judge_succeeded += 1

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attempts": self.attempts, "successes": self.successes,
                               "rate": round(self.successes / self.attempts, 4) if self.attempts else None,
                               "edge_phases": dict(sorted(self.edge_phases.items()))}
        if self.skipped:
            out["skipped_expert_prefix_failed"] = self.skipped
        if self.edge_succeeded_judge_failed:
            out["edge_succeeded_but_judged_failed"] = self.edge_succeeded_judge_failed
        if self.edge_failed_judge_succeeded:
            out["edge_not_succeeded_but_judged_success"] = self.edge_failed_judge_succeeded
        if self.falls:
            out["falls"] = self.falls
        return out


class LiveBench:
    def __init__(self, args: argparse.Namespace, session, runner) -> None:
        from robot_control.body.robot_description import load_robot

        self.args = args
        self.robot = args.robot
        self.runner = runner
        node = session.node
        self.obs = Observer(node)
        self.sim = SimControl(node)
        self.judge = SceneJudge(self.robot)
        self.streamer = Streamer(node, self.obs, self.judge)
        description = load_robot(self.robot)
        posture = "stand" if "stand" in description.postures else "home"
        full = description.posture(posture)
        self.home = np.array([full[description.index(n)] for n in self.streamer.names])
        self.client = None
        self.contracts: dict[str, Any] = {}
        self.z0: float | None = None
        self.chain = {s: SkillStats() for s in CHAIN}
        self.prepared = {s: SkillStats() for s in CHAIN}
        self.chains_ok = 0
        self.episodes: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.resets = 0
        self.reset_contacts: Counter[str] = Counter()  # robot-environment contacts seen while homing
        self.sim_time = 0.0

    # -- setup ---------------------------------------------------------------------------------
    def connect(self, port: int) -> None:
        self.client, listed = connect(port, timeout_s=120.0)
        self.contracts = {c.name: c for c in listed.skills}
        self.rejected = list(listed.rejected)
        missing = [s for s in CHAIN if s not in self.contracts]
        if missing:
            raise RuntimeError(f"the edge serves {sorted(self.contracts)}, not {missing}; rejected: {self.rejected}")
        deadline = time.monotonic() + 60.0
        while not (self.obs.ready() and self.obs.mode() in ("hold", *LATCHED)):
            if time.monotonic() > deadline or not self.runner.alive:
                raise RuntimeError(f"no state from the stack (cerebellum mode {self.obs.mode()!r})")
            time.sleep(0.1)

    # -- reset ------------------------------------------------------------------------------------
    def fallen(self, snap: Snapshot) -> bool:
        ht = snap.base_height_tilt()
        if ht is None or self.z0 is None or self.robot != "g1":
            return False
        return ht[0] < self.z0 - FALL_DROP or ht[1] > FALL_TILT_DEG

    def fell_since_mark(self) -> bool:
        if self.robot != "g1" or self.z0 is None:
            return False
        low, tilt = self.obs.base_extremes()
        return low < self.z0 - FALL_DROP or tilt > FALL_TILT_DEG

    def reset(self, seed: int) -> None:
        """Arm back to the start posture, seeded /sim/reset, re-arm if latched, settle."""
        if self.obs.mode() not in LATCHED:
            q = self.streamer.measured(self.obs.snapshot())
            if np.max(np.abs(q - self.home)) > 0.01:
                seen: set[str] = set()
                ticks = [0]

                def contacts(snap: Snapshot) -> None:  # what the arm touches on its way back
                    ticks[0] += 1
                    if ticks[0] % 5 == 0:
                        seen.update(f"{b}-{o}" for b, o in self.judge.robot_contacts(snap) if o not in (OBJECT, "world"))

                self.streamer.go_home(self.home, self.judge.table_top + CLEAR_ABOVE_TABLE, on_tick=contacts)
                self.reset_contacts.update(seen)
        for attempt in range(3):  # a loaded machine may miss the body's 2 s window for the reset
            try:
                self.sim.reset(seed)
                break
            except (RuntimeError, TimeoutError) as exc:
                if attempt == 2:
                    raise
                log(f"seed {seed}: /sim/reset failed ({exc}); retrying")
                time.sleep(1.0)
        self.resets += 1
        if self.obs.mode() in LATCHED or self.obs.status.get("active_guard"):
            self.obs.wait_sim_time(0.2, 10.0)  # the cerebellum must see the reset state first
            ok, message = self.sim.rearm()
            log(f"cerebellum re-armed after the reset: {ok} {message}")
        self.obs.wait_sim_time(SETTLE_S, 30.0)
        snap = self.obs.settled_snapshot()
        error = self.judge.placement_error(snap, seed)
        if error > PLACEMENT_TOL:
            raise RuntimeError(f"after /sim/reset to seed {seed} the objects are {error:.4f} m from that "
                               "seed's placements (is the body's sim_seed applied?)")
        ht = snap.base_height_tilt()
        self.z0 = ht[0] if ht is not None else None
        self.obs.reset_base_extremes()

    # -- skills ------------------------------------------------------------------------------------
    def policy_skill(self, seed: int, skill: str, tag: str) -> dict[str, Any]:
        start = self.obs.settled_snapshot()
        ctx = self.judge.context(start)
        self.obs.reset_base_extremes()
        result = run_skill(self.client, self.contracts[skill], ARM[self.robot], OBJECT,
                           request_id=f"{tag}-{seed}-{skill}")
        end = self.obs.settled_snapshot()
        verdict = self.judge.judge(skill, end, ctx)
        fell = self.fell_since_mark()
        self.sim_time += end.stamp - start.stamp
        return {"skill": skill, "success": verdict.success and not fell, "edge_phase": result.phase_name,
                "edge_message": result.message, "fell": fell, "sim_s": round(end.stamp - start.stamp, 3),
                "judge": verdict.details}

    def expert_skill(self, skill: str, first: bool) -> dict[str, Any]:
        start = self.obs.settled_snapshot()
        self.obs.reset_base_extremes()
        ctx, fell, trace = self.streamer.run_expert(skill, fallen=self.fallen, reset_adapter=first)
        self.obs.wait_sim_time(0.05, 5.0)
        end = self.obs.settled_snapshot()
        verdict = self.judge.judge(skill, end, ctx)
        fell = fell or self.fell_since_mark()
        self.sim_time += end.stamp - start.stamp
        return {"skill": skill, "by": "expert", "success": verdict.success and not fell, "fell": fell,
                "judge": verdict.details, "phases": trace}

    def run_chain(self, seed: int) -> dict[str, Any]:
        self.reset(seed)
        steps = []
        for skill in CHAIN:
            step = self.policy_skill(seed, skill, "chain")
            steps.append(step)
            self.chain[skill].add(step["success"], step["edge_phase"], step["fell"])
            if skill == "reach":  # reach from the reset state: the same start in both modes
                self.prepared[skill].add(step["success"], step["edge_phase"], step["fell"])
            if not step["success"]:
                break
        ok = len(steps) == len(CHAIN) and all(s["success"] for s in steps)
        self.chains_ok += int(ok)
        return {"mode": "chain", "success": ok, "steps": steps}

    def run_prepared(self, seed: int, skill: str) -> dict[str, Any]:
        self.reset(seed)
        steps = []
        for i, prior in enumerate(CHAIN[:CHAIN.index(skill)]):
            step = self.expert_skill(prior, first=i == 0)
            steps.append(step)
            if not step["success"]:
                self.prepared[skill].skipped += 1
                return {"mode": f"prepared:{skill}", "skipped": f"expert {prior} failed", "steps": steps}
        step = self.policy_skill(seed, skill, "prepared")
        steps.append(step)
        self.prepared[skill].add(step["success"], step["edge_phase"], step["fell"])
        return {"mode": f"prepared:{skill}", "success": step["success"], "steps": steps}

    # -- reporting ---------------------------------------------------------------------------------
    def failures(self) -> list[dict[str, Any]]:
        out = []
        for ep in self.episodes:
            for run in ep["runs"]:
                if run.get("success", True) or "skipped" in run:
                    continue
                step = run["steps"][-1]
                out.append({"seed": ep["seed"], "mode": run["mode"], "skill": step["skill"],
                            "edge_phase": step.get("edge_phase"), "edge_message": step.get("edge_message"),
                            "fell": step["fell"], "judge": step["judge"]})
        return out

    def skipped(self) -> list[dict[str, Any]]:
        return [{"seed": ep["seed"], "mode": run["mode"], "why": run["skipped"], "judge": run["steps"][-1]["judge"]}
                for ep in self.episodes for run in ep["runs"] if "skipped" in run]


def machine() -> dict[str, Any]:
    return {"nproc": os.cpu_count(), "load_avg": [round(v, 2) for v in os.getloadavg()]}


def report(bench: LiveBench | None, args: argparse.Namespace, meta: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"benchmark": "skills_live", "robot": args.robot, **meta}
    if bench is None:
        return out
    n = len(bench.episodes)
    out.update({
        "episodes_run": n,
        "chain": {"successes": bench.chains_ok, "episodes": n,
                  "rate": round(bench.chains_ok / n, 4) if n else None,
                  "per_skill": {s: st.to_json() for s, st in bench.chain.items()}},
    })
    if args.prepared:
        out["prepared"] = {
            "note": "each skill from an expert-prepared state: reset, scripted experts for the skills before it "
                    "(streamed to the cerebellum), then the learned skill via Execute; reach = the chain's reach",
            "per_skill": {s: st.to_json() for s, st in bench.prepared.items()}}
    out["failures"] = bench.failures()
    skipped = bench.skipped()
    if skipped:
        out["prepared_skipped"] = skipped
    falls = [{"seed": ep["seed"], "mode": run["mode"], "skill": step["skill"]}
             for ep in bench.episodes for run in ep["runs"] for step in run["steps"] if step["fell"]]
    out["falls"] = falls
    rtf = [ep["rtf"] for ep in bench.episodes if "rtf" in ep]
    if rtf:
        out["real_time_factor"] = {"mean": round(float(np.mean(rtf)), 3), "min": round(min(rtf), 3),
                                   "note": "simulated s per wall s at the end of each seed"}
    out["resets"] = bench.resets
    if bench.reset_contacts:
        out["reset_homing_contacts"] = dict(bench.reset_contacts)
    out["sim_time_in_skills_s"] = round(bench.sim_time, 1)
    out["errors"] = bench.errors
    if args.per_episode:
        out["episodes"] = bench.episodes
    return out


def run(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    os.environ["ROS_DOMAIN_ID"] = str(args.domain_id)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("MUJOCO_GL", "egl")
    apply_ros_env_defaults()
    from robot_control.testing import RosSession, RunningStack

    folder = Path(args.skills).resolve()
    seeds = list(range(args.first_seed, args.first_seed + args.episodes))
    t_start = time.monotonic()
    meta: dict[str, Any] = {
        "skills": str(folder), "object": OBJECT, "seeds": f"{seeds[0]}-{seeds[-1]}" if seeds else "",
        "episodes": args.episodes, "stack": f"skills_{args.robot}", "domain_id": args.domain_id,
        "machine_start": machine(),
        "judged_by": "simulation state as published (/joint_states, /base_pose, /objects of one step) with "
                     "robot_control.edge.experts.check_success on a copy of the scene",
    }
    chain = trained_chain(folder, args.robot)
    if chain != list(CHAIN):
        meta["errors"] = [f"{folder} has no {args.robot} model for "
                          f"{', '.join(s for s in CHAIN if s not in chain)}"]
        return meta, False
    port = free_port()
    session = RosSession(args.domain_id, node_name="skills_live")
    runner = RunningStack(skills_stack(args.robot, port, folder), args.domain_id)
    bench: LiveBench | None = None
    complete = False

    def write(final: bool) -> dict[str, Any]:
        meta["wall_time_s"] = round(time.monotonic() - t_start, 1)
        meta["machine_end" if final else "machine_now"] = machine()
        out = report(bench, args, meta)
        if args.out is not None:
            tmp = Path(str(args.out) + ".tmp")
            tmp.write_text(json.dumps(out, indent=2) + "\n")
            tmp.replace(args.out)
        return out

    try:
        bench = LiveBench(args, session, runner)
        runner.start()
        bench.connect(port)
        meta["edge_rejected"] = bench.rejected
        log(f"{args.robot}: stack up, edge serves {sorted(bench.contracts)}")
        for seed in seeds:
            if not runner.alive:
                raise RuntimeError("the stack stopped")
            t0 = time.monotonic()
            ep: dict[str, Any] = {"seed": seed, "runs": []}
            bench.episodes.append(ep)
            try:
                ep["runs"].append(bench.run_chain(seed))
                if args.prepared:
                    for skill in CHAIN[1:]:
                        ep["runs"].append(bench.run_prepared(seed, skill))
            except (TimeoutError, RuntimeError) as exc:
                bench.errors.append(f"seed {seed}: {type(exc).__name__}: {exc}")
                log(f"seed {seed}: {exc}")
                ep["error"] = str(exc)
            ep["rtf"] = round(bench.obs.clock_rate(), 3)
            chain_steps = ep["runs"][0]["steps"] if ep["runs"] else []
            summary = " ".join(f"{s['skill']}:{'ok' if s['success'] else 'FAIL'}" for s in chain_steps)
            prepared = " ".join(f"{r['mode'].split(':')[1]}:{'skip' if 'skipped' in r else ('ok' if r['success'] else 'FAIL')}"
                                for r in ep["runs"][1:])
            log(f"seed {seed} ({time.monotonic() - t0:.0f} s, rtf {ep['rtf']:.2f}): chain {summary}"
                + (f" | prepared {prepared}" if prepared else ""))
            write(False)
        complete = len(bench.episodes) == len(seeds) and not any("error" in ep for ep in bench.episodes)
    except Exception as exc:  # noqa: BLE001 - reported in the JSON
        meta.setdefault("errors", []).append(f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
    finally:
        if bench is not None and bench.client is not None:
            bench.client.close()
        runner.stop(timeout_s=60.0)
        session.close()
        if not complete:
            meta["stack_log_tail"] = runner.output()[-4000:]
    return write(True), complete


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--robot", choices=("g1", "panda"), default="panda")
    p.add_argument("--episodes", type=int, default=50, help="unseen seeds (default 50)")
    p.add_argument("--first-seed", type=int, default=500_000,
                   help="first seed (default 500000: pipeline.eval_seeds(0, n), the in-process evaluation's)")
    p.add_argument("--skills", default=str(REPO / "config" / "skills"), help="skill folder the edge serves")
    p.add_argument("--prepared", action=argparse.BooleanOptionalAction, default=True,
                   help="also run each skill from an expert-prepared state (default on)")
    p.add_argument("--per-episode", action="store_true", help="include every episode's steps in the JSON")
    p.add_argument("--domain-id", type=int, default=int(os.environ.get("ROS_DOMAIN_ID", "0") or 0) or 150)
    p.add_argument("--out", type=Path, help="also write the JSON here (rewritten after every seed)")
    args = p.parse_args(argv)
    if args.episodes < 1:
        p.error("--episodes must be >= 1")
    out, complete = run(args)
    print(json.dumps(out, indent=2), flush=True)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
