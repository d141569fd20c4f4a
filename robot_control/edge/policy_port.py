"""The edge policy port: observation -> action over fixed-size binary frames.

The control plane of the edge tier is gRPC (`SkillService`: contracts, Execute, cancel). This
is its data plane for clients that want to step a served policy themselves (a user's own
controller, a remote evaluator, the benchmark): one persistent stream socket, frames whose
sizes are fixed by the skill contract, so there is nothing to parse, no schema per message and
nothing to unpickle.

Transport: a Unix domain socket (default; access control = file permissions, 0600) or TCP
(binds to 127.0.0.1 unless told otherwise, TCP_NODELAY, and a token is then REQUIRED).

Protocol (little endian, version 1):

    client -> server  HELLO   b"RCPP" u16 version u16 len + skill  u16 len + embodiment  u16 len + token
    server -> client  READY   b"OK" u32 obs_dim u32 act_dim 32 bytes model sha256
                      REFUSED b"NO" u16 len + reason            (then the server closes)
    client -> server  STEP    u32 seq, float32[obs_dim]
    server -> client  ACTION  u32 seq, u8 0, float32[act_dim]
                      ERROR   u32 seq, u8 1, u16 len + reason   (bad observation; stays open)

A bad observation (NaN/inf) never reaches the model: the reply says why and the connection
stays usable. Each connection gets its own thread; inference runs on the policy's own
onnxruntime session (1 intra/inter-op thread), guarded by a lock per policy.
"""

from __future__ import annotations

import hmac
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robot_control.edge.policy import SkillPolicy

log = logging.getLogger(__name__)

MAGIC = b"RCPP"
VERSION = 1
_STEP_HEAD = struct.Struct("<I")
_REPLY_HEAD = struct.Struct("<IB")
MAX_FIELD = 4096


class PolicyPortError(RuntimeError):
    """The port refused the session or a step (the message is the server's reason)."""


def _recv_exact(sock: socket.socket, buf: memoryview) -> bool:
    n = 0
    while n < len(buf):
        k = sock.recv_into(buf[n:])
        if k == 0:
            return False
        n += k
    return True


def _recv_bytes(sock: socket.socket, size: int) -> bytes:
    buf = bytearray(size)
    if not _recv_exact(sock, memoryview(buf)):
        raise ConnectionError("connection closed")
    return bytes(buf)


def _recv_str(sock: socket.socket) -> str:
    (n,) = struct.unpack("<H", _recv_bytes(sock, 2))
    if n > MAX_FIELD:
        raise ValueError(f"field of {n} bytes exceeds {MAX_FIELD}")
    return _recv_bytes(sock, n).decode("utf-8")


def _pack_str(text: str) -> bytes:
    raw = text.encode("utf-8")[:MAX_FIELD]
    return struct.pack("<H", len(raw)) + raw


@dataclass(frozen=True)
class PortAddress:
    """`unix:/path/to.sock` or `tcp:host:port`."""

    kind: str
    path: str = ""
    host: str = ""
    port: int = 0

    @classmethod
    def parse(cls, text: str) -> PortAddress:
        if text.startswith("unix:"):
            return cls("unix", path=text[5:])
        if text.startswith("tcp:"):
            host, _, port = text[4:].rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"bad policy port address {text!r} (expected tcp:HOST:PORT)")
            return cls("tcp", host=host, port=int(port))
        raise ValueError(f"bad policy port address {text!r} (expected unix:PATH or tcp:HOST:PORT)")

    def __str__(self) -> str:
        return f"unix:{self.path}" if self.kind == "unix" else f"tcp:{self.host}:{self.port}"


