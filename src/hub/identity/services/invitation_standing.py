"""Withdrawing the invitations their inviter no longer stands behind, when that changes.

An invitation is as good as its inviter's standing: they must still be an active member
holding ``identity.invitations.manage`` and everything the invitation hands out.
Acceptance checks that again (``services.invitations``); these helpers withdraw at once,
in the transaction that changed the standing, the pending invitations it left unbacked,
so the organisation's pending list tells the truth and the link stops working before
anyone tries it: when the inviter's roles change, they leave or are removed, a role's
permissions change or the role is deleted, or their account is disabled. Each withdrawn
invitation publishes ``identity.invitation_revoked`` with reason ``inviter_not_allowed``
and the actor of the change.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity.api import InvitationRevoked
from hub.identity.api import Membership as Actor
from hub.identity.domain.invitations import inviter_still_allowed
from hub.identity.domain.roles import MEMBER
from hub.identity.models import Invitation, MemberRole, Membership, Role, User
from hub.identity.services.access import membership_from
from hub.kernel.db import UnitOfWork

INVITER_NOT_ALLOWED = "inviter_not_allowed"


class Grants(Protocol):
    """What a set of roles hands out (``RoleService.permissions_of``)."""

    def permissions_of(self, roles: Iterable[Role]) -> set[str]: ...


async def invited_roles(session: AsyncSession, invitation: Invitation) -> list[Role]:
    """The roles the invitation grants today: those of its roles that still exist, or the
    built-in member role when every one of them was deleted since."""
    roles = list(
        await session.scalars(
            select(Role)
            .where(
                Role.organisation_id == invitation.organisation_id,
                Role.id.in_(invitation.role_ids),
            )
            .order_by(Role.id)
        )
    )
    if roles:
        return roles
    return list(
        await session.scalars(
            select(Role).where(
                Role.organisation_id == invitation.organisation_id, Role.builtin == MEMBER
            )
        )
    )


async def locked_inviter(session: AsyncSession, invitation: Invitation) -> Actor | None:
    """The inviter's membership now, its rows held ``FOR SHARE`` until the acceptance
    commits: a concurrent removal, demotion or change of one of their roles waits for it
    (or, having committed first, is what this read sees)."""
    if invitation.invited_by is None:
        return None
    m, mr, r = Membership.__table__, MemberRole.__table__, Role.__table__
    rows = list(
        await session.execute(
            select(r.c.id.label("role_id"), r.c.name, r.c.builtin, r.c.permissions)
            .select_from(
                m.join(
                    mr,
                    and_(mr.c.organisation_id == m.c.organisation_id, mr.c.user_id == m.c.user_id),
                ).join(r, r.c.id == mr.c.role_id)
            )
            .where(
                m.c.organisation_id == invitation.organisation_id,
                m.c.user_id == invitation.invited_by,
            )
            .order_by(r.c.id)
            .with_for_update(read=True)
        )
    )
    return membership_from(rows, invitation.organisation_id, invitation.invited_by)


async def _pending(
    session: AsyncSession,
    now: datetime,
    *,
    organisation_id: uuid.UUID | None = None,
    inviter_id: uuid.UUID | None = None,
) -> list[Invitation]:
    query = select(Invitation).where(
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )
    if organisation_id is not None:
        query = query.where(Invitation.organisation_id == organisation_id)
    if inviter_id is not None:
        query = query.where(Invitation.invited_by == inviter_id)
    return list(await session.scalars(query.order_by(Invitation.id).with_for_update()))


def withdraw(
    uow: UnitOfWork, invitation: Invitation, actor_id: uuid.UUID | None, now: datetime
) -> None:
    """Revoke ``invitation`` (its inviter no longer stands behind it), announced with the
    actor of the change or of the refused acceptance."""
    invitation.revoked_at = now
    uow.publish(
        InvitationRevoked(
            actor_id=actor_id,
            organisation_id=invitation.organisation_id,
            invitation_id=invitation.id,
            email=invitation.email,
            reason=INVITER_NOT_ALLOWED,
        )
    )


async def stands_behind(
    session: AsyncSession,
    roles: Grants,
    invitation: Invitation,
    invited: Sequence[Role] | None = None,
) -> bool:
    """Whether the invitation's inviter may still send it, read in ``session`` (which
    sees the transaction's own changes); ``invited``: its roles, when already read."""
    inviter = await locked_inviter(session, invitation)
    account = await session.get(User, invitation.invited_by) if inviter else None
    if invited is None:
        invited = await invited_roles(session, invitation)
    granted = roles.permissions_of(invited)
    return inviter_still_allowed(
        inviter, active=account is not None and account.disabled_at is None, granted=granted
    )


async def withdraw_unbacked(
    uow: UnitOfWork,
    roles: Grants,
    organisation_id: uuid.UUID,
    now: datetime,
    *,
    actor_id: uuid.UUID | None,
    inviter_id: uuid.UUID | None = None,
) -> int:
    """Withdraw the organisation's pending invitations (of ``inviter_id`` only, when
    given) whose inviter no longer stands behind them; how many."""
    withdrawn = 0
    for invitation in await _pending(
        uow.session, now, organisation_id=organisation_id, inviter_id=inviter_id
    ):
        if not await stands_behind(uow.session, roles, invitation):
            withdraw(uow, invitation, actor_id, now)
            withdrawn += 1
    return withdrawn


async def withdraw_all_of(
    uow: UnitOfWork, inviter_id: uuid.UUID, now: datetime, *, actor_id: uuid.UUID | None
) -> int:
    """Withdraw every pending invitation ``inviter_id`` sent, in every organisation (their
    account was disabled: nothing they sent stands any more)."""
    pending = await _pending(uow.session, now, inviter_id=inviter_id)
    for invitation in pending:
        withdraw(uow, invitation, actor_id, now)
    return len(pending)
