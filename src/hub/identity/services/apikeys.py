"""API keys for machine clients: shown once, stored as a keyed hash, narrowed to a list of
permissions, revocable at once.

A key acts for the user who created it and can never do more than that user can do at
the moment of the request (its permissions are intersected with the user's roles). A key
bound to an organisation (a service-account key) works in that organisation only and is
managed by whoever holds ``identity.api_keys.manage`` there.

Checking a key costs one indexed SELECT and an HMAC; ``last_used_at`` is written at most
once per ``HUB_API_KEY_TOUCH_SECONDS``. Revocation is immediate: the row is read on every
request.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, insert, literal, or_, select, update

from hub.identity.api import ApiKeyCreated, ApiKeyRevoked
from hub.identity.domain import apikeys
from hub.identity.domain.roles import API_KEYS_MANAGE, clean_name
from hub.identity.domain.secrets import IdentitySecrets, KeyedHash
from hub.identity.domain.settings import IdentitySettings
from hub.identity.models import ApiKey, User
from hub.identity.services.access import (
    AccessService,
    require_permission,
    require_user_session,
)
from hub.identity.services.mfa import publish_lock
from hub.identity.services.throttle import Throttle
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import FieldError, Invalid, NotFound
from hub.kernel.pagination import Page
from hub.kernel.problems import refusal
from hub.kernel.schema import new_id
from hub.kernel.security import Principal, require_recent_authentication
from hub.kernel.store import Store

MAX_KEY_NAME = 100


_keys = ApiKey.__table__
#: A key as it is listed: its columns and the prefix that tells keys apart
#: (``domain.apikeys.display_prefix``, computed by the query).
_KEY_COLUMNS = (*_keys.c, (literal(apikeys.PREFIX) + _keys.c.public_id).label("prefix"))


def _resolve_query() -> Any:
    k, u = ApiKey.__table__, User.__table__
    return (
        select(
            k.c.id,
            k.c.user_id,
            k.c.organisation_id,
            k.c.secret_hash,
            k.c.secret_key_id,
            k.c.expires_at,
            k.c.last_used_at,
            k.c.revoked_at,
            u.c.disabled_at,
        )
        .join(u, u.c.id == k.c.user_id)
        .where(k.c.public_id == bindparam("public_id"))
    )


_RESOLVE = _resolve_query()


async def revoke_all_api_keys(
    uow: UnitOfWork, user_id: uuid.UUID, *, actor_id: uuid.UUID | None, now: datetime
) -> int:
    """Revoke every live key of ``user_id`` in ``uow`` (one ``api_key_revoked`` each); how
    many. Used when the account may have been in someone else's hands: disabling it, or
    a password reset (a thief's keys must not outlive the thief's password)."""
    keys = await uow.session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor_id)
        .returning(ApiKey.id, ApiKey.organisation_id)
    )
    count = 0
    for key_id, organisation_id in keys:
        uow.publish(
            ApiKeyRevoked(
                actor_id=actor_id,
                organisation_id=organisation_id,
                api_key_id=key_id,
                user_id=user_id,
            )
        )
        count += 1
    return count


key_not_found = refusal(NotFound, "No such API key.")


@dataclass(eq=False)
class ApiKeyService:
    store: Store
    settings: IdentitySettings
    secrets: IdentitySecrets
    throttle: Throttle
    access: AccessService
    clock: Clock

    @property
    def hashes(self) -> KeyedHash:
        return self.secrets.api_keys

    async def create(
        self,
        principal: Principal,
        *,
        name: str,
        permissions: Sequence[str],
        organisation_id: uuid.UUID | None,
        expires_at: datetime | None,
    ) -> tuple[Row[Any], str]:
        """A new key and its secret, which is returned here and never again."""
        require_user_session(principal)
        require_recent_authentication(principal, self.settings.recent_auth_seconds)
        clean = clean_name(name)
        if not clean or len(clean) > MAX_KEY_NAME:
            message = f"Use 1 to {MAX_KEY_NAME} characters."
            raise Invalid(message, errors=[FieldError(field="name", message=message)])
        keys = self.access.known_permissions(
            permissions, empty="Give the key at least one permission."
        )
        now = self.clock()
        if expires_at is not None and expires_at <= now + timedelta(minutes=1):
            message = "Choose an expiry in the future."
            raise Invalid(message, errors=[FieldError(field="expiresAt", message=message)])
        if organisation_id is not None:
            actor = await self.access.authorise(principal, organisation_id, API_KEYS_MANAGE)
            self.access.require_holds(actor, keys)
        full, public_id, secret = apikeys.new_api_key()
        async with self.store.uow() as uow:
            row = (
                await uow.session.execute(
                    insert(ApiKey)
                    .values(
                        id=new_id(),
                        user_id=principal.user_id,
                        organisation_id=organisation_id,
                        name=clean,
                        public_id=public_id,
                        secret_hash=self.hashes.digest(secret),
                        secret_key_id=self.hashes.key_id,
                        permissions=keys,
                        created_at=now,
                        expires_at=expires_at,
                    )
                    .returning(*_KEY_COLUMNS)
                )
            ).one()
            uow.publish(
                ApiKeyCreated(
                    actor_id=principal.user_id,
                    organisation_id=organisation_id,
                    api_key_id=row.id,
                    user_id=principal.user_id,
                    name=clean,
                    permissions=keys,
                )
            )
            await uow.commit()
        return row, full

    async def page(
        self,
        principal: Principal,
        *,
        organisation_id: uuid.UUID | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[Any]:
        """The caller's own keys, or (with ``organisation_id``) every key of that
        organisation, for whoever manages its keys. Newest first."""
        require_user_session(principal)
        if organisation_id is not None:
            await self.access.authorise(principal, organisation_id, API_KEYS_MANAGE)
            owned = _keys.c.organisation_id == organisation_id
        else:
            owned = _keys.c.user_id == principal.user_id
        stmt = select(*_KEY_COLUMNS).where(owned)
        return await self.store.page(
            stmt, _keys.c.id, limit=limit, cursor=cursor, newest_first=True
        )

    async def revoke(self, principal: Principal, key_id: uuid.UUID) -> None:
        """Revoke one's own key, or an organisation's key as its key manager. Revoking
        an already revoked key changes nothing (and still answers success)."""
        require_user_session(principal)
        k = ApiKey.__table__
        row = (await self.store.fetch(select(k).where(k.c.id == key_id))).first()
        if row is None:
            raise key_not_found()
        if row.user_id != principal.user_id:
            if row.organisation_id is None:
                raise key_not_found()
            membership = await self.access.membership(principal, row.organisation_id)
            if membership is None:
                raise key_not_found()
            require_permission(membership, API_KEYS_MANAGE)
        async with self.store.uow() as uow:
            revoked = await uow.session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=self.clock(), revoked_by=principal.user_id)
                .returning(ApiKey.id)
            )
            if revoked.first() is not None:
                uow.publish(
                    ApiKeyRevoked(
                        actor_id=principal.user_id,
                        organisation_id=row.organisation_id,
                        api_key_id=key_id,
                        user_id=row.user_id,
                    )
                )
            await uow.commit()

    # ------------------------------------------------------------------ authentication

    async def resolve(self, key: str, client_ip: str) -> Principal | None:
        """The kernel's API-key resolver: the key's principal, or None (a 401)."""
        throttle = self.throttle
        ip = throttle.ip(client_ip)
        if await throttle.is_locked(ip):
            return None
        parsed = apikeys.parse_api_key(key)
        row = None
        public_id, secret = parsed or ("", "")
        made_by: str | None = None
        if parsed is not None:
            row = (await self.store.fetch(_RESOLVE, {"public_id": public_id})).first()
            if row is not None:
                made_by = self.hashes.matching_key(secret, row.secret_hash)
                if made_by is None:
                    row = None
        now = self.clock()
        if row is None:
            attempt = await throttle.failed(ip)
            await publish_lock(self.store, attempt, user_id=None, email=None, ip=client_ip)
            return None
        if (
            row.revoked_at is not None
            or row.disabled_at is not None
            or (row.expires_at is not None and row.expires_at <= now)
        ):
            return None
        # Hashed under a previous HUB_SECRET_KEY (or not yet labelled with its key): the
        # secret is at hand now, so the row moves to the current key, the only moment it
        # can (`hub secrets status` counts the rows still waiting for it).
        key_id = self.hashes.key_id
        upgrade = made_by != key_id or row.secret_key_id != key_id
        touch = timedelta(seconds=self.settings.api_key_touch_seconds)
        touch_due = row.last_used_at is None or now - row.last_used_at >= touch
        if upgrade or touch_due:
            async with self.store.uow() as uow:
                if upgrade:
                    await uow.session.execute(
                        update(ApiKey)
                        .where(ApiKey.id == row.id, ApiKey.secret_hash == row.secret_hash)
                        .values(secret_hash=self.hashes.digest(secret), secret_key_id=key_id)
                    )
                if touch_due:
                    await uow.session.execute(
                        update(ApiKey)
                        .where(
                            ApiKey.id == row.id,
                            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - touch),
                        )
                        .values(last_used_at=now)
                    )
                await uow.commit()
        return Principal(
            user_id=row.user_id,
            api_key_id=row.id,
            organisation_id=row.organisation_id,
            amr=("key",),
        )
