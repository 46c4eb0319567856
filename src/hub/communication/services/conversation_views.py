"""How conversations and messages show to one reader.

An attachment is a document id; whether its details (title, file name, type, size) show
is decided for **each reader** by content (:meth:`hub.content.api.ContentApi.may_read`):
attaching a document never lets anyone read it. A reader who may not read it (or when it
was trashed or purged) sees only its id and ``available: false``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.content.api import ContentApi, DocumentSummary


@dataclass(frozen=True)
class AttachmentView:
    document_id: uuid.UUID
    available: bool
    title: str | None = None
    file_name: str | None = None
    media_type: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class ReactionView:
    name: str
    count: int
    #: Whether the reader is among those who reacted so.
    mine: bool


def reaction_views(rows: Sequence[Any], reader: uuid.UUID) -> list[ReactionView]:
    """Reactions ``(name, user_id)`` summed by name, in the order each name first came."""
    counts: dict[str, list[uuid.UUID]] = {}
    for row in rows:
        counts.setdefault(row.name, []).append(row.user_id)
    return [ReactionView(name, len(users), reader in users) for name, users in counts.items()]


@dataclass(frozen=True)
class MessageView:
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    body: str
    attachments: list[AttachmentView]
    created_at: datetime
    edited_at: datetime | None
    deleted: bool
    deleted_at: datetime | None
    reply_to_id: uuid.UUID | None = None
    reactions: list[ReactionView] = field(default_factory=list)
    thread_id: uuid.UUID | None = None
    thread_reply_count: int = 0
    thread_last_reply_at: datetime | None = None
    #: On a thread's root: its replies the reader has not read (pages only; pushes, sent
    #: alike to every participant, leave it at 0).
    thread_unread_count: int = 0
    pinned_at: datetime | None = None
    pinned_by: uuid.UUID | None = None


@dataclass(frozen=True)
class ParticipantView:
    user_id: uuid.UUID
    display_name: str | None
    role: str
    joined_at: datetime
    last_read_seq: int
    last_read_message_id: uuid.UUID | None


@dataclass(frozen=True)
class ConversationView:
    id: uuid.UUID
    organisation_id: uuid.UUID
    kind: str
    title: str | None
    created_by: uuid.UUID
    created_at: datetime
    last_activity_at: datetime
    last_seq: int
    participants: list[ParticipantView]
    #: The reader's unread messages here.
    unread_count: int
    last_message: MessageView | None
    #: Whether the reader muted it, and until when (None: until they unmute it).
    muted: bool = False
    muted_until: datetime | None = None


@dataclass(frozen=True)
class ReadState:
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    last_read_seq: int
    last_read_message_id: uuid.UUID | None
    unread_count: int


@dataclass
class Attachments:
    """Resolves attachments for readers, asking content once per document and once per
    (reader, document) within one request or one push."""

    content: ContentApi
    _documents: dict[uuid.UUID, DocumentSummary | None] = field(default_factory=dict)
    _may: dict[tuple[uuid.UUID, uuid.UUID], bool] = field(default_factory=dict)

    async def document(self, document_id: uuid.UUID) -> DocumentSummary | None:
        if document_id not in self._documents:
            self._documents[document_id] = await self.content.document(document_id)
        return self._documents[document_id]

    async def readable(self, reader: uuid.UUID, document_id: uuid.UUID) -> DocumentSummary | None:
        """The document when ``reader`` may read it now (and it is not in the trash)."""
        summary = await self.document(document_id)
        if summary is None or summary.trashed_at is not None:
            return None
        key = (reader, document_id)
        if key not in self._may:
            self._may[key] = await self.content.may_read(reader, document_id)
        return summary if self._may[key] else None

    async def views(self, reader: uuid.UUID, ids: Sequence[uuid.UUID]) -> list[AttachmentView]:
        out = []
        for document_id in ids:
            summary = await self.readable(reader, document_id)
            if summary is None:
                out.append(AttachmentView(document_id=document_id, available=False))
            else:
                out.append(
                    AttachmentView(
                        document_id=document_id,
                        available=True,
                        title=summary.title,
                        file_name=summary.file_name,
                        media_type=summary.media_type,
                        size=summary.size,
                    )
                )
        return out

    async def message(
        self, reader: uuid.UUID, row: Any, reactions: Sequence[Any] = (), thread_unread: int = 0
    ) -> MessageView:
        """The message as ``reader`` sees it; ``reactions``: its ``(name, user_id)`` rows;
        ``thread_unread``: the reader's unread replies in the thread it starts."""
        return MessageView(
            id=row.id,
            conversation_id=row.conversation_id,
            seq=row.seq,
            sender_id=row.sender_id,
            body=row.body,
            attachments=await self.views(reader, row.attachments),
            created_at=row.created_at,
            edited_at=row.edited_at,
            deleted=row.deleted_at is not None,
            deleted_at=row.deleted_at,
            reply_to_id=row.reply_to_id,
            reactions=reaction_views(reactions, reader),
            thread_id=row.thread_id,
            thread_reply_count=row.thread_reply_count,
            thread_last_reply_at=row.thread_last_reply_at,
            thread_unread_count=thread_unread,
            pinned_at=row.pinned_at,
            pinned_by=row.pinned_by,
        )


def pushed_message(view: MessageView, organisation_id: uuid.UUID) -> dict[str, Any]:
    """A message as the stream sends it (the API's wire names)."""
    return {
        "conversationId": str(view.conversation_id),
        "organisationId": str(organisation_id),
        "message": {
            "id": str(view.id),
            "conversationId": str(view.conversation_id),
            "seq": view.seq,
            "senderId": str(view.sender_id),
            "body": view.body,
            "attachments": [
                {
                    "documentId": str(a.document_id),
                    "available": a.available,
                    "title": a.title,
                    "fileName": a.file_name,
                    "mediaType": a.media_type,
                    "size": a.size,
                }
                for a in view.attachments
            ],
            "createdAt": view.created_at.isoformat(),
            "editedAt": view.edited_at.isoformat() if view.edited_at else None,
            "deleted": view.deleted,
            "deletedAt": view.deleted_at.isoformat() if view.deleted_at else None,
            "replyToId": str(view.reply_to_id) if view.reply_to_id else None,
            "reactions": [
                {"name": r.name, "count": r.count, "mine": r.mine} for r in view.reactions
            ],
            "threadId": str(view.thread_id) if view.thread_id else None,
            "threadReplyCount": view.thread_reply_count,
            "threadLastReplyAt": view.thread_last_reply_at.isoformat()
            if view.thread_last_reply_at
            else None,
            "pinnedAt": view.pinned_at.isoformat() if view.pinned_at else None,
            "pinnedBy": str(view.pinned_by) if view.pinned_by else None,
        },
    }


def pushed_conversation(view: ConversationView) -> dict[str, Any]:
    """Who is in a conversation, as the stream sends it (the same for every reader: no
    unread count or last message, which a change of people does not move)."""
    return {
        "conversationId": view.id,
        "organisationId": view.organisation_id,
        "kind": view.kind,
        "title": view.title,
        "participants": [
            {
                "userId": p.user_id,
                "displayName": p.display_name,
                "role": p.role,
                "joinedAt": p.joined_at,
                "lastReadSeq": p.last_read_seq,
                "lastReadMessageId": p.last_read_message_id,
            }
            for p in view.participants
        ],
    }
