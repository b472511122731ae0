"""What every use case needs, wired once in the composition root."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

import structlog
from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession

from medpay_billing.adapters.card import CardClient
from medpay_billing.adapters.events import EventBell
from medpay_billing.adapters.tables import idempotency
from medpay_billing.domain.charges import Limits
from medpay_billing.domain.dates import business_day
from medpay_billing.settings import BillingSettings
from medpay_kit.assertions import AssertionVerifier
from medpay_kit.auth import Caller, CallerKind
from medpay_kit.clock import Clock
from medpay_kit.db import Database
from medpay_kit.errors import DomainError
from medpay_kit.idempotency import IdempotencyStore
from medpay_kit.keyring import Keyring
from medpay_kit.payment_channel import PaymentChannel

M = TypeVar("M", bound=Message)


@dataclass
class Deps:
    db: Database
    card: CardClient
    assertions: AssertionVerifier
    channel: PaymentChannel
    clock: Clock
    settings: BillingSettings
    bell: EventBell
    keyring: Keyring

    def __post_init__(self) -> None:
        self.store = IdempotencyStore(idempotency)
        self._fault_fired = False
        s = self.settings
        self.limits = Limits(s.max_lines_per_call, s.max_lines_per_visit, s.max_quantity,
                             s.max_unit_price_yuan)

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return business_day(self.now())

    def lease_until(self) -> datetime:
        return self.now() + timedelta(seconds=self.settings.lease_s)

    async def once(self, caller: Caller, method: str, request: M, response_type: type[M],
                   work: Callable[[AsyncSession], Awaitable[M]]) -> M:
        """An idempotent mutation: one write transaction, the response remembered in it."""
        response = await self.store.run(self.db, caller.key, method, request, response_type, work)
        self.bell.ring()
        return response

    async def first(self, caller: Caller, method: str, request: M, response_type: type[M],
                    attempt: Callable[[], Awaitable[M]]) -> M:
        """A mutation spanning transactions or peer calls: the first reply to every twin."""
        return await self.store.first_reply(self.db, caller.key, method, request, response_type,
                                            attempt)

    async def remember(self, caller: Caller, method: str, request: M, response: M) -> M:
        """Store a response computed outside ``once``; a twin's stored one wins."""
        return await self.store.remember_once(self.db, caller.key, method, request,
                                              type(response), response)

    def crash_after(self, step: str) -> None:
        """TEST-ONLY fault hook (``test_crash_after``): die right after ``step`` persisted."""
        if self.settings.test_crash_after == step:
            structlog.get_logger().warning("test_crash_hook_fired", step=step)
            os._exit(137)

    def fail_after(self, step: str) -> None:
        """TEST-ONLY fault hook (``test_fail_after``): the first time ``step`` is done in
        this process, raise an unexpected error before its outcome is recorded."""
        if self.settings.test_fail_after == step and not self._fault_fired:
            self._fault_fired = True
            structlog.get_logger().warning("test_fault_hook_fired", step=step)
            raise RuntimeError(f"test fault after {step}")


def hospital_of(caller: Caller, requested: str = "") -> str:
    """The hospital a HIS call is about: always its own."""
    if caller.kind is CallerKind.HIS:
        if requested and requested != caller.scope:
            raise DomainError("PERMISSION_DENIED", "a HIS may only act for its own hospital",
                              field="institution_code")
        return caller.scope
    if not requested:
        raise DomainError("INVALID_ARGUMENT", "institution_code is required",
                          field="institution_code")
    return requested
