"""Requests → validated commands. Bad input is INVALID_ARGUMENT (or a more specific reason)
naming the field, before anything is read or booked."""

from __future__ import annotations

from datetime import date
from typing import cast

from medpay.card.v1 import card_pb2
from medpay_card.adapters.insured_repo import InsuredRecord
from medpay_card.domain.policy import BenefitPolicy
from medpay_card.usecases import commands as cmd
from medpay_card.wire import enums
from medpay_card.wire import fields as f
from medpay_kit.assertions import MAX_TOKEN
from medpay_kit.errors import DomainError
from medpay_kit.personal import normalise_id_number


def import_insured(r: card_pb2.ImportInsuredRequest, *, today: date) -> cmd.ImportInsured:
    types = [cast(int, enums.parse(enums.INSURANCE_TYPES, t, "insurance_types"))
             for t in r.insurance_types]
    if not types or len(set(types)) != len(types):
        raise f.bad("insurance_types", "insurance_types must list at least one scheme, once each")
    record = InsuredRecord(
        person_number=f.person_number(r.person_number),
        id_number=normalise_id_number(r.id_number, today=today),
        name=f.text(r.name, "name", max_len=64, required=True),
        region_code=f.region_code(r.region_code),
        insurance_types=tuple(types),
        person_type=cast(str, enums.parse(enums.PERSON_TYPES, r.person_type, "person_type")),
        status=cast(str, enums.parse(enums.INSURED_STATUSES, r.status, "status")),
        identity_person_id=(f.opaque_id(r.identity_person_id, "identity_person_id")
                            if r.identity_person_id else None),
    )
    return cmd.ImportInsured(record, f.money(r.opening_balance, "opening_balance"))


def _assertion(token: str) -> str:
    if not token or len(token) > MAX_TOKEN:
        raise f.bad("assertion", "assertion is required")
    return token


def issue_card(r: card_pb2.IssueCardRequest) -> cmd.IssueCard:
    scheme = (None if r.insurance_type == 0 else
              cast(int, enums.parse(enums.INSURANCE_TYPES, r.insurance_type, "insurance_type")))
    return cmd.IssueCard(f.person_number(r.person_number), _assertion(r.assertion),
                         f.device_id(r.device_id), scheme)


def reissue_card(r: card_pb2.ReissueCardRequest) -> cmd.ReissueCard:
    return cmd.ReissueCard(f.opaque_id(r.card_id, "card_id"), _assertion(r.assertion),
                           f.device_id(r.device_id))


def change_status(r: card_pb2.SuspendCardRequest | card_pb2.ResumeCardRequest
                  | card_pb2.RevokeCardRequest) -> cmd.ChangeCardStatus:
    return cmd.ChangeCardStatus(f.opaque_id(r.card_id, "card_id"),
                                f.text(r.reason, "reason", max_len=200))


def resolve_qr(r: card_pb2.ResolveQrCodeRequest) -> cmd.ResolveQr:
    if not r.qr_payload:
        raise f.bad("qr_payload", "qr_payload is required")
    kind = cast(str, enums.parse(enums.MERCHANT_KINDS, r.merchant_kind, "merchant_kind"))
    return cmd.ResolveQr(r.qr_payload, f.merchant_id(r.merchant_id), kind, r.validate_only)


def owner(r: card_pb2.GetAccountRequest | card_pb2.ListAccountEntriesRequest) -> cmd.Owner:
    which = r.WhichOneof("owner")
    if which == "card_id":
        return cmd.Owner(f.opaque_id(r.card_id, "card_id"), None)
    if which == "insured_id":
        return cmd.Owner(None, f.opaque_id(r.insured_id, "insured_id"))
    raise f.bad("owner", "card_id or insured_id is required")


def credit_account(r: card_pb2.CreditAccountRequest) -> cmd.CreditAccount:
    which = r.WhichOneof("insured")
    if which is None:
        raise f.bad("insured", "insured_id or person_number is required")
    return cmd.CreditAccount(
        insured_id=f.opaque_id(r.insured_id, "insured_id") if which == "insured_id" else None,
        person_number=f.person_number(r.person_number) if which == "person_number" else None,
        period=f.period(r.period), amount=f.money(r.amount, "amount", positive=True))


def refund(r: card_pb2.RefundRequest) -> cmd.Refund:
    kind = cast(str, enums.parse(enums.REFUND_KINDS, r.kind, "kind"))
    if any(n <= 0 for n in r.line_nos) or len(set(r.line_nos)) != len(r.line_nos):
        raise f.bad("line_nos", "line_nos must be distinct positive line numbers")
    return cmd.Refund(f.opaque_id(r.hold_id, "hold_id"), kind, tuple(r.line_nos))


def daily_totals(r: card_pb2.GetDailyTotalsRequest) -> cmd.DailyTotals:
    scheme = (None if r.insurance_type == 0 else
              cast(int, enums.parse(enums.INSURANCE_TYPES, r.insurance_type, "insurance_type")))
    day = f.iso_date(r.business_date, "business_date")
    assert day is not None
    return cmd.DailyTotals(f.merchant_id(r.merchant_id), day, scheme, r.include_rows)


def policy(p: card_pb2.BenefitPolicy) -> BenefitPolicy:
    scope = "YEAR" if p.deductible_scope == 0 else cast(
        str, enums.parse(enums.DEDUCTIBLE_SCOPES, p.deductible_scope, "policy.deductible_scope"))
    try:
        return BenefitPolicy(
            policy_id=f.text(p.policy_id, "policy.policy_id", max_len=128, required=True),
            version=p.version,
            region_code=f.region_code(p.region_code, "policy.region_code"),
            insurance_type=cast(int, enums.parse(enums.INSURANCE_TYPES, p.insurance_type,
                                                 "policy.insurance_type")),
            medical_type=enums.parse(enums.MEDICAL_TYPES, p.medical_type,  # type: ignore[arg-type]
                                     "policy.medical_type"),
            institution_level=enums.parse(enums.LEVELS, p.level,  # type: ignore[arg-type]
                                          "policy.level"),
            person_type=enums.parse(enums.PERSON_TYPES, p.person_type,  # type: ignore[arg-type]
                                    "policy.person_type"),
            effective_from=f.iso_date(p.effective_from, "policy.effective_from"),  # type: ignore[arg-type]
            effective_to=f.iso_date(p.effective_to, "policy.effective_to", required=False),
            deductible=f.money(p.deductible, "policy.deductible"),
            deductible_scope=scope,  # type: ignore[arg-type]
            fund_ratio_bp=p.fund_ratio_bp,
            yearly_cap=f.money(p.yearly_cap, "policy.yearly_cap"),
            pooling=p.pooling_applies_by_default,
            account_may_pay_out_of_scope=p.account_may_pay_out_of_scope,
        )
    except DomainError as exc:
        if "field" in exc.metadata:
            raise
        raise f.bad("policy", exc.message) from None
