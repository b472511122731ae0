"""The card service's subject rules: one function per rule named in ``medpay_card.access``.

Who may call an RPC at all is checked by the interceptor from the table; these functions
check which object the caller may touch. Refusals that would tell a caller whether some
other holder's card or hold exists answer like a missing object (``CARD_NOT_FOUND``,
``HOLD_NOT_FOUND``); a refusal about the caller's own standing is ``PERMISSION_DENIED``
with ``ErrorInfo.metadata.subject`` naming the rule.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from medpay_card.access import ACCESS
from medpay_card.adapters import card_repo, hold_repo, insured_repo, mandate_repo, qr_repo
from medpay_card.adapters.card_repo import Card
from medpay_card.adapters.hold_repo import Hold
from medpay_card.adapters.insured_repo import Insured
from medpay_card.adapters.qr_repo import PaymentContextRow
from medpay_kit.access import refuse_subject, who
from medpay_kit.assertions import AssertionClaims
from medpay_kit.auth import Caller, CallerKind
from medpay_kit.errors import DomainError

#: which kind of merchant each medpay service scans QR codes for
SERVICE_MERCHANT_KINDS = {"pharmacy": "PHARMACY", "billing": "HOSPITAL"}


def subject_for(rpc: str, caller: Caller) -> str:
    """The subject rule the table holds this caller to on ``rpc``."""
    subject = ACCESS.subject(rpc, who(caller))
    if subject is None:  # the interceptor already refused; kept for direct use
        raise DomainError("PERMISSION_DENIED", "this caller may not call this RPC", access="caller")
    return subject


def device_card_id(caller: Caller) -> str:
    """The card of an app calling with its device credential (``own_card`` without an id)."""
    if caller.kind != CallerKind.APP or not caller.scope:
        raise DomainError("PERMISSION_DENIED", "this call needs the card's device credential")
    return caller.scope


def own_card(caller: Caller, card: Card | None) -> Card:
    """own_card: an app touches only the card its device credential is bound to."""
    if card is None or (caller.kind == CallerKind.APP and caller.scope != card.card_id):
        raise DomainError("CARD_NOT_FOUND", "no such card", field="card_id")
    return card


async def own_mandate(session: AsyncSession, caller: Caller, card_id: str,
                      merchant_id: str) -> str | None:
    """own_mandate: the calling service's active mandate for (card, merchant), if any."""
    return await mandate_repo.active(session, caller.key, card_id, merchant_id)


async def mandated_card(session: AsyncSession, caller: Caller, card_id: str,
                        merchant_id: str | None) -> None:
    """mandated_card: a service settles by card id only where it holds an active credit
    mandate for the card at that merchant (``merchant_id`` None: at any merchant, for
    reading the card, refused like a missing card)."""
    if merchant_id is None:
        if not await mandate_repo.any_active(session, caller.key, card_id):
            raise DomainError("CARD_NOT_FOUND", "no such card", field="card_id")
        return
    if await own_mandate(session, caller, card_id, merchant_id) is None:
        raise refuse_subject("mandated_card",
                             "no active credit mandate of this service for the card at this merchant")


async def card_for(session: AsyncSession, caller: Caller, card_id: str) -> Card:
    """A card the caller may see: own_card for an app, mandated_card for a service, any for
    an operator."""
    if caller.kind == CallerKind.SERVICE:
        await mandated_card(session, caller, card_id, None)
    return own_card(caller, await card_repo.get(session, card_id))


async def own_account(session: AsyncSession, caller: Caller, card_id: str | None,
                      insured_id: str | None) -> Insured:
    """own_account: the insured person whose account is asked for; an app only its own."""
    if card_id is not None:
        card = await card_for(session, caller, card_id)
        return await insured_of(session, card.insured_id)
    assert insured_id is not None
    insured = await insured_of(session, insured_id)
    if caller.kind == CallerKind.APP:
        own = await card_repo.get(session, caller.scope) if caller.scope else None
        if own is None or own.insured_id != insured.insured_id:
            raise DomainError("INSURED_NOT_FOUND", "no such insured person", field="insured_id")
    return insured


def not_the_holder(field: str) -> DomainError:
    """One refusal for an unknown subject and someone else's: it reveals neither."""
    return DomainError("PERMISSION_DENIED", "the identity assertion does not prove the right to "
                       "this insured person or card", field=field)


def assertion_holder(claims: AssertionClaims, insured: Insured | None, field: str) -> Insured:
    """assertion_holder: a card goes only to the person the CARD_ISSUE assertion is about;
    an unknown person and someone else are refused alike (:func:`not_the_holder`)."""
    if insured is None or not insured.identity_person_id \
            or claims.person_id != insured.identity_person_id:
        raise not_the_holder(field)
    return insured


def consenting_holder(claims: AssertionClaims, card: Card, insured: Insured) -> None:
    """consenting_holder: a mandate needs the card holder's own CREDIT_AGREEMENT assertion,
    made on the card's device."""
    if not insured.identity_person_id or claims.person_id != insured.identity_person_id:
        raise refuse_subject("consenting_holder", "the assertion is not about the card holder")
    if claims.device_id != card.device_id:
        raise DomainError("ASSERTION_WRONG_DEVICE", "the assertion was made on another device")


def merchant_kind_of_caller(caller: Caller, merchant_kind: str) -> None:
    """merchant_kind_of_caller: pharmacy resolves QR codes for pharmacies, billing for hospitals."""
    if SERVICE_MERCHANT_KINDS.get(caller.principal) != merchant_kind:
        raise DomainError("QR_WRONG_MERCHANT",
                          f"this caller may not exchange QR codes for a {merchant_kind} merchant")


def context_of_caller(caller: Caller, context: PaymentContextRow | None,
                      merchant_id: str) -> PaymentContextRow:
    """context_of_caller: a payment context serves only the service that resolved it, for
    the merchant it was resolved for."""
    if context is None:
        raise DomainError("PAYMENT_CONTEXT_INVALID", "no such payment context",
                          field="payment_context_id")
    if context.caller != caller.key or context.merchant_id != merchant_id:
        raise DomainError("QR_WRONG_MERCHANT", "the payment context belongs to another merchant",
                          field="payment_context_id")
    if context.state != qr_repo.OPEN:
        raise DomainError("PAYMENT_CONTEXT_INVALID", "the payment context was already used",
                          field="payment_context_id")
    return context


async def own_hold(session: AsyncSession, caller: Caller, hold_id: str) -> Hold:
    """own_hold: Capture, Void and Refund only on holds the calling service created."""
    hold = await hold_repo.get(session, hold_id, caller.key)
    if hold is None:
        raise DomainError("HOLD_NOT_FOUND", "no such hold", field="hold_id")
    return hold


def own_records(caller: Caller) -> str:
    """own_records: daily totals count only the calling service's own captures and refunds;
    the namespace they are kept under."""
    return caller.key


async def insured_of(session: AsyncSession, insured_id: str) -> Insured:
    insured = await insured_repo.get(session, insured_id)
    if insured is None:
        raise DomainError("INSURED_NOT_FOUND", "no such insured person", field="insured_id")
    return insured
