"""/workflows: publish a new version of a definition, list, read, versions, and move the
running instances of one version to another.

Publishing names its organisation in the body, so the service applies the tenancy rule
(404 outside it, 403 without ``workflow.definitions.manage``); reads take
``?organisationId=`` and the route's guard."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema
from hub.workflow.domain.permissions import DEFINITIONS_READ, INSTANCES_READ
from hub.workflow.schemas import (
    MigrationsIn,
    MigrationsOut,
    RetriedIncidentsOut,
    RetryIncidentsIn,
    WorkflowIn,
    WorkflowKey,
    WorkflowOut,
    WorkflowPage,
    WorkflowStatsOut,
)
from hub.workflow.services.definitions import DefinitionService
from hub.workflow.services.incidents import IncidentService
from hub.workflow.services.migration import MigrationService
from hub.workflow.services.stats import StatsService

OrganisationQuery = Annotated[uuid.UUID, QueryParameter(name="organisationId")]


class WorkflowController(Controller):
    path = "/workflows"
    tags = ["Workflow: definitions"]
    security = BEARER_OR_KEY

    @post(
        operation_id="publishWorkflow",
        summary="Publish a new version of a workflow definition",
        description="Validates the whole definition and answers 422 listing every problem "
        "(unknown states, roles, permissions or action kinds, unreachable states, "
        "transitions from final states, bad CEL expressions, not exactly one initial "
        "state). Running instances stay on the version they started on.",
        opt=problems(403, 404, 422),
    )
    async def publish(
        self,
        data: JSONBody[WorkflowIn],
        principal: NamedDependency[Principal],
        workflow_definitions: NamedDependency[DefinitionService],
    ) -> WorkflowOut:
        published = await workflow_definitions.publish(
            principal, data.organisation_id, data.key, data.definition
        )
        return to_schema(published, WorkflowOut)

    @post(
        "/{key:str}/migrations",
        operation_id="migrateWorkflowInstances",
        summary="Move the running instances of one version to another, a page at a time",
        description="Needs `workflow.definitions.manage`. Up to `limit` running instances "
        "of `fromVersion`, oldest first, each moved as `POST /workflow-instances/{id}/"
        "migrate` would move it, in its own transaction: one that cannot land is listed "
        "in `refused` with the reasons and stays where it was. Instances on documents the "
        "caller may not read are left out. Call again with `nextCursor` until it is null. "
        "422 `unknown_version` (`fromVersion`, `toVersion`), `same_version`.",
        status_code=200,
        opt=problems(403, 404, 422),
    )
    async def migrate_instances(
        self,
        key: FromPath[WorkflowKey],
        data: JSONBody[MigrationsIn],
        principal: NamedDependency[Principal],
        workflow_migration: NamedDependency[MigrationService],
    ) -> MigrationsOut:
        result = await workflow_migration.migrate_many(
            principal,
            data.organisation_id,
            key,
            from_version=data.from_version,
            to_version=data.to_version,
            state_mapping=data.state_mapping,
            limit=data.limit,
            cursor=data.cursor,
        )
        return to_schema(result, MigrationsOut)

    @post(
        "/{key:str}/incidents/retry",
        operation_id="retryWorkflowIncidents",
        summary="Run again the failed effects of a workflow, oldest first",
        description="Needs `workflow.incidents.manage`. Once a cause is fixed (a missing "
        "template is back), up to `limit` incidents of the workflow (of one `kind`, if "
        "given) turn `pending` with their jobs queued, in one transaction, each with its "
        "`workflow.effect.retried`. Incidents another request is retrying are skipped, as "
        "are those on documents the caller may not read; `remaining` counts what is left.",
        status_code=200,
        opt=problems(403, 404),
    )
    async def retry_incidents(
        self,
        key: FromPath[WorkflowKey],
        data: JSONBody[RetryIncidentsIn],
        principal: NamedDependency[Principal],
        workflow_incidents: NamedDependency[IncidentService],
    ) -> RetriedIncidentsOut:
        done = await workflow_incidents.retry_all(
            principal, data.organisation_id, key, kind=data.kind, limit=data.limit
        )
        return to_schema(done, RetriedIncidentsOut)

    @get(
        operation_id="listWorkflows",
        summary="The organisation's workflows (newest version of each), by key",
        guards=[permission(DEFINITIONS_READ)],
    )
    async def list_workflows(
        self,
        workflow_definitions: NamedDependency[DefinitionService],
        organisation_id: OrganisationQuery,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> WorkflowPage:
        page = await workflow_definitions.list_latest(organisation_id, limit=limit, cursor=cursor)
        return page_as(page, WorkflowOut)

    @get(
        "/{key:str}",
        operation_id="getWorkflow",
        summary="The newest version of a workflow",
        guards=[permission(DEFINITIONS_READ)],
        opt=problems(404),
    )
    async def get_workflow(
        self,
        workflow_definitions: NamedDependency[DefinitionService],
        key: FromPath[WorkflowKey],
        organisation_id: OrganisationQuery,
    ) -> WorkflowOut:
        return to_schema(await workflow_definitions.latest(organisation_id, key), WorkflowOut)

    @get(
        "/{key:str}/versions",
        operation_id="listWorkflowVersions",
        summary="Every published version of a workflow, newest first",
        guards=[permission(DEFINITIONS_READ)],
        opt=problems(404),
    )
    async def list_versions(
        self,
        workflow_definitions: NamedDependency[DefinitionService],
        key: FromPath[WorkflowKey],
        organisation_id: OrganisationQuery,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> WorkflowPage:
        page = await workflow_definitions.versions(organisation_id, key, limit=limit, cursor=cursor)
        return page_as(page, WorkflowOut)

    @get(
        "/{key:str}/stats",
        operation_id="getWorkflowStats",
        summary="Instances per state and status, median time in each state, SLA breaches",
        guards=[permission(INSTANCES_READ)],
        opt=problems(404),
    )
    async def stats(
        self,
        workflow_stats: NamedDependency[StatsService],
        key: FromPath[WorkflowKey],
        organisation_id: OrganisationQuery,
    ) -> WorkflowStatsOut:
        return to_schema(await workflow_stats.of(organisation_id, key), WorkflowStatsOut)
