"""Authorize, Capture and Void: two-phase booking of a claim on the issuer's side.

Every step locks the person's account row first (``SELECT … FOR UPDATE`` on PostgreSQL; the
single SQLite writer serializes anyway), so adjudication, counters and ledger move together:
two authorizations for one person at the same instant are applied one after the other, and
the second sees the first's holds. Each step is idempotent by request id (the response is
stored in the same transaction as the booking).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from medpay.card.v1 import card_pb2
from medpay_card.adapters import codec, counters_repo, hold_repo, ledger_repo, qr_repo
from medpay_card.adapters.counters_repo import CounterKey
from medpay_card.adapters.hold_repo import Hold, SettlementRow
from medpay_card.adapters.ids import new_id
from medpay_card.domain import holds, ledger
from medpay_card.domain.adjudication import adjudicate
from medpay_card.domain.calendar import business_date
from medpay_card.domain.policy import counter_group
from medpay_card.domain.refunds import Claim, RefundTracks
from medpay_card.usecases import commands as cmd
from medpay_card.usecases.access import own_hold
from medpay_card.usecases.claims import counter_key, fund_ratio, start_counters, subject_of, terms_of
from medpay_card.usecases.deps import Deps
from medpay_card.wire import render
from medpay_kit.auth import Caller
from medpay_kit.errors import DomainError


async def authorize(deps: Deps, caller: Caller, claim: cmd.Claim,
                    request: card_pb2.AuthorizeRequest) -> card_pb2.AuthorizeResponse:
    async def work(session: AsyncSession) -> card_pb2.AuthorizeResponse:
        now = deps.now()
        subject = await subject_of(session, caller, "Authorize", claim, now)
        insured_id = subject.insured.insured_id
        account = await ledger_repo.lock_account(session, insured_id)
        terms = await terms_of(session, subject, claim, business_date(now))
        key = counter_key(subject, claim, now)
        start = start_counters(await counters_repo.read(session, key), account)
        split = adjudicate(claim.lines, terms, start, use_account=claim.use_account)
        hold_id = new_id("hold")
        if subject.context is not None and not await qr_repo.use_context(
                session, subject.context.payment_context_id, hold_id):
            raise DomainError("PAYMENT_CONTEXT_INVALID", "the payment context was already used",
                              field="payment_context_id")
        yearly_deductible = terms.deductible_scope == "YEAR" and split.deductible
        await counters_repo.change(
            session, key, held=split.deductible, pooled_held=split.fund_pay,
            deductible_limit=terms.deductible if yearly_deductible else None,
            yearly_cap=terms.yearly_cap if split.fund_pay else None)
        posted = await ledger_repo.post(session, insured_id, ledger.hold(split.account_pay),
                                        reference=hold_id, merchant_id=claim.merchant_id, now=now)
        expires_at = now + timedelta(seconds=deps.settings.hold_ttl_s)
        stored = Claim(claim.lines, split, start, terms, claim.use_account)
        await hold_repo.insert(session, Hold(
            hold_id=hold_id, caller=caller.key, request_id=request.request_id,
            insured_id=insured_id, card_id=subject.card.card_id, merchant_id=claim.merchant_id,
            payment_context_id=claim.payment_context_id,
            acquirer_reference=claim.acquirer_reference, insurance_type=key.insurance_type,
            medical_type=key.medical_type, year=key.year, state=holds.AUTHORIZED,
            claim=codec.claim_to_json(stored), deductible=split.deductible,
            fund_pay=split.fund_pay, account_pay=split.account_pay, cash_pay=split.cash_pay,
            total=split.total, refund_state=None, issuer_reference=None,
            balance_after_capture=None, created_at=now, expires_at=expires_at,
            captured_at=None, released_at=None))
        return card_pb2.AuthorizeResponse(
            hold_id=hold_id, expires_at=render.ts(expires_at),
            split=render.claim_split(split, balance_after=posted.account.balance - split.account_pay,
                                     fund_ratio_bp=fund_ratio(terms)))

    return await deps.idem.run(deps.db, caller.key, "Authorize", request,
                               card_pb2.AuthorizeResponse, work)


async def locked_hold(session: AsyncSession, caller: Caller, hold_id: str) -> Hold:
    """The caller's hold (own_hold), read again after its person's account row is locked."""
    hold = await own_hold(session, caller, hold_id)
    await ledger_repo.lock_account(session, hold.insured_id)
    hold = await hold_repo.get(session, hold_id, caller.key)
    assert hold is not None
    return hold


def key_of(hold: Hold) -> CounterKey:
    return CounterKey(hold.insured_id, hold.year, hold.insurance_type,
                      counter_group(hold.medical_type))


async def capture(deps: Deps, caller: Caller, hold_id: str,
                  request: card_pb2.CaptureRequest) -> card_pb2.CaptureResponse:
    async def work(session: AsyncSession) -> card_pb2.CaptureResponse:
        now = deps.now()
        hold = await locked_hold(session, caller, hold_id)
        holds.ensure_capturable(hold.state, hold.expires_at, now)
        claim = codec.claim_from_json(hold.claim)
        await counters_repo.change(session, key_of(hold), used=hold.deductible,
                                   held=-hold.deductible, paid=hold.fund_pay,
                                   pooled_held=-hold.fund_pay)
        posted = await ledger_repo.post(
            session, hold.insured_id, ledger.settlement(hold.account_pay, hold.fund_pay,
                                                        hold.merchant_id),
            reference=hold_id, merchant_id=hold.merchant_id, now=now)
        issuer_reference = new_id("setl")
        moved = await hold_repo.transition(
            session, hold_id, expected=holds.AUTHORIZED, state=holds.CAPTURED, captured_at=now,
            issuer_reference=issuer_reference, balance_after_capture=posted.account.balance,
            refund_state=codec.tracks_to_json(RefundTracks.fresh(claim.lines)))
        assert moved, "the hold changed under the account lock"
        await hold_repo.add_settlement_row(session, SettlementRow(
            caller=caller.key, merchant_id=hold.merchant_id, business_date=business_date(now),
            insurance_type=hold.insurance_type, hold_id=hold_id,
            acquirer_reference=hold.acquirer_reference, refund=False, refund_id="",
            total=hold.total, fund_pay=hold.fund_pay, account_pay=hold.account_pay,
            cash_pay=hold.cash_pay, at=now))
        return card_pb2.CaptureResponse(
            split=render.claim_split(claim.split, balance_after=posted.account.balance,
                                     fund_ratio_bp=fund_ratio(claim.terms)),
            captured_at=render.ts(now), issuer_reference=issuer_reference,
            business_date=business_date(now).isoformat())

    return await deps.idem.run(deps.db, caller.key, "Capture", request,
                               card_pb2.CaptureResponse, work)


async def release(session: AsyncSession, hold: Hold, state: str, now: datetime) -> None:
    """Give an authorized hold's account part and counters back (Void or expiry)."""
    await counters_repo.change(session, key_of(hold), held=-hold.deductible,
                               pooled_held=-hold.fund_pay)
    await ledger_repo.post(session, hold.insured_id, ledger.release(hold.account_pay),
                           reference=hold.hold_id, merchant_id=hold.merchant_id, now=now)
    moved = await hold_repo.transition(session, hold.hold_id, expected=holds.AUTHORIZED,
                                       state=state, released_at=now)
    assert moved, "the hold changed under the account lock"


async def void(deps: Deps, caller: Caller, hold_id: str,
               request: card_pb2.VoidRequest) -> card_pb2.VoidResponse:
    async def work(session: AsyncSession) -> card_pb2.VoidResponse:
        now = deps.now()
        hold = await locked_hold(session, caller, hold_id)
        if holds.needs_release(hold.state):
            await release(session, hold, holds.VOIDED, now)
            return card_pb2.VoidResponse(voided_at=render.ts(now))
        assert hold.released_at is not None
        return card_pb2.VoidResponse(voided_at=render.ts(hold.released_at))

    return await deps.idem.run(deps.db, caller.key, "Void", request, card_pb2.VoidResponse, work)
