"""/orgs/{orgId}/topics: named groups of members notifications can be sent to (Novu's
topics). Any member reads them and joins or leaves one (``…/subscribers/me``);
``communication.topics.manage`` defines them and adds or removes others. Outside the
organisation every route is a 404 (the kernel's ``permission()`` guard); a key the
organisation has not defined is a 404 too."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from litestar import Controller, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import UNSET, Meta, UnsetType

from hub.communication.domain.permissions import TOPICS_MANAGE
from hub.communication.domain.topics import (
    KEY_PATTERN,
    MAX_DESCRIPTION,
    MAX_KEY,
    MAX_NAME,
    MAX_TOPICS,
    TopicDraft,
)
from hub.communication.services.topics import Topics
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.structs import PatchSchema, Schema
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, Cursor, Limit, page_as, to_schema

TopicKey = Annotated[str, Meta(pattern=KEY_PATTERN, min_length=1, max_length=MAX_KEY)]
TopicName = Annotated[str, Meta(min_length=1, max_length=MAX_NAME)]
TopicDescription = Annotated[str, Meta(max_length=MAX_DESCRIPTION)]


class TopicIn(Schema):
    key: TopicKey
    name: TopicName
    description: TopicDescription = ""

    example: ClassVar[dict[str, Any]] = {
        "key": "tender-acme-42",
        "name": "Tender ACME-42",
        "description": "Clarifications and deadline changes of the ACME-42 tender",
    }


class TopicPatch(PatchSchema):
    name: TopicName | UnsetType = UNSET
    description: TopicDescription | UnsetType = UNSET


class TopicOut(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    key: str
    name: str
    description: str
    #: How many are subscribed (members or not: a departed member is never reached).
    subscribers: int
    #: Whether the caller is subscribed.
    subscribed: bool
    created_at: datetime
    updated_at: datetime


class TopicList(Schema):
    items: list[TopicOut]


class SubscriberOut(Schema):
    user_id: uuid.UUID
    #: Who subscribed them: themselves or a manager.
    added_by: uuid.UUID
    created_at: datetime


class SubscriptionOut(Schema):
    key: str
    user_id: uuid.UUID
    subscribed: bool
    #: False when nothing changed (already so).
    changed: bool


_RULES = (
    "A topic names a group of members to notify (`POST /notifications` with "
    "`recipients.topics`): members join and leave it themselves, managers "
    "(communication.topics.manage) add or remove others. `key`: lower-case words joined by "
    f"hyphens; at most {MAX_TOPICS} topics per organisation (409 `too_many_topics`), a key "
    "once (409 `topic_exists`)."
)


def _answer(key: str, user_id: uuid.UUID, subscribed: bool, changed: bool) -> SubscriptionOut:
    return SubscriptionOut(key=key, user_id=user_id, subscribed=subscribed, changed=changed)


class TopicController(Controller):
    path = "/orgs/{org_id:uuid}/topics"
    tags = ["Communication: notifications"]
    security = BEARER_OR_KEY

    @get(
        operation_id="listTopics",
        summary="The organisation's topics, by key",
        description=_RULES,
        guards=[permission(None)],
    )
    async def list_topics(
        self,
        org_id: FromPath[uuid.UUID],
        membership: NamedDependency[Membership],
        notification_topics: NamedDependency[Topics],
    ) -> TopicList:
        found = await notification_topics.listed(org_id, membership.user_id)
        return TopicList(items=[to_schema(t, TopicOut) for t in found])

    @post(
        operation_id="createTopic",
        summary="Define a topic (communication.topics.manage)",
        description=_RULES,
        guards=[permission(TOPICS_MANAGE)],
        opt=problems(409, 422),
    )
    async def create_topic(
        self,
        org_id: FromPath[uuid.UUID],
        data: JSONBody[TopicIn],
        membership: NamedDependency[Membership],
        notification_topics: NamedDependency[Topics],
    ) -> TopicOut:
        made = await notification_topics.create(
            org_id, TopicDraft(data.key, data.name, data.description), membership.user_id
        )
        return to_schema(made, TopicOut)

    @get(
        "/{key:str}",
        operation_id="getTopic",
        summary="One topic",
        guards=[permission(None)],
    )
    async def get_topic(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        membership: NamedDependency[Membership],
        notification_topics: NamedDependency[Topics],
    ) -> TopicOut:
        return to_schema(await notification_topics.get(org_id, key, membership.user_id), TopicOut)

    @patch(
        "/{key:str}",
        operation_id="updateTopic",
        summary="Rename or describe a topic (communication.topics.manage)",
        guards=[permission(TOPICS_MANAGE)],
        opt=problems(422),
    )
    async def update_topic(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        data: JSONBody[TopicPatch],
        membership: NamedDependency[Membership],
        notification_topics: NamedDependency[Topics],
    ) -> TopicOut:
        view = await notification_topics.update(org_id, key, data.sent(), membership.user_id)
        return to_schema(view, TopicOut)

    @delete(
        "/{key:str}",
        status_code=204,
        operation_id="deleteTopic",
        summary="Delete a topic and its subscriptions (communication.topics.manage)",
        description="A scheduled notification that named it keeps the recipients it "
        "resolved when it was asked for.",
        guards=[permission(TOPICS_MANAGE)],
    )
    async def delete_topic(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        notification_topics: NamedDependency[Topics],
    ) -> None:
        await notification_topics.delete(org_id, key)

    @get(
        "/{key:str}/subscribers",
        operation_id="listTopicSubscribers",
        summary="Who is subscribed (communication.topics.manage)",
        guards=[permission(TOPICS_MANAGE)],
    )
    async def list_subscribers(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        notification_topics: NamedDependency[Topics],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[SubscriberOut]:
        page = await notification_topics.subscribers(org_id, key, limit=limit, cursor=cursor)
        return page_as(page, SubscriberOut)

    @put(
        "/{key:str}/subscribers/me",
        operation_id="subscribeToTopic",
        summary="Join a topic",
        description="Any member; joining twice changes nothing (`changed: false`).",
        guards=[permission(None)],
    )
    async def subscribe_me(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        membership: NamedDependency[Membership],
        notification_topics: NamedDependency[Topics],
    ) -> SubscriptionOut:
        me = membership.user_id
        changed = await notification_topics.subscribe(org_id, key, me, me)
        return _answer(key, me, True, changed)

    @delete(
        "/{key:str}/subscribers/me",
        status_code=200,
        operation_id="unsubscribeFromTopic",
        summary="Leave a topic",
        guards=[permission(None)],
    )
    async def unsubscribe_me(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        membership: NamedDependency[Membership],
        notification_topics: NamedDependency[Topics],
    ) -> SubscriptionOut:
        me = membership.user_id
        changed = await notification_topics.unsubscribe(org_id, key, me)
        return _answer(key, me, False, changed)

    @put(
        "/{key:str}/subscribers/{user_id:uuid}",
        operation_id="addTopicSubscriber",
        summary="Subscribe a member (communication.topics.manage)",
        description="Not a member of the organisation: 422 `not_a_member`.",
        guards=[permission(TOPICS_MANAGE)],
        opt=problems(422),
    )
    async def add_subscriber(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        user_id: FromPath[uuid.UUID],
        membership: NamedDependency[Membership],
        notification_topics: NamedDependency[Topics],
    ) -> SubscriptionOut:
        changed = await notification_topics.subscribe(org_id, key, user_id, membership.user_id)
        return _answer(key, user_id, True, changed)

    @delete(
        "/{key:str}/subscribers/{user_id:uuid}",
        status_code=200,
        operation_id="removeTopicSubscriber",
        summary="Unsubscribe someone (communication.topics.manage)",
        guards=[permission(TOPICS_MANAGE)],
    )
    async def remove_subscriber(
        self,
        org_id: FromPath[uuid.UUID],
        key: FromPath[str],
        user_id: FromPath[uuid.UUID],
        notification_topics: NamedDependency[Topics],
    ) -> SubscriptionOut:
        changed = await notification_topics.unsubscribe(org_id, key, user_id)
        return _answer(key, user_id, False, changed)
