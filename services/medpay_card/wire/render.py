"""Domain values and rows → protobuf messages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from medpay.card.v1 import card_pb2
from medpay.common.v1 import money_pb2, split_pb2
from medpay_card.adapters.card_repo import Card
from medpay_card.adapters.insured_repo import Insured
from medpay_card.domain.adjudication import ClaimSplit, LineSplit, RefundParts
from medpay_card.domain.policy import BenefitPolicy
from medpay_card.wire import enums
from medpay_kit.money import CURRENCY


def money(fen: int) -> money_pb2.Money:
    return money_pb2.Money(amount_fen=fen, currency=CURRENCY)


def ts(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def line_split(p: LineSplit) -> split_pb2.LineSplit:
    return split_pb2.LineSplit(
        line_no=p.line_no, item_code=p.item_code,
        item_class=enums.number(enums.ITEM_CLASSES, p.item_class), amount=money(p.amount),
        over_limit=money(p.over_limit), full_self_pay=money(p.full_self_pay),
        pre_self_pay=money(p.pre_self_pay), in_scope=money(p.in_scope),
        price_cap_applied="" if p.price_cap is None else str(p.price_cap),
        pre_self_pay_ratio_bp=p.ratio_bp)


def claim_split(s: ClaimSplit, *, balance_after: int, fund_ratio_bp: int) -> split_pb2.ClaimSplit:
    return split_pb2.ClaimSplit(
        total=money(s.total), over_limit=money(s.over_limit),
        full_self_pay=money(s.full_self_pay), pre_self_pay=money(s.pre_self_pay),
        in_scope=money(s.in_scope), deductible=money(s.deductible), fund_pay=money(s.fund_pay),
        fund_pay_total=money(s.fund_pay), account_pay=money(s.account_pay),
        cash_pay=money(s.cash_pay), balance_after=money(balance_after),
        lines=[line_split(p) for p in s.lines], policy_id=s.policy_id,
        policy_version=s.policy_version, fund_ratio_bp=fund_ratio_bp)


def refund_split(parts: RefundParts, original: ClaimSplit, *, balance_after: int,
                 fund_ratio_bp: int) -> split_pb2.ClaimSplit:
    returned = set(parts.returned_line_nos)
    return split_pb2.ClaimSplit(
        total=money(parts.total), over_limit=money(parts.over_limit),
        full_self_pay=money(parts.full_self_pay), pre_self_pay=money(parts.pre_self_pay),
        in_scope=money(parts.in_scope), deductible=money(parts.deductible),
        fund_pay=money(parts.fund_pay), fund_pay_total=money(parts.fund_pay),
        account_pay=money(parts.account_pay), cash_pay=money(parts.cash_pay),
        balance_after=money(balance_after),
        lines=[line_split(p) for p in original.lines if p.line_no in returned],
        policy_id=original.policy_id, policy_version=original.policy_version,
        fund_ratio_bp=fund_ratio_bp)


def card(c: Card, insured: Insured, masked_name: str) -> card_pb2.Card:
    return card_pb2.Card(
        card_id=c.card_id, insured_id=c.insured_id,
        status=enums.number(enums.CARD_STATUSES, c.status), masked_name=masked_name,
        region_code=insured.region_code, insurance_type=c.insurance_type,
        person_type=enums.number(enums.PERSON_TYPES, insured.person_type),
        issued_at=ts(c.issued_at), device_id=c.device_id,
        replaces_card_id=c.replaces_card_id or "", status_reason=c.status_reason,
        status_changed_at=ts(c.status_changed_at))


def payment_context(ctx: Any, c: Card, insured: Insured, masked_name: str) -> card_pb2.PaymentContext:
    return card_pb2.PaymentContext(
        payment_context_id=ctx.payment_context_id, merchant_id=ctx.merchant_id,
        merchant_kind=enums.number(enums.MERCHANT_KINDS, ctx.merchant_kind), card_id=c.card_id,
        insured_id=insured.insured_id, masked_name=masked_name, region_code=insured.region_code,
        insurance_type=c.insurance_type,
        person_type=enums.number(enums.PERSON_TYPES, insured.person_type),
        expires_at=ts(ctx.expires_at))


def account_entry(row: Any) -> card_pb2.AccountEntry:
    return card_pb2.AccountEntry(
        entry_id=row.txn_id, posted_at=ts(row.posted_at),
        kind=enums.number(enums.ENTRY_KINDS, row.kind), amount=money(row.balance_change),
        held_change=money(row.held_change), balance_after=money(row.balance_after),
        available_after=money(row.balance_after - row.held_after), reference=row.reference,
        merchant_id=row.merchant_id)


def _day(d: date | None) -> str:
    return "" if d is None else d.isoformat()


def policy(p: BenefitPolicy) -> card_pb2.BenefitPolicy:
    return card_pb2.BenefitPolicy(
        policy_id=p.policy_id, version=p.version, region_code=p.region_code,
        insurance_type=p.insurance_type,
        medical_type=enums.number(enums.MEDICAL_TYPES, p.medical_type),
        level=enums.number(enums.LEVELS, p.institution_level),
        person_type=enums.number(enums.PERSON_TYPES, p.person_type),
        effective_from=_day(p.effective_from), effective_to=_day(p.effective_to),
        deductible=money(p.deductible), fund_ratio_bp=p.fund_ratio_bp,
        yearly_cap=money(p.yearly_cap), pooling_applies_by_default=p.pooling,
        account_may_pay_out_of_scope=p.account_may_pay_out_of_scope,
        deductible_scope=enums.number(enums.DEDUCTIBLE_SCOPES, p.deductible_scope))


def policy_in_force(p: BenefitPolicy) -> card_pb2.PolicyInForce:
    return card_pb2.PolicyInForce(
        policy_id=p.policy_id, version=p.version,
        medical_type=enums.number(enums.MEDICAL_TYPES, p.medical_type),
        level=enums.number(enums.LEVELS, p.institution_level), deductible=money(p.deductible),
        fund_ratio_bp=p.fund_ratio_bp, yearly_cap=money(p.yearly_cap))


def daily_row(row: Any) -> card_pb2.DailyRow:
    return card_pb2.DailyRow(
        hold_id=row.hold_id, acquirer_reference=row.acquirer_reference, refund=row.refund,
        refund_id=row.refund_id, total=money(row.total), fund_pay=money(row.fund_pay),
        account_pay=money(row.account_pay), cash_pay=money(row.cash_pay), at=ts(row.at))
