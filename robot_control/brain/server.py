"""The cloud brain: gRPC PlannerService (MakePlan, Replan) with health and reflection.

Security by default: TLS with certificates from ``--certs-dir`` (a dev CA set is created
there if missing, see `robot_control.brain.certs`), optional mTLS (``--mtls``), and a
bearer token checked on every call by `security.TokenAuthInterceptor`. Plaintext needs
``--insecure`` and logs a warning.

MakePlan is idempotent by `request_id`: answers are kept in a bounded LRU cache, so a
retried call gets the same answer without planning again. Bad requests get
INVALID_ARGUMENT with `google.rpc.BadRequest` field violations (grpc-status rich errors);
a planner time-out gets DEADLINE_EXCEEDED; every reply carries `server_timing`.

Run: ``brain_server --listen 0.0.0.0:50051 --certs-dir ~/.robot_control/certs``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from collections import OrderedDict
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
from google.rpc import code_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from robot_control.brain import certs as certs_mod
from robot_control.brain import security
from robot_control.brain.domain import RequestError
from robot_control.brain.planner import Planner
from robot_control.brain.service import Interpreter, PlanningCore
from robot_control.common.grpc_errors import abort
from robot_control.v1 import planner_pb2, planner_pb2_grpc

log = logging.getLogger("robot_control.brain.server")
SERVICE_NAME = planner_pb2.DESCRIPTOR.services_by_name["PlannerService"].full_name


_abort = abort  # rich INVALID_ARGUMENT details: robot_control.common.grpc_errors


class AnswerCache:
    """Bounded LRU of request_id -> (request bytes, answer)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[bytes, planner_pb2.PlanResponse]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, key: str, fingerprint: bytes) -> planner_pb2.PlanResponse | None | bool:
        """The cached answer, None if unknown, False if the id was used for another request."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            if item[0] != fingerprint:
                return False
            self.hits += 1
            return item[1]

    def put(self, key: str, fingerprint: bytes, answer: planner_pb2.PlanResponse) -> None:
        with self._lock:
            self._items[key] = (fingerprint, answer)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class PlannerServicer(planner_pb2_grpc.PlannerServiceServicer):
    def __init__(self, core: PlanningCore, cache_size: int = 1024) -> None:
        self.core = core
        self.cache = AnswerCache(cache_size)

    def _answer(self, kind: str, request, context: grpc.ServicerContext) -> planner_pb2.PlanResponse:
        t0 = time.perf_counter()
        if not request.request_id:
            _abort(context, code_pb2.INVALID_ARGUMENT, "request_id is required (idempotency key)",
                   [("request_id", "must be a non-empty unique id")])
        key = f"{kind}:{request.request_id}"
        fingerprint = request.SerializeToString(deterministic=True)
        cached = self.cache.get(key, fingerprint)
        if cached is False:
            _abort(context, code_pb2.INVALID_ARGUMENT, "request_id reused for a different request",
                   [("request_id", "already used for a different request")])
        if cached is not None:
            reply = planner_pb2.PlanResponse()
            reply.CopyFrom(cached)
            reply.server_timing.stages_s["cache"] = time.perf_counter() - t0
            reply.server_timing.total_s = time.perf_counter() - t0
            return reply
        time_left = context.time_remaining()
        try:
            if kind == "plan":
                reply = self.core.make_plan(request, time_left)
            else:
                reply = self.core.replan(request, time_left)
        except RequestError as exc:
            _abort(context, code_pb2.INVALID_ARGUMENT, f"invalid {kind} request: {exc}", exc.violations)
        except TimeoutError as exc:
            _abort(context, code_pb2.DEADLINE_EXCEEDED, str(exc))
        except Exception:
            log.exception("%s %s failed", kind, request.request_id)
            _abort(context, code_pb2.INTERNAL, "internal planner error")
        reply.server_timing.total_s = time.perf_counter() - t0
        self.cache.put(key, fingerprint, reply)
        return reply

    def MakePlan(self, request: planner_pb2.PlanRequest, context: grpc.ServicerContext) -> planner_pb2.PlanResponse:
        return self._answer("plan", request, context)

    def Replan(self, request: planner_pb2.ReplanRequest, context: grpc.ServicerContext) -> planner_pb2.PlanResponse:
        return self._answer("replan", request, context)


@dataclass
class ServerConfig:
    listen: str = "127.0.0.1:50051"
    certs_dir: Path | None = None  # TLS material; None only with insecure
    mtls: bool = False
    insecure: bool = False
    token: str | None = None  # None disables the token check (tests of TLS alone)
    workers: int = 8
    cache_size: int = 1024
    max_message_bytes: int = security.MAX_MESSAGE_BYTES


class BrainServer:
    """A running PlannerService; `port` is the bound port (use port 0 for ephemeral)."""

    def __init__(self, config: ServerConfig, interpret: Interpreter | None = None,
                 planner: Planner | None = None) -> None:
        self.config = config
        self.core = PlanningCore(planner or Planner(), interpret)
        self.servicer = PlannerServicer(self.core, config.cache_size)
        options = [(k, v) for k, v in security.SERVER_OPTIONS if "message_length" not in k]
        options += [("grpc.max_receive_message_length", config.max_message_bytes),
                    ("grpc.max_send_message_length", config.max_message_bytes)]
        interceptors = [security.TokenAuthInterceptor(config.token)] if config.token else []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=config.workers,
                                                             thread_name_prefix="brain"),
                                  interceptors=interceptors, options=options)
        planner_pb2_grpc.add_PlannerServiceServicer_to_server(self.servicer, self.server)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME), self.server)
        if config.insecure:
            log.warning("brain server listening WITHOUT TLS on %s (--insecure): traffic and tokens "
                        "are readable on the network", config.listen)
            self.port = self.server.add_insecure_port(config.listen)
        else:
            if config.certs_dir is None:
                raise security.SecurityError("TLS needs a certificates folder (or --insecure)")
            paths = certs_mod.ensure_dev_certs(config.certs_dir)
            creds = security.server_credentials(paths, require_client_cert=config.mtls)
            self.port = self.server.add_secure_port(config.listen, creds)
        if not self.port:
            raise OSError(f"cannot listen on {config.listen}")

    def start(self) -> BrainServer:
        self.server.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        return self

    def stop(self, grace: float | None = 0.5) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="brain_server", description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:50051", help="host:port to bind (default %(default)s)")
    p.add_argument("--certs-dir", type=Path, default=Path.home() / ".robot_control" / "certs",
                   help="TLS folder (ca.pem, server.pem/key); a dev CA set is created if missing")
    p.add_argument("--token-file", type=Path, help="file holding the bearer token")
    p.add_argument("--token-env", default=security.DEFAULT_TOKEN_ENV,
                   help="environment variable holding the bearer token (default %(default)s)")
    p.add_argument("--mtls", action="store_true", help="require client certificates signed by the CA")
    p.add_argument("--insecure", action="store_true", help="plaintext (development only; logs a warning)")
    p.add_argument("--no-nl", action="store_true", help="do not load the language model (goals only)")
    p.add_argument("--torch-threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=8)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = parse_args(argv)
    try:
        token = security.load_token(args.token_file, args.token_env)
    except security.SecurityError as exc:
        log.error("%s", exc)
        return 2
    interpret = None
    if not args.no_nl:
        from robot_control.brain.nl import InstructionParser

        parser = InstructionParser(torch_threads=args.torch_threads)
        log.info("language model loaded in %.2fs", parser.load_s)
        interpret = parser.parse
    from robot_control.brain.planner import warm_up

    log.info("planner warm-up %.3fs", warm_up())
    config = ServerConfig(listen=args.listen, certs_dir=None if args.insecure else args.certs_dir,
                          mtls=args.mtls, insecure=args.insecure, token=token, workers=args.workers)
    server = BrainServer(config, interpret).start()
    log.info("brain PlannerService on port %d (%s%s)", server.port,
             "plaintext" if args.insecure else "TLS", ", mTLS" if args.mtls else "")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop(2.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
