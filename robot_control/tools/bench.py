"""`robot-control bench` / `make bench`: the project's benchmarks in one JSON file.

    robot-control bench                       # every part, default durations
    robot-control bench --quick               # short durations (a smoke run, minutes not tens)
    robot-control bench --only cerebellum,e2e --duration 60
    robot-control bench --with-skills-live    # + bench/skills_live.py when it exists
    robot-control bench --soak 600            # 10-minute soak of the full stack (only the soak)

Each part runs as its own subprocess on its own ROS_DOMAIN_ID (--domain-base + index), with a
time limit; its stdout JSON is collected into runs/bench-<timestamp>.json (soak:
runs/soak-<timestamp>.json; or --out), with the machine (nproc, load average before/after, git
commit) and per part the command, wall time, exit code and, when it failed, the reason and the
tail of its stderr. Full part logs go to <json stem>.logs/. A failing part is reported, not
fatal; the exit code is 1 when any part failed.

Parts:

* ``cerebellum``: bench/cerebellum.py (body + 1 kHz cerebellum vs a C clock_nanosleep loop);
* ``edge``: bench/edge.py (skill step overhead vs raw onnxruntime; wire designs);
* ``brain``: bench/brain.py (MakePlan latency over TLS, fallback when the brain dies);
* ``e2e``: the demo stack (config/stacks/demo.yaml: body, cerebellum, edge, brain, bridge)
  brought up with the demo's own pieces; the default instruction on /task; instruction -> first
  motion (first /cerebellum/trajectory, first moving /joint_commands, first RUNNING skill),
  task wall time, outcome, and the per-hop latency from /diagnostics. A task that does not
  succeed (e.g. skills missing from config/skills) fails the part, with the reason in the JSON;
* ``skills_live``: bench/skills_live.py, only with --with-skills-live (or --only) and if the
  file exists;
* ``soak`` (--soak SECONDS): the same full stack with the cerebellum at 1 kHz, sampled every
  --soak-interval s: RSS per process (VmRSS; growth in MB and MB/min by a linear fit),
  cerebellum missed periods and deadline rate (drift against its nominal rate), simulated vs
  wall time, and optionally (--soak-task-every N) a task through the bridge every N s with the
  robot homed and /sim/reset between tasks.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from robot_control.supervisor.process import die_with_parent

REPO = Path(__file__).resolve().parents[2]
SCHEMA = "robot_control.bench/1"
SUITE = ("cerebellum", "edge", "brain", "e2e")
OPTIONAL = ("skills_live",)
TERMINAL = ("SUCCEEDED", "FAILED", "ABORTED", "CANCELED")
# The joints the edge moves: streamed back to the initial posture before /sim/reset (soak).
HOME_GROUPS = {"g1": ("right_arm", "right_hand"), "panda": ("arm", "hand")}
# Skills a pick-and-place of the default instruction plans with.
CHAIN = ("reach", "grasp", "lift", "transport", "place", "release")


def default_instruction(robot: str) -> str:
    """The demo's default instruction for `robot` (robot_control.demo.DEFAULT_INSTRUCTIONS)."""
    from robot_control.demo import DEFAULT_INSTRUCTIONS

    return DEFAULT_INSTRUCTIONS[robot]


# ==============================================================================================
# pure helpers (unit-tested in test/unit/test_bench_suite.py)
# ==============================================================================================
def parse_json_output(text: str) -> dict[str, Any] | None:
    """The JSON object a benchmark printed: the whole of stdout, else the last object that starts
    at the beginning of a line and runs to the end (log lines before it are ignored)."""
    text = text.strip()
    if not text:
        return None
    with contextlib.suppress(ValueError):
        value = json.loads(text)
        return value if isinstance(value, dict) else None
    decoder = json.JSONDecoder()
    starts = [i for i, ch in enumerate(text) if ch == "{" and (i == 0 or text[i - 1] == "\n")]
    for start in reversed(starts):
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict) and not text[end:].strip():
            return value
    return None


def classify(returncode: int | None, timed_out: bool, result: dict[str, Any] | None,
             stderr: str = "") -> str | None:
    """Why a part failed, or None when it succeeded (exit 0 and a JSON object on stdout)."""
    if timed_out:
        return "timed out"
    if returncode is None:
        return "did not run"
    if returncode != 0:
        why = f"exit code {returncode}"
        if returncode < 0:
            with contextlib.suppress(ValueError):
                why += f" ({signal.Signals(-returncode).name})"
        last = next((ln.strip() for ln in reversed(stderr.strip().splitlines()) if ln.strip()), "")
        if isinstance(result, dict) and result.get("error"):
            why += f": {result['error']}"
        elif last:
            why += f": {last[:300]}"
        return why
    if result is None:
        return "no JSON object on stdout"
    return None


def part_record(name: str, command: Sequence[str], domain_id: int | None, wall_s: float,
                returncode: int | None, timed_out: bool, stdout: str, stderr: str) -> dict[str, Any]:
    """One part's entry in the aggregate: its result JSON plus how it ran."""
    result = parse_json_output(stdout)
    error = classify(returncode, timed_out, result, stderr)
    record: dict[str, Any] = {"ok": error is None, "command": list(command), "domain_id": domain_id,
                              "wall_s": round(wall_s, 2), "returncode": returncode, "error": error,
                              "result": result}
    if error is not None:
        record["stderr_tail"] = stderr[-3000:]
        if result is None and stdout.strip():
            record["stdout_tail"] = stdout[-2000:]
    return record


def skipped_record(reason: str) -> dict[str, Any]:
    return {"ok": True, "skipped": reason, "result": None}


