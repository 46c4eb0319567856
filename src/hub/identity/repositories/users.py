"""Users by id or address: one read, rows with the User columns as attributes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol, cast

from sqlalchemy import bindparam, select

from hub.identity.models import User
from hub.kernel.store import Store


class UserRecord(Protocol):
    """A user as read (a row with the ``users`` columns), not a tracked ORM object:
    changes go through an UPDATE in a unit of work."""

    id: uuid.UUID
    email: str
    display_name: str
    password_hash: str
    password_changed_at: datetime
    email_verified_at: datetime | None
    disabled_at: datetime | None
    mfa_enabled: bool
    is_platform_admin: bool
    created_at: datetime
    updated_at: datetime


_users = User.__table__
#: Built once: building the expression per request costs more than running it.
_BY_ID = select(_users).where(_users.c.id == bindparam("user_id"))
_BY_EMAIL = select(_users).where(_users.c.email == bindparam("email"))


async def user_by_id(store: Store, user_id: uuid.UUID) -> UserRecord | None:
    return cast(UserRecord | None, await store.first(_BY_ID, {"user_id": user_id}))


async def user_by_email(store: Store, email: str) -> UserRecord | None:
    return cast(UserRecord | None, await store.first(_BY_EMAIL, {"email": email}))
