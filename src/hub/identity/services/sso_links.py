"""The accounts a person linked to identity providers: listing them and unlinking one.

Unlinking is a sensitive change (a stolen token must not cut its owner off from their
provider), so it needs a recent sign-in, like removing a passkey. The last way in is
kept, as Keycloak does: an account made by single sign-on has no password
(``NO_PASSWORD``), so unlinking its only link while it has no passkey either would leave
nothing to sign in with but a password reset, and is refused (409 ``last_sign_in_method``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from hub.identity.api import SsoLinkRemoved
from hub.identity.domain.sso import may_unlink
from hub.identity.models import IdentityProvider, Passkey, SsoIdentity, User
from hub.identity.services.sso_sign_in import NO_PASSWORD
from hub.kernel.errors import Conflict, NotFound
from hub.kernel.pagination import Page
from hub.kernel.security import Principal, require_recent_authentication
from hub.kernel.store import Store

_links = SsoIdentity.__table__
_providers = IdentityProvider.__table__


@dataclass(eq=False)
class SsoLinks:
    store: Store
    recent_auth_seconds: int

    async def page(
        self, principal: Principal, *, limit: int | None, cursor: str | None
    ) -> Page[Any]:
        stmt = (
            select(
                _links.c.id,
                _links.c.provider_id,
                _providers.c.name.label("provider_name"),
                _providers.c.issuer,
                _providers.c.organisation_id,
                _links.c.subject,
                _links.c.created_at.label("linked_at"),
            )
            .join(_providers, _providers.c.id == _links.c.provider_id)
            .where(_links.c.user_id == principal.user_id)
        )
        return await self.store.page(stmt, _links.c.id, limit=limit, cursor=cursor)

    async def remove(self, principal: Principal, link_id: uuid.UUID) -> None:
        require_recent_authentication(principal, self.recent_auth_seconds)
        async with self.store.uow() as uow:
            session = uow.session
            # The user's row, locked: two concurrent unlinks cannot each see the other link.
            password_hash = await session.scalar(
                select(User.password_hash).where(User.id == principal.user_id).with_for_update()
            )
            link = (
                await session.execute(
                    select(_links.c.provider_id).where(
                        _links.c.id == link_id, _links.c.user_id == principal.user_id
                    )
                )
            ).first()
            if password_hash is None or link is None:
                raise NotFound("No such linked identity provider.", code="sso_link_not_found")
            if not may_unlink(
                has_password=password_hash != NO_PASSWORD,
                other_ways_in=await self._other_ways_in(session, principal.user_id, link_id),
            ):
                raise Conflict(
                    "This link is the account's only way to sign in: set a password or "
                    "register a passkey first.",
                    code="last_sign_in_method",
                )
            await session.execute(delete(SsoIdentity).where(SsoIdentity.id == link_id))
            uow.publish(
                SsoLinkRemoved(
                    actor_id=principal.user_id,
                    user_id=principal.user_id,
                    link_id=link_id,
                    provider_id=link.provider_id,
                )
            )
            await uow.commit()

    @staticmethod
    async def _other_ways_in(session: Any, user_id: uuid.UUID, link_id: uuid.UUID) -> int:
        """The account's passkeys and its links other than ``link_id``, in one statement."""
        other_links = (
            select(func.count())
            .select_from(SsoIdentity)
            .where(SsoIdentity.user_id == user_id, SsoIdentity.id != link_id)
            .scalar_subquery()
        )
        passkeys = (
            select(func.count())
            .select_from(Passkey)
            .where(Passkey.user_id == user_id)
            .scalar_subquery()
        )
        return int(await session.scalar(select(other_links + passkeys)))
