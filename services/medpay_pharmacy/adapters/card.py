"""The card service as the pharmacy calls it (``service`` caller "pharmacy"): a pharmacy
pays by the payment context its PreSettle got for the scanned QR code.

The shared calls (resolve, capture, void, refund) and the error mapping are the kit's
``CardClient``; see ``medpay_kit.card_client``.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc

from medpay.card.v1 import card_pb2
from medpay.common.v1 import insurance_pb2, split_pb2
from medpay_kit import card_client
from medpay_kit.card_client import claim_lines
from medpay_pharmacy.domain.basket import PricedLine

PHARMACY = insurance_pb2.MEDICAL_TYPE_PHARMACY


class CardClient(card_client.CardClient):
    def __init__(self, channel: grpc.aio.Channel) -> None:
        super().__init__(channel, card_pb2.MERCHANT_KIND_PHARMACY)

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

    async def daily_totals(self, merchant_id: str, business_date: str,
                           insurance_type: int) -> card_pb2.GetDailyTotalsResponse:
        return await self._call(self._stub.GetDailyTotals, card_pb2.GetDailyTotalsRequest(
            merchant_id=merchant_id, business_date=business_date, insurance_type=insurance_type))
