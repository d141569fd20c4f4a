"""TEST DOUBLE of the edge SkillService for the bridge's tests (never shipped as the product).

`FakeSkillService` is a real gRPC servicer (ListSkills + server-streaming Execute) over a
kinematic `FakeWorld` tabletop (G1 layout: table top 0.72 m, a 0.16 x 0.20 bin at
(0.42, 0), red_cube and green_can). Execute streams ACCEPTED, RUNNING with skill-specific
sub-phases and progress, then a terminal phase; it checks each call against the fake world
(e.g. no lift without a grasp) and moves objects like the skills would. Tests can make
calls fail (`fail_when`), stop them at a gate until released (`gate_when`), and see whether
the bridge cancelled a call (`canceled`).

The tests at the bottom check the double itself through the product's `SkillClient`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import pytest

from robot_control.brain import fixtures, security
from robot_control.bridge.edge_client import EdgeConfig, SkillClient
from robot_control.bridge.world import ObjectObservation
from robot_control.v1 import common_pb2, skill_pb2, skill_pb2_grpc

Phase = skill_pb2.SkillProgress.Phase
TABLE_TOP = 0.72
BIN_XY = (0.42, 0.0)
BIN_SIZE = (0.16, 0.20, 0.04)
OBJECTS = {  # name -> (table xy, size)
    "red_cube": ((0.34, -0.20), (0.05, 0.05, 0.05)),
    "green_can": ((0.34, 0.20), (0.052, 0.052, 0.12)),
}
SUB_PHASES = {
    "reach": ("approach", "align"), "grasp": ("open", "close"), "lift": ("raise",),
    "transport": ("move",), "place": ("lower",), "release": ("open", "retreat"),
}


class FakeWorld:
    """Kinematic tabletop: where objects are and what each arm grasps / holds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.pos = {n: (xy[0], xy[1], TABLE_TOP + size[2] / 2) for n, (xy, size) in OBJECTS.items()}
            self.grasped: dict[str, str] = {}  # arm -> object
            self.lifted: set[str] = set()
            self.in_bin: list[str] = []

    def observations(self) -> list[ObjectObservation]:
        with self.lock:
            out = [ObjectObservation(n, self.pos[n], size=OBJECTS[n][1]) for n in sorted(self.pos)]
        out.append(ObjectObservation("bin", (BIN_XY[0], BIN_XY[1], TABLE_TOP), size=BIN_SIZE))
        return out

    def location(self, name: str) -> str:
        with self.lock:
            return "bin" if name in self.in_bin else "table"

    def check(self, skill: str, args: dict[str, str]) -> str:
        """'' when the skill can run now, else why not (the double's physics)."""
        arm, obj = args.get("arm", ""), args.get("object", "")
        with self.lock:
            if obj not in self.pos:
                return f"no object {obj!r}"
            held = self.grasped.get(arm)
            if skill in ("reach", "grasp") and held:
                return f"{arm} already holds {held}"
            if skill == "grasp" and obj in self.grasped.values():
                return f"{obj} is in another hand"
            if skill in ("lift", "transport", "place") and held != obj:
                return f"{arm} does not hold {obj}"
            if skill == "release" and held not in (obj, None):  # an empty hand opens and backs off
                return f"{arm} holds {held}, not {obj}"
            if skill in ("transport", "place") and obj not in self.lifted:
                return f"{obj} is not lifted"
        return ""

    def apply(self, skill: str, args: dict[str, str]) -> None:
        arm, obj = args.get("arm", ""), args.get("object", "")
        with self.lock:
            x, y, z = self.pos[obj]
            size = OBJECTS[obj][1]
            if skill == "grasp":
                self.grasped[arm] = obj
            elif skill == "lift":
                self.lifted.add(obj)
                if obj in self.in_bin:
                    self.in_bin.remove(obj)
                self.pos[obj] = (x, y, z + 0.10)
            elif skill == "transport":
                to = args.get("to", "")
                tx, ty = BIN_XY if to == "bin" else OBJECTS[obj][0]
                self.pos[obj] = (tx, ty, TABLE_TOP + BIN_SIZE[2] + 0.03 + size[2] / 2)
            elif skill == "place":
                self.lifted.discard(obj)
                if args.get("to") == "bin":
                    slot = len(self.in_bin)
                    self.in_bin.append(obj)
                    self.pos[obj] = (BIN_XY[0], BIN_XY[1] + (-0.04 if slot % 2 == 0 else 0.04),
                                     TABLE_TOP + 0.005 + size[2] / 2)
                else:
                    tx, ty = OBJECTS[obj][0]
                    self.pos[obj] = (tx, ty, TABLE_TOP + size[2] / 2)
            elif skill == "release":
                self.grasped.pop(arm, None)

    def holding(self) -> dict[str, str]:
        with self.lock:
            return {a: o for a, o in self.grasped.items() if o in self.lifted}

    def push_to(self, sink: Callable[[list[ObjectObservation]], None], rate_hz: float = 20.0) -> Callable[[], None]:
        """Feed observations to `sink` at `rate_hz` from a thread, like a body; returns stop()."""
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                sink(self.observations())
                stop.wait(1.0 / rate_hz)

        thread = threading.Thread(target=run, daemon=True, name="fake-world")
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(2.0)

        return halt


