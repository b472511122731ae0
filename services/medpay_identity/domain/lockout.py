"""Abuse limits: at most N failed face attempts per person and per device in a window.

Each subject (a person, a device) is judged on its own. Failures count when they fall in
the window ending now *and* after the subject's last lockout ended, so the failures that
caused a lockout do not lock the subject again once it has served it. The failure that
reaches ``max_failures`` locks the subject for ``lockout``. A locked subject can still be
confirmed at a counter (the non-face fallback); the lockout only stops face attempts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from medpay_kit.errors import DomainError


@dataclass(frozen=True, slots=True)
class LockState:
    """Where one subject (or the strictest of several) stands."""

    remaining: int
    locked_until: datetime | None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def refuse_if_locked(self, now: datetime) -> None:
        if self.locked_until is not None and now < self.locked_until:
            raise locked_out(self.locked_until, now)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_failures: int
    window: timedelta
    lockout: timedelta

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.window <= timedelta(0) or self.lockout <= timedelta(0):
            raise ValueError("a lockout policy needs at least one failure, a window and a duration")

    def counting_from(self, now: datetime, locked_until: datetime | None) -> datetime:
        """Failures strictly after this instant count against the subject."""
        start = now - self.window
        return max(start, locked_until) if locked_until is not None else start

    def assess(self, failures: Iterable[datetime], locked_until: datetime | None,
               now: datetime) -> LockState:
        """The state of one subject from its failure times and its last lockout."""
        if locked_until is not None and now < locked_until:
            return LockState(remaining=0, locked_until=locked_until)
        since = self.counting_from(now, locked_until)
        counted = sorted(at for at in failures if since < at <= now)
        if len(counted) >= self.max_failures:  # only reachable through a race: lock from the last
            return LockState(remaining=0, locked_until=counted[-1] + self.lockout)
        return LockState(remaining=self.max_failures - len(counted), locked_until=None)

    def after_failure(self, before: LockState, now: datetime) -> LockState:
        """The state once one more failure is recorded at ``now``."""
        remaining = max(0, before.remaining - 1)
        return LockState(remaining=remaining, locked_until=now + self.lockout if remaining == 0 else None)


def strictest(states: Sequence[LockState]) -> LockState:
    """Person and device together: the fewest attempts left, the latest lockout."""
    locks = [s.locked_until for s in states if s.locked_until is not None]
    return LockState(remaining=min(s.remaining for s in states), locked_until=max(locks) if locks else None)


def locked_out(until: datetime, now: datetime) -> DomainError:
    retry_after = max(1, int((until - now).total_seconds() + 0.999))
    return DomainError(
        "LOCKED_OUT",
        "too many failed face attempts; retry later or confirm identity at a counter",
        lockedUntil=until.isoformat().replace("+00:00", "Z"),
        retryAfterSeconds=retry_after,
    )
