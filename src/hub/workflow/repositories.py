"""Reads of the workflow context through its store: one SELECT each, no session."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.dialects.postgresql import distinct_on

from hub.kernel.store import Store
from hub.workflow.models import HistoryEntry, Instance, WorkflowDefinition

_definitions = WorkflowDefinition.__table__
_instances = Instance.__table__
_history = HistoryEntry.__table__


async def latest_definition(store: Store, org: uuid.UUID, key: str) -> Row[Any] | None:
    return await store.first(
        select(_definitions)
        .where(WorkflowDefinition.organisation_id == org, WorkflowDefinition.key == key)
        .order_by(WorkflowDefinition.version.desc())
        .limit(1)
    )


async def definition_by_id(store: Store, definition_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(_definitions).where(WorkflowDefinition.id == definition_id))


async def latest_definitions(
    store: Store, org: uuid.UUID, *, after: str | None, limit: int
) -> list[Row[Any]]:
    """The newest version of each key, by key (``limit + 1`` rows)."""
    query = (
        select(_definitions)
        .ext(distinct_on(WorkflowDefinition.key))
        .where(WorkflowDefinition.organisation_id == org)
        .order_by(WorkflowDefinition.key, WorkflowDefinition.version.desc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(WorkflowDefinition.key > after)
    return await store.all(query)


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
