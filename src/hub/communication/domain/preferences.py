"""Who gets a notification on which channel, and when: preferences and quiet hours.

For each recipient, category and channel, the answer is the first that speaks of it of:
the user's override, the organisation's default, the category's platform default.
``critical`` ignores all three (and quiet hours): the sender decided it must arrive, and
the service records that it overrode someone's choice.

Quiet hours are a daily window in the user's time zone (``22:00`` to ``07:00`` spans
midnight). Non-critical e-mail and chat falling inside are *deferred* to the end of the
window, never dropped; the in-app inbox is never deferred (it makes no noise).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.communication.api import CHANNELS
from hub.communication.domain.categories import CATEGORIES, Known
from hub.kernel.problems import field_invalid

#: ``HH:MM`` on a 24-hour clock.
CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_CLOCK = re.compile(CLOCK_PATTERN)
#: channel -> on/off, per category.
Switches = Mapping[str, Mapping[str, bool]]

QUEUED, SENT, FAILED, SKIPPED, DEFERRED = "queued", "sent", "failed", "skipped", "deferred"
#: Batched into a digest e-mail (``domain.digests``).
DIGESTED = "digested"
DELIVERY_STATUSES = (QUEUED, SENT, FAILED, SKIPPED, DEFERRED, DIGESTED)


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time


@dataclass(frozen=True)
class Decision:
    status: str
    #: When a deferred delivery goes out (UTC).
    deliver_after: datetime | None = None
    #: A critical notification overrode a preference or quiet hours.
    bypassed: bool = False


def check_switches(
    switches: Switches, name: str, known: Known = CATEGORIES
) -> dict[str, dict[str, bool]]:
    """Category and channel names checked (422 naming ``name.category.channel``)."""
    out: dict[str, dict[str, bool]] = {}
    for category, channels in switches.items():
        if category not in known:
            raise field_invalid(
                f"{name}.{category}",
                f"unknown category; one of: {', '.join(sorted(known))}",
                code="unknown_category",
            )
        for channel in channels:
            if channel not in CHANNELS:
                raise field_invalid(
                    f"{name}.{category}.{channel}",
                    f"unknown channel; one of: {', '.join(CHANNELS)}",
                )
        out[category] = dict(channels)
    return out


def check_time_zone(zone: str | None) -> str | None:
    if zone is None:
        return None
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise field_invalid("timeZone", "not an IANA time zone (Europe/Berlin)") from None
    return zone


def parse_clock(value: str, name: str) -> time:
    if not _CLOCK.match(value):
        raise field_invalid(name, "a time of day as HH:MM (24-hour clock)")
    return time(int(value[:2]), int(value[3:]))


def check_quiet_hours(start: str, end: str) -> QuietHours:
    window = QuietHours(parse_clock(start, "quietHours.start"), parse_clock(end, "quietHours.end"))
    if window.start == window.end:
        raise field_invalid("quietHours.end", "quiet hours cannot start and end at the same time")
    return window


def enabled(
    category: str,
    channel: str,
    organisation: Switches,
    user: Switches,
    known: Known = CATEGORIES,
) -> bool:
    """The user's override (not for a mandatory category), else the organisation's
    default, else the category's own."""
    found = known.get(category)
    mine = {} if found is not None and found.mandatory else user.get(category, {})
    if channel in mine:
        return bool(mine[channel])
    theirs = organisation.get(category, {})
    if channel in theirs:
        return bool(theirs[channel])
    return bool(found and found.defaults.get(channel, False))


def quiet_until(now: datetime, zone: str | None, window: QuietHours | None) -> datetime | None:
    """The end of the quiet window (UTC) when ``now`` falls inside it, else None."""
    if window is None:
        return None
    tz = ZoneInfo(zone) if zone else UTC
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    start, end = window.start, window.end
    if start < end:
        if not start <= clock < end:
            return None
        day = local.date()
    else:  # spans midnight
        if start <= clock:
            day = local.date() + timedelta(days=1)
        elif clock < end:
            day = local.date()
        else:
            return None
    # A wall time a DST jump skips resolves forward through UTC, never before ``now``.
    until = datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
    return max(until, now.astimezone(UTC))


def decide(*, channel: str, priority: str, on: bool, quiet: datetime | None) -> Decision:
    """What happens to one delivery (in-app is "sent" on insert; others are queued)."""
    ready = SENT if channel == "in_app" else QUEUED
    if priority == "critical":
        return Decision(ready, bypassed=not on or (quiet is not None and channel != "in_app"))
    if not on:
        return Decision(SKIPPED)
    if quiet is not None and channel != "in_app":
        return Decision(DEFERRED, deliver_after=quiet)
    return Decision(ready)
