"""The settlement rules: business day, what may be cancelled, what may still be refunded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from medpay_kit.errors import DomainError
from medpay_pharmacy.domain.settlement import (
    DoneRefund,
    Parts,
    Status,
    business_date,
    check_never_more_than_paid,
    plan_refund,
    require_cancellable,
    status_after_refund,
)

LINES = [1, 2, 3]


def refused(fn, *args) -> str:
    with pytest.raises(DomainError) as err:
        fn(*args)
    return err.value.reason


def test_the_business_day_is_the_date_in_china():
    assert business_date(datetime(2025, 3, 1, 15, 59, tzinfo=UTC)) == "2025-03-01"
    assert business_date(datetime(2025, 3, 1, 16, 0, tzinfo=UTC)) == "2025-03-02"
    assert business_date(datetime(2025, 3, 1, 16, 0)) == "2025-03-02"  # naive means UTC


def test_only_a_completed_settlement_of_today_can_be_cancelled():
    require_cancellable(Status.COMPLETED, "2025-03-01", "2025-03-01")
    assert refused(require_cancellable, Status.COMPLETED, "2025-03-01", "2025-03-02") == \
        "SETTLEMENT_NOT_CANCELLABLE"
    for status in (Status.FAILED, Status.CANCELLED, Status.PARTIALLY_REFUNDED, Status.PENDING):
        assert refused(require_cancellable, status, "2025-03-01", "2025-03-01") == \
            "SETTLEMENT_NOT_CANCELLABLE"


def test_empty_line_list_means_every_line_not_yet_refunded_for_that_kind():
    done = [DoneRefund("ALL", (2,), Parts())]
    assert plan_refund(Status.PARTIALLY_REFUNDED, LINES, done, "ALL", []) == (1, 3)
    assert plan_refund(Status.COMPLETED, LINES, [], "CASH", []) == (1, 2, 3)


def test_cash_then_hi_on_the_same_lines_adds_up_to_all_and_no_more():
    done = [DoneRefund("CASH", (1,), Parts())]
    assert plan_refund(Status.PARTIALLY_REFUNDED, LINES, done, "HI", [1]) == (1,)
    assert refused(plan_refund, Status.PARTIALLY_REFUNDED, LINES, done, "CASH", [1]) == \
        "ALREADY_REFUNDED"
    assert refused(plan_refund, Status.PARTIALLY_REFUNDED, LINES, done, "ALL", [1]) == \
        "ALREADY_REFUNDED"
    both = [*done, DoneRefund("HI", (1,), Parts())]
    assert refused(plan_refund, Status.PARTIALLY_REFUNDED, LINES, both, "HI", [1]) == \
        "ALREADY_REFUNDED"


def test_refunds_of_settlements_that_are_not_booked_or_already_undone_are_refused():
    assert refused(plan_refund, Status.CANCELLED, LINES, [], "ALL", []) == "ALREADY_REFUNDED"
    assert refused(plan_refund, Status.REFUNDED, LINES, [], "ALL", []) == "ALREADY_REFUNDED"
    assert refused(plan_refund, Status.FAILED, LINES, [], "ALL", []) == "FAILED_PRECONDITION"
    assert refused(plan_refund, Status.COMPLETED, LINES, [], "ALL", [9]) == "INVALID_ARGUMENT"
    assert refused(plan_refund, Status.COMPLETED, LINES, [], "ALL", [1, 1]) == "INVALID_ARGUMENT"
    assert refused(plan_refund, Status.COMPLETED, LINES, [], "", [1]) == "INVALID_ARGUMENT"


def test_a_settlement_is_refunded_when_every_money_part_came_back():
    paid = Parts(1000, 600, 300, 100)
    assert status_after_refund(paid, Parts(400, 200, 100, 100)) is Status.PARTIALLY_REFUNDED
    assert status_after_refund(paid, Parts(1000, 600, 300, 100)) is Status.REFUNDED


def test_never_more_than_was_paid_in_any_part():
    paid = Parts(1000, 600, 300, 100)
    check_never_more_than_paid(paid, Parts(0, 600, 0, 0), Parts(400, 0, 300, 100))
    with pytest.raises(DomainError) as err:
        check_never_more_than_paid(paid, Parts(100, 0, 0, 100), Parts(1, 0, 0, 1))
    assert err.value.reason == "REFUND_EXCEEDS_PAID"


def test_a_refund_of_a_part_that_came_back_already_is_refused():
    from medpay_pharmacy.domain.settlement import check_something_left

    paid = Parts(1000, 600, 400, 0)
    check_something_left(paid, Parts(), "HI")
    assert refused(check_something_left, paid, Parts(), "CASH") == "REFUND_EXCEEDS_PAID"
    assert refused(check_something_left, paid, Parts(1000, 600, 400, 0), "ALL") == \
        "REFUND_EXCEEDS_PAID"
