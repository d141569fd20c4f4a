"""Robot-side client of the cloud brain's PlannerService, with local fallback.

* Every call has its own deadline (`timeout=`), derived from the caller's overall deadline.
* Only idempotent calls are retried: MakePlan (same request_id -> same answer), on
  UNAVAILABLE, with exponential backoff and full jitter, never past the overall deadline.
  Replan is sent once.
* TLS (optionally mTLS with a client certificate) + bearer-token call credentials;
  plaintext only when `insecure=True`. Keepalive and message-size limits agree with the
  server's (`robot_control.brain.security`).
* `plan(request, deadline_s)` asks the cloud and falls back to `LocalPlanner` (structured
  goals only) when the cloud is unreachable or misses its deadline. Instruction-only
  requests cannot fall back: they raise `CloudUnavailable` ("cloud unavailable, need
  structured goals"). The returned `PlanOutcome` says which mode answered and splits the
  latency: client round trip, server time (`server_timing.total_s`) and transport.
* `replan_with_fallback(request, deadline_s)` does the same for Replan (sent once to the
  cloud); the local planner then plans the structured goals the task was resolved to
  (`ReplanRequest.executed.goals`, else the original request's goals) from the new world.
* While the link is down a call probes the cloud once and falls back at once; a request only
  the cloud can answer (an instruction) instead waits, within its deadline, for the channel
  to reconnect (gRPC wait_for_ready).
* Link state is tracked (`link_up`); after a fallback the next call tries the cloud again.
  `check_link(timeout_s)` probes it with the standard gRPC health check (token included), so
  a monitor can see the link go down and come back between plan calls.
* `LocalOnlyPlanner` has the same `plan` / `replan_with_fallback` interface without a cloud
  (``use_cloud: false``): structured goals only.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from robot_control.brain import security
from robot_control.bridge.local_planner import LocalPlanner
from robot_control.v1 import planner_pb2, planner_pb2_grpc

log = logging.getLogger(__name__)
SERVICE_NAME = planner_pb2.DESCRIPTOR.services_by_name["PlannerService"].full_name

_FALLBACK_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class PlannerClientError(RuntimeError):
    """A plan call failed in a way the fallback cannot fix (bad request, auth, internal)."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.code = code


class CloudUnavailable(PlannerClientError):
    """The cloud is unreachable and the request cannot be planned locally."""


@dataclass
class ClientConfig:
    target: str  # host:port
    ca: Path | None = None  # CA bundle (TLS); required unless insecure
    client_cert: Path | None = None  # mTLS
    client_key: Path | None = None
    token: str | None = None
    insecure: bool = False
    deadline_s: float = 2.0  # default overall deadline of `plan`
    local_reserve_s: float = 0.5  # part of the deadline kept for the local planner
    max_attempts: int = 4  # MakePlan attempts on UNAVAILABLE
    backoff_initial_s: float = 0.05
    backoff_max_s: float = 0.5
    server_name: str | None = None  # TLS name override (e.g. when dialing an IP not in the cert)

    @classmethod
    def from_certs_dir(cls, target: str, certs_dir: str | Path, token: str | None, mtls: bool = False,
                       **kw) -> ClientConfig:
        d = Path(certs_dir)
        return cls(target=target, ca=d / "ca.pem", client_cert=d / "client.pem" if mtls else None,
                   client_key=d / "client.key" if mtls else None, token=token, **kw)


@dataclass
class PlanOutcome:
    response: planner_pb2.PlanResponse
    mode: str  # "cloud" | "local"
    latency_s: float  # client-measured, whole `plan` call
    round_trip_s: float = 0.0  # last cloud attempt's round trip (cloud mode)
    server_s: float = 0.0  # server_timing.total_s of the answer
    transport_s: float = 0.0  # round trip - server time (cloud mode)
    attempts: int = 0  # cloud attempts made
    cloud_error: str = ""  # why the cloud did not answer (local mode)
    hops: dict[str, float] = field(default_factory=dict)


