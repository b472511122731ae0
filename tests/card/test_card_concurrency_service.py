"""Many settlements for one person at the same instant, from a pharmacy and a hospital:
the balance never goes negative and the pooled fund never passes the yearly cap."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from cardtest import (
    COMMUNITY,
    HOSPITAL_ID,
    OUTPATIENT,
    PHARMACY,
    PHARMACY_ID,
    Holder,
    as_service,
    ledger_problems,
    line,
    operator,
    pb,
    rid,
)

from medpay_kit.client import error_reason

pytestmark = pytest.mark.db

SERVICES = ("pharmacy", "billing")
MERCHANT = {"pharmacy": PHARMACY_ID, "billing": HOSPITAL_ID}


def at_once(stack, n: int, call) -> list:
    """Run ``call(stub, service, i)`` on n threads released together, alternating the
    pharmacy and billing services (five channels each); a refusal becomes its reason."""
    stubs = {(s, k): as_service(stack, s) for s in SERVICES for k in range(5)}
    start = threading.Barrier(n)

    def run(i: int):
        service = SERVICES[i % 2]
        start.wait()
        try:
            return call(stubs[(service, i % 5)], service, i)
        except grpc.RpcError as exc:
            return error_reason(exc) or str(exc.code())

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def claim(holder, service: str, amount_yuan: str, **extra) -> pb.AuthorizeRequest:
    return pb.AuthorizeRequest(
        request_id=rid("auth"), **holder.subject(service, MERCHANT[service]),
        merchant_id=MERCHANT[service],
        medical_type=PHARMACY if service == "pharmacy" else OUTPATIENT, level=COMMUNITY,
        use_personal_account=True,
        lines=[line(1, "A", amount_yuan)], **extra)


def test_50_concurrent_authorizations_never_overdraw_the_account(issuer):
    opening, amount = 10_000, 3000
    holder = Holder(issuer, balance=opening)
    claims = [claim(holder, SERVICES[i % 2], "30.00", pooling_applies=False) for i in range(50)]
    replies = at_once(issuer, 50, lambda stub, service, i: (service, stub.Authorize(
        claims[i], timeout=60)))
    ok = [r for r in replies if isinstance(r, tuple)]
    refused = Counter(r for r in replies if not isinstance(r, tuple))
    paid = [reply.split.account_pay.amount_fen for _, reply in ok]
    full = sum(1 for p in paid if p == amount)
    print(f"\n50 concurrent Authorize ({issuer.backend}): {len(ok)} authorized, refused {dict(refused)}; "
          f"account parts {Counter(paid)}; {full} fully from the account")
    assert not refused
    assert all(r.split.account_pay.amount_fen + r.split.cash_pay.amount_fen == amount for _, r in ok)
    assert sum(paid) == opening and full * amount <= opening
    account = holder.account()
    assert (account.available.amount_fen, account.held.amount_fen) == (0, opening)
    assert ledger_problems(issuer) == []
    for service, reply in ok:
        as_service(issuer, service).Capture(pb.CaptureRequest(request_id=rid(), hold_id=reply.hold_id))
    account, entries = holder.account(), holder.entries()
    assert (account.balance.amount_fen, account.held.amount_fen) == (0, 0)
    assert sum(e.amount.amount_fen for e in entries) == 0
    assert ledger_problems(issuer) == []


def test_a_pharmacy_and_a_hospital_at_the_same_instant_never_pass_the_yearly_cap(issuer):
    holder = Holder(issuer, balance=0)
    # A pharmacy purchase and a hospital outpatient visit share outpatient pooling: one
    # deductible (20000), fund 70 % at community level, one cap of 200000 a year.
    # 40 claims of 1,000 yuan ask for 56000 + 39 × 70000 from the fund: far above the cap.
    claims = [claim(holder, SERVICES[i % 2], "1000.00") for i in range(40)]
    replies = at_once(issuer, 40, lambda stub, service, i: (service, stub.Authorize(
        claims[i], timeout=60)))
    ok = [r for r in replies if isinstance(r, tuple)]
    fund = [reply.split.fund_pay.amount_fen for _, reply in ok]
    deductible = sum(reply.split.deductible.amount_fen for _, reply in ok)
    print(f"\n40 concurrent Authorize at the cap ({issuer.backend}): {len(ok)} authorized; "
          f"fund parts {sorted(fund, reverse=True)[:5]}… total {sum(fund)} of cap 200000; "
          f"deductible {deductible}")
    assert len(ok) == 40 and sum(fund) == 200_000 and deductible == 20_000
    for service, reply in ok:
        as_service(issuer, service).Capture(pb.CaptureRequest(request_id=rid(), hold_id=reply.hold_id))
    counter = next(c for c in holder.account().counters if c.medical_type == OUTPATIENT)
    assert counter.pooled_fund_paid.amount_fen == 200_000
    assert counter.deductible_used.amount_fen == 20_000
    assert ledger_problems(issuer) == []


def test_an_operator_and_the_app_suspending_at_once_both_succeed(issuer):
    holder = Holder(issuer)
    stubs = [operator(issuer) if i % 2 else holder.app for i in range(10)]
    start = threading.Barrier(10)

    def suspend(i: int) -> int:
        start.wait()
        return stubs[i].SuspendCard(pb.SuspendCardRequest(request_id=rid(), card_id=holder.card_id,
                                                          reason="lost"), timeout=30).card.status

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert set(pool.map(suspend, range(10))) == {pb.CARD_STATUS_SUSPENDED}
