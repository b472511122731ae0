"""Pricing a till's basket from the pharmacy's catalogue (pure).

The till sends ``line_no, item_code, quantity[, unit_price]``. Each line must name an item
of this pharmacy's catalogue (``ITEM_NOT_IN_CATALOGUE``). The price used is **the till's
price when it sends one** — a pharmacy may sell below its listed price (a discount is the
person's gain), never above it (``PRICE_ABOVE_CATALOGUE``) — and the catalogue price
otherwise. Class, price cap and the class-B pay-first ratio always come from the catalogue;
the card service adjudicates the priced lines (caps above the cap become over-limit
self-pay there, not here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from medpay_kit.errors import DomainError
from medpay_kit.money import ZERO_LINE, MoneyFormatError, line_amount_fen, parse_decimal

PRICE_PLACES = 6
QUANTITY_PLACES = 4
MAX_PRICE = Decimal(1_000_000)  # yuan per unit, exclusive: anything above is a typo
ITEM_CLASSES = ("A", "B", "C")
MAX_CODE = 64
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    item_code: str
    name: str
    spec: str
    unit_price: Decimal
    price_cap: Decimal | None
    item_class: str  # "A", "B" or "C"
    pre_self_pay_ratio_bp: int


@dataclass(frozen=True, slots=True)
class SaleLineInput:
    line_no: int
    item_code: str
    quantity: str
    unit_price: str  # "" = the catalogue price


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A sale line ready for adjudication (decimals as exact text)."""

    line_no: int
    item_code: str
    item_name: str
    item_class: str
    unit_price: str
    quantity: str
    price_cap: str
    pre_self_pay_ratio_bp: int


def decimal_text(value: Decimal) -> str:
    """Canonical text of a decimal: plain digits, at least two places for prices."""
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def quantity_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def parse_price(text: str, field: str, **meta: object) -> Decimal:
    try:
        value = parse_decimal(text, max_places=PRICE_PLACES)
    except MoneyFormatError as exc:
        raise DomainError("INVALID_ARGUMENT", f"{field}: {exc}", field=field, **meta) from None
    if value >= MAX_PRICE:
        raise DomainError("INVALID_ARGUMENT", f"{field}: too large", field=field, **meta)
    return value


def check_basket_size(count: int, max_lines: int) -> None:
    if count == 0:
        raise DomainError("BASKET_EMPTY", "the sale has no lines", field="lines")
    if count > max_lines:
        raise DomainError("TOO_MANY_LINES", f"a sale may have at most {max_lines} lines",
                          field="lines", maxLines=max_lines)


def _quantity(line: SaleLineInput, max_quantity: int) -> Decimal:
    n = line.line_no
    try:
        qty = parse_decimal(line.quantity, max_places=QUANTITY_PLACES)
    except MoneyFormatError as exc:
        raise DomainError("QUANTITY_INVALID", f"line {n}: quantity {exc}", lineNo=n) from None
    if qty > max_quantity:
        raise DomainError("QUANTITY_INVALID", f"line {n}: quantity above {max_quantity}",
                          lineNo=n)
    return qty


def price_basket(lines: Sequence[SaleLineInput], catalogue: Mapping[str, CatalogueEntry], *,
                 max_lines: int, max_quantity: int) -> tuple[PricedLine, ...]:
    """Check and price every line, refusing the first bad one with its line number."""
    check_basket_size(len(lines), max_lines)
    seen: set[int] = set()
    priced = []
    for line in lines:
        n = line.line_no
        if n <= 0 or n in seen:
            raise DomainError("INVALID_ARGUMENT", f"line {n}: line_no must be unique and ≥ 1",
                              field="lines.line_no", lineNo=n)
        seen.add(n)
        qty = _quantity(line, max_quantity)
        if not line.item_code or len(line.item_code) > MAX_CODE:
            raise DomainError("INVALID_ARGUMENT", f"line {n}: item_code is required",
                              field="lines.item_code", lineNo=n)
        item = catalogue.get(line.item_code)
        if item is None:
            raise DomainError("ITEM_NOT_IN_CATALOGUE",
                              f"line {n}: item is not in this pharmacy's catalogue", lineNo=n)
        price = item.unit_price
        if line.unit_price:
            price = parse_price(line.unit_price, "lines.unit_price", lineNo=n)
            if price > item.unit_price:
                raise DomainError("PRICE_ABOVE_CATALOGUE",
                                  f"line {n}: unit price {decimal_text(price)} is above the "
                                  f"catalogue price {decimal_text(item.unit_price)}", lineNo=n)
        if line_amount_fen(price, qty) == 0:
            raise DomainError("QUANTITY_INVALID", f"line {n}: {ZERO_LINE}", lineNo=n)
        priced.append(PricedLine(
            line_no=n, item_code=item.item_code, item_name=item.name,
            item_class=item.item_class, unit_price=decimal_text(price),
            quantity=quantity_text(qty),
            price_cap=decimal_text(item.price_cap) if item.price_cap is not None else "",
            pre_self_pay_ratio_bp=item.pre_self_pay_ratio_bp if item.item_class == "B" else 0))
    return tuple(priced)


def check_catalogue_entry(entry: CatalogueEntry, index: int) -> None:
    """Refuse an item an operator may not import (field names the item's position)."""
    where = f"items[{index}]"

    def bad(field: str, message: str) -> DomainError:
        return DomainError("INVALID_ARGUMENT", f"{where}.{field}: {message}",
                           field=f"{where}.{field}", itemCode=entry.item_code[:MAX_CODE])

    code = entry.item_code
    if not code or len(code) > MAX_CODE or not all(c.isalnum() or c in "-_." for c in code):
        raise bad("item_code", f"1..{MAX_CODE} letters, digits, '-', '_' or '.'")
    if not entry.name.strip() or len(entry.name) > MAX_TEXT:
        raise bad("name", f"required, at most {MAX_TEXT} characters")
    if len(entry.spec) > MAX_TEXT:
        raise bad("spec", f"at most {MAX_TEXT} characters")
    if entry.item_class not in ITEM_CLASSES:
        raise bad("item_class", "must be A, B or C")
    ratio = entry.pre_self_pay_ratio_bp
    if entry.item_class == "B" and not 0 <= ratio <= 10_000:
        raise bad("pre_self_pay_ratio_bp", "must be 0..10000 for class B")
    if entry.item_class != "B" and ratio != 0:
        raise bad("pre_self_pay_ratio_bp", "must be 0 for classes A and C")
