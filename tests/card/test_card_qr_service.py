"""One-time QR codes and the payment contexts they yield, through real identity and card
processes: every refusal has its own reason and books nothing."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from cardtest import (
    COMMUNITY,
    HOSPITAL_ID,
    PHARMACY,
    PHARMACY_ID,
    Holder,
    as_service,
    card_stub,
    count,
    ledger_problems,
    line,
    operator,
    pb,
    query,
    refusal,
    rid,
)

from medpay_kit.client import error_reason

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def holder(issuer):
    return Holder(issuer, balance=50_000)


def resolve_request(payload: str, *, merchant: str = PHARMACY_ID,
                    kind: int = pb.MERCHANT_KIND_PHARMACY, request_id: str | None = None):
    return pb.ResolveQrCodeRequest(request_id=request_id or rid("resolve"), qr_payload=payload,
                                   merchant_id=merchant, merchant_kind=kind)


def pharmacy(stack):
    return as_service(stack, "pharmacy")


def claim(context_id: str, merchant: str = PHARMACY_ID, **extra) -> dict:
    return dict(payment_context_id=context_id, merchant_id=merchant, medical_type=PHARMACY,
                level=COMMUNITY, use_personal_account=True, lines=[line(1, "A", "10.00")], **extra)


def test_a_qr_code_becomes_a_payment_context_bound_to_the_merchant(issuer, holder):
    payload = holder.qr()
    assert payload.startswith("MPQR1.")
    reply = pharmacy(issuer).ResolveQrCode(resolve_request(payload))
    ctx = reply.payment_context
    assert (ctx.merchant_id, ctx.merchant_kind) == (PHARMACY_ID, pb.MERCHANT_KIND_PHARMACY)
    assert (ctx.card_id, ctx.insured_id, ctx.masked_name) == (holder.card_id, holder.insured_id, "张*")
    assert ctx.region_code == "610100" and ctx.insurance_type == 310
    assert {f.name for f, _ in ctx.ListFields()} >= {"payment_context_id", "expires_at"}
    assert not any("id_number" in f.name for f in pb.PaymentContext.DESCRIPTOR.fields)
    stored = repr(query(issuer, "SELECT * FROM qr_tokens")) + repr(
        query(issuer, "SELECT * FROM idempotency_keys"))
    assert payload not in stored and payload[6:] not in stored
    assert payload[6:] not in issuer.services["card"].logs()


def test_a_retry_of_the_same_resolve_gets_the_same_context(issuer, holder):
    request = resolve_request(holder.qr())
    first = pharmacy(issuer).ResolveQrCode(request)
    assert pharmacy(issuer).ResolveQrCode(request) == first
    changed = resolve_request(holder.qr(), request_id=request.request_id)
    assert refusal(pharmacy(issuer).ResolveQrCode, changed)[0] == "IDEMPOTENCY_MISMATCH"


def test_generating_again_with_the_same_request_id_gives_the_same_code(holder):
    request = pb.GenerateQrCodeRequest(request_id=rid())
    assert holder.app.GenerateQrCode(request) == holder.app.GenerateQrCode(request)


def test_a_used_qr_code_is_refused(issuer, holder):
    payload = holder.qr()
    pharmacy(issuer).ResolveQrCode(resolve_request(payload))
    assert refusal(pharmacy(issuer).ResolveQrCode, resolve_request(payload))[0] == "QR_ALREADY_USED"
    assert refusal(as_service(issuer, "billing").ResolveQrCode, resolve_request(
        payload, merchant=HOSPITAL_ID, kind=pb.MERCHANT_KIND_HOSPITAL))[0] == "QR_ALREADY_USED"


def test_a_tampered_qr_code_is_invalid_and_consumes_nothing(issuer, holder):
    payload = holder.qr()
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    for bad in (flipped, payload[:-3], payload + "xx", "MPQR1.", "hello", "MPQR9." + payload[6:]):
        got, metadata = refusal(pharmacy(issuer).ResolveQrCode, resolve_request(bad))
        assert (got, metadata.get("field")) == ("QR_INVALID", "qr_payload")
    assert pharmacy(issuer).ResolveQrCode(resolve_request(payload)).payment_context.card_id


def test_a_qr_code_has_one_text_form_and_its_variants_consume_nothing(issuer, holder):
    payload = holder.qr()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(payload[-1])
    other_bits = next(c for i, c in enumerate(alphabet) if i >> 4 == last >> 4 and i != last)
    variants = [payload + "==", payload[:-1] + other_bits, payload.replace("-", "+").replace("_", "/"),
                payload[:20] + "\n" + payload[20:]]
    for variant in (v for v in variants if v != payload):
        got, metadata = refusal(pharmacy(issuer).ResolveQrCode, resolve_request(variant))
        assert (got, metadata.get("field")) == ("QR_INVALID", "qr_payload")
    assert pharmacy(issuer).ResolveQrCode(resolve_request(payload)).payment_context.card_id


def test_a_qr_code_for_the_wrong_kind_of_merchant_is_refused_and_stays_usable(issuer, holder):
    payload = holder.qr()
    assert refusal(pharmacy(issuer).ResolveQrCode, resolve_request(
        payload, merchant=HOSPITAL_ID, kind=pb.MERCHANT_KIND_HOSPITAL))[0] == "QR_WRONG_MERCHANT"
    assert refusal(as_service(issuer, "billing").ResolveQrCode,
                   resolve_request(payload))[0] == "QR_WRONG_MERCHANT"
    assert refusal(as_service(issuer, "identity").ResolveQrCode,
                   resolve_request(payload))[0] == "PERMISSION_DENIED"  # not an acquirer
    ctx = as_service(issuer, "billing").ResolveQrCode(resolve_request(
        payload, merchant=HOSPITAL_ID, kind=pb.MERCHANT_KIND_HOSPITAL)).payment_context
    assert ctx.merchant_kind == pb.MERCHANT_KIND_HOSPITAL


def test_a_payment_context_works_only_for_its_merchant_and_once(issuer, holder):
    context_id = holder.context()
    svc = pharmacy(issuer)
    assert refusal(svc.Adjudicate, pb.AdjudicateRequest(**claim(context_id, "P61010000099")))[0] \
        == "QR_WRONG_MERCHANT"
    # billing pays by card under its mandate, never by a pharmacy's context
    assert refusal(as_service(issuer, "billing").Adjudicate,
                   pb.AdjudicateRequest(**claim(context_id)))[0] == "PERMISSION_DENIED"
    holds_before = count(issuer, "holds")
    assert refusal(svc.Authorize, pb.AuthorizeRequest(request_id=rid(), **claim(
        context_id, "P61010000099")))[0] == "QR_WRONG_MERCHANT"
    assert count(issuer, "holds") == holds_before
    svc.Adjudicate(pb.AdjudicateRequest(**claim(context_id)))  # any number of pre-settlements
    svc.Adjudicate(pb.AdjudicateRequest(**claim(context_id)))
    svc.Authorize(pb.AuthorizeRequest(request_id=rid(), **claim(context_id)))
    assert refusal(svc.Authorize, pb.AuthorizeRequest(request_id=rid(), **claim(context_id)))[0] \
        == "PAYMENT_CONTEXT_INVALID"
    assert refusal(svc.Adjudicate, pb.AdjudicateRequest(**claim("pctx_unknown")))[0] == \
        "PAYMENT_CONTEXT_INVALID"


def test_a_suspended_card_cannot_show_or_use_a_qr_code_and_nothing_is_booked(issuer):
    holder = Holder(issuer, balance=10_000)
    payload, context_id = holder.qr(), holder.context()
    holder.mandate(PHARMACY_ID)
    operator(issuer).SuspendCard(pb.SuspendCardRequest(request_id=rid(), card_id=holder.card_id))
    entries_before, holds_before = count(issuer, "ledger_entries"), count(issuer, "holds")
    assert refusal(holder.app.GenerateQrCode, pb.GenerateQrCodeRequest(request_id=rid()))[0] == \
        "CARD_SUSPENDED"
    assert refusal(pharmacy(issuer).ResolveQrCode, resolve_request(payload))[0] == "CARD_SUSPENDED"
    assert refusal(pharmacy(issuer).Authorize, pb.AuthorizeRequest(
        request_id=rid(), **claim(context_id)))[0] == "CARD_SUSPENDED"
    assert refusal(as_service(issuer, "billing").Adjudicate, pb.AdjudicateRequest(
        card_id=holder.card_id, **{k: v for k, v in claim("").items()
                                   if k != "payment_context_id"}))[0] == "CARD_SUSPENDED"
    assert (count(issuer, "ledger_entries"), count(issuer, "holds")) == (entries_before, holds_before)
    operator(issuer).ResumeCard(pb.ResumeCardRequest(request_id=rid(), card_id=holder.card_id))
    assert pharmacy(issuer).ResolveQrCode(resolve_request(payload)).payment_context.card_id
    operator(issuer).RevokeCard(pb.RevokeCardRequest(request_id=rid(), card_id=holder.card_id))
    assert refusal(pharmacy(issuer).Authorize, pb.AuthorizeRequest(
        request_id=rid(), **claim(context_id)))[0] == "CARD_REVOKED"
    assert ledger_problems(issuer) == []


def test_the_app_client_credential_alone_cannot_make_qr_codes(issuer):
    got = refusal(card_stub(issuer, issuer.app_token).GenerateQrCode,
                  pb.GenerateQrCodeRequest(request_id=rid()))
    assert got[0] == "PERMISSION_DENIED"


def test_100_concurrent_resolves_of_one_qr_code_give_exactly_one_context(issuer, holder):
    payload = holder.qr()
    channels = [as_service(issuer, "pharmacy") for _ in range(10)]
    start = threading.Barrier(100)

    def resolve(i: int) -> str:
        start.wait()
        try:
            channels[i % 10].ResolveQrCode(resolve_request(payload), timeout=60)
            return "OK"
        except grpc.RpcError as exc:
            return error_reason(exc) or str(exc.code())

    with ThreadPoolExecutor(max_workers=100) as pool:
        outcomes = Counter(pool.map(resolve, range(100)))
    print(f"\n100 concurrent ResolveQrCode ({issuer.backend}): {dict(outcomes)}")
    assert outcomes == {"OK": 1, "QR_ALREADY_USED": 99}
    used = query(issuer, "SELECT COUNT(*) FROM payment_contexts p JOIN qr_tokens q "
                         "ON p.token_hash = q.token_hash WHERE q.card_id = p.card_id")
    assert used[0][0] == count(issuer, "payment_contexts")


def test_expired_codes_and_contexts_are_refused(issuer, holder):
    payload, context_id = holder.qr(), holder.context()
    issuer.move_clock(61)
    assert refusal(pharmacy(issuer).ResolveQrCode, resolve_request(payload))[0] == "QR_EXPIRED"
    issuer.move_clock(300)
    assert refusal(pharmacy(issuer).Authorize, pb.AuthorizeRequest(
        request_id=rid(), **claim(context_id)))[0] == "PAYMENT_CONTEXT_EXPIRED"
    assert pharmacy(issuer).ResolveQrCode(resolve_request(holder.qr())).payment_context.card_id
