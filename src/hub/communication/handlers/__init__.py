"""Other contexts' events that become notifications.

``content.document.shared`` lists everyone the document is shared with after the change;
``share_notices`` remembers who was already told, so only newly added users (never the
person sharing) get a ``document.shared`` notification.
"""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert

from hub.communication.repositories import share_notices_t
from hub.communication.services.erasure import CommunicationErasure
from hub.communication.services.sending import Recipients, SendRequest, SendService
from hub.communication.services.topics import Topics
from hub.communication.services.webhook_delivery import WebhookDispatch
from hub.content.api import ContentApi, DocumentShared, DocumentSummary, NoteAdded
from hub.identity.api import IdentityApi, MemberRemoved, UserErased
from hub.kernel.db import UnitOfWork
from hub.kernel.events import EventEnvelope
from hub.kernel.subscribers import CatchAll


async def on_document_shared(
    event: DocumentShared,
    uow: UnitOfWork,
    *,
    notifications: SendService,
    content_api: ContentApi,
    identity_api: IdentityApi,
    communication_public_url: str,
) -> None:
    users = [u for u in dict.fromkeys(event.user_ids) if u != event.actor_id]
    if not users or event.organisation_id is None:
        return
    t = share_notices_t
    fresh = (
        (
            await uow.session.execute(
                insert(t)
                .values([{"document_id": event.document_id, "user_id": u} for u in users])
                .on_conflict_do_nothing()
                .returning(t.c.user_id)
            )
        )
        .scalars()
        .all()
    )
    if not fresh:
        return
    document = await content_api.document(event.document_id)
    if document is None or document.trashed_at is not None:
        return
    request = SendRequest(
        organisation_id=event.organisation_id,
        template_key="document.shared",
        recipients=Recipients(user_ids=list(fresh)),
        payload=await _about_document(
            identity_api, event.actor_id, document, communication_public_url
        ),
    )
    await notifications.create_in(uow, request, sender_id=event.actor_id)


async def on_note_added(
    event: NoteAdded,
    uow: UnitOfWork,
    *,
    notifications: SendService,
    content_api: ContentApi,
    identity_api: IdentityApi,
    communication_public_url: str,
) -> None:
    """The people a note mentions who may read its document are told
    (``document.mentioned``, sent with the inbox row that makes delivery exactly-once);
    the author, anyone who may not read it and non-members are not (the send keeps
    members only)."""
    if not event.mentions or event.organisation_id is None:
        return
    document = await content_api.document(event.document_id)
    if document is None or document.trashed_at is not None:
        return
    told = [
        user
        for user in dict.fromkeys(event.mentions)
        if user != event.author_id and await content_api.may_read(user, event.document_id)
    ]
    if not told:
        return
    request = SendRequest(
        organisation_id=event.organisation_id,
        template_key="document.mentioned",
        recipients=Recipients(user_ids=told),
        payload=await _about_document(
            identity_api, event.author_id, document, communication_public_url
        ),
    )
    await notifications.create_in(uow, request, sender_id=event.author_id)


async def _about_document(
    identity_api: IdentityApi,
    actor_id: uuid.UUID | None,
    document: DocumentSummary,
    public_url: str,
) -> dict[str, str]:
    """What a notice about a document says: who acted, the title, the link to it."""
    actor = None
    if actor_id is not None:
        actor = (await identity_api.display_info([actor_id])).get(actor_id)
    return {
        "actorName": actor.display_name if actor else "Someone",
        "documentTitle": document.title,
        "documentUrl": f"{public_url.rstrip('/')}/documents/{document.id}",
    }


async def feed_webhooks(
    envelope: EventEnvelope, uow: UnitOfWork, *, webhook_dispatch: WebhookDispatch
) -> None:
    """Every event of every context (the kernel's catch-all): an organisation's events
    become deliveries to that organisation's matching endpoints, committed with the inbox
    row, so a redelivered event is not sent twice."""
    await webhook_dispatch.dispatch(uow, envelope)


#: Stable name: it is the inbox key of every event already dispatched.
WEBHOOK_FEED = CatchAll("communication.webhooks", feed_webhooks)


async def on_user_erased(
    event: UserErased, uow: UnitOfWork, *, communication_erasure: CommunicationErasure
) -> None:
    """Delete what is the erased person's own, tombstone their messages and put the
    pseudonym where a record stays for others (``services.erasure``)."""
    await communication_erasure.erase(uow, event)


async def on_member_removed(
    event: MemberRemoved,
    uow: UnitOfWork,
    *,
    notification_topics: Topics,
    identity_api: IdentityApi,
) -> None:
    """Someone who left the organisation (or was removed) leaves its topics; someone who
    is a member again by the time this runs keeps theirs (they may have joined since)."""
    org = event.organisation_id
    if org is None or await identity_api.membership(org, event.user_id, api_key_id=None):
        return
    await notification_topics.member_left(uow, org, event.user_id)
