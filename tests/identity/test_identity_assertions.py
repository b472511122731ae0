"""Identity assertions through the real service: issued at the counter or by face, verified
offline with the published key, consumed once through VerifyAssertion.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from medpay.common.v1 import errors_pb2, insurance_pb2
from medpay.identity.v1 import identity_pb2 as pb
from medpay.identity.v1 import identity_pb2_grpc
from medpay_kit.assertions import read_assertion
from medpay_kit.client import error_reason
from medpay_kit.errors import DomainError
from support.faces import counter_assertion, enrol

pytestmark = pytest.mark.db

CARD_ISSUE = insurance_pb2.FACE_PURPOSE_CARD_ISSUE
CREDIT = insurance_pb2.FACE_PURPOSE_CREDIT_AGREEMENT


@pytest.fixture(scope="module")
def identity(module_stack, tmp_path_factory):
    keyring = tmp_path_factory.mktemp("keys") / "identity.json"
    module_stack.start("identity", keyring_file=str(keyring))
    module_stack.person = enrol(module_stack, "obama1")
    return module_stack


def stub(stack, *, token=None, identity="client"):
    return identity_pb2_grpc.IdentityServiceStub(stack.channel("identity", token=token, identity=identity))


def as_card(stack):
    return stub(stack, identity="card")


def now_of(stack) -> datetime:
    """The services' clock (the wall clock plus the offset tests moved it by)."""
    offset = float(stack.clock_file.read_text()) if stack.clock_file.exists() else 0.0
    return datetime.now(UTC) + timedelta(seconds=offset)


def public_keys(stack) -> dict[str, Ed25519PublicKey]:
    reply = stub(stack, token=stack.app_token).GetSigningKeys(pb.GetSigningKeysRequest())
    return {k.key_id: Ed25519PublicKey.from_public_bytes(k.public_key) for k in reply.keys}


def verify(stack, token, *, purpose=CARD_ISSUE, audience="card", consume=True, request_id=None,
           identity="card"):
    return stub(stack, identity=identity).VerifyAssertion(pb.VerifyAssertionRequest(
        request_id=request_id or str(uuid.uuid4()), assertion=token, expected_purpose=purpose,
        expected_audience=audience, consume=consume))


def refused(call) -> str:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return error_reason(err.value)


def test_a_counter_assertion_verifies_offline_with_the_published_key(identity):
    token = counter_assertion(identity, identity.person, device_id="phone-7")
    claims = read_assertion(token, public_keys(identity), now=now_of(identity),
                            purpose="CARD_ISSUE", audience="card")
    assert claims.person_id == identity.person and claims.device_id == "phone-7"
    assert claims.method == "COUNTER" and claims.jti.startswith("asr_")
    assert 0 < claims.exp - claims.iat <= 300


def test_signing_keys_are_ed25519_with_one_active(identity):
    keys = stub(identity, identity="billing").GetSigningKeys(pb.GetSigningKeysRequest()).keys
    assert [k.algorithm for k in keys] == ["Ed25519"] * len(keys)
    assert sum(k.active for k in keys) == 1 and all(len(k.public_key) == 32 for k in keys)


def test_verify_consumes_once_and_a_retry_replays_the_first_answer(identity):
    token = counter_assertion(identity, identity.person, device_id="phone-8")
    first = verify(identity, token, request_id="consume-1")
    assert first.person_id == identity.person and first.device_id == "phone-8"
    assert first.method == pb.ASSERTION_METHOD_COUNTER and first.purpose == CARD_ISSUE
    assert verify(identity, token, request_id="consume-1") == first
    assert refused(lambda: verify(identity, token, request_id="consume-2")) == "ASSERTION_USED"
    assert refused(lambda: verify(identity, token, consume=False)) == "ASSERTION_USED"


def test_a_check_without_consuming_leaves_it_usable(identity):
    token = counter_assertion(identity, identity.person)
    assert verify(identity, token, consume=False, request_id="").person_id == identity.person
    assert verify(identity, token).person_id == identity.person


