"""The settlement slip a till prints (结算单), as plain text (pure)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from medpay_kit.money import fen_to_yuan_text

WIDTH = 44
TITLE = "医保移动支付结算单 SETTLEMENT"


@dataclass(frozen=True, slots=True)
class SlipLine:
    line_no: int
    item_code: str
    name: str
    item_class: str
    quantity: str
    unit_price: str
    amount: int
    self_paid: int  # over-limit + full self-pay + pay-first, in fen


@dataclass(frozen=True, slots=True)
class SlipRefund:
    refund_id: str
    kind: str
    business_date: str
    total: int
    fund_pay: int
    account_pay: int
    cash_pay: int


@dataclass(frozen=True, slots=True)
class Slip:
    pharmacy: str
    terminal_id: str
    settlement_id: str
    request_id: str
    status: str
    business_date: str
    settled_at: str  # local time text
    masked_name: str
    insurance_type: str
    issuer_reference: str
    channel_transaction_id: str
    failure_reason: str
    lines: list[SlipLine]
    total: int
    over_limit: int
    full_self_pay: int
    pre_self_pay: int
    in_scope: int
    deductible: int
    fund_pay: int
    account_pay: int
    cash_pay: int
    balance_after: int
    refunds: list[SlipRefund] = field(default_factory=list)


def _width(text: str) -> int:
    """Columns on a till printer: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _row(label: str, value: str) -> str:
    gap = WIDTH - _width(label) - _width(value)
    if gap >= 1:
        return f"{label}{' ' * gap}{value}"
    chunks = [value[i:i + WIDTH] for i in range(0, len(value), WIDTH)] or [""]
    return "\n".join([label, *(" " * max(0, WIDTH - _width(c)) + c for c in chunks)])


def _yuan(fen: int) -> str:
    return fen_to_yuan_text(fen)


def render(slip: Slip) -> str:
    rule = "-" * WIDTH
    out = [
        " " * ((WIDTH - _width(TITLE)) // 2) + TITLE, rule,
        _row("Pharmacy", slip.pharmacy), _row("Till", slip.terminal_id),
        _row("Settlement", slip.settlement_id), _row("Msg id", slip.request_id),
        _row("Business date", slip.business_date), _row("Time", slip.settled_at),
        _row("Insured", f"{slip.masked_name} ({slip.insurance_type})"),
        _row("Status", slip.status), rule,
    ]
    for line in slip.lines:
        out.append(f"{line.line_no:>2} {line.name} [{line.item_class}]")
        out.append(_row(f"   {line.quantity} x {line.unit_price}", _yuan(line.amount)))
        if line.self_paid:
            out.append(_row("   self-paid part", _yuan(line.self_paid)))
    out += [
        rule,
        _row("Total 医疗费总额", _yuan(slip.total)),
        _row("  over cap 超限价自付", _yuan(slip.over_limit)),
        _row("  class C 全自费", _yuan(slip.full_self_pay)),
        _row("  class B first 先行自付", _yuan(slip.pre_self_pay)),
        _row("  in scope 符合范围", _yuan(slip.in_scope)),
        _row("  deductible 起付线", _yuan(slip.deductible)),
        rule,
        _row("Pooled fund 统筹基金", _yuan(slip.fund_pay)),
        _row("Personal account 个人账户", _yuan(slip.account_pay)),
        _row("Cash (channel) 个人现金", _yuan(slip.cash_pay)),
        _row("Account balance 余额", _yuan(slip.balance_after)),
        rule,
        _row("Issuer ref", slip.issuer_reference or "-"),
        _row("Channel txn", slip.channel_transaction_id or "-"),
    ]
    if slip.failure_reason:
        out.append(_row("Failed", slip.failure_reason))
    for refund in slip.refunds:
        out += [rule, _row(f"Refund {refund.kind}", refund.refund_id),
                _row("  date", refund.business_date),
                _row("  fund / account / cash",
                     f"{_yuan(refund.fund_pay)} / {_yuan(refund.account_pay)} / "
                     f"{_yuan(refund.cash_pay)}")]
    out.append(rule)
    return "\n".join(out)
