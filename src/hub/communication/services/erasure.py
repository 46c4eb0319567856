"""Communication's part of erasing a person (``identity.user_erased``, GDPR Article 17).

* Their own rows go: inbox items, deliveries and digests addressed to them, their
  preferences, their browsers registered for push, their place in conversations, the
  notices of documents shared with them.
* Notifications they were the only recipient of go; others lose them from their
  recipients and name the pseudonym where their payload named the person.
* Messages they sent become tombstones (text and attachments removed, ``deleted_at``
  set) sent by the pseudonym: threads keep their shape and show a deleted user.
* A direct conversation keeps its other participant; the person's side is the pseudonym.
* What they created for the organisation (templates, channels, webhook endpoints) stays,
  without their id; webhook deliveries whose body names them are deleted, as are the
  published outbox rows naming them.

Nothing is published: events published here would carry the erased person as actor.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, text

from hub.communication.models import WebhookDelivery
from hub.identity.api import UserErased
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.erasure import ErasedPerson, forget_published_events, scrub_statement

_STATEMENTS = (
    "DELETE FROM communication.inbox_items WHERE user_id = :user_id",
    "DELETE FROM communication.digest_items WHERE user_id = :user_id",
    "DELETE FROM communication.digests WHERE user_id = :user_id",
    "DELETE FROM communication.deliveries WHERE user_id = :user_id",
    "DELETE FROM communication.user_settings WHERE user_id = :user_id",
    "DELETE FROM communication.push_subscriptions WHERE user_id = :user_id",
    "DELETE FROM communication.share_notices WHERE user_id = :user_id",
    "DELETE FROM communication.notifications WHERE recipient_ids = ARRAY[:user_id]::uuid[]",
    "UPDATE communication.notifications SET recipient_ids = array_remove(recipient_ids, :user_id)"
    " WHERE :user_id = ANY(recipient_ids)",
    "UPDATE communication.notifications SET sender_id = NULL WHERE sender_id = :user_id",
    "UPDATE communication.messages SET sender_id = :pseudonym, body = '', attachments = '{}',"
    " deleted_at = coalesce(deleted_at, :now), pinned_at = NULL, pinned_by = NULL"
    " WHERE sender_id = :user_id",
    # Pins they made stay (the conversation chose them), by nobody named.
    "UPDATE communication.messages SET pinned_by = NULL WHERE pinned_by = :user_id",
    "DELETE FROM communication.message_reactions WHERE user_id = :user_id",
    "DELETE FROM communication.topic_subscriptions WHERE user_id = :user_id",
    "UPDATE communication.topic_subscriptions SET added_by = :pseudonym WHERE added_by = :user_id",
    "DELETE FROM communication.conversation_participants WHERE user_id = :user_id",
    "UPDATE communication.conversation_participants SET added_by = NULL WHERE added_by = :user_id",
    "UPDATE communication.conversations SET created_by = :pseudonym WHERE created_by = :user_id",
    "UPDATE communication.conversations SET"
    " direct_low = least(CASE WHEN direct_low = :user_id THEN :pseudonym ELSE direct_low END,"
    "                    CASE WHEN direct_high = :user_id THEN :pseudonym ELSE direct_high END),"
    " direct_high = greatest(CASE WHEN direct_low = :user_id THEN :pseudonym ELSE direct_low END,"
    "                    CASE WHEN direct_high = :user_id THEN :pseudonym ELSE direct_high END)"
    " WHERE direct_low = :user_id OR direct_high = :user_id",
    "UPDATE communication.templates SET created_by = NULL WHERE created_by = :user_id",
    "UPDATE communication.notification_channels SET created_by = NULL WHERE created_by = :user_id",
    "UPDATE communication.webhook_endpoints SET created_by = NULL WHERE created_by = :user_id",
)


#: Columns of what others keep that may name the person (their inbox items and digests
#: show a notification's text; a notification's payload may hold their id or address).
_SCRUBBED = (
    ("communication.notifications", "payload", True),
    ("communication.inbox_items", "title", False),
    ("communication.inbox_items", "body", False),
    ("communication.digest_items", "title", False),
    ("communication.digest_items", "body", False),
)


@dataclass(eq=False)
class CommunicationErasure:
    clock: Clock

    async def erase(self, uow: UnitOfWork, event: UserErased) -> None:
        person = ErasedPerson(user_id=event.user_id, email=event.email, pseudonym=event.pseudonym)
        session = uow.session
        params = {"user_id": person.user_id, "pseudonym": person.pseudonym, "now": self.clock()}
        for statement in _STATEMENTS:
            await session.execute(text(statement), params)
        for table, column, json in _SCRUBBED:
            await session.execute(scrub_statement(table, column, json=json), person.scrub_params)
        await session.execute(
            delete(WebhookDelivery).where(person.mentioned_in(WebhookDelivery.body))
        )
        await forget_published_events(uow, person)
