"""Instances: start one on a subject, read it (with its history), move it along a
transition and cancel it.

Every step is one transaction: the instance row (optimistic concurrency: ``UPDATE ...
WHERE version = :expected``; a stale or concurrent step is a 409 and nothing of it is
applied), its history row, its effect rows with their jobs and its events commit together.

Visibility: a caller sees an instance when a member of its organisation holding
``workflow.instances.read`` and, for a document subject, allowed to read that document
(``ContentApi.may_read``); otherwise it does not exist for them (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import msgspec
from sqlalchemy import Update, exists, select, update

from hub.content.api import ContentApi
from hub.identity.api import Membership
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork, current_correlation_id
from hub.kernel.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from hub.kernel.pagination import Page, decode_cursor, page_of
from hub.kernel.problems import field_invalid, invalid_cursor, not_found
from hub.kernel.schema import new_id
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy
from hub.workflow import repositories
from hub.workflow.api import (
    InstanceCancelled,
    InstanceCompleted,
    InstanceStarted,
    InstanceTransitioned,
)
from hub.workflow.domain import definitions as defs
from hub.workflow.domain.expressions import ExpressionError, holds, value_of
from hub.workflow.domain.permissions import INSTANCES_CANCEL, INSTANCES_READ, INSTANCES_START
from hub.workflow.models import (
    BufferedMessage,
    Delegation,
    Effect,
    HistoryEntry,
    Instance,
    Task,
    Timer,
)
from hub.workflow.services import metrics
from hub.workflow.services.effects import RUN_EFFECT
from hub.workflow.services.host_functions import ClassifierOracle, host_functions
from hub.workflow.services.readable_pages import Readable, readable_page

MAX_VARIABLES_BYTES = 64 * 1024
#: The job that hands an instance now waiting for messages the one kept for it, if any.
DELIVER_MESSAGE = "workflow.deliver_buffered_message"
#: Workflows one step may start through ``startWorkflow`` actions, one starting the next.
MAX_CHAIN = 5


@dataclass(frozen=True)
class Subject:
    document_id: uuid.UUID | None = None
    reference: str | None = None


@dataclass(frozen=True)
class InstanceView:
    id: uuid.UUID
    organisation_id: uuid.UUID
    workflow_key: str
    workflow_version: int
    state: str
    status: str
    version: int
    subject: Subject
    variables: dict[str, Any]
    started_by: uuid.UUID | None
    started_at: datetime
    state_entered_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    #: Transitions that may be taken directly from the current state (not those a task's
    #: outcome or a message takes; whether the caller may take them is checked when it
    #: tries).
    transitions: list[str] = field(default_factory=list)
    #: Messages the instance waits for in its current state (``POST /workflow-messages``).
    messages: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryView:
    id: uuid.UUID
    instance_version: int
    kind: str
    transition: str | None
    from_state: str | None
    to_state: str
    actor_id: uuid.UUID | None
    actor_type: str
    data: dict[str, Any]
    correlation_id: str | None
    occurred_at: datetime


def view_of(row: Any, definition: defs.Definition | None = None) -> InstanceView:
    leaving = [] if definition is None or row.status != "active" else definition.leaving(row.state)
    return InstanceView(
        id=row.id,
        organisation_id=row.organisation_id,
        workflow_key=row.workflow_key,
        workflow_version=row.workflow_version,
        state=row.state,
        status=row.status,
        version=row.version,
        subject=Subject(document_id=row.document_id, reference=row.reference),
        variables=row.variables,
        started_by=row.started_by,
        started_at=row.started_at,
        state_entered_at=row.state_entered_at,
        updated_at=row.updated_at,
        ended_at=row.ended_at,
        transitions=[
            t.name
            for t in leaving
            if t.message is None
            and (definition is None or (row.state, t.name) not in definition.task_only)
        ],
        messages=sorted({t.message for t in leaving if t.message is not None}),
    )


@dataclass(frozen=True)
class Actor:
    """Who takes a step: a person or API key (``membership`` set), or the system/timer."""

    actor_type: str
    actor_id: uuid.UUID | None = None
    membership: Membership | None = None


def actor_of(principal: Principal, member: Membership) -> Actor:
    kind = "api_key" if principal.api_key_id is not None else "user"
    return Actor(actor_type=kind, actor_id=principal.user_id, membership=member)


def _clean_json(value: Any) -> Any:
    """CEL results (and anything else) as plain JSON values."""
    return msgspec.json.decode(msgspec.json.encode(msgspec.to_builtins(value)))


class InstanceService:
    def __init__(
        self,
        store: Store,
        tenancy: Tenancy,
        content: ContentApi,
        clock: Clock,
        queue_job: Callable[..., uuid.UUID],
        classifier: ClassifierOracle | None = None,
    ) -> None:
        self.store, self.tenancy, self.content = store, tenancy, content
        self.clock, self.queue_job = clock, queue_job
        #: For ``classifier_says`` in conditions (document intelligence, when wired).
        self.classifier = classifier
        self._definitions: dict[uuid.UUID, defs.Definition] = {}

    # ------------------------------------------------------------------ loading

    async def definition(self, definition_id: uuid.UUID) -> defs.Definition:
        """A published version, parsed once per process (versions never change)."""
        cached = self._definitions.get(definition_id)
        if cached is None:
            row = await repositories.definition_by_id(self.store, definition_id)
            if row is None:  # pragma: no cover - rows cascade with their instances
                raise not_found("workflow")
            cached = defs.load(row.body)
            self._definitions[definition_id] = cached
        return cached

    async def visible(
        self, principal: Principal, instance_id: uuid.UUID, permission: str
    ) -> tuple[Any, Membership]:
        """The instance and the caller's membership, if they may see it (404: not a
        member, or its subject document is not theirs to read) and hold ``permission``
        (403)."""
        row = await repositories.instance_by_id(self.store, instance_id)
        if row is None:
            raise not_found("workflow instance")
        try:
            member = cast(
                Membership, await self.tenancy.authorise(principal, row.organisation_id, None)
            )
        except NotFound:
            raise not_found("workflow instance") from None
        if row.document_id is not None and not await self.content.may_read(
            principal.user_id, row.document_id
        ):
            raise not_found("workflow instance")
        if not member.allows(permission):
            raise Forbidden(
                "Your role in this organisation does not allow this.",
                code="permission_denied",
                extra={"permission": permission},
            )
        return row, member

    async def get(self, principal: Principal, instance_id: uuid.UUID) -> InstanceView:
        row, _ = await self.visible(principal, instance_id, INSTANCES_READ)
        return view_of(row, await self.definition(row.definition_id))

    async def history(
        self, principal: Principal, instance_id: uuid.UUID, *, limit: int, cursor: str | None
    ) -> Page[HistoryView]:
        await self.visible(principal, instance_id, INSTANCES_READ)
        after = None
        if cursor is not None:
            (raw,) = decode_cursor(cursor, 1)
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise invalid_cursor()
            after = raw
        rows = await repositories.history_of(self.store, instance_id, after=after, limit=limit)
        items = [
            HistoryView(
                id=r.id,
                instance_version=r.instance_version,
                kind=r.kind,
                transition=r.transition,
                from_state=r.from_state,
                to_state=r.to_state,
                actor_id=r.actor_id,
                actor_type=r.actor_type,
                data=r.data,
                correlation_id=r.correlation_id,
                occurred_at=r.occurred_at,
            )
            for r in rows
        ]
        return page_of(items, limit, lambda h: (h.instance_version,))

    async def list_in(
        self,
        principal: Principal,
        member: Membership,
        *,
        key: str | None,
        state: str | None,
        status: str | None,
        document_id: uuid.UUID | None,
        limit: int,
        cursor: str | None,
    ) -> Page[InstanceView]:
        """Newest first; instances on documents the caller may not read are left out
        (``readable_pages``: a page is short only at the end of the list)."""
        org = member.organisation_id

        async def fetch(before: uuid.UUID | None, batch: int) -> list[Any]:
            return await repositories.instances_in(
                self.store,
                org,
                key=key,
                state=state,
                status=status,
                document_id=document_id,
                before=before,
                limit=batch,
            )

        async def view(row: Any) -> InstanceView:
            return view_of(row, await self.definition(row.definition_id))

        return await readable_page(
            fetch,
            self.readable_for(principal, org),
            view,
            limit=limit,
            cursor=cursor,
        )

    def readable_for(self, principal: Principal, organisation_id: uuid.UUID) -> Readable:
        """The subject documents among some the caller may read (trashed ones included:
        an instance outlives its document's trip to the trash)."""

        async def readable(documents: list[uuid.UUID]) -> set[uuid.UUID]:
            return await self.content.readable_among(
                principal.user_id, organisation_id, documents, trashed=True
            )

        return readable

    # ------------------------------------------------------------------ start

    async def start(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        key: str,
        subject: Subject,
        variables: dict[str, Any],
    ) -> InstanceView:
        """``POST /workflow-instances``: on the newest version of ``key``."""
        member = cast(
            Membership,
            await self.tenancy.authorise(principal, organisation_id, INSTANCES_START),
        )
        definition_row = await repositories.latest_definition(self.store, organisation_id, key)
        if definition_row is None:
            raise field_invalid("workflowKey", f"No workflow {key!r} in this organisation.")
        await self.check_subject(principal, organisation_id, subject, "subject.documentId")
        if len(msgspec.json.encode(variables)) > MAX_VARIABLES_BYTES:
            raise field_invalid("variables", f"at most {MAX_VARIABLES_BYTES} bytes of JSON")
        definition = await self.definition(definition_row.id)
        async with self.store.uow() as uow:
            row = await self.start_in(
                uow,
                definition_row,
                definition,
                subject,
                variables,
                actor_of(principal, member),
            )
            await uow.commit()
        return view_of(row, definition)

    async def check_subject(
        self, principal: Principal, organisation_id: uuid.UUID, subject: Subject, field: str
    ) -> None:
        """A document subject is a document of the organisation, not in the trash, that
        the caller may read (422 naming ``field`` otherwise, as for a missing one)."""
        if subject.document_id is None:
            return
        document = await self.content.document(subject.document_id)
        if (
            document is None
            or document.organisation_id != organisation_id
            or document.trashed_at is not None
            or not await self.content.may_read(principal.user_id, subject.document_id)
        ):
            raise field_invalid(field, "No such document.")

    async def start_in(
        self,
        uow: UnitOfWork,
        definition_row: Any,
        definition: defs.Definition,
        subject: Subject,
        variables: dict[str, Any],
        actor: Actor,
        *,
        trigger_event_id: uuid.UUID | None = None,
        trigger_key: str | None = None,
        chain: int = 0,
        started_data: Mapping[str, Any] | None = None,
    ) -> Instance:
        """Start an instance in ``uow``. ``trigger_key``: the schedule slot or document
        date that started it (one instance per key and workflow); ``chain``: how many
        ``startWorkflow`` actions led here (bounded by ``MAX_CHAIN``)."""
        now = self.clock()
        initial = definition.initial
        instance = Instance(
            organisation_id=definition_row.organisation_id,
            definition_id=definition_row.id,
            workflow_key=definition_row.key,
            workflow_version=definition_row.version,
            state=initial.name,
            status="active",
            version=1,
            document_id=subject.document_id,
            reference=subject.reference,
            variables=dict(variables),
            started_by=actor.actor_id,
            started_at=now,
            state_entered_at=now,
            updated_at=now,
            trigger_event_id=trigger_event_id,
            trigger_key=trigger_key,
        )
        uow.session.add(instance)
        await uow.session.flush()
        scope = {"vars": instance.variables, "data": {}, "subject": _subject_map(subject)}
        instance.variables = await self._apply(
            uow, instance, initial.on_enter, scope, initial.name, chain=chain
        )
        self.history_entry(
            uow, instance, "started", None, None, initial.name, actor, started_data or {}, now
        )
        metrics.started(uow, instance.workflow_key, actor.actor_type)
        self.plan_timers(uow, instance, initial, now)
        await self.await_messages(uow, instance, definition, initial.name, now)
        uow.publish(
            InstanceStarted(
                organisation_id=instance.organisation_id,
                instance_id=instance.id,
                workflow_key=instance.workflow_key,
                workflow_version=instance.workflow_version,
                document_id=instance.document_id,
                state=initial.name,
                actor_id=actor.actor_id,
            )
        )
        await uow.session.flush()
        return instance

    # ------------------------------------------------------------------ transitions

    async def transition(
        self,
        principal: Principal,
        instance_id: uuid.UUID,
        name: str,
        expected_version: int,
        data: dict[str, Any],
    ) -> InstanceView:
        """``POST /workflow-instances/{id}/transitions``."""
        row, member = await self.visible(principal, instance_id, INSTANCES_READ)
        definition = await self.definition(row.definition_id)
        expect_version(row, expected_version)
        transition = definition.transitions.get(name)
        if transition is None or row.state not in transition.sources:
            allowed = ", ".join(t.name for t in definition.leaving(row.state)) or "none"
            raise field_invalid(
                "transition",
                f"No transition {name!r} leaves the state {row.state!r} (allowed: {allowed}).",
                code="transition_unavailable",
            )
        if (row.state, transition.name) in definition.task_only:
            raise field_invalid(
                "transition",
                f"{name!r} is taken by completing the state's task (its approvals and four "
                "eyes apply), not directly.",
                code="transition_via_task",
            )
        if transition.message is not None:
            raise field_invalid(
                "transition",
                f"{name!r} is taken when the message {transition.message!r} is correlated "
                "to the instance (POST /workflow-messages), not directly.",
                code="transition_via_message",
            )
        actor = actor_of(principal, member)
        _guard(transition, member)
        check_form(transition, data)
        await self.check_condition(transition, row, row.variables, data)
        async with self.store.uow() as uow:
            view = await self.take_in(uow, row, definition, transition, actor, data)
            await uow.commit()
        return view

    async def check_condition(
        self,
        transition: defs.Transition,
        row: Any,
        variables: Mapping[str, Any],
        data: Mapping[str, Any],
    ) -> None:
        """422 ``condition_not_met`` unless the transition's condition holds."""
        if transition.condition is None:
            return
        scope = {"vars": variables, "data": data, "subject": _subject_of(row)}
        functions = await host_functions(self.classifier, transition.condition, row.document_id)
        ok, why = holds(transition.condition, scope, functions)
        if not ok:
            raise Invalid(
                f"The transition's condition does not hold: {why}.",
                code="condition_not_met",
                extra={"condition": transition.condition},
            )

    async def take_in(
        self,
        uow: UnitOfWork,
        row: Any,
        definition: defs.Definition,
        transition: defs.Transition,
        actor: Actor,
        data: dict[str, Any],
        *,
        variables: Mapping[str, Any] | None = None,
    ) -> InstanceView:
        """Apply a checked transition in ``uow``: 409 when the instance moved meanwhile.
        ``variables``: the instance's variables as the step starts (a message's merged in;
        default: as stored)."""
        now = self.clock()
        source, target = definition.states[row.state], definition.states[transition.target]
        variables = dict(row.variables if variables is None else variables)
        scope = {"vars": dict(variables), "data": data, "subject": _subject_of(row)}
        # Leaving the state ends its open tasks (a completing task was closed before)
        # and its pending timers.
        await self._leave(uow, row.id, now)
        for actions in (source.on_leave, transition.actions, target.on_enter):
            scope["vars"] = variables
            variables = await self._apply(uow, row, actions, scope, target.name)
        final = target.final
        moved = await uow.session.execute(
            next_version(
                row,
                state=target.name,
                variables=variables,
                status="completed" if final else "active",
                state_entered_at=now,
                updated_at=now,
                ended_at=now if final else None,
            )
        )
        updated = moved.first()
        if updated is None:
            raise stale_instance()
        metrics.left_state(
            uow,
            row.workflow_key,
            source.name,
            (now - row.state_entered_at).total_seconds(),
            to_state=target.name,
            actor_type=actor.actor_type,
            ended="completed" if final else None,
        )
        self.history_entry(
            uow, updated, "transition", transition.name, source.name, target.name, actor, data, now
        )
        self.plan_timers(uow, updated, target, now)
        if not final:
            await self.await_messages(uow, updated, definition, target.name, now)
        common: dict[str, Any] = {
            "organisation_id": row.organisation_id,
            "instance_id": row.id,
            "workflow_key": row.workflow_key,
            "workflow_version": row.workflow_version,
            "document_id": row.document_id,
            "actor_id": actor.actor_id,
        }
        uow.publish(
            InstanceTransitioned(
                **common,
                transition=transition.name,
                from_state=source.name,
                to_state=target.name,
                version=updated.version,
            )
        )
        if final:
            uow.publish(InstanceCompleted(**common, state=target.name))
        return view_of(updated, definition)

    async def cancel(
        self, principal: Principal, instance_id: uuid.UUID, expected_version: int, reason: str
    ) -> InstanceView:
        row, member = await self.visible(principal, instance_id, INSTANCES_CANCEL)
        expect_version(row, expected_version)
        actor = actor_of(principal, member)
        now = self.clock()
        async with self.store.uow() as uow:
            moved = await uow.session.execute(
                next_version(row, status="cancelled", updated_at=now, ended_at=now)
            )
            updated = moved.first()
            if updated is None:
                raise stale_instance()
            await self._leave(uow, row.id, now)
            metrics.left_state(
                uow,
                row.workflow_key,
                row.state,
                (now - row.state_entered_at).total_seconds(),
                to_state=None,
                actor_type=actor.actor_type,
                ended="cancelled",
            )
            data = {"reason": reason} if reason else {}
            self.history_entry(
                uow, updated, "cancelled", None, row.state, row.state, actor, data, now
            )
            uow.publish(
                InstanceCancelled(
                    organisation_id=row.organisation_id,
                    instance_id=row.id,
                    workflow_key=row.workflow_key,
                    workflow_version=row.workflow_version,
                    document_id=row.document_id,
                    state=row.state,
                    actor_id=actor.actor_id,
                )
            )
            await uow.commit()
        return view_of(updated)

    # ------------------------------------------------------------------ helpers

    async def _apply(
        self,
        uow: UnitOfWork,
        instance: Any,
        actions: tuple[defs.Action, ...],
        scope: dict[str, Any],
        entering: str,
        *,
        chain: int = 0,
    ) -> dict[str, Any]:
        """Run ``actions`` inside ``uow``: variables change at once (the new map is
        returned), tasks are created for the state being entered, other workflows start
        in the same transaction, effects on other contexts become effect rows and jobs
        (a ``setField`` expression is evaluated now, into the effect)."""
        variables = dict(scope["vars"])
        for action in actions:
            if action.kind == "startWorkflow":
                await self._start_chained(
                    uow, instance, action.spec, {**scope, "vars": variables}, chain
                )
            elif action.kind == "setField" and "expression" in action.spec:
                value = _evaluated(
                    action.spec["expression"], {**scope, "vars": variables}, action.spec["field"]
                )
                spec = {"kind": "setField", "field": action.spec["field"], "value": value}
                self.add_effect(uow, instance, action.kind, spec)
            elif action.kind == "notify" and "payloadExpressions" in action.spec:
                self.add_effect(
                    uow, instance, action.kind, _notice(action.spec, {**scope, "vars": variables})
                )
            elif action.kind == "setVariable":
                if "expression" in action.spec:
                    try:
                        value = value_of(action.spec["expression"], {**scope, "vars": variables})
                    except ExpressionError as exc:
                        raise Invalid(
                            f"The action setting {action.spec['name']!r} failed: {exc}.",
                            code="action_failed",
                        ) from None
                else:
                    value = action.spec["value"]
                variables[action.spec["name"]] = _clean_json(value)
            elif action.kind == "createTask":
                task = new_task(instance, action.spec, entering, self.clock())
                if task.assignee_id is not None:
                    task.assignee_id = await stand_in(
                        uow, task.organisation_id, task.assignee_id, self.clock()
                    )
                uow.session.add(task)
            else:
                self.add_effect(uow, instance, action.kind, action.spec)
        return variables

    async def _start_chained(
        self,
        uow: UnitOfWork,
        instance: Any,
        spec: Mapping[str, Any],
        scope: dict[str, Any],
        chain: int,
    ) -> None:
        """``startWorkflow``: the newest version of another workflow on the same subject,
        in the same transaction, on behalf of the instance's starter."""
        key = str(spec["workflowKey"])
        if chain >= MAX_CHAIN:
            raise Invalid(
                f"Starting {key!r} would chain more than {MAX_CHAIN} workflows in one step.",
                code="action_failed",
            )
        row = await repositories.latest_definition(self.store, instance.organisation_id, key)
        if row is None:
            raise Invalid(f"No workflow {key!r} to start any more.", code="action_failed")
        variables = {
            name: _evaluated(source, scope, name)
            for name, source in dict(spec.get("variables", {})).items()
        }
        await self.start_in(
            uow,
            row,
            await self.definition(row.id),
            Subject(document_id=instance.document_id, reference=instance.reference),
            variables,
            Actor(actor_type="system", actor_id=instance.started_by),
            chain=chain + 1,
            started_data={"parentInstanceId": str(instance.id)},
        )

    async def _leave(self, uow: UnitOfWork, instance_id: uuid.UUID, now: datetime) -> None:
        await uow.session.execute(
            update(Task)
            .where(Task.instance_id == instance_id, Task.state.in_(("open", "claimed")))
            .values(state="cancelled", completed_at=now)
        )
        await uow.session.execute(
            update(Timer)
            .where(Timer.instance_id == instance_id, Timer.status == "pending")
            .values(status="cancelled")
        )

    def plan_timers(
        self,
        uow: UnitOfWork,
        instance: Any,
        state: defs.State,
        now: datetime,
        *,
        not_before: datetime | None = None,
    ) -> None:
        """The SLA ladder of ``state`` as durable timers, from ``now`` (its entry); with
        ``not_before``, only the steps due after it (a migrated instance's ladder)."""
        if state.sla_minutes is None:
            return
        for step, spec in enumerate(state.sla_ladder):
            due = now + timedelta(minutes=state.sla_minutes * int(spec["at"]) / 100)
            if not_before is not None and due <= not_before:
                continue
            uow.session.add(
                Timer(
                    id=new_id(),
                    organisation_id=instance.organisation_id,
                    instance_id=instance.id,
                    state=state.name,
                    entered_version=instance.version,
                    step=step,
                    kind=str(spec["kind"]),
                    spec=dict(spec),
                    due_at=due,
                    status="pending",
                )
            )

    async def await_messages(
        self,
        uow: UnitOfWork,
        instance: Any,
        definition: defs.Definition,
        state: str,
        now: datetime,
    ) -> None:
        """Entering a state that messages leave: when a message it waits for is kept
        (sent before, its time-to-live not over), queue the job that delivers it after
        this step commits (``services.messages``)."""
        names = {t.message for t in definition.leaving(state) if t.message is not None}
        if not names:
            return
        b = BufferedMessage
        kept = await uow.session.scalar(
            select(
                exists().where(
                    b.organisation_id == instance.organisation_id,
                    b.name.in_(sorted(names)),
                    b.expires_at > now,
                )
            )
        )
        if kept:
            self.queue_job(uow, DELIVER_MESSAGE, str(instance.id))

    def add_effect(
        self, uow: UnitOfWork, instance: Any, kind: str, spec: Mapping[str, Any]
    ) -> None:
        """An effect on another context, run by a job once ``uow`` commits."""
        effect = Effect(
            id=new_id(),
            instance_id=instance.id,
            organisation_id=instance.organisation_id,
            kind=kind,
            spec=dict(spec),
            status="pending",
            created_at=self.clock(),
        )
        uow.session.add(effect)
        self.queue_job(uow, RUN_EFFECT, str(effect.id))

    def history_entry(
        self,
        uow: UnitOfWork,
        instance: Any,
        kind: str,
        transition: str | None,
        from_state: str | None,
        to_state: str,
        actor: Actor,
        data: Mapping[str, Any],
        now: datetime,
    ) -> None:
        uow.session.add(
            HistoryEntry(
                instance_id=instance.id,
                instance_version=instance.version,
                kind=kind,
                transition=transition,
                from_state=from_state,
                to_state=to_state,
                actor_id=actor.actor_id,
                actor_type=actor.actor_type,
                data=dict(data),
                correlation_id=current_correlation_id(),
                occurred_at=now,
            )
        )


async def stand_in(
    uow: UnitOfWork, organisation_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> uuid.UUID:
    """Who takes a task assigned to ``user_id`` now: the delegate of their out-of-office
    window when one is running, else the user."""
    delegate = await uow.session.scalar(
        select(Delegation.delegate_id).where(
            Delegation.organisation_id == organisation_id,
            Delegation.user_id == user_id,
            Delegation.starts_at <= now,
            Delegation.ends_at > now,
        )
    )
    return delegate if delegate is not None else user_id


def new_task(instance: Any, spec: Mapping[str, Any], state: str, now: datetime) -> Task:
    """The task a ``createTask`` action describes, for ``instance`` in ``state``."""
    assignee = spec.get("assignee")
    assignee_id = instance.started_by if assignee == "starter" else None
    if assignee not in (None, "starter"):
        assignee_id = uuid.UUID(str(assignee))
    due = spec.get("dueInMinutes")
    return Task(
        id=new_id(),
        organisation_id=instance.organisation_id,
        instance_id=instance.id,
        instance_state=state,
        name=spec["name"],
        state="claimed" if assignee_id is not None else "open",
        assignee_id=assignee_id,
        candidate_roles=sorted({r.lower() for r in spec.get("roles", [])}),
        outcomes=dict(spec["outcomes"]),
        required_approvals=int(spec.get("approvals") or 1),
        approve_outcome=str(spec.get("approveOutcome", "approve")),
        # four eyes by default, except on a task given back to the starter on purpose
        four_eyes=bool(spec.get("fourEyes", assignee != "starter")),
        created_at=now,
        due_at=now + timedelta(minutes=int(due)) if due else None,
    )


def _evaluated(source: str, scope: Mapping[str, Any], what: str) -> Any:
    """A CEL value as plain JSON; a failure refuses the step (422, nothing applied)."""
    try:
        return _clean_json(value_of(source, scope))
    except ExpressionError as exc:
        raise Invalid(f"The action setting {what!r} failed: {exc}.", code="action_failed") from None


def _notice(spec: Mapping[str, Any], scope: Mapping[str, Any]) -> dict[str, Any]:
    """A ``notify`` action's effect with its ``payloadExpressions`` evaluated now, as the
    step is taken, into its payload (a computed value wins over a static one)."""
    notice = {k: v for k, v in spec.items() if k != "payloadExpressions"}
    computed = {
        name: _evaluated(source, scope, name)
        for name, source in dict(spec["payloadExpressions"]).items()
    }
    notice["payload"] = {**dict(spec.get("payload", {})), **computed}
    return notice


def _subject_map(subject: Subject) -> dict[str, Any]:
    return {
        "documentId": str(subject.document_id) if subject.document_id else None,
        "reference": subject.reference,
    }


def _subject_of(row: Any) -> dict[str, Any]:
    return _subject_map(Subject(document_id=row.document_id, reference=row.reference))


def next_version(row: Any, **values: Any) -> Update:
    """The instance's next version with ``values``, written only if it is still active at
    the version ``row`` read (every step's optimistic check: no row back means another
    step came first, :func:`stale_instance`)."""
    return (
        update(Instance)
        .where(
            Instance.id == row.id,
            Instance.version == row.version,
            Instance.status == "active",
        )
        .values(version=row.version + 1, **values)
        .returning(Instance.__table__)
    )


def stale_instance() -> Conflict:
    return Conflict(
        "The instance changed meanwhile (another step was taken); reload it and retry.",
        code="stale_instance",
    )


def expect_version(row: Any, expected_version: int) -> None:
    if row.status != "active":
        raise Conflict(f"The instance is {row.status}.", code="instance_ended")
    if row.version != expected_version:
        raise Conflict(
            f"The instance is at version {row.version}, not {expected_version}.",
            code="stale_instance",
            extra={"version": row.version},
        )


def _guard(transition: defs.Transition, member: Membership) -> None:
    """Roles (any one of them) and the permission, when the definition names them."""
    if transition.roles:
        wanted = {r.lower() for r in transition.roles}
        held = {r.name.lower() for r in member.roles} | {str(r.id) for r in member.roles}
        if not wanted & held:
            raise Forbidden(
                f"The transition {transition.name!r} needs one of the roles "
                f"{', '.join(transition.roles)}.",
                code="transition_forbidden",
                extra={"roles": list(transition.roles)},
            )
    if transition.permission is not None and not member.allows(transition.permission):
        raise Forbidden(
            f"The transition {transition.name!r} needs the permission {transition.permission}.",
            code="transition_forbidden",
            extra={"permission": transition.permission},
        )


def check_form(transition: defs.Transition, data: Mapping[str, Any]) -> None:
    missing = [
        f.name
        for f in transition.form
        if f.required and (data.get(f.name) is None or str(data.get(f.name)).strip() == "")
    ]
    if missing:
        raise Invalid(
            f"The transition {transition.name!r} requires: {', '.join(missing)}.",
            code="form_incomplete",
            errors=[FieldError(field=f"data.{m}", message="required") for m in missing],
        )
