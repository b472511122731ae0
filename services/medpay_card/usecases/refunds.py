"""Refund: return a captured claim, whole or by lines, ALL / CASH / HI parts.

The refund tracks (``domain.refunds``) decide what may still come back and the domain's
``refund`` rule decides how much; here the counters move back, the ledger posts the
account and fund parts back from the merchant's clearing account, and a negative row is
appended for the merchant's daily totals.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from medpay.card.v1 import card_pb2
from medpay_card.adapters import codec, counters_repo, hold_repo, ledger_repo
from medpay_card.adapters.hold_repo import SettlementRow
from medpay_card.adapters.ids import new_id
from medpay_card.domain import holds, ledger
from medpay_card.domain.calendar import business_date
from medpay_card.domain.refunds import plan_refund
from medpay_card.usecases import commands as cmd
from medpay_card.usecases.claims import fund_ratio
from medpay_card.usecases.deps import Deps
from medpay_card.usecases.holds import key_of, locked_hold
from medpay_card.wire import render
from medpay_kit.auth import Caller


async def refund(deps: Deps, caller: Caller, command: cmd.Refund,
                 request: card_pb2.RefundRequest) -> card_pb2.RefundResponse:
    async def work(session: AsyncSession) -> card_pb2.RefundResponse:
        now = deps.now()
        hold = await locked_hold(session, caller, command.hold_id)
        holds.ensure_refundable(hold.state)
        claim = codec.claim_from_json(hold.claim)
        assert hold.refund_state is not None
        parts, after = plan_refund(claim, codec.tracks_from_json(hold.refund_state),
                                   command.kind, command.line_nos)
        await counters_repo.change(session, key_of(hold), used=-parts.release.deductible_used,
                                   paid=-parts.release.pooled_paid)
        posted = await ledger_repo.post(
            session, hold.insured_id,
            ledger.refund(parts.account_pay, parts.fund_pay, hold.merchant_id),
            reference=hold.hold_id, merchant_id=hold.merchant_id, now=now)
        await hold_repo.set_refund_state(session, hold.hold_id, codec.tracks_to_json(after))
        refund_id = new_id("rfd")
        balance_after = posted.account.balance
        await hold_repo.insert_refund(
            session, refund_id=refund_id, hold_id=hold.hold_id, caller=caller.key,
            request_id=request.request_id, kind=command.kind,
            parts={"total": parts.total, "fund_pay": parts.fund_pay,
                   "account_pay": parts.account_pay, "cash_pay": parts.cash_pay,
                   "line_nos": list(parts.returned_line_nos),
                   "deductible_released": parts.release.deductible_used,
                   "pooled_released": parts.release.pooled_paid},
            balance_after=balance_after, now=now)
        day = business_date(now)
        await hold_repo.add_settlement_row(session, SettlementRow(
            caller=caller.key, merchant_id=hold.merchant_id, business_date=day,
            insurance_type=hold.insurance_type, hold_id=hold.hold_id,
            acquirer_reference=hold.acquirer_reference, refund=True, refund_id=refund_id,
            total=-parts.total, fund_pay=-parts.fund_pay, account_pay=-parts.account_pay,
            cash_pay=-parts.cash_pay, at=now))
        return card_pb2.RefundResponse(
            refund_id=refund_id, balance_after=render.money(balance_after),
            business_date=day.isoformat(),
            refunded=render.refund_split(parts, claim.split, balance_after=balance_after,
                                         fund_ratio_bp=fund_ratio(claim.terms)))

    return await deps.idem.run(deps.db, caller.key, "Refund", request,
                               card_pb2.RefundResponse, work)
