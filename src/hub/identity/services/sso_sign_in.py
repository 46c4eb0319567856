"""Signing in through an identity provider: OpenID Connect's authorization code flow with
PKCE, ``state`` and ``nonce`` (the hub is the relying party).

1. **Start**: a fresh ``state``, ``nonce`` and PKCE verifier are kept in Redis
   (``services.sso_state``); the browser is sent to the provider's authorization
   endpoint with the state, the nonce and the verifier's S256 challenge.
2. **Callback**: the state is taken (single use: a replayed callback finds nothing), the
   code exchanged at the token endpoint with the client secret and the verifier, and the
   ID token validated (``services.oidc``: signature against the provider's keys, issuer,
   audience, expiry, the nonce of *this* sign-in).
3. **Account**: the provider's subject, once linked, signs into its account. Otherwise
   the verified address decides: an account already using it is **not** taken over: the
   answer is a link offer its owner confirms with the account's password (and second
   factor), once, within ``HUB_OIDC_LINK_TTL_SECONDS``; an address at one of the
   provider's e-mail domains gets an account on the spot (just in time) and, for an
   organisation's provider, a membership with the provider's default role. Anything else
   is refused. An address the provider has not verified is refused before any of this.

The session opened is a password sign-in's (same tokens, same rules for disabled
accounts), with the method ``fed``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge  # type: ignore[import-untyped]
from sqlalchemy import exc, select, update
from sqlalchemy.dialects.postgresql import insert

from hub.identity.api import MemberAdded, UserEmailVerified, UserRegistered
from hub.identity.domain.roles import MEMBER
from hub.identity.domain.sso import (
    CLAIMS_REQUEST,
    SCOPES,
    SSO_METHODS,
    Asserted,
    asserted_identity,
    domain_of,
    lacks_email,
    may_provision,
    sso_refused,
    with_userinfo,
)
from hub.identity.models import Role, SsoIdentity, SsoSession, User
from hub.identity.repositories.memberships import add_member
from hub.identity.repositories.users import UserRecord, user_by_email, user_by_id
from hub.identity.repositories.ways_in import NO_PASSWORD
from hub.identity.services.access import AccessService
from hub.identity.services.auth import AuthService
from hub.identity.services.oidc import OidcClient
from hub.identity.services.sessions import IssuedTokens
from hub.identity.services.sso_providers import SsoProviders
from hub.identity.services.sso_state import PendingLink, SsoState
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.errors import Conflict, Unauthorized
from hub.kernel.problems import refusal
from hub.kernel.schema import new_id
from hub.kernel.store import Store
from hub.kernel.web import ClientInfo

_links = SsoIdentity.__table__


state_invalid = refusal(
    Unauthorized,
    "This sign-in expired, was already completed or did not start here; start again.",
    code="sso_state_invalid",
)


link_invalid = refusal(
    Unauthorized,
    "The link offer expired, was used or does not match this account; sign in through "
    "the identity provider again.",
    code="sso_link_invalid",
)


@dataclass(frozen=True)
class LinkOffer:
    """An account already uses the verified address: its owner must confirm the link."""

    link_token: str
    email: str
    expires_in: int


@dataclass(eq=False)
class SsoSignIn:
    store: Store
    providers: SsoProviders
    state: SsoState
    oidc: OidcClient
    auth: AuthService
    access: AccessService
    clock: Clock

    async def start(self, provider_id: uuid.UUID) -> str:
        """The provider's authorization URL for a new sign-in (404 for an unknown or
        disabled provider)."""
        row = await self.providers.usable(provider_id)
        state, pending = await self.state.begin(row.id)
        endpoint = self.providers.endpoints(row).authorization_endpoint
        params = {
            "response_type": "code",
            "client_id": self.providers.credentials(row).client_id,
            "redirect_uri": self.providers.redirect_uri,
            "scope": SCOPES,
            "state": state,
            "nonce": pending.nonce,
            "code_challenge": create_s256_code_challenge(pending.code_verifier),
            "code_challenge_method": "S256",
            "claims": CLAIMS_REQUEST,
        }
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    async def callback(
        self, *, state: str, code: str | None, error: str | None, client: ClientInfo
    ) -> IssuedTokens | LinkOffer:
        pending = await self.state.take(state)
        if pending is None:
            raise state_invalid()
        if error is not None or not code:
            raise Unauthorized(
                f"The identity provider did not sign you in ({error or 'no code'}).",
                code="sso_failed",
            )
        row = await self.providers.usable(pending.provider_id)
        endpoints = self.providers.endpoints(row)
        credentials = self.providers.credentials(row)
        answer = await self.oidc.exchange(
            endpoints,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            code=code,
            redirect_uri=self.providers.redirect_uri,
            code_verifier=pending.code_verifier,
        )
        keys = await self.oidc.keys(endpoints)
        access_token = answer.get("access_token")
        claims = self.oidc.validate(
            str(answer["id_token"]),
            keys,
            endpoints=endpoints,
            issuer=row.issuer,
            client_id=credentials.client_id,
            nonce=pending.nonce,
            access_token=access_token if isinstance(access_token, str) else None,
            now=self.clock(),
        )
        userinfo = endpoints.userinfo_endpoint
        if lacks_email(claims) and userinfo and isinstance(access_token, str):
            info = await self.oidc.userinfo(userinfo, access_token, claims["sub"])
            claims = with_userinfo(claims, info)
        person = replace(asserted_identity(claims), id_token=str(answer["id_token"]))
        return await self._account(row, person, client)

    async def _account(
        self, provider: Any, person: Asserted, client: ClientInfo
    ) -> IssuedTokens | LinkOffer:
        linked = await self.store.scalar(
            select(_links.c.user_id).where(
                _links.c.provider_id == provider.id, _links.c.subject == person.subject
            )
        )
        if linked is not None:
            user = await user_by_id(self.store, linked)
            if user is None:  # deleted between the two reads
                raise state_invalid()
            return await self._signed_in(provider, person, user, client, methods=[])
        existing = await user_by_email(self.store, person.email)
        if existing is not None:
            token = await self.state.offer_link(
                PendingLink(
                    provider_id=provider.id,
                    subject=person.subject,
                    user_id=existing.id,
                    email=existing.email,
                    provider_session=person.provider_session,
                    id_token=person.id_token,
                )
            )
            return LinkOffer(
                link_token=token,
                email=existing.email,
                expires_in=self.auth.settings.oidc_link_ttl_seconds,
            )
        if not may_provision(person.email, list(provider.email_domains)):
            raise sso_refused(
                "No account uses this address, and this identity provider does not create "
                "accounts for its domain; ask to be invited.",
                "sso_no_account",
            )
        unproved = await self.providers.unproved(provider.organisation_id)
        if unproved([domain_of(person.email)]):
            raise sso_refused(
                "No account uses this address, and the organisation behind this identity "
                "provider has not proved that it owns the address's domain; ask to be invited.",
                "sso_domain_unverified",
            )
        user_id = await self._create_account(provider, person)
        created = await user_by_id(self.store, user_id)
        assert created is not None
        return await self._signed_in(provider, person, created, client, methods=[])

    async def _create_account(self, provider: Any, person: Asserted) -> uuid.UUID:
        now = self.clock()
        try:
            async with self.store.uow() as uow:
                user = User(
                    email=person.email,
                    display_name=person.name,
                    password_hash=NO_PASSWORD,
                    email_verified_at=now,
                )
                uow.session.add(user)
                await uow.session.flush()
                uow.session.add(
                    SsoIdentity(provider_id=provider.id, subject=person.subject, user_id=user.id)
                )
                uow.publish(
                    UserRegistered(
                        actor_id=user.id,
                        user_id=user.id,
                        email=person.email,
                        display_name=person.name,
                    )
                )
                uow.publish(
                    UserEmailVerified(actor_id=user.id, user_id=user.id, email=person.email)
                )
                await uow.commit()
        except exc.IntegrityError:
            # A concurrent first sign-in of the same person created it: the retry links.
            raise Conflict(
                "This account was just created by another sign-in; sign in again.",
                code="sso_concurrent_sign_in",
            ) from None
        return user.id

    async def _signed_in(
        self,
        provider: Any,
        person: Asserted,
        user: UserRecord,
        client: ClientInfo,
        *,
        methods: list[str],
    ) -> IssuedTokens:
        self.auth.ensure_may_sign_in(user)
        await self._join(provider, person, user.id)
        async with self.store.uow() as uow:
            await uow.session.execute(
                update(SsoIdentity)
                .where(
                    SsoIdentity.provider_id == provider.id, SsoIdentity.subject == person.subject
                )
                .values(last_used_at=self.clock())
            )
            await uow.commit()

        def remember(uow: UnitOfWork, session_id: uuid.UUID) -> None:
            uow.session.add(
                SsoSession(
                    session_id=session_id,
                    provider_id=provider.id,
                    subject=person.subject,
                    provider_session=person.provider_session,
                    id_token_sealed=self.providers.seal_id_token(person.id_token, session_id),
                )
            )

        return await self.auth.open_session(user, [*SSO_METHODS, *methods], client, also=remember)

    async def _join(self, provider: Any, person: Asserted, user_id: uuid.UUID) -> None:
        """Just-in-time membership: through an organisation's provider, an address at one
        of its domains makes its holder a member with the default role (once)."""
        organisation_id = provider.organisation_id
        if organisation_id is None or not may_provision(person.email, list(provider.email_domains)):
            return
        async with self.store.uow() as uow:
            r = Role.__table__
            if provider.default_role_id is not None:
                role = (
                    await uow.session.execute(
                        select(r.c.id, r.c.name).where(
                            r.c.id == provider.default_role_id,
                            r.c.organisation_id == organisation_id,
                        )
                    )
                ).first()
            else:
                role = None
            if role is None:
                role = (
                    await uow.session.execute(
                        select(r.c.id, r.c.name).where(
                            r.c.organisation_id == organisation_id, r.c.builtin == MEMBER
                        )
                    )
                ).first()
            chosen = [role] if role is not None else []
            if not await add_member(
                uow.session, organisation_id, user_id, [r.id for r in chosen], at=self.clock()
            ):
                return  # already a member: roles stay as they are
            names = [r.name for r in chosen]
            uow.publish(
                MemberAdded(
                    actor_id=user_id,
                    organisation_id=organisation_id,
                    user_id=user_id,
                    roles=names,
                    via="sso",
                )
            )
            await self.access.cache.commit(uow)

    async def confirm_link(
        self,
        link_token: str,
        password: str,
        client: ClientInfo,
        *,
        code: str | None,
        recovery_code: str | None,
    ) -> IssuedTokens:
        """The account's owner confirms a link offer with its password (and its second
        factor when it has one): the provider's subject is linked, and signed in."""
        pending = await self.state.peek_link(link_token)
        if pending is None:
            raise link_invalid()
        user = await self.auth.check_password(pending.email, password, client)
        if user.id != pending.user_id:
            raise link_invalid()
        self.auth.ensure_may_sign_in(user)
        methods = await self.auth.with_second_factor(user, client, code, recovery_code)
        if not await self.state.close_link(link_token):
            raise link_invalid()
        provider = await self.providers.usable(pending.provider_id)
        async with self.store.uow() as uow:
            linked = await uow.session.execute(
                insert(SsoIdentity)
                .values(
                    id=new_id(),
                    provider_id=provider.id,
                    subject=pending.subject,
                    user_id=user.id,
                )
                .on_conflict_do_nothing()
                .returning(SsoIdentity.user_id)
            )
            if linked.first() is None:
                raise Conflict(
                    "This identity is already linked to an account.", code="sso_already_linked"
                )
            await uow.commit()
        person = Asserted(
            subject=pending.subject,
            email=user.email,
            name=user.display_name,
            provider_session=pending.provider_session,
            id_token=pending.id_token,
        )
        return await self._signed_in(provider, person, user, client, methods=methods)
