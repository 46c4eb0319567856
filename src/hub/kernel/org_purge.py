"""Deleting every row of one organisation from a context's schema, in batches.

When identity purges an organisation (``identity.organisation_purged``), each context
deletes that organisation's rows in its own schema. The rows are found by their
``organisation_id`` column; rows without one hang off a row that has it (a document's
versions, an instance's history) and go with it by ``ON DELETE CASCADE``. Tables are
visited children first (the reverse of the metadata's dependency order) and each batch
is its own short transaction, so a big organisation never holds one huge transaction or
lock, and a purge interrupted half-way is simply run again: deleting what is left of an
organisation is idempotent.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import MetaData, Table, text

from hub.kernel.db import UnitOfWork
from hub.kernel.store import Store

log = structlog.get_logger("hub.kernel.org_purge")

#: Rows deleted per transaction (a parent's cascaded children come on top).
DEFAULT_BATCH = 500


def organisation_tables(metadata: MetaData, *, keep: Collection[str] = ()) -> list[Table]:
    """The tables of ``metadata`` with an ``organisation_id`` column, children first,
    without those named in ``keep`` (``"schema.table"``)."""
    return [
        table
        for table in reversed(metadata.sorted_tables)
        if "organisation_id" in table.c and table.fullname not in keep
    ]


_UNMANAGED = text(
    "SELECT c.table_name FROM information_schema.columns c "
    "JOIN information_schema.tables t "
    "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
    "WHERE c.table_schema = :schema AND c.column_name = 'organisation_id' "
    "AND t.table_type = 'BASE TABLE' ORDER BY c.table_name"
)


def _batch_delete(schema: str | None, name: str) -> Any:
    qualified = f'"{schema}"."{name}"' if schema else f'"{name}"'
    return text(
        f"DELETE FROM {qualified} WHERE ctid = ANY(ARRAY("  # noqa: S608 (catalogue names)
        f"SELECT ctid FROM {qualified} WHERE organisation_id = :organisation LIMIT :batch))"
    )


async def delete_rows(
    store: Store, table: Table, organisation_id: uuid.UUID, *, batch: int = DEFAULT_BATCH
) -> int:
    """Delete the organisation's rows of ``table``, ``batch`` per transaction."""
    return await _delete_in_batches(
        store, _batch_delete(table.schema, table.name), organisation_id, batch
    )


async def _delete_in_batches(
    store: Store, statement: Any, organisation_id: uuid.UUID, batch: int
) -> int:
    total = 0
    while True:
        async with store.uow() as uow:
            result: Any = await uow.session.execute(
                statement, {"organisation": organisation_id, "batch": batch}
            )
            await uow.commit()
        count = int(result.rowcount or 0)
        total += count
        if count < batch:
            return total


async def delete_organisation_rows(
    store: Store,
    metadata: MetaData,
    organisation_id: uuid.UUID,
    *,
    keep: Collection[str] = (),
    batch: int = DEFAULT_BATCH,
) -> dict[str, int]:
    """Delete the organisation's rows of every table of ``metadata`` that has an
    ``organisation_id`` (except ``keep``); returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    known = {table.name for table in metadata.tables.values()}
    # Tables a migration makes without a model (workflow's pgvector embeddings, only where
    # the extension exists): found in the catalogue, emptied first (nothing refers to them).
    schema = metadata.schema
    for row in await store.all(_UNMANAGED, {"schema": schema}):
        name = row.table_name
        if name in known or f"{schema}.{name}" in keep:
            continue
        count = await _delete_in_batches(store, _batch_delete(schema, name), organisation_id, batch)
        if count:
            deleted[f"{schema}.{name}"] = count
    for table in organisation_tables(metadata, keep=keep):
        count = await delete_rows(store, table, organisation_id, batch=batch)
        if count:
            deleted[table.fullname] = count
    return deleted


async def forget_published_events(
    uow: UnitOfWork, schema: str, organisation_id: uuid.UUID, *, batch: int = 1000
) -> int:
    """Delete the schema's outbox rows about the organisation that were already relayed
    (delivery history once sent; rows still waiting for the relay stay)."""
    statement = text(
        f'DELETE FROM "{schema}".outbox WHERE position = ANY(ARRAY('  # noqa: S608
        f'SELECT position FROM "{schema}".outbox WHERE published_at IS NOT NULL '
        "AND payload->>'organisationId' = :organisation LIMIT :batch))"
    )
    total = 0
    while True:
        result: Any = await uow.session.execute(
            statement, {"organisation": str(organisation_id), "batch": batch}
        )
        count = int(result.rowcount or 0)
        total += count
        if count < batch:
            return total


@dataclass(eq=False)
class SchemaPurge:
    """A context's whole part of an organisation's purge when its data is rows only
    (communication, workflow): every table of its schema with an ``organisation_id``, in
    batches, then its already-relayed outbox rows about the organisation. A context with
    more to release (content's blobs) composes the two functions above itself."""

    store: Store
    metadata: MetaData
    batch: int = DEFAULT_BATCH

    async def purge(self, uow: UnitOfWork, organisation_id: uuid.UUID) -> dict[str, int]:
        schema = str(self.metadata.schema)
        deleted = await delete_organisation_rows(
            self.store, self.metadata, organisation_id, batch=self.batch
        )
        await forget_published_events(uow, schema, organisation_id)
        log.info(
            f"organisation_{schema}_purged",
            organisation_id=str(organisation_id),
            **{name.replace(".", "_"): count for name, count in deleted.items()},
        )
        return deleted
