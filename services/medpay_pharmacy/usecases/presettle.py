"""PreSettle (2101, 试算): the split from the issuer; nothing is held or booked."""

from __future__ import annotations

import structlog

from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_kit.auth import Caller
from medpay_kit.idempotency import check_request_id
from medpay_pharmacy.mapping import timestamp
from medpay_pharmacy.usecases.deps import Deps
from medpay_pharmacy.usecases.sale import Replays, check_payment, context_row, price, remember_context

log = structlog.get_logger()


def resolve_request_id(code: str, request_id: str, rpc: str) -> str:
    """The issuer-side request id of a QR exchange: a retry exchanges it once."""
    return f"{code}:{rpc}:{request_id}:resolve"


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
            context = await self._d.card.resolve_qr(
                resolve_request_id(code, request.request_id, "PreSettle"), request.qr_payload, code)
            await remember_context(self._d, code, context)
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
