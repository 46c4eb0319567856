"""Reads and writes of intelligence's tables."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    REAL,
    Float,
    Integer,
    Row,
    String,
    Table,
    bindparam,
    column,
    func,
    select,
    table,
    text,
    true,
)
from sqlalchemy import (
    cast as sql_cast,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import LateralFromClause
from sqlalchemy.types import UserDefinedType

from hub.kernel.store import Store
from hub.workflow.intelligence.models import (
    EMBEDDINGS_TABLE,
    AutoApplication,
    ClassifierModel,
    ClassifierState,
    DocumentVector,
    InsightFeedback,
    MachineLabel,
)

states = cast(Table, ClassifierState.__table__)
models = cast(Table, ClassifierModel.__table__)
vectors = cast(Table, DocumentVector.__table__)
feedback = cast(Table, InsightFeedback.__table__)
machine = cast(Table, MachineLabel.__table__)
applications = cast(Table, AutoApplication.__table__)


async def state(store: Store, organisation_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(states).where(states.c.organisation_id == organisation_id))


async def state_in(session: AsyncSession, organisation_id: uuid.UUID) -> Row[Any] | None:
    """The state as this transaction sees it (what a request wrote, before a worker that
    picks the job up at once changes it)."""
    found = await session.execute(select(states).where(states.c.organisation_id == organisation_id))
    return found.first()


async def save_state(session: AsyncSession, organisation_id: uuid.UUID, **values: Any) -> None:
    defaults: dict[str, Any] = {
        "state": "untrained",
        "progress": 0.0,
        "documents_used": 0,
        "documents_skipped": {},
    }
    statement = insert(states).values(organisation_id=organisation_id, **{**defaults, **values})
    await session.execute(
        statement.on_conflict_do_update(index_elements=[states.c.organisation_id], set_=values)
    )


async def lock_state(session: AsyncSession, organisation_id: uuid.UUID) -> str:
    """The organisation's state, its row made if missing and locked until the transaction
    ends (two requests at once: the second sees the first's ``queued``)."""
    await session.execute(
        insert(states)
        .values(
            organisation_id=organisation_id,
            state="untrained",
            progress=0.0,
            documents_used=0,
            documents_skipped={},
        )
        .on_conflict_do_nothing()
    )
    value = await session.scalar(
        select(states.c.state).where(states.c.organisation_id == organisation_id).with_for_update()
    )
    return str(value)


#: Built once: read on every insights request (and by the model cache).
_CURRENT_VERSION = select(states.c.model_version).where(
    states.c.organisation_id == bindparam("organisation_id", type_=UUID(as_uuid=True))
)


async def current_version(store: Store, organisation_id: uuid.UUID) -> int | None:
    """The version in use (complete: its model and every vector stored), or None."""
    value = await store.scalar(_CURRENT_VERSION, {"organisation_id": organisation_id})
    return None if value is None else int(value)


async def model_data(store: Store, organisation_id: uuid.UUID, version: int) -> bytes | None:
    value = await store.scalar(
        select(models.c.data).where(
            models.c.organisation_id == organisation_id, models.c.version == version
        )
    )
    return None if value is None else bytes(value)


async def latest_version(store: Store, organisation_id: uuid.UUID) -> int | None:
    value = await store.scalar(
        select(func.max(models.c.version)).where(models.c.organisation_id == organisation_id)
    )
    return None if value is None else int(value)


async def add_model(
    session: AsyncSession, organisation_id: uuid.UUID, version: int, at: datetime, data: bytes
) -> None:
    """A new version's model, not in use until :func:`switch_version`."""
    await session.execute(
        models.insert().values(
            organisation_id=organisation_id, version=version, created_at=at, data=data
        )
    )


async def switch_version(
    session: AsyncSession, organisation_id: uuid.UUID, version: int, previous: int | None
) -> None:
    """Keep the models of ``version`` and ``previous`` only (a failed training's model is
    dropped). The caller sets the state's ``model_version`` in the same transaction."""
    kept = [version] if previous is None else [version, previous]
    await session.execute(
        models.delete().where(
            models.c.organisation_id == organisation_id, models.c.version.not_in(kept)
        )
    )


async def drop_vectors_except(
    session: AsyncSession, organisation_id: uuid.UUID, version: int, *, embeddings: bool
) -> None:
    """Delete the organisation's vectors of every version but ``version`` (the one in use
    after a switch; also rows a failed training left)."""
    await session.execute(
        vectors.delete().where(
            vectors.c.organisation_id == organisation_id, vectors.c.model_version != version
        )
    )
    if embeddings:
        await session.execute(
            text(
                "DELETE FROM workflow.document_embeddings"
                " WHERE organisation_id = :org AND model_version <> :version"
            ),
            {"org": organisation_id, "version": version},
        )


async def missing_in(
    store: Store, organisation_id: uuid.UUID, version: int, previous: int
) -> list[uuid.UUID]:
    """Documents with a vector of ``previous`` but none of ``version`` (their text was
    extracted while ``version`` was being built)."""
    newer = vectors.alias("newer")
    rows = await store.all(
        select(vectors.c.document_id).where(
            vectors.c.organisation_id == organisation_id,
            vectors.c.model_version == previous,
            ~select(newer.c.document_id)
            .where(newer.c.document_id == vectors.c.document_id, newer.c.model_version == version)
            .exists(),
        )
    )
    return [r.document_id for r in rows]


#: One statement per batch: the ids and one flat ``real[]`` of every vector (binary
#: parameters, no per-row placeholders), split back into rows by position.
_PUT_VECTORS = text(
    """
    INSERT INTO workflow.document_vectors (document_id, organisation_id, model_version, vector)
    SELECT u.d, :org, :version, (CAST(:flat AS real[]))[(u.i - 1) * :dims + 1 : u.i * :dims]
    FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS u(d, i)
    ON CONFLICT (document_id, model_version) DO UPDATE SET
        organisation_id = excluded.organisation_id,
        vector = excluded.vector
    """
).bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("flat", type_=ARRAY(REAL)),
)


