"""Business dates and benefit years: calendar dates in China Standard Time (UTC+8).

The contract says years and business dates are CST calendar dates. China has no daylight
saving time, so a fixed UTC+8 offset is exact; a capture at 2026-03-01T17:30Z counts on
business date 2026-03-02 and in benefit year 2026.
"""

from __future__ import annotations

from datetime import datetime

from medpay_kit.clock import CHINA as CST  # noqa: F401 - the name card's modules use
from medpay_kit.clock import business_date


def benefit_year(at: datetime) -> int:
    """The benefit year (CST) whose counters a claim at ``at`` uses."""
    return business_date(at).year
