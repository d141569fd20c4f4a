"""Benchmark of the edge tier's inference path; prints JSON.

(a) ``step``: one skill step through `SkillPolicy.act` (validation, normalisation in-graph,
    clipping) vs the raw onnxruntime `session.run` on the same model and input, same process,
    interleaved so both see the same machine load. Target: ratio p50 <= 2.
(b) ``wire``: observation -> action round trip over loopback, server in its own process
    (spawned), the SAME ONNX model and observation size behind three wire designs:
      * ``edge_policy_port_unix`` / ``edge_policy_port_tcp``: ours (robot_control.edge.policy_port);
      * ``lerobot_grpc_pickle``: LeRobot async-inference style: gRPC, pickled observation
        dict sent on a client-streaming ``SendObservations`` call, then a unary ``GetActions``
        returning a pickled action chunk (two RPCs per step, as in LeRobot's policy server);
      * ``openpi_websocket_msgpack``: openpi style: an asyncio websockets server that sends
        metadata on connect, msgpack with numpy arrays packed as {__ndarray__, data, dtype,
        shape}; a sync websockets client.

The model is a shipped skill from config/skills when present (reach), else a generated MLP of
the same shape (14 -> 128 -> 128 -> 4). Usage: python bench/edge.py [--n 3000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import pickle
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from robot_control.edge.manifest import SCHEMA, load_manifest, manifest_from_dict, write_manifest
from robot_control.edge.observation import BASE_SIGNALS, BASE_SIZE
from robot_control.edge.policy import export_mlp, load_policy, session_options

OBS_DIM, ACT_DIM = BASE_SIZE, 4  # the fallback model takes the runtime's 14 measured signals


def stats_us(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    pick = lambda q: s[min(len(s) - 1, int(round(q * (len(s) - 1))))]  # noqa: E731
    return {"n": len(s), "p50_us": round(pick(0.5) * 1e6, 1), "p99_us": round(pick(0.99) * 1e6, 1),
            "mean_us": round(statistics.fmean(s) * 1e6, 1)}


def find_model(tmp: Path) -> tuple[Path, str]:
    """(manifest path, description) of the model every design serves."""
    shipped = Path(__file__).resolve().parent.parent / "config" / "skills" / "reach.yaml"
    if shipped.is_file():
        return shipped, "config/skills/reach.yaml"
    rng = np.random.default_rng(0)
    sizes = [OBS_DIM, 128, 128, ACT_DIM]
    layers = [(rng.normal(0, 1 / np.sqrt(a), (a, b)).astype(np.float32), np.zeros(b, np.float32))
              for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    data = {"schema": SCHEMA, "name": "reach", "version": "0.0.1", "embodiments": ["g1"],
            "parameters": ["arm:arm", "object:object"], "goal": "reach", "control_rate_hz": 50,
            "max_duration_s": 10,
            "observation": {"signals": [{"name": n, "size": k} for n, k in BASE_SIGNALS]},
            "action": {"space": "task_space", "signals": [{"name": "act", "size": ACT_DIM, "low": -1, "high": 1}]},
            "success": [{"check": "ee_near_goal", "tolerance": 0.01}],
            "model": {"file": "reach.onnx", "sha256": ""}}
    path = tmp / "reach.yaml"
    draft = manifest_from_dict(data, "bench", source=path)
    data["model"]["sha256"] = export_mlp(draft.model_path(), layers, draft)
    write_manifest(data, path)
    return path, "generated 14-128-128-4 MLP (no shipped reach model)"


# -- (a) step overhead --------------------------------------------------------------------------
def bench_step(manifest_path: Path, n: int) -> dict[str, object]:
    import onnxruntime as ort

    manifest = load_manifest(manifest_path)
    policy = load_policy(manifest)
    raw = ort.InferenceSession(str(manifest.model_path()), sess_options=session_options(),
                               providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).normal(0, 0.1, (1, policy.obs_dim)).astype(np.float32)
    feeds = {manifest.model_input: x}
    outs = [manifest.model_output]
    t_raw: list[float] = []
    t_pol: list[float] = []
    for _ in range(200):
        raw.run(outs, feeds)
        policy.act(x[0])
    for _ in range(n):
        t0 = time.perf_counter()
        raw.run(outs, feeds)
        t1 = time.perf_counter()
        policy.act(x[0])
        t2 = time.perf_counter()
        t_raw.append(t1 - t0)
        t_pol.append(t2 - t1)
    r, p = stats_us(t_raw), stats_us(t_pol)
    return {"raw_onnxruntime": r, "skill_policy_act": p,
            "ratio_p50": round(p["p50_us"] / r["p50_us"], 2), "ratio_p99": round(p["p99_us"] / r["p99_us"], 2)}


# -- (b) wire designs: servers (run in spawned processes) -------------------------------------
def _session(manifest_path: str) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    m = load_manifest(manifest_path)
    sess = ort.InferenceSession(str(m.model_path()), sess_options=session_options(),
                                providers=["CPUExecutionProvider"])
    name, outs = m.model_input, [m.model_output]
    return lambda obs: sess.run(outs, {name: obs.reshape(1, -1).astype(np.float32)})[0][0]


def serve_policy_port(manifest_path: str, address: str, token: str, ready: mp.Event, stop: mp.Event) -> None:
    from robot_control.edge.policy_port import PolicyPortServer

    policy = load_policy(load_manifest(manifest_path))
    server = PolicyPortServer(address, lambda s, e: policy, token=token)
    server.start()
    ready.set()
    stop.wait()
    server.stop()


def serve_lerobot(manifest_path: str, port: mp.Value, ready: mp.Event, stop: mp.Event) -> None:
    from concurrent import futures

    import grpc

    infer = _session(manifest_path)
    latest: dict[str, object] = {}

    def send_observations(request_iterator, context):  # type: ignore[no-untyped-def]
        for chunk in request_iterator:
            latest["obs"] = pickle.loads(chunk)  # noqa: S301 - re-creating the peer design on purpose
        return b""

    def get_actions(request, context):  # type: ignore[no-untyped-def]
        obs = latest["obs"]
        assert isinstance(obs, dict)
        action = infer(np.asarray(obs["observation.state"], dtype=np.float32))
        return pickle.dumps([{"timestep": obs["timestep"], "action": action}])

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("async_inference.AsyncInference", {
        "SendObservations": grpc.stream_unary_rpc_method_handler(send_observations),
        "GetActions": grpc.unary_unary_rpc_method_handler(get_actions),
    }),))
    port.value = server.add_insecure_port("127.0.0.1:0")
    server.start()
    ready.set()
    stop.wait()
    server.stop(0)


def _pack_array(obj: object) -> object:
    if isinstance(obj, np.ndarray):
        return {b"__ndarray__": True, b"data": obj.tobytes(), b"dtype": obj.dtype.str, b"shape": obj.shape}
    return obj


def _unpack_array(obj: dict) -> object:
    if b"__ndarray__" in obj:
        return np.ndarray(buffer=obj[b"data"], dtype=np.dtype(obj[b"dtype"]), shape=obj[b"shape"])
    return obj


def serve_openpi(manifest_path: str, port: mp.Value, ready: mp.Event, stop: mp.Event) -> None:
    import asyncio

    import msgpack
    from websockets.asyncio.server import serve

    infer = _session(manifest_path)

    async def handler(ws) -> None:  # type: ignore[no-untyped-def]
        await ws.send(msgpack.packb({"policy": "skill"}, default=_pack_array))
        async for message in ws:
            obs = msgpack.unpackb(message, object_hook=_unpack_array)
            action = infer(obs["state"])
            await ws.send(msgpack.packb({"actions": action}, default=_pack_array))

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
            port.value = next(iter(server.sockets)).getsockname()[1]
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)

    asyncio.run(main())


# -- (b) clients -----------------------------------------------------------------------------
def time_calls(step: Callable[[np.ndarray], np.ndarray], n: int, obs_dim: int) -> dict[str, float]:
    rng = np.random.default_rng(2)
    obs = [rng.normal(0, 0.1, obs_dim).astype(np.float32) for _ in range(64)]
    for i in range(200):
        step(obs[i % 64])
    samples = []
    for i in range(n):
        t0 = time.perf_counter()
        a = step(obs[i % 64])
        samples.append(time.perf_counter() - t0)
        assert a.shape == (ACT_DIM,)
    return stats_us(samples)


def bench_wire(manifest_path: Path, n: int, tmp: Path) -> dict[str, object]:
    import grpc
    import msgpack
    from websockets.sync.client import connect

    from robot_control.edge.policy_port import PolicyPortClient

    ctx = mp.get_context("spawn")
    results: dict[str, object] = {}
    obs_dim = load_manifest(manifest_path).obs_dim
    token = "bench-token-0123456789"

    def run_server(target: Callable[..., None], *args: object) -> tuple[mp.Process, mp.Event]:
        ready, stop = ctx.Event(), ctx.Event()
        proc = ctx.Process(target=target, args=(*args, ready, stop), daemon=True)
        proc.start()
        if not ready.wait(60):
            raise RuntimeError(f"{target.__name__} did not start")
        return proc, stop

    for label, address in (("edge_policy_port_unix", f"unix:{tmp}/edge.sock"),
                           ("edge_policy_port_tcp", "tcp:127.0.0.1:47391")):
        proc, stop = run_server(serve_policy_port, str(manifest_path), address, token)
        with PolicyPortClient(address, "reach", "any", token=token) as client:
            results[label] = time_calls(client.act, n, obs_dim)
        stop.set()
        proc.join(5)

    port = ctx.Value("i", 0)
    proc, stop = run_server(serve_lerobot, str(manifest_path), port)
    channel = grpc.insecure_channel(f"127.0.0.1:{port.value}")
    send = channel.stream_unary("/async_inference.AsyncInference/SendObservations")
    get = channel.unary_unary("/async_inference.AsyncInference/GetActions")
    counter = iter(range(10**9))

    def lerobot_step(obs: np.ndarray) -> np.ndarray:
        payload = pickle.dumps({"observation.state": obs, "timestep": next(counter), "must_go": True})
        send(iter([payload]), timeout=1.0)
        chunk = pickle.loads(get(b"", timeout=1.0))  # noqa: S301 - peer design
        return np.asarray(chunk[0]["action"])

    results["lerobot_grpc_pickle"] = time_calls(lerobot_step, n, obs_dim)
    channel.close()
    stop.set()
    proc.join(5)

    port = ctx.Value("i", 0)
    proc, stop = run_server(serve_openpi, str(manifest_path), port)
    with connect(f"ws://127.0.0.1:{port.value}", compression=None, max_size=None) as ws:
        msgpack.unpackb(ws.recv(), object_hook=_unpack_array)  # server metadata

        def openpi_step(obs: np.ndarray) -> np.ndarray:
            ws.send(msgpack.packb({"state": obs}, default=_pack_array))
            return np.asarray(msgpack.unpackb(ws.recv(), object_hook=_unpack_array)["actions"])

        results["openpi_websocket_msgpack"] = time_calls(openpi_step, n, obs_dim)
    stop.set()
    proc.join(5)
    ours = results["edge_policy_port_unix"]["p50_us"]  # type: ignore[index]
    results["speedup_p50_vs"] = {k: round(v["p50_us"] / ours, 2)  # type: ignore[index]
                                 for k, v in results.items() if not k.startswith("edge_")}
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=3000, help="timed calls per measurement")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rc-bench-edge-") as tmp_s:
        tmp = Path(tmp_s)
        manifest_path, model = find_model(tmp)
        out = {"benchmark": "edge", "model": model, "obs_dim": load_manifest(manifest_path).obs_dim,
               "cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
               "step": bench_step(manifest_path, a.n), "wire": bench_wire(manifest_path, a.n, tmp)}
    json.dump(out, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
