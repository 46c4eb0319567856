"""Provisioning: accounts, organisations and memberships made by an operator, not by the
people themselves (``hub demo``; realm-import style set-ups). Idempotent: what exists is
found and kept, so running the same set-up twice creates nothing the second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from hub.identity.api import MemberAdded
from hub.identity.models import Membership, Organisation
from hub.identity.repositories.memberships import add_member
from hub.identity.services.accounts import AccountService
from hub.identity.services.orgs import OrganisationService
from hub.identity.services.registration import RegistrationService
from hub.identity.services.roles import resolve_roles
from hub.kernel.clock import Clock
from hub.kernel.security import Principal
from hub.kernel.store import Store


@dataclass(eq=False)
class Provisioning:
    store: Store
    accounts: AccountService
    registration: RegistrationService
    orgs: OrganisationService
    clock: Clock

    async def user(self, email: str, display_name: str, password: str) -> uuid.UUID:
        """The account using ``email``; created verified (password checked by the policy)
        when there is none. An existing account's password is left alone."""
        found = await self.accounts.find_by_email(email)
        if found is not None:
            return uuid.UUID(str(found.id))
        return await self.registration.create_verified_user(
            email, password, display_name, platform_admin=False
        )

    async def organisation(self, name: str, owner_id: uuid.UUID) -> uuid.UUID:
        """The organisation of this name the owner belongs to, else a new one they own."""
        o, m = Organisation.__table__, Membership.__table__
        existing = await self.store.scalar(
            select(o.c.id)
            .join(m, m.c.organisation_id == o.c.id)
            .where(func.lower(o.c.name) == name.strip().lower(), m.c.user_id == owner_id)
            .order_by(o.c.id)
            .limit(1)
        )
        if existing is not None:
            return uuid.UUID(str(existing))
        created = await self.orgs.create(Principal(user_id=owner_id, amr=("pwd",)), name)
        return uuid.UUID(str(created.id))

    async def member(
        self, organisation_id: uuid.UUID, user_id: uuid.UUID, roles: Sequence[str]
    ) -> bool:
        """Make the user a member holding ``roles`` (names or ids; 422 for unknown ones);
        False when they already were one (their roles are then left as they are)."""
        async with self.store.uow() as uow:
            found = await resolve_roles(uow.session, organisation_id, roles, field="roles")
            if not await add_member(
                uow.session, organisation_id, user_id, [r.id for r in found], at=self.clock()
            ):
                return False
            uow.publish(
                MemberAdded(
                    organisation_id=organisation_id,
                    user_id=user_id,
                    roles=[r.name for r in found],
                    via="provisioned",
                )
            )
            await uow.commit()
        return True
