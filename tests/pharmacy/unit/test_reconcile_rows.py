"""Reconciliation: net totals, and exactly the rows that differ."""

from __future__ import annotations

from medpay_pharmacy.domain.reconcile import Kind, Row, Totals, differences
from medpay_pharmacy.domain.settlement import Parts

S1 = Row("ST1", "m1", "", False, Parts(1000, 600, 300, 100))
R1 = Row("ST1", "m1", "RF1", True, Parts(-1000, -600, -300, -100))
S2 = Row("ST2", "m2", "", False, Parts(500, 0, 500, 0))


def test_totals_are_net_and_count_every_row():
    assert Totals.of([S1, R1, S2]) == Totals(3, 500, 0, 500)


def test_identical_rows_have_no_differences():
    assert differences([S2, R1, S1], [S1, R1, S2]) == []


def test_each_kind_of_difference_is_reported_once_in_key_order():
    changed = Row("ST2", "m2", "", False, Parts(500, 0, 400, 100))
    extra = Row("ST9", "m9", "", False, Parts(1, 0, 0, 1))
    found = differences([S1, changed, extra], [S1, R1, S2])
    assert [(d.key, d.kind) for d in found] == [
        (("ST1", "RF1"), Kind.MISSING_AT_TILL),
        (("ST2", ""), Kind.AMOUNT_DIFFERS),
        (("ST9", ""), Kind.MISSING_AT_SERVICE),
    ]
    assert found[1].till == changed and found[1].service == S2


def test_a_flipped_refund_flag_is_a_difference():
    flipped = Row("ST2", "m2", "", True, S2.parts)
    assert [d.kind for d in differences([flipped], [S2])] == [Kind.AMOUNT_DIFFERS]
