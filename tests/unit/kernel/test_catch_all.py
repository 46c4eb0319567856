"""Catch-all subscriptions: routing, envelopes, registry rules (no servers needed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar

import msgspec
import pytest

from hub.kernel.background import Background, OutboxRow
from hub.kernel.db import UnitOfWork
from hub.kernel.events import EventEnvelope, IntegrationEvent, decode_envelope, encode_event
from hub.kernel.jobs import JobRequested
from hub.kernel.settings import load_settings
from hub.kernel.subscribers import CatchAll, Delivery, Subscription, SubscriptionRegistry


class ParcelShipped(IntegrationEvent, frozen=True):
    event_type: ClassVar[str] = "content.parcel_shipped"
    event_version: ClassVar[int] = 3
    aggregate_field: ClassVar[str | None] = "parcel_id"

    parcel_id: str
    weight_grams: int


async def on_parcel(event: ParcelShipped, uow: UnitOfWork) -> None:
    return None


async def audit(envelope: EventEnvelope, uow: UnitOfWork) -> None:
    return None


PARCELS = Subscription(ParcelShipped, on_parcel, name="workflow.p")


def _row(position: int, schema: str, event_type: str, payload: bytes) -> OutboxRow:
    return OutboxRow(
        schema=schema,
        position=position,
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        aggregate_key="k",
        payload=payload.decode(),
        correlation_id="req-1",
        created_at=0.0,
    )


@pytest.fixture
def background() -> Iterator[Background]:
    settings = load_settings(environ={}, redis_url="redis://127.0.0.1:1/0", database_url=None)
    registry = SubscriptionRegistry()
    registry.add("workflow", "workflow", [PARCELS])
    registry.add("content", "content", [CatchAll("content.audit_trail", audit)])
    bg = Background(settings, subscriptions=registry, schemas=["content", "identity"])
    try:
        yield bg
    finally:
        bg.close()


def test_a_catch_all_gets_every_event_in_order_with_its_source_but_no_job_requests(
    background: Background,
) -> None:
    parcel = encode_event(ParcelShipped(parcel_id="p", weight_grams=5))
    rows = [
        _row(1, "content", "content.parcel_shipped", parcel),
        _row(2, "content", "content.nobody_else_listens", b"{}"),
        _row(3, "content", JobRequested.event_type, encode_event(JobRequested(job="x.y"))),
        _row(4, "content", "content.parcel_shipped", parcel),
    ]
    [(count, messages)] = background.plan(rows)
    assert count == 4
    by_handler = {m.args[0]: m.args[1] for m, _ in messages if m.actor_name != "x.y"}
    assert set(by_handler) == {"workflow.p", "content.audit_trail"}
    everything = [msgspec.convert(i, Delivery) for i in by_handler["content.audit_trail"]]
    assert [d.event_type for d in everything] == [
        "content.parcel_shipped",
        "content.nobody_else_listens",
        "content.parcel_shipped",
    ]
    assert {d.source for d in everything} == {"content"}
    # A subscriber of one type keeps the 3-element items it always had.
    assert {len(i) for i in by_handler["workflow.p"]} == {3}


def test_an_envelope_is_built_from_the_wire_payload_alone() -> None:
    actor, org = uuid.uuid4(), uuid.uuid4()
    at = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = ParcelShipped(
        parcel_id="p-1",
        weight_grams=250,
        actor_id=actor,
        organisation_id=org,
        correlation_id="req-9",
        occurred_at=at,
    )
    envelope = decode_envelope(event.event_type, encode_event(event), source="content")
    assert envelope == EventEnvelope(
        event_id=event.event_id,
        event_type="content.parcel_shipped",
        event_version=3,
        source="content",
        occurred_at=at,
        actor_id=actor,
        organisation_id=org,
        correlation_id="req-9",
        payload={"parcelId": "p-1", "weightGrams": 250},
    )
    # Rows written before versions existed, sent without a source (tools): defaults.
    old = b'{"eventId":"%s","occurredAt":"2027-01-02T03:04:05Z","actorId":null,"x":1}' % (
        str(event.event_id).encode()
    )
    legacy = decode_envelope("identity.thing_done", old, correlation_id="c")
    assert (legacy.event_version, legacy.source, legacy.correlation_id) == (1, "identity", "c")
    assert (legacy.actor_id, legacy.organisation_id, legacy.payload) == (None, None, {"x": 1})


def test_catch_all_names_share_the_handler_namespace() -> None:
    registry = SubscriptionRegistry()
    registry.add("content", "content", [CatchAll("content.audit_trail", audit)])
    with pytest.raises(ValueError, match="twice"):
        registry.add("communication", "communication", [CatchAll("content.audit_trail", audit)])
    with pytest.raises(ValueError, match="dotted lower-case"):
        registry.add("content", "content", [CatchAll("Audit", audit)])
    registry.add("workflow", "workflow", [PARCELS])
    assert [b.name for b in registry.for_type("content.parcel_shipped")] == [
        "workflow.p",
        "content.audit_trail",
    ]
    assert [b.name for b in registry.for_type("identity.anything")] == ["content.audit_trail"]
