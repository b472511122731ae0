"""Adjudicate over gRPC returns exactly the pure domain's split for the policy in force."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from cardtest import (
    COMMUNITY,
    EMPLOYEE,
    IN_SERVICE,
    INPATIENT,
    OUTPATIENT,
    PHARMACY,
    PHARMACY_ID,
    RESIDENT,
    RETIRED,
    TIER1,
    TIER2,
    TIER3,
    Holder,
    as_service,
    line,
    pb,
    refusal,
    start_card,
)

from medpay_card.domain.adjudication import ClaimLine, Counters, adjudicate
from medpay_card.domain.calendar import business_date
from medpay_card.domain.policy import PolicyBook, terms_for
from medpay_card.wire import enums

pytestmark = pytest.mark.db

BOOK = PolicyBook.load_toml()
BALANCE = 150_000


@pytest.fixture(scope="module")
def people(module_stack, tmp_path_factory):
    start_card(module_stack, tmp_path_factory.mktemp("keys"))
    people = {
        "employee": Holder(module_stack, balance=BALANCE),
        "retired": Holder(module_stack, balance=BALANCE, person_type=RETIRED),
        "resident": Holder(module_stack, balance=0, types=(RESIDENT,)),
    }
    for holder in people.values():  # claims by card id: billing, under a credit mandate
        holder.mandate(PHARMACY_ID)
    return people


def domain_line(proto) -> ClaimLine:
    return ClaimLine(proto.line_no, proto.item_code, enums.ITEM_CLASSES[proto.item_class],
                     Decimal(proto.unit_price), Decimal(proto.quantity),
                     Decimal(proto.price_cap) if proto.price_cap else None,
                     proto.pre_self_pay_ratio_bp)


CASES = {
    "pharmacy, deductible first": dict(
        who="employee", medical=PHARMACY, level=COMMUNITY,
        lines=[line(1, "A", "300.00"), line(2, "C", "15.5", "2")]),
    "outpatient tier3 retired, caps and ratios": dict(
        who="retired", medical=OUTPATIENT, level=TIER3,
        lines=[line(1, "A", "120.123456", "1.5", cap="100"), line(2, "B", "88.88", "3", ratio=1500),
               line(3, "C", "9.99", "0.3333")]),
    "inpatient tier2, per-admission deductible": dict(
        who="employee", medical=INPATIENT, level=TIER2,
        lines=[line(1, "A", "8000"), line(2, "B", "2500.5", "2", ratio=2000)]),
    "pooling not registered at this institution": dict(
        who="employee", medical=OUTPATIENT, level=TIER1, pooling=False,
        lines=[line(1, "A", "500")]),
    "account not to be used": dict(
        who="employee", medical=OUTPATIENT, level=COMMUNITY, use_account=False,
        lines=[line(1, "A", "900"), line(2, "B", "100", ratio=500)]),
    "resident primary care": dict(
        who="resident", medical=OUTPATIENT, level=TIER1, lines=[line(1, "A", "150")]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_adjudicate_returns_the_domain_split(module_stack, people, name):
    case = CASES[name]
    who = people[case["who"]]
    request = pb.AdjudicateRequest(
        card_id=who.card_id, merchant_id=PHARMACY_ID, medical_type=case["medical"],
        level=case["level"], use_personal_account=case.get("use_account", True),
        lines=case["lines"])
    if "pooling" in case:
        request.pooling_applies = case["pooling"]
    got = as_service(module_stack, "billing").Adjudicate(request).split

    insured = RETIRED if case["who"] == "retired" else IN_SERVICE
    scheme = RESIDENT if case["who"] == "resident" else EMPLOYEE
    policy = BOOK.select("610100", enums.INSURANCE_TYPES[scheme], enums.MEDICAL_TYPES[case["medical"]],
                         enums.LEVELS[case["level"]], enums.PERSON_TYPES[insured],
                         business_date(datetime.now(UTC)))
    terms = terms_for(policy, pooling_applies_at_institution=case.get("pooling", True))
    balance = 0 if case["who"] == "resident" else BALANCE
    want = adjudicate([domain_line(x) for x in case["lines"]], terms,
                      Counters(balance=balance), use_account=case.get("use_account", True))

    parts = ("total", "over_limit", "full_self_pay", "pre_self_pay", "in_scope", "deductible",
             "fund_pay", "account_pay", "cash_pay", "balance_after")
    assert {p: getattr(got, p).amount_fen for p in parts} == {p: getattr(want, p) for p in parts}
    assert got.fund_pay_total.amount_fen == want.fund_pay
    assert (got.policy_id, got.policy_version) == (policy.policy_id, policy.version)
    assert got.fund_ratio_bp == (terms.fund_ratio_bp if terms.pooling_applies else 0)
    assert [(x.line_no, x.amount.amount_fen, x.over_limit.amount_fen, x.full_self_pay.amount_fen,
             x.pre_self_pay.amount_fen, x.in_scope.amount_fen, x.pre_self_pay_ratio_bp)
            for x in got.lines] == [
        (x.line_no, x.amount, x.over_limit, x.full_self_pay, x.pre_self_pay, x.in_scope, x.ratio_bp)
        for x in want.lines]
    assert got.total.amount_fen == (got.fund_pay.amount_fen + got.account_pay.amount_fen
                                    + got.cash_pay.amount_fen)


def test_a_worked_example_to_the_fen(module_stack, people):
    """Employee at a community pharmacy, nothing used yet this year, balance 1,500 yuan:
    class A 300.00 → in scope 30000; deductible 20000; fund rh(10000 × 70 %) = 7000;
    class C 2 × 15.50 = 3100 self-paid; account min(150000, 33100 − 7000 − 3100) = 23000;
    cash 3100."""
    got = as_service(module_stack, "billing").Adjudicate(pb.AdjudicateRequest(
        card_id=people["employee"].card_id, merchant_id=PHARMACY_ID, medical_type=PHARMACY,
        level=COMMUNITY, use_personal_account=True, lines=CASES["pharmacy, deductible first"]["lines"]))
    split = got.split
    assert (split.total.amount_fen, split.deductible.amount_fen, split.fund_pay.amount_fen,
            split.account_pay.amount_fen, split.cash_pay.amount_fen,
            split.balance_after.amount_fen) == (33100, 20000, 7000, 23000, 3100, 127000)


def test_no_policy_for_the_combination_is_policy_not_found(module_stack, people):
    got = refusal(as_service(module_stack, "billing").Adjudicate, pb.AdjudicateRequest(
        card_id=people["resident"].card_id, merchant_id=PHARMACY_ID, medical_type=OUTPATIENT,
        level=TIER3, lines=[line(1, "A", "10")]))
    assert got[0] == "POLICY_NOT_FOUND"


def test_a_claim_dated_before_any_policy_finds_none(module_stack, people):
    request = pb.AdjudicateRequest(card_id=people["employee"].card_id, merchant_id=PHARMACY_ID,
                                   medical_type=OUTPATIENT, level=TIER1, lines=[line(1, "A", "10")])
    request.at.FromDatetime(datetime(2025, 6, 1, tzinfo=UTC))
    assert refusal(as_service(module_stack, "billing").Adjudicate, request)[0] == "POLICY_NOT_FOUND"
