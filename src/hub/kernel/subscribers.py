"""Event subscriptions: which handler of which context runs for which event type.

A context lists ``Subscription(SomeEvent, handler)`` in its ``ContextModule.subscriptions``
(declared in its bootstrap; the handler lives in its ``handlers`` module). The relay sends
each subscription its own messages, so one failing consumer retries and dead-letters
alone; under load a message carries a run of events (see :func:`deliver`), which falls
back to one event per message when any of them fails. Delivery is at-least-once;
:func:`deliver` makes the effect exactly-once by claiming ``(event_id, handler)`` in the
consuming context's inbox inside the same transaction as the handler's writes.

A :class:`CatchAll` (``ContextModule.catch_all``) receives every integration event of
every context through the same path (own messages, own inbox rows, same retries and
dead letters, same order per aggregate), as an :class:`~hub.kernel.events.EventEnvelope`
built from the wire payload: the audit trail and outbound webhooks consume everything
without importing a single publisher.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from sqlalchemy import Table

from hub.kernel.acting import acting_scope
from hub.kernel.db import Database, UnitOfWork
from hub.kernel.events import EventEnvelope, IntegrationEvent, decode_envelope, decode_event
from hub.kernel.inject import inject
from hub.kernel.outbox import claim_inbox_many, inbox_of, outbox_of

log = structlog.get_logger("hub.events")

#: ``async def handler(event, uow)``: ``uow`` is a unit of work in the consuming context's
#: schema. The kernel commits it (with the inbox row) when the handler returns; the
#: handler may publish events or queue jobs and mail through it, never commit it itself.
Handler = Callable[[Any, UnitOfWork], Awaitable[None]]
#: ``async def handler(envelope, uow, *, some_service)``: the same contract for a catch-all
#: consumer (keyword-only parameters receive services by name, hence ``...``).
EnvelopeHandler = Callable[..., Awaitable[None]]

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)+$")

#: Queue the relay puts event deliveries on (one actor serves every subscription).
EVENTS_QUEUE = "events"
#: One message carries a run of consecutive events for one subscriber, so a busy outbox
#: costs one broker message and one transaction per run rather than per event.
DELIVER_ACTOR = "kernel.deliver_events"


@dataclass(frozen=True)
class Subscription:
    event: type[IntegrationEvent]
    handler: Handler
    #: Stable handler id, recorded in the inbox; renaming it makes old events look new.
    #: Defaults to ``<module>.<function>``.
    name: str | None = None

    @property
    def handler_name(self) -> str:
        if self.name:
            return self.name
        return f"{self.handler.__module__}.{self.handler.__qualname__}"


@dataclass(frozen=True)
class CatchAll:
    """A consumer of every integration event of every context, as envelopes.

    ``name`` is its stable id in the declaring context's inbox (renaming it makes every
    old event look new). Job requests (``kernel.job_requested``) are not events and never
    reach it.
    """

    name: str
    handler: EnvelopeHandler

    @property
    def handler_name(self) -> str:
        return self.name


#: Pseudo event type a catch-all is filed under.
ANY_EVENT = "*"


@dataclass(frozen=True)
class BoundSubscription:
    """A subscription plus the context whose schema its transaction and inbox live in."""

    context: str
    schema: str
    subscription: Subscription | CatchAll

    @property
    def name(self) -> str:
        return self.subscription.handler_name

    @property
    def catch_all(self) -> bool:
        return isinstance(self.subscription, CatchAll)

    @property
    def event_type(self) -> str:
        if isinstance(self.subscription, CatchAll):
            return ANY_EVENT
        return self.subscription.event.event_type

    @property
    def handler(self) -> Handler:
        return self.subscription.handler

    @property
    def outbox(self) -> Table:
        return outbox_of(self.schema)

    @property
    def inbox(self) -> Table:
        return inbox_of(self.schema)


class SubscriptionRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, BoundSubscription] = {}
        self._by_type: dict[str, list[BoundSubscription]] = {}

    def add(
        self, context: str, schema: str, subscriptions: Iterable[Subscription | CatchAll]
    ) -> None:
        for sub in subscriptions:
            if isinstance(sub, Subscription) and not sub.event.event_type:
                raise ValueError(f"{sub.event.__name__} has no event_type to subscribe to")
            bound = BoundSubscription(context=context, schema=schema, subscription=sub)
            if not _NAME_RE.match(bound.name):
                raise ValueError(f"handler name {bound.name!r} must be dotted lower-case")
            if bound.name in self._by_name:
                raise ValueError(f"handler {bound.name!r} subscribed twice")
            self._by_name[bound.name] = bound
            self._by_type.setdefault(bound.event_type, []).append(bound)

    def for_type(self, event_type: str) -> list[BoundSubscription]:
        """Everyone who receives events of this type: its subscribers, then catch-alls."""
        return [*self._by_type.get(event_type, ()), *self._by_type.get(ANY_EVENT, ())]

    def get(self, name: str) -> BoundSubscription | None:
        return self._by_name.get(name)

    def __len__(self) -> int:
        return len(self._by_name)


class Delivery(msgspec.Struct, array_like=True, frozen=True):
    """One event inside a delivery message (a JSON array on the wire)."""

    event_type: str
    payload: str
    correlation_id: str | None = None
    #: The publishing context (its outbox schema); sent to catch-all consumers only.
    source: str | None = None


async def deliver(
    db: Database,
    bound: BoundSubscription,
    items: Sequence[Delivery],
    *,
    services: Mapping[str, Any] | None = None,
) -> list[IntegrationEvent | EventEnvelope]:
    """Run one handler for a run of events in one transaction; returns the ones it handled.

    Events already in the inbox (redeliveries) are skipped; the others are claimed in the
    inbox and handled in order, and everything commits together. Any failure rolls the
    whole run back (the caller then retries the events one by one). Each handler runs in
    the acting scope of its event, so events it publishes keep the original actor and
    organisation (as they keep its correlation id). A handler's keyword-only parameters
    receive the services of those names (``hub.kernel.inject``).
    """
    events: list[IntegrationEvent | EventEnvelope]
    if bound.catch_all:
        events = [
            decode_envelope(
                item.event_type,
                item.payload,
                source=item.source,
                correlation_id=item.correlation_id,
            )
            for item in items
        ]
    else:
        events = [decode_event(item.event_type, item.payload) for item in items]
    handled: list[IntegrationEvent | EventEnvelope] = []
    handler = inject(bound.handler, services or {})
    async with db.unit_of_work(bound.outbox) as uow:
        fresh = await claim_inbox_many(
            uow.session, bound.inbox, bound.name, [(e.event_id, e.event_type) for e in events]
        )
        for item, event in zip(items, events, strict=True):
            if event.event_id not in fresh:
                log.info(
                    "event_duplicate_skipped", handler=bound.name, event_id=str(event.event_id)
                )
                continue
            fresh.discard(event.event_id)  # the same event twice in one run: handled once
            with (
                structlog.contextvars.bound_contextvars(
                    correlation_id=item.correlation_id, event_id=str(event.event_id)
                ),
                acting_scope(
                    event.actor_id,
                    event.organisation_id,
                    actor_type=event.actor_type,
                    request_id=event.request_id,
                    client_address=event.client_address,
                ),
            ):
                await handler(event, uow)
            handled.append(event)
        if not uow.committed:
            await uow.commit()
    return handled
