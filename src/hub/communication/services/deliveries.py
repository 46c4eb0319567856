"""The delivery log of an organisation, newest first (administrators)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row

from hub.communication import repositories
from hub.identity.api import Membership
from hub.kernel.pagination import Page, after_uuid, page_of
from hub.kernel.store import Store


class DeliveryLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def list(
        self,
        member: Membership,
        *,
        status: str | None,
        channel: str | None,
        notification_id: uuid.UUID | None,
        user_id: uuid.UUID | None,
        limit: int,
        cursor: str | None,
    ) -> Page[Row[Any]]:
        rows = await repositories.delivery_page(
            self.store,
            member.organisation_id,
            status=status,
            channel=channel,
            notification_id=notification_id,
            user_id=user_id,
            before=after_uuid(cursor) if cursor else None,
            limit=limit,
        )
        return page_of(rows, limit, lambda row: (str(row.id),))
