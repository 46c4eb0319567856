"""Digest windows (hourly in UTC, daily in the recipient's zone, DST days), the digest
period rule, and what becomes of an e-mail (own, escalation, digest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.communication.domain.digests import DAILY, HOURLY, OFF, check_digests, period_for, window
from hub.communication.domain.escalation import EmailRoute, check_escalation, route_email
from hub.communication.domain.preferences import (
    DEFERRED,
    DIGESTED,
    QUEUED,
    SKIPPED,
    Decision,
)
from hub.kernel.errors import Invalid

AT = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("period", "at", "zone", "start", "end"),
    [
        (HOURLY, AT, None, AT, AT + timedelta(hours=1)),
        (HOURLY, AT - timedelta(microseconds=1), None, AT - timedelta(hours=1), AT),
        (HOURLY, AT, "Asia/Kolkata", AT, AT + timedelta(hours=1)),  # UTC hours everywhere
        (
            DAILY,
            AT,
            "Europe/Berlin",
            datetime(2027, 2, 28, 23, 0, tzinfo=UTC),
            datetime(2027, 3, 1, 23, 0, tzinfo=UTC),
        ),
        (
            DAILY,
            datetime(2027, 3, 1, 23, 0, tzinfo=UTC),  # midnight in Berlin: the next day
            "Europe/Berlin",
            datetime(2027, 3, 1, 23, 0, tzinfo=UTC),
            datetime(2027, 3, 2, 23, 0, tzinfo=UTC),
        ),
        (
            DAILY,
            datetime(2027, 3, 28, 12, 0, tzinfo=UTC),  # spring forward: a 23-hour day
            "Europe/Berlin",
            datetime(2027, 3, 27, 23, 0, tzinfo=UTC),
            datetime(2027, 3, 28, 22, 0, tzinfo=UTC),
        ),
        (DAILY, AT, None, datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 2, tzinfo=UTC)),
    ],
)
def test_windows_are_half_open_and_in_the_right_zone(
    period: str, at: datetime, zone: str | None, start: datetime, end: datetime
) -> None:
    assert window(period, at, zone) == (start, end)
    assert start <= at < end


def test_the_period_is_the_users_then_the_organisations_then_off() -> None:
    assert period_for("general", {}, {}) == OFF
    assert period_for("general", {"general": DAILY}, {}) == DAILY
    assert period_for("general", {"general": DAILY}, {"general": OFF}) == OFF
    assert period_for("general", {"general": DAILY}, {"documents": HOURLY}) == DAILY


def test_bad_digest_settings_name_the_key() -> None:
    with pytest.raises(Invalid) as err:
        check_digests({"nope": HOURLY}, "digests")
    assert (err.value.errors or [])[0].field == "digests.nope"
    with pytest.raises(Invalid) as err:
        check_digests({"general": "weekly"}, "digests")
    assert (err.value.errors or [])[0].field == "digests.general"
    assert check_digests({"general": HOURLY}, "digests") == {"general": HOURLY}


def test_what_becomes_of_an_email() -> None:
    def route(
        decision: Decision, *, priority: str = "normal", n: int | None = None, p: str = OFF
    ) -> EmailRoute | None:
        return route_email(
            decision, priority=priority, escalate_after_minutes=n, sent_at=AT, period=p
        )

    assert route(Decision(QUEUED)) is None  # on its own
    assert route(Decision(SKIPPED), n=10, p=HOURLY) is None  # switched off stays off
    digested = route(Decision(DEFERRED, deliver_after=AT), p=HOURLY)
    assert digested is not None
    assert (digested.status, digested.period) == (DIGESTED, HOURLY)
    assert route(Decision(QUEUED, bypassed=True), priority="critical", p=DAILY) is None
    escalated = route(Decision(QUEUED), n=30, p=HOURLY)  # escalation wins over the digest
    assert escalated is not None
    assert (escalated.status, escalated.if_unread) == (DEFERRED, True)
    assert escalated.deliver_after == AT + timedelta(minutes=30)
    critical = route(Decision(QUEUED), priority="critical", n=5)
    assert critical is not None
    assert critical.status == DEFERRED


def test_escalation_needs_both_channels() -> None:
    assert check_escalation(5, ["in_app", "email"]) == 5
    for channels in (["email"], ["in_app"]):
        with pytest.raises(Invalid) as err:
            check_escalation(5, channels)
        assert (err.value.errors or [])[0].field == "escalateAfterMinutes"
