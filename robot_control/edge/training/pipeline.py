"""`train_skill`: expert demonstrations -> MCAP dataset -> behaviour cloning -> ONNX + manifest -> evaluation.

    1. demonstrations: the scripted expert chain (all six skills; with full_chain=False only up
       to the skill) on seeds `seed * 1_000_000 + [0, episodes)` per robot, DART noise on the
       executed ee delta (noise levels cycled over episodes), written to one MCAP file per robot
       (episodes.py): `<data_dir>/demos_<robot>_s<seed>_<episodes>ep.mcap`. Every skill trained
       with the same options reuses it, unless the demonstration code changed (its hash is in
       the file's metadata);
    2. the skill's successful episodes are read back from the file(s) and cloned (bc.py);
    3. the MLP is exported to ONNX with normalisation, clipping and the manifest embedded, and
       the manifest YAML is written next to it (models in `<out>/models/`);
    4. the exported file is loaded with `load_policy` and evaluated on UNSEEN seeds
       `seed * 1_000_000 + 500_000 + [0, eval_episodes)` per robot: expert prefix, then the
       policy, success judged by the simulation's ground truth (rollout.py);
    5. the evaluation goes into `provenance.evaluation`, the model is re-exported so the
       embedded manifest and the YAML agree, and the YAML gets the final sha256.

A model trained on several robots (`robots=("g1", "panda")`) is ONE file that lists both
embodiments (file stem = skill name); a single-robot model is `<skill>_<robot>`. Nothing
in the files depends on wall-clock time: the same code, seed and options give byte-identical
datasets, models and manifests.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robot_control.edge.experts import CHAIN
from robot_control.edge.manifest import (
    SCHEMA,
    Signal,
    SkillManifest,
    load_manifest,
    manifest_from_dict,
    write_manifest,
)
from robot_control.edge.observation import ObservationLayout
from robot_control.edge.policy import export_mlp, load_policy
from robot_control.edge.training.bc import BCConfig, BCResult, train_bc
from robot_control.edge.training.episodes import (
    ACT_SIGNALS,
    FORMAT,
    EpisodeWriter,
    read_episodes,
    read_metadata,
    sha256_file,
)

VERSION = "1.0.0"
GRIPPER_STATE_INDEX, SKILL_TIME_INDEX = 12, 13  # observation elements (see OBS_SIGNAL_SPECS)
# Observation elements each policy ignores (bc.BCConfig.ignore_inputs), see docs/skill-datasets.md:
# skill_time wherever the expert's phase follows from geometry (a policy slower than the expert
# would see times it never saw), and the measured gripper closure for grasp (its own creeping
# closure fed back made the policy close early). release keeps the time: its expert waits a fixed
# 0.6 s with the hand opening before it retreats, and only the clock tells when that is over.
# reach ignores the closure too: the hand only has to stay open, but a policy output a hair
# above 0 let the Dex3 fingers creep (closure 0.01 -> 0.14 in 1.4 s), a state the experts never
# showed, and the G1 then cut its raised waypoint short, swept the table and fell (0/10 with the
# closure as input, 10/10 without, same data).
# transport ignores the measured ee velocity: a G1 hand that paused where the expert switches from
# rising over the rim to carrying showed "no velocity", the clone copied it and stalled there until
# the timeout (G1: the shared model with the velocity 36/50 on unseen seeds, all failures such
# stalls; a G1-only model without it 19/20).
EE_VELOCITY_INDICES = (9, 10, 11)
IGNORED_INPUTS: dict[str, tuple[int, ...]] = {
    "reach": (GRIPPER_STATE_INDEX, SKILL_TIME_INDEX), "grasp": (GRIPPER_STATE_INDEX, SKILL_TIME_INDEX),
    "lift": (SKILL_TIME_INDEX,), "transport": EE_VELOCITY_INDICES + (SKILL_TIME_INDEX,),
    "place": (SKILL_TIME_INDEX,), "release": ()}


# Label transforms applied to the clean expert labels before cloning (the dataset keeps the raw labels).
# The experts ramp the gripper over 0.4-0.8 s (grasp: 0 -> 1, release: 1 -> 0); a policy without a
# clock can only average a ramp (grasp squeezed at ~0.6 and lost contact; release kept commanding
# ~0.45, above the closure at which the fingers touch the object, and never let go). These policies
# learn the ramp's target instead.
LABEL_TRANSFORMS: dict[str, str] = {"grasp": "gripper_close_target", "release": "gripper_open_target"}


def transform_labels(skill: str, act: np.ndarray) -> np.ndarray:
    kind = LABEL_TRANSFORMS.get(skill)
    if kind is None:
        return act
    out = act.copy()
    if kind == "gripper_close_target":  # closing has started: close
        out[:, 3] = (act[:, 3] > 0.0).astype(act.dtype)
    elif kind == "gripper_open_target":  # opening has started: open
        out[:, 3] = (act[:, 3] >= 1.0).astype(act.dtype)
    else:
        raise ValueError(f"unknown label transform {kind!r}")
    return out


def default_bc_config(skill: str, seed: int = 0, quick: bool = False) -> BCConfig:
    if quick:
        return BCConfig(hidden=(32, 32), steps=300, seed=seed, ignore_inputs=IGNORED_INPUTS[skill])
    return BCConfig(seed=seed, ignore_inputs=IGNORED_INPUTS[skill])
CONTROL_RATE_HZ = 50.0
EVAL_SEED_OFFSET = 500_000
DAGGER_SEED_OFFSET = 700_000  # DAgger rollouts (evaluation seeds stay below)
SEED_STRIDE = 1_000_000
DEFAULT_DATA_DIR = "runs/skill_datasets"  # relative to the working directory; runs/ is git-ignored
DEFAULT_NOISE = (0.0, 0.001, 0.002)  # m per tick on the executed ee delta, cycled over episodes

OBS_SIGNAL_SPECS: list[dict[str, Any]] = [
    {"name": "object_minus_ee", "size": 3, "frame": "world", "unit": "m"},
    {"name": "goal_minus_ee", "size": 3, "frame": "world", "unit": "m"},
    {"name": "command_minus_ee", "size": 3, "frame": "world", "unit": "m"},
    {"name": "ee_velocity", "size": 3, "frame": "world", "unit": "m/s"},
    {"name": "gripper_state", "size": 1, "unit": "1"},  # measured closure, 0 open .. 1 closed
    {"name": "skill_time", "size": 1, "unit": "1"},  # elapsed / max_duration_s
]

# A model shared by several robots also takes the embodiment's approach direction
# (robot_control.edge.observation): the experts it imitates approach differently (the G1's
# side power grasp from a raised waypoint, the Panda top-down), and without it one network
# averaged the two and stalled on both (shared reach: 0/50 on each robot).
EMBODIMENT_SIGNAL_SPECS: list[dict[str, Any]] = [
    {"name": "approach_dir", "size": 3, "frame": "world", "unit": "1"},  # embodiment constant
]


def observation_specs(robots: Sequence[str]) -> list[dict[str, Any]]:
    """The observation signals of a model trained on `robots`."""
    return [dict(s) for s in OBS_SIGNAL_SPECS + (EMBODIMENT_SIGNAL_SPECS if len(robots) > 1 else [])]


# Human text and runtime checks per skill (thresholds consistent with experts.check_success).
SKILL_TEXT: dict[str, str] = {
    "reach": "Move the open hand to the pre-grasp point of the object (above it for a top-down "
             "gripper, beside it for a side grasp) without touching it.",
    "grasp": "From the pre-grasp point, move onto the object and close the hand around it.",
    "lift": "Lift the grasped object 12 cm straight up.",
    "transport": "Carry the held object over the target location, its bottom above the rim.",
    "place": "Lower the held object into the target location until it rests just above the floor.",
    "release": "Open the hand and retreat away from the placed object.",
}


def holding_closure(final_closures: Sequence[float]) -> float:
    """gripper_closed threshold from the measured closures the expert's hand ends a skill with
    (holding the object): 80 % of their 5th percentile (Panda on the cube ~0.18, G1 Dex3 ~0.59)."""
    q = float(np.quantile(np.asarray(final_closures, dtype=float), 0.05))
    return round(float(np.clip(0.8 * q, 0.1, 0.9)), 2)


RELEASE_MOVED_TOLERANCE = 0.06  # m, see skill_checks


def skill_checks(skill: str, closure: float | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(success, failure) checks of a skill in the edge runtime's vocabulary (edge/checks.py).

    Chosen so that "all success checks hold" implies the expert's ground-truth success
    (experts.check_success) for the scene objects, from observed quantities only. Heights in
    object_in_region are of the object centre above the bin's base.
    `closure`: the gripper_closed threshold of grasp / lift (see holding_closure); the hands
    differ (a parallel gripper on a cube vs a five-finger hand), so it comes from the data.
    """
    closed = {"check": "gripper_closed", "min": 0.15 if closure is None else float(closure)}
    # held (lift, transport): the object within 5 cm of the ee point. The G1 grasps 1.5 cm above the
    # object's centre and a can slides a little down the Dex3 as it rises: behind the cerebellum
    # (lockstep harness) 3 of 40 lifts and 4 of 40 transports ended with the object > 4 cm off,
    # held (ground truth), and timed out against a 4 cm bound. A dropped object falls to the
    # table (>= 8 cm) and object_dropped (a 5 cm shift) fails the skill first.
    near = {"check": "object_near_ee", "tolerance": 0.05}
    dropped = {"check": "object_dropped", "tolerance": 0.05}
    table: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
        # ground truth: ee within 2 cm of the pre-grasp point, object moved < 1 cm
        "reach": ([{"check": "ee_near_goal", "tolerance": 0.015}], [{"check": "object_moved", "tolerance": 0.01}]),
        # ground truth: >= 2 hand bodies touch the object
        "grasp": ([{"check": "ee_near_goal", "tolerance": 0.012}, closed, {"check": "object_near_ee", "tolerance": 0.03}],
                  [{"check": "object_moved", "tolerance": 0.03}]),
        # ground truth: held and object bottom >= table + 8 cm (the object starts on the table)
        "lift": ([{"check": "ee_near_goal", "tolerance": 0.02}, {"check": "object_raised", "height": 0.085},
                  closed, near], [dropped]),
        # ground truth: held, object centre over the bin's inner footprint, bottom above the rim
        # (centre >= 8 cm above the bin's base: bottom above the rim for the scenes' objects, the
        # Panda's 4.5 cm cube in a 4 cm bin and the G1's 12 cm box over a 1.5 cm tray)
        "transport": ([{"check": "ee_near_goal", "tolerance": 0.02},
                       {"check": "object_in_region", "region": "to", "margin": 0.01, "min_height": 0.08}, near],
                      [dropped]),
        # ground truth: object inside the bin footprint, its bottom below the rim. The goal puts the
        # object's bottom 5-12 mm above the bin floor for whatever object is held (the G1 tray's rim
        # is 1.5 cm high), so the ee must be close to it; a height bound on the object centre would
        # depend on the object's size, which a manifest does not know.
        "place": ([{"check": "ee_near_goal", "tolerance": 0.008},
                   {"check": "object_in_region", "region": "to", "margin": 0.01}], [dropped]),
        # ground truth: object in the bin, no hand contact, hand >= 5 cm from the object. The
        # failure check stops a retreat that drags the object along, not an opening hand that
        # tips it a little: in CI the G1's 12 cm box leaned 3-3.5 cm (centre) as the Dex3 opened,
        # a 3 cm bound stopped the release half-open against it, and the recovery then pushed
        # it out of the tray. Whether it stayed in the bin is judged by the task's goal check.
        "release": ([{"check": "gripper_open", "max": 0.05}, {"check": "ee_near_goal", "tolerance": 0.02}],
                    [{"check": "object_moved", "tolerance": RELEASE_MOVED_TOLERANCE}]),
    }
    return table[skill]


