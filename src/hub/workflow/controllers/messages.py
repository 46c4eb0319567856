"""/workflow-messages: an outside system's answer, correlated to the instances waiting
for it (``services.messages``)."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from hub.kernel.openapi import problems
from hub.kernel.security import Principal
from hub.kernel.web import BEARER_OR_KEY, Idempotency, IdempotencyKey, to_schema
from hub.workflow.schemas import MessageIn, MessageOut
from hub.workflow.services.messages import Match, MessageService


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
        "retry answers the first answer, and moves or starts nothing again).",
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
                principal, data.organisation_id, data.name, match, data.variables, every=data.every
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