def _dig(obj: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


# headline figure -> (part, path in that part's JSON)
HEADLINE = {
    "cerebellum_rate_hz": ("cerebellum", "cerebellum.rate_hz"),
    "cerebellum_missed_pct": ("cerebellum", "cerebellum.missed_pct"),
    "cerebellum_jitter_p99_us": ("cerebellum", "cerebellum.jitter_us.p99"),
    "cerebellum_latency_p50_us": ("cerebellum", "cerebellum.latency_us.p50"),
    "cerebellum_latency_p99_us": ("cerebellum", "cerebellum.latency_us.p99"),
    "c_baseline_jitter_p99_us": ("cerebellum", "baseline_c.jitter_us.p99"),
    "cerebellum_p99_jitter_ratio_vs_c": ("cerebellum", "p99_jitter_ratio_vs_c"),
    "cerebellum_realtime": ("cerebellum", "cerebellum.realtime"),
    "edge_step_overhead_ratio_p50": ("edge", "step.ratio_p50"),
    "edge_policy_port_unix_p50_us": ("edge", "wire.edge_policy_port_unix.p50_us"),
    "brain_nl_5_objects_p50_ms": ("brain", "nl_5_objects.p50_ms"),
    "brain_goals_20_objects_p50_ms": ("brain", "goals_20_objects_6_goals.p50_ms"),
    "e2e_outcome": ("e2e", "task.outcome"),
    "e2e_instruction_to_first_motion_s": ("e2e", "task.instruction_to_first_motion_s"),
    "e2e_task_wall_s": ("e2e", "task.task_wall_s"),
    "e2e_stack_startup_s": ("e2e", "startup_s"),
    "soak_missed_periods": ("soak", "cerebellum.missed_periods"),
    "soak_deadline_rate_drift_ppm": ("soak", "cerebellum.deadline_rate_drift_ppm"),
    "soak_sim_lag_growth_s_per_min": ("soak", "clock.lag_growth_s_per_min"),
    "soak_max_rss_growth_mb_per_min": ("soak", "rss_max_growth_mb_per_min"),
}


def headline(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The few numbers to read first, picked from the parts that produced them."""
    out: dict[str, Any] = {}
    for key, (part, path) in HEADLINE.items():
        value = _dig((parts.get(part) or {}).get("result"), path)
        if value is not None:
            out[key] = value
    return out


def aggregate(parts: dict[str, dict[str, Any]], machine: dict[str, Any], config: dict[str, Any],
              started: str, wall_s: float) -> dict[str, Any]:
    """The bench file: machine, config, every part's record, which failed, a headline."""
    failed = [name for name, rec in parts.items() if not rec.get("ok")]
    return {"schema": SCHEMA, "started": started, "wall_s": round(wall_s, 1), "ok": not failed,
            "failed": failed, "errors": {name: parts[name].get("error") for name in failed},
            "headline": headline(parts), "machine": machine, "config": config, "parts": parts}


def linear_slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of ys over xs; None with fewer than two distinct xs."""
    pts = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(x) and math.isfinite(y)]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def rss_growth(samples: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """(monotonic s, RSS MB) samples of one process -> start/end/max, growth MB and MB/min (fit).
    The first fifth of the samples (at least one) is start-up and is left out of the fit when
    there are enough samples."""
    if not samples:
        return {"samples": 0}
    ts = [t for t, _ in samples]
    mb = [m for _, m in samples]
    skip = len(samples) // 5 if len(samples) >= 10 else 0
    slope = linear_slope(ts[skip:], mb[skip:])
    return {"samples": len(samples), "start_mb": round(mb[0], 1), "end_mb": round(mb[-1], 1),
            "max_mb": round(max(mb), 1), "growth_mb": round(mb[-1] - mb[0], 2),
            "growth_mb_per_min": None if slope is None else round(slope * 60.0, 3),
            "fit_from_s": round(ts[skip] - ts[0], 1)}


def cerebellum_window(samples: Sequence[tuple[float, dict[str, Any]]], nominal_hz: float) -> dict[str, Any]:
    """(monotonic receive s, cerebellum /diagnostics values) samples -> what the loop did over the
    window: commands published, missed periods (count, %, per minute), deadlines per second
    (published + missed, i.e. the periods that elapsed) against the nominal rate (drift, ppm),
    per-interval rate min/max and the worst p99 jitter/latency reported."""
    rows = []
    for t, v in samples:
        try:
            rows.append((t, float(v["commands_published"]), float(v["missed_periods"]), v))
        except (KeyError, TypeError, ValueError):
            continue
    if len(rows) < 2:
        return {"samples": len(rows)}
    (t0, c0, m0, _), (t1, c1, m1, last) = rows[0], rows[-1]
    dt = t1 - t0
    published, missed = c1 - c0, m1 - m0
    out: dict[str, Any] = {"samples": len(rows), "span_s": round(dt, 1), "nominal_rate_hz": nominal_hz,
                           "commands_published": int(published), "missed_periods": int(missed),
                           "missed_pct": round(100.0 * missed / (published + missed), 4)
                           if published + missed > 0 else 0.0}
    if dt > 0:
        deadlines = (published + missed) / dt
        out.update({"missed_per_min": round(missed / dt * 60.0, 2),
                    "publish_rate_hz": round(published / dt, 2),
                    "deadline_rate_hz": round(deadlines, 2),
                    "deadline_rate_drift_ppm": round((deadlines / nominal_hz - 1.0) * 1e6, 0)
                    if nominal_hz > 0 else None})
    rates = [((b[1] - a[1]) / (b[0] - a[0])) for a, b in zip(rows, rows[1:], strict=False) if b[0] > a[0]]
    if rates:
        out["interval_publish_rate_hz"] = {"min": round(min(rates), 1), "max": round(max(rates), 1)}
    for key in ("jitter_p99_us", "latency_p99_us", "compute_p99_us"):
        vals = [float(v[key]) for _t, _c, _m, v in rows if _is_number(v.get(key))]
        if vals:
            out[f"{key}_max"] = round(max(vals), 1)
            out[f"{key}_end"] = round(vals[-1], 1)
    out["mode_at_end"] = last.get("mode")
    return out


def clock_drift(samples: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """(wall monotonic s, simulated s from /clock) samples -> real-time factor and how far the
    simulation falls behind wall time (lag at the end, and its growth per minute by a fit)."""
    if len(samples) < 2:
        return {"samples": len(samples)}
    (w0, s0), (w1, s1) = samples[0], samples[-1]
    wall, sim = w1 - w0, s1 - s0
    lag = [(w - w0) - (s - s0) for w, s in samples]
    slope = linear_slope([w for w, _ in samples], lag)
    return {"samples": len(samples), "wall_s": round(wall, 2), "sim_s": round(sim, 2),
            "real_time_factor": round(sim / wall, 4) if wall > 0 else None,
            "lag_end_s": round(lag[-1], 3),
            "lag_growth_s_per_min": None if slope is None else round(slope * 60.0, 4)}


def _is_number(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _num(value: Any) -> Any:
    """Diagnostics values arrive as strings: numbers back to numbers ('' / nan -> None)."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            f = float(value)
        except ValueError:
            return value
        if not math.isfinite(f):
            return None
        return int(f) if f.is_integer() and "." not in value and "e" not in value.lower() else f
    return value


# ==============================================================================================
# machine info and subprocess parts
# ==============================================================================================
def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform(), "hostname": socket.gethostname()}
    with contextlib.suppress(OSError):
        info["load_avg_before"] = [round(x, 2) for x in os.getloadavg()]
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()
        info["mem_total_gb"] = round(int(mem[1]) / 2**20, 1)
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                                            text=True, timeout=10).stdout.strip() or None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                                capture_output=True, text=True, timeout=10)
        info["git_dirty"] = bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    return info


