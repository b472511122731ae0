"""HIS use cases: posting and withdrawing charge lines of an open visit.

The expected self-pay is card's Adjudicate over every live line of the visit (nothing is
held). It is counted in the agreement's used credit while the visit is open, so two open
visits of one person cannot together pass the limit. Card is asked outside the
transaction; the transaction then checks that the visit's lines did not change meanwhile
(``lines_version``) and otherwise starts over.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.billing.v1 import billing_pb2 as pb
from medpay_billing.adapters import credit
from medpay_billing.adapters.tables import charge_lines, visits
from medpay_billing.convert import money as _money
from medpay_billing.domain.agreement import available, check_credit
from medpay_billing.domain.charges import Charge, ChargeInput, sort_batch, validate_batch
from medpay_billing.domain.visit import VisitStatus, require_open
from medpay_billing.usecases.deps import Deps
from medpay_billing.usecases.scope import (
    agreement_row,
    all_lines,
    hospital_of_visit,
    live_lines,
    visit_for,
)
from medpay_kit.auth import Caller, current_caller
from medpay_kit.card_client import CLASS_NAMES
from medpay_kit.errors import DomainError

log = structlog.get_logger()
V, L = visits.c, charge_lines.c
ATTEMPTS = 4


class _Stale(Exception):
    """The visit's lines changed between the estimate and the transaction."""


@dataclass(frozen=True, slots=True)
class Numbered:
    """A new line with the claim line number it will get (``claim_lines`` reads these)."""

    line_no: int
    charge: Charge

    def __getattr__(self, name: str) -> object:
        return getattr(self.charge, name)


def _inputs(lines: list[pb.ChargeLine]) -> list[ChargeInput]:
    return [ChargeInput(
        his_line_id=ln.his_line_id, item_code=ln.item_code, item_name=ln.item_name,
        item_class=CLASS_NAMES.get(ln.item_class, ""), unit_price=ln.unit_price,
        quantity=ln.quantity, price_cap=ln.price_cap,
        pre_self_pay_ratio_bp=ln.pre_self_pay_ratio_bp, department=ln.department,
        doctor=ln.doctor) for ln in lines]


async def _estimate(deps: Deps, visit, agreement, lines) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """``(expected self-pay, total)`` of the given lines."""
    if not lines:
        return 0, 0
    async with deps.db.read() as session:
        hospital = await hospital_of_visit(session, visit.institution_code)
    split = await deps.card.adjudicate(visit.card_id, visit.institution_code, visit.medical_type,
                                       hospital.level, agreement.use_personal_account, lines)
    return split.cash_pay.amount_fen, split.total.amount_fen


async def _fresh_visit(session: AsyncSession, caller: Caller, visit_id: str, version: int):  # type: ignore[no-untyped-def]
    """The visit, still OPEN with the lines the estimate saw, locked for this transaction.

    The guarded UPDATE comes first, so a concurrent CloseVisit (OPEN → CLOSING) and this
    change are ordered: either the lines go in before the close, or the call is refused.
    Locks are taken visit first, agreement second, as CloseVisit does.
    """
    visit = await visit_for(session, caller, visit_id)
    require_open(VisitStatus(visit.status))
    bumped = await session.execute(update(visits).where(
        V.visit_id == visit_id, V.status == VisitStatus.OPEN.value, V.lines_version == version)
        .values(lines_version=version + 1))
    if bumped.rowcount != 1:
        raise _Stale
    return visit


async def post_charges(deps: Deps, request: pb.PostChargesRequest) -> pb.PostChargesResponse:
    caller = current_caller()
    return await deps.first(caller, "PostCharges", request, pb.PostChargesResponse,
                            lambda: _post_charges(deps, caller, request))


