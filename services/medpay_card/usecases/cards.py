"""GetCard, Suspend/Resume/RevokeCard, device credentials (resolver and VerifyDeviceCredential)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from medpay.card.v1 import card_pb2
from medpay_card.adapters import card_repo
from medpay_card.adapters.card_repo import Card
from medpay_card.domain import cards
from medpay_card.usecases import commands as cmd
from medpay_card.usecases.access import card_for, insured_of
from medpay_card.usecases.deps import Deps
from medpay_card.wire import enums, render
from medpay_kit.auth import Caller, CallerKind, parse_credential, secret_matches
from medpay_kit.errors import DomainError

DEVICE_PREFIX = "dev"


async def _render(deps: Deps, session: AsyncSession, card: Card) -> card_pb2.Card:
    insured = await insured_of(session, card.insured_id)
    return render.card(card, insured, deps.personal.masked_name(insured))


async def get_card(deps: Deps, caller: Caller, card_id: str) -> card_pb2.GetCardResponse:
    async with deps.db.read() as session:
        card = await card_for(session, caller, card_id)
        return card_pb2.GetCardResponse(card=await _render(deps, session, card))


def _transition(method: str, status: str, card: Card, by: str) -> str:
    if method == "SuspendCard":
        return cards.suspend(status)
    if method == "ResumeCard":
        return cards.resume(status, suspended_by=card.status_changed_by, by=by)
    return cards.revoke(status)


async def change_status(deps: Deps, caller: Caller, method: str, command: cmd.ChangeCardStatus,
                        request, response_type: Callable):  # type: ignore[no-untyped-def]
    """Suspend / resume / revoke; changing to the current state is a no-op."""
    by = cards.BY_APP if caller.kind == CallerKind.APP else cards.BY_OPERATOR

    async def work(session: AsyncSession):  # type: ignore[no-untyped-def]
        for _ in range(3):  # a concurrent change wins the guarded update: re-read and re-apply
            card = await card_for(session, caller, command.card_id)
            status = _transition(method, card.status, card, by)
            if status == card.status or await card_repo.set_status(
                    session, card.card_id, expected=card.status, status=status,
                    reason=command.reason, by=by, now=deps.now()):
                break
        else:
            raise DomainError("REQUEST_IN_PROGRESS", "the card keeps changing; try again")
        card = await card_for(session, caller, command.card_id)
        return response_type(card=await _render(deps, session, card))

    return await deps.idem.run(deps.db, caller.key, method, request, response_type, work)


async def _live_card_for(deps: Deps, device_id: str, secret: str) -> Card | None:
    async with deps.db.read() as session:
        for card in await card_repo.live_cards_on_device(session, device_id):
            if secret_matches(secret, card.credential_hash):
                return card
    return None


def device_resolver(deps: Deps):  # type: ignore[no-untyped-def]
    """The ``dev`` credential resolver: a live card's device credential → an app caller."""

    async def resolve(device_id: str, secret: str) -> Caller | None:
        card = await _live_card_for(deps, device_id, secret)
        return Caller(CallerKind.APP, principal=device_id, scope=card.card_id) if card else None

    return resolve


async def verify_device_credential(deps: Deps, credential: str) -> card_pb2.VerifyDeviceCredentialResponse:
    parsed = parse_credential(credential.strip())
    card = None
    if parsed is not None and parsed[0] == DEVICE_PREFIX:
        card = await _live_card_for(deps, parsed[1], parsed[2])
    if card is None:
        raise DomainError("DEVICE_CREDENTIAL_INVALID", "the device credential is not valid")
    async with deps.db.read() as session:
        insured = await insured_of(session, card.insured_id)
    return card_pb2.VerifyDeviceCredentialResponse(
        card_id=card.card_id, insured_id=card.insured_id,
        status=enums.number(enums.CARD_STATUSES, card.status),
        device_id=card.device_id, identity_person_id=insured.identity_person_id or "")
