"""Network impairment between tiers: a fault-injecting TCP proxy between bridge and brain and
between bridge and edge, real processes (brain_server with TLS + token, bridge node), the edge
SkillService test double and an /objects publisher in this process.

Defined behaviour asserted:
  * latency + jitter on both links within the deadlines: tasks still succeed on the cloud plan;
  * the brain link slower than the plan deadline: the bridge answers from its local planner
    within the deadline (+ margin), /diagnostics says degraded-local, the task succeeds;
  * the impairment removed: the link monitor goes back to cloud and tasks plan there again;
  * a dead route (blackhole) then a reset of every brain connection: fallback, then reconnect;
  * the edge link reset mid-skill: the task ends ABORTED (never left running blind), and the
    edge sees its Execute call cancelled (the real edge then holds the robot).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from robot_control.brain import certs
from robot_control.bridge.tasks import task_message
from robot_control.supervisor.stack import NodeSpec, StackSpec
from robot_control.testing import wait_for, wait_for_subscribers
from robot_control.tools.fault_proxy import FaultProxy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from test_bridge_edge_double import FakeSkillService, FakeWorld, start_edge  # noqa: E402
from test_bridge_stack import TOKEN, Observer, brain_args, brain_port, brain_serving  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
GOALS = [("at", "red_cube", "bin"), ("at", "green_can", "bin")]
PLAN_DEADLINE_S = 3.0


def test_bridge_under_link_faults(tmp_path, domain_id, ros, stack) -> None:
    certs_dir = certs.create_dev_certs(tmp_path / "certs").folder
    world = FakeWorld()
    edge = FakeSkillService(world, ticks=5, tick_s=0.04)
    edge_server, edge_port = start_edge(edge)
    env = {"BRAIN_TOKEN": TOKEN}
    brain = NodeSpec(name="brain", command=("{python}", "-m", "robot_control.brain.server"),
                     args=brain_args(0, certs_dir, "--no-nl"), env=env, on_exit="ignore")
    obs = Observer(ros, world)
    brain_runner = stack(StackSpec(name="brain_faults", nodes=(brain,), shutdown_timeout_s=5.0))
    brain_proxy = edge_proxy = None
    runner = brain_runner
    try:
        wait_for(lambda: brain_port(brain_runner), 240.0, interval_s=0.2, what="brain_server to listen")
        port = brain_port(brain_runner)
        wait_for(lambda: brain_serving(port, certs_dir), 60.0, interval_s=0.2, what="brain_server to serve")
        brain_proxy = FaultProxy(("127.0.0.1", 0), ("127.0.0.1", port)).start()
        edge_proxy = FaultProxy(("127.0.0.1", 0), ("127.0.0.1", edge_port)).start()
        bridge = NodeSpec(name="bridge", command=("{python}", "-m", "robot_control.bridge.node"), env=env, args=(
            "--ros-args", "-r", "__node:=bridge", "--params-file", str(ROOT / "config/params/bridge.yaml"),
            "-p", f"brain_endpoint:=127.0.0.1:{brain_proxy.port}",
            "-p", f"edge_endpoint:=127.0.0.1:{edge_proxy.port}", "-p", f"certs_dir:={certs_dir}",
            "-p", "link_check_period_s:=0.5", "-p", f"plan_deadline_s:={PLAN_DEADLINE_S}",
            "-p", f"replan_deadline_s:={PLAN_DEADLINE_S}"))
        runner = stack(StackSpec(name="bridge_faults", nodes=(bridge,), shutdown_timeout_s=5.0))
        wait_for_subscribers(obs.task_pub, 1, 60.0)
        wait_for(lambda: (obs.link() or {}).get("link_mode") == "cloud", 60.0, what="the bridge to see the brain")

        def run_task(task_id: str, timeout_s: float = 120.0):
            world.reset()
            obs.send(task_message(task_id, goals=GOALS))
            wait_for(lambda: obs.final(task_id) is not None, timeout_s, what=f"{task_id} to finish")
            return obs.final(task_id)

        # 1. A slow, jittery network on both links, inside the deadlines: nothing changes.
        brain_proxy.set(latency_ms=40, jitter_ms=20)
        edge_proxy.set(latency_ms=20, jitter_ms=10)
        final = run_task("lf-1")
        assert final.state.value == "SUCCEEDED" and final.planner_mode == "cloud", final.message
        assert world.location("red_cube") == world.location("green_can") == "bin"

        # 2. The brain link slower than the deadline: local plan within the deadline, degraded-local.
        brain_proxy.set(latency_ms=2500, jitter_ms=0)  # > the deadline once both directions add up
        t_slow = time.monotonic()
        wait_for(lambda: (obs.link(t_slow) or {}).get("link_mode") == "degraded-local", 30.0,
                 what="degraded-local after the link slowed")
        t_task = time.monotonic()
        final = run_task("lf-2")
        assert final.state.value == "SUCCEEDED" and final.planner_mode == "local", final.message
        statuses = obs.of("lf-2")
        executing = next(s for s in statuses if s.state.value == "EXECUTING")
        assert executing.planner_mode == "local"
        link = obs.link()
        assert link["link_mode"] == "degraded-local"
        print(f"\nslow link: task planned locally and done in {time.monotonic() - t_task:.1f} s; "
              f"fallback {link.get('fallback_ms')} ms, local plan {link.get('local_plan_ms')} ms")
        if link.get("fallback_ms") not in (None, "", "nan"):
            assert float(link["fallback_ms"]) <= (PLAN_DEADLINE_S + 0.1) * 1e3

        # 3. The link recovers: back to the cloud.
        brain_proxy.set(latency_ms=0)
        t_ok = time.monotonic()
        wait_for(lambda: (obs.link(t_ok) or {}).get("link_mode") == "cloud", 60.0, what="link back to cloud")
        print(f"link recovered -> cloud on /diagnostics in {time.monotonic() - t_ok:.1f} s")
        final = run_task("lf-3")
        assert final.state.value == "SUCCEEDED" and final.planner_mode == "cloud", final.message

        # 4. A dead route, then every brain connection reset: fallback, then reconnect.
        brain_proxy.set(blackhole=True)
        t_dead = time.monotonic()
        wait_for(lambda: (obs.link(t_dead) or {}).get("link_mode") == "degraded-local", 30.0,
                 what="degraded-local on a dead route")
        final = run_task("lf-4")
        assert final.state.value == "SUCCEEDED" and final.planner_mode == "local", final.message
        brain_proxy.set(blackhole=False)
        brain_proxy.disconnect()
        t_back = time.monotonic()
        wait_for(lambda: (obs.link(t_back) or {}).get("link_mode") == "cloud", 60.0, what="reconnect to cloud")
        assert brain_proxy.accepted >= 2, "the bridge never opened a new connection"

        # 5. The edge link dies mid-skill: the task is ABORTED, the edge sees the call cancelled.
        world.reset()
        gate = edge.gate_when(lambda req: req.request_id == "lf-5/0/1")
        obs.send(task_message("lf-5", goals=GOALS))
        assert gate.reached.wait(120.0), "step 2 never started"
        edge_proxy.set(refuse=True)
        edge_proxy.disconnect()
        wait_for(lambda: obs.final("lf-5") is not None, 60.0, what="lf-5 to end")
        gate.release.set()
        final = obs.final("lf-5")
        assert final.state.value == "ABORTED", (final.state, final.message)
        wait_for(lambda: "lf-5/0/1" in edge.canceled, 30.0, what="the edge to see the broken call as cancelled")
        print(f"edge link reset mid-skill -> {final.state.value}: {final.message}")
    finally:
        for p in (brain_proxy, edge_proxy):
            if p is not None:
                p.stop()
        edge_server.stop(0)
        if runner is not brain_runner:
            print("---- bridge output (tail) ----\n" + runner.output()[-5000:])
