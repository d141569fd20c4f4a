"""Benchmark of the brain PlannerService over TLS on loopback; prints JSON.

Starts `python -m robot_control.brain.server` (TLS with a fresh dev CA, bearer token) in
a child process, then measures with `PlannerClient`:

* ``nl_5_objects``: MakePlan with an NL instruction, 5-object world: p50/p99 latency;
* ``goals_20_objects_6_goals``: structured goals for 6 of 20 objects: p50/p99;
* the split of each (nl, translate, search, server, transport) from `server_timing`;
* ``fallback``: the server is killed mid-run; latency of the calls answered locally.

Usage: HF_HUB_OFFLINE=1 python bench/brain.py [--n 40]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from robot_control.brain import certs, fixtures
from robot_control.bridge.planner_client import ClientConfig, PlannerClient, PlanOutcome
from robot_control.v1 import planner_pb2

# Unique instructions (verb x object x destination) so the NL stage is never a cache hit.
INSTRUCTIONS = [f"{verb} the {obj} {prep} the {dest}"
                for verb in ("put", "place", "move", "drop", "set")
                for obj in ("red mug", "blue cube", "green can", "yellow banana", "white bottle")
                for prep, dest in (("in", "bin"), ("on", "shelf"))]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def summary(outcomes: list[PlanOutcome]) -> dict:
    lat = [o.latency_s * 1e3 for o in outcomes]
    split: dict[str, list[float]] = {}
    for o in outcomes:
        for k, v in o.response.server_timing.stages_s.items():
            split.setdefault(k, []).append(v * 1e3)
        split.setdefault("server", []).append(o.server_s * 1e3)
        split.setdefault("transport", []).append(o.transport_s * 1e3)
    keep = ("nl", "build", "translate", "search", "search_fd", "validate", "server", "transport")
    return {"n": len(lat), "p50_ms": round(pct(lat, 0.5), 1), "p99_ms": round(pct(lat, 0.99), 1),
            "mean_ms": round(statistics.fmean(lat), 1),
            "split_p50_ms": {k: round(pct(split[k], 0.5), 2) for k in keep if k in split},
            "modes": sorted({o.mode for o in outcomes}),
            "outcomes": dict(Counter(planner_pb2.PlanResponse.Outcome.Name(o.response.outcome) for o in outcomes))}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, certs_dir: str, token: str) -> tuple[subprocess.Popen, float]:
    env = dict(os.environ, BRAIN_TOKEN=token, HF_HUB_OFFLINE="1")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "robot_control.brain.server", "--listen", f"127.0.0.1:{port}",
                             "--certs-dir", certs_dir, "--token-env", "BRAIN_TOKEN"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    paths = certs.CertPaths(certs.Path(certs_dir))
    creds = grpc.composite_channel_credentials(grpc.ssl_channel_credentials(paths.ca.read_bytes()),
                                               grpc.access_token_call_credentials(token))
    with grpc.secure_channel(f"127.0.0.1:{port}", creds) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while time.perf_counter() - t0 < 120:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0).status == 1:
                    return proc, time.perf_counter() - t0
            except grpc.RpcError:
                time.sleep(0.2)
    raise RuntimeError("server did not become healthy")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    args = ap.parse_args()
    token = "bench-" + uuid.uuid4().hex
    contracts = fixtures.standard_contracts()
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        certs.create_dev_certs(tmp)
        port = free_port()
        proc, startup = start_server(port, tmp, token)
        result["server_startup_s"] = round(startup, 2)
        client = PlannerClient(ClientConfig.from_certs_dir(f"127.0.0.1:{port}", tmp, token))
        try:
            world5 = fixtures.demo_world(5)
            for text in ("put the red mug on the table", "clear the table"):  # warm up connection
                client.plan(planner_pb2.PlanRequest(request_id=str(uuid.uuid4()), world=world5,
                                                    capabilities=contracts, instruction=text), 5.0)
            nl = [client.plan(planner_pb2.PlanRequest(
                request_id=str(uuid.uuid4()), world=world5, capabilities=contracts,
                instruction=INSTRUCTIONS[i % len(INSTRUCTIONS)]), 5.0) for i in range(args.n)]
            result["nl_5_objects"] = summary(nl)
            world20 = fixtures.demo_world(20)
            goals = fixtures.goals(*[("at", o.name, "bin" if i % 2 else "shelf")
                                     for i, o in enumerate(world20.objects[:6])])
            big = [client.plan(planner_pb2.PlanRequest(request_id=str(uuid.uuid4()), world=world20,
                                                       capabilities=contracts, goals=goals), 5.0)
                   for _ in range(args.n)]
            result["goals_20_objects_6_goals"] = summary(big)
            result["goals_20_objects_6_goals"]["plan_steps"] = len(big[-1].response.plan.steps)
            # Cloud killed mid-run: structured calls continue locally.
            goals5 = fixtures.goals(("at", "red_mug", "bin"), ("at", "blue_cube", "shelf"))
            run: list[PlanOutcome] = []
            deadline = 1.0
            for i in range(10):
                if i == 5:
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                run.append(client.plan(planner_pb2.PlanRequest(request_id=str(uuid.uuid4()), world=world5,
                                                               capabilities=contracts, goals=goals5), deadline))
            local = [o for o in run if o.mode == "local"]
            result["fallback"] = {
                "deadline_ms": deadline * 1e3,
                "modes": [o.mode for o in run],
                "first_local_ms": round(local[0].latency_s * 1e3, 1) if local else None,
                "local_p50_ms": round(pct([o.latency_s * 1e3 for o in local], 0.5), 1) if local else None,
                "local_max_ms": round(max(o.latency_s * 1e3 for o in local), 1) if local else None,
                "cloud_attempts_first_local": local[0].attempts if local else None,
                "local_planning_ms": round(local[0].hops["local"] * 1e3, 1) if local else None,
            }
        finally:
            client.close()
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(10)
    result["targets"] = {"nl_5_objects_p50_ms<=250": result["nl_5_objects"]["p50_ms"] <= 250,
                         "goals_20_objects_6_goals_p50_ms<=1000": result["goals_20_objects_6_goals"]["p50_ms"] <= 1000}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