def contract_fields(skill: str) -> dict[str, list[str]]:
    """Symbolic parameters / preconditions / effects of the planner's contract for `skill`."""
    from robot_control.brain.fixtures import standard_contracts

    def text(conds: Any) -> list[str]:
        return [("not " if c.negated else "") + f"{c.predicate}({', '.join(c.arguments)})" for c in conds]

    for c in standard_contracts():
        if c.name == skill:
            return {"parameters": list(c.parameters), "preconditions": text(c.preconditions),
                    "add_effects": text(c.add_effects), "delete_effects": text(c.delete_effects)}
    raise ValueError(f"no planner contract for skill {skill!r}")


def model_stem(skill: str, robots: Sequence[str]) -> str:
    return skill if len(robots) > 1 else f"{skill}_{robots[0]}"


def library_versions() -> dict[str, str]:
    out = {}
    for dist in ("numpy", "onnx", "onnxruntime", "mujoco", "mink", "mcap", "mcap-ros2-support"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def git_state() -> dict[str, Any]:
    from robot_control.paths import share_dir

    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", *args], cwd=share_dir(), capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {"commit": "unknown"}
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(dirty)}


def _rounded(values: np.ndarray) -> list[float]:
    return [float(f"{float(v):.6g}") for v in values]


GENERATOR_FILES = ("edge/experts.py", "edge/embodiment.py", "edge/sim_episode.py", "body/mujoco_driver.py",
                   "body/sim/scene.py")