@dataclasses.dataclass(frozen=True)
class Part:
    name: str
    argv: tuple[str, ...]
    timeout_s: float
    domain_flag: bool = True  # append --domain-id N (every part also gets ROS_DOMAIN_ID=N)
    out_flag: bool = False    # append --out FILE: its partial results are kept if it times out


def _help_text(script: Path) -> str:
    try:
        return subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True,
                              timeout=60, cwd=REPO).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def plan_parts(args: argparse.Namespace) -> tuple[list[Part], dict[str, str]]:
    """The parts to run (in order) and the ones left out with the reason."""
    py = sys.executable
    quick = args.quick
    skipped: dict[str, str] = {}
    if args.soak:
        cmd = [py, "-m", "robot_control.tools.bench", "--part", "soak", "--soak", f"{args.soak:g}",
               "--soak-interval", f"{args.soak_interval:g}", "--soak-task-every", f"{args.soak_task_every:g}",
               "--robot", args.robot, "--startup-timeout", f"{args.startup_timeout:g}",
               "--instruction", args.instruction or default_instruction(args.robot)]
        if args.skill_folder:
            cmd += ["--skill-folder", args.skill_folder]
        return [Part("soak", tuple(cmd), args.soak + args.startup_timeout + 240.0)], skipped
    wanted = [p.strip() for p in args.only.split(",") if p.strip()] if args.only else list(SUITE)
    if args.with_skills_live and "skills_live" not in wanted:
        wanted.append("skills_live")
    unknown = [p for p in wanted if p not in SUITE + OPTIONAL]
    if unknown:
        raise ValueError(f"unknown part(s) {', '.join(unknown)}; parts: {', '.join(SUITE + OPTIONAL)}")
    duration = args.duration if args.duration is not None else (5.0 if quick else 30.0)
    parts: list[Part] = []
    for name in wanted:
        if name == "cerebellum":
            cmd = [py, "bench/cerebellum.py", "--duration", f"{duration:g}", "--warmup", "2" if quick else "5",
                   "--track-duration", f"{min(duration, 3.0 if quick else 10.0):g}"]
            if args.realtime_priority > 0:
                cmd += ["--realtime-priority", str(args.realtime_priority)]
            parts.append(Part(name, tuple(cmd), duration + 300.0))
        elif name == "edge":
            parts.append(Part(name, (py, "bench/edge.py", "--n", "300" if quick else "3000"), 900.0, False))
        elif name == "brain":
            parts.append(Part(name, (py, "bench/brain.py", "--n", "5" if quick else "40"), 600.0, False))
        elif name == "e2e":
            task_timeout = args.task_timeout if args.task_timeout is not None else (120.0 if quick else 900.0)
            cmd = [py, "-m", "robot_control.tools.bench", "--part", "e2e", "--robot", args.robot,
                   "--instruction", args.instruction or default_instruction(args.robot), "--task-timeout", f"{task_timeout:g}",
                   "--startup-timeout", f"{args.startup_timeout:g}"]
            if args.skill_folder:
                cmd += ["--skill-folder", args.skill_folder]
            parts.append(Part(name, tuple(cmd), args.startup_timeout + task_timeout + 180.0))
        elif name == "skills_live":
            script = REPO / "bench" / "skills_live.py"
            if not script.is_file():
                skipped[name] = "bench/skills_live.py does not exist (yet)"
                continue
            help_text = _help_text(script)  # written by someone else: pass only what it takes
            cmd = [py, "bench/skills_live.py"]
            if quick and "--episodes" in help_text:
                cmd += ["--episodes", "2"]
            if quick and "--no-prepared" in help_text:
                cmd.append("--no-prepared")
            if args.skill_folder and "--skills" in help_text:
                cmd += ["--skills", args.skill_folder]
            parts.append(Part(name, tuple(cmd), 900.0 if quick else 4 * 3600.0, "--domain-id" in help_text,
                              "--out" in help_text))
    return parts, skipped


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGINT (Python cleans up: stacks stop), then SIGTERM, then SIGKILL to the part's group."""
    for sig, wait_s in ((signal.SIGINT, 30.0), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def run_part(part: Part, domain_id: int, log_dir: Path | None) -> dict[str, Any]:
    argv = list(part.argv) + (["--domain-id", str(domain_id)] if part.domain_flag else [])
    out_file = None
    if part.out_flag:
        out_file = (log_dir or Path(tempfile.gettempdir())) / f"{part.name}.partial.json"
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.unlink(missing_ok=True)
        argv += ["--out", str(out_file)]
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain_id), PYTHONUNBUFFERED="1")
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("MUJOCO_GL", "egl")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    t0 = time.monotonic()
    timed_out = False
    try:
        # die_with_parent: the part dies with the runner, and takes SIGINT (the graceful stop)
        # even when the runner was started in the background with SIGINT ignored.
        proc = subprocess.Popen(die_with_parent(argv), cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    except OSError as exc:
        return part_record(part.name, argv, domain_id, 0.0, None, False, "", str(exc))
    # stderr is echoed (progress) and kept; stdout is the JSON.
    err_lines: list[str] = []
    out_chunks: list[str] = []

    def pump_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err_lines.append(line)
            if os.environ.get("RC_BENCH_ECHO", "1") != "0":
                sys.stderr.write(f"  [{part.name}] {line}")

    def pump_out() -> None:
        assert proc.stdout is not None
        out_chunks.append(proc.stdout.read())

    readers = [threading.Thread(target=pump_err, daemon=True), threading.Thread(target=pump_out, daemon=True)]
    for r in readers:
        r.start()
    try:
        proc.wait(part.timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop_group(proc)
    except KeyboardInterrupt:
        _stop_group(proc)
        raise
    for r in readers:
        r.join(10.0)
    wall = time.monotonic() - t0
    stdout, stderr = "".join(out_chunks), "".join(err_lines)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / f"{part.name}.log").write_text(f"$ {' '.join(argv)}\n--- stderr ---\n{stderr}\n"
                                                  f"--- stdout ---\n{stdout}\n")
    record = part_record(part.name, argv, domain_id, wall, proc.returncode, timed_out, stdout, stderr)
    if record["result"] is None and out_file is not None and out_file.is_file():
        record["result"] = parse_json_output(out_file.read_text(errors="replace"))
        record["result_from"] = f"{out_file} (written by the part as it went: partial)"
    return record


def run_suite(args: argparse.Namespace) -> int:
    try:
        parts, skipped = plan_parts(args)
    except ValueError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    started = datetime.now()
    stamp = started.strftime("%Y%m%d-%H%M%S")
    runs = (REPO if (REPO / "bench").is_dir() else Path.cwd()) / "runs"  # a checkout's runs/
    out = Path(args.out) if args.out else runs / f"{'soak' if args.soak else 'bench'}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    log_dir = out.with_suffix(".logs")
    machine = machine_info()
    config = {"quick": args.quick, "duration_s": args.duration, "only": args.only, "soak_s": args.soak,
              "robot": args.robot, "domain_base": args.domain_base, "with_skills_live": args.with_skills_live}
    records: dict[str, dict[str, Any]] = {}
    t0 = time.monotonic()
    try:
        for i, part in enumerate(parts):
            domain = args.domain_base + i
            print(f"bench: {part.name} (ROS_DOMAIN_ID={domain}, limit {part.timeout_s:.0f} s): "
                  f"{' '.join(part.argv[1:])}", file=sys.stderr, flush=True)
            rec = run_part(part, domain, log_dir)
            records[part.name] = rec
            print(f"bench: {part.name}: {'ok' if rec['ok'] else 'FAILED: ' + str(rec['error'])} "
                  f"in {rec['wall_s']:.1f} s", file=sys.stderr, flush=True)
            _shm_clean()
    except KeyboardInterrupt:
        print("bench: interrupted; writing what was measured", file=sys.stderr)
        for part in parts:
            records.setdefault(part.name, part_record(part.name, part.argv, None, 0.0, None, False, "",
                                                      "interrupted before it ran"))
    for name, reason in skipped.items():
        records[name] = skipped_record(reason)
    with contextlib.suppress(OSError):
        machine["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    result = aggregate(records, machine, config, started.isoformat(timespec="seconds"), time.monotonic() - t0)
    result["file"] = str(out)
    out.write_text(json.dumps(result, indent=2) + "\n")
    if args.soak:
        shown = {"file": str(out), "ok": result["ok"], "errors": result["errors"],
                 "soak": (records.get("soak") or {}).get("result")}
    else:
        shown = {k: result[k] for k in ("file", "ok", "failed", "errors", "headline", "wall_s")}
        shown["load_avg"] = [machine.get("load_avg_before"), machine.get("load_avg_after")]
    print(json.dumps(shown, indent=2))
    return 0 if result["ok"] else 1


def _shm_clean() -> None:
    with contextlib.suppress(Exception):
        from robot_control.tools import shm_clean

        with contextlib.redirect_stdout(sys.stderr):
            shm_clean.main([])


# ==============================================================================================
# the live stack (e2e and soak parts; run in their own process by run_part)
# ==============================================================================================
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


class LiveStack:
    """config/stacks/demo.yaml (no recorder) under the supervisor, plus a Monitor and a few more
    subscriptions on the bench's own node. Brain and edge listen on free loopback ports."""

    def __init__(self, robot: str, domain_id: int, workdir: Path, *, skill_folder: str | None = None,
                 cerebellum_rate_hz: float | None = None) -> None:
        from robot_control.demo import Monitor, demo_stack, stack_env
        from robot_control.supervisor.process import Supervisor

        self.robot = robot
        brain_port, edge_port = _free_port(), _free_port()
        spec = demo_stack(robot, workdir / "run", workdir / "certs", use_cloud=True, record=False,
                          cloud_endpoint=f"127.0.0.1:{brain_port}")
        edge = {"grpc_address": f"127.0.0.1:{edge_port}"}
        if skill_folder:
            edge["skill_folder"] = str(Path(skill_folder).resolve())
        overrides: dict[str, dict[str, Any]] = {"edge": edge, "bridge": {"edge_endpoint": f"127.0.0.1:{edge_port}"}}
        if cerebellum_rate_hz:
            overrides["cerebellum"] = {"controller.rate_hz": float(cerebellum_rate_hz)}
        self.spec = dataclasses.replace(spec, nodes=tuple(
            dataclasses.replace(n, parameters={**n.parameters, **overrides.get(n.name, {})}) for n in spec.nodes))
        self.skill_folder = Path(edge.get("skill_folder") or REPO / "config" / "skills")
        os.environ["ROS_DOMAIN_ID"] = str(domain_id)
        self.log_path = workdir / "stack.log"
        self._log_file = open(self.log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.supervisor = Supervisor(self.spec, out=self._log_file, extra_env=stack_env(domain_id), colour=False)
        self.exit_code: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="stack")
        self.mon = Monitor()
        self._extra_subscriptions()

    def _run(self) -> None:
        self.exit_code = self.supervisor.run()

    def _extra_subscriptions(self) -> None:
        from diagnostic_msgs.msg import DiagnosticArray
        from rosgraph_msgs.msg import Clock
        from trajectory_msgs.msg import JointTrajectory

        from robot_control.common.ros import command_qos, sensor_qos

        self.sim_time: float | None = None
        self.trajectories: list[float] = []  # receive times (monotonic) of /cerebellum/trajectory
        self.cerebellum_diag: list[tuple[float, dict[str, str]]] = []
        node = self.mon.node
        node.create_subscription(Clock, "/clock", self._on_clock, sensor_qos())
        node.create_subscription(JointTrajectory, "/cerebellum/trajectory",
                                 lambda _m: self.trajectories.append(time.monotonic()), command_qos(50))
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 50)

    def _on_clock(self, msg: Any) -> None:
        self.sim_time = msg.clock.sec + msg.clock.nanosec * 1e-9

    def _on_diag(self, msg: Any) -> None:
        now = time.monotonic()
        for s in msg.status:
            if s.name.startswith("cerebellum"):
                self.cerebellum_diag.append((now, {kv.key: kv.value for kv in s.values}))
                del self.cerebellum_diag[:-5]

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self, startup_timeout: float) -> float:
        """Start the processes; wait until the stack takes tasks (bridge, edge, brain link cloud),
        the cerebellum holds and the objects are on /objects. Returns the seconds it took."""
        t0 = time.monotonic()
        self._thread.start()
        _log(f"bench: bringing up {', '.join(n.name for n in self.spec.nodes)} "
             f"(ROS_DOMAIN_ID={os.environ['ROS_DOMAIN_ID']}; log {self.log_path})")
        ok = self.mon.spin_until(lambda: (self.mon.ready(True) and self.mode() == "hold" and bool(self.mon.objects))
                                 or not self.alive, startup_timeout)
        if not self.alive:
            raise RuntimeError("the stack stopped during start-up (see stack_log_tail)")
        if not ok:
            brain = (self.mon.find("bridge: brain link") or {}).get("link_mode")
            raise RuntimeError(f"the stack did not come up within {startup_timeout:g} s (bridge listening: "
                               f"{self.mon.task_pub.get_subscription_count() > 0}, edge: "
                               f"{self.mon.find('edge') is not None}, brain link: {brain}, cerebellum: "
                               f"{self.mode() or '?'}, objects: {len(self.mon.objects)})")
        return time.monotonic() - t0

    def mode(self) -> str:
        return self.mon.cerebellum.get("mode", "")

    def spin(self, seconds: float) -> None:
        self.mon.spin_until(lambda: False, seconds)

    def log_tail(self, n: int = 4000) -> str:
        with contextlib.suppress(OSError, ValueError):
            if not self._log_file.closed:
                self._log_file.flush()
            return self.log_path.read_text(errors="replace")[-n:]
        return ""

    def restarts(self) -> dict[str, int]:
        return {c.spec.name: c.restarts for c in self.supervisor.children}

    def skills_present(self) -> dict[str, Any]:
        from robot_control.edge.manifest import load_manifest

        names = set()
        for path in sorted(self.skill_folder.glob("*.yaml")) if self.skill_folder.is_dir() else ():
            with contextlib.suppress(Exception):
                m = load_manifest(path)
                if self.robot in m.embodiments and m.model_path().is_file():
                    names.add(m.name)
        return {"folder": str(self.skill_folder), "present": sorted(names),
                "missing_from_chain": [s for s in CHAIN if s not in names]}

    def call(self, client: Any, request: Any, timeout_s: float = 10.0) -> Any:
        end = time.monotonic() + timeout_s
        while not client.service_is_ready():
            if time.monotonic() > end:
                raise TimeoutError(f"service {client.srv_name} not available")
            self.spin(0.1)
        future = client.call_async(request)
        if not self.mon.spin_until(future.done, max(0.1, end - time.monotonic())):
            raise TimeoutError(f"no answer from {client.srv_name}")
        return future.result()

    def close(self) -> None:
        self.supervisor.request_stop()
        self._thread.join(60.0)
        self.mon.close()
        self._log_file.close()


