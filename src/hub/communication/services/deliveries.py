"""The delivery log: an organisation's, newest first (administrators), and the one way
a channel's send job records how an attempt ended."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import Row, func, literal, literal_column, update
from sqlalchemy.dialects.postgresql import JSONB

from hub.communication import repositories
from hub.communication.domain.preferences import SENT
from hub.identity.api import Membership
from hub.kernel.clock import Clock
from hub.kernel.pagination import Page, after_uuid, page_of
from hub.kernel.store import Store

#: Provider attempts kept per delivery (the newest): retries of a long outage must not
#: grow a row without bound.
MAX_PROVIDER_ATTEMPTS = 50


async def record_outcome(
    store: Store,
    clock: Clock,
    delivery_id: uuid.UUID,
    *,
    status: str,
    provider: str | None,
    error: str | None,
    tried: Sequence[msgspec.Struct] = (),
) -> None:
    """One run of a delivery's job: ``attempts`` + 1, the status, the provider, the
    error (kept from an earlier run when None) and the providers tried."""
    t = repositories.deliveries_t
    now = clock()
    values: dict[str, Any] = {
        "status": status,
        "attempts": t.c.attempts + 1,
        "updated_at": now,
        "provider": provider,
    }
    if error is not None:
        values["last_error"] = error
    if status == SENT:
        values["sent_at"] = now
    if tried:
        # Appended in the same UPDATE (a concurrent redelivery cannot lose a line), the
        # newest MAX_PROVIDER_ATTEMPTS kept.
        added = literal(msgspec.to_builtins(list(tried)), JSONB)
        values["provider_attempts"] = func.jsonb_path_query_array(
            t.c.provider_attempts.op("||")(added),
            literal_column(f"'$[last - {MAX_PROVIDER_ATTEMPTS - 1} to last]'::jsonpath"),
        )
    async with store.uow() as uow:
        await uow.session.execute(update(t).where(t.c.id == delivery_id).values(**values))
        await uow.commit()


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
