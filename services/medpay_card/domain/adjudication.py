"""Benefit adjudication: who pays what for a priced claim, to the fen.

Implements exactly "The exact rule medpay uses" in DOMAIN.md, with the kit's one
rounding rule (:func:`medpay_kit.money.rh`, half-up to a whole fen):

Per line (price in yuan, ≤ 6 decimals; quantity ≤ 4 decimals; optional price cap)::

    amount     = rh(price × qty × 100)
    capped     = rh(min(price, cap) × qty × 100)
    over_limit = amount − capped
    C: full_self_pay = capped
    B: pre_self_pay  = rh(capped × ratio_bp / 10000);  in_scope = capped − pre_self_pay
    A: in_scope      = capped

Per claim, with :class:`Terms` and the person's :class:`Counters`::

    IN   = Σ in_scope
    ded  = min(IN, max(0, deductible − used))                      (0 without pooling)
    fund = min(rh((IN − ded) × ratio_bp / 10000), max(0, cap − pooled_paid))   (idem)
    person  = total − fund
    account = min(balance, person − [Σ full_self + Σ over_limit unless the policy lets
              the account pay them], floored at 0)                 (0 if forbidden)
    cash    = person − account

Capture (done by the card service, shown here by :meth:`Counters.captured`):
``used += ded``, ``pooled_paid += fund``, ``balance −= account``.
Refunds are in :func:`refund`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from medpay_kit.errors import DomainError
from medpay_kit.money import BASIS_POINTS, FEN_PER_YUAN, ZERO_LINE, apply_ratio, line_amount_fen, rh

ItemClass = Literal["A", "B", "C"]
ITEM_CLASSES: tuple[str, ...] = ("A", "B", "C")
DeductibleScope = Literal["YEAR", "ADMISSION"]
RefundKind = Literal["ALL", "CASH", "HI"]
REFUND_KINDS: tuple[str, ...] = ("ALL", "CASH", "HI")

PRICE_PLACES = 6
QUANTITY_PLACES = 4
#: Bounds that keep every product exact in Decimal's default 28-digit context.
MAX_PRICE = Decimal(100_000_000)  # yuan, exclusive
MAX_QUANTITY = Decimal(1_000_000)  # exclusive


# --------------------------------------------------------------------------- inputs


def _places(value: Decimal) -> int:
    """Number of significant decimal places (``Decimal("1.50")`` has 1)."""
    _, digits, exponent = value.as_tuple()
    places = max(0, -int(exponent))
    while places and digits and digits[-1] == 0:
        digits, places = digits[:-1], places - 1
    return places


def _check_decimal(
    value: object, *, name: str, places: int, limit: Decimal, line_no: int, reason: str
) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise DomainError(reason, f"line {line_no}: {name} must be a decimal number",
                          line_no=line_no)
    if value <= 0:
        raise DomainError(reason, f"line {line_no}: {name} must be greater than zero",
                          line_no=line_no)
    if value >= limit:
        raise DomainError(reason, f"line {line_no}: {name} is too large", line_no=line_no)
    if _places(value) > places:
        raise DomainError(reason, f"line {line_no}: {name} has more than {places} decimals",
                          line_no=line_no)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """One priced line of a claim, as the till or the HIS sends it.

    ``unit_price`` and ``price_cap`` are yuan (≤ 6 decimals), ``quantity`` ≤ 4 decimals.
    ``pre_self_pay_ratio_bp`` is the class-B pay-first ratio (先行自付比例) in basis
    points; it is ignored for classes A and C (the national catalogue often carries 0 for
    A and 100 % for C, both of which this rule already implies).
    Invalid values raise :class:`DomainError` (``QUANTITY_INVALID`` for the quantity,
    ``INVALID_ARGUMENT`` otherwise) naming the line number.
    """

    line_no: int
    item_code: str
    item_class: ItemClass
    unit_price: Decimal
    quantity: Decimal
    price_cap: Decimal | None = None
    pre_self_pay_ratio_bp: int = 0

    def __post_init__(self) -> None:
        if not _is_int(self.line_no) or self.line_no <= 0:
            raise DomainError("INVALID_ARGUMENT",
                              f"line {self.line_no!r}: line number must be a positive integer")
        n = self.line_no
        if not isinstance(self.item_code, str) or not self.item_code.strip():
            raise DomainError("INVALID_ARGUMENT", f"line {n}: item code is empty", line_no=n)
        if self.item_class not in ITEM_CLASSES:
            raise DomainError("INVALID_ARGUMENT",
                              f"line {n}: item class must be A, B or C", line_no=n)
        _check_decimal(self.unit_price, name="unit price", places=PRICE_PLACES,
                       limit=MAX_PRICE, line_no=n, reason="INVALID_ARGUMENT")
        _check_decimal(self.quantity, name="quantity", places=QUANTITY_PLACES,
                       limit=MAX_QUANTITY, line_no=n, reason="QUANTITY_INVALID")
        if line_amount_fen(self.unit_price, self.quantity) == 0:
            raise DomainError("QUANTITY_INVALID", f"line {n}: {ZERO_LINE}", line_no=n)
        if self.price_cap is not None:
            _check_decimal(self.price_cap, name="price cap", places=PRICE_PLACES,
                           limit=MAX_PRICE, line_no=n, reason="INVALID_ARGUMENT")
        ratio = self.pre_self_pay_ratio_bp
        if not _is_int(ratio) or not 0 <= ratio <= BASIS_POINTS:
            raise DomainError("INVALID_ARGUMENT",
                              f"line {n}: pay-first ratio must be 0..10000 basis points",
                              line_no=n)


@dataclass(frozen=True, slots=True)
class Terms:
    """The policy numbers that apply to one claim (see ``policy.terms_for``).

    ``pooling_applies`` already combines the policy (can pooling apply to this
    scheme/medical type at all?) with the institution (is it registered for it?).
    ``deductible_scope`` ``"ADMISSION"`` means the deductible starts afresh for every
    claim: the ``deductible_used`` counter is taken as 0.
    """

    deductible: int
    fund_ratio_bp: int
    yearly_cap: int
    pooling_applies: bool
    account_may_pay_out_of_scope: bool = False
    policy_id: str = ""
    version: int = 0
    deductible_scope: DeductibleScope = "YEAR"

    def __post_init__(self) -> None:
        for name in ("deductible", "yearly_cap"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise DomainError("INVALID_ARGUMENT", f"terms: {name} must be whole fen ≥ 0")
        if not _is_int(self.fund_ratio_bp) or not 0 <= self.fund_ratio_bp <= BASIS_POINTS:
            raise DomainError("INVALID_ARGUMENT", "terms: fund ratio must be 0..10000 bp")
        if self.deductible_scope not in ("YEAR", "ADMISSION"):
            raise DomainError("INVALID_ARGUMENT", "terms: deductible scope is YEAR or ADMISSION")


@dataclass(frozen=True, slots=True)
class Counters:
    """The person's counters before a claim: deductible used and pooled fund paid (this
    year, or this admission), and the personal-account balance. All fen, all ≥ 0."""

    deductible_used: int = 0
    pooled_paid: int = 0
    balance: int = 0

    def __post_init__(self) -> None:
        for name in ("deductible_used", "pooled_paid", "balance"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise DomainError("INVALID_ARGUMENT", f"counters: {name} must be whole fen ≥ 0")

    def captured(self, split: ClaimSplit) -> Counters:
        """The counters after capturing ``split``: used += ded, pooled += fund,
        balance −= account."""
        return Counters(
            deductible_used=self.deductible_used + split.deductible,
            pooled_paid=self.pooled_paid + split.fund_pay,
            balance=self.balance - split.account_pay,
        )


# -------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class LineSplit:
    """One line's parts (fen), with the ratio applied and the cap, for the receipt.

    ``ratio_bp`` is the pay-first ratio actually applied: the line's ratio for class B,
    0 for classes A and C.
    """

    line_no: int
    item_code: str
    item_class: ItemClass
    amount: int
    capped: int
    over_limit: int
    full_self_pay: int
    pre_self_pay: int
    in_scope: int
    ratio_bp: int
    price_cap: Decimal | None


@dataclass(frozen=True, slots=True)
class ClaimSplit:
    """The split of a whole claim, in fen, and the policy version that produced it."""

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
    lines: tuple[LineSplit, ...]
    policy_id: str
    policy_version: int

    @property
    def identities_hold(self) -> bool:
        """Both DOMAIN.md identities, and the claim parts equal the sums of the lines."""
        sums_match = all(
            getattr(self, part) == sum(getattr(line, part) for line in self.lines)
            for part in ("over_limit", "full_self_pay", "pre_self_pay", "in_scope")
        ) and self.total == sum(line.amount for line in self.lines)
        return (
            sums_match
            and self.total == self.over_limit + self.full_self_pay + self.pre_self_pay
            + self.in_scope
            and self.total == self.fund_pay + self.account_pay + self.cash_pay
        )

    def check_identities(self) -> None:
        """Raise ``AssertionError`` unless :attr:`identities_hold`."""
        if not self.identities_hold:
            raise AssertionError(f"claim split breaks an identity: {self!r}")


# ---------------------------------------------------------------------- the rule


def split_line(line: ClaimLine) -> LineSplit:
    """Split one line into over-limit, full self-pay, pay-first self-pay and in-scope."""
    amount = line_amount_fen(line.unit_price, line.quantity)
    price = line.unit_price if line.price_cap is None else min(line.unit_price, line.price_cap)
    capped = rh(price * line.quantity * FEN_PER_YUAN)
    full_self = pre_self = in_scope = ratio = 0
    if line.item_class == "C":
        full_self = capped
    elif line.item_class == "B":
        ratio = line.pre_self_pay_ratio_bp
        pre_self = apply_ratio(capped, ratio)
        in_scope = capped - pre_self
    else:
        in_scope = capped
    return LineSplit(
        line_no=line.line_no, item_code=line.item_code, item_class=line.item_class,
        amount=amount, capped=capped, over_limit=amount - capped,
        full_self_pay=full_self, pre_self_pay=pre_self, in_scope=in_scope,
        ratio_bp=ratio, price_cap=line.price_cap,
    )


def _check_lines(lines: Sequence[ClaimLine]) -> None:
    if not lines:
        raise DomainError("BASKET_EMPTY", "a claim needs at least one line")
    seen: set[int] = set()
    for line in lines:
        if not isinstance(line, ClaimLine):
            raise DomainError("INVALID_ARGUMENT", "claim lines must be ClaimLine values")
        if line.line_no in seen:
            raise DomainError("INVALID_ARGUMENT", f"line {line.line_no}: duplicate line number",
                              line_no=line.line_no)
        seen.add(line.line_no)


def adjudicate(
    lines: Sequence[ClaimLine], terms: Terms, counters: Counters, *, use_account: bool
) -> ClaimSplit:
    """Split a claim between the pooled fund, the personal account and cash.

    Pure: the counters are read, never changed (see :meth:`Counters.captured`).
    ``use_account=False`` is the request forbidding the account (``acct_used_flag``).
    An empty claim raises ``BASKET_EMPTY``; a repeated line number ``INVALID_ARGUMENT``.
    """
    lines = tuple(lines)
    _check_lines(lines)
    parts = tuple(split_line(line) for line in lines)
    total = sum(p.amount for p in parts)
    over_limit = sum(p.over_limit for p in parts)
    full_self = sum(p.full_self_pay for p in parts)
    pre_self = sum(p.pre_self_pay for p in parts)
    in_scope = sum(p.in_scope for p in parts)

    deductible = fund = 0
    if terms.pooling_applies:
        used = 0 if terms.deductible_scope == "ADMISSION" else counters.deductible_used
        deductible = min(in_scope, max(0, terms.deductible - used))
        cap_left = max(0, terms.yearly_cap - counters.pooled_paid)
        fund = min(apply_ratio(in_scope - deductible, terms.fund_ratio_bp), cap_left)

    person = total - fund
    account = 0
    if use_account:
        payable = person
        if not terms.account_may_pay_out_of_scope:
            payable = max(0, person - full_self - over_limit)
        account = min(counters.balance, payable)

    split = ClaimSplit(
        total=total, over_limit=over_limit, full_self_pay=full_self, pre_self_pay=pre_self,
        in_scope=in_scope, deductible=deductible, fund_pay=fund, account_pay=account,
        cash_pay=person - account, balance_after=counters.balance - account, lines=parts,
        policy_id=terms.policy_id, policy_version=terms.version,
    )
    split.check_identities()
    return split


# -------------------------------------------------------------------------- refunds

_CLAIM_PARTS = ("over_limit", "full_self_pay", "pre_self_pay", "in_scope", "deductible")
_MONEY_PARTS = ("fund_pay", "account_pay", "cash_pay")


@dataclass(frozen=True, slots=True)
class CounterRelease:
    """How a refund moves the counters back (all amounts ≥ 0):
    ``deductible_used −= deductible_used``, ``pooled_paid −= pooled_paid``,
    ``balance += balance``."""

    deductible_used: int = 0
    pooled_paid: int = 0
    balance: int = 0

    def applied_to(self, counters: Counters) -> Counters:
        """The counters after the refund (never below zero)."""
        return Counters(
            deductible_used=max(0, counters.deductible_used - self.deductible_used),
            pooled_paid=max(0, counters.pooled_paid - self.pooled_paid),
            balance=counters.balance + self.balance,
        )


@dataclass(frozen=True, slots=True)
class RefundParts:
    """What a refund gives back, in fen (every part ≥ 0).

    ``total`` is always the money that comes back: ``fund_pay + account_pay + cash_pay``.
    For ``ALL`` the fee parts (over-limit … in-scope) describe the returned lines, so both
    identities hold. ``CASH`` and ``HI`` move money only: their fee parts and
    ``deductible`` are 0 and ``total`` is the cash part (``CASH``) or the fund plus
    account parts (``HI``). ``remaining`` is the re-adjudication of the lines kept
    (``None`` when every line comes back); ``release`` says how the counters move.
    """

    kind: RefundKind
    total: int
    over_limit: int
    full_self_pay: int
    pre_self_pay: int
    in_scope: int
    deductible: int
    fund_pay: int
    account_pay: int
    cash_pay: int
    release: CounterRelease
    returned_line_nos: tuple[int, ...]
    remaining: ClaimSplit | None


def refund(
    original_lines: Sequence[ClaimLine],
    original_split: ClaimSplit,
    start_counters: Counters,
    terms: Terms,
    *,
    returned_line_nos: Iterable[int],
    kind: RefundKind,
    use_account: bool,
) -> RefundParts:
    """What comes back when some or all lines of a settled claim are returned.

    The delta: a **full** refund (every line returned) takes each part of
    ``original_split`` exactly. A **partial** refund re-adjudicates the lines kept with
    the same ``terms``, ``start_counters`` (the counters the original settlement started
    from) and ``use_account``; each part's delta is ``max(0, original − recomputed)``.
    (Every part is monotone in the basket, so the floor never bites and the deltas
    satisfy both identities.) The original split must be what the rule gives for
    ``original_lines``; otherwise ``INVALID_ARGUMENT``.

    What the kind keeps of the delta:

    - ``ALL``: every part; the counters move back by the deductible, fund and account
      deltas (used −= ded, pooled −= fund, balance += account).
    - ``CASH``: only the cash delta comes back (through the payment channel);
      ``total = cash_pay``; the counters do not move (cash never touched them).
    - ``HI``: only the insurance delta comes back: fund and account;
      ``total = fund_pay + account_pay``; the counters move back as for ``ALL``
      (the centre's booking, deductible included, is the insurance side).
      ``CASH`` then ``HI`` on the same lines adds up to ``ALL``.

    For several partial refunds in a row, pass the previous ``remaining`` split and the
    lines still kept as the "original", with the same start counters.
    """
    if kind not in REFUND_KINDS:
        raise DomainError("INVALID_ARGUMENT", "refund kind must be ALL, CASH or HI")
    lines = tuple(original_lines)
    _check_lines(lines)
    line_nos = {line.line_no for line in lines}
    if line_nos != {p.line_no for p in original_split.lines}:
        raise DomainError("INVALID_ARGUMENT", "the original split does not match its lines")
    returned = _returned_set(returned_line_nos, line_nos)

    if returned == line_nos:
        delta = {part: getattr(original_split, part) for part in _CLAIM_PARTS + _MONEY_PARTS}
        remaining = None
    else:
        if adjudicate(lines, terms, start_counters, use_account=use_account) != original_split:
            raise DomainError("INVALID_ARGUMENT",
                              "the original split is not what its lines, terms and counters give")
        kept = tuple(line for line in lines if line.line_no not in returned)
        remaining = adjudicate(kept, terms, start_counters, use_account=use_account)
        delta = {
            part: max(0, getattr(original_split, part) - getattr(remaining, part))
            for part in _CLAIM_PARTS + _MONEY_PARTS
        }
    return _keep_kind(delta, kind, tuple(sorted(returned)), remaining)


def _returned_set(returned_line_nos: Iterable[int], line_nos: Collection[int]) -> set[int]:
    returned = set(returned_line_nos)
    if not returned:
        raise DomainError("INVALID_ARGUMENT", "a refund must return at least one line")
    unknown = sorted(n for n in returned if n not in line_nos)
    if unknown:
        raise DomainError("INVALID_ARGUMENT",
                          f"line {unknown[0]}: not a line of the original claim",
                          line_no=unknown[0])
    return returned


def _keep_kind(
    delta: dict[str, int], kind: str, returned: tuple[int, ...], remaining: ClaimSplit | None
) -> RefundParts:
    release = CounterRelease(
        deductible_used=delta["deductible"], pooled_paid=delta["fund_pay"],
        balance=delta["account_pay"],
    )
    kept: Collection[str] = delta.keys()
    if kind == "CASH":
        kept, release = ("cash_pay",), CounterRelease()
    elif kind == "HI":
        kept = ("fund_pay", "account_pay")
    parts = {part: amount if part in kept else 0 for part, amount in delta.items()}
    total = parts["fund_pay"] + parts["account_pay"] + parts["cash_pay"]
    return RefundParts(kind=kind, total=total, release=release,  # type: ignore[arg-type]
                       returned_line_nos=returned, remaining=remaining, **parts)
