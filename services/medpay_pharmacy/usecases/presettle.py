"""PreSettle (2101, 试算): the split from the issuer; nothing is held or booked.

The basket is priced before a scanned code is exchanged, and the exchange names the code,
not the request (``exchange_request_id``): a till may pre-settle one code again and again
while the person changes the basket, and settle it afterwards by code or by context.
"""

from __future__ import annotations

import structlog

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_kit.auth import Caller
from medpay_kit.idempotency import check_request_id
from medpay_pharmacy.mapping import timestamp
from medpay_pharmacy.usecases.deps import Deps
from medpay_pharmacy.usecases.sale import (
    Replays,
    check_payment,
    context_row,
    context_row_in,
    ensure_unspent,
    exchange_qr,
    price,
)

log = structlog.get_logger()


class PreSettle:
    def __init__(self, deps: Deps) -> None:
        self._d = deps
        self._replays = Replays(deps)

    async def __call__(self, caller: Caller, request: pb.PreSettleRequest) -> pb.PreSettleResponse:
        check_request_id(request.request_id)
        check_payment(request)
        return await self._replays.run(caller.key, "PreSettle", request, pb.PreSettleResponse,
                                       lambda: self._work(caller.scope, request))

    async def _work(self, code: str, request: pb.PreSettleRequest) -> pb.PreSettleResponse:
        pharmacy, lines = await price(self._d, code, request.lines)
        if request.WhichOneof("payment") == "qr_payload":
            context = await exchange_qr(self._d, code, request.qr_payload)
            async with self._d.db.read() as session:
                await ensure_unspent(session, code, await context_row_in(
                    session, context.payment_context_id, code))
            context_id, masked, scheme = (context.payment_context_id, context.masked_name,
                                          context.insurance_type)
            expires = context.expires_at
        else:
            row = await context_row(self._d, request.payment_context_id, code)
            context_id, masked, scheme = row.payment_context_id, row.masked_name, row.insurance_type
            expires = timestamp(row.expires_at)
        split = await self._d.card.adjudicate(context_id, code, pharmacy.level,
                                              pharmacy.outpatient_pooling,
                                              request.use_personal_account, lines)
        log.info("presettled", lines=len(lines), total_fen=split.total.amount_fen)
        return pb.PreSettleResponse(payment_context_id=context_id,
                                    payment_context_expires_at=expires, split=split,
                                    masked_name=masked, insurance_type=scheme)
