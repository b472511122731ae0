"""IssueCard and ReissueCard reveal nothing about a person or a card to a caller that has not
proven the right to know: without a valid assertion every subject gets the same assertion
refusal, and with someone else's assertion an existing subject is refused exactly like an
unknown one (same status code, reason, message and metadata). Real identity and card
processes."""

from __future__ import annotations

import uuid

import grpc
import pytest
from cardtest import (
    Holder,
    assertion_for,
    card_stub,
    enrol,
    id_number,
    import_person,
    operator,
    pb,
    rid,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from medpay_kit.assertions import AssertionClaims, assertion_key_id, sign_assertion
from medpay_kit.client import error_info

pytestmark = pytest.mark.db


def answer(call, request) -> tuple:
    """Everything a refused caller sees: status, details, reason and metadata."""
    with pytest.raises(grpc.RpcError) as err:
        call(request)
    info = error_info(err.value)
    assert info is not None
    return err.value.code(), err.value.details(), info.reason, tuple(sorted(info.metadata.items()))


@pytest.fixture(scope="module")
def subjects(issuer):
    """Person numbers whose truthful answers would differ: holds a card, insurance ended,
    imported but not linked to identity, unknown."""
    holder = Holder(issuer)
    ended_person = enrol(issuer, id_number())
    _, ended = import_person(issuer, identity_person_id=ended_person,
                             status=pb.INSURED_STATUS_TERMINATED)
    _, unlinked = import_person(issuer)
    revoked = Holder(issuer)
    operator(issuer).RevokeCard(pb.RevokeCardRequest(request_id=rid(), card_id=revoked.card_id,
                                                     reason="test"))
    return {"numbers": [holder.person_number, ended, unlinked, f"PSN{uuid.uuid4().hex[:12].upper()}"],
            "cards": [holder.card_id, revoked.card_id, f"card_{uuid.uuid4().hex}"],
            "holder": holder}


def bad_assertions(issuer, device: str) -> list[str]:
    real = assertion_for(issuer, enrol(issuer, id_number()), device)
    claims = AssertionClaims(sub="per_x", aud="card", purpose="CARD_ISSUE", device_id=device,
                             jti=uuid.uuid4().hex, method="FACE", iat=0, exp=4_000_000_000)
    forged = sign_assertion(claims, assertion_key_id(real), Ed25519PrivateKey.generate())
    return ["garbage", "a.b.c", forged, real + "x",
            assertion_for(issuer, enrol(issuer, id_number()), device, purpose="CREDIT_AGREEMENT"),
            assertion_for(issuer, enrol(issuer, id_number()), device, audience="billing")]


def test_without_a_valid_assertion_every_person_number_gets_the_same_answer(issuer, subjects):
    app = card_stub(issuer, issuer.app_token)
    for token in bad_assertions(issuer, "oracle-phone"):
        answers = {answer(app.IssueCard, pb.IssueCardRequest(
            request_id=rid(), person_number=number, assertion=token, device_id="oracle-phone"))
            for number in subjects["numbers"]}
        assert len(answers) == 1, answers
        assert next(iter(answers))[2].startswith("ASSERTION_")


def test_with_someone_elses_assertion_every_other_person_number_gets_the_same_answer(issuer, subjects):
    app = card_stub(issuer, issuer.app_token)
    stranger = enrol(issuer, id_number())
    answers = set()
    for number in subjects["numbers"]:
        token = assertion_for(issuer, stranger, "stranger-phone")
        answers.add(answer(app.IssueCard, pb.IssueCardRequest(
            request_id=rid(), person_number=number, assertion=token, device_id="stranger-phone")))
    assert len(answers) == 1, answers
    assert next(iter(answers))[2] == "PERMISSION_DENIED"


def test_reissue_tells_no_card_apart_without_the_right_to_know(issuer, subjects):
    app = card_stub(issuer, issuer.app_token)
    for token in bad_assertions(issuer, "reissue-phone"):
        answers = {answer(app.ReissueCard, pb.ReissueCardRequest(
            request_id=rid(), card_id=card, assertion=token, device_id="reissue-phone"))
            for card in subjects["cards"]}
        assert len(answers) == 1, answers
    stranger = Holder(issuer)
    answers = set()
    for card in subjects["cards"]:  # a live card, a revoked card, no card: all someone else's
        token = assertion_for(issuer, stranger.person_id, "stranger-new-phone")
        answers.add(answer(app.ReissueCard, pb.ReissueCardRequest(
            request_id=rid(), card_id=card, assertion=token, device_id="stranger-new-phone")))
    assert len(answers) == 1 and next(iter(answers))[2] == "PERMISSION_DENIED", answers
    own = answer(stranger.app.ReissueCard, pb.ReissueCardRequest(  # a device credential, another card
        request_id=rid(), card_id=subjects["holder"].card_id, device_id="stranger-new-phone",
        assertion=assertion_for(issuer, stranger.person_id, "stranger-new-phone")))
    assert own == next(iter(answers))


def test_the_proven_person_is_told_what_stops_them(issuer, subjects):
    """The refusals that were oracles stay precise for the person they are about."""
    holder = subjects["holder"]
    app = card_stub(issuer, issuer.app_token)
    token = assertion_for(issuer, holder.person_id, "holder-second-phone")
    got = answer(app.IssueCard, pb.IssueCardRequest(
        request_id=rid(), person_number=holder.person_number, assertion=token,
        device_id="holder-second-phone"))
    assert got[2] == "CARD_ALREADY_ISSUED"
    # the refusal used nothing up: the same assertion still re-issues the card
    reissued = app.ReissueCard(pb.ReissueCardRequest(
        request_id=rid(), card_id=holder.card_id, assertion=token, device_id="holder-second-phone"))
    assert reissued.card.replaces_card_id == holder.card_id
