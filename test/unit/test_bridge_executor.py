"""TaskExecutor over real gRPC to in-process servers: the brain (TLS + token) and the edge double."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from test_bridge_edge_double import FakeSkillService, FakeWorld, Phase, start_edge, step_is

from robot_control.brain import certs
from robot_control.brain.server import BrainServer, ServerConfig
from robot_control.brain.service import Interpretation
from robot_control.bridge.edge_client import EdgeConfig, SkillClient
from robot_control.bridge.executor import ExecutorConfig, TaskExecutor
from robot_control.bridge.planner_client import ClientConfig, LocalOnlyPlanner, PlannerClient
from robot_control.bridge.tasks import TaskSpec, TaskState, TaskStatus
from robot_control.bridge.world import HoldingTracker, WorldConfig, WorldModel
from robot_control.testing import wait_for
from robot_control.v1 import planner_pb2

pytestmark = pytest.mark.unit
TOKEN = "unit-token-" + "z" * 24
INSTRUCTION = "put the red cube and the green can in the bin"
TWO_GOALS = (("at", "red_cube", "bin"), ("at", "green_can", "bin"))


def interpret(instruction: str, world) -> Interpretation:
    """A tiny stand-in for the brain's language model: "put the A and the B in the L"."""
    m = re.fullmatch(r"put the (.+) in the (\w+)", instruction)
    if not m:
        return Interpretation("refuse", message="unsupported")
    names = [n.strip().replace(" ", "_") for n in m.group(1).split(" and the ")]
    return Interpretation("goals", goals=[("at", n, m.group(2)) for n in names])


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory):
    return certs.create_dev_certs(tmp_path_factory.mktemp("certs")).folder


def start_brain(certs_dir, port: int = 0) -> BrainServer:
    cfg = ServerConfig(listen=f"127.0.0.1:{port}", certs_dir=certs_dir, token=TOKEN, workers=4)
    return BrainServer(cfg, interpret=interpret).start()


@dataclass
class Rig:
    executor: TaskExecutor
    edge: FakeSkillService
    world: FakeWorld
    brain: BrainServer | None
    planner: object
    stop_world: object
    statuses: list[TaskStatus] = field(default_factory=list)

    def states(self, task_id: str) -> list[str]:
        out: list[str] = []
        for s in self.statuses:
            if s.task_id == task_id and (not out or out[-1] != s.state.value):
                out.append(s.state.value)
        return out

    def run_in_thread(self, spec: TaskSpec) -> tuple[threading.Thread, list[TaskStatus]]:
        result: list[TaskStatus] = []
        thread = threading.Thread(target=lambda: result.append(self.executor.run(spec)), daemon=True)
        thread.start()
        return thread, result


@pytest.fixture
def rig(certs_dir, request) -> Iterator[Rig]:
    opts = getattr(request, "param", {})
    world = FakeWorld()
    edge = FakeSkillService(world, arms=opts.get("arms", ("left_arm", "right_arm")))
    edge_server, edge_port = start_edge(edge)
    brain = None if opts.get("local_only") else start_brain(certs_dir)
    if brain is None:
        planner = LocalOnlyPlanner()
    else:
        planner = PlannerClient(ClientConfig.from_certs_dir(f"127.0.0.1:{brain.port}", certs_dir, TOKEN,
                                                            deadline_s=5.0))
    model = WorldModel(WorldConfig(robot="g1", arm_groups=("left_arm", "right_arm"), support_min_z=0.5))
    stop_world = world.push_to(model.update, rate_hz=50.0)
    skills = SkillClient(EdgeConfig(target=f"127.0.0.1:{edge_port}", step_timeout_margin_s=5.0))
    statuses: list[TaskStatus] = []
    executor = TaskExecutor(planner, skills, model, HoldingTracker(),
                            ExecutorConfig(plan_deadline_s=5.0, replan_deadline_s=3.0, max_replans=2,
                                           world_wait_s=2.0, progress_period_s=0.0),
                            on_status=statuses.append)
    yield Rig(executor, edge, world, brain, planner, stop_world, statuses)
    executor.cancel()
    stop_world()
    skills.close()
    planner.close()
    edge_server.stop(0)
    if brain is not None:
        brain.stop(0)


