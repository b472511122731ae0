"""Pricing a till's basket from the catalogue: the till's price or the catalogue's, refusals by line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from medpay_kit.errors import DomainError
from medpay_pharmacy.domain.basket import (
    CatalogueEntry,
    SaleLineInput,
    check_catalogue_entry,
    decimal_text,
    price_basket,
)

CATALOGUE = {
    "XA1": CatalogueEntry("XA1", "阿莫西林胶囊", "0.25g×24", Decimal("12.50"), Decimal("13"), "A", 0),
    "XB1": CatalogueEntry("XB1", "头孢克洛", "0.375g×6", Decimal("28.80"), Decimal("26"), "B", 1000),
    "XC1": CatalogueEntry("XC1", "维生素C", "100片", Decimal("4.5"), None, "C", 0),
}


def price(*lines, max_lines=100, max_quantity=9999):
    return price_basket([SaleLineInput(*line) for line in lines], CATALOGUE,
                        max_lines=max_lines, max_quantity=max_quantity)


def refusal(*lines, **kw) -> DomainError:
    with pytest.raises(DomainError) as err:
        price(*lines, **kw)
    return err.value


def test_catalogue_price_class_cap_and_ratio_come_from_the_catalogue():
    a, b, c = price((1, "XA1", "2", ""), (2, "XB1", "1.5", ""), (3, "XC1", "3", ""))
    assert (a.unit_price, a.quantity, a.item_class, a.price_cap, a.pre_self_pay_ratio_bp) == (
        "12.50", "2", "A", "13.00", 0)
    assert (b.item_class, b.price_cap, b.pre_self_pay_ratio_bp, b.item_name) == (
        "B", "26.00", 1000, "头孢克洛")
    assert (c.price_cap, c.item_class) == ("", "C")


def test_a_lower_till_price_is_used_and_a_higher_one_is_refused_with_its_line():
    (line,) = price((1, "XA1", "1", "11.9"))
    assert line.unit_price == "11.90"
    err = refusal((1, "XA1", "1", "12.50"), (2, "XB1", "1", "28.800001"))
    assert err.reason == "PRICE_ABOVE_CATALOGUE" and err.metadata["lineNo"] == "2"


def test_unknown_items_are_refused_with_their_line_number():
    err = refusal((1, "XA1", "1", ""), (2, "NOPE", "1", ""))
    assert err.reason == "ITEM_NOT_IN_CATALOGUE" and err.metadata["lineNo"] == "2"


@pytest.mark.parametrize("qty", ["0", "-1", "1.23456", "10000", "abc", "", "1e3", "NaN"])
def test_bad_quantities_are_refused(qty):
    err = refusal((1, "XA1", qty, ""))
    assert err.reason == "QUANTITY_INVALID" and err.metadata["lineNo"] == "1"


def test_basket_size_limits():
    assert refusal().reason == "BASKET_EMPTY"
    assert refusal(*[(i, "XA1", "1", "") for i in range(1, 4)], max_lines=2).reason == "TOO_MANY_LINES"


def test_line_numbers_must_be_unique_and_positive():
    assert refusal((1, "XA1", "1", ""), (1, "XB1", "1", "")).reason == "INVALID_ARGUMENT"
    assert refusal((0, "XA1", "1", "")).reason == "INVALID_ARGUMENT"


def test_decimal_text_is_canonical():
    assert decimal_text(Decimal("12.5")) == "12.50"
    assert decimal_text(Decimal("100")) == "100.00"
    assert decimal_text(Decimal("0.123456")) == "0.123456"


@pytest.mark.parametrize(("change", "field"), [
    ({"item_code": ""}, "item_code"), ({"item_code": "bad code"}, "item_code"),
    ({"name": " "}, "name"), ({"item_class": "D"}, "item_class"),
    ({"pre_self_pay_ratio_bp": 10_001}, "pre_self_pay_ratio_bp"),
])
def test_bad_catalogue_items_name_their_field(change, field):
    base = {"item_code": "XB2", "name": "x", "spec": "", "unit_price": Decimal(1), "price_cap": None,
            "item_class": "B", "pre_self_pay_ratio_bp": 500}
    with pytest.raises(DomainError) as err:
        check_catalogue_entry(CatalogueEntry(**{**base, **change}), 3)
    assert err.value.metadata["field"] == f"items[3].{field}"


def test_classes_a_and_c_carry_no_pay_first_ratio():
    with pytest.raises(DomainError):
        check_catalogue_entry(CatalogueEntry("XA9", "x", "", Decimal(1), None, "A", 100), 0)
