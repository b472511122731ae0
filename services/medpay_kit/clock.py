"""Time: timezone-aware UTC, from one injectable clock; business dates in China time.

``Clock`` reads the wall clock plus an optional offset in seconds from a file. Tests move
time forward across real processes by writing that file (``MEDPAY_<SVC>_CLOCK_OFFSET_FILE``);
production leaves it unset.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

#: China Standard Time. China keeps no daylight saving time, so a fixed offset is exact.
CHINA = timezone(timedelta(hours=8), "CST")


def business_date(at: datetime) -> date:
    """The business date of an instant: its calendar date in China (UTC+8), so a capture
    at 2026-03-01T17:30Z counts on 2026-03-02. A naive value is UTC (as SQLite returns it)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(CHINA).date()


class Clock:
    def __init__(self, offset_file: Path | None = None) -> None:
        self._offset_file = offset_file
        self._offset = 0.0
        self._read_at = float("-inf")

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._current_offset())

    def today(self) -> date:
        return self.now().date()

    def _current_offset(self) -> float:
        if self._offset_file is None:
            return 0.0
        mono = time.monotonic()
        if mono - self._read_at > 0.1:
            try:
                self._offset = float(self._offset_file.read_text().strip() or 0)
            except (FileNotFoundError, ValueError):
                self._offset = 0.0
            self._read_at = mono
        return self._offset


class FixedClock(Clock):
    """A clock for unit tests: stands still until moved."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)
