"""Edge policy port: sessions, steps equal to the in-process policy, refusals, bad observations."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from skill_models import make_skill

from robot_control.edge.library import SkillLibrary
from robot_control.edge.policy_port import PolicyPortClient, PolicyPortError, PolicyPortServer

pytestmark = pytest.mark.unit


@pytest.fixture()
def library(tmp_path: Path) -> SkillLibrary:
    make_skill(tmp_path / "skills", "reach")
    return SkillLibrary.load(tmp_path / "skills")


@pytest.fixture()
def unix_port(library: SkillLibrary, tmp_path: Path) -> Iterator[str]:
    server = PolicyPortServer(f"unix:{tmp_path}/run/edge.sock", library.get)
    addr = server.start()
    yield str(addr)
    server.stop()


def test_steps_match_in_process_policy(library: SkillLibrary, unix_port: str) -> None:
    policy = library.get("reach", "g1")
    assert policy is not None
    rng = np.random.default_rng(3)
    with PolicyPortClient(unix_port, "reach", "g1") as client:
        assert (client.obs_dim, client.act_dim) == (6, 4)
        assert client.model_sha256 == policy.manifest.model_sha256
        for _ in range(50):
            obs = rng.normal(0, 0.3, 6).astype(np.float32)
            np.testing.assert_array_equal(client.act(obs), policy.act(obs))


def test_socket_is_private(unix_port: str) -> None:
    mode = stat.S_IMODE(os.stat(unix_port.removeprefix("unix:")).st_mode)
    assert mode & 0o077 == 0, oct(mode)


def test_unknown_skill_and_embodiment_refused(unix_port: str) -> None:
    with pytest.raises(PolicyPortError, match="no skill 'dance'"):
        PolicyPortClient(unix_port, "dance", "g1")
    with pytest.raises(PolicyPortError, match="embodiment 'spot'"):
        PolicyPortClient(unix_port, "reach", "spot")


def test_bad_observation_answered_and_session_survives(unix_port: str) -> None:
    with PolicyPortClient(unix_port, "reach", "panda") as client:
        with pytest.raises(PolicyPortError, match="NaN"):
            client.act(np.full(6, np.nan, np.float32))
        with pytest.raises(ValueError, match="takes 6"):
            client.act(np.zeros(5, np.float32))
        assert client.act(np.zeros(6, np.float32)).shape == (4,)


def test_tcp_requires_and_checks_token(library: SkillLibrary) -> None:
    with pytest.raises(ValueError, match="needs a token"):
        PolicyPortServer("tcp:127.0.0.1:0", library.get)
    server = PolicyPortServer("tcp:127.0.0.1:0", library.get, token="s3cret-token-123456")
    addr = str(server.start())
    try:
        with pytest.raises(PolicyPortError, match="bad token"):
            PolicyPortClient(addr, "reach", "g1", token="wrong")
        with PolicyPortClient(addr, "reach", "g1", token="s3cret-token-123456") as client:
            assert client.act(np.zeros(6, np.float32)).shape == (4,)
    finally:
        server.stop()
