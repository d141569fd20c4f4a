"""`robot-control up`: real processes, restart policy, clean shutdown with no orphans."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from robot_control.supervisor.process import Supervisor
from robot_control.supervisor.stack import parse_stack
from robot_control.testing import wait_for

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes (its parent has not reaped it yet).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _descendants(pid: int) -> set[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.split("\n"):
        if line.strip():
            p, pp = map(int, line.split())
            children.setdefault(pp, []).append(p)
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.add(c)
            todo.append(c)
    return found


def _write_stack(tmp_path: Path, domain_id: int) -> Path:
    path = tmp_path / "two_nodes.yaml"
    path.write_text(textwrap.dedent(f"""
        stack: two_nodes
        shutdown_timeout_s: 5
        nodes:
          - name: body
            executable: body_node
            parameters: {{robot: {FIXTURES / 'arm2.yaml'}, driver: mock}}
          - name: probe
            executable: joint_state_probe
            parameters: {{count: 1000000, timeout_s: 600.0, output: {tmp_path / 'probe.json'}}}
    """))
    return path


def test_up_runs_nodes_that_talk_and_ctrl_c_leaves_nothing(tmp_path, domain_id):
    stack_file = _write_stack(tmp_path, domain_id)
    proc = subprocess.Popen(
        [sys.executable, "-m", "robot_control.cli", "up", str(stack_file), "--domain-id", str(domain_id)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for(lambda: len(_descendants(proc.pid)) >= 2, 20.0, what="two node processes")
        time.sleep(4.0)  # let them discover each other and exchange messages
        pids = _descendants(proc.pid)
        assert proc.poll() is None, "supervisor died early"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "[body]" in out and "[probe]" in out, "node logs are prefixed with the node name"
    assert "all nodes stopped" in out
    time.sleep(0.2)
    assert not [p for p in pids if _alive(p)], f"orphans left: {pids}\n{out}"
    # The probe ran until Ctrl-C and reported what it received from the body process.
    report = json.loads((tmp_path / "probe.json").read_text())
    assert report["messages"] > 100, report
    assert report["all_finite"] and report["names_consistent"], report
    assert report["joint_names"] == ["shoulder", "elbow"]


def _py_node(name: str, code: str, **extra) -> dict:
    return {"name": name, "command": ["{python}", "-c", code], **extra}


def test_escalates_to_sigkill_for_a_stubborn_node(tmp_path):
    stubborn = ("import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); "
                "signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(600)")
    spec = parse_stack({"stack": "s", "shutdown_timeout_s": 0.5, "nodes": [_py_node("stubborn", stubborn)]})
    log = tmp_path / "log.txt"
    with log.open("w") as out:
        sup = Supervisor(spec, out=out, colour=False)
        sup.start()
        wait_for(lambda: "[stubborn] ready" in log.read_text(), 10.0, what="node start")
        pid = sup.pids()["stubborn"]
        t0 = time.monotonic()
        sup.shutdown()
        took = time.monotonic() - t0
    text = log.read_text()
    assert "escalating to SIGTERM" in text and "escalating to SIGKILL" in text
    assert not _alive(pid)
    assert took < 5.0


def test_grandchildren_die_with_their_node(tmp_path):
    code = ("import subprocess, sys, time; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
            "print('child', p.pid, flush=True); time.sleep(600)")
    spec = parse_stack({"stack": "s", "shutdown_timeout_s": 1, "nodes": [_py_node("parent", code)]})
    log = tmp_path / "log.txt"
    with log.open("w") as out:
        sup = Supervisor(spec, out=out, colour=False)
        sup.start()
        wait_for(lambda: "[parent] child" in log.read_text(), 10.0, what="grandchild start")
        grandchild = int(log.read_text().split("[parent] child ")[1].split()[0])
        sup.shutdown()
    wait_for(lambda: not _alive(grandchild), 5.0, what="grandchild to exit")


def test_restart_policy_and_stop_stack(tmp_path):
    spec = parse_stack({"stack": "s", "nodes": [
        _py_node("flaky", "import sys; print('run', flush=True); sys.exit(3)",
                 restart="on-failure", max_restarts=2, restart_delay_s=0.1),
        _py_node("steady", "import time; time.sleep(600)"),
    ]})
    log = tmp_path / "log.txt"
    with log.open("w") as out:
        code = Supervisor(spec, out=out, colour=False).run()
    text = log.read_text()
    assert text.count("[flaky] run") == 3, text  # first run + 2 restarts
    assert "restart 2/2" in text
    assert "stopping the stack" in text
    assert code == 3


def test_ignore_exit_keeps_stack_running(tmp_path):
    spec = parse_stack({"stack": "s", "nodes": [
        _py_node("oneshot", "print('done', flush=True)", on_exit="ignore"),
        _py_node("steady", "import time; time.sleep(600)"),
    ]})
    log = tmp_path / "log.txt"
    with log.open("w") as out:
        sup = Supervisor(spec, out=out, colour=False)
        sup.start()
        wait_for(lambda: "[oneshot] done" in log.read_text(), 10.0, what="oneshot")
        for _ in range(10):
            assert sup.poll()
            time.sleep(0.05)
        assert "steady" in sup.pids()
        sup.shutdown()


def test_nodes_die_when_the_supervisor_is_sigkilled(tmp_path):
    """SIGKILL skips every shutdown path: PR_SET_PDEATHSIG (set by the exec shim) must still
    take the nodes down; the pid the supervisor reports is the node itself, not the shim; the
    node runs at the stack's `nice` and takes SIGINT even if the supervisor ignores it."""
    stack = tmp_path / "sleeper.yaml"
    stack.write_text(textwrap.dedent("""
        stack: s
        nodes:
          - name: sleeper
            command: ["{python}", "-c", "import os, signal, time; print('pid', os.getpid(), 'nice', os.nice(0), 'int', signal.getsignal(signal.SIGINT) is signal.default_int_handler, flush=True); time.sleep(600)"]
            nice: 7
    """))
    script = ("import signal, sys, time\n"
              "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"  # as for `robot-control up ... &` in a script
              "from robot_control.supervisor.process import Supervisor\n"
              "from robot_control.supervisor.stack import load_stack\n"
              f"sup = Supervisor(load_stack({str(stack)!r}), out=sys.stdout, colour=False)\n"
              "sup.start()\n"
              "time.sleep(1.0)\n"
              "print('pids', sup.pids()['sleeper'], flush=True)\n"
              "time.sleep(600)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        lines: list[str] = []
        while not any(line.startswith("pids ") for line in lines):
            line = proc.stdout.readline()
            assert line, "supervisor exited early"
            lines.append(line)
        reported = int(next(line for line in lines if line.startswith("pids ")).split()[1])
        own_line = next(line for line in lines if "pid " in line and "[sleeper]" in line)
        own = int(own_line.split("pid ")[1].split()[0])
        assert own_line.split("nice ")[1].split()[0] == str(os.nice(0) + 7), own_line
        assert own_line.split("int ")[1].split() == ["True"], "SIGINT must reach the node as Ctrl-C"
        assert reported == own, "the shim must exec the node, not wrap it"
        assert _alive(own)
        proc.kill()
        proc.wait(timeout=10)
        wait_for(lambda: not _alive(own), 5.0, what="node to die with its supervisor")
    finally:
        if proc.poll() is None:
            proc.kill()
