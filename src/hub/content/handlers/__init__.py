"""Content's event handlers: the audit trail's feed, a catch-all every integration event
of every context reaches (``ContextModule.catch_all``), and its part of an erasure."""

from __future__ import annotations

from hub.content.services.audit import AuditLog
from hub.content.services.erasure import ContentErasure
from hub.content.services.saved_views import SavedViewService
from hub.identity.api import IdentityApi, MemberRemoved, UserErased
from hub.kernel.db import UnitOfWork
from hub.kernel.events import EventEnvelope
from hub.kernel.subscribers import CatchAll


async def record_event(envelope: EventEnvelope, uow: UnitOfWork, *, audit_log: AuditLog) -> None:
    """One entry per event, committed with the inbox row that makes delivery exactly-once.
    It publishes nothing: an event about an audit entry would feed itself forever.
    ``audit_log`` is injected by name (``hub.kernel.inject``)."""
    await audit_log.append(uow, envelope)


#: Stable name: it is the inbox key of every event already recorded.
AUDIT_FEED = CatchAll("content.audit_trail", record_event)


async def on_user_erased(
    event: UserErased, uow: UnitOfWork, *, content_erasure: ContentErasure
) -> None:
    """Hand the person's documents over, pseudonymise what must stay, and rewrite the
    audit chains naming them (``services.erasure``)."""
    await content_erasure.erase(uow, event)


async def on_member_removed(
    event: MemberRemoved,
    uow: UnitOfWork,
    *,
    saved_views: SavedViewService,
    identity_api: IdentityApi,
) -> None:
    """Someone who left the organisation (or was removed) loses their personal saved
    views there; someone who is a member again by the time this runs keeps them."""
    org = event.organisation_id
    if org is None or await identity_api.membership(org, event.user_id, api_key_id=None):
        return
    await saved_views.member_left(uow, org, event.user_id)
