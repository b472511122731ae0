"""Every identity RPC that takes a request_id, fired as identical twins at once: one effect,
one reply.

An app, an operator's tool or a peer service that lost a reply retries while the first call
may still be running. Each twin (separate channel, released together, SQLite and PostgreSQL)
must get the first reply byte for byte — never ``SESSION_USED``, ``ASSERTION_USED`` or
``LOCKED_OUT`` because of its own twin — and the effect happens once: one person, one
session, one decision (the frames analysed once), one assertion, one consume, one key
rotation, one audit event each, one failure counted towards lockout.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from medpay.common.v1 import insurance_pb2
from medpay.identity.v1 import identity_pb2 as pb
from medpay.identity.v1 import identity_pb2_grpc
from medpay_kit.client import error_reason
from support.faces import answer, counter_assertion, enrol, identity_stub, photo, random_id_number
from support.twins import fire, one_reply

pytestmark = pytest.mark.db

CARD_ISSUE = insurance_pb2.FACE_PURPOSE_CARD_ISSUE
CREDIT = insurance_pb2.FACE_PURPOSE_CREDIT_AGREEMENT
NO_FACE = [photo("no_face")] * 3
#: CompleteFaceAuth twins: each analysed frame costs ~0.2 s of CPU, so fewer of them
FACE_TWINS = 4


@pytest.fixture(scope="module")
def identity(module_stack):
    module_stack.start("identity")
    return module_stack


@dataclass
class Case:
    method: str
    request: Any
    token: str | None = None
    identity: str = "client"
    n: int = 8


def rid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4()}"


def op(stack):
    return identity_stub(stack, token=stack.operator_token)


def app(stack):
    return identity_stub(stack, token=stack.app_token)


def events(stack, kind: str, person_id: str = "") -> list[pb.AuditEvent]:
    return list(op(stack).ListAuditEvents(pb.ListAuditEventsRequest(
        person_id=person_id, kind=pb.AuditEventKind.Value(f"AUDIT_EVENT_KIND_{kind}"),
        page_size=1000)).events)


def analysed(stack, session_id: str) -> int:
    """How often the service ran the face engine on this session's frames (its log)."""
    count = 0
    for text in stack.services["identity"].logs().splitlines():
        try:
            entry = json.loads(text)
        except ValueError:
            continue
        if entry.get("event") == "face_frames_analysed" and entry.get("session_id") == session_id:
            count += 1
    return count


def start(stack, person_id: str, device: str) -> pb.StartFaceAuthResponse:
    return app(stack).StartFaceAuth(pb.StartFaceAuthRequest(
        request_id=rid("start"), person_id=person_id, purpose=CARD_ISSUE, device_id=device,
        audience="card"), timeout=10)


def complete_request(started: pb.StartFaceAuthResponse, frames: list[bytes]):
    return pb.CompleteFaceAuthRequest(request_id=rid("complete"), session_id=started.session_id,
                                      nonce=started.nonce, frames=frames)


def consume(stack, assertion: str, *, audience: str = "card", purpose: int = CARD_ISSUE):
    return identity_stub(stack, identity=audience).VerifyAssertion(pb.VerifyAssertionRequest(
        request_id=rid("verify"), assertion=assertion, expected_purpose=purpose,
        expected_audience=audience, consume=True), timeout=10)


# each case: (prepare the world and the request) → Case, then (check the one effect)

def enrol_person(stack, *, again: bool = False):
    number = random_id_number()
    person_id = enrol(stack, number=number) if again else ""
    request = pb.EnrollPersonRequest(
        request_id=rid("enrol"), id_number=number, name="Zhang San",
        reference_photo=photo("obama2"), consent=pb.Consent(given=True, consent_ref="F-7"))

    def check(reply: pb.EnrollPersonResponse) -> None:
        assert reply.replaced is again and (not again or reply.person_id == person_id)
        assert len(events(stack, "ENROLLED", reply.person_id)) == (2 if again else 1)

    return Case("EnrollPerson", request, token=stack.operator_token), check


def start_face_auth(stack):
    person_id = enrol(stack)
    request = pb.StartFaceAuthRequest(request_id=rid("start"), person_id=person_id,
                                      purpose=CARD_ISSUE, device_id="twin-phone", audience="card")

    def check(reply: pb.StartFaceAuthResponse) -> None:
        assert reply.session_id and reply.attempts_remaining == 5
        assert [e.session_id for e in events(stack, "SESSION_STARTED", person_id)] == [reply.session_id]

    return Case("StartFaceAuth", request, token=stack.app_token), check


def complete_matched(stack):
    person_id = enrol(stack)
    started = start(stack, person_id, "twin-phone")
    request = complete_request(started, answer("obama1", started.actions))

    def check(reply: pb.CompleteFaceAuthResponse) -> None:
        assert reply.decision.outcome == pb.FACE_OUTCOME_MATCHED and reply.assertion
        assert analysed(stack, started.session_id) == 1
        assert len(events(stack, "FACE_DECISION", person_id)) == 1
        assert len(events(stack, "ASSERTION_ISSUED", person_id)) == 1
        assert consume(stack, reply.assertion).person_id == person_id  # the one it issued

    return Case("CompleteFaceAuth", request, token=stack.app_token, n=FACE_TWINS), check


