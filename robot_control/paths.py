"""Where the package's data (config/, proto/, launch/) lives.

In a source checkout (including `pip install -e .`) that is the repository root; in a
colcon install it is `share/robot_control`, found through the ament index.
"""

from __future__ import annotations

import functools
from pathlib import Path

PACKAGE = "robot_control"


@functools.cache
def share_dir() -> Path:
    """Root folder holding config/, launch/ and proto/."""
    source_root = Path(__file__).resolve().parent.parent
    if (source_root / "package.xml").is_file() and (source_root / "config").is_dir():
        return source_root
    try:
        from ament_index_python.packages import get_package_share_directory
    except ImportError as exc:  # pragma: no cover - only without a checkout and ament
        raise FileNotFoundError(
            "robot_control data files not found: not a source checkout and "
            "ament_index_python is not importable"
        ) from exc
    return Path(get_package_share_directory(PACKAGE))


def config_path(*parts: str) -> Path:
    return share_dir().joinpath("config", *parts)


def resolve(path: str | Path, *, base: Path | None = None) -> Path:
    """Resolve a path from a config file.

    Absolute paths are kept; `pkg://robot_control/...` is resolved under share_dir();
    other relative paths are tried against `base` (the referring file's folder), the
    current directory and then share_dir().
    """
    text = str(path)
    prefix = f"pkg://{PACKAGE}/"
    if text.startswith(prefix):
        return share_dir() / text[len(prefix):]
    candidate = Path(text).expanduser()
    if candidate.is_absolute():
        return candidate
    for root in (base, Path.cwd(), share_dir()):
        if root is not None and (root / candidate).exists():
            return (root / candidate).resolve()
    return (share_dir() / candidate).resolve()
