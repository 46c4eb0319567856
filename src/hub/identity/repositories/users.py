"""Users by id or address: one read, rows with the User columns as attributes (and the
two flags every wire shape of a user derives from them, so a row converts as it is)."""

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

    @property
    def email_verified(self) -> bool: ...  # email_verified_at is set

    @property
    def disabled(self) -> bool: ...  # disabled_at is set


_users = User.__table__
#: The users columns plus the derived flags: what every read of a user selects.
EMAIL_VERIFIED = _users.c.email_verified_at.is_not(None).label("email_verified")
USER_COLUMNS = (*_users.c, EMAIL_VERIFIED, _users.c.disabled_at.is_not(None).label("disabled"))
#: Built once: building the expression per request costs more than running it.
_BY_ID = select(*USER_COLUMNS).where(_users.c.id == bindparam("user_id"))
_BY_EMAIL = select(*USER_COLUMNS).where(_users.c.email == bindparam("email"))


async def user_by_id(store: Store, user_id: uuid.UUID) -> UserRecord | None:
    return cast(UserRecord | None, await store.first(_BY_ID, {"user_id": user_id}))


async def user_by_email(store: Store, email: str) -> UserRecord | None:
    return cast(UserRecord | None, await store.first(_BY_EMAIL, {"email": email}))
