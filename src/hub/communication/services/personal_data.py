"""Communication's part of a person's export (GDPR Articles 15 and 20): their
preferences, the notifications in their inbox, what was delivered to them, the
notifications they sent, their conversations, the messages they wrote and their reactions,
their topics and the browsers they registered for push."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from hub.kernel.personal_data import PersonalDataApi, records
from hub.kernel.store import Store

_SETTINGS = text(
    "SELECT locale, time_zone, quiet_start, quiet_end, channels, digests, updated_at"
    " FROM communication.user_settings WHERE user_id = :user_id"
)
_INBOX = text(
    "SELECT id, notification_id, organisation_id, category, priority, title, body, action_url,"
    " created_at, read_at, archived_at FROM communication.inbox_items WHERE user_id = :user_id"
    " ORDER BY created_at"
)
_DELIVERIES = text(
    "SELECT id, notification_id, organisation_id, channel, status, created_at"
    " FROM communication.deliveries WHERE user_id = :user_id ORDER BY created_at"
)
_SENT = text(
    "SELECT id, organisation_id, template_key, category, priority, payload, created_at,"
    " state, send_at FROM communication.notifications WHERE sender_id = :user_id"
    " ORDER BY created_at"
)
_CONVERSATIONS = text(
    "SELECT c.id, c.organisation_id, c.kind, c.title, p.role, p.joined_at, p.last_read_seq,"
    " p.muted_until FROM communication.conversation_participants p"
    " JOIN communication.conversations c ON c.id = p.conversation_id"
    " WHERE p.user_id = :user_id ORDER BY p.joined_at"
)
_MESSAGES = text(
    "SELECT id, conversation_id, organisation_id, seq, body, attachments, created_at,"
    " edited_at, deleted_at FROM communication.messages WHERE sender_id = :user_id"
    " ORDER BY created_at"
)

_REACTIONS = text(
    "SELECT message_id, organisation_id, name, created_at"
    " FROM communication.message_reactions WHERE user_id = :user_id ORDER BY created_at"
)
_TOPICS = text(
    "SELECT t.organisation_id, t.key, t.name, s.created_at"
    " FROM communication.topic_subscriptions s JOIN communication.topics t ON t.id = s.topic_id"
    " WHERE s.user_id = :user_id ORDER BY s.created_at"
)
_PUSH = text(
    "SELECT id, host, label, categories, created_at, last_used_at, last_success_at"
    " FROM communication.push_subscriptions WHERE user_id = :user_id ORDER BY created_at"
)
_PINS = text(
    "SELECT id AS message_id, conversation_id, organisation_id, pinned_at"
    " FROM communication.messages WHERE pinned_by = :user_id ORDER BY pinned_at"
)


@dataclass(eq=False)
class CommunicationPersonalData(PersonalDataApi):
    store: Store

    async def export_personal_data(self, user_id: uuid.UUID) -> dict[str, Any]:
        params = {"user_id": user_id}
        settings = records(await self.store.all(_SETTINGS, params))
        return {
            "preferences": settings[0] if settings else None,
            "inbox": records(await self.store.all(_INBOX, params)),
            "deliveries": records(await self.store.all(_DELIVERIES, params)),
            "notificationsSent": records(await self.store.all(_SENT, params)),
            "conversations": records(await self.store.all(_CONVERSATIONS, params)),
            "messagesSent": records(await self.store.all(_MESSAGES, params)),
            "reactions": records(await self.store.all(_REACTIONS, params)),
            "pins": records(await self.store.all(_PINS, params)),
            "topics": records(await self.store.all(_TOPICS, params)),
            # the browsers registered for push; their endpoints and keys are the push
            # services' and the browsers' secrets, not the person's data
            "pushSubscriptions": records(await self.store.all(_PUSH, params)),
        }
