"""Every mutating card RPC, fired as 8 identical twins at once: one effect, one reply.

The twins reach card over separate channels, released together, on SQLite and PostgreSQL.
Each must get the first reply byte for byte (never ``PAYMENT_CONTEXT_INVALID``,
``HOLD_ALREADY_CAPTURED``, ``ALREADY_REFUNDED`` or ``CARD_ALREADY_ISSUED`` for its own
twin's effect), and the effect is booked once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from cardtest import (
    COMMUNITY,
    EMPLOYEE,
    IN_SERVICE,
    OUTPATIENT,
    PHARMACY,
    PHARMACY_ID,
    TIER2,
    Holder,
    as_service,
    assertion_for,
    count,
    enrol,
    fen,
    id_number,
    import_person,
    line,
    operator,
    query,
    rid,
)

from medpay.card.v1 import card_pb2 as pb
from medpay.card.v1 import card_pb2_grpc
from medpay.common.v1 import insurance_pb2 as ins
from support.twins import fire, one_reply

pytestmark = pytest.mark.db


@dataclass
class Case:
    method: str
    request: Any
    token: str | None = None
    identity: str = "client"


def hold(stack, holder: Holder, *, captured: bool = False) -> str:
    reply = as_service(stack).Authorize(pb.AuthorizeRequest(
        request_id=rid("auth"), payment_context_id=holder.context(), merchant_id=PHARMACY_ID,
        medical_type=PHARMACY, level=COMMUNITY, use_personal_account=True,
        lines=[line(1, "A", "10.00"), line(2, "A", "5.00")], acquirer_reference=rid("S")))
    if captured:
        as_service(stack).Capture(pb.CaptureRequest(request_id=rid("cap"), hold_id=reply.hold_id))
    return reply.hold_id


def held(holder: Holder) -> int:
    return holder.account().held.amount_fen


def balance(holder: Holder) -> int:
    return holder.account().balance.amount_fen


def policy_version() -> pb.BenefitPolicy:
    return pb.BenefitPolicy(  # a later version of a loaded policy (this module's stack only)
        policy_id="610100-310-OUTPATIENT-TIER2-IN_SERVICE", version=50,
        region_code="610100", insurance_type=EMPLOYEE, medical_type=OUTPATIENT, level=TIER2,
        person_type=IN_SERVICE, effective_from="2040-01-01", deductible=fen(15_000),
        fund_ratio_bp=6500, yearly_cap=fen(300_000), pooling_applies_by_default=True)


# each case: (prepare the world and the request) → Case, then (check the one effect)

def import_insured(stack):
    number = f"PSN{uuid.uuid4().hex[:12].upper()}"
    request = pb.ImportInsuredRequest(
        request_id=rid("imp"), person_number=number, id_number=id_number(), name="张三",
        region_code="610100", insurance_types=[EMPLOYEE], person_type=IN_SERVICE,
        status=pb.INSURED_STATUS_ACTIVE, opening_balance=fen(12_345))

    def check(reply: pb.ImportInsuredResponse) -> None:
        account = operator(stack).GetAccount(pb.GetAccountRequest(insured_id=reply.insured_id))
        assert account.balance.amount_fen == 12_345  # the opening balance counted once

    return Case("ImportInsured", request, token=stack.operator_token), check


def issue_card(stack):
    person_id = enrol(stack, id_number())
    insured_id, number = import_person(stack, balance=1_000, identity_person_id=person_id)
    device = f"phone-{uuid.uuid4().hex[:8]}"
    request = pb.IssueCardRequest(request_id=rid("issue"), person_number=number,
                                  assertion=assertion_for(stack, person_id, device),
                                  device_id=device, insurance_type=EMPLOYEE)

    def check(reply: pb.IssueCardResponse) -> None:
        assert reply.card.card_id and reply.device_credential
        assert query(stack, f"SELECT COUNT(*) FROM cards WHERE insured_id = '{insured_id}'") == [(1,)]

    return Case("IssueCard", request, token=stack.app_token), check


def reissue_card(stack):
    holder = Holder(stack)
    device = f"phone-{uuid.uuid4().hex[:8]}"
    request = pb.ReissueCardRequest(request_id=rid("reissue"), card_id=holder.card_id,
                                    device_id=device,
                                    assertion=assertion_for(stack, holder.person_id, device))

    def check(reply: pb.ReissueCardResponse) -> None:
        assert reply.card.replaces_card_id == holder.card_id
        assert query(stack, "SELECT COUNT(*) FROM cards WHERE insured_id = "
                            f"'{holder.insured_id}'") == [(2,)]

    return Case("ReissueCard", request, token=stack.app_token), check


def card_status(method: str, request_type, before: str, after: int):
    def prepare(stack):
        holder = Holder(stack)
        if before:
            operator(stack).SuspendCard(pb.SuspendCardRequest(
                request_id=rid("s"), card_id=holder.card_id, reason=before))
        request = request_type(request_id=rid(method), card_id=holder.card_id, reason="twins")

        def check(reply) -> None:
            assert reply.card.status == after

        return Case(method, request, token=stack.operator_token), check
    return prepare


def generate_qr(stack):
    holder = Holder(stack)

    def check(reply: pb.GenerateQrCodeResponse) -> None:
        assert reply.qr_payload  # one token: its exchange works once, below
        as_service(stack).ResolveQrCode(pb.ResolveQrCodeRequest(
            request_id=rid("r"), qr_payload=reply.qr_payload, merchant_id=PHARMACY_ID,
            merchant_kind=pb.MERCHANT_KIND_PHARMACY))

    return Case("GenerateQrCode", pb.GenerateQrCodeRequest(request_id=rid("qr")),
                token=holder.credential), check


def resolve_qr(stack):
    holder = Holder(stack)
    request = pb.ResolveQrCodeRequest(request_id=rid("resolve"), qr_payload=holder.qr(),
                                      merchant_id=PHARMACY_ID,
                                      merchant_kind=pb.MERCHANT_KIND_PHARMACY)
    before = count(stack, "payment_contexts")

    def check(reply: pb.ResolveQrCodeResponse) -> None:
        assert reply.payment_context.card_id == holder.card_id
        assert count(stack, "payment_contexts") == before + 1

    return Case("ResolveQrCode", request, identity="pharmacy"), check


def credit_account(stack):
    insured_id, _ = import_person(stack, balance=1_000)
    request = pb.CreditAccountRequest(request_id=rid("credit"), insured_id=insured_id,
                                      period="2026-07", amount=fen(2_500))

    def check(reply: pb.CreditAccountResponse) -> None:
        account = operator(stack).GetAccount(pb.GetAccountRequest(insured_id=insured_id))
        assert reply.balance_after.amount_fen == account.balance.amount_fen == 3_500

    return Case("CreditAccount", request, token=stack.operator_token), check


def put_policy(stack):
    request = pb.PutPolicyRequest(request_id=rid("policy"), policy=policy_version())

    def check(reply: pb.PutPolicyResponse) -> None:
        assert reply.created  # every twin hears "created", the first call's answer

    return Case("PutPolicy", request, token=stack.operator_token), check


def authorize(stack):
    holder = Holder(stack, balance=10_000)
    request = pb.AuthorizeRequest(
        request_id=rid("auth"), payment_context_id=holder.context(), merchant_id=PHARMACY_ID,
        medical_type=PHARMACY, level=COMMUNITY, use_personal_account=True,
        lines=[line(1, "A", "10.00")], acquirer_reference=rid("S"))

    def check(reply: pb.AuthorizeResponse) -> None:
        assert held(holder) == reply.split.account_pay.amount_fen > 0  # held once

    return Case("Authorize", request, identity="pharmacy"), check


def capture(stack):
    holder = Holder(stack, balance=10_000)
    hold_id = hold(stack, holder)
    paid = held(holder)

    def check(reply: pb.CaptureResponse) -> None:
        assert held(holder) == 0 and balance(holder) == 10_000 - paid  # booked once

    return Case("Capture", pb.CaptureRequest(request_id=rid("cap"), hold_id=hold_id),
                identity="pharmacy"), check


def void(stack):
    holder = Holder(stack, balance=10_000)
    hold_id = hold(stack, holder)

    def check(reply: pb.VoidResponse) -> None:
        assert held(holder) == 0 and balance(holder) == 10_000

    return Case("Void", pb.VoidRequest(request_id=rid("void"), hold_id=hold_id),
                identity="pharmacy"), check


def refund(stack, lines: tuple[int, ...] = ()):
    holder = Holder(stack, balance=10_000)
    hold_id = hold(stack, holder, captured=True)
    paid = 10_000 - balance(holder)
    kind = ins.REFUND_KIND_ALL
    request = pb.RefundRequest(request_id=rid("refund"), hold_id=hold_id, kind=kind,
                               line_nos=list(lines))

    def check(reply: pb.RefundResponse) -> None:
        back = reply.refunded.account_pay.amount_fen
        assert back > 0 and balance(holder) == 10_000 - paid + back  # returned once
        assert query(stack, f"SELECT COUNT(*) FROM refunds WHERE hold_id = '{hold_id}'") == [(1,)]

    return Case("Refund", request, identity="pharmacy"), check


CASES = {
    "ImportInsured": import_insured,
    "IssueCard": issue_card,
    "ReissueCard": reissue_card,
    "SuspendCard": card_status("SuspendCard", pb.SuspendCardRequest, "", pb.CARD_STATUS_SUSPENDED),
    "ResumeCard": card_status("ResumeCard", pb.ResumeCardRequest, "lost", pb.CARD_STATUS_ACTIVE),
    "RevokeCard": card_status("RevokeCard", pb.RevokeCardRequest, "", pb.CARD_STATUS_REVOKED),
    "GenerateQrCode": generate_qr,
    "ResolveQrCode": resolve_qr,
    "CreditAccount": credit_account,
    "PutPolicy": put_policy,
    "Authorize": authorize,
    "Capture": capture,
    "Void": void,
    "Refund": refund,
    "Refund by lines": lambda stack: refund(stack, (1,)),
}


@pytest.mark.parametrize("rpc", list(CASES))
def test_twins_of_every_card_mutation_get_the_first_reply_and_book_once(issuer, rpc):
    case, check = CASES[rpc](issuer)
    outcomes = fire(issuer, "card", card_pb2_grpc.CardServiceStub, case.method, case.request,
                    token=case.token, identity=case.identity)
    reply = one_reply(outcomes, getattr(pb, f"{case.method}Response"))
    check(reply)
