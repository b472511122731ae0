"""Who may touch which card: an app only its own card (the one its device credential is bound to)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from medpay_card.adapters import card_repo, insured_repo
from medpay_card.adapters.card_repo import Card
from medpay_card.adapters.insured_repo import Insured
from medpay_kit.auth import Caller, CallerKind
from medpay_kit.errors import DomainError


def device_card_id(caller: Caller) -> str:
    """The card of an app calling with its device credential."""
    if caller.kind != CallerKind.APP or not caller.scope:
        raise DomainError("PERMISSION_DENIED", "this call needs the card's device credential")
    return caller.scope


async def card_for(session: AsyncSession, caller: Caller, card_id: str) -> Card:
    """A card the caller may see: an app's own card, any card for operators and services."""
    card = await card_repo.get(session, card_id)
    if card is None or (caller.kind == CallerKind.APP and caller.scope != card_id):
        raise DomainError("CARD_NOT_FOUND", "no such card", field="card_id")
    return card


async def insured_of(session: AsyncSession, insured_id: str) -> Insured:
    insured = await insured_repo.get(session, insured_id)
    if insured is None:
        raise DomainError("INSURED_NOT_FOUND", "no such insured person", field="insured_id")
    return insured