class PolicyPortServer:
    """Serves `lookup(skill, embodiment) -> SkillPolicy | None` on one address."""

    def __init__(self, address: str | PortAddress, lookup: Callable[[str, str], SkillPolicy | None],
                 token: str = "") -> None:
        self.address = PortAddress.parse(address) if isinstance(address, str) else address
        self.lookup = lookup
        self.token = token
        if self.address.kind == "tcp" and not token:
            raise ValueError("a TCP policy port needs a token (unix sockets rely on file permissions)")
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._locks: dict[int, threading.Lock] = {}
        self._conns: set[socket.socket] = set()
        self.steps = 0

    def start(self) -> PortAddress:
        if self.address.kind == "unix":
            path = Path(self.address.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists() or path.is_symlink():
                path.unlink()
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old = os.umask(0o177)
            try:
                sock.bind(str(path))
            finally:
                os.umask(old)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.address.host, self.address.port))
            self.address = PortAddress("tcp", host=self.address.host, port=sock.getsockname()[1])
        sock.listen(16)
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, name="policy-port", daemon=True)
        self._thread.start()
        return self.address

    def stop(self) -> None:
        self._stop.set()
        for c in list(self._conns):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._sock is not None:
            self._sock.close()
        if self.address.kind == "unix":
            Path(self.address.path).unlink(missing_ok=True)

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            if self.address.kind == "tcp":
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), name="policy-port-conn", daemon=True).start()

    def _refuse(self, conn: socket.socket, reason: str) -> None:
        log.warning("policy port: refused a session: %s", reason)
        try:
            conn.sendall(b"NO" + _pack_str(reason))
        except OSError:
            pass

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                policy = self._handshake(conn)
                if policy is not None:
                    self._step_loop(conn, policy)
        except (ConnectionError, OSError, ValueError, UnicodeDecodeError) as exc:
            log.info("policy port: connection ended: %s", exc)
        finally:
            self._conns.discard(conn)

    def _handshake(self, conn: socket.socket) -> SkillPolicy | None:
        conn.settimeout(5.0)
        head = _recv_bytes(conn, 6)
        if head[:4] != MAGIC:
            self._refuse(conn, "not a policy-port client (bad magic)")
            return None
        (version,) = struct.unpack("<H", head[4:])
        skill, embodiment, token = _recv_str(conn), _recv_str(conn), _recv_str(conn)
        conn.settimeout(None)
        if version != VERSION:
            self._refuse(conn, f"protocol version {version} not supported (server speaks {VERSION})")
            return None
        if self.token and not hmac.compare_digest(token.encode(), self.token.encode()):
            self._refuse(conn, "bad token")
            return None
        policy = self.lookup(skill, embodiment)
        if policy is None:
            self._refuse(conn, f"no skill {skill!r} for embodiment {embodiment!r}")
            return None
        sha = bytes.fromhex(policy.manifest.model_sha256) if policy.manifest.model_sha256 else bytes(32)
        conn.sendall(b"OK" + struct.pack("<II", policy.obs_dim, policy.act_dim) + sha)
        return policy

    def _step_loop(self, conn: socket.socket, policy: SkillPolicy) -> None:
        lock = self._locks.setdefault(id(policy), threading.Lock())
        frame = bytearray(_STEP_HEAD.size + 4 * policy.obs_dim)
        view = memoryview(frame)
        obs = np.frombuffer(frame, dtype=np.float32, offset=_STEP_HEAD.size)
        while _recv_exact(conn, view):
            (seq,) = _STEP_HEAD.unpack_from(frame)
            try:
                with lock:
                    action = policy.act(obs)
            except ValueError as exc:
                conn.sendall(_REPLY_HEAD.pack(seq, 1) + _pack_str(str(exc)))
                continue
            conn.sendall(_REPLY_HEAD.pack(seq, 0) + action.astype(np.float32).tobytes())
            self.steps += 1


class PolicyPortClient:
    """One session with one skill: `act(obs) -> action` (blocking, with a socket timeout)."""

    def __init__(self, address: str | PortAddress, skill: str, embodiment: str, token: str = "",
                 timeout_s: float = 1.0) -> None:
        addr = PortAddress.parse(address) if isinstance(address, str) else address
        if addr.kind == "unix":
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target: object = addr.path
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            target = (addr.host, addr.port)
        self.sock.settimeout(timeout_s)
        self.sock.connect(target)
        self.sock.sendall(MAGIC + struct.pack("<H", VERSION) + _pack_str(skill) + _pack_str(embodiment)
                          + _pack_str(token))
        status = _recv_bytes(self.sock, 2)
        if status != b"OK":
            reason = _recv_str(self.sock) if status == b"NO" else f"unexpected reply {status!r}"
            self.sock.close()
            raise PolicyPortError(reason)
        self.obs_dim, self.act_dim = struct.unpack("<II", _recv_bytes(self.sock, 8))
        self.model_sha256 = _recv_bytes(self.sock, 32).hex()
        self._seq = 0
        self._reply = bytearray(_REPLY_HEAD.size + 4 * self.act_dim)
        self._out = np.frombuffer(self._reply, dtype=np.float32, offset=_REPLY_HEAD.size)

    def act(self, obs: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(obs, dtype=np.float32).reshape(-1)
        if x.shape[0] != self.obs_dim:
            raise ValueError(f"observation has {x.shape[0]} values, the skill takes {self.obs_dim}")
        self._seq = (self._seq + 1) & 0xFFFFFFFF
        self.sock.sendall(_STEP_HEAD.pack(self._seq) + x.tobytes())
        head = memoryview(self._reply)[:_REPLY_HEAD.size]
        if not _recv_exact(self.sock, head):
            raise ConnectionError("policy port closed the connection")
        seq, status = _REPLY_HEAD.unpack_from(self._reply)
        if seq != self._seq:
            raise PolicyPortError(f"out-of-order reply {seq} (expected {self._seq})")
        if status != 0:
            raise PolicyPortError(_recv_str(self.sock))
        if not _recv_exact(self.sock, memoryview(self._reply)[_REPLY_HEAD.size:]):
            raise ConnectionError("policy port closed the connection")
        return self._out.copy()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> PolicyPortClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
