"""Reading and paying bills (HIS: its hospital's; app: its own card's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from medpay.billing.v1 import billing_pb2 as pb
from medpay_billing import convert
from medpay_billing.adapters.rows import aware, page_size
from medpay_billing.adapters.tables import bills
from medpay_billing.domain.bill import BillStatus, require_payable
from medpay_billing.usecases import payments
from medpay_billing.usecases.deps import Deps
from medpay_billing.usecases.scope import agreement_row, bill_for, bill_line_map
from medpay_kit.auth import Caller, current_caller
from medpay_kit.detach import run_to_end
from medpay_kit.errors import DomainError, outcome_unknown_on_failure
from medpay_kit.paging import decode_token, encode_token
from medpay_kit.payment_channel import ChannelTransaction

B = bills.c


async def bill_message(deps: Deps, bill_id: str) -> pb.Bill:
    async with deps.db.read() as session:
        return await bill_message_in(session, bill_id)


async def bill_message_in(session: AsyncSession, bill_id: str) -> pb.Bill:
    row = (await session.execute(select(bills).where(B.bill_id == bill_id))).one()
    return convert.bill(row, await bill_line_map(session, row.visit_id))


async def get_bill(deps: Deps, request: pb.GetBillRequest) -> pb.GetBillResponse:
    caller = current_caller()
    async with deps.db.read() as session:
        row = await bill_for(session, caller, request.bill_id)
        return pb.GetBillResponse(bill=convert.bill(row, await bill_line_map(session, row.visit_id)))


async def list_bills(deps: Deps, request: pb.ListBillsRequest) -> pb.ListBillsResponse:
    caller = current_caller()
    limit = page_size(request.page_size)
    after = decode_token(request.page_token, 2)
    query = select(bills).where(B.card_id == caller.scope)
    if request.status:
        query = query.where(B.status == convert.enum_name(pb.BillStatus, request.status, "status"))
    if after is not None:
        at = datetime.fromisoformat(after[0])
        query = query.where(or_(B.issued_at < at, and_(B.issued_at == at, B.bill_id < after[1])))
    async with deps.db.read() as session:
        rows = (await session.execute(query.order_by(B.issued_at.desc(), B.bill_id.desc())
                                      .limit(limit + 1))).all()
        token = ""
        if len(rows) > limit:
            rows = rows[:limit]
            token = encode_token(aware(rows[-1].issued_at).isoformat(), rows[-1].bill_id)  # type: ignore[union-attr]
        out = [convert.bill(r, await bill_line_map(session, r.visit_id)) for r in rows]
    return pb.ListBillsResponse(bills=out, next_page_token=token)


async def pay_bill(deps: Deps, request: pb.PayBillRequest) -> pb.PayBillResponse:
    """The reply is stored in the transaction that records the payment, so a twin refused
    by the bill (paid, or a payment in flight) answers it (``Deps.first``)."""
    caller = current_caller()
    return await deps.first(caller, "PayBill", request, pb.PayBillResponse,
                            lambda: _pay_bill(deps, caller, request))


async def _pay_bill(deps: Deps, caller: Caller, request: pb.PayBillRequest) -> pb.PayBillResponse:
    if len(request.payer_reference) > 128 or not request.payer_reference.isprintable():
        raise DomainError("INVALID_ARGUMENT", "payer_reference is at most 128 printable characters",
                          field="payer_reference")
    async with deps.db.read() as session:
        bill = await bill_for(session, caller, request.bill_id)
        agreement = await agreement_row(session, bill.agreement_id)
    require_payable(BillStatus(bill.status), bill.self_pay_due_fen)
    payer = request.payer_reference.strip() or agreement.payer_reference
    if not payer:
        raise DomainError("INVALID_ARGUMENT", "payer_reference is required (the agreement has none)",
                          field="payer_reference")
    stored: list[pb.PayBillResponse] = []

    async def reply(session: AsyncSession) -> None:  # in the transaction that records it
        response = pb.PayBillResponse(bill=await bill_message_in(session, bill.bill_id))
        stored.append(response)
        try:
            if await deps.store.recall(session, caller.key, "PayBill", request.request_id,
                                       request, pb.PayBillResponse) is not None:
                return
        except DomainError:  # the id was used for another request: never lose the payment
            return
        await deps.store.remember(session, caller.key, "PayBill", request.request_id, request,
                                  response)

    async def claim_and_charge() -> tuple[bool, ChannelTransaction | None]:
        reference = await payments.claim(deps, bill)
        if reference is None:
            return False, None
        # claimed: the charge may happen from here on, and the collection pass ends what is left
        with outcome_unknown_on_failure("the outcome is not known yet; retry with the same "
                                        "request_id or ask GetBill", billId=bill.bill_id):
            return True, await payments.charge(deps, bill.bill_id, reference, payer, reply)

    # the bill's one payment slot is claimed and charged to the end even if the caller
    # goes away, so it is not held until the lease runs out (kit.detach)
    claimed, txn = await run_to_end(claim_and_charge())
    if not claimed:
        async with deps.db.read() as session:
            fresh = await bill_for(session, caller, bill.bill_id)
        require_payable(BillStatus(fresh.status), fresh.self_pay_due_fen)
        raise DomainError("REQUEST_IN_PROGRESS", "a payment of this bill is in progress")
    refusal = payments.channel_refusal(txn)
    if refusal is not None:
        raise refusal
    if stored:
        return stored[0]
    # recorded by the collection pass meanwhile: the bill as it is now is the reply
    return await deps.remember(caller, "PayBill", request, pb.PayBillResponse(
        bill=await bill_message(deps, bill.bill_id)))
