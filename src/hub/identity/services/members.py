"""Members of an organisation: listing, changing their roles, removing them, leaving.

Every change runs with the organisation row locked (``SELECT … FOR UPDATE``), so the
"at least one owner" rule holds under concurrency: two owners demoting each other at
the same moment are serialised and the second one is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace
from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity.api import (
    ApiKeyRevoked,
    MemberRemoved,
    MemberRolesChanged,
    Membership,
)
from hub.identity.domain import role_change
from hub.identity.domain.role_change import last_owner
from hub.identity.domain.roles import MEMBERS_MANAGE, OWNER
from hub.identity.models import ApiKey, MemberRole, Role, User
from hub.identity.models import Membership as MembershipRow
from hub.identity.services.access import AccessService, load_membership, require_user_session
from hub.identity.services.invitation_standing import withdraw_unbacked
from hub.identity.services.roles import RoleService, resolve_roles
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Invalid, NotFound
from hub.kernel.pagination import Page
from hub.kernel.problems import refusal
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.web import overlay


def _members(organisation_id: uuid.UUID) -> Select[Any]:
    m, u = MembershipRow.__table__, User.__table__
    return (
        select(
            m.c.user_id,
            m.c.created_at.label("joined_at"),
            u.c.email,
            u.c.display_name,
            u.c.disabled_at.is_(None).label("active"),
        )
        .join(u, u.c.id == m.c.user_id)
        .where(m.c.organisation_id == organisation_id)
    )


member_not_found = refusal(NotFound, "No such member in this organisation.")


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
    clock: Clock

    async def page(
        self,
        actor: Membership,
        *,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Any]:
        """Members with their roles (``roles``: :class:`RoleRef`), by user id."""
        organisation_id = actor.organisation_id
        key = MembershipRow.__table__.c.user_id
        page = await self.store.page(_members(organisation_id), key, limit=limit, cursor=cursor)
        return replace(page, items=await self._with_roles(organisation_id, page.items))

    async def _with_roles(self, organisation_id: uuid.UUID, rows: list[Any]) -> list[Any]:
        if not rows:
            return []
        mr, r = MemberRole.__table__, Role.__table__
        roles: dict[uuid.UUID, list[Any]] = {}
        for row in await self.store.all(
            select(mr.c.user_id, r.c.id, r.c.name, r.c.builtin)
            .join(r, r.c.id == mr.c.role_id)
            .where(
                mr.c.organisation_id == organisation_id,
                mr.c.user_id.in_([row.user_id for row in rows]),
            )
            .order_by(r.c.id)
        ):
            roles.setdefault(row.user_id, []).append(row)
        return [overlay(row, roles=roles.get(row.user_id, [])) for row in rows]

    async def _member(self, organisation_id: uuid.UUID, user_id: uuid.UUID) -> Any:
        row = await self.store.first(
            _members(organisation_id).where(MembershipRow.user_id == user_id)
        )
        if row is None:
            raise member_not_found()
        (member,) = await self._with_roles(organisation_id, [row])
        return member

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
    ) -> Any:
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
                if removed:  # fewer rights: what they invited may no longer stand
                    await uow.session.flush()
                    await withdraw_unbacked(
                        uow,
                        self.roles,
                        organisation_id,
                        self.clock(),
                        actor_id=actor.user_id,
                        inviter_id=user_id,
                    )
            try:
                await self.access.cache.commit(uow)
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
                .values(revoked_at=self.clock(), revoked_by=principal.user_id)
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
            await withdraw_unbacked(
                uow,
                self.roles,
                organisation_id,
                self.clock(),
                actor_id=principal.user_id,
                inviter_id=user_id,
            )
            await self.access.cache.commit(uow)
