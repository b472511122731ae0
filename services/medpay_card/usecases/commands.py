"""Validated inputs of the use cases (built from requests by ``wire.parse``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from medpay_card.adapters.insured_repo import InsuredRecord
from medpay_card.domain.adjudication import ClaimLine


@dataclass(frozen=True, slots=True)
class ImportInsured:
    record: InsuredRecord
    opening_balance: int


@dataclass(frozen=True, slots=True)
class IssueCard:
    person_number: str
    assertion: str
    device_id: str
    insurance_type: int | None


@dataclass(frozen=True, slots=True)
class ReissueCard:
    card_id: str
    assertion: str
    device_id: str


@dataclass(frozen=True, slots=True)
class ChangeCardStatus:
    card_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class ResolveQr:
    payload: str
    merchant_id: str
    merchant_kind: str
    validate_only: bool = False


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose account: by card or by insured id (exactly one is set)."""

    card_id: str | None
    insured_id: str | None


@dataclass(frozen=True, slots=True)
class CreditAccount:
    insured_id: str | None
    person_number: str | None
    period: str
    amount: int


@dataclass(frozen=True, slots=True)
class Claim:
    """An Adjudicate or Authorize request: whose claim, where, and its priced lines."""

    payment_context_id: str | None
    card_id: str | None
    merchant_id: str
    medical_type: str
    level: str
    pooling_applies: bool | None
    use_account: bool
    lines: tuple[ClaimLine, ...]
    at: datetime | None = None
    acquirer_reference: str = ""


@dataclass(frozen=True, slots=True)
class Refund:
    hold_id: str
    kind: str
    line_nos: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class DailyTotals:
    merchant_id: str
    business_date: date
    insurance_type: int | None
    include_rows: bool
