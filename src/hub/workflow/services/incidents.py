"""Incidents, as in Camunda: effects on other contexts that failed for good.

An effect (a notification, tags on the subject…) runs after its transition committed; the
other context may refuse it (an unknown template, a trashed document), and retrying by
itself cannot help, so it is marked ``failed`` with the refusal and a
``workflow.effect.failed`` is published. Someone holding ``workflow.incidents.manage``
lists the organisation's incidents, fixes the cause, and runs the effect again: it turns
``pending`` and its job is queued in the same transaction, so the retry is never lost and
two retries at once queue it once (the second finds it no longer failed: 409). An
incident nobody wants fixed is dismissed instead: ``dismissed``, its error kept.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from hub.identity.api import Membership
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Conflict
from hub.kernel.pagination import Page, after_uuid, page_of
from hub.kernel.problems import not_found
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.workflow import repositories
from hub.workflow.api import EffectDismissed, EffectRetried
from hub.workflow.domain.permissions import INCIDENTS_MANAGE, INSTANCES_READ
from hub.workflow.models import Effect
from hub.workflow.services.effects import RUN_EFFECT, effect_fields
from hub.workflow.services.instances import InstanceService
from hub.workflow.services.readable_pages import readable_page


class IncidentService:
    def __init__(
        self,
        store: Store,
        instances: InstanceService,
        queue_job: Callable[..., uuid.UUID],
        clock: Clock,
    ) -> None:
        self.store, self.instances, self.queue_job, self.clock = store, instances, queue_job, clock

    async def effects(
        self, principal: Principal, instance_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> Page[Any]:
        """The instance's effects in the order they were asked for, whatever their status
        (whoever reads the instance reads them)."""
        await self.instances.visible(principal, instance_id, INSTANCES_READ)
        after = after_uuid(cursor) if cursor is not None else None
        rows = await repositories.effects_of(self.store, instance_id, after=after, limit=limit)
        return page_of(rows, limit, lambda e: (str(e.id),))

    async def incidents(
        self,
        principal: Principal,
        member: Membership,
        *,
        key: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page[Any]:
        """The organisation's failed effects, newest first; those of instances on
        documents the caller may not read are left out."""
        org = member.organisation_id

        async def fetch(before: uuid.UUID | None, batch: int) -> list[Any]:
            return await repositories.failed_effects_in(
                self.store, org, key=key, before=before, limit=batch
            )

        readable = self.instances.readable_for(principal, org)
        return await readable_page(fetch, readable, limit=limit, cursor=cursor)

    async def retry(
        self, principal: Principal, instance_id: uuid.UUID, effect_id: uuid.UUID
    ) -> Any:
        """Run a failed effect again: ``pending`` with its job queued, in one
        transaction; 409 ``effect_not_failed`` for any other status."""
        instance, _ = await self.instances.visible(principal, instance_id, INCIDENTS_MANAGE)
        async with self.store.uow() as uow:
            previous = await self._failed(uow, instance, effect_id, "runs again")
            updated = await self._requeue(uow, effect_id, instance, previous.error)
            await uow.commit()
        return updated

    async def retry_all(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        key: str,
        *,
        kind: str | None,
        limit: int,
    ) -> RetriedAll:
        """Run again up to ``limit`` incidents of a workflow (of one ``kind``, if given),
        oldest first, in one transaction: once a missing template is back, all its
        refused notices go at once. Rows another request is retrying are skipped (``SKIP
        LOCKED``), as are instances on documents the caller may not read."""
        await self.instances.tenancy.authorise(principal, organisation_id, INCIDENTS_MANAGE)
        readable = self.instances.readable_for(principal, organisation_id)
        retried: list[uuid.UUID] = []
        async with self.store.uow() as uow:
            rows = (
                await uow.session.execute(
                    repositories.failed_effects_of(organisation_id, key, kind)
                    .limit(limit)
                    .with_for_update(of=Effect, skip_locked=True)
                )
            ).all()
            allowed = await readable(list({r.document_id for r in rows if r.document_id}))
            for row in rows:
                if row.document_id is not None and row.document_id not in allowed:
                    continue
                await self._requeue(uow, row.id, _InstanceOf(row), row.error)
                retried.append(row.id)
            await uow.commit()
        left = await repositories.incident_count(self.store, organisation_id, key)
        return RetriedAll(retried=retried, remaining=left)

    async def dismiss(
        self, principal: Principal, instance_id: uuid.UUID, effect_id: uuid.UUID, reason: str
    ) -> Any:
        """Give up on a failed effect: ``dismissed`` (it keeps its ``error``) and out of
        the incidents; 409 ``effect_not_failed`` for any other status."""
        instance, _ = await self.instances.visible(principal, instance_id, INCIDENTS_MANAGE)
        async with self.store.uow() as uow:
            previous = await self._failed(uow, instance, effect_id, "is dismissed")
            updated = (
                await uow.session.execute(
                    update(Effect)
                    .where(Effect.id == effect_id)
                    .values(status="dismissed", done_at=self.clock())
                    .returning(Effect.__table__)
                )
            ).one()
            uow.publish(
                EffectDismissed(
                    **effect_fields(instance, effect_id, updated.kind),
                    error=previous.error or "",
                    reason=reason,
                )
            )
            await uow.commit()
        return updated

    async def _requeue(
        self, uow: UnitOfWork, effect_id: uuid.UUID, instance: Any, previous_error: str | None
    ) -> Any:
        """A failed effect back to ``pending``, its job queued and its retry published,
        all in ``uow`` (the caller checked it failed, under a lock)."""
        updated = (
            await uow.session.execute(
                update(Effect)
                .where(Effect.id == effect_id)
                .values(status="pending", error=None, done_at=None, retries=Effect.retries + 1)
                .returning(Effect.__table__)
            )
        ).one()
        self.queue_job(uow, RUN_EFFECT, str(effect_id))
        uow.publish(
            EffectRetried(
                **effect_fields(instance, effect_id, updated.kind),
                retries=updated.retries,
                previous_error=previous_error or "",
            )
        )
        return updated

    @staticmethod
    async def _failed(uow: UnitOfWork, instance: Any, effect_id: uuid.UUID, verb: str) -> Any:
        """The effect, locked until the transaction ends, if it is the instance's and
        failed: of two requests at once, the second reads what the first left."""
        row = (
            await uow.session.execute(
                select(Effect.status, Effect.error)
                .where(Effect.id == effect_id, Effect.instance_id == instance.id)
                .with_for_update()
            )
        ).first()
        if row is None:
            raise not_found("effect of this instance")
        if row.status != "failed":
            raise Conflict(
                f"Only a failed effect {verb}; this one is {row.status}.",
                code="effect_not_failed",
                extra={"effectStatus": row.status},
            )
        return row


@dataclass(frozen=True)
class RetriedAll:
    #: The effects now pending again, their jobs queued.
    retried: list[uuid.UUID]
    #: Incidents of the workflow still failed (skipped, unreadable, or past ``limit``).
    remaining: int


class _InstanceOf:
    """The instance columns an incident row carries, named as on an instance row (what
    :func:`effect_fields` reads)."""

    def __init__(self, row: Any) -> None:
        self.organisation_id = row.organisation_id
        self.id = row.instance_id
        self.workflow_key = row.workflow_key
        self.workflow_version = row.workflow_version
        self.document_id = row.document_id
