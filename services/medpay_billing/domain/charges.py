"""Charge lines posted by a HIS: validation, canonical content, and re-sent lines (pure).

A line is keyed by the HIS's own line id within the visit. Its content is compared in a
canonical form (decimals normalised, so "12.5" and "12.50" are the same price): a line sent
again with the same content is a duplicate and ignored; with different content it is
CHARGE_CONFLICT. A withdrawn (cancelled) line keeps its id: sending it again is ignored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from medpay_kit.errors import DomainError
from medpay_kit.money import ZERO_LINE, MoneyFormatError, line_amount_fen, parse_decimal

CLASSES = ("A", "B", "C")
MAX_ID = 64
MAX_TEXT = 128


@dataclass(frozen=True, slots=True)
class Limits:
    max_lines_per_call: int
    max_lines_per_visit: int
    max_quantity: int
    max_unit_price_yuan: int


@dataclass(frozen=True, slots=True)
class ChargeInput:
    """One line as the HIS sent it (strings as on the wire)."""

    his_line_id: str
    item_code: str
    item_name: str
    item_class: str  # "A", "B", "C" or "" when unspecified
    unit_price: str
    quantity: str
    price_cap: str
    pre_self_pay_ratio_bp: int
    department: str
    doctor: str


@dataclass(frozen=True, slots=True)
class Charge:
    """A validated line in canonical form."""

    his_line_id: str
    item_code: str
    item_name: str
    item_class: str
    unit_price: str
    quantity: str
    price_cap: str
    pre_self_pay_ratio_bp: int
    department: str
    doctor: str

    @property
    def fingerprint(self) -> str:
        text = "\x1f".join([self.item_code, self.item_name, self.item_class, self.unit_price,
                            self.quantity, self.price_cap, str(self.pre_self_pay_ratio_bp),
                            self.department, self.doctor])
        return hashlib.sha256(text.encode()).hexdigest()


def canonical(value: Decimal) -> str:
    """``Decimal("12.50")`` → ``"12.5"``, ``Decimal("3.000")`` → ``"3"`` (no exponent)."""
    text = format(value.normalize(), "f")
    return text


def _bad(index: int, field: str, message: str, reason: str = "INVALID_ARGUMENT") -> DomainError:
    return DomainError(reason, f"line {index + 1}: {message}", field=f"lines[{index}].{field}",
                       lineIndex=index)


def _text(index: int, field: str, value: str, *, required: bool, limit: int) -> str:
    value = value.strip()
    if required and not value:
        raise _bad(index, field, f"{field} is required")
    if len(value) > limit or not value.isprintable():
        raise _bad(index, field, f"{field} must be at most {limit} printable characters")
    return value


def validate_line(index: int, line: ChargeInput, limits: Limits) -> Charge:
    line_id = _text(index, "his_line_id", line.his_line_id, required=True, limit=MAX_ID)
    if line.item_class not in CLASSES:
        raise _bad(index, "item_class", "item_class must be A, B or C")
    try:
        price = parse_decimal(line.unit_price, max_places=6, allow_zero=True)
    except MoneyFormatError as exc:
        raise _bad(index, "unit_price", f"unit_price {exc}") from None
    if price > limits.max_unit_price_yuan:
        raise _bad(index, "unit_price", "unit_price is larger than the configured maximum")
    try:
        quantity = parse_decimal(line.quantity, max_places=4)
    except MoneyFormatError as exc:
        raise _bad(index, "quantity", f"quantity {exc}", "QUANTITY_INVALID") from None
    if quantity > limits.max_quantity:
        raise _bad(index, "quantity", "quantity is larger than the configured maximum",
                   "QUANTITY_INVALID")
    if line_amount_fen(price, quantity) == 0:
        raise _bad(index, "quantity", ZERO_LINE, "QUANTITY_INVALID")
    cap = ""
    if line.price_cap.strip():
        try:
            cap = canonical(parse_decimal(line.price_cap, max_places=6, allow_zero=True))
        except MoneyFormatError as exc:
            raise _bad(index, "price_cap", f"price_cap {exc}") from None
    ratio = line.pre_self_pay_ratio_bp
    if not 0 <= ratio <= 10_000:
        raise _bad(index, "pre_self_pay_ratio_bp", "pre_self_pay_ratio_bp must be 0..10000")
    return Charge(
        his_line_id=line_id,
        item_code=_text(index, "item_code", line.item_code, required=True, limit=MAX_ID),
        item_name=_text(index, "item_name", line.item_name, required=False, limit=MAX_TEXT),
        item_class=line.item_class, unit_price=canonical(price), quantity=canonical(quantity),
        price_cap=cap, pre_self_pay_ratio_bp=ratio if line.item_class == "B" else 0,
        department=_text(index, "department", line.department, required=False, limit=MAX_ID),
        doctor=_text(index, "doctor", line.doctor, required=False, limit=MAX_ID))


def validate_batch(lines: Sequence[ChargeInput], limits: Limits) -> list[Charge]:
    if not lines:
        raise DomainError("BASKET_EMPTY", "the request has no lines", field="lines")
    if len(lines) > limits.max_lines_per_call:
        raise DomainError("TOO_MANY_LINES",
                          f"at most {limits.max_lines_per_call} lines per call", field="lines")
    return [validate_line(i, line, limits) for i, line in enumerate(lines)]


@dataclass(frozen=True, slots=True)
class Sorted:
    new: list[Charge]
    duplicates: list[str]


def sort_batch(batch: Iterable[Charge], existing: Mapping[str, str], live_count: int,
               limits: Limits) -> Sorted:
    """Split a batch against the visit's stored lines (``his_line_id → fingerprint``)."""
    seen: dict[str, str] = dict(existing)
    new: list[Charge] = []
    duplicates: list[str] = []
    for charge in batch:
        earlier = seen.get(charge.his_line_id)
        if earlier is None:
            seen[charge.his_line_id] = charge.fingerprint
            new.append(charge)
        elif earlier == charge.fingerprint:
            duplicates.append(charge.his_line_id)
        else:
            raise DomainError("CHARGE_CONFLICT",
                              "a line with this HIS line id was posted with different content",
                              hisLineId=charge.his_line_id)
    if live_count + len(new) > limits.max_lines_per_visit:
        raise DomainError("TOO_MANY_LINES",
                          f"a visit holds at most {limits.max_lines_per_visit} lines",
                          field="lines")
    return Sorted(new, duplicates)
