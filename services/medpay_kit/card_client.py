"""The card service (the issuer) as an acquirer calls it — shared by pharmacy and billing.

Every mutation carries a request id the acquirer derives from its own intent row, so a
retry (or a recovery loop after a crash) repeats the same call and card replays the first
outcome. A refusal keeps card's reason (``as_domain_error``). Each acquirer's adapter adds
the calls whose shape is its own (a pharmacy pays by payment context, a hospital by card).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import grpc

from medpay.card.v1 import card_pb2, card_pb2_grpc
from medpay.common.v1 import insurance_pb2, split_pb2
from medpay_kit.client import as_domain_error

CLASSES = {"A": insurance_pb2.ITEM_CLASS_A, "B": insurance_pb2.ITEM_CLASS_B,
           "C": insurance_pb2.ITEM_CLASS_C}
CLASS_NAMES = {v: k for k, v in CLASSES.items()}
KINDS = {"ALL": insurance_pb2.REFUND_KIND_ALL, "CASH": insurance_pb2.REFUND_KIND_CASH,
         "HI": insurance_pb2.REFUND_KIND_HI}


class PricedLine(Protocol):
    line_no: int
    item_code: str
    item_name: str
    item_class: str  # "A", "B" or "C"
    unit_price: str
    quantity: str
    price_cap: str
    pre_self_pay_ratio_bp: int


def claim_lines(lines: Sequence[PricedLine]) -> list[split_pb2.ClaimLine]:
    return [split_pb2.ClaimLine(
        line_no=line.line_no, item_code=line.item_code, item_name=line.item_name,
        item_class=CLASSES[line.item_class], unit_price=line.unit_price, quantity=line.quantity,
        price_cap=line.price_cap, pre_self_pay_ratio_bp=line.pre_self_pay_ratio_bp)
        for line in lines]


class CardClient:
    """The calls every acquirer makes; ``merchant_kind`` is PHARMACY or HOSPITAL."""

    def __init__(self, channel: grpc.aio.Channel, merchant_kind: int) -> None:
        self._stub = card_pb2_grpc.CardServiceStub(channel)
        self._merchant_kind = merchant_kind

    async def _call(self, method: Any, request: Any) -> Any:
        try:
            return await method(request)
        except grpc.RpcError as exc:
            raise as_domain_error(exc) from None

    async def resolve_qr(self, request_id: str, qr_payload: str, merchant_id: str, *,
                         validate_only: bool = False) -> card_pb2.PaymentContext:
        reply = await self._call(self._stub.ResolveQrCode, card_pb2.ResolveQrCodeRequest(
            request_id=request_id, qr_payload=qr_payload, merchant_id=merchant_id,
            merchant_kind=self._merchant_kind, validate_only=validate_only))
        return reply.payment_context

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
