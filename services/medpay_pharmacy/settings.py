"""Settings of the pharmacy service (environment variables ``MEDPAY_PHARMACY_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from medpay_kit.config import ServiceSettings


class PharmacySettings(ServiceSettings):
    """Pharmacy settings.

    ``lease_s``: a settlement being settled is leased to the call (or recovery pass) that
    drives it; every persisted step renews the lease. Recovery takes over a PENDING
    settlement only when its lease has run out, so ``lease_s`` must exceed the longest
    single step (a peer call, ``peer_timeout_s``).

    ``test_crash_after`` (``MEDPAY_PHARMACY_TEST_CRASH_AFTER``) is a TEST-ONLY fault hook:
    ``authorize`` or ``charge`` makes the process ``os._exit(137)`` right after that
    step of a Settle has been persisted, so tests can prove that the recovery loop finishes
    or unwinds the settlement. ``test_fail_after`` (``MEDPAY_PHARMACY_TEST_FAIL_AFTER``),
    equally TEST-ONLY: ``capture`` makes the first Settle after start raise an unexpected
    error right after the issuer captured, before the outcome is saved, so tests can prove
    the till is told ``OUTCOME_UNKNOWN`` (not ``INTERNAL``) and the settlement completes.
    Never set them anywhere else.
    """

    model_config = SettingsConfigDict(env_prefix="MEDPAY_PHARMACY_", extra="ignore", frozen=True)

    port: int = Field(default=50053, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/pharmacy.db"
    card_target: str = "localhost:50052"
    keyring_file: Path = Path("var/keys/pharmacy.json")

    max_lines: int = Field(default=100, ge=1, le=1000)
    max_quantity: int = Field(default=9999, ge=1, le=999_999)
    max_catalogue_batch: int = Field(default=1000, ge=1, le=10_000)
    max_reconcile_rows: int = Field(default=20_000, ge=1, le=200_000)

    settle_wait_s: float = Field(default=15.0, gt=0, le=120)
    lease_s: float = Field(default=30.0, ge=1, le=3600)
    recovery_interval_s: float = Field(default=10.0, gt=0, le=3600)
    recovery_batch: int = Field(default=50, ge=1, le=1000)

    channel: Literal["sandbox"] = "sandbox"
    test_crash_after: Literal["", "authorize", "charge"] = ""
    test_fail_after: Literal["", "capture"] = ""

    @model_validator(mode="after")
    def _lease_outlives_a_step(self) -> PharmacySettings:
        if self.lease_s <= self.peer_timeout_s:
            raise ValueError("lease_s must be longer than peer_timeout_s")
        return self
