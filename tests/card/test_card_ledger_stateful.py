"""A Hypothesis state machine drives one insured person's money through a real card process
(authorize / capture / void / refund / expire) and checks after every step that:

- every ledger transaction sums to zero and the accounts row equals its entries;
- no balance is negative, and GetAccount equals the sum of the ListAccountEntries entries;
- the balance and the held part equal what the model expects from the replies;
- the yearly counters equal the captured parts less the refunded ones (and the held parts
  equal the open authorizations).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import ClassVar

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
    pb,
    query,
    rid,
    start_card,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from medpay.common.v1 import insurance_pb2 as ins
from medpay_card.domain.policy import counter_group
from medpay_kit.client import error_reason

pytestmark = pytest.mark.db

HOLD_TTL_S = 120
EXAMPLES = 10
OPENING = 30_000
SERVICES = {"pharmacy": PHARMACY_ID, "billing": HOSPITAL_ID}
STEPS: Counter[str] = Counter()
KINDS = {"ALL": ins.REFUND_KIND_ALL, "CASH": ins.REFUND_KIND_CASH, "HI": ins.REFUND_KIND_HI}

prices = st.sampled_from(["0.01", "1.00", "12.34", "99.99", "250.00", "1234.5"])
claim_lines = st.lists(
    st.tuples(st.sampled_from("ABC"), prices, st.sampled_from(["1", "2", "0.5"]),
              st.sampled_from([0, 1000, 5000]), st.sampled_from(["", "10"])),
    min_size=1, max_size=3)


@dataclass
class HoldModel:
    service: str
    medical: int
    lines: list[int]
    deductible: int
    fund: int
    account: int
    state: str = "AUTHORIZED"
    refunded_fund: int = 0
    refunded_account: int = 0
    kinds_done: list[str] = field(default_factory=list)


class Money(RuleBasedStateMachine):
    stack: ClassVar = None
    holders: ClassVar[list] = []

    def __init__(self) -> None:
        super().__init__()
        self.holder = self.holders.pop() if self.holders else Holder(self.stack, balance=OPENING)
        self.holds: dict[str, HoldModel] = {}

    def _ids(self, state: str) -> list[str]:
        # in the order the holds were made: hold ids are random, so sorting them would make
        # the same example draw different holds (and lines) when Hypothesis replays it
        return [h for h, m in self.holds.items() if m.state == state]

    @rule(service=st.sampled_from(sorted(SERVICES)), lines=claim_lines,
          medical=st.sampled_from([OUTPATIENT, PHARMACY]), pooling=st.sampled_from([None, True, False]),
          use_account=st.booleans())
    def authorize(self, service, lines, medical, pooling, use_account):
        request = pb.AuthorizeRequest(
            request_id=rid("auth"), **self.holder.subject(service, SERVICES[service]),
            merchant_id=SERVICES[service],
            medical_type=medical, level=COMMUNITY, use_personal_account=use_account,
            lines=[line(i + 1, cls, price, qty, cap=cap, ratio=ratio)
                   for i, (cls, price, qty, ratio, cap) in enumerate(lines)])
        if pooling is not None:
            request.pooling_applies = pooling
        reply = as_service(self.stack, service).Authorize(request)
        split = reply.split
        assert split.total.amount_fen == (split.fund_pay.amount_fen + split.account_pay.amount_fen
                                          + split.cash_pay.amount_fen)
        self.holds[reply.hold_id] = HoldModel(
            service, medical, [ln.line_no for ln in request.lines], split.deductible.amount_fen,
            split.fund_pay.amount_fen, split.account_pay.amount_fen)
        STEPS["authorize"] += 1

    @precondition(lambda self: self._ids("AUTHORIZED"))
    @rule(data=st.data())
    def capture(self, data):
        hold_id = data.draw(st.sampled_from(self._ids("AUTHORIZED")))
        model = self.holds[hold_id]
        as_service(self.stack, model.service).Capture(pb.CaptureRequest(request_id=rid(),
                                                                         hold_id=hold_id))
        model.state = "CAPTURED"
        STEPS["capture"] += 1

    @precondition(lambda self: self._ids("AUTHORIZED"))
    @rule(data=st.data())
    def void(self, data):
        hold_id = data.draw(st.sampled_from(self._ids("AUTHORIZED")))
        model = self.holds[hold_id]
        as_service(self.stack, model.service).Void(pb.VoidRequest(request_id=rid(), hold_id=hold_id))
        model.state = "VOIDED"
        STEPS["void"] += 1

    @precondition(lambda self: [h for h, m in self.holds.items() if m.state != "CAPTURED"])
    @rule(data=st.data())
    def capture_what_cannot_be_captured(self, data):
        hold_id = data.draw(st.sampled_from([h for h, m in self.holds.items()
                                             if m.state != "CAPTURED"]))
        model = self.holds[hold_id]
        if model.state == "AUTHORIZED":
            return
        try:
            as_service(self.stack, model.service).Capture(pb.CaptureRequest(request_id=rid(),
                                                                             hold_id=hold_id))
        except grpc.RpcError as exc:
            assert error_reason(exc) == {"VOIDED": "HOLD_VOIDED", "EXPIRED": "HOLD_EXPIRED"}[model.state]
            STEPS["capture refused"] += 1
        else:
            raise AssertionError("a released hold was captured")

    @precondition(lambda self: self._ids("CAPTURED"))
    @rule(data=st.data(), kind=st.sampled_from(sorted(KINDS)))
    def refund(self, data, kind):
        hold_id = data.draw(st.sampled_from(self._ids("CAPTURED")))
        model = self.holds[hold_id]
        line_nos = data.draw(st.lists(st.sampled_from(model.lines), unique=True, max_size=2))
        try:
            reply = as_service(self.stack, model.service).Refund(pb.RefundRequest(
                request_id=rid(), hold_id=hold_id, kind=KINDS[kind], line_nos=line_nos))
        except grpc.RpcError as exc:
            assert error_reason(exc) in ("ALREADY_REFUNDED", "REFUND_EXCEEDS_PAID"), exc
            STEPS[f"refund refused {error_reason(exc)}"] += 1
            return
        STEPS[f"refund {kind}"] += 1
        model.refunded_fund += reply.refunded.fund_pay.amount_fen
        model.refunded_account += reply.refunded.account_pay.amount_fen
        assert model.refunded_fund <= model.fund and model.refunded_account <= model.account

    @precondition(lambda self: self._ids("AUTHORIZED"))
    @rule()
    def expire(self):
        self.stack.move_clock(HOLD_TTL_S + 1)
        deadline = time.monotonic() + 15
        while self.holder.account().held.amount_fen and time.monotonic() < deadline:
            time.sleep(0.1)
        for hold_id in self._ids("AUTHORIZED"):
            self.holds[hold_id].state = "EXPIRED"
        STEPS["expire"] += 1

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def ledger_balances(self):
        assert ledger_problems(self.stack) == []

    @invariant()
    def account_equals_entries_and_model(self):
        account, entries = self.holder.account(), self.holder.entries()
        balance, held = account.balance.amount_fen, account.held.amount_fen
        assert balance == sum(e.amount.amount_fen for e in entries)
        assert held == sum(e.held_change.amount_fen for e in entries)
        assert held >= 0 and account.available.amount_fen == balance - held >= 0
        paid = sum(m.account - m.refunded_account for m in self.holds.values() if m.state == "CAPTURED")
        assert balance == OPENING - paid
        assert held == sum(m.account for m in self.holds.values() if m.state == "AUTHORIZED")

    @invariant()
    def counters_equal_captured_parts(self):
        # a pharmacy purchase draws on the outpatient counters (outpatient pooling)
        expected_fund = defaultdict(int)
        for m in self.holds.values():
            if m.state == "CAPTURED":
                expected_fund[OUTPATIENT] += m.fund - m.refunded_fund
        counters = {c.medical_type: c for c in self.holder.account().counters}
        got = counters[OUTPATIENT].pooled_fund_paid.amount_fen if OUTPATIENT in counters else 0
        assert got == expected_fund[OUTPATIENT] and PHARMACY not in counters
        assert counter_rows(self.stack, self.holder.insured_id) == counters_from_holds(
            self.stack, self.holder.insured_id)


def counter_rows(stack, insured_id: str) -> dict:
    rows = query(stack, "SELECT medical_type, deductible_used, deductible_held, pooled_paid, "
                        f"pooled_held FROM benefit_counters WHERE insured_id = '{insured_id}'")
    return {r[0]: tuple(r[1:]) for r in rows if any(r[1:])}


def counters_from_holds(stack, insured_id: str) -> dict:
    """Counters recomputed from the holds and refunds the service recorded."""
    sums: dict = defaultdict(lambda: [0, 0, 0, 0])
    for medical_type, state, ded, fund in query(
            stack, "SELECT medical_type, state, deductible, fund_pay FROM holds "
                   f"WHERE insured_id = '{insured_id}'"):
        medical = counter_group(medical_type)
        if state == "CAPTURED":
            sums[medical][0] += ded
            sums[medical][2] += fund
        elif state == "AUTHORIZED":
            sums[medical][1] += ded
            sums[medical][3] += fund
    for medical_type, parts in query(stack, "SELECT h.medical_type, r.parts FROM refunds r JOIN holds h "
                                            f"ON r.hold_id = h.hold_id WHERE h.insured_id = '{insured_id}'"):
        medical = counter_group(medical_type)
        parts = json.loads(parts) if isinstance(parts, str) else parts
        sums[medical][0] -= parts["deductible_released"]
        sums[medical][2] -= parts["pooled_released"]
    return {m: tuple(v) for m, v in sums.items() if any(v)}


@pytest.fixture(scope="module")
def issuer(module_stack, tmp_path_factory):
    start_card(module_stack, tmp_path_factory.mktemp("keys"), hold_ttl_s=str(HOLD_TTL_S),
               hold_sweep_interval_s="0.2")
    module_stack.holders = [Holder(module_stack, balance=OPENING) for _ in range(EXAMPLES)]
    return module_stack


def test_money_is_never_lost_or_doubled(issuer):
    Money.stack = issuer
    Money.holders = list(issuer.holders)  # one fresh person per example (more made if needed)
    STEPS.clear()
    started = time.monotonic()
    run_state_machine_as_test(Money, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=15, deadline=None,
        suppress_health_check=list(HealthCheck)))
    print(f"\nstateful money test ({issuer.backend}): {time.monotonic() - started:.1f}s, "
          f"steps {dict(STEPS)}")
