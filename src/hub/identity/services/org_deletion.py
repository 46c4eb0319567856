"""Deleting an organisation: an owner schedules it, a grace period passes, then it is purged.

* ``DELETE /orgs/{id}`` (an owner, recently signed in, a person not an API key) sets
  ``deletion_scheduled_at`` and ``purge_after`` (now + ``HUB_ORG_DELETION_GRACE_DAYS``),
  e-mails every active member and publishes ``identity.organisation_deletion_scheduled``.
  From then on the organisation is **closed**: the membership query behind the tenancy
  rule finds nobody (``services.access``), so every route of every context answers 404
  and API keys stop working, as for an organisation that does not exist. Closed rather
  than read-only because a read-only mode would need every write of every context to
  learn about it; closed is one rule in one place, and nothing can be added that the
  purge would have to chase.
* ``POST /orgs/{id}/deletion/cancel``: an owner reopens it before ``purge_after``.
* The ``identity.purge_organisations`` job (every 10 minutes) purges each organisation
  whose ``purge_after`` passed: identity's own rows of it (member roles, memberships,
  roles, invitations, its API keys, the organisation; published outbox rows naming it)
  in one transaction with ``identity.organisation_purged``, which every other context
  handles by deleting that organisation's rows in its own schema.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity.api import (
    OrganisationDeletionCancelled,
    OrganisationDeletionScheduled,
    OrganisationPurged,
)
from hub.identity.domain.roles import OWNER
from hub.identity.models import (
    ApiKey,
    Invitation,
    MemberRole,
    Membership,
    Organisation,
    Role,
    User,
)
from hub.identity.services.access import AccessService, require_user_session
from hub.identity.services.mail import IdentityMail
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Conflict, Forbidden
from hub.kernel.org_purge import forget_published_events
from hub.kernel.problems import refusal
from hub.kernel.security import Principal, require_recent_authentication
from hub.kernel.store import Store
from hub.kernel.tenancy import organisation_not_found

log = structlog.get_logger("hub.identity.org_deletion")

o = Organisation.__table__
m = Membership.__table__
mr = MemberRole.__table__
r = Role.__table__
u = User.__table__

#: Organisations purged per run of the job (the rest wait for the next run).
PURGE_BATCH = 20


owner_required = refusal(
    Forbidden, "Only an owner of the organisation can do this.", code="owner_required"
)


@dataclass(frozen=True)
class DeletionSchedule:
    id: uuid.UUID
    deletion_scheduled_at: datetime
    purge_after: datetime


@dataclass(frozen=True)
class Purge:
    organisation_id: uuid.UUID
    members: int


@dataclass(eq=False)
class OrganisationDeletion:
    store: Store
    access: AccessService
    mail: IdentityMail
    clock: Clock
    grace_days: int
    recent_auth_seconds: int

    # ------------------------------------------------------------------ schedule, cancel

    async def _locked_owner(
        self, session: AsyncSession, principal: Principal, organisation_id: uuid.UUID
    ) -> Any:
        """The organisation's row, locked, when the caller is an owner of it (scheduled
        for deletion or not): 404 outside it, 403 ``owner_required`` for another member."""
        row = (
            await session.execute(select(o).where(o.c.id == organisation_id).with_for_update())
        ).first()
        if row is None:
            raise organisation_not_found()
        held = (
            await session.execute(
                select(r.c.builtin)
                .select_from(
                    m.outerjoin(
                        mr,
                        (mr.c.organisation_id == m.c.organisation_id)
                        & (mr.c.user_id == m.c.user_id),
                    ).outerjoin(r, r.c.id == mr.c.role_id)
                )
                .where(m.c.organisation_id == organisation_id, m.c.user_id == principal.user_id)
            )
        ).all()
        if not held:
            raise organisation_not_found()
        if principal.organisation_id not in (None, organisation_id):
            raise organisation_not_found()  # a key bound elsewhere sees nothing here
        if not any(h.builtin == OWNER for h in held):
            raise owner_required()
        return row

    async def schedule(self, principal: Principal, organisation_id: uuid.UUID) -> DeletionSchedule:
        """Close the organisation now and purge it after the grace period."""
        require_user_session(principal)
        async with self.store.uow() as uow:
            session = uow.session
            row = await self._locked_owner(session, principal, organisation_id)
            require_recent_authentication(principal, self.recent_auth_seconds)
            if row.deletion_scheduled_at is not None:
                raise Conflict(
                    "The organisation's deletion is already scheduled.",
                    code="deletion_already_scheduled",
                    extra={"purgeAfter": row.purge_after.isoformat()},
                )
            now = self.clock()
            purge_after = now + timedelta(days=self.grace_days)
            members = await self._set_schedule_and_tell(
                uow,
                principal,
                row,
                now,
                purge_after=purge_after,
                template="organisation_deletion_scheduled",
                by_field="requested_by",
                purge_day=purge_after.strftime("%Y-%m-%d %H:%M"),
            )
            uow.publish(
                OrganisationDeletionScheduled(
                    actor_id=principal.user_id,
                    organisation_id=organisation_id,
                    requested_by=principal.user_id,
                    purge_after=purge_after,
                    members=len(members),
                )
            )
            await uow.commit()
        await self.access.cache.forget(organisation_id)
        log.info(
            "organisation_deletion_scheduled",
            organisation_id=str(organisation_id),
            purge_after=purge_after.isoformat(),
        )
        return DeletionSchedule(organisation_id, now, purge_after)

    async def cancel(self, principal: Principal, organisation_id: uuid.UUID) -> None:
        """Reopen an organisation whose purge has not come yet (409 otherwise)."""
        require_user_session(principal)
        async with self.store.uow() as uow:
            session = uow.session
            row = await self._locked_owner(session, principal, organisation_id)
            if row.deletion_scheduled_at is None:
                raise Conflict(
                    "The organisation's deletion is not scheduled.",
                    code="deletion_not_scheduled",
                )
            now = self.clock()
            if row.purge_after <= now:
                raise Conflict(
                    "The grace period is over: the organisation is being deleted.",
                    code="grace_period_over",
                )
            await self._set_schedule_and_tell(
                uow,
                principal,
                row,
                now,
                purge_after=None,
                template="organisation_deletion_cancelled",
                by_field="cancelled_by",
            )
            uow.publish(
                OrganisationDeletionCancelled(
                    actor_id=principal.user_id,
                    organisation_id=organisation_id,
                    cancelled_by=principal.user_id,
                )
            )
            await uow.commit()
        await self.access.cache.forget(organisation_id)

    async def _set_schedule_and_tell(
        self,
        uow: UnitOfWork,
        principal: Principal,
        row: Any,
        now: datetime,
        *,
        purge_after: datetime | None,
        template: str,
        by_field: str,
        **fields: str,
    ) -> list[Any]:
        """Schedule (``purge_after``) or clear the deletion, then mail every active member
        who did it (``by_field``): scheduling and cancelling differ only in what they write
        and say."""
        await uow.session.execute(
            update(Organisation)
            .where(o.c.id == row.id)
            .values(
                deletion_scheduled_at=None if purge_after is None else now,
                purge_after=purge_after,
                deletion_requested_by=None if purge_after is None else principal.user_id,
                updated_at=now,
            )
        )
        members = await self._members(uow.session, row.id)
        actor = next((x.display_name or x.email for x in members if x.id == principal.user_id), "")
        for member in members:
            self.mail.notice(
                uow,
                template,
                member,
                when=now,
                organisation=row.name,
                **{by_field: actor},
                **fields,
            )
        return members

    async def _members(self, session: AsyncSession, organisation_id: uuid.UUID) -> list[Any]:
        """Active members, to tell."""
        return list(
            await session.execute(
                select(u.c.id, u.c.email, u.c.display_name)
                .join(m, m.c.user_id == u.c.id)
                .where(m.c.organisation_id == organisation_id, u.c.disabled_at.is_(None))
                .order_by(u.c.id)
            )
        )

    # ------------------------------------------------------------------ purge

    async def due(self, limit: int = PURGE_BATCH) -> list[uuid.UUID]:
        """Organisations whose grace period is over, oldest deadline first."""
        rows = await self.store.all(
            select(o.c.id)
            .where(o.c.purge_after.is_not(None), o.c.purge_after <= self.clock())
            .order_by(o.c.purge_after, o.c.id)
            .limit(limit)
        )
        return [row.id for row in rows]

    async def purge_due(self, limit: int = PURGE_BATCH) -> list[Purge]:
        """Purge every organisation whose grace period is over (``limit`` per run)."""
        done: list[Purge] = []
        for organisation_id in await self.due(limit):
            purged = await self.purge(organisation_id)
            if purged is not None:
                done.append(purged)
        return done

    async def purge(self, organisation_id: uuid.UUID) -> Purge | None:
        """Delete identity's rows of the organisation and publish ``organisation_purged``,
        in one transaction; None when it is not (or no longer) due (cancelled meanwhile,
        already purged by another run)."""
        async with self.store.uow() as uow:
            session = uow.session
            row = (
                await session.execute(
                    select(o).where(o.c.id == organisation_id).with_for_update(skip_locked=True)
                )
            ).first()
            if row is None or row.purge_after is None or row.purge_after > self.clock():
                return None
            members = int(
                await session.scalar(
                    select(func.count())
                    .select_from(m)
                    .where(m.c.organisation_id == organisation_id)
                )
                or 0
            )
            # member_roles → roles is RESTRICT: the holdings go first, then what cascades.
            await session.execute(delete(MemberRole).where(mr.c.organisation_id == organisation_id))
            await session.execute(delete(Membership).where(m.c.organisation_id == organisation_id))
            await session.execute(
                delete(Invitation).where(Invitation.organisation_id == organisation_id)
            )
            await session.execute(delete(ApiKey).where(ApiKey.organisation_id == organisation_id))
            await session.execute(delete(Role).where(r.c.organisation_id == organisation_id))
            await session.execute(delete(Organisation).where(o.c.id == organisation_id))
            await forget_published_events(uow, "identity", organisation_id)
            uow.publish(
                OrganisationPurged(
                    actor_id=None,
                    actor_type="system",
                    purged_organisation_id=organisation_id,
                    deletion_scheduled_at=row.deletion_scheduled_at,
                    requested_by=row.deletion_requested_by,
                    members=members,
                )
            )
            await uow.commit()
        await self.access.cache.forget(organisation_id)
        log.info("organisation_purged", organisation_id=str(organisation_id), members=members)
        return Purge(organisation_id, members)
