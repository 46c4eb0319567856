"""/tasks: the caller's human tasks (assigned to them or offered to their roles), and
claim, unclaim, delegate and complete.

The list takes ``?organisationId=`` and the membership guard; a task's own routes load
it first and apply the tenancy rule to its organisation (404 outside it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema
from hub.workflow.schemas import (
    CompleteIn,
    DelegateIn,
    OutOfOfficeIn,
    OutOfOfficeOut,
    TaskOut,
    TaskPage,
)
from hub.workflow.services.delegations import DelegationService
from hub.workflow.services.tasks import OPEN_STATES, TaskService

OrganisationQuery = Annotated[uuid.UUID, QueryParameter(name="organisationId")]
TaskState = Literal["open", "claimed", "completed", "cancelled"]


class OutOfOfficeController(Controller):
    path = "/tasks/out-of-office"
    tags = ["Workflow: tasks"]
    security = BEARER_OR_KEY

    @get(
        operation_id="getOutOfOffice",
        summary="The caller's out-of-office window in the organisation",
        guards=[permission(None)],
        opt=problems(404),
    )
    async def get_window(
        self,
        membership: NamedDependency[Membership],
        workflow_delegations: NamedDependency[DelegationService],
        organisation_id: OrganisationQuery,
    ) -> OutOfOfficeOut:
        return to_schema(await workflow_delegations.current(membership), OutOfOfficeOut)

    @put(
        operation_id="setOutOfOffice",
        summary="Set the caller's out-of-office window (replaces the previous one)",
        description="Tasks assigned to the caller by name while the window runs go to "
        "`delegateId` (a member of the organisation); when it is already running, the "
        "tasks the caller holds move at once (`moved`).",
        guards=[permission(None)],
        opt=problems(422),
    )
    async def set_window(
        self,
        data: JSONBody[OutOfOfficeIn],
        membership: NamedDependency[Membership],
        workflow_delegations: NamedDependency[DelegationService],
        organisation_id: OrganisationQuery,
    ) -> OutOfOfficeOut:
        window = await workflow_delegations.set(
            membership, data.delegate_id, data.starts_at, data.ends_at
        )
        return to_schema(window, OutOfOfficeOut)

    @delete(
        operation_id="clearOutOfOffice",
        summary="End the caller's out-of-office window",
        guards=[permission(None)],
        opt=problems(404),
    )
    async def clear_window(
        self,
        membership: NamedDependency[Membership],
        workflow_delegations: NamedDependency[DelegationService],
        organisation_id: OrganisationQuery,
    ) -> None:
        await workflow_delegations.clear(membership)


class TaskController(Controller):
    path = "/tasks"
    tags = ["Workflow: tasks"]
    security = BEARER_OR_KEY

    @get(
        operation_id="listTasks",
        summary="The caller's tasks and those offered to the caller's roles, newest first",
        description="Without `state`: open and claimed tasks. `dueBefore` keeps tasks due "
        "before that instant.",
        guards=[permission(None)],
    )
    async def list_tasks(
        self,
        membership: NamedDependency[Membership],
        workflow_tasks: NamedDependency[TaskService],
        organisation_id: OrganisationQuery,
        task_state: Annotated[
            TaskState | None, QueryParameter(name="state", required=False)
        ] = None,
        instance_id: Annotated[
            uuid.UUID | None, QueryParameter(name="instanceId", required=False)
        ] = None,
        due_before: Annotated[
            datetime | None, QueryParameter(name="dueBefore", required=False)
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> TaskPage:
        page = await workflow_tasks.list_for(
            membership,
            states=(task_state,) if task_state else OPEN_STATES,
            instance_id=instance_id,
            due_before=due_before,
            limit=limit,
            cursor=cursor,
        )
        return page_as(page, TaskOut)

    @get(
        "/{task_id:uuid}",
        operation_id="getTask",
        summary="A task of the caller (or any, with workflow.tasks.manage)",
        opt=problems(404),
    )
    async def get_task(
        self,
        principal: NamedDependency[Principal],
        workflow_tasks: NamedDependency[TaskService],
        task_id: FromPath[uuid.UUID],
    ) -> TaskOut:
        return to_schema(await workflow_tasks.get(principal, task_id), TaskOut)

    @post(
        "/{task_id:uuid}/claim",
        operation_id="claimTask",
        summary="Take a task offered to one of the caller's roles",
        status_code=200,
        opt=problems(403, 404, 409),
    )
    async def claim(
        self,
        principal: NamedDependency[Principal],
        workflow_tasks: NamedDependency[TaskService],
        task_id: FromPath[uuid.UUID],
    ) -> TaskOut:
        return to_schema(await workflow_tasks.claim(principal, task_id), TaskOut)

    @post(
        "/{task_id:uuid}/unclaim",
        operation_id="unclaimTask",
        summary="Hand a claimed task back to its roles",
        status_code=200,
        opt=problems(404, 409),
    )
    async def unclaim(
        self,
        principal: NamedDependency[Principal],
        workflow_tasks: NamedDependency[TaskService],
        task_id: FromPath[uuid.UUID],
    ) -> TaskOut:
        return to_schema(await workflow_tasks.unclaim(principal, task_id), TaskOut)

    @post(
        "/{task_id:uuid}/delegate",
        operation_id="delegateTask",
        summary="Hand a task to another member of its organisation",
        description="By the member holding it, a candidate while nobody holds it, or anyone "
        "with `workflow.tasks.manage`.",
        status_code=200,
        opt=problems(403, 404, 409, 422),
    )
    async def delegate(
        self,
        data: JSONBody[DelegateIn],
        principal: NamedDependency[Principal],
        workflow_tasks: NamedDependency[TaskService],
        task_id: FromPath[uuid.UUID],
    ) -> TaskOut:
        return to_schema(await workflow_tasks.delegate(principal, task_id, data.user_id), TaskOut)

    @post(
        "/{task_id:uuid}/complete",
        operation_id="completeTask",
        summary="Complete a task with an outcome (takes the transition it maps to)",
        description="Approvals: the approving outcome counts until `requiredApprovals` "
        "members gave it; any other outcome takes its transition at once. 403 `four_eyes` "
        "for the member who started the instance or owns its document; 422 "
        "`reason_required` for an outcome that needs a `reason`; 409 when the task or its "
        "instance moved meanwhile, or the caller already voted.",
        status_code=200,
        opt=problems(403, 404, 409, 422),
    )
    async def complete(
        self,
        data: JSONBody[CompleteIn],
        principal: NamedDependency[Principal],
        workflow_tasks: NamedDependency[TaskService],
        task_id: FromPath[uuid.UUID],
    ) -> TaskOut:
        done = await workflow_tasks.complete(principal, task_id, data.outcome, data.reason)
        return to_schema(done, TaskOut)
