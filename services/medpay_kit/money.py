"""Money in integer fen, and the one rounding rule medpay uses.

Amounts are whole fen (1 yuan = 100 fen) held in ``int``; floats never appear.
Decimal inputs (NHSA prices carry up to 6 decimals, quantities up to 4) are parsed
exactly with :class:`decimal.Decimal` and rounded to a whole fen **half-up**
(``rh``), the rule DOMAIN.md fixes for every line and every claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CURRENCY = "CNY"
FEN_PER_YUAN = 100
BASIS_POINTS = 10_000
#: the largest amount any request may carry (100 million yuan): far above any real movement,
#: far below where sums of amounts could leave a 64-bit column
MAX_FEN = 10_000_000_000


class MoneyFormatError(ValueError):
    """A decimal text that is not a valid amount (bad syntax, too many decimals, sign)."""


def rh(value: Decimal | int) -> int:
    """Round a decimal number of fen half-up to a whole fen."""
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_decimal(text: str, *, max_places: int, allow_zero: bool = False) -> Decimal:
    """Parse a non-negative decimal text such as ``"12.345678"`` exactly.

    Refuses exponents, signs, NaN/inf, and more than ``max_places`` decimals.
    """
    text = text.strip()
    if not text or any(ch not in "0123456789." for ch in text) or text.count(".") > 1:
        raise MoneyFormatError("not a plain decimal number")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - filtered above
        raise MoneyFormatError("not a plain decimal number") from exc
    if -value.as_tuple().exponent > max_places:  # type: ignore[operator]
        raise MoneyFormatError(f"more than {max_places} decimal places")
    if value == 0 and not allow_zero:
        raise MoneyFormatError("must be greater than zero")
    return value


def yuan_to_fen(yuan: Decimal) -> int:
    """Whole fen of a yuan amount, rounded half-up."""
    return rh(yuan * FEN_PER_YUAN)


def line_amount_fen(unit_price: Decimal, quantity: Decimal) -> int:
    """A claim line's amount: ``rh(unit price × quantity × 100)``."""
    return rh(unit_price * quantity * FEN_PER_YUAN)


#: why a line whose amount rounds to 0 fen is refused (every acquirer and the issuer say it)
ZERO_LINE = "the amount (unit price × quantity) rounds to 0 fen; a line must cost at least 1 fen"


def apply_ratio(fen: int, ratio_bp: int) -> int:
    """``rh(fen × ratio_bp / 10000)``: a ratio in basis points applied to an amount."""
    return rh(Decimal(fen) * ratio_bp / BASIS_POINTS)


def fen_to_yuan_text(fen: int) -> str:
    """Exact yuan text with two places, as the national interface sends money."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole}.{part:02d}"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of integer fen in one currency."""

    fen: int
    currency: str = CURRENCY

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.fen + other.fen, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.fen - other.fen, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError("currency mismatch")

    def __str__(self) -> str:
        return f"{fen_to_yuan_text(self.fen)} {self.currency}"
