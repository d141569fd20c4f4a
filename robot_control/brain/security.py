"""Transport security for the brain link: bearer tokens, TLS credentials, shared options.

* `load_token(token_file=..., token_env=...)` reads the shared bearer token.
* `TokenAuthInterceptor` rejects every call (including health and reflection) whose
  ``authorization`` metadata is not ``Bearer <token>``, comparing in constant time.
* `server_credentials` / `channel_credentials` build TLS or mTLS credentials from a
  `certs.CertPaths` folder.
* `SERVER_OPTIONS` / `client_options` hold the explicit message-size limits and the
  keepalive settings, tuned to agree on both ends (the server permits the client's pings).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from robot_control.brain.certs import CertPaths

DEFAULT_TOKEN_ENV = "BRAIN_TOKEN"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # plan requests carry a world + contracts: KBs, not MBs

# Client pings every 10 s (also without calls) and gives up after 5 s without an ack; the
# server accepts pings down to every 5 s so it never answers them with GOAWAY.
CLIENT_KEEPALIVE_TIME_MS = 10_000
CLIENT_KEEPALIVE_TIMEOUT_MS = 5_000

SERVER_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_ping_strikes", 2),
    ("grpc.max_connection_idle_ms", 10 * 60_000),
    ("grpc.so_reuseport", 0),
]


def client_options(max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, Any]]:
    return [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", CLIENT_KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", CLIENT_KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        # Reconnect quickly once the link returns (default backoff grows to 120 s).
        ("grpc.initial_reconnect_backoff_ms", 200),
        ("grpc.min_reconnect_backoff_ms", 200),
        ("grpc.max_reconnect_backoff_ms", 2_000),
        ("grpc.enable_retries", 0),  # retries are done explicitly, idempotent calls only
    ]


class SecurityError(RuntimeError):
    """Missing or unusable credentials."""


def load_token(token_file: str | Path | None = None, token_env: str | None = DEFAULT_TOKEN_ENV) -> str:
    """Token from `token_file` if given, else from the environment variable `token_env`."""
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecurityError(f"{token_file}: cannot read token: {exc.strerror or exc}") from exc
        where = str(token_file)
    else:
        token = os.environ.get(token_env or DEFAULT_TOKEN_ENV, "").strip()
        where = f"${token_env or DEFAULT_TOKEN_ENV}"
    if len(token) < 16:
        raise SecurityError(f"{where}: bearer token missing or shorter than 16 characters")
    return token


def _abort_handler(message: str) -> grpc.RpcMethodHandler:
    def abort(_request: Any, context: grpc.ServicerContext) -> None:
        context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    return grpc.unary_unary_rpc_method_handler(abort)


class TokenAuthInterceptor(grpc.ServerInterceptor):
    """Require ``authorization: Bearer <token>`` on every call."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()
        self._missing = _abort_handler("missing bearer token")
        self._wrong = _abort_handler("invalid bearer token")

    def intercept_service(self, continuation: Callable, handler_call_details: grpc.HandlerCallDetails):
        for key, value in handler_call_details.invocation_metadata or ():
            if key == "authorization":
                given = value.encode() if isinstance(value, str) else bytes(value)
                if hmac.compare_digest(given, self._expected):
                    return continuation(handler_call_details)
                return self._wrong
        return self._missing


def server_credentials(certs: CertPaths, require_client_cert: bool = False) -> grpc.ServerCredentials:
    pair = (certs.server_key.read_bytes(), certs.server_cert.read_bytes())
    return grpc.ssl_server_credentials(
        [pair], root_certificates=certs.ca.read_bytes() if require_client_cert else None,
        require_client_auth=require_client_cert)


def channel_credentials(ca: str | Path, client_cert: str | Path | None = None,
                        client_key: str | Path | None = None, token: str | None = None) -> grpc.ChannelCredentials:
    """TLS channel credentials (+ client cert for mTLS, + bearer token call credentials)."""
    creds = grpc.ssl_channel_credentials(
        root_certificates=Path(ca).read_bytes(),
        private_key=Path(client_key).read_bytes() if client_key else None,
        certificate_chain=Path(client_cert).read_bytes() if client_cert else None)
    if token:
        creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(token))
    return creds
