"""OpenID Connect Back-Channel Logout 1.0: a provider tells the hub, server to server,
that a person signed out there (or was offboarded), and the hub sessions that person
opened through that provider end at once — refresh tokens and access tokens alike, as a
"sign out everywhere" ends them.

The provider POSTs a ``logout_token`` (a JWT it signs like its ID tokens) to the
provider's ``backchannelLogoutUri``. It is trusted only after its signature (the
provider's published keys), issuer, audience (this client), age (ten minutes) and ``jti``
held, it carries the logout event and no nonce, and its ``jti`` was not seen before (kept
in Redis for as long as a token is accepted, so a replay is refused). It ends the
sessions of ``sub``, of the provider session ``sid``, or of ``sub`` within ``sid`` when
both are named; a token matching no session is still a success (the session may have
ended here already).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import select

from hub.identity.domain.sso import logout_target, logout_token_invalid
from hub.identity.models import SsoSession
from hub.identity.services.oidc import (
    LEEWAY,
    LOGOUT_TOKEN_MAX_AGE,
    OidcClient,
    validate_logout_token,
)
from hub.identity.services.sessions import SessionService
from hub.identity.services.sso_providers import SsoProviders
from hub.kernel.clock import Clock
from hub.kernel.store import Store

_SEEN_KEY = "hub:sso:logout-jti:"


@dataclass(eq=False)
class SsoLogout:
    store: Store
    redis: Redis
    providers: SsoProviders
    oidc: OidcClient
    sessions: SessionService
    clock: Clock

    async def back_channel(self, provider_id: uuid.UUID, logout_token: str) -> int:
        """End the sessions the provider's logout token names; how many ended."""
        provider = await self.providers.usable(provider_id, enabled_only=False)
        endpoints = self.providers.endpoints(provider)
        claims = validate_logout_token(
            logout_token,
            await self.oidc.keys(endpoints),
            endpoints=endpoints,
            issuer=provider.issuer,
            client_id=self.providers.credentials(provider).client_id,
            now=self.clock(),
        )
        target = logout_target(claims)
        seen = _SEEN_KEY + hashlib.sha256(f"{provider.id}:{claims['jti']}".encode()).hexdigest()
        if not await self.redis.set(seen, b"1", nx=True, ex=LOGOUT_TOKEN_MAX_AGE + 2 * LEEWAY):
            raise logout_token_invalid("it was already used")
        among = select(SsoSession.session_id).where(SsoSession.provider_id == provider.id)
        if target.subject is not None:
            among = among.where(SsoSession.subject == target.subject)
        if target.provider_session is not None:
            among = among.where(SsoSession.provider_session == target.provider_session)
        async with self.store.uow() as uow:
            ended = await self.sessions.revoke_where(uow, reason="sso_logout", among=among)
            await uow.commit()
        await self.sessions.stop_access_tokens(ended)
        return len(ended)
