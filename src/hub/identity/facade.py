"""In-process implementation of :class:`hub.identity.api.IdentityApi`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from hub.identity.api import IdentityApi, UserDisplay, UserSummary
from hub.identity.models import User
from hub.kernel.db import Database

_MAX_IDS = 1000


class IdentityFacade(IdentityApi):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def resolve_principal(self, user_id: uuid.UUID) -> UserSummary | None:
        t = User.__table__
        async with self.db.read() as conn:
            row = (await conn.execute(select(t).where(t.c.id == user_id))).first()
        if row is None or row.disabled_at is not None:
            return None
        return UserSummary(
            id=row.id,
            email=row.email,
            display_name=row.display_name,
            email_verified=row.email_verified_at is not None,
            is_platform_admin=row.is_platform_admin,
            mfa_enabled=row.mfa_enabled,
            created_at=row.created_at,
        )

    async def display_info(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserDisplay]:
        ids = list(dict.fromkeys(user_ids))[:_MAX_IDS]
        if not ids:
            return {}
        t = User.__table__
        async with self.db.read() as conn:
            rows = await conn.execute(
                select(t.c.id, t.c.display_name, t.c.email, t.c.disabled_at).where(t.c.id.in_(ids))
            )
            return {
                r.id: UserDisplay(
                    id=r.id,
                    display_name=r.display_name,
                    email=r.email,
                    active=r.disabled_at is None,
                )
                for r in rows
            }
