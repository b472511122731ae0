"""The subject rules of card's access table, tried as an attacker would: billing without a
mandate, a pharmacy with another pharmacy's payment context, a capture of another service's
hold, a mandate on another person's assertion, and a withdrawn mandate."""

from __future__ import annotations

import pytest
from cardtest import (
    COMMUNITY,
    OUTPATIENT,
    PHARMACY,
    Holder,
    as_service,
    assertion_for,
    count,
    line,
    pb,
    refusal,
    rid,
)

pytestmark = pytest.mark.db

HOSPITAL, OTHER_HOSPITAL = "H61010000071", "H61010000072"
SHOP, OTHER_SHOP = "P61010000071", "P61010000072"


def by_card(holder, merchant: str) -> pb.AuthorizeRequest:
    return pb.AuthorizeRequest(request_id=rid("auth"), card_id=holder.card_id, merchant_id=merchant,
                               medical_type=OUTPATIENT, level=COMMUNITY, use_personal_account=True,
                               lines=[line(1, "A", "10")])


def test_billing_settles_by_card_only_under_its_mandate_at_that_hospital(issuer):
    holder = Holder(issuer, balance=10_000)
    billing = as_service(issuer, "billing")
    holds = count(issuer, "holds")
    reason, metadata = refusal(billing.Authorize, by_card(holder, HOSPITAL))
    assert (reason, metadata.get("subject")) == ("PERMISSION_DENIED", "mandated_card")
    assert refusal(billing.GetCard, pb.GetCardRequest(card_id=holder.card_id))[0] == "CARD_NOT_FOUND"
    holder.mandate(HOSPITAL)
    assert billing.Authorize(by_card(holder, HOSPITAL)).hold_id
    assert billing.GetCard(pb.GetCardRequest(card_id=holder.card_id)).card.card_id == holder.card_id
    assert refusal(billing.Authorize, by_card(holder, OTHER_HOSPITAL))[0] == "PERMISSION_DENIED"
    # the pharmacy service never pays by card id, mandate or not
    assert refusal(as_service(issuer, "pharmacy").Authorize, by_card(holder, HOSPITAL))[0] == \
        "PERMISSION_DENIED"
    assert count(issuer, "holds") == holds + 1


def test_a_withdrawn_mandate_stops_settling_by_card(issuer):
    holder = Holder(issuer, balance=10_000)
    holder.mandate(HOSPITAL)
    billing = as_service(issuer, "billing")
    withdraw = pb.WithdrawCreditMandateRequest(request_id=rid(), card_id=holder.card_id,
                                               merchant_id=HOSPITAL, reason="agreement closed")
    assert billing.WithdrawCreditMandate(withdraw).withdrawn
    assert billing.WithdrawCreditMandate(withdraw).withdrawn  # a retry replays
    assert refusal(billing.Authorize, by_card(holder, HOSPITAL))[0] == "PERMISSION_DENIED"


def test_a_mandate_needs_the_holders_own_fresh_assertion(issuer):
    holder, stranger = Holder(issuer), Holder(issuer)
    billing = as_service(issuer, "billing")

    def register(proof: str, card_id: str = holder.card_id) -> pb.RegisterCreditMandateRequest:
        return pb.RegisterCreditMandateRequest(request_id=rid(), card_id=card_id,
                                               merchant_id=HOSPITAL, assertion=proof)

    strangers = assertion_for(issuer, stranger.person_id, holder.device_id,
                              purpose="CREDIT_AGREEMENT", audience="billing")
    assert refusal(billing.RegisterCreditMandate, register(strangers))[0] == "PERMISSION_DENIED"
    for_card = assertion_for(issuer, holder.person_id, holder.device_id,
                             purpose="CREDIT_AGREEMENT", audience="card")
    assert refusal(billing.RegisterCreditMandate, register(for_card))[0] == "ASSERTION_WRONG_AUDIENCE"
    issue = assertion_for(issuer, holder.person_id, holder.device_id, audience="billing")
    assert refusal(billing.RegisterCreditMandate, register(issue))[0] == "ASSERTION_WRONG_PURPOSE"
    assert refusal(billing.RegisterCreditMandate, register("a.b.c"))[0] == "ASSERTION_INVALID"
    proof = assertion_for(issuer, holder.person_id, holder.device_id,
                          purpose="CREDIT_AGREEMENT", audience="billing")
    assert billing.RegisterCreditMandate(register(proof)).mandate_id
    # one assertion backs one mandate: not a second hospital's
    again = pb.RegisterCreditMandateRequest(request_id=rid(), card_id=holder.card_id,
                                            merchant_id=OTHER_HOSPITAL, assertion=proof)
    assert refusal(billing.RegisterCreditMandate, again)[0] == "ASSERTION_USED"
    assert refusal(as_service(issuer, "pharmacy").RegisterCreditMandate, register(proof))[0] == \
        "PERMISSION_DENIED"


def test_a_pharmacy_pays_only_with_a_context_resolved_for_that_pharmacy(issuer):
    holder = Holder(issuer, balance=10_000)
    pharmacy = as_service(issuer, "pharmacy")
    context = holder.context(SHOP)
    request = pb.AuthorizeRequest(request_id=rid(), payment_context_id=context, merchant_id=OTHER_SHOP,
                                  medical_type=PHARMACY, level=COMMUNITY, lines=[line(1, "A", "10")])
    assert refusal(pharmacy.Authorize, request)[0] == "QR_WRONG_MERCHANT"
    assert refusal(as_service(issuer, "billing").Authorize, pb.AuthorizeRequest(
        request_id=rid(), payment_context_id=context, merchant_id=SHOP, medical_type=PHARMACY,
        level=COMMUNITY, lines=[line(1, "A", "10")]))[0] == "PERMISSION_DENIED"
    request.merchant_id = SHOP
    request.request_id = rid()
    assert pharmacy.Authorize(request).hold_id


def test_holds_are_captured_and_voided_only_by_the_service_that_made_them(issuer):
    holder = Holder(issuer, balance=10_000)
    holder.mandate(HOSPITAL)
    hold = as_service(issuer, "billing").Authorize(by_card(holder, HOSPITAL)).hold_id
    pharmacy = as_service(issuer, "pharmacy")
    assert refusal(pharmacy.Capture, pb.CaptureRequest(request_id=rid(), hold_id=hold))[0] == \
        "HOLD_NOT_FOUND"
    assert refusal(pharmacy.Void, pb.VoidRequest(request_id=rid(), hold_id=hold))[0] == \
        "HOLD_NOT_FOUND"
    assert refusal(as_service(issuer, "echo").Capture, pb.CaptureRequest(
        request_id=rid(), hold_id=hold))[0] == "UNAUTHENTICATED"
    assert as_service(issuer, "billing").Capture(pb.CaptureRequest(request_id=rid(), hold_id=hold))
