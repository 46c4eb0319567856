"""Content's part of an organisation's purge (``identity.organisation_purged``)."""

from __future__ import annotations

from hub.content.services.org_purge import ContentOrgPurge
from hub.identity.api import OrganisationPurged
from hub.kernel.db import UnitOfWork


async def on_organisation_purged(
    event: OrganisationPurged, uow: UnitOfWork, *, content_org_purge: ContentOrgPurge
) -> None:
    """Delete the organisation's documents, blobs and other rows, in batches of their own
    transactions (a redelivery finds less, or nothing, left)."""
    await content_org_purge.purge(uow, event.purged_organisation_id)
