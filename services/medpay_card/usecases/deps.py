"""What the use cases need, built once by the composition root (``app.build``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from medpay_card.adapters.insured_repo import PersonalData
from medpay_card.adapters.tables import idempotency
from medpay_card.settings import CardSettings
from medpay_kit.assertions import AssertionVerifier
from medpay_kit.clock import Clock
from medpay_kit.db import Database
from medpay_kit.idempotency import IdempotencyStore
from medpay_kit.keyring import Keyring


@dataclass
class Deps:
    db: Database
    clock: Clock
    settings: CardSettings
    keyring: Keyring
    verifier: AssertionVerifier

    def __post_init__(self) -> None:
        self.personal = PersonalData(self.keyring)
        self.idem = IdempotencyStore(idempotency)

    def now(self) -> datetime:
        return self.clock.now()

    def qr_mac(self, data: bytes) -> bytes:
        return self.keyring.mac("qr", data)
