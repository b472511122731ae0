"""The card service (the issuer) as billing calls it: ``service`` caller "billing".

Mutations carry request ids derived from billing's own rows (see ``domain.visit``), so a
retry or the recovery loop repeats the same call and card replays its first outcome. A
refusal keeps card's reason (``as_domain_error``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from medpay.card.v1 import card_pb2, card_pb2_grpc
from medpay.common.v1 import insurance_pb2, split_pb2
from medpay_kit.client import as_domain_error

CLASSES = {"A": insurance_pb2.ITEM_CLASS_A, "B": insurance_pb2.ITEM_CLASS_B,
           "C": insurance_pb2.ITEM_CLASS_C}
CLASS_NAMES = {v: k for k, v in CLASSES.items()}


def claim_lines(rows: Sequence[Any]) -> list[split_pb2.ClaimLine]:
    """Charge-line rows (or ``Charge`` values with a ``line_no``) as claim lines."""
    return [split_pb2.ClaimLine(
        line_no=row.line_no, item_code=row.item_code, item_name=row.item_name,
        item_class=CLASSES[row.item_class], unit_price=row.unit_price, quantity=row.quantity,
        price_cap=row.price_cap, pre_self_pay_ratio_bp=row.pre_self_pay_ratio_bp)
        for row in rows]


class CardClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = card_pb2_grpc.CardServiceStub(channel)

    async def _call(self, method: Any, request: Any) -> Any:
        try:
            return await method(request)
        except grpc.RpcError as exc:
            raise as_domain_error(exc) from None

    async def verify_device(self, credential: str) -> card_pb2.VerifyDeviceCredentialResponse:
        return await self._call(self._stub.VerifyDeviceCredential,
                                card_pb2.VerifyDeviceCredentialRequest(credential=credential))

    async def get_card(self, card_id: str) -> card_pb2.Card:
        reply = await self._call(self._stub.GetCard, card_pb2.GetCardRequest(card_id=card_id))
        return reply.card

    async def resolve_qr(self, request_id: str, qr_payload: str,
                         merchant_id: str) -> card_pb2.PaymentContext:
        reply = await self._call(self._stub.ResolveQrCode, card_pb2.ResolveQrCodeRequest(
            request_id=request_id, qr_payload=qr_payload, merchant_id=merchant_id,
            merchant_kind=card_pb2.MERCHANT_KIND_HOSPITAL))
        return reply.payment_context

    async def adjudicate(self, card_id: str, merchant_id: str, medical_type: int, level: int,
                         use_account: bool, lines: Sequence[Any]) -> split_pb2.ClaimSplit:
        reply = await self._call(self._stub.Adjudicate, card_pb2.AdjudicateRequest(
            card_id=card_id, merchant_id=merchant_id, medical_type=medical_type, level=level,
            pooling_applies=True, use_personal_account=use_account, lines=claim_lines(lines)))
        return reply.split

    async def authorize(self, request_id: str, card_id: str, merchant_id: str,
                        medical_type: int, level: int, use_account: bool, lines: Sequence[Any],
                        acquirer_reference: str) -> card_pb2.AuthorizeResponse:
        return await self._call(self._stub.Authorize, card_pb2.AuthorizeRequest(
            request_id=request_id, card_id=card_id, merchant_id=merchant_id,
            medical_type=medical_type, level=level, pooling_applies=True,
            use_personal_account=use_account, lines=claim_lines(lines),
            acquirer_reference=acquirer_reference))

    async def capture(self, request_id: str, hold_id: str) -> card_pb2.CaptureResponse:
        return await self._call(self._stub.Capture,
                                card_pb2.CaptureRequest(request_id=request_id, hold_id=hold_id))

    async def void(self, request_id: str, hold_id: str, reason: str) -> None:
        await self._call(self._stub.Void, card_pb2.VoidRequest(
            request_id=request_id, hold_id=hold_id, reason=reason))

    async def refund(self, request_id: str, hold_id: str,
                     line_nos: Sequence[int]) -> card_pb2.RefundResponse:
        return await self._call(self._stub.Refund, card_pb2.RefundRequest(
            request_id=request_id, hold_id=hold_id, kind=insurance_pb2.REFUND_KIND_ALL,
            line_nos=list(line_nos)))
