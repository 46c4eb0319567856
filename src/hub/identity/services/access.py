"""Who may do what in an organisation: memberships, the permission check, tenancy.

One indexed query answers "is P a member of O and what do their roles grant", cached
per request and across requests (``services.membership_cache``); the check itself is pure
(``Membership.allows``). Outside an organisation a caller learns nothing:
a non-member, an unknown organisation and a key bound elsewhere all get the same 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.identity.api import Membership, RoleRef
from hub.identity.domain.role_change import permission_not_held
from hub.identity.domain.roles import grant_of
from hub.identity.models import ApiKey, MemberRole, Organisation, Role
from hub.identity.models import Membership as MembershipRow
from hub.identity.services.membership_cache import MembershipCache, Roles
from hub.kernel.errors import FieldError, Forbidden, Invalid
from hub.kernel.permissions import PermissionRegistry
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.tenancy import organisation_not_found, permission_denied


def _membership_query() -> Any:
    """A member's roles; none at all (not a member) while the organisation waits for its
    deletion, so the tenancy rule closes it to everyone (``services.org_deletion``)."""
    m, mr, r = MembershipRow.__table__, MemberRole.__table__, Role.__table__
    o = Organisation.__table__
    return (
        select(m.c.user_id, r.c.id.label("role_id"), r.c.name, r.c.builtin, r.c.permissions)
        .select_from(
            m.join(o, o.c.id == m.c.organisation_id)
            .outerjoin(
                mr,
                and_(mr.c.organisation_id == m.c.organisation_id, mr.c.user_id == m.c.user_id),
            )
            .outerjoin(r, r.c.id == mr.c.role_id)
        )
        .where(
            m.c.organisation_id == bindparam("organisation_id"),
            m.c.user_id == bindparam("user_id"),
            o.c.deletion_scheduled_at.is_(None),
        )
        .order_by(r.c.id)
    )


def _key_query() -> Any:
    k = ApiKey.__table__
    return select(k.c.user_id, k.c.organisation_id, k.c.permissions).where(
        k.c.id == bindparam("api_key_id"), k.c.revoked_at.is_(None)
    )


#: Built once: building the expression per request costs more than running it.
_MEMBERSHIP = _membership_query()
_KEY = _key_query()


def membership_from(
    rows: Sequence[Any],
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    api_key_id: uuid.UUID | None = None,
    scopes: Iterable[str] | None = None,
) -> Membership | None:
    """A :class:`Membership` from the membership query's rows: none is not a member; a row
    without a role is a member holding none (the outer join's side)."""
    held = [row for row in rows if row.role_id is not None] if rows else None
    return membership_of(held, organisation_id, user_id, api_key_id=api_key_id, scopes=scopes)


def membership_of(
    roles: Roles,
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    api_key_id: uuid.UUID | None = None,
    scopes: Iterable[str] | None = None,
) -> Membership | None:
    """A :class:`Membership` from the roles held (None: not a member)."""
    if roles is None:
        return None
    return Membership(
        organisation_id=organisation_id,
        user_id=user_id,
        roles=tuple(RoleRef(id=r.role_id, name=r.name, builtin=r.builtin) for r in roles),
        grants=tuple(grant_of(r.builtin, r.permissions) for r in roles),
        api_key_id=api_key_id,
        scopes=frozenset(scopes) if scopes is not None else None,
    )


async def key_scopes(
    store: Store, api_key_id: uuid.UUID, user_id: uuid.UUID, organisation_id: uuid.UUID
) -> list[str] | None:
    """What a live API key of ``user_id`` may do in the organisation (None: nothing, the
    key is revoked, someone else's or bound to another organisation). Never cached."""
    return _scopes(await store.all(_KEY, {"api_key_id": api_key_id}), user_id, organisation_id)


def _scopes(keys: list[Any], user_id: uuid.UUID, organisation_id: uuid.UUID) -> list[str] | None:
    """The permissions of the API key read (``keys``: zero or one row) if it is live, the
    user's and not bound to another organisation; else None."""
    if not keys:
        return None
    key = keys[0]
    if key.user_id != user_id or (
        key.organisation_id is not None and key.organisation_id != organisation_id
    ):
        return None
    return list(key.permissions)


async def load_membership(
    store: Store,
    organisation_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    api_key_id: uuid.UUID | None = None,
    session: AsyncSession | None = None,
) -> Membership | None:
    """The membership of a user (or of one of their API keys) in an organisation.

    With ``session``, read inside that transaction (after its locks); else on the lean
    autocommit path.
    """

    async def run(statement: Any, params: dict[str, Any]) -> list[Any]:
        if session is not None:
            return list(await session.execute(statement, params))
        return await store.all(statement, params)

    scopes: list[str] | None = None
    if api_key_id is not None:
        scopes = _scopes(await run(_KEY, {"api_key_id": api_key_id}), user_id, organisation_id)
        if scopes is None:
            return None
    rows = await run(_MEMBERSHIP, {"organisation_id": organisation_id, "user_id": user_id})
    return membership_from(rows, organisation_id, user_id, api_key_id=api_key_id, scopes=scopes)


def require_permission(membership: Membership, permission: str) -> None:
    if not membership.allows(permission):
        raise permission_denied(permission)


SESSION_REQUIRED_DETAIL = "This action needs a signed-in user; API keys cannot perform it."


def require_user_session(principal: Principal) -> None:
    """Some actions belong to a person, not to a machine acting for them."""
    if principal.api_key_id is not None:
        raise Forbidden(SESSION_REQUIRED_DETAIL, code="session_required")


@dataclass(eq=False)
class AccessService:
    store: Store
    registry: PermissionRegistry
    cache: MembershipCache

    async def member_of(
        self,
        organisation_id: uuid.UUID,
        user_id: uuid.UUID,
        *,
        api_key_id: uuid.UUID | None = None,
    ) -> Membership | None:
        """The membership of a user (or of one of their API keys) on the lean path: the
        roles from the membership cache, the key's scopes read fresh."""
        scopes: list[str] | None = None
        if api_key_id is not None:
            scopes = await key_scopes(self.store, api_key_id, user_id, organisation_id)
            if scopes is None:
                return None

        async def load() -> list[Any] | None:
            params = {"organisation_id": organisation_id, "user_id": user_id}
            return await self.store.all(_MEMBERSHIP, params) or None

        roles = await self.cache.roles(organisation_id, user_id, load)
        return membership_of(roles, organisation_id, user_id, api_key_id=api_key_id, scopes=scopes)

    def catalogue(self) -> frozenset[str]:
        return self.registry.keys()

    def known_permissions(self, permissions: Sequence[str], *, empty: str) -> list[str]:
        """The distinct keys, sorted; 422 naming every key outside the catalogue, or
        ``empty`` when there is none (a role or key granting nothing is a mistake)."""
        catalogue = self.catalogue()
        unknown = sorted({p for p in permissions if p not in catalogue})
        if unknown:
            raise Invalid(
                "Unknown permission: " + ", ".join(unknown) + " (see GET /permissions).",
                code="unknown_permission",
                errors=[
                    FieldError(field="permissions", message=f"{p!r} is not in the catalogue")
                    for p in unknown
                ],
            )
        if not permissions:
            raise Invalid(empty, errors=[FieldError(field="permissions", message=empty)])
        return sorted(set(permissions))

    async def membership(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        *,
        session: AsyncSession | None = None,
    ) -> Membership | None:
        if principal.organisation_id is not None and principal.organisation_id != organisation_id:
            return None
        if session is None:
            return await self.member_of(
                organisation_id, principal.user_id, api_key_id=principal.api_key_id
            )
        return await load_membership(
            self.store,
            organisation_id,
            principal.user_id,
            api_key_id=principal.api_key_id,
            session=session,
        )

    async def authorise(
        self,
        principal: Principal,
        organisation_id: uuid.UUID,
        permission: str | None,
        *,
        session: AsyncSession | None = None,
    ) -> Membership:
        """The caller's membership if it allows ``permission``: 404 outside, 403 inside."""
        membership = await self.membership(principal, organisation_id, session=session)
        if membership is None:
            raise organisation_not_found()
        if permission is not None:
            require_permission(membership, permission)
        return membership

    def require_holds(self, actor: Membership, permissions: Iterable[str]) -> None:
        """No escalation: one may only hand out (or take away) what one holds oneself."""
        missing = {p for p in permissions if not actor.allows(p)}
        if missing:
            raise permission_not_held(missing)

    @staticmethod
    async def lock_organisation(session: AsyncSession, organisation_id: uuid.UUID) -> None:
        """Serialise changes to an organisation's members (last-owner checks rely on it).

        ``FOR NO KEY UPDATE``: member changes wait for each other, while inserts that
        merely reference the organisation (an invitation being accepted) do not wait.
        """
        found = await session.scalar(
            select(Organisation.id)
            .where(Organisation.id == organisation_id)
            .with_for_update(key_share=True)
        )
        if found is None:
            raise organisation_not_found()
