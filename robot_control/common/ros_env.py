"""Middleware environment defaults applied by every process robot_control starts.

DDS discovery stays on this machine unless the user asked otherwise
(`ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`; kilted ignores ROS_LOCALHOST_ONLY), and a
Fast DDS profile with quick initial announcements makes late-joining processes match in
well under a second.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

DISCOVERY_RANGE_VAR = "ROS_AUTOMATIC_DISCOVERY_RANGE"
DEFAULT_DISCOVERY_RANGE = "LOCALHOST"
FASTDDS_PROFILE_VAR = "FASTDDS_DEFAULT_PROFILES_FILE"
FASTDDS_PROFILE = Path(__file__).resolve().parent / "fastdds_profile.xml"


def apply_ros_env_defaults(env: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Fill in middleware defaults the user did not set; returns the mapping it changed.

    With no argument it changes os.environ, which also reaches the C middleware of this
    process as long as it runs before rclpy.init().
    """
    target: MutableMapping[str, str] = os.environ if env is None else env
    target.setdefault(DISCOVERY_RANGE_VAR, DEFAULT_DISCOVERY_RANGE)
    target.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    if FASTDDS_PROFILE.is_file():
        target.setdefault(FASTDDS_PROFILE_VAR, str(FASTDDS_PROFILE))
    return target
