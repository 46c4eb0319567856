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
from datetime import timedelta
from typing import Any, cast

import msgspec
from sqlalchemy import delete

from hub.identity.api import Membership
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import AppError, Conflict, NotFound
from hub.kernel.pagination import Page, after_uuid, page_of
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.schema import new_id
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy, permission_denied
from hub.workflow import repositories
from hub.workflow.api import MessageCorrelated
from hub.workflow.domain import definitions as defs
from hub.workflow.domain.permissions import MESSAGES_CORRELATE
from hub.workflow.models import BufferedMessage
from hub.workflow.services.instances import (
    MAX_VARIABLES_BYTES,
    Actor,
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
    #: Kept for the first instance that comes to wait for it (``timeToLiveSeconds``).
    buffered: Any = None


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
        ttl_seconds: int = 0,
    ) -> Correlated:
        member = cast(
            Membership,
            await self.tenancy.authorise(principal, organisation_id, MESSAGES_CORRELATE),
        )
        if len(msgspec.json.encode(variables)) > MAX_VARIABLES_BYTES:
            raise field_invalid("variables", f"at most {MAX_VARIABLES_BYTES} bytes of JSON")
        if ttl_seconds and every:
            raise field_invalid(
                "timeToLiveSeconds", "a kept message goes to one instance: not with `all`"
            )
        waiting = await self._waiting(organisation_id, name, match)
        if not waiting:
            starts = await self._starts(organisation_id, name, match)
            if starts:
                return await self._start(
                    principal, member, organisation_id, name, match, variables, every, starts
                )
            if ttl_seconds:
                return Correlated(
                    [],
                    [],
                    more=False,
                    buffered=await self._keep(
                        principal, organisation_id, name, match, variables, ttl_seconds
                    ),
                )
            raise NotFound(
                f"No running instance that matches waits for the message {name!r}, and no "
                "workflow starts on it for a subject the correlation names.",
                code="no_instance_waiting",
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
                    view = await self._take(
                        uow, row, definition, transition, actor, name, variables
                    )
                    await uow.commit()
            except AppError as exc:
                if not every:
                    raise
                refused.append(Refused(row.id, exc.code or "refused", exc.detail))
            else:
                moved.append(view)
        return Correlated(moved, refused, more=len(waiting) > MAX_CORRELATED)

    async def _take(
        self,
        uow: UnitOfWork,
        row: Any,
        definition: defs.Definition,
        transition: defs.Transition,
        actor: Actor,
        name: str,
        variables: dict[str, Any],
    ) -> InstanceView:
        """The message's step, in ``uow``: its variables merged in and the step's data."""
        view = await self.instances.take_in(
            uow,
            row,
            definition,
            transition,
            actor,
            variables,
            variables={**row.variables, **variables},
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
        return view

    async def _starts(
        self, organisation_id: uuid.UUID, name: str, match: Match
    ) -> list[tuple[Any, defs.Definition]]:
        """The workflows whose newest version starts on the message, when the correlation
        names a subject (a message naming an instance or its variables is about a running
        one, and starts nothing)."""
        if match.instance_id is not None or match.variables:
            return []
        if match.document_id is None and match.reference is None:
            return []
        starts: list[tuple[Any, defs.Definition]] = []
        for row in await repositories.newest_definitions(self.store, organisation_id):
            if match.workflow_key is not None and row.key != match.workflow_key:
                continue
            definition = await self.instances.definition(row.id)
            if name in definition.start_messages:
                starts.append((row, definition))
        return starts

    async def _start(
        self,
        principal: Principal,
        member: Membership,
        organisation_id: uuid.UUID,
        name: str,
        match: Match,
        variables: dict[str, Any],
        every: bool,
        starts: list[tuple[Any, defs.Definition]],
    ) -> Correlated:
        """No instance waits: each workflow that starts on the message starts one on the
        subject the correlation names."""
        subject = Subject(document_id=match.document_id, reference=match.reference)
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

    # ------------------------------------------------------------------ kept messages

    async def _keep(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        name: str,
        match: Match,
        variables: dict[str, Any],
        ttl_seconds: int,
    ) -> Any:
        """Nothing waits and nothing starts: keep the message for ``ttl_seconds``."""
        await self.instances.check_subject(
            principal,
            organisation_id,
            Subject(document_id=match.document_id, reference=match.reference),
            "correlation.documentId",
        )
        now = self.instances.clock()
        kept = BufferedMessage(
            id=new_id(),
            organisation_id=organisation_id,
            name=name,
            workflow_key=match.workflow_key,
            instance_id=match.instance_id,
            reference=match.reference,
            document_id=match.document_id,
            match_variables=dict(match.variables),
            variables=dict(variables),
            sender_id=principal.user_id,
            sender_type="api_key" if principal.api_key_id is not None else "user",
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
        async with self.store.uow() as uow:
            uow.session.add(kept)
            await uow.commit()
        return kept

    async def deliver_kept(self, instance_id: uuid.UUID) -> bool:
        """The ``workflow.deliver_buffered_message`` job: an instance came to wait for
        messages; the oldest kept one that matches it (and that its form and condition
        accept) takes its step, as its sender, and is forgotten. One whose form or
        condition refuses stays for another instance until it expires."""
        row = await repositories.instance_by_id(self.store, instance_id)
        if row is None or row.status != "active":
            return False
        definition = await self.instances.definition(row.definition_id)
        takes = {t.message: t for t in definition.leaving(row.state) if t.message is not None}
        if not takes:
            return False
        async with self.store.uow() as uow:
            for kept in await repositories.kept_for(
                uow.session, row, sorted(takes), self.instances.clock()
            ):
                transition = takes[kept.name]
                try:
                    check_form(transition, kept.variables)
                    await self.instances.check_condition(
                        transition, row, {**row.variables, **kept.variables}, kept.variables
                    )
                except AppError:
                    continue
                await uow.session.execute(
                    delete(BufferedMessage).where(BufferedMessage.id == kept.id)
                )
                sender = Actor(actor_type=kept.sender_type, actor_id=kept.sender_id)
                await self._take(
                    uow, row, definition, transition, sender, kept.name, kept.variables
                )
                await uow.commit()
                return True
        return False

    async def kept(self, member: Membership, *, limit: int, cursor: str | None) -> Page[Any]:
        """``GET /workflow-messages``: the organisation's kept messages, newest first."""
        rows = await repositories.kept_page(
            self.store,
            member.organisation_id,
            self.instances.clock(),
            before=after_uuid(cursor) if cursor else None,
            limit=limit,
        )
        return page_of(rows, limit, lambda row: (str(row.id),))

    async def forget(self, principal: Principal, message_id: uuid.UUID) -> None:
        """``DELETE /workflow-messages/{id}``: another organisation's is 404."""
        row = await repositories.kept_message(self.store, message_id)
        if row is None:
            raise not_found("kept message")
        member = await self.tenancy.membership(principal, row.organisation_id)
        if member is None:
            raise not_found("kept message")
        if not member.allows(MESSAGES_CORRELATE):
            raise permission_denied(MESSAGES_CORRELATE)
        async with self.store.uow() as uow:
            await uow.session.execute(delete(BufferedMessage).where(BufferedMessage.id == row.id))
            await uow.commit()

    async def purge_expired(self) -> int:
        """The daily ``workflow.purge_kept_messages`` job."""
        async with self.store.uow() as uow:
            gone = await uow.session.execute(
                delete(BufferedMessage)
                .where(BufferedMessage.expires_at <= self.instances.clock())
                .returning(BufferedMessage.id)
            )
            count = len(gone.all())
            await uow.commit()
        return count

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
