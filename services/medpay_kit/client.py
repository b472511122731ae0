"""Channels to medpay services: mTLS, retries on UNAVAILABLE only, deadlines on every call.

A call made while serving a call gets at most the caller's remaining time (less a small
margin), so a slow hop never outlives the request that needed it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2

from medpay_kit.errors import CODES, DomainError
from medpay_kit.interceptor import call_deadline

DEADLINE_MARGIN_S = 0.05

SERVICE_CONFIG = json.dumps({
    "methodConfig": [{
        "name": [{}],
        "retryPolicy": {
            "maxAttempts": 4,
            "initialBackoff": "0.05s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }]
})


def channel_options(max_message_bytes: int = 4 * 1024 * 1024) -> list[tuple[str, Any]]:
    return [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", SERVICE_CONFIG),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", 30_000),
    ]


def tls_credentials(pki_dir: Path, identity: str, token: str | None = None) -> grpc.ChannelCredentials:
    """mTLS credentials presenting ``identity``'s certificate, plus a bearer token if given."""
    creds = grpc.ssl_channel_credentials(
        root_certificates=(pki_dir / "ca.pem").read_bytes(),
        private_key=(pki_dir / f"{identity}.key").read_bytes(),
        certificate_chain=(pki_dir / f"{identity}.pem").read_bytes(),
    )
    if token:
        creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(token))
    return creds


class _DeadlineInterceptor(grpc.aio.UnaryUnaryClientInterceptor,
                           grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, default_timeout_s: float) -> None:
        self._default = default_timeout_s

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        timeout = details.timeout if details.timeout is not None else self._default
        remaining = call_deadline.get()
        if remaining is not None:
            timeout = max(0.001, min(timeout, remaining - DEADLINE_MARGIN_S))
        return grpc.aio.ClientCallDetails(details.method, timeout, details.metadata,
                                          details.credentials, details.wait_for_ready)

    async def intercept_unary_unary(self, continuation, details, request):  # type: ignore[override]
        return await continuation(self._details(details), request)

    async def intercept_unary_stream(self, continuation, details, request):  # type: ignore[override]
        return await continuation(self._details(details), request)


def service_channel(target: str, pki_dir: Path, identity: str, *, plaintext: bool = False,
                    default_timeout_s: float = 10.0, token: str | None = None,
                    max_message_bytes: int = 4 * 1024 * 1024) -> grpc.aio.Channel:
    """An asyncio channel from one medpay service (``identity``) to another."""
    interceptors = [_DeadlineInterceptor(default_timeout_s)]
    options = channel_options(max_message_bytes)
    if plaintext:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(target, tls_credentials(pki_dir, identity, token),
                                   options=options, interceptors=interceptors)


def blocking_channel(target: str, pki_dir: Path, *, identity: str = "client",
                     token: str | None = None,
                     max_message_bytes: int = 4 * 1024 * 1024) -> grpc.Channel:
    """A synchronous channel for tools, the demo and tests."""
    return grpc.secure_channel(target, tls_credentials(pki_dir, identity, token),
                               options=channel_options(max_message_bytes))


def error_info(exc: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ``google.rpc.ErrorInfo`` a medpay server attached to a failed call, if any."""
    trailing = exc.trailing_metadata() if hasattr(exc, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info
    return None


def error_reason(exc: grpc.RpcError) -> str | None:
    info = error_info(exc)
    return info.reason if info else None


def as_domain_error(exc: grpc.RpcError) -> DomainError:
    """A peer's refusal, re-raised with the same reason (or UNAVAILABLE when there is none).

    Used by a service calling another: the caller sees the issuer's stable reason, such as
    ``INSUFFICIENT_BALANCE``, not a transport detail.
    """
    reason = error_reason(exc)
    if reason and reason in CODES and reason != "INTERNAL":
        return DomainError(reason, exc.details() or reason)
    code = exc.code() if hasattr(exc, "code") else None
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return DomainError("DEADLINE_EXCEEDED", "a downstream service did not answer in time")
    return DomainError("UNAVAILABLE", "a downstream service is unavailable")