class PlannerClient:
    """Thread-safe client; close() when done (or use as a context manager)."""

    def __init__(self, config: ClientConfig, local: LocalPlanner | None = None) -> None:
        self.config = config
        self.local = local if local is not None else LocalPlanner()
        options = security.client_options()
        if config.server_name:
            options.append(("grpc.ssl_target_name_override", config.server_name))
        self._metadata: tuple[tuple[str, str], ...] = ()
        if config.insecure:
            log.warning("planner client using plaintext to %s (insecure)", config.target)
            self.channel = grpc.insecure_channel(config.target, options=options)
            if config.token:
                self._metadata = (("authorization", f"Bearer {config.token}"),)
        else:
            if config.ca is None:
                raise security.SecurityError("TLS needs a CA bundle (ClientConfig.ca) or insecure=True")
            creds = security.channel_credentials(config.ca, config.client_cert, config.client_key, config.token)
            self.channel = grpc.secure_channel(config.target, creds, options=options)
        self.stub = planner_pb2_grpc.PlannerServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)
        self._lock = threading.Lock()
        self.link_up = True  # last cloud call reached the server
        self.fallbacks = 0
        self.last_attempts = 0  # attempts of the last failed MakePlan
        self.last_error = ""  # why the cloud last failed to answer

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> PlannerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- raw calls -------------------------------------------------------------------------

    def make_plan(self, request: planner_pb2.PlanRequest, timeout_s: float, max_attempts: int | None = None,
                  wait_for_ready: bool = False) -> tuple[planner_pb2.PlanResponse, int, float]:
        """MakePlan with retries on UNAVAILABLE within `timeout_s`: (answer, attempts, last RTT).

        With `wait_for_ready` a call waits (within its deadline) for the channel to connect
        instead of failing UNAVAILABLE at once while the channel is reconnecting.
        """
        max_attempts = max_attempts or self.config.max_attempts
        if not request.request_id:
            raise ValueError("MakePlan needs a request_id (idempotency key) to be retried safely")
        end = time.monotonic() + timeout_s
        attempt = 0
        delay = self.config.backoff_initial_s
        while True:
            attempt += 1
            left = end - time.monotonic()
            if left <= 0:
                raise _Deadline(attempt - 1)
            t0 = time.perf_counter()
            try:
                resp = self.stub.MakePlan(request, timeout=left, metadata=self._metadata,
                                          wait_for_ready=wait_for_ready)
                return resp, attempt, time.perf_counter() - t0
            except grpc.RpcError as exc:
                self.last_attempts = attempt
                code = exc.code()
                if code != grpc.StatusCode.UNAVAILABLE or attempt >= max_attempts:
                    raise
                sleep = random.uniform(0, min(delay, self.config.backoff_max_s))  # full jitter
                if time.monotonic() + sleep >= end:
                    raise
                log.debug("MakePlan attempt %d UNAVAILABLE; retrying in %.3fs", attempt, sleep)
                time.sleep(sleep)
                delay *= 2

    def replan(self, request: planner_pb2.ReplanRequest, timeout_s: float,
               wait_for_ready: bool = False) -> planner_pb2.PlanResponse:
        """Replan, sent once (not retried) with its own deadline."""
        return self.stub.Replan(request, timeout=timeout_s, metadata=self._metadata, wait_for_ready=wait_for_ready)

    # -- plan with fallback ----------------------------------------------------------------

    def plan(self, request: planner_pb2.PlanRequest, deadline_s: float | None = None) -> PlanOutcome:
        """Cloud first (always retried after a fallback), local on unavailability/time-out."""
        deadline_s = self.config.deadline_s if deadline_s is None else deadline_s
        t0 = time.perf_counter()
        can_local = self.local is not None and self.local.can_plan(request)
        cloud_timeout = deadline_s - (self.config.local_reserve_s if can_local else 0.0)
        cloud_timeout = max(cloud_timeout, min(deadline_s, 0.05))
        attempts = 0
        try:
            # While the link is down, probe the cloud once per call instead of retrying - unless
            # the local planner cannot answer (an instruction): then wait, within the deadline,
            # for the channel to reconnect, since the cloud is the only way to an answer.
            probe_only = not self.link_up and can_local
            resp, attempts, rtt = self.make_plan(request, cloud_timeout, 1 if probe_only else None,
                                                 wait_for_ready=not can_local)
        except _Deadline as exc:
            attempts, err = exc.attempts, "cloud deadline spent before a reply"
        except grpc.RpcError as exc:
            if exc.code() not in _FALLBACK_CODES:
                self._set_link(True)
                raise PlannerClientError(f"cloud planner: {exc.code().name}: {exc.details()}", exc.code()) from exc
            attempts, err = self.last_attempts, f"{exc.code().name}: {exc.details()}"
        else:
            self._set_link(True)
            server = resp.server_timing.total_s
            return PlanOutcome(resp, "cloud", time.perf_counter() - t0, rtt, server, max(rtt - server, 0.0),
                               attempts, hops={"round_trip": rtt, "server": server,
                                               "transport": max(rtt - server, 0.0)})
        return self._fallback(request if can_local else None, err, attempts, deadline_s, t0)

    def replan_with_fallback(self, request: planner_pb2.ReplanRequest,
                             deadline_s: float | None = None) -> PlanOutcome:
        """Replan on the cloud (once), else plan the task's structured goals locally."""
        deadline_s = self.config.deadline_s if deadline_s is None else deadline_s
        t0 = time.perf_counter()
        local_request = local_replan_request(request)
        can_local = self.local is not None and local_request is not None
        cloud_timeout = deadline_s - (self.config.local_reserve_s if can_local else 0.0)
        cloud_timeout = max(cloud_timeout, min(deadline_s, 0.05))
        try:
            tc = time.perf_counter()
            resp = self.replan(request, cloud_timeout, wait_for_ready=not can_local)
            rtt = time.perf_counter() - tc
        except grpc.RpcError as exc:
            if exc.code() not in _FALLBACK_CODES:
                self._set_link(True)
                raise PlannerClientError(f"cloud planner: {exc.code().name}: {exc.details()}", exc.code()) from exc
            err = f"{exc.code().name}: {exc.details()}"
        else:
            self._set_link(True)
            server = resp.server_timing.total_s
            return PlanOutcome(resp, "cloud", time.perf_counter() - t0, rtt, server, max(rtt - server, 0.0), 1,
                               hops={"round_trip": rtt, "server": server, "transport": max(rtt - server, 0.0)})
        return self._fallback(local_request if can_local else None, err, 1, deadline_s, t0)

    def _fallback(self, request: planner_pb2.PlanRequest | None, err: str, attempts: int, deadline_s: float,
                  t0: float) -> PlanOutcome:
        self._set_link(False, err)
        if request is None:
            raise CloudUnavailable(f"cloud unavailable, need structured goals ({err})",
                                   grpc.StatusCode.UNAVAILABLE)
        with self._lock:
            self.fallbacks += 1
        left = deadline_s - (time.perf_counter() - t0)
        tl = time.perf_counter()
        resp = self.local.plan(request, max(left, 0.05))
        local_s = time.perf_counter() - tl
        return PlanOutcome(resp, "local", time.perf_counter() - t0, server_s=resp.server_timing.total_s,
                           attempts=attempts, cloud_error=err,
                           hops={"cloud_attempts": tl - t0, "local": local_s})

    def check_link(self, timeout_s: float = 1.0) -> bool:
        """Probe the brain with a health check; updates and returns `link_up`.

        While the link is up the probe fails fast (and says why); while it is down it waits for
        the channel to reconnect within `timeout_s` (wait_for_ready), so a returning brain is
        seen as soon as the reconnect succeeds, not one reconnect backoff later.
        """
        try:
            resp = self.health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=timeout_s,
                                     metadata=self._metadata, wait_for_ready=not self.link_up)
        except grpc.RpcError as exc:
            self._set_link(False, f"health check: {exc.code().name}: {exc.details()}")
            return False
        up = resp.status == health_pb2.HealthCheckResponse.SERVING
        status = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
        self._set_link(up, "" if up else f"health check: {status}")
        return up

    def _set_link(self, up: bool, error: str = "") -> None:
        with self._lock:
            if up != self.link_up:
                log.warning("cloud planner link %s", "restored" if up else f"lost ({error}): planning locally")
            self.link_up = up
            if error:
                self.last_error = error


