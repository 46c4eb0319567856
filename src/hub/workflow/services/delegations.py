"""Out-of-office windows: while a member's window runs, tasks assigned to them by name go
to their delegate (at creation; and the ones they hold when they set a running window).
Tasks offered to roles need no routing: the other members of the role take them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from hub.identity.api import IdentityApi, Membership
from hub.kernel.clock import Clock
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.schema import new_id
from hub.kernel.store import Store
from hub.workflow.models import Delegation, Task

MAX_WINDOW_DAYS = 366


@dataclass(frozen=True)
class Window:
    organisation_id: uuid.UUID
    user_id: uuid.UUID
    delegate_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    #: Tasks moved to the delegate when the window was set (it was running).
    moved: int = 0


class DelegationService:
    def __init__(self, store: Store, identity: IdentityApi, clock: Clock) -> None:
        self.store, self.identity, self.clock = store, identity, clock

    async def current(self, member: Membership) -> Window:
        row = await self.store.first(
            select(Delegation.__table__).where(
                Delegation.organisation_id == member.organisation_id,
                Delegation.user_id == member.user_id,
            )
        )
        if row is None:
            raise not_found("out-of-office window")
        return Window(
            organisation_id=row.organisation_id,
            user_id=row.user_id,
            delegate_id=row.delegate_id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
        )

    async def set(
        self, member: Membership, delegate_id: uuid.UUID, starts_at: datetime, ends_at: datetime
    ) -> Window:
        if delegate_id == member.user_id:
            raise field_invalid("delegateId", "you cannot stand in for yourself")
        if ends_at <= starts_at:
            raise field_invalid("endsAt", "must be after startsAt")
        if (ends_at - starts_at).days > MAX_WINDOW_DAYS:
            raise field_invalid("endsAt", f"a window lasts at most {MAX_WINDOW_DAYS} days")
        org = member.organisation_id
        if await self.identity.membership(org, delegate_id, api_key_id=None) is None:
            raise field_invalid("delegateId", "not a member of the organisation")
        now = self.clock()
        async with self.store.uow() as uow:
            values = {
                "organisation_id": org,
                "user_id": member.user_id,
                "delegate_id": delegate_id,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "created_at": now,
            }
            await uow.session.execute(
                insert(Delegation)
                .values(id=new_id(), **values)
                .on_conflict_do_update(
                    index_elements=["organisation_id", "user_id"],
                    set_={
                        k: v for k, v in values.items() if k not in ("organisation_id", "user_id")
                    },
                )
            )
            moved = 0
            if starts_at <= now < ends_at:
                result = await uow.session.execute(
                    update(Task)
                    .where(
                        Task.organisation_id == org,
                        Task.assignee_id == member.user_id,
                        Task.state.in_(("open", "claimed")),
                    )
                    .values(assignee_id=delegate_id, state="claimed")
                    .returning(Task.id)
                )
                moved = len(result.all())
            await uow.commit()
        return Window(
            organisation_id=org,
            user_id=member.user_id,
            delegate_id=delegate_id,
            starts_at=starts_at,
            ends_at=ends_at,
            moved=moved,
        )

    async def clear(self, member: Membership) -> None:
        async with self.store.uow() as uow:
            result = await uow.session.execute(
                delete(Delegation)
                .where(
                    Delegation.organisation_id == member.organisation_id,
                    Delegation.user_id == member.user_id,
                )
                .returning(Delegation.id)
            )
            if not result.all():
                raise not_found("out-of-office window")
            await uow.commit()
