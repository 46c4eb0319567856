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
from litestar.params import QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from hub.communication.deps import people_only
from hub.communication.schemas import StreamEventDoc, StreamTicketOut
from hub.communication.services.stream import StreamService
from hub.kernel.openapi import problems
from hub.kernel.security import Principal
from hub.kernel.web import BEARER, to_schema

TicketQuery = Annotated[
    str, QueryParameter(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
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
        return to_schema(await notification_stream.ticket(principal.user_id), StreamTicketOut)

    @get(
        operation_id="openStream",
        summary="Server-sent events: `ready`, then notifications and conversation events",
        description="`text/event-stream`. Authenticated by the ticket alone (401 "
        "`invalid_stream_ticket` when unknown, used or expired). Comment lines keep the "
        "connection alive; the server ends it after a few minutes: reconnect with a new "
        "ticket. Best-effort: the inbox stays the authority.",
        security=[],
        responses={
            200: ResponseSpec(
                StreamEventDoc,
                media_type="text/event-stream",
                description="`event: ready`, then `event: notification` with an inbox item as "
                "JSON in `data`, and the conversation events `message.created`, "
                "`message.updated` and `conversation.read`; `: keep-alive` comments between.",
            )
        },
        opt=problems(401),
    )
    async def stream(
        self, ticket: TicketQuery, notification_stream: NamedDependency[StreamService]
    ) -> ServerSentEvent:
        user_id = await notification_stream.redeem(ticket)

        async def messages() -> AsyncIterator[ServerSentEventMessage]:
            async for pushed in notification_stream.events(user_id):
                if pushed.event is None:
                    yield ServerSentEventMessage(comment="keep-alive", data=None)
                else:
                    yield ServerSentEventMessage(event=pushed.event, data=pushed.data)

        return ServerSentEvent(messages())
