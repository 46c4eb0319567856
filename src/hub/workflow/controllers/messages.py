"""/workflow-messages: an outside system's answer, correlated to the instances waiting
for it (``services.messages``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import (
    BEARER_OR_KEY,
    Cursor,
    Idempotency,
    IdempotencyKey,
    Limit,
    page_as,
    to_schema,
)
from hub.workflow.domain.permissions import MESSAGES_CORRELATE
from hub.workflow.schemas import KeptMessageOut, KeptMessagePage, MessageIn, MessageOut
from hub.workflow.services.messages import Match, MessageService

OrganisationQuery = Annotated[uuid.UUID, QueryParameter(name="organisationId")]


class MessageController(Controller):
    path = "/workflow-messages"
    tags = ["Workflow: instances"]
    security = BEARER_OR_KEY

    @post(
        operation_id="correlateWorkflowMessage",
        summary="Deliver a message to the instances waiting for it (as in Camunda)",
        description="The running instances of the organisation standing in a state that a "
        "transition with this `message` leaves, narrowed by `correlation` (`workflowKey`, "
        "`instanceId`, the subject's `reference` or `documentId`, `variables` the instance "
        "holds), take that transition; `variables` are merged into theirs and are the "
        "step's `data`. Exactly one must wait unless `all`: 404 `no_instance_waiting`, 409 "
        "`ambiguous_correlation` (`extra.instanceIds`). With `all`, up to 100 move, each in "
        "its own transaction; those that cannot (a condition, a concurrent step) are listed "
        "in `refused`. When none waits, the workflows whose newest version has a "
        "`{message}` trigger start an instance on the subject `correlation` names "
        "(`reference` or `documentId`), with `variables` (`started` lists them). Needs "
        "`workflow.messages.correlate`; accepts an `Idempotency-Key` header (a sender's "
        "retry answers the first answer, and moves or starts nothing again). When nothing "
        "waits or starts, `timeToLiveSeconds` (at most 604800) keeps the message for the "
        "first instance that comes to wait for it and matches (`buffered`), instead of 404; "
        "not with `all` (422).",
        status_code=200,
        opt=problems(403, 404, 409, 422),
    )
    async def correlate(
        self,
        data: JSONBody[MessageIn],
        principal: NamedDependency[Principal],
        workflow_messages: NamedDependency[MessageService],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[MessageOut]:
        c = data.correlation
        match = Match(
            workflow_key=c.workflow_key,
            instance_id=c.instance_id,
            reference=c.reference,
            document_id=c.document_id,
            variables=dict(c.variables),
        )

        async def produce() -> MessageOut:
            correlated = await workflow_messages.correlate(
                principal,
                data.organisation_id,
                data.name,
                match,
                data.variables,
                every=data.every,
                ttl_seconds=data.time_to_live_seconds,
            )
            return to_schema(correlated, MessageOut)

        return await idempotency.respond(
            key=idempotency_key,
            caller=principal.user_id,
            operation=f"correlateWorkflowMessage:{data.organisation_id}",
            request=data,
            produce=produce,
            result_type=MessageOut,
            status_code=200,
        )

    @get(
        operation_id="listKeptWorkflowMessages",
        summary="Messages kept for instances that do not wait for them yet, newest first",
        description="Those sent with `timeToLiveSeconds` that no instance took yet and "
        "that have not expired. Needs `workflow.messages.correlate`.",
        guards=[permission(MESSAGES_CORRELATE)],
    )
    async def list_kept(
        self,
        membership: NamedDependency[Membership],
        workflow_messages: NamedDependency[MessageService],
        organisation_id: OrganisationQuery,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> KeptMessagePage:
        page = await workflow_messages.kept(membership, limit=limit, cursor=cursor)
        return page_as(page, KeptMessageOut)

    @delete(
        "/{message_id:uuid}",
        status_code=204,
        operation_id="forgetKeptWorkflowMessage",
        summary="Forget a kept message before any instance takes it",
        description="Needs `workflow.messages.correlate`; another organisation's is 404.",
        opt=problems(403, 404),
    )
    async def forget(
        self,
        message_id: FromPath[uuid.UUID],
        principal: NamedDependency[Principal],
        workflow_messages: NamedDependency[MessageService],
    ) -> None:
        await workflow_messages.forget(principal, message_id)
