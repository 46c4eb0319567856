"""Organisations (tenants): creation with its built-in roles and first owner, listing,
reading and renaming. A caller only ever sees the organisations it is a member of."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace
from sqlalchemy import bindparam, select, update

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
from hub.identity.repositories.memberships import add_member
from hub.identity.services.access import AccessService, require_user_session
from hub.kernel.clock import Clock
from hub.kernel.pagination import Page
from hub.kernel.problems import sized
from hub.kernel.schema import new_id
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.web import overlay


def clean_organisation_name(raw: str) -> str:
    return sized(clean_name(raw), field="name", most=MAX_ORGANISATION_NAME)


def _organisation_query() -> Any:
    o = Organisation.__table__
    return select(o).where(o.c.id == bindparam("organisation_id"))


#: Built once: the read behind every GET /orgs/{id} (building it per request cost more
#: than running it).
_ORGANISATION = _organisation_query()


@dataclass(eq=False)
class OrganisationService:
    store: Store
    access: AccessService
    clock: Clock

    async def create(self, principal: Principal, name_raw: str) -> Any:
        """A new organisation with the four built-in roles; its creator is the owner."""
        require_user_session(principal)
        name = clean_organisation_name(name_raw)
        now = self.clock()
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
            await uow.session.flush()  # the roles exist before anyone holds one
            await add_member(
                uow.session, organisation.id, principal.user_id, [roles[OWNER].id], at=now
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
        return overlay(organisation, roles=[OWNER])

    async def page(
        self, principal: Principal, *, limit: int | None, cursor: str | None
    ) -> Page[Any]:
        """The caller's organisations, each with the caller's role names (``roles``)."""
        o, m = Organisation.__table__, Membership.__table__
        stmt = select(o).join(m, m.c.organisation_id == o.c.id)
        stmt = stmt.where(m.c.user_id == principal.user_id)
        if principal.organisation_id is not None:
            stmt = stmt.where(o.c.id == principal.organisation_id)
        page = await self.store.page(stmt, o.c.id, limit=limit, cursor=cursor)
        roles = await self._my_roles(principal.user_id, [r.id for r in page.items])
        return replace(page, items=[overlay(r, roles=roles.get(r.id, [])) for r in page.items])

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

    async def get(self, actor: Actor) -> Any:
        organisation_id = actor.organisation_id
        return await self._view(organisation_id, [role.name for role in actor.roles])

    async def _view(self, organisation_id: uuid.UUID, roles: list[str]) -> Any:
        row = (await self.store.fetch(_ORGANISATION, {"organisation_id": organisation_id})).one()
        return overlay(row, roles=roles)

    async def update(self, actor: Actor, *, name: str | None) -> Any:
        organisation_id = actor.organisation_id
        if name is not None:
            clean = clean_organisation_name(name)
            async with self.store.uow() as uow:
                changed = await uow.session.execute(
                    update(Organisation)
                    .where(Organisation.id == organisation_id, Organisation.name != clean)
                    .values(name=clean, updated_at=self.clock())
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
