"""/notifications: send (202), the caller's inbox and its marks, and the delivery log.

Sending names its organisation in the body, so the service applies the tenancy rule
(404 outside it, 403 without ``communication.notifications.send``). The inbox is the
signed-in person's own across organisations: another user's item is a 404.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from hub.communication.deps import people_only
from hub.communication.domain.permissions import DELIVERIES_READ, SEND
from hub.communication.schemas import (
    CountOut,
    DeliveryOut,
    InboxItemOut,
    InboxPage,
    ScheduledOut,
    SendIn,
    SentOut,
    SnoozeIn,
    UpdatedOut,
)
from hub.communication.services.deliveries import DeliveryLog
from hub.communication.services.inbox import InboxService
from hub.communication.services.sending import Recipients, SendRequest, SendService
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import (
    BEARER,
    BEARER_OR_KEY,
    Cursor,
    Idempotency,
    IdempotencyKey,
    Limit,
    page_as,
    to_schema,
)

CategoryQuery = Annotated[str | None, QueryParameter(required=False, min_length=1, max_length=64)]
OrganisationFilter = Annotated[
    uuid.UUID | None, QueryParameter(name="organisationId", required=False)
]
OrganisationQuery = Annotated[uuid.UUID, QueryParameter(name="organisationId")]
InboxStatus = Literal["unread", "read", "archived", "snoozed"]
DeliveryStatus = Literal["queued", "sent", "failed", "skipped", "deferred", "digested"]
ChannelQuery = Literal["in_app", "email", "chat", "sms", "push"]


class NotificationController(Controller):
    path = "/notifications"
    tags = ["Communication: notifications"]

    @post(
        operation_id="sendNotification",
        summary="Send a notification to members (fan-out runs in the background)",
        description="Recipients: `userIds` (non-members are dropped), `roleIds`, a "
        "`permission` and/or `everyone`. 202 once recorded, with the number of members it "
        "goes to. Accepts an `Idempotency-Key` header: a retry answers the same id. "
        "`escalateAfterMinutes` (with the `in_app` and `email` channels): in-app at once, the "
        "e-mail only if the item is still unread that many minutes later. `sendAt` (with a "
        "time zone, in the future, at most 366 days ahead; 422 naming `sendAt` otherwise) "
        "schedules it: everything is checked now, it goes out within a minute of that time "
        "to the recipients still members then, and until then it is listed at "
        "`GET /notifications/scheduled` and may be cancelled.",
        status_code=202,
        security=BEARER_OR_KEY,
        opt=problems(403, 404, 409, 422),
    )
    async def send(
        self,
        data: JSONBody[SendIn],
        principal: NamedDependency[Principal],
        notifications: NamedDependency[SendService],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[SentOut]:
        request = SendRequest(
            organisation_id=data.organisation_id,
            template_key=data.template_key,
            recipients=Recipients(
                user_ids=data.recipients.user_ids,
                role_ids=data.recipients.role_ids,
                permission=data.recipients.permission,
                everyone=data.recipients.everyone,
                topics=data.recipients.topics,
            ),
            payload=data.payload,
            category=data.category,
            priority=data.priority,
            channels=data.channels,
            escalate_after_minutes=data.escalate_after_minutes,
            send_at=data.send_at,
        )

        async def produce() -> SentOut:
            return to_schema(await notifications.send(principal, request), SentOut)

        return await idempotency.respond(
            key=idempotency_key,
            caller=principal.user_id,
            operation="sendNotification",
            request=data,
            produce=produce,
            result_type=SentOut,
            status_code=202,
        )

    @get(
        operation_id="listInbox",
        summary="The caller's in-app notifications, newest first",
        description="Without `status`: every item not archived.",
        guards=[people_only],
        security=BEARER,
    )
    async def list_inbox(
        self,
        principal: NamedDependency[Principal],
        inbox: NamedDependency[InboxService],
        status: Annotated[InboxStatus | None, QueryParameter(required=False)] = None,
        category: CategoryQuery = None,
        organisation_id: OrganisationFilter = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> InboxPage:
        page = await inbox.list(
            principal.user_id,
            status=status,
            category=category,
            organisation_id=organisation_id,
            limit=limit,
            cursor=cursor,
        )
        return page_as(page, InboxItemOut)

    @get(
        "/unread-count",
        operation_id="countUnreadNotifications",
        summary="How many of the caller's notifications are unread",
        guards=[people_only],
        security=BEARER,
    )
    async def unread_count(
        self, principal: NamedDependency[Principal], inbox: NamedDependency[InboxService]
    ) -> CountOut:
        return CountOut(count=await inbox.unread_count(principal.user_id))

    @post(
        "/read-all",
        operation_id="readAllNotifications",
        summary="Mark every unread notification (of a category) read",
        status_code=200,
        guards=[people_only],
        security=BEARER,
    )
    async def read_all(
        self,
        principal: NamedDependency[Principal],
        inbox: NamedDependency[InboxService],
        category: CategoryQuery = None,
    ) -> UpdatedOut:
        return UpdatedOut(updated=await inbox.read_all(principal.user_id, category))

    async def _mark(
        self, principal: Principal, inbox: InboxService, item_id: uuid.UUID, action: str
    ) -> InboxItemOut:
        return to_schema(await inbox.mark(principal.user_id, item_id, action), InboxItemOut)

    @post(
        "/{item_id:uuid}/read",
        operation_id="readNotification",
        summary="Mark a notification read",
        status_code=200,
        guards=[people_only],
        security=BEARER,
        opt=problems(404),
    )
    async def read(
        self,
        principal: NamedDependency[Principal],
        inbox: NamedDependency[InboxService],
        item_id: FromPath[uuid.UUID],
    ) -> InboxItemOut:
        return await self._mark(principal, inbox, item_id, "read")

    @post(
        "/{item_id:uuid}/unread",
        operation_id="unreadNotification",
        summary="Mark a notification unread",
        status_code=200,
        guards=[people_only],
        security=BEARER,
        opt=problems(404),
    )
    async def unread(
        self,
        principal: NamedDependency[Principal],
        inbox: NamedDependency[InboxService],
        item_id: FromPath[uuid.UUID],
    ) -> InboxItemOut:
        return await self._mark(principal, inbox, item_id, "unread")

    @post(
        "/{item_id:uuid}/archive",
        operation_id="archiveNotification",
        summary="Archive a notification (it leaves the default list and the count)",
        status_code=200,
        guards=[people_only],
        security=BEARER,
        opt=problems(404),
    )
    async def archive(
        self,
        principal: NamedDependency[Principal],
        inbox: NamedDependency[InboxService],
        item_id: FromPath[uuid.UUID],
    ) -> InboxItemOut:
        return await self._mark(principal, inbox, item_id, "archive")

    @post(
        "/{item_id:uuid}/unarchive",
        operation_id="unarchiveNotification",
        summary="Bring an archived notification back",
        status_code=200,
        guards=[people_only],
        security=BEARER,
        opt=problems(404),
    )
    async def unarchive(
        self,
        principal: NamedDependency[Principal],
        inbox: NamedDependency[InboxService],
        item_id: FromPath[uuid.UUID],
    ) -> InboxItemOut:
        return await self._mark(principal, inbox, item_id, "unarchive")

    @post(
        "/{item_id:uuid}/snooze",
        operation_id="snoozeNotification",
        summary="Hide a notification from the unread count until a time (unread after)",
        status_code=200,
        guards=[people_only],
        security=BEARER,
        opt=problems(404, 422),
    )
    async def snooze(
        self,
        data: JSONBody[SnoozeIn],
        principal: NamedDependency[Principal],
        inbox: NamedDependency[InboxService],
        item_id: FromPath[uuid.UUID],
    ) -> InboxItemOut:
        row = await inbox.mark(principal.user_id, item_id, "snooze", until=data.until)
        return to_schema(row, InboxItemOut)


class DeliveryController(Controller):
    path = "/notifications/deliveries"
    tags = ["Communication: notifications"]
    security = BEARER_OR_KEY

    @get(
        operation_id="listDeliveries",
        summary="The organisation's delivery log, newest first",
        guards=[permission(DELIVERIES_READ)],
    )
    async def list_deliveries(
        self,
        membership: NamedDependency[Membership],
        delivery_log: NamedDependency[DeliveryLog],
        organisation_id: OrganisationQuery,
        status: Annotated[DeliveryStatus | None, QueryParameter(required=False)] = None,
        channel: Annotated[ChannelQuery | None, QueryParameter(required=False)] = None,
        notification_id: Annotated[
            uuid.UUID | None, QueryParameter(name="notificationId", required=False)
        ] = None,
        user_id: Annotated[uuid.UUID | None, QueryParameter(name="userId", required=False)] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[DeliveryOut]:
        page = await delivery_log.list(
            membership,
            status=status,
            channel=channel,
            notification_id=notification_id,
            user_id=user_id,
            limit=limit,
            cursor=cursor,
        )
        return page_as(page, DeliveryOut)


class ScheduledNotificationController(Controller):
    path = "/notifications/scheduled"
    tags = ["Communication: notifications"]
    security = BEARER_OR_KEY

    @get(
        operation_id="listScheduledNotifications",
        summary="The organisation's notifications waiting for their sendAt",
        description="For those who may send (`communication.notifications.send`), in the "
        "order they were scheduled.",
        guards=[permission(SEND)],
    )
    async def list_scheduled(
        self,
        membership: NamedDependency[Membership],
        notifications: NamedDependency[SendService],
        organisation_id: OrganisationQuery,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ScheduledOut]:
        page = await notifications.scheduled(membership, limit=limit, cursor=cursor)
        return page_as(page, ScheduledOut)

    @delete(
        "/{notification_id:uuid}",
        operation_id="cancelScheduledNotification",
        summary="Cancel a scheduled notification before it goes out",
        description="404 unless you may send in its organisation; 409 `not_scheduled` once "
        "it went out or was cancelled. Publishes `communication.notification.cancelled`.",
        status_code=204,
        opt=problems(403, 404, 409),
    )
    async def cancel(
        self,
        principal: NamedDependency[Principal],
        notifications: NamedDependency[SendService],
        notification_id: FromPath[uuid.UUID],
    ) -> None:
        await notifications.cancel(principal, notification_id)
