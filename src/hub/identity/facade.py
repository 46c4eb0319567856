"""In-process implementation of :class:`hub.identity.api.IdentityApi`.

Reads only (on the kernel's lean autocommit path); a split-out identity service would
answer the same calls over HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from hub.identity.api import (
    ApiKeyHolder,
    IdentityApi,
    IdentityAuthentication,
    IdentityConfigApi,
    Membership,
    OrganisationRef,
    PermissionGrant,
    RoleRef,
    RoleSetting,
    SettingChange,
    UserDisplay,
    UserSummary,
)
from hub.identity.domain.roles import grant_of, is_builtin_name, name_key
from hub.identity.models import MemberRole, Organisation, Role, User
from hub.identity.models import Membership as MembershipRow
from hub.identity.repositories.users import user_by_id
from hub.identity.services.access import AccessService, load_membership
from hub.identity.services.apikeys import ApiKeyService
from hub.identity.services.provisioning import Provisioning
from hub.identity.services.roles import RoleService, clean_description, clean_role_name
from hub.identity.services.signing import SigningKeys
from hub.kernel.errors import AppError
from hub.kernel.store import Store
from hub.kernel.web import to_schema, to_schemas

_MAX_IDS = 1000


class IdentityFacade(IdentityApi):
    def __init__(self, store: Store, access: AccessService | None = None) -> None:
        self.store = store
        #: The cached membership lookup; without it, every call reads the database.
        self.access = access

    async def resolve_principal(self, user_id: uuid.UUID) -> UserSummary | None:
        user = await user_by_id(self.store, user_id)
        if user is None or user.disabled:
            return None
        return to_schema(user, UserSummary)

    async def display_info(self, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, UserDisplay]:
        ids = list(dict.fromkeys(user_ids))[:_MAX_IDS]
        if not ids:
            return {}
        t = User.__table__
        rows = await self.store.all(
            select(
                t.c.id, t.c.display_name, t.c.email, t.c.disabled_at.is_(None).label("active")
            ).where(t.c.id.in_(ids))
        )
        return {r.id: to_schema(r, UserDisplay) for r in rows}

    async def membership(
        self,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        api_key_id: uuid.UUID | None,
    ) -> Membership | None:
        if self.access is not None:
            return await self.access.member_of(organisation_id, user_id, api_key_id=api_key_id)
        return await load_membership(self.store, organisation_id, user_id, api_key_id=api_key_id)

    async def has_permission(
        self,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        permission: str,
        *,
        api_key_id: uuid.UUID | None,
    ) -> bool:
        membership = await self.membership(organisation_id, user_id, api_key_id=api_key_id)
        return membership is not None and membership.allows(permission)

    async def members_with_permission(
        self, organisation_id: uuid.UUID, permission: str
    ) -> list[uuid.UUID]:
        mr, r, u = MemberRole.__table__, Role.__table__, User.__table__
        rows = await self.store.fetch(
            select(mr.c.user_id, r.c.builtin, r.c.permissions)
            .join(r, r.c.id == mr.c.role_id)
            .join(u, u.c.id == mr.c.user_id)
            .where(mr.c.organisation_id == organisation_id, u.c.disabled_at.is_(None))
            .order_by(mr.c.user_id)
        )
        allowed: dict[uuid.UUID, None] = {}
        for row in rows:
            if row.user_id not in allowed and grant_of(row.builtin, row.permissions).matches(
                permission
            ):
                allowed[row.user_id] = None
        return list(allowed)

    async def members_with_role(self, organisation_id: uuid.UUID, role: str) -> list[uuid.UUID]:
        mr, r, u = MemberRole.__table__, Role.__table__, User.__table__
        try:
            match = r.c.id == uuid.UUID(role)
        except ValueError:
            match = r.c.name_key == name_key(role)
        rows = await self.store.fetch(
            select(mr.c.user_id)
            .join(r, r.c.id == mr.c.role_id)
            .join(u, u.c.id == mr.c.user_id)
            .where(mr.c.organisation_id == organisation_id, match, u.c.disabled_at.is_(None))
            .order_by(mr.c.user_id)
        )
        return list(rows.scalars())

    async def members_of(self, organisation_id: uuid.UUID) -> list[uuid.UUID]:
        m, u = MembershipRow.__table__, User.__table__
        rows = await self.store.fetch(
            select(m.c.user_id)
            .join(u, u.c.id == m.c.user_id)
            .where(m.c.organisation_id == organisation_id, u.c.disabled_at.is_(None))
            .order_by(m.c.user_id)
        )
        return list(rows.scalars())

    async def organisations_of(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        m = MembershipRow.__table__
        rows = await self.store.fetch(
            select(m.c.organisation_id).where(m.c.user_id == user_id).order_by(m.c.organisation_id)
        )
        return list(rows.scalars())

    async def roles_of(self, organisation_id: uuid.UUID) -> list[RoleRef]:
        r = Role.__table__
        rows = await self.store.fetch(
            select(r.c.id, r.c.name, r.c.builtin)
            .where(r.c.organisation_id == organisation_id)
            .order_by(r.c.id)
        )
        return to_schemas(rows, RoleRef)


class AuthenticationFacade(IdentityAuthentication):
    """In-process :class:`IdentityAuthentication`: the signing keys' public half and the
    API-key resolver the kernel's authenticator uses in this process."""

    def __init__(self, signing: SigningKeys, api_keys: ApiKeyService) -> None:
        self.signing = signing
        self.api_keys = api_keys

    async def verification_keys(self) -> list[dict[str, Any]]:
        return await self.signing.public_keys()

    async def api_key_holder(self, key: str, client_ip: str) -> ApiKeyHolder | None:
        principal = await self.api_keys.resolve(key, client_ip)
        if principal is None or principal.api_key_id is None:
            return None
        return ApiKeyHolder(
            user_id=principal.user_id,
            api_key_id=principal.api_key_id,
            organisation_id=principal.organisation_id,
        )