def test_nl_task_succeeds_on_cloud(rig: Rig) -> None:
    final = rig.executor.run(TaskSpec("t1", instruction=INSTRUCTION))
    assert final.state is TaskState.SUCCEEDED, final.message
    assert rig.states("t1") == ["ACCEPTED", "PLANNING", "EXECUTING", "SUCCEEDED"]
    assert final.planner_mode == "cloud" and final.steps == 12 and final.replans == 0
    assert set(final.goals.split()) == {"at(red_cube,bin)", "at(green_can,bin)"}
    assert len(rig.edge.calls) == 12 and rig.world.location("red_cube") == rig.world.location("green_can") == "bin"
    for obj in ("red_cube", "green_can"):
        chain = [c.skill for c in rig.edge.calls if any(a.symbol == obj for a in c.arguments)]
        assert chain == ["reach", "grasp", "lift", "transport", "place", "release"]
    running = [s for s in rig.statuses if s.skill_phase == "RUNNING"]
    assert running and all(s.sub_phase for s in running) and any(0 < s.progress < 1 for s in running)
    assert rig.executor.holding.snapshot() == {}
    m = rig.executor.metrics
    assert m.brain_round_trip_s and m.brain_server_s and m.brain_transport_s is not None and "nl" in m.brain_stages_s
    assert m.edge_first_progress_s is not None and m.edge_first_progress_s <= m.edge_step_s
    print(f"\ncloud plan rtt {m.brain_round_trip_s * 1e3:.1f} ms (server {m.brain_server_s * 1e3:.1f} ms, "
          f"transport {m.brain_transport_s * 1e3:.1f} ms); edge first progress "
          f"{m.edge_first_progress_s * 1e3:.2f} ms")


@pytest.mark.parametrize("rig", [{"arms": ("right_arm",)}], indirect=True)
def test_failed_step_replans_on_cloud(rig: Rig) -> None:
    """A one-armed edge: the bridge plans with the arms the edge serves only."""
    rig.edge.fail_when(step_is("lift", "green_can"), message="object slipped")
    final = rig.executor.run(TaskSpec("t2", instruction=INSTRUCTION))
    assert final.state is TaskState.SUCCEEDED, final.message
    assert final.replans == 1 and final.planner_mode == "cloud"
    assert "PLANNING" in rig.states("t2")[2:]  # planning again after executing
    assert [c.skill for c in rig.edge.calls].count("lift") == 3
    # The failed lift left the can grasped on the table, which a WorldState cannot express:
    # the bridge lets go (the contract's un-grasp skill) before it replans.
    assert any(c.skill == "release" and "/recover-" in c.request_id for c in rig.edge.calls)
    assert {c.arm_group for c in rig.edge.calls} == {"right_arm"}
    assert rig.world.location("green_can") == "bin" and rig.executor.holding.snapshot() == {}
    assert any("lift FAILED: object slipped" in s.message for s in rig.statuses)


def test_cloud_lost_mid_task_local_fallback_then_back(rig: Rig, certs_dir) -> None:
    seventh = lambda req: req.request_id == "t3/0/6"  # noqa: E731 - the 7th of 12 steps
    gate = rig.edge.gate_when(seventh)
    rig.edge.fail_when(seventh, message="lost sight of the object")
    thread, result = rig.run_in_thread(TaskSpec("t3", instruction=INSTRUCTION))
    assert gate.reached.wait(30.0)
    port = rig.brain.port
    rig.brain.stop(0)  # the cloud dies mid-task
    gate.release.set()
    thread.join(60.0)
    final = result[0]
    assert final.state is TaskState.SUCCEEDED, final.message
    assert final.planner_mode == "local" and final.replans == 1
    assert not rig.planner.link_up and rig.executor.metrics.local_plans == 1
    assert rig.world.location("red_cube") == rig.world.location("green_can") == "bin"
    print(f"\nfallback: cloud attempt + local plan {rig.executor.metrics.fallback_s * 1e3:.1f} ms "
          f"(local planning {rig.executor.metrics.local_plan_s * 1e3:.1f} ms)")
    # Without the cloud an instruction cannot be understood: a clear failure, not a guess.
    rig.world.reset()
    nl = rig.executor.run(TaskSpec("t4", instruction=INSTRUCTION))
    assert nl.state is TaskState.FAILED and "need structured goals" in nl.message
    goals = rig.executor.run(TaskSpec("t5", goals=TWO_GOALS))
    assert goals.state is TaskState.SUCCEEDED and goals.planner_mode == "local"
    # The cloud returns: the monitor sees it and the next task plans there again.
    rig.brain = start_brain(certs_dir, port)
    wait_for(lambda: rig.planner.check_link(1.0), 20.0, what="the link to come back")
    rig.world.reset()
    back = rig.executor.run(TaskSpec("t6", instruction=INSTRUCTION))
    assert back.state is TaskState.SUCCEEDED and back.planner_mode == "cloud"


