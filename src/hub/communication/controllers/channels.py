"""/orgs/{orgId}/notification-channels: the organisation's chat and SMS channels
(Apprise URLs), managed with ``communication.channels.manage``. Outside the organisation
every route is a 404 (the kernel's ``permission()`` guard); a channel of another
organisation is a 404 too. The URL is write-only: no response carries it."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from hub.communication.domain.permissions import CHANNELS_MANAGE
from hub.communication.schemas import (
    NotificationChannelIn,
    NotificationChannelOut,
    NotificationChannelPatch,
    QuietHoursIO,
)
from hub.communication.services.channels import ChannelDraft, ChannelService, ChannelView
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit

_URL_RULES = (
    "`url` is an Apprise URL (`slack://…`, `msteams://…`, `discord://…`, `matrixs://…`, "
    "`tgram://…`, `json://host/path`, an SMS gateway's …), checked when saved: a scheme "
    "Apprise does not know or a URL its service refuses is a 422 naming `url`; a host that "
    "is not a public address is a 422 `address_not_allowed` unless "
    "`HUB_NOTIFICATION_CHANNEL_ALLOWED_NETWORKS` allows it. The URL is sealed at rest and "
    "never returned: responses show `scheme`, `service` and a masked `host`."
)


def _out(view: ChannelView) -> NotificationChannelOut:
    quiet = view.quiet_hours
    return NotificationChannelOut(
        id=view.id,
        organisation_id=view.organisation_id,
        kind=view.kind,
        name=view.name,
        scheme=view.scheme,
        service=view.service,
        host=view.host,
        enabled=view.enabled,
        categories=view.categories,
        quiet_hours=QuietHoursIO(start=quiet[0], end=quiet[1]) if quiet else None,
        time_zone=view.time_zone,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


class NotificationChannelController(Controller):
    path = "/orgs/{org_id:uuid}/notification-channels"
    tags = ["Communication: channels"]
    security = BEARER_OR_KEY

    @get(
        operation_id="listNotificationChannels",
        summary="The organisation's chat and SMS channels, newest first",
        guards=[permission(CHANNELS_MANAGE)],
    )
    async def list_channels(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        notification_channels: NamedDependency[ChannelService],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[NotificationChannelOut]:
        page = await notification_channels.page(membership, limit=limit, cursor=cursor)
        return Page(
            items=[_out(v) for v in page.items], limit=page.limit, next_cursor=page.next_cursor
        )

    @post(
        operation_id="createNotificationChannel",
        summary="Add a chat or SMS channel (communication.channels.manage)",
        description=_URL_RULES,
        opt=problems(422),
        guards=[permission(CHANNELS_MANAGE)],
    )
    async def create_channel(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        data: JSONBody[NotificationChannelIn],
        notification_channels: NamedDependency[ChannelService],
    ) -> NotificationChannelOut:
        quiet = (data.quiet_hours.start, data.quiet_hours.end) if data.quiet_hours else None
        draft = ChannelDraft(
            kind=data.kind,
            name=data.name,
            url=data.url,
            enabled=data.enabled,
            categories=tuple(data.categories),
            quiet_hours=quiet,
            time_zone=data.time_zone,
        )
        view = await notification_channels.create(membership, draft, actor_id=membership.user_id)
        return _out(view)

    @get(
        "/{channel_id:uuid}",
        operation_id="getNotificationChannel",
        summary="One chat or SMS channel (without its URL)",
        opt=problems(404),
        guards=[permission(CHANNELS_MANAGE)],
    )
    async def get_channel(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        channel_id: FromPath[uuid.UUID],
        notification_channels: NamedDependency[ChannelService],
    ) -> NotificationChannelOut:
        return _out(await notification_channels.get(membership, channel_id))

    @patch(
        "/{channel_id:uuid}",
        operation_id="updateNotificationChannel",
        summary="Change a chat or SMS channel (communication.channels.manage)",
        description="Only the fields sent change; a new `url` is checked like a new "
        "channel's. " + _URL_RULES,
        opt=problems(404, 422),
        guards=[permission(CHANNELS_MANAGE)],
    )
    async def update_channel(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        channel_id: FromPath[uuid.UUID],
        data: JSONBody[NotificationChannelPatch],
        notification_channels: NamedDependency[ChannelService],
    ) -> NotificationChannelOut:
        changes: dict[str, Any] = {
            k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET
        }
        if "categories" in changes:
            changes["categories"] = tuple(changes["categories"])
        if "quiet_hours" in changes:
            quiet = changes["quiet_hours"]
            changes["quiet_hours"] = (quiet.start, quiet.end) if quiet is not None else None
        view = await notification_channels.update(membership, channel_id, changes)
        return _out(view)

    @delete(
        "/{channel_id:uuid}",
        status_code=204,
        operation_id="deleteNotificationChannel",
        summary="Remove a chat or SMS channel (its delivery log stays)",
        opt=problems(404),
        guards=[permission(CHANNELS_MANAGE)],
    )
    async def delete_channel(
        self,
        membership: NamedDependency[Membership],
        org_id: FromPath[uuid.UUID],
        channel_id: FromPath[uuid.UUID],
        notification_channels: NamedDependency[ChannelService],
    ) -> None:
        await notification_channels.delete(membership, channel_id)
