"""Digests: a category's e-mail batched into one message per window.

A user (override) or an organisation (default) sets a category to ``hourly`` or
``daily``; ``off`` (the platform default) sends each e-mail on its own. An item belongs to
the half-open window ``[start, end)`` holding the time its notification was sent, so an
item sent at exactly 10:00:00 is in the 10:00 window, never in both. Hourly windows are
clock hours (UTC; an hour is an hour in every zone that matters here); daily windows are
the recipient's calendar days in their time zone (UTC when unset).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.communication.domain.categories import CATEGORIES, Known
from hub.kernel.problems import field_invalid

OFF, HOURLY, DAILY = "off", "hourly", "daily"
PERIODS = (OFF, HOURLY, DAILY)
#: category -> period
Periods = Mapping[str, str]


def check_digests(periods: Periods, name: str, known: Known = CATEGORIES) -> dict[str, str]:
    """Category names and periods checked (422 naming ``name.category``)."""
    out: dict[str, str] = {}
    for category, period in periods.items():
        if category not in known:
            raise field_invalid(
                f"{name}.{category}",
                f"unknown category; one of: {', '.join(sorted(known))}",
                code="unknown_category",
            )
        if period not in PERIODS:
            raise field_invalid(f"{name}.{category}", f"one of: {', '.join(PERIODS)}")
        out[category] = period
    return out


def period_for(category: str, organisation: Periods, user: Periods) -> str:
    """The user's choice, else the organisation's default, else ``off``."""
    if category in user:
        return user[category]
    return organisation.get(category, OFF)


def window(period: str, at: datetime, zone: str | None) -> tuple[datetime, datetime]:
    """The window ``[start, end)`` (UTC) of ``period`` that holds ``at``."""
    if period == HOURLY:
        start = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    if period == DAILY:
        tz = ZoneInfo(zone) if zone else UTC
        day = at.astimezone(tz).date()
        start = datetime.combine(day, time(0), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)
    raise ValueError(f"no window for period {period!r}")
