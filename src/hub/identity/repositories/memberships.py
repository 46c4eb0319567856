"""Writing a membership: the one statement every way into an organisation uses (creating
it, accepting an invitation, single sign-on, provisioning)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity.models import MemberRole, Membership


async def add_member(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
    role_ids: Iterable[uuid.UUID],
    *,
    at: datetime,
    invited_by: uuid.UUID | None = None,
) -> bool:
    """Make the user a member holding ``role_ids``; False, writing nothing, when they
    already are one (their roles are then left as they are: a second way in never
    changes what the first gave)."""
    added = await session.execute(
        insert(Membership)
        .values(
            organisation_id=organisation_id, user_id=user_id, created_at=at, invited_by=invited_by
        )
        .on_conflict_do_nothing()
        .returning(Membership.user_id)
    )
    if added.first() is None:
        return False
    roles = [
        {"organisation_id": organisation_id, "user_id": user_id, "role_id": r} for r in role_ids
    ]
    if roles:
        await session.execute(insert(MemberRole).values(roles))
    return True
