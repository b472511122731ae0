"""Claim requests (Adjudicate, Authorize) → validated claim commands."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import cast

from medpay.card.v1 import card_pb2
from medpay.common.v1 import split_pb2
from medpay_card.domain.adjudication import PRICE_PLACES, QUANTITY_PLACES, ClaimLine
from medpay_card.usecases import commands as cmd
from medpay_card.wire import enums
from medpay_card.wire import fields as f
from medpay_kit.errors import DomainError
from medpay_kit.money import BASIS_POINTS, MoneyFormatError, parse_decimal


def _decimal(text: str, field: str, places: int, line_no: int, reason: str) -> Decimal:
    try:
        return parse_decimal(text, max_places=places)
    except MoneyFormatError as exc:
        raise f.bad(field, f"{field}: {exc}", reason, lineNo=line_no) from None


def claim_line(line: split_pb2.ClaimLine, index: int) -> ClaimLine:
    at = f"lines[{index}]"
    n = line.line_no
    if n <= 0:
        raise f.bad(f"{at}.line_no", "line_no must be a positive integer")
    item_class = cast(str, enums.parse(enums.ITEM_CLASSES, line.item_class, f"{at}.item_class"))
    if not 0 <= line.pre_self_pay_ratio_bp <= BASIS_POINTS:
        raise f.bad(f"{at}.pre_self_pay_ratio_bp", "the pay-first ratio must be 0..10000 bp",
                    lineNo=n)
    try:
        return ClaimLine(
            line_no=n,
            item_code=f.text(line.item_code, f"{at}.item_code", max_len=64, required=True),
            item_class=item_class,  # type: ignore[arg-type]
            unit_price=_decimal(line.unit_price, f"{at}.unit_price", PRICE_PLACES, n,
                                "INVALID_ARGUMENT"),
            quantity=_decimal(line.quantity, f"{at}.quantity", QUANTITY_PLACES, n,
                              "QUANTITY_INVALID"),
            price_cap=(_decimal(line.price_cap, f"{at}.price_cap", PRICE_PLACES, n,
                                "INVALID_ARGUMENT") if line.price_cap else None),
            pre_self_pay_ratio_bp=line.pre_self_pay_ratio_bp,
        )
    except DomainError as exc:
        if "field" in exc.metadata:
            raise
        raise f.bad(at, exc.message, exc.reason, lineNo=n) from None


def claim_lines(lines: Sequence[split_pb2.ClaimLine], most: int) -> tuple[ClaimLine, ...]:
    if not lines:
        raise f.bad("lines", "a claim needs at least one line", "BASKET_EMPTY")
    if len(lines) > most:
        raise f.bad("lines", f"a claim may have at most {most} lines", "TOO_MANY_LINES")
    parsed = tuple(claim_line(line, i) for i, line in enumerate(lines))
    seen: set[int] = set()
    for i, line in enumerate(parsed):
        if line.line_no in seen:
            raise f.bad(f"lines[{i}].line_no", "line numbers must be unique", lineNo=line.line_no)
        seen.add(line.line_no)
    return parsed


def _subject(r: card_pb2.AdjudicateRequest | card_pb2.AuthorizeRequest) -> tuple[str | None, str | None]:
    which = r.WhichOneof("subject")
    if which == "payment_context_id":
        return f.opaque_id(r.payment_context_id, "payment_context_id"), None
    if which == "card_id":
        return None, f.opaque_id(r.card_id, "card_id")
    raise f.bad("subject", "payment_context_id or card_id is required")


def claim(r: card_pb2.AdjudicateRequest | card_pb2.AuthorizeRequest, most_lines: int) -> cmd.Claim:
    context_id, card_id = _subject(r)
    at = None
    if isinstance(r, card_pb2.AdjudicateRequest) and r.HasField("at"):
        at = f.timestamp(r.at, "at")
    reference = ""
    if isinstance(r, card_pb2.AuthorizeRequest):
        reference = f.text(r.acquirer_reference, "acquirer_reference", max_len=64)
    return cmd.Claim(
        payment_context_id=context_id, card_id=card_id,
        merchant_id=f.merchant_id(r.merchant_id),
        medical_type=cast(str, enums.parse(enums.MEDICAL_TYPES, r.medical_type, "medical_type")),
        level=cast(str, enums.parse(enums.LEVELS, r.level, "level")),
        pooling_applies=r.pooling_applies if r.HasField("pooling_applies") else None,
        use_account=r.use_personal_account,
        lines=claim_lines(r.lines, most_lines), at=at, acquirer_reference=reference,
    )
