"""Requests through the real service: enrolment rules, bad input, sessions that cannot be
completed, idempotent retries, who may call what, and logs free of personal data.
"""

from __future__ import annotations

import uuid

import grpc
import pytest

from medpay.common.v1 import insurance_pb2
from medpay.identity.v1 import identity_pb2 as pb
from medpay_kit.client import error_info, error_reason
from support.faces import (
    answer,
    enrol,
    face_auth,
    id_number,
    identity_stub,
    large_payload,
    photo,
    random_id_number,
    reencoded,
    truncated,
)

pytestmark = pytest.mark.db

CARD_ISSUE = insurance_pb2.FACE_PURPOSE_CARD_ISSUE


@pytest.fixture(scope="module")
def identity(module_stack, tmp_path_factory):
    keyring = tmp_path_factory.mktemp("keys") / "identity.json"
    module_stack.start("identity", keyring_file=str(keyring))
    return module_stack


def op(stack):
    return identity_stub(stack, token=stack.operator_token)


def app(stack):
    return identity_stub(stack, token=stack.app_token)


def enrol_request(**fields):
    values = dict(request_id=str(uuid.uuid4()), id_number=random_id_number(), name="Zhang San",
                  reference_photo=photo("obama1"), consent=pb.Consent(given=True, consent_ref="F-7"))
    values.update(fields)
    return pb.EnrollPersonRequest(**values)


def start_request(person_id, **fields):
    values = dict(request_id=str(uuid.uuid4()), person_id=person_id, purpose=CARD_ISSUE,
                  device_id="phone-1", audience="card")
    values.update(fields)
    return pb.StartFaceAuthRequest(**values)


def refusal(call) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), error_reason(err.value), err.value.details()


# ----- enrolment ------------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "reason"), [
    (dict(consent=pb.Consent(given=False, consent_ref="F-7")), "CONSENT_REQUIRED"),
    (dict(consent=pb.Consent(given=True)), "CONSENT_REQUIRED"),
    (dict(id_number="61010319850612001"), "INVALID_ID_NUMBER"),
    (dict(id_number=id_number(1)[:-1] + ("0" if id_number(1)[-1] != "0" else "1")), "INVALID_ID_NUMBER"),
    (dict(id_number="610103198502300014"), "INVALID_ID_NUMBER"),  # 30 February
    (dict(name=""), "INVALID_ARGUMENT"),
    (dict(consent=pb.Consent(given=True, consent_ref="F-7", given_at={"seconds": 4_000_000_000})),
     "INVALID_ARGUMENT"),
    (dict(reference_photo=large_payload(4 * 1024 * 1024 + 1)), "IMAGE_TOO_LARGE"),
    (dict(reference_photo=bytes(range(256)) * 40), "IMAGE_INVALID"),
    (dict(reference_photo=truncated(photo("obama1"))), "IMAGE_INVALID"),
    (dict(reference_photo=reencoded(photo("obama1"), "GIF")), "IMAGE_INVALID"),
    (dict(reference_photo=b""), "IMAGE_INVALID"),
])
def test_enrolment_refuses_bad_input_with_a_clear_reason(identity, fields, reason):
    request = enrol_request(**fields)
    _, got, message = refusal(lambda: op(identity).EnrollPerson(request))
    assert got == reason, message
    assert request.id_number not in message and "Zhang" not in message


def test_the_national_check_character_x_is_accepted_in_either_case(identity):
    number = next(id_number(n) for n in range(1000, 2000) if id_number(n).endswith("X"))
    person = op(identity).EnrollPerson(enrol_request(id_number=number.lower())).person_id
    again = op(identity).EnrollPerson(enrol_request(id_number=number))
    assert again.person_id == person and again.replaced


def test_re_enrolment_replaces_the_reference_face_and_is_audited(identity):
    number = random_id_number()
    first = op(identity).EnrollPerson(enrol_request(id_number=number, reference_photo=photo("biden")))
    assert not first.replaced
    _, before = face_auth(identity, first.person_id, device_id="re-enrol-1")
    assert before.decision.outcome == pb.FACE_OUTCOME_MISMATCH
    second = op(identity).EnrollPerson(enrol_request(id_number=number, name="Zhang Sanfeng"))
    assert second.person_id == first.person_id and second.replaced
    _, after = face_auth(identity, first.person_id, device_id="re-enrol-2")
    assert after.decision.outcome == pb.FACE_OUTCOME_MATCHED
    events = op(identity).ListAuditEvents(pb.ListAuditEventsRequest(
        person_id=first.person_id, kind=pb.AUDIT_EVENT_KIND_ENROLLED)).events
    assert len(events) == 2 and all(e.actor == "operator" and e.succeeded for e in events)
    person = op(identity).GetPerson(pb.GetPersonRequest(person_id=first.person_id)).person
    assert person.masked_name == "Z" + "*" * 12 and person.enrolled


