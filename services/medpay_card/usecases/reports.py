"""GetDailyTotals: one merchant's captures and refunds on a business date (UTC+8), for
reconciliation. Only the calling service's own settlements are counted."""

from __future__ import annotations

from medpay.card.v1 import card_pb2
from medpay_card.adapters import hold_repo
from medpay_card.usecases import commands as cmd
from medpay_card.usecases.access import own_records
from medpay_card.usecases.deps import Deps
from medpay_card.wire import render
from medpay_kit.auth import Caller


async def daily_totals(deps: Deps, caller: Caller,
                       command: cmd.DailyTotals) -> card_pb2.GetDailyTotalsResponse:
    args = (own_records(caller), command.merchant_id, command.business_date, command.insurance_type)
    async with deps.db.read() as session:
        count, total, fund, account, cash = await hold_repo.day_totals(session, *args)
        rows = await hold_repo.day_rows(session, *args) if command.include_rows else []
    return card_pb2.GetDailyTotalsResponse(
        count=count, total=render.money(total), fund_pay=render.money(fund),
        account_pay=render.money(account), cash_pay=render.money(cash),
        rows=[render.daily_row(r) for r in rows])
