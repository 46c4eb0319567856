"""An organisation's topics (``domain.topics``): their CRUD, who is subscribed, and the
members a send naming topics reaches.

Members join and leave a topic themselves; ``communication.topics.manage`` also adds and
removes others (members only: 422 ``not_a_member``). Subscribing twice changes nothing and
publishes nothing, like leaving a topic one is not in. Someone who leaves the organisation
(or is removed) leaves its topics with it (``identity.member_removed``), so subscriber
counts and lists name members only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from hub.communication.api import (
    TopicCreated,
    TopicDeleted,
    TopicSubscribed,
    TopicUnsubscribed,
    TopicUpdated,
)
from hub.communication.domain.topics import MAX_TOPICS, TopicDraft, check_topic
from hub.communication.models import Topic, TopicSubscription
from hub.identity.api import IdentityApi
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Conflict, FieldError, Invalid
from hub.kernel.pagination import Page, after_uuid, clamp_limit, page_of
from hub.kernel.problems import field_invalid, not_found
from hub.kernel.schema import new_id
from hub.kernel.store import Store

topics_t = cast(Table, Topic.__table__)
subscriptions_t = cast(Table, TopicSubscription.__table__)
_t, _s = topics_t, subscriptions_t


def _no_topic() -> Exception:
    return not_found("No such topic in this organisation.")


class Topics:
    def __init__(self, store: Store, clock: Clock, identity: IdentityApi) -> None:
        self.store, self.clock, self.identity = store, clock, identity

    # ------------------------------------------------------------------ reads

    async def listed(self, organisation_id: uuid.UUID, reader: uuid.UUID) -> list[dict[str, Any]]:
        """Every topic of the organisation by key, with its subscriber count and whether
        the reader is subscribed."""
        return await self._views(organisation_id, reader)

    async def get(self, organisation_id: uuid.UUID, key: str, reader: uuid.UUID) -> dict[str, Any]:
        found = await self._views(organisation_id, reader, key=key)
        if not found:
            raise _no_topic()
        return found[0]

    async def _views(
        self, organisation_id: uuid.UUID, reader: uuid.UUID, *, key: str | None = None
    ) -> list[dict[str, Any]]:
        counts = (
            select(_s.c.topic_id, func.count().label("subscribers"))
            .where(_s.c.organisation_id == organisation_id)
            .group_by(_s.c.topic_id)
            .subquery()
        )
        mine = select(_s.c.topic_id).where(
            _s.c.organisation_id == organisation_id, _s.c.user_id == reader
        )
        query = (
            select(
                _t,
                func.coalesce(counts.c.subscribers, 0).label("subscribers"),
                _t.c.id.in_(mine).label("subscribed"),
            )
            .outerjoin(counts, counts.c.topic_id == _t.c.id)
            .where(_t.c.organisation_id == organisation_id)
            .order_by(_t.c.key)
        )
        if key is not None:
            query = query.where(_t.c.key == key)
        return [dict(r._mapping) for r in await self.store.all(query)]

    async def subscribers(
        self, organisation_id: uuid.UUID, key: str, *, limit: int | None, cursor: str | None
    ) -> Page[dict[str, Any]]:
        """The topic's subscribers, in the order they joined (by user id within one
        instant), with who added them."""
        topic = await self._topic(organisation_id, key)
        size = clamp_limit(limit)
        query = (
            select(_s.c.user_id, _s.c.added_by, _s.c.created_at)
            .where(_s.c.topic_id == topic.id)
            .order_by(_s.c.user_id)
            .limit(size + 1)
        )
        if cursor:
            query = query.where(_s.c.user_id > after_uuid(cursor))
        rows = [dict(r._mapping) for r in await self.store.all(query)]
        return page_of(rows, size, lambda row: (str(row["user_id"]),))

    async def keys(self, organisation_id: uuid.UUID) -> list[str]:
        """The organisation's topic keys, sorted."""
        return [r.key for r in await self.rows(organisation_id)]

    async def rows(self, organisation_id: uuid.UUID, *, key: str | None = None) -> list[Row[Any]]:
        """The organisation's topics (key, name, description), by key; with ``key``, that
        one only (none when the organisation has no such topic)."""
        query = (
            select(_t.c.key, _t.c.name, _t.c.description)
            .where(_t.c.organisation_id == organisation_id)
            .order_by(_t.c.key)
        )
        return await self.store.all(query if key is None else query.where(_t.c.key == key))

    async def reached(
        self, organisation_id: uuid.UUID, keys: Sequence[str], *, refuse_unknown: bool = True
    ) -> set[uuid.UUID]:
        """The subscribers of these topics (422 naming each key the organisation has not
        defined, unless ``refuse_unknown`` is off: then such a key reaches nobody); the
        caller keeps only those who are members."""
        rows = await self.store.all(
            select(_t.c.id, _t.c.key).where(
                _t.c.organisation_id == organisation_id, _t.c.key.in_(list(keys))
            )
        )
        known = {r.key: r.id for r in rows}
        unknown = [i for i, key in enumerate(keys) if key not in known]
        if unknown and refuse_unknown:
            raise Invalid(
                "Some topics are not topics of this organisation.",
                code="unknown_topic",
                errors=[
                    FieldError(field=f"recipients.topics[{i}]", message="no such topic")
                    for i in unknown
                ],
            )
        if not known:
            return set()
        users = await self.store.all(
            select(_s.c.user_id).where(_s.c.topic_id.in_(list(known.values()))).distinct()
        )
        return {r.user_id for r in users}

    # ------------------------------------------------------------------ writes

    async def create(
        self, organisation_id: uuid.UUID, draft: TopicDraft, reader: uuid.UUID
    ) -> dict[str, Any]:
        topic = check_topic(draft)
        now = self.clock()
        topic_id = new_id()
        async with self.store.uow() as uow:
            # An organisation's creations one at a time: the count and the key check hold.
            await uow.session.execute(
                select(
                    func.pg_advisory_xact_lock(
                        func.hashtextextended(f"communication.topics:{organisation_id}", 0)
                    )
                )
            )
            existing = (
                (
                    await uow.session.execute(
                        select(_t.c.key).where(_t.c.organisation_id == organisation_id)
                    )
                )
                .scalars()
                .all()
            )
            if topic.key in existing:
                raise Conflict(
                    f"The organisation already has a topic {topic.key!r}.", code="topic_exists"
                )
            if len(existing) >= MAX_TOPICS:
                raise Conflict(
                    f"An organisation has at most {MAX_TOPICS} topics.", code="too_many_topics"
                )
            await uow.session.execute(
                insert(Topic).values(
                    id=topic_id,
                    organisation_id=organisation_id,
                    key=topic.key,
                    name=topic.name,
                    description=topic.description,
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.publish(
                TopicCreated(organisation_id=organisation_id, topic_id=topic_id, key=topic.key)
            )
            await uow.commit()
        return await self.get(organisation_id, topic.key, reader)

    async def update(
        self, organisation_id: uuid.UUID, key: str, changes: dict[str, Any], reader: uuid.UUID
    ) -> dict[str, Any]:
        async with self.store.uow() as uow:
            row = await self._topic(organisation_id, key, uow.session)
            draft = check_topic(
                TopicDraft(
                    key,
                    changes.get("name", row.name),
                    changes.get("description", row.description),
                )
            )
            values = {"name": draft.name, "description": draft.description}
            changed = [k for k, v in values.items() if getattr(row, k) != v]
            if changed:
                await uow.session.execute(
                    update(Topic).where(_t.c.id == row.id).values(**values, updated_at=self.clock())
                )
                uow.publish(
                    TopicUpdated(
                        organisation_id=organisation_id, topic_id=row.id, key=key, changed=changed
                    )
                )
            await uow.commit()
        return await self.get(organisation_id, key, reader)

    async def delete(self, organisation_id: uuid.UUID, key: str) -> None:
        """The topic and its subscriptions; a scheduled send that named it already holds
        its recipients."""
        async with self.store.uow() as uow:
            row = await self._topic(organisation_id, key, uow.session)
            await uow.session.execute(delete(Topic).where(_t.c.id == row.id))
            uow.publish(TopicDeleted(organisation_id=organisation_id, topic_id=row.id, key=key))
            await uow.commit()

    async def subscribe(
        self, organisation_id: uuid.UUID, key: str, user_id: uuid.UUID, actor: uuid.UUID
    ) -> bool:
        """``user_id`` joins the topic (a member only); False when already subscribed."""
        if user_id != actor and (
            await self.identity.membership(organisation_id, user_id, api_key_id=None) is None
        ):
            raise field_invalid(
                "userId", "not a member of this organisation", source="path", code="not_a_member"
            )
        async with self.store.uow() as uow:
            row = await self._topic(organisation_id, key, uow.session)
            added = await uow.session.execute(
                pg_insert(TopicSubscription)
                .values(
                    topic_id=row.id,
                    organisation_id=organisation_id,
                    user_id=user_id,
                    added_by=actor,
                    created_at=self.clock(),
                )
                .on_conflict_do_nothing()
                .returning(_s.c.user_id)
            )
            if added.first() is None:
                return False
            uow.publish(
                TopicSubscribed(
                    organisation_id=organisation_id, topic_id=row.id, key=key, user_id=user_id
                )
            )
            await uow.commit()
        return True

    async def unsubscribe(self, organisation_id: uuid.UUID, key: str, user_id: uuid.UUID) -> bool:
        """``user_id`` leaves the topic; False when they were not subscribed."""
        async with self.store.uow() as uow:
            row = await self._topic(organisation_id, key, uow.session)
            gone = await uow.session.execute(
                delete(TopicSubscription)
                .where(_s.c.topic_id == row.id, _s.c.user_id == user_id)
                .returning(_s.c.user_id)
            )
            if gone.first() is None:
                return False
            uow.publish(
                TopicUnsubscribed(
                    organisation_id=organisation_id, topic_id=row.id, key=key, user_id=user_id
                )
            )
            await uow.commit()
        return True

    async def member_left(
        self, uow: UnitOfWork, organisation_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        """End the subscriptions of someone who left the organisation or was removed, each
        with its ``communication.topic.unsubscribed`` (the actor: who removed them)."""
        gone = await uow.session.execute(
            delete(TopicSubscription)
            .where(
                _s.c.organisation_id == organisation_id,
                _s.c.user_id == user_id,
                _s.c.topic_id == _t.c.id,  # DELETE … USING topics: each one's key comes back
            )
            .returning(_t.c.id, _t.c.key)
        )
        for row in sorted(gone, key=lambda r: r.key):
            uow.publish(
                TopicUnsubscribed(
                    organisation_id=organisation_id, topic_id=row.id, key=row.key, user_id=user_id
                )
            )

    async def _topic(
        self, organisation_id: uuid.UUID, key: str, session: AsyncSession | None = None
    ) -> Row[Any]:
        query = select(_t).where(_t.c.organisation_id == organisation_id, _t.c.key == key)
        if session is None:
            row = await self.store.first(query)
        else:
            row = (await session.execute(query.with_for_update())).first()
        if row is None:
            raise _no_topic()
        return row
