"""Helpers for the card service's tests (imported by the test modules in this folder)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import uuid
from collections.abc import Iterable

from medpay.card.v1 import card_pb2 as pb
from medpay.card.v1 import card_pb2_grpc
from medpay.common.v1 import insurance_pb2 as ins
from medpay.common.v1 import money_pb2, split_pb2

EMPLOYEE = ins.INSURANCE_TYPE_EMPLOYEE_BASIC
RESIDENT = ins.INSURANCE_TYPE_RESIDENT_BASIC
IN_SERVICE, RETIRED = ins.PERSON_TYPE_IN_SERVICE, ins.PERSON_TYPE_RETIRED
OUTPATIENT, INPATIENT, PHARMACY = (ins.MEDICAL_TYPE_OUTPATIENT, ins.MEDICAL_TYPE_INPATIENT,
                                   ins.MEDICAL_TYPE_PHARMACY)
COMMUNITY, TIER1, TIER2, TIER3 = (ins.INSTITUTION_LEVEL_COMMUNITY, ins.INSTITUTION_LEVEL_TIER1,
                                  ins.INSTITUTION_LEVEL_TIER2, ins.INSTITUTION_LEVEL_TIER3)
CLASS = {"A": ins.ITEM_CLASS_A, "B": ins.ITEM_CLASS_B, "C": ins.ITEM_CLASS_C}
PHARMACY_ID, HOSPITAL_ID = "P61010000001", "H61010000001"

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_seq = itertools.count(1)


def id_number(n: int | None = None) -> str:
    """A well-formed (checksummed) fictitious resident ID number."""
    n = next(_seq) if n is None else n
    first = f"610103199001{(n % 28) + 1:02d}{n % 1000:03d}"
    return first + "10X98765432"[sum(int(d) * w for d, w in zip(first, _WEIGHTS, strict=True)) % 11]


def rid(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def fen(amount: int) -> money_pb2.Money:
    return money_pb2.Money(amount_fen=amount, currency="CNY")


def card_stub(stack, token: str | None = None, identity: str = "client"):
    return card_pb2_grpc.CardServiceStub(stack.channel("card", token=token, identity=identity))


def operator(stack):
    return card_stub(stack, stack.operator_token)


def as_service(stack, name: str = "pharmacy"):
    return card_stub(stack, identity=name)


def import_person(stack, *, balance: int = 0, types: Iterable[int] = (EMPLOYEE,),
                  person_type: int = IN_SERVICE, identity_person_id: str = "",
                  name: str = "张三", person_number: str | None = None,
                  status: int = pb.INSURED_STATUS_ACTIVE) -> tuple[str, str]:
    """Import an insured person; returns (insured_id, person_number)."""
    number = person_number or f"PSN{uuid.uuid4().hex[:12].upper()}"
    reply = operator(stack).ImportInsured(pb.ImportInsuredRequest(
        request_id=rid("imp"), person_number=number, id_number=id_number(), name=name,
        region_code="610100", insurance_types=list(types), person_type=person_type,
        status=status, opening_balance=fen(balance), identity_person_id=identity_person_id))
    return reply.insured_id, number


def line(no: int, cls: str, price: str, qty: str = "1", cap: str = "",
         ratio: int = 0) -> split_pb2.ClaimLine:
    return split_pb2.ClaimLine(line_no=no, item_code=f"ITEM{no:03d}", item_name=f"item {no}",
                               item_class=CLASS[cls], unit_price=price, quantity=qty,
                               price_cap=cap, pre_self_pay_ratio_bp=ratio)


_pg: dict[str, tuple] = {}


def query(stack, sql: str) -> list[tuple]:
    """Run one read-only SQL statement against the card database (for invariant checks)."""
    url = stack.services["card"].env["MEDPAY_CARD_DATABASE_URL"]
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split(":///", 1)[1]) as conn:
            return list(conn.execute(sql).fetchall())
    if url not in _pg:  # one connection per test database, kept for the process
        import asyncpg

        for loop, conn in _pg.values():
            loop.run_until_complete(conn.close())
            loop.close()
        _pg.clear()
        loop = asyncio.new_event_loop()
        conn = loop.run_until_complete(
            asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://")))
        _pg[url] = (loop, conn)
    loop, conn = _pg[url]
    return [tuple(r) for r in loop.run_until_complete(conn.fetch(sql))]


def ledger_problems(stack) -> list[str]:
    """Every way the ledger could be wrong; empty when all invariants hold."""
    problems = []
    unbalanced = query(stack, "SELECT txn_id, SUM(amount) FROM ledger_entries GROUP BY txn_id "
                              "HAVING SUM(amount) <> 0")
    if unbalanced:
        problems.append(f"unbalanced transactions: {unbalanced[:5]}")
    rows = query(stack, """
        SELECT a.insured_id, a.personal_balance, a.hold_balance,
               COALESCE((SELECT SUM(amount) FROM ledger_entries e
                         WHERE e.insured_id = a.insured_id AND e.account = 'PERSONAL'), 0),
               COALESCE((SELECT SUM(amount) FROM ledger_entries e
                         WHERE e.insured_id = a.insured_id AND e.account = 'HOLD'), 0)
        FROM accounts a""")
    for insured_id, personal, held, personal_sum, held_sum in rows:
        if personal < 0 or held < 0:
            problems.append(f"{insured_id}: negative balance {personal}/{held}")
        if (personal, held) != (personal_sum, held_sum):
            problems.append(f"{insured_id}: row {personal}/{held} != entries {personal_sum}/{held_sum}")
    return problems


# --- with the identity service -------------------------------------------------------------


def start_card(stack, tmp_path, *, with_identity: bool = True, **env: str):
    """Start identity (optional) and card, each with its own keyring under ``tmp_path``."""
    if with_identity and "identity" not in stack.services:
        stack.start("identity", keyring_file=str(tmp_path / "identity-keys.json"))
    return stack.start("card", keyring_file=str(tmp_path / "card-keys.json"), **env)


def enrol(stack, number: str, name: str = "张三") -> str:
    """Enrol a person in identity (operator, reference photo); returns the identity person id."""
    from medpay.identity.v1 import identity_pb2, identity_pb2_grpc
    from support.faces import photo

    stub = identity_pb2_grpc.IdentityServiceStub(stack.channel("identity", token=stack.operator_token))
    return stub.EnrollPerson(identity_pb2.EnrollPersonRequest(
        request_id=rid("enrol"), id_number=number, name=name, reference_photo=photo("obama1"),
        consent=identity_pb2.Consent(given=True, consent_ref="FORM-0001")), timeout=60).person_id


def assertion_for(stack, person_id: str, device_id: str, *, purpose: str = "CARD_ISSUE",
                  audience: str = "card") -> str:
    from support.faces import counter_assertion

    return counter_assertion(stack, person_id, purpose=purpose, audience=audience,
                             device_id=device_id)


class Holder:
    """An insured person with an issued card, as their app and the operator see them."""

    def __init__(self, stack, *, balance: int = 100_000, types: Iterable[int] = (EMPLOYEE,),
                 person_type: int = IN_SERVICE, name: str = "张三") -> None:
        number = id_number()
        self.stack = stack
        self.person_id = enrol(stack, number, name)
        self.insured_id, self.person_number = import_person(
            stack, balance=balance, types=types, person_type=person_type,
            identity_person_id=self.person_id, name=name)
        self.device_id = f"phone-{uuid.uuid4().hex[:8]}"
        issued = card_stub(stack, stack.app_token).IssueCard(pb.IssueCardRequest(
            request_id=rid("issue"), person_number=self.person_number,
            assertion=assertion_for(stack, self.person_id, self.device_id),
            device_id=self.device_id, insurance_type=next(iter(types))))
        self.card_id = issued.card.card_id
        self.credential = issued.device_credential
        self._mandates: dict[str, str] = {}

    @property
    def app(self):
        return card_stub(self.stack, self.credential)

    def qr(self) -> str:
        return self.app.GenerateQrCode(pb.GenerateQrCodeRequest(request_id=rid("qr"))).qr_payload

    def account(self) -> pb.GetAccountResponse:
        return operator(self.stack).GetAccount(pb.GetAccountRequest(insured_id=self.insured_id))

    def entries(self) -> list[pb.AccountEntry]:
        out, token = [], ""
        while True:
            page = operator(self.stack).ListAccountEntries(pb.ListAccountEntriesRequest(
                insured_id=self.insured_id, page_size=100, page_token=token))
            out.extend(page.entries)
            token = page.next_page_token
            if not token:
                return out

    def mandate(self, merchant: str = HOSPITAL_ID) -> str:
        """Register billing's credit mandate for this card at ``merchant`` (once), with the
        holder's CREDIT_AGREEMENT assertion, as billing does when an agreement is signed."""
        if merchant not in self._mandates:
            proof = assertion_for(self.stack, self.person_id, self.device_id,
                                  purpose="CREDIT_AGREEMENT", audience="billing")
            self._mandates[merchant] = as_service(self.stack, "billing").RegisterCreditMandate(
                pb.RegisterCreditMandateRequest(request_id=rid("mandate"), card_id=self.card_id,
                                                merchant_id=merchant, assertion=proof)).mandate_id
        return self._mandates[merchant]

    def subject(self, service: str, merchant: str) -> dict[str, str]:
        """How ``service`` names this holder in a claim at ``merchant``: billing by card under
        its mandate, pharmacy by a payment context from a fresh QR code."""
        if service == "billing":
            self.mandate(merchant)
            return {"card_id": self.card_id}
        return {"payment_context_id": self.context(merchant, service)}

    def context(self, merchant: str = PHARMACY_ID, service: str = "pharmacy") -> str:
        kind = pb.MERCHANT_KIND_PHARMACY if service == "pharmacy" else pb.MERCHANT_KIND_HOSPITAL
        reply = as_service(self.stack, service).ResolveQrCode(pb.ResolveQrCodeRequest(
            request_id=rid("resolve"), qr_payload=self.qr(), merchant_id=merchant,
            merchant_kind=kind))
        return reply.payment_context.payment_context_id


def refusal(call, request) -> tuple[str, dict[str, str]]:
    """Make a call that must fail; return its ErrorInfo reason and metadata."""
    import grpc

    from medpay_kit.client import error_info

    try:
        call(request)
    except grpc.RpcError as exc:
        info = error_info(exc)
        assert info is not None, f"no ErrorInfo on {exc.code()}: {exc.details()}"
        return info.reason, dict(info.metadata)
    raise AssertionError("the call succeeded but should have been refused")


def count(stack, table: str) -> int:
    return query(stack, f"SELECT COUNT(*) FROM {table}")[0][0]
