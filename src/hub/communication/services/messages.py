"""Messages of a conversation: send, edit and delete your own, page through them in both
directions, and mark them read.

A send takes the conversation row's lock to number the message (``last_seq + 1``), so the
messages of one conversation have gapless, unique ``seq`` numbers whatever the concurrency,
and moves the sender's read pointer to it (you have read what you wrote). Reading moves the
caller's pointer forward only (``GREATEST``), so concurrent reads never move it back.
After each commit the change is pushed to every participant's stream
(``message.created``, ``message.updated``, ``conversation.read``), each reader getting
the attachments as they may see them.

Typing is not stored: ``conversation.typing`` goes to the other participants' streams at
most once per person and conversation every :data:`TYPING_EVERY_S` seconds (a Redis key
shared by every process decides), and says until when to show it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Literal

from redis.asyncio import Redis
from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from hub.communication.domain.conversations import (
    MAX_PINS,
    MAX_REACTIONS,
    check_attachments,
    check_body,
    check_own_message,
    message_deleted,
)
from hub.communication.services import conversation_queries as q
from hub.communication.services.conversation_views import (
    Attachments,
    MessageView,
    ReadState,
    pushed_message,
)
from hub.communication.services.conversations import Access, ConversationAccess
from hub.communication.services.inbox_events import InboxEvents
from hub.content.api import ContentApi
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.errors import Conflict, Invalid
from hub.kernel.pagination import Page, after_uuid, decode_cursor, encode_cursor
from hub.kernel.problems import field_invalid, invalid_cursor, not_found
from hub.kernel.schema import new_id
from hub.kernel.store import Store

Direction = Literal["before", "after"]
MESSAGE_CREATED = "message.created"
MESSAGE_UPDATED = "message.updated"
CONVERSATION_READ = "conversation.read"
CONVERSATION_TYPING = "conversation.typing"
#: A typing signal is pushed at most this often per person and conversation...
TYPING_EVERY_S = 2
#: ...and shown this long unless another one comes.
TYPING_SHOWN_S = 6


class MessageService:
    def __init__(
        self,
        store: Store,
        identity: IdentityApi,
        content: ContentApi,
        stream: InboxEvents,
        clock: Clock,
        redis: Redis,
    ) -> None:
        self.store, self.content, self.stream, self.clock = store, content, stream, clock
        self.redis = redis
        self.access = ConversationAccess(store, identity)

    # ------------------------------------------------------------------ write

    async def send(
        self,
        user_id: uuid.UUID,
        conversation_id: uuid.UUID,
        body: str,
        attachments: Sequence[uuid.UUID],
        *,
        reply_to: uuid.UUID | None = None,
        thread: uuid.UUID | None = None,
    ) -> MessageView:
        seen = await self.access.of(user_id, conversation_id)
        documents = check_attachments(attachments)
        check_body(body, attachments=len(documents))
        if reply_to is not None:
            await self._answerable(conversation_id, reply_to)
        if thread is not None:
            await self._thread_root(conversation_id, thread, source="body")
        resolver = Attachments(self.content)
        for i, document_id in enumerate(documents):
            summary = await resolver.readable(user_id, document_id)
            if summary is None or summary.organisation_id != seen.conversation.organisation_id:
                raise field_invalid(
                    f"attachments[{i}]",
                    "no document of this organisation that you may read",
                    code="unknown_document",
                )
        now = self.clock()
        c, p = q.conversations_t, q.participants_t
        async with self.store.uow() as uow:
            seq = (
                await uow.session.execute(
                    update(c)
                    .where(c.c.id == conversation_id)
                    .values(
                        last_seq=c.c.last_seq + 1,
                        last_activity_at=func.greatest(c.c.last_activity_at, now),
                    )
                    .returning(c.c.last_seq)
                )
            ).scalar_one()
            row = (
                await uow.session.execute(
                    insert(q.messages_t)
                    .values(
                        id=new_id(),
                        conversation_id=conversation_id,
                        organisation_id=seen.conversation.organisation_id,
                        seq=seq,
                        sender_id=user_id,
                        body=body,
                        attachments=documents,
                        created_at=now,
                        reply_to_id=reply_to,
                        thread_id=thread,
                    )
                    .returning(*q.messages_t.c)
                )
            ).one()
            root = None
            if thread is not None:
                # Under the conversation row's lock (taken above): counts never collide.
                m = q.messages_t
                root = (
                    await uow.session.execute(
                        update(m)
                        .where(m.c.id == thread)
                        .values(
                            thread_reply_count=m.c.thread_reply_count + 1,
                            # ``now`` was read before the lock: a reply that waited for
                            # it may be older than one already counted.
                            thread_last_reply_at=func.greatest(m.c.thread_last_reply_at, now),
                        )
                        .returning(*m.c)
                    )
                ).one()
            await uow.session.execute(
                update(p)
                .where(p.c.conversation_id == conversation_id, p.c.user_id == user_id)
                .values(last_read_seq=func.greatest(p.c.last_read_seq, seq))
            )
            await uow.commit()
        await self._push(seen, MESSAGE_CREATED, row, resolver)
        if root is not None:  # its reply count and last reply changed
            await self._updated(seen, user_id, root)
        return await resolver.message(user_id, row)

    async def edit(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID, body: str
    ) -> MessageView:
        seen = await self.access.of(user_id, conversation_id)
        current = await self._message(conversation_id, message_id)
        check_own_message(current.sender_id, user_id, current.deleted_at is not None)
        check_body(body, attachments=len(current.attachments))
        m = q.messages_t
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    update(m)
                    .where(m.c.id == message_id, m.c.deleted_at.is_(None))
                    .values(body=body, edited_at=self.clock())
                    .returning(*m.c)
                )
            ).first()
            await uow.commit()
        if row is None:  # deleted meanwhile
            raise message_deleted()
        return await self._updated(seen, user_id, row)

    async def _updated(self, seen: Access, reader: uuid.UUID, row: Row[Any]) -> MessageView:
        """Push ``message.updated`` to every participant; the message as ``reader`` sees it."""
        reactions = (await q.reactions_of(self.store, [row.id]))[row.id]
        resolver = Attachments(self.content)
        await self._push(seen, MESSAGE_UPDATED, row, resolver, reactions)
        return await resolver.message(reader, row, reactions)

    async def react(
        self,
        user_id: uuid.UUID,
        conversation_id: uuid.UUID,
        message_id: uuid.UUID,
        name: str,
        *,
        on: bool,
    ) -> MessageView:
        """Add (``on``) or take back the caller's reaction ``name`` (the route's pattern
        parsed it: ``REACTION_PATTERN``); doing it twice changes nothing. A deleted message
        takes none (409); at most :data:`MAX_REACTIONS` different names per message (409
        ``too_many_reactions``)."""
        seen = await self.access.of(user_id, conversation_id)
        r, m = q.reactions_t, q.messages_t
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    select(m)
                    .where(m.c.id == message_id, m.c.conversation_id == conversation_id)
                    .with_for_update()
                )
            ).first()
            if row is None:
                raise not_found("message")
            if row.deleted_at is not None:
                raise message_deleted()
            if on:
                names = set(
                    await uow.session.scalars(
                        select(r.c.name).where(r.c.message_id == message_id).distinct()
                    )
                )
                if name not in names and len(names) >= MAX_REACTIONS:
                    raise Conflict(
                        f"A message carries at most {MAX_REACTIONS} different reactions.",
                        code="too_many_reactions",
                    )
                await uow.session.execute(
                    insert(r)
                    .values(
                        message_id=message_id,
                        user_id=user_id,
                        organisation_id=row.organisation_id,
                        name=name,
                        created_at=self.clock(),
                    )
                    .on_conflict_do_nothing()
                )
            else:
                await uow.session.execute(
                    delete(r).where(
                        r.c.message_id == message_id, r.c.user_id == user_id, r.c.name == name
                    )
                )
            await uow.commit()
        return await self._updated(seen, user_id, row)

    async def pin(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID, *, on: bool
    ) -> MessageView:
        """Pin a message to its conversation (``on``) or unpin it; any participant may, and
        doing it twice changes nothing. A deleted message takes no pin (409); at most
        :data:`MAX_PINS` per conversation (409 ``too_many_pins``), counted under the
        conversation row's lock."""
        seen = await self.access.of(user_id, conversation_id)
        c, m = q.conversations_t, q.messages_t
        async with self.store.uow() as uow:
            await uow.session.execute(
                select(c.c.id).where(c.c.id == conversation_id).with_for_update()
            )
            row = (
                await uow.session.execute(
                    select(m).where(m.c.id == message_id, m.c.conversation_id == conversation_id)
                )
            ).first()
            if row is None:
                raise not_found("message")
            values: dict[str, Any] | None = None
            if on and row.pinned_at is None:
                if row.deleted_at is not None:
                    raise message_deleted()
                pinned = await uow.session.scalar(
                    select(func.count()).where(
                        m.c.conversation_id == conversation_id, m.c.pinned_at.is_not(None)
                    )
                )
                if (pinned or 0) >= MAX_PINS:
                    raise Conflict(
                        f"A conversation keeps at most {MAX_PINS} pinned messages; unpin one.",
                        code="too_many_pins",
                    )
                values = {"pinned_at": self.clock(), "pinned_by": user_id}
            elif not on and row.pinned_at is not None:
                values = {"pinned_at": None, "pinned_by": None}
            if values is None:  # pinned (or not) already: nothing to push
                return (await self._views(user_id, [row]))[0]
            row = (
                await uow.session.execute(
                    update(m).where(m.c.id == message_id).values(**values).returning(*m.c)
                )
            ).one()
            await uow.commit()
        return await self._updated(seen, user_id, row)

    async def pins(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> Page[MessageView]:
        """The conversation's pinned messages, the latest pin first (all of them: at most
        :data:`MAX_PINS`)."""
        await self.access.of(user_id, conversation_id)
        m = q.messages_t
        rows = await self.store.all(
            select(m)
            .where(m.c.conversation_id == conversation_id, m.c.pinned_at.is_not(None))
            .order_by(m.c.pinned_at.desc(), m.c.id.desc())
        )
        return Page(items=await self._views(user_id, rows), limit=MAX_PINS, next_cursor=None)

    async def delete(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID
    ) -> None:
        """Leave a tombstone: the text and attachments go, the message's place stays.
        Deleting a deleted message changes nothing."""
        seen = await self.access.of(user_id, conversation_id)
        current = await self._message(conversation_id, message_id)
        check_own_message(current.sender_id, user_id, False)
        if current.deleted_at is not None:
            return
        m = q.messages_t
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    update(m)
                    .where(m.c.id == message_id, m.c.deleted_at.is_(None))
                    .values(
                        body="",
                        attachments=[],
                        deleted_at=self.clock(),
                        pinned_at=None,
                        pinned_by=None,
                    )
                    .returning(*m.c)
                )
            ).first()
            # A tombstone keeps its place, not its reactions.
            await uow.session.execute(
                delete(q.reactions_t).where(q.reactions_t.c.message_id == message_id)
            )
            await uow.commit()
        if row is not None:
            await self._push(seen, MESSAGE_UPDATED, row, Attachments(self.content))

    async def _message(self, conversation_id: uuid.UUID, message_id: uuid.UUID) -> Row[Any]:
        row = await q.message(self.store, conversation_id, message_id)
        if row is None:
            raise not_found("message")
        return row

    async def _push(
        self,
        seen: Access,
        event: str,
        row: Row[Any],
        resolver: Attachments,
        reactions: Sequence[Any] = (),
    ) -> None:
        readers = await q.participant_ids(self.store, seen.id)
        org = seen.conversation.organisation_id
        messages = []
        for reader in readers:
            view = await resolver.message(reader, row, reactions)
            messages.append((reader, event, pushed_message(view, org)))
        await self.stream.publish(messages, self.clock())

    async def typing(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> bool:
        """Tell the other participants that ``user_id`` is typing; False when a signal
        went out less than :data:`TYPING_EVERY_S` ago (nothing pushed)."""
        seen = await self.access.of(user_id, conversation_id)
        now = self.clock()
        key = f"hub:communication:typing:{conversation_id}:{user_id}"
        # The last signal's time (the injected clock's), kept a minute: a newer signal
        # within TYPING_EVERY_S is dropped. Two processes racing may both push: harmless.
        last = await self.redis.get(key)
        if last is not None and 0 <= now.timestamp() - float(last) < TYPING_EVERY_S:
            return False
        await self.redis.set(key, str(now.timestamp()), ex=60)
        body = {
            "conversationId": str(conversation_id),
            "organisationId": str(seen.conversation.organisation_id),
            "userId": str(user_id),
            "until": (now + timedelta(seconds=TYPING_SHOWN_S)).isoformat(),
        }
        readers = await q.participant_ids(self.store, conversation_id)
        await self.stream.publish(
            [(r, CONVERSATION_TYPING, body) for r in readers if r != user_id], now
        )
        return True

    # ------------------------------------------------------------------ read

    async def page(
        self,
        user_id: uuid.UUID,
        conversation_id: uuid.UUID,
        *,
        before: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
        cursor: str | None,
        thread: uuid.UUID | None = None,
    ) -> Page[MessageView]:
        """Newest first, or older than ``before`` (newest first), or newer than ``after``
        (oldest first); ``nextCursor`` goes on in the same direction. The main timeline, or
        the replies of the thread rooted at ``thread``."""
        await self.access.of(user_id, conversation_id)
        if thread is not None:
            await self._thread_root(conversation_id, thread, source="query", deleted_ok=True)
        direction: Direction = "before"
        seq: int | None = None
        if cursor is not None:
            if before is not None or after is not None:
                raise _both("cursor")
            direction, seq = _position(cursor)
        elif before is not None and after is not None:
            raise _both("after")
        elif before is not None:
            seq = await self._seq_of(conversation_id, before, "before")
        elif after is not None:
            direction, seq = "after", await self._seq_of(conversation_id, after, "after")
        rows = await q.message_page(
            self.store, conversation_id, direction=direction, seq=seq, limit=limit, thread_id=thread
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = await self._views(user_id, rows)
        next_cursor = encode_cursor(direction, rows[-1].seq) if more and rows else None
        return Page(items=items, limit=limit, next_cursor=next_cursor)

    async def search(
        self,
        user_id: uuid.UUID,
        organisation_id: uuid.UUID,
        text: str,
        *,
        limit: int,
        cursor: str | None,
    ) -> Page[MessageView]:
        """Messages matching ``text`` (web-search syntax) in the caller's conversations of
        the organisation (the route's guard made sure they are a member), newest first;
        deleted ones never."""
        before = after_uuid(cursor) if cursor is not None else None
        rows = await q.search_messages(
            self.store, user_id, organisation_id, text, before=before, limit=limit
        )
        more = len(rows) > limit
        rows = rows[:limit]
        items = await self._views(user_id, rows)
        next_cursor = encode_cursor(str(rows[-1].id)) if more and rows else None
        return Page(items=items, limit=limit, next_cursor=next_cursor)

    async def _views(self, reader: uuid.UUID, rows: Sequence[Row[Any]]) -> list[MessageView]:
        """Messages as ``reader`` sees them, their reactions and the unread replies of the
        threads they start read in one query each."""
        reactions = await q.reactions_of(self.store, [row.id for row in rows])
        roots = [row.id for row in rows if row.thread_reply_count]
        unread = await q.thread_unread_counts(self.store, reader, roots)
        resolver = Attachments(self.content)
        return [
            await resolver.message(reader, row, reactions[row.id], unread.get(row.id, 0))
            for row in rows
        ]

    async def _referenced(
        self,
        conversation_id: uuid.UUID,
        message_id: uuid.UUID,
        field: str,
        source: Literal["body", "query"] = "body",
    ) -> Row[Any]:
        """A message a request names by id: one of this conversation (422 naming
        ``field`` otherwise, as an unknown id)."""
        row = await q.message(self.store, conversation_id, message_id)
        if row is None:
            raise field_invalid(
                field, "no such message in this conversation", source=source, code="unknown_message"
            )
        return row

    async def _answerable(self, conversation_id: uuid.UUID, message_id: uuid.UUID) -> None:
        """A reply's target: a message of this conversation (422 naming ``replyToId``),
        not deleted (409 ``message_deleted``: a tombstone has nothing left to answer)."""
        row = await self._referenced(conversation_id, message_id, "replyToId")
        if row.deleted_at is not None:
            raise message_deleted()

    async def _thread_root(
        self,
        conversation_id: uuid.UUID,
        message_id: uuid.UUID,
        *,
        source: Literal["body", "query"],
        deleted_ok: bool = False,
    ) -> None:
        """A thread's root: a top-level message of this conversation (422 naming
        ``threadId``: threads do not nest). A new reply needs a root not deleted (409
        ``message_deleted``); a deleted root's thread is still read."""
        row = await self._referenced(conversation_id, message_id, "threadId", source)
        if row.thread_id is not None:
            raise field_invalid(
                "threadId",
                "this message is in a thread itself; threads do not nest",
                source=source,
                code="not_a_thread_root",
            )
        if row.deleted_at is not None and not deleted_ok:
            raise message_deleted()

    async def _seq_of(self, conversation_id: uuid.UUID, message_id: uuid.UUID, field: str) -> int:
        row = await self._referenced(conversation_id, message_id, field, "query")
        return int(row.seq)

    async def read(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, message_id: uuid.UUID | None
    ) -> ReadState:
        """Mark read up to a message (default: the newest). Never moves the pointer back."""
        seen = await self.access.of(user_id, conversation_id)
        c, p = q.conversations_t, q.participants_t
        target: Any
        if message_id is not None:
            target = await self._seq_of(conversation_id, message_id, "messageId")
        else:
            target = select(c.c.last_seq).where(c.c.id == conversation_id).scalar_subquery()
        async with self.store.uow() as uow:
            moved = (
                await uow.session.execute(
                    update(p)
                    .where(
                        p.c.conversation_id == conversation_id,
                        p.c.user_id == user_id,
                        p.c.last_read_seq < target,
                    )
                    .values(last_read_seq=target)
                    .returning(p.c.last_read_seq)
                )
            ).scalar()
            await uow.commit()
        state = await self.state(user_id, conversation_id)
        if moved is not None:
            readers = await q.participant_ids(self.store, conversation_id)
            body = _pushed_read(state, seen.conversation.organisation_id)
            await self.stream.publish(
                [
                    (
                        reader,
                        CONVERSATION_READ,
                        {**body, "conversationUnreadCount": state.unread_count}
                        if reader == user_id
                        else body,
                    )
                    for reader in readers
                ],
                self.clock(),
            )
        return state

    async def state(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> ReadState:
        people = (await q.participants(self.store, [conversation_id]))[conversation_id]
        me = next((row for row in people if row.user_id == user_id), None)
        if me is None:  # removed meanwhile
            raise not_found("conversation")
        unread = (await q.unread_counts(self.store, user_id, [conversation_id]))[conversation_id]
        return ReadState(
            conversation_id=conversation_id,
            user_id=user_id,
            last_read_seq=me.last_read_seq,
            last_read_message_id=me.last_read_message_id,
            unread_count=unread,
        )


def _pushed_read(state: ReadState, organisation_id: uuid.UUID) -> dict[str, Any]:
    return {
        "conversationId": str(state.conversation_id),
        "organisationId": str(organisation_id),
        "userId": str(state.user_id),
        "lastReadSeq": state.last_read_seq,
        "lastReadMessageId": str(state.last_read_message_id)
        if state.last_read_message_id
        else None,
    }


def _both(field: str) -> Invalid:
    return field_invalid(
        field, "give one of before, after or cursor", source="query", code="conflicting_position"
    )


def _position(cursor: str) -> tuple[Direction, int]:
    direction, seq = decode_cursor(cursor, 2)
    if direction not in ("before", "after") or not isinstance(seq, int) or seq < 0:
        raise invalid_cursor()
    return direction, seq
