"""``medpay pos``: what a pharmacy till does (credential in MEDPAY_POS_TOKEN)."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from medpay.common.v1 import insurance_pb2, money_pb2
from medpay.pharmacy.v1 import pharmacy_pb2
from medpay_cli.connect import Session, new_request_id, pass_session, reports_errors
from medpay_cli.render import console, lines_table, rows_table, split_table, yuan
from medpay_pharmacy.domain.receipt import render
from medpay_pharmacy.mapping import slip

token_option = click.option("--token", envvar="MEDPAY_POS_TOKEN", required=True,
                            help="the terminal credential (or MEDPAY_POS_TOKEN)")


def sale_lines(specs: tuple[str, ...]) -> list[pharmacy_pb2.SaleLine]:
    """``CODE:QTY[:PRICE]`` per line, numbered in order."""
    lines = []
    for n, spec in enumerate(specs, start=1):
        code, _, rest = spec.partition(":")
        qty, _, price = rest.partition(":")
        lines.append(pharmacy_pb2.SaleLine(line_no=n, item_code=code, quantity=qty or "1",
                                           unit_price=price))
    return lines


def print_receipt(receipt: pharmacy_pb2.Receipt,
                  basket: dict[int, tuple[str, str, str]] | None = None) -> None:
    """The receipt as the till prints it (``basket``: name, quantity, price by line)."""
    console.print(render(slip(receipt, basket=basket)), markup=False)


payment = [click.option("--qr", default="", help="scanned QR payload"),
           click.option("--context", default="", help="payment context from pre-settle"),
           click.option("--line", "lines", multiple=True, required=True, help="CODE:QTY[:PRICE]"),
           click.option("--no-account", is_flag=True, help="do not use the personal account")]


def with_payment(fn):  # type: ignore[no-untyped-def]
    for option in reversed(payment):
        fn = option(fn)
    return fn


@click.group("pos")
def group() -> None:
    """A pharmacy till: pre-settle, settle, cancel, reverse, refund, reconcile."""


@group.command()
@with_payment
@token_option
@pass_session
@reports_errors
def presettle(session: Session, qr: str, context: str, lines: tuple[str, ...], no_account: bool,
              token: str) -> None:
    """2101: show the split; nothing is held or booked."""
    reply = session.stub("pharmacy", token).PreSettle(pharmacy_pb2.PreSettleRequest(
        request_id=new_request_id("pre"), qr_payload=qr or None, payment_context_id=context or None,
        lines=sale_lines(lines), use_personal_account=not no_account))
    console.print(f"insured {reply.masked_name}; payment context {reply.payment_context_id}")
    console.print(lines_table(reply.split))
    console.print(split_table(reply.split, "Pre-settlement (nothing booked)"))


@group.command()
@with_payment
@click.option("--payer", default="wallet-demo", help="payer reference at the payment channel")
@click.option("--request-id", default="", help="message id to reuse on a retry")
@token_option
@pass_session
@reports_errors
def settle(session: Session, qr: str, context: str, lines: tuple[str, ...], no_account: bool,
           payer: str, request_id: str, token: str) -> None:
    """2102: settle and print the receipt (retry with the same --request-id)."""
    request_id = request_id or new_request_id("settle")
    console.print(f"message id {request_id}")
    reply = session.stub("pharmacy", token).Settle(pharmacy_pb2.SettleRequest(
        request_id=request_id, qr_payload=qr or None, payment_context_id=context or None,
        lines=sale_lines(lines), use_personal_account=not no_account, payer_reference=payer))
    print_receipt(reply.receipt)


@group.command()
@click.argument("settlement_id")
@token_option
@pass_session
@reports_errors
def cancel(session: Session, settlement_id: str, token: str) -> None:
    """2103: cancel a settlement of today, in full."""
    reply = session.stub("pharmacy", token).CancelSettlement(pharmacy_pb2.CancelSettlementRequest(
        request_id=new_request_id("cancel"), settlement_id=settlement_id, reason="till cancel"))
    print_receipt(reply.receipt)


@group.command()
@click.argument("original_request_id")
@token_option
@pass_session
@reports_errors
def reverse(session: Session, original_request_id: str, token: str) -> None:
    """2601: undo a settle whose outcome is unknown, by its message id."""
    reply = session.stub("pharmacy", token).ReverseByRequestId(pharmacy_pb2.ReverseByRequestIdRequest(
        request_id=new_request_id("reverse"), original_request_id=original_request_id))
    console.print(pharmacy_pb2.ReverseOutcome.Name(reply.outcome))


@group.command()
@click.argument("settlement_id")
@click.option("--kind", type=click.Choice(["ALL", "CASH", "HI"]), default="ALL")
@click.option("--line", "line_nos", type=int, multiple=True, help="line numbers returned")
@token_option
@pass_session
@reports_errors
def refund(session: Session, settlement_id: str, kind: str, line_nos: tuple[int, ...],
           token: str) -> None:
    """Refund returned medicine by line (ALL, CASH or HI)."""
    reply = session.stub("pharmacy", token).RefundLines(pharmacy_pb2.RefundLinesRequest(
        request_id=new_request_id("refund"), settlement_id=settlement_id,
        kind=insurance_pb2.RefundKind.Value(f"REFUND_KIND_{kind}"), line_nos=list(line_nos)))
    console.print(split_table(reply.refunded, f"Refunded ({reply.refund_id})"))


@group.command("list")
@click.option("--date", "business_date", default="")
@token_option
@pass_session
@reports_errors
def list_settlements(session: Session, business_date: str, token: str) -> None:
    """This pharmacy's settlements."""
    reply = session.stub("pharmacy", token).ListSettlements(pharmacy_pb2.ListSettlementsRequest(
        page_size=100, business_date=business_date))
    console.print(rows_table("Settlements", ["id", "date", "status", "total", "fund", "account",
                                             "cash"],
                             [(r.settlement_id, r.business_date,
                               pharmacy_pb2.SettlementStatus.Name(r.status).removeprefix(
                                   "SETTLEMENT_STATUS_"),
                               yuan(r.split.total), yuan(r.split.fund_pay),
                               yuan(r.split.account_pay), yuan(r.split.cash_pay))
                              for r in reply.settlements]))