def test_wrong_purpose_or_audience_is_refused(identity):
    token = counter_assertion(identity, identity.person, purpose="CARD_ISSUE", audience="card")
    assert refused(lambda: verify(identity, token, purpose=CREDIT)) == "ASSERTION_WRONG_PURPOSE"
    billing = counter_assertion(identity, identity.person, purpose="CREDIT_AGREEMENT", audience="billing")
    assert refused(lambda: verify(identity, billing, purpose=CREDIT)) == "ASSERTION_WRONG_AUDIENCE"
    # a service verifies only what is addressed to it
    with pytest.raises(grpc.RpcError) as err:
        verify(identity, billing, purpose=CREDIT, audience="billing", identity="card")
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert verify(identity, billing, purpose=CREDIT, audience="billing", identity="billing").person_id


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_tampered_assertion_is_refused_online_and_offline(identity):
    token = counter_assertion(identity, identity.person)
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["device_id"] = "thief-phone"
    forged = f"{head}.{_b64(json.dumps(claims).encode())}.{sig}"
    assert refused(lambda: verify(identity, forged)) == "ASSERTION_INVALID"
    assert refused(lambda: verify(identity, f"{head}.{payload}.{sig[:-4]}AAAA")) == "ASSERTION_INVALID"
    assert refused(lambda: verify(identity, "not-an-assertion")) == "ASSERTION_INVALID"
    with pytest.raises(DomainError) as err:
        read_assertion(forged, public_keys(identity), now=now_of(identity), purpose="CARD_ISSUE",
                       audience="card")
    assert err.value.reason == "ASSERTION_INVALID"
    assert verify(identity, token).person_id == identity.person  # the original still works


def test_only_services_verify_and_only_operators_confirm_at_the_counter(identity):
    with pytest.raises(grpc.RpcError) as err:
        stub(identity, token=identity.app_token).VerifyAssertion(pb.VerifyAssertionRequest(
            request_id="x", assertion="a.b.c", expected_purpose=CARD_ISSUE, expected_audience="card"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as err:
        stub(identity, identity="card").ConfirmIdentityAtCounter(pb.ConfirmIdentityAtCounterRequest(
            request_id="x", person_id=identity.person, purpose=CARD_ISSUE, device_id="d",
            audience="card"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_counter_confirmation_is_idempotent_and_needs_an_enrolled_person(identity):
    op = stub(identity, token=identity.operator_token)
    request = pb.ConfirmIdentityAtCounterRequest(
        request_id=f"c-{uuid.uuid4()}", person_id=identity.person, purpose=CARD_ISSUE,
        device_id="phone-9", audience="card", operator_note="passport checked, desk 3")
    assert op.ConfirmIdentityAtCounter(request) == op.ConfirmIdentityAtCounter(request)
    request.person_id = "per_nobody"
    request.request_id = f"c-{uuid.uuid4()}"
    assert refused(lambda: op.ConfirmIdentityAtCounter(request)) == "PERSON_NOT_ENROLLED"
    request.person_id, request.operator_note = identity.person, "ID 11010519491231002X checked"
    assert refused(lambda: op.ConfirmIdentityAtCounter(request)) == "INVALID_ARGUMENT"


def test_rotation_keeps_old_assertions_verifiable_and_signs_new_ones_with_the_new_key(identity):
    old = counter_assertion(identity, identity.person)
    op = stub(identity, token=identity.operator_token)
    rotated = op.RotateSigningKey(pb.RotateSigningKeyRequest(request_id=f"rot-{uuid.uuid4()}"))
    assert rotated.key_id != rotated.previous_key_id and rotated.previous_key_id
    keys = {k.key_id: k.active for k in op.GetSigningKeys(pb.GetSigningKeysRequest()).keys}
    assert keys[rotated.key_id] is True and keys[rotated.previous_key_id] is False
    new = counter_assertion(identity, identity.person)
    header = json.loads(base64.urlsafe_b64decode(new.split(".")[0] + "=="))
    assert header["kid"] == rotated.key_id
    assert verify(identity, old).person_id == verify(identity, new).person_id == identity.person


def test_an_expired_assertion_is_refused(identity):
    token = counter_assertion(identity, identity.person)
    identity.move_clock(121)  # the default assertion lifetime is 120 s
    assert refused(lambda: verify(identity, token)) == "ASSERTION_EXPIRED"
    with pytest.raises(DomainError) as err:
        read_assertion(token, public_keys(identity), now=now_of(identity), purpose="CARD_ISSUE",
                       audience="card")
    assert err.value.reason == "ASSERTION_EXPIRED"


def test_verifications_are_audited_with_their_outcome(identity):
    token = counter_assertion(identity, identity.person, device_id="phone-audit")
    verify(identity, token)
    assert refused(lambda: verify(identity, token)) == "ASSERTION_USED"
    assert refused(lambda: verify(identity, "x.y.z")) == "ASSERTION_INVALID"
    op = stub(identity, token=identity.operator_token)
    events = op.ListAuditEvents(pb.ListAuditEventsRequest(
        kind=pb.AUDIT_EVENT_KIND_ASSERTION_VERIFIED, page_size=3)).events
    invalid, used, consumed = events  # newest first
    assert (invalid.succeeded, invalid.reason, invalid.person_id) == (
        False, errors_pb2.ERROR_REASON_ASSERTION_INVALID, "")
    assert (used.succeeded, used.reason, used.device_id) == (
        False, errors_pb2.ERROR_REASON_ASSERTION_USED, "phone-audit")
    assert (consumed.succeeded, consumed.person_id, consumed.actor) == (True, identity.person, "card")
