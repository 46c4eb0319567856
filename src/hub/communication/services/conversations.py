"""Conversations: create (direct or group), show, list by last activity, change who is in
a group, and the caller's unread counts.

Visibility: a conversation exists for a caller only while they are a participant **and**
an active member of its organisation (asked through ``hub.identity.api``); everyone else
gets 404, never 403, so no one learns that it exists. Participants must be active members
when added.

A direct conversation is found again rather than created twice: the INSERT meets the
partial unique index on ``(organisation_id, direct_low, direct_high)`` and does nothing,
and the same transaction then reads the row the other creator committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from hub.communication.domain.conversations import (
    ADMIN,
    MAX_PARTICIPANTS,
    MEMBER,
    MUTED_FOREVER,
    Kind,
    check_may_change_people,
    check_may_rename,
    check_mute_until,
    check_title,
    direct_pair,
    is_muted,
    plan,
)
from hub.communication.services import conversation_queries as q
from hub.communication.services.conversation_views import (
    Attachments,
    ConversationView,
    ParticipantView,
    pushed_conversation,
)
from hub.communication.services.inbox_events import InboxEvents
from hub.communication.services.messaging import MessagingPolicies
from hub.content.api import ContentApi
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.pagination import Page, after_time_and_id, encode_cursor
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.schema import new_id
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import Tenancy

#: Pushed to the participants of a new conversation (a direct one asked for again: none).
CONVERSATION_CREATED = "conversation.created"
#: Pushed to the participants when people join or leave, or the title changes.
CONVERSATION_UPDATED = "conversation.updated"
#: Pushed to the person who left or was removed.
CONVERSATION_REMOVED = "conversation.removed"
#: Pushed to the caller's own streams (their other tabs and devices).
CONVERSATION_MUTED = "conversation.muted"


@dataclass(frozen=True)
class Access:
    """A conversation as the caller may see it, with the caller's participant row."""

    conversation: Row[Any]
    me: Row[Any]

    @property
    def id(self) -> uuid.UUID:
        return uuid.UUID(str(self.conversation.id))


