"""/conversations: threads between members of an organisation, their messages and read
state, and who is in a group.

Every route needs a signed-in person (an API key is a 403 ``session_required``: read
state and unread counts belong to a person). A conversation the caller is not a participant
of, or whose organisation they are not an active member of, is a 404 on every route.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, post, put, route
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from hub.communication.deps import people_only
from hub.communication.domain.conversations import (
    MAX_SEARCH,
    REACTION_PATTERN,
    search_text,
)
from hub.communication.schemas import (
    ConversationIn,
    ConversationOut,
    ConversationPatch,
    CountOut,
    MessageIn,
    MessageOut,
    MessagePatch,
    MuteIn,
    ParticipantsIn,
    ReadIn,
    ReadStateOut,
)
from hub.communication.services.conversations import ConversationService
from hub.communication.services.messages import MessageService
from hub.identity.api import Membership
from hub.kernel.openapi import problems
from hub.kernel.pagination import DEFAULT_LIMIT, Page
from hub.kernel.security import Principal
from hub.kernel.tenancy import permission
from hub.kernel.web import (
    BEARER,
    Cursor,
    Idempotency,
    IdempotencyKey,
    Limit,
    page_as,
    to_schema,
)

OrganisationQuery = Annotated[uuid.UUID, QueryParameter(name="organisationId")]
OrganisationFilter = Annotated[
    uuid.UUID | None, QueryParameter(name="organisationId", required=False)
]


def _reaction_operation(handler: Any, method: str, path: Any) -> str:
    """One handler, two operations: ``addReaction`` (PUT) and ``removeReaction``."""
    return "addReaction" if method == HttpMethod.PUT else "removeReaction"


def _pin_operation(handler: Any, method: str, path: Any) -> str:
    """One handler, two operations: ``pinMessage`` (PUT) and ``unpinMessage``."""
    return "pinMessage" if method == HttpMethod.PUT else "unpinMessage"


ReactionName = Annotated[
    str,
    PathParameter(pattern=REACTION_PATTERN, description="e.g. `thumbsup`, `+1`, `tada`"),
]
MessagePosition = Annotated[
    uuid.UUID | None,
    QueryParameter(required=False, description="A message id of this conversation."),
]
ThreadId = Annotated[
    uuid.UUID | None,
    QueryParameter(
        name="threadId",
        required=False,
        description="List this thread's replies: the id of its root, a top-level message.",
    ),
]


class ConversationController(Controller):
    path = "/conversations"
    tags = ["Communication: conversations"]
    security = BEARER
    guards = [people_only]

    @post(
        operation_id="createConversation",
        summary="Start a direct or group conversation (a direct one is found again)",
        description="`participantIds` are the other people (you are always in it; each must "
        "be an active member, else a 422 naming `participantIds[i]`). Without `kind`: "
        "direct for one other person and no title, a group otherwise. A direct conversation "
        "exists once per pair: asking again answers the existing one with 200 (201 when "
        "new). The creator of a group is its admin. The organisation's messaging rules "
        "(`/orgs/{orgId}/messaging-policy`) may forbid gathering some people: 403 "
        "`messaging_not_allowed` naming `participantIds[i]`.",
        status_code=201,
        responses={
            200: ResponseSpec(
                ConversationOut, description="The direct conversation of this pair, existing."
            )
        },
        opt=problems(403, 404, 422),
    )
    async def create(
        self,
        data: JSONBody[ConversationIn],
        principal: NamedDependency[Principal],
        conversations: NamedDependency[ConversationService],
    ) -> Response[ConversationOut]:
        view, created = await conversations.create(
            principal,
            data.organisation_id,
            data.participant_ids,
            kind=data.kind,
            title=data.title,
        )
        return Response(to_schema(view, ConversationOut), status_code=201 if created else 200)

    @get(
        operation_id="listConversations",
        summary="The caller's conversations in an organisation, latest activity first",
        guards=[permission(None)],
    )
    async def list_conversations(
        self,
        principal: NamedDependency[Principal],
        membership: NamedDependency[Membership],
        conversations: NamedDependency[ConversationService],
        organisation_id: OrganisationQuery,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ConversationOut]:
        page = await conversations.page(
            principal.user_id, membership.organisation_id, limit=limit, cursor=cursor
        )
        return page_as(page, ConversationOut)

    @get(
        "/search",
        operation_id="searchMessages",
        summary="Messages matching words, in the caller's conversations of an organisation",
        description='Web-search syntax (`"a phrase"`, `-excluded`, `or`), whole words '
        "without stemming (case and accents ignored); newest first; deleted "
        "messages never. Only conversations the caller takes part in now (all their "
        "messages, as the thread shows them). 422 naming `q` for nothing but blanks.",
        guards=[permission(None)],
        opt=problems(422),
    )
    async def search_messages(
        self,
        principal: NamedDependency[Principal],
        membership: NamedDependency[Membership],
        conversation_messages: NamedDependency[MessageService],
        organisation_id: OrganisationQuery,
        q: Annotated[
            str,
            QueryParameter(
                min_length=1,
                max_length=MAX_SEARCH,
                description=f"What to look for (1 to {MAX_SEARCH} characters).",
            ),
        ],
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[MessageOut]:
        page = await conversation_messages.search(
            principal.user_id,
            membership.organisation_id,
            search_text(q),
            limit=limit,
            cursor=cursor,
        )
        return page_as(page, MessageOut)

    @get(
        "/unread-count",
        operation_id="countUnreadMessages",
        summary="Unread messages in the caller's conversations (of one organisation or all)",
        opt=problems(404),
    )
    async def unread_count(
        self,
        principal: NamedDependency[Principal],
        conversations: NamedDependency[ConversationService],
        organisation_id: OrganisationFilter = None,
    ) -> CountOut:
        return CountOut(count=await conversations.unread_total(principal, organisation_id))

    @get(
        "/{conversation_id:uuid}",
        operation_id="getConversation",
        summary="A conversation: participants with their read state, the caller's unread count",
        opt=problems(404),
    )
    async def get_conversation(
        self,
        principal: NamedDependency[Principal],
        conversations: NamedDependency[ConversationService],
        conversation_id: FromPath[uuid.UUID],
    ) -> ConversationOut:
        return to_schema(
            await conversations.get(principal.user_id, conversation_id), ConversationOut
        )

    @patch(
        "/{conversation_id:uuid}",
        operation_id="renameConversation",
        summary="Change a group's title (its admins)",
        description="`title`: at most 200 characters, not blank, no NUL (422 naming "
        "`title`); null removes it. A direct conversation has no title (409 "
        "`direct_conversation`); a participant who is not an admin gets 403 "
        "`not_conversation_admin`. Pushes `conversation.updated` to everyone in it.",
        opt=problems(403, 404, 409, 422),
    )
    async def rename(
        self,
        data: JSONBody[ConversationPatch],
        principal: NamedDependency[Principal],
        conversations: NamedDependency[ConversationService],
        conversation_id: FromPath[uuid.UUID],
    ) -> ConversationOut:
        view = await conversations.rename(principal.user_id, conversation_id, data.title)
        return to_schema(view, ConversationOut)

    @put(
        "/{conversation_id:uuid}/mute",
        operation_id="muteConversation",
        summary="Mute the conversation for yourself",
        description="`until` (with a time zone, in the future, else 422 naming `until`; "
        "absent: until you unmute it). Muted, it sends you no unread-messages notice and "
        "stays out of `GET /conversations/unread-count`; its own `unreadCount` still "
        "shows. Answers the conversation with `muted` and `mutedUntil` and pushes "
        "`conversation.muted` to your other streams.",
        opt=problems(404, 422),
    )
    async def mute(
        self,
        data: JSONBody[MuteIn],
        principal: NamedDependency[Principal],
        conversations: NamedDependency[ConversationService],
        conversation_id: FromPath[uuid.UUID],
    ) -> ConversationOut:
        view = await conversations.mute(principal.user_id, conversation_id, data.until, on=True)
        return to_schema(view, ConversationOut)

    @delete(
        "/{conversation_id:uuid}/mute",
        status_code=200,
        operation_id="unmuteConversation",
        summary="Unmute the conversation (unmuting one not muted changes nothing)",
        opt=problems(404),
    )
    async def unmute(
        self,
        principal: NamedDependency[Principal],
        conversations: NamedDependency[ConversationService],
        conversation_id: FromPath[uuid.UUID],
    ) -> ConversationOut:
        view = await conversations.mute(principal.user_id, conversation_id, None, on=False)
        return to_schema(view, ConversationOut)

    @post(
        "/{conversation_id:uuid}/participants",
        operation_id="addConversationParticipants",
        summary="Add people to a group (its admins)",
        description="Each must be an active member (422 naming `userIds[i]`); people "
        "already in it are left as they are. They join caught up: earlier messages are "
        "there to read but not unread. A direct conversation cannot change (409). The "
        "organisation's messaging rules may forbid someone: 403 `messaging_not_allowed` "
        "naming `userIds[i]`.",
        status_code=200,
        opt=problems(403, 404, 409, 422),
    )
    async def add_participants(
        self,
        data: JSONBody[ParticipantsIn],
        principal: NamedDependency[Principal],
        conversations: NamedDependency[ConversationService],
        conversation_id: FromPath[uuid.UUID],
    ) -> ConversationOut:
        view = await conversations.add_people(
            principal.user_id, conversation_id, data.user_ids, data.role
        )
        return to_schema(view, ConversationOut)

    @delete(
        "/{conversation_id:uuid}/participants/{user_id:uuid}",
        operation_id="removeConversationParticipant",
        summary="Remove someone from a group (its admins), or leave it (anyone)",
        description="The last admin leaving makes the longest-standing participant admin.",
        status_code=204,
        opt=problems(403, 404, 409),
    )
    async def remove_participant(
        self,
        principal: NamedDependency[Principal],
        conversations: NamedDependency[ConversationService],
        conversation_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
    ) -> None:
        await conversations.remove_person(principal.user_id, conversation_id, user_id)

    @get(
        "/{conversation_id:uuid}/messages",
        operation_id="listMessages",
        summary="Messages by cursor in either direction",
        description="Without a position: the newest first. `before=<messageId>`: older "
        "ones, newest first; `after=<messageId>`: newer ones, oldest first. `nextCursor` "
        "goes on in the same direction. Give one of `before`, `after` and `cursor`. "
        "The main timeline holds top-level messages (a thread's root shows "
        "`threadReplyCount` and `threadLastReplyAt`); `threadId=<rootId>` lists that "
        "thread's replies instead (422 naming `threadId` when it is no top-level message "
        "of the conversation).",
        opt=problems(404, 422),
    )
    async def list_messages(
        self,
        principal: NamedDependency[Principal],
        conversation_messages: NamedDependency[MessageService],
        conversation_id: FromPath[uuid.UUID],
        before: MessagePosition = None,
        after: MessagePosition = None,
        thread_id: ThreadId = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[MessageOut]:
        page = await conversation_messages.page(
            principal.user_id,
            conversation_id,
            before=before,
            after=after,
            limit=limit,
            cursor=cursor,
            thread=thread_id,
        )
        return page_as(page, MessageOut)

    @route(
        "/{conversation_id:uuid}/messages/{message_id:uuid}/reactions/{name:str}",
        http_method=[HttpMethod.PUT, HttpMethod.DELETE],
        status_code=200,
        operation_id=_reaction_operation,
        summary="React to a message (PUT) or take the reaction back (DELETE)",
        description="`name` is what the frontend draws as an emoji (1 to 32 of "
        "`a-z 0-9 _ + -`, e.g. `thumbsup`, `+1`; anything else 400). Adding a reaction "
        "twice, or taking back one not given, changes nothing. Answers the message with "
        "its `reactions` and pushes `message.updated`. 409 `message_deleted`; 409 "
        "`too_many_reactions` past 20 different names on a message.",
        opt=problems(400, 404, 409),
    )
    async def react(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        conversation_messages: NamedDependency[MessageService],
        conversation_id: FromPath[uuid.UUID],
        message_id: FromPath[uuid.UUID],
        name: ReactionName,
    ) -> MessageOut:
        on = request.method == HttpMethod.PUT
        view = await conversation_messages.react(
            principal.user_id, conversation_id, message_id, name, on=on
        )
        return to_schema(view, MessageOut)

    @route(
        "/{conversation_id:uuid}/messages/{message_id:uuid}/pin",
        http_method=[HttpMethod.PUT, HttpMethod.DELETE],
        status_code=200,
        operation_id=_pin_operation,
        summary="Pin a message to its conversation (PUT) or unpin it (DELETE)",
        description="Any participant; twice changes nothing. Answers the message with "
        "`pinnedAt` and `pinnedBy` and pushes `message.updated`. 409 `message_deleted` "
        "(a deleted message loses its pin); 409 `too_many_pins` past 50 in a conversation.",
        opt=problems(404, 409),
    )
    async def pin(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        conversation_messages: NamedDependency[MessageService],
        conversation_id: FromPath[uuid.UUID],
        message_id: FromPath[uuid.UUID],
    ) -> MessageOut:
        on = request.method == HttpMethod.PUT
        view = await conversation_messages.pin(
            principal.user_id, conversation_id, message_id, on=on
        )
        return to_schema(view, MessageOut)

    @get(
        "/{conversation_id:uuid}/pins",
        operation_id="listPinnedMessages",
        summary="The conversation's pinned messages, the latest pin first",
        description="All of them in one page (a conversation keeps at most 50).",
        opt=problems(404),
    )
    async def pins(
        self,
        principal: NamedDependency[Principal],
        conversation_messages: NamedDependency[MessageService],
        conversation_id: FromPath[uuid.UUID],
    ) -> Page[MessageOut]:
        return page_as(
            await conversation_messages.pins(principal.user_id, conversation_id), MessageOut
        )

    @post(
        "/{conversation_id:uuid}/typing",
        status_code=204,
        operation_id="signalTyping",
        summary="Tell the other participants you are typing (nothing is stored)",
        description="Pushes `conversation.typing` (`conversationId`, `userId`, `until`) to "
        "the other participants' streams, at most once every 2 seconds per person and "
        "conversation (more often changes nothing; still 204). Show it until `until` (6 s) "
        "unless a message or another signal comes; call again while typing.",
        opt=problems(404),
    )
    async def typing(
        self,
        principal: NamedDependency[Principal],
        conversation_messages: NamedDependency[MessageService],
        conversation_id: FromPath[uuid.UUID],
    ) -> None:
        await conversation_messages.typing(principal.user_id, conversation_id)

    @post(
        "/{conversation_id:uuid}/messages",
        operation_id="sendMessage",
        summary="Send a message (plain text, attachments by document id)",
        description="`body`: plain text, stored as sent, at most 10,000 characters, no NUL "
        "(422 naming `body`); clients show it as text. `attachments`: up to 10 ids of "
        "documents of the organisation you may read (422 naming `attachments[i]`); each "
        "reader sees a document's details only if they may read it themselves. "
        "`replyToId`: a message of this conversation it answers (422 naming `replyToId` "
        "otherwise; 409 `message_deleted` for a deleted one). `threadId`: post in the "
        "thread of this top-level message (422 naming `threadId` for a message that is "
        "in a thread itself or not in this conversation; 409 `message_deleted` for a "
        "deleted root); the root's `threadReplyCount` grows and `message.updated` is "
        "pushed for it. Accepts an "
        "`Idempotency-Key` header: a retry answers the same message, sent once.",
        status_code=201,
        opt=problems(404, 409, 422),
    )
    async def send(
        self,
        data: JSONBody[MessageIn],
        principal: NamedDependency[Principal],
        conversation_messages: NamedDependency[MessageService],
        idempotency: NamedDependency[Idempotency],
        conversation_id: FromPath[uuid.UUID],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[MessageOut]:
        async def produce() -> MessageOut:
            view = await conversation_messages.send(
                principal.user_id,
                conversation_id,
                data.body,
                data.attachments,
                reply_to=data.reply_to_id,
                thread=data.thread_id,
            )
            return to_schema(view, MessageOut)

        return await idempotency.respond(
            key=idempotency_key,
            caller=principal.user_id,
            operation="sendMessage",
            request={"conversationId": str(conversation_id), "message": data},
            produce=produce,
            result_type=MessageOut,
            status_code=201,
        )

    @patch(
        "/{conversation_id:uuid}/messages/{message_id:uuid}",
        operation_id="editMessage",
        summary="Change the text of your own message",
        opt=problems(403, 404, 409, 422),
    )
    async def edit(
        self,
        data: JSONBody[MessagePatch],
        principal: NamedDependency[Principal],
        conversation_messages: NamedDependency[MessageService],
        conversation_id: FromPath[uuid.UUID],
        message_id: FromPath[uuid.UUID],
    ) -> MessageOut:
        view = await conversation_messages.edit(
            principal.user_id, conversation_id, message_id, data.body
        )
        return to_schema(view, MessageOut)

    @delete(
        "/{conversation_id:uuid}/messages/{message_id:uuid}",
        operation_id="deleteMessage",
        summary="Delete your own message (a tombstone stays in its place)",
        status_code=204,
        opt=problems(403, 404),
    )
    async def delete_message(
        self,
        principal: NamedDependency[Principal],
        conversation_messages: NamedDependency[MessageService],
        conversation_id: FromPath[uuid.UUID],
        message_id: FromPath[uuid.UUID],
    ) -> None:
        await conversation_messages.delete(principal.user_id, conversation_id, message_id)

    @post(
        "/{conversation_id:uuid}/read",
        operation_id="readConversation",
        summary="Mark read up to a message (default: the newest); never moves back",
        status_code=200,
        opt=problems(404, 422),
    )
    async def read(
        self,
        principal: NamedDependency[Principal],
        conversation_messages: NamedDependency[MessageService],
        conversation_id: FromPath[uuid.UUID],
        data: JSONBody[ReadIn | None] = None,
    ) -> ReadStateOut:
        state = await conversation_messages.read(
            principal.user_id, conversation_id, data.message_id if data else None
        )
        return to_schema(state, ReadStateOut)