def _statuses(mon: Any, task_id: str) -> list[tuple[float, dict[str, str], str]]:
    return [(t, {kv.key: kv.value for kv in m.values}, m.message) for t, m in list(mon.status)
            if m.hardware_id == task_id]


def hop_latencies(mon: Any) -> dict[str, Any]:
    """Per-hop latency as the nodes report it on /diagnostics (latest values)."""
    brain = mon.find("bridge: brain link") or {}
    edge = mon.find("bridge: edge link") or {}
    cere = next((v for k, v in list(mon.diag.items()) if k.startswith("cerebellum")), {})
    body = mon.find("body") or {}
    pick = lambda d, keys: {k: _num(d[k]) for k in keys if k in d}  # noqa: E731
    return {
        "bridge_to_brain": {**pick(brain, ("link_mode", "last_plan_mode", "brain_rtt_ms", "brain_server_ms",
                                           "brain_transport_ms", "local_plan_ms", "fallback_ms")),
                            **{k: _num(v) for k, v in brain.items() if k.startswith("brain_") and k.endswith("_ms")}},
        "bridge_to_edge": pick(edge, ("edge_first_progress_ms", "edge_step_ms", "edge_server_ms", "steps_executed")),
        "cerebellum": pick(cere, ("rate_hz", "missed_periods", "missed_pct", "jitter_p99_us", "latency_p50_us",
                                  "latency_p99_us", "compute_p99_us", "mode")),
        "body": pick(body, ("rate_hz", "missed_periods", "overruns", "jitter_p99_us", "real_time_factor")),
    }


