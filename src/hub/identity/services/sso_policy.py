"""Whether an organisation requires single sign-on of its members, and the check a
password sign-in passes through.

A member of an organisation that requires SSO cannot sign in (nor step up) with a
password: the answer, given only after the password proved right (so it tells nothing to
someone guessing), is 403 ``sso_required`` naming the organisation's providers. The
organisation's owners are exempt: they are the way back in when the provider is down or
misconfigured (break glass), and the ones who can turn the requirement off.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.dialects.postgresql import insert

from hub.identity.api import Membership
from hub.identity.domain.roles import OWNER
from hub.identity.models import (
    IdentityProvider,
    MemberRole,
    Organisation,
    Role,
    SsoPolicy,
)
from hub.identity.models import Membership as MembershipRow
from hub.kernel.clock import Clock
from hub.kernel.errors import Conflict, Forbidden
from hub.kernel.store import Store

_pol, _m = SsoPolicy.__table__, MembershipRow.__table__
_o, _p = Organisation.__table__, IdentityProvider.__table__
_mr, _r = MemberRole.__table__, Role.__table__


def _is_owner() -> Any:
    return exists().where(
        _mr.c.organisation_id == _pol.c.organisation_id,
        _mr.c.user_id == _m.c.user_id,
        _r.c.id == _mr.c.role_id,
        _r.c.builtin == OWNER,
    )


@dataclass(frozen=True)
class PolicyView:
    required: bool
    updated_at: Any


@dataclass(eq=False)
class SsoPolicyService:
    store: Store
    clock: Clock

    async def get(self, membership: Membership) -> PolicyView:
        row = await self.store.first(
            select(_pol.c.required, _pol.c.updated_at).where(
                _pol.c.organisation_id == membership.organisation_id
            )
        )
        if row is None:
            return PolicyView(required=False, updated_at=None)
        return PolicyView(required=row.required, updated_at=row.updated_at)

    async def set(self, membership: Membership, *, required: bool) -> PolicyView:
        """Require SSO (409 ``no_identity_provider`` while the organisation has no enabled
        provider: nobody could sign in) or stop requiring it."""
        organisation_id = membership.organisation_id
        now = self.clock()
        async with self.store.uow() as uow:
            if required:
                has_provider = await uow.session.scalar(
                    select(
                        exists().where(
                            _p.c.organisation_id == organisation_id, _p.c.enabled.is_(True)
                        )
                    )
                )
                if not has_provider:
                    raise Conflict(
                        "Add an enabled identity provider before requiring single sign-on.",
                        code="no_identity_provider",
                    )
            await uow.session.execute(
                insert(SsoPolicy)
                .values(organisation_id=organisation_id, required=required, updated_at=now)
                .on_conflict_do_update(
                    index_elements=[SsoPolicy.organisation_id],
                    set_={"required": required, "updated_at": now},
                )
            )
            await uow.commit()
        return PolicyView(required=required, updated_at=now)

    async def ensure_password_allowed(self, user_id: uuid.UUID) -> None:
        """403 ``sso_required`` when one of the user's organisations requires SSO of them."""
        row = await self.store.first(
            select(_o.c.id, _o.c.name)
            .select_from(_pol.join(_m, _m.c.organisation_id == _pol.c.organisation_id))
            .join(_o, _o.c.id == _pol.c.organisation_id)
            .where(_pol.c.required.is_(True), _m.c.user_id == user_id, ~_is_owner())
            .order_by(_o.c.id)
            .limit(1)
        )
        if row is None:
            return
        providers = await self.store.all(
            select(_p.c.id, _p.c.name)
            .where(and_(_p.c.organisation_id == row.id, _p.c.enabled.is_(True)))
            .order_by(_p.c.id)
        )
        raise Forbidden(
            f"{row.name} requires single sign-on: sign in through its identity provider.",
            code="sso_required",
            extra={
                "organisationId": str(row.id),
                "providers": [{"id": str(p.id), "name": p.name} for p in providers],
            },
        )
