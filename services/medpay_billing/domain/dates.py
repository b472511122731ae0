"""Business dates and due dates (pure).

Dates are calendar dates in China Standard Time (UTC+8): a visit closed at 23:30 CST on
1 March counts on 1 March. A bill issued on day D with ``grace_days`` G is due on D + G
(still DUE that whole day), OVERDUE from D + G + 1 on, and an agreement is blacklisted once
``today - due_date >= blacklist_after_overdue_days``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from medpay_kit.clock import CHINA  # noqa: F401 - the name billing's modules use
from medpay_kit.clock import business_date as business_day
from medpay_kit.errors import DomainError


def due_date(closed_at: datetime, grace_days: int) -> date:
    return business_day(closed_at) + timedelta(days=grace_days)


def is_overdue(due: date, today: date) -> bool:
    """Unpaid after the due date: the day after it, not on it."""
    return today > due


def days_overdue(due: date, today: date) -> int:
    return max(0, (today - due).days)


def should_blacklist(due: date, today: date, after_days: int) -> bool:
    return days_overdue(due, today) >= after_days


def collectable(due: date, today: date) -> bool:
    """Auto-debit runs at and after the due date."""
    return today >= due


def parse_date(text: str, field: str) -> date:
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise DomainError("INVALID_ARGUMENT", f"{field} must be YYYY-MM-DD", field=field)
