"""The domains an organisation proved (DNS TXT): what its identity providers may make
accounts at."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from hub.identity.models import OrganisationDomain
from hub.kernel.store import Store

_d = OrganisationDomain.__table__


async def verified_domains(store: Store, organisation_id: uuid.UUID) -> set[str]:
    rows = await store.all(
        select(_d.c.domain).where(
            _d.c.organisation_id == organisation_id, _d.c.verified_at.is_not(None)
        )
    )
    return {row.domain for row in rows}
