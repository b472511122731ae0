"""The kit through a real service process: mTLS, credentials, errors, idempotency, health."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from medpay.echo.v1 import echo_pb2, echo_pb2_grpc
from medpay_kit.client import error_info, error_reason
from support.harness import ROOT

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def echo(module_stack):
    module_stack.start("echo")
    return module_stack


def stub(stack, token=None, identity="client"):
    return echo_pb2_grpc.EchoServiceStub(stack.channel("echo", token=token, identity=identity))


def test_operator_call_is_served_and_sees_its_caller_kind(echo):
    reply = stub(echo, echo.operator_token).Echo(echo_pb2.EchoRequest(payload=b"ping"))
    assert reply.payload == b"ping" and reply.caller_kind == "operator"


def test_a_medpay_service_is_recognised_by_its_certificate(echo):
    reply = stub(echo, identity="card").Echo(echo_pb2.EchoRequest(payload=b"x"))
    assert reply.caller_kind == "service"


def test_a_call_without_credential_is_unauthenticated(echo):
    with pytest.raises(grpc.RpcError) as err:
        stub(echo).Echo(echo_pb2.EchoRequest(payload=b"x"))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(err.value) == "UNAUTHENTICATED"


def test_a_forged_credential_is_unauthenticated(echo):
    forged = echo.operator_token.rsplit(".", 1)[0] + ".forgedforgedforged"
    with pytest.raises(grpc.RpcError) as err:
        stub(echo, forged).Echo(echo_pb2.EchoRequest(payload=b"x"))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_caller_of_the_wrong_kind_is_denied(echo):
    with pytest.raises(grpc.RpcError) as err:
        stub(echo, echo.app_token).Echo(echo_pb2.EchoRequest(payload=b"x"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error_reason(err.value) == "PERMISSION_DENIED"


def test_a_client_without_a_certificate_is_refused(echo):
    creds = grpc.ssl_channel_credentials(root_certificates=(echo.pki / "ca.pem").read_bytes())
    with grpc.secure_channel(echo.services["echo"].target, creds) as channel:
        with pytest.raises(grpc.RpcError) as err:
            echo_pb2_grpc.EchoServiceStub(channel).Echo(echo_pb2.EchoRequest(), timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_a_domain_error_travels_as_status_plus_error_info(echo):
    with pytest.raises(grpc.RpcError) as err:
        stub(echo, echo.operator_token).Echo(echo_pb2.EchoRequest(fail_with_reason="QR_EXPIRED"))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    info = error_info(err.value)
    assert info is not None and info.reason == "QR_EXPIRED" and info.domain == "medpay"
    assert info.metadata["echo"] == "yes"


def test_an_unknown_reason_becomes_a_generic_internal_error(echo):
    with pytest.raises(grpc.RpcError) as err:
        stub(echo, echo.operator_token).Echo(echo_pb2.EchoRequest(fail_with_reason="NO_SUCH"))
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert err.value.details() == "internal error"
    assert '"rpc_failed_unexpectedly"' in echo.services["echo"].logs()


def test_same_request_id_replays_the_first_response(echo):
    s = stub(echo, echo.operator_token)
    first = s.Echo(echo_pb2.EchoRequest(request_id="replay-1", payload=b"a"))
    again = s.Echo(echo_pb2.EchoRequest(request_id="replay-1", payload=b"a"))
    assert first == again and first.served_count >= 1


def test_same_request_id_with_a_different_request_is_refused(echo):
    s = stub(echo, echo.operator_token)
    s.Echo(echo_pb2.EchoRequest(request_id="mismatch-1", payload=b"a"))
    with pytest.raises(grpc.RpcError) as err:
        s.Echo(echo_pb2.EchoRequest(request_id="mismatch-1", payload=b"b"))
    assert error_reason(err.value) == "IDEMPOTENCY_MISMATCH"


def test_concurrent_retries_of_one_request_take_effect_once(echo):
    s = stub(echo, echo.operator_token)
    before = s.Echo(echo_pb2.EchoRequest(request_id="probe-before", payload=b"p")).served_count
    with ThreadPoolExecutor(20) as pool:
        replies = list(pool.map(
            lambda _: s.Echo(echo_pb2.EchoRequest(request_id="burst-1", payload=b"z")), range(20)))
    assert len({r.served_count for r in replies}) == 1
    after = s.Echo(echo_pb2.EchoRequest(request_id="probe-after", payload=b"p")).served_count
    assert after == before + 2  # the burst counted once, plus the probe


def test_health_and_reflection_answer_over_tls(echo):
    channel = echo.channel("echo")
    health = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="medpay.echo.v1.EchoService"))
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    services = ProtoReflectionDescriptorDatabase(channel).get_services()
    assert "medpay.echo.v1.EchoService" in services and "grpc.health.v1.Health" in services


def test_a_port_in_use_gives_a_clear_message(echo):
    env = dict(echo.services["echo"].env)
    proc = subprocess.run([sys.executable, "-m", "medpay_echo"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "cannot listen" in proc.stderr and "already in use" in proc.stderr


def test_sigterm_stops_the_service_cleanly(stack):
    proc = stack.start("echo")
    assert proc.stop() == 0
    assert '"service_stopped"' in proc.logs()
