"""Identity providers (OpenID Connect) as their administrators manage them: an
organisation's (``identity.sso.manage`` in it) or the platform's (platform administrators).

The client id and secret are sealed with AES-GCM under a key derived from
``HUB_SECRET_KEY`` for this purpose only, bound to the provider's id (a sealed value
copied onto another row does not open); ``hub secrets rotate`` re-seals them under a new
key. The secret is write-only: no answer carries it, no event or log line names it. The
issuer is discovered when saved (its endpoints stored with the row), so a typo is
refused at once rather than at the first sign-in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select, update

from hub.identity.api import (
    IdentityProviderCreated,
    IdentityProviderDeleted,
    IdentityProviderUpdated,
    Membership,
)
from hub.identity.domain.roles import OWNER
from hub.identity.domain.secrets import IdentitySecrets, UnsealableError
from hub.identity.domain.sso import (
    clean_client_value,
    clean_domains,
    clean_issuer,
    clean_provider_name,
    unverified,
)
from hub.identity.models import IdentityProvider, Role
from hub.identity.repositories.org_domains import verified_domains
from hub.identity.services.admin import AdminService
from hub.identity.services.oidc import Endpoints, OidcClient
from hub.kernel.errors import AppError, FieldError, Invalid, NotFound
from hub.kernel.pagination import Page
from hub.kernel.problems import refusal
from hub.kernel.schema import new_id
from hub.kernel.security import Principal
from hub.kernel.store import Store
from hub.kernel.web import overlay

#: Who manages: an organisation's member holding identity.sso.manage there (its
#: membership), or a platform administrator (their principal) for platform providers.
Manager = Membership | Principal

_p = IdentityProvider.__table__


provider_not_found = refusal(NotFound, "No such identity provider.", code="provider_not_found")


@dataclass(frozen=True)
class ProviderChanges:
    name: str | None = None
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    email_domains: list[str] | None = None
    default_role_id: uuid.UUID | None = None
    #: Whether ``default_role_id`` was sent (null clears it).
    default_role_set: bool = False
    enabled: bool | None = None


log = structlog.get_logger("hub.identity")


@dataclass(frozen=True)
class DiscoveryRefresh:
    """What one run of :meth:`SsoProviders.refresh_discovery` did, per provider."""

    refreshed: int
    failed: int
    unchanged: int


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str


@dataclass(eq=False)
class SsoProviders:
    store: Store
    secrets: IdentitySecrets
    oidc: OidcClient
    admins: AdminService
    #: ``{HUB_PUBLIC_URL}/api/v1/auth/sso/callback``: the redirect URI to register.
    redirect_uri: str
    #: HUB_SSO_VERIFIED_DOMAINS_ONLY: an organisation's provider makes accounts only at
    #: the domains the organisation proved (services.org_domains).
    verified_domains_only: bool = True

    async def _scope(self, manager: Manager) -> uuid.UUID | None:
        if isinstance(manager, Membership):
            return manager.organisation_id
        await self.admins.require_admin(manager)
        return None

    @staticmethod
    def _in_scope(scope: uuid.UUID | None) -> Any:
        if scope is None:
            return _p.c.organisation_id.is_(None)
        return _p.c.organisation_id == scope

    def credentials(self, row: Any) -> ClientCredentials:
        """The provider's client id and secret, opened (only to talk to the provider)."""
        context = str(row.id).encode()
        return ClientCredentials(
            client_id=self.secrets.sso_clients.open(row.client_id_sealed, context=context).decode(),
            client_secret=self.secrets.sso_clients.open(
                row.client_secret_sealed, context=context
            ).decode(),
        )

    def seal_id_token(self, id_token: str | None, session_id: uuid.UUID) -> bytes | None:
        if id_token is None:
            return None
        return self.secrets.sso_id_tokens.seal(id_token.encode(), context=session_id.bytes)

    def open_id_token(self, sealed: bytes | None, session_id: uuid.UUID) -> str | None:
        """The ID token kept for a session, or None (none kept, or its key is lost: the
        logout then goes without the hint, as the specification allows)."""
        if sealed is None:
            return None
        try:
            return self.secrets.sso_id_tokens.open(sealed, context=session_id.bytes).decode()
        except UnsealableError:
            return None

    async def unproved(self, scope: uuid.UUID | None) -> Callable[[list[str]], list[str]]:
        """Which of a provider's domains make no accounts for want of proof (none for a
        platform provider, or with HUB_SSO_VERIFIED_DOMAINS_ONLY off)."""
        if scope is None or not self.verified_domains_only:
            return lambda domains: []
        proved = await verified_domains(self.store, scope)
        return lambda domains: unverified(domains, proved)

    def _view(self, row: Any, unproved: Callable[[list[str]], list[str]]) -> Any:
        return overlay(
            row,
            client_id=self.credentials(row).client_id,
            redirect_uri=self.redirect_uri,
            backchannel_logout_uri=self.redirect_uri.removesuffix("/callback")
            + f"/{row.id}/backchannel-logout",
            unverified_domains=unproved(list(row.email_domains)),
        )

    async def _row(self, scope: uuid.UUID | None, provider_id: uuid.UUID) -> Any:
        row = await self.store.first(
            select(_p).where(_p.c.id == provider_id, self._in_scope(scope))
        )
        if row is None:
            raise provider_not_found()
        return row

    async def page(self, manager: Manager, *, limit: int | None, cursor: str | None) -> Page[Any]:
        scope = await self._scope(manager)
        page = await self.store.page(
            select(_p).where(self._in_scope(scope)), _p.c.id, limit=limit, cursor=cursor
        )
        unproved = await self.unproved(scope)
        return Page(
            items=[self._view(r, unproved) for r in page.items],
            limit=page.limit,
            next_cursor=page.next_cursor,
        )

    async def get(self, manager: Manager, provider_id: uuid.UUID) -> Any:
        scope = await self._scope(manager)
        return self._view(await self._row(scope, provider_id), await self.unproved(scope))

    async def _default_role(self, scope: uuid.UUID | None, role_id: uuid.UUID | None) -> None:
        """A default role must be one of the organisation's, and not the owner role
        (first sign-in must never hand out ownership)."""
        if role_id is None:
            return
        if scope is None:
            message = "Platform providers make no memberships: leave defaultRoleId out."
            raise Invalid(
                message, errors=[FieldError(field="defaultRoleId", message=message, source="body")]
            )
        r = Role.__table__
        role = await self.store.first(
            select(r.c.builtin).where(r.c.id == role_id, r.c.organisation_id == scope)
        )
        if role is None or role.builtin == OWNER:
            message = "Choose one of the organisation's roles other than owner."
            raise Invalid(
                message, errors=[FieldError(field="defaultRoleId", message=message, source="body")]
            )

    async def create(
        self,
        manager: Manager,
        *,
        name: str,
        issuer: str,
        client_id: str,
        client_secret: str,
        email_domains: list[str],
        default_role_id: uuid.UUID | None,
        enabled: bool,
    ) -> Any:
        scope = await self._scope(manager)
        clean_name = clean_provider_name(name)
        clean_id = clean_client_value(client_id, "clientId")
        clean_secret = clean_client_value(client_secret, "clientSecret")
        domains = clean_domains(email_domains)
        await self._default_role(scope, default_role_id)
        clean_iss = clean_issuer(issuer)
        endpoints = await self.oidc.discover(clean_iss)
        provider = IdentityProvider(
            id=new_id(),
            organisation_id=scope,
            name=clean_name,
            issuer=clean_iss,
            endpoints=endpoints.as_json(),
            email_domains=domains,
            default_role_id=default_role_id,
            enabled=enabled,
        )
        self._seal(provider, clean_id, clean_secret)
        async with self.store.uow() as uow:
            uow.session.add(provider)
            uow.publish(
                IdentityProviderCreated(
                    organisation_id=scope,
                    provider_id=provider.id,
                    name=clean_name,
                    issuer=clean_iss,
                    email_domains=domains,
                    enabled=enabled,
                )
            )
            await uow.commit()
        return await self.get(manager, provider.id)

    def _seal(self, provider: IdentityProvider, client_id: str, client_secret: str) -> None:
        sealer, context = self.secrets.sso_clients, str(provider.id).encode()
        provider.client_id_sealed = sealer.seal(client_id.encode(), context=context)
        provider.client_secret_sealed = sealer.seal(client_secret.encode(), context=context)

    async def update(
        self, manager: Manager, provider_id: uuid.UUID, changes: ProviderChanges
    ) -> Any:
        scope = await self._scope(manager)
        current = await self._row(scope, provider_id)
        if changes.default_role_set:
            await self._default_role(scope, changes.default_role_id)
        issuer, endpoints = None, None
        if changes.issuer is not None:
            issuer = clean_issuer(changes.issuer)
            endpoints = await self.oidc.discover(issuer)
        async with self.store.uow() as uow:
            provider = await uow.session.get(IdentityProvider, current.id, with_for_update=True)
            if provider is None:
                raise provider_not_found()
            changed: list[str] = []

            def put(attribute: str, wire_name: str, value: Any) -> None:
                if getattr(provider, attribute) != value:
                    setattr(provider, attribute, value)
                    changed.append(wire_name)

            if changes.name is not None:
                put("name", "name", clean_provider_name(changes.name))
            if issuer is not None and endpoints is not None:
                put("issuer", "issuer", issuer)
                provider.endpoints = endpoints.as_json()
            if changes.client_id is not None or changes.client_secret is not None:
                held = self.credentials(provider)
                sent = ClientCredentials(
                    clean_client_value(changes.client_id, "clientId")
                    if changes.client_id is not None
                    else held.client_id,
                    clean_client_value(changes.client_secret, "clientSecret")
                    if changes.client_secret is not None
                    else held.client_secret,
                )
                if sent != held:
                    self._seal(provider, sent.client_id, sent.client_secret)
                    changed += [
                        wire
                        for wire, now, before in (
                            ("clientId", sent.client_id, held.client_id),
                            ("clientSecret", sent.client_secret, held.client_secret),
                        )
                        if now != before
                    ]
            if changes.email_domains is not None:
                put("email_domains", "emailDomains", clean_domains(changes.email_domains))
            if changes.default_role_set:
                put("default_role_id", "defaultRoleId", changes.default_role_id)
            if changes.enabled is not None:
                put("enabled", "enabled", changes.enabled)
            if changed:
                uow.publish(
                    IdentityProviderUpdated(
                        organisation_id=scope,
                        provider_id=provider.id,
                        name=provider.name,
                        changed=changed,
                        enabled=provider.enabled,
                    )
                )
            await uow.commit()
        return await self.get(manager, provider_id)

    async def refresh_discovery(self) -> DiscoveryRefresh:
        """Read every provider's discovery document again and store the endpoints it names
        now (the daily job): a provider that moved an endpoint, or began to publish an
        end-session endpoint, is followed without anyone saving it again. A provider whose
        discovery fails keeps what it had (logged), as a sign-in would rather use the
        endpoints it knew than none."""
        p = IdentityProvider
        rows = await self.store.all(select(p.id, p.issuer, p.endpoints))
        refreshed, failed = 0, 0
        for row in rows:
            try:
                endpoints = (await self.oidc.discover(row.issuer)).as_json()
            except AppError as exc:
                failed += 1
                log.warning(
                    "sso_discovery_refresh_failed", provider_id=str(row.id), error=exc.detail
                )
                continue
            if endpoints == row.endpoints:
                continue
            async with self.store.uow() as uow:
                # Only if nobody saved another issuer meanwhile.
                moved = await uow.session.execute(
                    update(p)
                    .where(p.id == row.id, p.issuer == row.issuer)
                    .values(endpoints=endpoints)
                    .returning(p.id)
                )
                if moved.first() is not None:
                    refreshed += 1
                    log.info(
                        "sso_discovery_refreshed",
                        provider_id=str(row.id),
                        changed=sorted(
                            k
                            for k in {*endpoints, *row.endpoints}
                            if endpoints.get(k) != row.endpoints.get(k)
                        ),
                    )
                await uow.commit()
        return DiscoveryRefresh(
            refreshed=refreshed, failed=failed, unchanged=len(rows) - refreshed - failed
        )

    async def delete(self, manager: Manager, provider_id: uuid.UUID) -> None:
        """Remove a provider; the accounts linked through it stay (with their links gone)."""
        scope = await self._scope(manager)
        await self._row(scope, provider_id)
        async with self.store.uow() as uow:
            provider = await uow.session.get(IdentityProvider, provider_id)
            if provider is not None:
                await uow.session.delete(provider)
                uow.publish(
                    IdentityProviderDeleted(
                        organisation_id=scope, provider_id=provider_id, name=provider.name
                    )
                )
            await uow.commit()

    async def usable(self, provider_id: uuid.UUID, *, enabled_only: bool = True) -> Any:
        """An enabled provider for a sign-in, or any for a logout it sends (404
        ``provider_not_found`` otherwise)."""
        stmt = select(_p).where(_p.c.id == provider_id)
        row = await self.store.first(stmt.where(_p.c.enabled.is_(True)) if enabled_only else stmt)
        if row is None:
            raise provider_not_found()
        return row

    @staticmethod
    def endpoints(row: Any) -> Endpoints:
        return Endpoints.of(row.endpoints)
