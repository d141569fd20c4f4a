"""The brain PlannerService over real gRPC on loopback: TLS, mTLS, token, errors, fallback."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from robot_control.brain import certs, fixtures, security
from robot_control.brain.server import BrainServer, ServerConfig
from robot_control.bridge.planner_client import ClientConfig, CloudUnavailable, PlannerClient
from robot_control.v1 import planner_pb2, planner_pb2_grpc

pytestmark = pytest.mark.integration
TOKEN = "test-token-" + "x" * 24
Outcome = planner_pb2.PlanResponse.Outcome


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory):
    return certs.create_dev_certs(tmp_path_factory.mktemp("certs")).folder


@pytest.fixture(scope="module")
def nl_parser():
    from robot_control.brain.nl import InstructionParser

    return InstructionParser(torch_threads=2)


@pytest.fixture
def start_server(certs_dir, nl_parser):
    servers: list[BrainServer] = []

    def start(**kw) -> BrainServer:
        cfg = ServerConfig(listen="127.0.0.1:0", certs_dir=certs_dir, token=TOKEN, **kw)
        server = BrainServer(cfg, interpret=nl_parser.parse).start()
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop(0)


def client_for(server: BrainServer, certs_dir, token: str = TOKEN, mtls: bool = False, **kw) -> PlannerClient:
    cfg = ClientConfig.from_certs_dir(f"127.0.0.1:{server.port}", certs_dir, token, mtls=mtls, **kw)
    return PlannerClient(cfg)


def request(n: int = 5, **task) -> planner_pb2.PlanRequest:
    return planner_pb2.PlanRequest(request_id=str(uuid.uuid4()), world=fixtures.demo_world(n),
                                   capabilities=fixtures.standard_contracts(), **task)


def bad_request_fields(err: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(err)
    assert status is not None, "expected rich error details"
    fields = []
    for detail in status.details:
        br = error_details_pb2.BadRequest()
        if detail.Unpack(br):
            fields += [v.field for v in br.field_violations]
    return fields


def test_plan_two_objects_structured_and_nl(start_server, certs_dir) -> None:
    server = start_server()
    with client_for(server, certs_dir) as client:
        goals = fixtures.goals(("at", "red_mug", "bin"), ("at", "blue_cube", "shelf"))
        out = client.plan(request(goals=goals), deadline_s=5.0)
        assert out.mode == "cloud" and out.response.outcome == Outcome.PLANNED
        assert len(out.response.plan.steps) == 12
        nl = client.plan(request(instruction="put the red mug in the bin and the blue cube on the shelf"),
                         deadline_s=5.0)
        assert nl.mode == "cloud" and nl.response.outcome == Outcome.PLANNED
        got = {(g.predicate, *g.arguments) for g in nl.response.plan.goals}
        assert got == {("at", "red_mug", "bin"), ("at", "blue_cube", "shelf")}
        stages = nl.response.server_timing.stages_s
        assert {"nl", "translate", "search"} <= set(stages) and nl.response.server_timing.total_s > 0
        assert 0 <= nl.transport_s < nl.round_trip_s
        print(f"\nNL two-object plan: rtt {nl.round_trip_s * 1e3:.1f} ms, server "
              f"{nl.server_s * 1e3:.1f} ms, transport {nl.transport_s * 1e3:.1f} ms")
        clar = client.plan(request(instruction="put it in the bin"), deadline_s=5.0)
        assert clar.response.outcome == Outcome.NEEDS_CLARIFICATION and clar.response.clarification
        ref = client.plan(request(instruction="make me a coffee"), deadline_s=5.0)
        assert ref.response.outcome == Outcome.REFUSED and not ref.response.plan.steps


def test_idempotent_by_request_id(start_server, certs_dir) -> None:
    server = start_server()
    with client_for(server, certs_dir) as client:
        req = request(goals=fixtures.goals(("at", "green_can", "bin")))
        a, _, _ = client.make_plan(req, 5.0)
        b, _, _ = client.make_plan(req, 5.0)
        assert a.plan == b.plan and "cache" in b.server_timing.stages_s
        assert server.servicer.cache.hits == 1
        other = planner_pb2.PlanRequest()
        other.CopyFrom(req)
        other.goals.goals[0].arguments[1] = "shelf"
        with pytest.raises(grpc.RpcError) as err:
            client.make_plan(other, 5.0)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_replan_from_new_world(start_server, certs_dir) -> None:
    server = start_server()
    with client_for(server, certs_dir) as client:
        original = request(goals=fixtures.goals(("at", "red_mug", "bin")))
        first, _, _ = client.make_plan(original, 5.0)
        world = fixtures.demo_world(5)
        world.objects[0].location = "shelf"  # the mug slipped onto the shelf
        rq = planner_pb2.ReplanRequest(request_id=str(uuid.uuid4()), original=original, world=world,
                                       failed_step=first.plan.steps[2], failure="object slipped")
        rq.executed.steps.extend(first.plan.steps[:2])
        resp = client.replan(rq, 5.0)
        assert resp.outcome == Outcome.PLANNED
        lift = next(s for s in resp.plan.steps if s.skill == "lift")
        assert lift.arguments[2].symbol == "shelf"


def test_wrong_or_missing_token_rejected(start_server, certs_dir) -> None:
    server = start_server()
    for token in ("wrong-token-" + "y" * 24, None):
        with client_for(server, certs_dir, token=token) as client:
            with pytest.raises(grpc.RpcError) as err:
                client.make_plan(request(goals=fixtures.goals(("at", "red_mug", "bin"))), 3.0)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            # health checks need the token as well
            stub = health_pb2_grpc.HealthStub(client.channel)
            with pytest.raises(grpc.RpcError) as herr:
                stub.Check(health_pb2.HealthCheckRequest(), timeout=3.0)
            assert herr.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with client_for(server, certs_dir) as client:
        ok = health_pb2_grpc.HealthStub(client.channel).Check(health_pb2.HealthCheckRequest(), timeout=3.0)
        assert ok.status == health_pb2.HealthCheckResponse.SERVING


def test_mtls_requires_client_cert(start_server, certs_dir) -> None:
    server = start_server(mtls=True)
    with client_for(server, certs_dir, mtls=False) as client:
        with pytest.raises(grpc.RpcError) as err:
            client.make_plan(request(goals=fixtures.goals(("at", "red_mug", "bin"))), 3.0)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE  # TLS handshake refused
    with client_for(server, certs_dir, mtls=True) as client:
        resp, _, _ = client.make_plan(request(goals=fixtures.goals(("at", "red_mug", "bin"))), 5.0)
        assert resp.outcome == Outcome.PLANNED


def test_plaintext_client_rejected_by_tls_server(start_server, certs_dir) -> None:
    server = start_server()
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = planner_pb2_grpc.PlannerServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.MakePlan(request(goals=fixtures.goals(("at", "red_mug", "bin"))), timeout=3.0,
                          metadata=(("authorization", f"Bearer {TOKEN}"),))
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_untrusted_server_cert_rejected(start_server, tmp_path) -> None:
    server = start_server()
    other_ca = certs.create_dev_certs(tmp_path / "other").folder
    with client_for(server, other_ca) as client:
        with pytest.raises(grpc.RpcError) as err:
            client.make_plan(request(goals=fixtures.goals(("at", "red_mug", "bin"))), 3.0)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("mutate,field", [
    (lambda r: r.ClearField("world"), "world"),
    (lambda r: r.goals.goals.add(predicate="at", arguments=["unicorn", "bin"]), "goals.goals[1].arguments[0]"),
    (lambda r: r.capabilities.add(name="fly", parameters=["wings:feathers"]), "capabilities[6].parameters[0]"),
    (lambda r: r.goals.goals.add(predicate="teleported", arguments=["red_mug"]), "goals.goals[1].predicate"),
    (lambda r: r.ClearField("capabilities"), "capabilities"),
])
def test_malformed_requests_invalid_argument(start_server, certs_dir, mutate, field) -> None:
    server = start_server()
    with client_for(server, certs_dir) as client:
        req = request(goals=fixtures.goals(("at", "red_mug", "bin")))
        mutate(req)
        with pytest.raises(grpc.RpcError) as err:
            client.make_plan(req, 3.0)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in bad_request_fields(err.value)


def test_replan_with_unknown_skill_invalid(start_server, certs_dir) -> None:
    server = start_server()
    with client_for(server, certs_dir) as client:
        rq = planner_pb2.ReplanRequest(request_id="rp", original=request(goals=fixtures.goals(("at", "red_mug", "bin"))),
                                       world=fixtures.demo_world(5))
        rq.executed.steps.add(skill="juggle", arm_group="right_arm")
        with pytest.raises(grpc.RpcError) as err:
            client.replan(rq, 3.0)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "executed.steps[0].skill" in bad_request_fields(err.value)


def test_oversized_requests(start_server, certs_dir) -> None:
    server = start_server(max_message_bytes=256 * 1024)
    with client_for(server, certs_dir) as client:
        big = request(goals=fixtures.goals(("at", "red_mug", "bin")))
        big.world.objects[0].attributes["blob"] = "x" * (300 * 1024)
        with pytest.raises(grpc.RpcError) as err:
            client.make_plan(big, 3.0)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        print(f"\noversized: {err.value.details()}")
        long_nl = request(instruction="put the mug in the bin " * 100)
        with pytest.raises(grpc.RpcError) as err:
            client.make_plan(long_nl, 3.0)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "instruction" in bad_request_fields(err.value)


def test_fallback_to_local_when_cloud_dies_and_back(start_server, certs_dir) -> None:
    server = start_server()
    port = server.port
    client = client_for(server, certs_dir)
    goals = fixtures.goals(("at", "red_mug", "bin"), ("at", "blue_cube", "shelf"))
    try:
        assert client.plan(request(goals=goals), deadline_s=5.0).mode == "cloud"
        server.stop(0)
        deadline = 1.0
        t0 = time.perf_counter()
        out = client.plan(request(goals=goals), deadline_s=deadline)
        took = time.perf_counter() - t0
        print(f"\nfallback to local answered in {took * 1e3:.1f} ms (deadline {deadline * 1e3:.0f} ms, "
              f"{out.attempts} cloud attempts, {out.cloud_error})")
        assert out.mode == "local" and out.response.outcome == Outcome.PLANNED
        assert took <= deadline + 1.0
        assert not client.link_up
        with pytest.raises(CloudUnavailable, match="need structured goals"):
            client.plan(request(instruction="put the red mug in the bin"), deadline_s=deadline)
        # The cloud comes back on the same port: the next call goes to the cloud again.
        revived = start_server_on(port, certs_dir)
        try:
            out = None
            for _ in range(20):
                out = client.plan(request(goals=goals), deadline_s=2.0)
                if out.mode == "cloud":
                    break
                time.sleep(0.1)
            assert out is not None and out.mode == "cloud" and client.link_up
        finally:
            revived.stop(0)
    finally:
        client.close()


def start_server_on(port: int, certs_dir) -> BrainServer:
    cfg = ServerConfig(listen=f"127.0.0.1:{port}", certs_dir=certs_dir, token=TOKEN)
    return BrainServer(cfg).start()


def test_hung_cloud_misses_deadline_then_local(certs_dir) -> None:
    """A server that accepts but never answers: the per-call deadline triggers the fallback."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        cfg = ClientConfig.from_certs_dir(f"127.0.0.1:{sock.getsockname()[1]}", certs_dir, TOKEN)
        with PlannerClient(cfg) as client:
            t0 = time.perf_counter()
            out = client.plan(request(goals=fixtures.goals(("at", "red_mug", "bin"))), deadline_s=1.0)
            took = time.perf_counter() - t0
            print(f"\nhung cloud -> local in {took * 1e3:.1f} ms")
            assert out.mode == "local" and out.response.outcome == Outcome.PLANNED
            assert took <= 2.0
    finally:
        sock.close()


def test_insecure_needs_explicit_flag_and_local_planner_has_no_torch(certs_dir) -> None:
    with pytest.raises(security.SecurityError):
        BrainServer(ServerConfig(listen="127.0.0.1:0", certs_dir=None, token=TOKEN))
    code = ("import sys; import robot_control.bridge.planner_client, robot_control.bridge.local_planner; "
            "sys.exit(1 if 'torch' in sys.modules or 'sentence_transformers' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
