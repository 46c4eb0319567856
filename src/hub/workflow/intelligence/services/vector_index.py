"""Where document vectors are stored and searched: pgvector with an HNSW index (cosine)
when the server has it, else ``real[]`` arrays compared in the API process.

Every vector is written to ``workflow.document_vectors`` (``real[]``, on every server: the
source the fallback reads, and what a later migration to pgvector could copy). Where
migration 5c0d8e21a7f4 found pgvector, it is also written to
``workflow.document_embeddings`` (``vector(128)``, HNSW index with
``vector_cosine_ops``), and nearest neighbours are asked of PostgreSQL: the index walks
the graph, filtered to the organisation and model version (iterative index scans, so a
filter that drops most of the graph still yields enough rows). Without pgvector the
organisation's vectors are read and multiplied with numpy in a worker thread: exact, and
fine for thousands of documents per organisation, slow at 100,000 (see
docs/intelligence.md). Which path a process takes is decided once, by whether the table
exists, and the fallback is logged once with its reason.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence

import numpy as np
import structlog
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from hub.kernel.store import Store
from hub.workflow.intelligence import repositories as repo

log = structlog.get_logger("hub.workflow.intelligence")

#: Candidates read per round (the permission filter is asked per round).
CHUNK = 200
#: How many candidates the HNSW search keeps while walking the graph (pgvector's
#: ``hnsw.ef_search``; default 40): at least one round's worth. Set by the function
#: ``workflow.nearest_documents`` (migration e41b7c9d2f05), with iterative scans.
EF_SEARCH = CHUNK


class VectorIndex:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._pgvector: bool | None = None
        self.reason: str | None = None

    async def pgvector(self) -> bool:
        """Whether this database has the pgvector table (decided once per process)."""
        if self._pgvector is None:
            present = await self.store.scalar(text(repo.EMBEDDINGS_PRESENT))
            self._pgvector = bool(present)
            if not self._pgvector:
                available = await self.store.scalar(text(repo.PGVECTOR_AVAILABLE))
                self.reason = (
                    "pgvector is available on this server but was not installed when the "
                    "workflow migrations ran (a superuser must run CREATE EXTENSION vector, "
                    "then migrate)"
                    if available
                    else "this PostgreSQL server does not ship the pgvector extension"
                )
                log.warning(
                    "vectors_without_pgvector",
                    reason=self.reason,
                    fallback="real[] vectors compared in the API process",
                )
        return self._pgvector

    async def put(
        self,
        session: AsyncSession,
        organisation_id: uuid.UUID,
        version: int,
        rows: Sequence[tuple[uuid.UUID, list[float]]],
    ) -> None:
        if rows:
            matrix = np.asarray([vec for _, vec in rows], dtype=np.float32)
            await self.put_many(session, organisation_id, version, [d for d, _ in rows], matrix)

    async def put_many(
        self,
        session: AsyncSession,
        organisation_id: uuid.UUID,
        version: int,
        ids: Sequence[uuid.UUID],
        matrix: NDArray[np.float32],
    ) -> None:
        """A batch (``matrix[i]``: the vector of ``ids[i]``) in two statements: the
        ``real[]`` rows from one flat array parameter, then, where there is pgvector, their
        copy converted by the server."""
        if not ids:
            return
        await repo.put_vectors(session, organisation_id, version, ids, matrix)
        if await self.pgvector():
            await repo.put_embeddings(session, organisation_id, version, ids)

    async def nearest_under_current(
        self, organisation_id: uuid.UUID, document_id: uuid.UUID, limit: int
    ) -> tuple[int, list[tuple[uuid.UUID, float]]] | None:
        """With pgvector, in one statement: the organisation's version in use and the
        ``limit`` documents nearest to ``document_id``'s stored vector of it (itself left
        out). None without pgvector, a version, a stored vector or another document: the
        caller then takes the general path (:meth:`nearest`)."""
        if not await self.pgvector():
            return None
        return await repo.nearest_under_current(self.store, organisation_id, document_id, limit)

    async def nearest(
        self,
        organisation_id: uuid.UUID,
        version: int,
        vector: Sequence[float] | None,
        *,
        exclude: uuid.UUID | None = None,
        skip: int = 0,
    ) -> AsyncIterator[list[tuple[uuid.UUID, float]]]:
        """The organisation's documents by decreasing cosine similarity to ``vector``, in
        rounds of ``CHUNK`` (``exclude`` left out) after the first ``skip``; stops when
        none are left. ``vector`` None: the stored vector of ``exclude`` under
        ``version`` (pgvector only; a round after :meth:`nearest_under_current`)."""
        if await self.pgvector():
            offset = skip
            while True:
                found = await repo.nearest_embeddings(
                    self.store,
                    organisation_id,
                    version,
                    vector=vector,
                    document_id=exclude,
                    limit=CHUNK,
                    offset=offset,
                )
                if found:
                    yield found
                if len(found) < CHUNK:
                    return
                offset += CHUNK
        if vector is None:
            raise ValueError("without pgvector, nearest() needs the vector")
        rows = await repo.vectors_of(self.store, organisation_id, version)
        ids = [r.document_id for r in rows if r.document_id != exclude]
        if not ids:
            return
        matrix = [r.vector for r in rows if r.document_id != exclude]
        ranked = await asyncio.to_thread(_rank, matrix, vector)
        for start in range(skip, len(ranked), CHUNK):
            yield [(ids[i], score) for i, score in ranked[start : start + CHUNK]]


def _rank(matrix: list[list[float]], vector: Sequence[float]) -> list[tuple[int, float]]:
    scores = np.asarray(matrix, dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
    order = np.argsort(-scores)
    return [(int(i), round(float(scores[i]), 4)) for i in order]
