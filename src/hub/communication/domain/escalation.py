"""What becomes of a notification's e-mail once preferences have spoken: sent on its own,
held back as an escalation (sent only if the in-app item is still unread after N
minutes), or batched into the category's digest.

An escalation wins over a digest (its point is to reach someone who has not looked), and
a critical notification is never digested. Preferences and quiet hours are applied again
when an escalation falls due (``services.escalation``), so a choice made meanwhile counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.communication.domain.digests import OFF
from hub.communication.domain.preferences import DEFERRED, DIGESTED, QUEUED, Decision
from hub.kernel.problems import field_invalid

#: The longest wait an escalation may ask for (a week).
MAX_ESCALATION_MINUTES = 7 * 24 * 60
ESCALATION_CHANNELS = ("in_app", "email")


def check_escalation(minutes: int, channels: list[str]) -> int:
    """An escalation needs the in-app item to wait on and the e-mail to send (422)."""
    if not set(ESCALATION_CHANNELS) <= set(channels):
        raise field_invalid(
            "escalateAfterMinutes",
            "escalation sends e-mail when the in-app item stays unread: "
            "it needs both the in_app and email channels",
            code="escalation_needs_in_app_and_email",
        )
    if not 1 <= minutes <= MAX_ESCALATION_MINUTES:
        raise field_invalid("escalateAfterMinutes", f"1 to {MAX_ESCALATION_MINUTES} minutes")
    return minutes


@dataclass(frozen=True)
class EmailRoute:
    status: str
    reason: str
    deliver_after: datetime | None = None
    if_unread: bool = False
    #: The digest period when digested.
    period: str | None = None


def route_email(
    decision: Decision,
    *,
    priority: str,
    escalate_after_minutes: int | None,
    sent_at: datetime,
    period: str,
) -> EmailRoute | None:
    """None: the preference decision stands (skipped e-mail stays skipped)."""
    if decision.status not in (QUEUED, DEFERRED):
        return None
    if escalate_after_minutes:
        return EmailRoute(
            DEFERRED,
            f"escalation: e-mail if unread after {escalate_after_minutes} min",
            deliver_after=sent_at + timedelta(minutes=escalate_after_minutes),
            if_unread=True,
        )
    if priority == "critical" or period == OFF:
        return None
    return EmailRoute(DIGESTED, f"{period} digest", period=period)
