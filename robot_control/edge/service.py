"""The edge gRPC SkillService (proto/robot_control/v1/skill.proto) over a `SkillRuntime`.

    ListSkills  contracts of the served skills (manifest -> SkillContract) for an embodiment
                ("" = all this edge serves; the robot name, an arm group or an embodiment spec
                name select them too) + every rejected skill file with its reason
    Execute     server stream: ACCEPTED -> RUNNING (progress, sub_phase, elapsed; about
                `progress_rate_hz`) -> one terminal phase (SUCCEEDED | FAILED | TIMED_OUT |
                CANCELED | PREEMPTED) whose message carries the world state; every message
                carries `server_timing` (validate, queue, execute, step latency percentiles)

Errors (google.rpc.BadRequest field violations attached where the request is at fault):
    INVALID_ARGUMENT     unknown skill, skill of another embodiment, unknown arm group,
                         missing/unknown arguments, objects/locations not in the world
    FAILED_PRECONDITION  the arm group (or one sharing joints) runs a skill; set `preempt`
    UNAVAILABLE          no fresh robot state yet

Cancelling the call (client cancel, deadline, disconnect) cancels the skill: the arm holds
at its measured position. The link is plaintext on the loopback by default; with a
certificates folder (`certs_dir`, layout of `robot_control.brain.certs`) it is TLS.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
from google.rpc import code_pb2

from robot_control.common.grpc_errors import abort
from robot_control.edge.manifest import to_contract
from robot_control.edge.runtime import (
    BusyError,
    NotReadyError,
    RequestError,
    SkillEvent,
    SkillRequest,
    SkillRuntime,
    WorldView,
)
from robot_control.v1 import common_pb2, skill_pb2, skill_pb2_grpc

log = logging.getLogger("robot_control.edge.service")

DEFAULT_ADDRESS = "127.0.0.1:50061"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # contracts carry their manifest YAML: KBs each
Phase = skill_pb2.SkillProgress.Phase
_COLORS = ("red", "green", "blue", "yellow", "white", "black", "orange", "purple", "pink", "gray", "grey")


_abort = abort  # rich INVALID_ARGUMENT details: robot_control.common.grpc_errors


def _vec(v: np.ndarray) -> common_pb2.Vector3:
    return common_pb2.Vector3(x=float(v[0]), y=float(v[1]), z=float(v[2]))


def world_to_proto(view: WorldView, robot: str, arm_groups: tuple[str, ...]) -> common_pb2.WorldState:
    """The edge's world as a WorldState: objects with a symbolic location, the bin/table locations."""
    snap = view.snapshot
    world = common_pb2.WorldState(robot=robot, arm_groups=list(arm_groups), holding=dict(view.holding),
                                  stamp_s=snap.stamp)
    held = {obj: arm for arm, obj in view.holding.items()}
    for name, region in view.locations.items():
        world.locations.add(name=name, size=_vec(region.size),
                            pose=common_pb2.Pose(position=_vec(region.center), frame_id="world",
                                                 orientation=common_pb2.Quaternion(w=1.0)))
    for name, obj in sorted(snap.objects.items()):
        if name in view.location_names:
            continue
        parts = name.split("_")
        location = held.get(name, "")
        if not location:
            for loc, region in view.locations.items():
                bottom = obj.position[2] - obj.size[2] / 2
                if region.contains_xy(obj.position) and bottom <= region.center[2] + max(region.size[2], 0.0) + 0.015:
                    location = loc
                    break
        x, y, z, w = (float(v) for v in obj.orientation)
        world.objects.add(
            name=name, kind=parts[-1] if len(parts) > 1 else name,
            color=parts[0] if parts[0] in _COLORS else "", location=location, size=_vec(obj.size),
            pose=common_pb2.Pose(position=_vec(obj.position), orientation=common_pb2.Quaternion(x=x, y=y, z=z, w=w),
                                 frame_id="world"))
    return world


def request_from_proto(request: skill_pb2.ExecuteSkillRequest) -> tuple[SkillRequest, list[tuple[str, str]]]:
    args: dict[str, object] = {}
    violations: list[tuple[str, str]] = []
    for i, arg in enumerate(request.arguments):
        if not arg.name:
            violations.append((f"arguments[{i}].name", "argument without a name"))
            continue
        if arg.name in args:
            violations.append((f"arguments[{arg.name}]", "given more than once"))
        which = arg.WhichOneof("value")
        if which == "symbol":
            args[arg.name] = arg.symbol
        elif which == "number":
            args[arg.name] = arg.number
        elif which == "pose":
            p = arg.pose.position
            args[arg.name] = (p.x, p.y, p.z)
        else:
            violations.append((f"arguments[{arg.name}]", "argument without a value"))
    req = SkillRequest(skill=request.skill, arm_group=request.arm_group, arguments=args,
                       timeout_s=request.timeout_s, preempt=request.preempt, request_id=request.request_id)
    return req, violations