def local_replan_request(request: planner_pb2.ReplanRequest) -> planner_pb2.PlanRequest | None:
    """The structured-goal PlanRequest a local planner can answer for a ReplanRequest, if any."""
    if len(request.executed.goals):
        goals = list(request.executed.goals)
    elif request.original.WhichOneof("task") == "goals":
        goals = list(request.original.goals.goals)
    else:
        return None
    return planner_pb2.PlanRequest(request_id=request.request_id, goals=planner_pb2.GoalList(goals=goals),
                                   world=request.world, capabilities=request.original.capabilities,
                                   planner_budget_s=request.original.planner_budget_s)


class LocalOnlyPlanner:
    """`PlannerClient`'s planning interface without a cloud (structured goals only)."""

    link_up = False
    fallbacks = 0
    last_error = "cloud disabled (use_cloud: false)"

    def __init__(self, local: LocalPlanner | None = None) -> None:
        self.local = local if local is not None else LocalPlanner()

    def plan(self, request: planner_pb2.PlanRequest, deadline_s: float | None = None) -> PlanOutcome:
        return self._plan(request if self.local.can_plan(request) else None, deadline_s)

    def replan_with_fallback(self, request: planner_pb2.ReplanRequest,
                             deadline_s: float | None = None) -> PlanOutcome:
        return self._plan(local_replan_request(request), deadline_s)

    def _plan(self, request: planner_pb2.PlanRequest | None, deadline_s: float | None) -> PlanOutcome:
        if request is None:
            raise CloudUnavailable("the cloud planner is disabled: send structured goals",
                                   grpc.StatusCode.UNAVAILABLE)
        t0 = time.perf_counter()
        resp = self.local.plan(request, deadline_s)
        took = time.perf_counter() - t0
        return PlanOutcome(resp, "local", took, server_s=resp.server_timing.total_s, hops={"local": took})

    def check_link(self, timeout_s: float = 1.0) -> bool:
        return False

    def close(self) -> None:
        pass


class _Deadline(Exception):  # noqa: N818 - internal signal
    def __init__(self, attempts: int) -> None:
        super().__init__("deadline")
        self.attempts = attempts
