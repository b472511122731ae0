"""Unit tests of charge-line validation and of re-sent HIS lines (pure)."""

from __future__ import annotations

import pytest

from medpay_billing.domain.charges import ChargeInput, Limits, sort_batch, validate_batch
from medpay_kit.errors import DomainError

LIMITS = Limits(max_lines_per_call=3, max_lines_per_visit=4, max_quantity=100, max_unit_price_yuan=1000)


def charge(line_id="L1", price="12.50", quantity="2", cls="A", ratio=0, cap="") -> ChargeInput:
    return ChargeInput(line_id, "250101001", "血常规", cls, price, quantity, cap, ratio, "IM01", "D1")


def test_decimals_are_canonical_so_a_resent_line_matches():
    a, _ = validate_batch([charge(price="12.5", quantity="2.000"), charge(line_id="L2")], LIMITS)
    assert (a.unit_price, a.quantity) == ("12.5", "2")
    assert a.fingerprint == validate_batch([charge()], LIMITS)[0].fingerprint
    assert validate_batch([charge(cls="A", ratio=500)], LIMITS)[0].pre_self_pay_ratio_bp == 0


@pytest.mark.parametrize(("line", "reason", "field"), [
    (charge(price="-1"), "INVALID_ARGUMENT", "unit_price"),
    (charge(price="1001"), "INVALID_ARGUMENT", "unit_price"),
    (charge(price="1.1234567"), "INVALID_ARGUMENT", "unit_price"),
    (charge(quantity="0"), "QUANTITY_INVALID", "quantity"),
    (charge(quantity="101"), "QUANTITY_INVALID", "quantity"),
    (charge(quantity="NaN"), "QUANTITY_INVALID", "quantity"),
    (charge(cls=""), "INVALID_ARGUMENT", "item_class"),
    (charge(cls="B", ratio=-1), "INVALID_ARGUMENT", "pre_self_pay_ratio_bp"),
    (charge(cap="abc"), "INVALID_ARGUMENT", "price_cap"),
    (charge(line_id=" "), "INVALID_ARGUMENT", "his_line_id"),
    (charge(line_id="x" * 65), "INVALID_ARGUMENT", "his_line_id"),
])
def test_bad_lines_name_their_field(line, reason, field):
    with pytest.raises(DomainError) as err:
        validate_batch([line], LIMITS)
    assert err.value.reason == reason and err.value.metadata["field"] == f"lines[0].{field}"


def test_batch_sizes():
    with pytest.raises(DomainError, match="no lines"):
        validate_batch([], LIMITS)
    with pytest.raises(DomainError) as err:
        validate_batch([charge(line_id=f"L{i}") for i in range(4)], LIMITS)
    assert err.value.reason == "TOO_MANY_LINES"


def test_resent_lines_are_duplicates_and_changed_ones_conflict():
    stored = {c.his_line_id: c.fingerprint for c in validate_batch([charge("L1"), charge("L2")], LIMITS)}
    batch = validate_batch([charge("L1"), charge("L3"), charge("L3")], LIMITS)
    result = sort_batch(batch, stored, live_count=2, limits=LIMITS)
    assert [c.his_line_id for c in result.new] == ["L3"] and result.duplicates == ["L1", "L3"]
    with pytest.raises(DomainError) as err:
        sort_batch(validate_batch([charge("L2", price="13")], LIMITS), stored, 2, LIMITS)
    assert err.value.reason == "CHARGE_CONFLICT" and err.value.metadata["hisLineId"] == "L2"
    with pytest.raises(DomainError) as err:
        sort_batch(validate_batch([charge("L4"), charge("L5"), charge("L6")], LIMITS), stored, 2, LIMITS)
    assert err.value.reason == "TOO_MANY_LINES"
