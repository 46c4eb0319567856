"""/workflow-instances: start, list, read, history, transitions, cancel, effects and
their retry or dismissal; /workflow-incidents: the organisation's failed effects.

Starting names its organisation in the body (the service applies the tenancy rule); an
instance's own routes load it first, then apply the rule to its organisation and its
subject (404 when the caller may not see it)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT
from hub.kernel.problems import field_invalid
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema
from hub.workflow.domain.permissions import INCIDENTS_MANAGE, INSTANCES_READ
from hub.workflow.schemas import (
    CancelIn,
    DismissIn,
    EffectOut,
    EffectPage,
    HistoryOut,
    HistoryPage,
    IncidentOut,
    IncidentPage,
    InstanceIn,
    InstanceOut,
    InstancePage,
    MigrateIn,
    TransitionIn,
    WorkflowKey,
)
from hub.workflow.services.incidents import IncidentService
from hub.workflow.services.instances import InstanceService, Subject
from hub.workflow.services.migration import MigrationService

OrganisationQuery = Annotated[uuid.UUID, QueryParameter(name="organisationId")]
InstanceStatus = Literal["active", "completed", "cancelled"]


class InstanceController(Controller):
    path = "/workflow-instances"
    tags = ["Workflow: instances"]
    security = BEARER_OR_KEY

    @post(
        operation_id="startWorkflowInstance",
        summary="Start an instance of the newest version of a workflow on a subject",
        description="`subject` is `{documentId}` (a document of the organisation the "
        "caller may read) or `{reference}`. The instance stays on this version.",
        opt=problems(403, 404, 422),
    )
    async def start(
        self,
        data: JSONBody[InstanceIn],
        principal: NamedDependency[Principal],
        workflow_instances: NamedDependency[InstanceService],
    ) -> InstanceOut:
        subject = data.subject
        if (subject.document_id is None) == (subject.reference is None):
            raise field_invalid("subject", "give exactly one of documentId and reference")
        started = await workflow_instances.start(
            principal,
            data.organisation_id,
            data.workflow_key,
            Subject(document_id=subject.document_id, reference=subject.reference),
            data.variables,
        )
        return to_schema(started, InstanceOut)

    @get(
        operation_id="listWorkflowInstances",
        summary="The organisation's instances, newest first",
        description="Instances on documents the caller may not read are left out and the "
        "page is filled from later ones; only after 2,000 rows passed over may a page hold "
        "fewer than `limit` items while `nextCursor` is set (it resumes the scan).",
        guards=[permission(INSTANCES_READ)],
    )
    async def list_instances(
        self,
        principal: NamedDependency[Principal],
        membership: NamedDependency[Membership],
        workflow_instances: NamedDependency[InstanceService],
        organisation_id: OrganisationQuery,
        workflow_key: Annotated[
            WorkflowKey | None, QueryParameter(name="workflowKey", required=False)
        ] = None,
        in_state: Annotated[
            str | None, QueryParameter(name="state", required=False, min_length=1, max_length=64)
        ] = None,
        status: Annotated[InstanceStatus | None, QueryParameter(required=False)] = None,
        document_id: Annotated[
            uuid.UUID | None, QueryParameter(name="documentId", required=False)
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> InstancePage:
        page = await workflow_instances.list_in(
            principal,
            membership,
            key=workflow_key,
            state=in_state,
            status=status,
            document_id=document_id,
            limit=limit,
            cursor=cursor,
        )
        return page_as(page, InstanceOut)

    @get(
        "/{instance_id:uuid}",
        operation_id="getWorkflowInstance",
        summary="An instance: its state, version, variables and available transitions",
        opt=problems(403, 404),
    )
    async def get_instance(
        self,
        principal: NamedDependency[Principal],
        workflow_instances: NamedDependency[InstanceService],
        instance_id: FromPath[uuid.UUID],
    ) -> InstanceOut:
        return to_schema(await workflow_instances.get(principal, instance_id), InstanceOut)

    @get(
        "/{instance_id:uuid}/history",
        operation_id="getWorkflowInstanceHistory",
        summary="Every step of an instance, oldest first",
        opt=problems(403, 404),
    )
    async def history(
        self,
        principal: NamedDependency[Principal],
        workflow_instances: NamedDependency[InstanceService],
        instance_id: FromPath[uuid.UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> HistoryPage:
        page = await workflow_instances.history(principal, instance_id, limit=limit, cursor=cursor)
        return page_as(page, HistoryOut)

    @post(
        "/{instance_id:uuid}/transitions",
        operation_id="transitionWorkflowInstance",
        summary="Take a transition (checked against its guard, condition and form)",
        description="`expectedVersion` is the instance's `version` the caller saw: a stale "
        "or concurrent step answers 409 and nothing of it is applied. 403 when the caller "
        "lacks the transition's roles or permission; 422 for a transition that does not "
        "leave the current state, missing required form fields or a condition that does "
        "not hold.",
        status_code=200,
        opt=problems(403, 404, 409, 422),
    )
    async def transition(
        self,
        data: JSONBody[TransitionIn],
        principal: NamedDependency[Principal],
        workflow_instances: NamedDependency[InstanceService],
        instance_id: FromPath[uuid.UUID],
    ) -> InstanceOut:
        moved = await workflow_instances.transition(
            principal, instance_id, data.transition, data.expected_version, data.data
        )
        return to_schema(moved, InstanceOut)

    @post(
        "/{instance_id:uuid}/cancel",
        operation_id="cancelWorkflowInstance",
        summary="Cancel a running instance",
        status_code=200,
        opt=problems(403, 404, 409),
    )
    async def cancel(
        self,
        data: JSONBody[CancelIn],
        principal: NamedDependency[Principal],
        workflow_instances: NamedDependency[InstanceService],
        instance_id: FromPath[uuid.UUID],
    ) -> InstanceOut:
        cancelled = await workflow_instances.cancel(
            principal, instance_id, data.expected_version, data.reason
        )
        return to_schema(cancelled, InstanceOut)

    @post(
        "/{instance_id:uuid}/migrate",
        operation_id="migrateWorkflowInstance",
        summary="Move a running instance to another version of its workflow",
        description="Needs `workflow.definitions.manage`. The instance lands in the state "
        "of the same name, or the one `stateMapping` names; no action runs, variables and "
        "open tasks stay, the SLA ladder is the target state's (its steps still ahead). "
        "422 `migration_invalid` lists every reason it cannot land (a missing or final "
        "state, an open task whose outcome no longer leads anywhere); 422 `unknown_version`"
        ", `same_version` on `toVersion`; 409 `stale_instance`, `instance_ended`.",
        status_code=200,
        opt=problems(403, 404, 409, 422),
    )
    async def migrate(
        self,
        data: JSONBody[MigrateIn],
        principal: NamedDependency[Principal],
        workflow_migration: NamedDependency[MigrationService],
        instance_id: FromPath[uuid.UUID],
    ) -> InstanceOut:
        moved = await workflow_migration.migrate(
            principal,
            instance_id,
            to_version=data.to_version,
            expected_version=data.expected_version,
            state_mapping=data.state_mapping,
        )
        return to_schema(moved, InstanceOut)

    @get(
        "/{instance_id:uuid}/effects",
        operation_id="listWorkflowInstanceEffects",
        summary="The effects the instance's steps asked of other contexts, in order",
        description="Each with its `status` (`pending`, `done`, `failed` with the other "
        "context's refusal in `error`, `dismissed`) and how many times it was run again "
        "(`retries`).",
        opt=problems(403, 404),
    )
    async def effects(
        self,
        principal: NamedDependency[Principal],
        workflow_incidents: NamedDependency[IncidentService],
        instance_id: FromPath[uuid.UUID],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> EffectPage:
        page = await workflow_incidents.effects(principal, instance_id, limit=limit, cursor=cursor)
        return page_as(page, EffectOut)

    @post(
        "/{instance_id:uuid}/effects/{effect_id:uuid}/retry",
        operation_id="retryWorkflowInstanceEffect",
        summary="Run a failed effect again (once its cause is fixed)",
        description="Needs `workflow.incidents.manage`. The effect turns `pending` and "
        "its job is queued in the same transaction; 409 `effect_not_failed` when it is not "
        "`failed` (already pending again, or done). Publishes `workflow.effect.retried`.",
        status_code=200,
        opt=problems(403, 404, 409),
    )
    async def retry_effect(
        self,
        principal: NamedDependency[Principal],
        workflow_incidents: NamedDependency[IncidentService],
        instance_id: FromPath[uuid.UUID],
        effect_id: FromPath[uuid.UUID],
    ) -> EffectOut:
        retried = await workflow_incidents.retry(principal, instance_id, effect_id)
        return to_schema(retried, EffectOut)

    @post(
        "/{instance_id:uuid}/effects/{effect_id:uuid}/dismiss",
        operation_id="dismissWorkflowInstanceEffect",
        summary="Give up on a failed effect: it never runs and leaves the incidents",
        description="Needs `workflow.incidents.manage`. The effect turns `dismissed` and "
        "keeps its `error`; `reason` goes into the `workflow.effect.dismissed` event. 409 "
        "`effect_not_failed` when it is not `failed`.",
        status_code=200,
        opt=problems(403, 404, 409),
    )
    async def dismiss_effect(
        self,
        data: JSONBody[DismissIn],
        principal: NamedDependency[Principal],
        workflow_incidents: NamedDependency[IncidentService],
        instance_id: FromPath[uuid.UUID],
        effect_id: FromPath[uuid.UUID],
    ) -> EffectOut:
        dismissed = await workflow_incidents.dismiss(principal, instance_id, effect_id, data.reason)
        return to_schema(dismissed, EffectOut)


class IncidentController(Controller):
    path = "/workflow-incidents"
    tags = ["Workflow: instances"]
    security = BEARER_OR_KEY

    @get(
        operation_id="listWorkflowIncidents",
        summary="The organisation's failed workflow effects (incidents), newest first",
        description="Needs `workflow.incidents.manage`. Incidents of instances on documents "
        "the caller may not read are left out. Run one again with "
        "`POST /workflow-instances/{id}/effects/{effectId}/retry`.",
        guards=[permission(INCIDENTS_MANAGE)],
    )
    async def list_incidents(
        self,
        principal: NamedDependency[Principal],
        membership: NamedDependency[Membership],
        workflow_incidents: NamedDependency[IncidentService],
        organisation_id: OrganisationQuery,
        workflow_key: Annotated[
            WorkflowKey | None, QueryParameter(name="workflowKey", required=False)
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> IncidentPage:
        page = await workflow_incidents.incidents(
            principal, membership, key=workflow_key, limit=limit, cursor=cursor
        )
        return page_as(page, IncidentOut)
