"""Messages to running instances, as Camunda correlates them: an outside system (a
payment provider's relay, a laboratory's result feed, a supplier portal) says "payment
received for order 4711" without knowing which instance waits for it.

A definition names the transitions a message takes (``message`` on a transition). A
message finds the running instances of the organisation standing in a state that such a
transition leaves, narrowed by what the sender knows: the instance, the workflow, the
subject's reference or document, variables the instance holds. By default exactly one
must wait (none: 404, several: 409 naming them, so a sender never moves the wrong
order's process); with ``all`` every one waiting moves (at most 100 a call, the oldest
first), each in its own transaction. The message's variables are merged into the
instance's and are the step's ``data``: its form, its condition and its actions see them.

When no instance waits, a workflow whose newest version has a ``{"message": …}`` trigger
starts one on the subject the correlation names (a message start event), with the
message's variables. Waiting instances come first: a message is never both.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec

from hub.identity.api import Membership
from hub.kernel.errors import AppError, Conflict, NotFound
from hub.kernel.problems import field_invalid
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy
from hub.workflow import repositories
from hub.workflow.api import MessageCorrelated
from hub.workflow.domain import definitions as defs
from hub.workflow.domain.permissions import MESSAGES_CORRELATE
from hub.workflow.services.instances import (
    MAX_VARIABLES_BYTES,
    InstanceService,
    InstanceView,
    Subject,
    actor_of,
    check_form,
    view_of,
)

#: Instances one message moves at most (``all``); the rest wait for the next call.
MAX_CORRELATED = 100


@dataclass(frozen=True)
class Match:
    """What the sender knows of the instance; every criterion given must hold."""

    workflow_key: str | None = None
    instance_id: uuid.UUID | None = None
    reference: str | None = None
    document_id: uuid.UUID | None = None
    #: The instance's variables hold each of these (JSON containment).
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    instance_id: uuid.UUID
    code: str
    detail: str


@dataclass(frozen=True)
class Correlated:
    instances: list[InstanceView]
    refused: list[Refused]
    #: More instances wait than one call moves: send the message again.
    more: bool
    #: The instances the message started (no running instance waited for it).
    started: list[uuid.UUID] = field(default_factory=list)


class MessageService:
    def __init__(self, store: Store, tenancy: Tenancy, instances: InstanceService) -> None:
        self.store, self.tenancy, self.instances = store, tenancy, instances

    async def correlate(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        name: str,
        match: Match,
        variables: dict[str, Any],
        *,
        every: bool,
    ) -> Correlated:
        member = cast(
            Membership,
            await self.tenancy.authorise(principal, organisation_id, MESSAGES_CORRELATE),
        )
        if len(msgspec.json.encode(variables)) > MAX_VARIABLES_BYTES:
            raise field_invalid("variables", f"at most {MAX_VARIABLES_BYTES} bytes of JSON")
        waiting = await self._waiting(organisation_id, name, match)
        if not waiting:
            return await self._start(
                principal, member, organisation_id, name, match, variables, every
            )
        if not every and len(waiting) > 1:
            raise Conflict(
                f"Several running instances wait for the message {name!r}: narrow the "
                "correlation, or send it to all of them with `all`.",
                code="ambiguous_correlation",
                extra={"instanceIds": [str(row.id) for row, _, _ in waiting[:MAX_CORRELATED]]},
            )
        actor = actor_of(principal, member)
        moved: list[InstanceView] = []
        refused: list[Refused] = []
        for row, definition, transition in waiting[:MAX_CORRELATED]:
            merged = {**row.variables, **variables}
            try:
                check_form(transition, variables)
                await self.instances.check_condition(transition, row, merged, variables)
                async with self.store.uow() as uow:
                    view = await self.instances.take_in(
                        uow, row, definition, transition, actor, variables, variables=merged
                    )
                    uow.publish(
                        MessageCorrelated(
                            organisation_id=row.organisation_id,
                            instance_id=row.id,
                            workflow_key=row.workflow_key,
                            workflow_version=row.workflow_version,
                            document_id=row.document_id,
                            actor_id=actor.actor_id,
                            message=name,
                            transition=transition.name,
                        )
                    )
                    await uow.commit()
            except AppError as exc:
                if not every:
                    raise
                refused.append(Refused(row.id, exc.code or "refused", exc.detail))
            else:
                moved.append(view)
        return Correlated(moved, refused, more=len(waiting) > MAX_CORRELATED)

    async def _start(
        self,
        principal: Principal,
        member: Membership,
        organisation_id: uuid.UUID,
        name: str,
        match: Match,
        variables: dict[str, Any],
        every: bool,
    ) -> Correlated:
        """No instance waits: the workflows whose newest version starts on the message
        start one each on the subject the correlation names (a message naming an instance
        or its variables is about a running one, and starts nothing)."""
        subject = Subject(document_id=match.document_id, reference=match.reference)
        starts: list[tuple[Any, defs.Definition]] = []
        if (
            match.instance_id is None
            and not match.variables
            and (subject.document_id is not None or subject.reference is not None)
        ):
            for row in await repositories.newest_definitions(self.store, organisation_id):
                if match.workflow_key is not None and row.key != match.workflow_key:
                    continue
                definition = await self.instances.definition(row.id)
                if name in definition.start_messages:
                    starts.append((row, definition))
        if not starts:
            raise NotFound(
                f"No running instance that matches waits for the message {name!r}, and no "
                "workflow starts on it for a subject the correlation names.",
                code="no_instance_waiting",
            )
        if not every and len(starts) > 1:
            raise Conflict(
                f"Several workflows start on the message {name!r}: name one with "
                "`correlation.workflowKey`, or start them all with `all`.",
                code="ambiguous_correlation",
                extra={"workflowKeys": [row.key for row, _ in starts]},
            )
        await self.instances.check_subject(
            principal, organisation_id, subject, "correlation.documentId"
        )
        actor = actor_of(principal, member)
        views: list[InstanceView] = []
        async with self.store.uow() as uow:
            for row, definition in starts:
                instance = await self.instances.start_in(
                    uow, row, definition, subject, variables, actor, started_data={"message": name}
                )
                uow.publish(
                    MessageCorrelated(
                        organisation_id=organisation_id,
                        instance_id=instance.id,
                        workflow_key=instance.workflow_key,
                        workflow_version=instance.workflow_version,
                        document_id=instance.document_id,
                        actor_id=actor.actor_id,
                        message=name,
                        transition=None,
                    )
                )
                views.append(view_of(instance, definition))
            await uow.commit()
        return Correlated(views, [], more=False, started=[v.id for v in views])

    async def _waiting(
        self, organisation_id: uuid.UUID, name: str, match: Match
    ) -> list[tuple[Any, defs.Definition, defs.Transition]]:
        """The matching instances waiting for ``name``, oldest first, with the transition
        it takes each (``MAX_CORRELATED`` + 1 at most)."""
        takes: dict[tuple[uuid.UUID, str], tuple[defs.Definition, defs.Transition]] = {}
        for found in await repositories.definitions_awaiting(
            self.store, organisation_id, name, match.workflow_key
        ):
            definition = await self.instances.definition(found.id)
            for transition in definition.transitions.values():
                if transition.message == name:
                    for state in transition.sources:
                        takes.setdefault((found.id, state), (definition, transition))
        if not takes:
            return []
        rows = await repositories.waiting_for(
            self.store,
            organisation_id,
            list(takes),
            instance_id=match.instance_id,
            reference=match.reference,
            document_id=match.document_id,
            variables=match.variables,
            limit=MAX_CORRELATED,
        )
        return [(row, *takes[(row.definition_id, row.state)]) for row in rows]
