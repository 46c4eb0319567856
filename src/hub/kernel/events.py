"""Integration events: the only thing one context tells another asynchronously.

Framework-free on purpose (import-linter forbids SQLAlchemy, Litestar, dramatiq and Redis
here) so a context's ``api`` module can declare its events and a split-out service can
consume them with nothing but msgspec.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import msgspec
from uuid_utils.compat import uuid7


def _now() -> datetime:
    return datetime.now(UTC)


class IntegrationEvent(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """Base of every integration event.

    Subclasses set ``event_type`` (``"<context>.<name>"``, stable: consumers and the
    outbox key on it) and add payload fields of primitives only (str, int, bool, UUID,
    datetime, lists/dicts of those), never ORM objects.

    ``actor_id``, ``organisation_id`` and ``correlation_id`` are stamped by
    ``UnitOfWork.publish`` from the request or job being served when the service leaves
    them unset (see :mod:`hub.kernel.acting`). On the wire UUIDs are strings, so a
    consumer without these classes reads ``"actorId": "0190…"``.
    """

    event_type: ClassVar[str] = ""
    #: Bumped when the payload changes incompatibly; catch-all consumers (audit trail,
    #: webhooks) see it in the envelope and the payload carries it as ``eventVersion``.
    event_version: ClassVar[int] = 1
    #: Events of one aggregate are delivered in the order they were committed.
    aggregate_field: ClassVar[str | None] = None

    event_id: uuid.UUID = msgspec.field(default_factory=uuid7)
    occurred_at: datetime = msgspec.field(default_factory=_now)
    actor_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    correlation_id: str | None = None
    #: Who the actor is ("user", "api_key", "system", "workflow", "ai"), which HTTP request
    #: caused the event and the caller's address: stamped like the actor, for the audit
    #: trail. Left off the wire when unset (see :data:`OPTIONAL_KEYS`).
    actor_type: str | None = None
    request_id: str | None = None
    client_address: str | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.event_type:
            EVENT_TYPES.register(cls)

    def aggregate_key(self) -> str:
        """Ordering key: the aggregate's id when the event names one, else the event id."""
        if self.aggregate_field is None:
            return str(self.event_id)
        return str(getattr(self, self.aggregate_field))


E = TypeVar("E", bound=IntegrationEvent)


class EventTypeRegistry:
    """Maps ``event_type`` strings to their classes so a consumer can decode a payload."""

    def __init__(self) -> None:
        self._types: dict[str, type[IntegrationEvent]] = {}

    def register(self, cls: type[IntegrationEvent]) -> None:
        existing = self._types.get(cls.event_type)
        if (
            existing is not None
            and existing is not cls
            and existing.__qualname__ != cls.__qualname__
        ):
            raise ValueError(f"event type {cls.event_type!r} declared twice")
        self._types[cls.event_type] = cls

    def get(self, event_type: str) -> type[IntegrationEvent]:
        try:
            return self._types[event_type]
        except KeyError:
            raise LookupError(f"unknown event type {event_type!r}") from None

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._types

    def names(self) -> list[str]:
        return sorted(self._types)


EVENT_TYPES = EventTypeRegistry()

_encoder = msgspec.json.Encoder()

#: Payload key holding :attr:`IntegrationEvent.event_version` (absent: version 1).
VERSION_KEY = "eventVersion"
#: Base-class payload keys written only when set, so events published outside a request
#: (jobs, CLI) look exactly as they did before the audit trail wanted them.
OPTIONAL_KEYS = ("actorType", "requestId", "clientAddress")
#: Payload keys of the base class, which an envelope lifts out of its ``payload``.
_ENVELOPE_KEYS = frozenset(
    {
        "eventId",
        "occurredAt",
        "actorId",
        "organisationId",
        "correlationId",
        VERSION_KEY,
        *OPTIONAL_KEYS,
    }
)


def event_payload(event: IntegrationEvent) -> dict[str, Any]:
    """The event as its outbox row and broker messages carry it (camelCase builtins)."""
    data: dict[str, Any] = msgspec.to_builtins(event)
    for key in OPTIONAL_KEYS:
        if data.get(key) is None:
            data.pop(key, None)
    data[VERSION_KEY] = event.event_version
    return data


def encode_event(event: IntegrationEvent) -> bytes:
    return _encoder.encode(event_payload(event))


def decode_event(event_type: str, data: bytes | str) -> IntegrationEvent:
    cls = EVENT_TYPES.get(event_type)
    return msgspec.json.decode(data, type=cls)


class EventEnvelope(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """Any integration event, as a catch-all consumer receives it.

    Built from the wire payload alone, so the audit trail or outbound webhooks handle
    every context's events without importing (or even knowing) their classes.
    ``payload`` holds the event's own fields (camelCase, as published); the base fields
    are lifted out into the envelope.
    """

    event_id: uuid.UUID
    event_type: str
    event_version: int
    #: The context whose outbox published it.
    source: str
    occurred_at: datetime
    actor_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    correlation_id: str | None
    payload: dict[str, Any]
    actor_type: str | None = None
    request_id: str | None = None
    client_address: str | None = None


class _Head(msgspec.Struct, kw_only=True, rename="camel"):
    event_id: uuid.UUID
    occurred_at: datetime
    actor_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    correlation_id: str | None = None
    event_version: int = 1
    actor_type: str | None = None
    request_id: str | None = None
    client_address: str | None = None


_head_decoder = msgspec.json.Decoder(_Head)
_dict_decoder = msgspec.json.Decoder(dict[str, Any])


def decode_envelope(
    event_type: str,
    data: bytes | str,
    *,
    source: str | None = None,
    correlation_id: str | None = None,
) -> EventEnvelope:
    """The envelope of a wire payload; ``source`` defaults to the event type's prefix."""
    head = _head_decoder.decode(data)
    raw = _dict_decoder.decode(data)
    return EventEnvelope(
        event_id=head.event_id,
        event_type=event_type,
        event_version=head.event_version,
        source=source or event_type.split(".", 1)[0],
        occurred_at=head.occurred_at,
        actor_id=head.actor_id,
        organisation_id=head.organisation_id,
        correlation_id=correlation_id or head.correlation_id,
        payload={k: v for k, v in raw.items() if k not in _ENVELOPE_KEYS},
        actor_type=head.actor_type,
        request_id=head.request_id,
        client_address=head.client_address,
    )
