"""JSON forms of the domain values a hold keeps (lines, terms, counters, split, refund tracks).

A hold stores everything a later refund needs to re-adjudicate exactly as the original
settlement did: the lines, the terms of the policy version applied, the counters the claim
started from and whether the account could pay. Decimals travel as strings, fen as ints.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from medpay_card.domain.adjudication import ClaimLine, ClaimSplit, Counters, LineSplit, Terms
from medpay_card.domain.refunds import Claim, RefundTracks

_SPLIT_INTS = ("total", "over_limit", "full_self_pay", "pre_self_pay", "in_scope", "deductible",
               "fund_pay", "account_pay", "cash_pay", "balance_after")
_LINE_INTS = ("amount", "capped", "over_limit", "full_self_pay", "pre_self_pay", "in_scope",
              "ratio_bp")


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _undec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def line_to_json(line: ClaimLine) -> dict[str, Any]:
    return {"line_no": line.line_no, "item_code": line.item_code, "item_class": line.item_class,
            "unit_price": str(line.unit_price), "quantity": str(line.quantity),
            "price_cap": _dec(line.price_cap), "ratio_bp": line.pre_self_pay_ratio_bp}


def line_from_json(data: dict[str, Any]) -> ClaimLine:
    return ClaimLine(line_no=data["line_no"], item_code=data["item_code"],
                     item_class=data["item_class"], unit_price=Decimal(data["unit_price"]),
                     quantity=Decimal(data["quantity"]), price_cap=_undec(data["price_cap"]),
                     pre_self_pay_ratio_bp=data["ratio_bp"])


def terms_to_json(terms: Terms) -> dict[str, Any]:
    return {name: getattr(terms, name) for name in Terms.__slots__}  # type: ignore[attr-defined]


def terms_from_json(data: dict[str, Any]) -> Terms:
    return Terms(**data)


def counters_to_json(counters: Counters) -> dict[str, int]:
    return {"deductible_used": counters.deductible_used, "pooled_paid": counters.pooled_paid,
            "balance": counters.balance}


def split_to_json(split: ClaimSplit) -> dict[str, Any]:
    data: dict[str, Any] = {name: getattr(split, name) for name in _SPLIT_INTS}
    data["policy_id"], data["policy_version"] = split.policy_id, split.policy_version
    data["lines"] = [
        {"line_no": p.line_no, "item_code": p.item_code, "item_class": p.item_class,
         "price_cap": _dec(p.price_cap), **{n: getattr(p, n) for n in _LINE_INTS}}
        for p in split.lines
    ]
    return data


def split_from_json(data: dict[str, Any]) -> ClaimSplit:
    lines = tuple(
        LineSplit(line_no=p["line_no"], item_code=p["item_code"], item_class=p["item_class"],
                  price_cap=_undec(p["price_cap"]), **{n: p[n] for n in _LINE_INTS})
        for p in data["lines"]
    )
    return ClaimSplit(**{n: data[n] for n in _SPLIT_INTS}, lines=lines,
                      policy_id=data["policy_id"], policy_version=data["policy_version"])


def claim_to_json(claim: Claim) -> dict[str, Any]:
    return {"lines": [line_to_json(line) for line in claim.lines],
            "terms": terms_to_json(claim.terms), "start": counters_to_json(claim.start),
            "use_account": claim.use_account, "split": split_to_json(claim.split)}


def claim_from_json(data: dict[str, Any]) -> Claim:
    return Claim(lines=tuple(line_from_json(x) for x in data["lines"]),
                 split=split_from_json(data["split"]), start=Counters(**data["start"]),
                 terms=terms_from_json(data["terms"]), use_account=data["use_account"])


def tracks_to_json(tracks: RefundTracks) -> dict[str, Any]:
    return {"cash_kept": sorted(tracks.cash_kept), "hi_kept": sorted(tracks.hi_kept),
            "fund_returned": tracks.fund_returned, "account_returned": tracks.account_returned,
            "cash_returned": tracks.cash_returned}


def tracks_from_json(data: dict[str, Any]) -> RefundTracks:
    return RefundTracks(cash_kept=frozenset(data["cash_kept"]), hi_kept=frozenset(data["hi_kept"]),
                        fund_returned=data["fund_returned"],
                        account_returned=data["account_returned"],
                        cash_returned=data["cash_returned"])
