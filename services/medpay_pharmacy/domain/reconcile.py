"""Daily reconciliation (3201 totals, 3202 detail rows), pure.

Rows are keyed by ``(settlement_id, refund_id)``: a settlement is a forward row (empty
refund id, positive amounts); each refund, cancellation or reversal is a reverse row with
negative amounts. Totals are net: every row counts once and adds its signed amounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from medpay_pharmacy.domain.settlement import Parts


@dataclass(frozen=True, slots=True)
class Row:
    settlement_id: str
    request_id: str
    refund_id: str
    refund: bool
    parts: Parts  # signed

    @property
    def key(self) -> tuple[str, str]:
        return self.settlement_id, self.refund_id


@dataclass(frozen=True, slots=True)
class Totals:
    count: int = 0
    total: int = 0
    fund_pay: int = 0
    account_pay: int = 0

    @classmethod
    def of(cls, rows: Iterable[Row]) -> Totals:
        count = total = fund = account = 0
        for row in rows:
            count += 1
            total += row.parts.total
            fund += row.parts.fund_pay
            account += row.parts.account_pay
        return cls(count, total, fund, account)


class Kind(StrEnum):
    MISSING_AT_SERVICE = "MISSING_AT_SERVICE"
    MISSING_AT_TILL = "MISSING_AT_TILL"
    AMOUNT_DIFFERS = "AMOUNT_DIFFERS"


@dataclass(frozen=True, slots=True)
class Difference:
    kind: Kind
    till: Row | None
    service: Row | None

    @property
    def key(self) -> tuple[str, str]:
        row = self.till or self.service
        assert row is not None
        return row.key


def differences(till: Sequence[Row], service: Sequence[Row]) -> list[Difference]:
    """Exactly the rows on which the till and the service disagree, in key order."""
    ours = {row.key: row for row in service}
    theirs = {row.key: row for row in till}
    found = []
    for key in sorted(ours.keys() | theirs.keys()):
        mine, yours = ours.get(key), theirs.get(key)
        if mine is None:
            found.append(Difference(Kind.MISSING_AT_SERVICE, yours, None))
        elif yours is None:
            found.append(Difference(Kind.MISSING_AT_TILL, None, mine))
        elif (mine.parts, mine.refund) != (yours.parts, yours.refund):
            found.append(Difference(Kind.AMOUNT_DIFFERS, yours, mine))
    return found
