"""Settings of the card service (environment prefix ``MEDPAY_CARD_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from medpay_card.domain.policy import DEFAULT_POLICY_FILE
from medpay_kit.config import ServiceSettings


class CardSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MEDPAY_CARD_", extra="ignore", frozen=True)

    port: int = Field(default=50052, ge=0, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/card.db"
    identity_target: str = "localhost:50051"
    #: Keys for personal data at rest and for signing QR payloads.
    keyring_file: Path = Path("var/keys/card.json")
    #: Benefit policies loaded (idempotently) into the database at start.
    policy_file: Path = DEFAULT_POLICY_FILE
    #: Lifetime of a generated QR code.
    qr_ttl_s: int = Field(default=60, ge=5, le=600)
    #: Lifetime of the payment context a resolved QR code gives the merchant.
    payment_context_ttl_s: int = Field(default=300, ge=10, le=3600)
    #: An authorization not captured within this time is released.
    hold_ttl_s: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    #: How often the background sweep looks for expired holds.
    hold_sweep_interval_s: float = Field(default=5.0, gt=0, le=3600)
    #: Most lines one claim may carry (TOO_MANY_LINES above).
    max_claim_lines: int = Field(default=200, ge=1, le=1000)
