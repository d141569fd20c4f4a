"""The edge SkillService over real gRPC in-process (loopback), on a kinematic Panda ticked at
50 Hz in real time: ListSkills with a rejected corrupt model, errors, a streamed Execute,
client cancel -> hold, busy/preempt, TLS + token."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from edge_fakes import KinematicPanda, chain_index, goal_tracking_skill, panda_runtime
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from robot_control.edge.service import EdgeServer, EdgeServerConfig
from robot_control.v1 import skill_pb2, skill_pb2_grpc

pytestmark = pytest.mark.unit
Phase = skill_pb2.SkillProgress.Phase


class Edge:
    """Server + runtime + a thread that ticks the runtime and moves the kinematic body."""

    def __init__(self, folder: Path, follow: float = 0.5, **server) -> None:
        self.body = KinematicPanda(follow=follow)
        self.body.clock = time.monotonic  # real time: gRPC calls race the ticks like in the node
        self.body.world.clock = time.monotonic
        self.body.t = time.monotonic()
        self.body.publish()
        # generous staleness bounds: a loaded CI machine may pause this thread for a while
        self.runtime = panda_runtime(folder, self.body, state_timeout_s=1.0, objects_timeout_s=2.0)
        self.runtime.clock = time.monotonic
        self.server = EdgeServer(self.runtime, EdgeServerConfig(address="127.0.0.1:0", **server)).start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.body.t = time.monotonic()
            self.body.apply(self.runtime.tick())
            self.body.publish()
            time.sleep(0.02)

    def stub(self, channel: grpc.Channel | None = None) -> skill_pb2_grpc.SkillServiceStub:
        return skill_pb2_grpc.SkillServiceStub(channel or grpc.insecure_channel(f"127.0.0.1:{self.server.port}"))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.server.stop(0)


@pytest.fixture
def skills(tmp_path: Path) -> Path:
    goal_tracking_skill(tmp_path, "reach")
    goal_tracking_skill(tmp_path, "slow_reach", gain=0.05, max_duration_s=20.0)  # takes seconds
    goal_tracking_skill(tmp_path, "lift", goal="lift", embodiments=("g1",))
    goal_tracking_skill(tmp_path, "grasp", goal="grasp")
    (tmp_path / "models" / "grasp.onnx").write_bytes(b"\x08\x07corrupt")  # after export: sha mismatch
    return tmp_path


@pytest.fixture
def edge(skills: Path):
    e = Edge(skills)
    yield e
    e.close()


def execute(**kw) -> skill_pb2.ExecuteSkillRequest:
    args = kw.pop("args", {"object": "red_cube"})
    return skill_pb2.ExecuteSkillRequest(
        arguments=[skill_pb2.SkillArgument(name=k, symbol=v) for k, v in args.items()], **kw)


def violations(err: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(err)
    assert status is not None, "expected rich error details"
    out = []
    for detail in status.details:
        br = error_details_pb2.BadRequest()
        if detail.Unpack(br):
            out += [v.field for v in br.field_violations]
    return out


def test_list_skills_with_rejected_model(edge: Edge) -> None:
    reply = edge.stub().ListSkills(skill_pb2.ListSkillsRequest(), timeout=5)
    assert [c.name for c in reply.skills] == ["reach", "slow_reach"]
    reach = reply.skills[0]
    assert list(reach.embodiments) == ["panda"] and reach.control_rate_hz == 50.0
    assert len(reach.model_sha256) == 64 and "ee_near_goal" in reach.manifest_yaml
    assert reach.evaluation["panda"] == pytest.approx(1.0)
    (rejected,) = reply.rejected
    assert rejected.startswith("grasp.yaml: ") and "checksum mismatch" in rejected
    for name in ("panda", "arm"):
        assert len(edge.stub().ListSkills(skill_pb2.ListSkillsRequest(embodiment=name), timeout=5).skills) == 2
    other = edge.stub().ListSkills(skill_pb2.ListSkillsRequest(embodiment="g1"), timeout=5)
    assert not other.skills and list(other.rejected) == list(reply.rejected)


@pytest.mark.parametrize(("request_", "field"), [
    (execute(skill="teleport", arm_group="arm"), "skill"),
    (execute(skill="grasp", arm_group="arm"), "skill"),  # rejected at load
    (execute(skill="lift", arm_group="arm"), "skill"),  # another robot's skill
    (execute(skill="reach", arm_group="arm", args={}), "arguments[object]"),
    (execute(skill="reach", arm_group="arm", args={"object": "blue_mug"}), "arguments[object]"),
    (execute(skill="reach", arm_group="arm", args={"object": "red_cube", "to": "bin"}), "arguments[to]"),
    (execute(skill="reach", arm_group="right_arm"), "arm_group"),
])
def test_bad_requests_are_invalid_argument(edge: Edge, request_, field) -> None:
    with pytest.raises(grpc.RpcError) as err:
        list(edge.stub().Execute(request_, timeout=5))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violations(err.value), err.value.details()


def test_execute_streams_to_success_with_the_world(edge: Edge) -> None:
    msgs = list(edge.stub().Execute(execute(request_id="ok-1", skill="reach", arm_group="arm"), timeout=20))
    phases = [m.phase for m in msgs]
    assert phases[0] == Phase.ACCEPTED and phases[-1] == Phase.SUCCEEDED
    assert Phase.RUNNING in phases and all(m.request_id == "ok-1" for m in msgs)
    running = [m for m in msgs if m.phase == Phase.RUNNING]
    assert running[-1].elapsed_s > 0 and 0 <= running[-1].progress <= 1
    final = msgs[-1]
    assert final.progress == 1.0 and final.server_timing.total_s > 0
    stages = final.server_timing.stages_s
    assert {"validate", "queue", "execute", "step_p50", "step_p99", "policy_p50"} <= set(stages)
    world = final.world
    assert world.robot == "panda" and list(world.arm_groups) == ["arm"]
    cube = next(o for o in world.objects if o.name == "red_cube")
    assert cube.kind == "cube" and cube.color == "red" and cube.location == "table"
    assert {loc.name for loc in world.locations} == {"bin", "table"}
    assert not world.holding


def test_client_cancel_stops_the_skill_and_holds(edge: Edge) -> None:
    call = edge.stub().Execute(execute(skill="slow_reach", arm_group="arm"), timeout=30)
    seen = []
    for msg in call:
        seen.append(msg.phase)
        if msg.phase == Phase.RUNNING and msg.elapsed_s > 0.3:
            call.cancel()
            break
    ex = edge.runtime.executors["arm"]

    def held() -> bool:
        with edge.body.lock:
            return not ex.busy and edge.body.commands[-1].kind == "hold"

    deadline = time.monotonic() + 5
    while not held() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert held() and ex.last_outcome == "slow_reach: CANCELED"
    with edge.body.lock:
        cmds = list(edge.body.commands)
        q = edge.body.q[chain_index(edge.body)].copy()
    hold = cmds[-1]
    assert hold.kind == "hold" and np.all(hold.velocities == 0)
    assert cmds[-2].kind == "step" and np.max(np.abs(cmds[-2].positions[:7] - hold.positions[:7])) > 0
    time.sleep(0.2)  # nothing is streamed after the hold; the arm settles on it
    with edge.body.lock:
        assert len(edge.body.commands) == len(cmds)
    np.testing.assert_allclose(q, hold.positions[:7], atol=0.02)


def test_busy_arm_is_failed_precondition_unless_preempt(edge: Edge) -> None:
    stub = edge.stub()
    first = stub.Execute(execute(request_id="a", skill="slow_reach", arm_group="arm"), timeout=30)
    assert next(first).phase == Phase.ACCEPTED
    with pytest.raises(grpc.RpcError) as err:
        list(stub.Execute(execute(request_id="b", skill="reach", arm_group="arm"), timeout=5))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "preempt" in err.value.details()
    second = list(stub.Execute(execute(request_id="c", skill="reach", arm_group="arm", preempt=True), timeout=20))
    rest = list(first)
    assert rest[-1].phase == Phase.PREEMPTED and "preempted by reach[c]" in rest[-1].message
    assert second[-1].phase == Phase.SUCCEEDED


def test_tls_and_token(skills: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    from robot_control.brain import certs, security

    paths = certs.create_dev_certs(tmp_path_factory.mktemp("certs"))
    token = "edge-token-" + "x" * 20
    e = Edge(skills, certs_dir=paths.folder, token=token)
    try:
        creds = security.channel_credentials(paths.ca, token=token)
        with grpc.secure_channel(f"localhost:{e.server.port}", creds) as ch:
            assert len(e.stub(ch).ListSkills(skill_pb2.ListSkillsRequest(), timeout=5).skills) == 2
        no_token = grpc.ssl_channel_credentials(root_certificates=paths.ca.read_bytes())
        with grpc.secure_channel(f"localhost:{e.server.port}", no_token) as ch, pytest.raises(grpc.RpcError) as err:
            e.stub(ch).ListSkills(skill_pb2.ListSkillsRequest(), timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        e.close()
