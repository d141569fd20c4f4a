"""Behaviour cloning in numpy: determinism, fitting a known map, ignored inputs, ONNX agreement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from robot_control.edge.policy import mlp_forward
from robot_control.edge.training.bc import BCConfig, split_indices, train_bc

pytestmark = pytest.mark.unit

LOW = [-0.008] * 3 + [0.0]
HIGH = [0.008] * 3 + [1.0]


def linear_data(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    obs = rng.normal(0.0, 0.05, (n, 14)).astype(np.float32)
    obs[:, 9:12] *= 4  # velocities: another scale, normalisation must cope
    a = rng.normal(0.0, 0.02, (14, 4))
    act = obs @ a
    act[:, 3] = 0.5 + 3.0 * obs[:, 0]
    return obs, np.clip(act, LOW, HIGH).astype(np.float32), a


def test_same_seed_same_weights_other_seed_other_weights() -> None:
    obs, act, _ = linear_data(800)
    cfg = BCConfig(hidden=(32, 32), steps=300, seed=3)
    r1 = train_bc(obs, act, LOW, HIGH, cfg)
    r2 = train_bc(obs, act, LOW, HIGH, cfg)
    r3 = train_bc(obs, act, LOW, HIGH, BCConfig(hidden=(32, 32), steps=300, seed=4))
    for (w1, b1), (w2, b2) in zip(r1.layers, r2.layers, strict=True):
        np.testing.assert_array_equal(w1, w2)
        np.testing.assert_array_equal(b1, b2)
    assert r1.train_loss == r2.train_loss and r1.val_loss == r2.val_loss
    assert not np.array_equal(r1.layers[0][0], r3.layers[0][0])


def test_fits_a_known_linear_map() -> None:
    obs, act, _ = linear_data()
    res = train_bc(obs, act, LOW, HIGH, BCConfig(hidden=(64, 64), steps=2500, seed=0))
    assert res.val_samples > 0 and res.train_samples + res.val_samples == len(obs)
    pred = mlp_forward(res.layers, (obs - res.obs_mean) / res.obs_std)
    err = np.abs(pred - act)
    # within a tenth of the action range on (nearly) every sample, in physical units
    assert np.quantile(err[:, :3], 0.99) < 0.1 * 0.016, np.quantile(err[:, :3], 0.99)
    assert np.quantile(err[:, 3], 0.99) < 0.1, np.quantile(err[:, 3], 0.99)
    assert res.val_loss < 0.01
    assert res.history[-1][1] < res.history[0][1]  # the loss went down


def test_ignored_inputs_have_no_effect() -> None:
    obs, act, _ = linear_data(1000)
    act[:, 0] = np.clip(0.05 * obs[:, 13], -0.008, 0.008)  # a label that depends on the ignored input
    res = train_bc(obs, act, LOW, HIGH, BCConfig(hidden=(16,), steps=200, ignore_inputs=(13,)))
    assert np.all(res.layers[0][0][13] == 0.0)
    assert res.obs_mean[13] == 0.0 and res.obs_std[13] == 1.0
    x = (obs[:5] - res.obs_mean) / res.obs_std
    y = x.copy()
    y[:, 13] = 123.0
    np.testing.assert_array_equal(mlp_forward(res.layers, x), mlp_forward(res.layers, y))


def test_validation_holds_out_whole_episodes() -> None:
    groups = np.repeat(np.arange(10), 7)
    tr, va = split_indices(len(groups), 0.2, np.random.default_rng(0), groups)
    assert len(va) == 14 and not set(groups[tr]) & set(groups[va])


def test_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        train_bc(np.zeros((0, 14)), np.zeros((0, 4)), LOW, HIGH)
    with pytest.raises(ValueError, match="low < high"):
        train_bc(np.zeros((4, 14)), np.zeros((4, 4)), HIGH, LOW)


def test_exported_onnx_matches_numpy(tmp_path: Path) -> None:
    from robot_control.edge.manifest import load_manifest
    from robot_control.edge.policy import load_policy
    from robot_control.edge.training.pipeline import build_manifest, export_and_write

    obs, act, _ = linear_data(600)
    res = train_bc(obs, act, LOW, HIGH, BCConfig(hidden=(16, 16), steps=200, ignore_inputs=(13,)))
    data = build_manifest("lift", ["panda"], res, 0.008, 3.0, "models/lift_panda.onnx", {"seed": 0})
    export_and_write(data, res.layers, tmp_path / "lift_panda.yaml")
    policy = load_policy(load_manifest(tmp_path / "lift_panda.yaml"))
    # the manifest stores mean/std rounded to 6 significant digits: compare with those
    m = policy.manifest
    x = (obs[:20] - np.asarray(m.obs_mean, np.float32)) / np.asarray(m.obs_std, np.float32)
    expected = np.clip(mlp_forward(res.layers, x), LOW, HIGH)
    got = np.array([policy.act(o) for o in obs[:20]])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