def money(text: str) -> money_pb2.Money:
    return money_pb2.Money(amount_fen=int(text), currency="CNY")


@group.command()
@click.argument("business_date")
@click.option("--type", "insurance_type", type=click.Choice(["310", "390"]), default="310")
@click.option("--detail-file", type=click.Path(exists=True, path_type=Path),
              help="the till's detail rows (CSV, amounts in fen)")
@token_option
@pass_session
@reports_errors
def reconcile(session: Session, business_date: str, insurance_type: str,
              detail_file: Path | None, token: str) -> None:
    """3201/3202: compare the day's totals (and detail rows) with medpay."""
    rows = []
    if detail_file:
        rows = [pharmacy_pb2.DetailRow(
            settlement_id=r["settlement_id"], request_id=r["request_id"], refund_id=r["refund_id"],
            refund=r["refund"] == "1", total=money(r["total_fen"]), fund_pay=money(r["fund_fen"]),
            account_pay=money(r["account_fen"]), cash_pay=money(r["cash_fen"]))
            for r in csv.DictReader(detail_file.open(encoding="utf-8"))]
    totals = pharmacy_pb2.ReconcileTotals(
        count=len(rows), total=money(str(sum(r.total.amount_fen for r in rows))),
        fund_pay=money(str(sum(r.fund_pay.amount_fen for r in rows))),
        account_pay=money(str(sum(r.account_pay.amount_fen for r in rows))))
    reply = session.stub("pharmacy", token).Reconcile(pharmacy_pb2.ReconcileRequest(
        business_date=business_date, insurance_type=int(insurance_type), totals=totals, rows=rows))
    console.print(f"matched: {reply.matched}; issuer matched: {reply.issuer_matched}; "
                  f"{len(reply.differences)} differing rows")
