"""Reconcile (3201 totals, 3202 detail rows) with the till, and with the issuer."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_kit.auth import Caller
from medpay_kit.errors import DomainError
from medpay_kit.money import CURRENCY
from medpay_pharmacy import mapping
from medpay_pharmacy.adapters import settlements as repo
from medpay_pharmacy.domain.reconcile import Row, Totals, differences
from medpay_pharmacy.domain.settlement import Parts, parse_business_date
from medpay_pharmacy.usecases.deps import Deps, pharmacy_of
from medpay_pharmacy.usecases.registry import require_pharmacy


async def service_rows(session: AsyncSession, code: str, day: str, scheme: int) -> list[Row]:
    """The service's detail rows of one day and scheme: settlements, then reverse rows."""
    rows = [Row(s.settlement_id, s.request_id, "", False,
                Parts(s.total_fen, s.fund_pay_fen, s.account_pay_fen, s.cash_pay_fen))
            for s in await repo.booked_on(session, code, day, scheme)]
    rows += [Row(r.settlement_id, r.settle_request_id, r.refund_id, True,
                 -Parts(r.total_fen, r.fund_pay_fen, r.account_pay_fen, r.cash_pay_fen))
             for r in await repo.refunded_on(session, code, day, scheme)]
    return rows


def _check_money(*amounts) -> None:  # type: ignore[no-untyped-def]
    for amount in amounts:
        if amount.currency not in ("", CURRENCY) or (amount.amount_fen and amount.currency != CURRENCY):
            raise DomainError("INVALID_ARGUMENT", "money must be in CNY", field="currency")


class Reconcile:
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def __call__(self, caller: Caller, request: pb.ReconcileRequest) -> pb.ReconcileResponse:
        code = pharmacy_of(caller, request.institution_code)
        day = parse_business_date(request.business_date)
        if request.insurance_type == 0:
            raise DomainError("INVALID_ARGUMENT", "insurance_type is required",
                              field="insurance_type")
        if len(request.rows) > self._d.settings.max_reconcile_rows:
            raise DomainError("INVALID_ARGUMENT", "too many detail rows", field="rows")
        t = request.totals
        _check_money(t.total, t.fund_pay, t.account_pay)
        till_rows = []
        for row in request.rows:
            _check_money(row.total, row.fund_pay, row.account_pay, row.cash_pay)
            till_rows.append(mapping.recon_row(row))
        if len({r.key for r in till_rows}) != len(till_rows):
            raise DomainError("INVALID_ARGUMENT", "a detail row appears twice", field="rows")
        async with self._d.db.read() as session:
            await require_pharmacy(session, code)
            ours = await service_rows(session, code, day, request.insurance_type)
        mine = Totals.of(ours)
        theirs = Totals(t.count, t.total.amount_fen, t.fund_pay.amount_fen,
                        t.account_pay.amount_fen)
        diffs = differences(till_rows, ours) if till_rows else []
        issuer = await self._d.card.daily_totals(code, day, request.insurance_type)
        cash = sum(r.parts.cash_pay for r in ours)
        issuer_matched = (issuer.count, issuer.total.amount_fen, issuer.fund_pay.amount_fen,
                          issuer.account_pay.amount_fen, issuer.cash_pay.amount_fen) == (
            mine.count, mine.total, mine.fund_pay, mine.account_pay, cash)
        return pb.ReconcileResponse(
            matched=mine == theirs and not diffs, service_totals=mapping.totals(mine),
            differences=[mapping.difference(d) for d in diffs], issuer_matched=issuer_matched)
