"""The bridge's client of the edge SkillService: one place for address, security and deadlines.

* `EdgeConfig` says where the edge is (``host:port`` or ``unix:/path``), whether the channel
  uses TLS (CA bundle, optional client certificate for mTLS, optional bearer token: the same
  file layout as the brain's, see `robot_control.brain.certs`) and the deadlines:
  ``call_timeout_s`` for unary calls (ListSkills), and for Execute a backstop against a hung
  edge: the skill's own timeout (its contract's ``max_duration_s``, else
  ``default_step_timeout_s``) runs on the robot's clock, which on a simulation below real
  time is slower than the bridge's, so the call's wall-clock deadline is that timeout times
  ``max_slowdown`` plus ``step_timeout_margin_s``, and a stream that stays silent for
  ``stall_timeout_s`` (a running skill reports progress several times a second; the edge
  ends it itself when its robot state stops) is given up as DEADLINE_EXCEEDED. Plaintext is
  only accepted to a loopback address or a unix socket; anything else must use TLS.
* `SkillClient.execute` runs one skill: it streams `SkillProgress` to a callback, measures the
  first-progress latency, and returns a `StepResult`. `cancel_active()` cancels the in-flight
  Execute call (the edge then stops the skill and holds the robot).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc

from robot_control.brain import security
from robot_control.v1 import skill_pb2, skill_pb2_grpc

log = logging.getLogger(__name__)
Phase = skill_pb2.SkillProgress.Phase
TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.TIMED_OUT, Phase.CANCELED, Phase.PREEMPTED})


@dataclass
class EdgeConfig:
    target: str = "127.0.0.1:50061"
    tls: bool = False
    ca: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    token: str | None = None
    server_name: str | None = None
    call_timeout_s: float = 2.0  # ListSkills and other unary calls
    step_timeout_margin_s: float = 5.0  # Execute deadline = skill timeout * max_slowdown + this
    max_slowdown: float = 10.0  # robot clock (sim time) this many times slower than wall time at worst
    stall_timeout_s: float = 10.0  # an Execute stream silent this long (wall) is dead
    default_step_timeout_s: float = 30.0  # skill timeout when the contract gives none

    @classmethod
    def from_certs_dir(cls, target: str, certs_dir: str | Path, mtls: bool = False, **kw) -> EdgeConfig:
        d = Path(certs_dir).expanduser()
        return cls(target=target, tls=True, ca=d / "ca.pem", client_cert=d / "client.pem" if mtls else None,
                   client_key=d / "client.key" if mtls else None, **kw)


def is_loopback(target: str) -> bool:
    """True for unix sockets, localhost and loopback IPs (``host:port`` or ``[v6]:port``)."""
    if target.startswith(("unix:", "unix-abstract:")):
        return True
    host = target.rsplit(":", 1)[0] if not target.startswith("[") else target[1:target.index("]")]
    host = host.removeprefix("ipv4:").removeprefix("ipv6:").removeprefix("dns:///")
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class StepResult:
    """How one Execute call ended."""

    phase: int  # a SkillProgress.Phase, or PHASE_UNSPECIFIED when the call itself failed
    message: str = ""
    final: skill_pb2.SkillProgress | None = None
    code: grpc.StatusCode | None = None  # gRPC status when the call failed
    canceled: bool = False  # we cancelled it
    first_progress_s: float | None = None  # call start -> first SkillProgress
    duration_s: float = 0.0
    messages: int = 0

    @property
    def ok(self) -> bool:
        return self.phase == Phase.SUCCEEDED

    @property
    def skill_failure(self) -> bool:
        """The skill ran and failed (worth replanning), as opposed to a broken call."""
        return self.phase in (Phase.FAILED, Phase.TIMED_OUT)

    @property
    def phase_name(self) -> str:
        return Phase.Name(self.phase) if self.phase else (self.code.name if self.code else "UNKNOWN")


class SkillClient:
    """Thread-safe; one Execute in flight at a time is tracked for `cancel_active`."""

    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        options = security.client_options()
        if config.server_name:
            options.append(("grpc.ssl_target_name_override", config.server_name))
        self._metadata: tuple[tuple[str, str], ...] = ()
        if config.tls:
            if config.ca is None:
                raise security.SecurityError("edge TLS needs a CA bundle (EdgeConfig.ca)")
            creds = security.channel_credentials(config.ca, config.client_cert, config.client_key, config.token)
            self.channel = grpc.secure_channel(config.target, creds, options=options)
        else:
            if not is_loopback(config.target):
                raise security.SecurityError(
                    f"edge at {config.target}: plaintext is only allowed to loopback or a unix socket; "
                    "enable edge TLS")
            self.channel = grpc.insecure_channel(config.target, options=options)
            if config.token:
                self._metadata = (("authorization", f"Bearer {config.token}"),)
        self.stub = skill_pb2_grpc.SkillServiceStub(self.channel)
        self._lock = threading.Lock()
        self._active: grpc.Future | None = None

    def close(self) -> None:
        self.cancel_active()
        self.channel.close()

    def step_timeout(self, contract: skill_pb2.SkillContract | None) -> float:
        if contract is not None and contract.max_duration_s > 0:
            return contract.max_duration_s
        return self.config.default_step_timeout_s

    def list_skills(self, embodiment: str = "") -> skill_pb2.ListSkillsResponse:
        return self.stub.ListSkills(skill_pb2.ListSkillsRequest(embodiment=embodiment),
                                    timeout=self.config.call_timeout_s, metadata=self._metadata)

    def execute(self, request: skill_pb2.ExecuteSkillRequest,
                on_progress: Callable[[skill_pb2.SkillProgress], None] | None = None,
                is_canceled: Callable[[], bool] | None = None) -> StepResult:
        """Run one skill to a terminal phase; never raises for call failures."""
        skill_timeout = request.timeout_s if request.timeout_s > 0 else self.config.default_step_timeout_s
        deadline = skill_timeout * max(self.config.max_slowdown, 1.0) + self.config.step_timeout_margin_s
        t0 = time.perf_counter()
        result = StepResult(phase=Phase.PHASE_UNSPECIFIED)
        call = self.stub.Execute(request, timeout=deadline, metadata=self._metadata)
        with self._lock:
            self._active = call
        if is_canceled is not None and is_canceled():
            call.cancel()
        last_message = [time.monotonic()]
        stalled = threading.Event()
        ended = threading.Event()
        stall_s = self.config.stall_timeout_s

        def watch() -> None:  # cancels a stream the edge stopped answering on
            while not ended.wait(min(0.25, stall_s / 4)):
                if time.monotonic() - last_message[0] > stall_s:
                    stalled.set()
                    call.cancel()
                    return

        if stall_s > 0:
            threading.Thread(target=watch, name="edge-stall-watch", daemon=True).start()
        try:
            for msg in call:
                last_message[0] = time.monotonic()
                if result.first_progress_s is None:
                    result.first_progress_s = time.perf_counter() - t0
                result.messages += 1
                if on_progress is not None:
                    on_progress(msg)
                if msg.phase in TERMINAL_PHASES and result.final is None:
                    result.final = msg
                    result.phase = msg.phase
                    result.message = msg.message
            if result.final is None:
                result.message = "the edge closed the Execute stream without a terminal phase"
        except grpc.RpcError as exc:
            code = exc.code()
            if result.final is None:
                result.code = code
                result.canceled = code == grpc.StatusCode.CANCELLED and bool(is_canceled and is_canceled())
                if stalled.is_set() and not result.canceled:
                    result.code = grpc.StatusCode.DEADLINE_EXCEEDED
                    result.message = f"the edge sent nothing for {stall_s:g} s (stream given up)"
                elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    result.message = f"no terminal phase from the edge within {deadline:.1f} s"
                else:
                    result.message = f"{code.name}: {exc.details()}"
        finally:
            ended.set()
            with self._lock:
                if self._active is call:
                    self._active = None
        result.duration_s = time.perf_counter() - t0
        return result

    def cancel_active(self) -> bool:
        with self._lock:
            call = self._active
        if call is None:
            return False
        call.cancel()
        return True
