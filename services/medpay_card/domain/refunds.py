"""Which lines a refund may still return, and what it returns (via ``adjudication.refund``).

A captured claim has two refund tracks: the **cash** part (returned through the payment
channel) and the **insurance** (HI) part: pooled fund and personal account. Each track
remembers the lines it has not returned yet. ``CASH`` moves the cash track, ``HI`` the
insurance track, ``ALL`` both together. Rules:

- a line returned before in the track(s) a refund moves → ``ALREADY_REFUNDED``
  (no lines named and nothing left → ``ALREADY_REFUNDED`` too);
- ``ALL`` while the tracks differ (some lines were refunded by CASH or HI only) would pay a
  part back twice or mix two bases → ``REFUND_EXCEEDS_PAID``; finish with CASH and HI;
- otherwise the domain's refund rule applies to the lines still kept in the track, with the
  terms and the counters the original settlement started from;
- and, as a guard, no part may in total return more than the settlement paid in it
  (``REFUND_EXCEEDS_PAID``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from medpay_kit.errors import DomainError

from .adjudication import ClaimLine, ClaimSplit, Counters, RefundParts, Terms, adjudicate, refund

ALL, CASH, HI = "ALL", "CASH", "HI"


@dataclass(frozen=True, slots=True)
class RefundTracks:
    """The lines each track still keeps, and the money returned so far per part."""

    cash_kept: frozenset[int]
    hi_kept: frozenset[int]
    fund_returned: int = 0
    account_returned: int = 0
    cash_returned: int = 0

    @classmethod
    def fresh(cls, lines: Iterable[ClaimLine]) -> RefundTracks:
        nos = frozenset(line.line_no for line in lines)
        return cls(nos, nos)

    @property
    def fully_refunded(self) -> bool:
        return not self.cash_kept and not self.hi_kept


@dataclass(frozen=True, slots=True)
class Claim:
    """What a refund needs to know about the original settlement."""

    lines: tuple[ClaimLine, ...]
    split: ClaimSplit
    start: Counters
    terms: Terms
    use_account: bool

    def split_of(self, kept: frozenset[int]) -> ClaimSplit:
        """The split of the lines still kept (the original one while nothing came back)."""
        if kept == {line.line_no for line in self.lines}:
            return self.split
        lines = [line for line in self.lines if line.line_no in kept]
        return adjudicate(lines, self.terms, self.start, use_account=self.use_account)


def plan_refund(claim: Claim, tracks: RefundTracks, kind: str,
                line_nos: Sequence[int]) -> tuple[RefundParts, RefundTracks]:
    """What this refund returns and the tracks afterwards (refuses with a reason)."""
    if kind not in (ALL, CASH, HI):
        raise DomainError("INVALID_ARGUMENT", "refund kind must be ALL, CASH or HI", field="kind")
    all_nos = {line.line_no for line in claim.lines}
    named = set(line_nos)
    unknown = sorted(named - all_nos)
    if unknown:
        raise DomainError("INVALID_ARGUMENT", f"line {unknown[0]} is not a line of the claim",
                          field="line_nos", lineNo=unknown[0])
    if kind == ALL and tracks.cash_kept != tracks.hi_kept:
        if tracks.fully_refunded:
            raise DomainError("ALREADY_REFUNDED", "the claim was already refunded")
        raise DomainError("REFUND_EXCEEDS_PAID",
                          "part of this claim was refunded as CASH or HI only; "
                          "refund the rest with CASH and HI")
    kept = tracks.cash_kept if kind == CASH else tracks.hi_kept
    returned = named or set(kept)
    if not kept or returned - kept:
        raise DomainError("ALREADY_REFUNDED", "the claim, or a named line, was already refunded",
                          field="line_nos")
    kept_lines = [line for line in claim.lines if line.line_no in kept]
    parts = refund(kept_lines, claim.split_of(frozenset(kept)), claim.start, claim.terms,
                   returned_line_nos=returned, kind=kind,  # type: ignore[arg-type]
                   use_account=claim.use_account)
    left = frozenset(kept - returned)
    after = RefundTracks(
        cash_kept=left if kind in (ALL, CASH) else tracks.cash_kept,
        hi_kept=left if kind in (ALL, HI) else tracks.hi_kept,
        fund_returned=tracks.fund_returned + parts.fund_pay,
        account_returned=tracks.account_returned + parts.account_pay,
        cash_returned=tracks.cash_returned + parts.cash_pay,
    )
    if (after.fund_returned > claim.split.fund_pay or after.cash_returned > claim.split.cash_pay
            or after.account_returned > claim.split.account_pay):
        raise DomainError("REFUND_EXCEEDS_PAID", "the refund would return more than was paid")
    return parts, after