@functools.cache
def generator_sha256() -> str:
    """Hash of the code that generates demonstrations: a dataset made by other code is not reused."""
    root = Path(__file__).resolve().parents[2]  # the robot_control package
    h = hashlib.sha256()
    for rel in GENERATOR_FILES:
        path = root / rel
        h.update(rel.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"missing") + b"\0")
    return h.hexdigest()


def dataset_path(data_dir: str | Path, robot: str, seed: int, episodes: int, chain: Sequence[str],
                 objects: Sequence[str] = ()) -> Path:
    suffix = "" if tuple(chain) == CHAIN else f"_to-{chain[-1]}"
    if objects:
        suffix += "_" + "+".join(objects)
    return Path(data_dir) / f"demos_{robot}_s{seed}_{episodes}ep{suffix}.mcap"


def demo_seeds(seed: int, episodes: int) -> list[int]:
    return [seed * SEED_STRIDE + i for i in range(episodes)]


def eval_seeds(seed: int, episodes: int) -> list[int]:
    return [seed * SEED_STRIDE + EVAL_SEED_OFFSET + i for i in range(episodes)]


def dagger_seeds(seed: int, round_index: int, episodes: int) -> list[int]:
    """Seeds of DAgger round `round_index` (0-based): disjoint from the demonstrations' and the
    evaluation's (demonstrations < EVAL_SEED_OFFSET <= evaluation < DAGGER_SEED_OFFSET)."""
    first = seed * SEED_STRIDE + DAGGER_SEED_OFFSET + round_index * episodes
    return list(range(first, first + episodes))


