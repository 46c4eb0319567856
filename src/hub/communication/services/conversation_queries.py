"""Reads of the conversation tables (single SELECTs on the store's autocommit path).

Unread counts are ``COUNT(*)`` over the messages after a participant's read pointer that
others sent and nobody deleted: no counter is kept, so concurrent sends and reads can never
make a count drift. The pointer is a message ``seq`` (numbered per conversation under the
conversation row's lock) and only moves forward (``GREATEST``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, and_, func, literal_column, or_, select, tuple_
from sqlalchemy.sql import ColumnElement

from hub.communication.models import (
    Conversation,
    ConversationParticipant,
    Message,
    MessageReaction,
)
from hub.kernel.store import Store

conversations_t = cast(Table, Conversation.__table__)
participants_t = cast(Table, ConversationParticipant.__table__)
messages_t = cast(Table, Message.__table__)
reactions_t = cast(Table, MessageReaction.__table__)

_c, _p, _m = conversations_t, participants_t, messages_t


def unread_of(p: Any = _p, m: Any = _m) -> ColumnElement[bool]:
    """Messages ``m`` unread by participant ``p``: after their pointer, sent by someone
    else, not deleted."""
    return and_(
        m.c.conversation_id == p.c.conversation_id,
        m.c.seq > p.c.last_read_seq,
        m.c.sender_id != p.c.user_id,
        m.c.deleted_at.is_(None),
    )


async def conversation(store: Store, conversation_id: uuid.UUID) -> Row[Any] | None:
    return await store.first(select(_c).where(_c.c.id == conversation_id))


async def participant(
    store: Store, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> Row[Any] | None:
    return await store.first(
        select(_p).where(_p.c.conversation_id == conversation_id, _p.c.user_id == user_id)
    )


async def participants(
    store: Store, conversation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row[Any]]]:
    """Each conversation's participants (oldest first) with the id of the message each
    has read up to (None before the first)."""
    if not conversation_ids:
        return {}
    read = _m.alias("read")
    rows = await store.all(
        select(_p, read.c.id.label("last_read_message_id"))
        .outerjoin(
            read,
            and_(
                read.c.conversation_id == _p.c.conversation_id,
                read.c.seq == _p.c.last_read_seq,
            ),
        )
        .where(_p.c.conversation_id.in_(list(conversation_ids)))
        .order_by(_p.c.conversation_id, _p.c.joined_at, _p.c.user_id)
    )
    out: dict[uuid.UUID, list[Row[Any]]] = {cid: [] for cid in conversation_ids}
    for row in rows:
        out[row.conversation_id].append(row)
    return out


async def participant_ids(store: Store, conversation_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await store.all(select(_p.c.user_id).where(_p.c.conversation_id == conversation_id))
    return [row.user_id for row in rows]


def not_muted(p: Any, now: datetime) -> ColumnElement[bool]:
    """The participant row ``p`` has not muted its conversation at ``now``."""
    return or_(p.c.muted_until.is_(None), p.c.muted_until <= now)


async def unread_counts(
    store: Store, user_id: uuid.UUID, conversation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """The user's unread messages in each of these conversations."""
    if not conversation_ids:
        return {}
    rows = await store.all(
        select(_p.c.conversation_id, func.count(_m.c.id).label("unread"))
        .select_from(_p.outerjoin(_m, unread_of()))
        .where(_p.c.user_id == user_id, _p.c.conversation_id.in_(list(conversation_ids)))
        .group_by(_p.c.conversation_id)
    )
    counts = {row.conversation_id: int(row.unread) for row in rows}
    return {cid: counts.get(cid, 0) for cid in conversation_ids}


