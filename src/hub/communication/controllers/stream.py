"""/stream: server-sent events for the signed-in person (a ticket, then the stream).

``GET /stream`` carries no credentials (``EventSource`` cannot send headers): the
single-use ticket from ``POST /stream/ticket`` stands for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from hub.communication.deps import people_only
from hub.communication.schemas import StreamEventDoc, StreamTicketOut
from hub.communication.services.inbox import InboxService
from hub.communication.services.stream import StreamService
from hub.kernel.openapi import problems
from hub.kernel.security import Principal
from hub.kernel.web import BEARER, to_schema

TicketQuery = Annotated[
    str, QueryParameter(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
]
#: The id of the last event a client saw; one the server did not issue gets ``reset``.
LastEventIdHeader = Annotated[
    str | None, HeaderParameter(name="Last-Event-ID", required=False, max_length=100)
]
LastEventIdQuery = Annotated[
    str | None, QueryParameter(name="lastEventId", required=False, max_length=100)
]


class StreamController(Controller):
    path = "/stream"
    tags = ["Communication: stream"]

    @post(
        "/ticket",
        operation_id="createStreamTicket",
        summary="A single-use ticket for GET /stream (valid one minute)",
        guards=[people_only],
        security=BEARER,
    )
    async def ticket(
        self,
        principal: NamedDependency[Principal],
        notification_stream: NamedDependency[StreamService],
    ) -> StreamTicketOut:
        return to_schema(
            await notification_stream.ticket(principal.user_id, principal.session_id),
            StreamTicketOut,
        )

    @get(
        operation_id="openStream",
        summary="Server-sent events: missed events, `ready`, then inbox and conversation changes",
        description="`text/event-stream`. Authenticated by the ticket alone (401 "
        "`invalid_stream_ticket` when unknown, used, expired or its session revoked). "
        "Events: `notification.created` and `notification.updated` (`{unreadCount, item}`), "
        "`unread.count` (`{unreadCount, cause, …}`, e.g. after read-all), `ready` "
        "(`{unreadCount}`, after any replayed events) and `reset` (the events since "
        "`Last-Event-ID` are no longer kept: refetch). Every event but `reset` has an `id`; "
        "send the last one back as the `Last-Event-ID` header or the `lastEventId` query "
        "parameter to receive what was missed. A `: ping` comment comes every "
        "`HUB_STREAM_HEARTBEAT_S` seconds of silence. The server ends the stream after "
        "`HUB_NOTIFICATION_STREAM_MAX_SECONDS` or when the ticket's session is revoked: "
        "reconnect with a new ticket.",
        security=[],
        responses={
            200: ResponseSpec(
                StreamEventDoc,
                media_type="text/event-stream",
                description="`id`, `event` and `data` (JSON) lines per event; `: ping` "
                "comments between. Events: `notification.created`, `notification.updated`, "
                "`unread.count`, `message.created`, `message.updated`, `conversation.read`, "
                "`conversation.typing`, "
                "`ready`, `reset`.",
            )
        },
        opt=problems(401),
    )
    async def stream(
        self,
        ticket: TicketQuery,
        notification_stream: NamedDependency[StreamService],
        inbox: NamedDependency[InboxService],
        last_event_id: LastEventIdHeader = None,
        last_event_id_query: LastEventIdQuery = None,
    ) -> ServerSentEvent:
        holder = await notification_stream.redeem(ticket)

        async def count() -> int:
            return await inbox.unread_count(holder.user_id)

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            since = last_event_id or last_event_id_query
            async for pushed in notification_stream.events(holder, since, count):
                if pushed.event is None:
                    yield ServerSentEventMessage(comment="ping", data=None)
                else:
                    yield ServerSentEventMessage(event=pushed.event, data=pushed.data, id=pushed.id)

        return ServerSentEvent(messages())