def _collect_chunk(robot: str, obj: str, seeds: Sequence[int], noise: Sequence[float], chain: Sequence[str],
                   objects: Sequence[str], first_index: int, path: str) -> int:
    """One worker process's share of `ensure_demos(jobs > 1)`: seeds[...] into its own file."""
    from robot_control.edge.sim_episode import SimEpisodeRunner
    from robot_control.edge.training.rollout import collect_demos

    runner = SimEpisodeRunner(robot, obj=obj)
    with EpisodeWriter(path, {"chunk_of": robot, "first_index": first_index}, CONTROL_RATE_HZ) as writer:
        collect_demos(runner, seeds, noise, writer, chain=chain, progress=False, objects=objects or None,
                      first_index=first_index)
        return writer.count


def _in_processes(writer: EpisodeWriter, seeds: Sequence[int], jobs: int, worker: Callable[..., int],
                  args_for: Callable[[int, list[int], str], tuple[Any, ...]]) -> None:
    """Split `seeds` into `jobs` contiguous chunks, run `worker(*args_for(first index, chunk, part
    file))` for each in a spawned process (each writes its own part file), then append the parts'
    episodes to `writer` in seed order: the same file one process would write."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    bounds = np.linspace(0, len(seeds), min(jobs, len(seeds)) + 1).round().astype(int)
    chunks = [(int(a), list(seeds[a:b])) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    parts = [writer.path.with_name(f"{writer.path.name}.chunk{k}") for k in range(len(chunks))]
    try:
        with ProcessPoolExecutor(len(chunks), mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(worker, *args_for(first, chunk, str(part)))
                       for (first, chunk), part in zip(chunks, parts, strict=True)]
            for future in futures:
                future.result()
        for part in parts:
            for ep in read_episodes(part, joints=True):
                writer.add(ep)
    finally:
        for part in parts:
            part.unlink(missing_ok=True)


def _collect_parallel(runner: Any, seeds: Sequence[int], noise: Sequence[float], chain: Sequence[str],
                      objects: Sequence[str], writer: EpisodeWriter, jobs: int, log: Callable[[str], None]) -> None:
    """Collect in `jobs` spawned processes (contiguous seed chunks, one file each), merged in seed order."""
    log(f"collecting {len(seeds)} demonstration runs in {min(jobs, len(seeds))} processes")
    _in_processes(writer, seeds, jobs, _collect_chunk,
                  lambda first, chunk, part: (runner.description.name, runner.obj, chunk, tuple(noise), tuple(chain),
                                              tuple(objects), first, part))


def _dagger_chunk(robot: str, obj: str, manifest_path: str, skill: str, seeds: Sequence[int],
                  objects: Sequence[str], path: str) -> int:
    """One worker process's share of `collect_dagger_round(jobs > 1)`."""
    from robot_control.edge.sim_episode import SimEpisodeRunner
    from robot_control.edge.training.rollout import collect_dagger

    runner = SimEpisodeRunner(robot, obj=obj)
    policy = load_policy(load_manifest(manifest_path))
    with EpisodeWriter(path, {"chunk_of": robot}, CONTROL_RATE_HZ) as writer:
        collect_dagger(runner, policy, skill, seeds, writer, objects=objects or None, progress=False)
        return writer.count


