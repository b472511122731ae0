"""The one server interceptor: context, authentication, authorization, errors, metrics.

For every call it binds the method to the log context, authenticates the caller, checks the
caller against the RPC's row of the access table, refuses a request that did not decode or
holds a value its types cannot carry (``validation.py``; only then is the request id bound),
runs the handler, maps a
:class:`DomainError` to its gRPC status with a ``google.rpc.ErrorInfo``, turns any other
exception into ``INTERNAL`` with a generic message (and one log line), and records
request count, error count and latency.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

import grpc
import structlog
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from opentelemetry import metrics

from medpay_kit.access import Who, who
from medpay_kit.auth import Authenticator, set_current_caller
from medpay_kit.errors import DOMAIN, DomainError
from medpay_kit.redact import bound, scrub
from medpay_kit.validation import UNDECODABLE, check_request, decoding

log = structlog.get_logger()

#: Seconds left before the current call's deadline (None: no deadline); read by clients.
call_deadline: ContextVar[float | None] = ContextVar("medpay_call_deadline", default=None)

#: ``/<service>/<rpc>`` → who may call it (``ServiceAccess.policy()``); missing = nobody
Policy = Mapping[str, frozenset[Who]]


def rich_status(code: grpc.StatusCode, reason: str, message: str,
                metadata: Mapping[str, str] | None = None) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata={
        k: bound(v) for k, v in (metadata or {}).items()})
    detail = any_pb2.Any()
    detail.Pack(info)
    return rpc_status.to_status(
        status_pb2.Status(code=code.value[0], message=scrub(message), details=[detail])
    )


async def abort(context: grpc.aio.ServicerContext, error: DomainError) -> None:
    status = rich_status(error.code, error.reason, error.message, error.metadata)
    await context.abort(status.code, status.details, status.trailing_metadata)


def _peer_name(context: grpc.aio.ServicerContext) -> str | None:
    names = context.auth_context().get("x509_common_name")
    return names[0].decode() if names else None


class CallInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, authenticator: Authenticator, policy: Policy) -> None:
        self._auth = authenticator
        self._policy = policy
        meter = metrics.get_meter("medpay.rpc")
        self._requests = meter.create_counter("medpay.rpc.requests", description="RPCs served")
        self._errors = meter.create_counter("medpay.rpc.errors", description="RPCs that failed")
        self._latency = meter.create_histogram("medpay.rpc.duration", unit="ms",
                                               description="RPC latency")

    async def intercept_service(self, continuation: Callable, details: grpc.HandlerCallDetails):  # type: ignore[override]
        handler = await continuation(details)
        if handler is None:
            return handler
        decode = decoding(handler.request_deserializer)
        if details.method.startswith("/grpc."):
            return _open_handler(handler, decode)  # health and reflection are open
        allowed = self._policy.get(details.method, frozenset())
        if handler.unary_unary:
            behavior = self._wrap_unary(handler.unary_unary, details.method, allowed)
            return grpc.unary_unary_rpc_method_handler(behavior, decode, handler.response_serializer)
        if handler.unary_stream:
            behavior = self._wrap_stream(handler.unary_stream, details.method, allowed)
            return grpc.unary_stream_rpc_method_handler(behavior, decode, handler.response_serializer)
        return handler

    async def _enter(self, request: Any, context: grpc.aio.ServicerContext, method: str,
                     allowed: frozenset[Who]) -> None:
        structlog.contextvars.bind_contextvars(rpc=method.rsplit("/", 1)[-1])
        call_deadline.set(context.time_remaining())
        metadata = {k: v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
        caller = await self._auth.authenticate(metadata, _peer_name(context))
        set_current_caller(caller)
        structlog.contextvars.bind_contextvars(caller=caller.kind.value)
        if who(caller) not in allowed:
            raise DomainError("PERMISSION_DENIED", f"a {who(caller)} caller may not call this RPC",
                              access="caller")
        check_request(request)  # nothing from the request is logged before this
        structlog.contextvars.bind_contextvars(request_id=getattr(request, "request_id", "") or "")

    async def _fail(self, exc: BaseException, context: grpc.aio.ServicerContext, attrs: dict) -> None:
        if isinstance(exc, DomainError):
            attrs["reason"] = exc.reason
            log.info("rpc_refused", reason=exc.reason, detail=exc.message)
            await abort(context, exc)
        attrs["reason"] = "INTERNAL"
        log.error("rpc_failed_unexpectedly", exc_info=exc)
        await abort(context, DomainError("INTERNAL", "internal error"))

    def _wrap_unary(self, behavior: Callable, method: str, allowed: frozenset[Who]):
        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
            start = time.perf_counter()
            attrs = {"rpc": method}
            try:
                await self._enter(request, context, method, allowed)
                return await behavior(request, context)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await self._fail(exc, context, attrs)
            finally:
                self._record(start, attrs)
                structlog.contextvars.unbind_contextvars("rpc", "request_id", "caller")
        return wrapped

    def _wrap_stream(self, behavior: Callable, method: str, allowed: frozenset[Who]):
        async def wrapped(request: Any, context: grpc.aio.ServicerContext):
            start = time.perf_counter()
            attrs = {"rpc": method}
            try:
                await self._enter(request, context, method, allowed)
                async for item in behavior(request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await self._fail(exc, context, attrs)
            finally:
                self._record(start, attrs)
        return wrapped

    def _record(self, start: float, attrs: dict) -> None:
        self._requests.add(1, {"rpc": attrs["rpc"]})
        if "reason" in attrs:
            self._errors.add(1, attrs)
        self._latency.record((time.perf_counter() - start) * 1000, {"rpc": attrs["rpc"]})


def _open_handler(handler: grpc.RpcMethodHandler, decode: Callable | None) -> grpc.RpcMethodHandler:
    """Health and reflection: no caller checks, but undecodable bytes are refused cleanly."""
    async def refuse(context: grpc.aio.ServicerContext) -> None:
        await abort(context, DomainError("MALFORMED_REQUEST", "the request is not a valid message"))

    if handler.unary_unary:
        async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if request is UNDECODABLE:
                await refuse(context)
            return await handler.unary_unary(request, context)
        return grpc.unary_unary_rpc_method_handler(unary, decode, handler.response_serializer)
    if handler.unary_stream:
        async def stream(request: Any, context: grpc.aio.ServicerContext):
            if request is UNDECODABLE:
                await refuse(context)
            async for item in handler.unary_stream(request, context):
                yield item
        return grpc.unary_stream_rpc_method_handler(stream, decode, handler.response_serializer)
    if handler.stream_stream:
        async def both(requests: Any, context: grpc.aio.ServicerContext):
            async def checked():
                async for request in requests:
                    if request is UNDECODABLE:
                        await refuse(context)
                    yield request
            async for item in handler.stream_stream(checked(), context):
                yield item
        return grpc.stream_stream_rpc_method_handler(both, decode, handler.response_serializer)
    return handler
