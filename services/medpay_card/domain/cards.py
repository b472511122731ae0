"""The card lifecycle: ACTIVE ⇄ SUSPENDED → REVOKED, and REPLACED by a re-issue.

A card is *live* while ACTIVE or SUSPENDED (its device credential still authenticates,
so the app can see its state); only an ACTIVE card may show a QR code or pay.
REVOKED and REPLACED are final. Changing to the state a card is already in is a no-op,
so an operator and an app suspending at the same time both succeed.
"""

from __future__ import annotations

from medpay_kit.errors import DomainError

ACTIVE, SUSPENDED, REVOKED, REPLACED = "ACTIVE", "SUSPENDED", "REVOKED", "REPLACED"
LIVE = (ACTIVE, SUSPENDED)
FINAL = (REVOKED, REPLACED)

#: who changed the status last, for the resume rule
BY_OPERATOR, BY_APP = "operator", "app"


def _ensure_not_final(status: str) -> None:
    if status in FINAL:
        raise DomainError("CARD_REVOKED", "the card was revoked or replaced")


def ensure_can_pay(status: str) -> None:
    """Only an ACTIVE card shows QR codes and pays."""
    _ensure_not_final(status)
    if status == SUSPENDED:
        raise DomainError("CARD_SUSPENDED", "the card is suspended")


def suspend(status: str) -> str:
    _ensure_not_final(status)
    return SUSPENDED


def resume(status: str, *, suspended_by: str | None, by: str) -> str:
    """SUSPENDED → ACTIVE. An app may not lift a suspension the operator put in place."""
    _ensure_not_final(status)
    if status == SUSPENDED and by == BY_APP and suspended_by == BY_OPERATOR:
        raise DomainError("PERMISSION_DENIED", "this card was suspended by the insurance agency")
    return ACTIVE


def revoke(status: str) -> str:
    """Any live card may be revoked; a final card stays as it is."""
    return status if status in FINAL else REVOKED


def replace(status: str) -> str:
    """A live card is replaced by a re-issue; a final one cannot be."""
    _ensure_not_final(status)
    return REPLACED
