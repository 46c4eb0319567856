"""Search statements over ``content.search_documents`` joined to ``documents``.

Every statement filters with :func:`repositories.documents.matching`, the document
list's own WHERE clause (the permission rule of ``domain.access``, trash, filters): what
the caller may not read is excluded inside the SQL, from hits, snippets, facet counts
and suggestions alike.

Two ways to match: full text (``websearch_to_tsquery`` in the organisation's language,
ranked by ``ts_rank_cd``) and, when that finds nothing, typo-tolerant trigram matching on
titles and tag names (``<<%``, strict word similarity, served by the trigram GIN indexes). The
trigram statements need ``pg_trgm.strict_word_similarity_threshold`` set in their transaction
(:data:`SET_THRESHOLD`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    any_,
    bindparam,
    cast,
    desc,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from hub.content.domain.access import Caller
from hub.content.domain.search import (
    DEFAULT_LANGUAGE,
    FUZZY_THRESHOLD,
    FUZZY_WEIGHT,
    RANK_WINDOW,
)
from hub.content.models import (
    Document,
    DocumentTag,
    OrganisationSettings,
    SearchDocument,
    Tag,
)
from hub.content.repositories.documents import Filters, matching
from hub.kernel.store import Store

d = Document.__table__
sd = SearchDocument.__table__
t = Tag.__table__
dt = DocumentTag.__table__
os_ = OrganisationSettings.__table__

#: Run first in a trigram statement's transaction (``SET LOCAL``: it ends with it).
SET_THRESHOLD = text(
    f"SELECT set_config('pg_trgm.strict_word_similarity_threshold', '{FUZZY_THRESHOLD}', true)"
)

#: Run first in a full-text search's transaction: plan each statement for its values.
CUSTOM_PLANS = text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")

_CONFIG = re.compile(r"content\.hub_[a-z]+")
_LANGUAGE = select(os_.c.search_language).where(os_.c.organisation_id == bindparam("org"))


async def language_of(store: Store, organisation_id: uuid.UUID) -> str:
    found = await store.scalar(_LANGUAGE, {"org": organisation_id})
    return str(found) if found is not None else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Match:
    """How documents match a query: the predicate and the score to rank them by."""

    where: ColumnElement[bool]
    score: ColumnElement[Any]
    #: The full-text query (None for trigram matches), for ``ts_headline``.
    query: ColumnElement[Any] | None
    #: The query over the small title/tags vector and its score (full text only).
    head_where: ColumnElement[bool] | None = None
    head_score: ColumnElement[Any] | None = None


def regconfig(config: str) -> ColumnElement[Any]:
    """``config`` as a ``regconfig`` constant in the SQL text, not a bound value.

    A bound name is cast at run time (``regconfigin`` is only stable), so the planner sees
    a function of a parameter where the tsquery should be: it falls back to a fixed 0.5%
    selectivity for every word and seq-scans ``documents`` for a word 18 documents hold.
    Inlined, ``websearch_to_tsquery`` of constants folds into a constant at planning and
    the GIN statistics estimate each word. ``config`` comes from :func:`config_of`'s
    allow-list, never from a caller."""
    if not _CONFIG.fullmatch(config):
        raise ValueError(config)
    return literal_column(f"'{config}'::regconfig", REGCONFIG)


def full_text(config: str, q: str) -> Match:
    query = func.websearch_to_tsquery(regconfig(config), q)
    return Match(
        where=sd.c.terms.op("@@")(query),
        score=func.ts_rank_cd(sd.c.terms, query),
        query=query,
        head_where=sd.c.head.op("@@")(query),
        head_score=func.ts_rank_cd(sd.c.head, query),
    )


def typo_tolerant(key: str) -> Match:
    """``key``: the query lower-cased and unaccented (``SELECT lower(unaccent(q))``)."""
    k = literal(key, String)
    return Match(
        where=or_(k.op("<<%")(sd.c.title_key), k.op("<<%")(sd.c.tags_key)),
        score=func.greatest(
            func.strict_word_similarity(k, sd.c.title_key),
            func.strict_word_similarity(k, sd.c.tags_key),
        )
        * FUZZY_WEIGHT,
        query=None,
    )


def _where(
    caller: Caller, filters: Filters, predicate: ColumnElement[bool]
) -> list[ColumnElement[bool]]:
    return [sd.c.organisation_id == caller.organisation_id, predicate, *matching(caller, filters)]


def _joined() -> Any:
    return sd.join(d, d.c.id == sd.c.document_id)


def first_hits(organisation_id: uuid.UUID, match: Match, limit: int) -> Select[Any]:
    """Up to ``limit`` ids of the organisation's documents matching, unfiltered: whether a
    query is rare enough to rank every hit (see :func:`hits`' ``among``). Never shown to
    anyone: the caller's rule filters the ranking statement."""
    return (
        select(sd.c.document_id)
        .where(sd.c.organisation_id == organisation_id, match.where)
        .limit(limit)
    )


def hits(
    caller: Caller,
    filters: Filters,
    match: Match,
    *,
    config: str,
    options: str,
    offset: int,
    limit: int,
    window: int = RANK_WINDOW,
    among: list[uuid.UUID] | None = None,
) -> Select[Any]:
    """``limit + 1`` hits from ``offset``: best score first, then the most recently
    changed, then by id; the snippet is cut for those rows only.

    Full text ranks the union of two windows of ``window`` hits: the best by the small
    title/tags vector (every title hit of a query, ranked without reading long vectors)
    and the most recently changed. A query with fewer hits than ``window`` is ranked
    whole; a word most documents hold ranks its title hits and its recent hits, not
    every body mention.

    ``among``: every id the query matches (from :func:`first_hits`, fewer than
    ``window``). The planner cannot estimate a word missing from the statistics' common
    lexemes (a fixed 0.5%: 500 of 100,000 documents) and hash-joins all of ``documents``
    for a word 18 documents hold; an id list it counts exactly, and reads by key."""
    where = _where(caller, filters, match.where)
    source: Any = _joined()
    updated_at, document_id, title = d.c.updated_at, d.c.id, d.c.title
    if among is not None:
        ids = ARRAY(PG_UUID(as_uuid=True))
        where.append(sd.c.document_id == any_(cast(literal(among, ids), ids)))
    elif match.head_where is not None and match.head_score is not None:
        picked = (sd.c.document_id, d.c.updated_at, d.c.title)
        recent = (
            select(*picked)
            .select_from(_joined())
            .where(*where)
            .order_by(d.c.updated_at.desc(), d.c.id.desc())
            .limit(window)
        )
        heads = (
            select(*picked)
            .select_from(_joined())
            .where(*where, match.head_where)
            .order_by(match.head_score.desc(), d.c.updated_at.desc(), d.c.id.desc())
            .limit(window)
        )
        # The candidates carry what the ranking orders by, so only their term vectors are
        # read (by primary key), not ``documents`` a second time.
        candidates = union(recent.subquery().select(), heads.subquery().select()).subquery()
        source = candidates.join(sd, sd.c.document_id == candidates.c.document_id)
        updated_at, document_id = candidates.c.updated_at, candidates.c.document_id
        title, where = candidates.c.title, []
    ranked = (
        select(
            document_id.label("id"),
            title.label("title"),
            updated_at.label("updated_at"),
            sd.c.body,
            match.score.label("score"),
        )
        .select_from(source)
        .where(*where)
        .order_by(desc("score"), updated_at.desc(), document_id.desc())
        .offset(offset)
        .limit(limit + 1)
        .subquery()
    )
    text_of = func.coalesce(func.nullif(ranked.c.body, ""), ranked.c.title)
    snippet: ColumnElement[Any] = (
        func.ts_headline(regconfig(config), text_of, match.query, options)
        if match.query is not None
        else text_of
    )
    return select(ranked.c.id, ranked.c.title, ranked.c.score, snippet.label("snippet")).order_by(
        ranked.c.score.desc(), ranked.c.updated_at.desc(), ranked.c.id.desc()
    )


def readable_hits(caller: Caller, filters: Filters, ids: list[uuid.UUID]) -> Select[Any]:
    """``(id, title, snippet)`` of those of ``ids`` the caller may read and the filters
    keep (the document list's rule, as for every hit): the meaning-based side of a hybrid
    search, whose ranking comes from outside content. The snippet is the text's start."""
    array = ARRAY(PG_UUID(as_uuid=True))
    among = sd.c.document_id == any_(cast(literal(ids, array), array))
    text_of = func.coalesce(func.nullif(func.left(sd.c.body, 400), ""), d.c.title)
    return (
        select(d.c.id, d.c.title, text_of.label("snippet"))
        .select_from(_joined())
        .where(*_where(caller, filters, among))
    )


def tag_facets(caller: Caller, filters: Filters, match: Match) -> Select[Any]:
    """``(id, name, count)`` of every tag on the matching documents."""
    matched = select(d.c.id).select_from(_joined()).where(*_where(caller, filters, match.where))
    return (
        select(t.c.id, t.c.name, func.count().label("count"))
        .select_from(dt.join(t, t.c.id == dt.c.tag_id))
        .where(dt.c.document_id.in_(matched))
        .group_by(t.c.id, t.c.name)
        .order_by(func.count().desc(), t.c.name)
    )


def type_facets(caller: Caller, filters: Filters, match: Match) -> Select[Any]:
    """``(document_type_id, count)`` over the matching documents."""
    return (
        select(d.c.document_type_id, func.count().label("count"))
        .select_from(_joined())
        .where(*_where(caller, filters, match.where), d.c.document_type_id.is_not(None))
        .group_by(d.c.document_type_id)
        .order_by(func.count().desc(), d.c.document_type_id)
    )


def title_suggestions(caller: Caller, key: str, pattern: str, limit: int) -> Select[Any]:
    """Readable titles containing ``key`` (a LIKE over the trigram index) or close to it;
    titles starting with it first."""
    k = literal(key, String)
    prefix = sd.c.title_key.like(pattern + "%")
    return (
        select(
            d.c.id,
            d.c.title.label("text"),
            prefix.label("prefix"),
            func.strict_word_similarity(k, sd.c.title_key).label("similarity"),
        )
        .select_from(_joined())
        .where(
            *_where(
                caller,
                Filters(),
                or_(sd.c.title_key.like("%" + pattern + "%"), k.op("<<%")(sd.c.title_key)),
            )
        )
        .order_by(desc("prefix"), desc("similarity"), d.c.title, d.c.id)
        .limit(limit)
    )


def tag_suggestions(caller: Caller, key: str, pattern: str, limit: int) -> Select[Any]:
    """The organisation's tags named like ``key`` that are on a document the caller may
    read (a tag only on unreadable documents is not suggested)."""
    k = literal(key, String)
    name_key = func.lower(func.unaccent(t.c.name))
    on_readable = exists().where(
        dt.c.tag_id == t.c.id, dt.c.document_id == d.c.id, *matching(caller, Filters())
    )
    return (
        select(
            t.c.id,
            t.c.name.label("text"),
            name_key.like(pattern + "%").label("prefix"),
            func.strict_word_similarity(k, name_key).label("similarity"),
        )
        .where(
            t.c.organisation_id == caller.organisation_id,
            or_(name_key.like("%" + pattern + "%"), k.op("<<%")(name_key)),
            on_readable,
        )
        .order_by(desc("prefix"), desc("similarity"), t.c.name, t.c.id)
        .limit(limit)
    )


def normalised(q: str) -> Select[Any]:
    """``q`` as the trigram columns hold text: lower case, no accents."""
    return select(func.lower(func.unaccent(literal(q, String))))
