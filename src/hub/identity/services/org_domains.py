"""An organisation's domains: claimed, proved with a DNS TXT record, removed.

Why: an organisation's administrators choose its identity provider, and a provider may
vouch for any address. Without proof, an organisation could have accounts made for
addresses at someone else's domain (``ceo@bigcorp.example``), keep a link to them, and
sign into them once their real owner took them over by a password reset. So an
organisation's provider makes accounts only at domains the organisation proved
(``HUB_SSO_VERIFIED_DOMAINS_ONLY``, on by default), as Okta, Auth0 and Google Workspace
ask: a TXT record ``_hub-challenge.<domain>`` holding the value the claim answered.
Any number of organisations may claim a domain; one may verify it (a partial unique
index decides a race), and it stays theirs until they remove it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.identity.api import (
    Membership,
    OrganisationDomainAdded,
    OrganisationDomainRemoved,
    OrganisationDomainVerified,
)
from hub.identity.domain.sso import CHALLENGE_PREFIX, challenge_record, clean_domain, proves
from hub.identity.models import Organisation, OrganisationDomain
from hub.identity.services.dns_proof import TxtLookup
from hub.kernel.clock import Clock, wall_clock
from hub.kernel.errors import Conflict, NotFound
from hub.kernel.pagination import Page
from hub.kernel.problems import refusal
from hub.kernel.schema import new_id
from hub.kernel.store import Store
from hub.kernel.web import overlay

_d = OrganisationDomain.__table__

domain_not_found = refusal(
    NotFound, "No such domain in this organisation.", code="domain_not_found"
)
domain_exists = refusal(
    Conflict, "The organisation already claimed this domain.", code="domain_exists"
)
domain_taken = refusal(
    Conflict,
    "Another organisation verified this domain first; it stays theirs until they remove it.",
    code="domain_taken",
)


def _view(row: Any) -> Any:
    return overlay(
        row,
        verified=row.verified_at is not None,
        record_name=challenge_record(row.domain),
        record_value=row.token,
    )


@dataclass(eq=False)
class OrgDomains:
    store: Store
    lookup: TxtLookup
    clock: Clock = wall_clock

    def _mine(self, membership: Membership, domain_id: uuid.UUID) -> Any:
        return (_d.c.id == domain_id) & (_d.c.organisation_id == membership.organisation_id)

    async def page(
        self, membership: Membership, *, limit: int | None, cursor: str | None
    ) -> Page[Any]:
        stmt = select(_d).where(_d.c.organisation_id == membership.organisation_id)
        page = await self.store.page(stmt, _d.c.id, limit=limit, cursor=cursor)
        return Page(
            items=[_view(r) for r in page.items], limit=page.limit, next_cursor=page.next_cursor
        )

    async def get(self, membership: Membership, domain_id: uuid.UUID) -> Any:
        row = await self.store.first(select(_d).where(self._mine(membership, domain_id)))
        if row is None:
            raise domain_not_found()
        return _view(row)

    async def add(self, membership: Membership, raw: str) -> Any:
        domain = clean_domain(raw, "domain")
        token = CHALLENGE_PREFIX + secrets.token_urlsafe(24)
        try:
            async with self.store.uow() as uow:
                row = (
                    await uow.session.execute(
                        insert(OrganisationDomain)
                        .values(
                            id=new_id(),
                            organisation_id=membership.organisation_id,
                            domain=domain,
                            token=token,
                        )
                        .returning(*_d.c)
                    )
                ).one()
                uow.publish(OrganisationDomainAdded(domain_id=row.id, domain=domain))
                await uow.commit()
        except IntegrityError:
            raise domain_exists() from None
        return _view(row)

    async def verify(self, membership: Membership, domain_id: uuid.UUID) -> Any:
        """Look the TXT record up now; 409 ``domain_not_verified`` (with the record to
        publish) when it is not there yet, 409 ``domain_taken`` when another organisation
        verified the domain first. Verifying a verified domain answers it unchanged."""
        claimed = await self.get(membership, domain_id)
        if claimed.verified:
            return claimed
        name = challenge_record(claimed.domain)
        if not proves(await self.lookup.txt(name), claimed.token):
            raise Conflict(
                f"No TXT record {name} holding the domain's value was found: publish it "
                "and try again (a new record can take a while to be seen).",
                code="domain_not_verified",
                extra={"recordName": name, "recordValue": claimed.token},
            )
        now = self.clock()
        try:
            async with self.store.uow() as uow:
                row = (
                    await uow.session.execute(
                        update(OrganisationDomain)
                        .where(self._mine(membership, domain_id), _d.c.verified_at.is_(None))
                        .values(verified_at=now, updated_at=now)
                        .returning(*_d.c)
                    )
                ).first()
                if row is None:  # removed, or verified by a concurrent request
                    return await self.get(membership, domain_id)
                uow.publish(OrganisationDomainVerified(domain_id=row.id, domain=row.domain))
                await uow.commit()
        except IntegrityError:
            raise domain_taken() from None
        return _view(row)

    async def remove(self, membership: Membership, domain_id: uuid.UUID) -> None:
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    delete(OrganisationDomain)
                    .where(self._mine(membership, domain_id))
                    .returning(_d.c.id, _d.c.domain, _d.c.verified_at)
                )
            ).first()
            if row is None:
                raise domain_not_found()
            uow.publish(
                OrganisationDomainRemoved(
                    domain_id=row.id, domain=row.domain, was_verified=row.verified_at is not None
                )
            )
            await uow.commit()

    async def release(self, raw: str) -> Any:
        """An operator frees a verified domain (``hub domains release``): the domain
        changed hands, and the organisation holding it is gone or will not give it up.
        Its claim is removed (``identity.domain_removed`` without an actor), so another
        organisation may verify the domain; None when no organisation verified it."""
        domain = clean_domain(raw, "domain")
        o = Organisation.__table__
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    delete(OrganisationDomain)
                    .where(_d.c.domain == domain, _d.c.verified_at.is_not(None))
                    .returning(_d.c.id, _d.c.domain, _d.c.organisation_id)
                )
            ).first()
            if row is None:
                return None
            uow.publish(
                OrganisationDomainRemoved(
                    organisation_id=row.organisation_id,
                    domain_id=row.id,
                    domain=row.domain,
                    was_verified=True,
                )
            )
            name = await uow.session.scalar(select(o.c.name).where(o.c.id == row.organisation_id))
            await uow.commit()
        return overlay(row, organisation_name=name)