def complete_failed(stack, *, earlier_failures: int = 0):
    person_id = enrol(stack)
    device = f"twin-phone-{uuid.uuid4().hex[:6]}"
    for _ in range(earlier_failures):
        done = app(stack).CompleteFaceAuth(complete_request(start(stack, person_id, device), NO_FACE),
                                           timeout=30)
        assert done.decision.outcome == pb.FACE_OUTCOME_NO_FACE
    started = start(stack, person_id, device)
    request = complete_request(started, NO_FACE)
    left = 4 - earlier_failures

    def check(reply: pb.CompleteFaceAuthResponse) -> None:
        assert reply.decision.outcome == pb.FACE_OUTCOME_NO_FACE and not reply.assertion
        assert reply.attempts_remaining == left  # the twins' failure counted once
        assert reply.HasField("locked_until") is (left == 0)
        assert analysed(stack, started.session_id) == 1
        assert len(events(stack, "FACE_DECISION", person_id)) == earlier_failures + 1
        assert len(events(stack, "LOCKED_OUT", person_id)) == (2 if left == 0 else 0)
        if left:
            assert start(stack, person_id, device).attempts_remaining == left

    return Case("CompleteFaceAuth", request, token=stack.app_token, n=FACE_TWINS), check


def confirm_at_counter(stack):
    person_id = enrol(stack)
    request = pb.ConfirmIdentityAtCounterRequest(
        request_id=rid("counter"), person_id=person_id, purpose=CARD_ISSUE, device_id="twin-phone",
        audience="card", operator_note="ID card checked at desk 2")

    def check(reply: pb.ConfirmIdentityAtCounterResponse) -> None:
        assert len(events(stack, "COUNTER_CONFIRMED", person_id)) == 1
        assert len(events(stack, "ASSERTION_ISSUED", person_id)) == 1
        assert consume(stack, reply.assertion).method == pb.ASSERTION_METHOD_COUNTER

    return Case("ConfirmIdentityAtCounter", request, token=stack.operator_token), check


def verify_assertion(stack, *, audience: str = "card", purpose: int = CARD_ISSUE):
    person_id = enrol(stack)
    assertion = counter_assertion(stack, person_id, audience=audience,
                                  purpose=insurance_pb2.FacePurpose.Name(purpose).removeprefix("FACE_PURPOSE_"))
    request = pb.VerifyAssertionRequest(request_id=rid("verify"), assertion=assertion,
                                        expected_purpose=purpose, expected_audience=audience,
                                        consume=True)

    def check(reply: pb.VerifyAssertionResponse) -> None:
        assert reply.person_id == person_id
        verified = events(stack, "ASSERTION_VERIFIED", person_id)
        assert [(e.succeeded, e.actor) for e in verified] == [(True, audience)]  # consumed once
        with pytest.raises(grpc.RpcError) as refused:  # a new request: the assertion is used up
            consume(stack, assertion, audience=audience, purpose=purpose)
        assert error_reason(refused.value) == "ASSERTION_USED"

    return Case("VerifyAssertion", request, identity=audience), check


def rotate_signing_key(stack):
    rotated_before = len(events(stack, "KEY_ROTATED"))
    request = pb.RotateSigningKeyRequest(request_id=rid("rotate"))

    def check(reply: pb.RotateSigningKeyResponse) -> None:
        assert len(events(stack, "KEY_ROTATED")) == rotated_before + 1
        keys = op(stack).GetSigningKeys(pb.GetSigningKeysRequest()).keys
        assert [k.key_id for k in keys if k.active] == [reply.key_id]
        assert reply.previous_key_id in {k.key_id for k in keys}

    return Case("RotateSigningKey", request, token=stack.operator_token), check


CASES = {
    "EnrollPerson": enrol_person,
    "EnrollPerson again": lambda stack: enrol_person(stack, again=True),
    "StartFaceAuth": start_face_auth,
    "CompleteFaceAuth matched": complete_matched,
    "CompleteFaceAuth failed": complete_failed,
    "CompleteFaceAuth failed into lockout": lambda stack: complete_failed(stack, earlier_failures=4),
    "ConfirmIdentityAtCounter": confirm_at_counter,
    "VerifyAssertion by card": verify_assertion,
    "VerifyAssertion by billing": lambda stack: verify_assertion(stack, audience="billing",
                                                                 purpose=CREDIT),
    "RotateSigningKey": rotate_signing_key,
}


@pytest.mark.parametrize("rpc", list(CASES))
def test_twins_of_every_identity_mutation_get_the_first_reply_and_act_once(identity, rpc):
    case, check = CASES[rpc](identity)
    outcomes = fire(identity, "identity", identity_pb2_grpc.IdentityServiceStub, case.method,
                    case.request, token=case.token, identity=case.identity, n=case.n)
    reply = one_reply(outcomes, getattr(pb, f"{case.method}Response"))
    check(reply)