def collect_dagger_round(runner: Any, manifest_path: Path, skill: str, seeds: Sequence[int], path: Path,
                         objects: Sequence[str] = (), jobs: int = 1, progress: bool = True) -> Path:
    """One DAgger round into `path`: the policy of `manifest_path` acts, the expert labels (rollout.
    collect_dagger); `jobs` > 1 splits the seeds over that many spawned processes (same file)."""
    from robot_control.edge.training.rollout import collect_dagger

    meta = {"robot": runner.description.name, "kind": "dagger", "skill": skill,
            "policy_sha256": sha256_file(load_manifest(manifest_path).model_path()),
            "seeds": f"{seeds[0]}-{seeds[-1]}", "episodes": len(seeds), "object": ",".join(objects) or runner.obj,
            "generator": "robot_control.edge.training", "generator_code_sha256": generator_sha256()}
    with EpisodeWriter(path, meta, CONTROL_RATE_HZ) as writer:
        if jobs <= 1 or len(seeds) < 2:
            collect_dagger(runner, load_policy(load_manifest(manifest_path)), skill, seeds, writer,
                           objects=objects or None, progress=progress)
            return path
        _in_processes(writer, seeds, jobs, _dagger_chunk,
                      lambda _first, chunk, part: (runner.description.name, runner.obj, str(manifest_path), skill,
                                                   chunk, tuple(objects), part))
    return path


def ensure_demos(runner: Any, *, seed: int, episodes: int, noise: Sequence[float], chain: Sequence[str],
                 data_dir: Path, reuse: bool = True, progress: bool = True,
                 log: Callable[[str], None] = print, objects: Sequence[str] = (), jobs: int = 1) -> Path:
    """The robot's demonstration file for these seeds / noise / chain, collected unless an identical
    one (same options and generator code) exists; a full-chain file serves every skill. With
    several `objects` every run moves each of them in turn. `jobs` > 1 collects in that many
    processes (same episodes, same file)."""
    from robot_control.edge.training.rollout import collect_demos

    robot = runner.description.name
    seeds = demo_seeds(seed, episodes)
    meta = {"robot": robot, "seeds": f"{seeds[0]}-{seeds[-1]}", "episodes": len(seeds),
            "noise": ",".join(repr(float(n)) for n in noise),
            "object": ",".join(objects) if len(objects) > 1 else runner.obj, "chain": ",".join(chain),
            "generator": "robot_control.edge.training", "generator_code_sha256": generator_sha256()}
    if reuse:
        for candidate_chain in (CHAIN, tuple(chain)):
            path = dataset_path(data_dir, robot, seed, len(seeds), candidate_chain, objects)
            if path.is_file() and _same_dataset(path, {**meta, "chain": ",".join(candidate_chain)}) \
                    and set(chain) <= set(candidate_chain):
                log(f"reusing demonstrations {path}")
                return path
    path = dataset_path(data_dir, robot, seed, len(seeds), chain, objects)
    with EpisodeWriter(path, meta, CONTROL_RATE_HZ) as writer:
        if jobs > 1 and len(seeds) > 1:
            _collect_parallel(runner, seeds, noise, chain, objects, writer, min(jobs, len(seeds)), log)
        else:
            collect_demos(runner, seeds, noise, writer, chain=chain, progress=progress, objects=objects or None)
    return path


def _same_dataset(path: Path, meta: dict[str, Any]) -> bool:
    try:
        dataset, _ = read_metadata(path)
    except Exception:  # noqa: BLE001 - unreadable: collect again
        return False
    return all(dataset.get(k) == str(v) for k, v in meta.items())


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


@dataclass
class TrainReport:
    skill: str
    robots: tuple[str, ...]
    manifest_path: Path
    model_path: Path
    dataset_paths: list[Path]
    evaluation: dict[str, dict[str, Any]]
    bc: BCResult
    timings: dict[str, float] = field(default_factory=dict)  # s per stage (not written to the files)
    demo_stats: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"{self.skill} ({', '.join(self.robots)}): {self.manifest_path}"]
        lines.append(f"  model {self.model_path} ({self.model_path.stat().st_size / 1024:.1f} KiB, "
                     f"{self.bc.parameter_count()} parameters); train loss {self.bc.train_loss:.4g}, "
                     f"val loss {self.bc.val_loss:.4g}")
        lines.append(f"  datasets {', '.join(map(str, self.dataset_paths))}: {self.demo_stats}")
        for robot, ev in self.evaluation.items():
            lines.append(f"  {robot}: {ev['successes']}/{ev['episodes']} = {ev['success_rate']:.0%} on seeds "
                         f"{ev['seeds']} (runtime checks {ev['runtime_checks']}"
                         + (f", skipped {ev['skipped_expert_prefix_failed']}" if ev.get("skipped_expert_prefix_failed")
                            else "") + ")")
        lines.append("  time: " + ", ".join(f"{k} {v:.0f} s" for k, v in self.timings.items()))
        return "\n".join(lines)


