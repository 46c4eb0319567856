"""The accounts a person linked to identity providers: listing them and unlinking one.

Unlinking is a sensitive change (a stolen token must not cut its owner off from their
provider), so it needs a recent sign-in, like removing a passkey; and, like removing a
passkey, it may not take the account's last way in (``domain.accounts.keep_a_way_in``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from hub.identity.api import SsoLinkRemoved
from hub.identity.domain.accounts import keep_a_way_in
from hub.identity.models import IdentityProvider, SsoIdentity
from hub.identity.repositories.ways_in import ways_in_without
from hub.kernel.errors import NotFound
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
            ways = await ways_in_without(session, principal.user_id, link_id=link_id)
            link = (
                await session.execute(
                    select(_links.c.provider_id).where(
                        _links.c.id == link_id, _links.c.user_id == principal.user_id
                    )
                )
            ).first()
            if ways is None or link is None:
                raise NotFound("No such linked identity provider.", code="sso_link_not_found")
            keep_a_way_in(has_password=ways.has_password, other_ways_in=ways.others)
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
