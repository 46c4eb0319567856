"""Pending invitations, for the members who manage them: list, revoke, resend.

Revoking and resending follow the no-escalation rule of sending: only someone holding
everything an invitation's roles grant may withdraw it or re-arm it. A resend makes the
sender the inviter, so the check at acceptance (``services.invitations``) is about *their*
standing from then on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity.api import InvitationResent, InvitationRevoked
from hub.identity.api import Membership as Actor
from hub.identity.domain.roles import MEMBER
from hub.identity.domain.secrets import new_token, token_hash
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import Invitation, Organisation, Role
from hub.identity.services.access import AccessService
from hub.identity.services.invitation_standing import invited_roles
from hub.identity.services.invitations import (
    INVITATION_PREFIX,
    already_member,
    expiry,
    is_member,
    send_invitation,
    view_of,
)
from hub.identity.services.mail import IdentityMail
from hub.identity.services.mail_limits import MailLimits
from hub.identity.services.roles import RoleService
from hub.kernel.clock import Clock
from hub.kernel.errors import Conflict, NotFound
from hub.kernel.pagination import Page
from hub.kernel.problems import refusal
from hub.kernel.store import Store

invitation_not_found = refusal(NotFound, "No such pending invitation in this organisation.")


@dataclass(eq=False)
class PendingInvitations:
    store: Store
    settings: IdentitySettings
    mail: IdentityMail
    access: AccessService
    roles: RoleService
    limits: MailLimits
    clock: Clock

    async def page(self, actor: Actor, *, limit: int | None, cursor: str | None) -> Page[Any]:
        """Pending invitations (neither accepted, revoked nor expired), oldest first."""
        organisation_id = actor.organisation_id
        i = Invitation.__table__
        stmt = select(
            i.c.id,
            i.c.organisation_id,
            i.c.email,
            i.c.role_ids,
            i.c.invited_by,
            i.c.created_at,
            i.c.expires_at,
        ).where(
            i.c.organisation_id == organisation_id,
            i.c.accepted_at.is_(None),
            i.c.revoked_at.is_(None),
            i.c.expires_at > self.clock(),
        )
        page = await self.store.page(stmt, i.c.id, limit=limit, cursor=cursor)
        rows = page.items
        role_ids = {role_id for row in rows for role_id in row.role_ids}
        r = Role.__table__
        known = {
            row.id: row.name
            for row in await self.store.all(
                select(r.c.id, r.c.name).where(
                    r.c.organisation_id == organisation_id, r.c.id.in_(role_ids)
                )
            )
        }
        # Roles as acceptance would grant them (deleted roles: the member role).
        views = [
            view_of(row, [known[x] for x in sorted(row.role_ids) if x in known] or [MEMBER])
            for row in rows
        ]
        return replace(page, items=views)

    async def _open(
        self, session: AsyncSession, organisation_id: uuid.UUID, invitation_id: uuid.UUID
    ) -> Invitation:
        """The invitation, locked; 404 unless it is this organisation's and still open
        (expired ones included: resending is how they come back to life)."""
        invitation = await session.scalar(
            select(Invitation)
            .where(Invitation.id == invitation_id, Invitation.organisation_id == organisation_id)
            .with_for_update()
        )
        if invitation is None or invitation.revoked_at is not None:
            raise invitation_not_found()
        if invitation.accepted_at is not None:
            raise Conflict("This invitation was already accepted.", code="invitation_accepted")
        return invitation

    async def revoke(self, actor: Actor, invitation_id: uuid.UUID) -> None:
        """Withdraw an invitation: its link stops working at once. Only someone holding
        everything its roles grant may withdraw it (as for removing such a member)."""
        async with self.store.uow() as uow:
            invitation = await self._open(uow.session, actor.organisation_id, invitation_id)
            roles = await invited_roles(uow.session, invitation)
            self.access.require_holds(actor, self.roles.permissions_of(roles))
            invitation.revoked_at = self.clock()
            uow.publish(
                InvitationRevoked(
                    actor_id=actor.user_id,
                    organisation_id=invitation.organisation_id,
                    invitation_id=invitation.id,
                    email=invitation.email,
                    reason="revoked",
                )
            )
            await uow.commit()

    async def resend(self, actor: Actor, invitation_id: uuid.UUID) -> Any:
        """Mail a new link (the old one stops working) valid for a full term again. The
        sender becomes the inviter, so acceptance checks *their* standing from now on."""
        now = self.clock()
        async with self.store.uow() as uow:
            invitation = await self._open(uow.session, actor.organisation_id, invitation_id)
            roles = await invited_roles(uow.session, invitation)
            self.access.require_holds(actor, self.roles.permissions_of(roles))
            if await is_member(uow.session, invitation.organisation_id, invitation.email):
                raise already_member()
            organisation = await uow.session.get(Organisation, invitation.organisation_id)
            if organisation is None:
                raise invitation_not_found()  # deleted meanwhile
            await self.limits.invitation(invitation.organisation_id, invitation.email)
            raw = new_token(INVITATION_PREFIX)
            invitation.token_hash = token_hash(raw)
            invitation.expires_at = expiry(self.settings, now)
            invitation.invited_by = actor.user_id
            answer = await send_invitation(
                self.mail, uow, InvitationResent, invitation, roles, organisation, raw
            )
            await uow.commit()
        return answer
