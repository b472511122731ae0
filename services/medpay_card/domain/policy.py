"""Versioned benefit policies: which numbers apply to a claim, chosen by date.

A :class:`BenefitPolicy` is one immutable record for one combination of region,
insurance type, medical type, institution level and person type, valid from
``effective_from`` to ``effective_to`` (both inclusive; ``None`` = open-ended).
:meth:`PolicyBook.select` picks the highest version that covers the date.
Policies are configuration (``data/policies.toml``), never constants in code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from medpay_kit.errors import DomainError
from medpay_kit.money import BASIS_POINTS, MoneyFormatError, parse_decimal, yuan_to_fen

from .adjudication import DeductibleScope, Terms

MedicalType = Literal["OUTPATIENT", "INPATIENT", "PHARMACY"]
InstitutionLevel = Literal["COMMUNITY", "TIER1", "TIER2", "TIER3"]
PersonType = Literal["IN_SERVICE", "RETIRED"]

INSURANCE_TYPES = (310, 390)
MEDICAL_TYPES = ("OUTPATIENT", "INPATIENT", "PHARMACY")
INSTITUTION_LEVELS = ("COMMUNITY", "TIER1", "TIER2", "TIER3")
PERSON_TYPES = ("IN_SERVICE", "RETIRED")
DEDUCTIBLE_SCOPES = ("YEAR", "ADMISSION")

#: The shipped sample policies.
DEFAULT_POLICY_FILE = Path(__file__).resolve().parent.parent / "data" / "policies.toml"


def _bad(message: str) -> DomainError:
    return DomainError("INVALID_ARGUMENT", f"policy: {message}")


@dataclass(frozen=True, slots=True)
class BenefitPolicy:
    """One version of the benefit numbers for one combination (amounts in fen).

    ``deductible_scope`` ``"ADMISSION"`` restarts the deductible for every claim.
    ``pooling`` says whether the pooled fund can pay at all for this combination; the
    institution's own registration is combined in :func:`terms_for`.
    """

    policy_id: str
    version: int
    region_code: str
    insurance_type: int
    medical_type: MedicalType
    institution_level: InstitutionLevel
    person_type: PersonType
    effective_from: date
    effective_to: date | None
    deductible: int
    deductible_scope: DeductibleScope
    fund_ratio_bp: int
    yearly_cap: int
    pooling: bool
    account_may_pay_out_of_scope: bool

    def __post_init__(self) -> None:
        if not self.policy_id or not isinstance(self.policy_id, str):
            raise _bad("policy_id is empty")
        if type(self.version) is not int or self.version < 1:
            raise _bad(f"{self.policy_id}: version must be a positive integer")
        if not (isinstance(self.region_code, str) and len(self.region_code) == 6
                and self.region_code.isdigit()):
            raise _bad(f"{self.policy_id}: region code must be 6 digits")
        for name, allowed in (("insurance_type", INSURANCE_TYPES),
                              ("medical_type", MEDICAL_TYPES),
                              ("institution_level", INSTITUTION_LEVELS),
                              ("person_type", PERSON_TYPES),
                              ("deductible_scope", DEDUCTIBLE_SCOPES)):
            if getattr(self, name) not in allowed:
                raise _bad(f"{self.policy_id}: {name} must be one of {allowed}")
        for name in ("deductible", "yearly_cap"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise _bad(f"{self.policy_id}: {name} must be whole fen ≥ 0")
        if type(self.fund_ratio_bp) is not int or not 0 <= self.fund_ratio_bp <= BASIS_POINTS:
            raise _bad(f"{self.policy_id}: fund ratio must be 0..10000 basis points")
        if not isinstance(self.effective_from, date) or (
            self.effective_to is not None and self.effective_to < self.effective_from
        ):
            raise _bad(f"{self.policy_id}: effective dates are out of order")
        for name in ("pooling", "account_may_pay_out_of_scope"):
            if not isinstance(getattr(self, name), bool):
                raise _bad(f"{self.policy_id}: {name} must be true or false")

    @property
    def combination(self) -> tuple[str, int, str, str, str]:
        """What the policy applies to: region, insurance, medical type, level, person."""
        return (self.region_code, self.insurance_type, self.medical_type,
                self.institution_level, self.person_type)

    def covers(self, on: date) -> bool:
        """Whether ``on`` lies in the effective range (both ends inclusive)."""
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def overlaps(self, other: BenefitPolicy) -> bool:
        """Whether the two effective ranges share at least one day."""
        return (self.effective_to is None or other.effective_from <= self.effective_to) and (
            other.effective_to is None or self.effective_from <= other.effective_to
        )


def counter_group(medical_type: str) -> str:
    """Which yearly counters (deductible used, pooled fund paid, the cap) a claim draws on.

    Designated retail pharmacies are part of outpatient pooling (门诊统筹), so a pharmacy
    purchase and a hospital outpatient visit share one deductible and one yearly cap;
    inpatient care has its own.
    """
    return "OUTPATIENT" if medical_type == "PHARMACY" else medical_type


def terms_for(policy: BenefitPolicy, *, pooling_applies_at_institution: bool) -> Terms:
    """The :class:`Terms` of a claim under ``policy`` at an institution that is (or is not)
    registered for pooling of this medical type."""
    return Terms(
        deductible=policy.deductible,
        fund_ratio_bp=policy.fund_ratio_bp,
        yearly_cap=policy.yearly_cap,
        pooling_applies=policy.pooling and pooling_applies_at_institution,
        account_may_pay_out_of_scope=policy.account_may_pay_out_of_scope,
        policy_id=policy.policy_id,
        version=policy.version,
        deductible_scope=policy.deductible_scope,
    )


class PolicyBook:
    """Every version of every policy; versions are immutable once added."""

    def __init__(self, policies: Iterable[BenefitPolicy] = ()) -> None:
        self._policies: dict[tuple[str, int], BenefitPolicy] = {}
        for policy in policies:
            self.add(policy)

    def __len__(self) -> int:
        return len(self._policies)

    def __iter__(self) -> Iterator[BenefitPolicy]:
        return iter(self._policies.values())

    def add(self, policy: BenefitPolicy) -> None:
        """Add a version. Re-adding an identical version is a no-op; a different content
        under the same id and version, or a second policy for the same combination with
        the same version over overlapping dates (an ambiguous choice), is refused with
        ``ALREADY_EXISTS``."""
        key = (policy.policy_id, policy.version)
        existing = self._policies.get(key)
        if existing == policy:
            return
        if existing is not None:
            raise DomainError("ALREADY_EXISTS",
                              f"policy {policy.policy_id} v{policy.version} already exists "
                              "with different content; versions are immutable")
        for other in self._policies.values():
            if (other.combination == policy.combination and other.version == policy.version
                    and other.overlaps(policy)):
                raise DomainError("ALREADY_EXISTS",
                                  f"policy {policy.policy_id} v{policy.version} overlaps "
                                  f"{other.policy_id} v{other.version} for the same combination")
        self._policies[key] = policy

    def select(
        self,
        region: str,
        insurance_type: int,
        medical_type: str,
        level: str,
        person_type: str,
        on: date,
    ) -> BenefitPolicy:
        """The highest version for this combination whose effective range covers ``on``;
        ``POLICY_NOT_FOUND`` when none does."""
        wanted = (region, insurance_type, medical_type, level, person_type)
        candidates = [p for p in self._policies.values()
                      if p.combination == wanted and p.covers(on)]
        if not candidates:
            raise DomainError(
                "POLICY_NOT_FOUND",
                f"no benefit policy for region {region}, insurance type {insurance_type}, "
                f"{medical_type} at {level} for {person_type} on {on.isoformat()}",
                region=region, insurance_type=insurance_type, medical_type=medical_type,
                institution_level=level, person_type=person_type, on=on.isoformat(),
            )
        return max(candidates, key=lambda p: p.version)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load_toml(cls, path: str | Path = DEFAULT_POLICY_FILE) -> PolicyBook:
        """Load a policy file (format: see ``data/policies.toml`` and :meth:`from_dict`)."""
        with open(path, "rb") as handle:
            return cls.from_dict(tomllib.load(handle))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PolicyBook:
        """Build a book from ``{"group": [...]}``.

        Each group holds fields shared by its ``rates`` rows; each row names an
        ``institution_level`` and ``person_type`` and may override any group field.
        A row becomes the policy ``"<group id>-<level>-<person type>"``. Amounts
        (``deductible``, ``yearly_cap``) are **yuan as strings** (``"200.00"``), converted
        exactly to fen; ratios are integer basis points (``fund_ratio_bp = 7000``).
        """
        unknown = set(data) - {"group"}
        if unknown:
            raise _bad(f"unknown top-level keys {sorted(unknown)}")
        book = cls()
        for group in data.get("group", []):
            shared = {k: v for k, v in group.items() if k != "rates"}
            rows = group.get("rates") or []
            if not rows:
                raise _bad(f"group {shared.get('id')!r} has no rates")
            for row in rows:
                book.add(_policy_from_fields({**shared, **row}))
        return book

    def to_rows(self) -> list[dict[str, Any]]:
        """Every version as a plain dict (fen), for inspection and tests."""
        return [asdict(p) for p in self._policies.values()]


_FIELDS = {
    "id", "version", "region_code", "insurance_type", "medical_type", "institution_level",
    "person_type", "effective_from", "effective_to", "deductible", "deductible_scope",
    "fund_ratio_bp", "yearly_cap", "pooling", "account_may_pay_out_of_scope",
}


def _policy_from_fields(fields: Mapping[str, Any]) -> BenefitPolicy:
    unknown = set(fields) - _FIELDS
    if unknown:
        raise _bad(f"unknown keys {sorted(unknown)} in group {fields.get('id')!r}")
    missing = _FIELDS - {"effective_to"} - set(fields)
    if missing:
        raise _bad(f"missing keys {sorted(missing)} in group {fields.get('id')!r}")
    level, person = fields["institution_level"], fields["person_type"]
    return BenefitPolicy(
        policy_id=f"{fields['id']}-{level}-{person}",
        version=fields["version"],
        region_code=fields["region_code"],
        insurance_type=fields["insurance_type"],
        medical_type=fields["medical_type"],
        institution_level=level,
        person_type=person,
        effective_from=_date(fields["effective_from"]),
        effective_to=_date(fields["effective_to"]) if fields.get("effective_to") else None,
        deductible=_fen(fields["deductible"], "deductible"),
        deductible_scope=fields["deductible_scope"],
        fund_ratio_bp=fields["fund_ratio_bp"],
        yearly_cap=_fen(fields["yearly_cap"], "yearly_cap"),
        pooling=fields["pooling"],
        account_may_pay_out_of_scope=fields["account_may_pay_out_of_scope"],
    )


def _fen(yuan_text: object, name: str) -> int:
    if not isinstance(yuan_text, str):
        raise _bad(f"{name} must be yuan written as a string, e.g. \"200.00\"")
    try:
        return yuan_to_fen(parse_decimal(yuan_text, max_places=2, allow_zero=True))
    except MoneyFormatError as exc:
        raise _bad(f"{name} {yuan_text!r}: {exc}") from exc


def _date(value: object) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise _bad(f"bad date {value!r}") from exc
    raise _bad(f"bad date {value!r}")
