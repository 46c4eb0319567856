"""Human tasks: the caller's list, claim, unclaim, delegate and complete.

A task is assigned to a user (``assigneeId``) or offered to roles (``candidateRoles``);
completing it with an outcome takes the transition the definition maps that outcome to,
in the same transaction (the task's assignment is that transition's guard; its
condition and form still apply). Approvals: the ``approveOutcome`` must be given by
``requiredApprovals`` different members before its transition is taken; any other
outcome (a rejection) takes its transition at once. Four eyes (on unless the definition
says ``fourEyes: false``): whoever started the instance, or owns its document, cannot
complete its task.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import func, select, update

from hub.content.api import ContentApi
from hub.identity.api import IdentityApi, Membership
from hub.kernel.clock import Clock
from hub.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from hub.kernel.pagination import Page, after_uuid, encode_cursor
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy
from hub.workflow import repositories
from hub.workflow.domain.expressions import holds
from hub.workflow.domain.permissions import TASKS_MANAGE
from hub.workflow.models import Instance, Task, TaskVote
from hub.workflow.services.host_functions import host_functions
from hub.workflow.services.instances import InstanceService, actor_of, check_form

OPEN_STATES = ("open", "claimed")


@dataclass(frozen=True)
class Vote:
    user_id: uuid.UUID
    outcome: str
    reason: str | None
    created_at: datetime


@dataclass(frozen=True)
class TaskView:
    id: uuid.UUID
    organisation_id: uuid.UUID
    instance_id: uuid.UUID
    name: str
    state: str
    assignee_id: uuid.UUID | None
    candidate_roles: list[str]
    outcomes: list[str]
    reason_required: list[str]
    required_approvals: int
    approve_outcome: str
    four_eyes: bool
    created_at: datetime
    due_at: datetime | None
    completed_at: datetime | None
    outcome: str | None
    votes: list[Vote] = field(default_factory=list)


def _view(row: Any, votes: list[Any]) -> TaskView:
    return TaskView(
        id=row.id,
        organisation_id=row.organisation_id,
        instance_id=row.instance_id,
        name=row.name,
        state=row.state,
        assignee_id=row.assignee_id,
        candidate_roles=list(row.candidate_roles),
        outcomes=sorted(row.outcomes),
        reason_required=sorted(k for k, v in row.outcomes.items() if v.get("reasonRequired")),
        required_approvals=row.required_approvals,
        approve_outcome=row.approve_outcome,
        four_eyes=row.four_eyes,
        created_at=row.created_at,
        due_at=row.due_at,
        completed_at=row.completed_at,
        outcome=row.outcome,
        votes=[
            Vote(user_id=v.user_id, outcome=v.outcome, reason=v.reason, created_at=v.created_at)
            for v in votes
            if v.task_id == row.id
        ],
    )


def role_keys(member: Membership) -> list[str]:
    """What ``candidate_roles`` may hold for this member: role names (lower-cased), ids."""
    return sorted({r.name.lower() for r in member.roles} | {str(r.id) for r in member.roles})


def _is_candidate(row: Any, member: Membership) -> bool:
    if row.assignee_id is not None:
        return bool(row.assignee_id == member.user_id)
    return bool(set(row.candidate_roles) & set(role_keys(member)))


class TaskService:
    def __init__(
        self,
        store: Store,
        tenancy: Tenancy,
        identity: IdentityApi,
        content: ContentApi,
        instances: InstanceService,
        clock: Clock,
    ) -> None:
        self.store, self.tenancy, self.identity, self.content = store, tenancy, identity, content
        self.instances, self.clock = instances, clock

    async def _load(self, principal: Principal, task_id: uuid.UUID) -> tuple[Any, Membership]:
        row = await repositories.task_by_id(self.store, task_id)
        if row is None:
            raise not_found("task")
        try:
            member = cast(
                Membership, await self.tenancy.authorise(principal, row.organisation_id, None)
            )
        except NotFound:
            raise not_found("task") from None
        return row, member

    async def _answer(self, task_id: uuid.UUID) -> TaskView:
        row = await repositories.task_by_id(self.store, task_id)
        assert row is not None
        return _view(row, await repositories.votes_of(self.store, [row.id]))

    async def list_for(
        self,
        member: Membership,
        *,
        states: tuple[str, ...],
        instance_id: uuid.UUID | None,
        due_before: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> Page[TaskView]:
        """``GET /tasks``: the caller's own and those offered to the caller's roles."""
        rows = await repositories.tasks_for(
            self.store,
            member.organisation_id,
            member.user_id,
            role_keys(member),
            states=states,
            instance_id=instance_id,
            due_before=due_before,
            before=after_uuid(cursor) if cursor is not None else None,
            limit=limit,
        )
        has_more = len(rows) > limit
        rows = rows[:limit]
        votes = await repositories.votes_of(self.store, [r.id for r in rows])
        next_cursor = encode_cursor(str(rows[-1].id)) if has_more and rows else None
        return Page(items=[_view(r, votes) for r in rows], limit=limit, next_cursor=next_cursor)

    async def get(self, principal: Principal, task_id: uuid.UUID) -> TaskView:
        row, member = await self._load(principal, task_id)
        if not (_is_candidate(row, member) or member.allows(TASKS_MANAGE)):
            raise not_found("task")
        return await self._answer(task_id)

    async def claim(self, principal: Principal, task_id: uuid.UUID) -> TaskView:
        row, member = await self._load(principal, task_id)
        if row.state == "claimed" and row.assignee_id == member.user_id:
            return await self._answer(task_id)  # claiming one's own task again changes nothing
        self._must_be_candidate(row, member)
        await self._set(task_id, "open", state="claimed", assignee_id=member.user_id)
        return await self._answer(task_id)

    async def unclaim(self, principal: Principal, task_id: uuid.UUID) -> TaskView:
        row, member = await self._load(principal, task_id)
        if row.state != "claimed" or row.assignee_id != member.user_id:
            raise Conflict("Only the member who holds the task can hand it back.", code="not_held")
        if not row.candidate_roles:
            raise Conflict(
                "The task is assigned to you by name and has no roles to go back to; "
                "delegate it instead.",
                code="no_candidates",
            )
        await self._set(task_id, "claimed", state="open", assignee_id=None)
        return await self._answer(task_id)

    async def delegate(
        self, principal: Principal, task_id: uuid.UUID, user_id: uuid.UUID
    ) -> TaskView:
        """Hand the task to another member: by its holder, by a candidate while nobody
        holds it, or by anyone with ``workflow.tasks.manage``."""
        row, member = await self._load(principal, task_id)
        if row.state not in OPEN_STATES:
            raise Conflict(f"The task is {row.state}.", code="task_closed")
        if not (_is_candidate(row, member) or member.allows(TASKS_MANAGE)):
            raise Forbidden("You cannot hand this task over.", code="not_a_candidate")
        delegate = await self.identity.membership(row.organisation_id, user_id, api_key_id=None)
        if delegate is None:
            raise field_invalid("userId", "not a member of the task's organisation")
        await self._set(task_id, row.state, state="claimed", assignee_id=user_id)
        return await self._answer(task_id)

    async def complete(
        self, principal: Principal, task_id: uuid.UUID, outcome: str, reason: str | None
    ) -> TaskView:
        row, member = await self._load(principal, task_id)
        if row.state not in OPEN_STATES:
            raise Conflict(f"The task is {row.state}.", code="task_closed")
        self._must_be_candidate(row, member)
        target = row.outcomes.get(outcome)
        if target is None:
            raise field_invalid(
                "outcome", f"unknown outcome (known: {', '.join(sorted(row.outcomes))})"
            )
        reason = (reason or "").strip() or None
        if target.get("reasonRequired") and reason is None:
            raise field_invalid(
                "reason", f"the outcome {outcome!r} needs a reason", code="reason_required"
            )
        instance = await repositories.instance_by_id(self.store, row.instance_id)
        assert instance is not None  # tasks cascade with their instance
        if row.four_eyes:
            await self._four_eyes(instance, member.user_id)
        definition = await self.instances.definition(instance.definition_id)
        transition = definition.transitions[target["transition"]]
        data: dict[str, Any] = {"taskId": str(row.id), "outcome": outcome}
        if reason is not None:
            data["reason"] = reason
        check_form(transition, data)
        now = self.clock()
        async with self.store.uow() as uow:
            # One completion at a time per task: the votes counted below are all of them.
            locked = (
                await uow.session.execute(
                    select(Task.__table__).where(Task.id == task_id).with_for_update()
                )
            ).first()
            if locked is None or locked.state not in OPEN_STATES:
                raise Conflict("The task was completed meanwhile.", code="task_closed")
            voted = await uow.session.scalar(
                select(func.count())
                .select_from(TaskVote)
                .where(TaskVote.task_id == task_id, TaskVote.user_id == member.user_id)
            )
            if voted:
                raise Conflict("You already gave this task your outcome.", code="already_voted")
            uow.session.add(
                TaskVote(
                    task_id=task_id,
                    user_id=member.user_id,
                    outcome=outcome,
                    reason=reason,
                    created_at=now,
                )
            )
            await uow.session.flush()
            if outcome == row.approve_outcome and row.required_approvals > 1:
                approvals = await uow.session.scalar(
                    select(func.count())
                    .select_from(TaskVote)
                    .where(TaskVote.task_id == task_id, TaskVote.outcome == outcome)
                )
                if int(approvals or 0) < row.required_approvals:
                    if locked.state == "claimed" and locked.candidate_roles:
                        # the next approver takes it from the roles again
                        await uow.session.execute(
                            update(Task)
                            .where(Task.id == task_id)
                            .values(state="open", assignee_id=None)
                        )
                    await uow.commit()
                    return await self._answer(task_id)
            current = (
                await uow.session.execute(
                    select(Instance.__table__).where(Instance.id == row.instance_id)
                )
            ).first()
            if current is None or current.status != "active" or current.state != row.instance_state:
                raise Conflict("The instance moved on meanwhile.", code="stale_instance")
            if transition.condition is not None:
                scope = {
                    "vars": current.variables,
                    "data": data,
                    "subject": {
                        "documentId": str(current.document_id) if current.document_id else None,
                        "reference": current.reference,
                    },
                }
                functions = await host_functions(
                    self.instances.classifier, transition.condition, current.document_id
                )
                ok, why = holds(transition.condition, scope, functions)
                if not ok:
                    raise Invalid(
                        f"The transition's condition does not hold: {why}.",
                        code="condition_not_met",
                    )
            await uow.session.execute(
                update(Task)
                .where(Task.id == task_id)
                .values(state="completed", outcome=outcome, completed_at=now)
            )
            await self.instances.take_in(
                uow, current, definition, transition, actor_of(principal, member), data
            )
            await uow.commit()
        return await self._answer(task_id)

    # ------------------------------------------------------------------ helpers

    def _must_be_candidate(self, row: Any, member: Membership) -> None:
        if row.state not in OPEN_STATES:
            raise Conflict(f"The task is {row.state}.", code="task_closed")
        if row.state == "claimed" and row.assignee_id != member.user_id:
            raise Conflict("Another member holds the task.", code="task_claimed")
        if not _is_candidate(row, member):
            raise Forbidden("The task is not offered to you.", code="not_a_candidate")

    async def _four_eyes(self, instance: Any, user_id: uuid.UUID) -> None:
        owner = None
        if instance.document_id is not None:
            document = await self.content.document(instance.document_id)
            owner = document.owner_id if document is not None else None
        if user_id in (instance.started_by, owner):
            raise Forbidden(
                "Four eyes: who started the instance or owns its document cannot complete "
                "its task.",
                code="four_eyes",
            )

    async def _set(self, task_id: uuid.UUID, expected_state: str, **values: Any) -> None:
        async with self.store.uow() as uow:
            moved = await uow.session.execute(
                update(Task)
                .where(Task.id == task_id, Task.state == expected_state)
                .values(**values)
                .returning(Task.id)
            )
            if moved.first() is None:
                raise Conflict("The task changed meanwhile; reload it.", code="task_changed")
            await uow.commit()
