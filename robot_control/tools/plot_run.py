"""Plot a run from its MCAP recording: joint tracking error, control-loop timing, per-hop latency.

    python -m robot_control.tools.plot_run runs/<run>/recording.mcap --out runs/<run>/plot.png

Panels (shared time axis, seconds from the start of the recording; task steps from
/task/status are marked on every panel):
  1. joint tracking error: RMS and max over the commanded joints of |command - measured|
     (each /joint_states sample against the latest /joint_commands);
  2. control loop: the cerebellum's period jitter p50/p99 and state->command latency p50/p99
     (its /cerebellum/status values);
  3. per-hop latency: bridge->brain round trip with the brain's server time, bridge->edge
     first progress, and the edge's skill step latency (their /diagnostics values).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

LOOP_KEYS = ("jitter_p50_us", "jitter_p99_us", "latency_p50_us", "latency_p99_us")
HOP_KEYS = re.compile(r"^(brain_rtt_ms|brain_server_ms|brain_transport_ms|edge_first_progress_ms|fallback_ms"
                      r"|step_latency_p50_us|step_latency_p99_us)$")


def _number(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if np.isfinite(v) else None


def collect(path: str | Path) -> dict[str, object]:
    """Time series from a recording (t in s from the first message)."""
    from robot_control.tools.recorder import read_messages

    t0 = None
    command: dict[str, float] = {}
    err_t: list[float] = []
    err_rms: list[float] = []
    err_max: list[float] = []
    loop: dict[str, list[tuple[float, float]]] = defaultdict(list)
    hops: dict[str, list[tuple[float, float]]] = defaultdict(list)
    steps: list[tuple[float, str]] = []
    last_step = ""
    n_js = 0
    for topic, t_ns, msg in read_messages(path, ["/joint_states", "/joint_commands", "/cerebellum/status",
                                                  "/diagnostics", "/task/status"]):
        t0 = t_ns if t0 is None else t0
        t = (t_ns - t0) / 1e9
        if topic == "/joint_commands":
            command.update(zip(msg.name, msg.position, strict=False))
        elif topic == "/joint_states":
            n_js += 1
            if not command or n_js % 5:
                continue
            measured = dict(zip(msg.name, msg.position, strict=False))
            diffs = np.array([command[n] - measured[n] for n in command if n in measured])
            diffs = diffs[np.isfinite(diffs)]
            if diffs.size:
                err_t.append(t)
                err_rms.append(float(np.sqrt(np.mean(diffs ** 2))))
                err_max.append(float(np.max(np.abs(diffs))))
        elif topic == "/cerebellum/status":
            for kv in msg.values:
                if kv.key in LOOP_KEYS and (v := _number(kv.value)) is not None:
                    loop[kv.key].append((t, v))
        elif topic == "/diagnostics":
            for status in msg.status:
                for kv in status.values:
                    if HOP_KEYS.match(kv.key) and (v := _number(kv.value)) is not None and v > 0:
                        unit = 1e-3 if kv.key.endswith("_us") else 1.0
                        hops[kv.key.replace("_us", "_ms")].append((t, v * unit))
        elif topic == "/task/status":
            values = {kv.key: kv.value for kv in msg.values}
            label = values.get("current_step") or values.get("state", "")
            if label and label != last_step:
                steps.append((t, label))
                last_step = label
    return {"tracking": (err_t, err_rms, err_max), "loop": dict(loop), "hops": dict(hops), "steps": steps}


def summarize(data: dict[str, object]) -> dict[str, object]:
    err_t, err_rms, err_max = data["tracking"]  # type: ignore[misc]
    out: dict[str, object] = {}
    if err_rms:
        out["tracking_rms_rad"] = {"mean": round(float(np.mean(err_rms)), 4),
                                   "p99": round(float(np.percentile(err_rms, 99)), 4),
                                   "max_joint_rad": round(float(np.max(err_max)), 4)}
    for key, series in {**data["loop"], **data["hops"]}.items():  # type: ignore[dict-item]
        values = [v for _, v in series]
        out[key] = {"median": round(float(np.median(values)), 3), "max": round(float(np.max(values)), 3)}
    return out


def plot(path: str | Path, out: str | Path) -> dict[str, object]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = collect(path)
    fig, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=True, constrained_layout=True)
    err_t, err_rms, err_max = data["tracking"]  # type: ignore[misc]
    ax = axes[0]
    if err_t:
        ax.plot(err_t, np.degrees(err_rms), lw=0.8, label="RMS over commanded joints")
        ax.plot(err_t, np.degrees(err_max), lw=0.6, alpha=0.6, label="max joint")
    ax.set_ylabel("tracking error [deg]")
    ax.set_title("joint tracking: command vs measured")
    ax = axes[1]
    for key, series in sorted(data["loop"].items()):  # type: ignore[attr-defined]
        t, v = zip(*series, strict=True)
        ax.plot(t, v, lw=0.8, label=key.replace("_us", ""))
    ax.set_ylabel("cerebellum [µs]")
    ax.set_yscale("symlog", linthresh=100)
    ax.set_title("1 kHz control loop: period jitter and state->command latency")
    ax = axes[2]
    for key, series in sorted(data["hops"].items()):  # type: ignore[attr-defined]
        t, v = zip(*series, strict=True)
        ax.plot(t, v, marker=".", lw=0.8, label=key.replace("_ms", ""))
    ax.set_ylabel("latency [ms]")
    ax.set_xlabel("time [s]")
    ax.set_title("per-hop latency (bridge -> brain, bridge -> edge, edge skill step)")
    for ax in axes:
        for t, _label in data["steps"]:  # type: ignore[attr-defined]
            ax.axvline(t, color="0.7", lw=0.6, ls="--")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper right")
        ax.grid(alpha=0.3)
    for t, label in data["steps"]:  # type: ignore[attr-defined]
        axes[0].annotate(label, (t, 1.0), xycoords=("data", "axes fraction"), rotation=90, fontsize=6,
                         va="top", ha="right", color="0.4")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return {"path": str(out), **summarize(data)}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("recording", type=Path)
    p.add_argument("--out", type=Path, default=None, help="default: plot.png next to the recording")
    a = p.parse_args(argv)
    print(json.dumps(plot(a.recording, a.out or a.recording.with_name("plot.png")), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