def test_cancel_cancels_the_inflight_skill(rig: Rig) -> None:
    gate = rig.edge.gate_when(step_is("grasp"))
    thread, result = rig.run_in_thread(TaskSpec("t7", goals=TWO_GOALS[:1]))
    assert gate.reached.wait(30.0)
    assert rig.executor.active is not None and rig.executor.active.current_step.startswith("grasp(")
    assert rig.executor.cancel()
    thread.join(30.0)
    final = result[0]
    assert final.state is TaskState.CANCELED and "edge holds the robot" in final.message
    wait_for(lambda: bool(rig.edge.canceled), 10.0, what="the edge to see the cancellation")
    assert rig.edge.canceled == [rig.edge.calls[-1].request_id]
    assert rig.executor.active is None and not rig.executor.cancel()


def test_cancel_between_accept_and_run(rig: Rig) -> None:
    spec = TaskSpec("t18", goals=TWO_GOALS[:1])
    rig.executor.accept(spec)
    assert rig.executor.active.task_id == "t18" and rig.executor.cancel()
    final = rig.executor.run(spec)
    assert final.state is TaskState.CANCELED and not rig.edge.calls
    assert rig.states("t18") == ["ACCEPTED", "CANCELED"]


def test_replans_are_bounded(rig: Rig) -> None:
    rig.edge.fail_when(step_is("grasp"), times=-1, phase=Phase.TIMED_OUT, message="no contact")
    final = rig.executor.run(TaskSpec("t8", goals=TWO_GOALS[:1]))
    assert final.state is TaskState.FAILED and "gave up after 2 replans" in final.message
    assert [c.skill for c in rig.edge.calls].count("grasp") == 3
    assert rig.executor.metrics.replans == 2


def test_goal_not_observed_after_plan_replans(rig: Rig) -> None:
    apply = rig.world.apply
    slipped = []

    def apply_and_slip(skill: str, args: dict[str, str]) -> None:
        apply(skill, args)
        if skill == "release" and not slipped:  # the cube bounces out of the bin
            slipped.append(args["object"])
            with rig.world.lock:
                rig.world.in_bin.remove(args["object"])
                rig.world.pos[args["object"]] = (0.30, -0.25, 0.745)

    rig.world.apply = apply_and_slip
    final = rig.executor.run(TaskSpec("t9", goals=TWO_GOALS[:1]))
    assert final.state is TaskState.SUCCEEDED, final.message
    assert final.replans == 1 and len(rig.edge.calls) == 12
    assert any("goals not observed: at(red_cube,bin) (red_cube is at table)" in s.message for s in rig.statuses)


def test_object_dropped_in_transport_is_picked_up_again(rig: Rig) -> None:
    """The edge's final world says the hand lost the cube: the replan starts from the table
    instead of transporting an object the arm no longer holds."""
    gate = rig.edge.gate_when(step_is("transport", "red_cube"))
    thread, result = rig.run_in_thread(TaskSpec("t18", goals=TWO_GOALS[:1]))
    assert gate.reached.wait(10.0)
    with rig.world.lock:  # the cube slips out of the hand onto the table
        rig.world.lifted.discard("red_cube")
        rig.world.grasped.pop("right_arm", None)
        rig.world.pos["red_cube"] = (0.30, -0.25, 0.745)
    gate.release.set()
    thread.join(20.0)
    final = result[0]
    assert final.state is TaskState.SUCCEEDED, final.message
    assert final.replans == 1
    after = rig.edge.executed()[rig.edge.executed().index("transport(right_arm,red_cube,bin)") + 1:]
    assert [c.split("(")[0] for c in after] == ["reach", "grasp", "lift", "transport", "place", "release"], after
    assert rig.world.location("red_cube") == "bin" and rig.executor.holding.snapshot() == {}


