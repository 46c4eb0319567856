"""Pure logic of the event machinery: routing plans, cron slots, SMTP URLs, registries."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import ClassVar

import msgspec
import pytest

from hub.kernel.background import Background, OutboxRow
from hub.kernel.db import UnitOfWork
from hub.kernel.events import IntegrationEvent
from hub.kernel.jobs import JobContext, JobRequested, job
from hub.kernel.mail import SEND_MAIL_JOB
from hub.kernel.scheduler import Periodic
from hub.kernel.settings import load_settings, parse_smtp_url
from hub.kernel.subscribers import (
    DELIVER_ACTOR,
    EVENTS_QUEUE,
    Delivery,
    Subscription,
    SubscriptionRegistry,
)


class OrderPlaced(IntegrationEvent, frozen=True):
    event_type: ClassVar[str] = "content.order_placed"
    aggregate_field: ClassVar[str | None] = "order_id"

    order_id: str


class Untyped(IntegrationEvent, frozen=True):
    pass


async def handle(event: OrderPlaced, uow: UnitOfWork) -> None:
    return None


@job("workflow.reindex", queue="slow")
async def reindex(ctx: JobContext, doc: str) -> None:
    return None


@pytest.fixture
def background() -> Iterator[Background]:
    # Building a broker opens no connection: nothing here talks to Redis.
    settings = load_settings(environ={}, redis_url="redis://127.0.0.1:1/0", database_url=None)
    registry = SubscriptionRegistry()
    registry.add("workflow", "workflow", [Subscription(OrderPlaced, handle, name="workflow.a")])
    registry.add("communication", "communication", [Subscription(OrderPlaced, handle)])
    bg = Background(settings, jobs=[reindex], subscriptions=registry, schemas=["content"])
    try:
        yield bg
    finally:
        bg.close()


def _row(position: int, event: IntegrationEvent) -> OutboxRow:
    return OutboxRow(
        schema="content",
        position=position,
        event_id=str(event.event_id),
        event_type=event.event_type,
        aggregate_key=event.aggregate_key(),
        payload=msgspec.json.encode(event).decode(),
        correlation_id=f"req-{position % 2}",
        created_at=0.0,
    )


def test_plan_sends_each_subscriber_its_run_of_events_in_order(background: Background) -> None:
    rows = [_row(i, OrderPlaced(order_id=f"o{i % 3}")) for i in range(1, 121)]
    segments = background.plan(rows, run_size=50)
    assert [n for n, _ in segments] == [50, 50, 20]
    for (n, messages), start in zip(segments, (0, 50, 100), strict=True):
        assert sorted(m.args[0] for m, _ in messages) == [
            "tests.unit.kernel.test_events_logic.handle",
            "workflow.a",
        ]
        for msg, delay in messages:
            assert (msg.queue_name, msg.actor_name, delay) == (EVENTS_QUEUE, DELIVER_ACTOR, None)
            items = [msgspec.convert(i, Delivery) for i in msg.args[1]]
            assert [i.payload for i in items] == [r.payload for r in rows[start : start + n]]
            assert msg.options["hub_schema"] == "content"
            assert "hub_correlation_id" not in msg.options  # mixed correlation ids


def test_plan_routes_job_requests_and_skips_unsubscribed_events(
    background: Background,
) -> None:
    known = reindex.request("doc-1", delay_ms=250)
    unknown = JobRequested(job="workflow.not_here")
    lonely = _row(3, OrderPlaced(order_id="x"))
    lonely = msgspec.structs.replace(lonely, event_type="content.nobody_listens")
    rows = [_row(1, known), _row(2, unknown), lonely]
    [(count, messages)] = background.plan(rows)
    assert count == 3
    assert [(m.queue_name, m.actor_name, m.args, d) for m, d in messages] == [
        ("slow", "workflow.reindex", ("doc-1",), 250),
        ("default", "workflow.not_here", (), None),  # dead-letters visibly on a worker
    ]
    assert messages[0][0].options["hub_key"] == str(known.event_id)


def test_mail_job_is_always_known(background: Background) -> None:
    assert SEND_MAIL_JOB in background.jobs
    assert background.queues() == {"events", "default", "slow", "mail"}


def test_subscription_registry_refuses_duplicates_and_untyped_events() -> None:
    registry = SubscriptionRegistry()
    registry.add("workflow", "workflow", [Subscription(OrderPlaced, handle, name="workflow.a")])
    with pytest.raises(ValueError, match="twice"):
        registry.add("workflow", "workflow", [Subscription(OrderPlaced, handle, name="workflow.a")])
    with pytest.raises(ValueError, match="no event_type"):
        registry.add("workflow", "workflow", [Subscription(Untyped, handle, name="workflow.b")])
    assert [b.name for b in registry.for_type("content.order_placed")] == ["workflow.a"]


def test_aggregate_key_orders_by_aggregate_or_event() -> None:
    placed = OrderPlaced(order_id="o-9")
    assert placed.aggregate_key() == "o-9"
    request = JobRequested(job="workflow.x")
    assert request.aggregate_key() == str(request.event_id)
    assert isinstance(request.event_id, uuid.UUID)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://user%40x:p%3Ass@mail.example:2525?starttls=1",
            {
                "host": "mail.example",
                "port": 2525,
                "username": "user@x",
                "password": "p:ss",
                "use_tls": False,
                "start_tls": True,
            },
        ),
        (
            "smtp://mail.example",
            # STARTTLS required by default: never "if offered", which an attacker strips.
            {"port": 587, "username": None, "start_tls": True, "use_tls": False},
        ),
        (
            "smtps://mail.example?verify=0",
            {"port": 465, "use_tls": True, "start_tls": False, "validate_certs": False},
        ),
        ("smtp://mail.example?starttls=0&timeout=3", {"start_tls": False, "timeout_s": 3.0}),
    ],
)
def test_smtp_urls(url: str, expected: dict[str, object]) -> None:
    config = msgspec.to_builtins(parse_smtp_url(url))
    assert {k: config[k] for k in expected} == expected


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp:///nohost"])
def test_bad_smtp_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="HUB_SMTP_URL"):
        parse_smtp_url(url)


def test_cron_slots_fire_the_latest_missed_slot_once() -> None:
    daily = Periodic("content.nightly", "0 3 * * *", "content.purge")
    t0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
    assert daily.latest_slot(t0, t0 + 3600) is None
    three_days = daily.latest_slot(t0, t0 + 3 * 86_400)
    assert three_days is not None
    assert three_days > t0 + 2 * 86_400  # the most recent 03:00, not the first missed
    every_10s = Periodic("content.often", "* * * * * */10", "content.purge")
    assert every_10s.latest_slot(t0, t0 + 25) == t0 + 20
