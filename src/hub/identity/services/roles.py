"""Roles: the four built-ins every organisation has, and custom named sets of permissions.

A custom role may only contain keys of the permission catalogue, and nobody can create,
change, hand out or take away a role granting more than they hold themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity.api import Membership, RoleCreated, RoleDeleted, RoleUpdated
from hub.identity.domain.role_change import granted_by
from hub.identity.domain.roles import (
    MAX_ROLE_DESCRIPTION,
    MAX_ROLE_NAME,
    clean_name,
    expand,
    grant_of,
    is_builtin_name,
    name_key,
)
from hub.identity.models import MemberRole, Role
from hub.identity.services.access import AccessService
from hub.identity.services.invitation_standing import withdraw_unbacked
from hub.kernel.clock import Clock
from hub.kernel.errors import Conflict, FieldError, Invalid, NotFound
from hub.kernel.pagination import Page
from hub.kernel.problems import refusal, sized
from hub.kernel.schema import new_id
from hub.kernel.store import Store
from hub.kernel.web import overlay

role_not_found = refusal(NotFound, "No such role in this organisation.")


def _field(field: str, message: str, *, code: str = "validation_failed") -> Invalid:
    return Invalid(message, code=code, errors=[FieldError(field=field, message=message)])


def clean_role_name(raw: str) -> str:
    return sized(clean_name(raw), field="name", most=MAX_ROLE_NAME)


def clean_description(raw: str) -> str:
    text = raw.strip()
    if len(text) > MAX_ROLE_DESCRIPTION:
        raise _field("description", f"Use at most {MAX_ROLE_DESCRIPTION} characters.")
    return text


name_taken = refusal(Conflict, "A role with this name already exists here.", code="role_name_taken")


async def resolve_roles(
    session: AsyncSession, organisation_id: uuid.UUID, refs: Sequence[str], *, field: str
) -> list[Role]:
    """Roles of one organisation named by id or (case-insensitively) by name; 422 for
    any that is not there (another organisation's role id included)."""
    if not refs:
        raise _field(field, "Give at least one role.")
    wanted: list[uuid.UUID | str] = [_as_uuid(ref) or name_key(ref) for ref in refs]
    ids = [w for w in wanted if isinstance(w, uuid.UUID)]
    keys = [w for w in wanted if isinstance(w, str)]
    found = list(
        await session.scalars(
            select(Role).where(
                Role.organisation_id == organisation_id,
                or_(Role.id.in_(ids), Role.name_key.in_(keys)),
            )
        )
    )
    known: set[uuid.UUID | str] = {r.id for r in found} | {r.name_key for r in found}
    missing = [ref for ref, w in zip(refs, wanted, strict=True) if w not in known]
    if missing:
        raise Invalid(
            "Unknown role: " + ", ".join(missing),
            code="unknown_role",
            errors=[FieldError(field=field, message=f"no role {m!r} here") for m in missing],
        )
    return sorted(found, key=lambda r: r.id)


def _as_uuid(ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def role_names(roles: Iterable[Role]) -> list[str]:
    return [r.name for r in roles]


def _role_event(
    event: type[RoleCreated | RoleUpdated], actor: Membership, role: Role
) -> RoleCreated | RoleUpdated:
    """``identity.role_created`` or ``identity.role_updated``: the role as it now stands."""
    return event(
        actor_id=actor.user_id,
        organisation_id=role.organisation_id,
        role_id=role.id,
        name=role.name,
        permissions=list(role.permissions),
    )


@dataclass(eq=False)
class RoleService:
    store: Store
    access: AccessService
    clock: Clock

    def permissions_of(self, roles: Iterable[Role]) -> set[str]:
        """Every catalogue key the given roles grant (what handing them out hands out)."""
        return granted_by(roles, self.access.catalogue())

    def _view(self, role: Any) -> Any:
        """The role with every catalogue key it grants (built-ins: expanded patterns)."""
        granted = expand(grant_of(role.builtin, role.permissions), self.access.catalogue())
        return overlay(role, permissions=granted)

    async def page(self, actor: Membership, *, limit: int | None, cursor: str | None) -> Page[Any]:
        r = Role.__table__
        stmt = select(r).where(r.c.organisation_id == actor.organisation_id)
        page = await self.store.page(stmt, r.c.id, limit=limit, cursor=cursor)
        return replace(page, items=[self._view(role) for role in page.items])

    async def _role(
        self, session: AsyncSession, organisation_id: uuid.UUID, role_id: uuid.UUID
    ) -> Role:
        role = await session.scalar(
            select(Role)
            .where(Role.id == role_id, Role.organisation_id == organisation_id)
            .with_for_update()
        )
        if role is None:
            raise role_not_found()
        return role

    @staticmethod
    def _immutable(role: Role) -> None:
        if role.builtin is not None:
            raise Conflict(
                "Built-in roles cannot be changed or deleted; create a custom role instead.",
                code="builtin_role",
            )

    async def create(
        self,
        actor: Membership,
        *,
        name: str,
        description: str,
        permissions: Sequence[str],
    ) -> Any:
        organisation_id = actor.organisation_id
        clean = clean_role_name(name)
        if is_builtin_name(clean):
            raise name_taken()
        keys = self.access.known_permissions(permissions, empty="Give at least one permission.")
        self.access.require_holds(actor, keys)
        role = Role(
            id=new_id(),
            organisation_id=organisation_id,
            name=clean,
            name_key=name_key(clean),
            description=clean_description(description),
            builtin=None,
            permissions=keys,
        )
        try:
            async with self.store.uow() as uow:
                uow.session.add(role)
                await uow.session.flush()
                uow.publish(_role_event(RoleCreated, actor, role))
                await uow.commit()
        except IntegrityError:
            raise name_taken() from None
        return self._view(role)

    async def update(
        self,
        actor: Membership,
        role_id: uuid.UUID,
        *,
        name: str | None = None,
        description: str | None = None,
        permissions: Sequence[str] | None = None,
    ) -> Any:
        organisation_id = actor.organisation_id
        try:
            async with self.store.uow() as uow:
                role = await self._role(uow.session, organisation_id, role_id)
                self._immutable(role)
                self.access.require_holds(actor, role.permissions)
                changed = False
                if name is not None:
                    clean = clean_role_name(name)
                    if is_builtin_name(clean):
                        raise name_taken()
                    changed |= clean != role.name
                    role.name, role.name_key = clean, name_key(clean)
                if description is not None:
                    text = clean_description(description)
                    changed |= text != role.description
                    role.description = text
                if permissions is not None:
                    keys = self.access.known_permissions(
                        permissions, empty="Give at least one permission."
                    )
                    self.access.require_holds(actor, keys)
                    changed |= keys != sorted(role.permissions)
                    role.permissions = keys
                if changed:
                    role.updated_at = self.clock()
                    await uow.session.flush()
                    uow.publish(_role_event(RoleUpdated, actor, role))
                    # Its holders may have lost a right their invitations hand out.
                    await withdraw_unbacked(
                        uow, self, organisation_id, self.clock(), actor_id=actor.user_id
                    )
                await self.access.cache.commit(uow)
        except IntegrityError:
            raise name_taken() from None
        return self._view(role)

    async def delete(self, actor: Membership, role_id: uuid.UUID) -> None:
        organisation_id = actor.organisation_id
        async with self.store.uow() as uow:
            role = await self._role(uow.session, organisation_id, role_id)
            self._immutable(role)
            self.access.require_holds(actor, role.permissions)
            holders = await uow.session.scalar(
                select(func.count()).select_from(MemberRole).where(MemberRole.role_id == role.id)
            )
            if holders:
                raise Conflict(
                    f"{holders} member(s) still hold this role; give them another role first.",
                    code="role_in_use",
                    extra={"members": holders},
                )
            try:
                await uow.session.execute(delete(Role).where(Role.id == role.id))
            except IntegrityError:  # handed out concurrently, after the count
                raise Conflict(
                    "Members still hold this role; give them another role first.",
                    code="role_in_use",
                ) from None
            uow.publish(
                RoleDeleted(
                    actor_id=actor.user_id,
                    organisation_id=organisation_id,
                    role_id=role.id,
                    name=role.name,
                )
            )
            await self.access.cache.commit(uow)
