"""Full-text search, title and tag completion, and an organisation's search language.

A search (``mode`` ``text``, the default) runs full text first; only when that finds
nothing at all does it fall back to typo-tolerant trigram matching on titles and tag
names (ranked below any full-text hit, without highlights). The cursor names which of
the two the first page used, and the offset reached: rank order has no stable keyset
(scores tie, and change as documents do), so pages are offsets, bounded by
``MAX_OFFSET``.

``mode`` ``hybrid`` fuses the full-text ranking with a meaning-based one by reciprocal
rank fusion (``domain.fusion``): the first ``HYBRID_DEPTH`` full-text hits and the
``HYBRID_DEPTH`` documents nearest in meaning, which a :class:`SemanticRanker` provided
through the kernel answers (workflow's intelligence, when wired; content does not import
it). Those ids come unfiltered and pass the document list's rule and filters here, in
SQL, like every hit. Without a ranker in the process, ``mode=hybrid`` is a 422
(``search_mode_unavailable``); with one but no trained model for the organisation the
ranking is the full-text one alone, and ``semantic`` says why.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects.postgresql import insert

from hub.content.domain.access import Caller
from hub.content.domain.fusion import HYBRID_DEPTH, fuse
from hub.content.domain.search import (
    LANGUAGES,
    MAX_OFFSET,
    MAX_SUGGESTIONS,
    RANK_WINDOW,
    Marks,
    clean_language,
    clean_query,
    config_of,
    like_pattern,
    plain_snippet,
)
from hub.content.models import OrganisationSettings
from hub.content.repositories import search as repo
from hub.content.repositories.documents import Filters
from hub.content.services.search_index import SearchIndex
from hub.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from hub.kernel.problems import field_invalid, invalid_cursor
from hub.kernel.semantic import SemanticSearch
from hub.kernel.store import Store

FULL_TEXT = "text"
TYPO_TOLERANT = "fuzzy"
HYBRID = "hybrid"
MODES = (FULL_TEXT, HYBRID)


def _position(
    cursor: str | None, modes: tuple[str, ...] = (FULL_TEXT, TYPO_TOLERANT)
) -> tuple[str | None, int]:
    if cursor is None:
        return None, 0
    mode, offset = decode_cursor(cursor, 2)
    if mode not in modes or type(offset) is not int:
        raise invalid_cursor()
    if not 0 < offset <= MAX_OFFSET:
        raise invalid_cursor()
    return mode, offset


@dataclass(frozen=True)
class Results:
    page: Page[dict[str, Any]]
    #: Whether the hits are typo-tolerant matches (full text found nothing).
    fuzzy: bool
    facets: dict[str, list[dict[str, Any]]] | None
    #: Hybrid only: ``vectors`` when meaning took part, else ``none`` with the reason.
    semantic: dict[str, Any] | None = None


class SearchService:
    def __init__(
        self,
        store: Store,
        *,
        rank_window: int = RANK_WINDOW,
        semantic: SemanticSearch | None = None,
    ) -> None:
        self.store = store
        self.rank_window = rank_window
        self.semantic = semantic

    async def hybrid(
        self,
        caller: Caller,
        q: str,
        filters: Filters,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Results:
        """Full text and meaning fused by reciprocal rank (see the module's docstring)."""
        ranker = self.semantic.ranker if self.semantic is not None else None
        if ranker is None:
            raise field_invalid(
                "mode",
                "hybrid search is not available on this server",
                source="query",
                code="search_mode_unavailable",
                detail="Hybrid search needs document intelligence (the workflow context), "
                "which this server does not run; use mode=text.",
            )
        query = clean_query(q)
        _, offset = _position(cursor, (HYBRID,))
        size = clamp_limit(limit)
        config = config_of(await repo.language_of(self.store, caller.organisation_id))
        marks = Marks.fresh()
        match = repo.full_text(config, query)
        text_rows = await self._full_text(
            caller, filters, match, config, marks, 0, HYBRID_DEPTH - 1
        )
        ranking = await ranker.rank(caller.organisation_id, query, HYBRID_DEPTH)
        near = [doc for doc, _ in ranking.items]
        readable: dict[uuid.UUID, Row[Any]] = {}
        if near:
            readable = {
                r.id: r for r in await self.store.all(repo.readable_hits(caller, filters, near))
            }
        by_text = {r.id: r for r in text_rows}
        fused = fuse([list(by_text), [doc for doc in near if doc in readable]])
        window = fused[offset : offset + size]
        items = []
        for doc, score in window:
            hit = by_text.get(doc)
            if hit is not None:
                items.append(
                    {
                        "id": doc,
                        "title": hit.title,
                        "score": round(score, 6),
                        "snippet": marks.to_html(hit.snippet),
                    }
                )
            else:
                row = readable[doc]
                items.append(
                    {
                        "id": doc,
                        "title": row.title,
                        "score": round(score, 6),
                        "snippet": plain_snippet(row.snippet),
                    }
                )
        more = offset + size < len(fused)
        return Results(
            page=Page(
                items=items,
                limit=size,
                next_cursor=encode_cursor(HYBRID, offset + size) if more else None,
            ),
            fuzzy=False,
            facets=None,
            semantic={"basis": ranking.basis, "reason": ranking.reason},
        )

    async def search(
        self,
        caller: Caller,
        q: str,
        filters: Filters,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        facets: tuple[str, ...] = (),
    ) -> Results:
        query = clean_query(q)
        mode, offset = _position(cursor)
        size = clamp_limit(limit)
        config = config_of(await repo.language_of(self.store, caller.organisation_id))
        marks = Marks.fresh()
        rows: list[Row[Any]] = []
        match = repo.full_text(config, query)
        if mode in (None, FULL_TEXT):
            rows = await self._full_text(caller, filters, match, config, marks, offset, size)
        counts: dict[str, list[dict[str, Any]]] | None = None
        if mode == TYPO_TOLERANT or (mode is None and not rows):
            mode = TYPO_TOLERANT
            async with self.store.uow() as uow:  # read-only: never committed
                session = uow.session
                await session.execute(repo.SET_THRESHOLD)
                key = str(await session.scalar(repo.normalised(query)))
                match = repo.typo_tolerant(key)
                rows = list(
                    await session.execute(
                        repo.hits(
                            caller,
                            filters,
                            match,
                            config=config,
                            options="",
                            offset=offset,
                            limit=size,
                        )
                    )
                )
                if facets:
                    counts = await self._facets(session.execute, caller, filters, match, facets)
        elif facets:
            counts = await self._facets(self.store.fetch, caller, filters, match, facets)
        more = len(rows) > size and offset + size < MAX_OFFSET
        rows = rows[:size]
        fuzzy = mode == TYPO_TOLERANT
        items = [
            {
                "id": r.id,
                "title": r.title,
                "score": float(r.score),
                "snippet": plain_snippet(r.snippet) if fuzzy else marks.to_html(r.snippet),
            }
            for r in rows
        ]
        next_cursor = encode_cursor(mode or FULL_TEXT, offset + size) if more else None
        return Results(
            page=Page(items=items, limit=size, next_cursor=next_cursor),
            fuzzy=fuzzy,
            facets=counts,
        )

    async def _full_text(
        self,
        caller: Caller,
        filters: Filters,
        match: repo.Match,
        config: str,
        marks: Marks,
        offset: int,
        size: int,
    ) -> list[Row[Any]]:
        """The probe, then the ranking: planned for this very query (a generic plan, which
        asyncpg's prepared statements get after five runs, cannot tell a word most
        documents hold from a rare one, and picks the rare word's plan for both)."""
        async with self.store.uow() as uow:  # read-only: never committed
            session = uow.session
            await session.execute(repo.CUSTOM_PLANS)
            found = list(
                await session.execute(
                    repo.first_hits(caller.organisation_id, match, self.rank_window + 1)
                )
            )
            if not found:
                return []
            statement = repo.hits(
                caller,
                filters,
                match,
                config=config,
                options=marks.options(),
                offset=offset,
                limit=size,
                window=self.rank_window,
                among=[r.document_id for r in found] if len(found) <= self.rank_window else None,
            )
            return list(await session.execute(statement))

    @staticmethod
    async def _facets(
        run: Any, caller: Caller, filters: Filters, match: repo.Match, facets: tuple[str, ...]
    ) -> dict[str, list[dict[str, Any]]]:
        counts: dict[str, list[dict[str, Any]]] = {}
        if "tags" in facets:
            counts["tags"] = [
                {"id": r.id, "name": r.name, "count": r.count}
                for r in await run(repo.tag_facets(caller, filters, match))
            ]
        if "types" in facets:
            counts["types"] = [
                {"id": r.document_type_id, "count": r.count}
                for r in await run(repo.type_facets(caller, filters, match))
            ]
        return counts

    async def autocomplete(self, caller: Caller, q: str) -> list[dict[str, Any]]:
        """Up to ``MAX_SUGGESTIONS`` titles and tag names of readable documents: those
        starting with ``q`` first, then containing it, then close to it (typos)."""
        query = clean_query(q)
        async with self.store.uow() as uow:  # read-only: never committed
            session = uow.session
            await session.execute(repo.SET_THRESHOLD)
            key = str(await session.scalar(repo.normalised(query)))
            pattern = like_pattern(key)
            found: list[tuple[bool, float, str, dict[str, Any]]] = []
            for kind, statement in (
                ("title", repo.title_suggestions(caller, key, pattern, MAX_SUGGESTIONS)),
                ("tag", repo.tag_suggestions(caller, key, pattern, MAX_SUGGESTIONS)),
            ):
                for r in await session.execute(statement):
                    found.append(
                        (r.prefix, r.similarity, r.text, {"kind": kind, "id": r.id, "text": r.text})
                    )
        found.sort(key=lambda f: (not f[0], -f[1], f[2].casefold(), f[3]["kind"]))
        return [f[3] for f in found[:MAX_SUGGESTIONS]]

    async def settings(self, organisation_id: uuid.UUID) -> dict[str, Any]:
        return {
            "language": await repo.language_of(self.store, organisation_id),
            "languages": list(LANGUAGES),
        }

    async def set_language(self, organisation_id: uuid.UUID, language: str) -> dict[str, Any]:
        """Change the organisation's search language and re-index all its documents in
        the same transaction (their terms are stemmed in the new language)."""
        language = clean_language(language)
        async with self.store.uow() as uow:
            await uow.session.execute(
                insert(OrganisationSettings)
                .values(organisation_id=organisation_id, search_language=language)
                .on_conflict_do_update(
                    index_elements=[OrganisationSettings.organisation_id],
                    set_={"search_language": language},
                )
            )
            await SearchIndex.refresh_organisation(uow, organisation_id)
            await uow.commit()
        return await self.settings(organisation_id)