class ConversationAccess:
    """The one rule for every route under ``/conversations/{id}``."""

    def __init__(self, store: Store, identity: IdentityApi) -> None:
        self.store, self.identity = store, identity

    async def of(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> Access:
        conversation = await q.conversation(self.store, conversation_id)
        me = await q.participant(self.store, conversation_id, user_id) if conversation else None
        if conversation is None or me is None:
            raise not_found("conversation")
        member = await self.identity.membership(
            conversation.organisation_id, user_id, api_key_id=None
        )
        if member is None:
            raise not_found("conversation")
        return Access(conversation=conversation, me=me)


class ConversationService:
    def __init__(
        self,
        store: Store,
        tenancy: Tenancy,
        identity: IdentityApi,
        content: ContentApi,
        clock: Clock,
        stream: InboxEvents,
        messaging: MessagingPolicies | None = None,
    ) -> None:
        self.store, self.tenancy, self.identity = store, tenancy, identity
        self.content, self.clock, self.stream = content, clock, stream
        self.access = ConversationAccess(store, identity)
        #: The organisation's messaging rules (who may message whom, by role).
        self.messaging = messaging

    # ------------------------------------------------------------------ create

    async def create(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        participant_ids: Sequence[uuid.UUID],
        *,
        kind: Kind | None,
        title: str | None,
    ) -> tuple[ConversationView, bool]:
        """The conversation and whether it is new (a direct one may already exist)."""
        await self.tenancy.authorise(principal, organisation_id, None)
        me = principal.user_id
        decided = plan(me, participant_ids, kind=kind, title=title)
        await self._check_members(organisation_id, participant_ids, "participantIds")
        if self.messaging is not None:
            await self.messaging.check(
                organisation_id, participant_ids, "participantIds", with_=[me]
            )
        now = self.clock()
        async with self.store.uow() as uow:
            if decided.kind == "direct":
                conversation_id, created = await self._direct(
                    uow, organisation_id, me, decided.participants[1], now
                )
            else:
                conversation_id, created = new_id(), True
                await uow.session.execute(
                    insert(q.conversations_t).values(
                        id=conversation_id,
                        organisation_id=organisation_id,
                        kind="group",
                        title=decided.title,
                        created_by=me,
                        created_at=now,
                        last_activity_at=now,
                    )
                )
                await self._add(
                    uow,
                    conversation_id,
                    organisation_id,
                    decided.participants,
                    me,
                    now,
                    0,
                    creator=me,
                )
            await uow.commit()
        view = await self.view(me, conversation_id)
        if created:
            await self._announce(view, CONVERSATION_CREATED)
        return view, created

    async def _direct(
        self, uow: UnitOfWork, org: uuid.UUID, me: uuid.UUID, other: uuid.UUID, now: datetime
    ) -> tuple[uuid.UUID, bool]:
        low, high = direct_pair(me, other)
        c = q.conversations_t
        inserted = (
            await uow.session.execute(
                insert(c)
                .values(
                    id=new_id(),
                    organisation_id=org,
                    kind="direct",
                    direct_low=low,
                    direct_high=high,
                    created_by=me,
                    created_at=now,
                    last_activity_at=now,
                )
                .on_conflict_do_nothing(
                    index_elements=[c.c.organisation_id, c.c.direct_low, c.c.direct_high],
                    index_where=text("kind = 'direct'"),
                )
                .returning(c.c.id)
            )
        ).scalar()
        if inserted is not None:
            await self._add(uow, inserted, org, [me, other], me, now, 0, creator=None)
            return inserted, True
        existing = (
            await uow.session.execute(
                select(c.c.id).where(
                    c.c.organisation_id == org,
                    c.c.kind == "direct",
                    c.c.direct_low == low,
                    c.c.direct_high == high,
                )
            )
        ).scalar_one()
        return existing, False

    @staticmethod
    async def _add(
        uow: UnitOfWork,
        conversation_id: uuid.UUID,
        org: uuid.UUID,
        users: Sequence[uuid.UUID],
        added_by: uuid.UUID,
        now: datetime,
        caught_up_to: int,
        *,
        creator: uuid.UUID | None,
        role: str = MEMBER,
    ) -> None:
        """New participants start caught up (what was said before is there to read, not
        unread)."""
        if not users:
            return
        await uow.session.execute(
            insert(q.participants_t)
            .values(
                [
                    {
                        "conversation_id": conversation_id,
                        "user_id": user,
                        "organisation_id": org,
                        "role": ADMIN if user == creator else role,
                        "added_by": added_by,
                        "joined_at": now,
                        "last_read_seq": caught_up_to,
                        "notified_seq": caught_up_to,
                    }
                    for user in users
                ]
            )
            .on_conflict_do_nothing()
        )

    async def _check_members(
        self, org: uuid.UUID, user_ids: Sequence[uuid.UUID], field: str
    ) -> None:
        members = set(await self.identity.members_of(org))
        for i, user in enumerate(user_ids):
            if user not in members:
                raise field_invalid(
                    f"{field}[{i}]",
                    "not an active member of the organisation",
                    code="not_a_member",
                )

    # ------------------------------------------------------------------ read

    async def get(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> ConversationView:
        await self.access.of(user_id, conversation_id)
        return await self.view(user_id, conversation_id)

    async def view(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> ConversationView:
        row = await q.conversation(self.store, conversation_id)
        if row is None:  # pragma: no cover - deleted between the check and the read
            raise not_found("conversation")
        (view,) = await self._views(user_id, [row])
        return view

    async def _views(self, user_id: uuid.UUID, rows: Sequence[Row[Any]]) -> list[ConversationView]:
        ids = [row.id for row in rows]
        people = await q.participants(self.store, ids)
        unread = await q.unread_counts(self.store, user_id, ids)
        last = await q.last_messages(self.store, rows)
        names = await self.identity.display_info(
            list({p.user_id for ps in people.values() for p in ps})
        )
        attachments = Attachments(self.content)
        now = self.clock()
        out = []
        for row in rows:
            message = last.get(row.id)
            out.append(
                ConversationView(
                    id=row.id,
                    organisation_id=row.organisation_id,
                    kind=row.kind,
                    title=row.title,
                    created_by=row.created_by,
                    created_at=row.created_at,
                    last_activity_at=row.last_activity_at,
                    last_seq=row.last_seq,
                    participants=[
                        ParticipantView(
                            user_id=p.user_id,
                            display_name=names[p.user_id].display_name
                            if p.user_id in names
                            else None,
                            role=p.role,
                            joined_at=p.joined_at,
                            last_read_seq=p.last_read_seq,
                            last_read_message_id=p.last_read_message_id,
                        )
                        for p in people[row.id]
                    ],
                    unread_count=unread[row.id],
                    last_message=await attachments.message(user_id, message) if message else None,
                    **_mute_of(people[row.id], user_id, now),
                )
            )
        return out

    async def page(
        self,
        user_id: uuid.UUID,
        organisation_id: uuid.UUID,
        *,
        limit: int,
        cursor: str | None,
    ) -> Page[ConversationView]:
        """The caller's conversations in the organisation (the route's guard made sure
        they are a member), latest activity first."""
        after = after_time_and_id(cursor) if cursor else None
        rows = await q.conversation_page(
            self.store, user_id, organisation_id, after=after, limit=limit
        )
        more = len(rows) > limit
        rows = rows[:limit]
        views = await self._views(user_id, rows)
        next_cursor = None
        if more and rows:
            last = rows[-1]
            next_cursor = encode_cursor(last.last_activity_at.isoformat(), str(last.id))
        return Page(items=views, limit=limit, next_cursor=next_cursor)

    async def unread_total(self, principal: Principal, organisation_id: uuid.UUID | None) -> int:
        """Unread messages in the caller's conversations of one organisation, or of every
        organisation they are a member of."""
        if organisation_id is not None:
            await self.tenancy.authorise(principal, organisation_id, None)
            orgs = [organisation_id]
        else:
            orgs = await self.identity.organisations_of(principal.user_id)
        return await q.unread_total(self.store, principal.user_id, orgs, self.clock())

    # ------------------------------------------------------------------ people

    async def add_people(
        self,
        user_id: uuid.UUID,
        conversation_id: uuid.UUID,
        user_ids: Sequence[uuid.UUID],
        role: str,
    ) -> ConversationView:
        seen = await self.access.of(user_id, conversation_id)
        c = seen.conversation
        check_may_change_people(c.kind, seen.me.role, user_id, None)
        await self._check_members(c.organisation_id, user_ids, "userIds")
        if self.messaging is not None:
            rows = (await q.participants(self.store, [c.id])).get(c.id, [])
            there = [p.user_id for p in rows]
            await self.messaging.check(c.organisation_id, user_ids, "userIds", with_=there)
        now = self.clock()
        async with self.store.uow() as uow:
            # the conversation's lock: no message slips between "caught up to" and the insert
            last_seq = (
                await uow.session.execute(
                    select(q.conversations_t.c.last_seq)
                    .where(q.conversations_t.c.id == conversation_id)
                    .with_for_update()
                )
            ).scalar_one()
            present = set(
                (
                    await uow.session.execute(
                        select(q.participants_t.c.user_id).where(
                            q.participants_t.c.conversation_id == conversation_id
                        )
                    )
                ).scalars()
            )
            new = [u for u in dict.fromkeys(user_ids) if u not in present]
            if len(present) + len(new) > MAX_PARTICIPANTS:
                raise field_invalid(
                    "userIds",
                    f"at most {MAX_PARTICIPANTS} participants",
                    code="too_many_participants",
                )
            await self._add(
                uow,
                conversation_id,
                c.organisation_id,
                new,
                user_id,
                now,
                last_seq,
                creator=None,
                role=role,
            )
            await uow.commit()
        view = await self.view(user_id, conversation_id)
        if new:
            await self._announce(view, CONVERSATION_UPDATED)
        return view

    async def mute(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, until: datetime | None, *, on: bool
    ) -> ConversationView:
        """Mute the conversation for the caller until ``until`` (None: until unmuted), or
        unmute it (``on`` false). Muted, it sends them no unread-messages notice and stays
        out of their unread total; its own unread count still shows."""
        await self.access.of(user_id, conversation_id)
        now = self.clock()
        muted_until = check_mute_until(until, now) if on else None
        p = q.participants_t
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(p)
                .where(p.c.conversation_id == conversation_id, p.c.user_id == user_id)
                .values(muted_until=muted_until)
            )
            await uow.commit()
        view = await self.view(user_id, conversation_id)
        body = {
            "conversationId": view.id,
            "organisationId": view.organisation_id,
            "muted": view.muted,
            "mutedUntil": view.muted_until,
        }
        await self.stream.publish([(user_id, CONVERSATION_MUTED, body)], now)
        return view

    async def rename(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, title: str | None
    ) -> ConversationView:
        """A group's admins change its title (None: no title); pushed to everyone in it."""
        seen = await self.access.of(user_id, conversation_id)
        check_may_rename(seen.conversation.kind, seen.me.role)
        clean = check_title(title)
        c = q.conversations_t
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(c).where(c.c.id == conversation_id).values(title=clean)
            )
            await uow.commit()
        view = await self.view(user_id, conversation_id)
        await self._announce(view, CONVERSATION_UPDATED)
        return view

    async def remove_person(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, target: uuid.UUID
    ) -> None:
        """Remove someone (admins) or leave (anyone). The last admin leaving hands the
        role to the longest-standing participant."""
        seen = await self.access.of(user_id, conversation_id)
        check_may_change_people(seen.conversation.kind, seen.me.role, user_id, target)
        p = q.participants_t
        async with self.store.uow() as uow:
            await uow.session.execute(
                select(q.conversations_t.c.id)
                .where(q.conversations_t.c.id == conversation_id)
                .with_for_update()
            )
            gone = (
                await uow.session.execute(
                    p.delete()
                    .where(p.c.conversation_id == conversation_id, p.c.user_id == target)
                    .returning(p.c.role)
                )
            ).scalar()
            if gone is None:
                raise not_found("participant")
            admins = (
                await uow.session.execute(
                    select(func.count()).where(
                        p.c.conversation_id == conversation_id, p.c.role == ADMIN
                    )
                )
            ).scalar_one()
            if gone == ADMIN and admins == 0:
                heir = (
                    select(p.c.user_id)
                    .where(p.c.conversation_id == conversation_id)
                    .order_by(p.c.joined_at, p.c.user_id)
                    .limit(1)
                    .scalar_subquery()
                )
                await uow.session.execute(
                    update(p)
                    .where(p.c.conversation_id == conversation_id, p.c.user_id == heir)
                    .values(role=ADMIN)
                )
            await uow.commit()
        view = await self.view(user_id, conversation_id)
        await self._announce(view, CONVERSATION_UPDATED, removed=target)

    async def _announce(
        self, view: ConversationView, event: str, *, removed: uuid.UUID | None = None
    ) -> None:
        """Push a change of a conversation (who is in it, its title) to its participants'
        streams, and ``conversation.removed`` to the person who left or was removed."""
        body = pushed_conversation(view)
        events = [(p.user_id, event, body) for p in view.participants]
        if removed is not None:
            events.append(
                (
                    removed,
                    CONVERSATION_REMOVED,
                    {
                        "conversationId": view.id,
                        "organisationId": view.organisation_id,
                        "userId": removed,
                    },
                )
            )
        await self.stream.publish(events, self.clock())


def _mute_of(people: Sequence[Row[Any]], reader: uuid.UUID, now: datetime) -> dict[str, Any]:
    """The reader's mute of the conversation: ``muted`` and ``muted_until`` (None while
    muted until unmuted, and when not muted)."""
    until = next((p.muted_until for p in people if p.user_id == reader), None)
    muted = is_muted(until, now)
    return {"muted": muted, "muted_until": until if muted and until != MUTED_FOREVER else None}