def test_enrolment_is_idempotent_by_request_id(identity):
    request = enrol_request()
    first = op(identity).EnrollPerson(request)
    assert op(identity).EnrollPerson(request) == first
    other = enrol_request(request_id=request.request_id)
    assert refusal(lambda: op(identity).EnrollPerson(other))[1] == "IDEMPOTENCY_MISMATCH"


# ----- starting a session ---------------------------------------------------------------------


def test_a_session_can_be_started_by_id_number_and_carries_a_challenge(identity):
    number = random_id_number()
    person = enrol(identity, "obama1", number=number)
    request = start_request("", id_number=number)
    started = app(identity).StartFaceAuth(request)
    assert started.session_id.startswith("fas_") and len(started.nonce) >= 24
    assert sorted(started.actions) == [pb.LIVENESS_ACTION_TURN_LEFT, pb.LIVENESS_ACTION_TURN_RIGHT]
    assert started.frames_expected == 3 and started.attempts_remaining == 5
    assert 119 <= started.expires_at.seconds - _now_s(identity) <= 121
    assert app(identity).StartFaceAuth(request) == started  # a retry returns the same session
    done = app(identity).CompleteFaceAuth(pb.CompleteFaceAuthRequest(
        request_id=str(uuid.uuid4()), session_id=started.session_id, nonce=started.nonce,
        frames=answer("obama1", started.actions)))
    assert done.decision.outcome == pb.FACE_OUTCOME_MATCHED
    audit = op(identity).ListAuditEvents(pb.ListAuditEventsRequest(person_id=person, page_size=1)).events
    assert audit[0].kind == pb.AUDIT_EVENT_KIND_ASSERTION_ISSUED


def _now_s(stack) -> float:
    import time

    offset = float(stack.clock_file.read_text()) if stack.clock_file.exists() else 0.0
    return time.time() + offset


@pytest.mark.parametrize(("fields", "reason"), [
    (dict(person_id="per_unknown"), "INVALID_ARGUMENT"),  # not shaped like a person id
    (dict(person_id="", id_number="123"), "INVALID_ID_NUMBER"),
    (dict(person_id=""), "INVALID_ARGUMENT"),
    (dict(purpose=insurance_pb2.FACE_PURPOSE_UNSPECIFIED), "INVALID_ARGUMENT"),
    (dict(audience="echo"), "INVALID_ARGUMENT"),
    (dict(device_id=""), "INVALID_ARGUMENT"),
    (dict(request_id=""), "INVALID_ARGUMENT"),
])
def test_a_session_needs_a_person_a_purpose_a_device_and_an_audience(identity, fields, reason):
    person = enrol(identity, "obama1")
    fields.setdefault("person_id", person)
    assert refusal(lambda: app(identity).StartFaceAuth(start_request(**fields)))[1] == reason


# ----- completing it --------------------------------------------------------------------------


@pytest.fixture
def session(identity):
    person = enrol(identity, "obama1")
    return app(identity).StartFaceAuth(start_request(person, device_id=f"phone-{uuid.uuid4()}"))


def complete(stack, started, frames=None, **fields):
    values = dict(request_id=str(uuid.uuid4()), session_id=started.session_id, nonce=started.nonce,
                  frames=answer("obama1", started.actions) if frames is None else frames)
    values.update(fields)
    return app(stack).CompleteFaceAuth(pb.CompleteFaceAuthRequest(**values))


def test_an_unknown_session_or_a_wrong_nonce_is_refused(identity, session):
    assert refusal(lambda: complete(identity, session, session_id="fas_nope"))[1] == "SESSION_NOT_FOUND"
    assert refusal(lambda: complete(identity, session, nonce="guess"))[1] == "NONCE_MISMATCH"
    assert complete(identity, session).decision.outcome == pb.FACE_OUTCOME_MATCHED  # still usable


def test_a_session_is_used_once_and_a_retry_replays_the_decision(identity, session):
    request_id = str(uuid.uuid4())
    first = complete(identity, session, request_id=request_id)
    assert first.decision.outcome == pb.FACE_OUTCOME_MATCHED
    assert complete(identity, session, request_id=request_id) == first
    assert refusal(lambda: complete(identity, session))[1] == "SESSION_USED"


def test_a_decided_failure_also_uses_the_session(identity, session):
    done = complete(identity, session, frames=[photo("no_face")] * 3)
    assert done.decision.outcome == pb.FACE_OUTCOME_NO_FACE
    assert refusal(lambda: complete(identity, session))[1] == "SESSION_USED"


def test_an_expired_session_is_refused(identity, session):
    identity.move_clock(121)  # sessions live 120 s
    code, reason, _ = refusal(lambda: complete(identity, session))
    assert (code, reason) == (grpc.StatusCode.FAILED_PRECONDITION, "SESSION_EXPIRED")


