"""The bridge end to end with real processes: brain_server (TLS + token) and bridge node under
the supervisor, the edge SkillService test double and an /objects publisher in this process.

1. `robot-control task "<two objects>"` (a CLI process) -> SUCCEEDED on the cloud plan.
2. A second two-object task; the brain process is SIGKILLed while a step runs, that step
   fails, and the bridge replans the goals it resolved from the instruction with the local
   planner and finishes (degraded-local on /diagnostics).
3. A brain comes back on the same port: /diagnostics returns to cloud and the next task
   plans there.
4. A task sent while one runs is answered FAILED (busy); /task/cancel cancels the running
   task and its in-flight Execute call.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from robot_control.brain import certs, security
from robot_control.bridge.tasks import TaskStatus, task_message
from robot_control.supervisor.stack import NodeSpec, StackSpec
from robot_control.testing import wait_for, wait_for_subscribers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit"))
from test_bridge_edge_double import FakeSkillService, FakeWorld, start_edge  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TOKEN = "it-token-" + "b" * 24
INSTRUCTION = "put the red cube and the green can in the bin"
ROOT = Path(__file__).resolve().parents[2]


def brain_port(runner) -> int | None:
    """The port brain_server reports it bound (it listens on port 0: no race for a free port)."""
    if "brain" not in runner.supervisor.pids():
        raise AssertionError("brain_server exited:\n" + runner.output()[-4000:])
    m = re.search(r"brain PlannerService on port (\d+)", runner.output())
    return int(m.group(1)) if m else None


def brain_args(port: int, certs_dir: Path, *extra: str) -> tuple[str, ...]:
    return ("--listen", f"127.0.0.1:{port}", "--certs-dir", str(certs_dir), "--torch-threads", "1",
            "--workers", "4", *extra)


def brain_serving(port: int, certs_dir: Path) -> bool:
    creds = security.channel_credentials(certs_dir / "ca.pem", token=TOKEN)
    with grpc.secure_channel(f"127.0.0.1:{port}", creds) as channel:
        try:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1.0)
        except grpc.RpcError:
            return False
    return resp.status == health_pb2.HealthCheckResponse.SERVING


class Observer:
    """/objects publisher (from the fake world) and /task/status + /diagnostics listener."""

    def __init__(self, ros, world: FakeWorld) -> None:
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
        from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy
        from std_msgs.msg import String
        from visualization_msgs.msg import Marker, MarkerArray

        self.world = world
        self.Marker, self.MarkerArray, self.String = Marker, MarkerArray, String
        self.lock = threading.Lock()
        self.statuses: list[TaskStatus] = []
        self.diagnostics: list[tuple[float, dict[str, str]]] = []  # (time, brain-link values)
        node = ros.node
        self.objects_pub = node.create_publisher(MarkerArray, "/objects", 10)
        self.task_pub = node.create_publisher(String, "/task", 10)
        qos = QoSProfile(depth=10, reliability=QoSReliabilityPolicy.RELIABLE,
                         durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
        node.create_subscription(DiagnosticStatus, "/task/status", self._on_status, qos)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 10)
        node.create_timer(0.1, self._publish_objects)

    def _publish_objects(self) -> None:
        msg = self.MarkerArray()
        for i, obs in enumerate(self.world.observations()):
            m = self.Marker()
            m.header.frame_id = "world"
            m.ns, m.id, m.type, m.action, m.text = "objects", i, self.Marker.CUBE, self.Marker.ADD, obs.name
            m.pose.position.x, m.pose.position.y, m.pose.position.z = obs.position
            m.pose.orientation.w = 1.0
            m.scale.x, m.scale.y, m.scale.z = obs.size
            msg.markers.append(m)
        self.objects_pub.publish(msg)

    def _on_status(self, msg) -> None:
        status = TaskStatus.from_values({kv.key: kv.value for kv in msg.values}, msg.message)
        with self.lock:
            self.statuses.append(status)

    def _on_diag(self, msg) -> None:
        for st in msg.status:
            if st.name.endswith("brain link") or st.name.endswith("edge link"):
                with self.lock:
                    self.diagnostics.append((time.monotonic(), {"status": st.name, "message": st.message,
                                                                **{kv.key: kv.value for kv in st.values}}))

    def send(self, text: str) -> None:
        self.task_pub.publish(self.String(data=text))

    def final(self, task_id: str) -> TaskStatus | None:
        with self.lock:
            return next((s for s in self.statuses if s.task_id == task_id and s.state.terminal), None)

    def of(self, task_id: str) -> list[TaskStatus]:
        with self.lock:
            return [s for s in self.statuses if s.task_id == task_id]

    def link(self, after: float = 0.0) -> dict[str, str] | None:
        with self.lock:
            found = [v for t, v in self.diagnostics if t >= after and v["status"].endswith("brain link")]
        return found[-1] if found else None

    def edge_link(self) -> dict[str, str] | None:
        with self.lock:
            found = [v for _t, v in self.diagnostics if v["status"].endswith("edge link")]
        return found[-1] if found else None


def test_bridge_cloud_then_brain_killed_mid_task_then_back(tmp_path, domain_id, ros, stack) -> None:
    certs_dir = certs.create_dev_certs(tmp_path / "certs").folder
    world = FakeWorld()
    edge = FakeSkillService(world, ticks=5, tick_s=0.04)
    edge_server, edge_port = start_edge(edge)
    env = {"BRAIN_TOKEN": TOKEN}
    brain = NodeSpec(name="brain", command=("{python}", "-m", "robot_control.brain.server"),
                     args=brain_args(0, certs_dir), env=env, on_exit="ignore")
    obs = Observer(ros, world)
    revived: subprocess.Popen | None = None
    t0 = time.monotonic()
    brain_runner = stack(StackSpec(name="brain_it", nodes=(brain,), shutdown_timeout_s=5.0))
    runner = brain_runner
    try:
        wait_for(lambda: brain_port(brain_runner), 240.0, interval_s=0.2, what="brain_server to listen")
        port = brain_port(brain_runner)
        wait_for(lambda: brain_serving(port, certs_dir), 60.0, interval_s=0.2, what="brain_server to serve")
        bridge = NodeSpec(name="bridge", command=("{python}", "-m", "robot_control.bridge.node"), env=env, args=(
            "--ros-args", "-r", "__node:=bridge", "--params-file", str(ROOT / "config/params/bridge.yaml"),
            "-p", f"brain_endpoint:=127.0.0.1:{port}", "-p", f"edge_endpoint:=127.0.0.1:{edge_port}",
            "-p", f"certs_dir:={certs_dir}", "-p", "link_check_period_s:=0.5", "-p", "plan_deadline_s:=10.0"))
        runner = stack(StackSpec(name="bridge_it", nodes=(bridge,), shutdown_timeout_s=5.0))
        wait_for_subscribers(obs.task_pub, 1, 60.0)
        wait_for(lambda: (obs.link() or {}).get("link_mode") == "cloud", 60.0, what="the bridge to see the brain")
        print(f"\nbrain + bridge up in {time.monotonic() - t0:.1f} s")

        # 1. The operator's CLI: natural language, cloud plan, success.
        cli = subprocess.run([sys.executable, "-m", "robot_control.cli", "task", INSTRUCTION, "--id", "it-1",
                              "--timeout", "180"], capture_output=True, text=True, timeout=240)
        print(cli.stdout[-3000:], cli.stderr[-2000:])
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert "SUCCEEDED" in cli.stdout and "EXECUTING" in cli.stdout
        wait_for(lambda: obs.final("it-1") is not None, 30.0, what="it-1 status")
        final = obs.final("it-1")
        assert final.planner_mode == "cloud" and final.replans == 0 and final.steps == 12
        assert world.location("red_cube") == world.location("green_can") == "bin"
        wait_for(lambda: (obs.link() or {}).get("brain_rtt_ms"), 10.0, what="hop latencies on /diagnostics")
        link, edge_diag = obs.link(), obs.edge_link()
        assert link["link_mode"] == "cloud"
        print(f"hops: brain rtt {link['brain_rtt_ms']} ms = server {link['brain_server_ms']} ms + transport "
              f"{link['brain_transport_ms']} ms (nl {link.get('brain_nl_ms')} ms, search "
              f"{link.get('brain_search_ms')} ms); edge first progress {edge_diag['edge_first_progress_ms']} ms, "
              f"step {edge_diag['edge_step_ms']} ms")

        # 2. The brain dies while the 7th step runs; that step fails; the bridge replans locally.
        world.reset()
        seventh = lambda req: req.request_id == "it-2/0/6"  # noqa: E731
        gate = edge.gate_when(seventh)
        edge.fail_when(seventh, message="object slipped")
        obs.send(task_message("it-2", instruction=INSTRUCTION))
        assert gate.reached.wait(120.0), "the 7th step never started"
        t_kill = time.monotonic()
        os.kill(brain_runner.supervisor.pids()["brain"], signal.SIGKILL)
        wait_for(lambda: (obs.link(t_kill) or {}).get("link_mode") == "degraded-local", 30.0,
                 what="degraded-local on /diagnostics")
        t_degraded = time.monotonic()
        gate.release.set()
        wait_for(lambda: obs.final("it-2") is not None, 120.0, what="it-2 to finish")
        t_done = time.monotonic()
        final = obs.final("it-2")
        assert final.state.value == "SUCCEEDED", final.message
        assert final.planner_mode == "local" and final.replans == 1
        assert set(final.goals.split()) == {"at(red_cube,bin)", "at(green_can,bin)"}
        assert world.location("red_cube") == world.location("green_can") == "bin"
        replanned = next(s for s in obs.of("it-2") if s.planner_mode == "local")
        wait_for(lambda: (obs.link() or {}).get("fallback_ms"), 10.0, what="fallback time on /diagnostics")
        link = obs.link()
        assert link["link_mode"] == "degraded-local" and int(link["local_plans"]) >= 1
        print(f"brain killed -> degraded-local on /diagnostics in {t_degraded - t_kill:.2f} s; replan after "
              f"the failed step: cloud attempt + local plan {link['fallback_ms']} ms (local "
              f"{link['local_plan_ms']} ms); task finished {t_done - t_degraded:.2f} s after the failure; "
              f"replanned status: {replanned.message}")

        # 3. A brain returns on the same port: the link goes back to cloud, tasks plan there.
        revived = subprocess.Popen([sys.executable, "-m", "robot_control.brain.server",
                                    *brain_args(port, certs_dir, "--no-nl")],
                                   env={**os.environ, **env}, start_new_session=True)
        t_up = time.monotonic()
        wait_for(lambda: (obs.link(t_up) or {}).get("link_mode") == "cloud", 120.0, what="link back to cloud")
        print(f"brain restarted (no NL) -> cloud on /diagnostics in {time.monotonic() - t_up:.1f} s")
        world.reset()
        obs.send(task_message("it-3", goals=[("at", "red_cube", "bin")]))
        wait_for(lambda: obs.final("it-3") is not None, 120.0, what="it-3 to finish")
        final = obs.final("it-3")
        assert final.state.value == "SUCCEEDED" and final.planner_mode == "cloud", final.message

        # 4. One task at a time, and /task/cancel stops the running one at the edge.
        from std_srvs.srv import Trigger

        world.reset()
        gate = edge.gate_when(lambda req: req.request_id == "it-4/0/1")
        obs.send(task_message("it-4", goals=[("at", "green_can", "bin")]))
        assert gate.reached.wait(120.0)
        obs.send("put the red cube in the bin")  # plain text while busy
        wait_for(lambda: any("busy with task it-4" in s.message for s in obs.statuses), 30.0, what="busy answer")
        client = ros.node.create_client(Trigger, "/task/cancel")
        assert client.wait_for_service(timeout_sec=30.0)
        answer = client.call(Trigger.Request(), timeout_sec=30.0)
        assert answer is not None and answer.success and "it-4" in answer.message
        wait_for(lambda: obs.final("it-4") is not None, 60.0, what="it-4 to end")
        assert obs.final("it-4").state.value == "CANCELED"
        wait_for(lambda: edge.canceled == ["it-4/0/1"], 30.0, what="the edge to see the cancel")
        answer = client.call(Trigger.Request(), timeout_sec=30.0)
        assert answer is not None and not answer.success
    finally:
        if revived is not None:
            revived.send_signal(signal.SIGINT)
            try:
                revived.wait(10.0)
            except subprocess.TimeoutExpired:
                revived.kill()
        edge_server.stop(0)
        print("---- brain output (tail) ----\n" + brain_runner.output()[-3000:])
        if runner is not brain_runner:
            print("---- bridge output (tail) ----\n" + runner.output()[-6000:])