async def put_vectors(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    version: int,
    ids: Sequence[uuid.UUID],
    matrix: NDArray[np.float32],
) -> None:
    """``matrix[i]`` is the vector of ``ids[i]``."""
    if not ids:
        return
    await session.execute(
        _PUT_VECTORS,
        {
            "org": organisation_id,
            "version": version,
            "dims": int(matrix.shape[1]),
            "ids": list(ids),
            "flat": np.asarray(matrix, dtype=np.float32).ravel().tolist(),
        },
    )


#: Whether migration 5c0d8e21a7f4 made the pgvector table on this server.
EMBEDDINGS_PRESENT = f"SELECT to_regclass('workflow.{EMBEDDINGS_TABLE}') IS NOT NULL"
PGVECTOR_AVAILABLE = "SELECT count(*) > 0 FROM pg_available_extensions WHERE name = 'vector'"
#: The pgvector column's dimension (the SVD's maximum); shorter vectors are padded with
#: zeros, which changes no cosine.
EMBEDDING_DIMENSIONS = 128
_NOBODY = uuid.UUID(int=0)

#: The pgvector copy of vectors just written to ``document_vectors`` (same transaction),
#: padded with zeros to ``EMBEDDING_DIMENSIONS``; converted by the server.
_PUT_EMBEDDINGS = text(
    """
    INSERT INTO workflow.document_embeddings
        (document_id, organisation_id, model_version, embedding)
    SELECT document_id, organisation_id, model_version,
           CAST(array_cat(vector, array_fill(CAST(0 AS real),
                ARRAY[CAST(:dims AS integer) - cardinality(vector)])) AS vector)
    FROM workflow.document_vectors
    WHERE organisation_id = :org AND model_version = :version
      AND document_id = ANY(CAST(:ids AS uuid[]))
    ON CONFLICT (document_id, model_version) DO UPDATE SET
        organisation_id = excluded.organisation_id,
        embedding = excluded.embedding
    """
).bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))


