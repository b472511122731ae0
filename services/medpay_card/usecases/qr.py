"""GenerateQrCode (app) and ResolveQrCode (pharmacy or billing, on behalf of a merchant).

A QR code is consumed by one guarded update (ISSUED → USED): of any number of concurrent
resolves exactly one changes the row; the others see it used (QR_ALREADY_USED). A retry of
the winning request (same caller and request id) gets the same payment context back.
Nothing is consumed when the card or the insured person may not pay.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.card.v1 import card_pb2
from medpay_card.adapters import card_repo, qr_repo
from medpay_card.adapters.ids import new_id
from medpay_card.adapters.qr_repo import PaymentContextRow
from medpay_card.domain import cards, persons, qr
from medpay_card.usecases import commands as cmd
from medpay_card.usecases.access import device_card_id, insured_of, merchant_kind_of_caller
from medpay_card.usecases.deps import Deps
from medpay_card.wire import render
from medpay_kit.auth import Caller
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import check_request_id, fingerprint


async def payable_card(session: AsyncSession, card_id: str):  # type: ignore[no-untyped-def]
    """The card and its insured person, if both may pay now (else the reason)."""
    card = await card_repo.get(session, card_id)
    if card is None:
        raise DomainError("CARD_NOT_FOUND", "no such card", field="card_id")
    cards.ensure_can_pay(card.status)
    insured = await insured_of(session, card.insured_id)
    persons.ensure_may_pay(insured.status)
    if card.insurance_type not in insured.insurance_types:
        raise DomainError("INSURED_INACTIVE", "the person is no longer insured under this scheme")
    return card, insured


async def generate(deps: Deps, caller: Caller,
                   request: card_pb2.GenerateQrCodeRequest) -> card_pb2.GenerateQrCodeResponse:
    card_id = device_card_id(caller)
    check_request_id(request.request_id)
    token_id = qr.derive_token_id(card_id, request.request_id, deps.qr_mac)

    async def work(session: AsyncSession) -> card_pb2.GenerateQrCodeResponse:
        await payable_card(session, card_id)
        now = deps.now()
        expires_at = now.replace(microsecond=0) + timedelta(seconds=deps.settings.qr_ttl_s)
        await qr_repo.insert_token(session, qr.token_hash(token_id), card_id, expires_at, now)
        # the payload itself is never stored, not even in the idempotency record
        return card_pb2.GenerateQrCodeResponse(expires_at=render.ts(expires_at))

    stored = await deps.idem.run(deps.db, caller.key, "GenerateQrCode", request,
                                 card_pb2.GenerateQrCodeResponse, work)
    token = qr.QrToken(token_id, stored.expires_at.ToDatetime(tzinfo=UTC))
    return card_pb2.GenerateQrCodeResponse(qr_payload=qr.encode(token, deps.qr_mac),
                                           expires_at=stored.expires_at)


async def _context_response(deps: Deps, session: AsyncSession,
                            ctx: PaymentContextRow) -> card_pb2.ResolveQrCodeResponse:
    card = await card_repo.get(session, ctx.card_id)
    assert card is not None
    insured = await insured_of(session, ctx.insured_id)
    return card_pb2.ResolveQrCodeResponse(payment_context=render.payment_context(
        ctx, card, insured, deps.personal.masked_name(insured)))


async def _resolve_once(deps: Deps, caller: Caller, command: cmd.ResolveQr,
                        request: card_pb2.ResolveQrCodeRequest,
                        token: qr.QrToken) -> card_pb2.ResolveQrCodeResponse:
    async with deps.db.write() as session:
        # a twin waits for the first exchange to commit, then finds its context
        await deps.idem.lock(session, caller.key, "ResolveQrCode", request.request_id)
        earlier = await qr_repo.context_by_request(session, caller.key, request.request_id)
        if earlier is not None:
            if earlier.request_hash != fingerprint(request):
                raise DomainError("IDEMPOTENCY_MISMATCH",
                                  "this request_id was already used for a different request")
            return await _context_response(deps, session, earlier)
        now = deps.now()
        qr.ensure_fresh(token.expires_at, now)
        if not await qr_repo.consume_token(session, token.token_hash, now):
            if await qr_repo.token_state(session, token.token_hash) is None:
                raise DomainError("QR_INVALID", "the QR code is not valid", field="qr_payload")
            raise DomainError("QR_ALREADY_USED", "the QR code was already used")
        found = await qr_repo.token_state(session, token.token_hash)
        assert found is not None
        card, insured = await payable_card(session, found[1])
        ctx = PaymentContextRow(
            payment_context_id=new_id("pctx"), token_hash=token.token_hash, card_id=card.card_id,
            insured_id=insured.insured_id, merchant_id=command.merchant_id,
            merchant_kind=command.merchant_kind, caller=caller.key,
            request_id=request.request_id, request_hash=fingerprint(request),
            state=qr_repo.OPEN, hold_id=None,
            expires_at=now + timedelta(seconds=deps.settings.payment_context_ttl_s),
            created_at=now)
        await qr_repo.insert_context(session, ctx)
        return await _context_response(deps, session, ctx)


async def _check_only(deps: Deps, caller: Caller, command: cmd.ResolveQr,
                      request: card_pb2.ResolveQrCodeRequest,
                      token: qr.QrToken) -> card_pb2.ResolveQrCodeResponse:
    """validate_only: what a resolve would answer now, without using the code up.

    When this caller already resolved the code under the same request id, the context it
    got is named, so an acquirer's retry goes on to replay the resolve instead of failing.
    """
    real = card_pb2.ResolveQrCodeRequest()
    real.CopyFrom(request)
    real.validate_only = False
    async with deps.db.read() as session:
        earlier = await qr_repo.context_by_request(session, caller.key, request.request_id)
        if earlier is not None and earlier.request_hash == fingerprint(real):
            return await _context_response(deps, session, earlier)
        now = deps.now()
        qr.ensure_fresh(token.expires_at, now)
        found = await qr_repo.token_state(session, token.token_hash)
        if found is None:
            raise DomainError("QR_INVALID", "the QR code is not valid", field="qr_payload")
        if found[0] != qr_repo.ISSUED:
            raise DomainError("QR_ALREADY_USED", "the QR code was already used")
        card, insured = await payable_card(session, found[1])
        checked = PaymentContextRow(
            payment_context_id="", token_hash=token.token_hash, card_id=card.card_id,
            insured_id=insured.insured_id, merchant_id=command.merchant_id,
            merchant_kind=command.merchant_kind, caller=caller.key, request_id=request.request_id,
            request_hash="", state=qr_repo.OPEN, hold_id=None, expires_at=token.expires_at,
            created_at=now)
        return card_pb2.ResolveQrCodeResponse(payment_context=render.payment_context(
            checked, card, insured, deps.personal.masked_name(insured)))


async def resolve(deps: Deps, caller: Caller, command: cmd.ResolveQr,
                  request: card_pb2.ResolveQrCodeRequest) -> card_pb2.ResolveQrCodeResponse:
    check_request_id(request.request_id)
    token = qr.decode(command.payload, deps.qr_mac)
    merchant_kind_of_caller(caller, command.merchant_kind)
    if command.validate_only:
        return await _check_only(deps, caller, command, request, token)
    try:
        return await _resolve_once(deps, caller, command, request, token)
    except IntegrityError:  # a concurrent twin with the same request id committed first
        return await _resolve_once(deps, caller, command, request, token)
