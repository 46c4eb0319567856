"""Moving running instances to another version of their workflow (``domain.migration``
decides where they land and whether they can).

One instance: ``POST /workflow-instances/{id}/migrate``. Nothing of the source's
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

from sqlalchemy import select, update

from hub.kernel.clock import Clock
from hub.kernel.errors import FieldError, Invalid
from hub.kernel.problems import field_invalid
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.workflow import repositories
from hub.workflow.api import InstanceMigrated
from hub.workflow.domain.migration import OpenTask, landing
from hub.workflow.domain.permissions import DEFINITIONS_MANAGE
from hub.workflow.models import Instance, Task, Timer
from hub.workflow.services.instances import (
    InstanceService,
    InstanceView,
    actor_of,
    expect_version,
    stale_instance,
    view_of,
)

_OPEN = ("open", "claimed")


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
            raise field_invalid(
                "toVersion", f"the instance is on version {to_version} already", code="same_version"
            )
        target_row = await repositories.definition_version(
            self.store, row.organisation_id, row.workflow_key, to_version
        )
        if target_row is None:
            raise field_invalid(
                "toVersion",
                f"{row.workflow_key!r} has no version {to_version}",
                code="unknown_version",
            )
        target = await self.instances.definition(target_row.id)
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
        actor = actor_of(principal, member)
        now = self.clock()
        # Not a step: the stay goes on (time in state, SLA) from when it began.
        entered = row.state_entered_at
        async with self.store.uow() as uow:
            moved = await uow.session.execute(
                update(Instance)
                .where(
                    Instance.id == row.id,
                    Instance.version == row.version,
                    Instance.status == "active",
                )
                .values(
                    definition_id=target_row.id,
                    workflow_version=to_version,
                    state=to_state,
                    version=row.version + 1,
                    updated_at=now,
                )
                .returning(Instance.__table__)
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
