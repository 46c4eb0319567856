"""Handing an organisation over in one step: the new owner gains the owner role and the
caller, an owner, steps down to admin in the same transaction.

Done with two member changes it left a moment with two owners (or, in the wrong order, a
refused demotion); in one step, under the organisation's lock like every member change,
the organisation always has an owner and the change is one audit fact
(``identity.ownership_transferred``) beside the two ``member_roles_changed`` events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select

from hub.identity.api import MemberRolesChanged, OwnershipTransferred
from hub.identity.domain.roles import ADMIN, OWNER, OWNERS_MANAGE
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import MemberRole, Role, User
from hub.identity.services.access import require_user_session
from hub.identity.services.members import MemberService
from hub.kernel.errors import Conflict
from hub.kernel.security import Principal, require_recent_authentication


@dataclass(eq=False)
class OwnershipService:
    members: MemberService
    settings: IdentitySettings

    async def transfer(
        self, principal: Principal, organisation_id: uuid.UUID, new_owner_id: uuid.UUID
    ) -> None:
        """Make ``new_owner_id`` (a member, active) an owner and the caller an admin.
        Needs a person's recent sign-in: it gives the organisation away."""
        require_user_session(principal)
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        if new_owner_id == principal.user_id:
            raise Conflict("You are the owner already.", code="already_owner")
        members = self.members
        async with members.store.uow() as uow:
            session = uow.session
            actor, target = await members._locked_actor_and_target(
                uow, principal, organisation_id, new_owner_id, OWNERS_MANAGE
            )
            if not actor.is_owner:
                raise Conflict("Only an owner can hand ownership over.", code="not_an_owner")
            disabled = await session.scalar(
                select(User.disabled_at).where(User.id == target.user_id)
            )
            if disabled is not None:
                raise Conflict(
                    "This member's account is disabled; it cannot own the organisation.",
                    code="member_disabled",
                )
            builtins = {
                role.builtin: role
                for role in await session.scalars(
                    select(Role).where(
                        Role.organisation_id == organisation_id, Role.builtin.in_([OWNER, ADMIN])
                    )
                )
            }
            owner, admin = builtins[OWNER], builtins[ADMIN]
            actor_before = sorted(await members._held_roles(session, actor), key=lambda r: r.id)
            target_before = sorted(await members._held_roles(session, target), key=lambda r: r.id)
            if owner not in target_before:
                session.add(
                    MemberRole(
                        organisation_id=organisation_id, user_id=target.user_id, role_id=owner.id
                    )
                )
            await session.execute(
                delete(MemberRole).where(
                    MemberRole.organisation_id == organisation_id,
                    MemberRole.user_id == actor.user_id,
                    MemberRole.role_id == owner.id,
                )
            )
            if admin not in actor_before:
                session.add(
                    MemberRole(
                        organisation_id=organisation_id, user_id=actor.user_id, role_id=admin.id
                    )
                )
            actor_after = [r for r in actor_before if r is not owner]
            if admin not in actor_after:
                actor_after.append(admin)
            target_after = target_before if owner in target_before else [*target_before, owner]
            for user_id, before, after in (
                (target.user_id, target_before, target_after),
                (actor.user_id, actor_before, actor_after),
            ):
                uow.publish(
                    MemberRolesChanged(
                        actor_id=principal.user_id,
                        organisation_id=organisation_id,
                        user_id=user_id,
                        roles_before=[r.name for r in before],
                        roles_after=[r.name for r in sorted(after, key=lambda r: r.id)],
                    )
                )
            uow.publish(
                OwnershipTransferred(
                    actor_id=principal.user_id,
                    organisation_id=organisation_id,
                    from_user_id=actor.user_id,
                    to_user_id=target.user_id,
                )
            )
            await members.access.cache.commit(uow)
