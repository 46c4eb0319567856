"""The time every context reads, so tests move a clock instead of sleeping.

Expiry, SLAs, quiet hours and purges compare against ``runtime.clock()``; a test hands the
kernel a :class:`MovableClock` and advances it. Production uses the wall clock (UTC).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


class MovableClock:
    """A clock a test sets and advances; every reader sees the same instant."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = instant