def test_replans_once_the_knocked_object_stops_sliding(rig: Rig) -> None:
    """A failed grasp knocks the cube, which slides for 0.8 s: the replan waits for the scene to
    come to rest instead of planning a reach to where the cube was a moment ago."""
    gate = rig.edge.gate_when(step_is("grasp", "red_cube"))
    rig.edge.fail_when(step_is("grasp", "red_cube"), message="object_moved: knocked")
    stopped: list[float] = []
    reaches: list[float] = []
    check = rig.world.check

    def timed_check(skill: str, args: dict[str, str]) -> str:
        if skill == "reach":
            reaches.append(time.monotonic())
        return check(skill, args)

    def slide() -> None:
        for _ in range(16):
            with rig.world.lock:
                x, y, z = rig.world.pos["red_cube"]
                rig.world.pos["red_cube"] = (x + 0.01, y, z)
            time.sleep(0.05)
        stopped.append(time.monotonic())

    rig.world.check = timed_check
    thread, result = rig.run_in_thread(TaskSpec("t20", goals=TWO_GOALS[:1]))
    assert gate.reached.wait(10.0)
    threading.Thread(target=slide, daemon=True).start()
    gate.release.set()
    thread.join(20.0)
    final = result[0]
    assert final.state is TaskState.SUCCEEDED and final.replans == 1, final.message
    assert len(reaches) == 2 and stopped and reaches[1] >= stopped[0], (reaches, stopped)


def test_stale_holding_belief_is_dropped_before_planning(rig: Rig) -> None:
    """A belief left by an earlier task (the scene was reset since): the cube rests on the
    table, so the plan picks it up rather than transporting it from an empty hand."""
    contracts = {c.name: c for c in rig.edge.contracts}
    for skill in ("grasp", "lift"):
        call = planner_pb2.SkillCall(skill=skill, arm_group="right_arm")
        for k, v in (("arm", "right_arm"), ("object", "red_cube"), ("from", "table")):
            call.arguments.add(name=k, symbol=v)
        rig.executor.holding.apply(contracts[skill], call)
    assert rig.executor.holding.snapshot() == {"right_arm": "red_cube"}
    final = rig.executor.run(TaskSpec("t19", goals=TWO_GOALS[:1]))
    assert final.state is TaskState.SUCCEEDED, final.message
    assert final.replans == 0 and rig.edge.executed()[0].startswith("reach(")


def test_broken_edge_calls_abort(rig: Rig) -> None:
    rig.edge.fail_when(step_is("reach"), phase=Phase.PREEMPTED, message="arm taken by teleop")
    final = rig.executor.run(TaskSpec("t10", goals=TWO_GOALS[:1]))
    assert final.state is TaskState.ABORTED and "PREEMPTED" in final.message
    dead = SkillClient(EdgeConfig(target="127.0.0.1:1", call_timeout_s=1.0))
    try:
        rig.executor.skills = dead
        final = rig.executor.run(TaskSpec("t11", goals=TWO_GOALS[:1]))
        assert final.state is TaskState.ABORTED and "edge skill server unreachable" in final.message
    finally:
        dead.close()


def test_no_fresh_world_aborts(rig: Rig) -> None:
    rig.stop_world()  # /objects goes quiet: the last observation is stale
    final = rig.executor.run(TaskSpec("t17", goals=TWO_GOALS[:1]))
    assert final.state is TaskState.ABORTED and "no fresh world state" in final.message and not rig.edge.calls


def test_refused_and_unknown_goals_fail(rig: Rig) -> None:
    refused = rig.executor.run(TaskSpec("t12", instruction="make me a coffee"))
    assert refused.state is TaskState.FAILED and "refused" in refused.message
    bad = rig.executor.run(TaskSpec("t13", goals=(("at", "unicorn", "bin"),)))
    assert bad.state is TaskState.FAILED and "unicorn" in bad.message
    done = rig.executor.run(TaskSpec("t14", goals=(("at", "red_cube", "table"),)))
    assert done.state is TaskState.SUCCEEDED and not rig.edge.calls


