"""`robot-control train SKILL --robot g1|panda|g1,panda`: the training pipeline from the command line.

    robot-control train reach --robot g1,panda            # one model for both robots
    robot-control train grasp --robot panda --episodes 150     # per robot: grasp_panda
    robot-control train grasp,lift,place,release --robot g1   # several skills, one process
    robot-control train reach --robot panda --quick --out /tmp/skills   # seconds; CI smoke test
    robot-control train grasp --robot g1 --objects red_cube,green_can --episodes 120 --dagger-rounds 2

Writes `<out>/<stem>.yaml` and `<out>/models/<stem>.onnx` (stem = skill for a shared model,
`<skill>_<robot>` otherwise). Demonstrations of the whole expert chain go to
`<data-dir>/demos_<robot>_s<seed>_<episodes>ep.mcap` and are reused by the other skills trained
with the same options (--quick: only up to the skill).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

SKILLS = ("reach", "grasp", "lift", "transport", "place", "release")  # = edge.experts.CHAIN (tested)

# Expert chain runs per robot by default (one dataset serves all six skills; see docs/skill-datasets.md).
DEFAULT_EPISODES = 100
QUICK = {"episodes": 4, "eval_episodes": 3}  # + a (32, 32) MLP trained for 300 steps


def _noise(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"noise levels must be >= 0, got {text!r}")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _comma_list(text: str) -> tuple[str, ...]:
    """Comma-separated names, stripped, duplicates dropped, in order."""
    return tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))


def _robots(text: str) -> tuple[str, ...]:
    robots = _comma_list(text)
    if not robots or any(r not in ("g1", "panda") for r in robots):
        raise argparse.ArgumentTypeError(f"expected g1, panda or g1,panda, got {text!r}")
    return robots


def _objects(text: str) -> tuple[str, ...]:
    objects = _comma_list(text)
    if not objects:
        raise argparse.ArgumentTypeError(f"expected comma-separated object names, got {text!r}")
    return objects


def _skills(text: str) -> tuple[str, ...]:
    skills = SKILLS if text == "all" else _comma_list(text)
    unknown = [s for s in skills if s not in SKILLS]
    if not skills or unknown:
        raise argparse.ArgumentTypeError(f"expected all or some of {', '.join(SKILLS)} (comma-separated), "
                                         f"got {text!r}")
    return skills


def _warn_duplicates(out: Path, skill: str, robots: tuple[str, ...], stem: str) -> None:
    """Say beforehand what the library will do with another manifest serving the same (skill, robot):
    a model for one robot takes precedence over a shared one; two of the same kind conflict."""
    from robot_control.edge.manifest import load_manifest

    for path in sorted(out.glob("*.yaml")) if out.is_dir() else []:
        if path.stem == stem:
            continue
        try:
            other = load_manifest(path)
        except Exception:  # noqa: BLE001 - unreadable manifests are the library's business
            continue
        clash = set(other.embodiments) & set(robots)
        if other.name != skill or not clash:
            continue
        robots_text = ", ".join(sorted(clash))
        if len(robots) == 1 and len(other.embodiments) > 1:
            print(f"robot-control train: note: {path.name} is a shared {skill} model; the new {stem}.yaml "
                  f"takes precedence for {robots_text}, {path.name} keeps serving "
                  f"{', '.join(sorted(set(other.embodiments) - clash)) or 'no other robot'}", file=sys.stderr)
        elif len(robots) > 1 and len(other.embodiments) == 1:
            print(f"robot-control train: note: {path.name} ({robots_text} only) takes precedence over the new "
                  f"shared {stem}.yaml for {robots_text}", file=sys.stderr)
        else:
            print(f"robot-control train: warning: {path.name} already provides {skill} for {robots_text}; "
                  f"the skill library will reject one of them", file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> int:
    from robot_control.edge.library import SkillLibrary, default_skill_dir
    from robot_control.edge.training.pipeline import DEFAULT_NOISE, default_bc_config, model_stem, train_skill

    out = Path(args.out) if args.out else default_skill_dir()
    episodes = args.episodes or (QUICK["episodes"] if args.quick else DEFAULT_EPISODES)
    eval_episodes = args.eval_episodes or (QUICK["eval_episodes"] if args.quick else 50)
    status = 0
    for skill in args.skill:  # in one process: the demonstrations are collected once per robot
        config = default_bc_config(skill, args.seed, quick=args.quick)
        if args.steps:
            config = replace(config, steps=args.steps)
        _warn_duplicates(out, skill, args.robot, model_stem(skill, args.robot))
        report = train_skill(skill, args.robot, episodes=episodes, eval_episodes=eval_episodes, seed=args.seed,
                             out_dir=out, noise=args.noise or DEFAULT_NOISE, data_dir=args.data_dir,
                             bc_config=config, progress=not args.no_progress,
                             reuse_dataset=not args.fresh_dataset,
                             full_chain=not args.quick or len(args.objects or ()) > 1,
                             objects=args.objects or (), jobs=args.jobs, dagger_rounds=args.dagger_rounds,
                             dagger_episodes=args.dagger_episodes or (QUICK["episodes"] if args.quick else 100))
        print(report.summary(), flush=True)
        lib = SkillLibrary.load(out)
        if report.manifest_path.name in lib.rejected:
            print(f"robot-control train: the library rejects {report.manifest_path.name}: "
                  f"{lib.rejected[report.manifest_path.name]}", file=sys.stderr)
            status = 1
        for (name, robot), (shared, specific) in sorted(lib.superseded.items()):
            if name == skill:
                print(f"robot-control train: {name} on {robot} is served by {specific} (not the shared {shared})")
    return status


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    train = sub.add_parser("train", help="train a skill policy from simulated expert demonstrations",
                           description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("skill", type=_skills, help=f"one of {', '.join(SKILLS)}, a comma-separated list, or all")
    train.add_argument("--robot", type=_robots, required=True, help="g1, panda, or g1,panda (one shared model)")
    train.add_argument("--episodes", type=int, default=None,
                       help=f"expert chain runs (demonstrations) per robot (default {DEFAULT_EPISODES})")
    train.add_argument("--eval-episodes", type=int, default=None, help="unseen evaluation seeds per robot (50)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", default=None, help="skill folder for manifest + model (default: config/skills)")
    train.add_argument("--data-dir", default=None, help="where the MCAP dataset goes (default: runs/skill_datasets)")
    train.add_argument("--noise", type=_noise, default=None,
                       help="DART noise levels (m per tick on the executed ee delta), comma-separated, cycled "
                            "over episodes (default 0,0.001,0.002)")
    train.add_argument("--steps", type=int, default=None, help="behaviour-cloning minibatch steps")
    train.add_argument("--fresh-dataset", action="store_true",
                       help="collect demonstrations even if a file made with the same options and code exists")
    train.add_argument("--objects", type=_objects, default=None,
                       help="objects each demonstration / evaluation run moves in turn, e.g. red_cube,green_can "
                            "(the second goes to the bin's other slot; default: the scene's first object)")
    train.add_argument("--jobs", type=_positive_int, default=1,
                       help="processes collecting demonstrations (default 1; the file is the same)")
    train.add_argument("--dagger-rounds", type=int, default=0, metavar="N",
                       help="after cloning, N DAgger rounds: the policy acts on fresh seeds, the expert labels the "
                            "states it visits, the model is cloned again on everything (default 0)")
    train.add_argument("--dagger-episodes", type=_positive_int, default=None, metavar="N",
                       help="seeds per DAgger round (default 100; --quick: as many as the demonstrations)")
    train.add_argument("--quick", action="store_true", help="tiny dataset, model and evaluation (smoke test)")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    train.set_defaults(func=cmd_train)
