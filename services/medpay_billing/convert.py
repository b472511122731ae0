"""Rows and domain values → protobuf messages of the billing contract (and back for money)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Row

from medpay.billing.v1 import billing_pb2 as pb
from medpay.common.v1 import money_pb2, split_pb2
from medpay_billing.adapters.rows import aware
from medpay_billing.domain.agreement import available
from medpay_kit.errors import DomainError
from medpay_kit.money import CURRENCY


def money(fen: int) -> money_pb2.Money:
    return money_pb2.Money(amount_fen=fen, currency=CURRENCY)


def fen_of(value: money_pb2.Money, field: str) -> int:
    if value.currency not in ("", CURRENCY):
        raise DomainError("INVALID_ARGUMENT", f"{field} must be in {CURRENCY}", field=field)
    if value.amount_fen < 0:
        raise DomainError("INVALID_ARGUMENT", f"{field} must not be negative", field=field)
    return value.amount_fen


def enum_name(enum, value: int, field: str) -> str:  # type: ignore[no-untyped-def]
    """``BillStatus`` 2 → ``"PAID"``: a filter value as stored; unknown numbers are refused."""
    if value not in enum.values():
        raise DomainError("INVALID_ARGUMENT", f"{field} is not a known value", field=field)
    name: str = enum.Name(value)
    return name.split("_STATUS_", 1)[-1]


def timestamp(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(aware(at))  # type: ignore[arg-type]
    return ts


def hospital(row: Row) -> pb.Hospital:
    return pb.Hospital(
        institution_code=row.institution_code, name=row.name, level=row.level,
        region_code=row.region_code,
        credit_settings=pb.CreditSettings(
            credit_limit=money(row.credit_limit_fen), grace_days=row.grace_days,
            auto_debit=row.auto_debit,
            blacklist_after_overdue_days=row.blacklist_after_overdue_days),
        registered_at=timestamp(row.registered_at))


def agreement(row: Row) -> pb.CreditAgreement:
    return pb.CreditAgreement(
        agreement_id=row.agreement_id, institution_code=row.institution_code,
        card_id=row.card_id, status=pb.AgreementStatus.Value(f"AGREEMENT_STATUS_{row.status}"),
        limit=money(row.limit_fen), used=money(max(0, row.used_fen)),
        available=money(available(row.limit_fen, row.used_fen)),
        payer_reference=row.payer_reference, auto_debit=row.auto_debit,
        use_personal_account=row.use_personal_account, created_at=timestamp(row.created_at))


def appointment(row: Row) -> pb.Appointment:
    return pb.Appointment(
        appointment_id=row.appointment_id, institution_code=row.institution_code,
        department=row.department, slot_start=timestamp(row.slot_start),
        status=pb.AppointmentStatus.Value(f"APPOINTMENT_STATUS_{row.status}"),
        card_id=row.card_id, visit_id=row.visit_id)


def visit(row: Row) -> pb.Visit:
    return pb.Visit(
        visit_id=row.visit_id, institution_code=row.institution_code, card_id=row.card_id,
        agreement_id=row.agreement_id, appointment_id=row.appointment_id,
        department=row.department, medical_type=row.medical_type,
        status=pb.VisitStatus.Value(f"VISIT_STATUS_{row.status}"), masked_name=row.masked_name,
        insurance_type=row.insurance_type, opened_at=timestamp(row.opened_at),
        closed_at=timestamp(row.closed_at), charged_total=money(row.charged_total_fen),
        bill_id=row.bill_id)


def split_of(blob: bytes | None) -> split_pb2.ClaimSplit | None:
    return split_pb2.ClaimSplit.FromString(blob) if blob else None


def bill(row: Row, lines: Sequence[tuple[int, str]]) -> pb.Bill:
    """A bill row with its claim-line → HIS-line map."""
    return pb.Bill(
        bill_id=row.bill_id, visit_id=row.visit_id, agreement_id=row.agreement_id,
        institution_code=row.institution_code, card_id=row.card_id,
        status=pb.BillStatus.Value(f"BILL_STATUS_{row.status}"), split=split_of(row.split),
        self_pay_due=money(row.self_pay_due_fen), due_date=row.due_date,
        issued_at=timestamp(row.issued_at), paid_at=timestamp(row.paid_at),
        channel_transaction_id=row.channel_transaction_id,
        issuer_reference=row.issuer_reference,
        lines=[pb.BillLine(line_no=n, his_line_id=h) for n, h in lines])


def event(row: Row) -> pb.VisitEvent:
    return pb.VisitEvent(
        event_id=row.event_id, kind=pb.VisitEventKind.Value(f"VISIT_EVENT_KIND_{row.kind}"),
        visit_id=row.visit_id, bill_id=row.bill_id, agreement_id=row.agreement_id,
        at=timestamp(row.at))
