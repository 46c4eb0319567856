"""Organisations (tenants): creation with its built-in roles and first owner, listing,
reading and renaming. A caller only ever sees the organisations it is a member of."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from hub.identity.api import MemberAdded, OrganisationCreated, OrganisationUpdated
from hub.identity.api import Membership as Actor
from hub.identity.domain.roles import (
    BUILTIN_DESCRIPTIONS,
    BUILTIN_ORDER,
    MAX_ORGANISATION_NAME,
    OWNER,
    clean_name,
)
from hub.identity.models import MemberRole, Membership, Organisation, Role
from hub.identity.services.access import AccessService, require_user_session
from hub.kernel.errors import FieldError, Invalid
from hub.kernel.pagination import Page, after_uuid, clamp_limit, page_of
from hub.kernel.schema import new_id, utcnow
from hub.kernel.security import Principal
from hub.kernel.store import Store


@dataclass(frozen=True)
class OrganisationView:
    id: uuid.UUID
    name: str
    created_at: datetime
    updated_at: datetime
    #: The caller's roles in it.
    roles: list[str]


def clean_organisation_name(raw: str) -> str:
    name = clean_name(raw)
    if not name or len(name) > MAX_ORGANISATION_NAME:
        message = f"Use 1 to {MAX_ORGANISATION_NAME} characters."
        raise Invalid(message, errors=[FieldError(field="name", message=message, source="body")])
    return name


@dataclass(eq=False)
class OrganisationService:
    store: Store
    access: AccessService

    async def create(self, principal: Principal, name_raw: str) -> OrganisationView:
        """A new organisation with the four built-in roles; its creator is the owner."""
        require_user_session(principal)
        name = clean_organisation_name(name_raw)
        now = utcnow()
        organisation = Organisation(id=new_id(), name=name, created_by=principal.user_id)
        async with self.store.uow() as uow:
            uow.session.add(organisation)
            await uow.session.flush()
            roles = {
                builtin: Role(
                    id=new_id(),
                    organisation_id=organisation.id,
                    name=builtin,
                    name_key=builtin,
                    description=BUILTIN_DESCRIPTIONS[builtin],
                    builtin=builtin,
                    permissions=[],
                )
                for builtin in BUILTIN_ORDER
            }
            uow.session.add_all(roles.values())
            uow.session.add(
                Membership(
                    organisation_id=organisation.id, user_id=principal.user_id, created_at=now
                )
            )
            await uow.session.flush()
            uow.session.add(
                MemberRole(
                    organisation_id=organisation.id,
                    user_id=principal.user_id,
                    role_id=roles[OWNER].id,
                )
            )
            org_id = organisation.id
            actor = principal.user_id
            uow.publish(
                OrganisationCreated(
                    actor_id=actor,
                    organisation_id=org_id,
                    name=name,
                    created_by=principal.user_id,
                )
            )
            uow.publish(
                MemberAdded(
                    actor_id=actor,
                    organisation_id=org_id,
                    user_id=principal.user_id,
                    roles=[OWNER],
                    via="created_organisation",
                )
            )
            await uow.commit()
        return OrganisationView(
            id=organisation.id,
            name=name,
            created_at=organisation.created_at,
            updated_at=organisation.updated_at,
            roles=[OWNER],
        )

    async def page(
        self, principal: Principal, *, limit: int | None, cursor: str | None
    ) -> Page[OrganisationView]:
        size = clamp_limit(limit)
        o, m = Organisation.__table__, Membership.__table__
        stmt = (
            select(o)
            .join(m, m.c.organisation_id == o.c.id)
            .where(m.c.user_id == principal.user_id)
            .order_by(o.c.id)
            .limit(size + 1)
        )
        if principal.organisation_id is not None:
            stmt = stmt.where(o.c.id == principal.organisation_id)
        if cursor:
            stmt = stmt.where(o.c.id > after_uuid(cursor))
        rows = list(await self.store.fetch(stmt))
        roles = await self._my_roles(principal.user_id, [r.id for r in rows[:size]])
        views = [
            OrganisationView(
                id=r.id,
                name=r.name,
                created_at=r.created_at,
                updated_at=r.updated_at,
                roles=roles.get(r.id, []),
            )
            for r in rows
        ]
        return page_of(views, size, lambda v: (str(v.id),))

    async def _my_roles(
        self, user_id: uuid.UUID, organisation_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[str]]:
        if not organisation_ids:
            return {}
        mr, r = MemberRole.__table__, Role.__table__
        rows = await self.store.fetch(
            select(mr.c.organisation_id, r.c.name)
            .join(r, r.c.id == mr.c.role_id)
            .where(mr.c.user_id == user_id, mr.c.organisation_id.in_(organisation_ids))
            .order_by(r.c.id)
        )
        out: dict[uuid.UUID, list[str]] = {}
        for row in rows:
            out.setdefault(row.organisation_id, []).append(row.name)
        return out

    async def get(self, actor: Actor) -> OrganisationView:
        organisation_id = actor.organisation_id
        return await self._view(organisation_id, [role.name for role in actor.roles])

    async def _view(self, organisation_id: uuid.UUID, roles: list[str]) -> OrganisationView:
        o = Organisation.__table__
        row = (await self.store.fetch(select(o).where(o.c.id == organisation_id))).one()
        return OrganisationView(
            id=row.id,
            name=row.name,
            created_at=row.created_at,
            updated_at=row.updated_at,
            roles=roles,
        )

    async def update(self, actor: Actor, *, name: str | None) -> OrganisationView:
        organisation_id = actor.organisation_id
        if name is not None:
            clean = clean_organisation_name(name)
            async with self.store.uow() as uow:
                changed = await uow.session.execute(
                    update(Organisation)
                    .where(Organisation.id == organisation_id, Organisation.name != clean)
                    .values(name=clean, updated_at=utcnow())
                    .returning(Organisation.id)
                )
                if changed.first() is not None:
                    uow.publish(
                        OrganisationUpdated(
                            actor_id=actor.user_id,
                            organisation_id=organisation_id,
                            name=clean,
                        )
                    )
                await uow.commit()
        return await self._view(organisation_id, [role.name for role in actor.roles])
