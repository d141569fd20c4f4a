"""ControllerConfig.from_dict and gain resolution: clear errors that name the key."""

from __future__ import annotations

import numpy as np
import pytest

from robot_control.cerebellum import Controller, ControllerConfig, JointLimits, resolve_gains
from robot_control.common.config import ConfigError

pytestmark = pytest.mark.unit

NAMES = ("a", "b")
LIMITS = JointLimits.from_lists(NAMES, [-1, -1], [1, 1], [1, 1], [10, 10], [5, 5])


def test_defaults_and_values() -> None:
    assert ControllerConfig.from_dict(None) == ControllerConfig()
    config = ControllerConfig.from_dict({"rate_hz": 500, "kp": [10, 20], "kd": {"a": 1.0, "*": 0.5},
                                         "setpoint_timeout_s": 0.05, "max_roll_rad": 0.3,
                                         "startup_posture": "stand"})
    assert config.rate_hz == 500.0 and config.dt == pytest.approx(0.002)
    assert config.kp == (10.0, 20.0) and config.kd == {"a": 1.0, "*": 0.5}
    assert config.setpoint_timeout_s == 0.05 and config.max_roll_rad == 0.3
    assert config.startup_posture == "stand"


@pytest.mark.parametrize("data,message", [
    ({"kpp": 1}, "cerebellum: unknown key(s): kpp"),
    ({"rate_hz": 0}, "cerebellum.rate_hz: must be > 0, got 0"),
    ({"kp": [1, "x"]}, "cerebellum.kp[1]: expected a finite number >= 0, got 'x'"),
    ({"kp": []}, "cerebellum.kp: empty list"),
    ({"kd": {"a": -1}}, "cerebellum.kd.a: must be >= 0.0, got -1"),
    ({"kp": "high"}, "cerebellum.kp: expected a finite number, got str 'high'"),
    ({"state_timeout_s": 0.0005}, "cerebellum.state_timeout_s: must be >= 0.001, got 0.0005"),
    ({"max_pitch_rad": 4.0}, "cerebellum.max_pitch_rad: must be <= 3.14"),
    ({"setpoint_timeout_s": "soon"}, "cerebellum.setpoint_timeout_s: expected a finite number"),
])
def test_errors_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        ControllerConfig.from_dict(data)
    assert str(info.value).startswith(message)


def test_resolve_gains() -> None:
    np.testing.assert_allclose(resolve_gains(3.0, NAMES, "kp"), [3.0, 3.0])
    np.testing.assert_allclose(resolve_gains((1.0, 2.0), NAMES, "kp"), [1.0, 2.0])
    np.testing.assert_allclose(resolve_gains({"b": 4.0, "*": 1.0}, NAMES, "kp"), [1.0, 4.0])
    with pytest.raises(ConfigError, match="kp: 3 value"):
        resolve_gains((1.0, 2.0, 3.0), NAMES, "kp")
    with pytest.raises(ConfigError, match="kd: no gain for joint"):
        resolve_gains({"a": 1.0}, NAMES, "kd")
    with pytest.raises(ConfigError, match="kd: unknown joint"):
        resolve_gains({"a": 1.0, "b": 1.0, "z": 1.0}, NAMES, "kd")


def test_controller_checks_config_against_joints() -> None:
    with pytest.raises(ConfigError, match="kp: 3 value"):
        Controller(NAMES, LIMITS, ControllerConfig(kp=(1.0, 2.0, 3.0)))
    with pytest.raises(ConfigError, match="startup_posture: unknown posture 'stand'"):
        Controller(NAMES, LIMITS, ControllerConfig(startup_posture="stand"))
    with pytest.raises(ValueError, match="no limits for joint"):
        Controller(("a", "c"), LIMITS)
    Controller(NAMES, LIMITS, ControllerConfig(startup_posture="stand"), {"stand": {"a": 0.5}})
