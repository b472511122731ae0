"""The card service (the issuer) as the pharmacy calls it: ``service`` caller "pharmacy".

Every mutation carries a request id the caller derives from its own intent row, so a
retry (or the recovery loop after a crash) repeats the same call and the issuer replays
the first outcome. A refusal keeps the issuer's reason (``as_domain_error``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from medpay.card.v1 import card_pb2, card_pb2_grpc
from medpay.common.v1 import insurance_pb2, split_pb2
from medpay_kit.client import as_domain_error
from medpay_pharmacy.domain.basket import PricedLine

PHARMACY = insurance_pb2.MEDICAL_TYPE_PHARMACY
KINDS = {"ALL": insurance_pb2.REFUND_KIND_ALL, "CASH": insurance_pb2.REFUND_KIND_CASH,
         "HI": insurance_pb2.REFUND_KIND_HI}
CLASSES = {"A": insurance_pb2.ITEM_CLASS_A, "B": insurance_pb2.ITEM_CLASS_B,
           "C": insurance_pb2.ITEM_CLASS_C}


def claim_lines(lines: Sequence[PricedLine]) -> list[split_pb2.ClaimLine]:
    return [split_pb2.ClaimLine(
        line_no=line.line_no, item_code=line.item_code, item_name=line.item_name,
        item_class=CLASSES[line.item_class], unit_price=line.unit_price, quantity=line.quantity,
        price_cap=line.price_cap, pre_self_pay_ratio_bp=line.pre_self_pay_ratio_bp)
        for line in lines]


class CardClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = card_pb2_grpc.CardServiceStub(channel)

    async def _call(self, method: Any, request: Any) -> Any:
        try:
            return await method(request)
        except grpc.RpcError as exc:
            raise as_domain_error(exc) from None

    async def resolve_qr(self, request_id: str, qr_payload: str,
                         merchant_id: str) -> card_pb2.PaymentContext:
        reply = await self._call(self._stub.ResolveQrCode, card_pb2.ResolveQrCodeRequest(
            request_id=request_id, qr_payload=qr_payload, merchant_id=merchant_id,
            merchant_kind=card_pb2.MERCHANT_KIND_PHARMACY))
        return reply.payment_context

    async def adjudicate(self, context_id: str, merchant_id: str, level: int, pooling: bool,
                         use_account: bool, lines: Sequence[PricedLine]) -> split_pb2.ClaimSplit:
        reply = await self._call(self._stub.Adjudicate, card_pb2.AdjudicateRequest(
            payment_context_id=context_id, merchant_id=merchant_id, medical_type=PHARMACY,
            level=level, pooling_applies=pooling, use_personal_account=use_account,
            lines=claim_lines(lines)))
        return reply.split

    async def authorize(self, request_id: str, context_id: str, merchant_id: str, level: int,
                        pooling: bool, use_account: bool, lines: Sequence[PricedLine],
                        acquirer_reference: str) -> card_pb2.AuthorizeResponse:
        return await self._call(self._stub.Authorize, card_pb2.AuthorizeRequest(
            request_id=request_id, payment_context_id=context_id, merchant_id=merchant_id,
            medical_type=PHARMACY, level=level, pooling_applies=pooling,
            use_personal_account=use_account, lines=claim_lines(lines),
            acquirer_reference=acquirer_reference))

    async def capture(self, request_id: str, hold_id: str) -> card_pb2.CaptureResponse:
        return await self._call(self._stub.Capture,
                                card_pb2.CaptureRequest(request_id=request_id, hold_id=hold_id))

    async def void(self, request_id: str, hold_id: str, reason: str) -> None:
        await self._call(self._stub.Void, card_pb2.VoidRequest(
            request_id=request_id, hold_id=hold_id, reason=reason))

    async def refund(self, request_id: str, hold_id: str, kind: str,
                     line_nos: Sequence[int]) -> card_pb2.RefundResponse:
        return await self._call(self._stub.Refund, card_pb2.RefundRequest(
            request_id=request_id, hold_id=hold_id, kind=KINDS[kind], line_nos=list(line_nos)))

    async def daily_totals(self, merchant_id: str, business_date: str,
                           insurance_type: int) -> card_pb2.GetDailyTotalsResponse:
        return await self._call(self._stub.GetDailyTotals, card_pb2.GetDailyTotalsRequest(
            merchant_id=merchant_id, business_date=business_date, insurance_type=insurance_type))
