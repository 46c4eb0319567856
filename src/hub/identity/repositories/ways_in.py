"""How a person can still sign in once one of their sign-in methods is gone: the one
read both removals (an identity-provider link, a passkey) decide from.

The user's row is locked first, so two concurrent removals (a link and a passkey, or two
passkeys) cannot each count the other as the way in that remains.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from hub.identity.models import Passkey, SsoIdentity, User

#: Stored as the password hash of an account made by single sign-on: no password
#: verifies against it (not an argon2 hash) until its owner sets one (password reset).
NO_PASSWORD = "!sso"  # noqa: S105 (not a password: what no password matches)


@dataclass(frozen=True, slots=True)
class WaysIn:
    has_password: bool
    #: Passkeys and provider links other than the one being removed.
    others: int


async def ways_in_without(
    session: Any,
    user_id: uuid.UUID,
    *,
    link_id: uuid.UUID | None = None,
    passkey_id: uuid.UUID | None = None,
) -> WaysIn | None:
    """The user's ways in other than ``link_id``/``passkey_id``, with the user's row
    locked; None when the user is gone."""
    password_hash = await session.scalar(
        select(User.password_hash).where(User.id == user_id).with_for_update()
    )
    if password_hash is None:
        return None
    links = select(func.count()).select_from(SsoIdentity).where(SsoIdentity.user_id == user_id)
    passkeys = select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
    if link_id is not None:
        links = links.where(SsoIdentity.id != link_id)
    if passkey_id is not None:
        passkeys = passkeys.where(Passkey.id != passkey_id)
    others = await session.scalar(select(links.scalar_subquery() + passkeys.scalar_subquery()))
    return WaysIn(has_password=password_hash != NO_PASSWORD, others=int(others))
