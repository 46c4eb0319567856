"""Reads of the workflow context through its store: one SELECT each, no session."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, func, literal, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import JSONB, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from hub.kernel.store import Store
from hub.workflow.models import (
    BufferedMessage,
    Effect,
    HistoryEntry,
    Instance,
    Task,
    TaskVote,
    WorkflowDefinition,
)

_definitions = WorkflowDefinition.__table__
_instances = Instance.__table__
_history = HistoryEntry.__table__
_effects = Effect.__table__
_kept = BufferedMessage.__table__


async def latest_definition(store: Store, org: uuid.UUID, key: str) -> Row[Any] | None:
    return await store.first(
        select(_definitions)
        .where(WorkflowDefinition.organisation_id == org, WorkflowDefinition.key == key)
        .order_by(WorkflowDefinition.version.desc())
        .limit(1)
    )


async def definition_by_id(store: Store, definition_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(_definitions).where(WorkflowDefinition.id == definition_id))


def newest_versions(org: uuid.UUID) -> Select[Any]:
    """The newest version of each of the organisation's workflow keys, by key (what
    triggers and pages of definitions read: a key's older versions only finish the
    instances pinned to them)."""
    return (
        select(_definitions)
        .ext(distinct_on(WorkflowDefinition.key))
        .where(WorkflowDefinition.organisation_id == org)
        .order_by(WorkflowDefinition.key, WorkflowDefinition.version.desc())
    )


async def newest_definitions(store: Store, org: uuid.UUID) -> list[Row[Any]]:
    """The newest version of each of the organisation's workflows."""
    return await store.all(newest_versions(org))


async def latest_definitions(
    store: Store, org: uuid.UUID, *, after: str | None, limit: int
) -> list[Row[Any]]:
    """The newest version of each key, by key (``limit + 1`` rows)."""
    query = newest_versions(org).limit(limit + 1)
    if after is not None:
        query = query.where(WorkflowDefinition.key > after)
    return await store.all(query)


async def definition_keys(store: Store, org: uuid.UUID) -> set[str]:
    """Every workflow key the organisation has published."""
    rows = await store.all(
        select(WorkflowDefinition.key).where(WorkflowDefinition.organisation_id == org).distinct()
    )
    return {row.key for row in rows}


async def definition_version(
    store: Store, org: uuid.UUID, key: str, version: int
) -> Row[Any] | None:
    return await store.first(
        select(_definitions).where(
            WorkflowDefinition.organisation_id == org,
            WorkflowDefinition.key == key,
            WorkflowDefinition.version == version,
        )
    )


