"""What a caller sends cannot put a secret or an unbounded value into a log or trace file.

One real secret of every kind the system issues (the operator's, the app's, a till's, a
HIS client's and a device's credential, an identity assertion, a QR payload) is put into
every string field of every RPC's request, into request metadata and into the user agent,
and each RPC is called with it by a caller it accepts. Afterwards no log file and no trace
file of the stack holds the secret, nor its secret part alone. A request id of nearly the
largest message a service accepts, from an unauthenticated and from an authenticated
caller, leaves no log line longer than the bound.
"""

from __future__ import annotations

import time

import grpc
import pytest
from fuzz_world import World, every_rpc, send
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message_factory import GetMessageClass

from medpay_kit.client import channel_options, tls_credentials
from support.faces import counter_assertion
from support.insured import qr_code

pytestmark = pytest.mark.db
RPCS = every_rpc()
#: no log line may be longer: every value is cut at 512 characters, a traceback at 8192
LINE_BOUND = 16 * 1024


def with_every_string(descriptor, text: str, depth: int = 0):
    """A request whose every string field (nested and repeated ones too) holds ``text``."""
    message = GetMessageClass(descriptor)()
    for f in descriptor.fields:
        entry = f.message_type is not None and f.message_type.GetOptions().map_entry
        if entry or depth > 2:
            continue
        if f.type == FieldDescriptor.TYPE_STRING:
            if f.is_repeated:
                getattr(message, f.name).append(text)
            else:
                setattr(message, f.name, text)
        elif f.type == FieldDescriptor.TYPE_MESSAGE and not f.message_type.full_name.startswith("google."):
            inner = with_every_string(f.message_type, text, depth + 1)
            if f.is_repeated:
                getattr(message, f.name).add().CopyFrom(inner)
            else:
                getattr(message, f.name).CopyFrom(inner)
    return message


def call(world: World, rpc, caller: str, body: bytes, metadata=()) -> grpc.StatusCode:
    exc = send(world, rpc, caller, body, metadata)
    return grpc.StatusCode.OK if exc is None else exc.code()


def output_files(world: World):
    return sorted([*world.stack.workdir.glob("*.log"), *world.stack.workdir.glob("*.spans.jsonl")])


@pytest.fixture(scope="module")
def allowed(world: World) -> dict[str, list[str]]:
    return {rpc.path: world.allowed(rpc) for rpc in RPCS}


@pytest.fixture(scope="module")
def secrets(world: World) -> dict[str, tuple[str, str]]:
    """kind -> (the whole secret, the part that is secret by itself)."""
    person = world.person
    found = {kind: (token, token.split(".", 1)[1]) for kind, token in world.credentials.items()}
    assertion = counter_assertion(world.stack, person.identity_person_id, device_id=person.device_id)
    found["assertion"] = (assertion, assertion.rsplit(".", 1)[1])
    qr = qr_code(world.stack, person)
    found["qr"] = (qr, qr.split(".", 1)[1])
    return found


def test_no_secret_a_caller_sends_reaches_a_log_or_trace_file(world: World, allowed, secrets):
    assert set(secrets) >= {"op", "app", "pos", "his", "dev", "assertion", "qr"}
    for secret, _ in secrets.values():
        metadata = (("x-request-id", secret), ("x-note", f"see {secret}"))
        for rpc in RPCS:
            body = with_every_string(rpc.method.input_type, secret).SerializeToString()
            call(world, rpc, allowed[rpc.path][0], body, metadata)
        call(world, RPCS[0], "op", b"", (("authorization", f"Bearer {secret}x"),))  # a wrong one
        agent = grpc.secure_channel(world.stack.services["card"].target,
                                    tls_credentials(world.stack.pki, "client"),
                                    options=[*channel_options(), ("grpc.primary_user_agent", secret)])
        with agent:
            unary = agent.unary_unary("/medpay.card.v1.CardService/GetCard",
                                      request_serializer=None, response_deserializer=None)
            with pytest.raises(grpc.RpcError):
                unary(b"", timeout=10)
    time.sleep(1.5)  # spans are exported in batches every 0.5 s
    files = output_files(world)
    assert {f.suffix for f in files} == {".log", ".jsonl"}
    leaks = []  # (kind, file): never the secret itself, not even in a failure message
    for path in files:
        text = path.read_text(errors="replace")
        leaks += [(kind, path.name) for kind, (secret, part) in secrets.items()
                  if secret in text or part in text]
    assert leaks == []


@pytest.mark.parametrize("caller", [None, "op", "pos"])
def test_a_huge_request_id_makes_no_long_log_line(world: World, allowed, caller):
    huge = "r" * (3 * 1024 * 1024)  # with the other fields, just under the largest message taken
    services = set()
    for rpc in RPCS:  # per service, the first RPC with a request id this caller may call
        if (rpc.service in services or "request_id" not in rpc.method.input_type.fields_by_name
                or (caller is not None and caller not in allowed[rpc.path])):
            continue
        services.add(rpc.service)
        message = with_every_string(rpc.method.input_type, "x" * 20_000)
        message.request_id = huge
        body = message.SerializeToString()
        if caller is None:
            chan = grpc.secure_channel(world.stack.services[rpc.service].target,
                                       tls_credentials(world.stack.pki, "client"),
                                       options=channel_options(8 * 1024 * 1024))
            with chan:
                unary = chan.unary_unary(rpc.path, request_serializer=None,
                                         response_deserializer=None)
                with pytest.raises(grpc.RpcError) as err:
                    unary(body, timeout=30)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        else:
            assert call(world, rpc, caller, body) != grpc.StatusCode.RESOURCE_EXHAUSTED
    assert services  # the request reached the services
    time.sleep(1.5)
    for path in output_files(world):
        with path.open(encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                assert len(line) <= LINE_BOUND, f"{path.name} line {n} has {len(line)} chars"
