"""Workflow's part of erasing a person (``identity.user_erased``, GDPR Article 17).

* Tasks assigned to them go back to their candidates (no assignee); their out-of-office
  delegations (either side) and their feedback on insights go.
* Records that decided something stay with the pseudonym in their place: their votes on
  tasks, the history entries of what they did.
* Instances they started no longer name them; variables, history data, effect and timer
  specs and definitions naming their id or address name the pseudonym instead.
* Published outbox rows naming them are deleted.

Nothing is published: events published here would carry the erased person as actor.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from hub.identity.api import UserErased
from hub.kernel.db import UnitOfWork
from hub.kernel.erasure import ErasedPerson, forget_published_events, scrub_statement

_STATEMENTS = (
    "UPDATE workflow.tasks SET assignee_id = NULL,"
    " state = CASE WHEN state = 'claimed' THEN 'open' ELSE state END"
    " WHERE assignee_id = :user_id",
    "UPDATE workflow.task_votes SET user_id = :pseudonym WHERE user_id = :user_id",
    "DELETE FROM workflow.delegations WHERE user_id = :user_id OR delegate_id = :user_id",
    "UPDATE workflow.history SET actor_id = :pseudonym WHERE actor_id = :user_id",
    "UPDATE workflow.instances SET started_by = NULL WHERE started_by = :user_id",
    "UPDATE workflow.definitions SET published_by = NULL WHERE published_by = :user_id",
    "UPDATE workflow.auto_applications SET undone_by = NULL WHERE undone_by = :user_id",
    "DELETE FROM workflow.insight_feedback WHERE user_id = :user_id",
    "UPDATE workflow.buffered_messages SET sender_id = :pseudonym WHERE sender_id = :user_id",
)
#: ``jsonb`` columns where a person may be named by id or address.
_JSON = (
    ("workflow.instances", "variables"),
    ("workflow.history", "data"),
    ("workflow.effects", "spec"),
    ("workflow.timers", "spec"),
    ("workflow.definitions", "body"),
    ("workflow.buffered_messages", "variables"),
    ("workflow.buffered_messages", "match_variables"),
)


@dataclass(eq=False)
class WorkflowErasure:
    async def erase(self, uow: UnitOfWork, event: UserErased) -> None:
        person = ErasedPerson(user_id=event.user_id, email=event.email, pseudonym=event.pseudonym)
        session = uow.session
        params = {"user_id": person.user_id, "pseudonym": person.pseudonym}
        for statement in _STATEMENTS:
            await session.execute(text(statement), params)
        for table, column in _JSON:
            await session.execute(scrub_statement(table, column), person.scrub_params)
        await forget_published_events(uow, person)
