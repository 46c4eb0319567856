"""Members of an organisation: listing, changing their roles, removing them, leaving.

Every change runs with the organisation row locked (``SELECT … FOR UPDATE``), so the
"at least one owner" rule holds under concurrency: two owners demoting each other at
the same moment are serialised and the second one is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity.api import (
    ApiKeyRevoked,
    MemberRemoved,
    MemberRolesChanged,
    Membership,
    RoleRef,
)
from hub.identity.domain import role_change
from hub.identity.domain.role_change import last_owner
from hub.identity.domain.roles import MEMBERS_MANAGE, OWNER
from hub.identity.models import ApiKey, MemberRole, Role, User
from hub.identity.models import Membership as MembershipRow
from hub.identity.services.access import AccessService, load_membership, require_user_session
from hub.identity.services.roles import RoleService, resolve_roles
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Invalid, NotFound
from hub.kernel.pagination import Page, after_uuid, clamp_limit, page_of
from hub.kernel.schema import utcnow
from hub.kernel.security import Principal
from hub.kernel.store import Store


@dataclass(frozen=True)
class MemberView:
    user_id: uuid.UUID
    email: str
    display_name: str
    active: bool
    joined_at: datetime
    roles: list[RoleRef]


def member_not_found() -> NotFound:
    return NotFound("No such member in this organisation.")


async def count_owners(session: AsyncSession, organisation_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(MemberRole)
            .join(Role, Role.id == MemberRole.role_id)
            .where(MemberRole.organisation_id == organisation_id, Role.builtin == OWNER)
        )
        or 0
    )


@dataclass(eq=False)
class MemberService:
    store: Store
    access: AccessService
    roles: RoleService

    async def page(
        self,
        actor: Membership,
        *,
        limit: int | None,
        cursor: str | None,
    ) -> Page[MemberView]:
        organisation_id = actor.organisation_id
        size = clamp_limit(limit)
        m, u = MembershipRow.__table__, User.__table__
        stmt = (
            select(m.c.user_id, m.c.created_at, u.c.email, u.c.display_name, u.c.disabled_at)
            .join(u, u.c.id == m.c.user_id)
            .where(m.c.organisation_id == organisation_id)
            .order_by(m.c.user_id)
            .limit(size + 1)
        )
        if cursor:
            stmt = stmt.where(m.c.user_id > after_uuid(cursor))
        rows = list(await self.store.fetch(stmt))
        roles = await self._roles_of(organisation_id, [r.user_id for r in rows[:size]])
        views = [
            MemberView(
                user_id=r.user_id,
                email=r.email,
                display_name=r.display_name,
                active=r.disabled_at is None,
                joined_at=r.created_at,
                roles=roles.get(r.user_id, []),
            )
            for r in rows
        ]
        return page_of(views, size, lambda v: (str(v.user_id),))

    async def _roles_of(
        self, organisation_id: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[RoleRef]]:
        if not user_ids:
            return {}
        mr, r = MemberRole.__table__, Role.__table__
        rows = await self.store.fetch(
            select(mr.c.user_id, r.c.id, r.c.name, r.c.builtin)
            .join(r, r.c.id == mr.c.role_id)
            .where(mr.c.organisation_id == organisation_id, mr.c.user_id.in_(user_ids))
            .order_by(r.c.id)
        )
        out: dict[uuid.UUID, list[RoleRef]] = {}
        for row in rows:
            out.setdefault(row.user_id, []).append(
                RoleRef(id=row.id, name=row.name, builtin=row.builtin)
            )
        return out

    async def _member(self, organisation_id: uuid.UUID, user_id: uuid.UUID) -> MemberView:
        m, u = MembershipRow.__table__, User.__table__
        row = (
            await self.store.fetch(
                select(m.c.user_id, m.c.created_at, u.c.email, u.c.display_name, u.c.disabled_at)
                .join(u, u.c.id == m.c.user_id)
                .where(m.c.organisation_id == organisation_id, m.c.user_id == user_id)
            )
        ).first()
        if row is None:
            raise member_not_found()
        roles = await self._roles_of(organisation_id, [user_id])
        return MemberView(
            user_id=row.user_id,
            email=row.email,
            display_name=row.display_name,
            active=row.disabled_at is None,
            joined_at=row.created_at,
            roles=roles.get(user_id, []),
        )

    async def _locked_actor_and_target(
        self,
        uow: UnitOfWork,
        principal: Principal,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        permission: str | None,
    ) -> tuple[Membership, Membership]:
        """Lock the organisation, then re-read both memberships under the lock."""
        await self.access.lock_organisation(uow.session, organisation_id)
        actor = await self.access.authorise(
            principal, organisation_id, permission, session=uow.session
        )
        target = await load_membership(self.store, organisation_id, user_id, session=uow.session)
        if target is None:
            raise member_not_found()
        return actor, target

    async def _held_roles(self, session: AsyncSession, membership: Membership) -> list[Role]:
        ids = [r.id for r in membership.roles]
        if not ids:
            return []
        return list(await session.scalars(select(Role).where(Role.id.in_(ids))))

    async def set_roles(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        refs: list[str] | None,
    ) -> MemberView:
        """Replace a member's roles (``None``: change nothing, answer the member).

        The route's guard already refused non-members and members without the permission
        (without taking the organisation's lock); under the lock both memberships are
        read again."""
        if refs is None:
            return await self._member(organisation_id, user_id)
        async with self.store.uow() as uow:
            actor, target = await self._locked_actor_and_target(
                uow, principal, organisation_id, user_id, MEMBERS_MANAGE
            )
            wanted = await resolve_roles(uow.session, organisation_id, refs, field="roles")
            held = await self._held_roles(uow.session, target)
            change = role_change.decide(
                held=held,
                wanted=wanted,
                actor_allows=actor.allows,
                catalogue=self.access.catalogue(),
                owners=await count_owners(uow.session, organisation_id),
            )
            added, removed = change.added, change.removed
            if change.changes_anything:
                if removed:
                    await uow.session.execute(
                        delete(MemberRole).where(
                            MemberRole.organisation_id == organisation_id,
                            MemberRole.user_id == user_id,
                            MemberRole.role_id.in_([r.id for r in removed]),
                        )
                    )
                uow.session.add_all(
                    MemberRole(organisation_id=organisation_id, user_id=user_id, role_id=r.id)
                    for r in added
                )
                uow.publish(
                    MemberRolesChanged(
                        actor_id=actor.user_id,
                        organisation_id=organisation_id,
                        user_id=user_id,
                        roles_before=[r.name for r in sorted(held, key=lambda r: r.id)],
                        roles_after=[r.name for r in wanted],
                    )
                )
            try:
                await uow.commit()
            except IntegrityError:  # a role deleted concurrently
                raise Invalid(
                    "A role was deleted meanwhile; try again.", code="unknown_role"
                ) from None
        return await self._member(organisation_id, user_id)

    async def remove(
        self, principal: Principal, organisation_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        """Remove a member, or leave when ``user_id`` is the caller."""
        leaving = principal.user_id == user_id
        if leaving:
            require_user_session(principal)
        permission = None if leaving else MEMBERS_MANAGE
        async with self.store.uow() as uow:
            actor, target = await self._locked_actor_and_target(
                uow, principal, organisation_id, user_id, permission
            )
            held = await self._held_roles(uow.session, target)
            if not leaving:
                self.access.require_holds(actor, self.roles.permissions_of(held))
            if target.is_owner and await count_owners(uow.session, organisation_id) <= 1:
                raise last_owner()
            await uow.session.execute(
                delete(MembershipRow).where(
                    MembershipRow.organisation_id == organisation_id,
                    MembershipRow.user_id == user_id,
                )
            )
            # The member's keys for this organisation die with the membership.
            revoked = await uow.session.execute(
                update(ApiKey)
                .where(
                    ApiKey.user_id == user_id,
                    ApiKey.organisation_id == organisation_id,
                    ApiKey.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow(), revoked_by=principal.user_id)
                .returning(ApiKey.id)
            )
            for key_id in revoked.scalars():
                uow.publish(
                    ApiKeyRevoked(
                        actor_id=principal.user_id,
                        organisation_id=organisation_id,
                        api_key_id=key_id,
                        user_id=user_id,
                    )
                )
            uow.publish(
                MemberRemoved(
                    actor_id=principal.user_id,
                    organisation_id=organisation_id,
                    user_id=user_id,
                    reason="left" if leaving else "removed",
                )
            )
            await uow.commit()