def gripper_max_rate(skill: str, robots: Sequence[str]) -> float | None:
    """The rate the runtime ramps an opening skill's gripper command at: the slowest gripper ramp
    of its expert over `robots`. Only for skills that learn the opening ramp's target (release):
    opened at once, the G1's Dex3 flicked the 12 cm box over (lockstep harness: 3-4 of 12 chains
    lost in the release, 12/12 ramped). Closing is not ramped: the runtime holds a succeeded
    grasp's last command, which would then stop the hand part-closed (Panda grasp 24/50)."""
    from robot_control.edge.experts import make_skills
    from robot_control.edge.sim_episode import DEFAULT_SPEC

    if LABEL_TRANSFORMS.get(skill) != "gripper_open_target":
        return None
    ramps = [ph.gripper_ramp for robot in robots for ph in make_skills(DEFAULT_SPEC[robot])[skill].phases
             if ph.gripper_ramp > 0]
    return round(1.0 / max(ramps), 4) if ramps else None


def training_record(skill: str, config: BCConfig, bc: BCResult) -> dict[str, Any]:
    """provenance.training of a manifest: how the model was cloned and how well it fit."""
    return {"algorithm": "behaviour cloning (numpy MLP, MSE on [-1, 1]-scaled actions)",
            "label_transform": LABEL_TRANSFORMS.get(skill, "none"),
            **config.to_dict(), "train_loss": float(f"{bc.train_loss:.6g}"),
            "val_loss": float(f"{bc.val_loss:.6g}"), "train_samples": bc.train_samples,
            "val_samples": bc.val_samples, "parameters": bc.parameter_count(),
            "action_signals": [n for n, _ in ACT_SIGNALS]}


def build_manifest(skill: str, robots: Sequence[str], bc: BCResult, max_step: float, max_duration: float,
                   model_file: str, provenance: dict[str, Any], closure: float | None = None) -> dict[str, Any]:
    success, failure = skill_checks(skill, closure)
    contract = contract_fields(skill)
    rate = gripper_max_rate(skill, robots)
    return {
        "schema": SCHEMA, "name": skill, "version": VERSION, "description": SKILL_TEXT[skill],
        "embodiments": list(robots), **contract, "goal": skill,
        "control_rate_hz": CONTROL_RATE_HZ, "max_duration_s": float(max_duration),
        **({"gripper_max_rate": rate} if rate is not None else {}),
        "observation": {"dtype": "float32", "signals": observation_specs(robots),
                        "normalisation": {"mean": _rounded(bc.obs_mean), "std": _rounded(bc.obs_std),
                                          "in_model": True}},
        "action": {"space": "task_space", "signals": [
            {"name": "ee_delta", "size": 3, "frame": "world", "unit": "m", "low": -max_step, "high": max_step},
            {"name": "gripper", "size": 1, "unit": "1", "low": 0.0, "high": 1.0}]},
        "success": success, "failure": failure,
        "model": {"file": model_file, "sha256": "", "input": "observation", "output": "action"},
        "provenance": provenance,
    }


def export_and_write(data: dict[str, Any], layers: Sequence[tuple[np.ndarray, np.ndarray]],
                     manifest_path: Path) -> SkillManifest:
    """Export the ONNX file for `data` (embedding it), then write the YAML with the file's sha256."""
    data["model"]["sha256"] = ""
    draft = manifest_from_dict(data, f"{manifest_path}:", source=manifest_path.resolve())
    data["model"]["sha256"] = export_mlp(draft.model_path(), layers, draft)
    return write_manifest(data, manifest_path)


