"""Readable terminal output: the split as a till prints it, bills, tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

from medpay.common.v1 import money_pb2, split_pb2
from medpay_kit.money import fen_to_yuan_text

console = Console(highlight=False)


def yuan(money: money_pb2.Money) -> str:
    return fen_to_yuan_text(money.amount_fen)


SPLIT_ROWS = (
    ("Total (medfee_sumamt)", "total"),
    ("  over limit (overlmt_selfpay)", "over_limit"),
    ("  full self-pay (fulamt_ownpay_amt)", "full_self_pay"),
    ("  pay-first (preselfpay_amt)", "pre_self_pay"),
    ("  in scope (inscp_scp_amt)", "in_scope"),
    ("Deductible applied (act_pay_dedc)", "deductible"),
    ("Pooled fund (hifp_pay)", "fund_pay"),
    ("Personal account (acct_pay)", "account_pay"),
    ("Cash / mobile wallet (psn_cash_pay)", "cash_pay"),
    ("Account balance after (balc)", "balance_after"),
)


def split_table(split: split_pb2.ClaimSplit, title: str = "Settlement split") -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("part")
    table.add_column("yuan", justify="right")
    for label, field in SPLIT_ROWS:
        table.add_row(label, yuan(getattr(split, field)))
    return table


def lines_table(split: split_pb2.ClaimSplit) -> Table:
    table = Table(title="Per line", title_justify="left")
    for col in ("#", "item", "amount", "over limit", "self-pay", "pay-first", "in scope"):
        table.add_column(col, justify="right" if col not in ("item",) else "left")
    for line in split.lines:
        table.add_row(str(line.line_no), line.item_code, yuan(line.amount), yuan(line.over_limit),
                      yuan(line.full_self_pay), yuan(line.pre_self_pay), yuan(line.in_scope))
    return table


def kv_table(title: str, rows: Iterable[tuple[str, object]]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field")
    table.add_column("value")
    for key, value in rows:
        table.add_row(key, str(value))
    return table


def rows_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Table:
    table = Table(title=title, title_justify="left")
    for header in headers:
        table.add_column(header)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    return table
