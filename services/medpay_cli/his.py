"""``medpay his``: what a hospital information system does (credential in MEDPAY_HIS_TOKEN)."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from medpay.billing.v1 import billing_pb2
from medpay.common.v1 import insurance_pb2
from medpay_cli.connect import Session, new_request_id, pass_session, reports_errors
from medpay_cli.render import console, kv_table, lines_table, rows_table, split_table, yuan

token_option = click.option("--token", envvar="MEDPAY_HIS_TOKEN", required=True,
                            help="the HIS client credential (or MEDPAY_HIS_TOKEN)")


def print_bill(bill: billing_pb2.Bill) -> None:
    status = billing_pb2.BillStatus.Name(bill.status).removeprefix("BILL_STATUS_")
    console.print(kv_table("Bill", [("bill id", bill.bill_id), ("visit", bill.visit_id),
                                     ("hospital", bill.institution_code), ("status", status),
                                     ("self-pay due", yuan(bill.self_pay_due)),
                                     ("due date", bill.due_date)]))
    console.print(lines_table(bill.split))
    console.print(split_table(bill.split, "What insurance paid and what is left to pay"))


def charge_lines(csv_file: Path) -> list[billing_pb2.ChargeLine]:
    """CSV columns: his_line_id,item_code,item_name,item_class,unit_price,quantity,price_cap,
    pre_self_pay_ratio_bp,department,doctor."""
    return [billing_pb2.ChargeLine(
        his_line_id=r["his_line_id"], item_code=r["item_code"], item_name=r.get("item_name", ""),
        item_class=insurance_pb2.ItemClass.Value(f"ITEM_CLASS_{r['item_class']}"),
        unit_price=r["unit_price"], quantity=r["quantity"], price_cap=r.get("price_cap", ""),
        pre_self_pay_ratio_bp=int(r.get("pre_self_pay_ratio_bp") or 0),
        department=r.get("department", ""), doctor=r.get("doctor", ""))
        for r in csv.DictReader(csv_file.open(encoding="utf-8"))]


@click.group("his")
def group() -> None:
    """A hospital HIS: visits, charges, closing, bills, events."""


@group.command("open-visit")
@click.option("--card", "card_id", default="")
@click.option("--qr", default="")
@click.option("--appointment", default="")
@click.option("--department", default="general outpatient")
@token_option
@pass_session
@reports_errors
def open_visit(session: Session, card_id: str, qr: str, appointment: str, department: str,
               token: str) -> None:
    """Register a visit (2201) from an appointment, a scanned QR or a card."""
    reply = session.stub("billing", token).OpenVisit(billing_pb2.OpenVisitRequest(
        request_id=new_request_id("visit"), appointment_id=appointment or None,
        qr_payload=qr or None, card_id=card_id or None, department=department,
        medical_type=insurance_pb2.MEDICAL_TYPE_OUTPATIENT))
    console.print(f"visit {reply.visit.visit_id} opened for {reply.visit.masked_name}")


@group.command("post-charges")
@click.argument("visit_id")
@click.argument("csv_file", type=click.Path(exists=True, path_type=Path))
@token_option
@pass_session
@reports_errors
def post_charges(session: Session, visit_id: str, csv_file: Path, token: str) -> None:
    """Upload fee lines (2204) from a CSV; re-sent line ids are not charged twice."""
    reply = session.stub("billing", token).PostCharges(billing_pb2.PostChargesRequest(
        request_id=new_request_id("charges"), visit_id=visit_id, lines=charge_lines(csv_file)))
    console.print(f"accepted {len(reply.accepted_his_line_ids)}, duplicates "
                  f"{len(reply.duplicate_his_line_ids)}; expected self-pay "
                  f"{yuan(reply.expected_self_pay)}, credit left {yuan(reply.available_credit)}")


@group.command()
@click.argument("visit_id")
@token_option
@pass_session
@reports_errors
def close(session: Session, visit_id: str, token: str) -> None:
    """Close the visit: insurance pays now, the rest becomes the patient's bill."""
    reply = session.stub("billing", token).CloseVisit(billing_pb2.CloseVisitRequest(
        request_id=f"close-{visit_id}", visit_id=visit_id))
    print_bill(reply.bill)


@group.command()
@click.argument("bill_id")
@token_option
@pass_session
@reports_errors
def bill(session: Session, bill_id: str, token: str) -> None:
    """Show a bill of this hospital."""
    print_bill(session.stub("billing", token).GetBill(billing_pb2.GetBillRequest(bill_id=bill_id)).bill)


@group.command()
@token_option
@pass_session
@reports_errors
def visits(session: Session, token: str) -> None:
    """This hospital's visits."""
    reply = session.stub("billing", token).ListVisits(billing_pb2.ListVisitsRequest(page_size=100))
    console.print(rows_table("Visits", ["visit", "status", "patient", "charged", "bill"],
                             [(v.visit_id, billing_pb2.VisitStatus.Name(v.status), v.masked_name,
                               yuan(v.charged_total), v.bill_id or "-") for v in reply.visits]))


@group.command()
@click.option("--after", "after_event_id", type=int, default=0, help="resume after this event id")
@token_option
@pass_session
@reports_errors
def watch(session: Session, after_event_id: int, token: str) -> None:
    """Follow settled / paid / overdue / refunded events (Ctrl-C to stop)."""
    stream = session.stub("billing", token).WatchVisitEvents(
        billing_pb2.WatchVisitEventsRequest(after_event_id=after_event_id))
    try:
        for reply in stream:
            event = reply.event
            console.print(f"#{event.event_id} {billing_pb2.VisitEventKind.Name(event.kind)} "
                          f"visit {event.visit_id} bill {event.bill_id or '-'}")
    except KeyboardInterrupt:
        stream.cancel()
