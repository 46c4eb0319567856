"""In-process implementation of :class:`hub.identity.api.IdentityApi`.

Reads only (on the kernel's lean autocommit path); a split-out identity service would
answer the same calls over HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from hub.identity.api import IdentityApi, Membership, RoleRef, UserDisplay, UserSummary
from hub.identity.domain.roles import grant_of, name_key
from hub.identity.models import MemberRole, Role, User
from hub.identity.models import Membership as MembershipRow
from hub.identity.repositories.users import user_by_id
from hub.identity.services.access import AccessService, load_membership
from hub.kernel.store import Store
from hub.kernel.web import to_schema, to_schemas

_MAX_IDS = 1000


class IdentityFacade(IdentityApi):
    def __init__(self, store: Store, access: AccessService | None = None) -> None:
        self.store = store
        #: The cached membership lookup; without it, every call reads the database.
        self.access = access

    async def resolve_principal(self, user_id: uuid.UUID) -> UserSummary | None:
        user = await user_by_id(self.store, user_id)
        if user is None or user.disabled:
            return None
        return to_schema(user, UserSummary)

    async def display_info(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserDisplay]:
        ids = list(dict.fromkeys(user_ids))[:_MAX_IDS]
        if not ids:
            return {}
        t = User.__table__
        rows = await self.store.all(
            select(
                t.c.id, t.c.display_name, t.c.email, t.c.disabled_at.is_(None).label("active")
            ).where(t.c.id.in_(ids))
        )
        return {r.id: to_schema(r, UserDisplay) for r in rows}

    async def membership(
        self,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        api_key_id: uuid.UUID | None,
    ) -> Membership | None:
        if self.access is not None:
            return await self.access.member_of(organisation_id, user_id, api_key_id=api_key_id)
        return await load_membership(self.store, organisation_id, user_id, api_key_id=api_key_id)

    async def has_permission(
        self,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        permission: str,
        *,
        api_key_id: uuid.UUID | None,
    ) -> bool:
        membership = await self.membership(organisation_id, user_id, api_key_id=api_key_id)
        return membership is not None and membership.allows(permission)

    async def members_with_permission(
        self, organisation_id: uuid.UUID, permission: str
    ) -> list[uuid.UUID]:
        mr, r, u = MemberRole.__table__, Role.__table__, User.__table__
        rows = await self.store.fetch(
            select(mr.c.user_id, r.c.builtin, r.c.permissions)
            .join(r, r.c.id == mr.c.role_id)
            .join(u, u.c.id == mr.c.user_id)
            .where(mr.c.organisation_id == organisation_id, u.c.disabled_at.is_(None))
            .order_by(mr.c.user_id)
        )
        allowed: dict[uuid.UUID, None] = {}
        for row in rows:
            if row.user_id not in allowed and grant_of(row.builtin, row.permissions).matches(
                permission
            ):
                allowed[row.user_id] = None
        return list(allowed)

    async def members_with_role(self, organisation_id: uuid.UUID, role: str) -> list[uuid.UUID]:
        mr, r, u = MemberRole.__table__, Role.__table__, User.__table__
        try:
            match = r.c.id == uuid.UUID(role)
        except ValueError:
            match = r.c.name_key == name_key(role)
        rows = await self.store.fetch(
            select(mr.c.user_id)
            .join(r, r.c.id == mr.c.role_id)
            .join(u, u.c.id == mr.c.user_id)
            .where(mr.c.organisation_id == organisation_id, match, u.c.disabled_at.is_(None))
            .order_by(mr.c.user_id)
        )
        return list(rows.scalars())

    async def members_of(self, organisation_id: uuid.UUID) -> list[uuid.UUID]:
        m, u = MembershipRow.__table__, User.__table__
        rows = await self.store.fetch(
            select(m.c.user_id)
            .join(u, u.c.id == m.c.user_id)
            .where(m.c.organisation_id == organisation_id, u.c.disabled_at.is_(None))
            .order_by(m.c.user_id)
        )
        return list(rows.scalars())

    async def organisations_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        m = MembershipRow.__table__
        rows = await self.store.fetch(
            select(m.c.organisation_id).where(m.c.user_id == user_id).order_by(m.c.organisation_id)
        )
        return list(rows.scalars())

    async def roles_of(self, organisation_id: uuid.UUID) -> list[RoleRef]:
        r = Role.__table__
        rows = await self.store.fetch(
            select(r.c.id, r.c.name, r.c.builtin)
            .where(r.c.organisation_id == organisation_id)
            .order_by(r.c.id)
        )
        return to_schemas(rows, RoleRef)