@pytest.mark.parametrize("rig", [{"local_only": True}], indirect=True)
def test_local_only_planner(rig: Rig) -> None:
    final = rig.executor.run(TaskSpec("t15", goals=TWO_GOALS))
    assert final.state is TaskState.SUCCEEDED and final.planner_mode == "local" and final.level == "OK"
    assert any(s.level == "WARN" for s in rig.statuses if s.state is TaskState.EXECUTING)
    nl = rig.executor.run(TaskSpec("t16", instruction=INSTRUCTION))
    assert nl.state is TaskState.FAILED and "structured goals" in nl.message


def _is_recovery(req) -> bool:
    return req.skill == "release" and "/recover-" in req.request_id


@pytest.mark.parametrize("rig", [{"arms": ("right_arm",)}], indirect=True)
def test_failed_recovery_release_is_tried_again_from_rest(rig: Rig) -> None:
    """CI: a G1 recovery release nudged the cube (object_moved) and the task was ABORTED; one more
    try from where things came to rest lets go, and the task goes on."""
    rig.edge.fail_when(step_is("lift", "green_can"), message="object slipped")
    rig.edge.fail_when(_is_recovery, message="failure check object_moved(tolerance=0.03) fired")
    final = rig.executor.run(TaskSpec("t-rec", instruction=INSTRUCTION))
    assert final.state is TaskState.SUCCEEDED, final.message
    recoveries = [c.request_id for c in rig.edge.calls if _is_recovery(c)]
    assert len(recoveries) == 2 and recoveries[1].endswith("-2"), recoveries
    assert rig.world.location("green_can") == "bin" and rig.executor.holding.snapshot() == {}


@pytest.mark.parametrize("rig", [{"arms": ("right_arm",)}], indirect=True)
def test_failed_grasp_lets_go_before_replanning(rig: Rig) -> None:
    """Live G1: a grasp of the can timed out with the Dex3 half closed on it, the replan's reach
    went straight up and dragged the can over. A grasp that does not succeed is followed by the
    un-grasp skill (open, back off), then the replan."""
    rig.edge.fail_when(step_is("grasp", "green_can"), phase=Phase.TIMED_OUT, message="no success after 4.80 s")
    final = rig.executor.run(TaskSpec("t-grasp", instruction=INSTRUCTION))
    assert final.state is TaskState.SUCCEEDED and final.replans == 1, final.message
    done = rig.edge.executed()
    failed = done.index("grasp(right_arm,green_can)")
    assert _is_recovery(rig.edge.calls[failed + 1]) and done[failed + 1] == "release(right_arm,green_can)", done
    assert done[failed + 2] == "reach(right_arm,green_can)", done
    assert rig.world.location("green_can") == "bin" and rig.executor.holding.snapshot() == {}


@pytest.mark.parametrize("rig", [{"arms": ("right_arm",)}], indirect=True)
def test_recovery_release_replans_after_its_attempts(rig: Rig) -> None:
    """Live G1: the recovery release failed twice (the pushed can tipped as the hand opened) and
    the task aborted. After its attempts the hand has let go as far as it could: replan."""
    rig.edge.fail_when(step_is("lift", "green_can"), message="object slipped")
    rig.edge.fail_when(_is_recovery, times=2, message="failure check object_moved(tolerance=0.03) fired",
                       effects=True)  # the hand opened; the object moved as it did
    final = rig.executor.run(TaskSpec("t-rec2", instruction=INSTRUCTION))
    assert final.state is TaskState.SUCCEEDED and final.replans == 1, final.message
    assert sum(_is_recovery(c) for c in rig.edge.calls) == 2
    done = rig.edge.executed()
    assert done.count("reach(right_arm,green_can)") == 2 and done.count("lift(right_arm,green_can,table)") == 2, done
    assert rig.world.location("green_can") == "bin" and rig.executor.holding.snapshot() == {}
    assert any("replanning from what is observed" in s.message for s in rig.statuses), \
        [s.message for s in rig.statuses]


@pytest.mark.parametrize("bad", [{"recovery_attempts": 0}, {"max_replans": -1}, {"plan_deadline_s": 0.0},
                                 {"settle_timeout_s": float("nan")}, {"world_wait_s": float("inf")}])
def test_executor_config_rejects_bad_values(bad: dict) -> None:
    name = next(iter(bad))
    with pytest.raises(ValueError, match=name):
        ExecutorConfig(**bad)