async def definition_versions(
    store: Store, org: uuid.UUID, key: str, *, before: int | None, limit: int
) -> list[Row[Any]]:
    query = (
        select(_definitions)
        .where(WorkflowDefinition.organisation_id == org, WorkflowDefinition.key == key)
        .order_by(WorkflowDefinition.version.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(WorkflowDefinition.version < before)
    return await store.all(query)


async def instance_by_id(store: Store, instance_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(_instances).where(Instance.id == instance_id))


async def instances_in(
    store: Store,
    org: uuid.UUID,
    *,
    key: str | None,
    state: str | None,
    status: str | None,
    document_id: uuid.UUID | None,
    before: uuid.UUID | None,
    limit: int,
) -> list[Row[Any]]:
    """Newest first, ``limit + 1`` rows."""
    query = (
        select(_instances)
        .where(Instance.organisation_id == org)
        .order_by(Instance.id.desc())
        .limit(limit + 1)
    )
    if key is not None:
        query = query.where(Instance.workflow_key == key)
    if state is not None:
        query = query.where(Instance.state == state)
    if status is not None:
        query = query.where(Instance.status == status)
    if document_id is not None:
        query = query.where(Instance.document_id == document_id)
    if before is not None:
        query = query.where(Instance.id < before)
    return await store.all(query)


async def definitions_awaiting(
    store: Store, org: uuid.UUID, message: str, key: str | None
) -> list[Row[Any]]:
    """The ids of the organisation's definition versions with a transition taken by
    ``message`` (a JSON path over the stored body, so no other version is parsed)."""
    query = select(WorkflowDefinition.id).where(
        WorkflowDefinition.organisation_id == org,
        func.jsonb_path_exists(
            WorkflowDefinition.body,
            text("'$.transitions[*] ? (@.message == $name)'::jsonpath"),
            func.jsonb_build_object("name", message),
        ),
    )
    if key is not None:
        query = query.where(WorkflowDefinition.key == key)
    return await store.all(query)


async def waiting_for(
    store: Store,
    org: uuid.UUID,
    places: list[tuple[uuid.UUID, str]],
    *,
    instance_id: uuid.UUID | None,
    reference: str | None,
    document_id: uuid.UUID | None,
    variables: dict[str, Any],
    limit: int,
) -> list[Row[Any]]:
    """Running instances standing in one of ``places`` (definition, state) that match
    every criterion given, oldest first, ``limit + 1`` rows."""
    query = (
        select(_instances)
        .where(
            Instance.organisation_id == org,
            Instance.status == "active",
            tuple_(Instance.definition_id, Instance.state).in_(places),
        )
        .order_by(Instance.id)
        .limit(limit + 1)
    )
    if instance_id is not None:
        query = query.where(Instance.id == instance_id)
    if reference is not None:
        query = query.where(Instance.reference == reference)
    if document_id is not None:
        query = query.where(Instance.document_id == document_id)
    if variables:
        query = query.where(Instance.variables.op("@>")(literal(variables, JSONB)))
    return await store.all(query)


def _kept_now(org: uuid.UUID, now: datetime) -> Select[Any]:
    b = BufferedMessage
    return select(_kept).where(b.organisation_id == org, b.expires_at > now)


async def kept_for(
    session: AsyncSession, instance: Any, names: list[str], now: datetime
) -> list[Row[Any]]:
    """The kept messages an instance now waiting for ``names`` matches (each criterion
    they were sent with holds for it), oldest first, locked: two instances arriving at
    once cannot both take one (``SKIP LOCKED``: the other looks at the next)."""
    b = BufferedMessage
    query = (
        _kept_now(instance.organisation_id, now)
        .where(
            b.name.in_(names),
            or_(b.workflow_key.is_(None), b.workflow_key == instance.workflow_key),
            or_(b.instance_id.is_(None), b.instance_id == instance.id),
            or_(b.reference.is_(None), b.reference == instance.reference),
            or_(b.document_id.is_(None), b.document_id == instance.document_id),
            literal(instance.variables, JSONB).op("@>")(b.match_variables),
        )
        .order_by(b.created_at, b.id)
        .limit(20)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).all())


async def kept_page(
    store: Store, org: uuid.UUID, now: datetime, *, before: uuid.UUID | None, limit: int
) -> list[Row[Any]]:
    """The organisation's kept messages not expired, newest first, ``limit + 1`` rows."""
    query = _kept_now(org, now).order_by(BufferedMessage.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(BufferedMessage.id < before)
    return await store.all(query)


async def kept_message(store: Store, message_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(_kept).where(BufferedMessage.id == message_id))


async def running_on(
    store: Store, org: uuid.UUID, key: str, version: int, *, after: uuid.UUID | None, limit: int
) -> list[Row[Any]]:
    """Active instances of one version of a workflow, oldest first, ``limit + 1`` rows."""
    query = (
        select(_instances)
        .where(
            Instance.organisation_id == org,
            Instance.workflow_key == key,
            Instance.workflow_version == version,
            Instance.status == "active",
        )
        .order_by(Instance.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Instance.id > after)
    return await store.all(query)


async def history_of(
    store: Store, instance_id: uuid.UUID, *, after: int | None, limit: int
) -> list[Row[Any]]:
    query = (
        select(_history)
        .where(HistoryEntry.instance_id == instance_id)
        .order_by(HistoryEntry.instance_version)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(HistoryEntry.instance_version > after)
    return await store.all(query)


async def task_by_id(store: Store, task_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(Task.__table__).where(Task.id == task_id))


async def votes_of(store: Store, task_ids: list[uuid.UUID]) -> list[Row[Any]]:
    if not task_ids:
        return []
    return await store.all(
        select(TaskVote.__table__)
        .where(TaskVote.task_id.in_(task_ids))
        .order_by(TaskVote.created_at, TaskVote.id)
    )


async def tasks_for(
    store: Store,
    org: uuid.UUID,
    user_id: uuid.UUID,
    roles: list[str],
    *,
    states: tuple[str, ...],
    instance_id: uuid.UUID | None,
    due_before: datetime | None,
    before: uuid.UUID | None,
    limit: int,
) -> list[Row[Any]]:
    """Tasks assigned to the user, or unassigned and offered to one of ``roles``; newest
    first, ``limit + 1`` rows."""
    mine = or_(
        Task.assignee_id == user_id,
        and_(Task.assignee_id.is_(None), Task.candidate_roles.overlap(roles)),
    )
    query = (
        select(Task.__table__)
        .where(Task.organisation_id == org, Task.state.in_(states), mine)
        .order_by(Task.id.desc())
        .limit(limit + 1)
    )
    if instance_id is not None:
        query = query.where(Task.instance_id == instance_id)
    if due_before is not None:
        query = query.where(Task.due_at < due_before)
    if before is not None:
        query = query.where(Task.id < before)
    return await store.all(query)


#: Each stay of an instance of one workflow in a state: when it began, when it ended (the
#: next step, or now while it lasts; a final state's stay is left out), and the SLA of
#: that state in the version the instance runs. A move to another version is not a step:
#: its ``migrated`` row is left out, so the stay goes on across it (counted under the
#: name it began with).
_STAYS = text(
    """
    WITH steps AS (
        SELECT h.instance_id, h.kind, h.to_state AS state, h.occurred_at AS entered,
               LEAD(h.occurred_at) OVER (
                   PARTITION BY h.instance_id ORDER BY h.instance_version
               ) AS next_at,
               i.status, i.definition_id
        FROM workflow.history h
        JOIN workflow.instances i ON i.id = h.instance_id
        WHERE i.organisation_id = :org AND i.workflow_key = :key AND h.kind <> 'migrated'
    ), stays AS (
        SELECT s.state,
               EXTRACT(EPOCH FROM COALESCE(s.next_at, :now) - s.entered) AS seconds,
               (SELECT (st->>'slaMinutes')::int
                  FROM jsonb_array_elements(d.body->'states') st
                 WHERE st->>'name' = s.state LIMIT 1) AS sla_minutes
        FROM steps s
        JOIN workflow.definitions d ON d.id = s.definition_id
        WHERE s.kind IN ('started', 'transition')
          AND (s.next_at IS NOT NULL OR s.status = 'active')
    )
    SELECT state,
           count(*) AS stays,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median_seconds,
           count(*) FILTER (WHERE sla_minutes IS NOT NULL AND seconds > sla_minutes * 60)
               AS breaches
    FROM stays
    GROUP BY state
    ORDER BY state
    """
)


async def stays_by_state(store: Store, org: uuid.UUID, key: str, now: datetime) -> list[Row[Any]]:
    return await store.all(_STAYS, {"org": org, "key": key, "now": now})


async def instances_by_state(store: Store, org: uuid.UUID, key: str) -> list[Row[Any]]:
    return await store.all(
        select(Instance.status, Instance.state, func.count().label("n"))
        .where(Instance.organisation_id == org, Instance.workflow_key == key)
        .group_by(Instance.status, Instance.state)
    )


async def active_by_version(store: Store, org: uuid.UUID, key: str) -> list[Row[Any]]:
    """Running instances of each version of a workflow (those a move would concern)."""
    return await store.all(
        select(Instance.workflow_version, func.count().label("n"))
        .where(
            Instance.organisation_id == org,
            Instance.workflow_key == key,
            Instance.status == "active",
        )
        .group_by(Instance.workflow_version)
        .order_by(Instance.workflow_version)
    )


async def incident_count(store: Store, org: uuid.UUID, key: str) -> int:
    """Failed effects (incidents) of a workflow's instances."""
    count = await store.scalar(
        select(func.count())
        .select_from(_effects)
        .join(Instance, Instance.id == Effect.instance_id)
        .where(
            Effect.organisation_id == org,
            Effect.status == "failed",
            Instance.workflow_key == key,
        )
    )
    return int(count or 0)


async def effects_of(
    store: Store, instance_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
) -> list[Row[Any]]:
    """An instance's effects in the order they were asked for, ``limit + 1`` rows."""
    query = (
        select(_effects)
        .where(Effect.instance_id == instance_id)
        .order_by(Effect.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Effect.id > after)
    return await store.all(query)


def _failed_effects(org: uuid.UUID) -> Select[Any]:
    """The organisation's failed effects, each with its instance's key, version, state
    and subject document (``failed_at``: when it failed)."""
    return (
        select(
            _effects,
            Effect.done_at.label("failed_at"),
            Instance.workflow_key,
            Instance.workflow_version,
            Instance.state,
            Instance.document_id,
        )
        .join(Instance, Instance.id == Effect.instance_id)
        .where(Effect.organisation_id == org, Effect.status == "failed")
    )


def failed_effects_of(org: uuid.UUID, key: str, kind: str | None) -> Select[Any]:
    """A workflow's failed effects (of one ``kind``), oldest first: the statement, so a
    caller may lock what it reads."""
    query = _failed_effects(org).where(Instance.workflow_key == key).order_by(Effect.id)
    return query if kind is None else query.where(Effect.kind == kind)


async def failed_effects_in(
    store: Store, org: uuid.UUID, *, key: str | None, before: uuid.UUID | None, limit: int
) -> list[Row[Any]]:
    """The organisation's failed effects, newest first; ``limit + 1`` rows."""
    query = _failed_effects(org).order_by(Effect.id.desc()).limit(limit + 1)
    if key is not None:
        query = query.where(Instance.workflow_key == key)
    if before is not None:
        query = query.where(Effect.id < before)
    return await store.all(query)
