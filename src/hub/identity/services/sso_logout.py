"""Logging out with an identity provider, both ways.

**RP-initiated** (OpenID Connect RP-Initiated Logout 1.0): a person signed in through a
provider signs out of the hub and is sent on to the provider's ``end_session_endpoint``
to end their session there too. The hub session ends first; the answer is the provider's
URL with the sign-in's ID token as ``id_token_hint``, the ``client_id`` and, when
``HUB_FRONTEND_URL`` is set, that URL as ``post_logout_redirect_uri`` (register it at the
provider). The ID token is kept sealed beside the session only for this, and dropped when
the session ends, whichever way.

**Back-channel** (OpenID Connect Back-Channel Logout 1.0): a provider tells the hub,
server to server, that a person signed out there (or was offboarded), and the hub
sessions that person opened through that provider end at once — refresh tokens and
access tokens alike, as a "sign out everywhere" ends them.

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
from urllib.parse import urlencode

import structlog
from redis.asyncio import Redis
from sqlalchemy import select

from hub.identity.domain.secrets import UnsealableError
from hub.identity.domain.sso import logout_target, logout_token_invalid
from hub.identity.models import SsoSession
from hub.identity.services.auth import AuthService
from hub.identity.services.oidc import (
    LEEWAY,
    LOGOUT_TOKEN_MAX_AGE,
    OidcClient,
    validate_logout_token,
)
from hub.identity.services.sessions import SessionService
from hub.identity.services.sso_providers import SsoProviders
from hub.kernel.clock import Clock
from hub.kernel.errors import NotFound
from hub.kernel.security import Principal
from hub.kernel.store import Store

_SEEN_KEY = "hub:sso:logout-jti:"
log = structlog.get_logger("hub.identity")


@dataclass(eq=False)
class SsoLogout:
    store: Store
    redis: Redis
    providers: SsoProviders
    oidc: OidcClient
    sessions: SessionService
    auth: AuthService
    clock: Clock
    #: HUB_FRONTEND_URL: where the provider sends the browser back (empty: its own page).
    post_logout_redirect_uri: str = ""

    async def rp_initiated(self, principal: Principal) -> str | None:
        """End the caller's session (as ``POST /auth/logout``); the provider's end-session
        URL when the session was signed in through a provider that publishes one."""
        session_id = principal.session_id
        url = None if session_id is None else await self._end_session_url(session_id)
        await self.auth.logout(principal)  # drops the kept ID token with the session
        return url

    async def _end_session_url(self, session_id: uuid.UUID) -> str | None:
        row = await self.store.first(
            select(SsoSession.provider_id, SsoSession.id_token_sealed).where(
                SsoSession.session_id == session_id
            )
        )
        if row is None:
            return None
        try:
            provider = await self.providers.usable(row.provider_id, enabled_only=False)
        except NotFound:
            return None
        endpoint = self.providers.endpoints(provider).end_session_endpoint
        if endpoint is None:
            return None
        try:
            params = {"client_id": self.providers.credentials(provider).client_id}
        except UnsealableError:  # a lost HUB_SECRET_KEY: the hub session still ends
            log.error("sso_client_unreadable", provider_id=str(provider.id))
            return None
        hint = self.providers.open_id_token(row.id_token_sealed, session_id)
        if hint is not None:
            params["id_token_hint"] = hint
        if self.post_logout_redirect_uri:
            params["post_logout_redirect_uri"] = self.post_logout_redirect_uri
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

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