@dataclass
class Rule:
    match: Callable[[skill_pb2.ExecuteSkillRequest], bool]
    times: int = 1  # how many matching calls it applies to (-1: all)
    phase: int = Phase.FAILED
    message: str = "injected failure"
    effects: bool = False  # the skill did its job, then a check failed it (e.g. a release's object_moved)
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    hits: int = 0


def step_is(skill: str, obj: str | None = None, task: str | None = None):
    """Matcher for `fail_when` / `gate_when`: skill name, optionally object and task id prefix."""
    def match(req: skill_pb2.ExecuteSkillRequest) -> bool:
        args = {a.name: a.symbol for a in req.arguments}
        return (req.skill == skill and (obj is None or args.get("object") == obj)
                and (task is None or req.request_id.startswith(f"{task}/")))
    return match


class FakeSkillService(skill_pb2_grpc.SkillServiceServicer):
    """TEST DOUBLE: streams realistic progress over `FakeWorld`; can fail or hold steps."""

    def __init__(self, world: FakeWorld | None = None, *, ticks: int = 4, tick_s: float = 0.01,
                 report_world: bool = True, arms: tuple[str, ...] = ("left_arm", "right_arm")) -> None:
        """`arms`: the arm groups this edge serves; `report_world`: final messages carry a WorldState."""
        self.world = world or FakeWorld()
        self.ticks = ticks
        self.tick_s = tick_s
        self.report_world = report_world
        self.arms = arms
        self.contracts = fixtures.standard_contracts()
        self.calls: list[skill_pb2.ExecuteSkillRequest] = []
        self.canceled: list[str] = []  # request ids the client cancelled (the robot then holds)
        self.failures: list[Rule] = []
        self.gates: list[Rule] = []
        self.lock = threading.Lock()

    # -- test controls -----------------------------------------------------------------------

    def fail_when(self, match, times: int = 1, phase: int = Phase.FAILED, message: str = "injected failure",
                  effects: bool = False) -> Rule:
        rule = Rule(match, times, phase, message, effects)
        self.failures.append(rule)
        return rule

    def gate_when(self, match, times: int = 1) -> Rule:
        """Matching calls stop after ACCEPTED until `rule.release` is set; `rule.reached` is set then."""
        rule = Rule(match, times)
        self.gates.append(rule)
        return rule

    def executed(self) -> list[str]:
        with self.lock:
            return [f"{c.skill}({','.join(a.symbol for a in c.arguments)})" for c in self.calls]

    @staticmethod
    def _take(rules: list[Rule], req) -> Rule | None:
        for rule in rules:
            if (rule.times < 0 or rule.hits < rule.times) and rule.match(req):
                rule.hits += 1
                return rule
        return None

    # -- service -----------------------------------------------------------------------------

    def ListSkills(self, request, context):
        if request.embodiment not in ("", "g1", *self.arms):  # selects by robot or arm group, like the edge
            return skill_pb2.ListSkillsResponse()
        return skill_pb2.ListSkillsResponse(skills=self.contracts)

    def Execute(self, request, context):
        t0 = time.perf_counter()
        if request.arm_group not in self.arms:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unknown arm group {request.arm_group!r}")
        with self.lock:
            self.calls.append(request)
            gate = self._take(self.gates, request)
            failure = self._take(self.failures, request)

        def progress(phase: int, p: float = 0.0, sub: str = "", message: str = "") -> skill_pb2.SkillProgress:
            msg = skill_pb2.SkillProgress(request_id=request.request_id, skill=request.skill, phase=phase,
                                          sub_phase=sub, progress=p, elapsed_s=time.perf_counter() - t0,
                                          message=message)
            msg.server_timing.total_s = time.perf_counter() - t0
            return msg

        def canceled() -> bool:
            if context.is_active():
                return False
            with self.lock:
                self.canceled.append(request.request_id)  # the edge would now hold the robot
            return True

        yield progress(Phase.ACCEPTED)
        if gate is not None:
            gate.reached.set()
            while not gate.release.wait(0.01):
                if canceled():
                    return
        args = {a.name: a.symbol for a in request.arguments}
        problem = self.world.check(request.skill, args)
        subs = SUB_PHASES.get(request.skill, ("run",))
        for i in range(self.ticks):
            if canceled():
                return
            p = (i + 1) / (self.ticks + 1)
            if failure is not None and p >= 0.5:
                if failure.effects and not problem:
                    self.world.apply(request.skill, args)
                yield self._final(progress(failure.phase, p, subs[-1], failure.message))
                return
            if problem and p >= 0.5:
                yield self._final(progress(Phase.FAILED, p, subs[-1], problem))
                return
            yield progress(Phase.RUNNING, p, subs[min(i * len(subs) // self.ticks, len(subs) - 1)])
            time.sleep(self.tick_s)
        if canceled():
            return
        self.world.apply(request.skill, args)
        yield self._final(progress(Phase.SUCCEEDED, 1.0, subs[-1]))

    def _final(self, msg: skill_pb2.SkillProgress) -> skill_pb2.SkillProgress:
        if self.report_world:
            msg.world.CopyFrom(common_pb2.WorldState(robot="g1", arm_groups=list(self.arms),
                                                     holding=self.world.holding()))
        return msg


def start_edge(service: FakeSkillService) -> tuple[grpc.Server, int]:
    # The keepalive settings the bridge's client expects from a server (as the real edge uses).
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="fake-edge"),
                         options=security.SERVER_OPTIONS)
    skill_pb2_grpc.add_SkillServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


# -- tests of the double (through the product's SkillClient) ---------------------------------

pytestmark = pytest.mark.unit


@pytest.fixture
def edge():
    service = FakeSkillService()
    server, port = start_edge(service)
    client = SkillClient(EdgeConfig(target=f"127.0.0.1:{port}", step_timeout_margin_s=5.0))
    yield service, client
    client.close()
    server.stop(0)


def _request(skill: str, obj: str = "red_cube", arm: str = "right_arm", **extra: str):
    req = skill_pb2.ExecuteSkillRequest(request_id=f"t/0/{skill}", skill=skill, arm_group=arm, timeout_s=5.0)
    req.arguments.add(name="arm", symbol=arm)
    req.arguments.add(name="object", symbol=obj)
    for k, v in extra.items():
        req.arguments.add(name=k, symbol=v)
    return req


def test_double_streams_progress_and_checks_physics(edge) -> None:
    service, client = edge
    seen: list[skill_pb2.SkillProgress] = []
    result = client.execute(_request("reach"), on_progress=seen.append)
    assert result.ok and result.first_progress_s is not None and result.first_progress_s <= result.duration_s
    phases = [Phase.Name(m.phase) for m in seen]
    assert phases[0] == "ACCEPTED" and phases[-1] == "SUCCEEDED" and "RUNNING" in phases
    assert {m.sub_phase for m in seen} >= {"approach", "align"}
    lift = client.execute(_request("lift", **{"from": "table"}))
    assert lift.phase == Phase.FAILED and "does not hold" in lift.message and lift.skill_failure


def test_double_injected_failure_and_cancel(edge) -> None:
    service, client = edge
    service.fail_when(step_is("reach"), phase=Phase.TIMED_OUT, message="too slow")
    result = client.execute(_request("reach"))
    assert result.phase == Phase.TIMED_OUT and result.message == "too slow"
    assert client.execute(_request("reach")).ok  # the rule applied once
    gate = service.gate_when(step_is("grasp"))
    out: list = []
    flag = threading.Event()
    thread = threading.Thread(target=lambda: out.append(client.execute(_request("grasp"), is_canceled=flag.is_set)))
    thread.start()
    assert gate.reached.wait(10.0)
    flag.set()  # as TaskExecutor.cancel: the flag covers a call not registered yet ...
    client.cancel_active()  # ... and this cancels a registered one
    thread.join(10.0)
    assert out and out[0].canceled and not out[0].ok
    deadline = time.monotonic() + 10.0
    while not service.canceled and time.monotonic() < deadline:
        time.sleep(0.01)
    assert service.canceled == ["t/0/grasp"]
