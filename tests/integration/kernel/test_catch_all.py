"""Catch-all subscription end to end: two publishers' outboxes → relay → one consumer.

``content`` publishes :class:`ThingHappened`; ``workflow`` subscribes to it and, in its
handler, publishes :class:`StepTaken` from its own outbox (it also publishes one
directly). ``communication`` declares a catch-all that records every envelope it gets
in ``kernel_test.envelopes`` inside its transaction, so rows there are effects.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import ClassVar

import msgspec
import pytest
import structlog
from sqlalchemy import text

from hub.kernel.acting import acting_scope
from hub.kernel.db import UnitOfWork
from hub.kernel.deadletter import list_dead
from hub.kernel.events import EventEnvelope, IntegrationEvent
from hub.kernel.outbox import outbox_of
from hub.kernel.runtime import Kernel
from hub.kernel.settings import Settings
from hub.kernel.subscribers import CatchAll, Subscription
from hub.worker import InProcessWorker
from tests.conftest import fast_job_settings
from tests.integration.kernel import eventkit
from tests.integration.kernel.eventkit import ThingHappened, fetch, publish

ACTOR = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-00000000a001")
ORG = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-00000000b001")
ROBOT = uuid.UUID("0190c3d2-8a4b-7c1e-9f00-00000000a002")


class StepTaken(IntegrationEvent, frozen=True):
    event_type: ClassVar[str] = "workflow.step_taken"
    event_version: ClassVar[int] = 2
    aggregate_field: ClassVar[str | None] = "step"

    step: str


async def take_step(event: ThingHappened, uow: UnitOfWork) -> None:
    """A consequence published from a handler: no actor, organisation or correlation."""
    uow.publish(StepTaken(step=f"after-{event.thing_id}-{event.n}"))


async def record_envelope(envelope: EventEnvelope, uow: UnitOfWork) -> None:
    await uow.session.execute(
        text(
            "INSERT INTO kernel_test.envelopes (handler, event_id, event_type, version, source,"
            " actor_id, organisation_id, correlation_id, occurred_at, payload) VALUES"
            " (:handler, :event_id, :event_type, :version, :source, :actor_id,"
            " :organisation_id, :correlation_id, :occurred_at, CAST(:payload AS jsonb))"
        ),
        {
            "handler": uow.schema,
            "event_id": envelope.event_id,
            "event_type": envelope.event_type,
            "version": envelope.event_version,
            "source": envelope.source,
            "actor_id": envelope.actor_id,
            "organisation_id": envelope.organisation_id,
            "correlation_id": envelope.correlation_id,
            "occurred_at": envelope.occurred_at,
            "payload": msgspec.json.encode(envelope.payload).decode(),
        },
    )


async def _reset_envelopes(settings: Settings) -> None:
    await eventkit.reset_effects(settings)
    await fetch(
        settings,
        """
        CREATE TABLE IF NOT EXISTS kernel_test.envelopes (
            id bigserial PRIMARY KEY,
            handler text NOT NULL,
            event_id uuid NOT NULL,
            event_type text NOT NULL,
            version int NOT NULL,
            source text NOT NULL,
            actor_id uuid,
            organisation_id uuid,
            correlation_id text,
            occurred_at timestamptz NOT NULL,
            payload jsonb NOT NULL
        )
        """,
    )
    await fetch(settings, "TRUNCATE kernel_test.envelopes")


@pytest.fixture
async def worker(settings: Settings, clean_state: None) -> AsyncIterator[InProcessWorker]:
    await _reset_envelopes(settings)
    modules = [
        eventkit.module("content"),
        eventkit.module(
            "workflow",
            subscriptions=[Subscription(ThingHappened, take_step, name="workflow.take_step")],
        ),
        eventkit.module(
            "communication", catch_all=[CatchAll("communication.everything", record_envelope)]
        ),
    ]
    w = InProcessWorker(fast_job_settings(settings), modules, threads=2, scheduler=False).start()
    try:
        yield w
    finally:
        await asyncio.to_thread(w.stop)


async def _envelopes(settings: Settings) -> list[dict[str, object]]:
    rows = await fetch(
        settings,
        "SELECT handler, event_id, event_type, version, source, actor_id, organisation_id,"
        " correlation_id, occurred_at, payload::text AS payload FROM kernel_test.envelopes"
        " ORDER BY id",
    )
    return [dict(r) for r in rows]


async def test_catch_all_receives_every_context_events_as_envelopes_exactly_once(
    worker: InProcessWorker, kernel: Kernel, settings: Settings
) -> None:
    thing = eventkit.new_thing()
    things = [ThingHappened(thing_id=thing, n=i) for i in range(3)]
    # As if inside a request: a caller addressing an organisation, a request id.
    with (
        acting_scope(ACTOR, ORG),
        structlog.contextvars.bound_contextvars(request_id="req-catch"),
    ):
        await publish(kernel.db, *things)
    # Published by workflow itself, outside any request, by an explicit actor.
    direct = StepTaken(step="direct", actor_id=ROBOT)
    async with kernel.db.unit_of_work(outbox_of("workflow")) as uow:
        uow.publish(direct)
        await uow.commit()
    await worker.drain()

    got = await _envelopes(settings)
    assert {r["handler"] for r in got} == {"communication"}  # consumed in its own schema
    by_id = {r["event_id"]: r for r in got}
    assert len(by_id) == len(got) == 3 + 3 + 1  # 3 things, 3 consequences, 1 direct

    for event in things:
        row = by_id[event.event_id]
        assert row["event_type"] == "content.thing_happened"
        assert (row["source"], row["version"]) == ("content", 1)
        assert (row["actor_id"], row["organisation_id"]) == (ACTOR, ORG)
        assert row["correlation_id"] == "req-catch"
        assert row["occurred_at"] == event.occurred_at
        assert msgspec.json.decode(str(row["payload"])) == {"thingId": thing, "n": event.n}
    # One run of the same aggregate is handled in commit order.
    from_content = [r for r in got if r["source"] == "content"]
    assert [msgspec.json.decode(str(r["payload"]))["n"] for r in from_content] == [0, 1, 2]

    consequences = [
        r for r in got if r["source"] == "workflow" and r["event_id"] != direct.event_id
    ]
    assert len(consequences) == 3
    for row in consequences:
        # Published by workflow's handler: stamped with the original caller and request.
        assert (row["source"], row["version"]) == ("workflow", 2)
        assert (row["actor_id"], row["organisation_id"]) == (ACTOR, ORG)
        assert row["correlation_id"] == "req-catch"
    assert sorted(msgspec.json.decode(str(r["payload"]))["step"] for r in consequences) == [
        f"after-{thing}-{i}" for i in range(3)
    ]

    mine = by_id[direct.event_id]
    assert (mine["source"], mine["actor_id"], mine["organisation_id"]) == ("workflow", ROBOT, None)
    assert mine["correlation_id"] is None
    assert msgspec.json.decode(str(mine["payload"])) == {"step": "direct"}

    # Redelivery: the broker hands two events over again, twice at once, and a relay
    # that died before marking its batches sends both outboxes again.
    for _ in range(2):
        assert await asyncio.to_thread(worker.background.send_event, things[0]) == 2
        assert await asyncio.to_thread(worker.background.send_event, direct) == 1
    await fetch(settings, "UPDATE content.outbox SET published_at = NULL")
    await fetch(settings, "UPDATE workflow.outbox SET published_at = NULL")
    await worker.drain()

    again = await _envelopes(settings)
    assert Counter(r["event_id"] for r in again) == Counter(r["event_id"] for r in got)
    inbox = await fetch(settings, "SELECT handler, event_type FROM communication.inbox")
    assert len(inbox) == 7
    assert {r["handler"] for r in inbox} == {"communication.everything"}
    # workflow's own subscriber deduplicated too: no second wave of consequences.
    assert len(await fetch(settings, "SELECT 1 FROM workflow.outbox")) == 4


async def test_failing_catch_all_retries_and_dead_letters_a_poison_event_alone(
    settings: Settings, clean_state: None, kernel: Kernel
) -> None:
    await _reset_envelopes(settings)
    attempts: Counter[int] = Counter()

    async def fragile(envelope: EventEnvelope, uow: UnitOfWork) -> None:
        n = int(envelope.payload["n"])
        attempts[n] += 1
        await record_envelope(envelope, uow)  # rolled back whenever the run fails
        if n == 1:
            raise RuntimeError("poison")
        if n == 2 and attempts[n] <= 2:  # the run, then its first retry alone
            raise RuntimeError("not yet")

    modules = [
        eventkit.module("content"),
        eventkit.module("communication", catch_all=[CatchAll("communication.fragile", fragile)]),
    ]
    w = InProcessWorker(fast_job_settings(settings), modules, threads=1, scheduler=False).start()
    try:
        things = [ThingHappened(thing_id=eventkit.new_thing(), n=i) for i in range(3)]
        await publish(kernel.db, *things)
        await w.drain()
        dead = list_dead(w.background.broker.client, w.background.broker.namespace)
    finally:
        await asyncio.to_thread(w.stop)

    got = await _envelopes(settings)
    assert sorted(r["event_id"] for r in got) == sorted([things[0].event_id, things[2].event_id])
    assert attempts[2] == 3
    assert len(dead) == 1
    assert (dead[0].queue, dead[0].actor, dead[0].error) == (
        "events",
        "kernel.deliver_events",
        "RuntimeError: poison",
    )
    assert dead[0].args[0] == "communication.fragile"
    inbox = await fetch(settings, "SELECT event_id FROM communication.inbox")
    assert sorted(r["event_id"] for r in inbox) == sorted(r["event_id"] for r in got)