@dataclasses.dataclass
class TaskRun:
    task_id: str
    instruction: str
    t_pub: float      # monotonic time /task was published
    n_traj: int       # /cerebellum/trajectory messages seen before


def send_task(stack: LiveStack, instruction: str, prefix: str = "bench") -> TaskRun:
    from std_msgs.msg import String

    from robot_control.bridge.tasks import new_task_id, task_message

    run = TaskRun(new_task_id(prefix), instruction, time.monotonic(), len(stack.trajectories))
    stack.mon.task_pub.publish(String(data=task_message(run.task_id, instruction=instruction)))
    return run


def task_final(stack: LiveStack, run: TaskRun) -> tuple[float, dict[str, str], str] | None:
    return next(((t, v, m) for t, v, m in _statuses(stack.mon, run.task_id) if v.get("state") in TERMINAL), None)


def task_report(stack: LiveStack, run: TaskRun, moved: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a task did: outcome, wall time, instruction -> first motion and the status milestones."""
    from robot_control.demo import sub_goals

    end = task_final(stack, run)
    t_end = end[0] if end else time.monotonic()
    seen = _statuses(stack.mon, run.task_id)
    firsts: dict[str, float] = {}
    for t, v, _m in seen:
        firsts.setdefault(f"first_{v.get('state', '?').lower()}_s", round(t - run.t_pub, 3))
        if v.get("plan"):
            firsts.setdefault("plan_received_s", round(t - run.t_pub, 3))
        if v.get("skill_phase") == "RUNNING":
            firsts.setdefault("first_skill_running_s", round(t - run.t_pub, 3))
    traj = [t for t in stack.trajectories[run.n_traj:] if run.t_pub <= t <= t_end]
    first_traj = round(traj[0] - run.t_pub, 3) if traj else None
    first_cmd = round(moved["t"] - run.t_pub, 3) if moved and moved.get("t") is not None else None
    candidates = [x for x in (first_traj, first_cmd) if x is not None]
    values, message = (end[1], end[2]) if end else ((seen[-1][1], seen[-1][2]) if seen else ({}, ""))
    out: dict[str, Any] = {
        "task_id": run.task_id, "instruction": run.instruction,
        "outcome": values.get("state") if end else ("TIMEOUT" if stack.alive else "STACK_DIED"),
        "message": message, "plan": values.get("plan", ""), "planner_mode": values.get("planner_mode", ""),
        "replans": _num(values.get("replans", "0")),
        "task_wall_s": round(t_end - run.t_pub, 2),
        "instruction_to_first_motion_s": min(candidates) if candidates else None,
        "first_trajectory_s": first_traj, "first_moving_command_s": first_cmd,
        "first_moving_joint": moved.get("joint") if moved else None, "statuses": len(seen), **firsts,
        "trajectories_during_task": len(traj),
    }
    if end:
        out["sub_goals"] = sub_goals(values.get("goals", ""), dict(stack.mon.objects), dict(stack.mon.sizes))
    return out


def run_task(stack: LiveStack, instruction: str, timeout_s: float) -> dict[str, Any]:
    """Publish `instruction` on /task and follow it to its end: first motion (the first
    /cerebellum/trajectory, or the first /joint_commands that differ from the held ones), task
    wall time, outcome."""
    from sensor_msgs.msg import JointState

    from robot_control.common.ros import sensor_qos

    mon = stack.mon
    moved: dict[str, Any] = {"baseline": None, "t": None, "joint": None}

    def on_cmd(msg: Any) -> None:
        if moved["t"] is not None:
            return
        pos = dict(zip(msg.name, msg.position, strict=False))
        if moved["baseline"] is None:
            moved["baseline"] = pos
            return
        for name, value in pos.items():
            ref = moved["baseline"].get(name)
            if ref is not None and abs(value - ref) > 1e-3:
                moved["t"], moved["joint"] = time.monotonic(), name
                return

    # 1 kHz: subscribed only until the first motion
    sub = mon.node.create_subscription(JointState, "/joint_commands", on_cmd, sensor_qos())
    mon.spin_until(lambda: moved["baseline"] is not None, 5.0)
    run = send_task(stack, instruction)

    def done() -> bool:
        nonlocal sub
        if sub is not None and moved["t"] is not None:
            mon.node.destroy_subscription(sub)
            sub = None
        return task_final(stack, run) is not None or not stack.alive

    mon.spin_until(done, timeout_s)
    if sub is not None:
        mon.node.destroy_subscription(sub)
    if task_final(stack, run) is not None:
        stack.spin(1.0)  # the last /objects after the final step
    return task_report(stack, run, moved)


def part_e2e(args: argparse.Namespace) -> int:
    result: dict[str, Any] = {"part": "e2e", "robot": args.robot, "domain_id": args.domain_id}
    code = 1
    with tempfile.TemporaryDirectory(prefix="rc-bench-e2e-") as tmp:
        stack = LiveStack(args.robot, args.domain_id, Path(tmp), skill_folder=args.skill_folder)
        result["skills"] = stack.skills_present()
        try:
            result["startup_s"] = round(stack.start(args.startup_timeout), 1)
            _log(f"bench: stack up in {result['startup_s']} s; task {args.instruction!r}")
            task = run_task(stack, args.instruction, args.task_timeout)
            result["task"] = task
            result["hops"] = hop_latencies(stack.mon)
            result["restarts"] = stack.restarts()
            _log(f"bench: task {task['outcome']} in {task['task_wall_s']} s: {task['message']}")
            goals = task.get("sub_goals") or {}
            if task["outcome"] == "SUCCEEDED" and goals and all(goals.values()):
                code = 0
            elif task["outcome"] == "SUCCEEDED":
                result["error"] = f"task SUCCEEDED but the world disagrees: sub-goals {goals}"
            else:
                why = f"task {task['outcome']}: {task['message']}"
                if result["skills"]["missing_from_chain"]:
                    why += f" (skills missing from {result['skills']['folder']}: " \
                           f"{', '.join(result['skills']['missing_from_chain'])})"
                result["error"] = why
        except (RuntimeError, TimeoutError) as exc:
            result["error"] = str(exc)
        except KeyboardInterrupt:
            result["error"] = "interrupted"
        finally:
            stack.close()
            if result.get("error"):
                result["stack_log_tail"] = stack.log_tail(3000)
    print(json.dumps(result, indent=2))
    return code


# -- soak ---------------------------------------------------------------------------------------
def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError, IndexError):
        return None
    return None


def _children_pids(pid: int) -> list[int]:
    """Descendants of pid (e.g. processes a node spawned), via /proc/<pid>/task/*/children."""
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*") if Path(f"/proc/{p}/task").is_dir() else ():
            with contextlib.suppress(OSError, ValueError):
                kids = [int(x) for x in (task / "children").read_text().split()]
                out.extend(kids)
                todo.extend(kids)
    return out


class Homer:
    """Streams the edge's joints back to the body's initial posture (so /sim/reset makes no jump)."""

    def __init__(self, stack: LiveStack) -> None:
        import yaml
        from trajectory_msgs.msg import JointTrajectory

        from robot_control.body.robot_description import load_robot
        from robot_control.common.ros import command_qos
        from robot_control.paths import config_path

        self.stack = stack
        desc = load_robot(stack.robot)
        params = yaml.safe_load(config_path("params", f"body_sim_{stack.robot}.yaml").read_text())
        posture = params["/**"]["ros__parameters"]["driver_options"]["initial_posture"]
        self.joints = [j for g in HOME_GROUPS.get(stack.robot, ()) for j in desc.group(g)]
        names = list(desc.joint_names)
        full = desc.posture(posture)
        self.goal = [float(full[names.index(j)]) for j in self.joints]
        self.pub = stack.mon.node.create_publisher(JointTrajectory, "/cerebellum/trajectory", command_qos())

    def measured(self) -> list[float] | None:
        from sensor_msgs.msg import JointState

        from robot_control.common.ros import sensor_qos

        got: dict[str, float] = {}
        node = self.stack.mon.node
        sub = node.create_subscription(JointState, "/joint_states",
                                       lambda m: got.update(zip(m.name, m.position, strict=False)), sensor_qos())
        try:
            self.stack.mon.spin_until(lambda: all(j in got for j in self.joints), 10.0)
        finally:
            node.destroy_subscription(sub)
        return [got[j] for j in self.joints] if all(j in got for j in self.joints) else None

    def home(self, speed_rad_s: float = 0.6) -> bool:
        from builtin_interfaces.msg import Duration
        from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

        start = self.measured()
        if start is None or not self.joints:
            return False
        duration = max(1.0, max(abs(g - s) for g, s in zip(self.goal, start, strict=True)) / speed_rad_s)
        t0 = time.monotonic()
        while (t := time.monotonic() - t0) < duration + 0.3:
            s = min((t + 0.05) / duration, 1.0)
            shape, rate = 3 * s * s - 2 * s ** 3, (6 * s - 6 * s * s) / duration
            msg = JointTrajectory()
            msg.joint_names = list(self.joints)
            pt = JointTrajectoryPoint()
            pt.positions = [a + (b - a) * shape for a, b in zip(start, self.goal, strict=True)]
            pt.velocities = [(b - a) * rate for a, b in zip(start, self.goal, strict=True)]
            pt.time_from_start = Duration(sec=0, nanosec=50_000_000)
            msg.points = [pt]
            self.pub.publish(msg)
            self.stack.spin(0.02)
        return True


class SoakTasks:
    """The instruction every `every_s` s through the bridge, polled from the soak loop (the
    sampling goes on while a task runs); after each task the arm is homed and /sim/reset puts
    the scene back (a few seconds); a task still running at the end is cancelled."""

    def __init__(self, stack: LiveStack, instruction: str, every_s: float, t_start: float) -> None:
        from std_srvs.srv import Trigger

        self.stack, self.instruction, self.every_s, self.t_start = stack, instruction, every_s, t_start
        self.Trigger = Trigger
        node = stack.mon.node
        self.sim_reset = node.create_client(Trigger, "/sim/reset")
        self.cerebellum_reset = node.create_client(Trigger, "/cerebellum/reset")
        self.cancel = node.create_client(Trigger, "/task/cancel")
        self.homer = Homer(stack)
        self.next_at = t_start + every_s
        self.active: TaskRun | None = None
        self.runs: list[dict[str, Any]] = []

    def poll(self, now: float, t_end: float) -> None:
        if self.active is not None:
            if task_final(self.stack, self.active) is not None:
                self._finish(reset=True)
        elif now >= self.next_at and t_end - now > 10.0:
            self.active = send_task(self.stack, self.instruction, "soak")
            _log(f"bench: soak task {self.active.task_id} sent")

    def _finish(self, reset: bool) -> None:
        assert self.active is not None
        report = task_report(self.stack, self.active)
        summary: dict[str, Any] = {"at_s": round(self.active.t_pub - self.t_start, 1),
                                   **{k: report.get(k) for k in ("task_id", "outcome", "message", "task_wall_s",
                                                                 "instruction_to_first_motion_s")}}
        self.active = None
        _log(f"bench: soak task {summary['outcome']} in {summary['task_wall_s']} s: {summary['message']}")
        if reset:
            try:
                if self.stack.mode() in ("estop", "tilt_stop"):
                    summary["cerebellum_reset"] = self.stack.call(self.cerebellum_reset, self.Trigger.Request()).success
                summary["homed"] = self.homer.home()
                summary["sim_reset"] = self.stack.call(self.sim_reset, self.Trigger.Request()).success
                self.stack.spin(1.5)  # objects settle, the robot on its feet
            except Exception as exc:  # noqa: BLE001 - the soak goes on
                summary["reset_error"] = str(exc)
        self.runs.append(summary)
        self.next_at = max(self.next_at + self.every_s, time.monotonic() + 5.0)

    def stop(self) -> None:
        if self.active is None:
            return
        with contextlib.suppress(Exception):
            self.stack.call(self.cancel, self.Trigger.Request(), timeout_s=5.0)
            self.stack.mon.spin_until(lambda: task_final(self.stack, self.active) is not None, 5.0)
        self._finish(reset=False)

    def summary(self) -> dict[str, Any]:
        outcomes: dict[str, int] = {}
        for run in self.runs:
            outcomes[str(run.get("outcome"))] = outcomes.get(str(run.get("outcome")), 0) + 1
        return {"every_s": self.every_s, "count": len(self.runs), "outcomes": outcomes, "runs": self.runs}


def part_soak(args: argparse.Namespace) -> int:
    nominal = 1000.0
    result: dict[str, Any] = {"part": "soak", "robot": args.robot, "domain_id": args.domain_id,
                              "soak_s": args.soak, "interval_s": args.soak_interval,
                              "cerebellum_rate_hz": nominal, "task_every_s": args.soak_task_every or None,
                              "machine": {"nproc": os.cpu_count(),
                                          "load_avg_start": [round(x, 2) for x in os.getloadavg()]},
                              "errors": []}
    rss: dict[str, list[tuple[float, float]]] = {}
    pids_seen: dict[str, list[int]] = {}
    diag: list[tuple[float, dict[str, str]]] = []
    clock: list[tuple[float, float]] = []
    soak_tasks: SoakTasks | None = None
    code = 1
    with tempfile.TemporaryDirectory(prefix="rc-bench-soak-") as tmp:
        stack = LiveStack(args.robot, args.domain_id, Path(tmp), skill_folder=args.skill_folder,
                          cerebellum_rate_hz=nominal)
        result["skills"] = stack.skills_present()
        try:
            result["startup_s"] = round(stack.start(args.startup_timeout), 1)
            _log(f"bench: stack up in {result['startup_s']} s; soaking {args.soak:g} s")
            t_start = time.monotonic()
            t_end = t_start + args.soak
            next_sample = t_start
            if args.soak_task_every:
                soak_tasks = SoakTasks(stack, args.instruction, args.soak_task_every, t_start)
            seen_diag = 0.0

            def sample(now: float) -> None:
                nonlocal seen_diag
                for name, pid in stack.supervisor.pids().items():
                    mb = _rss_mb(pid)  # + any process the node started (none expected)
                    mb = None if mb is None else mb + sum(_rss_mb(k) or 0.0 for k in _children_pids(pid))
                    if mb is not None:
                        if pids_seen.setdefault(name, [pid])[-1] != pid:
                            pids_seen[name].append(pid)
                        rss.setdefault(name, []).append((now, mb))
                me = _rss_mb(os.getpid())
                if me is not None:
                    rss.setdefault("bench (monitor)", []).append((now, me))
                if stack.cerebellum_diag and stack.cerebellum_diag[-1][0] > seen_diag:
                    seen_diag = stack.cerebellum_diag[-1][0]
                    diag.append(stack.cerebellum_diag[-1])
                if stack.sim_time is not None:
                    clock.append((now, stack.sim_time))

            while time.monotonic() < t_end and stack.alive:
                now = time.monotonic()
                if now >= next_sample:
                    sample(now)
                    next_sample += args.soak_interval
                if soak_tasks is not None:
                    soak_tasks.poll(now, t_end)
                until = min(next_sample, t_end)
                stack.mon.spin_until(lambda until=until: time.monotonic() >= until, 1.0)
            if stack.alive:
                stack.spin(min(1.5, args.soak_interval))  # one more /diagnostics report
                sample(time.monotonic())
            result["soaked_s"] = round(time.monotonic() - t_start, 1)
            if soak_tasks is not None:
                soak_tasks.stop()
            if not stack.alive:
                result["errors"].append("the stack stopped during the soak")
            result["stack_alive_at_end"] = stack.alive
            result["restarts"] = stack.restarts()
            result["hops"] = hop_latencies(stack.mon)
            code = 0 if stack.alive and not any(result["restarts"].values()) else 1
            if any(result["restarts"].values()):
                result["errors"].append(f"node restarts during the soak: {result['restarts']}")
        except (RuntimeError, TimeoutError) as exc:
            result["errors"].append(str(exc))
            result["error"] = str(exc)
        except KeyboardInterrupt:
            result["errors"].append("interrupted")
        finally:
            stack.close()
            if result["errors"]:
                result["stack_log_tail"] = stack.log_tail(3000)
    result["rss"] = {name: {**rss_growth(s), "pids": pids_seen.get(name)} for name, s in rss.items()}
    growths = [v["growth_mb_per_min"] for k, v in result["rss"].items()
               if k != "bench (monitor)" and v.get("growth_mb_per_min") is not None]
    result["rss_max_growth_mb_per_min"] = max(growths) if growths else None
    result["cerebellum"] = cerebellum_window(diag, nominal)
    result["clock"] = clock_drift(clock)
    if soak_tasks is not None:
        result["tasks"] = soak_tasks.summary()
    result["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))
    return code


# ==============================================================================================
# command line
# ==============================================================================================
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--only", default="", metavar="PART,PART",
                   help=f"run only these parts ({', '.join(SUITE + OPTIONAL)})")
    p.add_argument("--quick", action="store_true", help="short durations: a smoke run of every part")
    p.add_argument("--realtime-priority", type=int, default=0, metavar="N",
                   help="cerebellum part under SCHED_FIFO at N (bench/cerebellum.py's real-time setting; "
                        "needs root or CAP_SYS_NICE; 0: normal scheduling, the default)")
    p.add_argument("--duration", type=float, default=None,
                   help="cerebellum measurement window, s (default 30; --quick 5)")
    p.add_argument("--out", default="", help="bench JSON file (default runs/bench-<timestamp>.json)")
    p.add_argument("--with-skills-live", action="store_true",
                   help="also run bench/skills_live.py (when it exists)")
    p.add_argument("--soak", type=float, default=0.0, metavar="SECONDS",
                   help="soak mode: only the full stack for SECONDS (e.g. 600), sampled; no other part")
    p.add_argument("--soak-interval", type=float, default=5.0, help="soak sampling period, s (%(default)s)")
    p.add_argument("--soak-task-every", type=float, default=0.0, metavar="N",
                   help="soak: send the instruction every N s (home + /sim/reset between tasks; 0: no tasks)")
    p.add_argument("--robot", default="g1", choices=("g1", "panda"), help="robot of e2e and soak")
    p.add_argument("--instruction", default="",
                   help="e2e/soak instruction (default: the demo's default for the robot)")
    p.add_argument("--skill-folder", default="", help="edge skill folder for e2e/soak (default config/skills)")
    p.add_argument("--task-timeout", type=float, default=None, help="e2e task time limit, s (900; --quick 120)")
    p.add_argument("--startup-timeout", type=float, default=360.0, help="full-stack start-up limit, s")
    p.add_argument("--domain-base", type=int, default=int(os.environ.get("RC_BENCH_DOMAIN_BASE", "160")),
                   help="ROS_DOMAIN_ID of the first part; the others count up (%(default)s)")
    p.add_argument("--part", default="", help=argparse.SUPPRESS)       # internal: run one live part
    p.add_argument("--domain-id", type=int, default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    if args.soak < 0 or args.soak_interval <= 0 or (args.duration is not None and args.duration <= 0):
        print("bench: --soak must be >= 0, --soak-interval and --duration > 0", file=sys.stderr)
        return 2
    if args.part:
        from robot_control.common.ros_env import apply_ros_env_defaults

        args.instruction = args.instruction or default_instruction(args.robot)
        if args.domain_id is None:
            args.domain_id = int(os.environ.get("ROS_DOMAIN_ID", "0"))
        os.environ["ROS_DOMAIN_ID"] = str(args.domain_id)
        apply_ros_env_defaults()
        parts: dict[str, Callable[[argparse.Namespace], int]] = {"e2e": part_e2e, "soak": part_soak}
        if args.part not in parts:
            print(f"bench: unknown --part {args.part!r}", file=sys.stderr)
            return 2
        return parts[args.part](args)
    return run_suite(args)


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="robot-control bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(None if argv is None else list(argv)))


if __name__ == "__main__":
    sys.exit(main())
