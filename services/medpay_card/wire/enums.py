"""Protobuf enum numbers ⇄ the domain's names (unknown or UNSPECIFIED values are refused)."""

from __future__ import annotations

from collections.abc import Mapping

from medpay.card.v1 import card_pb2
from medpay.common.v1 import insurance_pb2 as ins
from medpay_kit.errors import DomainError

INSURANCE_TYPES: Mapping[int, int] = {ins.INSURANCE_TYPE_EMPLOYEE_BASIC: 310,
                                      ins.INSURANCE_TYPE_RESIDENT_BASIC: 390}
MEDICAL_TYPES: Mapping[int, str] = {ins.MEDICAL_TYPE_OUTPATIENT: "OUTPATIENT",
                                    ins.MEDICAL_TYPE_INPATIENT: "INPATIENT",
                                    ins.MEDICAL_TYPE_PHARMACY: "PHARMACY"}
LEVELS: Mapping[int, str] = {ins.INSTITUTION_LEVEL_COMMUNITY: "COMMUNITY",
                             ins.INSTITUTION_LEVEL_TIER1: "TIER1",
                             ins.INSTITUTION_LEVEL_TIER2: "TIER2",
                             ins.INSTITUTION_LEVEL_TIER3: "TIER3"}
PERSON_TYPES: Mapping[int, str] = {ins.PERSON_TYPE_IN_SERVICE: "IN_SERVICE",
                                   ins.PERSON_TYPE_RETIRED: "RETIRED"}
ITEM_CLASSES: Mapping[int, str] = {ins.ITEM_CLASS_A: "A", ins.ITEM_CLASS_B: "B",
                                   ins.ITEM_CLASS_C: "C"}
REFUND_KINDS: Mapping[int, str] = {ins.REFUND_KIND_ALL: "ALL", ins.REFUND_KIND_CASH: "CASH",
                                   ins.REFUND_KIND_HI: "HI"}
INSURED_STATUSES: Mapping[int, str] = {card_pb2.INSURED_STATUS_ACTIVE: "ACTIVE",
                                       card_pb2.INSURED_STATUS_SUSPENDED: "SUSPENDED",
                                       card_pb2.INSURED_STATUS_TERMINATED: "TERMINATED"}
CARD_STATUSES: Mapping[int, str] = {card_pb2.CARD_STATUS_ACTIVE: "ACTIVE",
                                    card_pb2.CARD_STATUS_SUSPENDED: "SUSPENDED",
                                    card_pb2.CARD_STATUS_REVOKED: "REVOKED",
                                    card_pb2.CARD_STATUS_REPLACED: "REPLACED"}
MERCHANT_KINDS: Mapping[int, str] = {card_pb2.MERCHANT_KIND_PHARMACY: "PHARMACY",
                                     card_pb2.MERCHANT_KIND_HOSPITAL: "HOSPITAL"}
ENTRY_KINDS: Mapping[int, str] = {
    card_pb2.ACCOUNT_ENTRY_KIND_OPENING_BALANCE: "OPENING_BALANCE",
    card_pb2.ACCOUNT_ENTRY_KIND_CREDIT: "CREDIT", card_pb2.ACCOUNT_ENTRY_KIND_HOLD: "HOLD",
    card_pb2.ACCOUNT_ENTRY_KIND_RELEASE: "RELEASE",
    card_pb2.ACCOUNT_ENTRY_KIND_SETTLEMENT: "SETTLEMENT",
    card_pb2.ACCOUNT_ENTRY_KIND_REFUND: "REFUND"}
DEDUCTIBLE_SCOPES: Mapping[int, str] = {card_pb2.DEDUCTIBLE_SCOPE_YEAR: "YEAR",
                                        card_pb2.DEDUCTIBLE_SCOPE_ADMISSION: "ADMISSION"}


def parse(mapping: Mapping[int, object], value: int, field: str) -> object:
    """The domain value of an enum number; INVALID_ARGUMENT for UNSPECIFIED or unknown."""
    if value not in mapping:
        raise DomainError("INVALID_ARGUMENT", f"{field} is missing or not a known value",
                          field=field)
    return mapping[value]


def number(mapping: Mapping[int, object], name: object) -> int:
    """The enum number of a domain value (0 when unknown)."""
    for num, value in mapping.items():
        if value == name:
            return num
    return 0