def train_skill(skill: str, robot: str | Sequence[str], *, episodes: int, eval_episodes: int = 50, seed: int = 0,
                out_dir: str | Path, noise: Sequence[float] = DEFAULT_NOISE, data_dir: str | Path | None = None,
                bc_config: BCConfig | None = None, progress: bool = True, hold_s: float | None = None,
                reuse_dataset: bool = True, full_chain: bool = True, objects: Sequence[str] = (),
                jobs: int = 1, dagger_rounds: int = 0, dagger_episodes: int = 0,
                log: Callable[[str], None] = print) -> TrainReport:
    """`objects`: demonstrations and evaluation move each of these in turn per run (the second
    one to the bin's other slot); default: the scene's first object only. `dagger_rounds` > 0:
    after cloning the demonstrations, that many DAgger rounds of `dagger_episodes` seeds each
    (the current policy acts, the expert labels; the model is re-cloned on everything so far)."""
    from robot_control.edge.sim_episode import SimEpisodeRunner
    from robot_control.edge.training.rollout import SUCCESS_HOLD_S, evaluate_skill

    if skill not in CHAIN:
        raise ValueError(f"unknown skill {skill!r}; expected one of {', '.join(CHAIN)}")
    robots = tuple(robot.split(",")) if isinstance(robot, str) else tuple(robot)
    robots = tuple(dict.fromkeys(r.strip() for r in robots if r.strip()))
    if not robots or any(r not in ("g1", "panda") for r in robots):
        raise ValueError(f"robots must be g1 and/or panda, got {robot!r}")
    if episodes < 2 or eval_episodes < 1:
        raise ValueError("need at least 2 demonstration episodes and 1 evaluation episode")
    if dagger_rounds < 0 or (dagger_rounds > 0 and dagger_episodes < 1):
        raise ValueError("dagger_rounds must be >= 0, and dagger_episodes >= 1 when rounds are asked for")
    if eval_episodes > DAGGER_SEED_OFFSET - EVAL_SEED_OFFSET or \
            dagger_rounds * dagger_episodes > SEED_STRIDE - DAGGER_SEED_OFFSET:
        raise ValueError("too many evaluation or DAgger episodes: the seed ranges must stay disjoint")
    out_dir = Path(out_dir)
    data_dir = data_dir if data_dir is not None else DEFAULT_DATA_DIR
    stem = model_stem(skill, robots)
    manifest_path = out_dir / f"{stem}.yaml"
    model_file = f"models/{stem}.onnx"
    bc_config = bc_config or default_bc_config(skill, seed)
    noise = tuple(float(n) for n in noise) or (0.0,)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    objects = tuple(dict.fromkeys(o.strip() for o in objects if o.strip()))
    runners = {r: SimEpisodeRunner(r, **({"obj": objects[0]} if objects else {})) for r in robots}
    for r, run in runners.items():
        have = {o.name for o in run.driver.built.objects if o.name != "bin"}
        unknown = [o for o in objects if o not in have]
        if unknown:
            raise ValueError(f"objects {', '.join(unknown)} are not in the {r} scene (have: {', '.join(sorted(have))})")
    if len(objects) > 1 and not full_chain:
        raise ValueError("several objects per run need the whole expert chain (full_chain=True)")
    max_step = min(run.spec.max_step for run in runners.values())
    durations = {run.skills[skill].max_duration for run in runners.values()}
    if len(durations) != 1:
        raise ValueError(f"{skill}: the experts' max durations differ between robots ({durations}); "
                         "one model cannot serve both (skill_time = elapsed / max_duration)")
    max_duration = durations.pop()
    if episodes > EVAL_SEED_OFFSET:
        raise ValueError(f"at most {EVAL_SEED_OFFSET} demonstration episodes (seed ranges must stay disjoint)")
    train_seeds, test_seeds = demo_seeds(seed, episodes), eval_seeds(seed, eval_episodes)
    chain = CHAIN if full_chain else CHAIN[:CHAIN.index(skill) + 1]

    # 1. demonstrations -> one MCAP file per robot (shared by every skill trained from it)
    files = {r: ensure_demos(run, seed=seed, episodes=episodes, noise=noise, chain=chain, data_dir=Path(data_dir),
                             reuse=reuse_dataset, progress=progress, log=log, objects=objects, jobs=jobs)
             for r, run in runners.items()}
    timings["demos"] = time.perf_counter() - t0

    # 2. behaviour cloning on the files' successful episodes of this skill
    t1 = time.perf_counter()
    demo_stats: dict[str, Any] = {}
    eps = []
    layout = ObservationLayout([Signal(d["name"], d["size"]) for d in observation_specs(robots)])
    inputs = []  # per episode: the model's input rows (base observation + embodiment signals)
    for r, path in files.items():
        mine = [e for e in read_episodes(path, joints=False) if e.skill == skill]
        demo_stats[r] = {"chain_runs": episodes, "episodes": len(mine), "successful": sum(e.success for e in mine)}
        for e in mine:
            if e.success:
                eps.append(e)
                inputs.append(layout.assemble_batch(e.obs, runners[r].spec))
    if len(eps) < 2:
        raise RuntimeError(f"{skill}: only {len(eps)} successful demonstrations in "
                           f"{', '.join(map(str, files.values()))}; expert statistics: {demo_stats}")
    low = [-max_step] * 3 + [0.0]
    high = [max_step] * 3 + [1.0]
    training_eps = list(eps)  # demonstrations, then every DAgger rollout

    def clone() -> tuple[BCResult, int]:
        obs = np.concatenate(inputs)
        act = transform_labels(skill, np.concatenate([e.act for e in training_eps]))
        groups = np.concatenate([np.full(len(e), i) for i, e in enumerate(training_eps)])
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=bc_config.steps, desc=f"bc {stem}", unit="step", dynamic_ncols=True, leave=False)

        def tick(step: int, loss: float) -> None:
            if bar is not None:
                bar.update(step - bar.n)
                bar.set_postfix(loss=f"{loss:.4f}")

        result = train_bc(obs, act, low, high, bc_config, groups=groups, progress=tick)
        if bar is not None:
            bar.close()
        return result, len(obs)

    bc, samples = clone()
    timings["bc"] = time.perf_counter() - t1

    # 3. export + manifest (no evaluation yet)
    provenance: dict[str, Any] = {
        "dataset": {"files": [{"robot": r, "path": _display_path(p), "sha256": sha256_file(p)}
                              for r, p in files.items()], "format": FORMAT,
                    "episodes": sum(s["episodes"] for s in demo_stats.values()),
                    "successful_episodes_used": len(eps), "samples": int(samples),
                    "per_robot": demo_stats, "seeds": f"{train_seeds[0]}-{train_seeds[-1]}",
                    "dart_noise_m_per_tick": list(noise),
                    **({"objects": list(objects)} if len(objects) > 1
                       else {"object": next(iter(runners.values())).obj}),
                    "action_labels": "clean expert actions (noise only on the executed action)",
                    "generator_code_sha256": generator_sha256()},
        "seed": seed,
        "training": training_record(skill, bc_config, bc),
        "git": git_state(),
        "libraries": library_versions(),
        "created_by": "robot-control train",
    }
    closure = holding_closure([e.obs[-1, GRIPPER_STATE_INDEX] for e in eps])
    data = build_manifest(skill, robots, bc, max_step, max_duration, model_file, provenance, closure)
    export_and_write(data, bc.layers, manifest_path)

    # 3b. DAgger: the exported policy acts on fresh seeds, the expert labels the states it visits
    # (its own mistakes included), and the model is cloned again on demonstrations + all rollouts
    rounds: list[dict[str, Any]] = []
    for k in range(dagger_rounds):
        t3 = time.perf_counter()
        seeds_k = dagger_seeds(seed, k, dagger_episodes)
        for r, run in runners.items():
            path = Path(data_dir) / f"dagger_{skill}_{r}_s{seed}_r{k + 1}_{dagger_episodes}ep" \
                f"{'_' + '+'.join(objects) if objects else ''}.mcap"
            log(f"{stem}: DAgger round {k + 1}/{dagger_rounds} on {r}, seeds {seeds_k[0]}-{seeds_k[-1]}")
            collect_dagger_round(run, manifest_path, skill, seeds_k, path, objects, jobs, progress)
            new_eps = [e for e in read_episodes(path, joints=False) if e.skill == skill and len(e)]
            training_eps.extend(new_eps)
            inputs.extend(layout.assemble_batch(e.obs, runners[r].spec) for e in new_eps)
            rounds.append({"round": k + 1, "robot": r, "path": _display_path(path), "sha256": sha256_file(path),
                           "seeds": f"{seeds_k[0]}-{seeds_k[-1]}", "rollouts": len(new_eps),
                           "policy_successes": sum(e.success for e in new_eps),
                           "samples": int(sum(len(e) for e in new_eps))})
            log(f"{stem}: round {k + 1} on {r}: the policy succeeded in {rounds[-1]['policy_successes']}/"
                f"{len(new_eps)} rollouts; {rounds[-1]['samples']} labelled samples added")
        bc, samples = clone()
        provenance["dataset"]["dagger"] = {
            "algorithm": "DAgger (the policy acts, the scripted expert labels every visited state; "
                         "all rollouts kept, failed ones too)", "rounds": rounds}
        provenance["dataset"]["samples"] = int(samples)
        provenance["training"] = training_record(skill, bc_config, bc)
        data = build_manifest(skill, robots, bc, max_step, max_duration, model_file, provenance, closure)
        export_and_write(data, bc.layers, manifest_path)
        timings[f"dagger_round_{k + 1}"] = time.perf_counter() - t3

    # 4. evaluation of the exported file on unseen seeds
    t2 = time.perf_counter()
    evaluation: dict[str, dict[str, Any]] = {}
    for r, run in runners.items():
        policy = load_policy(load_manifest(manifest_path))
        res = evaluate_skill(run, policy, skill, test_seeds, progress=progress,
                             hold_s=SUCCESS_HOLD_S if hold_s is None else hold_s,
                             objects=objects or None)
        evaluation[r] = res.to_manifest()
        if res.failures:
            log(f"{stem} on {r}: failed seeds {res.failures}")
    timings["evaluation"] = time.perf_counter() - t2

    # 5. results into the manifest; re-export so the embedded copy matches the YAML
    data["provenance"]["evaluation"] = evaluation
    export_and_write(data, bc.layers, manifest_path)
    load_policy(load_manifest(manifest_path))  # the final pair must load
    timings["total"] = time.perf_counter() - t0
    return TrainReport(skill, robots, manifest_path, (out_dir / model_file), list(files.values()), evaluation, bc,
                       timings, demo_stats)
