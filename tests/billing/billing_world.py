"""Helpers for the billing tests: real identity, card and billing processes, and the people
who use them (the operator, a hospital's HIS, an insured person's app)."""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from medpay.billing.v1 import billing_pb2 as pb
from medpay.billing.v1 import billing_pb2_grpc
from medpay.common.v1 import insurance_pb2 as ins
from medpay.common.v1 import money_pb2
from support.faces import counter_assertion, face_auth
from support.insured import Insured, account, card_stub, insured_with_card, start_issuer

TIER2 = ins.INSTITUTION_LEVEL_TIER2
CLASS = {"A": ins.ITEM_CLASS_A, "B": ins.ITEM_CLASS_B, "C": ins.ITEM_CLASS_C}
FAST = {"collection_interval_s": "0.5", "recovery_interval_s": "0.5", "event_poll_s": "0.1",
        "device_cache_ttl_s": "1"}
_codes = itertools.count(1)


def rid(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def fen(amount: int) -> money_pb2.Money:
    return money_pb2.Money(amount_fen=amount, currency="CNY")


def line(his_line_id: str, item_code: str, item_class: str, price: str, quantity: str = "1", *,
         ratio_bp: int = 0, name: str = "", department: str = "IM01",
         doctor: str = "D610100001") -> pb.ChargeLine:
    return pb.ChargeLine(his_line_id=his_line_id, item_code=item_code, item_name=name or item_code,
                         item_class=CLASS[item_class], unit_price=price, quantity=quantity,
                         pre_self_pay_ratio_bp=ratio_bp, department=department, doctor=doctor)


def billing_stub(stack, token: str | None = None, identity: str = "client"):
    return billing_pb2_grpc.BillingServiceStub(stack.channel("billing", token=token, identity=identity))


@dataclass
class Hospital:
    code: str
    his: billing_pb2_grpc.BillingServiceStub
    credential: str


@dataclass
class World:
    stack: object
    keys: Path
    _hospitals: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def ops(self):
        return billing_stub(self.stack, self.stack.operator_token)

    def app(self, person: Insured):
        return billing_stub(self.stack, person.device_credential)

    def hospital(self, *, limit_fen: int = 100_000, grace_days: int = 10, auto_debit: bool = False,
                 blacklist_days: int = 30, level: int = TIER2) -> Hospital:
        code = f"H6101{uuid.uuid4().hex[:7].upper()}"
        self.ops.RegisterHospital(pb.RegisterHospitalRequest(
            request_id=rid("hosp"), institution_code=code, name="西安市第二人民医院", level=level,
            region_code="610100", credit_settings=pb.CreditSettings(
                credit_limit=fen(limit_fen), grace_days=grace_days, auto_debit=auto_debit,
                blacklist_after_overdue_days=blacklist_days)), timeout=10)
        client = self.ops.RegisterHisClient(pb.RegisterHisClientRequest(
            request_id=rid("his"), institution_code=code, client_label="main HIS"), timeout=10)
        return Hospital(code, billing_stub(self.stack, client.credential), client.credential)

    def insured(self, balance_fen: int = 100_000) -> Insured:
        return insured_with_card(self.stack, balance_fen=balance_fen)

    def assertion(self, person: Insured, *, face: bool = False) -> str:
        if face:
            _, completed = face_auth(self.stack, person.identity_person_id, purpose="CREDIT_AGREEMENT",
                                     audience="billing", device_id=person.device_id)
            assert completed.assertion, completed
            return completed.assertion
        return counter_assertion(self.stack, person.identity_person_id, purpose="CREDIT_AGREEMENT",
                                 audience="billing", device_id=person.device_id)

    def enrol(self, person: Insured, hospital: Hospital, *, payer: str = "alipay-agreement-ok",
              auto_debit: bool = False, use_account: bool = True,
              face: bool = False) -> pb.CreditAgreement:
        return self.app(person).EnrollCreditCare(pb.EnrollCreditCareRequest(
            request_id=rid("enrol"), institution_code=hospital.code,
            assertion=self.assertion(person, face=face), payer_reference=payer,
            auto_debit=auto_debit, use_personal_account=use_account), timeout=30).agreement

    def agreement(self, person: Insured, hospital: Hospital) -> pb.CreditAgreement:
        return self.app(person).GetCreditAgreement(
            pb.GetCreditAgreementRequest(institution_code=hospital.code), timeout=10).agreement

    def open_visit(self, hospital: Hospital, person: Insured, **source) -> pb.Visit:
        source = source or {"card_id": person.card_id}
        return hospital.his.OpenVisit(pb.OpenVisitRequest(
            request_id=rid("open"), department="IM01", medical_type=ins.MEDICAL_TYPE_OUTPATIENT,
            **source), timeout=20).visit

    def post(self, hospital: Hospital, visit_id: str, *lines: pb.ChargeLine,
             request_id: str | None = None) -> pb.PostChargesResponse:
        return hospital.his.PostCharges(pb.PostChargesRequest(
            request_id=request_id or rid("post"), visit_id=visit_id, lines=list(lines)), timeout=20)

    def close(self, hospital: Hospital, visit_id: str,
              request_id: str | None = None) -> pb.CloseVisitResponse:
        return hospital.his.CloseVisit(pb.CloseVisitRequest(
            request_id=request_id or rid("close"), visit_id=visit_id), timeout=30)

    def pay(self, person: Insured, bill_id: str, payer: str = "") -> pb.Bill:
        return self.app(person).PayBill(pb.PayBillRequest(
            request_id=rid("pay"), bill_id=bill_id, payer_reference=payer), timeout=20).bill

    def bill(self, stub, bill_id: str) -> pb.Bill:
        return stub.GetBill(pb.GetBillRequest(bill_id=bill_id), timeout=10).bill

    def account(self, person: Insured):
        return account(self.stack, person)

    def card_as_billing(self):
        return card_stub(self.stack, identity="billing")


def slot(days: int = 1, hour: int = 9) -> Timestamp:
    at = (datetime.now(UTC) + timedelta(days=days)).replace(hour=hour, minute=0, second=0,
                                                             microsecond=0)
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def start_world(stack, keys: Path, **billing_env: str) -> World:
    start_issuer(stack, keys)
    if "billing" not in stack.services:
        stack.start("billing", keyring_file=str(keys / "billing.json"), **{**FAST, **billing_env})
    return World(stack, keys)


class EventWatcher:
    """A HIS's WatchVisitEvents stream read on a thread; ``events`` fills as they arrive."""

    def __init__(self, hospital: Hospital, after: int = 0) -> None:
        self.events: list[pb.VisitEvent] = []
        self.error: grpc.RpcError | None = None
        self._call = hospital.his.WatchVisitEvents(pb.WatchVisitEventsRequest(after_event_id=after))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for item in self._call:
                self.events.append(item.event)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                self.error = exc

    def wait_for(self, count: int, timeout: float = 15.0) -> list[pb.VisitEvent]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline and self.error is None:
            time.sleep(0.05)
        return list(self.events)

    def stop(self) -> None:
        self._call.cancel()
        self._thread.join(5)