def _problems(error: AppError, path: str) -> list[tuple[str, str]]:
    if not error.errors:
        return [(path, error.detail)]
    return [(f"{path}.{e.field}", e.message) for e in error.errors]


class IdentityConfigFacade(IdentityConfigApi):
    """Roles as configuration, through :class:`RoleService` (its checks, its events)."""

    def __init__(
        self,
        store: Store,
        roles: RoleService,
        access: AccessService,
        provisioning: Provisioning,
    ) -> None:
        self.store, self.roles, self.access = store, roles, access
        self.provisioning = provisioning

    async def provision_user(self, email: str, display_name: str, password: str) -> uuid.UUID:
        return await self.provisioning.user(email, display_name, password)

    async def provision_organisation(self, name: str, owner_id: uuid.UUID) -> uuid.UUID:
        return await self.provisioning.organisation(name, owner_id)

    async def provision_member(
        self, organisation_id: uuid.UUID, user_id: uuid.UUID, roles: Sequence[str]
    ) -> bool:
        return await self.provisioning.member(organisation_id, user_id, roles)

    async def organisations_named(self, ref: str) -> list[OrganisationRef]:
        o = Organisation.__table__
        try:
            match = o.c.id == uuid.UUID(ref)
        except ValueError:
            match = func.lower(o.c.name) == ref.strip().lower()
        rows = await self.store.fetch(select(o.c.id, o.c.name).where(match).order_by(o.c.id))
        return to_schemas(rows, OrganisationRef)

    async def role_problems(self, role: RoleSetting, path: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for check in (
            lambda: clean_role_name(role.name),
            lambda: clean_description(role.description),
            lambda: self.access.known_permissions(
                role.permissions, empty="Give at least one permission."
            ),
        ):
            try:
                check()
            except AppError as exc:
                found += _problems(exc, path)
        if is_builtin_name(role.name):
            found.append((f"{path}.name", f"{role.name!r} is a built-in role"))
        return found

    async def custom_roles(self, organisation_id: uuid.UUID) -> list[RoleSetting]:
        r = Role.__table__
        rows = await self.store.fetch(
            select(r.c.name, r.c.description, r.c.permissions)
            .where(r.c.organisation_id == organisation_id, r.c.builtin.is_(None))
            .order_by(r.c.name_key)
        )
        return [
            RoleSetting(
                name=row.name,
                description=row.description,
                permissions=tuple(sorted(row.permissions)),
            )
            for row in rows
        ]

    async def put_role(
        self, organisation_id: uuid.UUID, role: RoleSetting, *, actor_id: uuid.UUID
    ) -> SettingChange:
        actor = Membership(
            organisation_id=organisation_id,
            user_id=actor_id,
            roles=(),
            grants=(PermissionGrant(include=("*",)),),
        )
        r = Role.__table__
        existing = await self.store.first(
            select(r.c.id, r.c.description, r.c.permissions, r.c.name).where(
                r.c.organisation_id == organisation_id,
                r.c.name_key == name_key(clean_role_name(role.name)),
                r.c.builtin.is_(None),
            )
        )
        if existing is None:
            await self.roles.create(
                actor, name=role.name, description=role.description, permissions=role.permissions
            )
            return "created"
        wanted = (
            clean_role_name(role.name),
            role.description.strip(),
            sorted(set(role.permissions)),
        )
        if wanted == (existing.name, existing.description, sorted(existing.permissions)):
            return "unchanged"
        await self.roles.update(
            actor,
            existing.id,
            name=role.name,
            description=role.description,
            permissions=role.permissions,
        )
        return "updated"
