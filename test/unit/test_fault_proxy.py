"""The fault-injecting TCP proxy: transparent by default, then each impairment does what it says."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from robot_control.tools.fault_proxy import FaultProxy, control

pytestmark = pytest.mark.unit


@pytest.fixture()
def echo() -> Iterator[tuple[str, int]]:
    srv = socket.create_server(("127.0.0.1", 0))

    def serve(conn: socket.socket) -> None:
        # The proxy's disconnect/reset faults abort this side too: a reset ends the echo quietly.
        with conn, contextlib.suppress(ConnectionError):
            while data := conn.recv(65536):
                conn.sendall(data)

    def loop() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    yield srv.getsockname()
    srv.close()


@pytest.fixture()
def proxy(echo: tuple[str, int]) -> Iterator[FaultProxy]:
    p = FaultProxy(("127.0.0.1", 0), echo).start()
    yield p
    p.stop()


def connect(p: FaultProxy, timeout: float = 5.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", p.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def test_transparent_by_default(proxy: FaultProxy) -> None:
    with connect(proxy) as s:
        payload = bytes(range(256)) * 400
        s.sendall(payload)
        assert recv_exact(s, len(payload)) == payload


def test_latency_is_added_each_way_and_order_kept_under_jitter(proxy: FaultProxy) -> None:
    proxy.set(latency_ms=60, jitter_ms=40)
    with connect(proxy) as s:
        t0 = time.monotonic()
        for i in range(50):
            s.sendall(i.to_bytes(2, "big"))
            time.sleep(0.001)
        got = recv_exact(s, 100)
        elapsed = time.monotonic() - t0
    assert [int.from_bytes(got[i:i + 2], "big") for i in range(0, 100, 2)] == list(range(50))
    assert elapsed >= 2 * 0.020  # at least the minimum one-way delay, both ways


def test_blackhole_stalls_then_delivers_when_route_returns(proxy: FaultProxy) -> None:
    with connect(proxy, timeout=0.3) as s:
        proxy.set(blackhole=True)
        s.sendall(b"hello")
        with pytest.raises(TimeoutError):
            s.recv(5)
        proxy.set(blackhole=False)
        s.settimeout(5.0)
        assert recv_exact(s, 5) == b"hello"


def test_refuse_and_disconnect(proxy: FaultProxy) -> None:
    s = connect(proxy)
    s.sendall(b"x")
    assert recv_exact(s, 1) == b"x"
    assert proxy.disconnect() == 2
    with pytest.raises((ConnectionError, OSError)):
        s.sendall(b"y" * 100000)
        recv_exact(s, 1)
    s.close()
    proxy.set(refuse=True)
    with connect(proxy) as s2:
        assert s2.recv(1) == b""  # closed at once


def test_control_port_changes_settings_and_rejects_bad_ones(proxy: FaultProxy) -> None:
    host, port = proxy.serve_control(("127.0.0.1", 0))
    reply = control(f"{host}:{port}", latency_ms=25, drop_rate=0.1)
    assert reply["ok"] and reply["latency_ms"] == 25 and proxy.impairment.drop_rate == 0.1
    assert not control(f"{host}:{port}", latency_ms=-1)["ok"]
    assert "unknown" in str(control(f"{host}:{port}", bandwidth=1)["error"])


def test_disconnect_reaches_both_ends_of_a_silent_connection() -> None:
    """A server that is blocked (never sends) must still see the reset at once: that is how
    an edge learns that a bridge's call died mid-skill."""
    srv = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(srv.accept()[0]), daemon=True).start()
    p = FaultProxy(("127.0.0.1", 0), srv.getsockname()).start()
    try:
        with connect(p, timeout=2.0) as s:
            s.sendall(b"request")
            deadline = time.monotonic() + 5.0
            while not accepted and time.monotonic() < deadline:
                time.sleep(0.01)
            upstream = accepted[0]
            upstream.settimeout(2.0)
            assert recv_exact(upstream, 7) == b"request"
            assert p.disconnect() == 2
            for end in (s, upstream):  # neither end sends anything after the disconnect
                try:
                    assert end.recv(1) == b""
                except ConnectionResetError:
                    pass
            upstream.close()
    finally:
        p.stop()
        srv.close()
