"""Side effects on other contexts a transition asked for (notify, set tags, type, a
custom field or the document's access), run by the ``workflow.run_effect`` job once the
transition committed.

The effect row is written in the transition's transaction, so a rolled-back transition
has none. Delivery is at-least-once: setting tags, type, fields and access is
idempotent; a notification whose job died between the call and marking the row done may
be sent twice. An effect the other context refuses is ``failed`` for good, an incident
(``services.incidents``: listed, and run again once the cause is fixed).
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from sqlalchemy import select, text, update

from hub.communication.api import CATEGORY_WORKFLOW_TASKS, CommunicationApi
from hub.content.api import ContentApi
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.errors import AppError
from hub.kernel.store import Store
from hub.workflow.api import EffectFailed
from hub.workflow.domain.permissions import INCIDENTS_MANAGE
from hub.workflow.models import Effect, Instance
from hub.workflow.services.effects_document import DocumentEffects

log = structlog.get_logger(__name__)

RUN_EFFECT = "workflow.run_effect"
#: The platform template incident alerts use (payload: title, text).
INCIDENT_TEMPLATE = "general.announcement"


def effect_fields(instance: Any, effect_id: uuid.UUID, kind: str) -> dict[str, Any]:
    """The fields every ``workflow.effect.*`` event carries: the instance's and the
    effect's (``instance``: an instance row, or anything naming its columns alike)."""
    return {
        "organisation_id": instance.organisation_id,
        "instance_id": instance.id,
        "workflow_key": instance.workflow_key,
        "workflow_version": instance.workflow_version,
        "document_id": instance.document_id,
        "effect_id": effect_id,
        "kind": kind,
    }


