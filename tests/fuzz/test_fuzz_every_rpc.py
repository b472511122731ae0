"""Any request to any RPC is answered with a status a caller can act on, never INTERNAL or
UNKNOWN, and the services keep serving.

For every RPC of every service (read from the generated descriptors), with each caller
kind the RPC accepts: requests drawn from the request's descriptor (edge values of every
field type, nested and repeated fields, undeclared enum numbers, out-of-range times) and
bytes that do not decode at all. Every refusal must carry a ``google.rpc.ErrorInfo``
reason. Afterwards health says SERVING, every log line is still one JSON object, and a
normal sale at the pharmacy settles.
"""

from __future__ import annotations

import json

import grpc
import pytest
from conftest import fuzz_settings
from fuzz_world import World, every_rpc, send
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import given
from hypothesis import strategies as st
from messages import at_the_edge, malformed, out_of_range, requests

from medpay.pharmacy.v1 import pharmacy_pb2
from medpay_kit.client import error_info

pytestmark = pytest.mark.db
RPCS = every_rpc()
NEVER = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
#: fields that ask for a failure on purpose (echo's test aid, which can ask for INTERNAL)
ON_REQUEST = {"medpay.echo.v1.EchoRequest": ("fail_with_reason",)}


def answer(world: World, rpc, caller: str, body: bytes) -> tuple[grpc.StatusCode, str]:
    """The status and reason the RPC answers ``body`` with (a stream: its first message)."""
    exc = send(world, rpc, caller, body)
    if exc is None:
        return grpc.StatusCode.OK, ""
    if rpc.streams and exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return grpc.StatusCode.OK, ""  # an open stream waiting for events
    info = error_info(exc)
    return exc.code(), info.reason if info else ""


def assert_actionable(code: grpc.StatusCode, reason: str, what: str) -> None:
    assert code not in NEVER, f"{what} answered {code.name} {reason}"
    assert code == grpc.StatusCode.OK or reason, f"{what} answered {code.name} without a reason"


@pytest.fixture(scope="module")
def allowed(world: World) -> dict[str, list[str]]:
    return {rpc.path: world.allowed(rpc) for rpc in RPCS}


def serving(world: World, service: str) -> bool:
    health = health_pb2_grpc.HealthStub(world.channel(service, "op"))
    return health.Check(health_pb2.HealthCheckRequest(), timeout=10).status == \
        health_pb2.HealthCheckResponse.SERVING


def test_every_rpc_accepts_some_caller(allowed):
    assert [p for p, callers in allowed.items() if not callers] == []


@pytest.mark.parametrize("rpc", RPCS, ids=str)
def test_undecodable_bytes_are_refused_as_malformed(world: World, allowed, rpc):
    for caller in allowed[rpc.path]:
        for body in malformed(rpc.method.input_type):
            code, reason = answer(world, rpc, caller, body)
            assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "MALFORMED_REQUEST"), \
                f"{rpc} as {caller}: {body!r}"
    # health and reflection take no credential, but the same bytes
    health = world.channel(rpc.service, "op").unary_unary(
        "/grpc.health.v1.Health/Check", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as err:
        health(b"\x0a\x02\xc3\x28", timeout=10)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("service", ["identity", "card", "pharmacy", "billing", "echo"])
def test_reflection_refuses_undecodable_bytes_and_still_answers(world: World, service):
    chan = world.channel(service, "op")
    info = chan.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                              request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as err:
        list(info(iter([b"\x1a\x02\xc3\x28"]), timeout=10))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(list(info(iter([b"\x3a\x00"]), timeout=10))) == 1  # list_services


@pytest.mark.parametrize("rpc", RPCS, ids=str)
def test_values_outside_their_types_range_are_invalid_arguments(world: World, allowed, rpc):
    """Each enum, string, Timestamp and Duration field, alone, holding what it cannot carry."""
    for path, request in out_of_range(rpc.method.input_type):
        for caller in allowed[rpc.path]:
            code, reason = answer(world, rpc, caller, request.SerializeToString())
            assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT"), \
                f"{rpc}.{path} as {caller}: {code.name} {reason}"


@pytest.mark.parametrize("rpc", RPCS, ids=str)
def test_values_at_the_edge_of_their_types_range_get_an_actionable_answer(world: World, allowed, rpc):
    """Each integer, Timestamp and Duration field, alone, at the edge of what its type carries."""
    for path, request in at_the_edge(rpc.method.input_type):
        for caller in allowed[rpc.path]:
            code, reason = answer(world, rpc, caller, request.SerializeToString())
            assert_actionable(code, reason, f"{rpc}.{path} as {caller}")


@pytest.mark.parametrize("rpc", RPCS, ids=str)
def test_drawn_requests_get_an_actionable_answer(world: World, allowed, rpc):
    callers = allowed[rpc.path]
    request_cls = GetMessageClass(rpc.method.input_type)

    @fuzz_settings("stream" if rpc.streams else "unary")
    @given(caller=st.sampled_from(callers), request=requests(rpc.method.input_type, world.pool))
    def check(caller, request):
        for name in ON_REQUEST.get(request.DESCRIPTOR.full_name, ()):
            request.ClearField(name)
        body = request.SerializeToString()
        assert request_cls.FromString(body) == request
        code, reason = answer(world, rpc, caller, body)
        assert_actionable(code, reason, f"{rpc} as {caller}")

    check()
    assert serving(world, rpc.service)


@pytest.mark.parametrize("rpc", [r for r in RPCS if not r.streams], ids=str)
def test_random_bytes_get_an_actionable_answer(world: World, allowed, rpc):
    @fuzz_settings("bytes")
    @given(caller=st.sampled_from(allowed[rpc.path]), body=st.binary(max_size=256))
    def check(caller, body):
        code, reason = answer(world, rpc, caller, body)
        assert_actionable(code, reason, f"{rpc} as {caller}")

    check()


def test_afterwards_every_service_serves_logs_json_and_a_sale_settles(world: World):
    for service in ("identity", "card", "pharmacy", "billing", "echo"):
        assert serving(world, service)
    receipt = world.settle()
    assert receipt.status == pharmacy_pb2.SETTLEMENT_STATUS_COMPLETED
    for name, process in world.stack.services.items():
        for n, text in enumerate(process.logs().splitlines()):
            assert isinstance(json.loads(text), dict), f"{name}.log line {n + 1} is not JSON"
