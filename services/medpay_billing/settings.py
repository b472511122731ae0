"""Settings of the billing service (environment variables ``MEDPAY_BILLING_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from medpay_kit.config import ServiceSettings


class BillingSettings(ServiceSettings):
    """Billing settings.

    ``device_cache_ttl_s``: how long a positive answer of ``card.VerifyDeviceCredential`` is
    reused for app calls. A card revoked or re-issued at card keeps working here for at most
    this long (30 s at most by design).

    ``lease_s``: a visit being closed (CLOSING) or a refund being made is leased to the call
    (or recovery pass) that drives it; recovery takes over only when the lease has run out,
    so it must outlive one peer call (``peer_timeout_s``).

    ``test_crash_after`` (``MEDPAY_BILLING_TEST_CRASH_AFTER``) is a TEST-ONLY fault hook:
    ``authorize`` or ``capture`` makes the process ``os._exit(137)`` right after that step of
    a CloseVisit has been persisted, so tests can prove that recovery finishes the visit.
    ``test_fail_after`` (``MEDPAY_BILLING_TEST_FAIL_AFTER``), equally TEST-ONLY: ``capture``
    makes the first CloseVisit after start raise an unexpected error right after card
    captured, so tests can prove the HIS hears ``OUTCOME_UNKNOWN`` and the visit closes.
    """

    model_config = SettingsConfigDict(env_prefix="MEDPAY_BILLING_", extra="ignore", frozen=True)

    port: int = Field(default=50054, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/billing.db"
    card_target: str = "localhost:50052"
    identity_target: str = "localhost:50051"
    #: Keys for secrets at rest (the HIS credential kept for idempotent replays).
    keyring_file: Path = Path("var/keys/billing.json")

    device_cache_ttl_s: float = Field(default=15.0, ge=0, le=30)
    recovery_interval_s: float = Field(default=10.0, gt=0, le=3600)
    collection_interval_s: float = Field(default=60.0, gt=0, le=86_400)
    lease_s: float = Field(default=30.0, ge=1, le=3600)
    close_wait_s: float = Field(default=20.0, gt=0, le=120)
    event_poll_s: float = Field(default=0.2, gt=0, le=10)
    recovery_batch: int = Field(default=50, ge=1, le=1000)

    max_lines_per_call: int = Field(default=100, ge=1, le=1000)
    max_lines_per_visit: int = Field(default=200, ge=1, le=1000)
    max_quantity: int = Field(default=9999, ge=1, le=999_999)
    max_unit_price_yuan: int = Field(default=1_000_000, ge=1, le=100_000_000)
    slot_capacity: int = Field(default=30, ge=1, le=10_000)

    channel: Literal["sandbox"] = "sandbox"
    test_crash_after: Literal["", "authorize", "capture"] = ""
    test_fail_after: Literal["", "capture"] = ""

    @model_validator(mode="after")
    def _lease_outlives_a_step(self) -> BillingSettings:
        if self.lease_s <= self.peer_timeout_s:
            raise ValueError("lease_s must be longer than peer_timeout_s")
        return self