class _Vector(UserDefinedType[Any]):
    """pgvector's ``vector`` (no model describes its table): values pass through as text."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "vector"


#: The pgvector table, for the statements below (exists on some servers only).
_embeddings = table(
    EMBEDDINGS_TABLE,
    column("document_id"),
    column("model_version"),
    column("embedding"),
    schema="workflow",
)
_UUID = UUID(as_uuid=True)


def _nearest(organisation: Any, version: Any, query: Any, exclude: Any) -> LateralFromClause:
    """``workflow.nearest_documents()`` (migration e41b7c9d2f05): the HNSW search with
    its ``hnsw.*`` settings attached to the function, so one statement outside any
    transaction; no rows when ``query`` is NULL."""
    return (
        func.workflow.nearest_documents(
            organisation,
            version,
            query,
            exclude,
            bindparam("limit", type_=Integer),
            bindparam("offset", type_=Integer),
        )
        .table_valued(column("document_id", _UUID), column("score", Float))
        .lateral("nearest")
    )


def _embedding_of(version: Any) -> Any:
    return (
        select(_embeddings.c.embedding)
        .where(
            _embeddings.c.document_id == bindparam("document_id", type_=_UUID),
            _embeddings.c.model_version == version,
        )
        .scalar_subquery()
    )


_NEAR_VECTOR = _nearest(
    bindparam("org", type_=_UUID),
    bindparam("version", type_=Integer),
    sql_cast(bindparam("q", type_=String), _Vector()),
    bindparam("exclude", type_=_UUID),
)
#: Nearest to an explicit vector (a query's, a vector computed just now).
_NEAREST_TO_VECTOR = select(_NEAR_VECTOR.c.document_id, _NEAR_VECTOR.c.score)

_NEAR_DOCUMENT = _nearest(
    bindparam("org", type_=_UUID),
    bindparam("version", type_=Integer),
    _embedding_of(bindparam("version", type_=Integer)),
    bindparam("document_id", type_=_UUID),
)
#: Nearest to a document's stored embedding under a known version (later rounds).
_NEAREST_TO_DOCUMENT = select(_NEAR_DOCUMENT.c.document_id, _NEAR_DOCUMENT.c.score)

_NEAR_CURRENT = _nearest(
    states.c.organisation_id,
    states.c.model_version,
    _embedding_of(states.c.model_version).correlate(states),
    bindparam("document_id", type_=_UUID),
)
#: The first round of a similar-documents request in one statement: the organisation's
#: version in use, the document's stored embedding of that version and its nearest
#: neighbours. No rows when there is no version, no embedding or no other document.
_NEAREST_UNDER_CURRENT = (
    select(states.c.model_version, _NEAR_CURRENT.c.document_id, _NEAR_CURRENT.c.score)
    .select_from(states.join(_NEAR_CURRENT, true()))
    .where(states.c.organisation_id == bindparam("org", type_=_UUID))
)


def as_pgvector(vector: Sequence[float]) -> str:
    """pgvector's text form, padded to ``EMBEDDING_DIMENSIONS``."""
    values = [float(v) for v in vector][:EMBEDDING_DIMENSIONS]
    values += [0.0] * (EMBEDDING_DIMENSIONS - len(values))
    return "[" + ",".join(f"{v:.7g}" for v in values) + "]"


async def put_embeddings(
    session: AsyncSession, organisation_id: uuid.UUID, version: int, ids: Sequence[uuid.UUID]
) -> None:
    """Copy the vectors of ``ids`` (written by :func:`put_vectors` in this transaction)
    into the pgvector table."""
    await session.execute(
        _PUT_EMBEDDINGS,
        {
            "org": organisation_id,
            "version": version,
            "ids": list(ids),
            "dims": EMBEDDING_DIMENSIONS,
        },
    )


def _scored(rows: Sequence[Row[Any]]) -> list[tuple[uuid.UUID, float]]:
    return [(r.document_id, round(float(r.score), 4)) for r in rows]


