"""Double-entry posting rules of an insured person's ledger.

Every person has these ledger accounts (balances are signed sums of their entries):

- ``PERSONAL``: the personal account's available money (个人账户); never negative.
- ``HOLD``: money of the personal account reserved by open authorizations; never negative.
- ``POOLED_FUND``: the pooled fund's side of this person's claims (goes negative as it pays).
- ``MERCHANT_CLEARING:<merchant>``: what is owed to a merchant for captured claims.
- ``ALLOCATION``: where opening balances and period credits come from.

Each movement below is one ledger transaction whose postings sum to zero. The holder sees
``balance = PERSONAL + HOLD`` (balc), ``held = HOLD`` and ``available = PERSONAL``. The
cash part of a claim is paid through the payment channel and never enters this ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

PERSONAL, HOLD, POOLED_FUND, ALLOCATION = "PERSONAL", "HOLD", "POOLED_FUND", "ALLOCATION"
CLEARING_PREFIX = "MERCHANT_CLEARING:"

OPENING_BALANCE, CREDIT = "OPENING_BALANCE", "CREDIT"
HOLD_PLACED, RELEASE, SETTLEMENT, REFUND = "HOLD", "RELEASE", "SETTLEMENT", "REFUND"
KINDS = (OPENING_BALANCE, CREDIT, HOLD_PLACED, RELEASE, SETTLEMENT, REFUND)


def clearing(merchant_id: str) -> str:
    return CLEARING_PREFIX + merchant_id


@dataclass(frozen=True, slots=True)
class Posting:
    account: str
    amount: int  # signed fen


@dataclass(frozen=True, slots=True)
class Movement:
    """One balanced ledger transaction (zero postings are dropped)."""

    kind: str
    postings: tuple[Posting, ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown movement kind {self.kind!r}")
        if sum(p.amount for p in self.postings) != 0:
            raise AssertionError(f"unbalanced movement {self!r}")

    def change(self, account: str) -> int:
        return sum(p.amount for p in self.postings if p.account == account)

    @property
    def personal_change(self) -> int:
        return self.change(PERSONAL)

    @property
    def held_change(self) -> int:
        return self.change(HOLD)

    @property
    def balance_change(self) -> int:
        """Change of what the holder calls the balance (PERSONAL + HOLD)."""
        return self.personal_change + self.held_change

    @property
    def is_empty(self) -> bool:
        return not self.postings


def _movement(kind: str, *postings: tuple[str, int]) -> Movement:
    return Movement(kind, tuple(Posting(a, n) for a, n in postings if n))


def _non_negative(*amounts: int) -> None:
    if any(a < 0 for a in amounts):
        raise ValueError("movement amounts are whole fen ≥ 0")


def opening_balance(amount: int) -> Movement:
    _non_negative(amount)
    return _movement(OPENING_BALANCE, (ALLOCATION, -amount), (PERSONAL, amount))


def credit(amount: int) -> Movement:
    _non_negative(amount)
    return _movement(CREDIT, (ALLOCATION, -amount), (PERSONAL, amount))


def hold(account_part: int) -> Movement:
    """Authorize: reserve the account part (PERSONAL → HOLD)."""
    _non_negative(account_part)
    return _movement(HOLD_PLACED, (PERSONAL, -account_part), (HOLD, account_part))


def release(account_part: int) -> Movement:
    """Void or expiry: give the reserved account part back (HOLD → PERSONAL)."""
    _non_negative(account_part)
    return _movement(RELEASE, (HOLD, -account_part), (PERSONAL, account_part))


def settlement(account_part: int, fund_part: int, merchant_id: str) -> Movement:
    """Capture: the held account part and the pooled fund's part go to the merchant."""
    _non_negative(account_part, fund_part)
    return _movement(SETTLEMENT, (HOLD, -account_part), (POOLED_FUND, -fund_part),
                     (clearing(merchant_id), account_part + fund_part))


def refund(account_part: int, fund_part: int, merchant_id: str) -> Movement:
    """Refund: the merchant gives back the account and fund parts."""
    _non_negative(account_part, fund_part)
    return _movement(REFUND, (clearing(merchant_id), -(account_part + fund_part)),
                     (PERSONAL, account_part), (POOLED_FUND, fund_part))
