"""Webhook rules without I/O: patterns, signatures a Standard Webhooks consumer accepts,
the retry schedule with its jitter, and the five-day give-up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from hub.communication.domain import webhooks as rules


@pytest.mark.parametrize(
    ("pattern", "event_type", "hit"),
    [
        ("content.document.*", "content.document.uploaded", True),
        ("content.document.*", "content.document", False),
        ("content.document.*", "content.tag.created", False),
        ("content.*", "content.document.uploaded", True),
        ("*", "identity.member_added", True),
        ("content.*.created", "content.tag.created", True),
        ("content.*.created", "content.tag.deleted", False),
        ("content.document.uploaded", "content.document.uploaded", True),
        ("content.document.uploaded", "content.document.uploaded_more", False),
        ("content.document", "content.document.uploaded", False),
    ],
)
def test_patterns(pattern: str, event_type: str, hit: bool) -> None:
    assert rules.check_pattern(pattern) is None
    assert rules.matches(pattern, event_type) is hit


@pytest.mark.parametrize("pattern", ["", "Content.x", "content..x", "content.doc*", ".a", "a."])
def test_malformed_patterns(pattern: str) -> None:
    assert rules.check_pattern(pattern) is not None


def test_signatures_verify_with_the_standardwebhooks_library() -> None:
    old, new = rules.new_secret(), rules.new_secret()
    assert old.startswith("whsec_")
    assert len(rules.secret_key(old)) == 32
    body = b'{"type":"webhook.ping","timestamp":"2026-01-01T00:00:00Z","data":{}}'
    now = int(datetime.now(UTC).timestamp())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": rules.sign([new, old], "msg_1", now, body),
    }
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["type"] == "webhook.ping"
    with pytest.raises(WebhookVerificationError):
        Webhook(rules.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(body.replace(b"ping", b"pong"), headers)


def test_the_schedule_with_jitter() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    rng = random.Random(7)
    delays = [timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30)]
    delays += [timedelta(hours=h) for h in (2, 5, 10, 10)]
    for failed, delay in enumerate(delays, start=1):
        due = rules.next_attempt(now, failed, rng)
        assert due is not None
        assert delay <= due - now <= delay * 1.1
    assert rules.next_attempt(now, rules.MAX_ATTEMPTS, rng) is None
    assert rules.MAX_ATTEMPTS == 8


def test_given_up_after_five_days() -> None:
    start = datetime(2027, 1, 1, tzinfo=UTC)
    assert not rules.given_up(None, start)
    assert not rules.given_up(start, start + timedelta(days=5, seconds=-1))
    assert rules.given_up(start, start + timedelta(days=5))
