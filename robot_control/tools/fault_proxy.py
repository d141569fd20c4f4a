"""A fault-injecting TCP proxy for testing the links between tiers (bridge<->brain, bridge<->edge).

    python -m robot_control.tools.fault_proxy --listen 127.0.0.1:7001 --upstream 127.0.0.1:50051 \
        --latency-ms 40 --jitter-ms 10 --control 127.0.0.1:7002

Impairments, changeable while running (Python API or the JSON-lines control port):
  latency_ms / jitter_ms   one-way delay added to every chunk, each direction (order is kept:
                           a chunk never overtakes an earlier one, as on a real link);
  drop_rate                probability that a chunk is "lost" and arrives only after
                           retransmit_ms (TCP retransmission: loss shows up as a stall, never
                           as corruption);
  blackhole                accept and keep connections but deliver nothing (a dead route:
                           the peer only notices through its deadlines / keepalive); bytes are
                           held, not lost, and delivered if the route comes back (as TCP would);
  refuse                   close new connections immediately (service down);
  disconnect()             reset every open connection now.

Control port: send one JSON object per line, e.g. {"latency_ms": 200} or
{"disconnect": true}; the reply is the current settings as JSON.
"""

from __future__ import annotations

import argparse
import heapq
import json
import logging
import random
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

log = logging.getLogger("fault_proxy")


@dataclass
class Impairment:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    drop_rate: float = 0.0
    retransmit_ms: float = 200.0
    blackhole: bool = False
    refuse: bool = False

    def update(self, **changes: object) -> None:
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown impairment {key!r}")
            kind = type(getattr(self, key))
            if kind is bool:
                if not isinstance(value, bool):
                    raise ValueError(f"{key}: expected true/false, got {value!r}")
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"{key}: expected a number >= 0, got {value!r}")
                if key == "drop_rate" and value > 1:
                    raise ValueError("drop_rate must be within [0, 1]")
            setattr(self, key, kind(value))


def _parse_addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


