"""MuJoCo simulation helpers for the `mujoco_sim` driver: model assets, scenes, describe.

Headless rendering: MuJoCo picks its OpenGL backend from MUJOCO_GL when `mujoco` is first
imported. If MUJOCO_GL is unset, there is no X display and libEGL is installed, this
package sets MUJOCO_GL=egl before anything imports mujoco (a broken backend makes
`import mujoco` itself fail, so it is only chosen when EGL is present). Set MUJOCO_GL
yourself (egl, osmesa, glfw, disable) to override. Code outside this package should use
`from robot_control.body.sim import mujoco` so the choice happens before the import.
"""

from __future__ import annotations

import ctypes.util
import os
import sys


def _default_headless_gl() -> None:
    if "MUJOCO_GL" in os.environ or "mujoco" in sys.modules or not sys.platform.startswith("linux"):
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if ctypes.util.find_library("EGL"):
        os.environ["MUJOCO_GL"] = "egl"


_default_headless_gl()

import mujoco  # noqa: E402  (after choosing the GL backend; modules outside sim/ import it from here)

__all__ = ["mujoco"]
