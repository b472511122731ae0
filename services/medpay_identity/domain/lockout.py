"""Abuse limits: at most N failed face attempts per device and per person in a window.

The rule (``MAX_FAILURES`` N, ``FAILURE_WINDOW_S``, ``LOCKOUT_S``):

- **device**: N failures made from one device, against anyone, lock that device for every
  person;
- **person**: N failures against one person made from devices *other than the device bound
  to the person's card* lock the person for every device except that one; the failures of
  the bound device never count towards it, and the person lock never refuses it (the bound
  device is limited by its own device limit only);
- the failure that locks a person also locks every device that failed against the person
  in the window, so whoever made the failures pays for them;
- the bound device is the device of the person's newest ``CARD_ISSUE`` assertion that the
  card service consumed (card binds the new card to exactly that device).

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