class _Pipe:
    """One direction of one connection: a reader thread and a delayed, ordered writer thread."""

    def __init__(self, proxy: FaultProxy, src: socket.socket, dst: socket.socket, name: str) -> None:
        self.proxy, self.src, self.dst, self.name = proxy, src, dst, name
        self._heap: list[tuple[float, int, bytes]] = []
        self._cv = threading.Condition()
        self._seq = 0
        self._last_release = 0.0
        self._closed = False
        threading.Thread(target=self._read, name=f"{name}-rx", daemon=True).start()
        threading.Thread(target=self._write, name=f"{name}-tx", daemon=True).start()

    def _read(self) -> None:
        imp = self.proxy.impairment
        try:
            while True:
                data = self.src.recv(65536)
                if not data:
                    break
                now = time.monotonic()
                delay = imp.latency_ms + (random.uniform(-imp.jitter_ms, imp.jitter_ms) if imp.jitter_ms else 0.0)
                if imp.drop_rate and random.random() < imp.drop_rate:
                    delay += imp.retransmit_ms
                release = max(now + max(delay, 0.0) / 1e3, self._last_release)  # keep order
                self._last_release = release
                with self._cv:
                    self._seq += 1
                    heapq.heappush(self._heap, (release, self._seq, data))
                    self._cv.notify()
        except OSError:
            pass
        with self._cv:
            self._closed = True
            self._cv.notify()

    def _write(self) -> None:
        try:
            while True:
                with self._cv:
                    while not self._heap and not self._closed:
                        self._cv.wait(0.5)
                    if not self._heap and self._closed:
                        break
                    if self.proxy.impairment.blackhole:
                        self._cv.wait(0.05)  # route down: hold everything
                        continue
                    release, _, data = self._heap[0]
                    wait = release - time.monotonic()
                    if wait > 0:
                        self._cv.wait(wait)
                        continue
                    heapq.heappop(self._heap)
                self.dst.sendall(data)
        except OSError:
            pass
        for s in (self.dst, self.src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FaultProxy:
    def __init__(self, listen: str | tuple[str, int], upstream: str | tuple[str, int],
                 impairment: Impairment | None = None) -> None:
        self.listen_addr = _parse_addr(listen) if isinstance(listen, str) else listen
        self.upstream = _parse_addr(upstream) if isinstance(upstream, str) else upstream
        self.impairment = impairment or Impairment()
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.accepted = 0

    @property
    def port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    @property
    def address(self) -> str:
        return f"{self.listen_addr[0]}:{self.port}"

    def start(self) -> FaultProxy:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self.listen_addr)
        sock.listen(64)
        sock.settimeout(0.2)
        self._sock = sock
        threading.Thread(target=self._accept, name="fault-proxy", daemon=True).start()
        return self

    def set(self, **changes: object) -> dict[str, object]:
        self.impairment.update(**changes)
        log.info("impairment now %s", asdict(self.impairment))
        return asdict(self.impairment)

    def disconnect(self) -> int:
        """Reset every open connection (RST); returns how many sockets were closed."""
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            # Linux keeps a socket alive while another thread is blocked in recv() on it, so
            # close() alone sends nothing until that peer talks. SHUT_RD wakes the pipe's reader
            # without a FIN; with linger 0 the last close then sends the RST at once.
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.shutdown(socket.SHUT_RD)
            except OSError:
                pass
            try:
                c.close()
            except OSError:
                pass
        return len(conns)

    def stop(self) -> None:
        self._stop.set()
        self.disconnect()
        if self._sock is not None:
            self._sock.close()

    def _accept(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.impairment.refuse:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=2.0)
            except OSError as exc:
                log.info("upstream %s:%d unreachable: %s", *self.upstream, exc)
                client.close()
                continue
            for s in (client, upstream):
                s.settimeout(None)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.update((client, upstream))
            self.accepted += 1
            _Pipe(self, client, upstream, "up")
            _Pipe(self, upstream, client, "down")

    def serve_control(self, address: str | tuple[str, int]) -> tuple[str, int]:
        """JSON-lines control port; returns the bound address."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(_parse_addr(address) if isinstance(address, str) else address)
        sock.listen(4)

        def handle(conn: socket.socket) -> None:
            with conn, conn.makefile("rwb") as f:
                for line in f:
                    try:
                        req = json.loads(line)
                        if not isinstance(req, dict):
                            raise ValueError("expected a JSON object")
                        closed = self.disconnect() if req.pop("disconnect", False) else 0
                        reply: dict[str, object] = {"ok": True, **self.set(**req), "disconnected": closed}
                    except (ValueError, TypeError) as exc:
                        reply = {"ok": False, "error": str(exc)}
                    f.write((json.dumps(reply) + "\n").encode())
                    f.flush()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                threading.Thread(target=handle, args=(conn,), daemon=True).start()

        threading.Thread(target=loop, name="fault-proxy-control", daemon=True).start()
        return sock.getsockname()


def control(address: str, **changes: object) -> dict[str, object]:
    """Send one change to a running proxy's control port; returns its reply."""
    with socket.create_connection(_parse_addr(address), timeout=5.0) as s, s.makefile("rwb") as f:
        f.write((json.dumps(changes) + "\n").encode())
        f.flush()
        return json.loads(f.readline())


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", required=True, help="HOST:PORT to accept on")
    p.add_argument("--upstream", required=True, help="HOST:PORT to forward to")
    p.add_argument("--control", default=None, help="HOST:PORT for the JSON-lines control port")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--blackhole", action="store_true")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[fault_proxy] %(message)s", stream=sys.stderr)
    proxy = FaultProxy(a.listen, a.upstream, Impairment(a.latency_ms, a.jitter_ms, a.drop_rate,
                                                         blackhole=a.blackhole)).start()
    if a.control:
        log.info("control on %s:%d", *proxy.serve_control(a.control))
    log.info("proxy %s -> %s:%d", proxy.address, *proxy.upstream)
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
