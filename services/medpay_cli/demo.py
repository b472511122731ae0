"""``medpay demo``: the whole story against the running stack, told in tables.

enrol → face-auth with liveness → card issued → balance → QR → pharmacy pre-settle →
settle (the receipt as a till prints it) → refund of one line → hospital: book, open visit,
charges, close → the bill → pay in the app → the day's reconciliation → the settlement's
trace id. Every step is a real call over mTLS; any refusal stops the demo with its reason
and a non-zero exit. The stack is started (and stopped again) if it is not running.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import click
from google.protobuf.timestamp_pb2 import Timestamp

from medpay.billing.v1 import billing_pb2
from medpay.card.v1 import card_pb2
from medpay.common.v1 import insurance_pb2, money_pb2
from medpay.identity.v1 import identity_pb2
from medpay.pharmacy.v1 import pharmacy_pb2
from medpay_cli.camera import answer_challenge
from medpay_cli.connect import Session, pass_session, reports_errors
from medpay_cli.his import print_bill
from medpay_cli.pos import print_receipt
from medpay_cli.render import console, kv_table, split_table, yuan
from medpay_kit.healthcheck import is_serving, wait_serving
from medpay_kit.personal import check_character
from medpay_pharmacy.tools import read_catalogue

PHOTO = Path("tests/data/faces/obama1.jpg")  # a public-domain photo shipped with the tests
PHARMACY, HOSPITAL = "P61010300001", "H61010300002"
EMPLOYEE = insurance_pb2.INSURANCE_TYPE_EMPLOYEE_BASIC


def fen(amount: int) -> money_pb2.Money:
    return money_pb2.Money(amount_fen=amount, currency="CNY")


def sample_id_number() -> str:
    first17 = f"610103{1960 + secrets.randbelow(40)}0{1 + secrets.randbelow(9)}1{secrets.randbelow(10)}" \
              f"{secrets.randbelow(1000):03d}"
    return first17 + check_character(first17)


class Story:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.run_id = secrets.token_hex(3)
        self.op = session.operator_token()

    def step(self, title: str) -> None:
        console.rule(f"[bold]{title}")

    def face_auth(self, person_id: str, purpose: str, audience: str, device_id: str) -> str:
        identity = self.s.stub("identity", self.s.app_token())
        start = identity.StartFaceAuth(identity_pb2.StartFaceAuthRequest(
            request_id=f"demo-face-{purpose}-{self.run_id}", person_id=person_id,
            purpose=insurance_pb2.FacePurpose.Value(f"FACE_PURPOSE_{purpose}"),
            device_id=device_id, audience=audience))
        actions = [identity_pb2.LivenessAction.Name(a).removeprefix("LIVENESS_ACTION_")
                   for a in start.actions]
        frames = answer_challenge(PHOTO.read_bytes(), actions)
        done = identity.CompleteFaceAuth(identity_pb2.CompleteFaceAuthRequest(
            request_id=f"demo-face-done-{purpose}-{self.run_id}", session_id=start.session_id,
            nonce=start.nonce, frames=frames))
        d = done.decision
        console.print(kv_table(f"Face-auth for {purpose}", [
            ("challenge", " then ".join(actions)), ("frames sent", len(frames)),
            ("outcome", identity_pb2.FaceOutcome.Name(d.outcome).removeprefix("FACE_OUTCOME_")),
            ("distance / threshold", f"{d.distance:.3f} / {d.threshold:.2f}"),
            ("liveness", "passed" if d.liveness_passed else d.liveness_detail)]))
        if not done.assertion:
            raise click.ClickException("face-auth did not pass")
        return done.assertion

    def run(self) -> None:
        s, op = self.s, self.op
        self.step("1. The operator registers a pharmacy, a hospital and an insured person")
        pharmacy = s.stub("pharmacy", op)
        pharmacy.RegisterPharmacy(pharmacy_pb2.RegisterPharmacyRequest(
            request_id=f"demo-pharmacy-{PHARMACY}", institution_code=PHARMACY,
            name="西安市碑林区民生大药房", level=insurance_pb2.INSTITUTION_LEVEL_COMMUNITY,
            outpatient_pooling=True, region_code="610100"))
        terminal = pharmacy.RegisterTerminal(pharmacy_pb2.RegisterTerminalRequest(
            request_id=f"demo-terminal-{self.run_id}", institution_code=PHARMACY,
            terminal_label="till 1"))
        catalogue = resources.files("medpay_pharmacy").joinpath("data/sample_catalogue.csv")
        items = read_catalogue(catalogue.read_text(encoding="utf-8"))
        pharmacy.ImportCatalogue(pharmacy_pb2.ImportCatalogueRequest(
            request_id=f"demo-catalogue-{self.run_id}", institution_code=PHARMACY, items=items))
        billing = s.stub("billing", op)
        billing.RegisterHospital(billing_pb2.RegisterHospitalRequest(
            request_id=f"demo-hospital-{HOSPITAL}", institution_code=HOSPITAL,
            name="西安市第三医院", level=insurance_pb2.INSTITUTION_LEVEL_TIER2, region_code="610100",
            credit_settings=billing_pb2.CreditSettings(
                credit_limit=fen(100_000), grace_days=10, auto_debit=True,
                blacklist_after_overdue_days=30)))
        his = billing.RegisterHisClient(billing_pb2.RegisterHisClientRequest(
            request_id=f"demo-his-{self.run_id}", institution_code=HOSPITAL, client_label="HIS"))
        id_number, person_number = sample_id_number(), f"61{secrets.token_hex(6).upper()}"
        person = s.stub("identity", op).EnrollPerson(identity_pb2.EnrollPersonRequest(
            request_id=f"demo-enrol-{self.run_id}", id_number=id_number, name="王建国",
            reference_photo=PHOTO.read_bytes(),
            consent=identity_pb2.Consent(given=True, consent_ref="demo consent form")))
        card = s.stub("card", op)
        insured = card.ImportInsured(card_pb2.ImportInsuredRequest(
            request_id=f"demo-import-{self.run_id}", person_number=person_number,
            id_number=id_number, name="王建国", region_code="610100", insurance_types=[EMPLOYEE],
            person_type=insurance_pb2.PERSON_TYPE_IN_SERVICE,
            status=card_pb2.INSURED_STATUS_ACTIVE, opening_balance=fen(80_000),
            identity_person_id=person.person_id))
        card.CreditAccount(card_pb2.CreditAccountRequest(
            request_id=f"demo-credit-{self.run_id}", insured_id=insured.insured_id,
            period=datetime.now(UTC).strftime("%Y-%m"), amount=fen(20_000)))
        console.print(kv_table("Seeded", [
            ("pharmacy", f"{PHARMACY} with terminal {terminal.terminal_id}, {len(items)} items"),
            ("hospital", f"{HOSPITAL} (tier 2) with HIS client {his.client_id}"),
            ("insured", f"王* (person id {person.person_id}), opening balance 800.00 + 200.00 monthly")]))

        self.step("2. Face-auth with liveness, then the card is issued to the phone")
        device = f"demo-phone-{self.run_id}"
        assertion = self.face_auth(person.person_id, "CARD_ISSUE", "card", device)
        issued = s.stub("card", s.app_token()).IssueCard(card_pb2.IssueCardRequest(
            request_id=f"demo-issue-{self.run_id}", person_number=person_number,
            assertion=assertion, device_id=device, insurance_type=EMPLOYEE))
        app_card = s.stub("card", issued.device_credential)
        card_id = issued.card.card_id
        console.print(kv_table("E-social-insurance card", [
            ("card id", card_id), ("holder", issued.card.masked_name), ("region", issued.card.region_code),
            ("status", card_pb2.CardStatus.Name(issued.card.status).removeprefix("CARD_STATUS_"))]))

        self.step("3. The insurance query: balance")
        account = app_card.GetAccount(card_pb2.GetAccountRequest(card_id=card_id))
        console.print(kv_table("Personal account", [("balance", yuan(account.balance)),
                                                    ("available", yuan(account.available))]))

        self.step("4. At the pharmacy: QR code, pre-settle, settle")
        qr = app_card.GenerateQrCode(card_pb2.GenerateQrCodeRequest(request_id=f"demo-qr-{self.run_id}"))
        till = s.stub("pharmacy", terminal.credential)
        basket = [(0, "4"), (1, "2"), (9, "4"), (22, "2")]  # A, B over its cap, B, C
        lines = [pharmacy_pb2.SaleLine(line_no=n, item_code=items[i].item_code, quantity=q)
                 for n, (i, q) in enumerate(basket, start=1)]
        names = {n: (items[i].name, q, items[i].unit_price) for n, (i, q) in enumerate(basket, start=1)}
        pre = till.PreSettle(pharmacy_pb2.PreSettleRequest(
            request_id=f"demo-pre-{self.run_id}", qr_payload=qr.qr_payload, lines=lines,
            use_personal_account=True))
        console.print(split_table(pre.split, "Pre-settlement shown to the customer (nothing booked)"))
        trace_id, receipt = self.traced_settle(till, pre.payment_context_id, lines)
        print_receipt(receipt, names)

        self.step("5. The customer returns the vitamin C (line 4): its cash comes back")
        refund = till.RefundLines(pharmacy_pb2.RefundLinesRequest(
            request_id=f"demo-refund-{self.run_id}", settlement_id=receipt.settlement_id,
            kind=insurance_pb2.REFUND_KIND_ALL, line_nos=[4]))
        console.print(split_table(refund.refunded, "Refunded"))

        self.step("6. At the hospital: credit agreement, appointment, visit, charges, close")
        credit_assertion = self.face_auth(person.person_id, "CREDIT_AGREEMENT", "billing", device)
        app_billing = s.stub("billing", issued.device_credential)
        agreement = app_billing.EnrollCreditCare(billing_pb2.EnrollCreditCareRequest(
            request_id=f"demo-agree-{self.run_id}", institution_code=HOSPITAL,
            assertion=credit_assertion, payer_reference="wallet-demo", auto_debit=True,
            use_personal_account=False)).agreement
        slot = Timestamp()
        slot.FromDatetime((datetime.now(UTC) + timedelta(days=1)).replace(
            hour=1, minute=0, second=0, microsecond=0))
        appointment = app_billing.BookAppointment(billing_pb2.BookAppointmentRequest(
            request_id=f"demo-book-{self.run_id}", institution_code=HOSPITAL,
            department="internal medicine", slot_start=slot)).appointment
        hospital = s.stub("billing", his.credential)
        visit = hospital.OpenVisit(billing_pb2.OpenVisitRequest(
            request_id=f"demo-visit-{self.run_id}", appointment_id=appointment.appointment_id,
            department="internal medicine", medical_type=insurance_pb2.MEDICAL_TYPE_OUTPATIENT)).visit
        charges = [("L1", "001102000010000", "普通门诊诊查费", "A", "25.00", "1"),
                   ("L2", "250101001000000", "血常规", "A", "28.00", "1"),
                   ("L3", "XJ01DCC090A001010100002", "头孢克洛缓释片", "B", "28.80", "2")]
        posted = hospital.PostCharges(billing_pb2.PostChargesRequest(
            request_id=f"demo-charges-{self.run_id}", visit_id=visit.visit_id, lines=[
                billing_pb2.ChargeLine(
                    his_line_id=lid, item_code=code, item_name=name,
                    item_class=insurance_pb2.ItemClass.Value(f"ITEM_CLASS_{cls}"),
                    unit_price=price, quantity=qty, pre_self_pay_ratio_bp=1000 if cls == "B" else 0,
                    department="internal medicine", doctor="Dr. Li")
                for lid, code, name, cls, price, qty in charges]))
        console.print(kv_table("Visit", [
            ("agreement", f"{agreement.agreement_id}, available {yuan(agreement.available)}"),
            ("appointment", appointment.appointment_id), ("visit (mdtrt_id)", visit.visit_id),
            ("charges accepted", len(posted.accepted_his_line_ids)),
            ("expected self-pay", yuan(posted.expected_self_pay))]))
        closed = hospital.CloseVisit(billing_pb2.CloseVisitRequest(
            request_id=f"demo-close-{self.run_id}", visit_id=visit.visit_id))

        self.step("7. The bill in the app, paid through the mobile wallet")
        print_bill(closed.bill)
        if closed.bill.self_pay_due.amount_fen > 0:
            paid = app_billing.PayBill(billing_pb2.PayBillRequest(
                request_id=f"demo-pay-{self.run_id}", bill_id=closed.bill.bill_id,
                payer_reference="wallet-demo"))
            console.print(f"bill {paid.bill.bill_id}: "
                          f"{billing_pb2.BillStatus.Name(paid.bill.status).removeprefix('BILL_STATUS_')}")

        self.step("8. The day's reconciliation (3201/3202) for the pharmacy")
        self.reconcile(till, receipt.business_date)

        self.step("9. One settlement, one trace")
        console.print(f"trace id of the settlement: [bold]{trace_id}[/bold]")
        console.print("spans: var/traces/pharmacy.jsonl and var/traces/card.jsonl "
                      "(or the trace viewer when OTEL_EXPORTER_OTLP_ENDPOINT is set)")

    def traced_settle(self, till, context_id: str, lines) -> tuple[str, pharmacy_pb2.Receipt]:  # type: ignore[no-untyped-def]
        from opentelemetry import trace

        with trace.get_tracer("medpay.demo").start_as_current_span("demo.settle") as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            reply = till.Settle(pharmacy_pb2.SettleRequest(
                request_id=f"demo-settle-{self.run_id}", payment_context_id=context_id,
                lines=lines, use_personal_account=True, payer_reference="wallet-demo"))
        return trace_id, reply.receipt

    def reconcile(self, till, business_date: str) -> None:  # type: ignore[no-untyped-def]
        listed = till.ListSettlements(pharmacy_pb2.ListSettlementsRequest(
            page_size=500, business_date=business_date))
        rows = []
        for r in listed.settlements:
            rows.append(pharmacy_pb2.DetailRow(
                settlement_id=r.settlement_id, request_id=r.request_id, total=r.split.total,
                fund_pay=r.split.fund_pay, account_pay=r.split.account_pay, cash_pay=r.split.cash_pay))
            for f in r.refunds:
                rows.append(pharmacy_pb2.DetailRow(
                    settlement_id=r.settlement_id, request_id=r.request_id, refund_id=f.refund_id,
                    refund=True, total=fen(-f.refunded.total.amount_fen),
                    fund_pay=fen(-f.refunded.fund_pay.amount_fen),
                    account_pay=fen(-f.refunded.account_pay.amount_fen),
                    cash_pay=fen(-f.refunded.cash_pay.amount_fen)))
        rows = [r for r in rows if r]
        totals = pharmacy_pb2.ReconcileTotals(
            count=len(rows), total=fen(sum(r.total.amount_fen for r in rows)),
            fund_pay=fen(sum(r.fund_pay.amount_fen for r in rows)),
            account_pay=fen(sum(r.account_pay.amount_fen for r in rows)))
        reply = till.Reconcile(pharmacy_pb2.ReconcileRequest(
            business_date=business_date, insurance_type=EMPLOYEE, totals=totals, rows=rows))
        console.print(kv_table(f"Reconciliation {business_date} (employee scheme)", [
            ("rows sent by the till", len(rows)), ("total", yuan(totals.total)),
            ("matched with pharmacy records", reply.matched),
            ("matched with the issuer (card)", reply.issuer_matched),
            ("differences", len(reply.differences))]))
        if not (reply.matched and reply.issuer_matched):
            raise click.ClickException("reconciliation found differences")


def _ensure_stack(session: Session) -> subprocess.Popen[bytes] | None:
    if all(is_serving(session.target(n), session.pki_dir) for n in ("identity", "card", "pharmacy",
                                                                     "billing")):
        return None
    console.print("the stack is not running: starting it (as `make run` would)")
    proc = subprocess.Popen([sys.executable, "-m", "medpay_cli.main", "run"])
    if not wait_serving(session.target("billing"), session.pki_dir, timeout=120):
        proc.terminate()
        raise click.ClickException("the stack did not start; see var/log/")
    return proc


@click.command()
@pass_session
@reports_errors
def demo(session: Session) -> None:
    """The whole story, end to end, against the running stack."""
    from opentelemetry import trace
    from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient
    from opentelemetry.sdk.trace import TracerProvider

    trace.set_tracer_provider(TracerProvider())
    GrpcInstrumentorClient().instrument()
    started = _ensure_stack(session)
    began = time.monotonic()
    try:
        Story(session).run()
        console.rule(f"[bold green]demo complete in {time.monotonic() - began:.1f} s")
    finally:
        if started is not None:
            started.terminate()
            started.wait(timeout=30)
