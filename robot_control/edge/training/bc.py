"""Behaviour cloning in numpy: a ReLU MLP fitted to (observation, clean expert action) pairs.

    obs (N, 14) --(x - mean) / std--> Linear-ReLU-Linear-ReLU-Linear --> action in [-1, 1] units
                                                                     --> * half_range + centre

Inputs are normalised with the dataset's mean / std (std floored, so a near-constant signal
is not blown up); targets are scaled to [-1, 1] by the action bounds (ee delta by +-max_step,
gripper 0..1 around 0.5), so every action dimension weighs the same in the MSE loss. The
returned layers have the target scaling folded into the last layer, i.e. they map the
NORMALISED observation to the action in physical units -- exactly what `export_mlp` puts
between its normalisation and clipping nodes.

`ignore_inputs` removes observation elements from the policy: their first-layer weights are
zero (they are zeroed during training too), so the exported model computes the same action
whatever their value. Used for `skill_time`: see docs/skill-datasets.md.

Optimiser: Adam with decoupled weight decay (AdamW) on the weight matrices, cosine learning-rate
decay, a fixed number of minibatch steps. Validation holds out whole episodes when episode ids
are given. Everything random comes from one `np.random.default_rng(seed)`: the same data,
config and seed give identical weights (float32 math on one BLAS thread).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

Layers = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class BCConfig:
    hidden: tuple[int, ...] = (128, 128)
    steps: int = 12000  # minibatch updates
    batch_size: int = 256
    lr: float = 2e-3
    lr_final: float = 5e-5  # cosine decay to this
    weight_decay: float = 1e-4  # decoupled (AdamW), weights only
    val_fraction: float = 0.1
    std_floor: float = 1e-3  # lower bound of the input std (m, m/s or unitless)
    ignore_inputs: tuple[int, ...] = ()  # observation indices the policy must not use (weights zeroed)
    seed: int = 0

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["ignore_inputs"] = list(self.ignore_inputs)
        return d


@dataclass
class BCResult:
    layers: Layers  # normalised obs -> physical action
    obs_mean: np.ndarray
    obs_std: np.ndarray
    train_loss: float  # MSE in [-1, 1] action units, full train split, end of training
    val_loss: float  # same on the held-out split (nan when there is none)
    train_samples: int
    val_samples: int
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (step, train, val)

    def parameter_count(self) -> int:
        return int(sum(w.size + b.size for w, b in self.layers))


def _forward(params: Layers, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    acts = [x]
    h = x
    for i, (w, b) in enumerate(params):
        h = h @ w + b
        if i < len(params) - 1:
            h = np.maximum(h, 0.0)
        acts.append(h)
    return h, acts


def _loss(params: Layers, x: np.ndarray, y: np.ndarray, chunk: int = 8192) -> float:
    if len(x) == 0:
        return float("nan")
    total = 0.0
    for i in range(0, len(x), chunk):
        out, _ = _forward(params, x[i:i + chunk])
        total += float(np.sum((out - y[i:i + chunk]) ** 2, dtype=np.float64))
    return total / (len(x) * y.shape[1])


def split_indices(n: int, val_fraction: float, rng: np.random.Generator,
                  groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Train / validation sample indices; whole groups (episodes) go to validation when given."""
    if val_fraction <= 0 or n < 2:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    if groups is None:
        perm = rng.permutation(n)
        k = max(1, int(round(n * val_fraction)))
        return np.sort(perm[k:]), np.sort(perm[:k])
    ids = np.unique(groups)
    if len(ids) < 2:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    k = max(1, int(round(len(ids) * val_fraction)))
    val_ids = rng.permutation(ids)[:k]
    mask = np.isin(groups, val_ids)
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def _one_blas_thread() -> contextlib.AbstractContextManager[object]:
    """Single-threaded BLAS: these matrices are small, and a multi-threaded BLAS on a busy 2-core
    machine was 20-40x slower (threads spinning against other processes)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with the pinned environment
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def train_bc(obs: np.ndarray, act: np.ndarray, act_low: Sequence[float], act_high: Sequence[float],
             config: BCConfig = BCConfig(), groups: np.ndarray | None = None,
             progress: Callable[[int, float], None] | None = None) -> BCResult:
    """Fit the MLP; `progress(step, loss)` is called every 100 steps (e.g. to update tqdm)."""
    with _one_blas_thread():
        return _train(obs, act, act_low, act_high, config, groups, progress)


def _train(obs: np.ndarray, act: np.ndarray, act_low: Sequence[float], act_high: Sequence[float],
           config: BCConfig, groups: np.ndarray | None,
           progress: Callable[[int, float], None] | None) -> BCResult:
    obs = np.asarray(obs, dtype=np.float32)
    act = np.asarray(act, dtype=np.float32)
    if obs.ndim != 2 or act.ndim != 2 or len(obs) != len(act) or len(obs) == 0:
        raise ValueError(f"need matching non-empty (N, d) arrays, got {obs.shape} and {act.shape}")
    low, high = np.asarray(act_low, np.float32), np.asarray(act_high, np.float32)
    if low.shape != (act.shape[1],) or high.shape != low.shape or np.any(high <= low):
        raise ValueError("act_low/act_high must be finite per-dimension bounds with low < high")
    centre, half = (high + low) / 2, (high - low) / 2
    rng = np.random.default_rng(config.seed)
    tr, va = split_indices(len(obs), config.val_fraction, rng, groups)

    mean = obs[tr].mean(axis=0)
    std = np.maximum(obs[tr].std(axis=0), config.std_floor).astype(np.float32)
    ignored = np.asarray(config.ignore_inputs, dtype=np.int64)
    mean[ignored], std[ignored] = 0.0, 1.0
    x = ((obs - mean) / std).astype(np.float32)
    x[:, ignored] = 0.0
    y = ((np.clip(act, low, high) - centre) / half).astype(np.float32)
    xt, yt, xv, yv = x[tr], y[tr], x[va], y[va]

    sizes = [obs.shape[1], *config.hidden, act.shape[1]]
    params: Layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        scale = math.sqrt(2.0 / n_in) if i < len(sizes) - 2 else math.sqrt(1.0 / n_in) * 0.1
        params.append((rng.normal(0.0, scale, (n_in, n_out)).astype(np.float32), np.zeros(n_out, np.float32)))
    params[0][0][ignored] = 0.0  # ignored inputs: zero weights (their input is 0 too, so they stay 0)
    m = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
    v = [(np.zeros_like(w), np.zeros_like(b)) for w, b in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    history: list[tuple[int, float, float]] = []
    n = len(xt)
    bs = min(config.batch_size, n)
    order = rng.permutation(n)
    pos = 0
    running = 0.0
    for step in range(1, config.steps + 1):
        if pos + bs > n:
            order, pos = rng.permutation(n), 0
        idx = order[pos:pos + bs]
        pos += bs
        xb, yb = xt[idx], yt[idx]
        out, acts = _forward(params, xb)
        diff = out - yb
        running = 0.98 * running + 0.02 * float(np.mean(diff * diff)) if step > 1 else float(np.mean(diff * diff))
        grad = (2.0 / diff.size) * diff
        lr = config.lr_final + 0.5 * (config.lr - config.lr_final) * (1 + math.cos(math.pi * step / config.steps))
        c1, c2 = 1 - b1 ** step, 1 - b2 ** step
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            gw = acts[i].T @ grad
            gb = grad.sum(axis=0)
            if i > 0:
                grad = (grad @ w.T) * (acts[i] > 0)
            (mw, mb), (vw, vb) = m[i], v[i]
            for p, g, mm, vv, decay in ((w, gw, mw, vw, True), (b, gb, mb, vb, False)):
                mm *= b1
                mm += (1 - b1) * g
                vv *= b2
                vv += (1 - b2) * g * g
                if decay and config.weight_decay > 0:
                    p -= lr * config.weight_decay * p
                p -= (lr * (mm / c1) / (np.sqrt(vv / c2) + eps)).astype(np.float32)
        if progress is not None and step % 100 == 0:
            progress(step, running)
        if step % max(1, config.steps // 10) == 0 or step == config.steps:
            history.append((step, running, _loss(params, xv, yv)))

    # Fold the target scaling into the last layer: physical action = z * half + centre.
    w_last, b_last = params[-1]
    layers = [*params[:-1], ((w_last * half).astype(np.float32), (b_last * half + centre).astype(np.float32))]
    return BCResult(layers=layers, obs_mean=mean.astype(np.float32), obs_std=std, train_loss=_loss(params, xt, yt),
                    val_loss=_loss(params, xv, yv), train_samples=len(tr), val_samples=len(va), history=history)
