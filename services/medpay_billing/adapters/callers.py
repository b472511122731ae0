"""Who calls billing: HIS clients (credentials billing issues) and apps (device credentials
card issues).

- ``his_<client_id>.<secret>``: looked up here; the caller's scope is its hospital.
- ``dev_<device_id>.<secret>``: checked with ``card.VerifyDeviceCredential`` (as the
  "billing" service); the caller's principal is the device, its scope the card. Positive
  answers are cached for ``ttl_s`` (≤ 30 s) so an app session does not cost a card call per
  RPC: a card revoked or re-issued at card keeps working here for at most that long.
  Negative answers are never cached.
"""

from __future__ import annotations

import hashlib
import time
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import select

from medpay.card.v1 import card_pb2
from medpay_billing.adapters.card import CardClient
from medpay_billing.adapters.tables import his_clients
from medpay_kit.auth import Caller, CallerKind, secret_matches
from medpay_kit.db import Database
from medpay_kit.errors import DomainError

USABLE = frozenset({card_pb2.CARD_STATUS_ACTIVE, card_pb2.CARD_STATUS_SUSPENDED})
MAX_CACHE = 10_000


@dataclass(frozen=True, slots=True)
class Device:
    card_id: str
    insured_id: str
    device_id: str
    identity_person_id: str
    card_status: int


#: the app device of the current call (set by the "dev" resolver, read by use cases)
current_device: ContextVar[Device | None] = ContextVar("billing_device", default=None)


def his_resolver(db: Database):  # type: ignore[no-untyped-def]
    async def resolve(client_id: str, secret: str) -> Caller | None:
        async with db.read() as session:
            row = (await session.execute(select(his_clients).where(
                his_clients.c.client_id == client_id))).first()
        if row is None or not secret_matches(secret, row.secret_hash):
            return None
        return Caller(CallerKind.HIS, principal=client_id, scope=row.institution_code)
    return resolve


class DeviceResolver:
    def __init__(self, card: CardClient, ttl_s: float) -> None:
        self._card = card
        self._ttl = ttl_s
        self._cache: dict[str, tuple[float, Device]] = {}

    async def __call__(self, device_id: str, secret: str) -> Caller | None:
        token = f"dev_{device_id}.{secret}"
        key = hashlib.sha256(token.encode()).hexdigest()
        hit = self._cache.get(key)
        now = time.monotonic()
        device = hit[1] if hit and hit[0] > now else None
        if device is None:
            device = await self._verify(token, device_id)
            if device is None:
                self._cache.pop(key, None)
                return None
            if self._ttl > 0:
                if len(self._cache) >= MAX_CACHE:
                    self._cache.clear()
                self._cache[key] = (now + self._ttl, device)
        current_device.set(device)
        return Caller(CallerKind.APP, principal=device.device_id, scope=device.card_id)

    async def _verify(self, token: str, device_id: str) -> Device | None:
        try:
            reply = await self._card.verify_device(token)
        except DomainError as exc:
            if exc.reason in ("UNAVAILABLE", "DEADLINE_EXCEEDED"):
                raise
            return None
        if reply.status not in USABLE or reply.device_id != device_id:
            return None
        return Device(reply.card_id, reply.insured_id, reply.device_id,
                      reply.identity_person_id, reply.status)


def device_of_call() -> Device:
    device = current_device.get()
    if device is None:
        raise DomainError("PERMISSION_DENIED", "this RPC needs an app device credential")
    return device
