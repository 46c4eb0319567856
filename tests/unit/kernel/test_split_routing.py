"""Where background work goes when contexts are split: each context's jobs and event
deliveries on queues of its own, consumed only by the processes serving it, and events
reaching subscribers that live in another service."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import msgspec
import pytest

from hub.app import context_modules, load_settings
from hub.identity.api import UserRegistered
from hub.identity.tasks import prune_expired_rows
from hub.kernel.background import Background, OutboxRow
from hub.kernel.events import IntegrationEvent
from hub.worker import build_background, periodic_of, scheduler_prefix

NO_REDIS = "redis://127.0.0.1:1/0"  # building a broker opens no connection


def _background(**environ: str) -> Background:
    settings = load_settings(environ=environ, redis_url=NO_REDIS, database_url=None)
    return build_background(settings, context_modules())


@pytest.fixture
def identity_alone() -> Iterator[Background]:
    bg = _background(HUB_CONTEXTS="identity")
    try:
        yield bg
    finally:
        bg.close()


@pytest.fixture
def monolith() -> Iterator[Background]:
    bg = _background()
    try:
        yield bg
    finally:
        bg.close()


def _row(event: IntegrationEvent | msgspec.Struct, event_type: str) -> OutboxRow:
    return OutboxRow(
        schema="identity",
        position=1,
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        aggregate_key="k",
        payload=msgspec.json.encode(event).decode(),
        correlation_id="req-1",
        created_at=0.0,
    )


def test_identity_events_reach_subscribers_served_elsewhere(identity_alone: Background) -> None:
    event = UserRegistered(user_id=uuid.uuid4(), email="a@example.com", display_name="A")
    [(_, messages)] = identity_alone.plan([_row(event, event.event_type)])
    queues = {m.args[0]: m.queue_name for m, _ in messages}
    # The audit trail (content) and outbound webhooks (communication) consume everything.
    assert queues["content.audit_trail"] == "events.content"
    assert queues["communication.webhooks"] == "events.communication"
    # This process relays only its own outbox and consumes only its own queues.
    assert identity_alone.schemas == ("identity",)
    declared = identity_alone.broker.get_declared_queues()
    assert "events.identity" in declared
    assert "events.content" not in declared
    assert "default.content" not in declared


def test_a_contexts_jobs_go_to_its_own_queue(identity_alone: Background) -> None:
    request = prune_expired_rows.request()
    [(_, [(msg, _)])] = identity_alone.plan([_row(request, request.event_type)])
    assert msg.queue_name == f"{prune_expired_rows.queue}.identity"
    assert msg.queue_name in identity_alone.broker.get_declared_queues()
    assert identity_alone.route("mail", None) == "mail"  # the kernel's jobs stay shared


def test_the_monolith_keeps_one_queue_per_kind(monolith: Background) -> None:
    event = UserRegistered(user_id=uuid.uuid4(), email="a@example.com", display_name="A")
    [(_, messages)] = monolith.plan([_row(event, event.event_type)])
    assert {m.queue_name for m, _ in messages} == {"events"}
    request = prune_expired_rows.request()
    [(_, [(msg, _)])] = monolith.plan([_row(request, request.event_type)])
    assert msg.queue_name == prune_expired_rows.queue


def test_each_service_elects_its_own_scheduler_leader() -> None:
    whole = load_settings(environ={})
    alone = load_settings(environ={"HUB_CONTEXTS": "identity"})
    rest = load_settings(
        environ={
            "HUB_CONTEXTS": "workflow,content,communication",
            "HUB_REMOTE_IDENTITY_URL": "http://i:1",
        }
    )
    prefixes = {scheduler_prefix(s) for s in (whole, alone, rest)}
    assert len(prefixes) == 3
    assert scheduler_prefix(rest) == (f"{scheduler_prefix(whole)}:communication+content+workflow")
    names = {p.name for p in periodic_of(context_modules(), alone)}
    assert "identity.prune_expired" in names
    assert not any(n.startswith(("content.", "communication.", "workflow.")) for n in names)