class SkillServicer(skill_pb2_grpc.SkillServiceServicer):
    def __init__(self, runtime: SkillRuntime, stall_grace_s: float = 5.0) -> None:
        self.runtime = runtime
        self.stall_grace_s = stall_grace_s
        self.calls = 0
        self._lock = threading.Lock()

    def _selects(self, embodiment: str) -> bool:
        rt = self.runtime
        names = {rt.robot.name, *rt.executors, *(e.spec.name for e in rt.executors.values())}
        return embodiment in ("", *names)

    def ListSkills(self, request: skill_pb2.ListSkillsRequest,
                   context: grpc.ServicerContext) -> skill_pb2.ListSkillsResponse:
        skills = self.runtime.skills
        reply = skill_pb2.ListSkillsResponse(rejected=skills.rejected_lines())
        if self._selects(request.embodiment):
            reply.skills.extend(to_contract(s.manifest) for _, s in sorted(skills.skills.items()))
        return reply

    def Execute(self, request: skill_pb2.ExecuteSkillRequest, context: grpc.ServicerContext):
        t0 = time.perf_counter()
        with self._lock:
            self.calls += 1
        req, violations = request_from_proto(request)
        if not request.skill:
            violations.append(("skill", "required"))
        if violations:
            _abort(context, code_pb2.INVALID_ARGUMENT, "invalid skill request: "
                   + "; ".join(f"{f}: {d}" for f, d in violations), violations)
        try:
            run = self.runtime.submit(req)
        except RequestError as exc:
            _abort(context, code_pb2.INVALID_ARGUMENT, str(exc), exc.violations)
        except BusyError as exc:
            _abort(context, code_pb2.FAILED_PRECONDITION, str(exc))
        except NotReadyError as exc:
            _abort(context, code_pb2.UNAVAILABLE, str(exc))
        validate_s = time.perf_counter() - t0
        context.add_callback(lambda: run.cancel("the client cancelled the call"))

        def progress(event: SkillEvent, phase: int) -> skill_pb2.SkillProgress:
            msg = skill_pb2.SkillProgress(request_id=request.request_id, skill=request.skill, phase=phase,
                                          sub_phase=event.sub_phase, progress=event.progress,
                                          elapsed_s=event.elapsed_s, message=event.message)
            msg.server_timing.stages_s["validate"] = validate_s
            for key, value in event.timing.items():
                if key.endswith("_s"):  # seconds only (counts stay on /diagnostics)
                    msg.server_timing.stages_s[key.removesuffix("_s")] = value
            msg.server_timing.total_s = time.perf_counter() - t0
            if event.world is not None:
                msg.world.CopyFrom(world_to_proto(event.world, self.runtime.robot.name, self.runtime.arm_groups))
            return msg

        yield progress(SkillEvent("ACCEPTED", "queued", message=f"accepted on {run.group}"), Phase.ACCEPTED)
        last_event = time.monotonic()
        gone_at: float | None = None
        while True:
            event = run.next_event(timeout=0.1)
            if event is None:
                if not context.is_active():
                    run.cancel("the client went away")
                    gone_at = gone_at or time.monotonic()
                    if time.monotonic() - gone_at > 1.0:  # nobody to tell; the next tick holds the arm
                        return
                # RUNNING events arrive several times a second: silence means no control loop
                if time.monotonic() - last_event > self.stall_grace_s:
                    run.cancel("edge control loop stalled")
                    yield progress(SkillEvent("FAILED", "done", message="edge control loop stalled (no step for "
                                              f"{self.stall_grace_s:g} s); the cerebellum holds the last target"),
                                   Phase.FAILED)
                    return
                continue
            last_event = time.monotonic()
            yield progress(event, getattr(Phase, event.phase))
            if event.terminal:
                return


@dataclass
class EdgeServerConfig:
    address: str = DEFAULT_ADDRESS
    certs_dir: Path | None = None  # TLS with server.pem/server.key (+ ca.pem for mTLS); None: plaintext
    require_client_cert: bool = False
    workers: int = 8
    max_message_bytes: int = MAX_MESSAGE_BYTES
    token: str | None = None  # bearer token required on every call (brain.security); None: no check


class EdgeServer:
    """A running SkillService; `port` is the bound port (address port 0 picks one)."""

    def __init__(self, runtime: SkillRuntime, config: EdgeServerConfig | None = None) -> None:
        from robot_control.brain import security  # shared keepalive settings and TLS helpers

        self.config = config or EdgeServerConfig()
        self.servicer = SkillServicer(runtime)
        options = [(k, v) for k, v in security.SERVER_OPTIONS if "message_length" not in k]
        options += [("grpc.max_receive_message_length", self.config.max_message_bytes),
                    ("grpc.max_send_message_length", self.config.max_message_bytes)]
        interceptors = [security.TokenAuthInterceptor(self.config.token)] if self.config.token else []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=self.config.workers,
                                                             thread_name_prefix="edge-grpc"),
                                  interceptors=interceptors, options=options)
        skill_pb2_grpc.add_SkillServiceServicer_to_server(self.servicer, self.server)
        if self.config.certs_dir is None:
            host = self.config.address.rsplit(":", 1)[0].strip("[]")
            if host not in ("127.0.0.1", "localhost", "::1"):
                log.warning("edge SkillService listening WITHOUT TLS on %s (not loopback)", self.config.address)
            self.port = self.server.add_insecure_port(self.config.address)
        else:
            from robot_control.brain import certs

            paths = certs.ensure_dev_certs(self.config.certs_dir)
            creds = security.server_credentials(paths, require_client_cert=self.config.require_client_cert)
            self.port = self.server.add_secure_port(self.config.address, creds)
        if not self.port:
            raise OSError(f"cannot listen on {self.config.address}")
        self.tls = self.config.certs_dir is not None

    def start(self) -> EdgeServer:
        self.server.start()
        return self

    def stop(self, grace: float | None = 0.5) -> None:
        self.server.stop(grace).wait()
