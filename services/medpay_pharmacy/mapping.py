"""Rows and domain values → protobuf messages of the pharmacy contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Row

from medpay.common.v1 import errors_pb2, insurance_pb2, money_pb2, split_pb2
from medpay.pharmacy.v1 import pharmacy_pb2 as pb
from medpay_kit.card_client import CLASS_NAMES, CLASSES, KINDS
from medpay_kit.money import CURRENCY
from medpay_pharmacy.adapters.settlements import aware
from medpay_pharmacy.domain.basket import CatalogueEntry, decimal_text
from medpay_pharmacy.domain.receipt import Slip, SlipLine, SlipRefund
from medpay_pharmacy.domain.reconcile import Difference, Totals
from medpay_pharmacy.domain.reconcile import Row as ReconRow
from medpay_pharmacy.domain.settlement import CHINA, Parts

KIND_NAMES = {v: k for k, v in KINDS.items()}


def money(fen: int) -> money_pb2.Money:
    return money_pb2.Money(amount_fen=fen, currency=CURRENCY)


def timestamp(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(aware(at))  # type: ignore[arg-type]
    return ts


def reason_value(reason: str) -> int:
    if not reason:
        return 0
    return errors_pb2.ErrorReason.Value(f"ERROR_REASON_{reason}")


def pharmacy(row: Row) -> pb.Pharmacy:
    return pb.Pharmacy(institution_code=row.institution_code, name=row.name, level=row.level,
                       outpatient_pooling=row.outpatient_pooling, region_code=row.region_code,
                       registered_at=timestamp(row.registered_at))


def catalogue_item(entry: CatalogueEntry) -> pb.CatalogueItem:
    return pb.CatalogueItem(
        item_code=entry.item_code, name=entry.name, spec=entry.spec,
        unit_price=decimal_text(entry.unit_price),
        price_cap=decimal_text(entry.price_cap) if entry.price_cap is not None else "",
        item_class=CLASSES[entry.item_class], pre_self_pay_ratio_bp=entry.pre_self_pay_ratio_bp)


def split_of(blob: bytes | None) -> split_pb2.ClaimSplit | None:
    return split_pb2.ClaimSplit.FromString(blob) if blob else None


def refund(row: Row) -> pb.SettlementRefund:
    return pb.SettlementRefund(
        refund_id=row.refund_id, request_id=row.request_id, kind=KINDS[row.kind],
        line_nos=list(row.line_nos), refunded=split_of(row.refunded),
        refunded_at=timestamp(row.refunded_at), business_date=row.business_date)


def receipt(row: Row, refund_rows: Sequence[Row]) -> pb.Receipt:
    """The receipt of a settlement with its completed refunds, oldest first."""
    return pb.Receipt(
        settlement_id=row.settlement_id, request_id=row.request_id,
        institution_code=row.institution_code, terminal_id=row.terminal_id,
        status=pb.SettlementStatus.Value(f"SETTLEMENT_STATUS_{row.status}"),
        split=split_of(row.split), masked_name=row.masked_name,
        insurance_type=row.insurance_type, channel_transaction_id=row.channel_transaction_id,
        issuer_reference=row.issuer_reference, settled_at=timestamp(row.settled_at),
        business_date=row.business_date, failure_reason=reason_value(row.failure_reason),
        refunds=[refund(r) for r in refund_rows if r.status == "COMPLETED"])


def channel_payment(row: Row) -> pb.ChannelTransaction:
    return pb.ChannelTransaction(
        transaction_id=row.transaction_id, channel_reference=row.channel_reference,
        channel=row.channel,
        kind=pb.ChannelTransactionKind.Value(f"CHANNEL_TRANSACTION_KIND_{row.kind}"),
        status=pb.ChannelTransactionStatus.Value(f"CHANNEL_TRANSACTION_STATUS_{row.status}"),
        amount=money(row.amount_fen), settlement_id=row.settlement_id, refund_id=row.refund_id,
        institution_code=row.institution_code, created_at=timestamp(row.created_at),
        completed_at=timestamp(row.completed_at))


def totals(value: Totals) -> pb.ReconcileTotals:
    return pb.ReconcileTotals(count=value.count, total=money(value.total),
                              fund_pay=money(value.fund_pay), account_pay=money(value.account_pay))


def detail_row(row: ReconRow) -> pb.DetailRow:
    return pb.DetailRow(
        settlement_id=row.settlement_id, request_id=row.request_id, refund_id=row.refund_id,
        refund=row.refund, total=money(row.parts.total), fund_pay=money(row.parts.fund_pay),
        account_pay=money(row.parts.account_pay), cash_pay=money(row.parts.cash_pay))


def recon_row(row: pb.DetailRow) -> ReconRow:
    return ReconRow(row.settlement_id, row.request_id, row.refund_id, row.refund,
                    Parts(row.total.amount_fen, row.fund_pay.amount_fen,
                          row.account_pay.amount_fen, row.cash_pay.amount_fen))


def difference(diff: Difference) -> pb.Difference:
    settlement_id, refund_id = diff.key
    return pb.Difference(
        settlement_id=settlement_id, refund_id=refund_id,
        kind=pb.DifferenceKind.Value(f"DIFFERENCE_KIND_{diff.kind.value}"),
        till_row=detail_row(diff.till) if diff.till else None,
        service_row=detail_row(diff.service) if diff.service else None)


def insurance_name(value: int) -> str:
    return insurance_pb2.InsuranceType.Name(value) if value else ""



def slip(receipt_pb: pb.Receipt, pharmacy_name: str = "",
         basket: Mapping[int, tuple[str, str, str]] | None = None) -> Slip:
    """The printable slip of a receipt; ``basket`` gives the till's (name, qty, price) by line."""
    split = receipt_pb.split
    basket = basket or {}
    settled = ""
    if receipt_pb.HasField("settled_at"):
        settled = receipt_pb.settled_at.ToDatetime(tzinfo=CHINA).strftime("%Y-%m-%d %H:%M:%S")
    lines = []
    for ls in split.lines:
        name, qty, price = basket.get(ls.line_no, (ls.item_code, "", ""))
        lines.append(SlipLine(
            line_no=ls.line_no, item_code=ls.item_code, name=name,
            item_class=CLASS_NAMES.get(ls.item_class, "?"), quantity=qty, unit_price=price,
            amount=ls.amount.amount_fen,
            self_paid=(ls.over_limit.amount_fen + ls.full_self_pay.amount_fen
                       + ls.pre_self_pay.amount_fen)))
    return Slip(
        pharmacy=pharmacy_name or receipt_pb.institution_code, terminal_id=receipt_pb.terminal_id,
        settlement_id=receipt_pb.settlement_id, request_id=receipt_pb.request_id,
        status=pb.SettlementStatus.Name(receipt_pb.status).removeprefix("SETTLEMENT_STATUS_"),
        business_date=receipt_pb.business_date, settled_at=settled,
        masked_name=receipt_pb.masked_name, insurance_type=str(receipt_pb.insurance_type or ""),
        issuer_reference=receipt_pb.issuer_reference,
        channel_transaction_id=receipt_pb.channel_transaction_id,
        failure_reason=(errors_pb2.ErrorReason.Name(receipt_pb.failure_reason)
                        .removeprefix("ERROR_REASON_") if receipt_pb.failure_reason else ""),
        lines=lines, total=split.total.amount_fen, over_limit=split.over_limit.amount_fen,
        full_self_pay=split.full_self_pay.amount_fen, pre_self_pay=split.pre_self_pay.amount_fen,
        in_scope=split.in_scope.amount_fen, deductible=split.deductible.amount_fen,
        fund_pay=split.fund_pay.amount_fen, account_pay=split.account_pay.amount_fen,
        cash_pay=split.cash_pay.amount_fen, balance_after=split.balance_after.amount_fen,
        refunds=[SlipRefund(
            refund_id=r.refund_id, kind=KIND_NAMES.get(r.kind, "?"),
            business_date=r.business_date, total=r.refunded.total.amount_fen,
            fund_pay=r.refunded.fund_pay.amount_fen, account_pay=r.refunded.account_pay.amount_fen,
            cash_pay=r.refunded.cash_pay.amount_fen) for r in receipt_pb.refunds])