async def thread_unread_counts(
    store: Store, user_id: uuid.UUID, root_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """The user's unread replies in each of these threads (by their roots), by the rule
    of the conversation's own count, so the threads' add up to their part of it."""
    if not root_ids:
        return {}
    rows = await store.all(
        select(_m.c.thread_id, func.count(_m.c.id).label("unread"))
        .select_from(_p.join(_m, unread_of()))
        .where(_p.c.user_id == user_id, _m.c.thread_id.in_(list(root_ids)))
        .group_by(_m.c.thread_id)
    )
    return {row.thread_id: int(row.unread) for row in rows}


async def unread_total(
    store: Store, user_id: uuid.UUID, organisation_ids: Sequence[uuid.UUID], now: datetime
) -> int:
    """The user's unread messages in all their conversations of these organisations that
    they have not muted (at ``now``)."""
    if not organisation_ids:
        return 0
    query = (
        select(func.count())
        .select_from(_p.join(_m, unread_of()))
        .where(
            _p.c.user_id == user_id,
            _p.c.organisation_id.in_(list(organisation_ids)),
            not_muted(_p, now),
        )
    )
    return int(await store.scalar(query))


async def conversation_page(
    store: Store,
    user_id: uuid.UUID,
    organisation_id: uuid.UUID,
    *,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    """The user's conversations in the organisation, latest activity first."""
    query = (
        select(_c)
        .join(_p, _p.c.conversation_id == _c.c.id)
        .where(_p.c.user_id == user_id, _c.c.organisation_id == organisation_id)
    )
    if after is not None:
        query = query.where(tuple_(_c.c.last_activity_at, _c.c.id) < tuple_(*after))
    order = (_c.c.last_activity_at.desc(), _c.c.id.desc())
    return await store.all(query.order_by(*order).limit(limit + 1))


async def last_messages(
    store: Store, conversations: Sequence[Row[Any]]
) -> dict[uuid.UUID, Row[Any]]:
    """The newest message of each conversation that has one."""
    keys = [(c.id, c.last_seq) for c in conversations if c.last_seq > 0]
    if not keys:
        return {}
    rows = await store.all(select(_m).where(tuple_(_m.c.conversation_id, _m.c.seq).in_(keys)))
    return {row.conversation_id: row for row in rows}


async def message(
    store: Store, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> Row[Any] | None:
    return await store.first(
        select(_m).where(_m.c.id == message_id, _m.c.conversation_id == conversation_id)
    )


async def message_page(
    store: Store,
    conversation_id: uuid.UUID,
    *,
    direction: str,
    seq: int | None,
    limit: int,
    thread_id: uuid.UUID | None = None,
) -> list[Row[Any]]:
    """``before``: older than ``seq`` (all when None), newest first; ``after``: newer than
    ``seq``, oldest first. The main timeline (top-level messages), or with ``thread_id``
    the replies of that thread."""
    query = select(_m).where(_m.c.conversation_id == conversation_id)
    if thread_id is None:
        query = query.where(_m.c.thread_id.is_(None))
    else:
        query = query.where(_m.c.thread_id == thread_id)
    if direction == "after":
        query = query.where(_m.c.seq > (seq or 0)).order_by(_m.c.seq.asc())
    else:
        if seq is not None:
            query = query.where(_m.c.seq < seq)
        query = query.order_by(_m.c.seq.desc())
    return await store.all(query.limit(limit + 1))


#: What a message's words are matched in: ``simple`` words (no stemming: an organisation's
#: messages mix languages) with accents folded by ``unaccent``, the configuration
#: migration ``ff7439e46cd9`` creates and ``ix_messages_body_search`` indexes.
SEARCH_CONFIG = "communication.hub_messages"


def body_terms() -> ColumnElement[Any]:
    return func.to_tsvector(literal_column(f"'{SEARCH_CONFIG}'::regconfig"), _m.c.body)


async def search_messages(
    store: Store,
    user_id: uuid.UUID,
    organisation_id: uuid.UUID,
    q: str,
    *,
    before: uuid.UUID | None,
    limit: int,
) -> list[Row[Any]]:
    """Messages matching ``q`` (web-search syntax) in the conversations ``user_id`` takes
    part in, newest first (ids are UUIDv7), deleted ones left out; ``before``: the last
    id of the previous page."""
    query = (
        select(_m)
        .join(
            _p,
            and_(_p.c.conversation_id == _m.c.conversation_id, _p.c.user_id == user_id),
        )
        .where(
            _m.c.organisation_id == organisation_id,
            _m.c.deleted_at.is_(None),
            body_terms().op("@@")(
                func.websearch_to_tsquery(literal_column(f"'{SEARCH_CONFIG}'::regconfig"), q)
            ),
        )
        .order_by(_m.c.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(_m.c.id < before)
    return await store.all(query)


async def reactions_of(
    store: Store, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Row[Any]]]:
    """Each message's reactions ``(name, user_id)``, oldest first, in one query."""
    out: dict[uuid.UUID, list[Row[Any]]] = {i: [] for i in message_ids}
    if not message_ids:
        return out
    r = reactions_t
    rows = await store.all(
        select(r.c.message_id, r.c.name, r.c.user_id)
        .where(r.c.message_id.in_(list(message_ids)))
        .order_by(r.c.created_at, r.c.name)
    )
    for row in rows:
        out[row.message_id].append(row)
    return out
