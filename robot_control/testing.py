"""Helpers for tests of robot_control and of integrators' drivers: isolated ROS domains,
waiting for DDS matching with a timeout, running stacks under the supervisor.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from robot_control.common.ros_env import apply_ros_env_defaults
from robot_control.supervisor.process import Supervisor
from robot_control.supervisor.stack import NodeSpec, StackSpec, load_stack

# Domain ids 1..100 are valid on Linux with the default port mapping; pytest-xdist workers
# get disjoint slices so parallel tests never see each other's traffic.
_counter = itertools.count()


def next_domain_id() -> int:
    """The next ROS_DOMAIN_ID for a test: 25 per pytest-xdist worker, cycled, inside
    [RC_TEST_DOMAIN_BASE, +RC_TEST_DOMAIN_SPAN) (default 1..100) so that two test sessions on
    one machine can be given disjoint ranges (DDS domains are machine-wide)."""
    base = int(os.environ.get("RC_TEST_DOMAIN_BASE", "1"))
    span = int(os.environ.get("RC_TEST_DOMAIN_SPAN", "100"))
    if not (0 <= base and 1 <= span and base + span <= 233):
        raise ValueError(f"RC_TEST_DOMAIN_BASE={base} / RC_TEST_DOMAIN_SPAN={span}: domains must lie in 0..232")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    slot = int(worker) if worker.isdigit() else 0
    return base + (slot * 25 + next(_counter) % 25) % span


def wait_for(predicate: Callable[[], bool], timeout_s: float, *, interval_s: float = 0.01,
             what: str = "condition") -> None:
    """Poll until predicate() is true; raise TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


def wait_for_subscribers(publisher, count: int = 1, timeout_s: float = 10.0) -> None:
    wait_for(lambda: publisher.get_subscription_count() >= count, timeout_s,
             what=f"{count} subscriber(s) on {publisher.topic_name}")


def wait_for_publishers(subscription, count: int = 1, timeout_s: float = 10.0) -> None:
    wait_for(lambda: subscription.get_publisher_count() >= count, timeout_s,
             what=f"{count} publisher(s) on {subscription.topic_name}")


class RosSession:
    """An rclpy context on its own domain with one node spun on a background thread."""

    def __init__(self, domain_id: int, node_name: str = "test_harness", executor: str = "single_threaded") -> None:
        """`executor`: "single_threaded" (the default: the test harness's view of a stack must
        not depend on the executor under test) or "events" (a lighter observer for benchmarks)."""
        apply_ros_env_defaults()
        import rclpy

        from robot_control.common.ros import make_executor

        self.domain_id = domain_id
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node(node_name, context=self.context)
        self.executor = make_executor(self.context, executor)
        self.executor.add_node(self.node)
        self._stop = threading.Event()
        self.spin_errors: list[str] = []  # exceptions the spin thread survived
        self._thread = threading.Thread(target=self._spin, daemon=True, name="test-spin")
        self._thread.start()

    def _spin(self) -> None:
        while not self._stop.is_set() and self.context.ok():
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception as exc:  # noqa: BLE001 - the observer must outlive a transient executor error
                # A subscription destroyed by the test thread while this thread builds its wait set
                # raises InvalidHandle ("destruction was requested") here once; the observer keeps
                # spinning (CI: the spin thread died of it and every later wait timed out).
                if not self.context.ok():
                    break
                self.spin_errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self.context.try_shutdown()


class RunningStack:
    """A supervisor running a stack on a background thread (for tests and the demo)."""

    def __init__(self, stack: StackSpec, domain_id: int, extra_env: dict[str, str] | None = None) -> None:
        self.log = io.StringIO()
        env = {"ROS_DOMAIN_ID": str(domain_id), **(extra_env or {})}
        self.supervisor = Supervisor(stack, out=_Tee(self.log), extra_env=env, colour=False)
        self.exit_code: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="stack")

    def _run(self) -> None:
        self.exit_code = self.supervisor.run()

    def start(self) -> RunningStack:
        self._thread.start()
        wait_for(lambda: len(self.supervisor.pids()) == len(self.supervisor.children) or not self.alive,
                 30.0, what="stack processes to start")
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float = 30.0) -> int | None:
        self.supervisor.request_stop()
        self._thread.join(timeout_s)
        return self.exit_code

    def wait(self, timeout_s: float) -> int | None:
        self._thread.join(timeout_s)
        return self.exit_code

    def output(self) -> str:
        return self.log.getvalue()


class _Tee(io.TextIOBase):
    """Keep a copy of the supervisor's output and echo it (pytest shows it on failure)."""

    def __init__(self, sink: io.StringIO) -> None:
        self.sink = sink
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.sink.write(text)
        if os.environ.get("ROBOT_CONTROL_ECHO_LOGS"):
            print(text, end="", flush=True)
        return len(text)

    def isatty(self) -> bool:
        return False


@contextmanager
def running_stack(stack: StackSpec | str | Path, domain_id: int,
                  extra_env: dict[str, str] | None = None) -> Iterator[RunningStack]:
    spec = stack if isinstance(stack, StackSpec) else load_stack(stack)
    runner = RunningStack(spec, domain_id, extra_env).start()
    try:
        yield runner
    finally:
        runner.stop()


def probe_stack(stack: StackSpec | str | Path, *, count: int = 200, timeout_s: float = 30.0,
                expect_joints: list[str] | None = None, domain_id: int | None = None) -> dict:
    """Run a stack plus a joint_state_probe until the probe reports; returns its JSON report."""
    spec = stack if isinstance(stack, StackSpec) else load_stack(stack)
    with tempfile.TemporaryDirectory(prefix="rc-probe-") as tmp:
        out = Path(tmp) / "report.json"
        params: dict[str, object] = {"count": count, "timeout_s": timeout_s, "output": str(out)}
        if expect_joints:
            params["expect_joints"] = "[" + ",".join(expect_joints) + "]"
        probe = NodeSpec(name="joint_state_probe", executable="joint_state_probe",
                         parameters=params, on_exit="stop-stack")
        spec = dataclasses.replace(spec, nodes=(*spec.nodes, probe))
        runner = RunningStack(spec, domain_id if domain_id is not None else next_domain_id()).start()
        runner.wait(timeout_s + 30.0)
        runner.stop()
        if not out.is_file():
            return {"healthy": False, "messages": 0,
                    "problem": "probe wrote no report; stack output:\n" + runner.output()[-4000:]}
        report = json.loads(out.read_text())
        report["stack_output"] = runner.output()
        return report