async def _post_charges(deps: Deps, caller: Caller,
                        request: pb.PostChargesRequest) -> pb.PostChargesResponse:
    batch = validate_batch(_inputs(list(request.lines)), deps.limits)
    for _ in range(ATTEMPTS):
        async with deps.db.read() as session:
            visit = await visit_for(session, caller, request.visit_id)
            require_open(VisitStatus(visit.status))
            agreement = await agreement_row(session, visit.agreement_id)
            stored = await all_lines(session, visit.visit_id)
        live = [r for r in stored if not r.cancelled]
        sorted_ = sort_batch(batch, {r.his_line_id: r.fingerprint for r in stored}, len(live),
                             deps.limits)
        numbered = [Numbered(visit.next_line_no + i, c) for i, c in enumerate(sorted_.new)]
        if numbered:
            expected, total = await _estimate(deps, visit, agreement, [*live, *numbered])
        else:
            expected, total = visit.reserved_fen, visit.charged_total_fen

        async def work(session: AsyncSession, visit=visit, numbered=numbered,  # type: ignore[no-untyped-def]
                       expected=expected, total=total, duplicates=sorted_.duplicates):
            fresh = await _fresh_visit(session, caller, request.visit_id, visit.lines_version)
            agreement = await agreement_row(session, fresh.agreement_id, lock=True)
            now = deps.now()
            if numbered:
                delta = check_credit(agreement.limit_fen, agreement.used_fen, fresh.reserved_fen,
                                     expected)
                if not await credit.take_within_limit(session, agreement.agreement_id, delta, now):
                    raise _Stale  # a concurrent visit took credit: estimate again
                await session.execute(charge_lines.insert(), [
                    {**_charge_values(n.charge), "visit_id": fresh.visit_id, "line_no": n.line_no,
                     "cancelled": False, "refunded": False, "posted_at": now} for n in numbered])
                await session.execute(update(visits).where(V.visit_id == fresh.visit_id).values(
                    reserved_fen=expected, charged_total_fen=total,
                    next_line_no=fresh.next_line_no + len(numbered)))
            agreement = await agreement_row(session, fresh.agreement_id)
            log.info("charges_posted", visit_id=fresh.visit_id, accepted=len(numbered),
                     duplicates=len(duplicates), expected_self_pay_fen=expected)
            return pb.PostChargesResponse(
                accepted_his_line_ids=[n.charge.his_line_id for n in numbered],
                duplicate_his_line_ids=duplicates, expected_self_pay=_money(expected),
                available_credit=_money(available(agreement.limit_fen, agreement.used_fen)))

        try:
            return await deps.once(caller, "PostCharges", request, pb.PostChargesResponse, work)
        except _Stale:
            continue
    raise DomainError("REQUEST_IN_PROGRESS", "the visit kept changing; post the batch again")


async def cancel_charge(deps: Deps, request: pb.CancelChargeRequest) -> pb.CancelChargeResponse:
    caller = current_caller()
    return await deps.first(caller, "CancelCharge", request, pb.CancelChargeResponse,
                            lambda: _cancel_charge(deps, caller, request))


async def _cancel_charge(deps: Deps, caller: Caller,
                         request: pb.CancelChargeRequest) -> pb.CancelChargeResponse:
    for _ in range(ATTEMPTS):
        async with deps.db.read() as session:
            visit = await visit_for(session, caller, request.visit_id)
            require_open(VisitStatus(visit.status))
            agreement = await agreement_row(session, visit.agreement_id)
            live = await live_lines(session, visit.visit_id)
        if request.his_line_id not in {r.his_line_id for r in live}:
            raise DomainError("CHARGE_NOT_FOUND", "no charged line with that HIS line id on this visit",
                              hisLineId=request.his_line_id[:64])
        rest = [r for r in live if r.his_line_id != request.his_line_id]
        expected, total = await _estimate(deps, visit, agreement, rest)

        async def work(session: AsyncSession, visit=visit, expected=expected, total=total):  # type: ignore[no-untyped-def]
            fresh = await _fresh_visit(session, caller, request.visit_id, visit.lines_version)
            now = deps.now()
            await credit.shift(session, fresh.agreement_id, expected - fresh.reserved_fen, now)
            await session.execute(update(charge_lines).where(
                L.visit_id == fresh.visit_id, L.his_line_id == request.his_line_id)
                .values(cancelled=True))
            await session.execute(update(visits).where(V.visit_id == fresh.visit_id).values(
                reserved_fen=expected, charged_total_fen=total))
            agreement = await agreement_row(session, fresh.agreement_id)
            log.info("charge_withdrawn", visit_id=fresh.visit_id, expected_self_pay_fen=expected)
            return pb.CancelChargeResponse(
                expected_self_pay=_money(expected),
                available_credit=_money(available(agreement.limit_fen, agreement.used_fen)))

        try:
            return await deps.once(caller, "CancelCharge", request, pb.CancelChargeResponse, work)
        except _Stale:
            continue
    raise DomainError("REQUEST_IN_PROGRESS", "the visit kept changing; cancel again")


def _charge_values(charge: Charge) -> dict[str, object]:
    values = {f: getattr(charge, f) for f in (
        "his_line_id", "item_code", "item_name", "item_class", "unit_price", "quantity",
        "price_cap", "pre_self_pay_ratio_bp", "department", "doctor")}
    return {**values, "fingerprint": charge.fingerprint}
