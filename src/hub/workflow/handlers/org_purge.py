"""Workflow's part of an organisation's purge (``identity.organisation_purged``),
document intelligence included (its tables are in the ``workflow`` schema)."""

from __future__ import annotations

from hub.identity.api import OrganisationPurged
from hub.kernel.db import UnitOfWork
from hub.kernel.org_purge import SchemaPurge


async def on_organisation_purged(
    event: OrganisationPurged, uow: UnitOfWork, *, workflow_org_purge: SchemaPurge
) -> None:
    """Delete every workflow row of the organisation, in batches."""
    await workflow_org_purge.purge(uow, event.purged_organisation_id)
