"""Identity's background jobs."""

from __future__ import annotations

import structlog

from hub.identity.services.housekeeping import Housekeeping
from hub.identity.services.org_deletion import OrganisationDeletion
from hub.identity.services.sso_providers import SsoProviders
from hub.kernel.jobs import JobContext, job
from hub.kernel.scheduler import Periodic

log = structlog.get_logger("hub.identity.housekeeping")


@job("identity.prune_expired", max_retries=2)
async def prune_expired_rows(ctx: JobContext, *, housekeeping: Housekeeping) -> None:
    pruned = await housekeeping.prune()
    log.info("identity_pruned", **vars(pruned))


PRUNE_HOURLY = Periodic("identity.prune_expired", "23 * * * *", prune_expired_rows)


@job("identity.purge_organisations", max_retries=2)
async def purge_organisations(ctx: JobContext, *, org_deletion: OrganisationDeletion) -> None:
    """Purge the organisations whose deletion grace period is over (a batch per run)."""
    purged = await org_deletion.purge_due()
    if purged:
        log.info("organisations_purged", organisations=[str(p.organisation_id) for p in purged])


PURGE_ORGANISATIONS = Periodic("identity.purge_organisations", "*/10 * * * *", purge_organisations)


@job("identity.refresh_sso_discovery", max_retries=2)
async def refresh_sso_discovery(ctx: JobContext, *, sso_providers: SsoProviders) -> None:
    """Follow each identity provider's discovery document (endpoints moved, an
    end-session endpoint published since the provider was saved)."""
    done = await sso_providers.refresh_discovery()
    log.info("sso_discovery_checked", **vars(done))


REFRESH_SSO_DISCOVERY_DAILY = Periodic(
    "identity.refresh_sso_discovery", "17 4 * * *", refresh_sso_discovery
)
