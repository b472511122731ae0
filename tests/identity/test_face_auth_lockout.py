"""Abuse limits through the real service: N failed face attempts per person and per device
in a window lock face auth out (LOCKED_OUT with a retry-after); the counter still works.
"""

from __future__ import annotations

import uuid

import grpc
import pytest

from medpay.common.v1 import insurance_pb2
from medpay.identity.v1 import identity_pb2 as pb
from medpay_kit.client import error_info, error_reason
from support.faces import counter_assertion, enrol, face_auth, identity_stub, photo

pytestmark = pytest.mark.db

NO_FACE = [photo("no_face")] * 3


@pytest.fixture(scope="module")
def identity(module_stack, tmp_path_factory):
    keyring = tmp_path_factory.mktemp("keys") / "identity.json"
    module_stack.start("identity", keyring_file=str(keyring))
    return module_stack


def fail(stack, person, device):
    _, done = face_auth(stack, person, lambda actions: NO_FACE, device_id=device)
    assert done.decision.outcome == pb.FACE_OUTCOME_NO_FACE
    return done


def start(stack, person, device):
    return identity_stub(stack, token=stack.app_token).StartFaceAuth(pb.StartFaceAuthRequest(
        request_id=str(uuid.uuid4()), person_id=person, purpose=insurance_pb2.FACE_PURPOSE_CARD_ISSUE,
        device_id=device, audience="card"))


def locked_out(call):
    with pytest.raises(grpc.RpcError) as err:
        call()
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error_reason(err.value) == "LOCKED_OUT"
    return error_info(err.value).metadata


def test_five_failures_lock_the_person_out_and_the_counter_still_confirms(identity):
    person = enrol(identity, "obama1")
    waiting = start(identity, person, "phone-waiting")  # opened before the lockout
    remaining = [fail(identity, person, f"phone-{i}").attempts_remaining for i in range(5)]
    assert remaining == [4, 3, 2, 1, 0]

    meta = locked_out(lambda: start(identity, person, "another-phone"))
    assert 899 <= int(meta["retryAfterSeconds"]) <= 900 and meta["lockedUntil"].endswith("Z")
    app = identity_stub(identity, token=identity.app_token)
    meta = locked_out(lambda: app.CompleteFaceAuth(pb.CompleteFaceAuthRequest(
        request_id=str(uuid.uuid4()), session_id=waiting.session_id, nonce=waiting.nonce,
        frames=[photo("obama1")] * 3)))
    op = identity_stub(identity, token=identity.operator_token)
    assert op.GetPerson(pb.GetPersonRequest(person_id=person)).person.HasField("locked_until")

    token = counter_assertion(identity, person, device_id="phone-counter")
    card = identity_stub(identity, identity="card")
    verified = card.VerifyAssertion(pb.VerifyAssertionRequest(
        request_id=str(uuid.uuid4()), assertion=token, expected_purpose=insurance_pb2.FACE_PURPOSE_CARD_ISSUE,
        expected_audience="card", consume=True))
    assert verified.person_id == person and verified.method == pb.ASSERTION_METHOD_COUNTER

    events = op.ListAuditEvents(pb.ListAuditEventsRequest(person_id=person, page_size=100)).events
    kinds = [pb.AuditEventKind.Name(e.kind).removeprefix("AUDIT_EVENT_KIND_") for e in events]
    assert kinds[:4] == ["ASSERTION_VERIFIED", "ASSERTION_ISSUED", "COUNTER_CONFIRMED", "LOCKED_OUT"]
    assert kinds.count("FACE_DECISION") == 5
    counter = events[2]
    assert counter.actor == "operator" and counter.succeeded and counter.device_id == "phone-counter"
    decisions = [e for e in events if e.kind == pb.AUDIT_EVENT_KIND_FACE_DECISION]
    assert all(not e.succeeded and e.reason and e.threshold == 0.5 for e in decisions)


def test_the_lockout_ends_after_its_time(identity):
    person = enrol(identity, "obama1")
    for i in range(5):
        fail(identity, person, f"expiry-phone-{i}")
    locked_out(lambda: start(identity, person, "expiry-phone-x"))
    identity.move_clock(901)
    assert start(identity, person, "expiry-phone-x").attempts_remaining == 5
    _, done = face_auth(identity, person, device_id="expiry-phone-x")
    assert done.decision.outcome == pb.FACE_OUTCOME_MATCHED


def test_a_device_that_keeps_failing_is_locked_out_for_everybody(identity):
    people = [enrol(identity, "obama1") for _ in range(6)]
    for person in people[:5]:
        fail(identity, person, "shared-phone")
    locked_out(lambda: start(identity, people[5], "shared-phone"))
    assert start(identity, people[5], "own-phone").attempts_remaining == 5


def test_failures_older_than_the_window_do_not_count(identity):
    person = enrol(identity, "obama1")
    for i in range(4):
        fail(identity, person, f"window-phone-{i}")
    identity.move_clock(901)  # the window is 900 s
    assert fail(identity, person, "window-phone-4").attempts_remaining == 4


def bind_card(stack, person, device):
    """What card issuance does: a face-auth on the person's phone, its CARD_ISSUE assertion
    consumed by the card service, so that phone is the device bound to the person's card."""
    _, done = face_auth(stack, person, device_id=device)
    assert done.decision.outcome == pb.FACE_OUTCOME_MATCHED
    identity_stub(stack, identity="card").VerifyAssertion(pb.VerifyAssertionRequest(
        request_id=str(uuid.uuid4()), assertion=done.assertion,
        expected_purpose=insurance_pb2.FACE_PURPOSE_CARD_ISSUE, expected_audience="card", consume=True))


def test_strangers_failures_lock_the_strangers_out_never_the_persons_own_phone(identity):
    person = enrol(identity, "obama1")
    bind_card(identity, person, "own-phone")
    attackers = [f"attacker-{uuid.uuid4().hex[:6]}-{i}" for i in range(6)]
    for device in attackers[:5]:  # nothing but the person id, from five unknown devices
        fail(identity, person, device)
    # the attackers pay: their devices are locked, for this person and for anyone else
    bystander = enrol(identity, "obama1")
    for device in attackers[:5]:
        locked_out(lambda device=device: start(identity, person, device))
        locked_out(lambda device=device: start(identity, bystander, device))
    locked_out(lambda: start(identity, person, attackers[5]))  # any new device, too
    # the person's own phone is not locked, and completes face-auth
    assert start(identity, person, "own-phone").attempts_remaining == 5
    _, done = face_auth(identity, person, device_id="own-phone")
    assert done.decision.outcome == pb.FACE_OUTCOME_MATCHED and done.assertion
    # more failures from more devices still cost only the devices that make them
    for device in (f"attacker-more-{i}" for i in range(5)):
        locked_out(lambda device=device: fail(identity, person, device))
    _, done = face_auth(identity, person, device_id="own-phone")
    assert done.decision.outcome == pb.FACE_OUTCOME_MATCHED


def test_the_persons_own_phone_is_still_limited_by_its_own_failures(identity):
    person = enrol(identity, "obama1")
    bind_card(identity, person, "own-phone-2")
    assert [fail(identity, person, "own-phone-2").attempts_remaining for _ in range(5)] == [4, 3, 2, 1, 0]
    locked_out(lambda: start(identity, person, "own-phone-2"))
