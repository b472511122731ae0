"""Unit tests of billing's pure domain: agreement and bill states, due dates, credit."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from medpay_billing.domain import agreement as ag
from medpay_billing.domain import bill as bl
from medpay_billing.domain import dates
from medpay_billing.domain.visit import VisitStatus, require_open, require_refundable
from medpay_kit.errors import DomainError

S = ag.AgreementStatus
B = bl.BillStatus


def reason(call) -> str:
    with pytest.raises(DomainError) as err:
        call()
    return err.value.reason


def test_only_an_active_agreement_opens_visits():
    ag.require_open_for_visits(S.ACTIVE)
    assert reason(lambda: ag.require_open_for_visits(None)) == "AGREEMENT_NOT_FOUND"
    assert reason(lambda: ag.require_open_for_visits(S.CLOSED)) == "AGREEMENT_NOT_FOUND"
    assert reason(lambda: ag.require_open_for_visits(S.SUSPENDED)) == "AGREEMENT_SUSPENDED"
    assert reason(lambda: ag.require_open_for_visits(S.BLACKLISTED)) == "AGREEMENT_BLACKLISTED"


def test_agreement_transitions():
    assert ag.after_overdue(S.ACTIVE) is S.SUSPENDED
    assert ag.after_overdue(S.BLACKLISTED) is S.BLACKLISTED
    assert ag.after_blacklist(S.SUSPENDED) is S.BLACKLISTED
    assert ag.after_blacklist(S.ACTIVE) is S.BLACKLISTED
    assert ag.after_blacklist(S.CLOSED) is S.CLOSED
    assert ag.after_settled(S.SUSPENDED, 0) is S.ACTIVE
    assert ag.after_settled(S.SUSPENDED, 1) is S.SUSPENDED  # another bill still overdue
    assert ag.after_settled(S.BLACKLISTED, 0) is S.BLACKLISTED  # paying never lifts the flag


def test_credit_check_counts_the_visits_own_reservation():
    # limit 1000, 700 in use of which 200 by this visit: this visit may grow to 500
    assert ag.check_credit(1000, 700, 200, 500) == 300
    assert ag.check_credit(1000, 700, 200, 100) == -100
    with pytest.raises(DomainError) as err:
        ag.check_credit(1000, 700, 200, 501)
    assert err.value.reason == "CREDIT_LIMIT_EXCEEDED" and err.value.metadata["availableFen"] == "500"
    assert ag.available(1000, 1200) == 0


def test_bill_states():
    assert bl.issued_status(0) is B.PAID and bl.issued_status(1) is B.DUE
    assert bl.status_after_payment(B.OVERDUE) is B.PAID
    assert bl.status_after_payment(B.PARTIALLY_REFUNDED) is B.PARTIALLY_REFUNDED
    assert bl.status_after_overdue(B.DUE) is B.OVERDUE
    assert bl.status_after_overdue(B.PARTIALLY_REFUNDED) is B.PARTIALLY_REFUNDED
    assert reason(lambda: bl.require_payable(B.PAID, 0)) == "BILL_ALREADY_PAID"
    assert reason(lambda: bl.require_payable(B.PARTIALLY_REFUNDED, 0)) == "BILL_ALREADY_PAID"
    bl.require_payable(B.OVERDUE, 10)
    assert bl.split_cash_refund(300, 1000) == (300, 0)  # unpaid: written off
    assert bl.split_cash_refund(300, 0) == (0, 300)  # paid: returned through the channel


def test_due_dates_are_china_business_dates():
    late_evening_utc = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 01:30 on 2 March in Xi'an
    assert dates.business_day(late_evening_utc) == date(2026, 3, 2)
    assert dates.due_date(late_evening_utc, 10) == date(2026, 3, 12)
    due = date(2026, 3, 12)
    assert not dates.is_overdue(due, date(2026, 3, 12)) and dates.is_overdue(due, date(2026, 3, 13))
    assert dates.collectable(due, due) and not dates.collectable(due, date(2026, 3, 11))
    assert not dates.should_blacklist(due, date(2026, 3, 16), 5)
    assert dates.should_blacklist(due, date(2026, 3, 17), 5)
    assert reason(lambda: dates.parse_date("2026-3-1", "opened_date")) == "INVALID_ARGUMENT"


def test_visit_gates():
    require_open(VisitStatus.OPEN)
    assert reason(lambda: require_open(VisitStatus.CLOSING)) == "VISIT_CLOSED"
    assert reason(lambda: require_refundable(VisitStatus.OPEN)) == "VISIT_NOT_CLOSED"
    assert reason(lambda: require_refundable(VisitStatus.REFUNDED)) == "ALREADY_REFUNDED"
    require_refundable(VisitStatus.PARTIALLY_REFUNDED)
