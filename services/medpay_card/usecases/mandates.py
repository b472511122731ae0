"""RegisterCreditMandate and WithdrawCreditMandate: the holder's standing consent that one
service (billing) may settle by card id at one merchant (a hospital), without a QR code.

The proof is the holder's CREDIT_AGREEMENT assertion that the service consumed at identity
and forwards: card checks it offline itself (identity's signature, purpose, audience = the
calling service, expiry), that it is about this card's holder and made on this card's
device (``consenting_holder``), and records its id so that one assertion backs one mandate.
A retry with the same request id replays, even after the assertion has expired.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from medpay.card.v1 import card_pb2
from medpay_card.adapters import mandate_repo
from medpay_card.adapters.ids import new_id
from medpay_card.usecases.access import consenting_holder, own_mandate
from medpay_card.usecases.deps import Deps
from medpay_card.usecases.qr import payable_card
from medpay_card.wire import fields as f
from medpay_card.wire import render
from medpay_kit.auth import Caller
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import check_request_id

Registered = card_pb2.RegisterCreditMandateResponse


async def register(deps: Deps, caller: Caller,
                   request: card_pb2.RegisterCreditMandateRequest) -> Registered:
    check_request_id(request.request_id)
    card_id = f.opaque_id(request.card_id, "card_id")
    merchant_id = f.merchant_id(request.merchant_id)
    reference = f.text(request.agreement_reference, "agreement_reference", max_len=64)
    f.text(request.assertion, "assertion", max_len=4096, required=True)
    async with deps.db.read() as session:
        earlier = await deps.idem.recall(session, caller.key, "RegisterCreditMandate",
                                         request.request_id, request, Registered)
    if earlier is not None:
        return earlier
    claims = await deps.verifier.check(request.assertion, purpose="CREDIT_AGREEMENT",
                                      audience=caller.principal)

    async def work(session: AsyncSession) -> Registered:
        card, insured = await payable_card(session, card_id)
        consenting_holder(claims, card, insured)
        existing = await own_mandate(session, caller, card_id, merchant_id)
        if existing is not None:
            at = await mandate_repo.created_at(session, existing)
            return Registered(mandate_id=existing, registered_at=render.ts(at))
        if await mandate_repo.assertion_used(session, claims.jti):
            raise DomainError("ASSERTION_USED", "the assertion already backs a mandate")
        now, mandate_id = deps.now(), new_id("mnd")
        await mandate_repo.insert(session, mandate_id=mandate_id, caller=caller.key,
                                  card_id=card_id, merchant_id=merchant_id,
                                  assertion_id=claims.jti, method=claims.method,
                                  agreement_reference=reference, now=now)
        return Registered(mandate_id=mandate_id, registered_at=render.ts(now))

    return await deps.idem.run(deps.db, caller.key, "RegisterCreditMandate", request,
                               Registered, work)


async def withdraw(deps: Deps, caller: Caller, request: card_pb2.WithdrawCreditMandateRequest,
                   ) -> card_pb2.WithdrawCreditMandateResponse:
    card_id = f.opaque_id(request.card_id, "card_id")
    merchant_id = f.merchant_id(request.merchant_id)
    reason = f.text(request.reason, "reason", max_len=200)

    async def work(session: AsyncSession) -> card_pb2.WithdrawCreditMandateResponse:
        withdrawn = await mandate_repo.withdraw(session, caller.key, card_id, merchant_id,
                                                reason, deps.now())
        return card_pb2.WithdrawCreditMandateResponse(withdrawn=withdrawn)

    return await deps.idem.run(deps.db, caller.key, "WithdrawCreditMandate", request,
                               card_pb2.WithdrawCreditMandateResponse, work)
