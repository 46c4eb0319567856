"""Workflow's part of a person's export (GDPR Articles 15 and 20): tasks assigned to
them, their votes, their delegations, the instances they started and what they did in
instances (history)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from hub.kernel.personal_data import PersonalDataApi, records
from hub.kernel.store import Store

_TASKS = text(
    "SELECT id, organisation_id, instance_id, name, state, outcome, created_at, due_at,"
    " completed_at FROM workflow.tasks WHERE assignee_id = :user_id ORDER BY created_at"
)
_VOTES = text(
    "SELECT v.id, v.task_id, t.organisation_id, v.outcome, v.reason, v.created_at"
    " FROM workflow.task_votes v JOIN workflow.tasks t ON t.id = v.task_id"
    " WHERE v.user_id = :user_id ORDER BY v.created_at"
)
_DELEGATIONS = text(
    "SELECT id, organisation_id, user_id, delegate_id, starts_at, ends_at, created_at"
    " FROM workflow.delegations WHERE user_id = :user_id OR delegate_id = :user_id"
    " ORDER BY created_at"
)
_STARTED = text(
    "SELECT id, organisation_id, workflow_key, workflow_version, state, status, reference,"
    " document_id, started_at, ended_at FROM workflow.instances WHERE started_by = :user_id"
    " ORDER BY started_at"
)
_KEPT = text(
    "SELECT id, organisation_id, name, workflow_key, instance_id, reference, document_id,"
    " match_variables, variables, created_at, expires_at FROM workflow.buffered_messages"
    " WHERE sender_id = :user_id ORDER BY created_at"
)
_HISTORY = text(
    "SELECT h.id, h.instance_id, i.organisation_id, h.kind, h.transition, h.from_state,"
    " h.to_state, h.data, h.occurred_at FROM workflow.history h"
    " JOIN workflow.instances i ON i.id = h.instance_id"
    " WHERE h.actor_id = :user_id ORDER BY h.occurred_at"
)


@dataclass(eq=False)
class WorkflowPersonalData(PersonalDataApi):
    store: Store

    async def export_personal_data(self, user_id: uuid.UUID) -> dict[str, Any]:
        params = {"user_id": user_id}
        return {
            "tasksAssigned": records(await self.store.all(_TASKS, params)),
            "taskVotes": records(await self.store.all(_VOTES, params)),
            "delegations": records(await self.store.all(_DELEGATIONS, params)),
            "instancesStarted": records(await self.store.all(_STARTED, params)),
            "history": records(await self.store.all(_HISTORY, params)),
            "messagesKept": records(await self.store.all(_KEPT, params)),
        }
