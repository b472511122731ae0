"""Read-only views: one settlement, settlements by day / till / status, channel transactions."""

from __future__ import annotations

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_kit import paging
from medpay_kit.auth import Caller
from medpay_kit.errors import DomainError
from medpay_pharmacy import mapping
from medpay_pharmacy.adapters import settlements as repo
from medpay_pharmacy.domain.settlement import parse_business_date
from medpay_pharmacy.usecases.deps import Deps, pharmacy_of
from medpay_pharmacy.usecases.registry import page_size


class Queries:
    def __init__(self, deps: Deps) -> None:
        self._d = deps

    async def get_settlement(self, caller: Caller,
                             request: pb.GetSettlementRequest) -> pb.GetSettlementResponse:
        code = pharmacy_of(caller, request.institution_code)
        which = request.WhichOneof("key")
        async with self._d.db.read() as session:
            if which == "settlement_id" and request.settlement_id:
                row = await repo.settlement_by_id(session, request.settlement_id, code)
            elif which == "settle_request_id" and request.settle_request_id:
                row = await repo.settlement_by_request(session, code, request.settle_request_id)
            else:
                raise DomainError("INVALID_ARGUMENT",
                                  "a settlement_id or a settle_request_id is required", field="key")
            if row is None:
                raise DomainError("SETTLEMENT_NOT_FOUND", "no such settlement at this pharmacy")
            refunds = await repo.refunds_of(session, [row.settlement_id])
        return pb.GetSettlementResponse(receipt=mapping.receipt(row, refunds))

    async def list_settlements(self, caller: Caller,
                               request: pb.ListSettlementsRequest) -> pb.ListSettlementsResponse:
        code = pharmacy_of(caller, request.institution_code)
        size = page_size(request.page_size, 50, 500)
        day = parse_business_date(request.business_date) if request.business_date else ""
        status = (pb.SettlementStatus.Name(request.status).removeprefix("SETTLEMENT_STATUS_")
                  if request.status else "")
        after = paging.decode_token(request.page_token, 2)
        async with self._d.db.read() as session:
            rows = await repo.list_settlements(session, code, business_date=day,
                                               terminal_id=request.terminal_id, status=status,
                                               after=after, limit=size + 1)
            page = rows[:size]
            refunds = await repo.refunds_of(session, [r.settlement_id for r in page])
        by_settlement: dict[str, list] = {}
        for refund in refunds:
            by_settlement.setdefault(refund.settlement_id, []).append(refund)
        token = ""
        if len(rows) > size:
            last = page[-1]
            token = paging.encode_token(repo.aware(last.created_at).isoformat(), last.settlement_id)
        return pb.ListSettlementsResponse(
            settlements=[mapping.receipt(r, by_settlement.get(r.settlement_id, [])) for r in page],
            next_page_token=token)

    async def list_channel_transactions(
            self, caller: Caller,
            request: pb.ListChannelTransactionsRequest) -> pb.ListChannelTransactionsResponse:
        size = page_size(request.page_size, 50, 500)
        day = parse_business_date(request.business_date) if request.business_date else ""
        status = (pb.ChannelTransactionStatus.Name(request.status)
                  .removeprefix("CHANNEL_TRANSACTION_STATUS_") if request.status else "")
        after = paging.decode_token(request.page_token, 2)
        async with self._d.db.read() as session:
            rows = await repo.list_payments(session, code=request.institution_code,
                                            business_date=day,
                                            settlement_id=request.settlement_id, status=status,
                                            after=after, limit=size + 1)
        page = rows[:size]
        token = ""
        if len(rows) > size:
            last = page[-1]
            token = paging.encode_token(repo.aware(last.created_at).isoformat(), last.transaction_id)
        return pb.ListChannelTransactionsResponse(
            transactions=[mapping.channel_payment(r) for r in page], next_page_token=token)
