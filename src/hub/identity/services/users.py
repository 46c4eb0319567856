"""Loading users: short read-only sessions whose objects outlive them (detached)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from hub.identity.models import User
from hub.identity.services.runtime import IdentityRuntime


async def load_user(rt: IdentityRuntime, *where: Any) -> User | None:
    async with rt.db.sessionmaker() as session:
        # Closing (not rolling back) leaves the loaded attributes readable once detached.
        return await session.scalar(select(User).where(*where))


async def user_by_id(rt: IdentityRuntime, user_id: uuid.UUID) -> User | None:
    return await load_user(rt, User.id == user_id)


async def user_by_email(rt: IdentityRuntime, email: str) -> User | None:
    return await load_user(rt, User.email == email)
