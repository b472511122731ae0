"""What every use case needs, wired once in the composition root."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from medpay_kit.auth import Caller, CallerKind
from medpay_kit.clock import Clock
from medpay_kit.db import Database
from medpay_kit.errors import DomainError
from medpay_kit.keyring import Keyring
from medpay_kit.payment_channel import PaymentChannel
from medpay_pharmacy.adapters.card import CardClient
from medpay_pharmacy.domain.settlement import CHINA
from medpay_pharmacy.settings import PharmacySettings


@dataclass
class Deps:
    db: Database
    card: CardClient
    channel: PaymentChannel
    channel_name: str
    clock: Clock
    settings: PharmacySettings
    keyring: Keyring

    def now(self) -> datetime:
        return self.clock.now()

    def lease_until(self) -> datetime:
        return self.now() + timedelta(seconds=self.settings.lease_s)

    async def release_lease(self, update: Callable[..., Awaitable[object]], object_id: str,
                            owner: str) -> None:
        """Outcome unknown: end ``owner``'s lease on a settlement or refund at once, so a
        retry of the till (or recovery) takes over; if even that fails, the lease runs out."""
        try:
            async with self.db.write() as session:
                await update(session, object_id, owner, lease_until=self.now())
        except Exception:
            structlog.get_logger().warning("lease_release_failed", object_id=object_id)


def new_id(prefix: str, at: datetime) -> str:
    """An opaque, roughly time-ordered id such as ``ST20250301A1B2C3D4E5F6``."""
    return f"{prefix}{at.astimezone(CHINA):%Y%m%d}{secrets.token_hex(6).upper()}"


def new_lease_owner() -> str:
    return secrets.token_hex(8)


def pharmacy_of(caller: Caller, requested: str) -> str:
    """The pharmacy a call is about: the till's own, or the one an operator names."""
    if caller.kind is CallerKind.POS:
        if requested and requested != caller.scope:
            raise DomainError("PERMISSION_DENIED", "a till may only act for its own pharmacy",
                              field="institution_code")
        return caller.scope
    if not requested:
        raise DomainError("INVALID_ARGUMENT", "institution_code is required",
                          field="institution_code")
    return requested
