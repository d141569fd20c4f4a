"""Small exported skill models for tests (random weights, real ONNX files + manifests).

Importable from tests in this folder (pytest puts the test file's folder on sys.path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from robot_control.edge.manifest import SCHEMA, manifest_from_dict, write_manifest
from robot_control.edge.policy import export_mlp


def manifest_dict(name: str = "reach", obs: int = 6, act: int = 4) -> dict[str, Any]:
    return {
        "schema": SCHEMA, "name": name, "version": "1.0.0", "description": "test skill",
        "embodiments": ["g1", "panda"], "parameters": ["arm:arm", "object:object"],
        "preconditions": ["hand_empty(arm)"], "add_effects": ["near(arm, object)"],
        "delete_effects": ["not grasped(arm, object)"], "goal": "pregrasp",
        "control_rate_hz": 50, "max_duration_s": 10,
        "observation": {"dtype": "float32",
                        "signals": [{"name": "object_minus_ee", "size": 3, "frame": "world", "unit": "m"},
                                    {"name": "goal_minus_ee", "size": obs - 3, "frame": "world", "unit": "m"}],
                        "normalisation": {"mean": [0.0] * obs, "std": [0.5] * obs, "in_model": True}},
        "action": {"space": "task_space",
                   "signals": [{"name": "ee_delta", "size": act - 1, "unit": "m", "low": -0.008, "high": 0.008},
                               {"name": "gripper", "size": 1, "low": 0.0, "high": 1.0}]},
        "success": [{"check": "ee_near_goal", "tolerance": 0.015}],
        "model": {"file": f"models/{name}.onnx", "sha256": "", "input": "observation", "output": "action"},
        "provenance": {"seed": 0, "evaluation": {"g1": {"episodes": 50, "success_rate": 0.96}}},
    }


def make_skill(folder: Path, name: str = "reach", seed: int = 0, *, stem: str | None = None,
               embodiments: list[str] | None = None) -> tuple[Path, list[tuple[np.ndarray, np.ndarray]]]:
    """A verified skill: `<stem>.yaml` (default: the skill's name) + `models/<stem>.onnx`."""
    rng = np.random.default_rng(seed)
    data = manifest_dict(name)
    stem = stem or name
    data["model"]["file"] = f"models/{stem}.onnx"
    if embodiments is not None:
        data["embodiments"] = list(embodiments)
    layers = [(rng.normal(0, 0.5, (6, 16)).astype(np.float32), rng.normal(0, 0.1, 16).astype(np.float32)),
              (rng.normal(0, 0.01, (16, 4)).astype(np.float32), np.full(4, 0.5, np.float32))]
    path = folder / f"{stem}.yaml"
    draft = manifest_from_dict(data, "draft", source=path)
    data["model"]["sha256"] = export_mlp(draft.model_path(), layers, draft)
    write_manifest(data, path)
    return path, layers