def test_bad_frames_give_clear_answers(identity, session):
    frames = answer("obama1", session.actions)
    assert refusal(lambda: complete(identity, session, frames=frames[:2]))[1] == "INVALID_ARGUMENT"
    assert refusal(lambda: complete(identity, session, frames=[]))[1] == "INVALID_ARGUMENT"
    oversize = [*frames[:2], large_payload(4 * 1024 * 1024 + 1)]
    code, reason, _ = refusal(lambda: complete(identity, session, frames=oversize))
    assert (code, reason) == (grpc.StatusCode.INVALID_ARGUMENT, "IMAGE_TOO_LARGE")
    cut = complete(identity, session, frames=[*frames[:2], truncated(frames[2])])
    assert cut.decision.outcome == pb.FACE_OUTCOME_IMAGE_INVALID  # decided: counts, uses the session
    assert cut.decision.liveness_detail == "frame 2: not a complete JPEG or PNG"


def test_a_message_over_the_limit_is_refused_by_the_transport(identity, session):
    huge = [large_payload(4 * 1024 * 1024)] * 5  # 20 MiB against a 16 MiB limit
    code, _, _ = refusal(lambda: complete(identity, session, frames=huge))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED


# ----- who may call what ----------------------------------------------------------------------


@pytest.mark.parametrize(("caller", "rpc", "message"), [
    ("app", "EnrollPerson", enrol_request()),
    ("app", "ConfirmIdentityAtCounter", pb.ConfirmIdentityAtCounterRequest(request_id="x")),
    ("app", "ListAuditEvents", pb.ListAuditEventsRequest()),
    ("app", "GetPerson", pb.GetPersonRequest(person_id="x")),
    ("operator", "StartFaceAuth", start_request("x")),
    ("card", "CompleteFaceAuth", pb.CompleteFaceAuthRequest(request_id="x")),
    ("card", "RotateSigningKey", pb.RotateSigningKeyRequest(request_id="x")),
])
def test_each_rpc_admits_only_its_callers(identity, caller, rpc, message):
    stub = {"app": app(identity), "operator": op(identity),
            "card": identity_stub(identity, identity="card")}[caller]
    code, reason, _ = refusal(lambda: getattr(stub, rpc)(message))
    assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")


def test_the_audit_trail_pages_newest_first(identity):
    for _ in range(2):
        face_auth(identity, enrol(identity, "obama1"), device_id="audit-phone")  # 4 events each
    first = op(identity).ListAuditEvents(pb.ListAuditEventsRequest(page_size=2))
    second = op(identity).ListAuditEvents(
        pb.ListAuditEventsRequest(page_size=2, page_token=first.next_page_token))
    assert len(first.events) == len(second.events) == 2 and second.next_page_token
    times = [e.at.ToNanoseconds() for e in [*first.events, *second.events]]
    assert times == sorted(times, reverse=True)
    assert len({e.event_id for e in [*first.events, *second.events]}) == 4
    assert refusal(lambda: op(identity).ListAuditEvents(
        pb.ListAuditEventsRequest(page_token="garbage")))[1] == "INVALID_ARGUMENT"


# ----- nothing personal in logs, errors or the audit -----------------------------------------


def test_logs_errors_and_audit_hold_no_id_number_name_or_image_bytes(identity):
    number, name = random_id_number(), "Liu Privatename"
    person = op(identity).EnrollPerson(enrol_request(id_number=number, name=name)).person_id
    refusals = [
        refusal(lambda: op(identity).EnrollPerson(enrol_request(id_number=number[:-1] + "Z", name=name))),
        refusal(lambda: op(identity).EnrollPerson(enrol_request(
            id_number=number, name=name, reference_photo=truncated(photo("obama1"))))),
        refusal(lambda: app(identity).StartFaceAuth(start_request("", id_number=number[:-1] + "Z"))),
        refusal(lambda: op(identity).EnrollPerson(enrol_request(
            id_number=number, name=name, reference_photo=photo("no_face")))),
    ]
    started = app(identity).StartFaceAuth(start_request("", id_number=number, device_id="log-phone"))
    complete(identity, started, frames=[photo("obama1"), truncated(photo("obama1")), photo("biden")])
    texts = [message for *_, message in refusals]
    with pytest.raises(grpc.RpcError) as err:
        op(identity).EnrollPerson(enrol_request(id_number=number[:-1] + "Z", name=name))
    texts.append(str(error_info(err.value)))

    service = identity.services["identity"]
    logs = service.logs()
    spans = service.trace_path.read_text() if service.trace_path.exists() else ""
    audit = str(op(identity).ListAuditEvents(pb.ListAuditEventsRequest(page_size=1000)))
    image = photo("obama1")
    for where, text in (("logs", logs), ("spans", spans), ("errors", "\n".join(texts)), ("audit", audit)):
        assert number not in text and number[:17] not in text, where
        assert "Privatename" not in text, where
        for chunk in (image[100:124], image[2000:2024]):
            assert chunk.hex() not in text and repr(chunk)[2:-1] not in text, where
    assert '"rpc_refused"' in logs and person in audit