async def nearest_embeddings(
    store: Store,
    organisation_id: uuid.UUID,
    version: int,
    *,
    vector: Sequence[float] | None,
    document_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[tuple[uuid.UUID, float]]:
    """The nearest to ``vector``, or (None) to the stored embedding of ``document_id``
    under ``version``; ``document_id`` is left out either way."""
    params: dict[str, Any]
    if vector is None:
        statement, params = _NEAREST_TO_DOCUMENT, {"document_id": document_id}
    else:
        statement = _NEAREST_TO_VECTOR
        params = {"q": as_pgvector(vector), "exclude": document_id or _NOBODY}
    rows = await store.all(
        statement,
        {**params, "org": organisation_id, "version": version, "limit": limit, "offset": offset},
    )
    return _scored(rows)


async def nearest_under_current(
    store: Store, organisation_id: uuid.UUID, document_id: uuid.UUID, limit: int
) -> tuple[int, list[tuple[uuid.UUID, float]]] | None:
    """``(version in use, first neighbours)`` from the document's stored embedding, in
    one statement; None when there is no version, no embedding or no other document."""
    rows = await store.all(
        _NEAREST_UNDER_CURRENT,
        {"org": organisation_id, "document_id": document_id, "limit": limit, "offset": 0},
    )
    if not rows:
        return None
    return int(rows[0].model_version), _scored(rows)


async def vector_of(store: Store, document_id: uuid.UUID, version: int) -> list[float] | None:
    value = await store.scalar(
        select(vectors.c.vector).where(
            vectors.c.document_id == document_id, vectors.c.model_version == version
        )
    )
    return None if value is None else list(value)


async def vectors_of(store: Store, organisation_id: uuid.UUID, version: int) -> list[Row[Any]]:
    return await store.all(
        select(vectors.c.document_id, vectors.c.vector).where(
            vectors.c.organisation_id == organisation_id, vectors.c.model_version == version
        )
    )


async def feedback_of(store: Store, organisation_id: uuid.UUID) -> list[Row[Any]]:
    return await store.all(select(feedback).where(feedback.c.organisation_id == organisation_id))


async def record_feedback(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    statement = insert(feedback).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[feedback.c.document_id, feedback.c.kind, feedback.c.label],
            set_={
                "accepted": statement.excluded.accepted,
                "user_id": statement.excluded.user_id,
                "at": statement.excluded.at,
            },
        )
    )


async def labels_set_by(
    session: AsyncSession,
    document_id: uuid.UUID,
    organisation_id: uuid.UUID,
    via: str,
    at: datetime,
) -> None:
    """Record who last set the document's labels: a person (``via`` None) clears the mark."""
    statement = insert(machine).values(
        document_id=document_id, organisation_id=organisation_id, via=via, at=at
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[machine.c.document_id],
            set_={"via": statement.excluded.via, "at": statement.excluded.at},
        )
    )


async def labels_confirmed(session: AsyncSession, document_ids: Sequence[uuid.UUID]) -> None:
    await session.execute(machine.delete().where(machine.c.document_id.in_(list(document_ids))))


async def machine_labelled(store: Store, organisation_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = await store.all(
        select(machine.c.document_id, machine.c.via).where(
            machine.c.organisation_id == organisation_id
        )
    )
    return {r.document_id: r.via for r in rows}


async def changed_since_request(store: Store) -> list[uuid.UUID]:
    """Organisations with a model (or a failed training) whose labels a person changed
    after the last training was requested."""
    rows = await store.all(
        select(states.c.organisation_id).where(
            states.c.state.in_(("ready", "failed")),
            states.c.labels_changed_at.is_not(None),
            states.c.requested_at.is_not(None),
            states.c.labels_changed_at > states.c.requested_at,
        )
    )
    return [r.organisation_id for r in rows]


async def applications_of(store: Store, document_id: uuid.UUID) -> list[Row[Any]]:
    return await store.all(
        select(applications)
        .where(applications.c.document_id == document_id)
        .order_by(applications.c.applied_at, applications.c.label)
    )


async def add_applications(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(applications.insert().values(rows))


async def application(store: Store, application_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(applications).where(applications.c.id == application_id))


async def mark_undone(
    session: AsyncSession, application_id: uuid.UUID, user_id: uuid.UUID, at: datetime
) -> None:
    await session.execute(
        applications.update()
        .where(applications.c.id == application_id, applications.c.undone_at.is_(None))
        .values(undone_at=at, undone_by=user_id)
    )