class EffectRunner:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        identity: IdentityApi,
        content: ContentApi,
        communication: CommunicationApi,
    ) -> None:
        self.store, self.clock = store, clock
        self.identity, self.content, self.communication = identity, content, communication
        self.document_effects = DocumentEffects(identity, content)

    async def run(self, effect_id: uuid.UUID) -> str:
        """Run one pending effect; answers its status afterwards (a done one is skipped)."""
        effect = await self.store.first(select(Effect.__table__).where(Effect.id == effect_id))
        if effect is None or effect.status != "pending":
            return effect.status if effect is not None else "missing"
        instance = await self.store.first(
            select(Instance.__table__).where(Instance.id == effect.instance_id)
        )
        async with self.store.uow() as uow:
            if effect.kind != "notify" and instance is not None and instance.document_id:
                # One document's effects one at a time, cluster-wide: content merges tags
                # and fields into what it read, so two at once could lose one.
                await uow.session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                    {"k": f"workflow.document_effects:{instance.document_id}"},
                )
                status_now = await uow.session.scalar(
                    select(Effect.status).where(Effect.id == effect_id)
                )
                if status_now != "pending":
                    return str(status_now)
            error = await self._run(effect, instance)
            status = "failed" if error else "done"
            if error:
                log.warning("workflow.effect_failed", effect_id=str(effect_id), error=error)
            marked = await uow.session.execute(
                update(Effect)
                .where(Effect.id == effect_id, Effect.status == "pending")
                .values(status=status, error=error, done_at=self.clock())
                .returning(Effect.id)
            )
            incident = error is not None and marked.first() is not None
            if incident and instance is not None:
                uow.publish(
                    EffectFailed(
                        **effect_fields(instance, effect_id, effect.kind), error=str(error)
                    )
                )
            await uow.commit()
        if incident and instance is not None:
            await self._alert(instance, effect.kind, str(error))
        return status

    async def _alert(self, instance: Any, kind: str, error: str) -> None:
        """Tell whoever handles the organisation's incidents (``workflow.incidents.manage``)
        in their inbox, under ``workflow.tasks``. A courtesy after the commit: the incident
        itself is durable and listed; an alert that cannot be sent is only logged (it is
        never an effect, so a failing alert cannot raise an incident of its own)."""
        org: uuid.UUID = instance.organisation_id
        try:
            managers = await self.identity.members_with_permission(org, INCIDENTS_MANAGE)
            if not managers:
                return
            await self.communication.notify(
                organisation_id=org,
                template_key=INCIDENT_TEMPLATE,
                user_ids=sorted(managers),
                payload={
                    "title": f"Incident in {instance.workflow_key}: a {kind} action failed",
                    "text": f"{error} — retry or dismiss it under the workflow's incidents.",
                    "workflowKey": instance.workflow_key,
                    "instanceId": str(instance.id),
                },
                category=CATEGORY_WORKFLOW_TASKS,
            )
        except AppError as exc:
            log.warning(
                "workflow.incident_alert_failed", instance_id=str(instance.id), error=exc.detail
            )

    async def _run(self, effect: Any, instance: Any) -> str | None:
        """Apply one effect; answers why it failed for good, or None."""
        try:
            if instance is None:
                return "the instance no longer exists"
            if effect.kind == "notify":
                await self._notify(instance, effect.spec)
                return None
            if effect.kind == "setTags":
                return await self._set_tags(instance, effect.spec)
            if effect.kind in DocumentEffects.KINDS:
                return await self.document_effects.run(effect.kind, instance, effect.spec)
            return f"unknown effect kind {effect.kind!r}"
        except AppError as exc:  # a refusal of the other context: retrying cannot help
            return f"{exc.code}: {exc.detail}"

    async def _notify(self, instance: Any, spec: dict[str, Any]) -> None:
        to: dict[str, Any] = spec.get("to", {})
        org: uuid.UUID = instance.organisation_id
        users: set[uuid.UUID] = {uuid.UUID(u) for u in to.get("userIds", [])}
        for role in to.get("roles", []):
            users.update(await self.identity.members_with_role(org, role))
        if to.get("starter") and instance.started_by is not None:
            users.add(instance.started_by)
        users |= await self._subject_people(instance, to)
        topics = [str(t).strip() for t in to.get("topics", [])]
        if not users and not topics:
            return
        payload = {
            "workflowKey": instance.workflow_key,
            "instanceId": str(instance.id),
            "state": instance.state,
            **await self._subject_names(instance),
            **spec.get("payload", {}),
        }
        await self.communication.notify(
            organisation_id=org,
            template_key=spec["templateKey"],
            user_ids=sorted(users),
            payload=payload,
            category=spec.get("category") or CATEGORY_WORKFLOW_TASKS,
            topics=topics,
            channels=spec.get("channels"),
            priority=spec.get("priority", "normal"),
        )

    async def _subject_names(self, instance: Any) -> dict[str, str]:
        """``subjectTitle``: the subject document's title as it is now, so a template can
        name what the notice is about (the consultation); a reference subject's is its
        reference. The definition's author chooses to use it in a template."""
        if instance.document_id is None:
            return {"subjectTitle": str(instance.reference or "")}
        document = await self.content.document(instance.document_id)
        if document is None or document.organisation_id != instance.organisation_id:
            return {}
        return {"subjectTitle": document.title}

    async def _subject_people(self, instance: Any, to: dict[str, Any]) -> set[uuid.UUID]:
        """``subjectOwner`` and ``fieldUsers``: the subject document's owner and the users
        its member fields hold, as the document is now; only current members of the
        instance's organisation (a field may still name someone who left)."""
        if not (to.get("subjectOwner") or to.get("fieldUsers")) or not instance.document_id:
            return set()
        document = await self.content.document(instance.document_id)
        if document is None or document.organisation_id != instance.organisation_id:
            return set()
        named: set[uuid.UUID] = {document.owner_id} if to.get("subjectOwner") else set()
        for key in to.get("fieldUsers", []):
            raw = document.custom_fields.get(key)
            for value in raw if isinstance(raw, list) else [raw]:
                try:
                    named.add(uuid.UUID(str(value)))
                except ValueError:
                    continue
        org: uuid.UUID = instance.organisation_id
        return {
            user
            for user in named
            if await self.identity.membership(org, user, api_key_id=None) is not None
        }

    async def _set_tags(self, instance: Any, spec: dict[str, Any]) -> str | None:
        if instance.document_id is None:
            return "the instance's subject is not a document"
        document = await self.content.document(instance.document_id)
        if document is None or document.organisation_id != instance.organisation_id:
            return "the subject document no longer exists"
        tags = sorted({*document.tags, *spec.get("tags", [])})
        done = await self.content.set_metadata(instance.document_id, actor="workflow", tags=tags)
        return None if done is not None else "the subject document is gone or trashed"
