"""Moving running instances to another version of their workflow (``domain.migration``
decides where they land and whether they can).

One instance: ``POST /workflow-instances/{id}/migrate``; every running instance of a
version, a page at a time: ``POST /workflows/{key}/migrations``. Nothing of the source's
``onLeave`` or the target's ``onEnter`` runs (the instance does not take a step); its
variables stay; its open tasks stay open, now in the landing state; the pending SLA
timers of the stay are replaced by the target state's ladder, measured from when the
instance entered the state, and only its steps still ahead of the move are planned (one
already due was the old version's to fire). The instance's ``version`` grows, so a
client holding the old one gets 409, and the move is a ``migrated`` step of its history.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import select, update

from hub.identity.api import Membership
from hub.kernel.clock import Clock
from hub.kernel.errors import AppError, FieldError, Invalid
from hub.kernel.pagination import after_uuid, encode_cursor
from hub.kernel.problems import field_invalid
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.workflow import repositories
from hub.workflow.api import InstanceMigrated
from hub.workflow.domain.migration import OpenTask, landing
from hub.workflow.domain.permissions import DEFINITIONS_MANAGE
from hub.workflow.models import Task, Timer
from hub.workflow.services.instances import (
    Actor,
    InstanceService,
    InstanceView,
    actor_of,
    expect_version,
    next_version,
    stale_instance,
    view_of,
)

_OPEN = ("open", "claimed")


@dataclass(frozen=True)
class Refused:
    instance_id: uuid.UUID
    code: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)


@dataclass(frozen=True)
class BatchResult:
    migrated: list[uuid.UUID]
    refused: list[Refused]
    #: Resumes after the last instance looked at (None: none left).
    next_cursor: str | None


class MigrationService:
    def __init__(self, store: Store, instances: InstanceService, clock: Clock) -> None:
        self.store, self.instances, self.clock = store, instances, clock

    async def migrate(
        self,
        principal: Principal,
        instance_id: uuid.UUID,
        *,
        to_version: int,
        expected_version: int,
        state_mapping: Mapping[str, str],
    ) -> InstanceView:
        """Move the instance to ``to_version`` of its workflow (422 ``migration_invalid``
        naming every reason it cannot; 409 when it moved or ended meanwhile)."""
        row, member = await self.instances.visible(principal, instance_id, DEFINITIONS_MANAGE)
        expect_version(row, expected_version)
        if to_version == row.workflow_version:
            raise _same_version(to_version)
        target_row = await self._target(row.organisation_id, row.workflow_key, to_version)
        return await self._move(row, target_row, state_mapping, actor_of(principal, member))

    async def migrate_many(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        key: str,
        *,
        from_version: int,
        to_version: int,
        state_mapping: Mapping[str, str],
        limit: int,
        cursor: str | None,
    ) -> BatchResult:
        """Up to ``limit`` running instances of ``from_version``, oldest first, each moved
        in its own transaction: one that cannot land is reported and stays where it was,
        the others move. Instances on documents the caller may not read are left out."""
        member = await self.instances.tenancy.authorise(
            principal, organisation_id, DEFINITIONS_MANAGE
        )
        if to_version == from_version:
            raise _same_version(to_version)
        if (
            await repositories.definition_version(self.store, organisation_id, key, from_version)
            is None
        ):
            raise field_invalid(
                "fromVersion", f"{key!r} has no version {from_version}", code="unknown_version"
            )
        target_row = await self._target(organisation_id, key, to_version)
        actor = actor_of(principal, cast(Membership, member))
        after = after_uuid(cursor) if cursor is not None else None
        rows = await repositories.running_on(
            self.store, organisation_id, key, from_version, after=after, limit=limit
        )
        more = len(rows) > limit
        rows = rows[:limit]
        readable = await self.instances.readable_for(principal, organisation_id)(
            list({r.document_id for r in rows if r.document_id is not None})
        )
        migrated: list[uuid.UUID] = []
        refused: list[Refused] = []
        for row in rows:
            if row.document_id is not None and row.document_id not in readable:
                continue
            try:
                await self._move(row, target_row, state_mapping, actor)
            except AppError as exc:
                refused.append(Refused(row.id, exc.code, exc.detail, list(exc.errors or [])))
            else:
                migrated.append(row.id)
        next_cursor = encode_cursor(str(rows[-1].id)) if more and rows else None
        return BatchResult(migrated=migrated, refused=refused, next_cursor=next_cursor)

    async def _target(self, organisation_id: uuid.UUID, key: str, version: int) -> Any:
        row = await repositories.definition_version(self.store, organisation_id, key, version)
        if row is None:
            raise field_invalid(
                "toVersion", f"{key!r} has no version {version}", code="unknown_version"
            )
        return row

    async def _move(
        self, row: Any, target_row: Any, state_mapping: Mapping[str, str], actor: Actor
    ) -> InstanceView:
        """Check where ``row`` lands in ``target_row`` and move it there, in one
        transaction conditional on the version read (409 when it moved meanwhile)."""
        target = await self.instances.definition(target_row.id)
        to_version = int(target_row.version)
        tasks = await self.store.all(
            select(Task.name, Task.outcomes).where(
                Task.instance_id == row.id, Task.state.in_(_OPEN)
            )
        )
        to_state, problems = landing(
            target,
            row.state,
            state_mapping,
            [OpenTask(name=t.name, outcomes=t.outcomes) for t in tasks],
        )
        if problems:
            raise Invalid(
                f"The instance cannot move to version {to_version}.",
                code="migration_invalid",
                errors=[FieldError(field=p.path, message=p.message) for p in problems],
            )
        now = self.clock()
        # Not a step: the stay goes on (time in state, SLA) from when it began.
        entered = row.state_entered_at
        async with self.store.uow() as uow:
            moved = await uow.session.execute(
                next_version(
                    row,
                    definition_id=target_row.id,
                    workflow_version=to_version,
                    state=to_state,
                    updated_at=now,
                )
            )
            updated = moved.first()
            if updated is None:
                raise stale_instance()
            await uow.session.execute(
                update(Task)
                .where(Task.instance_id == row.id, Task.state.in_(_OPEN))
                .values(instance_state=to_state)
            )
            await uow.session.execute(
                update(Timer)
                .where(Timer.instance_id == row.id, Timer.status == "pending")
                .values(status="cancelled")
            )
            self.instances.plan_timers(
                uow, updated, target.states[to_state], entered, not_before=now
            )
            await self.instances.await_messages(uow, updated, target, to_state, now)
            data = {"fromVersion": row.workflow_version, "toVersion": to_version}
            self.instances.history_entry(
                uow, updated, "migrated", None, row.state, to_state, actor, data, now
            )
            uow.publish(
                InstanceMigrated(
                    organisation_id=row.organisation_id,
                    instance_id=row.id,
                    workflow_key=row.workflow_key,
                    workflow_version=to_version,
                    document_id=row.document_id,
                    from_version=row.workflow_version,
                    from_state=row.state,
                    state=to_state,
                    actor_id=actor.actor_id,
                )
            )
            await uow.commit()
        return view_of(updated, target)


def _same_version(version: int) -> Exception:
    return field_invalid(
        "toVersion", f"version {version} is the one it would move from", code="same_version"
    )
