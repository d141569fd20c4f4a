"""Run a stack's nodes as child processes: prefixed logs, restart policy, clean shutdown.

Deliberately small: subprocess + one reader thread per child. Each child gets its own
process group (so a node's own children go down with it) and PR_SET_PDEATHSIG, so even
a SIGKILLed supervisor leaves no orphans behind. Shutdown sends SIGINT (rclpy's clean
path), then SIGTERM, then SIGKILL, each after `shutdown_timeout_s`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import IO

from robot_control.common.ros_env import apply_ros_env_defaults
from robot_control.supervisor.stack import NodeSpec, StackSpec

_PR_SET_PDEATHSIG = 1
_COLOURS = ("36", "33", "35", "32", "34", "31", "96", "93")


def entry_point_target(executable: str) -> str:
    """`module:function` of a robot_control console script, e.g. body_node."""
    for ep in metadata.entry_points(group="console_scripts", name=executable):
        if ep.value.startswith("robot_control."):
            return ep.value
    raise LookupError(
        f"no robot_control console script named {executable!r} "
        "(is the package installed? run `make setup`)"
    )


def node_command(spec: NodeSpec) -> list[str]:
    if spec.command:
        return [sys.executable if part == "{python}" else part for part in spec.command] + list(spec.args)
    module, _, func = entry_point_target(spec.executable).partition(":")
    bootstrap = (
        f"import sys; sys.argv[0] = {spec.executable!r}; "
        f"from {module} import {func} as main; sys.exit(main())"
    )
    return [sys.executable, "-u", "-c", bootstrap, *spec.args, *spec.ros_args()]


# The child must die with the supervisor even if the supervisor is SIGKILLed: PR_SET_PDEATHSIG.
# It is set by a tiny exec shim (python -S, no site: no .pth re-exec, ~10 ms) rather than a
# Popen preexec_fn: preexec_fn runs Python between fork and exec, which deadlocks when another
# thread of the parent held a lock at fork time (a gRPC server or a test's rclpy executor; seen
# in CI as a Popen that never returned). The shim re-checks the parent (it may have died
# before prctl) and then execs the node, so the node's pid is the one the supervisor sees. It also
# un-ignores SIGINT: a supervisor started in the background by a shell inherits SIGINT ignored,
# and so would every node (Python then installs no KeyboardInterrupt handler), turning each
# graceful stop into a SIGTERM escalation after the timeout.
_EXEC_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    f"ctypes.CDLL(None, use_errno=True).prctl({_PR_SET_PDEATHSIG}, signal.SIGKILL)\n"
    "os.getppid() == int(sys.argv[1]) or os._exit(70)\n"
    "int(sys.argv[2]) and os.nice(int(sys.argv[2]))\n"
    "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
    "os.execvp(sys.argv[3], sys.argv[3:])\n"
)


def die_with_parent(cmd: list[str], nice: int = 0) -> list[str]:
    """`cmd` wrapped so that it runs with PR_SET_PDEATHSIG=SIGKILL towards this process (and
    `nice` added to its CPU niceness)."""
    executable = shutil.which(cmd[0])
    if executable is None:
        raise FileNotFoundError(f"cannot start {cmd[0]!r}: not found on PATH")
    return [sys.executable, "-S", "-c", _EXEC_WITH_PARENT, str(os.getpid()), str(int(nice)), executable, *cmd[1:]]


@dataclass
class Child:
    spec: NodeSpec
    colour: str
    process: subprocess.Popen | None = None
    restarts: int = 0
    finished: bool = False
    exit_code: int | None = None
    restart_at: float | None = None
    readers: list[threading.Thread] = field(default_factory=list)


class Supervisor:
    """Start, watch and stop the processes of one stack."""

    def __init__(self, stack: StackSpec, *, out: IO[str] | None = None,
                 extra_env: dict[str, str] | None = None, colour: bool | None = None) -> None:
        self.stack = stack
        self.out = out or sys.stdout
        self.colour = self.out.isatty() if colour is None else colour
        self.extra_env = dict(extra_env or {})
        self.children = [Child(spec, _COLOURS[i % len(_COLOURS)]) for i, spec in enumerate(stack.nodes)]
        self._stop = threading.Event()
        self._print_lock = threading.Lock()
        self.exit_code = 0

    # -- output --------------------------------------------------------------------
    def log(self, name: str, line: str, colour: str = "0") -> None:
        prefix = f"[{name}]"
        if self.colour:
            prefix = f"\033[{colour}m{prefix}\033[0m"
        with self._print_lock:
            self.out.write(f"{prefix} {line.rstrip()}\n")
            self.out.flush()

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.log(child.spec.name, raw.decode(errors="replace"), child.colour)
        stream.close()

    # -- lifecycle -----------------------------------------------------------------
    def _env(self, spec: NodeSpec) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.stack.env)
        env.update(spec.env)
        env.update(self.extra_env)
        env["PYTHONUNBUFFERED"] = "1"
        apply_ros_env_defaults(env)
        return env

    def _spawn(self, child: Child) -> None:
        cmd = node_command(child.spec)
        child.process = subprocess.Popen(
            die_with_parent(cmd, child.spec.nice), env=self._env(child.spec), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        child.restart_at = None
        reader = threading.Thread(target=self._pump, args=(child, child.process.stdout),
                                  name=f"log-{child.spec.name}", daemon=True)
        reader.start()
        child.readers.append(reader)
        what = child.spec.executable or " ".join(child.spec.command)
        self.log("supervisor", f"started {child.spec.name} (pid {child.process.pid}): {what}")

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def pids(self) -> dict[str, int]:
        return {c.spec.name: c.process.pid for c in self.children if c.process and c.process.poll() is None}

    def poll(self) -> bool:
        """Handle exits and restarts; returns False once the stack should stop."""
        now = time.monotonic()
        for child in self.children:
            proc = child.process
            if child.finished or proc is None:
                continue
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self._spawn(child)
                continue
            code = proc.poll()
            if code is None:
                continue
            spec = child.spec
            wants_restart = spec.restart == "always" or (spec.restart == "on-failure" and code != 0)
            if wants_restart and child.restarts < spec.max_restarts:
                child.restarts += 1
                child.restart_at = now + spec.restart_delay_s
                self.log("supervisor", f"{spec.name} exited with {code}; restart "
                                       f"{child.restarts}/{spec.max_restarts} in {spec.restart_delay_s:g} s")
                continue
            child.finished, child.exit_code = True, code
            self.log("supervisor", f"{spec.name} exited with {code}")
            if spec.on_exit == "stop-stack":
                if code != 0:
                    self.exit_code = code if code > 0 else 128 - code
                self.log("supervisor", f"{spec.name} is required (on_exit: stop-stack): stopping the stack")
                return False
        return not all(c.finished for c in self.children)

    def request_stop(self, *_args: object) -> None:
        self._stop.set()

    def run(self, *, until: Callable[[], bool] | None = None, poll_s: float = 0.1) -> int:
        """Start everything and supervise until a signal, a required exit or `until()`."""
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                previous[sig] = signal.signal(sig, self.request_stop)
        try:
            self.start()
            while not self._stop.is_set():
                if not self.poll() or (until is not None and until()):
                    break
                self._stop.wait(poll_s)
        finally:
            self.shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.exit_code

    def shutdown(self) -> None:
        """SIGINT every live child, then SIGTERM, then SIGKILL, each after the timeout."""
        timeout = self.stack.shutdown_timeout_s
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            alive = [c for c in self.children if c.process is not None and c.process.poll() is None]
            if not alive:
                break
            if sig != signal.SIGINT:
                self.log("supervisor", f"escalating to {sig.name} for "
                                       f"{', '.join(c.spec.name for c in alive)}")
            for child in alive:
                try:
                    os.killpg(child.process.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + timeout
            for child in alive:
                try:
                    child.process.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
        for child in self.children:
            # The group may hold grandchildren that outlived their parent.
            if child.process is not None:
                try:
                    os.killpg(child.process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            for reader in child.readers:
                reader.join(timeout=1.0)
        self.log("supervisor", "all nodes stopped")
