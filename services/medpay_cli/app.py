"""``medpay app``: what the insured person's phone does.

Before a card exists the app presents the app-client key (var/pki/app.token); afterwards
the device credential it got when the card was issued (MEDPAY_APP_TOKEN).
"""

from __future__ import annotations

from pathlib import Path

import click

from medpay.billing.v1 import billing_pb2
from medpay.card.v1 import card_pb2
from medpay.common.v1 import insurance_pb2
from medpay.identity.v1 import identity_pb2
from medpay_cli.connect import Session, new_request_id, pass_session, reports_errors
from medpay_cli.his import print_bill
from medpay_cli.render import console, kv_table, rows_table, yuan

device_token = click.option("--token", envvar="MEDPAY_APP_TOKEN", required=True,
                            help="the device credential (or MEDPAY_APP_TOKEN)")


@click.group("app")
def group() -> None:
    """The insured person's app: face-auth, card, QR code, balance, bills."""


@group.command("face-auth")
@click.argument("person_id")
@click.argument("frames", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--purpose", type=click.Choice(["CARD_ISSUE", "CREDIT_AGREEMENT"]), required=True)
@click.option("--device", "device_id", required=True)
@click.option("--audience", type=click.Choice(["card", "billing"]), required=True)
@pass_session
@reports_errors
def face_auth(session: Session, person_id: str, frames: tuple[Path, ...], purpose: str,
              device_id: str, audience: str) -> None:
    """Prove identity by face: start a session, then send the frames in the order asked."""
    identity = session.stub("identity", session.app_token())
    start = identity.StartFaceAuth(identity_pb2.StartFaceAuthRequest(
        request_id=new_request_id("face"), person_id=person_id,
        purpose=insurance_pb2.FacePurpose.Value(f"FACE_PURPOSE_{purpose}"),
        device_id=device_id, audience=audience))
    asked = [identity_pb2.LivenessAction.Name(a).removeprefix("LIVENESS_ACTION_") for a in start.actions]
    console.print(f"challenge: {' then '.join(asked)} ({start.frames_expected} frames)")
    done = identity.CompleteFaceAuth(identity_pb2.CompleteFaceAuthRequest(
        request_id=new_request_id("face-done"), session_id=start.session_id, nonce=start.nonce,
        frames=[f.read_bytes() for f in frames]))
    d = done.decision
    console.print(kv_table("Face decision", [
        ("outcome", identity_pb2.FaceOutcome.Name(d.outcome)), ("distance", f"{d.distance:.3f}"),
        ("threshold", f"{d.threshold:.2f}"), ("liveness", d.liveness_detail or d.liveness_passed)]))
    if done.assertion:
        console.print(done.assertion)


@group.command("issue-card")
@click.argument("person_number")
@click.argument("assertion")
@click.option("--device", "device_id", required=True)
@click.option("--type", "insurance_type", type=click.Choice(["310", "390"]), default="310")
@pass_session
@reports_errors
def issue_card(session: Session, person_number: str, assertion: str, device_id: str,
               insurance_type: str) -> None:
    """Get the e-social-insurance card; prints the device credential once."""
    reply = session.stub("card", session.app_token()).IssueCard(card_pb2.IssueCardRequest(
        request_id=new_request_id("issue"), person_number=person_number, assertion=assertion,
        device_id=device_id, insurance_type=int(insurance_type)))
    console.print(kv_table("Card", [("card id", reply.card.card_id),
                                    ("holder", reply.card.masked_name),
                                    ("device credential (MEDPAY_APP_TOKEN)", reply.device_credential)]))


@group.command()
@device_token
@pass_session
@reports_errors
def qr(session: Session, token: str) -> None:
    """Show a one-time payment QR code (valid about a minute)."""
    reply = session.stub("card", token).GenerateQrCode(
        card_pb2.GenerateQrCodeRequest(request_id=new_request_id("qr")))
    console.print(reply.qr_payload)


@group.command()
@device_token
@pass_session
@reports_errors
def balance(session: Session, token: str) -> None:
    """The insurance query: balance and this year's counters."""
    card = session.stub("card", token)
    reply = card.GetAccount(card_pb2.GetAccountRequest())
    console.print(kv_table("Personal account", [("balance", yuan(reply.balance)),
                                                ("held", yuan(reply.held)),
                                                ("available", yuan(reply.available))]))
    console.print(rows_table("This year", ["scheme", "medical type", "deductible used",
                                           "pooled fund paid"],
                             [(insurance_pb2.InsuranceType.Name(c.insurance_type),
                               insurance_pb2.MedicalType.Name(c.medical_type),
                               yuan(c.deductible_used), yuan(c.pooled_fund_paid))
                              for c in reply.counters]))


@group.command("enroll-credit")
@click.argument("institution_code")
@click.argument("assertion")
@click.option("--payer", default="wallet-demo", help="payer reference for auto-debit")
@device_token
@pass_session
@reports_errors
def enroll_credit(session: Session, institution_code: str, assertion: str, payer: str,
                  token: str) -> None:
    """Sign the pay-after-treatment agreement with a hospital."""
    reply = session.stub("billing", token).EnrollCreditCare(billing_pb2.EnrollCreditCareRequest(
        request_id=new_request_id("credit"), institution_code=institution_code,
        assertion=assertion, payer_reference=payer, auto_debit=True, use_personal_account=True))
    a = reply.agreement
    console.print(f"agreement {a.agreement_id}: limit {yuan(a.limit)}, available {yuan(a.available)}")


@group.command()
@device_token
@pass_session
@reports_errors
def bills(session: Session, token: str) -> None:
    """My hospital bills."""
    reply = session.stub("billing", token).ListBills(billing_pb2.ListBillsRequest(page_size=50))
    console.print(rows_table("Bills", ["bill", "hospital", "status", "to pay", "due"],
                             [(b.bill_id, b.institution_code, billing_pb2.BillStatus.Name(b.status),
                               yuan(b.self_pay_due), b.due_date) for b in reply.bills]))


@group.command()
@click.argument("bill_id")
@click.option("--payer", default="wallet-demo")
@device_token
@pass_session
@reports_errors
def pay(session: Session, bill_id: str, payer: str, token: str) -> None:
    """Pay a bill through the mobile wallet."""
    reply = session.stub("billing", token).PayBill(billing_pb2.PayBillRequest(
        request_id=new_request_id("pay"), bill_id=bill_id, payer_reference=payer))
    print_bill(reply.bill)
