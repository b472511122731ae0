"""The card service as billing calls it (``service`` caller "billing"): a hospital settles
by card, long after the QR code's payment context has expired, under the credit mandate it
registered when the agreement was signed; and it checks app devices.

Mutations carry request ids derived from billing's own rows (see ``domain.visit``). The
shared calls (resolve, capture, void, refund) and the error mapping are the kit's
``CardClient``; see ``medpay_kit.card_client``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc

from medpay.card.v1 import card_pb2
from medpay.common.v1 import split_pb2
from medpay_kit import card_client
from medpay_kit.card_client import claim_lines


class CardClient(card_client.CardClient):
    def __init__(self, channel: grpc.aio.Channel) -> None:
        super().__init__(channel, card_pb2.MERCHANT_KIND_HOSPITAL)

    async def verify_device(self, credential: str) -> card_pb2.VerifyDeviceCredentialResponse:
        return await self._call(self._stub.VerifyDeviceCredential,
                                card_pb2.VerifyDeviceCredentialRequest(credential=credential))

    async def register_mandate(self, request_id: str, card_id: str, merchant_id: str,
                               assertion: str) -> str:
        """Let card know the holder signed a credit agreement here (the consumed
        CREDIT_AGREEMENT assertion is the proof card checks); returns the mandate id."""
        reply = await self._call(self._stub.RegisterCreditMandate,
                                 card_pb2.RegisterCreditMandateRequest(
                                     request_id=request_id, card_id=card_id,
                                     merchant_id=merchant_id, assertion=assertion))
        return reply.mandate_id

    async def get_card(self, card_id: str) -> card_pb2.Card:
        reply = await self._call(self._stub.GetCard, card_pb2.GetCardRequest(card_id=card_id))
        return reply.card

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
